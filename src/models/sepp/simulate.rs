//! Exact simulation of a SEPP by its branching (cluster) construction (Hawkes & Oakes 1974;
//! Zhuang, Ogata & Vere-Jones 2004): background events form a Poisson process; every event
//! independently has Poisson(θ) direct offspring, each displaced by a lag drawn from the
//! exponential time kernel and an offset drawn from the Gaussian space kernel (both truncated
//! at the cut-offs when given, as in the fitted model). Offspring after the end are dropped,
//! and with them their own offspring, which would be later still.

use std::collections::VecDeque;
use std::sync::Arc;

use rand_distr::{Distribution, Poisson};

use crate::error::{require_positive, Error, Result};
use crate::rng::Rng;
use crate::space::{Grid, Region};

/// Where background events fall.
#[derive(Debug, Clone)]
pub enum Background {
    /// A homogeneous Poisson process over a region at `rate_per_day` events per day in all.
    Uniform {
        /// The region (points are drawn uniformly inside it by rejection from its bounds).
        region: Region,
        /// Events per day over the whole region.
        rate_per_day: f64,
    },
    /// Piecewise constant by cell: `rate_per_day[id]` events per day in cell `id`, uniform
    /// within the cell's square.
    Cells {
        /// The grid.
        grid: Arc<Grid>,
        /// Events per day per cell (length `n_cells`; inactive cells must be 0).
        rate_per_day: Vec<f64>,
    },
}

/// Triggering parameters of a simulation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimulationParams {
    /// Expected direct offspring per event; must be in `[0, 1)` (a subcritical process).
    pub theta: f64,
    /// Decay rate of the time kernel, per day.
    pub omega_per_day: f64,
    /// Standard deviation of the Gaussian offset per axis, metres; 0 places offspring on their
    /// parent (the grid ETAS model's "same cell" triggering).
    pub sigma_m: f64,
    /// Optional time cut-off of the kernel, days.
    pub time_cutoff_days: Option<f64>,
    /// Optional space cut-off of the kernel, metres.
    pub space_cutoff_m: Option<f64>,
}

/// A simulated realisation, in time order.
#[derive(Debug, Clone, Default)]
pub struct Simulated {
    /// Easting (m).
    pub x: Vec<f64>,
    /// Northing (m).
    pub y: Vec<f64>,
    /// Time since the start, days.
    pub t_days: Vec<f64>,
    /// Index (in this realisation) of each event's parent, or −1 for background events.
    pub parent: Vec<i64>,
}

impl Simulated {
    /// Number of events.
    pub fn len(&self) -> usize {
        self.x.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }
}

fn poisson(rng: &mut Rng, mean: f64) -> usize {
    if mean <= 0.0 {
        return 0;
    }
    // Poisson::new only fails for non-positive or non-finite means, excluded above/by checks.
    Poisson::new(mean).map_or(0, |d| d.sample(rng) as usize)
}

