# Hand-written stub of the Rust extension, checked against the binary by `python -m mypy.stubtest placewise._native`.
from typing import TypeAlias, final

import numpy as np
import numpy.typing as npt

__version__: str
DEFAULT_MAX_CELLS: int

_F64: TypeAlias = npt.NDArray[np.float64]
_I64: TypeAlias = npt.NDArray[np.int64]

@final
class Incidents:
    def __new__(
        cls,
        x: _F64,
        y: _F64,
        t: _I64,
        category: npt.NDArray[np.uint32] | None = None,
        categories: list[str] | None = None,
        origin: npt.NDArray[np.uint8] | None = None,
        weight: _F64 | None = None,
    ) -> Incidents: ...
    def __len__(self) -> int: ...
    @property
    def x(self) -> _F64: ...
    @property
    def y(self) -> _F64: ...
    @property
    def t(self) -> _I64: ...
    @property
    def category(self) -> npt.NDArray[np.uint32]: ...
    @property
    def categories(self) -> list[str]: ...
    @property
    def origin(self) -> npt.NDArray[np.uint8]: ...
    @property
    def weight(self) -> _F64 | None: ...
    @property
    def source_row(self) -> npt.NDArray[np.uint64]: ...
    @property
    def duplicate(self) -> npt.NDArray[np.bool_]: ...
    @property
    def time_span(self) -> tuple[int, int] | None: ...
    def until(self, t_end: int) -> Incidents: ...
    def between(self, t_start: int, t_end: int) -> Incidents: ...
    def with_categories(self, codes: list[int]) -> Incidents: ...
    def with_origins(self, codes: list[int]) -> Incidents: ...
    def take(self, idx: _I64) -> Incidents: ...

def drop_reasons() -> list[str]: ...
def ingest(
    x: _F64,
    y: _F64,
    t: _I64,
    t_missing: npt.NDArray[np.bool_],
    *,
    t_local: _I64 | None = None,
    category: npt.NDArray[np.uint32] | None = None,
    categories: list[str] | None = None,
    origin: npt.NDArray[np.uint8] | None = None,
    weight: _F64 | None = None,
    preset: npt.NDArray[np.int8] | None = None,
    repairs: dict[str, int] | None = None,
    region: Region | None = None,
    time_range: tuple[int, int] | None = None,
    duplicates: str = "keep",
    spike_ratio: float = 10.0,
    spike_min_count: int = 20,
) -> tuple[Incidents, str]: ...
def _raise_error(kind: str) -> None: ...
@final
class Region:
    @staticmethod
    def from_polygons(polygons: list[list[_F64]]) -> Region: ...
    @staticmethod
    def from_bounds(x0: float, y0: float, x1: float, y1: float) -> Region: ...
    @property
    def area_m2(self) -> float: ...
    @property
    def bounds(self) -> tuple[float, float, float, float]: ...
    def contains(self, x: _F64, y: _F64) -> npt.NDArray[np.bool_]: ...
    def to_polygons(self) -> list[list[_F64]]: ...

@final
class Grid:
    def __new__(cls, region: Region, cell_size: float, max_cells: int = ...) -> Grid: ...
    @staticmethod
    def from_extent(x0: float, y0: float, cell_size: float, nx: int, ny: int) -> Grid: ...
    @property
    def x0(self) -> float: ...
    @property
    def y0(self) -> float: ...
    @property
    def cell_size(self) -> float: ...
    @property
    def nx(self) -> int: ...
    @property
    def ny(self) -> int: ...
    @property
    def n_cells(self) -> int: ...
    @property
    def n_active(self) -> int: ...
    @property
    def active_area_m2(self) -> float: ...
    @property
    def extent(self) -> tuple[float, float, float, float]: ...
    def mask(self) -> npt.NDArray[np.bool_]: ...
    def coverage(self) -> _F64: ...
    def cell_of(self, x: float, y: float) -> int | None: ...
    def is_active(self, id: int) -> bool: ...
    def assign(self, x: _F64, y: _F64) -> _I64: ...
    def centres(self, ids: _I64) -> tuple[_F64, _F64]: ...
    def counts(self, x: _F64, y: _F64, weight: _F64 | None = None) -> tuple[_F64, int]: ...

def areal_weights(
    polygons: list[list[list[_F64]]], grid: Grid
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], _F64, _F64, _F64]: ...
def distribute_population(
    grid: Grid, polygons: list[list[list[_F64]]], counts: _F64, groups: list[str]
) -> tuple[_F64, str]: ...

