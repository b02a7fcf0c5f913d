//! `round-robin`: the next worker in turn, skipping workers that are down.

use super::{Cluster, Strategy, WorkerId};
use crate::rng::SimRng;

/// Hands requests to workers 0, 1, 2, ... in turn.
#[derive(Clone, Debug, Default)]
pub struct RoundRobin {
    next: usize,
}

impl Strategy for RoundRobin {
    fn clone_box(&self) -> Option<Box<dyn Strategy>> {
        Some(Box::new(self.clone()))
    }

    fn name(&self) -> &str {
        "round-robin"
    }

    fn wants_pending_changes(&self) -> bool {
        false
    }

    fn wants_responses(&self) -> bool {
        false
    }

    fn pick(&mut self, cluster: &Cluster<'_>, _rng: &mut SimRng) -> Option<WorkerId> {
        let n = cluster.len();
        if cluster.up().is_empty() {
            return None;
        }
        loop {
            let candidate = self.next % n;
            self.next = candidate + 1;
            if cluster.worker(candidate).up {
                return Some(candidate);
            }
        }
    }

    fn explain_last_pick(&self) -> Option<String> {
        Some("next in turn".to_string())
    }

    fn start_as_replica(&mut self, cluster: &Cluster<'_>, rng: &mut SimRng) {
        if !cluster.is_empty() {
            self.next = rng.below(cluster.len() as u64) as usize;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::Fixture;

    #[test]
    fn cycles_through_workers_in_order_whatever_their_load() {
        let mut f = Fixture::new(&[5, 0, 9]);
        let mut s = RoundRobin::default();
        let mut rng = SimRng::stream(0, crate::rng::Stream::Strategy);
        let picks: Vec<_> = (0..7).map(|_| s.pick(&f.cluster(), &mut rng).unwrap()).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2, 0]);
        f.set_up(1, false);
        let picks: Vec<_> = (0..4).map(|_| s.pick(&f.cluster(), &mut rng).unwrap()).collect();
        assert_eq!(picks, [2, 0, 2, 0]);
    }

    #[test]
    fn a_replica_starts_at_a_random_point_of_the_order() {
        let f = Fixture::new(&[0; 10]);
        let mut starts = [0u32; 10];
        for seed in 0..2_000 {
            let mut s = RoundRobin::default();
            let mut rng = SimRng::substream(seed, crate::rng::Stream::Strategy, 1);
            s.start_as_replica(&f.cluster(), &mut rng);
            let first = s.pick(&f.cluster(), &mut rng).unwrap();
            assert_eq!(s.pick(&f.cluster(), &mut rng), Some((first + 1) % 10), "then in turn");
            starts[first] += 1;
        }
        // 200 expected per start; binomial sd about 13.4, so +-60 is beyond 4 sd.
        assert!(starts.iter().all(|&n| (140..=260).contains(&n)), "{starts:?}");
    }
}
