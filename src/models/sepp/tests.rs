//! Tests of the SEPP fit: a brute-force O(N²) likelihood written here, parameter recovery on
//! simulated data, monotone EM, thread-count independence, edge cases and bad input.

use super::*;
use crate::space::Region;

const DAY: f64 = 86_400.0;

fn to_incidents(sim: &Simulated, extent: f64) -> Incidents {
    let keep: Vec<usize> = (0..sim.len())
        .filter(|&i| sim.x[i] > 0.0 && sim.x[i] < extent && sim.y[i] > 0.0 && sim.y[i] < extent)
        .collect();
    Incidents::new(
        keep.iter().map(|&i| sim.x[i]).collect(),
        keep.iter().map(|&i| sim.y[i]).collect(),
        keep.iter()
            .map(|&i| (sim.t_days[i] * DAY).round() as i64)
            .collect(),
    )
    .unwrap()
}

/// A clustered background: a floor plus Gaussian bumps, per cell.
fn clustered_rates(grid: &Grid, total_per_day: f64) -> Vec<f64> {
    let (x0, y0, x1, y1) = grid.extent();
    let centres = [(0.3, 0.3, 0.08), (0.7, 0.6, 0.05), (0.45, 0.75, 0.1)];
    let mut r: Vec<f64> = (0..grid.n_cells())
        .map(|id| {
            let (cx, cy) = grid.centre(id);
            let (u, v) = ((cx - x0) / (x1 - x0), (cy - y0) / (y1 - y0));
            0.2 + centres
                .iter()
                .map(|&(a, b, s)| (-((u - a).powi(2) + (v - b).powi(2)) / (2.0 * s * s)).exp())
                .sum::<f64>()
                * 3.0
        })
        .collect();
    let s: f64 = r.iter().sum();
    for v in r.iter_mut() {
        *v *= total_per_day / s;
    }
    r
}

fn simulated(
    theta: f64,
    sigma: f64,
    n_bg_per_day: f64,
    days: f64,
    seed: u64,
) -> (Incidents, Arc<Grid>) {
    let extent = 10_000.0;
    let grid = Arc::new(Grid::from_extent(0.0, 0.0, 500.0, 20, 20).unwrap());
    let bg = Background::Cells {
        grid: grid.clone(),
        rate_per_day: clustered_rates(&grid, n_bg_per_day),
    };
    let p = SimulationParams {
        theta,
        omega_per_day: 1.0 / 7.0,
        sigma_m: sigma,
        time_cutoff_days: None,
        space_cutoff_m: None,
    };
    let sim = simulate(&p, &bg, days, seed, 10_000_000).unwrap();
    (to_incidents(&sim, extent), grid)
}