# ---- evaluate
def evaluate_metrics(
    grid: Grid, values: _F64, test_counts: _F64, coverages: list[float], train_counts: _F64 | None = None
) -> list[dict[str, float | int | None]]: ...
def coverage_curve(grid: Grid, values: _F64, test_counts: _F64) -> tuple[_F64, _F64, float]: ...

# ---- audit band rule
BAND_EDGE_TOL: float

# ---- report
REPORT_SCHEMA: str

def report_normalise(json: str) -> str: ...

# --- models
_Prediction: TypeAlias = tuple[_F64, dict[str, str], tuple[int, int] | None, str]

@final
class NaiveModel:
    def __new__(cls, incidents: Incidents, grid: Grid, window_days: float | None = None) -> NaiveModel: ...
    def predict(self, at: int | None = None) -> _Prediction: ...

@final
class KDEModel:
    def __new__(
        cls,
        incidents: Incidents,
        grid: Grid,
        *,
        kernel: str = "gaussian",
        rule: str = "fixed",
        bandwidth: float = 250.0,
        bandwidths: list[float] | None = None,
        k: int | None = None,
        min_bandwidth: float = 1.0,
        mode: str = "exact",
        cutoff: float = 6.0,
        window_days: float | None = None,
        half_life_days: float | None = None,
        binning_order: int | None = None,
    ) -> KDEModel: ...
    @property
    def bandwidth_m(self) -> float: ...
    @property
    def point_bandwidths(self) -> _F64 | None: ...
    @property
    def cv_scores(self) -> list[tuple[float, float]] | None: ...
    def predict(self, at: int | None = None) -> _Prediction: ...

@final
class RetrospectiveModel:
    def __new__(cls, incidents: Incidents, grid: Grid, bandwidth: float = 200.0, window_days: float = 60.0) -> RetrospectiveModel: ...
    def predict(self, at: int | None = None) -> _Prediction: ...

@final
class ProspectiveModel:
    def __new__(
        cls, incidents: Incidents, grid: Grid, bandwidth_cells: float = 8.0, time_bandwidth_weeks: float = 8.0, distance: str = "linf"
    ) -> ProspectiveModel: ...
    def predict(self, at: int | None = None) -> _Prediction: ...

def kde_grid(
    grid: Grid,
    x: _F64,
    y: _F64,
    w: _F64,
    bandwidth: float,
    *,
    kernel: str = "gaussian",
    mode: str = "exact",
    cutoff: float = 6.0,
    binning_order: int | None = None,
) -> tuple[_F64, int | None]: ...
# --- allocation
from typing import Any

@final
class Budget:
    def __new__(
        cls,
        units: float,
        per_cell_cap: float = 1.0,
        shift_hours: float | None = None,
        district_of_cell: _I64 | None = None,
        district_names: list[str] | None = None,
        district_caps: _F64 | None = None,
        district_minimums: _F64 | None = None,
    ) -> Budget: ...
    @property
    def units(self) -> float: ...
    @property
    def per_cell_cap(self) -> float: ...
    def validate(self, n_cells: int) -> None: ...

def allocate(
    risk: _F64,
    budget: Budget,
    strategy: str,
    *,
    epsilon: float = 0.0,
    seed: int | None = None,
    tau: float = 0.8,
    reference: int | None = None,
    population: _F64 | None = None,
    groups: list[str] | None = None,
) -> dict[str, Any]: ...
def allocate_shifts(
    risks: list[_F64],
    budgets: list[Budget],
    strategy: str,
    *,
    epsilon: float = 0.0,
    seed: int | None = None,
    tau: float = 0.8,
    reference: int | None = None,
    population: _F64 | None = None,
    groups: list[str] | None = None,
) -> list[dict[str, Any]]: ...
# --- statistics (src/python/stats.rs) ---------------------------------------------------------
from typing import Any  # noqa: E402

