//! Bindings for `crate::space`: Region, Grid, areal weights, population.

use std::sync::Arc;

use geo::{Coord, LineString, MultiPolygon, Polygon};
use numpy::ndarray::Array2;
use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, ToPyArray};
use pyo3::prelude::*;

use crate::python::stat_results::PyPopulationReport;
use crate::python::utils::{detached, owned, same_len, Reduced};
use crate::space::{
    areal_weights as core_areal_weights, Grid, Population, Region, DEFAULT_MAX_CELLS,
};
use crate::Error;

/// Rings as (n, 2) arrays of x, y; the first ring is the exterior, the others holes.
type PyRings<'py> = Vec<PyReadonlyArray2<'py, f64>>;
/// A pair of float arrays (x, y).
type PyXY<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>);

fn ring(a: &PyReadonlyArray2<'_, f64>, what: &str) -> crate::Result<LineString<f64>> {
    let v = a.as_array();
    if v.ncols() != 2 {
        return Err(Error::param(
            what,
            format!("rings must be (n, 2) arrays, got shape {:?}", v.shape()),
        ));
    }
    Ok(LineString::from(
        v.rows()
            .into_iter()
            .map(|r| Coord { x: r[0], y: r[1] })
            .collect::<Vec<_>>(),
    ))
}

fn polygon(rings: &PyRings<'_>, what: &str) -> crate::Result<Polygon<f64>> {
    let mut it = rings.iter();
    let ext = it
        .next()
        .ok_or_else(|| Error::param(what, "a polygon needs at least an exterior ring"))?;
    let holes = it
        .map(|r| ring(r, what))
        .collect::<crate::Result<Vec<_>>>()?;
    Ok(Polygon::new(ring(ext, what)?, holes))
}

fn ring_array<'py>(py: Python<'py>, ls: &LineString<f64>) -> Bound<'py, PyArray2<f64>> {
    let mut a = Array2::<f64>::zeros((ls.0.len(), 2));
    for (i, c) in ls.0.iter().enumerate() {
        a[[i, 0]] = c.x;
        a[[i, 1]] = c.y;
    }
    a.to_pyarray(py)
}

/// The study region: a union of polygons in metres.
#[pyclass(name = "Region", module = "placewise._native", frozen)]
pub(crate) struct PyRegion {
    pub(crate) inner: Region,
}

#[pymethods]
impl PyRegion {
    /// The union of `polygons`, each a list of rings ((n, 2) arrays, exterior first).
    #[staticmethod]
    fn from_polygons(py: Python<'_>, polygons: Vec<PyRings<'_>>) -> PyResult<Self> {
        let polys = polygons
            .iter()
            .map(|p| polygon(p, "polygons"))
            .collect::<crate::Result<Vec<_>>>()?;
        detached(py, move || {
            Ok(PyRegion {
                inner: Region::from_polygons(polys)?,
            })
        })
    }
    /// A rectangle.
    #[staticmethod]
    fn from_bounds(x0: f64, y0: f64, x1: f64, y1: f64) -> PyResult<Self> {
        Ok(PyRegion {
            inner: Region::from_bounds(x0, y0, x1, y1)?,
        })
    }
    /// Area in m².
    #[getter]
    fn area_m2(&self) -> f64 {
        self.inner.area_m2()
    }
    /// (x0, y0, x1, y1).
    #[getter]
    fn bounds(&self) -> (f64, f64, f64, f64) {
        self.inner.bounds()
    }
    /// Whether each point lies inside the region.
    fn contains<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray1<'py, f64>,
        y: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray1<bool>>> {
        same_len("x", x.len()?, "y", y.len()?)?;
        let (xs, ys) = (x.as_array(), y.as_array());
        let r = &self.inner;
        let out: Vec<bool> = py.detach(|| {
            xs.iter()
                .zip(ys.iter())
                .map(|(&a, &b)| r.contains(a, b))
                .collect()
        });
        Ok(owned(py, out))
    }
    /// The region from the polygons of `to_polygons` (already dissolved: no union is taken).
    #[staticmethod]
    fn _from_state(py: Python<'_>, polygons: Vec<PyRings<'_>>) -> PyResult<Self> {
        let polys = polygons
            .iter()
            .map(|p| polygon(p, "polygons"))
            .collect::<crate::Result<Vec<_>>>()?;
        detached(py, move || {
            Ok(PyRegion {
                inner: Region::from_multipolygon(MultiPolygon(polys))?,
            })
        })
    }
    /// Pickles as its dissolved polygons (coordinates exactly as stored).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let polys = slf.get().to_polygons(slf.py());
        Ok((
            slf.get_type().getattr("_from_state")?,
            (polys,).into_pyobject(slf.py())?,
        ))
    }
    /// The dissolved shape as polygons, each a list of rings.
    fn to_polygons<'py>(&self, py: Python<'py>) -> Vec<Vec<Bound<'py, PyArray2<f64>>>> {
        self.inner
            .shape()
            .0
            .iter()
            .map(|p| {
                std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(|r| ring_array(py, r))
                    .collect()
            })
            .collect()
    }
}

