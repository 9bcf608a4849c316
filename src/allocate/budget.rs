use crate::error::{require_positive, Error, Result};

/// Relative tolerance used when comparing sums of doses with budgets and caps.
pub(crate) const TOL: f64 = 1e-9;

/// Districts of the active cells with optional caps and minimums on the units each receives.
///
/// `of_cell[i]` is the district (an index into `names`) of active cell `i`, or `None` for a
/// cell in no district (it is bound only by the per-cell cap). The Python layer assigns a cell
/// to the district polygon that overlaps it by the largest area (ties: the first polygon).
#[derive(Debug, Clone, PartialEq)]
pub struct Districts {
    /// District of each active cell.
    pub of_cell: Vec<Option<usize>>,
    /// District names, for error messages and reports.
    pub names: Vec<String>,
    /// Most units a district may receive (`None`: no cap).
    pub caps: Vec<Option<f64>>,
    /// Fewest units a district must receive (0: none).
    pub minimums: Vec<f64>,
}

/// A patrol budget for one shift.
///
/// * `units`: patrol units to place (a unit patrols one cell for the whole shift). Fractions
///   are allowed (part of a shift); with `shift_hours` set, `units × shift_hours` is the number
///   of patrol hours.
/// * `per_cell_cap`: most units any one cell may receive (default 1).
/// * `shift_hours`: when set, strategies that hand out whole pieces (`proportional`,
///   `randomized`) hand out whole hours (`1 / shift_hours` units) instead of whole units.
/// * `districts`: optional caps and minimums per district.
///
/// # Examples
/// ```
/// use placewise::allocate::Budget;
/// let b = Budget::new(40.0).with_per_cell_cap(2.0);
/// assert!(b.validate(100).is_ok());
/// assert!(b.validate(10).is_err()); // 40 units cannot fit in 10 cells × 2
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    /// Units to place.
    pub units: f64,
    /// Most units per cell.
    pub per_cell_cap: f64,
    /// Length of the shift in hours (sets the granularity of whole-piece strategies).
    pub shift_hours: Option<f64>,
    /// Caps and minimums per district.
    pub districts: Option<Districts>,
}

impl Budget {
    /// `units` units, at most one per cell, no districts.
    pub fn new(units: f64) -> Self {
        Budget {
            units,
            per_cell_cap: 1.0,
            shift_hours: None,
            districts: None,
        }
    }

    /// Sets the per-cell cap.
    pub fn with_per_cell_cap(mut self, cap: f64) -> Self {
        self.per_cell_cap = cap;
        self
    }

    /// Sets the shift length in hours.
    pub fn with_shift_hours(mut self, hours: f64) -> Self {
        self.shift_hours = Some(hours);
        self
    }

    /// Sets district caps and minimums.
    pub fn with_districts(mut self, districts: Districts) -> Self {
        self.districts = Some(districts);
        self
    }

    /// The smallest piece whole-piece strategies hand out, in units: 1, or one hour.
    pub fn quantum(&self) -> f64 {
        self.shift_hours.map_or(1.0, |h| 1.0 / h)
    }

    /// Checks the budget against `n_cells` active cells and says which constraint fails.
    ///
    /// Errors: [`Error::InvalidParameter`] for a non-positive or non-finite `units` (a zero
    /// budget allocates nothing), cap or shift length, or malformed districts;
    /// [`Error::Infeasible`] when the budget cannot be placed: more units than
    /// `n_cells × per_cell_cap` (constraint `budget`), district minimums above the budget
    /// (`district_minimums`) or above what a district can hold (`district_minimums[name]`),
    /// or caps that leave too little room (`district_caps`).
    pub fn validate(&self, n_cells: usize) -> Result<()> {
        if !(self.units.is_finite() && self.units > 0.0) {
            return Err(Error::param(
                "units",
                format!(
                    "must be a finite number greater than 0 (a zero budget allocates nothing), got {}",
                    self.units
                ),
            ));
        }
        require_positive("per_cell_cap", self.per_cell_cap)?;
        if let Some(h) = self.shift_hours {
            require_positive("shift_hours", h)?;
        }
        if n_cells == 0 {
            return Err(Error::empty("risk: no active cells to allocate to"));
        }
        let capacity = n_cells as f64 * self.per_cell_cap;
        if self.units > capacity * (1.0 + TOL) {
            return Err(Error::Infeasible {
                constraint: "budget".into(),
                reason: format!(
                    "{} units exceed the {} active cells × per_cell_cap {} = {} units that can be placed",
                    self.units, n_cells, self.per_cell_cap, capacity
                ),
            });
        }
        if let Some(d) = &self.districts {
            self.validate_districts(d, n_cells)?;
        }
        Ok(())
    }

