//! `peak-ewma`: latency-aware balancing as in Finagle and Linkerd.
//!
//! Each worker has a cost: an exponentially weighted moving average of its observed latency
//! that jumps up to any latency above it (the "peak") and decays towards newer observations
//! over the configured decay time, multiplied by `pending + 1`. The balancer samples two
//! distinct workers and takes the cheaper. A worker that has never answered costs nothing when
//! idle and a large penalty per pending request otherwise, so it gets probed but not flooded.

use super::{Cluster, Strategy, WorkerId};
use crate::rng::SimRng;
use crate::time::Nanos;

/// The cost given per pending request to a worker with no latency observed yet (Finagle uses
/// a similarly large constant).
const PENALTY: f64 = 1e12;

/// Latency-aware best-of-two by peak EWMA of latency times outstanding requests.
#[derive(Clone, Debug)]
pub struct PeakEwma {
    decay: f64,
    /// Per worker: (EWMA of latency (ns), time of the last update).
    ewma: Vec<(f64, Nanos)>,
    /// The latest pick's candidates and their costs, the chosen one first.
    last: Option<[(WorkerId, f64); 2]>,
    /// Latency recorded for an error (ns); 0 records the error's own latency.
    error_penalty: Nanos,
}

impl PeakEwma {
    /// A balancer whose latency memory decays over `decay` nanoseconds.
    pub fn new(decay: Nanos) -> PeakEwma {
        PeakEwma { decay: decay.max(1) as f64, ewma: Vec::new(), last: None, error_penalty: 0 }
    }

    /// Records errors as this latency (if it is longer than the error's own), so that a
    /// worker that fails fast does not look fast (0: no penalty).
    pub fn with_error_penalty(mut self, penalty: Nanos) -> PeakEwma {
        self.error_penalty = penalty;
        self
    }

    /// The worker's current cost; the EWMA decays towards zero while no answer arrives.
    fn cost(&self, id: WorkerId, cluster: &Cluster<'_>) -> f64 {
        let pending = cluster.worker(id).pending as f64;
        let (ewma, stamp) = self.ewma.get(id).copied().unwrap_or((0.0, 0));
        if ewma == 0.0 {
            return if pending == 0.0 { 0.0 } else { PENALTY + pending };
        }
        let elapsed = cluster.now().saturating_sub(stamp) as f64;
        ewma * libm::exp(-elapsed / self.decay) * (pending + 1.0)
    }
}

impl Strategy for PeakEwma {
    fn clone_box(&self) -> Option<Box<dyn Strategy>> {
        Some(Box::new(self.clone()))
    }

    fn name(&self) -> &str {
        "peak-ewma"
    }

    fn wants_pending_changes(&self) -> bool {
        false
    }

    fn pick(&mut self, cluster: &Cluster<'_>, rng: &mut SimRng) -> Option<WorkerId> {
        let Some((a, b)) = cluster.two_up(rng) else {
            self.last = None;
            return cluster.up().first().copied();
        };
        let (ca, cb) = (self.cost(a, cluster), self.cost(b, cluster));
        let (win, lose) = if cb < ca { ((b, cb), (a, ca)) } else { ((a, ca), (b, cb)) };
        self.last = Some([win, lose]);
        Some(win.0)
    }

    fn on_response(&mut self, worker: WorkerId, latency: Nanos, ok: bool, cluster: &Cluster<'_>) {
        let latency = if ok { latency } else { latency.max(self.error_penalty) };
        if self.ewma.len() < cluster.len() {
            self.ewma.resize(cluster.len(), (0.0, 0));
        }
        let now = cluster.now();
        let (ewma, stamp) = &mut self.ewma[worker];
        let rtt = latency as f64;
        if rtt > *ewma {
            *ewma = rtt;
        } else {
            let w = libm::exp(-(now.saturating_sub(*stamp) as f64) / self.decay);
            *ewma = *ewma * w + rtt * (1.0 - w);
        }
        *stamp = now;
    }

    fn on_cluster_change(&mut self, cluster: &Cluster<'_>) {
        self.ewma.resize(cluster.len(), (0.0, 0));
    }

