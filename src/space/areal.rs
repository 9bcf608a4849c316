use geo::{Area, BooleanOps, BoundingRect, Coord, MultiPolygon, Polygon, Rect};

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
/// The shape is cut into one piece per grid row by recursive halving (cut the rows in two, clip
/// every ring to each half exactly in floating point, recurse), so the polygon work is about
/// `V log(rows)` for `V` vertices instead of `V × rows`; each row piece's area per column then
/// follows exactly from its boundary integral ([`add_part`]). The halves run in parallel
/// (`rayon::join`) and are concatenated in order, so the result does not depend on the number
/// of threads.
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
    // The part of the shape within the lattice's rows and columns it touches.
    let (lo, hi) = (lat.cell_rect(c0, r0).min(), lat.cell_rect(c1, r1).max());
    let inside =
        bb.min().x >= lo.x && bb.min().y >= lo.y && bb.max().x <= hi.x && bb.max().y <= hi.y;
    let shape = if inside {
        shape.clone()
    } else {
        let r = Rect::new(
            Coord {
                x: lo.x.max(bb.min().x),
                y: lo.y.max(bb.min().y),
            },
            Coord {
                x: hi.x.min(bb.max().x),
                y: hi.y.min(bb.max().y),
            },
        );
        shape.intersection(&r.to_polygon())
    };
    let rows = row_pieces(shape, lat, (r0, r1), (c0, c1));
    rows.into_iter().flatten().collect()
}

/// `(cell id, area)` per row `r0..=r1` of `piece`, which lies within those rows.
fn row_pieces(
    piece: MultiPolygon<f64>,
    lat: &Lattice,
    (r0, r1): (usize, usize),
    (c0, c1): (usize, usize),
) -> Vec<Vec<(usize, f64)>> {
    let Some(bb) = piece.bounding_rect() else {
        return vec![Vec::new(); r1 - r0 + 1];
    };
    if r0 == r1 {
        let mut acc = vec![0.0f64; c1 - c0 + 1];
        for part in &piece.0 {
            add_part(part, r0, lat, c0, c1, &mut acc);
        }
        return vec![acc
            .iter()
            .enumerate()
            .filter(|(_, &a)| a > 0.0)
            .map(|(i, &a)| (r0 * lat.nx + c0 + i, a))
            .collect()];
    }
    let mid = r0 + (r1 - r0) / 2; // rows r0..=mid, then mid+1..=r1
    let y_mid = lat.y0 + (mid + 1) as f64 * lat.cell;
    let (lower, upper) = if bb.max().y <= y_mid {
        (piece, MultiPolygon::new(Vec::new()))
    } else if bb.min().y >= y_mid {
        (MultiPolygon::new(Vec::new()), piece)
    } else {
        rayon::join(
            || clip_y(&piece, y_mid, false),
            || clip_y(&piece, y_mid, true),
        )
    };
    let (mut a, b) = rayon::join(
        || row_pieces(lower, lat, (r0, mid), (c0, c1)),
        || row_pieces(upper, lat, (mid + 1, r1), (c0, c1)),
    );
    a.extend(b);
    a
}

