//! The space–time sweep behind [`super::knox`]: for one assignment of times to locations,
//! count the pairs close in both space and time by (space interval × time interval).
//!
//! Cost per assignment: a counting sort of the incidents into spatial cells in time order
//! (`O(N)`); then, for every incident and every cell of its forward half-neighbourhood, the
//! run of incidents within the largest time band (found with two pointers that only move
//! forward); the pairs of each run within the largest space band are gathered without
//! branches and then classified in long batches by two table lookups each. The pairs examined
//! are those in neighbouring cells within the largest time band: about 2–3 times the pairs
//! close in both space and time.
//!
//! On x86-64 CPUs with AVX2 (detected at run time) the pointers move up to four places per
//! comparison and runs are gathered four pairs at a time; the arithmetic is the same
//! (separate multiply and add, no fused multiply–add), so the tables are identical to the
//! portable path's (tested).

use std::collections::HashMap;

/// Closes every list: later than any incident (times are within ±2^61 s).
const SENTINEL_T: i64 = i64::MAX;
/// Sentinels after the last list.
const PAD: usize = 4;

/// Entries of an interval lookup table (the quantised values are below this).
const LUT_LEN: usize = 1 << 16;
/// Boundaries (with padding) an interval lookup holds; the interval count also bounds the
/// pair table (`1 << ROW_BITS` intervals per dimension).
const B_LEN: usize = 256;
const ROW_BITS: u32 = 6;
/// Most boundaries per dimension: every band edge, `2 × MAX_BANDS`, fits.
pub(super) const MAX_BOUNDS: usize = (1 << ROW_BITS) - 1;

/// Exact interval lookup in `O(1)`: sorted distinct boundaries `b` split the values into
/// intervals `#{k : v > b[k]}` (`0..=b.len()`). Values are quantised by a monotone map
/// `quant`; `lut[q]` counts the boundaries whose bucket is below `q` (all of them are below
/// any `v` in bucket `q`, because `quant` is monotone), and `fix` comparisons against the
/// next boundaries settle the ones inside the bucket (`fix` = the most boundaries in any one
/// bucket, almost always 1). The tables have fixed sizes so that masked indices need no
/// bounds checks.
#[derive(Debug, Clone)]
pub(super) struct IntervalLut<T> {
    lut: Box<[u8; LUT_LEN]>,
    b: Box<[T; B_LEN]>,
    n_bounds: usize,
    fix: usize,
    qmax: usize,
}

impl<T: Copy + PartialOrd> IntervalLut<T> {
    /// `bounds`: sorted, distinct, at most [`MAX_BOUNDS`]. `quant(v, q_top)`: a monotone map
    /// of values into `0..=q_top`, with `quant(max(bounds), q_top) == q_top`.
    fn build(bounds: &[T], pad: T, quant: impl Fn(T, usize) -> usize) -> Self {
        assert!(bounds.windows(2).all(|w| w[0] < w[1]) && bounds.len() <= MAX_BOUNDS);
        let mut q_top = 4095;
        loop {
            let qs: Vec<usize> = bounds.iter().map(|&b| quant(b, q_top)).collect();
            let mut fix = 1;
            let mut run = 0;
            for k in 0..qs.len() {
                run = if k > 0 && qs[k] == qs[k - 1] {
                    run + 1
                } else {
                    1
                };
                fix = fix.max(run);
            }
            if fix == 1 || q_top + 1 >= LUT_LEN {
                let mut lut = Box::new([0u8; LUT_LEN]);
                for (q, v) in lut.iter_mut().enumerate() {
                    *v = qs.iter().filter(|&&qb| qb < q).count() as u8;
                }
                // padding: a comparison past the last boundary is always false
                let mut b = Box::new([pad; B_LEN]);
                b[..bounds.len()].copy_from_slice(bounds);
                return IntervalLut {
                    lut,
                    b,
                    n_bounds: bounds.len(),
                    fix,
                    qmax: q_top,
                };
            }
            q_top = q_top * 2 + 1;
        }
    }

    #[inline(always)]
    fn lookup<const ONE: bool>(&self, v: T, q: usize) -> usize {
        lookup::<T, ONE>(&self.lut, &self.b, self.fix, v, q)
    }

