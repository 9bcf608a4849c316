//! Self-exciting point process (SEPP) models, fitted by expectation–maximisation.
//!
//! Two models share one EM driver ([`fit`]):
//!
//! * [`SeppKind::Grid`] — the grid ETAS model of Mohler, Short, Malinowski, Johnson, Tita,
//!   Bertozzi & Brantingham (2015), "Randomized controlled field trials of predictive policing",
//!   *JASA* 110(512), 1399–1411: in each cell `n`,
//!   `λ_n(t) = μ_n + Σ_{t_i < t, i ∈ n} θ ω e^{−ω (t − t_i)}`. The M-step is the edge-corrected
//!   one of that paper (the compensator of event `i` is `θ (1 − e^{−ω (T − t_i)})`, not `θ`),
//!   solved exactly (see below). The E-step runs in O(N) per iteration by the exponential
//!   kernel's recursion, so it needs no cut-offs.
//! * [`SeppKind::SpaceTime`] — the Mohler, Short, Brantingham, Schoenberg & Tita (2011)
//!   self-exciting point process, "Self-exciting point process modeling of crime", *JASA*
//!   106(493), 100–108, with a parametric triggering kernel as in their Section 3 and the EM of
//!   Veen & Schoenberg (2008):
//!   `λ(x, y, t) = μ(x, y) + Σ_{t_j < t} g(t − t_j, x − x_j, y − y_j)`,
//!   `g(Δt, Δx, Δy) = θ · ω e^{−ωΔt} / F_t · N(Δx, Δy; σ²) / F_s` for `Δt ≤ T_c` and
//!   `√(Δx² + Δy²) ≤ D_c`, zero beyond. `T_c` (`time_cutoff_days`) and `D_c`
//!   (`space_cutoff_m`) are the cut-offs; `F_t = 1 − e^{−ω T_c}` and
//!   `F_s = 1 − e^{−D_c² / (2σ²)}` normalise the truncated kernel, so `θ` stays the expected
//!   number of direct offspring of an event (the branching ratio). When the cut-offs are long
//!   (`T_c ≫ 1/ω`, `D_c ≫ σ`) this is the untruncated `θ ω e^{−ωΔt} N(Δx, Δy; σ²)`.
//!   The background is `μ(x, y) = m_c / a_c` (events per day per m²) piecewise constant on the
//!   grid's active cells (`a_c` = the cell's area inside the region). Pairs are found with a
//!   bucket index of side `D_c` whose buckets are sorted by time: the E-step visits only pairs
//!   within the cut-offs and never builds an N × N matrix; memory is O(N).
//!
//! **M-step.** With the E-step's expected number of triggered events `P = Σ p_ij`, their total
//! lag `S_t = Σ p_ij Δt_ij` and squared distance `S_r = Σ p_ij r_ij²`, the expected complete-data
//! log-likelihood separates after profiling out `θ`: `ω` maximises
//! `P log ω − ω S_t − P log Σ_j (1 − e^{−ω τ_j})` with `τ_j = min(T − t_j, T_c)` (the
//! edge-corrected equation of Mohler et al. 2015; we solve it to convergence by safeguarded
//! Newton steps instead of one fixed-point sweep), `σ²` maximises
//! `−P log σ² − S_r / (2σ²) − P log F_s(σ)` (closed form `S_r / (2P)` without a cut-off), then
//! `θ = P / Σ_j (1 − e^{−ω τ_j}) / F_t` and `m_c = Σ_{i ∈ c} p_ii / T`. Every step is an exact
//! maximisation (each new value is kept only if it does not lower the objective), so the
//! log-likelihood never decreases (tested).
//!
//! **Exact repeats.** Events with identical timestamps cannot trigger one another: the sum is
//! over `t_j < t_i` strictly, so such pairs get `p_ij = 0`. Otherwise every tie (common in data
//! recorded to the minute or heaped at midnight) is a pair at lag zero whose likelihood grows
//! without bound as `ω → ∞`. `ω` is further bounded to `[1e-3 / S, 1e5]` per day (`S` is
//! `min(T_c, T)` for space–time and the window length `T` for grid) and `σ`
//! below by `min_sigma_m` (default 1 m: set it to the geocoding precision, since incidents
//! geocoded to the same address would otherwise drive `σ → 0`).
//!
//! **Convergence.** The fit stops when both the relative change of the log-likelihood is below
//! `tol` and the parameter change `max(|Δθ|, θ·|Δω|/ω, θ·|Δσ|/σ, |Δμ|/μ)` (μ the total
//! background rate; `ω` and `σ` weighted by `θ` because they are not identified as `θ → 0`)
//! is below `param_tol`. At `max_iter` iterations without convergence the fit is returned with
//! `converged == false` and the reason (the Python layer raises `NotConvergedError` carrying
//! it as `.partial`).
//!
//! **Determinism.** The E-step runs over fixed chunks of events in parallel (rayon) and sums
//! the chunks' partial results in chunk order, so results are identical for any thread count.
//!
//! # Examples
//! ```
//! use std::sync::Arc;
//! use placewise::data::Incidents;
//! use placewise::models::sepp::{fit, SeppKind, SeppOptions};
//! use placewise::space::Grid;
//! let grid = Arc::new(Grid::from_extent(0.0, 0.0, 100.0, 4, 4).unwrap());
//! let x: Vec<f64> = (0..40).map(|i| 50.0 + (i % 7) as f64 * 40.0).collect();
//! let y: Vec<f64> = (0..40).map(|i| 50.0 + (i % 5) as f64 * 60.0).collect();
//! let t: Vec<i64> = (0..40).map(|i| i * 86_400 + (i % 3) * 3_600).collect();
//! let inc = Incidents::new(x, y, t).unwrap();
//! let model = fit(&inc, grid, &SeppOptions::new(SeppKind::SpaceTime)).unwrap();
//! assert!(model.params.theta >= 0.0);
//! let surface = model.predict(39 * 86_400, 7 * 86_400).unwrap();
//! assert!(surface.values.sum() > 0.0);
//! ```

