//! Spatial feedback-loop simulation: deploy → discover → retrain, on a real grid.
//!
//! Each replicate runs `warmup_rounds + rounds − 1` rounds. In every round, in every active
//! cell `c`:
//!
//! 1. `occurred_c ~ Poisson(λ_c)`, the true rate, fixed over time (drawn as a Poisson total
//!    `N ~ Poisson(Σλ)` placed on cells with probabilities `λ_c / Σλ` — the same law, at a cost
//!    proportional to the incidents rather than the cells);
//! 2. each incident is reported with probability `r_c` (victims and witnesses; may differ by
//!    area): `reported_c ~ Binomial(occurred_c, r_c)`;
//! 3. each unreported incident is discovered by patrol with probability
//!    `1 − (1 − q)^{dose_c}` (`q` per unit of patrol);
//! 4. the records that enter training follow the [`Training`] rule: all records (what most
//!    agencies do), reported only, or the correction of Ensign et al. (2018, "Runaway feedback
//!    loops in predictive policing", FAT* 2018): a discovered record is kept with probability
//!    `(1 − p_c) / max_c' (1 − p_c')`, `p_c` the cell's share of patrol;
//! 5. the [`Model`] is refitted on the records of the last `history_rounds` rounds (records
//!    sit at cell centres, weighted by their count, at time `round × 7 days`) and predicts one
//!    round after the latest record; the allocation [`Strategy`] places the budget over that
//!    surface (negative values clipped to 0), and that dose drives the next round's discovery.
//!
//! The first `warmup_rounds` rounds patrol evenly (`units / n` per cell). The fit after round
//! `r` allocates round `r + 1`; rows are numbered `1..=rounds` from the first fit.
//!
//! Per round: total-variation distance between the model's normalised surface and the truth
//! (`tv_model`, "divergence from the truth"), the share of patrol placed on the `k` truly
//! highest-rate cells (`k` = the budget's units rounded half to even, at least 1; ties in rate
//! by cell id), the Gini of patrol across active cells ([`super::concentration::gini`], 0 when
//! no patrol), totals occurred / recorded / discovered, and with a population, recorded ÷
//! occurred per group (each cell's incidents attributed to groups by its residents' shares;
//! the discovery-probability gap of D'Amour et al. 2020: largest minus smallest group rate).
//!
//! **Verdict** ([`FeedbackRun::verdict`]): from the mean `tv_model` over replicates, the mean of
//! its last tenth of rounds (at least one) against its value in round 1: `"runaway"` when it grew
//! by more than `runaway_delta`, `"converges"` when it did not grow, `"biased"` otherwise.
//!
//! **Seeds.** Replicate `i` draws only from [`Rng::stream`]`(seed, i)` (randomized allocation
//! takes its per-round seed from that stream), so a study split into groups of replicates
//! (`replicate_ids`) and merged with [`FeedbackRun::combine`] equals the study run at once, bit
//! for bit, whatever the number of threads or workers.
//!
//! # Examples
//! ```
//! use std::sync::Arc;
//! use placewise::allocate::{Budget, Strategy};
//! use placewise::audit::feedback::{simulate, FeedbackParams, Scenario, Training};
//! use placewise::models::NaiveParams;
//! use placewise::space::Grid;
//! let grid = Arc::new(Grid::from_extent(0.0, 0.0, 100.0, 10, 1).unwrap());
//! let scenario = Scenario::new(grid, vec![2.0; 10], vec![0.05; 10], None).unwrap();
//! let params = FeedbackParams { rounds: 30, replicates: 4, discovery_rate: 0.9, seed: 1,
//!                               training: Training::All, ..Default::default() };
//! let run = simulate(&scenario, &NaiveParams { window_days: None }, &Strategy::TopK,
//!                    &Budget::new(1.0), &params, None).unwrap();
//! assert_eq!(run.round.len(), 4 * 30);
//! assert_eq!(run.verdict(0.1).unwrap().verdict, "runaway");
//! ```

use std::collections::VecDeque;
use std::sync::Arc;

use rand_distr::weighted::WeightedAliasIndex;
use rand_distr::{Distribution, Poisson};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::allocate::{allocate, Budget, GroupCounts, Strategy};
use crate::audit::concentration::gini_sorted_tail;
use crate::data::{Incidents, Origin};
use crate::error::{Error, Result};
use crate::models::Model;
use crate::montecarlo::simulate_ids;
use crate::rng::Rng;
use crate::space::Grid;

/// Seconds in one simulated round (a week).
pub const ROUND_SECONDS: i64 = 7 * 86_400;

/// Which records enter training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Training {
    /// Reported and discovered incidents.
    All,
    /// Reported incidents only.
    Reported,
    /// Reported incidents, and discovered ones thinned by the Ensign et al. correction.
    Ensign,
}