/// Log-likelihood by brute force over all pairs, straight from the model's definition.
fn brute_loglik(inc: &Incidents, grid: &Grid, fit: &SeppFit) -> f64 {
    let p = fit.params;
    let o = &fit.options;
    let (start, end) = fit.window;
    let span = (end - start) as f64 / DAY;
    let n = inc.len();
    let mut ll = 0.0;
    for i in 0..n {
        let c = grid.active_cell_of(inc.x()[i], inc.y()[i]).unwrap();
        let area = match fit.kind {
            SeppKind::Grid => 1.0,
            SeppKind::SpaceTime => grid.cell_area() * grid.coverage()[c],
        };
        let mut lam = match fit.options.background {
            BackgroundModel::Grid => fit.mu_per_day[c] / area,
            BackgroundModel::Kde { bandwidth_m: h } => {
                // leave-one-out Gaussian KDE truncated at 4h
                let mut f = 0.0;
                for j in 0..n {
                    let r2 = (inc.x()[i] - inc.x()[j]).powi(2) + (inc.y()[i] - inc.y()[j]).powi(2);
                    if j != i && r2 <= 16.0 * h * h {
                        f += (-r2 / (2.0 * h * h)).exp() / (2.0 * std::f64::consts::PI * h * h);
                    }
                }
                fit.background_rate_per_day * f / (n - 1) as f64
            }
        };
        for j in 0..n {
            if inc.t()[j] >= inc.t()[i] {
                continue;
            }
            let dt = (inc.t()[i] - inc.t()[j]) as f64 / DAY;
            match fit.kind {
                SeppKind::Grid => {
                    if grid.active_cell_of(inc.x()[j], inc.y()[j]).unwrap() == c {
                        lam += p.theta * p.omega_per_day * (-p.omega_per_day * dt).exp();
                    }
                }
                SeppKind::SpaceTime => {
                    let r2 = (inc.x()[i] - inc.x()[j]).powi(2) + (inc.y()[i] - inc.y()[j]).powi(2);
                    if dt <= o.time_cutoff_days && r2 <= o.space_cutoff_m.powi(2) {
                        let s2 = p.sigma_m * p.sigma_m;
                        let ft = 1.0 - (-p.omega_per_day * o.time_cutoff_days).exp();
                        let fs = 1.0 - (-o.space_cutoff_m.powi(2) / (2.0 * s2)).exp();
                        lam += p.theta * p.omega_per_day * (-p.omega_per_day * dt).exp() / ft
                            * (-r2 / (2.0 * s2)).exp()
                            / (2.0 * std::f64::consts::PI * s2 * fs);
                    }
                }
            }
        }
        ll += lam.ln();
    }
    ll -= fit.background_rate_per_day * span;
    for j in 0..n {
        let rest = (end - inc.t()[j]) as f64 / DAY;
        ll -= match fit.kind {
            SeppKind::Grid => p.theta * (1.0 - (-p.omega_per_day * rest).exp()),
            SeppKind::SpaceTime => {
                let tc = o.time_cutoff_days;
                p.theta * (1.0 - (-p.omega_per_day * rest.min(tc)).exp())
                    / (1.0 - (-p.omega_per_day * tc).exp())
            }
        };
    }
    ll
}

#[test]
fn loglik_matches_brute_force_for_both_kinds() {
    let (inc, grid) = simulated(0.4, 60.0, 1.0, 200.0, 5);
    let inc = inc.take(&(0..inc.len().min(400)).collect::<Vec<_>>());
    for kind in [SeppKind::SpaceTime, SeppKind::Grid] {
        let mut o = SeppOptions::new(kind);
        o.time_cutoff_days = 30.0;
        o.space_cutoff_m = 300.0;
        o.max_iter = 5;
        let f = fit(&inc, grid.clone(), &o).unwrap();
        let b = brute_loglik(&inc, &grid, &f);
        assert!(
            (f.loglik - b).abs() < 1e-9 * b.abs(),
            "{kind:?}: {} vs brute force {b}",
            f.loglik
        );
    }
    // KDE background
    let mut o = SeppOptions::new(SeppKind::SpaceTime);
    o.background = BackgroundModel::Kde { bandwidth_m: 700.0 };
    o.max_iter = 5;
    let f = fit(&inc, grid.clone(), &o).unwrap();
    let b = brute_loglik(&inc, &grid, &f);
    assert!(
        (f.loglik - b).abs() < 1e-9 * b.abs(),
        "kde: {} vs {b}",
        f.loglik
    );
}