mod grid;
mod knn;
mod mstep;
mod simulate;
mod space_time;

pub use simulate::{simulate, Background, Simulated, SimulationParams};

use std::collections::BTreeMap;
use std::sync::Arc;

use ndarray::Array2;

use crate::data::Incidents;
use crate::error::{require_positive, Error, Result};
use crate::space::Grid;
use crate::surface::Surface;

/// Seconds per day: times are UTC seconds, rates are per day.
pub const SECONDS_PER_DAY: f64 = 86_400.0;
/// Upper bound on `ω` (per day): a mean triggering lag of about one second.
pub const OMEGA_MAX_PER_DAY: f64 = 1e5;
/// Events per E-step chunk: the unit of parallel work and of the ordered reduction.
const CHUNK: usize = 512;

/// Which SEPP model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeppKind {
    /// Mohler et al. (2015) grid ETAS: triggering only within a cell, exponential in time.
    Grid,
    /// Mohler et al. (2011): grid background, triggering exponential in time and Gaussian in
    /// space, crossing cells.
    SpaceTime,
}

impl SeppKind {
    /// Parses `"grid"` or `"space_time"`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "grid" => Ok(SeppKind::Grid),
            "space_time" => Ok(SeppKind::SpaceTime),
            other => Err(Error::param(
                "kind",
                format!("must be \"grid\" or \"space_time\", got {other:?}"),
            )),
        }
    }

    /// The name used in parameters and reports.
    pub fn label(self) -> &'static str {
        match self {
            SeppKind::Grid => "grid",
            SeppKind::SpaceTime => "space_time",
        }
    }

    /// Triggering parameters (θ, ω and, for space–time, σ).
    pub fn n_trigger_params(self) -> usize {
        match self {
            SeppKind::Grid => 2,
            SeppKind::SpaceTime => 3,
        }
    }
}

/// Triggering parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeppParams {
    /// Branching ratio: expected number of direct offspring per event.
    pub theta: f64,
    /// Decay rate of the triggering kernel, per day (mean lag `1/ω` days).
    pub omega_per_day: f64,
    /// Standard deviation of the Gaussian spatial kernel per axis, metres (unused by
    /// [`SeppKind::Grid`], where it is NaN).
    pub sigma_m: f64,
}

/// How the space–time background `μ(x, y)` is modelled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BackgroundModel {
    /// Piecewise constant on the grid's active cells, one free rate per cell (the grid model's
    /// background; for space–time its estimates depend on the cell size, see the module docs).
    Grid,
    /// Mohler et al. (2011): a variable-bandwidth Gaussian kernel estimate,
    /// `μ(x) = (1/T) Σ_j p_jj K_{d_j}(x − x_j)`, with `d_j` the distance from event `j` to
    /// its `k`-th nearest other event (at least `min_bandwidth_m`), each kernel weighted by the
    /// event's background probability from the last E-step (weighted declustering), truncated
    /// at 3 bandwidths per axis and renormalised to the active area. At each event it is the
    /// same estimator built from the events more than `min(T_c, T/4)` from it in time (its
    /// possible relatives are left out of the sum and of the neighbour counts), rescaled to
    /// the remaining time. The E-step's split `p_i = μ_i/(μ_i + g_i)` is corrected for the
    /// estimate's sampling variance (`p_i + v_i p_i² (1 − p_i)`, `v_i` the estimate's relative
    /// variance at event `i`, twice its Poisson plug-in; see `knn.rs`). Default for the
    /// space–time model; independent of the grid's cell size. A fixed-point iteration, not an
    /// exact EM.
    Knn {
        /// Neighbour rank of the bandwidth (Mohler et al. 2011 use 15).
        k: usize,
        /// Lower bound on each bandwidth, metres (many events geocoded to one point would
        /// otherwise give a zero bandwidth).
        min_bandwidth_m: f64,
    },
    /// A fixed-bandwidth Gaussian kernel density estimate of the training events' locations
    /// (leave-one-out at each event, truncated at 4 bandwidths) times one constant rate
    /// `μ₀` fitted by EM. The shape is computed once from all events, so the iteration stays
    /// an exact EM (monotone likelihood); Mohler et al. (2011) instead re-weight the kernel by
    /// `p_ii` each iteration, which is not an EM. Space–time model only.
    Kde {
        /// Kernel standard deviation per axis, metres.
        bandwidth_m: f64,
    },
}

