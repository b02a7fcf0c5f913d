//! Service-size distributions as the formulas need them (the distribution function and the
//! partial moments below a size), and the size-aware results built on them: M/G/1 under
//! preemptive SRPT (Schrage and Miller's integral, computed numerically) and size-interval
//! task assignment (SITA, SITA-E).
//!
//! Times are in nanoseconds at speed 1 (divide by a worker's speed for its service times).
//! The [`crate::dist::MAX_SAMPLE`] cut of the heavy tails is ignored: it moves nothing but
//! the most extreme Pareto tails.

use crate::dist::Dist;

/// A size distribution: atoms (const, mix) or one of the continuous laws `dist` offers.
#[derive(Clone, Debug, PartialEq)]
pub enum SizeLaw {
    /// Sizes `x` with probabilities `p`, ascending in `x`, summing to 1.
    Atoms(Vec<(f64, f64)>),
    /// Exponential with this mean.
    Exp(f64),
    /// Uniform on `[low, high]`, `low < high`.
    Uniform(f64, f64),
    /// Pareto type I with this scale (the smallest size) and tail index `alpha > 1`.
    Pareto(f64, f64),
    /// Lognormal: `exp(mu + sigma Z)`.
    LogNormal(f64, f64),
}

/// The standard normal distribution function.
fn phi(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

impl SizeLaw {
    /// The law of `dist`'s sizes at `speed` (service time = size / speed), or why there is
    /// none (empirical distributions are not offered here).
    pub fn new(dist: &Dist, speed: f64) -> Result<SizeLaw, String> {
        let t = |ns: u64| ns as f64 / speed;
        Ok(match *dist {
            Dist::Const(v) => SizeLaw::Atoms(vec![(t(v), 1.0)]),
            Dist::Mix { fast, slow, p_slow } => {
                let mut atoms = vec![(t(fast), 1.0 - p_slow), (t(slow), p_slow)];
                atoms.sort_by(|a, b| a.0.total_cmp(&b.0));
                atoms.retain(|a| a.1 > 0.0);
                if atoms.len() == 2 && atoms[0].0 == atoms[1].0 {
                    atoms = vec![(atoms[0].0, 1.0)];
                }
                SizeLaw::Atoms(atoms)
            }
            Dist::Uniform { low, high } if low == high => SizeLaw::Atoms(vec![(t(low), 1.0)]),
            Dist::Uniform { low, high } => SizeLaw::Uniform(t(low), t(high)),
            Dist::Exp { mean } => SizeLaw::Exp(t(mean)),
            Dist::Pareto { mean, alpha } => SizeLaw::Pareto(t(mean) * (alpha - 1.0) / alpha, alpha),
            Dist::LogNormal { mean, sigma } => SizeLaw::LogNormal(t(mean).ln() - sigma * sigma / 2.0, sigma),
            Dist::Empirical(_) => return Err("an empirical distribution".to_string()),
        })
    }

    /// P(S < x).
    pub fn cdf_below(&self, x: f64) -> f64 {
        self.partial(x, 0)
    }

    /// E[S^k; S < x] for k = 0, 1, 2.
    pub fn partial(&self, x: f64, k: i32) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        match *self {
            SizeLaw::Atoms(ref atoms) => atoms.iter().filter(|a| a.0 < x).map(|a| a.1 * a.0.powi(k)).sum(),
            SizeLaw::Exp(m) => {
                let u = x / m;
                let e = (-u).exp();
                match k {
                    0 => -(-u).exp_m1(),
                    1 => m * (1.0 - e * (1.0 + u)),
                    _ => 2.0 * m * m * (1.0 - e * (1.0 + u + u * u / 2.0)),
                }
            }
            SizeLaw::Uniform(a, b) => {
                let x = x.clamp(a, b);
                (x.powi(k + 1) - a.powi(k + 1)) / ((k + 1) as f64 * (b - a))
            }
            SizeLaw::Pareto(s, alpha) => {
                if x <= s {
                    return 0.0;
                }
                let e = alpha - k as f64;
                if e.abs() < 1e-12 {
                    alpha * s.powi(k) * (x / s).ln()
                } else {
                    alpha * s.powi(k) / e * (1.0 - (s / x).powf(e))
                }
            }
            SizeLaw::LogNormal(mu, sigma) => {
                let kf = k as f64;
                (kf * mu + kf * kf * sigma * sigma / 2.0).exp()
                    * phi((x.ln() - mu - kf * sigma * sigma) / sigma)
            }
        }
    }

    /// E[S^k] for k = 0, 1, 2 (infinite for a Pareto law's second moment when alpha <= 2).
    pub fn moment(&self, k: i32) -> f64 {
        match k {
            0 => 1.0,
            1 => self.mean(),
            _ => self.second_moment(),
        }
    }

    /// The mean size.
    pub fn mean(&self) -> f64 {
        match *self {
            SizeLaw::Atoms(ref atoms) => atoms.iter().map(|a| a.1 * a.0).sum(),
            SizeLaw::Exp(m) => m,
            SizeLaw::Uniform(a, b) => (a + b) / 2.0,
            SizeLaw::Pareto(s, alpha) => alpha * s / (alpha - 1.0),
            SizeLaw::LogNormal(mu, sigma) => (mu + sigma * sigma / 2.0).exp(),
        }
    }

    /// The second moment (infinite for Pareto with alpha <= 2).
    pub fn second_moment(&self) -> f64 {
        match *self {
            SizeLaw::Atoms(ref atoms) => atoms.iter().map(|a| a.1 * a.0 * a.0).sum(),
            SizeLaw::Exp(m) => 2.0 * m * m,
            SizeLaw::Uniform(a, b) => (a * a + a * b + b * b) / 3.0,
            SizeLaw::Pareto(_, alpha) if alpha <= 2.0 => f64::INFINITY,
            SizeLaw::Pareto(s, alpha) => alpha * s * s / (alpha - 2.0),
            SizeLaw::LogNormal(mu, sigma) => (2.0 * mu + 2.0 * sigma * sigma).exp(),
        }
    }

    /// The size below which a fraction `u` of sizes lie (continuous laws; the largest atom
    /// for atoms).
    fn quantile(&self, u: f64) -> f64 {
        match *self {
            SizeLaw::Atoms(ref atoms) => atoms.last().map_or(0.0, |a| a.0),
            SizeLaw::Exp(m) => -m * (-u).ln_1p(),
            SizeLaw::Uniform(a, b) => a + u * (b - a),
            SizeLaw::Pareto(s, alpha) => s * (1.0 - u).powf(-1.0 / alpha),
            SizeLaw::LogNormal(mu, sigma) => {
                let (mut lo, mut hi) = (-40.0, 40.0);
                for _ in 0..200 {
                    let mid = (lo + hi) / 2.0;
                    if phi(mid) < u { lo = mid } else { hi = mid }
                }
                (mu + sigma * (lo + hi) / 2.0).exp()
            }
        }
    }
}