#[test]
fn em_loglik_never_decreases() {
    let (inc, grid) = simulated(0.3, 50.0, 3.0, 300.0, 9);
    let kde = |mut o: SeppOptions| {
        o.background = BackgroundModel::Kde { bandwidth_m: 400.0 };
        o
    };
    for (kind, o) in [
        (SeppKind::SpaceTime, SeppOptions::new(SeppKind::SpaceTime)),
        (SeppKind::Grid, SeppOptions::new(SeppKind::Grid)),
        (
            SeppKind::SpaceTime,
            kde(SeppOptions::new(SeppKind::SpaceTime)),
        ),
    ] {
        let mut o = o;
        o.max_iter = 40;
        o.tol = 0.0;
        o.param_tol = 0.0;
        o.init = Some(SeppParams {
            theta: 0.9,
            omega_per_day: 3.0,
            sigma_m: 200.0,
        });
        let f = fit(&inc, grid.clone(), &o).unwrap();
        assert_eq!(f.loglik_path.len(), 41);
        for w in f.loglik_path.windows(2) {
            assert!(
                w[1] >= w[0] - 1e-10 * w[0].abs(),
                "{kind:?}: {} -> {}",
                w[0],
                w[1]
            );
        }
        assert!(f.loglik_path[40] > f.loglik_path[0]);
        assert!(
            !f.converged && f.reason.contains("max_iter"),
            "{}",
            f.reason
        );
    }
}

#[test]
fn space_time_recovers_parameters() {
    // ~20k events over 2000 days on 10 km × 10 km; more seeds run in Python.
    let (inc, grid) = simulated(0.3, 50.0, 7.0, 2000.0, 2024);
    assert!(inc.len() > 19_000 && inc.len() < 21_000, "{}", inc.len());
    let f = fit(&inc, grid, &SeppOptions::new(SeppKind::SpaceTime)).unwrap();
    assert!(f.converged, "{}", f.reason);
    let p = f.params;
    assert!((p.theta / 0.3 - 1.0).abs() < 0.1, "theta {}", p.theta);
    assert!(
        (p.omega_per_day * 7.0 - 1.0).abs() < 0.1,
        "omega {}",
        p.omega_per_day
    );
    assert!((p.sigma_m / 50.0 - 1.0).abs() < 0.15, "sigma {}", p.sigma_m);
}

#[test]
fn grid_recovers_its_own_simulation() {
    // Offspring on their parent (σ = 0): exactly the grid ETAS model.
    let (inc, grid) = simulated(0.3, 0.0, 7.0, 2000.0, 77);
    let f = fit(&inc, grid, &SeppOptions::new(SeppKind::Grid)).unwrap();
    assert!(f.converged, "{}", f.reason);
    let p = f.params;
    assert!((p.theta / 0.3 - 1.0).abs() < 0.1, "theta {}", p.theta);
    assert!(
        (p.omega_per_day * 7.0 - 1.0).abs() < 0.1,
        "omega {}",
        p.omega_per_day
    );
    assert!(p.sigma_m.is_nan());
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let (inc, grid) = simulated(0.3, 50.0, 3.0, 300.0, 3);
    for kind in [SeppKind::SpaceTime, SeppKind::Grid] {
        let run = |threads| {
            let mut o = SeppOptions::new(kind);
            o.max_iter = 20;
            o.n_threads = Some(threads);
            let f = fit(&inc, grid.clone(), &o).unwrap();
            let s = f.predict(inc.t()[inc.len() - 1], 7 * 86_400).unwrap();
            (f.params, f.loglik.to_bits(), f.mu_per_day, s.values)
        };
        let a = run(1);
        let b = run(3);
        assert_eq!(a.0.theta.to_bits(), b.0.theta.to_bits());
        assert_eq!(a.0.omega_per_day.to_bits(), b.0.omega_per_day.to_bits());
        assert_eq!(a.1, b.1);
        assert_eq!(a.2, b.2);
        assert_eq!(a.3, b.3);
    }
}

#[test]
fn no_triggering_gives_theta_near_zero() {
    let (inc, grid) = simulated(0.0, 50.0, 5.0, 400.0, 1);
    for kind in [SeppKind::SpaceTime, SeppKind::Grid] {
        let mut o = SeppOptions::new(kind);
        o.max_iter = 500;
        let f = fit(&inc, grid.clone(), &o).unwrap();
        assert!(f.params.theta < 0.03, "{kind:?} theta {}", f.params.theta);
        assert!(f.loglik.is_finite());
    }
}

