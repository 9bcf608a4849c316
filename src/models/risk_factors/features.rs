//! Features per cell and origin for risk-factor models: lagged and decayed counts, neighbour
//! counts, near-repeat recency, and distance to / kernel density of point layers.
//!
//! Risk terrain modelling (Caplan, Kennedy & Miller 2011, *Justice Quarterly* 28:360–381)
//! explains incident counts per cell by the places around it; the dynamic features add the
//! cell's own recent history and near-repeat victimisation (Johnson & Bowers 2004).
//!
//! Every feature at origin `o` uses incidents strictly before `o` only. Rows are
//! `origin index × active cells + active cell index` (active cells in increasing id order).
//!
//! # Examples
//! ```
//! use placewise::data::Incidents;
//! use placewise::models::risk_factors::{build_features, FeatureSpec, PointLayer};
//! use placewise::space::Grid;
//! let grid = Grid::from_extent(0.0, 0.0, 100.0, 3, 1).unwrap();
//! let day = 86_400;
//! let inc = Incidents::new(vec![50.0, 50.0, 150.0], vec![50.0; 3], vec![0, day, 2 * day]).unwrap();
//! let spec = FeatureSpec { windows_days: vec![30.0], ..FeatureSpec::default() };
//! let layer = PointLayer::new("stops", vec![250.0], vec![50.0]).unwrap();
//! let f = build_features(&grid, &inc, &[10 * day], &[layer], &spec).unwrap();
//! let lag = f.column("count_30d").unwrap();
//! assert_eq!(f.values[[0, lag]], 2f64.ln_1p()); // two incidents in cell 0
//! let d = f.column("distance_stops").unwrap();
//! assert!((f.values[[0, d]] - 0.2).abs() < 1e-12); // 200 m, in km
//! ```

use ndarray::Array2;
use rayon::prelude::*;
use rstar::RTree;

use crate::data::Incidents;
use crate::error::{require_positive, Error, Result};
use crate::models::{kde_grid, KdeMode, Kernel};
use crate::space::Grid;

/// Seconds in a day.
const DAY_S: f64 = 86_400.0;

/// Which features to build. Defaults in brackets.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSpec {
    /// Trailing windows (days) of the cell's own counts, each a feature `ln(1 + count)`
    /// [7, 28, 91, 365].
    pub windows_days: Vec<f64>,
    /// Half-lives (days) of exponentially decayed counts `Σ 2^{−age/h}` over the last 10
    /// half-lives (older weights are < 2^−10), each a feature `ln(1 + decayed count)` [none].
    pub half_lives_days: Vec<f64>,
    /// Radii (m) of neighbour counts: incidents in the cells whose centres lie within the
    /// radius of the cell's centre, the cell itself excluded, over `neighbour_window_days`;
    /// feature `ln(1 + count)` [300, 600].
    pub neighbour_radii_m: Vec<f64>,
    /// Window (days) of the neighbour counts [365].
    pub neighbour_window_days: f64,
    /// Radius (m) of near-repeat recency [200]: cells whose centres lie within it, the cell
    /// itself included.
    pub near_repeat_radius_m: f64,
    /// Time scale τ (days) of near-repeat recency `exp(−Δt/τ)`, Δt the age of the most recent
    /// incident within the radius; 0 when there is none in the last 10 τ [14].
    pub near_repeat_days: f64,
    /// Distances to a layer's nearest point are capped here (m) and given in km [2000].
    pub distance_cap_m: f64,
    /// Gaussian bandwidth (m) of the layers' kernel density [400]; the feature is
    /// `ln(1 + A Σ K_h)`, kernel-weighted points per cell.
    pub density_bandwidth_m: f64,
}

impl Default for FeatureSpec {
    fn default() -> Self {
        FeatureSpec {
            windows_days: vec![7.0, 28.0, 91.0, 365.0],
            half_lives_days: vec![],
            neighbour_radii_m: vec![300.0, 600.0],
            neighbour_window_days: 365.0,
            near_repeat_radius_m: 200.0,
            near_repeat_days: 14.0,
            distance_cap_m: 2000.0,
            density_bandwidth_m: 400.0,
        }
    }
}