/// A number computed numerically, with a bound on its error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// The value.
    pub value: f64,
    /// An estimate of its absolute error: the extrapolation's step (a third of the difference
    /// between the integral on a grid and on one twice as fine), plus the size of the tail
    /// beyond the grid's end.
    pub error: f64,
}

/// Mean response time of M/G/1 under preemptive SRPT (Schrage and Miller, 1966) at arrival
/// rate `lambda` (per ns): with `rho(x) = lambda E[S; S <= x]`,
/// `E[T | x] = lambda (E[S^2; S <= x] + x^2 P(S > x)) / (2 (1 - rho(x)) (1 - rho(x-)))
/// + integral_0^x dt / (1 - rho(t-))`, averaged over the sizes (the two factors of the
/// denominator differ only at an atom, where equal sizes are served first come first served,
/// so a deterministic size gives M/D/1). Atoms are summed exactly; continuous laws are
/// integrated by trapezoids on geometric grids of sizes of 2,000 and 4,000 cells, extrapolated
/// (Richardson); [`Estimate::error`] bounds what is left (about 1e-6 relative at rho 0.8). `None` at or above load 1.
pub fn srpt_mean(lambda: f64, law: &SizeLaw) -> Option<Estimate> {
    if lambda * law.mean() >= 1.0 {
        return None;
    }
    if let SizeLaw::Atoms(atoms) = law {
        return Some(Estimate { value: srpt_atoms(lambda, atoms), error: 0.0 });
    }
    let coarse = srpt_grid(lambda, law, 2_000);
    let (fine, tail) = srpt_grid_tail(lambda, law, 4_000);
    // The trapezoids' error falls as the square of the cell: extrapolate (Richardson).
    let step = (fine - coarse) / 3.0;
    Some(Estimate { value: fine + step, error: step.abs() + tail })
}