    fn explain_last_pick(&self) -> Option<String> {
        let cost = |c: f64| if c >= PENALTY { "untried".to_string() } else { format!("{:.2}ms", c / 1e6) };
        let [(w, cw), (l, cl)] = self.last?;
        Some(format!("sampled {w} (cost {}) and {l} (cost {}): took the cheaper", cost(cw), cost(cl)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::Fixture;
    use crate::time::MILLIS;

    #[test]
    fn prefers_the_worker_with_lower_observed_latency() {
        let mut f = Fixture::new(&[0, 0]);
        let mut s = PeakEwma::new(100 * MILLIS);
        s.on_cluster_change(&f.cluster());
        f.now = 10 * MILLIS;
        s.on_response(0, 50 * MILLIS, true, &f.cluster());
        s.on_response(1, 5 * MILLIS, true, &f.cluster());
        assert_eq!(f.pick_counts(&mut s, 100, false), [0, 100]);
    }

    #[test]
    fn pending_multiplies_the_cost() {
        let mut f = Fixture::new(&[0, 0]);
        let mut s = PeakEwma::new(100 * MILLIS);
        s.on_cluster_change(&f.cluster());
        s.on_response(0, 10 * MILLIS, true, &f.cluster());
        s.on_response(1, 10 * MILLIS, true, &f.cluster());
        f.workers[1].pending = 3;
        // cost 10 x 1 against 10 x 4.
        assert_eq!(f.pick_counts(&mut s, 50, false), [50, 0]);
    }

    #[test]
    fn peaks_jump_up_at_once_and_decay_with_time() {
        let mut f = Fixture::new(&[0, 0]);
        let mut s = PeakEwma::new(100 * MILLIS);
        s.on_cluster_change(&f.cluster());
        s.on_response(0, 10 * MILLIS, true, &f.cluster());
        s.on_response(0, 80 * MILLIS, true, &f.cluster());
        assert_eq!(s.cost(0, &f.cluster()), (80 * MILLIS) as f64);
        // One decay time later, a 10 ms answer pulls the average most of the way down.
        f.now = 100 * MILLIS;
        s.on_response(0, 10 * MILLIS, true, &f.cluster());
        let expected = 80.0 * (-1f64).exp() + 10.0 * (1.0 - (-1f64).exp());
        assert!((s.cost(0, &f.cluster()) / MILLIS as f64 - expected).abs() < 1e-9);
    }

    #[test]
    fn errors_cost_the_penalty_so_fast_failures_do_not_look_fast() {
        let mut f = Fixture::new(&[0, 0]);
        let mut s = PeakEwma::new(100 * MILLIS).with_error_penalty(500 * MILLIS);
        s.on_cluster_change(&f.cluster());
        s.on_response(0, 10 * MILLIS, true, &f.cluster());
        s.on_response(1, MILLIS / 10, false, &f.cluster()); // a fast 503
        assert_eq!(f.pick_counts(&mut s, 50, false), [50, 0]);
        // Without the penalty the failing worker looks 100x faster.
        let mut naive = PeakEwma::new(100 * MILLIS);
        naive.on_cluster_change(&f.cluster());
        naive.on_response(0, 10 * MILLIS, true, &f.cluster());
        naive.on_response(1, MILLIS / 10, false, &f.cluster());
        assert_eq!(f.pick_counts(&mut naive, 50, false), [0, 50]);
    }

    #[test]
    fn unprobed_idle_workers_are_tried_but_loaded_ones_avoided() {
        let mut f = Fixture::new(&[0, 2]);
        let mut s = PeakEwma::new(100 * MILLIS);
        s.on_cluster_change(&f.cluster());
        s.on_response(0, 10 * MILLIS, true, &f.cluster());
        // Worker 1 has never answered and has two pending: it must not be chosen.
        assert_eq!(f.pick_counts(&mut s, 50, false), [50, 0]);
        f.workers[1].pending = 0;
        assert_eq!(f.pick_counts(&mut s, 50, false), [0, 50]);
    }
}
