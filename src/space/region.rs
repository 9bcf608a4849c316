use std::sync::Arc;

use geo::algorithm::indexed::IntervalTreeMultiPolygon;
use geo::orient::{Direction, Orient};
use geo::{Area, BoundingRect, Contains, Coord, MultiPolygon, Polygon, Rect};

use crate::error::{Error, Result};

/// The study region: the union of one or more polygons, in metres.
///
/// Construction dissolves overlapping and adjacent polygons (geo's `unary_union`), normalises
/// ring orientation, and builds an interval-tree index so that point-in-region tests over
/// hundreds of thousands of incidents take milliseconds. Points exactly on the boundary count as
/// outside (geo's `Contains` semantics).
///
/// # Examples
/// ```
/// use placewise::space::Region;
/// let r = Region::from_bounds(0.0, 0.0, 1000.0, 500.0).unwrap();
/// assert_eq!(r.area_m2(), 500_000.0);
/// assert!(r.contains(10.0, 10.0));
/// assert!(!r.contains(1001.0, 10.0));
/// ```
#[derive(Clone)]
pub struct Region {
    shape: MultiPolygon<f64>,
    area_m2: f64,
    bbox: Rect<f64>,
    index: Arc<IntervalTreeMultiPolygon<f64>>,
}

impl std::fmt::Debug for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Region")
            .field("polygons", &self.shape.0.len())
            .field("area_m2", &self.area_m2)
            .field("bbox", &self.bbox)
            .finish()
    }
}

impl Region {
    /// Builds a region as the union of `polygons`.
    ///
    /// Errors: [`Error::EmptyInput`] for no polygons; [`Error::DataValidation`] for a
    /// non-finite coordinate (naming the polygon); [`Error::InvalidParameter`] when the union
    /// has no area.
    pub fn from_polygons(polygons: Vec<Polygon<f64>>) -> Result<Self> {
        if polygons.is_empty() {
            return Err(Error::empty("region: no polygons given"));
        }
        for (i, p) in polygons.iter().enumerate() {
            let finite = p
                .exterior()
                .coords()
                .chain(p.interiors().iter().flat_map(|r| r.coords()))
                .all(|c| c.x.is_finite() && c.y.is_finite());
            if !finite {
                return Err(Error::data(
                    Some(i),
                    "geometry",
                    "polygon has a NaN or infinite coordinate",
                ));
            }
        }
        Self::from_multipolygon(crate::space::areal::dissolve(&MultiPolygon(polygons)))
    }

    /// Builds a region from a multipolygon whose parts do not overlap (no union is taken).
    pub fn from_multipolygon(shape: MultiPolygon<f64>) -> Result<Self> {
        let shape = shape.orient(Direction::Default);
        let area_m2 = shape.unsigned_area();
        if !(area_m2.is_finite() && area_m2 > 0.0) {
            return Err(Error::param(
                "region",
                "the region has no area (empty, degenerate or collapsed polygons)",
            ));
        }
        let bbox = shape
            .bounding_rect()
            .ok_or_else(|| Error::empty("region: no coordinates"))?;
        let index = Arc::new(IntervalTreeMultiPolygon::new(&shape));
        Ok(Region {
            shape,
            area_m2,
            bbox,
            index,
        })
    }

    /// A rectangular region.
    pub fn from_bounds(x0: f64, y0: f64, x1: f64, y1: f64) -> Result<Self> {
        for (name, v) in [("x0", x0), ("y0", y0), ("x1", x1), ("y1", y1)] {
            if !v.is_finite() {
                return Err(Error::param(name, format!("must be finite, got {v}")));
            }
        }
        if x1 <= x0 || y1 <= y0 {
            return Err(Error::param(
                "bounds",
                format!("need x0 < x1 and y0 < y1, got ({x0}, {y0}, {x1}, {y1})"),
            ));
        }
        let rect = Rect::new(Coord { x: x0, y: y0 }, Coord { x: x1, y: y1 });
        Self::from_multipolygon(MultiPolygon(vec![rect.to_polygon()]))
    }

    /// Area in square metres.
    pub fn area_m2(&self) -> f64 {
        self.area_m2
    }

    /// Bounding box `(x0, y0, x1, y1)`.
    pub fn bounds(&self) -> (f64, f64, f64, f64) {
        (
            self.bbox.min().x,
            self.bbox.min().y,
            self.bbox.max().x,
            self.bbox.max().y,
        )
    }

    /// The dissolved shape.
    pub fn shape(&self) -> &MultiPolygon<f64> {
        &self.shape
    }

    /// Whether `(x, y)` lies strictly inside the region. Non-finite points are outside.
    pub fn contains(&self, x: f64, y: f64) -> bool {
        if !(x.is_finite() && y.is_finite()) {
            return false;
        }
        let (x0, y0, x1, y1) = self.bounds();
        if x < x0 || x > x1 || y < y0 || y > y1 {
            return false;
        }
        self.index.contains(&Coord { x, y })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn union_of_adjacent_squares_has_their_total_area() {
        let a =
            polygon![(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)];
        let b =
            polygon![(x: 10.0, y: 0.0), (x: 20.0, y: 0.0), (x: 20.0, y: 10.0), (x: 10.0, y: 10.0)];
        // clockwise copy of `a` overlapping it: the union must not double count
        let c =
            polygon![(x: 0.0, y: 0.0), (x: 0.0, y: 10.0), (x: 10.0, y: 10.0), (x: 10.0, y: 0.0)];
        let r = Region::from_polygons(vec![a, b, c]).unwrap();
        assert!((r.area_m2() - 200.0).abs() < 1e-9);
        assert!(r.contains(15.0, 5.0));
        assert!(!r.contains(25.0, 5.0));
        assert!(!r.contains(f64::NAN, 5.0));
    }

    #[test]
    fn degenerate_region_is_an_error() {
        let line = polygon![(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 20.0, y: 0.0)];
        let e = Region::from_polygons(vec![line]).unwrap_err();
        assert!(e.to_string().contains("no area"), "{e}");
        assert!(Region::from_polygons(vec![]).is_err());
        assert!(Region::from_bounds(0.0, 0.0, 0.0, 1.0).is_err());
    }

    #[test]
    fn holes_are_outside() {
        let p = Polygon::new(
            geo::LineString::from(vec![(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]),
            vec![geo::LineString::from(vec![
                (4.0, 4.0),
                (6.0, 4.0),
                (6.0, 6.0),
                (4.0, 6.0),
            ])],
        );
        let r = Region::from_polygons(vec![p]).unwrap();
        assert!((r.area_m2() - 96.0).abs() < 1e-9);
        assert!(!r.contains(5.0, 5.0));
        assert!(r.contains(1.0, 1.0));
    }
}
