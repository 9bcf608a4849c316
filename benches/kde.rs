//! KDE benches: exact and binned kernel sums (`cargo bench --bench kde`).
//!
//! Sizes: binned, 1M points (half clustered, half uniform) in a 10 km square onto 1024×1024
//! cells, bandwidth 200 m; exact, 20k points onto 256×256 cells.

use criterion::{criterion_group, criterion_main, Criterion};
use placewise::models::{kde_grid, KdeMode, Kernel};
use placewise::rng::Rng;
use placewise::space::Grid;

fn points(n: usize) -> (Vec<f64>, Vec<f64>) {
    // uniforms from the crate's generator; Box–Muller for the clusters
    let mut r = Rng::new(42);
    let mut u = move || r.next_f64();
    let (mut x, mut y) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        if i % 2 == 0 {
            let c = (i / 2 % 40) as f64;
            let (cx, cy) = (1000.0 + 200.0 * c, 9000.0 - 190.0 * c);
            let (a, b) = (u().max(1e-300), u());
            let r = (-2.0 * a.ln()).sqrt() * 300.0;
            x.push((cx + r * (std::f64::consts::TAU * b).cos()).clamp(0.0, 9999.9));
            y.push((cy + r * (std::f64::consts::TAU * b).sin()).clamp(0.0, 9999.9));
        } else {
            x.push(10_000.0 * u());
            y.push(10_000.0 * u());
        }
    }
    (x, y)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("kde");
    g.sample_size(10);
    let (x, y) = points(1_000_000);
    let w = vec![1.0; x.len()];
    let grid = Grid::from_extent(0.0, 0.0, 10_000.0 / 1024.0, 1024, 1024).unwrap();
    for order in [2, 4] {
        g.bench_function(format!("binned_1M_1024sq_order{order}"), |b| {
            b.iter(|| {
                kde_grid(
                    &grid,
                    &x,
                    &y,
                    &w,
                    200.0,
                    Kernel::Gaussian,
                    KdeMode::Binned,
                    6.0,
                    Some(order),
                )
                .unwrap()
            })
        });
    }
    let (xs, ys) = (&x[..20_000], &y[..20_000]);
    let ws = &w[..20_000];
    let small = Grid::from_extent(0.0, 0.0, 10_000.0 / 256.0, 256, 256).unwrap();
    g.bench_function("exact_20k_256sq_cutoff6", |b| {
        b.iter(|| {
            kde_grid(
                &small,
                xs,
                ys,
                ws,
                200.0,
                Kernel::Gaussian,
                KdeMode::Exact,
                6.0,
                None,
            )
            .unwrap()
        })
    });
    g.bench_function("exact_20k_256sq_quartic", |b| {
        b.iter(|| {
            kde_grid(
                &small,
                xs,
                ys,
                ws,
                200.0,
                Kernel::Quartic,
                KdeMode::Exact,
                6.0,
                None,
            )
            .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
