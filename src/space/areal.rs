use geo::{Area, BooleanOps, BoundingRect, Coord, MultiPolygon, Polygon, Rect};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::space::Grid;

/// The placement of a grid's cells: origin (south-west corner), cell size, columns and rows.
/// Cell ids run row-major from the south-west: `id = row * nx + col`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Lattice {
    pub x0: f64,
    pub y0: f64,
    pub cell: f64,
    pub nx: usize,
    pub ny: usize,
}

impl Lattice {
    fn cell_rect(&self, col: usize, row: usize) -> Rect<f64> {
        let xa = self.x0 + col as f64 * self.cell;
        let ya = self.y0 + row as f64 * self.cell;
        Rect::new(
            Coord { x: xa, y: ya },
            Coord {
                x: xa + self.cell,
                y: ya + self.cell,
            },
        )
    }

    /// Inclusive range of column indices that `[lo, hi]` touches, clamped to the lattice.
    fn span(&self, lo: f64, hi: f64, origin: f64, n: usize) -> Option<(usize, usize)> {
        let a = ((lo - origin) / self.cell).floor();
        let b = ((hi - origin) / self.cell).floor();
        if b < 0.0 || a >= n as f64 {
            return None;
        }
        let a = a.max(0.0) as usize;
        let b = (b as usize).min(n - 1);
        Some((a, b))
    }
}

/// Area (m²) of `shape` inside each cell of `lat` that it overlaps, as `(cell id, area)` pairs in
/// increasing cell id.
///
/// The shape is first cut into one strip per grid row, and each strip piece into cells, with
/// geo's boolean operations (i_overlay); cutting by rows first keeps each cell-level operation
/// small. Rows run in parallel and are concatenated in order, so the result does not depend on
/// the number of threads.
pub(crate) fn cell_overlaps(shape: &MultiPolygon<f64>, lat: &Lattice) -> Vec<(usize, f64)> {
    let Some(bb) = shape.bounding_rect() else {
        return Vec::new();
    };
    let Some((r0, r1)) = lat.span(bb.min().y, bb.max().y, lat.y0, lat.ny) else {
        return Vec::new();
    };
    let Some((c0, c1)) = lat.span(bb.min().x, bb.max().x, lat.x0, lat.nx) else {
        return Vec::new();
    };
    let rows: Vec<Vec<(usize, f64)>> = (r0..=r1)
        .into_par_iter()
        .map(|row| {
            let strip =
                Rect::new(lat.cell_rect(c0, row).min(), lat.cell_rect(c1, row).max()).to_polygon();
            let piece = shape.intersection(&strip);
            let mut acc = vec![0.0f64; c1 - c0 + 1];
            for part in &piece.0 {
                add_part(part, row, lat, c0, c1, &mut acc);
            }
            acc.iter()
                .enumerate()
                .filter(|(_, &a)| a > 0.0)
                .map(|(i, &a)| (row * lat.nx + c0 + i, a))
                .collect()
        })
        .collect();
    rows.into_iter().flatten().collect()
}

fn add_part(part: &Polygon<f64>, row: usize, lat: &Lattice, c0: usize, c1: usize, acc: &mut [f64]) {
    let Some(pb) = part.bounding_rect() else {
        return;
    };
    let Some((a, b)) = lat.span(pb.min().x, pb.max().x, lat.x0, lat.nx) else {
        return;
    };
    let (a, b) = (a.max(c0), b.min(c1));
    if a == b {
        acc[a - c0] += part.unsigned_area();
        return;
    }
    for col in a..=b {
        let cell = lat.cell_rect(col, row).to_polygon();
        acc[col - c0] += part.intersection(&cell).unsigned_area();
    }
}

