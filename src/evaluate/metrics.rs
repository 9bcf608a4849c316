use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::space::Grid;

/// Scores of one surface at one coverage against the incidents of a test window.
///
/// Definitions (area-based, masked cells excluded from A):
/// * cells are ranked by predicted value, highest first; ties by the lower cell id (the rule
///   every ranking in placewise shares). The flagged set is the shortest prefix of the ranking
///   whose region area `a` (Σ coverage × cell area) reaches `coverage × A`, where `A` is the
///   region area covered by active cells.
/// * hit rate = n / N, with n the test incidents in flagged cells and N all test incidents in
///   active cells.
/// * PAI (Chainey, Tompson & Uhlig 2008) = (n / N) / (a / A).
/// * PEI* (Hunt 2016; Drawve 2016) = n / n*, with n* the test incidents in the best possible
///   set of the same number of cells (the cells with the most test incidents).
/// * RRI, the recapture rate index (Levine 2008) = (n₂ / n₁) / (N₂ / N₁): n₁ and N₁ are the
///   training-window incidents in the flagged cells and in all active cells, n₂ and N₂ the
///   same for the test window. Above 1, the flagged cells kept more than their share of
///   incidents. Only computed when training counts are given.
///
/// When the test window holds no incident (N = 0) the ratios are undefined and reported as
/// NaN with `n_test = 0`, never as a division by zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Requested share of the region's area.
    pub coverage: f64,
    /// Cells flagged.
    pub cells: usize,
    /// Achieved share of the region's area (a / A), at least `coverage`.
    pub area_share: f64,
    /// Test incidents in flagged cells (n).
    pub hits: f64,
    /// Test incidents in active cells (N).
    pub n_test: f64,
    /// n / N.
    pub hit_rate: f64,
    /// (n / N) / (a / A).
    pub pai: f64,
    /// Best possible n with the same number of cells.
    pub n_star: f64,
    /// n / n*.
    pub pei_star: f64,
    /// Recapture rate index, when training counts were given.
    pub rri: Option<f64>,
    /// Active cells whose value equals the value of the last flagged cell (the tie at the
    /// threshold), flagged or not.
    pub tied_at_threshold: usize,
    /// Of those, how many were flagged (the rest were cut by the cell-id rule).
    pub tied_flagged: usize,
}

/// The hit-rate curve over all coverages, and the area under it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverageCurve {
    /// a / A after each flagged cell (starting at 0).
    pub area_share: Vec<f64>,
    /// n / N after each flagged cell (starting at 0).
    pub hit_rate: Vec<f64>,
    /// Trapezoidal area under the curve over [0, 1]; 0.5 for a random ranking on average.
    pub auc: f64,
}

fn check_lengths(grid: &Grid, values: &[f64], test: &[f64], train: Option<&[f64]>) -> Result<()> {
    let n = grid.n_cells();
    for (name, len) in [("values", values.len()), ("test_counts", test.len())]
        .into_iter()
        .chain(train.map(|t| ("train_counts", t.len())))
    {
        if len != n {
            return Err(Error::param(
                name,
                format!("has {len} entries but the grid has {n} cells"),
            ));
        }
    }
    for (name, arr) in [("values", values), ("test_counts", test)]
        .into_iter()
        .chain(train.map(|t| ("train_counts", t)))
    {
        if let Some(i) = arr.iter().position(|v| !v.is_finite()) {
            return Err(Error::data(
                Some(i),
                name,
                "value is NaN or infinite (row is the cell id)",
            ));
        }
    }
    if let Some(i) = test
        .iter()
        .chain(train.unwrap_or(&[]))
        .position(|&v| v < 0.0)
    {
        return Err(Error::data(
            Some(i % n),
            "counts",
            "incident counts must be >= 0",
        ));
    }
    if grid.n_active() == 0 {
        return Err(Error::empty("grid has no active cells"));
    }
    Ok(())
}

/// Active cell ids ranked by `values` descending, ties by lower id.
pub fn rank(grid: &Grid, values: &[f64]) -> Vec<usize> {
    let mut ids = grid.active_ids();
    ids.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    ids
}

