use geo::{Coord, Polygon, Rect};

use crate::error::{require_positive, Error, Result};
use crate::limits;
use crate::space::areal::{cell_overlaps, Lattice};
use crate::space::Region;

/// Default limit on the number of cells (active or not) a grid may have: 25 million cells, about
/// 200 MB per `f64` surface (the default of [`crate::limits::Limits::max_grid_cells`]).
pub const DEFAULT_MAX_CELLS: u64 = crate::limits::Limits::DEFAULT.max_grid_cells;

/// Share of a cell's area below which an overlap is treated as a numerical sliver, not as part
/// of the region.
const SLIVER: f64 = 1e-9;

/// A square grid over a region.
///
/// * The grid's south-west corner is the region's bounding box corner; it has
///   `nx = ceil(width / cell_size)` columns and `ny = ceil(height / cell_size)` rows.
/// * Cell ids run row-major from the south-west: `id = row * nx + col`; row 0 is the southern
///   row. Arrays of cell values have shape `(ny, nx)` in that order.
/// * **Mask rule**: a cell is *active* (inside the region) when it overlaps the region with
///   positive area (more than a 1e-9 share of the cell, to ignore numerical slivers). Every
///   point strictly inside the region therefore falls in an active cell. `coverage(id)` gives
///   the share of each cell's area inside the region, so area-based metrics can use the
///   region's true area.
/// * A point on a shared cell edge belongs to the cell to its north/east (floor rule).
///
/// # Examples
/// ```
/// use placewise::space::{Grid, Region};
/// let region = Region::from_bounds(0.0, 0.0, 1000.0, 450.0).unwrap();
/// let grid = Grid::new(&region, 150.0, placewise::space::DEFAULT_MAX_CELLS).unwrap();
/// assert_eq!((grid.nx(), grid.ny()), (7, 3));
/// let id = grid.cell_of(160.0, 10.0).unwrap();
/// assert_eq!(id, 1);
/// assert_eq!(grid.centre(id), (225.0, 75.0));
/// assert!(grid.is_active(id));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    lat: Lattice,
    coverage: Vec<f64>,
    active: Vec<bool>,
    n_active: usize,
}

/// Sizes `nx × ny` before anything is allocated: refused above the caller's `max_cells` and
/// above the process-wide [`crate::limits::Limits::max_grid_cells`].
fn check_size(nx: f64, ny: f64, max_cells: u64) -> Result<(usize, usize)> {
    let requested = nx * ny;
    limits::check_f64("cell_size", "grid cells (max_cells)", requested, max_cells)?;
    limits::check_f64(
        "cell_size",
        "grid cells (limit max_grid_cells)",
        requested,
        limits::get().max_grid_cells,
    )?;
    Ok((nx as usize, ny as usize))
}

impl Grid {
    /// A grid of square cells of side `cell_size_m` over `region`, refusing (before allocating)
    /// any grid of more than `max_cells` cells or more than the process-wide limit
    /// ([`crate::limits`]).
    pub fn new(region: &Region, cell_size_m: f64, max_cells: u64) -> Result<Self> {
        require_positive("cell_size", cell_size_m)?;
        let (x0, y0, x1, y1) = region.bounds();
        let nx = ((x1 - x0) / cell_size_m).ceil().max(1.0);
        let ny = ((y1 - y0) / cell_size_m).ceil().max(1.0);
        let (nx, ny) = check_size(nx, ny, max_cells)?;
        let cell_area = cell_size_m * cell_size_m;
        if !cell_area.is_finite() || !(x0 + nx as f64 * cell_size_m).is_finite() {
            return Err(Error::param(
                "cell_size",
                format!("{cell_size_m} m puts the grid's corners beyond the range of numbers"),
            ));
        }
        let lat = Lattice {
            x0,
            y0,
            cell: cell_size_m,
            nx,
            ny,
        };
        // A sliver is judged against the smaller of the cell and the region, so that a region
        // smaller than one (large) cell still makes that cell active.
        let sliver = SLIVER * cell_area.min(region.area_m2());
        let mut coverage = vec![0.0; nx * ny];
        let mut active = vec![false; nx * ny];
        for (id, a) in cell_overlaps(region.shape(), &lat) {
            coverage[id] = (a / cell_area).min(1.0);
            active[id] = a > sliver;
        }
        Ok(Self::with_mask(lat, coverage, active))
    }