/// Each ring of `mp` clipped to the half-plane `y ≥ y0` (`above`) or `y ≤ y0`, exactly in
/// floating point (Sutherland & Hodgman 1974). A clipped ring may hold zero-width bridges
/// between its lobes; they are traversed once each way, so they add nothing to the boundary
/// integrals of [`add_part`], which is all the pieces are used for.
fn clip_y(mp: &MultiPolygon<f64>, y0: f64, above: bool) -> MultiPolygon<f64> {
    let inside = |c: &Coord<f64>| if above { c.y >= y0 } else { c.y <= y0 };
    let ring = |ls: &geo::LineString<f64>| -> Option<geo::LineString<f64>> {
        let pts = &ls.0;
        let n = if pts.len() > 1 && pts[0] == pts[pts.len() - 1] {
            pts.len() - 1
        } else {
            pts.len()
        };
        let mut out: Vec<Coord<f64>> = Vec::with_capacity(n + 2);
        for i in 0..n {
            let (p, q) = (pts[i], pts[(i + 1) % n]);
            let (pin, qin) = (inside(&p), inside(&q));
            if pin {
                out.push(p);
            }
            if pin != qin {
                let t = (y0 - p.y) / (q.y - p.y);
                out.push(Coord {
                    x: p.x + t * (q.x - p.x),
                    y: y0,
                });
            }
        }
        (out.len() >= 3).then(|| geo::LineString::from(out))
    };
    MultiPolygon::new(
        mp.0.iter()
            .filter_map(|p| {
                let ext = ring(p.exterior())?;
                Some(Polygon::new(
                    ext,
                    p.interiors().iter().filter_map(ring).collect(),
                ))
            })
            .collect(),
    )
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
    // The piece lies in one row strip; its area in each column slab is exact from the
    // boundary integral A = −∮ y dx, split at the column edges (each ring's sign normalised
    // so that the exterior adds and the holes subtract).
    let y_ref = lat.y0 + row as f64 * lat.cell;
    let mut ring = |ls: &geo::LineString<f64>, sign: f64| {
        let signed: f64 = ls
            .lines()
            .map(|l| (l.end.x - l.start.x) * (l.start.y + l.end.y - 2.0 * y_ref))
            .sum();
        // −∮ y dx over the ring is −signed/2; orient so the ring's own area is positive
        let orient = if signed > 0.0 { -1.0 } else { 1.0 };
        for l in ls.lines() {
            let (p, q) = (l.start, l.end);
            if p.x == q.x {
                continue;
            }
            let dir = if q.x > p.x { 1.0 } else { -1.0 };
            let (lo, hi) = if q.x > p.x { (p, q) } else { (q, p) };
            let slope = (hi.y - lo.y) / (hi.x - lo.x);
            let yat = |x: f64| lo.y - y_ref + (x - lo.x) * slope;
            let first = (((lo.x - lat.x0) / lat.cell).floor().max(a as f64) as usize).min(b);
            let mut col = first;
            loop {
                let xa = (lat.x0 + col as f64 * lat.cell).max(lo.x);
                let xb = if col == b {
                    hi.x
                } else {
                    (lat.x0 + (col + 1) as f64 * lat.cell).min(hi.x)
                };
                let xa = if col == first { lo.x } else { xa };
                if xb > xa {
                    let integral = (xb - xa) * (yat(xa) + yat(xb)) * 0.5;
                    acc[col - c0] += sign * orient * -dir * integral;
                }
                if col == b || xb >= hi.x {
                    break;
                }
                col += 1;
            }
        }
    };
    ring(part.exterior(), 1.0);
    for h in part.interiors() {
        ring(h, -1.0);
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

    /// Per-cell boolean intersection, the reference for the strip integral.
    fn overlaps_by_cell(shape: &MultiPolygon<f64>, lat: &Lattice) -> Vec<f64> {
        let mut out = vec![0.0; lat.nx * lat.ny];
        for row in 0..lat.ny {
            for col in 0..lat.nx {
                let cell = lat.cell_rect(col, row).to_polygon();
                out[row * lat.nx + col] = shape.intersection(&cell).unsigned_area();
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn strip_integral_equals_cell_intersections(
            pts in proptest::collection::vec((0.0f64..97.0, 0.0f64..83.0), 3..9),
            hole in 0.0f64..1.0,
            cell in 3.0f64..40.0,
        ) {
            let ring: Vec<Coord<f64>> = pts.iter().map(|&(x, y)| Coord { x, y }).collect();
            let mut poly = Polygon::new(geo::LineString::from(ring), vec![]);
            if hole > 0.5 {
                let sq = Rect::new(Coord { x: 20.0, y: 20.0 }, Coord { x: 20.0 + 30.0 * hole, y: 25.0 + 20.0 * hole });
                poly = Polygon::new(
                    geo::LineString::from(vec![(0.0, 0.0), (97.0, 0.0), (97.0, 83.0), (0.0, 83.0)]),
                    vec![sq.to_polygon().exterior().clone()],
                );
            }
            let shape = dissolve(&MultiPolygon(vec![poly]));
            let lat = Lattice { x0: -1.5, y0: -2.5, cell, nx: (100.0 / cell).ceil() as usize + 1, ny: (90.0 / cell).ceil() as usize + 1 };
            let want = overlaps_by_cell(&shape, &lat);
            let mut got = vec![0.0; want.len()];
            for (id, a) in cell_overlaps(&shape, &lat) {
                got[id] = a;
            }
            for (g, w) in got.iter().zip(&want) {
                // The reference's boolean operations snap vertices to a fixed-point grid
                // (i_overlay), about 1e-8 of the ~100 m extent: an area error up to the
                // perimeter inside a cell (≤ 4 cells' sides) times that snap.
                let tol = 4.0 * cell * 1e-6;
                proptest::prop_assert!((g - w).abs() <= tol, "{} vs {}", g, w);
            }
        }
    }
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