impl Training {
    /// From "all", "reported" or "ensign".
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "all" => Ok(Training::All),
            "reported" => Ok(Training::Reported),
            "ensign" => Ok(Training::Ensign),
            other => Err(Error::param(
                "training",
                format!("one of \"all\", \"reported\", \"ensign\", got {other:?}"),
            )),
        }
    }
    /// The name `parse` accepts.
    pub fn label(self) -> &'static str {
        match self {
            Training::All => "all",
            Training::Reported => "reported",
            Training::Ensign => "ensign",
        }
    }
}

/// Parameters of [`simulate`], with documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackParams {
    /// Rounds reported per replicate (default 100).
    pub rounds: usize,
    /// Replicates in the whole study (default 50); `replicate_ids` must lie in `0..replicates`.
    pub replicates: usize,
    /// Rounds of even patrol before the first fit (default 4, at least 1).
    pub warmup_rounds: usize,
    /// Rounds of records the model trains on (default `None`: all of them).
    pub history_rounds: Option<usize>,
    /// Which records enter training (default all).
    pub training: Training,
    /// Probability that one unit of patrol discovers an unreported incident in its cell
    /// (default 0.3).
    pub discovery_rate: f64,
    /// Root seed (default 0).
    pub seed: u64,
}

impl Default for FeedbackParams {
    fn default() -> Self {
        FeedbackParams {
            rounds: 100,
            replicates: 50,
            warmup_rounds: 4,
            history_rounds: None,
            training: Training::All,
            discovery_rate: 0.3,
            seed: 0,
        }
    }
}

/// The simulated world: true rates, reporting rates and (optionally) residents by group, one
/// value per active cell in ascending cell-id order.
#[derive(Debug, Clone)]
pub struct Scenario {
    grid: Arc<Grid>,
    true_rates: Vec<f64>,
    reporting_rate: Vec<f64>,
    population: Option<GroupCounts>,
    /// Residents' share per cell and group (row-major, cells × groups; 0 in empty cells).
    pop_share: Vec<f64>,
    digest: String,
}

impl Scenario {
    /// Checks and stores a scenario: `true_rates` (incidents per round, finite, ≥ 0, not all 0)
    /// and `reporting_rate` (in [0, 1]) per active cell; `population` one row per active cell,
    /// every group with people.
    pub fn new(
        grid: Arc<Grid>,
        true_rates: Vec<f64>,
        reporting_rate: Vec<f64>,
        population: Option<GroupCounts>,
    ) -> Result<Self> {
        let n = grid.n_active();
        if true_rates.len() != n {
            return Err(Error::param(
                "truth",
                format!(
                    "has {} values but the grid has {n} active cells",
                    true_rates.len()
                ),
            ));
        }
        check_rates(&true_rates)?;
        if reporting_rate.len() != n {
            return Err(Error::param(
                "reporting_rate",
                format!(
                    "has {} values but the grid has {n} active cells",
                    reporting_rate.len()
                ),
            ));
        }
        if let Some(c) = reporting_rate
            .iter()
            .position(|v| !(*v >= 0.0 && *v <= 1.0))
        {
            return Err(Error::param(
                "reporting_rate",
                format!(
                    "probabilities must be in [0, 1], got {} in active cell {c}",
                    reporting_rate[c]
                ),
            ));
        }
        let mut pop_share = Vec::new();
        if let Some(p) = &population {
            if p.n_cells() != n {
                return Err(Error::param(
                    "population",
                    format!("has {} rows but the grid has {n} active cells", p.n_cells()),
                ));
            }
            let counts = p.counts();
            pop_share.reserve(n * p.groups().len());
            for row in counts.outer_iter() {
                let tot: f64 = row.sum();
                pop_share.extend(row.iter().map(|&v| if tot > 0.0 { v / tot } else { 0.0 }));
            }
        }
        let mut h = Sha256::new();
        for v in true_rates.iter().chain(&reporting_rate).chain(&pop_share) {
            h.update(v.to_le_bytes());
        }
        let digest = h.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Scenario {
            grid,
            true_rates,
            reporting_rate,
            population,
            pop_share,
            digest,
        })
    }

    /// Number of population groups (0 without a population).
    pub fn n_groups(&self) -> usize {
        self.population.as_ref().map_or(0, |p| p.groups().len())
    }
}

/// True rates per round from relative rates `base` (finite, ≥ 0, not all 0) scaled to
/// `incidents_per_round` (finite, > 0) in total.
pub fn scale_rates(base: &[f64], incidents_per_round: f64) -> Result<Vec<f64>> {
    check_rates(base)?;
    if !(incidents_per_round.is_finite() && incidents_per_round > 0.0) {
        return Err(Error::param(
            "incidents_per_round",
            format!("must be finite and > 0, got {incidents_per_round}"),
        ));
    }
    let sum: f64 = base.iter().sum();
    Ok(base.iter().map(|v| v / sum * incidents_per_round).collect())
}

fn check_rates(rates: &[f64]) -> Result<()> {
    if let Some(c) = rates.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
        return Err(Error::param(
            "truth",
            format!(
                "true rates must be finite and >= 0, got {} in active cell {c}",
                rates[c]
            ),
        ));
    }
    if rates.iter().sum::<f64>() <= 0.0 {
        return Err(Error::param("truth", "true rates are all zero"));
    }
    Ok(())
}