/// Sparse areal weights from a polygon layer to grid cells (CSR layout: polygon `i` owns
/// entries `indptr[i]..indptr[i+1]`).
///
/// `weight` is the share of the polygon's area that lies in the cell, so a polygon wholly inside
/// the grid's extent has weights summing to 1. `in_grid_share[i]` is that sum: below 1 when part
/// of the polygon lies outside the grid's extent, 0 when the polygon misses the grid entirely.
#[derive(Debug, Clone)]
pub struct ArealWeights {
    /// Offsets into `cell` and `weight`, one more than the number of polygons.
    pub indptr: Vec<usize>,
    /// Cell ids.
    pub cell: Vec<usize>,
    /// Share of the polygon's area in the cell.
    pub weight: Vec<f64>,
    /// Area of each polygon in m².
    pub area_m2: Vec<f64>,
    /// Share of each polygon's area inside the grid's extent.
    pub in_grid_share: Vec<f64>,
}

impl ArealWeights {
    /// Entries `(cell, weight)` of polygon `i`.
    pub fn row(&self, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let (a, b) = (self.indptr[i], self.indptr[i + 1]);
        self.cell[a..b]
            .iter()
            .copied()
            .zip(self.weight[a..b].iter().copied())
    }

    /// Number of polygons.
    pub fn n_polygons(&self) -> usize {
        self.area_m2.len()
    }
}

/// Areal weights of every polygon in `layer` onto the cells of `grid`.
///
/// Errors: [`Error::EmptyInput`] for an empty layer; [`Error::DataValidation`] naming the row of
/// a polygon with a non-finite coordinate or no area.
///
/// # Examples
/// ```
/// use geo::{polygon, MultiPolygon};
/// use placewise::space::{areal_weights, Grid};
/// let grid = Grid::from_extent(0.0, 0.0, 10.0, 4, 4).unwrap();
/// let square = MultiPolygon(vec![polygon![(x: 5.0, y: 5.0), (x: 15.0, y: 5.0), (x: 15.0, y: 15.0), (x: 5.0, y: 15.0)]]);
/// let w = areal_weights(&[square], &grid).unwrap();
/// let total: f64 = w.row(0).map(|(_, w)| w).sum();
/// assert!((total - 1.0).abs() < 1e-12);
/// assert_eq!(w.row(0).count(), 4); // it straddles four cells, a quarter in each
/// ```
pub fn areal_weights(layer: &[MultiPolygon<f64>], grid: &Grid) -> Result<ArealWeights> {
    if layer.is_empty() {
        return Err(Error::empty("polygon layer has no polygons"));
    }
    let lat = grid.lattice();
    let mut areas = Vec::with_capacity(layer.len());
    let mut shapes = Vec::with_capacity(layer.len());
    for (i, mp) in layer.iter().enumerate() {
        let finite =
            mp.0.iter()
                .flat_map(|p| {
                    p.exterior()
                        .coords()
                        .chain(p.interiors().iter().flat_map(|r| r.coords()))
                })
                .all(|c| c.x.is_finite() && c.y.is_finite());
        if !finite {
            return Err(Error::data(
                Some(i),
                "geometry",
                "polygon has a NaN or infinite coordinate",
            ));
        }
        // Dissolve the parts first: invalid layers (a part repeated inside another, as in
        // real census layers) would otherwise double count or, under the even-odd rule, punch
        // holes.
        let shape = dissolve(mp);
        let a = shape.unsigned_area();
        if a.is_nan() || a <= 0.0 {
            return Err(Error::data(Some(i), "geometry", "polygon has no area"));
        }
        areas.push(a);
        shapes.push(shape);
    }
    let per_poly: Vec<Vec<(usize, f64)>> =
        shapes.iter().map(|mp| cell_overlaps(mp, &lat)).collect();
    let mut out = ArealWeights {
        indptr: vec![0],
        cell: Vec::new(),
        weight: Vec::new(),
        area_m2: areas,
        in_grid_share: Vec::with_capacity(layer.len()),
    };
    for (i, entries) in per_poly.into_iter().enumerate() {
        let mut share = 0.0;
        for (c, a) in entries {
            let w = a / out.area_m2[i];
            share += w;
            out.cell.push(c);
            out.weight.push(w);
        }
        out.in_grid_share.push(share);
        out.indptr.push(out.cell.len());
    }
    Ok(out)
}

/// Relative tolerance under which two overlaps count as equal in [`dominant_polygon`].
pub const DOMINANT_TIE_RTOL: f64 = 1e-9;

