//! `least-work-left`: send each request to the worker that will be free soonest, knowing
//! exactly how much work every request it holds still needs.
//!
//! No balancer can know that: a request's service time is known only once it is served.
//! The model knows it, so this strategy is an *oracle*: for single-slot workers it is the
//! best a balancer that must place each request at once can do (it is what a single shared
//! queue would do, Harchol-Balter's M/G/k argument), and it is the bound against which
//! least-loaded, power-of-two and the rest can be measured: how much of the gap between
//! random and the ideal does each close? It reads [`Cluster::work_left`], which the live
//! engine cannot give, so it runs in the model only. A full scan of the workers per pick.
//!
//! Without an oracle at hand (a cluster built by hand), it falls back to the fewest pending
//! requests, and says so.

use super::{Cluster, Strategy, WorkerId};
use crate::rng::SimRng;
use crate::time::Nanos;

/// Picks the worker with the least work left, ties broken at random.
#[derive(Clone, Debug, Default)]
pub struct LeastWorkLeft {
    /// The latest pick's work left (`None`: no oracle, so fewest pending) and how many tied.
    last: Option<(WorkerId, Option<Nanos>, usize)>,
}

impl Strategy for LeastWorkLeft {
    fn clone_box(&self) -> Option<Box<dyn Strategy>> {
        Some(Box::new(self.clone()))
    }

    fn name(&self) -> &str {
        "least-work-left"
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
        let cost = |w: WorkerId| match cluster.work_left(w) {
            Some(left) => left,
            None => cluster.worker(w).pending as Nanos,
        };
        let (mut best, mut best_cost, mut ties) = (None, Nanos::MAX, 0usize);
        for &w in cluster.up() {
            let c = cost(w);
            if c < best_cost {
                (best, best_cost, ties) = (Some(w), c, 1);
            } else if c == best_cost {
                // Reservoir sampling: each of the tied workers is kept with equal chance.
                ties += 1;
                if rng.below(ties as u64) == 0 {
                    best = Some(w);
                }
            }
        }
        let w = best?;
        self.last = Some((w, cluster.work_left(w), ties));
        Some(w)
    }

    fn explain_last_pick(&self) -> Option<String> {
        let (w, left, ties) = self.last?;
        let tied = if ties > 1 { format!(", {ties} tied") } else { String::new() };
        Some(match left {
            Some(left) => {
                format!("worker {w} is free soonest ({} of work left{tied})", crate::time::Human(left))
            }
            None => format!("no oracle at hand: fewest pending, worker {w}{tied}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;
    use crate::strategy::Oracle;
    use crate::strategy::testing::Fixture;
    use crate::time::MILLIS;

    struct Known(Vec<Nanos>);

    impl Oracle for Known {
        fn work_left(&self, worker: WorkerId) -> Nanos {
            self.0[worker]
        }
    }

    #[test]
    fn takes_the_least_work_left_not_the_fewest_requests() {
        // Worker 0 holds one long request, worker 1 three short ones.
        let f = Fixture::new(&[1, 3, 2]);
        let oracle = Known(vec![900 * MILLIS, 30 * MILLIS, 500 * MILLIS]);
        let mut s = LeastWorkLeft::default();
        let mut rng = SimRng::stream(1, Stream::Strategy);
        assert_eq!(s.pick(&f.cluster().with_oracle(&oracle), &mut rng), Some(1));
        assert_eq!(s.explain_last_pick().unwrap(), "worker 1 is free soonest (30.0ms of work left)");
    }

    #[test]
    fn ties_are_broken_at_random_and_down_workers_never_picked() {
        let mut f = Fixture::new(&[0, 0, 0, 0]);
        f.set_up(3, false);
        let oracle = Known(vec![0, 0, 0, 0]);
        let mut s = LeastWorkLeft::default();
        let mut rng = SimRng::stream(2, Stream::Strategy);
        let mut counts = [0u32; 4];
        for _ in 0..30_000 {
            counts[s.pick(&f.cluster().with_oracle(&oracle), &mut rng).unwrap()] += 1;
        }
        // 10,000 each expected, sd about 82: +-500 is 6 sd.
        assert!(counts[..3].iter().all(|c| (9_500..10_500).contains(c)) && counts[3] == 0, "{counts:?}");
        assert!(s.explain_last_pick().unwrap().ends_with(", 3 tied)"));
    }

    #[test]
    fn without_an_oracle_it_takes_the_fewest_pending_and_says_so() {
        let f = Fixture::new(&[4, 1, 3]);
        let mut s = LeastWorkLeft::default();
        let mut rng = SimRng::stream(3, Stream::Strategy);
        assert_eq!(s.pick(&f.cluster(), &mut rng), Some(1));
        assert_eq!(s.explain_last_pick().unwrap(), "no oracle at hand: fewest pending, worker 1");
    }
}