    #[allow(clippy::needless_range_loop)]
    fn validate_districts(&self, d: &Districts, n_cells: usize) -> Result<()> {
        let k = d.names.len();
        if d.caps.len() != k || d.minimums.len() != k {
            return Err(Error::param(
                "districts",
                format!(
                    "names, caps and minimums must have one entry per district, got {}, {} and {}",
                    k,
                    d.caps.len(),
                    d.minimums.len()
                ),
            ));
        }
        if d.of_cell.len() != n_cells {
            return Err(Error::param(
                "districts",
                format!(
                    "one district per active cell is needed, got {} for {} cells",
                    d.of_cell.len(),
                    n_cells
                ),
            ));
        }
        let mut count = vec![0usize; k];
        let mut free = 0usize;
        for (i, c) in d.of_cell.iter().enumerate() {
            match c {
                Some(j) if *j < k => count[*j] += 1,
                Some(j) => {
                    return Err(Error::data(
                        Some(i),
                        "district",
                        format!("district index {j} is out of range 0..{k}"),
                    ))
                }
                None => free += 1,
            }
        }
        let mut room = free as f64 * self.per_cell_cap;
        let mut need = 0.0;
        for j in 0..k {
            let name = &d.names[j];
            let m = d.minimums[j];
            if !(m.is_finite() && m >= 0.0) {
                return Err(Error::param(
                    format!("district_minimums[{name}]"),
                    format!("must be a finite number ≥ 0, got {m}"),
                ));
            }
            let hold = count[j] as f64 * self.per_cell_cap;
            let cap = match d.caps[j] {
                Some(c) if c.is_finite() && c >= 0.0 => c.min(hold),
                Some(c) => {
                    return Err(Error::param(
                        format!("district_caps[{name}]"),
                        format!("must be a finite number ≥ 0, got {c}"),
                    ))
                }
                None => hold,
            };
            if m > cap * (1.0 + TOL) + TOL {
                return Err(Error::Infeasible {
                    constraint: format!("district_minimums[{name}]"),
                    reason: format!(
                        "a minimum of {m} units exceeds what the district can hold: {cap} units \
                         ({} cells × per_cell_cap {}{})",
                        count[j],
                        self.per_cell_cap,
                        d.caps[j].map_or(String::new(), |c| format!(", district cap {c}"))
                    ),
                });
            }
            room += cap;
            need += m;
        }
        if need > self.units * (1.0 + TOL) {
            return Err(Error::Infeasible {
                constraint: "district_minimums".into(),
                reason: format!(
                    "the district minimums add up to {need} units, more than the budget of {} units",
                    self.units
                ),
            });
        }
        if self.units > room * (1.0 + TOL) + TOL {
            return Err(Error::Infeasible {
                constraint: "district_caps".into(),
                reason: format!(
                    "the district caps and per-cell caps leave room for {room} units, fewer than the budget of {} units",
                    self.units
                ),
            });
        }
        Ok(())
    }

    /// The effective cap of each district (its own cap, or what its cells can hold).
    pub(crate) fn district_room(&self, d: &Districts) -> Vec<f64> {
        let mut hold = vec![0.0; d.names.len()];
        for j in d.of_cell.iter().flatten() {
            hold[*j] += self.per_cell_cap;
        }
        hold.iter()
            .zip(&d.caps)
            .map(|(&h, c)| c.map_or(h, |c| c.min(h)))
            .collect()
    }

    /// Whole pieces in `units` (for whole-piece strategies), naming `strategy` when `units`
    /// is not a whole number of pieces.
    pub(crate) fn pieces(&self, strategy: &str) -> Result<(u64, u64)> {
        let q = self.quantum();
        let what = if self.shift_hours.is_some() {
            "hours"
        } else {
            "units"
        };
        let n = self.units / q;
        if (n - n.round()).abs() > 1e-6 {
            return Err(Error::param(
                "units",
                format!(
                    "{strategy} hands out whole {what}: the budget of {} units is {n} {what}; \
                     use a whole number (or top_k/fair, which allow fractions)",
                    self.units
                ),
            ));
        }
        let cap = (self.per_cell_cap / q + 1e-6).floor();
        if cap < 1.0 {
            return Err(Error::param(
                "per_cell_cap",
                format!(
                    "{strategy} hands out whole {what}: the per-cell cap of {} units holds none",
                    self.per_cell_cap
                ),
            ));
        }
        Ok((n.round() as u64, cap as u64))
    }
}