/// Per-round trajectories of one scenario, one row per (replicate, round), rows ordered by
/// replicate id and then round.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackRun {
    /// Rounds per replicate.
    pub rounds: usize,
    /// Replicates of the whole study (the ids present are [`FeedbackRun::replicate_ids`]).
    pub replicates: usize,
    /// Population groups (0: none).
    pub n_groups: usize,
    /// Replicate id of each row.
    pub replicate: Vec<u64>,
    /// Round number of each row, `1..=rounds`.
    pub round: Vec<u32>,
    /// Total-variation distance between the model's normalised surface and the truth.
    pub tv_model: Vec<f64>,
    /// Share of patrol placed on the truly highest-rate cells.
    pub dose_in_true_top: Vec<f64>,
    /// Gini of patrol across active cells.
    pub gini_dose: Vec<f64>,
    /// Incidents that occurred in the round.
    pub occurred: Vec<u64>,
    /// Records that entered training.
    pub recorded: Vec<u64>,
    /// Incidents discovered by patrol (before any thinning).
    pub discovered: Vec<u64>,
    /// Recorded ÷ occurred per group, row-major (rows × groups; NaN when nothing occurred).
    pub recorded_rate: Vec<f64>,
    /// Largest minus smallest group rate per row (empty without groups; NaN when undefined).
    pub discovery_gap: Vec<f64>,
    /// Everything that must match for two runs to be parts of one study (settings, scenario
    /// digest); [`FeedbackRun::combine`] checks it.
    pub config: String,
}

/// The verdict of a run (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackVerdict {
    /// Mean `tv_model` in round 1.
    pub tv_initial: f64,
    /// Mean `tv_model` over the last tenth of rounds.
    pub tv_final: f64,
    /// `tv_final − tv_initial`.
    pub growth: f64,
    /// `growth > runaway_delta`.
    pub runaway: bool,
    /// `"runaway"`, `"biased"` or `"converges"`.
    pub verdict: String,
}

impl FeedbackRun {
    /// Checks that the columns fit together (for runs rebuilt from their parts, e.g. after
    /// pickling).
    pub fn validate(&self) -> Result<()> {
        let rows = self.replicate.len();
        for (name, len) in [
            ("round", self.round.len()),
            ("tv_model", self.tv_model.len()),
            ("dose_in_true_top", self.dose_in_true_top.len()),
            ("gini_dose", self.gini_dose.len()),
            ("occurred", self.occurred.len()),
            ("recorded", self.recorded.len()),
            ("discovered", self.discovered.len()),
            (
                "recorded_rate",
                self.recorded_rate
                    .len()
                    .checked_div(self.n_groups)
                    .unwrap_or(rows),
            ),
            (
                "discovery_gap",
                if self.n_groups > 0 {
                    self.discovery_gap.len()
                } else {
                    rows
                },
            ),
        ] {
            if len != rows {
                return Err(Error::param(
                    name,
                    format!("has {len} rows but replicate has {rows}"),
                ));
            }
        }
        if self.n_groups == 0 && !(self.recorded_rate.is_empty() && self.discovery_gap.is_empty()) {
            return Err(Error::param(
                "recorded_rate",
                "group columns without groups (n_groups = 0)",
            ));
        }
        if self.rounds == 0 || rows % self.rounds != 0 {
            return Err(Error::param(
                "rounds",
                format!(
                    "{rows} rows are not whole replicates of {} rounds",
                    self.rounds
                ),
            ));
        }
        for (k, chunk) in self.replicate.chunks(self.rounds).enumerate() {
            let rounds = &self.round[k * self.rounds..(k + 1) * self.rounds];
            let id = chunk[0];
            if chunk.iter().any(|&r| r != id)
                || rounds.iter().enumerate().any(|(i, &r)| r as usize != i + 1)
            {
                return Err(Error::data(
                    Some(k * self.rounds),
                    "replicate",
                    "each replicate must hold rounds 1..=rounds in order",
                ));
            }
            if id as usize >= self.replicates {
                return Err(Error::data(
                    Some(k * self.rounds),
                    "replicate",
                    format!(
                        "replicate id {id} is not below replicates = {}",
                        self.replicates
                    ),
                ));
            }
            if k > 0 && self.replicate[(k - 1) * self.rounds] >= id {
                return Err(Error::data(
                    Some(k * self.rounds),
                    "replicate",
                    "replicates must be in increasing id order, each once",
                ));
            }
        }
        Ok(())
    }

    /// The replicate ids present, ascending.
    pub fn replicate_ids(&self) -> Vec<u64> {
        self.replicate
            .iter()
            .step_by(self.rounds.max(1))
            .copied()
            .collect()
    }