impl FeatureSpec {
    /// Checks every number: each must be finite and > 0.
    pub fn validate(&self) -> Result<()> {
        for &w in &self.windows_days {
            require_positive("windows_days", w)?;
        }
        for &h in &self.half_lives_days {
            require_positive("half_lives_days", h)?;
        }
        for &r in &self.neighbour_radii_m {
            require_positive("neighbour_radii_m", r)?;
        }
        require_positive("neighbour_window_days", self.neighbour_window_days)?;
        require_positive("near_repeat_radius_m", self.near_repeat_radius_m)?;
        require_positive("near_repeat_days", self.near_repeat_days)?;
        require_positive("distance_cap_m", self.distance_cap_m)?;
        require_positive("density_bandwidth_m", self.density_bandwidth_m)?;
        Ok(())
    }

    /// Longest look-back (s) any dynamic feature needs before an origin.
    pub fn lookback_s(&self) -> f64 {
        let w = self
            .windows_days
            .iter()
            .copied()
            .chain(self.half_lives_days.iter().map(|h| 10.0 * h))
            .chain([self.neighbour_window_days, 10.0 * self.near_repeat_days])
            .fold(0.0, f64::max);
        w * DAY_S
    }
}

/// A named layer of points (metres, in the grid's CRS), e.g. bus stops or liquor outlets.
#[derive(Debug, Clone, PartialEq)]
pub struct PointLayer {
    name: String,
    x: Vec<f64>,
    y: Vec<f64>,
}

impl PointLayer {
    /// Checks that the layer has points, equal-length finite coordinates and a name.
    pub fn new(name: impl Into<String>, x: Vec<f64>, y: Vec<f64>) -> Result<Self> {
        let name = name.into();
        if name.trim().is_empty() {
            return Err(Error::param("layers", "a layer needs a non-empty name"));
        }
        if x.len() != y.len() {
            return Err(Error::param(
                format!("layers[{name}]"),
                format!("x and y differ in length ({} and {})", x.len(), y.len()),
            ));
        }
        if x.is_empty() {
            return Err(Error::empty(format!(
                "layer `{name}` has no points; drop it or give it points"
            )));
        }
        if let Some(i) = x
            .iter()
            .zip(&y)
            .position(|(a, b)| !a.is_finite() || !b.is_finite())
        {
            return Err(Error::data(
                Some(i),
                format!("layers[{name}]"),
                "coordinates are NaN or infinite",
            ));
        }
        Ok(PointLayer { name, x, y })
    }

    /// The layer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Always false (a layer has at least one point).
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }
}

/// A feature matrix: one row per (origin, active cell), one column per feature.
#[derive(Debug, Clone)]
pub struct Features {
    /// Feature names (`count_28d`, `neighbours_300m`, `distance_<layer>`…).
    pub names: Vec<String>,
    /// What one unit of each feature is, in words.
    pub units: Vec<String>,
    /// Rows `origin × n_active + j`.
    pub values: Array2<f64>,
    /// Active cell ids, in row order within an origin.
    pub cells: Vec<usize>,
    /// Number of origins.
    pub n_origins: usize,
}

