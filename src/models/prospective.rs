//! Prospective hotspot map (Bowers, Johnson & Pease 2004, "Prospective hot-spotting: the future
//! of crime mapping?", *Br. J. Criminol.* 44:641–658).
//!
//! The risk of cell `c` at time `at` is `Σ_i w_i / ((1 + d_i)(1 + t_i))` over the incidents with
//! `d_i ≤ bandwidth_cells` and `t_i ≤ time_bandwidth_weeks`, where
//!
//! * `d_i` is the distance in cells between `c` and the cell holding incident `i` (row and
//!   column offsets `Δr`, `Δc`): ℓ∞ `max(|Δr|, |Δc|)` (the paper's neighbouring-cell rings,
//!   default), ℓ1 `|Δr| + |Δc|`, or ℓ2 `√(Δr² + Δc²)`;
//! * `t_i = ⌊(at − t_i) / 7 days⌋` is the incident's age in whole weeks (an incident 0–6 days
//!   old has `t = 0`), and only incidents strictly before `at` count.
//!
//! Both bandwidth conditions are inclusive (as in the open_cp reference implementation's
//! `ClassicWeight`). Defaults follow the paper: 8 cells (400 m at its 50 m cells) and 8 weeks
//! (about two months). Incidents outside the grid still count for cells within reach.
//!
//! # Examples
//! ```
//! use std::sync::Arc;
//! use placewise::data::Incidents;
//! use placewise::models::{ProspectiveHotspot, ProspectiveParams};
//! use placewise::space::Grid;
//! // one incident 10 days before `at` (age 1 week) in cell (0, 0)
//! let inc = Incidents::new(vec![5.0], vec![5.0], vec![0]).unwrap();
//! let grid = Arc::new(Grid::from_extent(0.0, 0.0, 10.0, 3, 1).unwrap());
//! let m = ProspectiveHotspot::fit(ProspectiveParams::default(), Arc::new(inc), grid).unwrap();
//! let s = m.predict(Some(10 * 86_400)).unwrap();
//! assert_eq!(s.values.as_slice().unwrap(), &[0.5, 0.25, 1.0 / 6.0]);
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use ndarray::Array2;
use rayon::prelude::*;

use crate::data::Incidents;
use crate::error::{Error, Result};
use crate::models::window::training_range;
use crate::space::Grid;
use crate::surface::Surface;

/// Distance between cells, in cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellDistance {
    /// `max(|Δr|, |Δc|)`: rings of neighbouring cells.
    Chebyshev,
    /// `|Δr| + |Δc|`.
    Manhattan,
    /// `√(Δr² + Δc²)`.
    Euclidean,
}

impl CellDistance {
    /// From "linf"/"chebyshev", "l1"/"manhattan", "l2"/"euclidean".
    pub fn parse(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "linf" | "chebyshev" => Ok(CellDistance::Chebyshev),
            "l1" | "manhattan" => Ok(CellDistance::Manhattan),
            "l2" | "euclidean" => Ok(CellDistance::Euclidean),
            _ => Err(Error::param(
                "distance",
                format!("must be 'linf', 'l1' or 'l2', got {name:?}"),
            )),
        }
    }
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            CellDistance::Chebyshev => "linf",
            CellDistance::Manhattan => "l1",
            CellDistance::Euclidean => "l2",
        }
    }
    #[inline]
    fn of(self, dr: i64, dc: i64) -> f64 {
        let (a, b) = (dr.abs(), dc.abs());
        match self {
            CellDistance::Chebyshev => a.max(b) as f64,
            CellDistance::Manhattan => (a + b) as f64,
            CellDistance::Euclidean => ((a * a + b * b) as f64).sqrt(),
        }
    }
}

/// Prospective hotspot parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ProspectiveParams {
    /// Space bandwidth in cells (default 8).
    pub bandwidth_cells: f64,
    /// Time bandwidth in whole weeks (default 8).
    pub time_bandwidth_weeks: f64,
    /// Cell distance (default ℓ∞).
    pub distance: CellDistance,
}

impl Default for ProspectiveParams {
    fn default() -> Self {
        ProspectiveParams {
            bandwidth_cells: 8.0,
            time_bandwidth_weeks: 8.0,
            distance: CellDistance::Chebyshev,
        }
    }
}

/// A fitted prospective hotspot model.
#[derive(Debug, Clone)]
pub struct ProspectiveHotspot {
    params: ProspectiveParams,
    incidents: Arc<Incidents>,
    grid: Arc<Grid>,
}

