//! Mann–Kendall test for a monotonic trend in a series.

use crate::error::{Error, Result};
use crate::stats::gi_star::two_sided_p;

/// Result of [`mann_kendall`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MannKendall {
    /// `S = Σ_{i<j} sign(x_j − x_i)`.
    pub s: i64,
    /// Variance of `S` under no trend, corrected for ties.
    pub var_s: f64,
    /// Normal score with continuity correction: `(S − sign S) / √Var(S)`.
    pub z: f64,
    /// Two-sided p-value `2 Φ(−|z|)`.
    pub p: f64,
    /// Kendall's tau-a, `S / (n (n − 1) / 2)`.
    pub tau: f64,
}

/// The Mann–Kendall trend test (Mann 1945; Kendall 1975), in the form of Hirsch, Slack & Smith
/// (1982) and Gilbert (1987, §16.4): `S = Σ_{i<j} sign(x_j − x_i)`,
/// `Var(S) = [n(n−1)(2n+5) − Σ_g t_g(t_g−1)(2t_g+5)] / 18` over groups of `t_g` tied values,
/// `z = (S − 1)/√Var` for `S > 0`, `(S + 1)/√Var` for `S < 0`, 0 otherwise; two-sided normal
/// p-value. A series of fewer than 3 values, or with a non-finite value, is refused. A series
/// with no variation has `z = 0`, `p = 1`.
///
/// # Examples
/// ```
/// use placewise::stats::mann_kendall;
/// let mk = mann_kendall(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
/// assert_eq!(mk.s, 10);
/// assert!((mk.var_s - 300.0 / 18.0).abs() < 1e-12);
/// ```
pub fn mann_kendall(x: &[f64]) -> Result<MannKendall> {
    let n = x.len();
    if n < 3 {
        return Err(Error::param(
            "series",
            format!("the Mann–Kendall test needs at least 3 values, got {n}"),
        ));
    }
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::data(Some(i), "series", "value is NaN or infinite"));
    }
    let mut s: i64 = 0;
    for i in 0..n {
        for j in i + 1..n {
            s += match x[j].partial_cmp(&x[i]) {
                Some(std::cmp::Ordering::Greater) => 1,
                Some(std::cmp::Ordering::Less) => -1,
                _ => 0,
            };
        }
    }
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut ties = 0.0;
    let mut k = 0;
    while k < n {
        let mut e = k + 1;
        while e < n && sorted[e] == sorted[k] {
            e += 1;
        }
        let t = (e - k) as f64;
        ties += t * (t - 1.0) * (2.0 * t + 5.0);
        k = e;
    }
    let nf = n as f64;
    let var_s = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - ties) / 18.0;
    let z = if var_s <= 0.0 || s == 0 {
        0.0
    } else {
        (s - s.signum()) as f64 / var_s.sqrt()
    };
    Ok(MannKendall {
        s,
        var_s,
        z,
        p: two_sided_p(z),
        tau: s as f64 / (nf * (nf - 1.0) / 2.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_example() {
        // n = 5 strictly increasing: S = 10, Var(S) = 5·4·15/18 = 16.667,
        // z = 9/√16.667 = 2.2045, two-sided p = 0.02749 (normal tables).
        let mk = mann_kendall(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert!((mk.z - 9.0 / (300.0f64 / 18.0).sqrt()).abs() < 1e-12);
        assert!((mk.p - 0.027_486).abs() < 2e-5, "{}", mk.p);
        assert_eq!(mk.tau, 1.0);
    }

    #[test]
    fn ties_reduce_variance() {
        // values 1,1,2,2,2: groups of 2 and 3 → ties term 2·1·9 + 3·2·11 = 84
        let mk = mann_kendall(&[1.0, 1.0, 2.0, 2.0, 2.0]).unwrap();
        assert_eq!(mk.s, 6);
        assert!((mk.var_s - (5.0 * 4.0 * 15.0 - 84.0) / 18.0).abs() < 1e-12);
        let flat = mann_kendall(&[3.0; 6]).unwrap();
        assert_eq!((flat.z, flat.p), (0.0, 1.0));
    }

    #[test]
    fn refuses_short_or_nan() {
        assert!(mann_kendall(&[1.0, 2.0]).is_err());
        let e = mann_kendall(&[1.0, f64::NAN, 2.0]).unwrap_err();
        assert!(e.to_string().contains("row 1"));
    }
}