/// Options of [`fit`], with documented defaults ([`SeppOptions::new`]).
#[derive(Debug, Clone)]
pub struct SeppOptions {
    /// The model.
    pub kind: SeppKind,
    /// Background model (default [`BackgroundModel::Knn`] with `k = 15` and a 10 m floor for
    /// space–time, [`BackgroundModel::Grid`] for grid).
    pub background: BackgroundModel,
    /// Time cut-off `T_c` of the triggering kernel, days (space–time only; default 120).
    pub time_cutoff_days: f64,
    /// Space cut-off `D_c` of the triggering kernel, metres (space–time only; default 500).
    pub space_cutoff_m: f64,
    /// Relative tolerance of the space–time E-step (default 1e-5): pairs whose triggering
    /// kernel value is below `trigger_tol` times the kernel's peak at the current `σ` and `ω`
    /// (`ωΔt + r²/(2σ²) > ln(1/trigger_tol)`) are skipped. The skipped share of each event's
    /// kernel is reported as [`SeppFit::dropped_kernel_share`]; 0 visits every pair within the
    /// cut-offs (exact).
    pub trigger_tol: f64,
    /// Lower bound on `σ`, metres (default 1).
    pub min_sigma_m: f64,
    /// Iteration limit (default 200).
    pub max_iter: usize,
    /// Relative log-likelihood change below which the fit may stop (default 1e-6).
    pub tol: f64,
    /// Parameter change below which the fit may stop (default 1e-4; see the module docs).
    pub param_tol: f64,
    /// Starting values (default θ = 0.5; 1/ω = min(T_c, T)/40 days and σ = D_c/20 for
    /// space–time, 1/ω = min(T_c, T)/10 days for grid).
    pub init: Option<SeppParams>,
    /// Training window `[start, end]` in UTC seconds (default: first and last event).
    pub window: Option<(i64, i64)>,
    /// Threads for the E-step (default: rayon's global pool). Results do not depend on it.
    pub n_threads: Option<usize>,
}

impl SeppOptions {
    /// Defaults for `kind`.
    pub fn new(kind: SeppKind) -> Self {
        SeppOptions {
            kind,
            background: match kind {
                SeppKind::Grid => BackgroundModel::Grid,
                SeppKind::SpaceTime => BackgroundModel::Knn {
                    k: 15,
                    min_bandwidth_m: 10.0,
                },
            },
            time_cutoff_days: 120.0,
            space_cutoff_m: 500.0,
            trigger_tol: 1e-5,
            min_sigma_m: 1.0,
            max_iter: 200,
            tol: 1e-6,
            param_tol: 1e-4,
            init: None,
            window: None,
            n_threads: None,
        }
    }

    fn validate(&self) -> Result<()> {
        require_positive("time_cutoff_days", self.time_cutoff_days)?;
        require_positive("space_cutoff_m", self.space_cutoff_m)?;
        require_positive("min_sigma_m", self.min_sigma_m)?;
        if self.min_sigma_m >= self.space_cutoff_m {
            return Err(Error::param(
                "min_sigma_m",
                format!(
                    "must be below space_cutoff_m = {}, got {}",
                    self.space_cutoff_m, self.min_sigma_m
                ),
            ));
        }
        if self.max_iter == 0 {
            return Err(Error::param("max_iter", "must be at least 1"));
        }
        for (name, v) in [("tol", self.tol), ("param_tol", self.param_tol)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::param(
                    name,
                    format!("must be a finite number >= 0, got {v}"),
                ));
            }
        }
        if let Some(p) = &self.init {
            if !(p.theta.is_finite() && p.theta > 0.0) {
                return Err(Error::param(
                    "init.theta",
                    format!("must be finite and > 0, got {}", p.theta),
                ));
            }
            require_positive("init.omega", p.omega_per_day)?;
            if self.kind == SeppKind::SpaceTime {
                require_positive("init.sigma", p.sigma_m)?;
            }
        }
        if !(self.trigger_tol.is_finite() && (0.0..1.0).contains(&self.trigger_tol)) {
            return Err(Error::param(
                "trigger_tol",
                format!(
                    "must be a finite number in [0, 1), got {}",
                    self.trigger_tol
                ),
            ));
        }
        match self.background {
            BackgroundModel::Grid => {}
            BackgroundModel::Kde { bandwidth_m } => {
                require_positive("bandwidth_m", bandwidth_m)?;
            }
            BackgroundModel::Knn { k, min_bandwidth_m } => {
                if k == 0 {
                    return Err(Error::param("background_k", "must be at least 1"));
                }
                require_positive("min_bandwidth_m", min_bandwidth_m)?;
            }
        }
        if self.kind == SeppKind::Grid && self.background != BackgroundModel::Grid {
            return Err(Error::param(
                "background",
                "the grid model's background is one rate per cell; a KDE or kNN background \
                 needs kind = space_time",
            ));
        }
        if self.n_threads == Some(0) {
            return Err(Error::param("n_threads", "must be at least 1"));
        }
        Ok(())
    }
}

