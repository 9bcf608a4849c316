//! A small seedable random number generator with independent per-task streams.
//!
//! xoshiro256++ (Blackman & Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS
//! 2021), its 256-bit state filled by SplitMix64 (Steele, Lea & Flood 2014) from
//! `(seed, stream)`. Each parallel task (a permutation, a simulation) gets the stream of its own
//! index, so results do not depend on how rayon schedules the tasks or on the thread count.
//! Bounded integers use Lemire's multiply-and-reject method (Lemire 2019, "Fast random integer
//! generation in an interval"), which is exactly uniform.

/// SplitMix64 step: advances `state` and returns the next output.
#[inline]
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256++ generator.
///
/// # Examples
/// ```
/// use placewise::stats::rng::Xoshiro256pp;
/// let mut a = Xoshiro256pp::stream(42, 7);
/// let mut b = Xoshiro256pp::stream(42, 7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert!(a.below(10) < 10);
/// ```
#[derive(Debug, Clone)]
pub struct Xoshiro256pp {
    s: [u64; 4],
}

impl Xoshiro256pp {
    /// A generator with the given raw state (must not be all zero).
    pub fn from_state(s: [u64; 4]) -> Self {
        debug_assert!(s.iter().any(|&v| v != 0));
        Xoshiro256pp { s }
    }

    /// The generator of task `stream` under `seed`: SplitMix64 seeded with
    /// `seed` and then `stream` mixed in fills the 256-bit state.
    pub fn stream(seed: u64, stream: u64) -> Self {
        let mut sm = seed;
        let a = splitmix64(&mut sm);
        let mut st = a ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut s = [0u64; 4];
        for v in &mut s {
            *v = splitmix64(&mut st);
        }
        if s.iter().all(|&v| v == 0) {
            s[0] = 1;
        }
        Xoshiro256pp { s }
    }

    /// Next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform integer in `0..n` (`n > 0`), exactly uniform (Lemire's method).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let mut m = (self.next_u64() as u128) * (n as u128);
        let mut l = m as u64;
        if l < n {
            let t = n.wrapping_neg() % n;
            while l < t {
                m = (self.next_u64() as u128) * (n as u128);
                l = m as u64;
            }
        }
        (m >> 64) as u64
    }

    /// Shuffles `v` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }

    /// `k` distinct indices from `0..n` in random order (a uniformly random ordered
    /// `k`-subset), appended to `out`. Needs `k <= n`.
    pub fn distinct(&mut self, n: usize, k: usize, out: &mut Vec<u32>) {
        debug_assert!(k <= n);
        let start = out.len();
        if k * 2 <= n {
            // rejection: few draws out of many
            let mut seen = std::collections::HashSet::new();
            let small = k <= 64;
            while out.len() - start < k {
                let c = self.below(n as u64) as u32;
                let dup = if small {
                    out[start..].contains(&c)
                } else {
                    !seen.insert(c)
                };
                if !dup {
                    out.push(c);
                }
            }
        } else {
            let mut all: Vec<u32> = (0..n as u32).collect();
            for i in 0..k {
                let j = i + self.below((n - i) as u64) as usize;
                all.swap(i, j);
            }
            out.extend_from_slice(&all[..k]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_reference_xoshiro256pp() {
        // Reference values of xoshiro256++ (Vigna's C code) from state {1, 2, 3, 4}.
        let mut r = Xoshiro256pp::from_state([1, 2, 3, 4]);
        assert_eq!(r.next_u64(), 41943041);
        assert_eq!(r.next_u64(), 58720359);
        assert_eq!(r.next_u64(), 3588806011781223);
    }

    #[test]
    fn streams_differ_and_repeat() {
        let a: Vec<u64> = (0..4)
            .map(|s| Xoshiro256pp::stream(1, s).next_u64())
            .collect();
        let b: Vec<u64> = (0..4)
            .map(|s| Xoshiro256pp::stream(1, s).next_u64())
            .collect();
        assert_eq!(a, b);
        for i in 0..4 {
            for j in 0..i {
                assert_ne!(a[i], a[j]);
            }
        }
        assert_ne!(Xoshiro256pp::stream(2, 0).next_u64(), a[0]);
    }

    #[test]
    fn below_is_uniform_enough() {
        // chi-square on 10 bins with 100k draws: 99.9% critical value for 9 df is 27.9
        let mut r = Xoshiro256pp::stream(3, 0);
        let mut bins = [0u32; 10];
        for _ in 0..100_000 {
            bins[r.below(10) as usize] += 1;
        }
        let chi2: f64 = bins
            .iter()
            .map(|&c| (c as f64 - 10_000.0).powi(2) / 10_000.0)
            .sum();
        assert!(chi2 < 27.9, "chi2 {chi2}");
    }

    #[test]
    fn distinct_draws_are_distinct() {
        let mut r = Xoshiro256pp::stream(5, 0);
        for (n, k) in [(10, 10), (10, 3), (1000, 100), (1000, 600), (5, 0)] {
            let mut v = Vec::new();
            r.distinct(n, k, &mut v);
            assert_eq!(v.len(), k);
            let mut s = v.clone();
            s.sort();
            s.dedup();
            assert_eq!(s.len(), k);
            assert!(v.iter().all(|&i| (i as usize) < n));
        }
    }
}