impl Features {
    /// Index of the column named `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

/// Cell offsets `(dr, dc)` whose centres lie within `radius` of the centre (0, 0) included
/// only if `with_self`.
fn disc(cell: f64, radius: f64, with_self: bool) -> Vec<(isize, isize)> {
    let k = (radius / cell).floor() as isize;
    let mut out = Vec::new();
    for dr in -k..=k {
        for dc in -k..=k {
            if (dr, dc) == (0, 0) && !with_self {
                continue;
            }
            let d = ((dr * dr + dc * dc) as f64).sqrt() * cell;
            if d <= radius * (1.0 + 1e-12) {
                out.push((dr, dc));
            }
        }
    }
    out
}

/// Static features (distance and density per layer), one row per active cell.
pub fn layer_features(
    grid: &Grid,
    layers: &[PointLayer],
    spec: &FeatureSpec,
) -> Result<(Vec<String>, Vec<String>, Array2<f64>)> {
    spec.validate()?;
    let cells = grid.active_ids();
    let mut names = Vec::new();
    let mut units = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        if layers[..i].iter().any(|o| o.name == l.name) {
            return Err(Error::param(
                "layers",
                format!("two layers are named `{}`", l.name),
            ));
        }
        names.push(format!("distance_{}", l.name));
        units.push(format!(
            "km to the nearest {} point (capped at {} m)",
            l.name, spec.distance_cap_m
        ));
        names.push(format!("density_{}", l.name));
        units.push(format!(
            "ln(1 + kernel-weighted {} points per cell), Gaussian {} m",
            l.name, spec.density_bandwidth_m
        ));
    }
    let mut out = Array2::<f64>::zeros((cells.len(), 2 * layers.len()));
    let cols: Vec<(Vec<f64>, Vec<f64>)> = layers
        .par_iter()
        .map(|l| -> Result<(Vec<f64>, Vec<f64>)> {
            let pts: Vec<[f64; 2]> = l.x.iter().zip(&l.y).map(|(&a, &b)| [a, b]).collect();
            let tree = RTree::bulk_load(pts);
            let dist: Vec<f64> = cells
                .iter()
                .map(|&id| {
                    let (cx, cy) = grid.centre(id);
                    let p = tree.nearest_neighbor(&[cx, cy]).expect("layer has points");
                    let d = ((p[0] - cx).powi(2) + (p[1] - cy).powi(2)).sqrt();
                    d.min(spec.distance_cap_m) / 1000.0
                })
                .collect();
            let w = vec![1.0; l.x.len()];
            let (dens, _) = kde_grid(
                grid,
                &l.x,
                &l.y,
                &w,
                spec.density_bandwidth_m,
                Kernel::Gaussian,
                KdeMode::Exact,
                5.0,
                None,
            )?;
            let flat = dens.as_slice().expect("standard layout");
            let dens: Vec<f64> = cells.iter().map(|&id| flat[id].ln_1p()).collect();
            Ok((dist, dens))
        })
        .collect::<Result<_>>()?;
    for (k, (dist, dens)) in cols.into_iter().enumerate() {
        for (j, (a, b)) in dist.into_iter().zip(dens).enumerate() {
            out[[j, 2 * k]] = a;
            out[[j, 2 * k + 1]] = b;
        }
    }
    Ok((names, units, out))
}

/// Names and units of the dynamic features, in column order.
fn dynamic_names(spec: &FeatureSpec) -> (Vec<String>, Vec<String>) {
    let mut names = Vec::new();
    let mut units = Vec::new();
    for w in &spec.windows_days {
        names.push(format!("count_{w}d"));
        units.push(format!("ln(1 + incidents in the cell, last {w} days)"));
    }
    for h in &spec.half_lives_days {
        names.push(format!("decayed_{h}d"));
        units.push(format!(
            "ln(1 + incidents in the cell weighted 2^(-age/{h} d))"
        ));
    }
    for r in &spec.neighbour_radii_m {
        names.push(format!("neighbours_{r}m"));
        units.push(format!(
            "ln(1 + incidents in cells within {r} m, cell excluded, last {} days)",
            spec.neighbour_window_days
        ));
    }
    names.push("near_repeat".into());
    units.push(format!(
        "exp(-age / {} d) of the latest incident within {} m",
        spec.near_repeat_days, spec.near_repeat_radius_m
    ));
    (names, units)
}

