//! E-step of the grid ETAS model (Mohler et al. 2015): triggering within each cell,
//! exponential in time, computed exactly in O(N) per iteration by the kernel's recursion
//! `S(t + d) = e^{−ωd} S(t)` (no cut-off needed).

use rayon::prelude::*;

use super::{Data, EStats, State, SECONDS_PER_DAY};

/// Cells per unit of parallel work.
const CELLS_PER_CHUNK: usize = 64;

/// Events grouped by cell, each group in time order.
pub(crate) struct GridIndex {
    /// Event indices sorted by (cell, time).
    order: Vec<usize>,
    /// `(cell, start, end)` of each non-empty cell's events in `order`.
    groups: Vec<(u32, usize, usize)>,
}

impl GridIndex {
    pub(crate) fn new(data: &Data, _n_cells: usize) -> Self {
        let n = data.x.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| data.cell[i]); // stable: time order kept within a cell
        let mut groups = Vec::new();
        let mut s = 0;
        while s < n {
            let c = data.cell[order[s]];
            let mut e = s;
            while e < n && data.cell[order[e]] == c {
                e += 1;
            }
            groups.push((c, s, e));
            s = e;
        }
        GridIndex { order, groups }
    }

    /// Expected sufficient statistics at `st`; writes `p_ii` into `p_bg` (event order).
    /// Cell chunks run in parallel and are reduced in chunk order (thread-count independent).
    pub(crate) fn estep(&self, data: &Data, st: &State<'_>, p_bg: &mut [f64]) -> EStats {
        let p = st.params;
        let w = p.omega_per_day;
        let tw = p.theta * w;
        let parts: Vec<(EStats, Vec<f64>)> = self
            .groups
            .par_chunks(CELLS_PER_CHUNK)
            .map(|chunk| {
                let mut acc = EStats::default();
                let len: usize = chunk.iter().map(|g| g.2 - g.1).sum();
                let mut pb = Vec::with_capacity(len);
                for &(cell, s, e) in chunk {
                    let mu = st.mu_density[cell as usize];
                    let ev = &self.order[s..e];
                    let (mut s0, mut s1) = (0.0f64, 0.0f64);
                    let mut t_prev = data.t[ev[0]];
                    let mut k = 0;
                    while k < ev.len() {
                        let tk = data.t[ev[k]];
                        let d = (tk - t_prev) as f64 / SECONDS_PER_DAY;
                        if d > 0.0 {
                            let decay = (-w * d).exp();
                            s1 = decay * (s1 + d * s0);
                            s0 *= decay;
                            t_prev = tk;
                        }
                        // events at the same instant do not trigger each other
                        let mut m = k;
                        while m < ev.len() && data.t[ev[m]] == tk {
                            m += 1;
                        }
                        let trig = tw * s0;
                        let lam = (mu + trig).max(f64::MIN_POSITIVE);
                        let n_same = (m - k) as f64;
                        acc.sum_log_lambda += n_same * lam.ln();
                        acc.p_trig += n_same * trig / lam;
                        acc.s_t += n_same * tw * s1 / lam;
                        acc.n_pairs += ((m - k) * k) as u64;
                        for _ in k..m {
                            pb.push(mu / lam);
                        }
                        s0 += n_same;
                        k = m;
                    }
                }
                (acc, pb)
            })
            .collect();
        let mut total = EStats::default();
        let mut pos = 0;
        for (acc, pb) in &parts {
            total.add(acc);
            for &v in pb {
                p_bg[self.order[pos]] = v;
                pos += 1;
            }
        }
        total
    }
}