/// Checks that every risk value is finite and non-negative, naming the first bad row.
pub(crate) fn check_risk(risk: &[f64]) -> Result<()> {
    if risk.is_empty() {
        return Err(Error::empty("risk: no active cells to allocate to"));
    }
    for (i, &r) in risk.iter().enumerate() {
        if r.is_nan() {
            return Err(Error::data(Some(i), "risk", "risk is NaN"));
        }
        if !r.is_finite() {
            return Err(Error::data(Some(i), "risk", format!("risk is {r}")));
        }
        if r < 0.0 {
            return Err(Error::data(
                Some(i),
                "risk",
                format!("risk is negative ({r}); allocation needs risk ≥ 0"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn districts(of: Vec<Option<usize>>, caps: Vec<Option<f64>>, mins: Vec<f64>) -> Districts {
        Districts {
            of_cell: of,
            names: (0..caps.len()).map(|i| format!("D{i}")).collect(),
            caps,
            minimums: mins,
        }
    }

    #[test]
    fn rejects_zero_negative_and_nan_budgets() {
        for u in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = Budget::new(u).validate(10).unwrap_err();
            assert!(matches!(e, Error::InvalidParameter { ref name, .. } if name == "units"));
        }
        let e = Budget::new(1.0)
            .with_per_cell_cap(0.0)
            .validate(10)
            .unwrap_err();
        assert!(e.to_string().contains("per_cell_cap"));
    }

    #[test]
    fn budget_above_capacity_is_infeasible() {
        let e = Budget::new(11.0).validate(10).unwrap_err();
        assert!(matches!(e, Error::Infeasible { ref constraint, .. } if constraint == "budget"));
        assert!(Budget::new(10.0).validate(10).is_ok());
        assert!(Budget::new(20.0)
            .with_per_cell_cap(2.0)
            .validate(10)
            .is_ok());
    }

    #[test]
    fn district_checks_name_the_constraint() {
        let of = vec![Some(0), Some(0), Some(1), None];
        let b = Budget::new(3.0).with_districts(districts(
            of.clone(),
            vec![None, None],
            vec![3.0, 0.0],
        ));
        let e = b.validate(4).unwrap_err();
        assert!(e.to_string().contains("district_minimums[D0]"), "{e}");
        let b = Budget::new(2.0).with_districts(districts(
            of.clone(),
            vec![None, None],
            vec![2.0, 1.0],
        ));
        let e = b.validate(4).unwrap_err();
        assert!(
            matches!(e, Error::Infeasible { ref constraint, .. } if constraint == "district_minimums")
        );
        let b = Budget::new(3.0).with_districts(districts(
            of.clone(),
            vec![Some(1.0), Some(0.0)],
            vec![0.0, 0.0],
        ));
        let e = b.validate(4).unwrap_err();
        assert!(
            matches!(e, Error::Infeasible { ref constraint, .. } if constraint == "district_caps")
        );
        let b = Budget::new(2.0).with_districts(districts(
            of,
            vec![Some(1.0), Some(0.0)],
            vec![1.0, 0.0],
        ));
        assert!(b.validate(4).is_ok());
    }

    #[test]
    fn risk_checks_name_the_row() {
        let e = check_risk(&[1.0, f64::NAN]).unwrap_err();
        assert!(matches!(e, Error::DataValidation { row: Some(1), .. }));
        let e = check_risk(&[1.0, 2.0, -0.5]).unwrap_err();
        assert!(e.to_string().contains("negative"));
        assert!(matches!(
            check_risk(&[]).unwrap_err(),
            Error::EmptyInput { .. }
        ));
    }

    #[test]
    fn pieces_need_whole_units_or_hours() {
        assert_eq!(Budget::new(3.0).pieces("p").unwrap(), (3, 1));
        assert!(Budget::new(2.5).pieces("p").is_err());
        assert_eq!(
            Budget::new(2.5).with_shift_hours(8.0).pieces("p").unwrap(),
            (20, 8)
        );
    }
}