/// Dynamic and layer features at each origin (UTC seconds; any order). See [`FeatureSpec`].
///
/// Errors: a spec number that is not finite and > 0, duplicate layer names, an empty
/// `origins`.
pub fn build_features(
    grid: &Grid,
    incidents: &Incidents,
    origins: &[i64],
    layers: &[PointLayer],
    spec: &FeatureSpec,
) -> Result<Features> {
    spec.validate()?;
    if origins.is_empty() {
        return Err(Error::empty("no origins to build features at"));
    }
    let (mut names, mut units) = dynamic_names(spec);
    let (lnames, lunits, lvals) = layer_features(grid, layers, spec)?;
    names.extend(lnames);
    units.extend(lunits);
    let cells = grid.active_ids();
    let na = cells.len();
    let nd = names.len() - lvals.ncols();
    let nf = names.len();
    let (nx, ny) = (grid.nx(), grid.ny());
    // each incident's cell (None outside the extent); times are sorted
    let t = incidents.t();
    let cell_of: Vec<Option<usize>> = incidents
        .x()
        .iter()
        .zip(incidents.y())
        .map(|(&x, &y)| grid.cell_of(x, y))
        .collect();
    let nb: Vec<Vec<(isize, isize)>> = spec
        .neighbour_radii_m
        .iter()
        .map(|&r| disc(grid.cell_size(), r, false))
        .collect();
    let nr = disc(grid.cell_size(), spec.near_repeat_radius_m, true);
    let block: Vec<Vec<f64>> = origins
        .par_iter()
        .map(|&o| {
            let mut rows = vec![0.0; na * nf];
            let end = t.partition_point(|&v| v < o);
            let counts_in = |days: f64| -> Vec<f64> {
                let start = o as f64 - days * DAY_S;
                let a = t.partition_point(|&v| (v as f64) < start);
                let mut c = vec![0.0; nx * ny];
                for (i, cell) in cell_of.iter().enumerate().take(end).skip(a) {
                    if let Some(id) = *cell {
                        c[id] += incidents.weight_of(i);
                    }
                }
                c
            };
            let mut col = 0;
            for &w in &spec.windows_days {
                let c = counts_in(w);
                for (j, &id) in cells.iter().enumerate() {
                    rows[j * nf + col] = c[id].ln_1p();
                }
                col += 1;
            }
            for &h in &spec.half_lives_days {
                let start = o as f64 - 10.0 * h * DAY_S;
                let a = t.partition_point(|&v| (v as f64) < start);
                let mut c = vec![0.0; nx * ny];
                for i in a..end {
                    if let Some(id) = cell_of[i] {
                        let age = (o - t[i]) as f64 / DAY_S;
                        c[id] += incidents.weight_of(i) * (-age / h * std::f64::consts::LN_2).exp();
                    }
                }
                for (j, &id) in cells.iter().enumerate() {
                    rows[j * nf + col] = c[id].ln_1p();
                }
                col += 1;
            }
            let base = counts_in(spec.neighbour_window_days);
            for offs in &nb {
                for (j, &id) in cells.iter().enumerate() {
                    let (r, c) = ((id / nx) as isize, (id % nx) as isize);
                    let mut s = 0.0;
                    for &(dr, dc) in offs {
                        let (rr, cc) = (r + dr, c + dc);
                        if rr >= 0 && cc >= 0 && (rr as usize) < ny && (cc as usize) < nx {
                            s += base[rr as usize * nx + cc as usize];
                        }
                    }
                    rows[j * nf + col] = s.ln_1p();
                }
                col += 1;
            }
            // near repeat: latest incident time per cell within 10 τ
            let start = o as f64 - 10.0 * spec.near_repeat_days * DAY_S;
            let a = t.partition_point(|&v| (v as f64) < start);
            let mut latest = vec![i64::MIN; nx * ny];
            for i in a..end {
                if let Some(id) = cell_of[i] {
                    latest[id] = latest[id].max(t[i]);
                }
            }
            for (j, &id) in cells.iter().enumerate() {
                let (r, c) = ((id / nx) as isize, (id % nx) as isize);
                let mut best = i64::MIN;
                for &(dr, dc) in &nr {
                    let (rr, cc) = (r + dr, c + dc);
                    if rr >= 0 && cc >= 0 && (rr as usize) < ny && (cc as usize) < nx {
                        best = best.max(latest[rr as usize * nx + cc as usize]);
                    }
                }
                rows[j * nf + col] = if best == i64::MIN {
                    0.0
                } else {
                    (-((o - best) as f64 / DAY_S) / spec.near_repeat_days).exp()
                };
            }
            for j in 0..na {
                for k in 0..lvals.ncols() {
                    rows[j * nf + nd + k] = lvals[[j, k]];
                }
            }
            rows
        })
        .collect();
    let mut flat = Vec::with_capacity(origins.len() * na * nf);
    for b in block {
        flat.extend(b);
    }
    let values = Array2::from_shape_vec((origins.len() * na, nf), flat)
        .map_err(|e| Error::param("origins", e.to_string()))?;
    Ok(Features {
        names,
        units,
        values,
        cells,
        n_origins: origins.len(),
    })
}