fn srpt_atoms(lambda: f64, atoms: &[(f64, f64)]) -> f64 {
    let (mut rho_below, mut m2, mut mass, mut residence, mut last) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let mut total = 0.0;
    for &(x, p) in atoms {
        residence += (x - last) / (1.0 - rho_below);
        m2 += p * x * x;
        mass += p;
        let rho_upto = rho_below + lambda * p * x;
        let wait =
            lambda * (m2 + x * x * (1.0 - mass).max(0.0)) / (2.0 * (1.0 - rho_upto) * (1.0 - rho_below));
        total += p * (wait + residence);
        rho_below = rho_upto;
        last = x;
    }
    total
}

fn srpt_grid(lambda: f64, law: &SizeLaw, cells: usize) -> f64 {
    srpt_grid_tail(lambda, law, cells).0
}

/// The SRPT integral on `cells` geometric cells from the 1e-12 quantile to the 1 - 1e-15
/// one, plus the tail beyond (where rho is taken as its limit); returns the value and the
/// tail's share, as its own error bound.
fn srpt_grid_tail(lambda: f64, law: &SizeLaw, cells: usize) -> (f64, f64) {
    let rho_total = lambda * law.mean();
    let lo = law.quantile(1e-12).max(1e-300);
    let hi = law.quantile(1.0 - 1e-15).max(lo * 2.0);
    let ratio = (hi / lo).powf(1.0 / cells as f64);
    let given = |x: f64, residence: f64| {
        let rho = lambda * law.partial(x, 1);
        let above = 1.0 - law.cdf_below(x);
        lambda * (law.partial(x, 2) + x * x * above) / (2.0 * (1.0 - rho) * (1.0 - rho)) + residence
    };
    // Below `lo` rho is nil: the residence time is the size.
    let (mut x, mut residence) = (lo, lo);
    let (mut t_prev, mut f_prev, mut inv_prev) = (given(lo, lo), law.cdf_below(lo), 1.0);
    let mut total = law.cdf_below(lo) * lo;
    for i in 1..=cells {
        let next = if i == cells { hi } else { lo * ratio.powi(i as i32) };
        let inv = 1.0 / (1.0 - lambda * law.partial(next, 1));
        residence += (next - x) * (inv + inv_prev) / 2.0;
        let (t, f) = (given(next, residence), law.cdf_below(next));
        total += (t + t_prev) / 2.0 * (f - f_prev);
        (x, t_prev, f_prev, inv_prev) = (next, t, f, inv);
    }
    // Beyond `hi`: sizes there see rho at its limit: E[T | x] ~ T(hi) + (x - hi) / (1 - rho).
    let above = 1.0 - f_prev;
    let beyond = law.mean() - law.partial(hi, 1);
    let tail = above * t_prev + (beyond - hi * above) / (1.0 - rho_total);
    (total + tail, tail.abs())
}

/// One host of a SITA assignment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SitaHost {
    /// Its sizes: `[from, to)` (ns at speed 1).
    pub from: f64,
    /// See `from`.
    pub to: f64,
    /// The fraction of requests it receives.
    pub share: f64,
    /// Its load (arrival rate x mean size of its requests).
    pub load: f64,
    /// Its mean response time (Pollaczek-Khinchine); `None` when it is overloaded or its
    /// sizes have an infinite second moment.
    pub mean: Option<f64>,
}

