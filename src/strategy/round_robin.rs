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
}
