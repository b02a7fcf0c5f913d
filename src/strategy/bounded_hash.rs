//! `bounded-hash`: consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam,
//! 2018; Envoy's `hash_balance_factor`, HAProxy's `hash-balance-factor`).
//!
//! Keys sit on a ring of virtual nodes as in `ring-hash`, but no worker may take more than
//! `ceil(c x (pending + 1) / up)` requests, the new one included (`c` default 1.25): a key
//! whose worker is full walks on along the ring to the first worker with room. A hot key
//! thus spills to its ring neighbours instead of drowning its worker, while most keys keep
//! their worker (and its cache). The total pending count is kept up to date from
//! `on_pending_change`, so a pick costs a binary search plus the walk past full workers: O(1)
//! expected steps for c > 1 (at most 1/c of the workers can be full).

use super::ring_hash::{Ring, pick_hash};
use super::{Cluster, Strategy, WorkerId};
use crate::rng::SimRng;

/// Consistent hashing whose workers each take at most `c` times the mean load.
#[derive(Clone, Debug)]
pub struct BoundedHash {
    ring: Ring,
    c: f64,
    /// Each worker's pending count as last seen, and their sum over the up workers.
    pending: Vec<u32>,
    total: u64,
    last: Option<(Option<u64>, WorkerId, usize, u64)>,
}

impl BoundedHash {
    /// A ring with `ring_size` points per worker and the bound factor `c` (above 1).
    pub fn new(ring_size: usize, c: f64) -> BoundedHash {
        BoundedHash { ring: Ring::new(ring_size), c: c.max(1.0), pending: Vec::new(), total: 0, last: None }
    }

    /// The most a worker may hold after this pick: `ceil(c x (total + 1) / up)`.
    pub fn bound(&self, up: usize) -> u64 {
        (self.c * (self.total + 1) as f64 / up.max(1) as f64).ceil() as u64
    }

    fn resync(&mut self, cluster: &Cluster<'_>) {
        self.pending = cluster.workers().iter().map(|w| w.pending).collect();
        self.total = cluster.up().iter().map(|&w| self.pending[w] as u64).sum();
    }
}

impl Strategy for BoundedHash {
    fn clone_box(&self) -> Option<Box<dyn Strategy>> {
        Some(Box::new(self.clone()))
    }

    fn name(&self) -> &str {
        "bounded-hash"
    }

    fn wants_responses(&self) -> bool {
        false
    }

    fn pick(&mut self, cluster: &Cluster<'_>, rng: &mut SimRng) -> Option<WorkerId> {
        if cluster.up().is_empty() {
            return None;
        }
        if self.pending.len() != cluster.len() || self.ring.len() == 0 {
            self.ring.update(cluster);
            self.resync(cluster);
        }
        let (hash, keyed) = pick_hash(cluster, rng);
        let bound = self.bound(cluster.up().len());
        let start = self.ring.start(hash);
        for i in 0..self.ring.len() {
            let w = self.ring.worker_at(start, i);
            let view = cluster.worker(w);
            // Room for one more: pending + 1 <= bound.
            if view.up && (view.pending as u64) < bound {
                self.last = Some((keyed.then(|| cluster.key()).flatten(), w, i, bound));
                return Some(w);
            }
        }
        // Unreachable while the counts are in step (the least loaded worker always has room),
        // but a strategy must not fail: take the owner.
        self.ring.owner(hash)
    }

    fn on_pending_change(&mut self, worker: WorkerId, cluster: &Cluster<'_>) {
        let Some(old) = self.pending.get_mut(worker) else { return };
        let new = cluster.worker(worker).pending;
        if cluster.worker(worker).up {
            self.total = (self.total as i64 + new as i64 - *old as i64).max(0) as u64;
        }
        *old = new;
    }

    fn on_cluster_change(&mut self, cluster: &Cluster<'_>) {
        self.ring.update(cluster);
        self.resync(cluster);
    }

    fn keys_moved(&self) -> Option<f64> {
        self.ring.moved
    }

    fn explain_last_pick(&self) -> Option<String> {
        Some(match self.last {
            Some((Some(k), w, 0, bound)) => format!("key {k}'s worker {w} is under the bound ({bound})"),
            Some((Some(k), w, steps, bound)) => {
                format!(
                    "key {k}'s worker was full (bound {bound}): {steps} steps on along the ring to worker {w}"
                )
            }
            Some((None, w, _, bound)) => {
                format!("no key: a random point, worker {w} under the bound ({bound})")
            }
            None => "no pick yet".to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::Fixture;

    #[test]
    fn no_pick_ever_exceeds_the_bound() {
        // Property: one hot key and random completions; at every pick the chosen worker holds
        // at most ceil(c x (total + 1) / up) afterwards, for several factors.
        for c in [1.05, 1.25, 2.0] {
            let mut f = Fixture::new(&[0; 9]);
            let mut s = BoundedHash::new(256, c);
            let mut rng = SimRng::stream(3, crate::rng::Stream::Strategy);
            s.on_cluster_change(&f.cluster());
            for step in 0..20_000 {
                if rng.below(3) == 0 {
                    // A completion somewhere.
                    let w = rng.below(9) as usize;
                    if f.workers[w].pending > 0 {
                        f.workers[w].pending -= 1;
                        s.on_pending_change(w, &f.cluster());
                    }
                    continue;
                }
                let key = if rng.below(2) == 0 { 42 } else { rng.below(1_000) };
                let total: u64 = f.workers.iter().map(|w| w.pending as u64).sum();
                let bound = (c * (total + 1) as f64 / 9.0).ceil() as u64;
                let w = s.pick(&f.cluster().with_key(Some(key)), &mut rng).unwrap();
                assert!((f.workers[w].pending as u64) < bound, "c {c}, step {step}: over the bound {bound}");
                f.workers[w].pending += 1;
                s.on_pending_change(w, &f.cluster());
            }
        }
    }

    #[test]
    fn under_the_bound_a_key_keeps_its_ring_worker() {
        let f = Fixture::new(&[0; 8]);
        let mut s = BoundedHash::new(512, 1.25);
        let mut ring = super::super::RingHash::new(512);
        s.on_cluster_change(&f.cluster());
        ring.on_cluster_change(&f.cluster());
        let mut rng = SimRng::stream(0, crate::rng::Stream::Strategy);
        // Nothing pending: every worker is under the bound, so bounded-hash is ring-hash.
        for k in 0..1_000 {
            let c = f.cluster().with_key(Some(k));
            assert_eq!(s.pick(&c, &mut rng), ring.pick(&c, &mut rng));
        }
    }
}
