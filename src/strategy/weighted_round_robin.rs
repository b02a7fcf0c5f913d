//! `weighted-round-robin`: nginx's smooth weighted round robin.
//!
//! Every pick, each up worker's credit grows by its weight; the worker with the most credit
//! is picked and pays back the total weight. Over any window a worker of weight `w` gets a
//! `w / total` share, and its picks are spread out rather than bunched. O(workers) per pick.

use super::{Cluster, Strategy, WorkerId};
use crate::rng::SimRng;

/// Round robin in proportion to worker weights (by default, the workers' speeds).
#[derive(Debug, Default)]
pub struct WeightedRoundRobin {
    credit: Vec<f64>,
}

impl Strategy for WeightedRoundRobin {
    fn name(&self) -> &str {
        "weighted-round-robin"
    }

    fn pick(&mut self, cluster: &Cluster<'_>, _rng: &mut SimRng) -> Option<WorkerId> {
        if self.credit.len() != cluster.len() {
            self.credit = vec![0.0; cluster.len()];
        }
        let mut total = 0.0;
        let mut best: Option<WorkerId> = None;
        for (id, w) in cluster.workers().iter().enumerate() {
            if !w.up {
                continue;
            }
            self.credit[id] += w.weight;
            total += w.weight;
            if best.is_none_or(|b| self.credit[id] > self.credit[b]) {
                best = Some(id);
            }
        }
        let best = best?;
        self.credit[best] -= total;
        Some(best)
    }

    fn explain_last_pick(&self) -> Option<String> {
        Some("most credit (credit grows by weight each pick)".to_string())
    }

    fn on_cluster_change(&mut self, cluster: &Cluster<'_>) {
        self.credit = vec![0.0; cluster.len()];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::Fixture;

    #[test]
    fn smooth_sequence_for_weights_5_1_1() {
        // nginx's documented example: weights {5, 1, 1} give a a b a c a a, not a a a a a b c.
        let mut f = Fixture::new(&[0, 0, 0]);
        f.workers[0].weight = 5.0;
        let mut s = WeightedRoundRobin::default();
        s.on_cluster_change(&f.cluster());
        let mut rng = SimRng::stream(0, crate::rng::Stream::Strategy);
        let picks: Vec<_> = (0..7).map(|_| s.pick(&f.cluster(), &mut rng).unwrap()).collect();
        assert_eq!(picks, [0, 0, 1, 0, 2, 0, 0]);
    }

    #[test]
    fn shares_follow_weights() {
        let mut f = Fixture::new(&[0, 0, 0]);
        for (w, weight) in [2.0, 1.0, 0.5].into_iter().enumerate() {
            f.workers[w].weight = weight;
        }
        let counts = f.pick_counts(&mut WeightedRoundRobin::default(), 3_500, false);
        assert_eq!(counts, [2_000, 1_000, 500]);
    }
}
