//! `sita` and `sita-e`: size interval task assignment (Harchol-Balter, Crovella and Murta,
//! 1999). Requests are split by size into classes, and each class has its own workers, so
//! that under heavy-tailed sizes the short requests never queue behind the huge ones.
//!
//! With cutoffs c1 < c2 < ... < ck (`strategy.cutoffs`), a request of work d (at speed 1)
//! is in class 0 when d <= c1, class i when c(i) < d <= c(i+1), class k above ck; the
//! workers are split into k + 1 classes in their order (as evenly as may be; with fewer
//! workers than classes, classes share a worker). `sita-e` has one class per worker and
//! chooses the cutoffs so that every class brings the same share of the work (SITA-E),
//! computed from the service distribution: in closed form for the exponential, lognormal,
//! Pareto, uniform, constant and two-point distributions, each class's share exact to
//! about 1e-9 (the cutoffs are whole nanoseconds); over 65,536 quantiles for an empirical
//! one (within about 1e-4). Point masses (constant, two-point) cannot be split: such
//! classes get what the masses give.
//!
//! Within its class a request goes to a worker at random (so that each worker is an M/G/1
//! queue, as the theory of SITA has it). If its class has no worker up, it goes to the up
//! worker nearest the class, larger classes first.
//!
//! Both read each request's size before it is served, which no real balancer knows: they are
//! *oracles*, as least-work-left is ([`Cluster::demand`]), and run in the model only. Without
//! an oracle at hand (a cluster built by hand), they pick at random, and say so.

use super::{Cluster, Strategy, WorkerId};
use crate::dist::Dist;
use crate::rng::SimRng;
use crate::time::Nanos;

/// Size interval task assignment, with given or equal-load cutoffs.
#[derive(Clone, Debug)]
pub struct Sita {
    /// The cutoffs given (`sita`), or `None`: equal load, one class per worker (`sita-e`).
    given: Option<Vec<Nanos>>,
    /// The equal-load cutoffs computed, and for how many classes.
    computed: Option<(usize, Vec<Nanos>)>,
    last: Option<Pick>,
    /// `sita` or `sita-e`, as it was asked for.
    name: &'static str,
}

#[derive(Clone, Copy, Debug)]
struct Pick {
    worker: WorkerId,
    demand: Option<Nanos>,
    class: usize,
    classes: usize,
    /// Workers up in the class (0: sent to the nearest class with one).
    choices: usize,
}

impl Sita {
    /// SITA with these cutoffs (sorted here); none at all acts as [`Sita::equal_load`].
    pub fn new(mut cutoffs: Vec<Nanos>) -> Sita {
        cutoffs.sort_unstable();
        cutoffs.dedup();
        if cutoffs.is_empty() {
            return Sita { name: "sita", ..Sita::equal_load() };
        }
        Sita { given: Some(cutoffs), computed: None, last: None, name: "sita" }
    }

    /// SITA-E: one class per worker, cutoffs for equal load.
    pub fn equal_load() -> Sita {
        Sita { given: None, computed: None, last: None, name: "sita-e" }
    }

    /// The cutoffs in force for `workers` workers and the sizes `sizes`.
    fn cutoffs(&mut self, workers: usize, sizes: Option<&Dist>) -> &[Nanos] {
        if let Some(given) = &self.given {
            return given;
        }
        let stale = self.computed.as_ref().is_none_or(|(n, _)| *n != workers);
        if stale {
            let cuts = sizes.map_or_else(Vec::new, |d| equal_load_cutoffs(d, workers.max(1)));
            self.computed = Some((workers, cuts));
        }
        &self.computed.as_ref().expect("just computed").1
    }
}

impl Strategy for Sita {
    fn clone_box(&self) -> Option<Box<dyn Strategy>> {
        Some(Box::new(self.clone()))
    }

    fn name(&self) -> &str {
        self.name
    }

    fn wants_pending_changes(&self) -> bool {
        false
    }

    fn wants_responses(&self) -> bool {
        false
    }

    fn is_oracle(&self) -> bool {
        true
    }

