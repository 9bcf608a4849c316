//! Bindings for `crate::data`: ingest, the incidents table and the quality report.

use std::collections::HashMap;
use std::sync::Arc;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::data::{
    ingest as core_ingest, DropReason, DuplicatePolicy, Incidents, IngestOptions, Origin,
    RawIncidents,
};
use crate::python::space::PyRegion;
use crate::python::stat_results::PyQuality;
use crate::python::utils::{detached, owned, readonly_view, same_len, to_vec_f64, Reduced};
use crate::Error;

/// A validated incidents table, sorted by time. Built by `ingest`.
#[pyclass(name = "Incidents", module = "placewise._native", frozen)]
pub(crate) struct PyIncidents {
    pub(crate) inner: Arc<Incidents>,
}

impl PyIncidents {
    fn wrap(inner: Incidents) -> Self {
        PyIncidents {
            inner: Arc::new(inner),
        }
    }
}

fn origin_codes(codes: &[u8]) -> crate::Result<Vec<Origin>> {
    codes
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            Origin::from_code(c).ok_or_else(|| {
                Error::data(
                    Some(i),
                    "origin",
                    format!("code {c} is not 0 (reported), 1 (discovered) or 2 (unknown)"),
                )
            })
        })
        .collect()
}

#[pymethods]
impl PyIncidents {
    /// Incidents from valid columns (raises on any invalid row).
    #[new]
    #[pyo3(signature = (x, y, t, category=None, categories=None, origin=None, weight=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        x: PyReadonlyArray1<'_, f64>,
        y: PyReadonlyArray1<'_, f64>,
        t: PyReadonlyArray1<'_, i64>,
        category: Option<PyReadonlyArray1<'_, u32>>,
        categories: Option<Vec<String>>,
        origin: Option<PyReadonlyArray1<'_, u8>>,
        weight: Option<PyReadonlyArray1<'_, f64>>,
    ) -> PyResult<Self> {
        let n = x.len()?;
        let category = category
            .map(|c| c.as_array().to_vec())
            .unwrap_or_else(|| vec![0; n]);
        let categories = categories.unwrap_or_else(|| vec!["all".to_string()]);
        let origin = match origin {
            Some(o) => origin_codes(&o.as_array().to_vec())?,
            None => vec![Origin::Unknown; n],
        };
        let inner = Incidents::from_columns(
            to_vec_f64(&x),
            to_vec_f64(&y),
            t.as_array().to_vec(),
            category,
            categories,
            origin,
            weight.map(|w| to_vec_f64(&w)),
        )?;
        Ok(Self::wrap(inner))
    }

    /// The table from the columns `__reduce__` gives (validated like the constructor; the
    /// source rows and duplicate flags travel with their rows).
    #[staticmethod]
    #[allow(clippy::too_many_arguments)]
    fn _from_state(
        py: Python<'_>,
        x: PyReadonlyArray1<'_, f64>,
        y: PyReadonlyArray1<'_, f64>,
        t: PyReadonlyArray1<'_, i64>,
        category: PyReadonlyArray1<'_, u32>,
        categories: Vec<String>,
        origin: PyReadonlyArray1<'_, u8>,
        weight: Option<PyReadonlyArray1<'_, f64>>,
        source_row: PyReadonlyArray1<'_, u64>,
        duplicate: PyReadonlyArray1<'_, bool>,
    ) -> PyResult<Self> {
        let n = x.len()?;
        same_len("x", n, "source_row", source_row.len()?)?;
        same_len("x", n, "duplicate", duplicate.len()?)?;
        let origin = origin_codes(&origin.as_array().to_vec())?;
        let (x, y, t) = (to_vec_f64(&x), to_vec_f64(&y), t.as_array().to_vec());
        let category = category.as_array().to_vec();
        let weight = weight.map(|w| to_vec_f64(&w));
        let src = source_row.as_array().to_vec();
        let dup = duplicate.as_array().to_vec();
        detached(py, move || {
            let mut inc = Incidents::from_columns(x, y, t, category, categories, origin, weight)?;
            // `from_columns` numbers the rows 0..n before sorting by time: map them back.
            let pos: Vec<usize> = inc.source_row.iter().map(|&i| i as usize).collect();
            inc.source_row = pos.iter().map(|&i| src[i]).collect();
            inc.duplicate = pos.iter().map(|&i| dup[i]).collect();
            Ok(Self::wrap(inc))
        })
    }

    /// Pickles as its columns.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let py = slf.py();
        let b = slf.clone();
        let state = (
            Self::x(b.clone())?,
            Self::y(b.clone())?,
            Self::t(b.clone())?,
            Self::category(b.clone())?,
            slf.get().categories(),
            slf.get().origin(py),
            Self::weight(b.clone())?,
            Self::source_row(b.clone())?,
            Self::duplicate(b)?,
        );
        Ok((
            slf.get_type().getattr("_from_state")?,
            state.into_pyobject(py)?,
        ))
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Easting (m), read-only view.
    #[getter]
    fn x<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let inner = slf.get().inner.clone();
        readonly_view(inner.x(), slf.into_any())
    }
    /// Northing (m), read-only view.
    #[getter]
    fn y<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let inner = slf.get().inner.clone();
        readonly_view(inner.y(), slf.into_any())
    }
    /// UTC seconds since 1970-01-01, ascending, read-only view.
    #[getter]
    fn t<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let inner = slf.get().inner.clone();
        readonly_view(inner.t(), slf.into_any())
    }
    /// Category code per row.
    #[getter]
    fn category<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let inner = slf.get().inner.clone();
        readonly_view(inner.category(), slf.into_any())
    }
    /// Category labels.
    #[getter]
    fn categories(&self) -> Vec<String> {
        self.inner.categories().to_vec()
    }
    /// Origin code per row: 0 reported, 1 discovered, 2 unknown.
    #[getter]
    fn origin<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u8>> {
        owned(py, self.inner.origin().iter().map(|&o| o as u8).collect())
    }
    /// Weight per row, or None.
    #[getter]
    fn weight<'py>(slf: Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyArray1<f64>>>> {
        let inner = slf.get().inner.clone();
        match inner.weight() {
            Some(w) => Ok(Some(readonly_view(w, slf.into_any())?)),
            None => Ok(None),
        }
    }
    /// Row number in the source table.
    #[getter]
    fn source_row<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyArray1<u64>>> {
        let inner = slf.get().inner.clone();
        readonly_view(inner.source_row(), slf.into_any())
    }
    /// Whether each row was flagged as an exact duplicate.
    #[getter]
    fn duplicate<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyArray1<bool>>> {
        let inner = slf.get().inner.clone();
        readonly_view(inner.duplicate(), slf.into_any())
    }
    /// (first, last) UTC seconds, or None when empty.
    #[getter]
    fn time_span(&self) -> Option<(i64, i64)> {
        self.inner.time_span()
    }
    /// Incidents strictly before `t_end`.
    fn until(&self, py: Python<'_>, t_end: i64) -> PyResult<Self> {
        let inner = self.inner.clone();
        detached(py, move || Ok(Self::wrap(inner.until(t_end))))
    }
    /// Incidents with `t_start <= t < t_end`.
    fn between(&self, py: Python<'_>, t_start: i64, t_end: i64) -> PyResult<Self> {
        let inner = self.inner.clone();
        detached(py, move || Ok(Self::wrap(inner.between(t_start, t_end))))
    }
    /// Incidents whose category code is in `codes`.
    fn with_categories(&self, py: Python<'_>, codes: Vec<u32>) -> PyResult<Self> {
        let inner = self.inner.clone();
        detached(py, move || Ok(Self::wrap(inner.with_categories(&codes))))
    }
    /// Incidents whose origin code is in `codes`.
    fn with_origins(&self, py: Python<'_>, codes: Vec<u8>) -> PyResult<Self> {
        let origins = origin_codes(&codes)?;
        let inner = self.inner.clone();
        detached(py, move || Ok(Self::wrap(inner.with_origins(&origins))))
    }
    /// The rows at `idx` (positions in this table), in that order.
    fn take(&self, py: Python<'_>, idx: PyReadonlyArray1<'_, i64>) -> PyResult<Self> {
        let n = self.inner.len();
        let idx: Vec<usize> = idx
            .as_array()
            .iter()
            .map(|&i| {
                if i < 0 || i as usize >= n {
                    Err(Error::param(
                        "idx",
                        format!("index {i} is out of range for {n} rows"),
                    ))
                } else {
                    Ok(i as usize)
                }
            })
            .collect::<crate::Result<_>>()?;
        let inner = self.inner.clone();
        detached(py, move || Ok(Self::wrap(inner.take(&idx))))
    }
}