/// A fitted SEPP model.
#[derive(Debug, Clone)]
pub struct SeppFit {
    /// Which model.
    pub kind: SeppKind,
    /// Fitted triggering parameters.
    pub params: SeppParams,
    /// Background rate per cell, events per day (length `n_cells`, zero for inactive cells).
    pub mu_per_day: Vec<f64>,
    /// Total background rate, events per day (`Σ mu_per_day`, or `μ₀` for a KDE background,
    /// part of whose mass may fall off the grid).
    pub background_rate_per_day: f64,
    /// Log-likelihood at the fitted parameters (times in days; space–time in metres).
    pub loglik: f64,
    /// Log-likelihood at the start and after each iteration (never decreasing).
    pub loglik_path: Vec<f64>,
    /// Iterations (M-steps) run.
    pub n_iter: usize,
    /// Whether the convergence criteria were met.
    pub converged: bool,
    /// Why the fit stopped, with the last criteria values.
    pub reason: String,
    /// Free parameters counted in the AIC: the triggering parameters plus one per cell with a
    /// positive background rate.
    pub n_params: usize,
    /// Akaike information criterion `2k − 2ℓ`.
    pub aic: f64,
    /// Expected share of events that were triggered (`Σ p_ij / N`).
    pub triggered_share: f64,
    /// Pairs the last E-step visited: within the cut-offs and, for space–time, above the
    /// relative tolerance `trigger_tol`; within a cell for grid.
    pub n_pairs: u64,
    /// Largest share, over the iterations, of an event's triggering kernel that the
    /// space–time E-step skipped by `trigger_tol` (0 for grid or `trigger_tol = 0`). If the
    /// model holds, about this share of the expected triggered events `Σ p_ij` is missed, which
    /// biases `θ` down by about as much.
    pub dropped_kernel_share: f64,
    /// The training window `[start, end]`, UTC seconds.
    pub window: (i64, i64),
    /// The options used.
    pub options: SeppOptions,
    grid: Arc<Grid>,
    x: Vec<f64>,
    y: Vec<f64>,
    t: Vec<i64>,
    cell: Vec<u32>,
    /// Background weight of each event behind the fitted background (`p_ii` of the last
    /// E-step but one).
    bg_weight: Vec<f64>,
}

/// What an E-step returns: expected sufficient statistics at the current parameters.
#[derive(Debug, Clone, Default)]
pub(crate) struct EStats {
    /// Σ log λ_i.
    pub sum_log_lambda: f64,
    /// P = Σ p_ij.
    pub p_trig: f64,
    /// Σ p_ij Δt_ij (days).
    pub s_t: f64,
    /// Σ p_ij r_ij² (m²).
    pub s_r: f64,
    /// Pairs visited.
    pub n_pairs: u64,
}

impl EStats {
    pub(crate) fn add(&mut self, o: &EStats) {
        self.sum_log_lambda += o.sum_log_lambda;
        self.p_trig += o.p_trig;
        self.s_t += o.s_t;
        self.s_r += o.s_r;
        self.n_pairs += o.n_pairs;
    }
}

/// Current state shared by the E-steps.
pub(crate) struct State<'a> {
    pub params: SeppParams,
    /// Background intensity per cell: per day per m² (space–time) or per day (grid).
    pub mu_density: &'a [f64],
    /// Background intensity at each event (per day per m²), overriding `mu_density` (KDE).
    pub mu_event: Option<&'a [f64]>,
    /// Relative sampling variance of `mu_event` at each event (kNN background): the E-step's
    /// split is corrected for it (see [`BackgroundModel::Knn`]).
    pub mu_rel_var: Option<&'a [f64]>,
}

/// Validated training data in the units the fit uses.
pub(crate) struct Data {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    /// UTC seconds, ascending.
    pub t: Vec<i64>,
    /// Active cell of each event.
    pub cell: Vec<u32>,
    /// Window start (UTC seconds).
    pub start: i64,
    /// Window length, days.
    pub span_days: f64,
    /// `τ_j` in days: time from each event to the window's end, capped at the time cut-off.
    pub tau: mstep::TauSet,
}