    /// A rectangular grid with every cell active (no region), for synthetic data and tests.
    pub fn from_extent(x0: f64, y0: f64, cell_size_m: f64, nx: usize, ny: usize) -> Result<Self> {
        require_positive("cell_size", cell_size_m)?;
        for (name, v) in [("x0", x0), ("y0", y0)] {
            if !v.is_finite() {
                return Err(Error::param(name, format!("must be finite, got {v}")));
            }
        }
        if nx == 0 || ny == 0 {
            return Err(Error::param(
                "nx, ny",
                "a grid needs at least one row and one column",
            ));
        }
        let (nx, ny) = check_size(nx as f64, ny as f64, u64::MAX)?;
        let lat = Lattice {
            x0,
            y0,
            cell: cell_size_m,
            nx,
            ny,
        };
        Ok(Self::with_mask(
            lat,
            vec![1.0; nx * ny],
            vec![true; nx * ny],
        ))
    }

    /// A grid from its lattice and the share of each cell inside the region (row-major,
    /// `nx * ny` values in [0, 1]), as [`Grid::coverage`] returns it: rebuilds a grid exactly
    /// (the mask follows from the coverage), e.g. after it was sent to another process.
    pub fn from_coverage(
        x0: f64,
        y0: f64,
        cell_size_m: f64,
        nx: usize,
        ny: usize,
        coverage: Vec<f64>,
    ) -> Result<Self> {
        require_positive("cell_size", cell_size_m)?;
        for (name, v) in [("x0", x0), ("y0", y0)] {
            if !v.is_finite() {
                return Err(Error::param(name, format!("must be finite, got {v}")));
            }
        }
        if nx == 0 || ny == 0 || nx.checked_mul(ny) != Some(coverage.len()) {
            return Err(Error::param(
                "coverage",
                format!(
                    "needs nx * ny = {nx} * {ny} values (nx, ny >= 1), got {}",
                    coverage.len()
                ),
            ));
        }
        if let Some(i) = coverage
            .iter()
            .position(|c| !(c.is_finite() && (0.0..=1.0).contains(c)))
        {
            return Err(Error::param(
                "coverage",
                format!("cell {i}: share {} is not in [0, 1]", coverage[i]),
            ));
        }
        let lat = Lattice {
            x0,
            y0,
            cell: cell_size_m,
            nx,
            ny,
        };
        Ok(Self::with_coverage(lat, coverage))
    }

    /// The mask from the coverage alone, by the rule of [`Grid::new`]: a sliver is judged
    /// against the smaller of the cell and the region (the region's area in cells is the sum of
    /// the coverage).
    fn with_coverage(lat: Lattice, coverage: Vec<f64>) -> Self {
        let region_cells: f64 = coverage.iter().sum();
        let sliver = SLIVER * region_cells.min(1.0);
        let active: Vec<bool> = coverage.iter().map(|&c| c > sliver).collect();
        Self::with_mask(lat, coverage, active)
    }

    fn with_mask(lat: Lattice, coverage: Vec<f64>, active: Vec<bool>) -> Self {
        let n_active = active.iter().filter(|&&a| a).count();
        Grid {
            lat,
            coverage,
            active,
            n_active,
        }
    }

    pub(crate) fn lattice(&self) -> Lattice {
        self.lat
    }

    /// West edge (m).
    pub fn x0(&self) -> f64 {
        self.lat.x0
    }
    /// South edge (m).
    pub fn y0(&self) -> f64 {
        self.lat.y0
    }
    /// Side of a cell (m).
    pub fn cell_size(&self) -> f64 {
        self.lat.cell
    }
    /// Columns.
    pub fn nx(&self) -> usize {
        self.lat.nx
    }
    /// Rows.
    pub fn ny(&self) -> usize {
        self.lat.ny
    }
    /// All cells, active or not (`nx * ny`).
    pub fn n_cells(&self) -> usize {
        self.lat.nx * self.lat.ny
    }
    /// Cells inside the region.
    pub fn n_active(&self) -> usize {
        self.n_active
    }
    /// Area of one cell (m²).
    pub fn cell_area(&self) -> f64 {
        self.lat.cell * self.lat.cell
    }
    /// Region area covered by active cells (m²): Σ coverage × cell area.
    pub fn active_area_m2(&self) -> f64 {
        self.coverage.iter().sum::<f64>() * self.cell_area()
    }
    /// `(x0, y0, x1, y1)` of the whole grid.
    pub fn extent(&self) -> (f64, f64, f64, f64) {
        let l = &self.lat;
        (
            l.x0,
            l.y0,
            l.x0 + l.nx as f64 * l.cell,
            l.y0 + l.ny as f64 * l.cell,
        )
    }
    /// Mask of active cells, by cell id.
    pub fn mask(&self) -> &[bool] {
        &self.active
    }
    /// Share of each cell's area inside the region, by cell id.
    pub fn coverage(&self) -> &[f64] {
        &self.coverage
    }
    /// Whether cell `id` is inside the region (false for ids out of range).
    pub fn is_active(&self, id: usize) -> bool {
        self.active.get(id).copied().unwrap_or(false)
    }
    /// Ids of active cells in increasing order.
    pub fn active_ids(&self) -> Vec<usize> {
        (0..self.n_cells()).filter(|&i| self.active[i]).collect()
    }