    fn pick(&mut self, cluster: &Cluster<'_>, rng: &mut SimRng) -> Option<WorkerId> {
        let n = cluster.len();
        let Some(demand) = cluster.demand() else {
            let w = cluster.random_up(rng)?;
            self.last = Some(Pick { worker: w, demand: None, class: 0, classes: 1, choices: 0 });
            return Some(w);
        };
        let cutoffs = self.cutoffs(n, cluster.sizes());
        let classes = cutoffs.len() + 1;
        let class = cutoffs.partition_point(|&c| c < demand);
        let (lo, hi) = class_range(class, classes, n);
        let up = (lo..hi).filter(|&w| cluster.worker(w).up).count();
        let worker = if up > 0 {
            let k = rng.below(up as u64) as usize;
            (lo..hi).filter(|&w| cluster.worker(w).up).nth(k).expect("counted")
        } else {
            // Nearest up worker outside the class; on a tie, the larger class.
            let distance = |w: WorkerId| if w >= hi { 2 * (w - hi + 1) - 1 } else { 2 * (lo - w) };
            cluster.up().iter().copied().min_by_key(|&w| (distance(w), w))?
        };
        self.last = Some(Pick { worker, demand: Some(demand), class, classes, choices: up });
        Some(worker)
    }

    fn explain_last_pick(&self) -> Option<String> {
        let p = self.last?;
        let Some(demand) = p.demand else {
            return Some(format!("no oracle at hand to read sizes: at random, worker {}", p.worker));
        };
        let size = crate::time::Human(demand);
        let class = format!("class {} of {}", p.class + 1, p.classes);
        Some(match p.choices {
            0 => format!(
                "size {size} (read by an oracle) is in {class}, none of its workers up: worker {}",
                p.worker
            ),
            1 => format!("size {size} (read by an oracle) is in {class}: worker {}", p.worker),
            k => {
                format!("size {size} (read by an oracle) is in {class}: worker {} at random of {k}", p.worker)
            }
        })
    }
}

/// The workers `lo..hi` of class `class` of `classes`, among `n` workers.
fn class_range(class: usize, classes: usize, n: usize) -> (usize, usize) {
    let lo = (class * n / classes).min(n.saturating_sub(1));
    let hi = ((class + 1) * n / classes).max(lo + 1).min(n);
    (lo, hi)
}

/// The cutoffs that split the work of requests drawn from `sizes` into `classes` equal
/// shares (`classes - 1` of them, increasing).
pub fn equal_load_cutoffs(sizes: &Dist, classes: usize) -> Vec<Nanos> {
    let share = WorkShare::new(sizes);
    let mut cuts: Vec<Nanos> = Vec::with_capacity(classes.saturating_sub(1));
    for i in 1..classes {
        let target = i as f64 / classes as f64;
        // The smallest x (ns) with share(x) >= target, by bisection over whole nanoseconds.
        let (mut lo, mut hi) = (0u64, (sizes.mean().max(1.0)) as u64);
        while share.below(hi as f64) < target && hi < crate::dist::MAX_SAMPLE {
            lo = hi;
            hi = hi.saturating_mul(2).min(crate::dist::MAX_SAMPLE);
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if share.below(mid as f64) < target { lo = mid } else { hi = mid }
        }
        cuts.push(hi);
    }
    cuts.dedup();
    cuts
}

/// The share of the work that requests of size at most x bring: E[S; S <= x] / E[S].
pub struct WorkShare<'a> {
    sizes: &'a Dist,
    /// An empirical distribution's quantiles, and their running sums.
    quantiles: Vec<(f64, f64)>,
}

/// Quantiles read from an empirical distribution for [`WorkShare`].
const EMPIRICAL_POINTS: usize = 65_536;

