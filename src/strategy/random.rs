//! `random`: a uniformly random worker among those that are up.

use super::{Cluster, Strategy, WorkerId};
use crate::rng::SimRng;

/// Picks a worker uniformly at random.
#[derive(Clone, Debug, Default)]
pub struct Random {
    up: usize,
}

impl Strategy for Random {
    fn clone_box(&self) -> Option<Box<dyn Strategy>> {
        Some(Box::new(self.clone()))
    }

    fn name(&self) -> &str {
        "random"
    }

    fn wants_pending_changes(&self) -> bool {
        false
    }

    fn wants_responses(&self) -> bool {
        false
    }

    fn pick(&mut self, cluster: &Cluster<'_>, rng: &mut SimRng) -> Option<WorkerId> {
        self.up = cluster.up().len();
        cluster.random_up(rng)
    }

    fn explain_last_pick(&self) -> Option<String> {
        Some(format!("uniformly at random among {} up", self.up))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::Fixture;

    #[test]
    fn spreads_uniformly_ignoring_load() {
        let mut f = Fixture::new(&[100, 0, 0, 0]);
        let counts = f.pick_counts(&mut Random::default(), 40_000, true);
        for c in counts {
            assert!((9_400..10_600).contains(&c), "{c}");
        }
    }
}