    /// The cell holding `(x, y)`, active or not; `None` outside the grid's extent or for
    /// non-finite coordinates.
    #[inline]
    pub fn cell_of(&self, x: f64, y: f64) -> Option<usize> {
        let l = &self.lat;
        let c = ((x - l.x0) / l.cell).floor();
        let r = ((y - l.y0) / l.cell).floor();
        // NaN fails both comparisons.
        if c >= 0.0 && r >= 0.0 && c < l.nx as f64 && r < l.ny as f64 {
            Some(r as usize * l.nx + c as usize)
        } else {
            None
        }
    }

    /// The active cell holding `(x, y)`, or `None`.
    #[inline]
    pub fn active_cell_of(&self, x: f64, y: f64) -> Option<usize> {
        self.cell_of(x, y).filter(|&id| self.active[id])
    }

    /// `(row, col)` of cell `id`.
    pub fn row_col(&self, id: usize) -> (usize, usize) {
        (id / self.lat.nx, id % self.lat.nx)
    }

    /// Centre of cell `id` (m).
    pub fn centre(&self, id: usize) -> (f64, f64) {
        let (r, c) = self.row_col(id);
        let l = &self.lat;
        (
            l.x0 + (c as f64 + 0.5) * l.cell,
            l.y0 + (r as f64 + 0.5) * l.cell,
        )
    }

    /// The square of cell `id`.
    pub fn cell_polygon(&self, id: usize) -> Polygon<f64> {
        let (x, y) = self.centre(id);
        let h = self.lat.cell / 2.0;
        Rect::new(Coord { x: x - h, y: y - h }, Coord { x: x + h, y: y + h }).to_polygon()
    }

    /// Cell ids of many points: `-1` where a point is outside the grid or in an inactive cell.
    pub fn assign(&self, x: &[f64], y: &[f64]) -> Result<Vec<i64>> {
        if x.len() != y.len() {
            return Err(Error::param(
                "x, y",
                format!("must have the same length, got {} and {}", x.len(), y.len()),
            ));
        }
        Ok(x.iter()
            .zip(y)
            .map(|(&a, &b)| self.active_cell_of(a, b).map_or(-1, |id| id as i64))
            .collect())
    }