    /// Merges runs of disjoint replicates of one study into the run of all of them: the same,
    /// bit for bit, as simulating those replicates at once. Refuses runs with different
    /// settings or a replicate in two parts.
    pub fn combine(parts: &[FeedbackRun]) -> Result<FeedbackRun> {
        let first = parts
            .first()
            .ok_or_else(|| Error::empty("runs: nothing to combine"))?;
        for (i, p) in parts.iter().enumerate() {
            if p.config != first.config
                || p.rounds != first.rounds
                || p.replicates != first.replicates
                || p.n_groups != first.n_groups
            {
                return Err(Error::param(
                    format!("runs[{i}]"),
                    format!(
                        "was simulated with other settings ({} vs {}); only replicates of one \
                         study combine",
                        p.config, first.config
                    ),
                ));
            }
        }
        // (part, first row) of every replicate, in id order
        let mut reps: Vec<(u64, usize, usize)> = parts
            .iter()
            .enumerate()
            .flat_map(|(i, p)| {
                (0..p.replicate.len())
                    .step_by(p.rounds)
                    .map(move |row| (p.replicate[row], i, row))
            })
            .collect();
        reps.sort_unstable();
        if let Some(w) = reps.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Error::param(
                "runs",
                format!("replicate {} appears in more than one run", w[0].0),
            ));
        }
        let (r, g) = (first.rounds, first.n_groups);
        let mut out = FeedbackRun {
            rounds: r,
            replicates: first.replicates,
            n_groups: g,
            replicate: Vec::new(),
            round: Vec::new(),
            tv_model: Vec::new(),
            dose_in_true_top: Vec::new(),
            gini_dose: Vec::new(),
            occurred: Vec::new(),
            recorded: Vec::new(),
            discovered: Vec::new(),
            recorded_rate: Vec::new(),
            discovery_gap: Vec::new(),
            config: first.config.clone(),
        };
        for (_, i, row) in reps {
            let p = &parts[i];
            let s = row..row + r;
            out.replicate.extend_from_slice(&p.replicate[s.clone()]);
            out.round.extend_from_slice(&p.round[s.clone()]);
            out.tv_model.extend_from_slice(&p.tv_model[s.clone()]);
            out.dose_in_true_top
                .extend_from_slice(&p.dose_in_true_top[s.clone()]);
            out.gini_dose.extend_from_slice(&p.gini_dose[s.clone()]);
            out.occurred.extend_from_slice(&p.occurred[s.clone()]);
            out.recorded.extend_from_slice(&p.recorded[s.clone()]);
            out.discovered.extend_from_slice(&p.discovered[s.clone()]);
            if g > 0 {
                out.recorded_rate
                    .extend_from_slice(&p.recorded_rate[row * g..(row + r) * g]);
                out.discovery_gap.extend_from_slice(&p.discovery_gap[s]);
            }
        }
        Ok(out)
    }

    /// Mean of `column` over replicates, per round (`column` has one value per row).
    pub fn mean_by_round(&self, column: &[f64]) -> Vec<f64> {
        let r = self.rounds;
        let k = column.len() / r.max(1);
        let mut m = vec![0.0; r];
        for rep in column.chunks(r) {
            for (a, v) in m.iter_mut().zip(rep) {
                *a += v;
            }
        }
        m.iter_mut().for_each(|v| *v /= k as f64);
        m
    }

    /// The runaway verdict under `runaway_delta` (finite, ≥ 0).
    pub fn verdict(&self, runaway_delta: f64) -> Result<FeedbackVerdict> {
        if !(runaway_delta.is_finite() && runaway_delta >= 0.0) {
            return Err(Error::param(
                "runaway_delta",
                format!("must be finite and >= 0, got {runaway_delta}"),
            ));
        }
        if self.tv_model.is_empty() {
            return Err(Error::empty("run: no replicate to judge"));
        }
        let mean = self.mean_by_round(&self.tv_model);
        let last = mean.len().div_ceil(10).max(1);
        let tv_initial = mean[0];
        let tail = &mean[mean.len() - last..];
        let tv_final = tail.iter().sum::<f64>() / last as f64;
        let growth = tv_final - tv_initial;
        let runaway = growth > runaway_delta;
        Ok(FeedbackVerdict {
            tv_initial,
            tv_final,
            growth,
            runaway,
            verdict: if runaway {
                "runaway"
            } else if growth <= 0.0 {
                "converges"
            } else {
                "biased"
            }
            .to_string(),
        })
    }
}

/// One replicate's rows.
struct Rows {
    tv: Vec<f64>,
    top: Vec<f64>,
    gini: Vec<f64>,
    occurred: Vec<u64>,
    recorded: Vec<u64>,
    discovered: Vec<u64>,
    rate: Vec<f64>,
    gap: Vec<f64>,
}