    /// Intervals: boundaries + 1.
    pub(super) fn intervals(&self) -> usize {
        self.n_bounds + 1
    }

    /// A value in interval `k` (its upper boundary); `None` for the last interval.
    pub(super) fn representative(&self, k: usize) -> Option<T> {
        (k < self.n_bounds).then(|| self.b[k])
    }
}

/// The interval of `v`, quantised to `q` (see [`IntervalLut`]); `ONE`: `fix == 1`.
#[inline(always)]
fn lookup<T: Copy + PartialOrd, const ONE: bool>(
    lut: &[u8; LUT_LEN],
    b: &[T; B_LEN],
    fix: usize,
    v: T,
    q: usize,
) -> usize {
    let mut k = lut[q & (LUT_LEN - 1)] as usize;
    if ONE {
        k += (v > b[k & (B_LEN - 1)]) as usize;
    } else {
        for _ in 0..fix {
            k += (v > b[k & (B_LEN - 1)]) as usize;
        }
    }
    k
}

/// `2^52`: adding it to a value in `[0, 2^51)` leaves that value rounded to an integer in the
/// low mantissa bits (round to nearest, a monotone map).
const MAGIC: f64 = 4_503_599_627_370_496.0;

/// `round(min(v · scale, q_top))` for `v ≥ 0`: monotone, without branches.
#[inline(always)]
fn quant_f(v: f64, scale: f64, q_top: f64) -> usize {
    let q = v * scale;
    let q = if q < q_top { q } else { q_top };
    (q + MAGIC).to_bits().wrapping_sub(MAGIC.to_bits()) as usize
}

/// Squared distances: quantised by scaling and rounding.
pub(super) struct SpaceLut {
    lut: IntervalLut<f64>,
    scale: f64,
}

impl SpaceLut {
    pub(super) fn new(bounds: &[f64]) -> Self {
        let top = bounds.last().copied().unwrap_or(0.0);
        let scale_for = |q_top: usize| if top > 0.0 { q_top as f64 / top } else { 0.0 };
        let quant = |v: f64, q_top: usize| quant_f(v, scale_for(q_top), q_top as f64);
        let lut = IntervalLut::build(bounds, f64::INFINITY, quant);
        SpaceLut {
            scale: scale_for(lut.qmax),
            lut,
        }
    }

    #[inline(always)]
    fn interval<const ONE: bool>(&self, d2: f64) -> usize {
        let q = quant_f(d2, self.scale, self.lut.qmax as f64);
        self.lut.lookup::<ONE>(d2, q)
    }

    pub(super) fn inner(&self) -> &IntervalLut<f64> {
        &self.lut
    }
}

/// Time differences (seconds, `0 ≤ dt ≤` the last boundary): quantised by a shift.
pub(super) struct TimeLut {
    lut: IntervalLut<i64>,
    shift: u32,
}

impl TimeLut {
    pub(super) fn new(bounds: &[i64]) -> Self {
        let top = bounds.last().copied().unwrap_or(0).max(0) as u64;
        // the shift that maps `top` into 0..=q_top (q_top = 2^m − 1); the table grows by
        // doubling q_top, which lowers the shift by one
        let shift_for = |q_top: usize| {
            let bits = 64 - top.leading_zeros();
            let qbits = usize::BITS - q_top.leading_zeros();
            bits.saturating_sub(qbits)
        };
        let quant =
            |v: i64, q_top: usize| ((v.max(0) as u64 >> shift_for(q_top)) as usize).min(q_top);
        let lut = IntervalLut::build(bounds, i64::MAX, quant);
        TimeLut {
            shift: shift_for(lut.qmax),
            lut,
        }
    }

    /// `dt` within `0..=` the last boundary (the sweep inlines the same lookup).
    #[cfg(test)]
    fn interval<const ONE: bool>(&self, dt: i64) -> usize {
        self.lut
            .lookup::<ONE>(dt, (dt as u64 >> self.shift) as usize)
    }

    pub(super) fn inner(&self) -> &IntervalLut<i64> {
        &self.lut
    }
}

