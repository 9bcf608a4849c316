//! Patrol allocation: budgets and strategies (top-k, proportional, randomized, fair LP).
//!
//! Every strategy takes plain values: the risk of each *active* cell in ascending cell-id order
//! (so "lower index" means "lower cell id"), a [`Budget`](crate::allocate::Budget), and optionally the population of
//! each active cell by group ([`GroupCounts`](crate::allocate::GroupCounts)). The result is an [`Allocation`](crate::allocate::Allocation): a dose in units
//! per cell (a unit patrols one cell for the whole shift; fractions are parts of a shift) and the
//! expected risk covered, `Σ_c risk_c · dose_c`.

/// Budgets: units per shift, per-cell cap, district caps and minimums.
pub mod budget;
/// The fairness-constrained linear programme (Wheeler 2019).
pub mod fair;
/// Population by group per cell, and per-capita exposure.
pub mod groups;
/// One entry point for every strategy, multi-shift plans and the price of fairness.
pub mod plan;
/// Units in proportion to risk, rounded by largest remainders (Hamilton's method).
pub mod proportional;
/// Sampling proportional to risk with an exploration floor (randomized systematic sampling).
pub mod randomized;
/// The highest-risk cells, greedily, within caps and district minimums.
pub mod top_k;

pub use budget::{Budget, Districts};
pub use fair::{fair, FairParams, Reference};
pub use groups::GroupCounts;
pub use plan::{allocate, allocate_shifts, Allocation, PriceOfFairness, Shift, Strategy};
pub use proportional::proportional;
pub use randomized::randomized;
pub use top_k::top_k;