/// Simulates `[0, t_end_days]` with the given seed (the crate's [`Rng`] of `seed`; same seed, same output).
/// Refuses, before generating, parameter sets whose expected size exceeds `max_events`
/// (expected size = background count / (1 − θ)).
///
/// # Examples
/// ```
/// use placewise::models::sepp::{simulate, Background, SimulationParams};
/// use placewise::space::Region;
/// let bg = Background::Uniform { region: Region::from_bounds(0.0, 0.0, 1000.0, 1000.0).unwrap(),
///                                rate_per_day: 2.0 };
/// let p = SimulationParams { theta: 0.3, omega_per_day: 0.5, sigma_m: 20.0,
///                            time_cutoff_days: None, space_cutoff_m: None };
/// let a = simulate(&p, &bg, 100.0, 7, 1_000_000).unwrap();
/// let b = simulate(&p, &bg, 100.0, 7, 1_000_000).unwrap();
/// assert_eq!(a.t_days, b.t_days);
/// assert!(a.len() > 200);
/// ```
pub fn simulate(
    params: &SimulationParams,
    background: &Background,
    t_end_days: f64,
    seed: u64,
    max_events: u64,
) -> Result<Simulated> {
    require_positive("T", t_end_days)?;
    let p = *params;
    if !(p.theta.is_finite() && (0.0..1.0).contains(&p.theta)) {
        return Err(Error::param(
            "theta",
            format!(
                "must be in [0, 1) for a process that does not explode, got {}",
                p.theta
            ),
        ));
    }
    require_positive("omega", p.omega_per_day)?;
    if !(p.sigma_m.is_finite() && p.sigma_m >= 0.0) {
        return Err(Error::param(
            "sigma",
            format!("must be finite and >= 0, got {}", p.sigma_m),
        ));
    }
    if let Some(tc) = p.time_cutoff_days {
        require_positive("time_cutoff_days", tc)?;
    }
    if let Some(d) = p.space_cutoff_m {
        require_positive("space_cutoff_m", d)?;
    }
    let total_rate = match background {
        Background::Uniform { rate_per_day, .. } => {
            if !(rate_per_day.is_finite() && *rate_per_day >= 0.0) {
                return Err(Error::param(
                    "mu",
                    format!("must be finite and >= 0, got {rate_per_day}"),
                ));
            }
            *rate_per_day
        }
        Background::Cells { grid, rate_per_day } => {
            if rate_per_day.len() != grid.n_cells() {
                return Err(Error::param(
                    "mu",
                    format!(
                        "has {} rates but the grid has {} cells",
                        rate_per_day.len(),
                        grid.n_cells()
                    ),
                ));
            }
            for (i, &r) in rate_per_day.iter().enumerate() {
                if !(r.is_finite() && r >= 0.0) {
                    return Err(Error::data(
                        Some(i),
                        "mu",
                        format!("rate must be finite and >= 0, got {r} (row is the cell id)"),
                    ));
                }
                if r > 0.0 && !grid.is_active(i) {
                    return Err(Error::data(
                        Some(i),
                        "mu",
                        "positive rate in an inactive cell (row is the cell id)",
                    ));
                }
            }
            rate_per_day.iter().sum()
        }
    };
    let expected = total_rate * t_end_days / (1.0 - p.theta);
    if !expected.is_finite() || expected > max_events as f64 {
        return Err(Error::TooLarge {
            param: "max_events".into(),
            what: "expected simulated events".into(),
            requested: if expected.is_finite() {
                expected as u64
            } else {
                u64::MAX
            },
            limit: max_events,
        });
    }

    let mut rng = Rng::new(seed);
    let mut x = Vec::new();
    let mut y = Vec::new();
    let mut t = Vec::new();
    let mut parent: Vec<i64> = Vec::new();
    match background {
        Background::Uniform {
            region,
            rate_per_day,
        } => {
            let n = poisson(&mut rng, rate_per_day * t_end_days);
            let (x0, y0, x1, y1) = region.bounds();
            let box_area = (x1 - x0) * (y1 - y0);
            if n > 0 && region.area_m2() < 1e-6 * box_area {
                return Err(Error::param(
                    "region",
                    "covers under a millionth of its bounding box; cannot sample inside it",
                ));
            }
            for _ in 0..n {
                loop {
                    let px = x0 + rng.next_f64() * (x1 - x0);
                    let py = y0 + rng.next_f64() * (y1 - y0);
                    if region.contains(px, py) {
                        x.push(px);
                        y.push(py);
                        break;
                    }
                }
                t.push(rng.next_f64() * t_end_days);
                parent.push(-1);
            }
        }
        Background::Cells { grid, rate_per_day } => {
            let cs = grid.cell_size();
            for (id, &r) in rate_per_day.iter().enumerate() {
                let n = poisson(&mut rng, r * t_end_days);
                if n == 0 {
                    continue;
                }
                let (cx, cy) = grid.centre(id);
                for _ in 0..n {
                    x.push(cx + (rng.next_f64() - 0.5) * cs);
                    y.push(cy + (rng.next_f64() - 0.5) * cs);
                    t.push(rng.next_f64() * t_end_days);
                    parent.push(-1);
                }
            }
        }
    }
    // Offspring, generation by generation (breadth first, a deterministic order).
    let f_t = p
        .time_cutoff_days
        .map_or(1.0, |tc| -(-p.omega_per_day * tc).exp_m1());
    let mut queue: VecDeque<usize> = (0..x.len()).collect();
    while let Some(j) = queue.pop_front() {
        let k = poisson(&mut rng, p.theta);
        for _ in 0..k {
            // inverse CDF of the (truncated) exponential
            let u: f64 = rng.next_f64();
            let lag = -(-u * f_t).ln_1p() / p.omega_per_day;
            let tc = t[j] + lag;
            let (dx, dy) = loop {
                let (a, b) = gaussian_pair(&mut rng);
                let (dx, dy) = (a * p.sigma_m, b * p.sigma_m);
                match p.space_cutoff_m {
                    Some(d) if dx * dx + dy * dy > d * d => continue,
                    _ => break (dx, dy),
                }
            };
            if tc > t_end_days {
                continue;
            }
            if x.len() as u64 >= max_events {
                return Err(Error::TooLarge {
                    param: "max_events".into(),
                    what: "simulated events".into(),
                    requested: x.len() as u64 + 1,
                    limit: max_events,
                });
            }
            x.push(x[j] + dx);
            y.push(y[j] + dy);
            t.push(tc);
            parent.push(j as i64);
            queue.push_back(x.len() - 1);
        }
    }
    // Time order (ties by generation order); parents re-indexed.
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| t[a].total_cmp(&t[b]).then(a.cmp(&b)));
    let mut new_index = vec![0i64; x.len()];
    for (k, &i) in order.iter().enumerate() {
        new_index[i] = k as i64;
    }
    Ok(Simulated {
        x: order.iter().map(|&i| x[i]).collect(),
        y: order.iter().map(|&i| y[i]).collect(),
        t_days: order.iter().map(|&i| t[i]).collect(),
        parent: order
            .iter()
            .map(|&i| {
                if parent[i] < 0 {
                    -1
                } else {
                    new_index[parent[i] as usize]
                }
            })
            .collect(),
    })
}

