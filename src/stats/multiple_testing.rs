//! Multiple-testing corrections for families of p-values: Benjamini–Hochberg and Holm.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which correction to apply to a family of p-values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// No correction: raw p-values.
    None,
    /// Benjamini & Hochberg (1995) step-up adjustment, controlling the false discovery rate
    /// under independence or positive regression dependence (Benjamini & Yekutieli 2001).
    FdrBh,
    /// Holm (1979) step-down adjustment, controlling the family-wise error rate under any
    /// dependence.
    Holm,
}

impl Correction {
    /// Parses `"none"`, `"fdr_bh"` or `"holm"`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "none" => Ok(Correction::None),
            "fdr_bh" => Ok(Correction::FdrBh),
            "holm" => Ok(Correction::Holm),
            other => Err(Error::param(
                "correction",
                format!("must be \"fdr_bh\", \"holm\" or None, got {other:?}"),
            )),
        }
    }

    /// The name `parse` accepts.
    pub fn label(self) -> &'static str {
        match self {
            Correction::None => "none",
            Correction::FdrBh => "fdr_bh",
            Correction::Holm => "holm",
        }
    }

    /// Adjusted p-values (see [`adjust`]).
    pub fn apply(self, p: &[f64]) -> Result<Vec<f64>> {
        adjust(p, self)
    }
}

fn check(p: &[f64]) -> Result<()> {
    for (i, &v) in p.iter().enumerate() {
        if !(0.0..=1.0).contains(&v) {
            return Err(Error::data(
                Some(i),
                "p",
                format!("p-value must lie in [0, 1], got {v}"),
            ));
        }
    }
    Ok(())
}

/// Order of `p` ascending; ties keep input order. The p-values are checked to lie in
/// `[0, 1]` (with −0 read as +0), where the IEEE bit patterns order like the values, so the sort key is the pair
/// (bits, index): unique keys, sorted in place by an unstable (pattern-defeating quick)sort in
/// parallel, which gives the same order as a stable sort by value, faster on the large, tied
/// families of Monte Carlo p-values (a million cells, at most R + 1 distinct values).
fn order(p: &[f64]) -> Vec<usize> {
    use rayon::slice::ParallelSliceMut;
    let mut keys: Vec<(u64, usize)> = p.iter().map(|v| (v + 0.0).to_bits()).zip(0..).collect(); // -0 → +0
    keys.par_sort_unstable();
    keys.into_iter().map(|(_, i)| i).collect()
}

/// Adjusted p-values: reject hypothesis `i` at level `α` when `adjusted[i] <= α`.
///
/// * Benjamini–Hochberg (1995): `p̃_(k) = min_{j ≥ k} min(1, m p_(j) / j)`.
/// * Holm (1979): `p̃_(k) = max_{j ≤ k} min(1, (m − j + 1) p_(j))`.
///
/// These are the adjusted p-values of `scipy.stats.false_discovery_control(method="bh")` and
/// `statsmodels.stats.multitest.multipletests(method="holm")`. An empty family gives an empty
/// result; a p-value outside `[0, 1]` (or NaN) is refused, naming its index.
///
/// # Examples
/// ```
/// use placewise::stats::{adjust, Correction};
/// let p = [0.01, 0.04, 0.03];
/// let bh = adjust(&p, Correction::FdrBh).unwrap();
/// assert!((bh[0] - 0.03).abs() < 1e-12 && (bh[1] - 0.04).abs() < 1e-12);
/// let holm = adjust(&p, Correction::Holm).unwrap();
/// assert!((holm[0] - 0.03).abs() < 1e-12 && (holm[2] - 0.06).abs() < 1e-12);
/// ```
pub fn adjust(p: &[f64], correction: Correction) -> Result<Vec<f64>> {
    check(p)?;
    let m = p.len();
    let mut out = vec![0.0; m];
    match correction {
        Correction::None => out.copy_from_slice(p),
        Correction::FdrBh => {
            let idx = order(p);
            let mut running = 1.0f64;
            for k in (0..m).rev() {
                let i = idx[k];
                let v = (p[i] * m as f64 / (k + 1) as f64).min(1.0);
                running = running.min(v);
                out[i] = running;
            }
        }
        Correction::Holm => {
            let idx = order(p);
            let mut running = 0.0f64;
            for (k, &i) in idx.iter().enumerate() {
                let v = (p[i] * (m - k) as f64).min(1.0);
                running = running.max(v);
                out[i] = running;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The order is the stable sort by value (ties in input order), as a plain comparison
    /// sort gives it, on heavily tied Monte Carlo-like p-values and on ±0.
    #[test]
    fn order_is_the_stable_value_order() {
        let mut r = crate::rng::Rng::new(3);
        let p: Vec<f64> = (0..50_000)
            .map(|_| (r.below(100) + 1) as f64 / 100.0)
            .chain([0.0, -0.0, 0.0, 1.0])
            .collect();
        let mut want: Vec<usize> = (0..p.len()).collect();
        want.sort_by(|&a, &b| (p[a] + 0.0).total_cmp(&(p[b] + 0.0)));
        assert_eq!(order(&p), want);
    }

    #[test]
    fn refuses_bad_p() {
        for bad in [f64::NAN, -0.1, 1.5] {
            let e = adjust(&[0.1, bad], Correction::FdrBh).unwrap_err();
            assert!(e.to_string().contains("row 1"), "{e}");
        }
        assert!(adjust(&[], Correction::Holm).unwrap().is_empty());
        assert!(Correction::parse("bonferroni").is_err());
    }

    #[test]
    fn textbook_values() {
        // Benjamini & Hochberg (1995), table: 15 p-values; the BH procedure at q = 0.05
        // rejects the 4 smallest.
        let p = [
            0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262,
            0.5719, 0.6528, 0.7590, 1.0,
        ];
        let bh = adjust(&p, Correction::FdrBh).unwrap();
        let rejected = bh.iter().filter(|&&v| v <= 0.05).count();
        assert_eq!(rejected, 4);
        // Holm rejects 3 at 0.05 (0.0001*15, 0.0004*14, 0.0019*13 = 0.0247; 0.0095*12 = 0.114)
        let holm = adjust(&p, Correction::Holm).unwrap();
        assert_eq!(holm.iter().filter(|&&v| v <= 0.05).count(), 3);
    }

    proptest! {
        #[test]
        fn adjusted_are_monotone_and_bounded(p in proptest::collection::vec(0.0f64..=1.0, 0..50)) {
            for c in [Correction::FdrBh, Correction::Holm] {
                let a = adjust(&p, c).unwrap();
                for i in 0..p.len() {
                    prop_assert!(a[i] >= p[i] - 1e-15 && a[i] <= 1.0);
                    for j in 0..p.len() {
                        if p[i] < p[j] { prop_assert!(a[i] <= a[j] + 1e-15); }
                    }
                }
            }
            // Holm is never less conservative than BH
            let bh = adjust(&p, Correction::FdrBh).unwrap();
            let holm = adjust(&p, Correction::Holm).unwrap();
            for i in 0..p.len() { prop_assert!(holm[i] >= bh[i] - 1e-15); }
        }
    }
}