impl WorkShare<'_> {
    /// The work share function of `sizes`.
    pub fn new(sizes: &Dist) -> WorkShare<'_> {
        let quantiles = match sizes {
            Dist::Empirical(samples) => {
                let mut sum = 0.0;
                let mut q: Vec<(f64, f64)> = (0..EMPIRICAL_POINTS)
                    .map(|i| {
                        let v = samples.quantile((i as f64 + 0.5) / EMPIRICAL_POINTS as f64) as f64;
                        sum += v;
                        (v, sum)
                    })
                    .collect();
                for e in &mut q {
                    e.1 /= sum.max(f64::MIN_POSITIVE);
                }
                q
            }
            _ => Vec::new(),
        };
        WorkShare { sizes, quantiles }
    }

    /// E[S; S <= x] / E[S], for x in ns.
    pub fn below(&self, x: f64) -> f64 {
        let share = match *self.sizes {
            Dist::Const(v) => step(x, v as f64),
            Dist::Uniform { low, high } => {
                let (l, h) = (low as f64, high as f64);
                if h <= l { step(x, l) } else { ((x.clamp(l, h).powi(2) - l * l) / (h * h - l * l)).max(0.0) }
            }
            Dist::Exp { mean } => {
                let r = x.max(0.0) / mean.max(1) as f64;
                1.0 - (-r).exp() * (1.0 + r)
            }
            Dist::LogNormal { mean, sigma } => {
                if x <= 0.0 {
                    0.0
                } else {
                    let z = (x.ln() - (mean.max(1) as f64).ln() - sigma * sigma / 2.0) / sigma;
                    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
                }
            }
            Dist::Pareto { mean, alpha } => {
                let scale = mean as f64 * (alpha - 1.0) / alpha;
                if x < scale { 0.0 } else { 1.0 - (scale / x).powf(alpha - 1.0) }
            }
            Dist::Mix { fast, slow, p_slow } => {
                let total = fast as f64 * (1.0 - p_slow) + slow as f64 * p_slow;
                let part = step(x, fast as f64) * fast as f64 * (1.0 - p_slow)
                    + step(x, slow as f64) * slow as f64 * p_slow;
                if total > 0.0 { part / total } else { 1.0 }
            }
            Dist::Empirical(_) => {
                let i = self.quantiles.partition_point(|&(v, _)| v <= x);
                if i == 0 { 0.0 } else { self.quantiles[i - 1].1 }
            }
        };
        share.clamp(0.0, 1.0)
    }
}

fn step(x: f64, at: f64) -> f64 {
    if x >= at { 1.0 } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;
    use crate::time::MILLIS;

    /// The work share, measured on draws: the fraction of the work of sizes at most x.
    fn measured(d: &Dist, x: Nanos) -> f64 {
        let mut rng = SimRng::stream(9, Stream::Service);
        let (mut below, mut all) = (0.0, 0.0);
        for _ in 0..400_000 {
            let v = d.sample(&mut rng) as f64;
            all += v;
            if v <= x as f64 {
                below += v;
            }
        }
        below / all
    }

    #[test]
    fn work_shares_agree_with_draws() {
        for d in [
            Dist::Exp { mean: 10 * MILLIS },
            Dist::LogNormal { mean: 10 * MILLIS, sigma: 1.0 },
            Dist::Pareto { mean: 10 * MILLIS, alpha: 2.5 },
            Dist::Uniform { low: MILLIS, high: 20 * MILLIS },
        ] {
            let share = WorkShare::new(&d);
            for x in [2 * MILLIS, 10 * MILLIS, 30 * MILLIS] {
                let (want, got) = (share.below(x as f64), measured(&d, x));
                assert!((want - got).abs() < 0.01, "{d:?} at {x}: formula {want}, draws {got}");
            }
        }
    }

    #[test]
    fn equal_load_cutoffs_split_the_work_evenly() {
        let d = Dist::Pareto { mean: 10 * MILLIS, alpha: 1.5 };
        let cuts = equal_load_cutoffs(&d, 4);
        assert_eq!(cuts.len(), 3);
        let share = WorkShare::new(&d);
        for (i, &c) in cuts.iter().enumerate() {
            assert!((share.below(c as f64) - (i + 1) as f64 / 4.0).abs() < 1e-6, "{cuts:?}");
        }
        assert!(cuts.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn sizes_choose_the_class_and_workers_split_in_order() {
        assert_eq!(class_range(0, 3, 6), (0, 2));
        assert_eq!(class_range(2, 3, 6), (4, 6));
        // Fewer workers than classes: classes share one.
        assert_eq!(class_range(1, 3, 2), (0, 1));
        assert_eq!(class_range(2, 3, 2), (1, 2));
        let mut s = Sita::new(vec![10 * MILLIS]);
        let f = crate::strategy::testing::Fixture::new(&[0, 0, 0, 0]);
        // No oracle at hand: at random, and it says so.
        let mut rng = SimRng::stream(1, Stream::Strategy);
        assert!(s.pick(&f.cluster(), &mut rng).is_some());
        assert!(s.explain_last_pick().unwrap().contains("no oracle"));
    }
}
