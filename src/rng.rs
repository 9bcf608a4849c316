//! The crate's one random number generator, with independent per-task streams.
//!
//! [`Rng`] is ChaCha with 8 rounds (Bernstein 2008, "ChaCha, a variant of Salsa20"; the
//! `chacha20` crate of RustCrypto, re-exported by `rand`). Every random step in placewise —
//! permutations, bootstraps, Monte Carlo baselines, simulations, randomized allocation — draws
//! from it, so one seed and one derivation rule explain every seeded output.
//!
//! **Stream key.** `Rng::stream(seed, index)` is the ChaCha8 keystream whose 256-bit key is the
//! 8 little-endian bytes of `seed` followed by 24 zero bytes, whose 64-bit stream id (the
//! original ChaCha nonce) is `index`, and whose 64-bit block counter starts at 0. Distinct
//! `(seed, index)` pairs select distinct keystreams of the cipher, so the streams do not overlap
//! (each holds 2^64 blocks of 64 bytes); parallel task `i` uses stream `i` and draws the same
//! numbers whatever the thread or worker count. `Rng::new(seed)` is `Rng::stream(seed, 0)`.
//! The derivation involves no hashing, so another implementation of ChaCha8 (RFC 7539's
//! quarter-round, 8 rounds, 64-bit counter and nonce) reproduces any stream exactly.
//!
//! **Outputs.** `next_u64` joins two 32-bit keystream words, low word first. Bounded integers
//! use Lemire's multiply-and-reject method (Lemire 2019, "Fast random integer generation in an
//! interval", ACM TOMACS 29(1)), exactly uniform; floats take the top 53 bits. [`Rng`] also
//! implements `rand_core`'s generator trait, so `rand_distr` distributions sample from it.
//!
//! # Examples
//! ```
//! use placewise::rng::Rng;
//! let mut a = Rng::stream(42, 7);
//! let mut b = Rng::stream(42, 7);
//! assert_eq!(a.next_u64(), b.next_u64());
//! assert_ne!(Rng::stream(42, 8).next_u64(), Rng::stream(42, 7).next_u64());
//! assert!(a.below(10) < 10);
//! let u = a.next_f64();
//! assert!((0.0..1.0).contains(&u));
//! ```

use std::convert::Infallible;

use rand::rngs::ChaCha8Rng;
use rand::SeedableRng;

/// The crate's random number generator: a ChaCha8 keystream selected by `(seed, index)`.
/// Not `Clone`: a copied generator would repeat its draws; derive a new stream instead.
#[derive(Debug)]
pub struct Rng {
    inner: ChaCha8Rng,
}

impl Rng {
    /// The generator of `seed`: the same as `Rng::stream(seed, 0)`.
    pub fn new(seed: u64) -> Self {
        Rng::stream(seed, 0)
    }

    /// The independent stream `index` of `seed` (see the module docs for the derivation).
    pub fn stream(seed: u64, index: u64) -> Self {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        let mut inner = ChaCha8Rng::from_seed(key);
        inner.set_stream(index);
        Rng { inner }
    }