const WEEK_S: i64 = 7 * 86_400;

impl ProspectiveHotspot {
    /// Stores the training incidents and grid after checking the parameters.
    pub fn fit(
        params: ProspectiveParams,
        incidents: Arc<Incidents>,
        grid: Arc<Grid>,
    ) -> Result<Self> {
        if incidents.is_empty() {
            return Err(Error::empty("no training incidents"));
        }
        for (name, v) in [
            ("bandwidth_cells", params.bandwidth_cells),
            ("time_bandwidth_weeks", params.time_bandwidth_weeks),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::param(
                    name,
                    format!("must be finite and >= 0, got {v}"),
                ));
            }
        }
        if params.bandwidth_cells > 10_000.0 {
            return Err(Error::param(
                "bandwidth_cells",
                format!(
                    "{} cells is beyond any city; at most 10000",
                    params.bandwidth_cells
                ),
            ));
        }
        Ok(ProspectiveHotspot {
            params,
            incidents,
            grid,
        })
    }

    /// The prospective risk surface at `at` from the incidents of the last
    /// `time_bandwidth_weeks` whole weeks before it.
    pub fn predict(&self, at: Option<i64>) -> Result<Surface> {
        let p = &self.params;
        let inc = &self.incidents;
        let weeks = p.time_bandwidth_weeks.floor();
        let (a, b, start, end) = training_range(inc, at, Some((weeks + 1.0) * 7.0))?;
        let g = &self.grid;
        let (nx, ny, d) = (g.nx() as i64, g.ny() as i64, g.cell_size());
        let s = p.bandwidth_cells.floor() as i64;
        // (row, col, weight / (1 + t)) per incident in reach, bucketed by row.
        let mut pts: Vec<(i64, i64, f64)> = Vec::new();
        for i in a..b {
            let age = (end - inc.t()[i]) / WEEK_S;
            let r = ((inc.y()[i] - g.y0()) / d).floor();
            let c = ((inc.x()[i] - g.x0()) / d).floor();
            if r < (-s - 1) as f64
                || r > (ny + s) as f64
                || c < (-s - 1) as f64
                || c > (nx + s) as f64
            {
                continue;
            }
            pts.push((r as i64, c as i64, inc.weight_of(i) / (1.0 + age as f64)));
        }
        let off = s + 1;
        let nb = (ny + 2 * off + 1) as usize;
        let mut starts = vec![0usize; nb + 1];
        for &(r, _, _) in &pts {
            starts[(r + off) as usize + 1] += 1;
        }
        for k in 0..nb {
            starts[k + 1] += starts[k];
        }
        let mut order = vec![0usize; pts.len()];
        let mut fill = starts.clone();
        for (k, &(r, _, _)) in pts.iter().enumerate() {
            let bkt = (r + off) as usize;
            order[fill[bkt]] = k;
            fill[bkt] += 1;
        }
        let mut values = Array2::<f64>::zeros((ny as usize, nx as usize));
        let dist = p.distance;
        let sb = p.bandwidth_cells;
        values
            .as_slice_mut()
            .expect("standard layout")
            .par_chunks_mut(nx as usize)
            .enumerate()
            .for_each(|(row, out)| {
                let row = row as i64;
                let lo = (row - s + off) as usize;
                let hi = (row + s + off) as usize;
                for &k in &order[starts[lo]..starts[hi + 1]] {
                    let (r, c, wt) = pts[k];
                    let dr = row - r;
                    for cc in (c - s).max(0)..=(c + s).min(nx - 1) {
                        let dd = dist.of(dr, cc - c);
                        if dd <= sb {
                            out[cc as usize] += wt / (1.0 + dd);
                        }
                    }
                }
            });
        let mut surf = Surface::new(values, g.clone(), "ProspectiveHotspot")?;
        let mut m = BTreeMap::new();
        m.insert("bandwidth_cells".into(), p.bandwidth_cells.to_string());
        m.insert(
            "time_bandwidth_weeks".into(),
            p.time_bandwidth_weeks.to_string(),
        );
        m.insert("distance".into(), dist.name().into());
        m.insert("n_incidents".into(), (b - a).to_string());
        m.insert("cell_size_m".into(), d.to_string());
        surf.params = m;
        surf.window = Some((start, end));
        surf.units = "prospective risk score Σ 1/((1+d)(1+t)) (d cells, t weeks)".into();
        Ok(surf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, written out directly.
    fn reference(inc: &Incidents, g: &Grid, p: &ProspectiveParams, at: i64) -> Vec<f64> {
        (0..g.n_cells())
            .map(|id| {
                let (r, c) = g.row_col(id);
                let mut v = 0.0;
                for i in 0..inc.len() {
                    if inc.t()[i] >= at {
                        continue;
                    }
                    let t = ((at - inc.t()[i]) / WEEK_S) as f64;
                    let ri = ((inc.y()[i] - g.y0()) / g.cell_size()).floor() as i64;
                    let ci = ((inc.x()[i] - g.x0()) / g.cell_size()).floor() as i64;
                    let d = p.distance.of(r as i64 - ri, c as i64 - ci);
                    if d <= p.bandwidth_cells && t <= p.time_bandwidth_weeks {
                        v += 1.0 / ((1.0 + d) * (1.0 + t));
                    }
                }
                v
            })
            .collect()
    }

    #[test]
    fn equals_reference_for_each_distance() {
        let n = 400;
        let x: Vec<f64> = (0..n)
            .map(|i| -40.0 + ((i * 7919) % 1000) as f64 * 0.33)
            .collect();
        let y: Vec<f64> = (0..n)
            .map(|i| -30.0 + ((i * 104_729) % 1000) as f64 * 0.25)
            .collect();
        let t: Vec<i64> = (0..n)
            .map(|i| ((i * 2_654_435_761usize) % (120 * 86_400)) as i64)
            .collect();
        let inc = Arc::new(Incidents::new(x, y, t).unwrap());
        let g = Arc::new(Grid::from_extent(0.0, 0.0, 10.0, 27, 19).unwrap());
        for distance in [
            CellDistance::Chebyshev,
            CellDistance::Manhattan,
            CellDistance::Euclidean,
        ] {
            for (sb, tb) in [(3.0, 2.0), (2.5, 8.0), (0.0, 0.0)] {
                let p = ProspectiveParams {
                    bandwidth_cells: sb,
                    time_bandwidth_weeks: tb,
                    distance,
                };
                let m = ProspectiveHotspot::fit(p.clone(), inc.clone(), g.clone()).unwrap();
                let at = 100 * 86_400;
                let got = match m.predict(Some(at)) {
                    Ok(s) => s.values.into_raw_vec_and_offset().0,
                    Err(Error::EmptyInput { .. }) => continue,
                    Err(e) => panic!("{e}"),
                };
                let want = reference(&inc, &g, &p, at);
                for (a, b) in got.iter().zip(&want) {
                    assert!(
                        (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                        "{distance:?} {sb} {tb}: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn thread_count_does_not_matter() {
        let n = 3000;
        let x: Vec<f64> = (0..n).map(|i| ((i * 7919) % 5000) as f64 * 0.2).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| ((i * 104_729) % 5000) as f64 * 0.2)
            .collect();
        let t: Vec<i64> = (0..n).map(|i| ((i * 31) % (60 * 86_400)) as i64).collect();
        let inc = Arc::new(Incidents::new(x, y, t).unwrap());
        let g = Arc::new(Grid::from_extent(0.0, 0.0, 10.0, 100, 100).unwrap());
        let m = ProspectiveHotspot::fit(ProspectiveParams::default(), inc, g).unwrap();
        let run = |k| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(k)
                .build()
                .unwrap()
                .install(|| m.predict(None).unwrap().values)
        };
        let a = run(1);
        let b = run(4);
        assert!(a
            .iter()
            .zip(b.iter())
            .all(|(p, q)| p.to_bits() == q.to_bits()));
    }

    #[test]
    fn bad_parameters() {
        let inc = Arc::new(Incidents::new(vec![1.0], vec![1.0], vec![0]).unwrap());
        let g = Arc::new(Grid::from_extent(0.0, 0.0, 10.0, 3, 3).unwrap());
        let p = ProspectiveParams {
            bandwidth_cells: -1.0,
            ..Default::default()
        };
        let e = ProspectiveHotspot::fit(p, inc.clone(), g.clone()).unwrap_err();
        assert!(e.to_string().contains("bandwidth_cells"));
        assert!(CellDistance::parse("l3").is_err());
        let m = ProspectiveHotspot::fit(ProspectiveParams::default(), inc, g).unwrap();
        assert!(m.predict(Some(0)).unwrap_err().to_string().contains("`at`"));
        assert!(matches!(
            m.predict(Some(1000 * 86_400)),
            Err(Error::EmptyInput { .. })
        ));
    }
}