/// Size-interval task assignment: requests of size in `[cutoffs[i-1], cutoffs[i])` go to host
/// `i` (with 0 before the first cutoff and infinity after the last), each host one FCFS
/// server, so each is an M/G/1 queue with its share of the Poisson arrivals at rate `lambda`
/// (per ns) and the sizes of its interval. Returns the hosts and the mean over all requests
/// (`None` if any host that receives requests has no finite mean).
pub fn sita(lambda: f64, law: &SizeLaw, cutoffs: &[f64]) -> (Vec<SitaHost>, Option<f64>) {
    let mut bounds = vec![0.0];
    bounds.extend_from_slice(cutoffs);
    bounds.push(f64::INFINITY);
    let at = |x: f64, k: i32| if x.is_infinite() { law.moment(k) } else { law.partial(x, k) };
    let hosts: Vec<SitaHost> = bounds
        .windows(2)
        .map(|w| {
            let (from, to) = (w[0], w[1]);
            let share = at(to, 0) - at(from, 0);
            let m1 = at(to, 1) - at(from, 1);
            let m2 = at(to, 2) - at(from, 2);
            let load = lambda * m1;
            // P-K with the host's rate lambda share and conditional moments m1 / share, m2 /
            // share: E[S | host] + lambda m2 / (2 (1 - load)).
            let mean = (share > 0.0 && load < 1.0 && m2.is_finite())
                .then(|| m1 / share + lambda * m2 / (2.0 * (1.0 - load)));
            SitaHost { from, to, share, load, mean }
        })
        .collect();
    let overall = hosts.iter().filter(|h| h.share > 0.0).map(|h| h.mean.map(|m| h.share * m)).sum();
    (hosts, overall)
}