/// Two independent standard normal draws (Box–Muller).
fn gaussian_pair(rng: &mut Rng) -> (f64, f64) {
    let u1: f64 = 1.0 - rng.next_f64(); // (0, 1]
    let u2: f64 = rng.next_f64();
    let r = (-2.0 * u1.ln()).sqrt();
    let a = 2.0 * std::f64::consts::PI * u2;
    (r * a.cos(), r * a.sin())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(theta: f64) -> SimulationParams {
        SimulationParams {
            theta,
            omega_per_day: 1.0 / 7.0,
            sigma_m: 50.0,
            time_cutoff_days: None,
            space_cutoff_m: None,
        }
    }

    #[test]
    fn counts_and_kernel_moments_match_theory() {
        // Far from edges in time: E[N] = μT/(1−θ); offspring lags ~ Exp(ω), offsets ~ N(0, σ²).
        let bg = Background::Uniform {
            region: Region::from_bounds(0.0, 0.0, 10_000.0, 10_000.0).unwrap(),
            rate_per_day: 20.0,
        };
        let s = simulate(&params(0.3), &bg, 2000.0, 11, 10_000_000).unwrap();
        let expected = 20.0 * 2000.0 / 0.7;
        // the window clips offspring of late events: allow 2 %
        assert!(
            (s.len() as f64 / expected - 1.0).abs() < 0.02,
            "{} vs {expected}",
            s.len()
        );
        let kids: Vec<usize> = (0..s.len()).filter(|&i| s.parent[i] >= 0).collect();
        let lag: f64 = kids
            .iter()
            .map(|&i| s.t_days[i] - s.t_days[s.parent[i] as usize])
            .sum::<f64>()
            / kids.len() as f64;
        assert!((lag / 7.0 - 1.0).abs() < 0.03, "mean lag {lag}");
        let var: f64 = kids
            .iter()
            .map(|&i| (s.x[i] - s.x[s.parent[i] as usize]).powi(2))
            .sum::<f64>()
            / kids.len() as f64;
        assert!((var.sqrt() / 50.0 - 1.0).abs() < 0.03, "sd {}", var.sqrt());
        assert!(s.t_days.windows(2).all(|w| w[0] <= w[1]));
        assert!(kids.iter().all(|&i| (s.parent[i] as usize) < i));
    }

    #[test]
    fn same_seed_same_output_and_bad_input_is_named() {
        let g = Arc::new(Grid::from_extent(0.0, 0.0, 100.0, 3, 3).unwrap());
        let mut r = vec![0.0; 9];
        r[4] = 1.0;
        let bg = Background::Cells {
            grid: g.clone(),
            rate_per_day: r,
        };
        let a = simulate(&params(0.5), &bg, 50.0, 3, 100_000).unwrap();
        let b = simulate(&params(0.5), &bg, 50.0, 3, 100_000).unwrap();
        assert_eq!(a.x, b.x);
        let c = simulate(&params(0.5), &bg, 50.0, 4, 100_000).unwrap();
        assert_ne!(a.x, c.x);
        for (p, name) in [
            (params(1.0), "theta"),
            (
                SimulationParams {
                    omega_per_day: 0.0,
                    ..params(0.2)
                },
                "omega",
            ),
            (
                SimulationParams {
                    sigma_m: f64::NAN,
                    ..params(0.2)
                },
                "sigma",
            ),
        ] {
            let e = simulate(&p, &bg, 50.0, 0, 1000).unwrap_err();
            assert!(e.to_string().contains(name), "{e}");
        }
        let e = simulate(&params(0.2), &bg, 0.0, 0, 1000).unwrap_err();
        assert!(e.to_string().contains("`T`"), "{e}");
        let e = simulate(&params(0.2), &bg, 1e9, 0, 1000).unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    }
}