/// The sweep's spatial index, fixed across permutations: square cells of width `d_max`
/// (`cell_of` per incident, `start` offsets of each cell's incidents, `own_at` offsets of
/// each cell's list in a sweep, one slot longer for its sentinel), and for each cell the
/// non-empty cells of its *forward half-neighbourhood*: `dy > 0`, or `dy == 0` and `dx > 0`,
/// in the 3 × 3 block around it (a pair within `d_max` lies in one cell or in two adjacent
/// ones; each adjacent pair of cells is visited once).
pub(super) struct Cells {
    xy: Vec<[f64; 2]>,
    cell_of: Vec<u32>,
    start: Vec<u32>,
    own_at: Vec<usize>,
    nb_ptr: Vec<u32>,
    nb: Vec<u32>,
}

impl Cells {
    pub(super) fn new(xs: &[f64], ys: &[f64], d_max: f64) -> Cells {
        let (w, reach) = if d_max > 0.0 { (d_max, 1) } else { (1.0, 0) };
        let key = |i: usize| ((xs[i] / w).floor() as i64, (ys[i] / w).floor() as i64);
        let n = xs.len();
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_unstable_by_key(|&i| (key(i as usize), i));
        let mut ids: HashMap<(i64, i64), u32> = HashMap::new();
        let mut keys: Vec<(i64, i64)> = Vec::new();
        let mut start = vec![0u32];
        let mut cell_of = vec![0u32; n];
        for (pos, &i) in order.iter().enumerate() {
            let k = key(i as usize);
            if keys.last() != Some(&k) {
                if !keys.is_empty() {
                    start.push(pos as u32);
                }
                ids.insert(k, keys.len() as u32);
                keys.push(k);
            }
            cell_of[i as usize] = keys.len() as u32 - 1;
        }
        start.push(n as u32);
        let mut nb_ptr = vec![0u32];
        let mut nb = Vec::new();
        for &(kx, ky) in &keys {
            for dy in 0..=reach {
                for dx in -reach..=reach {
                    if dy == 0 && dx <= 0 {
                        continue;
                    }
                    if let Some(&c) = ids.get(&(kx + dx, ky + dy)) {
                        nb.push(c);
                    }
                }
            }
            nb_ptr.push(nb.len() as u32);
        }
        Cells {
            xy: xs.iter().zip(ys).map(|(&x, &y)| [x, y]).collect(),
            cell_of,
            own_at: (0..start.len()).map(|c| start[c] as usize + c).collect(),
            start,
            nb_ptr,
            nb,
        }
    }

    fn len(&self) -> usize {
        self.start.len() - 1
    }

    fn range(&self, c: usize) -> std::ops::Range<usize> {
        self.start[c] as usize..self.start[c + 1] as usize
    }

    fn neighbours(&self, c: usize) -> &[u32] {
        &self.nb[self.nb_ptr[c] as usize..self.nb_ptr[c + 1] as usize]
    }
}

/// Pairs close in space and time gathered before they are classified (a power of two):
/// classifying in long runs keeps the table lookups of many pairs in flight at once.
const BATCH: usize = 1024;
/// Interleaved copies of the pair table: consecutive pairs that fall in the same cell of the
/// table do not wait on each other's increment.
const TABLES: usize = 4;
/// Cells of one pair table: `(space interval << ROW_BITS) | time interval`.
const TABLE_LEN: usize = 1 << (2 * ROW_BITS);

/// Scratch buffers of the sweep (one per worker).
pub(super) struct SweepBuf {
    /// `rank[i]`: incident `i` gets the `rank[i]`-th smallest time.
    pub(super) rank: Vec<u32>,
    inv: Vec<u32>,
    fill: Vec<usize>,
    // the incidents of each cell in time order, each list closed by a sentinel
    xs: Vec<f64>,
    ys: Vec<f64>,
    ts: Vec<i64>,
    d2: Box<[f64; BATCH + 4]>,
    dt: Box<[i64; BATCH + 4]>,
    tables: Box<[[u64; TABLE_LEN]; TABLES]>,
}

