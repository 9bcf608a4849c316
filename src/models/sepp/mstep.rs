//! The M-step shared by both SEPP models: exact one-dimensional maximisations for `ω` and `σ`
//! after profiling out `θ` (see the module documentation of `sepp`).

use super::{EStats, SeppKind, SeppOptions, SeppParams, OMEGA_MAX_PER_DAY};

/// Lower bound on `ω` (per day) for a model whose triggering lags are observed over
/// `time_scale_days` (the time cut-off or the window): a mean lag of 1000 times that scale,
/// i.e. triggering indistinguishable from uniform in time.
pub(crate) fn omega_min(time_scale_days: f64) -> f64 {
    1e-3 / time_scale_days
}

/// Upper bound on `σ` (m): ten times the space cut-off (triggering indistinguishable from
/// uniform over the cut-off disc).
pub(crate) fn sigma_max(space_cutoff_m: f64) -> f64 {
    10.0 * space_cutoff_m
}

/// `τ_j` (days from each event to the window's end, capped at the time cut-off), stored as
/// the number of events at the cap plus the others, so that sums over events are cheap when
/// the window is much longer than the cut-off.
#[derive(Debug, Clone)]
pub(crate) struct TauSet {
    /// The cap (time cut-off), or infinity.
    pub cap: f64,
    /// Events whose `τ` equals the cap.
    pub n_cap: f64,
    /// The other `τ` values.
    pub rest: Vec<f64>,
}

impl TauSet {
    pub(crate) fn new(tau: impl Iterator<Item = f64>, cap: f64) -> Self {
        let mut n_cap = 0.0;
        let mut rest = Vec::new();
        for v in tau {
            if v >= cap {
                n_cap += 1.0;
            } else {
                rest.push(v);
            }
        }
        TauSet { cap, n_cap, rest }
    }

    /// `(A, B, C) = Σ (1 − e^{−ωτ}), Σ τ e^{−ωτ}, Σ τ² e^{−ωτ}`.
    fn sums(&self, w: f64) -> (f64, f64, f64) {
        let (mut a, mut b, mut c) = (0.0, 0.0, 0.0);
        if self.n_cap > 0.0 {
            let e = (-w * self.cap).exp();
            a += self.n_cap * -(-w * self.cap).exp_m1();
            b += self.n_cap * self.cap * e;
            c += self.n_cap * self.cap * self.cap * e;
        }
        for &t in &self.rest {
            let e = (-w * t).exp();
            a += -(-w * t).exp_m1();
            b += t * e;
            c += t * t * e;
        }
        (a, b, c)
    }

    /// `Σ (1 − e^{−ωτ})`.
    pub(crate) fn a(&self, w: f64) -> f64 {
        let mut a = if self.n_cap > 0.0 {
            self.n_cap * -(-w * self.cap).exp_m1()
        } else {
            0.0
        };
        for &t in &self.rest {
            a += -(-w * t).exp_m1();
        }
        a
    }
}

/// `F_t = 1 − e^{−ω T_c}` for space–time (normalising the time-truncated kernel), 1 for grid.
pub(crate) fn f_t(w: f64, kind: SeppKind, opts: &SeppOptions) -> f64 {
    match kind {
        SeppKind::Grid => 1.0,
        SeppKind::SpaceTime => -(-w * opts.time_cutoff_days).exp_m1(),
    }
}

/// `Σ_j ∫ g_j` over the window divided by `θ`: `Σ_j (1 − e^{−ωτ_j}) / F_t`.
pub(crate) fn compensator_sum(tau: &TauSet, w: f64, kind: SeppKind, opts: &SeppOptions) -> f64 {
    tau.a(w) / f_t(w, kind, opts)
}

/// Profile objective in `ω`: `P ln ω − ω S_t − P ln A(ω)`.
fn h_omega(p: f64, s_t: f64, tau: &TauSet, w: f64) -> f64 {
    p * w.ln() - w * s_t - p * tau.a(w).ln()
}

/// Maximises `h_omega` over `[lo, hi]` by safeguarded Newton steps on `u = ln ω`.
fn solve_omega(p: f64, s_t: f64, tau: &TauSet, w0: f64, lo: f64, hi: f64) -> f64 {
    // g(u) = ω h'(ω) = P − ω S_t − P ω B / A; decreasing where h is concave.
    let g = |w: f64| -> (f64, f64) {
        let (a, b, c) = tau.sums(w);
        let val = p - w * s_t - p * w * b / a;
        let dval = w * (-s_t - p * b / a + p * w * (c / a + (b / a) * (b / a)));
        (val, dval)
    };
    let (mut ulo, mut uhi) = (lo.ln(), hi.ln());
    if g(lo).0 <= 0.0 {
        return lo;
    }
    if g(hi).0 >= 0.0 {
        return hi;
    }
    let mut u = w0.clamp(lo, hi).ln();
    for _ in 0..200 {
        let (val, dval) = g(u.exp());
        if val > 0.0 {
            ulo = u;
        } else {
            uhi = u;
        }
        let newton = u - val / dval;
        let next = if dval < 0.0 && newton > ulo && newton < uhi {
            newton
        } else {
            0.5 * (ulo + uhi)
        };
        if (next - u).abs() < 1e-13 || (uhi - ulo) < 1e-13 {
            u = next;
            break;
        }
        u = next;
    }
    u.exp()
}

