//! Knox near-repeat test: the Near Repeat Calculator's space × time table with Monte Carlo
//! p-values.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::data::Incidents;
use crate::error::{Error, Result};
use crate::montecarlo::{simulate_with, Alternative, Exceedances};
use crate::rng::Rng;
use crate::stats::knox_sweep::{space_counts, sweep_counts, Cells, SpaceLut, SweepBuf, TimeLut};

/// A distance (m) or time (days) band `(lo, hi]`. The first band is closed at 0 when
/// `lo == 0`; `(0, 0)` as the first band is the *same location* (same time) band `{0}`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Band {
    /// Lower edge (exclusive unless this is the first band and `lo == 0`).
    pub lo: f64,
    /// Upper edge (inclusive).
    pub hi: f64,
}

impl Band {
    /// `(lo, hi]`.
    pub fn new(lo: f64, hi: f64) -> Self {
        Band { lo, hi }
    }
    /// Contiguous bands from edges `[e0, e1, …]`: `[e0, e1], (e1, e2], …`; when `e0 == 0` a
    /// same-location band `{0}` comes first and the next band is `(0, e1]`.
    pub fn from_edges(edges: &[f64]) -> Vec<Band> {
        let mut out = Vec::new();
        if edges.first() == Some(&0.0) {
            out.push(Band::new(0.0, 0.0));
        }
        for w in edges.windows(2) {
            out.push(Band::new(w[0], w[1]));
        }
        out
    }
}

/// Parameters of [`knox`].
#[derive(Debug, Clone, PartialEq)]
pub struct KnoxParams {
    /// Space bands (m), sorted, non-overlapping.
    pub space_bands_m: Vec<Band>,
    /// Time bands (days), sorted, non-overlapping.
    pub time_bands_days: Vec<Band>,
    /// Monte Carlo permutations of the times.
    pub permutations: usize,
    /// Seed of the permutations.
    pub seed: u64,
    /// Most pairs within the largest space band to hold in memory (4 bytes each) when the
    /// pair-list method is used.
    pub max_pairs: u64,
    /// How each permutation's table is counted (default [`KnoxMethod::Auto`]).
    pub method: KnoxMethod,
}

/// How [`knox`] counts the table of each permutation. Both give identical counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnoxMethod {
    /// The sweep, unless a quarter or more of all pairs fall within the largest time band
    /// (then the pair list, when the pairs close in space fit in `max_pairs`).
    Auto,
    /// Store every pair within the largest space band once; bin each of them per permutation.
    /// Cost per permutation: the pairs close in space; memory: 4 bytes per pair.
    PairList,
    /// Bucket the permuted incidents by spatial cell (width: the largest space band) in time
    /// order, and examine, for each incident, only the incidents of its own and neighbouring
    /// cells within the largest time band. Cost per permutation: about 3× the pairs close in
    /// both space and time, plus `O(N)`; memory `O(N)` per worker.
    Sweep,
}

impl KnoxParams {
    /// 999 permutations, seed 0, at most 250 million close pairs (1 GB).
    pub fn new(space_bands_m: Vec<Band>, time_bands_days: Vec<Band>) -> Self {
        KnoxParams {
            space_bands_m,
            time_bands_days,
            permutations: 999,
            seed: 0,
            max_pairs: 250_000_000,
            method: KnoxMethod::Auto,
        }
    }
}

/// One cell of the Knox table.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KnoxCell {
    /// Index of the space band; `space_bands.len()` is the "beyond the last band" row.
    pub space: usize,
    /// Index of the time band; `time_bands.len()` is the "beyond" column.
    pub time: usize,
    /// Pairs of incidents observed in this cell.
    pub observed: u64,
    /// Mean count over the permutations (the Near Repeat Calculator's expected value).
    pub expected: f64,
    /// Exact expectation under random permutation of times: `n_space × n_time / n_pairs`.
    pub expected_exact: f64,
    /// `observed / expected` (NaN when `expected` is 0).
    pub ratio: f64,
    /// `(1 + #{sim ≥ observed}) / (1 + R)`: one-sided, for an excess of pairs.
    pub p: f64,
}

/// Result of [`knox`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Knox {
    /// Table cells, row-major: `(space_bands.len() + 1) × (time_bands.len() + 1)`.
    pub cells: Vec<KnoxCell>,
    /// Space bands (m).
    pub space_bands_m: Vec<Band>,
    /// Time bands (days).
    pub time_bands_days: Vec<Band>,
    /// Incidents.
    pub n_events: usize,
    /// All pairs `N(N−1)/2`.
    pub n_pairs: u64,
    /// Pairs within the largest space band.
    pub close_pairs: u64,
    /// Permutations run.
    pub permutations: usize,
    /// Seed used.
    pub seed: u64,
}