impl SweepBuf {
    pub(super) fn new(cells: &Cells) -> Self {
        let n = cells.cell_of.len();
        SweepBuf {
            rank: (0..n as u32).collect(),
            inv: vec![0; n],
            fill: vec![0; cells.len()],
            // four more sentinels at the end: 4-wide loads from any list position stay inside
            xs: vec![f64::NAN; cells.own_at[cells.len()] + PAD],
            ys: vec![f64::NAN; cells.own_at[cells.len()] + PAD],
            ts: vec![SENTINEL_T; cells.own_at[cells.len()] + PAD],
            d2: Box::new([0.0; BATCH + 4]),
            dt: Box::new([0; BATCH + 4]),
            tables: Box::new([[0; TABLE_LEN]; TABLES]),
        }
    }

    /// Pairs of space interval `s` and time interval `k` in the last sweep.
    pub(super) fn count(&self, s: usize, k: usize) -> u64 {
        self.tables[0][(s << ROW_BITS) | k]
    }
}

/// Counts the pairs within the largest space band and within `t_max` (the largest time
/// band) when incident `i` gets time `ts[b.rank[i]]` (`ts` ascending, within ±2^61 s); read
/// them with [`SweepBuf::count`]. Pairs beyond the largest space band may be counted too, in
/// the last space interval.
pub(super) fn sweep_counts(
    cells: &Cells,
    ts: &[i64],
    t_max: i64,
    space: &SpaceLut,
    time: &TimeLut,
    b: &mut SweepBuf,
) {
    let n = ts.len();
    for (i, &r) in b.rank.iter().enumerate() {
        b.inv[r as usize] = i as u32;
    }
    // counting sort by rank, then by cell: each cell's list ends up in time order
    b.fill.copy_from_slice(&cells.own_at[..cells.len()]);
    for (&i, &t) in b.inv.iter().zip(ts) {
        let c = cells.cell_of[i as usize] as usize;
        let [x, y] = cells.xy[i as usize];
        let q = b.fill[c];
        (b.xs[q], b.ys[q], b.ts[q]) = (x, y, t);
        b.fill[c] += 1;
    }
    // no pair is further apart in time than the whole span: this keeps t ± t_max in range
    let t_max = t_max.min(ts[n - 1] - ts[0]);
    if space.lut.fix == 1 && time.lut.fix == 1 {
        sweep_runs::<true>(cells, b, t_max, space, time);
    } else {
        sweep_runs::<false>(cells, b, t_max, space, time);
    }
}

/// Squared distances and time differences gathered so far, and the pair tables.
struct Acc<'a, const ONE: bool> {
    d2: &'a mut [f64; BATCH + 4],
    dt: &'a mut [i64; BATCH + 4],
    m: usize,
    tables: &'a mut [[u64; TABLE_LEN]; TABLES],
    space: &'a SpaceLut,
    time: &'a TimeLut,
    d2_max: f64,
}