/// SITA-E's cutoffs for `hosts` hosts: the sizes that split the load equally,
/// `E[S; x_{i-1} <= S < x_i] = E[S] / hosts` (by bisection, to a relative 1e-12; with atoms,
/// where equal shares may be impossible, the atom at which the share is crossed).
pub fn sita_e_cutoffs(law: &SizeLaw, hosts: usize) -> Vec<f64> {
    let mean = law.mean();
    let top = law.quantile(1.0 - 1e-15) * 2.0;
    (1..hosts)
        .map(|i| {
            let target = mean * i as f64 / hosts as f64;
            let (mut lo, mut hi) = (0.0, top);
            while hi - lo > 1e-12 * hi {
                let mid = (lo + hi) / 2.0;
                if law.partial(mid, 1) < target { lo = mid } else { hi = mid }
            }
            // The largest size whose share below is still under the target, as a cutoff:
            // for a continuous law the same point; for atoms the atom itself.
            hi
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        (a / b - 1.0).abs()
    }

    fn law(text: &str) -> SizeLaw {
        SizeLaw::new(&text.parse().unwrap(), 1.0).unwrap()
    }

    #[test]
    fn moments_match_dist() {
        for text in [
            "exp:1ms",
            "uniform:1ms..3ms",
            "pareto:1ms,alpha=2.5",
            "lognormal:1ms,sigma=1",
            "mix:1ms,9ms,p=0.25",
        ] {
            let d: Dist = text.parse().unwrap();
            let l = SizeLaw::new(&d, 1.0).unwrap();
            assert!(rel(l.mean(), d.mean()) < 1e-9, "{text}: {} vs {}", l.mean(), d.mean());
            // The partial moments reach the whole.
            assert!(rel(l.partial(1e18, 1), l.mean()) < 1e-6, "{text}");
            assert!(rel(l.partial(1e18, 0), 1.0) < 1e-9, "{text}");
        }
        // By hand: exp's E[S^2] = 2 m^2; Pareto alpha 2.5 with mean 1: scale 0.6,
        // E[S^2] = 2.5 x 0.36 / 0.5 = 1.8; lognormal: m^2 e^{sigma^2}.
        assert!(rel(law("exp:1ns").second_moment(), 2.0) < 1e-12);
        assert!(rel(law("pareto:1ns,alpha=2.5").second_moment(), 1.8) < 1e-12);
        assert!(rel(law("lognormal:1ns,sigma=1").second_moment(), 1f64.exp()) < 1e-12);
        assert!(law("pareto:1ns,alpha=1.5").second_moment().is_infinite());
    }

    #[test]
    fn srpt_by_hand() {
        let lambda = 0.8; // per ns, sizes of mean 1 ns
        // Deterministic sizes: SRPT serves them in order, M/D/1: 1 + 0.8 / (2 x 0.2) = 3.
        let d = srpt_mean(lambda, &law("const:1ns")).unwrap();
        assert!((d.value - 3.0).abs() < 1e-12, "{d:?}");
        // Two sizes, 1 and 3 with probability 1/2 each, lambda 0.25 (rho 0.5). Size 1: rho(1) =
        // 0.125, wait 0.25 (0.5 + 1 x 0.5) / (2 x 0.875 x 1) = 1/7, residence 1: 8/7. Size 3:
        // wait 0.25 x 5 / (2 x 0.5 x 0.875) = 10/7, residence 1 + 2 / 0.875 = 23/7: 33/7.
        // Mean (8/7 + 33/7) / 2 = 41/14.
        let two = srpt_mean(0.25, &law("mix:1ns,3ns,p=0.5")).unwrap();
        assert!((two.value - 41.0 / 14.0).abs() < 1e-12, "{two:?}");
        // Exponential at rho 0.8: 2.35277 x E[S] (well under FCFS's 5), the same integral
        // by a plain trapezoid of 400,000 steps outside lbsim; the estimate's error is tiny.
        let e = srpt_mean(lambda, &law("exp:1ns")).unwrap();
        assert!((e.value - 2.352_773).abs() < 1e-5 && e.error < 1e-4, "{e:?}");
        // Under light load SRPT is about the mean size.
        let light = srpt_mean(1e-6, &law("pareto:1ns,alpha=1.5")).unwrap();
        assert!(rel(light.value, 1.0) < 1e-3, "{light:?}");
        assert!(srpt_mean(1.0, &law("exp:1ns")).is_none());
    }

    #[test]
    fn sita_by_hand() {
        // Two sizes 1 and 3 (p 1/2 each), cutoff 2, lambda 0.25: host 1 is M/D/1 with rate
        // 0.125 and size 1: 1 + 0.125 / (2 x 0.875) = 1.0714; host 2 M/D/1 with rate 0.125,
        // size 3: 3 + 0.125 x 9 / (2 x 0.625) = 3.9. Mean 2.4857.
        let l = law("mix:1ns,3ns,p=0.5");
        let (hosts, mean) = sita(0.25, &l, &[2.0]);
        assert_eq!(hosts.len(), 2);
        assert!((hosts[0].mean.unwrap() - (1.0 + 0.125 / 1.75)).abs() < 1e-12);
        assert!((hosts[1].mean.unwrap() - 3.9).abs() < 1e-12);
        assert!((mean.unwrap() - (1.0 + 0.125 / 1.75 + 3.9) / 2.0).abs() < 1e-12);
        // One host (no cutoff) is P-K: exp at rho 0.8 gives 5.
        let (_, one) = sita(0.8, &law("exp:1ns"), &[]);
        assert!(rel(one.unwrap(), 5.0) < 1e-9);
        // Pareto alpha 1.5: the top host has infinite variance.
        let (_, heavy) = sita(0.5, &law("pareto:1ns,alpha=1.5"), &[3.0]);
        assert!(heavy.is_none());
    }

    #[test]
    fn sita_e_splits_the_load_equally() {
        // Exponential, 2 hosts: x with 1 - e^-x (1 + x) = 1/2, x = 1.67835.
        let cut = sita_e_cutoffs(&law("exp:1ns"), 2);
        assert!((cut[0] - 1.678_347_9).abs() < 1e-6, "{cut:?}");
        for text in ["pareto:1ns,alpha=1.5", "lognormal:1ns,sigma=2", "uniform:0ns..2ns"] {
            let l = law(text);
            let cuts = sita_e_cutoffs(&l, 4);
            let (hosts, _) = sita(0.5, &l, &cuts);
            for h in &hosts {
                assert!(rel(h.load, 0.125) < 1e-6, "{text}: {hosts:?}");
            }
        }
        // Uniform on [0, 2]: x^2 / 4 = 1/2 at x = sqrt 2.
        assert!((sita_e_cutoffs(&law("uniform:0ns..2ns"), 2)[0] - 2f64.sqrt()).abs() < 1e-9);
    }
}