/// The polygon that dominates each grid cell: the one whose overlap with the cell has the
/// largest area (m²), for `n_cells` cells (`None` where no polygon overlaps the cell).
///
/// **Tie rule**: overlaps within a relative [`DOMINANT_TIE_RTOL`] of each other count as equal
/// (they are computed as share × polygon area, so exact ties may differ in the last bits), and
/// among equal overlaps the polygon that comes **first** in the layer (lowest index) wins. The
/// result does not depend on the order in which cells are visited.
///
/// ```
/// use geo::{polygon, MultiPolygon};
/// use placewise::space::{areal_weights, dominant_polygon, Grid};
/// let grid = Grid::from_extent(0.0, 0.0, 10.0, 2, 1).unwrap();
/// // Two halves of cell 0 (a tie: the first polygon wins) and all of cell 1 for the second.
/// let a = MultiPolygon(vec![polygon![(x: 0.0, y: 0.0), (x: 5.0, y: 0.0), (x: 5.0, y: 10.0), (x: 0.0, y: 10.0)]]);
/// let b = MultiPolygon(vec![polygon![(x: 5.0, y: 0.0), (x: 20.0, y: 0.0), (x: 20.0, y: 10.0), (x: 5.0, y: 10.0)]]);
/// let w = areal_weights(&[a, b], &grid).unwrap();
/// assert_eq!(dominant_polygon(&w, grid.n_cells()), vec![Some(0), Some(1)]);
/// ```
pub fn dominant_polygon(w: &ArealWeights, n_cells: usize) -> Vec<Option<usize>> {
    let mut best: Vec<Option<(usize, f64)>> = vec![None; n_cells];
    for p in 0..w.n_polygons() {
        for (c, share) in w.row(p) {
            if c >= n_cells {
                continue;
            }
            let a = share * w.area_m2[p];
            if a.is_nan() || a <= 0.0 {
                continue;
            }
            match best[c] {
                // Polygons are visited in layer order, so a later polygon replaces the current
                // one only when it is larger beyond the tolerance.
                Some((_, b)) if a <= b * (1.0 + DOMINANT_TIE_RTOL) => {}
                _ => best[c] = Some((p, a)),
            }
        }
    }
    best.into_iter().map(|b| b.map(|(p, _)| p)).collect()
}

