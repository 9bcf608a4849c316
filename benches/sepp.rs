//! SEPP: simulation by branching, and EM fits of the space–time and grid models on ~20k
//! simulated events (θ = 0.3, 1/ω = 7 days, σ = 50 m, 10 km × 10 km, 2000 days), 10
//! iterations each (tolerances 0, so every run does the same work).

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use placewise::data::Incidents;
use placewise::models::sepp::{fit, simulate, Background, SeppKind, SeppOptions, SimulationParams};
use placewise::space::Grid;

fn setup() -> (Arc<Grid>, Background, SimulationParams) {
    let grid = Arc::new(Grid::from_extent(0.0, 0.0, 500.0, 20, 20).unwrap());
    let rates: Vec<f64> = (0..grid.n_cells())
        .map(|id| {
            let (x, y) = grid.centre(id);
            let d2 = (x - 3000.0).powi(2) + (y - 3000.0).powi(2);
            0.2 + 3.0 * (-d2 / (2.0 * 800.0f64.powi(2))).exp()
        })
        .collect();
    let s: f64 = rates.iter().sum();
    let bg = Background::Cells {
        grid: grid.clone(),
        rate_per_day: rates.iter().map(|r| r * 7.0 / s).collect(),
    };
    let p = SimulationParams {
        theta: 0.3,
        omega_per_day: 1.0 / 7.0,
        sigma_m: 50.0,
        time_cutoff_days: None,
        space_cutoff_m: None,
    };
    (grid, bg, p)
}

fn bench(c: &mut Criterion) {
    let (grid, bg, p) = setup();
    let mut g = c.benchmark_group("sepp");
    g.sample_size(10);
    g.bench_function("simulate_20k", |b| {
        b.iter(|| simulate(&p, &bg, 2000.0, 1, 10_000_000).unwrap())
    });
    let sim = simulate(&p, &bg, 2000.0, 1, 10_000_000).unwrap();
    let keep: Vec<usize> = (0..sim.len())
        .filter(|&i| grid.active_cell_of(sim.x[i], sim.y[i]).is_some())
        .collect();
    let inc = Incidents::new(
        keep.iter().map(|&i| sim.x[i]).collect(),
        keep.iter().map(|&i| sim.y[i]).collect(),
        keep.iter()
            .map(|&i| (sim.t_days[i] * 86_400.0).round() as i64)
            .collect(),
    )
    .unwrap();
    for kind in [SeppKind::SpaceTime, SeppKind::Grid] {
        let mut o = SeppOptions::new(kind);
        o.max_iter = 10;
        o.tol = 0.0;
        o.param_tol = 0.0;
        g.bench_function(format!("fit_{}_20k_10iter", kind.label()), |b| {
            b.iter(|| fit(&inc, grid.clone(), &o).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