const MAX_BANDS: usize = 30;

/// `Auto` uses the sweep when fewer than this share of all pairs fall within the largest time
/// band (the sweep examines, per permutation, about 3 × the pairs close in space times that
/// share; the pair list visits every pair close in space, at a random memory access each).
const SWEEP_SHARE: f64 = 0.25;

/// Interval lookups for the sweep: every band edge (squared metres; seconds) is a boundary.
fn interval_luts(s_lo: &[f64], s_hi: &[f64], t_lo: &[i64], t_hi: &[i64]) -> (SpaceLut, TimeLut) {
    let mut sb: Vec<f64> = s_lo.iter().chain(s_hi).copied().collect();
    sb.sort_by(f64::total_cmp);
    sb.dedup();
    let mut tb: Vec<i64> = t_lo.iter().chain(t_hi).copied().collect();
    tb.sort_unstable();
    tb.dedup();
    (SpaceLut::new(&sb), TimeLut::new(&tb))
}

/// Pairs within the largest space band, per incident `i`: `(j | band << J_BITS)` for `j > i`
/// (stored only while the running total is within `limit`) and the count per band (listed +
/// gap), with a uniform grid index (cells of `d_max`, 3 × 3 lookups).
fn pair_list(
    xs: &[f64],
    ys: &[f64],
    d_max: f64,
    s_lo: &[f64],
    s_hi: &[f64],
    limit: u64,
) -> Vec<(Vec<u32>, Vec<u64>)> {
    let (n, ns) = (xs.len(), s_hi.len());
    let h = if d_max > 0.0 { d_max } else { 1.0 };
    let key = |i: usize| ((xs[i] / h).floor() as i64, (ys[i] / h).floor() as i64);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (key(i), i));
    let mut buckets: HashMap<(i64, i64), (usize, usize)> = HashMap::new();
    let mut s = 0;
    while s < n {
        let k = key(order[s]);
        let mut e = s + 1;
        while e < n && key(order[e]) == k {
            e += 1;
        }
        buckets.insert(k, (s, e));
        s = e;
    }
    let total = AtomicU64::new(0);
    (0..n)
        .into_par_iter()
        .with_min_len(256)
        .map(|i| {
            let mut per_band = vec![0u64; ns + 1];
            // store pairs only while under the memory limit; the counts are always complete
            let store = total.load(Ordering::Relaxed) <= limit;
            let (kx, ky) = key(i);
            let mut out = Vec::new();
            let reach = if d_max > 0.0 { 1 } else { 0 };
            for dx in -reach..=reach {
                for dy in -reach..=reach {
                    if let Some(&(a, b)) = buckets.get(&(kx + dx, ky + dy)) {
                        for &j in &order[a..b] {
                            if j <= i {
                                continue;
                            }
                            let d2 = (xs[i] - xs[j]).powi(2) + (ys[i] - ys[j]).powi(2);
                            let sb = bin(d2, s_lo, s_hi, 0.0);
                            if sb <= ns {
                                per_band[sb] += 1;
                                if store {
                                    out.push(((sb as u32) << J_BITS) | j as u32);
                                }
                            }
                        }
                    }
                }
            }
            out.sort_unstable_by_key(|&p| p & J_MASK);
            total.fetch_add(per_band.iter().sum::<u64>(), Ordering::Relaxed);
            (out, per_band)
        })
        .collect()
}

const J_BITS: u32 = 27;
const J_MASK: u32 = (1 << J_BITS) - 1;

