//! Gi* with 999 conditional permutations on a 1024 × 1024 grid (target: under 1 s on 2 cores),
//! and on 256 × 256 (the size of the esda comparison in `bench/stats.py`).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use placewise::rng::Rng;
use placewise::space::Grid;
use placewise::stats::{gi_star, GiStarParams, GiWeights};

/// Counts per cell: a uniform background plus clustered hot spots (seeded).
fn counts(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::stream(seed, 0);
    let mut v = vec![0.0; n * n];
    let events = n * n * 2;
    let centres: Vec<(usize, usize)> = (0..200)
        .map(|_| (rng.below(n as u64) as usize, rng.below(n as u64) as usize))
        .collect();
    for e in 0..events {
        let (r, c) = if e % 2 == 0 {
            (rng.below(n as u64) as usize, rng.below(n as u64) as usize)
        } else {
            let (cr, cc) = centres[e % centres.len()];
            let dr = rng.below(9) as isize - 4;
            let dc = rng.below(9) as isize - 4;
            (
                (cr as isize + dr).clamp(0, n as isize - 1) as usize,
                (cc as isize + dc).clamp(0, n as isize - 1) as usize,
            )
        };
        v[r * n + c] += 1.0;
    }
    v
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("gi_star");
    g.sample_size(10);
    for (n, weights) in [
        (256, GiWeights::Binary),
        (1024, GiWeights::Binary),
        (1024, GiWeights::InverseDistance),
    ] {
        let grid = Grid::from_extent(0.0, 0.0, 100.0, n, n).unwrap();
        let v = counts(n, 1);
        let mut p = GiStarParams::new(150.0);
        p.weights = weights;
        p.permutations = Some(999);
        g.bench_function(format!("{n}x{n}_{}_999perm", weights.label()), |b| {
            b.iter(|| black_box(gi_star(&v, &grid, &p).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
