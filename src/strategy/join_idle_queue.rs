//! `join-idle-queue`: Lu et al., "Join-Idle-Queue: a novel load balancing algorithm for
//! dynamically scalable web services" (Performance 2011).
//!
//! A worker that runs out of work tells one balancer so (with several balancer replicas, one
//! chosen at random): it joins that balancer's queue of idle workers. A balancer with a
//! request sends it to the first idle worker it knows of, taking it off the list, and to a
//! random worker when the list is empty. Picking costs O(1) and needs no load information at
//! all, only the idle workers' one message each: the point of the design is that the work
//! of finding an idle worker is done off the request's path, so it scales to many
//! balancers where reading every worker's queue would not.
//!
//! A worker on one balancer's list that another balancer sends work to stays on the list
//! (it does not know), so with many replicas a listed worker may be busy by the time it is
//! picked: that is the algorithm's known cost, and what its paper measures.

use std::collections::VecDeque;

use super::{Cluster, Strategy, WorkerId};
use crate::rng::SimRng;

/// Sends each request to a worker that said it is idle, else to a random one.
#[derive(Clone, Debug, Default)]
pub struct JoinIdleQueue {
    /// Workers that registered as idle with this balancer, oldest first.
    idle: VecDeque<WorkerId>,
    /// Whether each worker is on `idle` (a worker joins once however often it says so).
    listed: Vec<bool>,
    /// The latest pick: the worker, and whether it came from the idle list.
    last: Option<(WorkerId, bool)>,
    /// How many workers were up at the latest random pick.
    up: usize,
}

impl Strategy for JoinIdleQueue {
    fn clone_box(&self) -> Option<Box<dyn Strategy>> {
        Some(Box::new(self.clone()))
    }

    fn name(&self) -> &str {
        "join-idle-queue"
    }

    fn wants_pending_changes(&self) -> bool {
        false
    }

    fn wants_responses(&self) -> bool {
        false
    }

    fn pick(&mut self, cluster: &Cluster<'_>, rng: &mut SimRng) -> Option<WorkerId> {
        // The first idle worker still up (one that went down since it joined is dropped).
        while let Some(w) = self.idle.pop_front() {
            self.listed[w] = false;
            if w < cluster.len() && cluster.worker(w).up {
                self.last = Some((w, true));
                return Some(w);
            }
        }
        self.up = cluster.up().len();
        let w = cluster.random_up(rng)?;
        self.last = Some((w, false));
        Some(w)
    }

    fn wants_idle(&self) -> bool {
        true
    }

    fn on_idle(&mut self, worker: WorkerId, _cluster: &Cluster<'_>) {
        if worker >= self.listed.len() {
            self.listed.resize(worker + 1, false);
        }
        if !self.listed[worker] {
            self.listed[worker] = true;
            self.idle.push_back(worker);
        }
    }

    fn on_cluster_change(&mut self, cluster: &Cluster<'_>) {
        if self.listed.len() < cluster.len() {
            self.listed.resize(cluster.len(), false);
        }
    }

    fn explain_last_pick(&self) -> Option<String> {
        Some(match self.last? {
            (w, true) => format!("worker {w} had joined this balancer's idle queue"),
            (_, false) => format!("idle queue empty: uniformly at random among {} up", self.up),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;
    use crate::strategy::testing::Fixture;

    fn picks(s: &mut JoinIdleQueue, f: &Fixture, n: usize) -> Vec<WorkerId> {
        let mut rng = SimRng::stream(7, Stream::Strategy);
        (0..n).map(|_| s.pick(&f.cluster(), &mut rng).unwrap()).collect()
    }

    #[test]
    fn idle_workers_are_taken_first_in_the_order_they_joined_and_once_each() {
        let f = Fixture::new(&[5, 5, 5, 5]);
        let mut s = JoinIdleQueue::default();
        s.on_cluster_change(&f.cluster());
        for w in [2, 0, 2, 3] {
            s.on_idle(w, &f.cluster());
        }
        assert_eq!(picks(&mut s, &f, 3), [2, 0, 3]);
        assert_eq!(s.explain_last_pick().unwrap(), "worker 3 had joined this balancer's idle queue");
        // The list is empty now: random picks, and it says so.
        picks(&mut s, &f, 1);
        assert_eq!(s.explain_last_pick().unwrap(), "idle queue empty: uniformly at random among 4 up");
        // Taken off the list, a worker can join again.
        s.on_idle(2, &f.cluster());
        assert_eq!(picks(&mut s, &f, 1), [2]);
    }

    #[test]
    fn a_worker_that_went_down_after_joining_is_skipped() {
        let mut f = Fixture::new(&[0, 0, 0]);
        let mut s = JoinIdleQueue::default();
        s.on_cluster_change(&f.cluster());
        s.on_idle(1, &f.cluster());
        s.on_idle(2, &f.cluster());
        f.set_up(1, false);
        s.on_cluster_change(&f.cluster());
        assert_eq!(picks(&mut s, &f, 1), [2]);
    }

    #[test]
    fn with_nobody_idle_it_is_uniformly_random() {
        let mut f = Fixture::new(&[9, 0, 0, 0]);
        // Four workers, 40,000 picks: 10,000 each expected, sd about 87, so +-600 is ~7 sd.
        let counts = f.pick_counts(&mut JoinIdleQueue::default(), 40_000, true);
        assert!(counts.iter().all(|c| (9_400..10_600).contains(c)), "{counts:?}");
    }
}