impl<const ONE: bool> Acc<'_, ONE> {
    /// Adds the gathered pairs to the tables.
    #[inline(always)]
    fn classify(&mut self) {
        let m = self.m;
        classify_batch::<ONE>(
            &self.d2[..m],
            &self.dt[..m],
            self.space,
            self.time,
            self.tables,
        );
        self.m = 0;
    }

    /// Gathers the pairs of `p = (x, y, t)` with the run `(xs, ys, ts)` (equal lengths) that
    /// are within `d2_max`, without branches.
    #[inline(always)]
    fn gather(&mut self, p: (f64, f64, i64), xs: &[f64], ys: &[f64], ts: &[i64]) {
        if self.m + xs.len() > BATCH {
            self.gather_long(p, xs, ys, ts);
            return;
        }
        self.m = gather_scalar(p, xs, ys, ts, self.d2_max, self.d2, self.dt, self.m);
    }

    /// The pairs of `p` with positions `lo..hi` of the arrays, four at a time; loads may read
    /// up to three places past `hi` (masked off).
    ///
    /// # Safety
    /// The CPU must support AVX2, and `hi + 3 ≤` the arrays' length.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn gather_avx2_at(
        &mut self,
        p: (f64, f64, i64),
        xs: &[f64],
        ys: &[f64],
        ts: &[i64],
        lo: usize,
        hi: usize,
    ) {
        use std::arch::x86_64::*;
        if self.m + (hi - lo) > BATCH {
            self.gather_long(p, &xs[lo..hi], &ys[lo..hi], &ts[lo..hi]);
            return;
        }
        let (px, py, pt) = (
            _mm256_set1_pd(p.0),
            _mm256_set1_pd(p.1),
            _mm256_set1_epi64x(p.2),
        );
        let lim = _mm256_set1_pd(self.d2_max);
        let zero = _mm256_setzero_si256();
        let (d2s, dts) = (self.d2.as_mut_ptr(), self.dt.as_mut_ptr());
        let mut m = self.m;
        let mut j = lo;
        while j < hi {
            // SAFETY: j + 4 ≤ hi + 3 ≤ len bounds the loads; m + 4 ≤ BATCH + 4 bounds the
            // stores (m ≤ m₀ + (j − lo) and m₀ + (hi − lo) ≤ BATCH).
            unsafe {
                let dx = _mm256_sub_pd(_mm256_loadu_pd(xs.as_ptr().add(j)), px);
                let dy = _mm256_sub_pd(_mm256_loadu_pd(ys.as_ptr().add(j)), py);
                let d2 = _mm256_add_pd(_mm256_mul_pd(dx, dx), _mm256_mul_pd(dy, dy));
                let within = _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_LE_OQ>(d2, lim)) as usize;
                let keep = within & ((1usize << (hi - j).min(4)) - 1);
                let dt = _mm256_sub_epi64(_mm256_loadu_si256(ts.as_ptr().add(j).cast()), pt);
                let neg = _mm256_cmpgt_epi64(zero, dt);
                let dt = _mm256_sub_epi64(_mm256_xor_si256(dt, neg), neg);
                let idx = _mm256_loadu_si256(PACK[keep].as_ptr().cast());
                let d2 =
                    _mm256_castsi256_pd(_mm256_permutevar8x32_epi32(_mm256_castpd_si256(d2), idx));
                let dt = _mm256_permutevar8x32_epi32(dt, idx);
                _mm256_storeu_pd(d2s.add(m), d2);
                _mm256_storeu_si256(dts.add(m).cast(), dt);
                m += keep.count_ones() as usize;
            }
            j += 4;
        }
        self.m = m;
    }

    /// [`Self::gather`] when the batch cannot take the whole run.
    #[inline(never)]
    fn gather_long(&mut self, p: (f64, f64, i64), xs: &[f64], ys: &[f64], ts: &[i64]) {
        let k = BATCH / 2;
        for ((x, y), t) in xs.chunks(k).zip(ys.chunks(k)).zip(ts.chunks(k)) {
            if self.m + x.len() > BATCH {
                self.classify();
            }
            self.gather(p, x, y, t);
        }
    }
}

/// The pairs of `p` with the run that are within `d2_max`, appended at `m` (returned: the
/// new `m`); the caller keeps `m + run ≤ BATCH`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gather_scalar(
    (px, py, pt): (f64, f64, i64),
    xs: &[f64],
    ys: &[f64],
    ts: &[i64],
    d2_max: f64,
    d2s: &mut [f64; BATCH + 4],
    dts: &mut [i64; BATCH + 4],
    mut m: usize,
) -> usize {
    for ((&x, &y), &t) in xs.iter().zip(ys).zip(ts) {
        let (dx, dy) = (x - px, y - py);
        let d2 = dx * dx + dy * dy;
        // m < BATCH here: the mask only spares a bounds check
        d2s[m & (BATCH - 1)] = d2;
        dts[m & (BATCH - 1)] = (t - pt).abs();
        m += (d2 <= d2_max) as usize;
    }
    m
}