fn prepare(inc: &Incidents, grid: &Grid, opts: &SeppOptions) -> Result<Data> {
    let n = inc.len();
    if n == 0 {
        return Err(Error::empty("incidents: SEPP needs events to fit"));
    }
    let k_min = opts.kind.n_trigger_params() + 1;
    if n < k_min {
        return Err(Error::param(
            "incidents",
            format!(
                "{n} events is fewer than the {k_min} parameters of the {} SEPP (triggering \
                 parameters plus the background level)",
                opts.kind.label()
            ),
        ));
    }
    if let Some(w) = inc.weight() {
        if let Some(i) = w.iter().position(|&v| v != 1.0) {
            return Err(Error::data(
                Some(i),
                "weight",
                "SEPP models points, not weighted counts: weights must be absent or all 1",
            ));
        }
    }
    if opts.kind == SeppKind::SpaceTime {
        let (x, y) = (inc.x(), inc.y());
        if x.iter().all(|&v| v == x[0]) && y.iter().all(|&v| v == y[0]) {
            return Err(Error::data(
                None,
                "x/y",
                format!(
                    "all {n} events are at one place ({}, {}): the space–time model cannot \
                     estimate σ or the background; use kind=\"grid\" or check the geocoding",
                    x[0], y[0]
                ),
            ));
        }
    }
    let (first, last) = inc.time_span().expect("non-empty");
    let (start, end) = opts.window.unwrap_or((first, last));
    if end <= start {
        return Err(Error::data(
            None,
            "t",
            format!(
                "zero-length time span ({start} to {end} UTC seconds): a SEPP needs events \
                 spread over time"
            ),
        ));
    }
    if first < start || last > end {
        let row = inc.t().iter().position(|&t| t < start || t > end);
        return Err(Error::data(
            row,
            "t",
            format!("event outside the training window [{start}, {end}]"),
        ));
    }
    let mut cell = Vec::with_capacity(n);
    for i in 0..n {
        match grid.active_cell_of(inc.x()[i], inc.y()[i]) {
            Some(c) => cell.push(c as u32),
            None => {
                return Err(Error::data(
                    Some(i),
                    "x/y",
                    format!(
                        "event at ({}, {}) is outside the grid's active cells; drop it or use \
                         a grid that covers every event",
                        inc.x()[i],
                        inc.y()[i]
                    ),
                ))
            }
        }
    }
    let cap = match opts.kind {
        SeppKind::Grid => f64::INFINITY,
        SeppKind::SpaceTime => opts.time_cutoff_days,
    };
    let tau = mstep::TauSet::new(
        inc.t()
            .iter()
            .map(|&t| ((end - t) as f64 / SECONDS_PER_DAY).min(cap)),
        cap,
    );
    Ok(Data {
        x: inc.x().to_vec(),
        y: inc.y().to_vec(),
        t: inc.t().to_vec(),
        cell,
        start,
        span_days: (end - start) as f64 / SECONDS_PER_DAY,
        tau,
    })
}

/// Background area of each cell in the units of the model's intensity: m² inside the region
/// (space–time) or 1 (grid: rates per cell).
fn cell_measure(grid: &Grid, kind: SeppKind) -> Vec<f64> {
    match kind {
        SeppKind::Grid => vec![1.0; grid.n_cells()],
        SeppKind::SpaceTime => grid
            .coverage()
            .iter()
            .map(|&c| c * grid.cell_area())
            .collect(),
    }
}

fn rel_change(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
    }
}

/// Fits a SEPP model to `incidents` on `grid` by EM (see the module documentation).
///
/// Errors: no events or fewer than the model's parameters, a zero-length time span, an event
/// outside the grid's active cells or the window, weighted incidents, and invalid options
/// (each names its parameter). Non-convergence is not an error: see [`SeppFit::converged`].
pub fn fit(incidents: &Incidents, grid: Arc<Grid>, opts: &SeppOptions) -> Result<SeppFit> {
    opts.validate()?;
    let data = prepare(incidents, &grid, opts)?;
    match opts.n_threads {
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| Error::param("n_threads", e.to_string()))?;
            pool.install(|| run_em(data, grid, opts))
        }
        None => run_em(data, grid, opts),
    }
}

enum Engine {
    Grid(grid::GridIndex),
    SpaceTime(space_time::SpaceTimeIndex),
}

impl Engine {
    /// E-step at `st`; the space–time bucket index is rebuilt when the visited distance
    /// (which follows `σ`) outgrows its buckets or falls well below their side.
    fn estep(
        &mut self,
        data: &Data,
        st: &State<'_>,
        p_bg: &mut [f64],
        opts: &SeppOptions,
    ) -> EStats {
        match self {
            Engine::Grid(g) => g.estep(data, st, p_bg),
            Engine::SpaceTime(s) => {
                let r = space_time::Reach::new(&st.params, opts).r_m;
                if r > s.reach_m || r < s.reach_m / 1.5 {
                    *s = space_time::SpaceTimeIndex::new(data, r);
                }
                s.estep(data, st, p_bg, opts)
            }
        }
    }
}