    /// The next 32 random bits.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        rand::Rng::next_u32(&mut self.inner)
    }

    /// The next 64 random bits (two keystream words, low word first).
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        rand::Rng::next_u64(&mut self.inner)
    }

    /// Uniform in `[0, 1)`, a multiple of 2^-53.
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in the open interval `(0, 1)`: `(k + 0.5) · 2^-53` for a uniform 53-bit `k`.
    #[inline]
    pub fn next_open01(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform integer in `0..n` (`n > 0`), exactly uniform (Lemire's method). For
    /// `n < 2^32` it reads one 32-bit word per try instead of two (half the keystream:
    /// resampling loops draw tens of millions of indices), otherwise one 64-bit draw per try.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        if n <= u32::MAX as u64 {
            return self.below_u32(n as u32) as u64;
        }
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

    /// Lemire's method on 32-bit draws: uniform in `0..n`, `n > 0`.
    #[inline]
    fn below_u32(&mut self, n: u32) -> u32 {
        let mut m = (self.next_u32() as u64) * (n as u64);
        let mut l = m as u32;
        if l < n {
            let t = n.wrapping_neg() % n;
            while l < t {
                m = (self.next_u32() as u64) * (n as u64);
                l = m as u32;
            }
        }
        (m >> 32) as u32
    }

    /// `true` with probability `p` (`p ≤ 0`: never; `p ≥ 1`: always, without a draw).
    #[inline]
    pub fn bernoulli(&mut self, p: f64) -> bool {
        if p >= 1.0 {
            return true;
        }
        if p <= 0.0 || p.is_nan() {
            return false;
        }
        self.next_f64() < p
    }

    /// Shuffles `v` in place (Fisher–Yates, from the last position down).
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

/// Poisson(λ) draws by inversion of a precomputed table: one uniform per draw.
///
/// `rand_distr::Poisson` draws small means by Knuth's product method, which reads about
/// `λ + 1` uniforms per draw; with a cipher-based generator that keystream is most of the cost
/// of a simulation such as the Ensign urn (200 runs × 1000 days of Poisson draws). Here
/// `P(X ≤ k)` is tabulated once for `k` up to where the upper tail is below `2^-53` (the
/// resolution of a uniform draw), and a draw is the smallest `k` with `u < P(X ≤ k)` for one
/// uniform `u` (Devroye 1986, *Non-Uniform Random Variate Generation*, §X.3.3, "inversion by
/// sequential search"). The law is exact up to the rounding of the tabulated sums
/// (relative error ≈ 1e-15). A `u` beyond the table continues the recursion
/// `p(k + 1) = p(k) λ / (k + 1)`. Means above [`PoissonTable::MAX_TABLE_MEAN`] use
/// `rand_distr::Poisson` (transformed rejection, a few uniforms per draw whatever λ).
#[derive(Debug, Clone)]
pub struct PoissonTable {
    lambda: f64,
    cdf: Vec<f64>,
    large: Option<rand_distr::Poisson<f64>>,
}

impl PoissonTable {
    /// Largest mean drawn by table inversion.
    pub const MAX_TABLE_MEAN: f64 = 64.0;

    /// The sampler of Poisson(`lambda`); `None` unless `lambda` is finite and `> 0` (as
    /// `rand_distr::Poisson::new(lambda).ok()`).
    pub fn new(lambda: f64) -> Option<Self> {
        if !(lambda.is_finite() && lambda > 0.0) {
            return None;
        }
        if lambda > Self::MAX_TABLE_MEAN {
            return Some(PoissonTable {
                lambda,
                cdf: Vec::new(),
                large: Some(rand_distr::Poisson::new(lambda).ok()?),
            });
        }
        let mut pmf = (-lambda).exp();
        let mut cum = pmf;
        let mut cdf = vec![cum];
        let mut k = 0.0;
        // past the mode, stop once the next term cannot move the sum at 2^-53
        while !(k > lambda && pmf < f64::EPSILON / 2.0) {
            k += 1.0;
            pmf *= lambda / k;
            cum += pmf;
            cdf.push(cum);
        }
        Some(PoissonTable {
            lambda,
            cdf,
            large: None,
        })
    }

    /// One draw.
    #[inline]
    pub fn sample(&self, rng: &mut Rng) -> u64 {
        match &self.large {
            Some(d) => {
                use rand_distr::Distribution;
                d.sample(rng) as u64
            }
            None => self.invert(rng.next_f64()),
        }
    }

    /// The smallest `k` with `u < P(X ≤ k)` (the table's quantile function), `u ∈ [0, 1)`.
    fn invert(&self, u: f64) -> u64 {
        let k = self.cdf.partition_point(|&c| c <= u);
        if k < self.cdf.len() {
            return k as u64;
        }
        // beyond the table (probability below 2^-53): continue the recursion
        let mut k = self.cdf.len() - 1;
        let mut cum = self.cdf[k];
        let mut pmf = self.cdf[k] - self.cdf[k - 1];
        while cum <= u {
            k += 1;
            pmf *= self.lambda / k as f64;
            let next = cum + pmf;
            if next == cum {
                // the sum rounds below u: the remaining mass is below the float resolution
                break;
            }
            cum = next;
        }
        k as u64
    }
}

/// Lets `rand`'s extension methods and `rand_distr`'s distributions draw from [`Rng`].
impl rand::TryRng for Rng {
    type Error = Infallible;

    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.next_u32())
    }
    #[inline]
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next_u64())
    }
    #[inline]
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        rand::Rng::fill_bytes(&mut self.inner, dst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden values. Stream (0, 0) is ChaCha8 with an all-zero key and nonce: its first
    /// keystream bytes are the published test vector (Strombergson, "Test Vectors for the Stream
    /// Cipher ChaCha", draft-strombergson-chacha-test-vectors-00, TC1, 8 rounds):
    /// `3e00ef2f 895f40d6 7f5bb8e8 1f09a5a1 …`. The other values come from an independent
    /// 30-line Python implementation of the ChaCha block function (RFC 7539 quarter-round,
    /// 64-bit counter in words 12–13, stream id in words 14–15), not from this crate.
    #[test]
    fn golden_values() {
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xd640_5f89_2fef_003e);
        assert_eq!(r.next_u64(), 0xa1a5_091f_e8b8_5b7f);
        assert_eq!(r.next_u64(), 0x3b7f_9ace_c30e_842c);
        let mut r = Rng::new(42);
        assert_eq!(r.next_u64(), 0x5927_3471_198f_a887);
        assert_eq!(r.next_u64(), 0x4923_8aa4_169d_f72b);
        let mut r = Rng::stream(42, 7);
        assert_eq!(r.next_u64(), 0x2f88_af39_a26c_4769);
        assert_eq!(r.next_u64(), 0x9492_74b8_cf88_bf9f);
        assert_eq!(r.next_u64(), 0xf1ff_76c3_65b1_873f);
        let mut r = Rng::stream(u64::MAX, 3);
        assert_eq!(r.next_u64(), 0x7847_ea84_10be_85a4);
    }

    #[test]
    fn streams_differ_and_repeat() {
        let a: Vec<u64> = (0..4).map(|s| Rng::stream(1, s).next_u64()).collect();
        let b: Vec<u64> = (0..4).map(|s| Rng::stream(1, s).next_u64()).collect();
        assert_eq!(a, b);
        for i in 0..4 {
            for j in 0..i {
                assert_ne!(a[i], a[j]);
            }
        }
        assert_ne!(Rng::stream(2, 0).next_u64(), a[0]);
        assert_eq!(Rng::new(9).next_u64(), Rng::stream(9, 0).next_u64());
    }

    /// `below` on small ranges reads 32-bit words: the first two words of stream (0, 0) are
    /// 0x2fef003e and 0xd6405f89 (the golden value above, low word first), so `below(10)` is
    /// ⌊0x2fef003e · 10 / 2^32⌋ = 1, then ⌊0xd6405f89 · 10 / 2^32⌋ = 8 (worked by hand).
    /// Ranges of 2^32 or more take 64-bit draws: ⌊0xd6405f892fef003e · 2^40 / 2^64⌋.
    #[test]
    fn below_golden_values_for_both_widths() {
        let mut r = Rng::new(0);
        assert_eq!(r.below(10), 1);
        assert_eq!(r.below(10), 8);
        let mut r = Rng::new(0);
        assert_eq!(r.below(1 << 40), 0xd6405f892fef003e_u64 >> 24);
    }

    #[test]
    fn below_is_uniform_enough() {
        // chi-square on 10 bins with 100k draws: 99.9% critical value for 9 df is 27.9
        let mut r = Rng::stream(3, 0);
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
    fn floats_and_bernoulli() {
        let mut r = Rng::stream(4, 1);
        let n = 100_000;
        let mut hits = 0;
        for _ in 0..n {
            let u = r.next_f64();
            assert!((0.0..1.0).contains(&u));
            let v = r.next_open01();
            assert!(v > 0.0 && v < 1.0);
            hits += r.bernoulli(0.3) as u32;
        }
        // Binomial(100000, 0.3): sd ≈ 145; allow 5 sd.
        assert!((hits as f64 - 30_000.0).abs() < 725.0, "{hits}");
        assert!(r.bernoulli(1.0) && !r.bernoulli(0.0) && !r.bernoulli(f64::NAN));
    }

    #[test]
    fn distinct_draws_are_distinct() {
        let mut r = Rng::stream(5, 0);
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

    #[test]
    fn rand_distr_samples_from_it() {
        use rand_distr::{Distribution, Poisson};
        let mut r = Rng::stream(6, 0);
        let d = Poisson::new(4.0).unwrap();
        let n = 20_000;
        let mean: f64 = (0..n).map(|_| d.sample(&mut r)).sum::<f64>() / n as f64;
        // sd of the mean = sqrt(4 / 20000) ≈ 0.014; allow 5 sd.
        assert!((mean - 4.0).abs() < 0.07, "{mean}");
    }

    /// Table inversion returns the Poisson quantile: checked against statrs's CDF (an
    /// independent implementation, regularised incomplete gamma) at many `u`, including `u`
    /// beyond the table, and the draws' frequencies against statrs's pmf (chi-square).
    #[test]
    fn poisson_table_is_the_poisson_law() {
        use statrs::distribution::{Discrete, DiscreteCDF, Poisson as SPoisson};
        for lambda in [0.05, 0.9, 3.685, 11.0, 40.0, 64.0] {
            let t = PoissonTable::new(lambda).unwrap();
            let s = SPoisson::new(lambda).unwrap();
            for i in 0..2000 {
                let u = (i as f64 + 0.5) / 2000.0;
                let k = t.invert(u);
                // smallest k with u < F(k), away from float ties at the boundaries
                assert!(s.cdf(k) > u - 1e-12, "λ {lambda} u {u} k {k}");
                assert!(
                    k == 0 || s.cdf(k - 1) <= u + 1e-12,
                    "λ {lambda} u {u} k {k}"
                );
            }
            // the far tail: u within 2^-53 of 1 continues past the table
            let k = t.invert(1.0 - f64::EPSILON / 2.0);
            assert!(
                s.sf(k) < 1e-15 && k as f64 > lambda,
                "λ {lambda} tail k {k}"
            );
            // frequencies of 200k draws against the pmf, bins with expected count ≥ 20
            let mut r = Rng::stream(8, lambda.to_bits());
            let n = 200_000;
            let mut counts = std::collections::HashMap::<u64, u64>::new();
            for _ in 0..n {
                *counts.entry(t.sample(&mut r)).or_default() += 1;
            }
            let (mut chi2, mut df, mut rest_obs, mut rest_exp) = (0.0, 0i32, n as f64, n as f64);
            for k in 0..(lambda * 4.0 + 20.0) as u64 {
                let e = s.pmf(k) * n as f64;
                if e >= 20.0 {
                    let o = *counts.get(&k).unwrap_or(&0) as f64;
                    chi2 += (o - e).powi(2) / e;
                    df += 1;
                    rest_obs -= o;
                    rest_exp -= e;
                }
            }
            if rest_exp >= 20.0 {
                chi2 += (rest_obs - rest_exp).powi(2) / rest_exp;
                df += 1;
            }
            // 99.9 % chi-square critical value, Wilson–Hilferty approximation (df − 1 dof)
            let v = (df - 1).max(1) as f64;
            let crit = v * (1.0 - 2.0 / (9.0 * v) + 3.09 * (2.0 / (9.0 * v)).sqrt()).powi(3);
            assert!(chi2 < crit, "λ {lambda}: chi2 {chi2} > {crit} ({df} bins)");
        }
        // above the table limit: rand_distr's sampler, mean within 5 sd
        let t = PoissonTable::new(500.0).unwrap();
        let mut r = Rng::stream(8, 500);
        let mean = (0..20_000).map(|_| t.sample(&mut r) as f64).sum::<f64>() / 20_000.0;
        assert!(
            (mean - 500.0).abs() < 5.0 * (500.0f64 / 20_000.0).sqrt(),
            "{mean}"
        );
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(PoissonTable::new(bad).is_none());
        }
    }
}
