//! The training slice of a prediction: which incidents a model at time `at` may use.

use crate::data::Incidents;
use crate::error::{require_positive, Error, Result};

/// Seconds in a day.
pub(crate) const DAY_S: f64 = 86_400.0;

/// Rows `[a, b)` of `inc` (sorted by time) that a prediction at `at` trains on, and the window
/// `[start, end)` in UTC seconds.
///
/// * `at = None` means just after the last incident (`t_last + 1`).
/// * `at` at or before the first incident is refused: there is nothing before it to learn from.
/// * with `window_days`, only incidents with `at - window <= t < at` are used; an empty window
///   is an [`Error::EmptyInput`] that states the window.
pub(crate) fn training_range(
    inc: &Incidents,
    at: Option<i64>,
    window_days: Option<f64>,
) -> Result<(usize, usize, i64, i64)> {
    let (first, last) = inc
        .time_span()
        .ok_or_else(|| Error::empty("no training incidents (fit on an empty table)"))?;
    let at = at.unwrap_or(last.saturating_add(1));
    if at <= first {
        return Err(Error::param(
            "at",
            format!(
                "{at} (UTC seconds) is at or before the first training incident ({first}); \
                 a prediction uses incidents strictly before `at`"
            ),
        ));
    }
    let t = inc.t();
    let b = t.partition_point(|&v| v < at);
    let (a, start) = match window_days {
        None => (0, first),
        Some(days) => {
            require_positive("window_days", days)?;
            let w = (days * DAY_S).round();
            let start = if w >= (at as f64 - i64::MIN as f64) {
                i64::MIN
            } else {
                at - w as i64
            };
            (t.partition_point(|&v| v < start), start)
        }
    };
    if a >= b {
        return Err(Error::empty(format!(
            "no incidents in the training window [{start}, {at}) (UTC seconds); \
             widen window_days or move `at`"
        )));
    }
    Ok((a, b, start, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_half_open_and_checked() {
        let inc = Incidents::new(vec![0.0; 3], vec![0.0; 3], vec![0, 86_400, 172_800]).unwrap();
        assert_eq!(
            training_range(&inc, None, None).unwrap(),
            (0, 3, 0, 172_801)
        );
        assert_eq!(
            training_range(&inc, Some(172_800), Some(1.0)).unwrap(),
            (1, 2, 86_400, 172_800)
        );
        let e = training_range(&inc, Some(0), None).unwrap_err();
        assert!(e.to_string().contains("`at`"), "{e}");
        let e = training_range(&inc, Some(10 * 86_400), Some(2.0)).unwrap_err();
        assert!(matches!(e, Error::EmptyInput { .. }), "{e}");
        let e = training_range(&inc, None, Some(0.0)).unwrap_err();
        assert!(e.to_string().contains("window_days"), "{e}");
    }
}