#[test]
fn one_cell_duplicates_and_small_data_fit_sensibly() {
    let grid = Arc::new(Grid::from_extent(0.0, 0.0, 100.0, 5, 5).unwrap());
    // ~300 events in one cell, Poisson in time and uniform in the cell: background explains them.
    let cell = grid.cell_of(250.0, 250.0).unwrap();
    let mut rates = vec![0.0; 25];
    rates[cell] = 3.0;
    let bg = Background::Cells {
        grid: grid.clone(),
        rate_per_day: rates,
    };
    let none = SimulationParams {
        theta: 0.0,
        omega_per_day: 1.0,
        sigma_m: 0.0,
        time_cutoff_days: None,
        space_cutoff_m: None,
    };
    let sim = simulate(&none, &bg, 100.0, 42, 100_000).unwrap();
    let inc = to_incidents(&sim, 500.0);
    let (x, y, t) = (inc.x().to_vec(), inc.y().to_vec(), inc.t().to_vec());
    let n = inc.len();
    for kind in [SeppKind::SpaceTime, SeppKind::Grid] {
        let mut o = SeppOptions::new(kind);
        o.max_iter = 1000;
        let f = fit(&inc, grid.clone(), &o).unwrap();
        // θ is weakly identified from ~300 events in one cell (the grid model cannot use
        // space): its MLE sits on or near the boundary 0 with a standard error near 0.1.
        let limit = if kind == SeppKind::Grid { 0.25 } else { 0.1 };
        assert!(f.params.theta < limit, "{kind:?} {:?}", f.params);
        let nz: Vec<usize> = (0..25).filter(|&c| f.mu_per_day[c] > 0.0).collect();
        assert_eq!(nz, vec![cell]);
        // the background rate is about n / span
        let span = (t[n - 1] - t[0]) as f64 / DAY;
        assert!((f.mu_per_day[cell] * span / n as f64 - 1.0).abs() < 0.1 + f.params.theta);
        let s = f.predict(t[n - 1], 86_400).unwrap();
        assert!(s.values.iter().all(|v| v.is_finite() && *v >= 0.0));
    }
    // Every event duplicated at the identical time and place: ties cannot trigger, so ω stays
    // finite and θ near zero.
    let dup = |v: &Vec<f64>| v.iter().flat_map(|&a| [a, a]).collect::<Vec<_>>();
    let td: Vec<i64> = t.iter().flat_map(|&a| [a, a]).collect();
    let inc2 = Incidents::new(dup(&x), dup(&y), td).unwrap();
    for kind in [SeppKind::SpaceTime, SeppKind::Grid] {
        let mut o = SeppOptions::new(kind);
        o.max_iter = 1000;
        let f = fit(&inc2, grid.clone(), &o).unwrap();
        assert!(f.params.omega_per_day < OMEGA_MAX_PER_DAY, "{:?}", f.params);
        let limit = if kind == SeppKind::Grid { 0.25 } else { 0.1 };
        assert!(f.params.theta < limit, "{kind:?} {:?}", f.params);
        assert!(f.loglik.is_finite());
    }
    // 1,000 events from the model fit without trouble.
    let (inc3, g3) = simulated(0.3, 50.0, 1.4, 500.0, 8);
    assert!(inc3.len() > 800 && inc3.len() < 1300, "{}", inc3.len());
    let f = fit(&inc3, g3, &SeppOptions::new(SeppKind::SpaceTime)).unwrap();
    assert!(
        f.params.theta > 0.1 && f.params.theta < 0.6,
        "{:?}",
        f.params
    );
}