def gi_star(
    values: _F64,
    grid: Grid,
    distance: float,
    weights: str = "binary",
    permutations: int | None = None,
    seed: int = 0,
    correction: str | None = None,
) -> dict[str, Any]: ...
def adjust_p(p: _F64, method: str) -> _F64: ...
def mann_kendall(x: _F64) -> tuple[int, float, float, float, float]: ...
def emerging_categories() -> list[str]: ...
def emerging_hotspots(
    incidents: Incidents,
    grid: Grid,
    step_s: int,
    distance: float,
    start: int | None = None,
    end: int | None = None,
    time_steps: int = 1,
    alpha: float = 0.1,
    correction: str | None = None,
    threshold: float = 0.9,
) -> dict[str, Any]: ...
def knox(
    incidents: Incidents,
    space_bands: list[tuple[float, float]],
    time_bands: list[tuple[float, float]],
    permutations: int = 999,
    seed: int = 0,
    max_pairs: int = 250000000,
    method: str = "auto",
) -> dict[str, Any]: ...
# --- audit + provenance
def disparity(
    dose: _F64,
    population: _F64,
    groups: list[str],
    reference: str = ...,
    tau: float = ...,
    bootstrap: int = ...,
    confidence: float = ...,
    seed: int = ...,
    incidents: _F64 | None = ...,
    need: _F64 | None = ...,
) -> str: ...
def concentration(
    dose: _F64,
    active: npt.NDArray[np.bool_],
    areas: _I64 | None = ...,
    unit: float = ...,
    simulations: int = ...,
    confidence: float = ...,
    seed: int = ...,
) -> str: ...
def ensign_urn(
    rates: tuple[float, float],
    prior: tuple[float, float],
    draws: int = ...,
    runs: int = ...,
    update: str = ...,
    reported_share: float = ...,
    decay: float = ...,
    correction: bool = ...,
    tolerance: float = ...,
    seed: int = ...,
) -> tuple[_F64, str]: ...
@final
class AuditPolicy:
    @staticmethod
    def from_toml(text: str) -> AuditPolicy: ...
    @staticmethod
    def from_json(text: str) -> AuditPolicy: ...
    @staticmethod
    def from_file(path: str) -> AuditPolicy: ...
    def check(self, summary_json: str) -> list[str]: ...
    def missing(self, summary_json: str) -> list[str]: ...
    def to_json(self) -> str: ...
@final
class RunLog:
    def __new__(cls, path: str) -> RunLog: ...
    def append(self, record_json: str) -> str: ...
    def verify(self) -> tuple[int, str]: ...
    def records(self) -> str: ...
    def repair(self) -> int: ...
def hash_incidents(incidents: Incidents) -> str: ...
def hash_f64_array(tag: str, shape: list[int], data: _F64) -> str: ...
def hash_json(text: str) -> str: ...
# --- sepp
@final
class SeppFit:
    @property
    def kind(self) -> str: ...
    @property
    def theta(self) -> float: ...
    @property
    def omega(self) -> float: ...
    @property
    def sigma(self) -> float: ...
    @property
    def mu(self) -> _F64: ...
    @property
    def background_rate(self) -> float: ...
    @property
    def loglik(self) -> float: ...
    @property
    def loglik_path(self) -> _F64: ...
    @property
    def n_iter(self) -> int: ...
    @property
    def converged(self) -> bool: ...
    @property
    def reason(self) -> str: ...
    @property
    def n_params(self) -> int: ...
    @property
    def aic(self) -> float: ...
    @property
    def triggered_share(self) -> float: ...
    @property
    def n_pairs(self) -> int: ...
    @property
    def dropped_kernel_share(self) -> float: ...
    @property
    def window(self) -> tuple[int, int]: ...
    def predict(self, at: int, horizon_s: int) -> _F64: ...

def sepp_fit(
    incidents: Incidents,
    grid: Grid,
    *,
    kind: str = "space_time",
    background: str | None = None,
    bandwidth_m: float | None = None,
    background_k: int = 15,
    min_bandwidth_m: float = 10.0,
    trigger_tol: float = 1e-5,
    time_cutoff_days: float = 120.0,
    space_cutoff_m: float = 500.0,
    min_sigma_m: float = 1.0,
    max_iter: int = 200,
    tol: float = 1e-6,
    param_tol: float = 1e-4,
    init: tuple[float, float, float] | None = None,
    window: tuple[int, int] | None = None,
    n_threads: int | None = None,
) -> SeppFit: ...
def sepp_simulate(
    theta: float,
    omega: float,
    sigma: float,
    t_end_days: float,
    seed: int,
    *,
    region: Region | None = None,
    rate_per_day: float | None = None,
    grid: Grid | None = None,
    cell_rates: _F64 | None = None,
    time_cutoff_days: float | None = None,
    space_cutoff_m: float | None = None,
    max_events: int = 50_000_000,
) -> tuple[_F64, _F64, _F64, _I64]: ...
