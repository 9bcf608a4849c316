//! Grid construction (exact overlay of the region on every cell) and point assignment.

use criterion::{criterion_group, criterion_main, Criterion};
use geo::{Coord, LineString, Polygon};
use placewise::space::{Grid, Region, DEFAULT_MAX_CELLS};

/// A wiggly 20 km × 20 km polygon with 4,000 vertices, like a city boundary.
fn city() -> Region {
    let n = 4000;
    let ring: Vec<Coord<f64>> = (0..n)
        .map(|i| {
            let a = i as f64 / n as f64 * std::f64::consts::TAU;
            let r = 10_000.0 + 600.0 * (7.0 * a).sin() + 150.0 * (53.0 * a).cos();
            Coord {
                x: 10_000.0 + r * a.cos(),
                y: 10_000.0 + r * a.sin(),
            }
        })
        .collect();
    Region::from_polygons(vec![Polygon::new(LineString::from(ring), vec![])]).unwrap()
}

fn bench(c: &mut Criterion) {
    let region = city();
    c.bench_function("grid_new_150m_20km", |b| {
        b.iter(|| Grid::new(&region, 150.0, DEFAULT_MAX_CELLS).unwrap())
    });
    let grid = Grid::new(&region, 150.0, DEFAULT_MAX_CELLS).unwrap();
    let n = 1_000_000;
    let xs: Vec<f64> = (0..n)
        .map(|i| (i as f64 * 0.618_033_988_7).fract() * 20_000.0)
        .collect();
    let ys: Vec<f64> = (0..n)
        .map(|i| (i as f64 * 0.414_213_562_4).fract() * 20_000.0)
        .collect();
    c.bench_function("assign_1m_points", |b| {
        b.iter(|| grid.assign(&xs, &ys).unwrap())
    });
    c.bench_function("region_contains_100k", |b| {
        b.iter(|| {
            xs[..100_000]
                .iter()
                .zip(&ys[..100_000])
                .filter(|(&x, &y)| region.contains(x, y))
                .count()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