/// Scores `values` (one per grid cell) against `test_counts` at each of `coverages`.
///
/// Errors: a coverage outside (0, 1], arrays whose length is not the number of grid cells,
/// non-finite values, negative counts, a grid with no active cell.
///
/// # Examples
/// ```
/// use placewise::space::Grid;
/// use placewise::evaluate::evaluate;
/// let grid = Grid::from_extent(0.0, 0.0, 1.0, 4, 1).unwrap();
/// let risk = [0.9, 0.1, 0.5, 0.0];
/// let test = [3.0, 0.0, 1.0, 4.0];
/// let m = &evaluate(&grid, &risk, &test, &[0.25], None).unwrap()[0];
/// assert_eq!(m.hits, 3.0);
/// assert_eq!(m.hit_rate, 3.0 / 8.0);
/// assert_eq!(m.pai, (3.0 / 8.0) / 0.25);
/// assert_eq!(m.pei_star, 3.0 / 4.0);
/// ```
pub fn evaluate(
    grid: &Grid,
    values: &[f64],
    test_counts: &[f64],
    coverages: &[f64],
    train_counts: Option<&[f64]>,
) -> Result<Vec<Metrics>> {
    check_lengths(grid, values, test_counts, train_counts)?;
    for &c in coverages {
        if !(c > 0.0 && c <= 1.0) {
            return Err(Error::param(
                "coverage",
                format!("each coverage must be in (0, 1], got {c}"),
            ));
        }
    }
    let order = rank(grid, values);
    let cov = grid.coverage();
    let total_area: f64 = order.iter().map(|&i| cov[i]).sum();
    let n_test: f64 = order.iter().map(|&i| test_counts[i]).sum();
    let mut best: Vec<f64> = order.iter().map(|&i| test_counts[i]).collect();
    best.sort_by(|a, b| b.total_cmp(a));
    let (n1_total, train) = match train_counts {
        Some(t) => (order.iter().map(|&i| t[i]).sum::<f64>(), Some(t)),
        None => (0.0, None),
    };

    let mut out = Vec::with_capacity(coverages.len());
    for &c in coverages {
        let target = c * total_area;
        let (mut area, mut hits, mut k) = (0.0, 0.0, 0usize);
        // relative slack so that coverage = 1 flags every cell despite rounding
        while k < order.len() && area < target * (1.0 - 1e-12) {
            area += cov[order[k]];
            hits += test_counts[order[k]];
            k += 1;
        }
        let k = k.max(1);
        if k == 1 && hits == 0.0 && area == 0.0 {
            area = cov[order[0]];
            hits = test_counts[order[0]];
        }
        let threshold = values[order[k - 1]];
        let tied_at_threshold = order.iter().filter(|&&i| values[i] == threshold).count();
        let tied_flagged = order[..k]
            .iter()
            .filter(|&&i| values[i] == threshold)
            .count();
        let n_star: f64 = best[..k].iter().sum();
        let area_share = area / total_area;
        let (hit_rate, pai, pei_star) = if n_test > 0.0 {
            let hr = hits / n_test;
            (
                hr,
                hr / area_share,
                if n_star > 0.0 {
                    hits / n_star
                } else {
                    f64::NAN
                },
            )
        } else {
            (f64::NAN, f64::NAN, f64::NAN)
        };
        let rri = train.map(|t| {
            let n1: f64 = order[..k].iter().map(|&i| t[i]).sum();
            if n1 > 0.0 && n_test > 0.0 && n1_total > 0.0 {
                (hits / n1) / (n_test / n1_total)
            } else {
                f64::NAN
            }
        });
        out.push(Metrics {
            coverage: c,
            cells: k,
            area_share,
            hits,
            n_test,
            hit_rate,
            pai,
            n_star,
            pei_star,
            rri,
            tied_at_threshold,
            tied_flagged,
        });
    }
    Ok(out)
}