/// Runs the feedback loop for the replicates `replicate_ids` (`None`: all of
/// `0..params.replicates`), in parallel over replicates; see the module docs.
pub fn simulate(
    scenario: &Scenario,
    model: &dyn Model,
    strategy: &Strategy,
    budget: &Budget,
    params: &FeedbackParams,
    replicate_ids: Option<&[u64]>,
) -> Result<FeedbackRun> {
    for (name, v) in [
        ("rounds", params.rounds),
        ("replicates", params.replicates),
        ("warmup_rounds", params.warmup_rounds),
    ] {
        if v < 1 {
            return Err(Error::param(name, format!("an integer >= 1, got {v}")));
        }
    }
    if params.history_rounds == Some(0) {
        return Err(Error::param(
            "history_rounds",
            "None or an integer >= 1, got 0",
        ));
    }
    let q = params.discovery_rate;
    if !(0.0..=1.0).contains(&q) {
        return Err(Error::param(
            "discovery_rate",
            format!("must be in [0, 1], got {q}"),
        ));
    }
    let n = scenario.true_rates.len();
    budget.validate(n)?;
    let ids: Vec<u64> = match replicate_ids {
        None => (0..params.replicates as u64).collect(),
        Some(ids) => {
            if ids.is_empty() {
                return Err(Error::param("replicate_ids", "is empty"));
            }
            let mut v = ids.to_vec();
            v.sort_unstable();
            if let Some(w) = v.windows(2).find(|w| w[0] == w[1]) {
                return Err(Error::param(
                    "replicate_ids",
                    format!("replicate {} is listed twice", w[0]),
                ));
            }
            if let Some(&bad) = v.iter().find(|&&i| i >= params.replicates as u64) {
                return Err(Error::param(
                    "replicate_ids",
                    format!("{bad} is not below replicates = {}", params.replicates),
                ));
            }
            v
        }
    };
    let sim = Sim::new(scenario, model, strategy, budget, params)?;
    let reps: Vec<Result<Rows>> = simulate_ids(&ids, params.seed, |id, rng| sim.replicate(id, rng));
    let g = scenario.n_groups();
    let r = params.rounds;
    let mut run = FeedbackRun {
        rounds: r,
        replicates: params.replicates,
        n_groups: g,
        replicate: Vec::with_capacity(ids.len() * r),
        round: Vec::with_capacity(ids.len() * r),
        tv_model: Vec::with_capacity(ids.len() * r),
        dose_in_true_top: Vec::with_capacity(ids.len() * r),
        gini_dose: Vec::with_capacity(ids.len() * r),
        occurred: Vec::with_capacity(ids.len() * r),
        recorded: Vec::with_capacity(ids.len() * r),
        discovered: Vec::with_capacity(ids.len() * r),
        recorded_rate: Vec::with_capacity(ids.len() * r * g),
        discovery_gap: Vec::with_capacity(if g > 0 { ids.len() * r } else { 0 }),
        config: format!(
            "rounds={} replicates={} warmup_rounds={} history_rounds={:?} training={} \
             discovery_rate={} seed={} model={} strategy={:?} budget={:?} scenario={}",
            r,
            params.replicates,
            params.warmup_rounds,
            params.history_rounds,
            params.training.label(),
            q,
            params.seed,
            model.name(),
            strategy,
            budget,
            scenario.digest
        ),
    };
    for (id, rows) in ids.iter().zip(reps) {
        let rows = rows?;
        run.replicate.extend(std::iter::repeat_n(*id, r));
        run.round.extend(1..=r as u32);
        run.tv_model.extend(rows.tv);
        run.dose_in_true_top.extend(rows.top);
        run.gini_dose.extend(rows.gini);
        run.occurred.extend(rows.occurred);
        run.recorded.extend(rows.recorded);
        run.discovered.extend(rows.discovered);
        run.recorded_rate.extend(rows.rate);
        run.discovery_gap.extend(rows.gap);
    }
    Ok(run)
}

/// What every replicate shares.
struct Sim<'a> {
    sc: &'a Scenario,
    model: &'a dyn Model,
    strategy: &'a Strategy,
    budget: &'a Budget,
    params: &'a FeedbackParams,
    cx: Vec<f64>,
    cy: Vec<f64>,
    true_share: Vec<f64>,
    true_top: Vec<bool>,
    total: Option<Poisson<f64>>,
    cells: WeightedAliasIndex<f64>,
    fair_population: Option<&'a GroupCounts>,
}