/// Labels of the drop reasons, in code order (codes for `ingest(preset=...)`).
#[pyfunction]
fn drop_reasons() -> Vec<&'static str> {
    DropReason::ALL.iter().map(|r| r.label()).collect()
}

/// Validates raw columns; returns the incidents and the quality report as JSON.
#[pyfunction]
#[pyo3(signature = (x, y, t, t_missing, *, t_local=None, category=None, categories=None,
    origin=None, weight=None, preset=None, repairs=None, region=None, time_range=None,
    duplicates="keep", spike_ratio=10.0, spike_min_count=20))]
#[allow(clippy::too_many_arguments)]
fn ingest(
    py: Python<'_>,
    x: PyReadonlyArray1<'_, f64>,
    y: PyReadonlyArray1<'_, f64>,
    t: PyReadonlyArray1<'_, i64>,
    t_missing: PyReadonlyArray1<'_, bool>,
    t_local: Option<PyReadonlyArray1<'_, i64>>,
    category: Option<PyReadonlyArray1<'_, u32>>,
    categories: Option<Vec<String>>,
    origin: Option<PyReadonlyArray1<'_, u8>>,
    weight: Option<PyReadonlyArray1<'_, f64>>,
    preset: Option<PyReadonlyArray1<'_, i8>>,
    repairs: Option<HashMap<String, u64>>,
    region: Option<PyRef<'_, PyRegion>>,
    time_range: Option<(i64, i64)>,
    duplicates: &str,
    spike_ratio: f64,
    spike_min_count: u64,
) -> PyResult<(PyIncidents, PyQuality)> {
    let n = x.len()?;
    same_len("x", n, "y", y.len()?)?;
    same_len("x", n, "t", t.len()?)?;
    same_len("x", n, "t_missing", t_missing.len()?)?;
    let tm = t_missing.as_array();
    let tv: Vec<Option<i64>> = t
        .as_array()
        .iter()
        .zip(tm.iter())
        .map(|(&t, &m)| (!m).then_some(t))
        .collect();
    let preset = match preset {
        Some(p) => Some(
            p.as_array()
                .iter()
                .enumerate()
                .map(|(i, &c)| match c {
                    -1 => Ok(None),
                    c if c >= 0 && (c as usize) < DropReason::ALL.len() => {
                        Ok(Some(DropReason::ALL[c as usize]))
                    }
                    c => Err(Error::data(
                        Some(i),
                        "preset",
                        format!("unknown drop reason code {c}"),
                    )),
                })
                .collect::<crate::Result<Vec<_>>>()?,
        ),
        None => None,
    };
    let mut repairs: Vec<(String, u64)> = repairs.unwrap_or_default().into_iter().collect();
    repairs.sort();
    let raw = RawIncidents {
        x: to_vec_f64(&x),
        y: to_vec_f64(&y),
        t: tv,
        t_local: t_local.map(|a| a.as_array().to_vec()),
        category: category.map(|a| a.as_array().to_vec()),
        categories: categories.unwrap_or_default(),
        origin: match origin {
            Some(o) => Some(origin_codes(&o.as_array().to_vec())?),
            None => None,
        },
        weight: weight.map(|w| to_vec_f64(&w)),
        preset,
        repairs,
    };
    let mut opts = IngestOptions {
        region: region.map(|r| r.inner.clone()),
        duplicates: DuplicatePolicy::parse(duplicates)?,
        spike_ratio,
        spike_min_count,
        ..Default::default()
    };
    if let Some(tr) = time_range {
        opts.time_range = tr;
    }
    let (inc, rep) = detached(py, move || core_ingest(raw, &opts))?;
    Ok((PyIncidents::wrap(inc), PyQuality::new(rep)))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyIncidents>()?;
    m.add_function(wrap_pyfunction!(ingest, m)?)?;
    m.add_function(wrap_pyfunction!(drop_reasons, m)?)?;
    m.add_function(wrap_pyfunction!(crate::python::error::_raise_error, m)?)?;
    Ok(())
}