/// A square grid over a region, with the mask of cells inside it.
#[pyclass(name = "Grid", module = "placewise._native", frozen)]
pub(crate) struct PyGrid {
    pub(crate) inner: Arc<Grid>,
}

impl PyGrid {
    fn shaped<'py, T: numpy::Element + Copy>(
        &self,
        py: Python<'py>,
        v: &[T],
    ) -> PyResult<Bound<'py, PyArray2<T>>> {
        let a = owned(py, v.to_vec());
        a.reshape([self.inner.ny(), self.inner.nx()])
    }
}

#[pymethods]
impl PyGrid {
    #[new]
    #[pyo3(signature = (region, cell_size, max_cells=DEFAULT_MAX_CELLS))]
    fn new(
        py: Python<'_>,
        region: PyRef<'_, PyRegion>,
        cell_size: f64,
        max_cells: u64,
    ) -> PyResult<Self> {
        let region = region.inner.clone();
        detached(py, move || {
            Ok(PyGrid {
                inner: Arc::new(Grid::new(&region, cell_size, max_cells)?),
            })
        })
    }
    /// The grid with this lattice and per-cell coverage ((ny, nx) shares in [0, 1]), as
    /// `__reduce__` gives it.
    #[staticmethod]
    fn _from_state(
        x0: f64,
        y0: f64,
        cell_size: f64,
        nx: usize,
        ny: usize,
        coverage: PyReadonlyArray2<'_, f64>,
    ) -> PyResult<Self> {
        let c = coverage.as_array();
        if c.shape() != [ny, nx] {
            return Err(Error::param(
                "coverage",
                format!(
                    "shape {:?} does not match (ny, nx) = ({ny}, {nx})",
                    c.shape()
                ),
            )
            .into());
        }
        let cov: Vec<f64> = c.iter().copied().collect();
        Ok(PyGrid {
            inner: Arc::new(Grid::from_coverage(x0, y0, cell_size, nx, ny, cov)?),
        })
    }
    /// Pickles as its lattice and coverage (the mask follows from the coverage).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let py = slf.py();
        let g = &slf.get().inner;
        let cov = slf.get().coverage(py)?;
        Ok((
            slf.get_type().getattr("_from_state")?,
            (g.x0(), g.y0(), g.cell_size(), g.nx(), g.ny(), cov).into_pyobject(py)?,
        ))
    }
    /// A rectangular grid with every cell active.
    #[staticmethod]
    fn from_extent(x0: f64, y0: f64, cell_size: f64, nx: usize, ny: usize) -> PyResult<Self> {
        Ok(PyGrid {
            inner: Arc::new(Grid::from_extent(x0, y0, cell_size, nx, ny)?),
        })
    }
    #[getter]
    fn x0(&self) -> f64 {
        self.inner.x0()
    }
    #[getter]
    fn y0(&self) -> f64 {
        self.inner.y0()
    }
    #[getter]
    fn cell_size(&self) -> f64 {
        self.inner.cell_size()
    }
    #[getter]
    fn nx(&self) -> usize {
        self.inner.nx()
    }
    #[getter]
    fn ny(&self) -> usize {
        self.inner.ny()
    }
    #[getter]
    fn n_cells(&self) -> usize {
        self.inner.n_cells()
    }
    #[getter]
    fn n_active(&self) -> usize {
        self.inner.n_active()
    }
    #[getter]
    fn active_area_m2(&self) -> f64 {
        self.inner.active_area_m2()
    }
    #[getter]
    fn extent(&self) -> (f64, f64, f64, f64) {
        self.inner.extent()
    }
    /// Active cells, shape (ny, nx).
    fn mask<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<bool>>> {
        self.shaped(py, self.inner.mask())
    }
    /// Share of each cell inside the region, shape (ny, nx).
    fn coverage<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        self.shaped(py, self.inner.coverage())
    }
    /// Cell id holding (x, y) within the grid's extent (active or not), or None.
    fn cell_of(&self, x: f64, y: f64) -> Option<usize> {
        self.inner.cell_of(x, y)
    }
    /// Whether cell `id` is active.
    fn is_active(&self, id: usize) -> bool {
        self.inner.is_active(id)
    }
    /// Active cell id of each point, -1 outside the grid or in an inactive cell.
    fn assign<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray1<'py, f64>,
        y: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let (xs, ys) = (x.as_slice()?, y.as_slice()?);
        let g = &self.inner;
        let ids = py.detach(|| g.assign(xs, ys))?;
        Ok(owned(py, ids))
    }
    /// Centres (x, y) of cells `ids`.
    fn centres<'py>(
        &self,
        py: Python<'py>,
        ids: PyReadonlyArray1<'py, i64>,
    ) -> PyResult<PyXY<'py>> {
        let n = self.inner.n_cells() as i64;
        let mut xs = Vec::with_capacity(ids.len()?);
        let mut ys = Vec::with_capacity(ids.len()?);
        for &id in ids.as_array().iter() {
            if id < 0 || id >= n {
                return Err(
                    Error::param("ids", format!("cell id {id} is out of range 0..{n}")).into(),
                );
            }
            let (x, y) = self.inner.centre(id as usize);
            xs.push(x);
            ys.push(y);
        }
        Ok((owned(py, xs), owned(py, ys)))
    }
    /// Counts (or summed weights) of points per cell, shape (ny, nx), and the number of
    /// points outside active cells.
    #[pyo3(signature = (x, y, weight=None))]
    fn counts<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray1<'py, f64>,
        y: PyReadonlyArray1<'py, f64>,
        weight: Option<PyReadonlyArray1<'py, f64>>,
    ) -> PyResult<(Bound<'py, PyArray2<f64>>, usize)> {
        same_len("x", x.len()?, "y", y.len()?)?;
        if let Some(w) = &weight {
            same_len("x", x.len()?, "weight", w.len()?)?;
        }
        let (xs, ys) = (x.as_slice()?, y.as_slice()?);
        let ws = match &weight {
            Some(w) => Some(w.as_slice()?),
            None => None,
        };
        let g = &self.inner;
        let (c, missed) = py.detach(|| g.counts(xs, ys, ws));
        Ok((self.shaped(py, &c)?, missed))
    }
}