/// (Weighted) incident counts per active cell in `[o, o + horizon)` for each origin, in the
/// row order of [`build_features`]: the targets of a risk-factor model.
pub fn future_counts(
    grid: &Grid,
    incidents: &Incidents,
    origins: &[i64],
    horizon_days: f64,
) -> Result<Vec<f64>> {
    require_positive("horizon_days", horizon_days)?;
    let cells = grid.active_ids();
    let mut pos = vec![usize::MAX; grid.n_cells()];
    for (j, &id) in cells.iter().enumerate() {
        pos[id] = j;
    }
    let t = incidents.t();
    let h = (horizon_days * DAY_S).round() as i64;
    let mut out = vec![0.0; origins.len() * cells.len()];
    for (k, &o) in origins.iter().enumerate() {
        let a = t.partition_point(|&v| v < o);
        let b = t.partition_point(|&v| v < o.saturating_add(h));
        for i in a..b {
            if let Some(id) = grid.cell_of(incidents.x()[i], incidents.y()[i]) {
                if pos[id] != usize::MAX {
                    out[k * cells.len() + pos[id]] += incidents.weight_of(i);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn grid() -> Grid {
        Grid::from_extent(0.0, 0.0, 100.0, 5, 5).unwrap()
    }

    #[test]
    fn lagged_neighbour_and_near_repeat_by_hand() {
        let g = grid();
        // cell (2,2) = id 12 gets 3 incidents (days 1, 20, 95); cell (2,3) = id 13 gets one
        // on day 99; origin day 100
        let inc = Incidents::new(
            vec![250.0, 250.0, 250.0, 350.0],
            vec![250.0, 250.0, 250.0, 250.0],
            vec![DAY, 20 * DAY, 95 * DAY, 99 * DAY],
        )
        .unwrap();
        let spec = FeatureSpec {
            windows_days: vec![7.0, 90.0],
            half_lives_days: vec![10.0],
            neighbour_radii_m: vec![100.0, 150.0],
            neighbour_window_days: 365.0,
            near_repeat_radius_m: 100.0,
            near_repeat_days: 14.0,
            ..FeatureSpec::default()
        };
        let f = build_features(&g, &inc, &[100 * DAY], &[], &spec).unwrap();
        let v = |cell: usize, name: &str| f.values[[cell, f.column(name).unwrap()]];
        // last 7 days: day 95 in cell 12, day 99 in cell 13
        assert_eq!(v(12, "count_7d"), 1f64.ln_1p());
        assert_eq!(v(13, "count_7d"), 1f64.ln_1p());
        // last 90 days (from day 10): days 20, 95 in cell 12
        assert_eq!(v(12, "count_90d"), 2f64.ln_1p());
        // decayed, half-life 10 d over the last 100 d: ages 99, 80 and 5 d
        let dec = 2f64.powf(-9.9) + 2f64.powf(-8.0) + 2f64.powf(-0.5);
        assert!((v(12, "decayed_10d") - dec.ln_1p()).abs() < 1e-12);
        // neighbours within 100 m of cell 12 (4-neighbourhood): cell 13 has 1
        assert_eq!(v(12, "neighbours_100m"), 1f64.ln_1p());
        // within 150 m: 8-neighbourhood, still 1; cell 13 sees the 3 of cell 12
        assert_eq!(v(12, "neighbours_150m"), 1f64.ln_1p());
        assert_eq!(v(13, "neighbours_150m"), 3f64.ln_1p());
        // near repeat within 100 m: cell 12 and 13 see day 99 (age 1 d); cell 11 sees day 95
        assert!((v(12, "near_repeat") - (-1.0f64 / 14.0).exp()).abs() < 1e-12);
        assert!((v(11, "near_repeat") - (-5.0f64 / 14.0).exp()).abs() < 1e-12);
        // cell 0 is 2+ cells away: nothing
        assert_eq!(v(0, "near_repeat"), 0.0);
        // nothing at or after the origin leaks in
        let f2 = build_features(&g, &inc, &[95 * DAY], &[], &spec).unwrap();
        assert_eq!(f2.values[[12, f2.column("count_7d").unwrap()]], 0.0);
    }

    #[test]
    fn layers_distance_density_and_targets() {
        let g = grid();
        let inc = Incidents::new(vec![50.0, 50.0], vec![50.0, 50.0], vec![0, 10 * DAY]).unwrap();
        let l = PointLayer::new("bars", vec![50.0], vec![450.0]).unwrap();
        let spec = FeatureSpec {
            distance_cap_m: 300.0,
            ..FeatureSpec::default()
        };
        let f = build_features(&g, &inc, &[5 * DAY, 6 * DAY], &[l], &spec).unwrap();
        assert_eq!(f.values.nrows(), 50);
        let d = f.column("distance_bars").unwrap();
        // cell 20 is the layer's own cell; cell 0 is 400 m away, capped at 300 m
        assert_eq!(f.values[[20, d]], 0.0);
        assert_eq!(f.values[[0, d]], 0.3);
        let k = f.column("density_bars").unwrap();
        assert!(f.values[[20, k]] > f.values[[0, k]]);
        let y = future_counts(&g, &inc, &[5 * DAY, 11 * DAY], 7.0).unwrap();
        assert_eq!(y[0], 1.0); // day 10 in [5, 12)
        assert_eq!(y[25], 0.0);
    }

    #[test]
    fn bad_inputs_are_named() {
        let e = PointLayer::new("empty", vec![], vec![]).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let e = PointLayer::new("bad", vec![f64::NAN], vec![1.0]).unwrap_err();
        assert!(e.to_string().contains("layers[bad]"), "{e}");
        let g = grid();
        let inc = Incidents::new(vec![50.0], vec![50.0], vec![0]).unwrap();
        for (name, spec) in [
            (
                "neighbour_radii_m",
                FeatureSpec {
                    neighbour_radii_m: vec![f64::NAN],
                    ..FeatureSpec::default()
                },
            ),
            (
                "near_repeat_radius_m",
                FeatureSpec {
                    near_repeat_radius_m: -1.0,
                    ..FeatureSpec::default()
                },
            ),
            (
                "windows_days",
                FeatureSpec {
                    windows_days: vec![f64::INFINITY],
                    ..FeatureSpec::default()
                },
            ),
        ] {
            let e = build_features(&g, &inc, &[DAY], &[], &spec).unwrap_err();
            assert!(e.to_string().contains(name), "{e}");
        }
        let l = PointLayer::new("a", vec![1.0], vec![1.0]).unwrap();
        let e =
            build_features(&g, &inc, &[DAY], &[l.clone(), l], &FeatureSpec::default()).unwrap_err();
        assert!(e.to_string().contains("two layers"), "{e}");
    }
}
