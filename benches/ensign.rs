//! Audit building blocks: the Ensign urn (200 runs × 1000 draws), the disparity bootstrap
//! (27,000 cells × 5 groups × 1000 resamples, the size of Chicago's 150 m grid) and the
//! concentration baseline (999 random allocations).

use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use placewise::audit::{
    concentration, disparity, ensign_urn, ConcentrationParams, DisparityInput, DisparityParams,
    EnsignParams,
};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("audit");
    g.sample_size(10);
    let oakland = EnsignParams {
        runs: 200,
        draws: 1000,
        ..Default::default()
    };
    g.bench_function("ensign_urn_200x1000", |b| {
        b.iter(|| ensign_urn(&oakland).unwrap())
    });
    let corrected = EnsignParams {
        correction: true,
        ..oakland.clone()
    };
    g.bench_function("ensign_urn_200x1000_corrected", |b| {
        b.iter(|| ensign_urn(&corrected).unwrap())
    });

    let n = 27_470;
    let pop = Array2::from_shape_fn((n, 5), |(c, k)| ((c * 7919 + k * 104_729) % 97) as f64);
    let dose: Vec<f64> = (0..n)
        .map(|c| if c % 687 == 0 { 1.0 } else { 0.0 })
        .collect();
    let groups: Vec<String> = (0..5).map(|k| format!("g{k}")).collect();
    let input = DisparityInput {
        dose: &dose,
        population: pop.view(),
        groups: &groups,
        incidents: None,
        need: None,
    };
    let params = DisparityParams {
        bootstrap: 1000,
        ..Default::default()
    };
    g.bench_function("disparity_27k_cells_5_groups_1000_boot", |b| {
        b.iter(|| disparity(&input, &params).unwrap())
    });
    let active = vec![true; n];
    let areas: Vec<i64> = (0..n).map(|c| (c / 357) as i64).collect();
    g.bench_function("concentration_27k_cells_77_areas_999_sims", |b| {
        b.iter(|| {
            concentration(
                &dose,
                &active,
                Some(&areas),
                &ConcentrationParams::default(),
            )
            .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