fn multipolygons(layer: &[Vec<PyRings<'_>>]) -> crate::Result<Vec<MultiPolygon<f64>>> {
    layer
        .iter()
        .map(|mp| {
            Ok(MultiPolygon(
                mp.iter()
                    .map(|p| polygon(p, "polygons"))
                    .collect::<crate::Result<Vec<_>>>()?,
            ))
        })
        .collect()
}

/// Areal weights of a polygon layer onto grid cells (CSR: indptr, cell, weight), with each
/// polygon's area and the share of it inside the grid's extent.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn areal_weights<'py>(
    py: Python<'py>,
    polygons: Vec<Vec<PyRings<'py>>>,
    grid: PyRef<'py, PyGrid>,
) -> PyResult<(
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
)> {
    let layer = multipolygons(&polygons)?;
    let g = grid.inner.clone();
    let w = detached(py, move || core_areal_weights(&layer, &g))?;
    Ok((
        owned(py, w.indptr.iter().map(|&v| v as u64).collect()),
        owned(py, w.cell.iter().map(|&v| v as u64).collect()),
        owned(py, w.weight),
        owned(py, w.area_m2),
        owned(py, w.in_grid_share),
    ))
}

/// The polygon that overlaps each grid cell most (index into the layer; -1: none). Ties go to
/// the polygon that comes first in the layer (see `space::dominant_polygon`).
#[pyfunction]
fn dominant_polygon<'py>(
    py: Python<'py>,
    polygons: Vec<Vec<PyRings<'py>>>,
    grid: PyRef<'py, PyGrid>,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let layer = multipolygons(&polygons)?;
    let g = grid.inner.clone();
    let best = detached(py, move || {
        let w = core_areal_weights(&layer, &g)?;
        Ok(crate::space::dominant_polygon(&w, g.n_cells()))
    })?;
    Ok(owned(
        py,
        best.into_iter()
            .map(|b| b.map_or(-1, |p| p as i64))
            .collect(),
    ))
}

/// Distributes area counts (n_areas, n_groups) to cells; returns (n_cells, n_groups) counts
/// and the typed report.
#[pyfunction]
fn distribute_population<'py>(
    py: Python<'py>,
    grid: PyRef<'py, PyGrid>,
    polygons: Vec<Vec<PyRings<'py>>>,
    counts: PyReadonlyArray2<'py, f64>,
    groups: Vec<String>,
) -> PyResult<(Bound<'py, PyArray2<f64>>, PyPopulationReport)> {
    let layer = multipolygons(&polygons)?;
    let counts = counts.as_array().to_owned();
    let g = grid.inner.clone();
    let pop = detached(py, move || {
        Population::from_areas(&g, &layer, &counts, groups)
    })?;
    Ok((
        pop.counts.to_pyarray(py),
        PyPopulationReport::new(pop.report),
    ))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRegion>()?;
    m.add_class::<PyGrid>()?;
    m.add_function(wrap_pyfunction!(areal_weights, m)?)?;
    m.add_function(wrap_pyfunction!(dominant_polygon, m)?)?;
    m.add_function(wrap_pyfunction!(distribute_population, m)?)?;
    m.add("DEFAULT_MAX_CELLS", DEFAULT_MAX_CELLS)?;
    Ok(())
}