/// Profile objective in `s = σ²`: `−P ln s − S_r / (2s) − P ln F_s(s)`.
fn k_sigma2(p: f64, s_r: f64, d: f64, s: f64) -> f64 {
    let fs = -(-d * d / (2.0 * s)).exp_m1();
    -p * s.ln() - s_r / (2.0 * s) - p * fs.ln()
}

/// Solves `E[r²/2 | truncated at D] = S_r / (2P)` for `s = σ²` in `[lo², hi²]` by bisection on
/// `ln s` (the left side increases with `s`).
fn solve_sigma2(p: f64, s_r: f64, d: f64, lo: f64, hi: f64) -> f64 {
    let m = s_r / (2.0 * p);
    let f = |s: f64| -> f64 {
        let a = d * d / (2.0 * s);
        // E[r²/2] of the truncated 2-d Gaussian: s − (D²/2) / (e^a − 1).
        let tail = if a > 700.0 {
            0.0
        } else {
            (d * d / 2.0) / a.exp_m1()
        };
        s - tail - m
    };
    let (mut a, mut b) = ((lo * lo).ln(), (hi * hi).ln());
    if f(a.exp()) >= 0.0 {
        return a.exp();
    }
    if f(b.exp()) <= 0.0 {
        return b.exp();
    }
    for _ in 0..200 {
        let mid = 0.5 * (a + b);
        if f(mid.exp()) < 0.0 {
            a = mid;
        } else {
            b = mid;
        }
        if b - a < 1e-14 {
            break;
        }
    }
    (0.5 * (a + b)).exp()
}

/// New triggering parameters from the E-step's statistics. Each coordinate update is kept only
/// if it does not lower its profile objective (so the iteration is a generalised EM even if a
/// 1-d solve were inexact).
pub(crate) fn update(
    stats: &EStats,
    old: &SeppParams,
    tau: &TauSet,
    kind: SeppKind,
    opts: &SeppOptions,
    time_scale_days: f64,
) -> SeppParams {
    let p = stats.p_trig;
    if p.is_nan() || p <= 0.0 {
        // No pair can trigger (or none is credited): θ = 0 is the maximiser; ω and σ are not
        // identified and keep their values.
        return SeppParams { theta: 0.0, ..*old };
    }
    let lo = omega_min(time_scale_days);
    let mut w = solve_omega(p, stats.s_t, tau, old.omega_per_day, lo, OMEGA_MAX_PER_DAY);
    if h_omega(p, stats.s_t, tau, w) < h_omega(p, stats.s_t, tau, old.omega_per_day) {
        w = old.omega_per_day;
    }
    let theta = p * f_t(w, kind, opts) / tau.a(w);
    let sigma = match kind {
        SeppKind::Grid => f64::NAN,
        SeppKind::SpaceTime => {
            let d = opts.space_cutoff_m;
            let s_new = solve_sigma2(p, stats.s_r, d, opts.min_sigma_m, sigma_max(d));
            let s_old = old.sigma_m * old.sigma_m;
            if k_sigma2(p, stats.s_r, d, s_new) >= k_sigma2(p, stats.s_r, d, s_old) {
                s_new.sqrt()
            } else {
                old.sigma_m
            }
        }
    };
    SeppParams {
        theta,
        omega_per_day: w,
        sigma_m: sigma,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn omega_solution_matches_closed_form_without_edge_effects() {
        // With every τ huge, A = N and B = 0: ω = P / S_t.
        let tau = TauSet::new(std::iter::repeat_n(1e9, 100), f64::INFINITY);
        let w = solve_omega(30.0, 210.0, &tau, 1.0, 1e-9, 1e5);
        assert!((w - 30.0 / 210.0).abs() < 1e-9 * w, "{w}");
    }

    #[test]
    fn omega_solution_zeroes_the_derivative_with_edge_effects() {
        let tau = TauSet::new((1..200).map(|i| i as f64 * 0.5), 60.0);
        let (p, s_t) = (40.0, 150.0);
        let w = solve_omega(p, s_t, &tau, 0.3, 1e-6, 1e5);
        // brute-force maximum of h over a fine log grid
        let best = (0..20000)
            .map(|k| 10f64.powf(-4.0 + 6.0 * k as f64 / 20000.0))
            .max_by(|a, b| h_omega(p, s_t, &tau, *a).total_cmp(&h_omega(p, s_t, &tau, *b)))
            .unwrap();
        assert!((w / best - 1.0).abs() < 1e-3, "{w} vs {best}");
    }

    #[test]
    fn sigma_solution_is_closed_form_for_far_cutoff_and_maximises_k() {
        let (p, s_r) = (50.0, 50.0 * 2.0 * 2500.0);
        let s = solve_sigma2(p, s_r, 1e6, 1.0, 1e7);
        assert!((s - 2500.0).abs() < 1e-6 * 2500.0, "{s}");
        // near cut-off: brute-force maximum of k
        let d = 80.0;
        let s = solve_sigma2(p, s_r * 0.5, d, 1.0, 800.0);
        let best = (0..20000)
            .map(|k| 10f64.powf(0.0 + 6.0 * k as f64 / 20000.0))
            .max_by(|a, b| k_sigma2(p, s_r * 0.5, d, *a).total_cmp(&k_sigma2(p, s_r * 0.5, d, *b)))
            .unwrap();
        assert!((s / best - 1.0).abs() < 2e-3, "{s} vs {best}");
    }
}