/// `_mm256_permutevar8x32_epi32` indices that move the 64-bit lanes set in a 4-bit mask to
/// the front, in order.
#[cfg(target_arch = "x86_64")]
const PACK: [[i32; 8]; 16] = {
    let mut t = [[0i32; 8]; 16];
    let mut mask = 0;
    while mask < 16 {
        let (mut k, mut lane) = (0usize, 0usize);
        while lane < 4 {
            if mask & (1 << lane) != 0 {
                t[mask][2 * k] = (2 * lane) as i32;
                t[mask][2 * k + 1] = (2 * lane + 1) as i32;
                k += 1;
            }
            lane += 1;
        }
        mask += 1;
    }
    t
};

/// Adds pairs `(d2, dt)` to the tables. Out of line, with every table passed as an argument,
/// so that the compiler keeps them in registers (they cannot alias the counts).
#[inline(never)]
fn classify_batch<const ONE: bool>(
    d2s: &[f64],
    dts: &[i64],
    space: &SpaceLut,
    time: &TimeLut,
    tables: &mut [[u64; TABLE_LEN]; TABLES],
) {
    classify_into::<ONE>(
        d2s,
        dts,
        (
            &space.lut.lut,
            &space.lut.b,
            space.scale,
            space.lut.qmax as f64,
        ),
        (&time.lut.lut, &time.lut.b, time.shift, time.lut.fix),
        space.lut.fix,
        tables,
    );
}

#[inline(always)]
#[allow(clippy::type_complexity)]
fn classify_into<const ONE: bool>(
    d2s: &[f64],
    dts: &[i64],
    (s_lut, s_b, scale, top): (&[u8; LUT_LEN], &[f64; B_LEN], f64, f64),
    (t_lut, t_b, shift, t_fix): (&[u8; LUT_LEN], &[i64; B_LEN], u32, usize),
    s_fix: usize,
    tables: &mut [[u64; TABLE_LEN]; TABLES],
) {
    let index = |d2: f64, dt: i64| {
        let s = lookup::<f64, ONE>(s_lut, s_b, s_fix, d2, quant_f(d2, scale, top));
        let k = lookup::<i64, ONE>(t_lut, t_b, t_fix, dt, (dt as u64 >> shift) as usize);
        ((s << ROW_BITS) | k) & (TABLE_LEN - 1)
    };
    let m = d2s.len().min(dts.len());
    let mut i = 0;
    while i + TABLES <= m {
        for (c, table) in tables.iter_mut().enumerate() {
            table[index(d2s[i + c], dts[i + c])] += 1;
        }
        i += TABLES;
    }
    for j in i..m {
        tables[0][index(d2s[j], dts[j])] += 1;
    }
}

/// The runs of every incident: its own cell (later incidents up to `t_max` after) and its
/// forward half-neighbourhood (incidents within `t_max` either side). Each list ends with a
/// sentinel later than any incident, so the pointer scans need no bounds.
fn runs_scalar<const ONE: bool>(
    cells: &Cells,
    xs: &[f64],
    ys: &[f64],
    ts: &[i64],
    t_max: i64,
    acc: &mut Acc<'_, ONE>,
) {
    for c in 0..cells.len() {
        let (a, e) = (cells.own_at[c], cells.own_at[c + 1] - 1);
        let mut hi = a;
        for i in a..e {
            let p = (xs[i], ys[i], ts[i]);
            hi = hi.max(i + 1);
            while ts[hi] <= p.2 + t_max {
                hi += 1;
            }
            acc.gather(p, &xs[i + 1..hi], &ys[i + 1..hi], &ts[i + 1..hi]);
        }
        for &c2 in cells.neighbours(c) {
            let (mut lo, mut hi) = (cells.own_at[c2 as usize], cells.own_at[c2 as usize]);
            for i in a..e {
                let p = (xs[i], ys[i], ts[i]);
                while ts[lo] < p.2 - t_max {
                    lo += 1;
                }
                hi = hi.max(lo);
                while ts[hi] <= p.2 + t_max {
                    hi += 1;
                }
                acc.gather(p, &xs[lo..hi], &ys[lo..hi], &ts[lo..hi]);
            }
        }
    }
}