/// The background during the iteration.
enum Bg {
    /// One rate per cell (events per day), from `Σ_{i ∈ c} p_ii / T`.
    Cells,
    /// Fixed KDE shape times one rate.
    Kde(space_time::KdeBackground),
    /// Variable-bandwidth kernels weighted by the last E-step's `p_ii`.
    Knn(Box<knn::KnnBackground>),
}

/// Background during the iteration: rate per cell per day (or empty), density at each event,
/// its relative variance, total rate.
type Bgv = (Vec<f64>, Option<Vec<f64>>, Option<Vec<f64>>, f64);

fn run_em(data: Data, grid: Arc<Grid>, opts: &SeppOptions) -> Result<SeppFit> {
    let n = data.x.len();
    let kind = opts.kind;
    let measure = cell_measure(&grid, kind);
    let time_scale = match kind {
        SeppKind::Grid => data.span_days,
        SeppKind::SpaceTime => opts.time_cutoff_days.min(data.span_days),
    };
    // Grid: start at a mean lag of a tenth of min(T_c, T) (the window can be years long; EM
    // crawls from a mean lag of months). Space–time: start with a small triggering kernel
    // (1/ω = min(T_c, T)/40, σ = D_c/20: 3 days and 25 m with the defaults), so that the
    // visited part of the kernel grows from small instead of shrinking from large; on dense
    // data EM moves slowly and a large start keeps ~10⁸ pairs in every E-step.
    let mut params = opts.init.unwrap_or(match kind {
        SeppKind::Grid => SeppParams {
            theta: 0.5,
            omega_per_day: 10.0 / opts.time_cutoff_days.min(data.span_days),
            sigma_m: f64::NAN,
        },
        SeppKind::SpaceTime => SeppParams {
            theta: 0.5,
            omega_per_day: 40.0 / opts.time_cutoff_days.min(data.span_days),
            sigma_m: opts.space_cutoff_m / 20.0,
        },
    });
    params.omega_per_day = params
        .omega_per_day
        .clamp(mstep::omega_min(time_scale), OMEGA_MAX_PER_DAY);
    if kind == SeppKind::Grid {
        params.sigma_m = f64::NAN;
    } else {
        params.sigma_m = params
            .sigma_m
            .clamp(opts.min_sigma_m, mstep::sigma_max(opts.space_cutoff_m));
    }
    let mut engine = match kind {
        SeppKind::Grid => Engine::Grid(grid::GridIndex::new(&data, grid.n_cells())),
        SeppKind::SpaceTime => Engine::SpaceTime(space_time::SpaceTimeIndex::new(
            &data,
            space_time::Reach::new(&params, opts).r_m,
        )),
    };
    let bg = match opts.background {
        BackgroundModel::Kde { bandwidth_m } => {
            let k = space_time::kde_background(&data, &grid, bandwidth_m);
            if let Some(i) = k.f_event.iter().position(|&f| f <= 0.0) {
                return Err(Error::data(
                    Some(i),
                    "x/y",
                    "no other event within 4 × bandwidth_m, so the KDE background is zero at \
                     this event; increase bandwidth_m",
                ));
            }
            Bg::Kde(k)
        }
        BackgroundModel::Knn { k, min_bandwidth_m } => {
            let end = data.start + (data.span_days * SECONDS_PER_DAY).round() as i64;
            // Δ = T_c, at most a quarter of the window (see `knn`)
            let delta_days = opts.time_cutoff_days.min(data.span_days / 4.0);
            let delta_s = (delta_days * SECONDS_PER_DAY).floor().min(i64::MAX as f64) as i64;
            match knn::KnnBackground::new(
                &data.x,
                &data.y,
                &data.t,
                (data.start, end),
                delta_s,
                &grid,
                k,
                min_bandwidth_m,
            ) {
                Ok(b) => Bg::Knn(Box::new(b)),
                Err(knn::KnnError::TooFew) => {
                    return Err(Error::param(
                        "background_k",
                        format!(
                            "the kNN background needs more than background_k = {k} events, \
                             got {n}; lower background_k or use more data"
                        ),
                    ))
                }
                Err(knn::KnnError::TimeConcentrated) => {
                    return Err(Error::data(
                        None,
                        "t",
                        format!(
                            "the events are too concentrated in time for the kNN background: \
                             near some place fewer than background_k + 1 = {} of the nearest \
                             {} events lie outside one event's ±{delta_days:.1}-day window; use background=\"grid\" or \"kde\", a shorter \
                             time_cutoff_days, or a longer period",
                            k + 1,
                            knn::POOL_CAP * (k + 1)
                        ),
                    ))
                }
                Err(knn::KnnError::OnePlace) => {
                    return Err(Error::data(
                        None,
                        "x/y",
                        "every event is at one place: the background and σ cannot be \
                         estimated; use kind=\"grid\" or check the geocoding",
                    ))
                }
            }
        }
        BackgroundModel::Grid => Bg::Cells,
    };
    // Starting background: each event counts (1 − θ) capped, as background.
    let bg_share = (1.0 - params.theta).clamp(0.1, 0.9);
    let mut weights = vec![bg_share; n];
    let area = grid.active_area_m2();
    let background = |w: &[f64]| -> Bgv {
        // (rate per cell per day or empty, density at each event or None, its relative
        // variance or None, total rate)
        let total = w.iter().sum::<f64>() / data.span_days;
        match &bg {
            Bg::Cells => {
                let mut mu = vec![0.0; grid.n_cells()];
                for (i, &v) in w.iter().enumerate() {
                    mu[data.cell[i] as usize] += v;
                }
                for m in mu.iter_mut() {
                    *m /= data.span_days;
                }
                (mu, None, None, total)
            }
            Bg::Kde(k) => (
                k.cell_share.iter().map(|&s| total * s).collect(),
                Some(k.f_event.iter().map(|&f| total * f).collect()),
                None,
                total,
            ),
            Bg::Knn(k) => {
                // floor: a billionth of the mean density keeps log λ finite at an isolated event
                let floor = 1e-9 * total / area;
                let (d, v) = k.density_at_events(w, floor);
                (Vec::new(), Some(d), Some(v), total)
            }
        }
    };
    let density = |mu: &[f64]| -> Vec<f64> {
        if mu.is_empty() {
            return Vec::new();
        }
        mu.iter()
            .zip(&measure)
            .map(|(&m, &a)| if a > 0.0 { m / a } else { 0.0 })
            .collect()
    };
    let loglik_of = |stats: &EStats, params: &SeppParams, bg_rate: f64| -> f64 {
        let bg: f64 = bg_rate * data.span_days;
        let comp =
            params.theta * mstep::compensator_sum(&data.tau, params.omega_per_day, kind, opts);
        stats.sum_log_lambda - bg - comp
    };
    let dropped = |p: &SeppParams| -> f64 {
        match kind {
            SeppKind::Grid => 0.0,
            SeppKind::SpaceTime => space_time::Reach::new(p, opts).dropped_share(p, opts),
        }
    };

    let mut p_bg = vec![0.0; n];
    let (mut mu, ev, var, mut total) = background(&weights);
    let mut dens = density(&mu);
    let mut stats = engine.estep(
        &data,
        &State {
            params,
            mu_density: &dens,
            mu_event: ev.as_deref(),
            mu_rel_var: var.as_deref(),
        },
        &mut p_bg,
        opts,
    );
    let mut dropped_max = dropped(&params);
    let mut ll = loglik_of(&stats, &params, total);
    let mut path = vec![ll];
    let mut converged = false;
    let mut reason = String::new();
    let mut n_iter = 0;
    let mut n_pairs = stats.n_pairs;
    for it in 1..=opts.max_iter {
        // M-step: triggering parameters, and the background from the E-step's p_ii.
        let new_params = mstep::update(&stats, &params, &data.tau, kind, opts, time_scale);
        weights.copy_from_slice(&p_bg);
        let (new_mu, new_ev, new_var, new_total) = background(&weights);
        // E-step at the new parameters (gives their log-likelihood).
        dens = density(&new_mu);
        let new_stats = engine.estep(
            &data,
            &State {
                params: new_params,
                mu_density: &dens,
                mu_event: new_ev.as_deref(),
                mu_rel_var: new_var.as_deref(),
            },
            &mut p_bg,
            opts,
        );
        dropped_max = dropped_max.max(dropped(&new_params));
        let new_ll = loglik_of(&new_stats, &new_params, new_total);
        let d_ll = rel_change(new_ll, ll);
        // θ is a ratio: its absolute change counts. ω and σ matter in proportion to θ (they
        // are not identified as θ → 0), so their relative changes are weighted by θ.
        let th = new_params.theta.max(params.theta);
        let mut d_par = (new_params.theta - params.theta)
            .abs()
            .max(th * rel_change(new_params.omega_per_day, params.omega_per_day))
            .max(rel_change(new_total, total));
        if kind == SeppKind::SpaceTime {
            d_par = d_par.max(th * rel_change(new_params.sigma_m, params.sigma_m));
        }
        params = new_params;
        mu = new_mu;
        total = new_total;
        stats = new_stats;
        ll = new_ll;
        n_pairs = stats.n_pairs;
        path.push(ll);
        n_iter = it;
        reason = format!(
            "relative log-likelihood change {d_ll:.3e} (tol {:.1e}), relative parameter \
             change {d_par:.3e} (param_tol {:.1e})",
            opts.tol, opts.param_tol
        );
        if !ll.is_finite() {
            reason = format!("log-likelihood is not finite after iteration {it}");
            break;
        }
        if d_ll <= opts.tol && d_par <= opts.param_tol {
            converged = true;
            break;
        }
    }
    if !converged && ll.is_finite() {
        reason = format!("reached max_iter = {}: {reason}", opts.max_iter);
    }
    if let Bg::Knn(k) = &bg {
        mu = k.cell_rates(&weights, data.span_days, &grid);
    }
    let k = kind.n_trigger_params()
        + match bg {
            Bg::Cells => mu.iter().filter(|&&m| m > 0.0).count(),
            Bg::Kde(_) | Bg::Knn(_) => 1,
        };
    let triggered_share = stats.p_trig / n as f64;
    let end = data.start + (data.span_days * SECONDS_PER_DAY).round() as i64;
    Ok(SeppFit {
        kind,
        params,
        background_rate_per_day: total,
        mu_per_day: mu,
        loglik: ll,
        loglik_path: path,
        n_iter,
        converged,
        reason,
        n_params: k,
        aic: 2.0 * k as f64 - 2.0 * ll,
        triggered_share,
        n_pairs,
        dropped_kernel_share: dropped_max,
        window: (data.start, end),
        options: opts.clone(),
        grid,
        x: data.x,
        y: data.y,
        t: data.t,
        cell: data.cell,
        bg_weight: weights,
    })
}

