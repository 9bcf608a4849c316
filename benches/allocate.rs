//! Criterion benches of the allocation strategies on a city-sized synthetic grid: 27 000 active
//! cells (about Chicago at 150 m), five residentially segregated groups, 200 units.
//! The real-data timing (Chicago's own surface and population) is in `bench/allocate.py`.

use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use placewise::allocate::{allocate, Budget, FairParams, GroupCounts, Strategy};

const N: usize = 27_000;
const G: usize = 5;

/// The bench's input data come from a fixed SplitMix64 sequence (Steele, Lea & Flood 2014),
/// written here rather than drawn from `placewise::rng::Rng`, so that the instance stays the
/// one 0.1 measured (its LP, and the number of column-generation rounds, depend on the exact
/// numbers): a regression check then compares code, not instances.
struct Data(u64);

impl Data {
    fn next_open01(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (((z ^ (z >> 31)) >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }
}

fn instance() -> (Vec<f64>, GroupCounts) {
    let mut rng = Data(1);
    let side = (N as f64).sqrt() as usize + 1;
    // Risk: a few smooth peaks plus noise; skewed like a hotspot surface.
    let peaks: Vec<(f64, f64)> = (0..12)
        .map(|_| {
            (
                rng.next_open01() * side as f64,
                rng.next_open01() * side as f64,
            )
        })
        .collect();
    let mut risk = Vec::with_capacity(N);
    let mut counts = Array2::<f64>::zeros((N, G));
    for c in 0..N {
        let (x, y) = ((c % side) as f64, (c / side) as f64);
        let r: f64 = peaks
            .iter()
            .map(|(px, py)| (-((x - px).powi(2) + (y - py).powi(2)) / 50.0).exp())
            .sum();
        risk.push(r + 0.01 * rng.next_open01());
        // Groups concentrated in bands of the city (segregation), some empty cells.
        let band = ((x / side as f64) * G as f64) as usize % G;
        if rng.next_open01() < 0.85 {
            for g in 0..G {
                let base = if g == band { 60.0 } else { 6.0 };
                counts[[c, g]] = (base * rng.next_open01()).floor();
            }
        }
    }
    let names = (0..G).map(|g| format!("G{g}")).collect();
    (risk, GroupCounts::new(counts, names).unwrap())
}

fn bench(c: &mut Criterion) {
    let (risk, pop) = instance();
    let budget = Budget::new(200.0);
    let mut group = c.benchmark_group("allocate_27k_cells_200_units");
    group.sample_size(10);
    for (name, strat) in [
        ("top_k", Strategy::TopK),
        ("proportional", Strategy::Proportional),
        (
            "randomized",
            Strategy::Randomized {
                epsilon: 0.1,
                seed: 0,
            },
        ),
        ("fair_tau0.8_average", Strategy::Fair(FairParams::default())),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| allocate(&risk, &budget, &strat, Some(&pop)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