/// [`runs_scalar`] with AVX2: the pointers move by up to four places per comparison, and
/// each run is gathered four pairs at a time (lanes past the run masked off), with the same
/// pairs and values in the same order.
///
/// # Safety
/// The CPU must support AVX2, and `xs`, `ys`, `ts` must end with at least [`PAD`]
/// sentinels after the last list.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn runs_avx2<const ONE: bool>(
    cells: &Cells,
    xs: &[f64],
    ys: &[f64],
    ts: &[i64],
    t_max: i64,
    acc: &mut Acc<'_, ONE>,
) {
    let len = ts.len().min(xs.len()).min(ys.len());
    assert!(len >= cells.own_at[cells.len()] + PAD - 1);
    // SAFETY (for `after` and `from`): every start is at most its list's sentinel, and PAD
    // sentinels follow the last list, so 4-wide loads stay inside the arrays.
    let after = |k: usize, lim: i64| unsafe { first_after(ts, k, lim) };
    // t ≥ lim ⇔ t > lim − 1 (integer seconds within ±2^62: no overflow)
    let from = |k: usize, lim: i64| unsafe { first_after(ts, k, lim - 1) };
    for c in 0..cells.len() {
        let (a, e) = (cells.own_at[c], cells.own_at[c + 1] - 1);
        let mut hi = a;
        for i in a..e {
            hi = after(hi.max(i + 1), ts[i] + t_max);
            // SAFETY: AVX2 checked by the caller; loads end within PAD of the run's list end
            unsafe { acc.gather_avx2_at((xs[i], ys[i], ts[i]), xs, ys, ts, i + 1, hi) };
        }
        for &c2 in cells.neighbours(c) {
            let (mut lo, mut hi) = (cells.own_at[c2 as usize], cells.own_at[c2 as usize]);
            for i in a..e {
                lo = from(lo, ts[i] - t_max);
                hi = after(hi.max(lo), ts[i] + t_max);
                // SAFETY: as above
                unsafe { acc.gather_avx2_at((xs[i], ys[i], ts[i]), xs, ys, ts, lo, hi) };
            }
        }
    }
}

/// First index `≥ k` with `ts > lim`, four at a time (a later sentinel bounds it; lanes past
/// it are ignored).
///
/// # Safety
/// AVX2, and `ts` holds a value `> lim` at some index `≥ k`, followed by 3 more values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn first_after(ts: &[i64], mut k: usize, lim: i64) -> usize {
    use std::arch::x86_64::*;
    let l = _mm256_set1_epi64x(lim);
    loop {
        // SAFETY: the caller's guarantee bounds the load
        let v = unsafe { _mm256_loadu_si256(ts.as_ptr().add(k).cast()) };
        let stop = _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(v, l)));
        if stop != 0 {
            return k + stop.trailing_zeros() as usize;
        }
        k += 4;
    }
}