    /// Counts of points per cell (length `n_cells`), ignoring points outside active cells;
    /// also returns how many were ignored.
    pub fn counts(&self, x: &[f64], y: &[f64], weight: Option<&[f64]>) -> (Vec<f64>, usize) {
        let mut out = vec![0.0; self.n_cells()];
        let mut missed = 0;
        for i in 0..x.len() {
            match self.active_cell_of(x[i], y[i]) {
                Some(id) => out[id] += weight.map_or(1.0, |w| w[i]),
                None => missed += 1,
            }
        }
        (out, missed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;
    use proptest::prelude::*;

    fn l_shape() -> Region {
        Region::from_polygons(vec![polygon![
            (x: 0.0, y: 0.0), (x: 300.0, y: 0.0), (x: 300.0, y: 100.0),
            (x: 100.0, y: 100.0), (x: 100.0, y: 300.0), (x: 0.0, y: 300.0)
        ]])
        .unwrap()
    }

    #[test]
    fn from_coverage_rebuilds_the_grid_and_refuses_bad_state() {
        let g = Grid::new(&l_shape(), 70.0, DEFAULT_MAX_CELLS).unwrap();
        let back = Grid::from_coverage(
            g.x0(),
            g.y0(),
            g.cell_size(),
            g.nx(),
            g.ny(),
            g.coverage().to_vec(),
        )
        .unwrap();
        assert_eq!(back, g);
        let bad_len = Grid::from_coverage(0.0, 0.0, 10.0, 2, 2, vec![1.0; 3]).unwrap_err();
        assert!(bad_len.to_string().contains("coverage"), "{bad_len}");
        let bad_share = Grid::from_coverage(0.0, 0.0, 10.0, 1, 2, vec![1.0, 1.5]).unwrap_err();
        assert!(bad_share.to_string().contains("cell 1"), "{bad_share}");
        assert!(Grid::from_coverage(0.0, f64::NAN, 10.0, 1, 1, vec![1.0]).is_err());
        assert!(Grid::from_coverage(0.0, 0.0, -1.0, 1, 1, vec![1.0]).is_err());
    }

    #[test]
    fn mask_follows_overlap_rule() {
        let g = Grid::new(&l_shape(), 100.0, DEFAULT_MAX_CELLS).unwrap();
        assert_eq!((g.nx(), g.ny()), (3, 3));
        // the L covers 5 of 9 cells
        assert_eq!(g.n_active(), 5);
        assert!(!g.is_active(g.cell_of(250.0, 250.0).unwrap()));
        assert!((g.active_area_m2() - 50_000.0).abs() < 1e-6);
    }

    #[test]
    fn bad_cell_sizes_are_refused() {
        let r = l_shape();
        for cs in [0.0, -5.0, f64::NAN, f64::INFINITY] {
            let e = Grid::new(&r, cs, DEFAULT_MAX_CELLS).unwrap_err();
            assert!(e.to_string().contains("cell_size"), "{e}");
        }
        let e = Grid::new(&r, 1e-4, DEFAULT_MAX_CELLS).unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    }

    #[test]
    fn huge_cell_gives_one_cell() {
        let g = Grid::new(&l_shape(), 1e6, DEFAULT_MAX_CELLS).unwrap();
        assert_eq!(g.n_cells(), 1);
        assert_eq!(g.n_active(), 1);
    }

    #[test]
    fn region_smaller_than_one_huge_cell_is_active() {
        let tiny = Region::from_bounds(10.0, 10.0, 11.0, 11.0).unwrap();
        for cs in [1e3, 1e6, 1e9, 1e12, 1e15] {
            let g = Grid::new(&tiny, cs, DEFAULT_MAX_CELLS).unwrap();
            assert_eq!((g.n_cells(), g.n_active()), (1, 1), "cell size {cs}");
            assert!(g.active_cell_of(10.5, 10.5).is_some(), "cell size {cs}");
        }
        let e = Grid::new(&tiny, 1e300, DEFAULT_MAX_CELLS).unwrap_err();
        assert!(e.to_string().contains("cell_size"), "{e}");
    }

    #[test]
    fn grid_limit_names_the_parameter_and_limit() {
        let e = Grid::new(&l_shape(), 1e-4, 1_000).unwrap_err();
        match e {
            Error::TooLarge {
                param,
                requested,
                limit,
                ..
            } => {
                assert_eq!(param, "cell_size");
                assert_eq!(requested, 3_000_000 * 3_000_000);
                assert_eq!(limit, 1_000);
            }
            other => panic!("{other}"),
        }
    }

    proptest! {
        #[test]
        fn centre_round_trips(nx in 1usize..60, ny in 1usize..60, cs in 0.5f64..500.0,
                              x0 in -1e6f64..1e6, y0 in -1e6f64..1e6, k in 0usize..3600) {
            let g = Grid::from_extent(x0, y0, cs, nx, ny).unwrap();
            let id = k % g.n_cells();
            let (x, y) = g.centre(id);
            prop_assert_eq!(g.cell_of(x, y), Some(id));
        }

        #[test]
        fn points_inside_region_fall_in_active_cells(px in 0.0f64..300.0, py in 0.0f64..300.0, cs in 7.0f64..120.0) {
            let r = l_shape();
            let g = Grid::new(&r, cs, DEFAULT_MAX_CELLS).unwrap();
            if r.contains(px, py) {
                prop_assert!(g.active_cell_of(px, py).is_some());
            }
        }
    }
}
