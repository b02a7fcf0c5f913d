//! `weighted-round-robin`: earliest-deadline-first weighted round robin, as in Envoy.
//!
//! Each up worker of weight `w` is due every `1 / w` units of a virtual schedule, starting
//! half a period in; a pick takes the worker due first (ties to the lower id) and makes it
//! due again one period later. Over any window a worker of weight `w` gets a `w / total`
//! share, within one pick, and its picks are spread out rather than bunched. The schedule is a
//! binary heap: O(log workers) per pick, O(workers) when workers go up or down.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::{Cluster, Strategy, WorkerId};
use crate::rng::SimRng;

/// A worker's next turn in an earliest-deadline-first schedule (shared with
/// `least-request`'s weighted schedule): ordered by time, ties to the lower id.
#[derive(Clone, Copy, Debug)]
pub(super) struct Due {
    pub(super) at: f64,
    pub(super) id: WorkerId,
}

impl PartialEq for Due {
    fn eq(&self, other: &Due) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Due {}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Due) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Due {
    fn cmp(&self, other: &Due) -> Ordering {
        self.at.total_cmp(&other.at).then(self.id.cmp(&other.id))
    }
}

/// Round robin in proportion to worker weights (by default, the workers' speeds).
#[derive(Clone, Debug, Default)]
pub struct WeightedRoundRobin {
    /// The up workers' next turns, earliest first.
    schedule: BinaryHeap<Reverse<Due>>,
    /// Where the schedule is: the turn of the latest pick.
    now: f64,
    /// The cluster size the schedule was built for.
    len: usize,
}

impl WeightedRoundRobin {
    /// Puts every up worker on the schedule, half a period after the current turn.
    fn rebuild(&mut self, cluster: &Cluster<'_>) {
        let now = self.now;
        let due: Vec<Reverse<Due>> = cluster
            .up()
            .iter()
            .map(|&id| Reverse(Due { at: now + 0.5 / cluster.worker(id).weight, id }))
            .collect();
        self.schedule = BinaryHeap::from(due);
        self.len = cluster.len();
    }
}

impl Strategy for WeightedRoundRobin {
    fn clone_box(&self) -> Option<Box<dyn Strategy>> {
        Some(Box::new(self.clone()))
    }

    fn name(&self) -> &str {
        "weighted-round-robin"
    }

    fn wants_pending_changes(&self) -> bool {
        false
    }

    fn wants_responses(&self) -> bool {
        false
    }

    fn pick(&mut self, cluster: &Cluster<'_>, _rng: &mut SimRng) -> Option<WorkerId> {
        if self.len != cluster.len() || self.schedule.len() != cluster.up().len() {
            self.rebuild(cluster);
        }
        let Reverse(next) = self.schedule.pop()?;
        let w = cluster.worker(next.id);
        if !w.up {
            // The cluster changed without telling us: start again from what it is now.
            self.rebuild(cluster);
            let Reverse(next) = self.schedule.pop()?;
            return Some(self.take(next, cluster));
        }
        Some(self.take(next, cluster))
    }

    fn explain_last_pick(&self) -> Option<String> {
        Some("its turn came first (a worker of weight w has a turn every 1/w)".to_string())
    }

    fn on_cluster_change(&mut self, cluster: &Cluster<'_>) {
        self.rebuild(cluster);
    }

    /// Starts a random number of turns (fewer than the workers up) into the schedule.
    fn start_as_replica(&mut self, cluster: &Cluster<'_>, rng: &mut SimRng) {
        let up = cluster.up().len() as u64;
        if up > 1 {
            for _ in 0..rng.below(up) {
                self.pick(cluster, rng);
            }
        }
    }
}