/// The hit-rate curve of `values` against `test_counts` over every prefix of the ranking.
pub fn coverage_curve(grid: &Grid, values: &[f64], test_counts: &[f64]) -> Result<CoverageCurve> {
    check_lengths(grid, values, test_counts, None)?;
    let order = rank(grid, values);
    let cov = grid.coverage();
    let total_area: f64 = order.iter().map(|&i| cov[i]).sum();
    let n_test: f64 = order.iter().map(|&i| test_counts[i]).sum();
    let mut area_share = Vec::with_capacity(order.len() + 1);
    let mut hit_rate = Vec::with_capacity(order.len() + 1);
    area_share.push(0.0);
    hit_rate.push(0.0);
    let (mut a, mut h) = (0.0, 0.0);
    for &i in &order {
        a += cov[i];
        h += test_counts[i];
        area_share.push(a / total_area);
        hit_rate.push(if n_test > 0.0 { h / n_test } else { f64::NAN });
    }
    let auc = area_share
        .windows(2)
        .zip(hit_rate.windows(2))
        .map(|(x, y)| (x[1] - x[0]) * (y[0] + y[1]) / 2.0)
        .sum();
    Ok(CoverageCurve {
        area_share,
        hit_rate,
        auc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn grid5() -> Grid {
        Grid::from_extent(0.0, 0.0, 1.0, 5, 1).unwrap()
    }

    #[test]
    fn hand_computed_small_grid() {
        // 5 cells; risk ranks cells 2, 0, 4, 1, 3; test incidents 10 in all
        let g = grid5();
        let risk = [0.5, 0.1, 0.9, 0.0, 0.3];
        let test = [2.0, 5.0, 1.0, 0.0, 2.0];
        let train = [4.0, 1.0, 4.0, 1.0, 0.0];
        let m = evaluate(&g, &risk, &test, &[0.2, 0.4, 1.0], Some(&train)).unwrap();
        // 20 %: cell 2 → n = 1, N = 10, a/A = 0.2; best single cell holds 5
        assert_eq!((m[0].cells, m[0].hits), (1, 1.0));
        assert!((m[0].hit_rate - 0.1).abs() < 1e-15);
        assert!((m[0].pai - 0.5).abs() < 1e-12);
        assert!((m[0].pei_star - 0.2).abs() < 1e-15);
        // RRI: n1 = 4 of N1 = 10 training incidents; n2 = 1 of N2 = 10 → (1/4)/(10/10)
        assert!((m[0].rri.unwrap() - 0.25).abs() < 1e-15);
        // 40 %: cells 2, 0 → n = 3; best two cells hold 5 + 2 = 7
        assert_eq!(m[1].hits, 3.0);
        assert!((m[1].pai - 0.3 / 0.4).abs() < 1e-12);
        assert!((m[1].pei_star - 3.0 / 7.0).abs() < 1e-12);
        // 100 %: everything
        assert_eq!(m[2].hits, 10.0);
        assert!((m[2].pai - 1.0).abs() < 1e-12);
        assert!((m[2].pei_star - 1.0).abs() < 1e-12);
    }

    #[test]
    fn ties_are_broken_by_cell_id_and_reported() {
        let g = grid5();
        let risk = [1.0, 2.0, 2.0, 2.0, 0.0];
        let test = [0.0, 0.0, 0.0, 5.0, 0.0];
        let m = &evaluate(&g, &risk, &test, &[0.4], None).unwrap()[0];
        // cells 1 and 2 are flagged (lower ids), cell 3 (same value) is not
        assert_eq!(m.hits, 0.0);
        assert_eq!((m.tied_at_threshold, m.tied_flagged), (3, 2));
    }

    #[test]
    fn oracle_surface_has_pei_star_one() {
        let g = grid5();
        let test = [3.0, 0.0, 7.0, 1.0, 2.0];
        for m in evaluate(&g, &test, &test, &[0.2, 0.4, 0.6, 0.8, 1.0], None).unwrap() {
            assert!((m.pei_star - 1.0).abs() < 1e-15);
        }
    }

    #[test]
    fn empty_test_window_is_nan_not_a_crash() {
        let g = grid5();
        let m = &evaluate(&g, &[1.0; 5], &[0.0; 5], &[0.2], Some(&[1.0; 5])).unwrap()[0];
        assert_eq!(m.n_test, 0.0);
        assert!(m.hit_rate.is_nan() && m.pai.is_nan() && m.pei_star.is_nan());
        assert!(m.rri.unwrap().is_nan());
    }

    #[test]
    fn bad_input() {
        let g = grid5();
        for c in [0.0, -0.1, 1.5, f64::NAN] {
            let e = evaluate(&g, &[1.0; 5], &[1.0; 5], &[c], None).unwrap_err();
            assert!(e.to_string().contains("coverage"), "{e}");
        }
        assert!(evaluate(&g, &[1.0; 4], &[1.0; 5], &[0.5], None).is_err());
        assert!(evaluate(&g, &[1.0, f64::NAN, 1.0, 1.0, 1.0], &[1.0; 5], &[0.5], None).is_err());
        assert!(evaluate(&g, &[1.0; 5], &[1.0, -1.0, 1.0, 1.0, 1.0], &[0.5], None).is_err());
    }

    #[test]
    fn masked_cells_are_excluded_from_area() {
        use crate::space::Region;
        use geo::polygon;
        // an L-shaped region: 5 of 9 cells active
        let r = Region::from_polygons(vec![polygon![
            (x: 0.0, y: 0.0), (x: 3.0, y: 0.0), (x: 3.0, y: 1.0),
            (x: 1.0, y: 1.0), (x: 1.0, y: 3.0), (x: 0.0, y: 3.0)
        ]])
        .unwrap();
        let g = Grid::new(&r, 1.0, 100).unwrap();
        let mut risk = vec![0.0; 9];
        risk[8] = 100.0; // an inactive cell with the highest value must be ignored
        risk[0] = 1.0;
        let mut test = vec![0.0; 9];
        test[0] = 1.0;
        test[1] = 1.0;
        let m = &evaluate(&g, &risk, &test, &[0.2], None).unwrap()[0];
        assert_eq!(m.cells, 1);
        assert!((m.area_share - 0.2).abs() < 1e-9);
        assert_eq!(m.hits, 1.0);
    }

    #[test]
    fn curve_ends_at_one_and_auc_of_oracle_beats_reverse() {
        let g = grid5();
        let test = [3.0, 0.0, 7.0, 1.0, 2.0];
        let good = coverage_curve(&g, &test, &test).unwrap();
        let bad: Vec<f64> = test.iter().map(|v| -v).collect();
        let bad = coverage_curve(&g, &bad, &test).unwrap();
        assert!((good.hit_rate.last().unwrap() - 1.0).abs() < 1e-15);
        assert!(good.auc > 0.5 && bad.auc < 0.5);
        assert!((good.auc + bad.auc - 1.0).abs() < 0.25);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// A uniform random surface has PAI 1 on average: averaged over many seeds, the mean
        /// PAI at 10 % coverage stays within 4 standard errors of 1.
        #[test]
        fn random_surface_pai_averages_one(seed in 0u64..1000) {
            let g = Grid::from_extent(0.0, 0.0, 1.0, 25, 20).unwrap();
            let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let mut next = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 11) as f64 / (1u64 << 53) as f64
            };
            let test: Vec<f64> = (0..500).map(|_| (next() * 4.0).floor()).collect();
            let reps = 200;
            let mut pais = Vec::with_capacity(reps);
            for _ in 0..reps {
                let risk: Vec<f64> = (0..500).map(|_| next()).collect();
                pais.push(evaluate(&g, &risk, &test, &[0.1], None).unwrap()[0].pai);
            }
            let mean = pais.iter().sum::<f64>() / reps as f64;
            let sd = (pais.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / (reps - 1) as f64).sqrt();
            prop_assert!((mean - 1.0).abs() < 4.0 * sd / (reps as f64).sqrt(), "mean {} sd {}", mean, sd);
        }
    }
}
