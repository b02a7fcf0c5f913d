//! `least-request`: Envoy's `LEAST_REQUEST` load balancer, as its documentation describes it.
//!
//! - With equal weights: the power of d choices on active requests (`choices`, default 2):
//!   sample d distinct up workers, take the one with the fewest pending.
//! - With unequal weights: an earliest-deadline-first schedule in which a worker, when it is
//!   put back after a pick, is due again after `1 / effective weight`, with
//!   `effective weight = weight / (active + 1)^active_request_bias` (bias default 1.0) computed
//!   at that moment: busy workers come round less often. O(log workers) per pick.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::power_of_two::sample_distinct;
use super::weighted_round_robin::Due;
use super::{Cluster, Strategy, WorkerId};
use crate::rng::SimRng;

/// Envoy's least-request balancer.
#[derive(Clone, Debug)]
pub struct LeastRequest {
    d: usize,
    bias: f64,
    /// Whether the up workers' weights differ (then the weighted schedule is used).
    weighted: bool,
    schedule: BinaryHeap<Reverse<Due>>,
    now: f64,
    sample: Vec<usize>,
    last: Option<String>,
}

impl LeastRequest {
    /// `choices` samples per pick with equal weights; `bias` the active request bias.
    pub fn new(choices: usize, bias: f64) -> LeastRequest {
        LeastRequest {
            d: choices.max(1),
            bias,
            weighted: false,
            schedule: BinaryHeap::new(),
            now: 0.0,
            sample: Vec::new(),
            last: None,
        }
    }

    fn effective_weight(&self, cluster: &Cluster<'_>, w: WorkerId) -> f64 {
        let view = cluster.worker(w);
        view.weight / libm::pow(view.pending as f64 + 1.0, self.bias)
    }

    fn rebuild(&mut self, cluster: &Cluster<'_>) {
        let up = cluster.up();
        self.weighted = up
            .first()
            .is_some_and(|&a| up.iter().any(|&b| cluster.worker(b).weight != cluster.worker(a).weight));
        let now = self.now;
        let due: Vec<Reverse<Due>> = up
            .iter()
            .map(|&id| Reverse(Due { at: now + 0.5 / self.effective_weight(cluster, id), id }))
            .collect();
        self.schedule = BinaryHeap::from(due);
    }
}

impl Strategy for LeastRequest {
    fn clone_box(&self) -> Option<Box<dyn Strategy>> {
        Some(Box::new(self.clone()))
    }

    fn name(&self) -> &str {
        "least-request"
    }

    fn wants_pending_changes(&self) -> bool {
        false
    }

    fn wants_responses(&self) -> bool {
        false
    }

    fn pick(&mut self, cluster: &Cluster<'_>, rng: &mut SimRng) -> Option<WorkerId> {
        let up = cluster.up();
        if up.is_empty() {
            return None;
        }
        if !self.weighted {
            sample_distinct(up.len(), self.d.min(up.len()), rng, &mut self.sample);
            let best = self.sample.iter().map(|&i| up[i]).min_by_key(|&w| cluster.worker(w).pending)?;
            self.last = Some(format!(
                "equal weights: fewest active of {} sampled ({} pending)",
                self.sample.len(),
                cluster.worker(best).pending
            ));
            return Some(best);
        }
        if self.schedule.len() != up.len() {
            self.rebuild(cluster);
        }
        let Reverse(next) = self.schedule.pop()?;
        if !cluster.worker(next.id).up {
            self.rebuild(cluster);
            return self.pick(cluster, rng);
        }
        self.now = next.at;
        let weight = self.effective_weight(cluster, next.id);
        self.schedule.push(Reverse(Due { at: next.at + 1.0 / weight, id: next.id }));
        self.last = Some(format!(
            "its turn came first (weight {} / (active {} + 1)^{})",
            cluster.worker(next.id).weight,
            cluster.worker(next.id).pending,
            self.bias
        ));
        Some(next.id)
    }

    fn on_cluster_change(&mut self, cluster: &Cluster<'_>) {
        self.rebuild(cluster);
    }

    fn explain_last_pick(&self) -> Option<String> {
        Some(self.last.clone().unwrap_or_else(|| "no pick yet".to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::Fixture;

    #[test]
    fn weights_4_2_1_1_get_their_shares_and_a_down_worker_none() {
        // 100,000 picks with the loads held (no answers come back in the fixture, so actives
        // stay 0 and effective weight = weight): each share within 2 points of its weight's.
        let mut f = Fixture::new(&[0; 5]);
        for (w, weight) in [4.0, 2.0, 1.0, 1.0, 3.0].into_iter().enumerate() {
            f.workers[w].weight = weight;
        }
        f.set_up(4, false);
        let counts = f.pick_counts(&mut LeastRequest::new(2, 1.0), 100_000, false);
        assert_eq!(counts[4], 0);
        for (w, share) in [0.5, 0.25, 0.125, 0.125].into_iter().enumerate() {
            let got = counts[w] as f64 / 100_000.0;
            assert!((got - share).abs() < 0.02, "worker {w}: {got} vs {share}");
        }
    }

    #[test]
    fn busy_workers_come_round_less_often() {
        // Equal weight 1 and 2 at first; worker 0 holds 3 requests: 2 / 4 against 1 / 1.
        let mut f = Fixture::new(&[3, 0]);
        f.workers[0].weight = 2.0;
        let counts = f.pick_counts(&mut LeastRequest::new(2, 1.0), 3_000, false);
        let share = counts[0] as f64 / 3_000.0;
        assert!((share - 1.0 / 3.0).abs() < 0.02, "{share}");
        // Bias 0: the actives do not count.
        let counts = f.pick_counts(&mut LeastRequest::new(2, 0.0), 3_000, false);
        assert!((counts[0] as f64 / 3_000.0 - 2.0 / 3.0).abs() < 0.02, "{counts:?}");
    }

    #[test]
    fn equal_weights_are_the_power_of_two_choices() {
        let mut f = Fixture::new(&[5, 0, 5, 5]);
        let counts = f.pick_counts(&mut LeastRequest::new(4, 1.0), 100, false);
        assert_eq!(counts, [0, 100, 0, 0], "with d = n the least loaded always wins");
    }
}