impl WeightedRoundRobin {
    /// Picks `due`'s worker and schedules its next turn.
    fn take(&mut self, due: Due, cluster: &Cluster<'_>) -> WorkerId {
        self.now = due.at;
        let period = 1.0 / cluster.worker(due.id).weight;
        self.schedule.push(Reverse(Due { at: due.at + period, id: due.id }));
        due.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::Fixture;

    #[test]
    fn spread_sequence_for_weights_5_1_1() {
        // Weights {5, 1, 1}: a is due at 0.1, 0.3, 0.5, ..., b and c at 0.5, 1.5, ...: five
        // picks of a in every seven, b and c spread between them rather than a a a a a b c.
        let mut f = Fixture::new(&[0, 0, 0]);
        f.workers[0].weight = 5.0;
        let mut s = WeightedRoundRobin::default();
        s.on_cluster_change(&f.cluster());
        let mut rng = SimRng::stream(0, crate::rng::Stream::Strategy);
        let picks: Vec<_> = (0..14).map(|_| s.pick(&f.cluster(), &mut rng).unwrap()).collect();
        assert_eq!(picks, [0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 1, 2, 0, 0]);
    }

    #[test]
    fn weights_4_2_1_1_get_their_shares_and_a_down_worker_none() {
        let mut f = Fixture::new(&[0; 5]);
        for (w, weight) in [4.0, 2.0, 1.0, 1.0, 3.0].into_iter().enumerate() {
            f.workers[w].weight = weight;
        }
        f.set_up(4, false);
        let counts = f.pick_counts(&mut WeightedRoundRobin::default(), 100_000, true);
        assert_eq!(counts, [50_000, 25_000, 12_500, 12_500, 0]);
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

    #[test]
    fn every_window_is_within_one_pick_of_its_share() {
        let weights = [3.0, 2.0, 1.5, 1.0, 0.5];
        let mut f = Fixture::new(&[0; 5]);
        for (w, weight) in weights.iter().enumerate() {
            f.workers[w].weight = *weight;
        }
        let total: f64 = weights.iter().sum();
        let mut s = WeightedRoundRobin::default();
        s.on_cluster_change(&f.cluster());
        let mut rng = SimRng::stream(0, crate::rng::Stream::Strategy);
        let mut counts = [0u32; 5];
        for k in 1..=10_000u32 {
            counts[s.pick(&f.cluster(), &mut rng).unwrap()] += 1;
            for (w, weight) in weights.iter().enumerate() {
                let share = k as f64 * weight / total;
                assert!((counts[w] as f64 - share).abs() <= 1.5, "after {k} picks, {w}: {counts:?}");
            }
        }
    }

    #[test]
    fn many_workers_take_a_pick_each_without_a_scan() {
        // O(workers) per pick made this 4 * 10^11 steps (hours); a heap makes it about 4 * 10^7.
        let n = 200_000;
        let views: Vec<_> = (0..n)
            .map(|i| crate::strategy::WorkerView {
                pending: 0,
                speed: 1.0,
                weight: 1.0 + (i % 4) as f64,
                up: true,
                last_latency: 0,
            })
            .collect();
        let up: Vec<WorkerId> = (0..n).collect();
        let cluster = Cluster::new(0, &views, &up);
        let mut s = WeightedRoundRobin::default();
        s.on_cluster_change(&cluster);
        let mut rng = SimRng::stream(0, crate::rng::Stream::Strategy);
        let mut heavy = 0;
        // Four whole rounds: the total weight is 500,000 per unit of the schedule.
        let picks = 2_000_000;
        for _ in 0..picks {
            let w = s.pick(&cluster, &mut rng).unwrap();
            if views[w].weight == 4.0 {
                heavy += 1;
            }
        }
        // The weight-4 quarter of the workers gets 4/10 of the picks.
        assert!((heavy as f64 / picks as f64 - 0.4).abs() < 0.001, "{heavy}");
    }

    #[test]
    fn down_workers_leave_the_schedule() {
        let mut f = Fixture::new(&[0, 0, 0]);
        let mut s = WeightedRoundRobin::default();
        s.on_cluster_change(&f.cluster());
        f.set_up(1, false);
        s.on_cluster_change(&f.cluster());
        let mut rng = SimRng::stream(0, crate::rng::Stream::Strategy);
        for _ in 0..10 {
            assert_ne!(s.pick(&f.cluster(), &mut rng), Some(1));
        }
    }
}