impl SeppFit {
    /// The grid the model was fitted on.
    pub fn grid(&self) -> &Arc<Grid> {
        &self.grid
    }

    /// Background weight of each training event (time order) behind the fitted background:
    /// its background probability `p_ii` from the last E-step but one.
    pub fn background_weights(&self) -> &[f64] {
        &self.bg_weight
    }

    /// Expected number of events per cell in `[at, at + horizon)` (UTC seconds): the
    /// background rate times the horizon, plus the triggering still owed by training events
    /// before `at`, integrated over the horizon and over each cell (Gaussian cell integrals
    /// for space–time, the event's own cell for grid).
    ///
    /// Offspring of events that happen *inside* the horizon are not included (they are not
    /// known at `at`); for horizons short against `1/ω` they are a small share
    /// (about `θ · ωH / 2` of the background term).
    pub fn predict(&self, at: i64, horizon_s: i64) -> Result<Surface> {
        if horizon_s <= 0 {
            return Err(Error::param(
                "horizon",
                format!("must be positive, got {horizon_s} seconds"),
            ));
        }
        let grid = &self.grid;
        let h_days = horizon_s as f64 / SECONDS_PER_DAY;
        let mut out = vec![0.0; grid.n_cells()];
        for (o, &m) in out.iter_mut().zip(&self.mu_per_day) {
            *o = m * h_days;
        }
        let p = self.params;
        let w = p.omega_per_day;
        let n_before = self.t.partition_point(|&t| t < at);
        match self.kind {
            SeppKind::Grid => {
                for j in 0..n_before {
                    let a = (at - self.t[j]) as f64 / SECONDS_PER_DAY;
                    let mass = p.theta * ((-w * a).exp() - (-w * (a + h_days)).exp());
                    out[self.cell[j] as usize] += mass;
                }
            }
            SeppKind::SpaceTime => {
                let tc = self.options.time_cutoff_days;
                let ft = -(-w * tc).exp_m1();
                let first = self
                    .t
                    .partition_point(|&t| ((at - t) as f64 / SECONDS_PER_DAY) >= tc);
                for j in first..n_before {
                    let a = (at - self.t[j]) as f64 / SECONDS_PER_DAY;
                    let b = (a + h_days).min(tc);
                    if b <= a {
                        continue;
                    }
                    let mass = p.theta * ((-w * a).exp() - (-w * b).exp()) / ft;
                    space_time::spread_gaussian(
                        grid,
                        self.x[j],
                        self.y[j],
                        p.sigma_m,
                        self.options.space_cutoff_m,
                        mass,
                        &mut out,
                    );
                }
            }
        }
        let values = Array2::from_shape_vec((grid.ny(), grid.nx()), out)
            .map_err(|e| Error::param("grid", e.to_string()))?;
        let mut s = Surface::new(values, grid.clone(), "SEPP")?;
        s.params = self.param_map();
        s.window = Some(self.window);
        s.units = "expected incidents per cell over the horizon".into();
        Ok(s)
    }

    /// Parameters as text, for surfaces and run logs.
    pub fn param_map(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("kind".into(), self.kind.label().into());
        m.insert("theta".into(), format!("{}", self.params.theta));
        m.insert(
            "omega_per_day".into(),
            format!("{}", self.params.omega_per_day),
        );
        if self.kind == SeppKind::SpaceTime {
            m.insert("sigma_m".into(), format!("{}", self.params.sigma_m));
            m.insert(
                "time_cutoff_days".into(),
                format!("{}", self.options.time_cutoff_days),
            );
            m.insert(
                "space_cutoff_m".into(),
                format!("{}", self.options.space_cutoff_m),
            );
        }
        m
    }
}

#[cfg(test)]
mod tests;