/// Tests set this to run the portable path on a machine with AVX2.
#[cfg(test)]
pub(super) static FORCE_SCALAR: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Whether the AVX2 paths can run here.
fn avx2() -> bool {
    #[cfg(test)]
    if FORCE_SCALAR.load(std::sync::atomic::Ordering::Relaxed) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn sweep_runs<const ONE: bool>(
    cells: &Cells,
    b: &mut SweepBuf,
    t_max: i64,
    space: &SpaceLut,
    time: &TimeLut,
) {
    for t in b.tables.iter_mut() {
        t.fill(0);
    }
    let mut acc = Acc::<ONE> {
        d2: &mut b.d2,
        dt: &mut b.dt,
        m: 0,
        tables: &mut b.tables,
        space,
        time,
        d2_max: space.lut.b[space.lut.n_bounds - 1],
    };
    let (xs, ys, ts) = (&b.xs[..], &b.ys[..], &b.ts[..]);
    #[cfg(target_arch = "x86_64")]
    if avx2() {
        // SAFETY: AVX2 is available (checked at run time); the arrays end with PAD sentinels.
        unsafe { runs_avx2(cells, xs, ys, ts, t_max, &mut acc) };
    } else {
        runs_scalar(cells, xs, ys, ts, t_max, &mut acc);
    }
    #[cfg(not(target_arch = "x86_64"))]
    runs_scalar(cells, xs, ys, ts, t_max, &mut acc);
    acc.classify();
    // fold the copies into the first table
    let (first, rest) = b.tables.split_at_mut(1);
    for copy in rest {
        for (a, v) in first[0].iter_mut().zip(copy.iter()) {
            *a += v;
        }
    }
}

/// Pairs by space interval, all times: the same cells, every pair once.
pub(super) fn space_counts(cells: &Cells, space: &SpaceLut) -> Vec<u64> {
    use rayon::prelude::*;
    // incidents of each cell, in cell order
    let mut members = vec![[0.0; 2]; cells.xy.len()];
    let mut fill: Vec<u32> = cells.start[..cells.len()].to_vec();
    for (i, &c) in cells.cell_of.iter().enumerate() {
        members[fill[c as usize] as usize] = cells.xy[i];
        fill[c as usize] += 1;
    }
    let ni = space.inner().intervals();
    let count_cell = |acc: &mut Vec<u64>, c: usize| {
        let own = &members[cells.range(c)];
        let mut count = |p: [f64; 2], q: [f64; 2]| {
            let (dx, dy) = (q[0] - p[0], q[1] - p[1]);
            acc[space.interval::<false>(dx * dx + dy * dy)] += 1;
        };
        for (i, &p) in own.iter().enumerate() {
            for &q in &own[i + 1..] {
                count(p, q);
            }
        }
        for &c2 in cells.neighbours(c) {
            for &q in &members[cells.range(c2 as usize)] {
                for &p in own {
                    count(p, q);
                }
            }
        }
    };
    (0..cells.len())
        .into_par_iter()
        .with_min_len(64)
        .fold(
            || vec![0u64; ni],
            |mut acc, c| {
                count_cell(&mut acc, c);
                acc
            },
        )
        .reduce(
            || vec![0u64; ni],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_above<T: PartialOrd>(b: &[T], v: T) -> usize {
        b.iter().filter(|&x| v > *x).count()
    }

    fn space(lut: &SpaceLut, v: f64) -> usize {
        if lut.lut.fix == 1 {
            lut.interval::<true>(v)
        } else {
            lut.interval::<false>(v)
        }
    }

    #[test]
    fn space_lookup_equals_counting_boundaries() {
        let bounds = [0.0, 2500.0, 10_000.0, 10_000.5, 40_000.0, 160_000.0];
        let lut = SpaceLut::new(&bounds);
        let mut vals: Vec<f64> = vec![0.0, -0.0, 1e-300, 1e308, f64::INFINITY];
        for &b in &bounds {
            vals.extend([b, b.next_up(), b.next_down()]);
        }
        for k in 0..20_000 {
            vals.push(k as f64 * 8.3);
        }
        for v in vals {
            assert_eq!(space(&lut, v), count_above(&bounds, v), "{v}");
        }
    }

    #[test]
    fn time_lookup_equals_counting_boundaries() {
        for bounds in [
            vec![0i64, 604_800, 1_209_600, 2_419_200],
            vec![0, 1, 2, 3, 86_400],
            vec![3_600, 3_601, 7_200],
            vec![0],
        ] {
            let lut = TimeLut::new(&bounds);
            let top = *bounds.last().unwrap();
            let mut vals: Vec<i64> = vec![0, 1, top];
            for &b in &bounds {
                vals.extend([b, (b + 1).min(top), (b - 1).max(0)]);
            }
            for k in 0..30_000 {
                vals.push((k * 97).min(top));
            }
            for v in vals {
                let got = if lut.lut.fix == 1 {
                    lut.interval::<true>(v)
                } else {
                    lut.interval::<false>(v)
                };
                assert_eq!(got, count_above(&bounds, v), "{bounds:?} {v}");
            }
        }
    }

    #[test]
    fn crowded_boundaries_use_more_comparisons() {
        // five boundaries within one part in 1e9: no table of 2^16 separates them
        let bounds: Vec<f64> = (0..5).map(|k| 1e6 + k as f64 * 1e-4).collect();
        let lut = SpaceLut::new(&bounds);
        assert!(lut.inner().fix > 1);
        for &b in &bounds {
            for v in [b, b.next_up(), b.next_down()] {
                assert_eq!(space(&lut, v), count_above(&bounds, v));
            }
        }
    }
}