impl<'a> Sim<'a> {
    fn new(
        sc: &'a Scenario,
        model: &'a dyn Model,
        strategy: &'a Strategy,
        budget: &'a Budget,
        params: &'a FeedbackParams,
    ) -> Result<Self> {
        let ids = sc.grid.active_ids();
        let (cx, cy): (Vec<f64>, Vec<f64>) = ids.iter().map(|&i| sc.grid.centre(i)).unzip();
        let lam = &sc.true_rates;
        let n = lam.len();
        let total_rate: f64 = lam.iter().sum();
        let true_share: Vec<f64> = lam.iter().map(|v| v / total_rate).collect();
        // the k truly highest-rate cells, ties by cell id
        let k = (budget.units.round_ties_even() as usize).clamp(1, n);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| lam[b].total_cmp(&lam[a]).then(a.cmp(&b)));
        let mut true_top = vec![false; n];
        for &c in &order[..k] {
            true_top[c] = true;
        }
        let total = Poisson::new(total_rate).ok();
        let cells = WeightedAliasIndex::new(lam.clone()).map_err(|e| {
            Error::param("truth", format!("cannot sample cells from the rates: {e}"))
        })?;
        Ok(Sim {
            sc,
            model,
            strategy,
            budget,
            params,
            cx,
            cy,
            true_share,
            true_top,
            total,
            cells,
            fair_population: match strategy {
                Strategy::Fair(_) => sc.population.as_ref(),
                _ => None,
            },
        })
    }

    fn replicate(&self, id: u64, rng: &mut Rng) -> Result<Rows> {
        let p = self.params;
        let sc = self.sc;
        let n = self.cx.len();
        let g = sc.n_groups();
        let q = p.discovery_rate;
        let units = self.budget.units;
        let mut dose = vec![units / n as f64; n];
        // records per round: (active cell, count), ascending cell
        let mut history: VecDeque<(i64, Vec<(u32, u32)>)> = VecDeque::new();
        let mut rows = Rows {
            tv: Vec::with_capacity(p.rounds),
            top: Vec::with_capacity(p.rounds),
            gini: Vec::with_capacity(p.rounds),
            occurred: Vec::with_capacity(p.rounds),
            recorded: Vec::with_capacity(p.rounds),
            discovered: Vec::with_capacity(p.rounds),
            rate: Vec::with_capacity(p.rounds * g),
            gap: Vec::with_capacity(if g > 0 { p.rounds } else { 0 }),
        };
        let mut cells_hit: Vec<u32> = Vec::new();
        let mut occ_g = vec![0.0; g];
        let mut rec_g = vec![0.0; g];
        for r in 0..(p.warmup_rounds + p.rounds - 1) {
            // 1. incidents: a Poisson total placed on cells by their rates
            let n_occ = match &self.total {
                Some(d) => d.sample(rng) as u64,
                None => 0,
            };
            let dose_sum: f64 = dose.iter().sum();
            let accept_den = if p.training == Training::Ensign && dose_sum > 0.0 {
                let min_share = dose.iter().cloned().fold(f64::INFINITY, f64::min) / dose_sum;
                1.0 - min_share
            } else {
                1.0
            };
            cells_hit.clear();
            occ_g.iter_mut().for_each(|v| *v = 0.0);
            rec_g.iter_mut().for_each(|v| *v = 0.0);
            let (mut n_rec, mut n_disc) = (0u64, 0u64);
            {
                for _ in 0..n_occ {
                    let c = self.cells.sample(rng);
                    // 2.–3. reported, else perhaps discovered
                    let reported = rng.bernoulli(sc.reporting_rate[c]);
                    let discovered = !reported && {
                        let pd = 1.0 - (1.0 - q).powf(dose[c]);
                        rng.bernoulli(pd)
                    };
                    // 4. what enters training
                    let kept = match p.training {
                        Training::All => reported || discovered,
                        Training::Reported => reported,
                        Training::Ensign => {
                            reported
                                || (discovered && {
                                    let share = if dose_sum > 0.0 {
                                        dose[c] / dose_sum
                                    } else {
                                        0.0
                                    };
                                    rng.bernoulli((1.0 - share) / accept_den)
                                })
                        }
                    };
                    n_disc += discovered as u64;
                    if kept {
                        n_rec += 1;
                        cells_hit.push(c as u32);
                    }
                    if g > 0 {
                        let share = &sc.pop_share[c * g..(c + 1) * g];
                        for (a, s) in occ_g.iter_mut().zip(share) {
                            *a += s;
                        }
                        if reported || discovered {
                            for (a, s) in rec_g.iter_mut().zip(share) {
                                *a += s;
                            }
                        }
                    }
                }
            }
            cells_hit.sort_unstable();
            let mut recs: Vec<(u32, u32)> = Vec::new();
            for &c in &cells_hit {
                match recs.last_mut() {
                    Some((lc, k)) if *lc == c => *k += 1,
                    _ => recs.push((c, 1)),
                }
            }
            history.push_back((r as i64 * ROUND_SECONDS, recs));
            if let Some(h) = p.history_rounds {
                while history.len() > h {
                    history.pop_front();
                }
            }
            if r + 1 < p.warmup_rounds {
                continue;
            }
            // 5. retrain on the history and allocate the next round
            let inc = self.records(&history).map_err(|e| in_round(e, id, r))?;
            let last_t = inc.time_span().map(|(_, b)| b).ok_or_else(|| {
                Error::empty(format!(
                    "replicate {id}, round {r}: no incident was recorded in the training \
                     history; raise incidents_per_round, reporting_rate or discovery_rate"
                ))
            })?;
            let surface = self
                .model
                .fit_predict(Arc::new(inc), sc.grid.clone(), last_t + ROUND_SECONDS)
                .map_err(|e| in_round(e, id, r))?;
            let flat = surface.values.as_slice().expect("standard layout");
            let risk: Vec<f64> = sc
                .grid
                .mask()
                .iter()
                .zip(flat)
                .filter(|(m, _)| **m)
                .map(|(_, v)| v.max(0.0))
                .collect();
            let mass: f64 = risk.iter().sum();
            let tv = 0.5
                * risk
                    .iter()
                    .zip(&self.true_share)
                    .map(|(v, t)| {
                        let b = if mass > 0.0 { v / mass } else { 1.0 / n as f64 };
                        (b - t).abs()
                    })
                    .sum::<f64>();
            let strat = match self.strategy {
                Strategy::Randomized { epsilon, .. } => Strategy::Randomized {
                    epsilon: *epsilon,
                    seed: rng.next_u64(),
                },
                other => other.clone(),
            };
            dose = allocate(&risk, self.budget, &strat, self.fair_population)
                .map_err(|e| in_round(e, id, r))?
                .dose;
            let dsum: f64 = dose.iter().sum();
            let on_top: f64 = dose
                .iter()
                .zip(&self.true_top)
                .filter(|(_, t)| **t)
                .map(|(d, _)| d)
                .sum();
            rows.tv.push(tv);
            rows.top.push(if dsum > 0.0 { on_top / dsum } else { 0.0 });
            // Gini of the dose from its non-zero values (zeros add nothing to either sum, so
            // this equals `concentration::gini` on every cell, bit for bit)
            let mut nz: Vec<f64> = dose.iter().copied().filter(|&d| d > 0.0).collect();
            nz.sort_by(f64::total_cmp);
            let gd = gini_sorted_tail(&nz, n);
            rows.gini.push(if gd.is_nan() { 0.0 } else { gd });
            rows.occurred.push(n_occ);
            rows.recorded.push(n_rec);
            rows.discovered.push(n_disc);
            if g > 0 {
                let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
                for (o, k) in occ_g.iter().zip(&rec_g) {
                    let rate = if *o > 0.0 { k / o } else { f64::NAN };
                    rows.rate.push(rate);
                    if rate.is_finite() {
                        lo = lo.min(rate);
                        hi = hi.max(rate);
                    }
                }
                rows.gap
                    .push(if lo.is_finite() { hi - lo } else { f64::NAN });
            }
        }
        Ok(rows)
    }

    /// The history as weighted incidents at cell centres, in time order.
    fn records(&self, history: &VecDeque<(i64, Vec<(u32, u32)>)>) -> Result<Incidents> {
        let m: usize = history.iter().map(|(_, v)| v.len()).sum();
        let (mut x, mut y, mut t, mut w) = (
            Vec::with_capacity(m),
            Vec::with_capacity(m),
            Vec::with_capacity(m),
            Vec::with_capacity(m),
        );
        for (tr, recs) in history {
            for &(c, k) in recs {
                x.push(self.cx[c as usize]);
                y.push(self.cy[c as usize]);
                t.push(*tr);
                w.push(k as f64);
            }
        }
        Incidents::from_columns(
            x,
            y,
            t,
            vec![0; m],
            vec!["all".into()],
            vec![Origin::Unknown; m],
            Some(w),
        )
    }
}

