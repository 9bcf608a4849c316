//! Knox near-repeat table on 100k events with 999 permutations (target: under 10 s on 2
//! cores). Events: half uniform over a 10 km square, half in 200 Gaussian clusters (sd 150 m);
//! times uniform over two years; bands 0/100/200/300/400 m × 0/7/14/21/28 days.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use placewise::data::Incidents;
use placewise::rng::Rng;
use placewise::stats::{knox, Band, KnoxParams};

pub fn events(n: usize, seed: u64) -> Incidents {
    let mut rng = Rng::stream(seed, 0);
    let mut u = move || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let centres: Vec<(f64, f64)> = (0..200).map(|_| (u() * 10_000.0, u() * 10_000.0)).collect();
    let (mut x, mut y, mut t) = (vec![], vec![], vec![]);
    for i in 0..n {
        if i % 2 == 0 {
            x.push(u() * 10_000.0);
            y.push(u() * 10_000.0);
        } else {
            let (cx, cy) = centres[i % 200];
            // Box–Muller
            let r = (-2.0 * u().max(1e-300).ln()).sqrt() * 150.0;
            let a = std::f64::consts::TAU * u();
            x.push(cx + r * a.cos());
            y.push(cy + r * a.sin());
        }
        t.push((u() * 730.0 * 86_400.0) as i64);
    }
    Incidents::new(x, y, t).unwrap()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("knox");
    g.sample_size(10);
    for n in [10_000usize, 100_000] {
        let inc = events(n, 1);
        let mut p = KnoxParams::new(
            Band::from_edges(&[0.0, 100.0, 200.0, 300.0, 400.0]),
            vec![
                Band::new(0.0, 7.0),
                Band::new(7.0, 14.0),
                Band::new(14.0, 21.0),
                Band::new(21.0, 28.0),
            ],
        );
        p.permutations = 999;
        g.bench_function(format!("{n}_events_999perm"), |b| {
            b.iter(|| black_box(knox(&inc, &p).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