#[test]
fn prediction_integrates_the_kernel() {
    // One event with θ = 0.5 and background 0: the predicted total over a long horizon on a
    // large grid is θ times the time mass (1 − e^{−ωH}) / F_t.
    let grid = Arc::new(Grid::from_extent(-2000.0, -2000.0, 100.0, 40, 40).unwrap());
    let mut o = SeppOptions::new(SeppKind::SpaceTime);
    o.time_cutoff_days = 30.0;
    let p = SeppParams {
        theta: 0.5,
        omega_per_day: 0.2,
        sigma_m: 80.0,
    };
    let f = SeppFit {
        kind: SeppKind::SpaceTime,
        params: p,
        mu_per_day: vec![0.0; grid.n_cells()],
        background_rate_per_day: 0.0,
        loglik: 0.0,
        loglik_path: vec![],
        n_iter: 0,
        converged: true,
        reason: String::new(),
        n_params: 3,
        aic: 0.0,
        triggered_share: 0.0,
        n_pairs: 0,
        window: (0, 86_400),
        options: o,
        grid: grid.clone(),
        x: vec![10.0],
        y: vec![-30.0],
        t: vec![0],
        cell: vec![grid.cell_of(10.0, -30.0).unwrap() as u32],
    };
    let h = 5.0;
    let s = f.predict(86_400, (h * DAY) as i64).unwrap();
    let ft = 1.0 - (-0.2f64 * 30.0).exp();
    let expected = 0.5 * ((-0.2f64).exp() - (-0.2 * 6.0f64).exp()) / ft;
    assert!(
        (s.values.sum() / expected - 1.0).abs() < 1e-9,
        "{} vs {expected}",
        s.values.sum()
    );
    // the cell holding the event gets the most
    let top = s.top(1)[0].0;
    assert_eq!(top, grid.cell_of(10.0, -30.0).unwrap());
    // after the cut-off nothing is owed
    let s = f.predict(31 * 86_400, 86_400).unwrap();
    assert_eq!(s.values.sum(), 0.0);
}

#[test]
fn bad_input_is_named() {
    let grid = Arc::new(Grid::from_extent(0.0, 0.0, 100.0, 5, 5).unwrap());
    let inc = |n: usize, same_t: bool| {
        Incidents::new(
            (0..n).map(|i| 50.0 + i as f64).collect(),
            vec![50.0; n],
            (0..n as i64)
                .map(|i| if same_t { 100 } else { 100 + i * 3600 })
                .collect(),
        )
        .unwrap()
    };
    let st = SeppOptions::new(SeppKind::SpaceTime);
    let e = fit(&inc(3, false), grid.clone(), &st).unwrap_err();
    assert!(e.to_string().contains("fewer than the 4 parameters"), "{e}");
    let e = fit(&inc(20, true), grid.clone(), &st).unwrap_err();
    assert!(e.to_string().contains("zero-length time span"), "{e}");
    for v in [-1.0, 0.0, f64::NAN, f64::INFINITY] {
        let mut o = st.clone();
        o.time_cutoff_days = v;
        let e = fit(&inc(20, false), grid.clone(), &o).unwrap_err();
        assert!(e.to_string().contains("time_cutoff_days"), "{e}");
        let mut o = st.clone();
        o.space_cutoff_m = v;
        let e = fit(&inc(20, false), grid.clone(), &o).unwrap_err();
        assert!(e.to_string().contains("space_cutoff_m"), "{e}");
    }
    let mut o = st.clone();
    o.max_iter = 0;
    assert!(fit(&inc(20, false), grid.clone(), &o).is_err());
    let outside = Incidents::new(
        vec![50.0, 50.0, 50.0, 50.0, 900.0],
        vec![50.0; 5],
        vec![1, 2, 3, 4, 5],
    )
    .unwrap();
    let e = fit(&outside, grid.clone(), &st).unwrap_err();
    assert!(e.to_string().contains("row 4"), "{e}");
    let f = fit(&inc(20, false), grid.clone(), &st).unwrap();
    for h in [0, -5] {
        let e = f.predict(0, h).unwrap_err();
        assert!(e.to_string().contains("horizon"), "{e}");
    }
    assert!(SeppKind::parse("kde").is_err());
    let _ = Region::from_bounds(0.0, 0.0, 1.0, 1.0);
}