fn check_bands(bands: &[Band], name: &str, unit: &str) -> Result<()> {
    if bands.is_empty() {
        return Err(Error::param(name, "needs at least one band"));
    }
    if bands.len() > MAX_BANDS {
        return Err(Error::param(
            name,
            format!("at most {MAX_BANDS} bands, got {}", bands.len()),
        ));
    }
    for (k, b) in bands.iter().enumerate() {
        if !(b.lo.is_finite() && b.hi.is_finite()) || b.lo < 0.0 {
            return Err(Error::param(
                name,
                format!(
                    "band {k} ({}, {}) {unit}: edges must be finite and >= 0",
                    b.lo, b.hi
                ),
            ));
        }
        if b.hi < b.lo {
            return Err(Error::param(
                name,
                format!(
                    "band {k} ({}, {}) {unit}: upper edge is below the lower edge",
                    b.lo, b.hi
                ),
            ));
        }
        if b.hi == b.lo && !(k == 0 && b.lo == 0.0) {
            return Err(Error::param(
                name,
                format!(
                    "band {k} ({}, {}) {unit} is empty; only the first band may be (0, 0), the \
                     same-location band",
                    b.lo, b.hi
                ),
            ));
        }
        if k > 0 {
            let prev = bands[k - 1];
            if b.lo < prev.lo {
                return Err(Error::param(
                    name,
                    format!("bands must be sorted: band {k} starts at {} {unit}, before band {} ({} {unit})", b.lo, k - 1, prev.lo),
                ));
            }
            if b.lo < prev.hi {
                return Err(Error::param(
                    name,
                    format!(
                        "bands overlap: band {k} ({}, {}] starts before band {} ends ({} {unit})",
                        b.lo,
                        b.hi,
                        k - 1,
                        prev.hi
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Band index of `v` among `(lo, hi]` edges (first band closed at 0 when lo == 0);
/// `n` (the band count) for "gap", `n + 1` for beyond the last band.
#[inline]
fn bin<T: PartialOrd + Copy>(v: T, lo: &[T], hi: &[T], zero: T) -> usize {
    let n = lo.len();
    if v > hi[n - 1] {
        return n + 1;
    }
    for k in 0..n {
        if v <= hi[k] && (v > lo[k] || (k == 0 && lo[0] == zero)) {
            return k;
        }
    }
    n
}

/// Pairs `(i, j)`, `i < j`, with `t_j − t_i ≤ e` (seconds; `t` ascending). `e < 0`: 0.
fn pairs_within(t: &[i64], e: i64) -> u64 {
    if e < 0 {
        return 0;
    }
    let mut total = 0u64;
    let mut hi = 0usize;
    for i in 0..t.len() {
        if hi < i + 1 {
            hi = i + 1;
        }
        while hi < t.len() && t[hi] - t[i] <= e {
            hi += 1;
        }
        total += (hi - i - 1) as u64;
    }
    total
}

/// The Knox test for space–time clustering (Knox 1964, "The detection of space-time
/// interactions"), in the tabular form of the Near Repeat Calculator (Ratcliffe 2009;
/// Johnson et al. 2007, "Space–time patterns of risk: a cross national assessment of
/// residential burglary victimization").
///
/// Every pair of incidents falls in one space band (distance between them, metres) and one
/// time band (days between them, `|Δt| / 86 400`); pairs beyond the last band fall in a
/// "beyond" row/column. The null hypothesis (no space–time interaction) is simulated by
/// randomly permuting the times over the locations `R` times (permutation `p` uses the seeded
/// stream `(seed, p)`, so results do not depend on the thread count). For each cell:
/// observed count, expected = mean over the permutations (as the Near Repeat Calculator
/// reports), the exact expectation `n_s m_τ / M`, the Knox ratio observed/expected, and
/// `p = (1 + #{sim ≥ obs}) / (1 + R)`.
///
/// Counting: pairs within the largest space band are counted once per band with a uniform
/// grid index (cells of the largest band's width). For each permutation the table is then
/// counted either by a space–time sweep (incidents bucketed by cell in time order; only the
/// pairs in neighbouring cells within the largest time band are examined, each classified
/// exactly by two table lookups; cost ≈ 3 × the pairs close in both space and time) or from
/// a stored list of the pairs close in space (see [`KnoxMethod`]); both give identical
/// counts. The "beyond" row and column follow from band totals that do not change under
/// permutation (a sorted sweep over the times gives the time-band totals). Incidents'
/// weights and categories are ignored.
///
/// Errors: fewer than 2 incidents, permutations < 1, bands that are empty, unsorted,
/// overlapping or not finite, times beyond ±2^61 s, more than `max_pairs` close pairs with
/// [`KnoxMethod::PairList`].
///
/// # Examples
/// ```
/// use placewise::data::Incidents;
/// use placewise::stats::{knox, Band, KnoxParams};
/// let inc = Incidents::new(vec![0.0, 10.0, 500.0], vec![0.0, 0.0, 0.0], vec![0, 86_400, 86_400 * 30]).unwrap();
/// let params = KnoxParams::new(Band::from_edges(&[0.0, 100.0]), Band::from_edges(&[0.0, 7.0]));
/// let k = knox(&inc, &params).unwrap();
/// // (0, 100] m × (0, 7] days holds the first two incidents
/// let c = k.cells.iter().find(|c| c.space == 1 && c.time == 1).unwrap();
/// assert_eq!(c.observed, 1);
/// ```
pub fn knox(inc: &Incidents, params: &KnoxParams) -> Result<Knox> {
    check_bands(&params.space_bands_m, "space_bands", "m")?;
    check_bands(&params.time_bands_days, "time_bands", "days")?;
    if params.permutations < 1 {
        return Err(Error::param("permutations", "must be at least 1"));
    }
    if params.permutations > crate::stats::gi_star::MAX_PERMUTATIONS {
        return Err(Error::TooLarge {
            param: "permutations".into(),
            what: "permutations".into(),
            requested: params.permutations as u64,
            limit: crate::stats::gi_star::MAX_PERMUTATIONS as u64,
        });
    }
    let n = inc.len();
    if n < 2 {
        return Err(Error::empty(format!(
            "the Knox test needs at least 2 incidents, got {n}"
        )));
    }
    if n > J_MASK as usize {
        return Err(Error::TooLarge {
            param: "incidents".into(),
            what: "incidents for the Knox test".into(),
            requested: n as u64,
            limit: J_MASK as u64,
        });
    }
    let (xs, ys, ts) = (inc.x(), inc.y(), inc.t());
    // differences of times and sums with band edges stay within i64
    const T_LIMIT: i64 = 1 << 61;
    if ts[0] < -T_LIMIT || ts[n - 1] > T_LIMIT {
        return Err(Error::param(
            "incidents",
            format!(
                "times must be within ±2^61 s of 1970 for the Knox test, got {} .. {}",
                ts[0],
                ts[n - 1]
            ),
        ));
    }
    let ns = params.space_bands_m.len();
    let nt = params.time_bands_days.len();
    let s_lo: Vec<f64> = params.space_bands_m.iter().map(|b| b.lo * b.lo).collect();
    let s_hi: Vec<f64> = params.space_bands_m.iter().map(|b| b.hi * b.hi).collect();
    // Δt ≤ hi·86400 ⇔ Δt ≤ floor(hi·86400) for integer seconds
    let secs = |d: f64| (d * 86_400.0).floor() as i64;
    let t_lo: Vec<i64> = params.time_bands_days.iter().map(|b| secs(b.lo)).collect();
    let t_hi: Vec<i64> = params.time_bands_days.iter().map(|b| secs(b.hi)).collect();
    let d_max = params.space_bands_m[ns - 1].hi;

    // Choose the per-permutation method. The sweep's cost follows the pairs close in space
    // *and* time (about 3× them, plus O(N)); the pair list's follows every pair close in
    // space. Under permutation, the share of the pairs close in space that are also close in
    // time is the share of all pairs within the largest time band, known before any spatial
    // work.
    let t_max = t_hi[nt - 1];
    let m_all = (n as u64) * (n as u64 - 1) / 2;
    let within_t_max = pairs_within(ts, t_max);
    let want_list = match params.method {
        KnoxMethod::Sweep => false,
        KnoxMethod::PairList => true,
        KnoxMethod::Auto => (within_t_max as f64) >= SWEEP_SHARE * m_all as f64,
    };
    // the caller's limit, within the process-wide one
    let limit = params.max_pairs.min(crate::limits::get().max_pairs);
    // pairs close in space, per band (listed + gap), and the pair list when it is wanted
    let mut n_space = vec![0u64; ns + 1];
    let mut indptr = vec![0usize];
    let mut pairs: Vec<u32> = Vec::new();
    let (space_lut, time_lut) = interval_luts(&s_lo, &s_hi, &t_lo, &t_hi);
    // class of each interval: listed band, `n` gap, `n + 1` beyond
    let s_class: Vec<usize> = (0..space_lut.inner().intervals())
        .map(|k| match space_lut.inner().representative(k) {
            Some(v) => bin(v, &s_lo, &s_hi, 0.0),
            None => ns + 1,
        })
        .collect();
    let t_class: Vec<usize> = (0..time_lut.inner().intervals())
        .map(|k| match time_lut.inner().representative(k) {
            Some(v) => bin(v, &t_lo, &t_hi, 0),
            None => nt + 1,
        })
        .collect();
    let mut cells = None;
    if want_list {
        for (r, per_band) in pair_list(xs, ys, d_max, &s_lo, &s_hi, limit) {
            pairs.extend_from_slice(&r);
            indptr.push(pairs.len());
            n_space.iter_mut().zip(per_band).for_each(|(a, v)| *a += v);
        }
    } else {
        let c = Cells::new(xs, ys, d_max);
        for (k, v) in space_counts(&c, &space_lut).into_iter().enumerate() {
            if s_class[k] <= ns {
                n_space[s_class[k]] += v;
            }
        }
        cells = Some(c);
    }
    let close_pairs: u64 = n_space.iter().sum();
    // Auto falls back on the sweep (memory O(N)) when the pair list would not fit
    if want_list && close_pairs > limit {
        if params.method == KnoxMethod::PairList {
            return Err(Error::TooLarge {
                param: "max_pairs".into(),
                what: format!("pairs of incidents within {d_max} m (the largest space band)"),
                requested: close_pairs,
                limit,
            });
        }
        (pairs, indptr) = (Vec::new(), Vec::new());
        cells = Some(Cells::new(xs, ys, d_max));
    }

    // --- permutation-invariant totals
    let m_time: Vec<u64> = (0..nt)
        .map(|k| {
            let upper = pairs_within(ts, t_hi[k]);
            let lower = if k == 0 && t_lo[0] == 0 {
                0
            } else {
                pairs_within(ts, t_lo[k])
            };
            upper - lower
        })
        .collect();
    let m_time_beyond = m_all - within_t_max;

    // --- table for one assignment of times
    let rows_t = ns + 1; // listed + gap (internal)
    let cols_t = nt + 2; // listed + gap + beyond
    let finish = |c: &[u64]| -> Vec<u64> {
        // output table: (ns + 1) × (nt + 1), last row/column "beyond"
        let mut out = vec![0u64; (ns + 1) * (nt + 1)];
        for s in 0..ns {
            for k in 0..nt {
                out[s * (nt + 1) + k] = c[s * cols_t + k];
            }
            out[s * (nt + 1) + nt] = c[s * cols_t + nt + 1];
        }
        for k in 0..nt {
            let close: u64 = (0..rows_t).map(|s| c[s * cols_t + k]).sum();
            out[ns * (nt + 1) + k] = m_time[k] - close;
        }
        let close_beyond: u64 = (0..rows_t).map(|s| c[s * cols_t + nt + 1]).sum();
        out[ns * (nt + 1) + nt] = m_time_beyond - close_beyond;
        out
    };
    let by_pairs = |t: &[i64]| -> Vec<u64> {
        let mut c = vec![0u64; rows_t * cols_t];
        for i in 0..n {
            let ti = t[i];
            for &p in &pairs[indptr[i]..indptr[i + 1]] {
                let j = (p & J_MASK) as usize;
                let dt = (ti - t[j]).abs();
                let tb = if dt > t_max {
                    nt + 1
                } else {
                    bin(dt, &t_lo, &t_hi, 0)
                };
                c[(p >> J_BITS) as usize * cols_t + tb] += 1;
            }
        }
        finish(&c)
    };
    let by_sweep = |cells: &Cells, b: &mut SweepBuf| -> Vec<u64> {
        sweep_counts(cells, ts, t_max, &space_lut, &time_lut, b);
        let mut c = vec![0u64; rows_t * cols_t];
        for (si, &s) in s_class.iter().enumerate() {
            if s > ns {
                continue; // beyond the largest space band
            }
            for (ti, &k) in t_class.iter().enumerate() {
                // within t_max: a listed band or a gap
                c[s * cols_t + k] += b.count(si, ti);
            }
        }
        for s in 0..rows_t {
            // close in space, beyond the last time band: the rest of the row
            let within: u64 = c[s * cols_t..s * cols_t + nt + 1].iter().sum();
            c[s * cols_t + nt + 1] = n_space[s] - within;
        }
        finish(&c)
    };
    // a permutation gives incident `i` the time `ts[rank[i]]`, rank = a seeded shuffle of
    // 0..n (the same draws as shuffling the times themselves); `None`: the observed times
    let table = |rng: Option<&mut Rng>, b: &mut Option<SweepBuf>, t: &mut Vec<i64>| -> Vec<u64> {
        match (&cells, b) {
            (Some(cells), b) => {
                let b = b.get_or_insert_with(|| SweepBuf::new(cells));
                b.rank
                    .iter_mut()
                    .enumerate()
                    .for_each(|(i, v)| *v = i as u32);
                if let Some(rng) = rng {
                    rng.shuffle(&mut b.rank);
                }
                by_sweep(cells, b)
            }
            (None, _) => {
                t.clear();
                t.extend_from_slice(ts);
                if let Some(rng) = rng {
                    rng.shuffle(t);
                }
                by_pairs(t)
            }
        }
    };
    let observed = table(None, &mut None, &mut Vec::new());
    let r = params.permutations;
    // permutation `p` draws from stream `(seed, p)` of the one Monte Carlo engine
    let sims: Vec<Vec<u64>> = simulate_with(
        r,
        params.seed,
        || (None, Vec::new()),
        |(b, t), _, rng| table(Some(rng), b, t),
    );
    let n_cells = (ns + 1) * (nt + 1);
    let exceed: Vec<Exceedances> = (0..n_cells)
        .map(|c| Exceedances::count_u64(observed[c], sims.iter().map(|s| s[c])))
        .collect();
    let mut sum = vec![0u64; n_cells];
    for sim in &sims {
        for c in 0..n_cells {
            sum[c] += sim[c];
        }
    }
    let n_space_out = |s: usize| -> u64 {
        if s < ns {
            n_space[s]
        } else {
            m_all - n_space.iter().sum::<u64>()
        }
    };
    let m_time_out = |k: usize| if k < nt { m_time[k] } else { m_time_beyond };
    let cells = (0..n_cells)
        .map(|c| {
            let (s, k) = (c / (nt + 1), c % (nt + 1));
            let expected = sum[c] as f64 / r as f64;
            KnoxCell {
                space: s,
                time: k,
                observed: observed[c],
                expected,
                expected_exact: n_space_out(s) as f64 * m_time_out(k) as f64 / m_all as f64,
                ratio: if expected > 0.0 {
                    observed[c] as f64 / expected
                } else {
                    f64::NAN
                },
                p: exceed[c].p_value(Alternative::Greater),
            }
        })
        .collect();
    Ok(Knox {
        cells,
        space_bands_m: params.space_bands_m.clone(),
        time_bands_days: params.time_bands_days.clone(),
        n_events: n,
        n_pairs: m_all,
        close_pairs,
        permutations: r,
        seed: params.seed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(n: usize, seed: u64) -> Incidents {
        let mut r = Rng::stream(seed, 0);
        let mut u = || (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let (mut x, mut y, mut t) = (vec![], vec![], vec![]);
        for i in 0..n {
            if i % 10 == 3 && i > 0 {
                // repeat at the same place a few days later
                x.push(x[i - 1]);
                y.push(y[i - 1]);
                t.push(t[i - 1] + (u() * 5.0 * 86_400.0) as i64);
            } else {
                x.push(u() * 2000.0);
                y.push(u() * 2000.0);
                t.push((u() * 365.0 * 86_400.0) as i64);
            }
        }
        Incidents::new(x, y, t).unwrap()
    }

    fn brute(inc: &Incidents, sb: &[Band], tb: &[Band]) -> Vec<u64> {
        let (ns, nt) = (sb.len(), tb.len());
        let which = |v: f64, bands: &[Band]| -> Option<usize> {
            if v > bands[bands.len() - 1].hi {
                return Some(bands.len());
            }
            bands
                .iter()
                .enumerate()
                .position(|(k, b)| v <= b.hi && (v > b.lo || (k == 0 && b.lo == 0.0)))
        };
        let mut out = vec![0u64; (ns + 1) * (nt + 1)];
        let (x, y, t) = (inc.x(), inc.y(), inc.t());
        for i in 0..inc.len() {
            for j in i + 1..inc.len() {
                let d = ((x[i] - x[j]).powi(2) + (y[i] - y[j]).powi(2)).sqrt();
                let dt = (t[i] - t[j]).abs() as f64 / 86_400.0;
                if let (Some(s), Some(k)) = (which(d, sb), which(dt, tb)) {
                    out[s * (nt + 1) + k] += 1;
                }
            }
        }
        out
    }

    #[test]
    fn observed_counts_match_brute_force() {
        let inc = events(1500, 1);
        let sb = Band::from_edges(&[0.0, 50.0, 100.0, 200.0]);
        let tb = Band::from_edges(&[0.0, 7.0, 14.0, 30.0]);
        let mut params = KnoxParams::new(sb.clone(), tb.clone());
        params.permutations = 19;
        let want = brute(&inc, &sb, &tb);
        let mut sims = Vec::new();
        for method in [KnoxMethod::PairList, KnoxMethod::Sweep] {
            params.method = method;
            let k = knox(&inc, &params).unwrap();
            let got: Vec<u64> = k.cells.iter().map(|c| c.observed).collect();
            assert_eq!(got, want, "{method:?}");
            sims.push(format!("{:?}", k.cells));
        }
        // same permutations, same tables: identical results by either method
        assert_eq!(sims[0], sims[1]);
        params.method = KnoxMethod::Auto;
        let k = knox(&inc, &params).unwrap();
        assert_eq!(want.iter().sum::<u64>(), k.n_pairs);
        // same-location, near-in-time pairs are planted: strong excess
        let c = k
            .cells
            .iter()
            .find(|c| c.space == 0 && c.time == 1)
            .unwrap();
        assert!(c.observed > 50 && c.p <= 0.05 + 1e-12 && c.ratio > 5.0);
    }

    #[test]
    fn gaps_between_bands_are_left_out() {
        let inc = events(800, 2);
        let sb = vec![Band::new(10.0, 60.0), Band::new(100.0, 150.0)];
        let tb = vec![Band::new(1.0, 3.0), Band::new(5.0, 9.0)];
        let mut params = KnoxParams::new(sb.clone(), tb.clone());
        params.permutations = 9;
        for method in [KnoxMethod::PairList, KnoxMethod::Sweep] {
            params.method = method;
            let k = knox(&inc, &params).unwrap();
            let got: Vec<u64> = k.cells.iter().map(|c| c.observed).collect();
            assert_eq!(got, brute(&inc, &sb, &tb), "{method:?}");
        }
    }

    #[test]
    fn simulated_mean_is_close_to_exact_expectation() {
        let inc = events(600, 3);
        let mut params = KnoxParams::new(
            Band::from_edges(&[0.0, 200.0, 400.0]),
            Band::from_edges(&[0.0, 30.0, 60.0]),
        );
        params.permutations = 999;
        let k = knox(&inc, &params).unwrap();
        for c in &k.cells {
            // Monte Carlo mean of R draws of a count with variance ≤ its mean (roughly
            // hypergeometric): 6 sd of the mean is 6·√(E/R)
            let tol = 6.0 * (c.expected_exact / 999.0).sqrt() + 1e-9;
            assert!(
                (c.expected - c.expected_exact).abs() <= tol.max(0.05 * c.expected_exact),
                "{c:?}"
            );
        }
    }

    #[test]
    fn same_result_on_one_and_many_threads() {
        let inc = events(1000, 4);
        let mut params = KnoxParams::new(
            Band::from_edges(&[0.0, 100.0]),
            Band::from_edges(&[0.0, 14.0]),
        );
        params.permutations = 99;
        params.seed = 5;
        let run = |t: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap()
                .install(|| format!("{:?}", knox(&inc, &params).unwrap().cells))
        };
        // compared as text: NaN ratios (zero expectation) are equal there
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn edge_cases_match_brute_force() {
        // times before 1970, stacked repeats, a second grid of exact 100 m spacing (distances
        // exactly on band edges)
        let base = events(900, 6);
        let (mut x, mut y, mut t) = (base.x().to_vec(), base.y().to_vec(), base.t().to_vec());
        for k in 0..100 {
            x.push((k % 10) as f64 * 100.0);
            y.push((k / 10) as f64 * 100.0);
            t.push(-86_400 * 30 + (k as i64 % 7) * 86_400);
        }
        let inc = Incidents::new(x, y, t).unwrap();
        let configs: Vec<(Vec<Band>, Vec<Band>)> = vec![
            // same location only (largest space band 0 m)
            (vec![Band::new(0.0, 0.0)], Band::from_edges(&[0.0, 7.0])),
            // same time only
            (
                Band::from_edges(&[0.0, 100.0, 200.0]),
                vec![Band::new(0.0, 0.0)],
            ),
            // a time band longer than the whole span
            (
                Band::from_edges(&[0.0, 100.0]),
                Band::from_edges(&[0.0, 3650.0]),
            ),
            // edges 1e-9 m apart: the lookup needs more than one comparison
            (
                vec![
                    Band::new(0.0, 100.0),
                    Band::new(100.0 + 1e-9, 100.0 + 2e-9),
                    Band::new(150.0, 300.0),
                ],
                vec![
                    Band::new(0.0, 1.0),
                    Band::new(1.0 + 1e-5, 1.0 + 2e-5),
                    Band::new(2.0, 14.0),
                ],
            ),
        ];
        for (sb, tb) in configs {
            let mut params = KnoxParams::new(sb.clone(), tb.clone());
            params.permutations = 7;
            let want = brute(&inc, &sb, &tb);
            let mut all = Vec::new();
            for method in [KnoxMethod::PairList, KnoxMethod::Sweep, KnoxMethod::Auto] {
                params.method = method;
                let k = knox(&inc, &params).unwrap();
                let got: Vec<u64> = k.cells.iter().map(|c| c.observed).collect();
                assert_eq!(got, want, "{method:?} {sb:?} {tb:?}");
                all.push(format!("{:?}", k.cells));
            }
            assert!(all.windows(2).all(|w| w[0] == w[1]), "{sb:?} {tb:?}");
        }
    }

    #[test]
    fn simd_and_portable_sweeps_agree() {
        // the AVX2 path (where the CPU has it) and the portable one: identical tables,
        // including runs longer than a batch (a stack of same-place, same-week repeats)
        let base = events(3000, 8);
        let (mut x, mut y, mut t) = (base.x().to_vec(), base.y().to_vec(), base.t().to_vec());
        for k in 0..3000 {
            x.push(500.0 + (k % 3) as f64);
            y.push(500.0);
            t.push(86_400 * 100 + (k as i64 % 5) * 3_600);
        }
        let inc = Incidents::new(x, y, t).unwrap();
        let mut p = KnoxParams::new(
            Band::from_edges(&[0.0, 1.0, 50.0, 100.0, 200.0]),
            Band::from_edges(&[0.0, 1.0, 7.0, 14.0]),
        );
        p.permutations = 9;
        p.method = KnoxMethod::Sweep;
        let want = brute(&inc, &p.space_bands_m, &p.time_bands_days);
        let simd = knox(&inc, &p).unwrap();
        crate::stats::knox_sweep::FORCE_SCALAR.store(true, Ordering::Relaxed);
        let portable = knox(&inc, &p);
        crate::stats::knox_sweep::FORCE_SCALAR.store(false, Ordering::Relaxed);
        let portable = portable.unwrap();
        let got: Vec<u64> = simd.cells.iter().map(|c| c.observed).collect();
        assert_eq!(got, want);
        assert_eq!(format!("{:?}", simd.cells), format!("{:?}", portable.cells));
    }

    #[test]
    fn pair_list_limit_and_time_range() {
        let inc = events(400, 7);
        let mut p = KnoxParams::new(
            Band::from_edges(&[0.0, 500.0]),
            Band::from_edges(&[0.0, 7.0]),
        );
        p.permutations = 3;
        p.max_pairs = 10;
        p.method = KnoxMethod::PairList;
        assert!(matches!(knox(&inc, &p), Err(Error::TooLarge { .. })));
        // auto falls back on the sweep with the same table
        p.method = KnoxMethod::Auto;
        let a = knox(&inc, &p).unwrap();
        p.max_pairs = u64::MAX;
        p.method = KnoxMethod::PairList;
        assert_eq!(
            format!("{:?}", a.cells),
            format!("{:?}", knox(&inc, &p).unwrap().cells)
        );
        let far = Incidents::new(vec![0.0, 1.0], vec![0.0, 0.0], vec![0, i64::MAX / 2]).unwrap();
        let e = knox(&far, &p).unwrap_err();
        assert!(e.to_string().contains("2^61"), "{e}");
    }

    #[test]
    fn bad_bands_and_inputs() {
        let inc = events(50, 5);
        let ok_t = Band::from_edges(&[0.0, 7.0]);
        let ok_s = Band::from_edges(&[0.0, 100.0]);
        let cases: Vec<(Vec<Band>, Vec<Band>, &str)> = vec![
            (
                ok_s.clone(),
                vec![Band::new(7.0, 14.0), Band::new(0.0, 7.0)],
                "sorted",
            ),
            (
                ok_s.clone(),
                vec![Band::new(0.0, 10.0), Band::new(7.0, 14.0)],
                "overlap",
            ),
            (vec![Band::new(0.0, -5.0)], ok_t.clone(), "space_bands"),
            (vec![Band::new(f64::NAN, 5.0)], ok_t.clone(), "space_bands"),
            (vec![], ok_t.clone(), "space_bands"),
            (ok_s.clone(), vec![Band::new(3.0, 3.0)], "empty"),
        ];
        for (s, t, msg) in cases {
            let e = knox(&inc, &KnoxParams::new(s, t)).unwrap_err();
            assert!(e.to_string().contains(msg), "{e}");
        }
        let mut p = KnoxParams::new(ok_s.clone(), ok_t.clone());
        p.permutations = 0;
        assert!(knox(&inc, &p)
            .unwrap_err()
            .to_string()
            .contains("permutations"));
        let one = Incidents::new(vec![0.0], vec![0.0], vec![0]).unwrap();
        assert!(matches!(
            knox(&one, &KnoxParams::new(ok_s, ok_t)),
            Err(Error::EmptyInput { .. })
        ));
    }
}