fn in_round(e: Error, id: u64, r: usize) -> Error {
    match e {
        Error::EmptyInput { what } => Error::empty(format!("replicate {id}, round {r}: {what}")),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{KdeParams, NaiveParams};

    fn strip() -> Arc<Grid> {
        Arc::new(Grid::from_extent(0.0, 0.0, 100.0, 10, 1).unwrap())
    }

    fn params(training: Training) -> FeedbackParams {
        FeedbackParams {
            rounds: 40,
            replicates: 8,
            discovery_rate: 0.9,
            training,
            seed: 1,
            ..Default::default()
        }
    }

    fn run(training: Training, report: f64) -> FeedbackRun {
        let sc = Scenario::new(strip(), vec![2.0; 10], vec![report; 10], None).unwrap();
        simulate(
            &sc,
            &NaiveParams { window_days: None },
            &Strategy::TopK,
            &Budget::new(1.0),
            &params(training),
            None,
        )
        .unwrap()
    }

    /// Ensign et al.'s mechanism on a uniform truth: with mostly discovered records the
    /// patrolled cell keeps producing the records that keep it patrolled; reported-only
    /// records are an unbiased sample and the model converges.
    #[test]
    fn runaway_and_its_mitigations() {
        let bad = run(Training::All, 0.05).verdict(0.1).unwrap();
        assert!(bad.runaway, "{bad:?}");
        assert!(bad.tv_final > 0.3);
        let good = run(Training::Reported, 0.05).verdict(0.1).unwrap();
        assert_eq!(good.verdict, "converges", "{good:?}");
        assert!(good.tv_final < bad.tv_final - 0.2);
        let ens = run(Training::Ensign, 0.05).verdict(0.1).unwrap();
        assert!(ens.tv_final < bad.tv_final, "{ens:?} vs {bad:?}");
    }

    #[test]
    fn parts_combine_to_the_whole_and_threads_do_not_matter() {
        let sc = Scenario::new(strip(), vec![2.0; 10], vec![0.2; 10], None).unwrap();
        let p = FeedbackParams {
            rounds: 6,
            replicates: 5,
            ..params(Training::Ensign)
        };
        let model = KdeParams {
            bandwidth: crate::models::Bandwidth::Fixed(150.0),
            ..Default::default()
        };
        let strat = Strategy::Randomized {
            epsilon: 0.3,
            seed: 0,
        };
        let b = Budget::new(2.0);
        let go = |ids: Option<&[u64]>, threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| simulate(&sc, &model, &strat, &b, &p, ids).unwrap())
        };
        let whole = go(None, 1);
        assert_eq!(whole, go(None, 4));
        let a = go(Some(&[4, 0]), 2);
        let c = go(Some(&[1, 3, 2]), 3);
        assert_eq!(a.replicate_ids(), vec![0, 4]);
        assert_eq!(
            FeedbackRun::combine(&[c.clone(), a.clone()]).unwrap(),
            whole
        );
        assert!(FeedbackRun::combine(&[a.clone(), a.clone()]).is_err());
        let other = simulate(
            &sc,
            &model,
            &strat,
            &b,
            &FeedbackParams {
                seed: 2,
                ..p.clone()
            },
            Some(&[1, 2, 3]),
        )
        .unwrap();
        let e = FeedbackRun::combine(&[a, other]).unwrap_err().to_string();
        assert!(e.contains("runs[1]"), "{e}");
        whole.validate().unwrap();
    }

    #[test]
    fn groups_rates_and_bad_input() {
        let counts =
            ndarray::Array2::from_shape_fn(
                (10, 2),
                |(c, g)| {
                    if (c < 5) == (g == 0) {
                        100.0
                    } else {
                        0.0
                    }
                },
            );
        let pop = GroupCounts::new(counts, vec!["a".into(), "b".into()]).unwrap();
        let sc = Scenario::new(strip(), vec![3.0; 10], vec![0.3; 10], Some(pop)).unwrap();
        let p = FeedbackParams {
            rounds: 5,
            replicates: 2,
            ..params(Training::All)
        };
        let r = simulate(
            &sc,
            &NaiveParams { window_days: None },
            &Strategy::TopK,
            &Budget::new(2.0),
            &p,
            None,
        )
        .unwrap();
        assert_eq!(r.recorded_rate.len(), 2 * 5 * 2);
        assert!(r.recorded_rate.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(r.discovery_gap.iter().all(|v| (0.0..=1.0).contains(v)));
        // recorded never exceeds occurred; with training on all records they are reported +
        // discovered
        for i in 0..r.occurred.len() {
            assert!(r.recorded[i] <= r.occurred[i] && r.discovered[i] <= r.recorded[i]);
        }
        let e = |res: Result<Scenario>| res.unwrap_err().to_string();
        assert!(e(Scenario::new(strip(), vec![1.0; 3], vec![0.5; 10], None)).contains("truth"));
        assert!(e(Scenario::new(strip(), vec![-1.0; 10], vec![0.5; 10], None)).contains("truth"));
        assert!(e(Scenario::new(strip(), vec![0.0; 10], vec![0.5; 10], None)).contains("truth"));
        assert!(
            e(Scenario::new(strip(), vec![1.0; 10], vec![1.5; 10], None))
                .contains("reporting_rate")
        );
        let nm = NaiveParams { window_days: None };
        for (bad, name) in [
            (
                FeedbackParams {
                    rounds: 0,
                    ..p.clone()
                },
                "rounds",
            ),
            (
                FeedbackParams {
                    warmup_rounds: 0,
                    ..p.clone()
                },
                "warmup_rounds",
            ),
            (
                FeedbackParams {
                    history_rounds: Some(0),
                    ..p.clone()
                },
                "history_rounds",
            ),
            (
                FeedbackParams {
                    discovery_rate: -0.1,
                    ..p.clone()
                },
                "discovery_rate",
            ),
        ] {
            let msg = simulate(&sc, &nm, &Strategy::TopK, &Budget::new(2.0), &bad, None)
                .unwrap_err()
                .to_string();
            assert!(msg.contains(name), "{msg}");
        }
        for ids in [&[][..], &[1, 1][..], &[2][..]] {
            let msg = simulate(&sc, &nm, &Strategy::TopK, &Budget::new(2.0), &p, Some(ids))
                .unwrap_err()
                .to_string();
            assert!(msg.contains("replicate_ids"), "{msg}");
        }
        assert!(r.verdict(f64::NAN).is_err());
        let scaled = scale_rates(&[1.0, 3.0], 8.0).unwrap();
        assert_eq!(scaled, vec![2.0, 6.0]);
        assert!(scale_rates(&[1.0, 3.0], 0.0)
            .unwrap_err()
            .to_string()
            .contains("incidents_per_round"));
        assert!(scale_rates(&[0.0, 0.0], 1.0)
            .unwrap_err()
            .to_string()
            .contains("truth"));
    }
}