/// A valid version of `mp`: each part is first cleaned on its own with the even-odd rule (a
/// self-intersecting "bow-tie" ring becomes its two lobes, holes stay holes), then the parts are
/// merged (overlapping or repeated parts, as in some real census layers, are unioned rather than
/// cancelled or double counted).
pub(crate) fn dissolve(mp: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    use geo::algorithm::bool_ops::{FillRule, OpType};
    use geo::orient::{Direction, Orient};
    let empty = MultiPolygon::<f64>::new(Vec::new());
    let cleaned: Vec<Polygon<f64>> =
        mp.0.iter()
            .flat_map(|p| {
                p.boolean_op_with_fill_rule(&empty, OpType::Union, FillRule::EvenOdd)
                    .0
            })
            .map(|p| p.orient(Direction::Default))
            .collect();
    if cleaned.len() <= 1 {
        return MultiPolygon(cleaned);
    }
    geo::unary_union(cleaned.iter())
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;
    use proptest::prelude::*;

    proptest! {
        /// A polygon wholly inside the grid's extent has areal weights summing to 1. Tolerance:
        /// i_overlay snaps to a fixed-point lattice of ~1e-9 of the operands' extent (100 m
        /// here, so ~1e-7 m); the area error is at most ~perimeter × 1e-7 m² ≈ 1e-5 m², under
        /// 1e-6 relative for polygons of at least 10 m².
        #[test]
        fn weights_of_an_inside_polygon_sum_to_one(
            mut rays in proptest::collection::vec((0.0f64..std::f64::consts::TAU, 5.0f64..49.0), 3..12),
            cell in 1.0f64..40.0,
        ) {
            let n = (100.0 / cell).ceil() as usize;
            let grid = Grid::from_extent(0.0, 0.0, cell, n, n).unwrap();
            // star-shaped around (50, 50), hence simple: vertices sorted by angle
            rays.sort_by(|a, b| a.0.total_cmp(&b.0));
            let pts: Vec<(f64, f64)> = rays.iter().map(|(a, r)| (50.0 + r * a.cos(), 50.0 + r * a.sin())).collect();
            let poly = Polygon::new(geo::LineString::from(pts), vec![]);
            prop_assume!(poly.unsigned_area() > 10.0);
            let w = areal_weights(&[MultiPolygon(vec![poly])], &grid).unwrap();
            prop_assert!((w.in_grid_share[0] - 1.0).abs() < 1e-6, "{}", w.in_grid_share[0]);
        }
    }

    #[test]
    fn triangle_overlaps_sum_to_its_area() {
        let lat = Lattice {
            x0: 0.0,
            y0: 0.0,
            cell: 1.0,
            nx: 10,
            ny: 10,
        };
        let tri = MultiPolygon(vec![
            polygon![(x: 0.5, y: 0.5), (x: 7.3, y: 1.2), (x: 3.1, y: 8.9)],
        ]);
        let ov = cell_overlaps(&tri, &lat);
        let total: f64 = ov.iter().map(|(_, a)| a).sum();
        assert!((total - tri.unsigned_area()).abs() < 1e-9 * tri.unsigned_area());
        assert!(ov.windows(2).all(|w| w[0].0 < w[1].0), "cells ascend");
    }

    #[test]
    fn bow_tie_counts_both_lobes() {
        let grid = Grid::from_extent(0.0, 0.0, 10.0, 2, 1).unwrap();
        let bow =
            polygon![(x: 0.0, y: 0.0), (x: 20.0, y: 10.0), (x: 20.0, y: 0.0), (x: 0.0, y: 10.0)];
        let w = areal_weights(&[MultiPolygon(vec![bow])], &grid).unwrap();
        assert!((w.area_m2[0] - 100.0).abs() < 1e-6, "{}", w.area_m2[0]);
        assert!((w.in_grid_share[0] - 1.0).abs() < 1e-9);
    }

    #[test]
    fn repeated_parts_are_dissolved_not_cancelled() {
        let grid = Grid::from_extent(0.0, 0.0, 10.0, 4, 4).unwrap();
        let outer =
            polygon![(x: 0.0, y: 0.0), (x: 30.0, y: 0.0), (x: 30.0, y: 30.0), (x: 0.0, y: 30.0)];
        let inner =
            polygon![(x: 5.0, y: 5.0), (x: 8.0, y: 5.0), (x: 8.0, y: 8.0), (x: 5.0, y: 8.0)];
        let w = areal_weights(&[MultiPolygon(vec![outer, inner])], &grid).unwrap();
        assert!((w.area_m2[0] - 900.0).abs() < 1e-9);
        assert!((w.in_grid_share[0] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn shape_outside_lattice_has_no_overlap() {
        let lat = Lattice {
            x0: 0.0,
            y0: 0.0,
            cell: 1.0,
            nx: 3,
            ny: 3,
        };
        let sq = MultiPolygon(vec![
            polygon![(x: 5.0, y: 5.0), (x: 6.0, y: 5.0), (x: 6.0, y: 6.0)],
        ]);
        assert!(cell_overlaps(&sq, &lat).is_empty());
    }

    #[test]
    fn partial_overlap_reports_in_grid_share() {
        let grid = Grid::from_extent(0.0, 0.0, 10.0, 2, 2).unwrap();
        let half_out = MultiPolygon(vec![
            polygon![(x: 10.0, y: 0.0), (x: 30.0, y: 0.0), (x: 30.0, y: 10.0), (x: 10.0, y: 10.0)],
        ]);
        let w = areal_weights(&[half_out], &grid).unwrap();
        assert!((w.in_grid_share[0] - 0.5).abs() < 1e-12);
        let bad = MultiPolygon(vec![
            polygon![(x: 0.0, y: 0.0), (x: f64::NAN, y: 0.0), (x: 1.0, y: 1.0)],
        ]);
        let e = areal_weights(&[bad], &grid).unwrap_err();
        assert!(e.to_string().contains("row 0"), "{e}");
    }
}
