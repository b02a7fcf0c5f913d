//! `ring-hash`: consistent hashing on a ring of virtual nodes (Karger et al.; Envoy's
//! `RING_HASH`, nginx `hash ... consistent`).
//!
//! Each worker has `ring_size` points on a 64-bit ring; a key goes to the owner of the first
//! point at or after its hash, skipping workers that are down. When one of N workers leaves,
//! only the keys it owned move (about 1/N of them), each to the next worker along the ring.
//! A pick is a binary search, O(log(points)); a cluster change rebuilds the owners, O(points).

use super::{Cluster, Strategy, WorkerId};
use crate::keys::{hash_key, mix};
use crate::rng::SimRng;

/// The most points a ring may have (Envoy's maximum ring size).
pub const MAX_RING_POINTS: usize = 1 << 23;

/// A ring of virtual nodes, shared by `ring-hash` and `bounded-hash`.
#[derive(Clone, Debug, Default)]
pub(super) struct Ring {
    /// Points per worker asked for.
    per_worker: usize,
    /// (position, worker), sorted by position.
    points: Vec<(u64, u32)>,
    /// For each point, the up worker that owns the arc ending there (the first up worker
    /// at or after it), or `u32::MAX` when none is up.
    owners: Vec<u32>,
    /// Workers the ring was built for.
    workers: usize,
    /// Share of the key space whose owner changed at the latest rebuild of the owners.
    pub(super) moved: Option<f64>,
}

impl Ring {
    pub(super) fn new(per_worker: usize) -> Ring {
        Ring { per_worker: per_worker.max(1), ..Ring::default() }
    }

    /// Points each worker gets for a cluster of `n`: as asked, within the ring's maximum.
    fn points_per_worker(&self, n: usize) -> usize {
        self.per_worker.min(MAX_RING_POINTS / n.max(1)).max(1)
    }

    /// Brings the ring up to date with the cluster: new points when workers were added,
    /// new owners always; records the share of keys that moved.
    pub(super) fn update(&mut self, cluster: &Cluster<'_>) {
        if cluster.len() != self.workers {
            let per = self.points_per_worker(cluster.len());
            self.points = (0..cluster.len() as u64)
                .flat_map(|w| (0..per as u64).map(move |i| (mix((w << 24) ^ i ^ 0x7269_6e67), w as u32)))
                .collect();
            self.points.sort_unstable();
            self.workers = cluster.len();
            self.owners.clear();
        }
        let mut owners = vec![u32::MAX; self.points.len()];
        // Walk twice round backwards so that the arcs before the first up point wrap.
        let mut next = u32::MAX;
        for pass in 0..2 {
            for i in (0..self.points.len()).rev() {
                let w = self.points[i].1;
                if cluster.worker(w as usize).up {
                    next = w;
                }
                if pass == 1 {
                    owners[i] = next;
                }
            }
        }
        self.moved = (owners.len() == self.owners.len()).then(|| self.moved_share(&owners));
        self.owners = owners;
    }

    /// The share of the ring (of the key space) whose owner differs in `new`.
    fn moved_share(&self, new: &[u32]) -> f64 {
        let n = self.points.len();
        let mut moved = 0.0;
        for (i, (now, before)) in new.iter().zip(&self.owners).enumerate() {
            if now != before {
                // The arc from the previous point (exclusive) to this one.
                let prev = if i == 0 { self.points[n - 1].0 } else { self.points[i - 1].0 };
                moved += self.points[i].0.wrapping_sub(prev) as f64;
            }
        }
        moved / 2f64.powi(64)
    }

    /// The index of the first point at or after `hash` (wrapping).
    pub(super) fn start(&self, hash: u64) -> usize {
        let i = self.points.partition_point(|p| p.0 < hash);
        if i == self.points.len() { 0 } else { i }
    }

    /// The up worker that owns `hash`.
    pub(super) fn owner(&self, hash: u64) -> Option<WorkerId> {
        let w = *self.owners.get(self.start(hash))?;
        (w != u32::MAX).then_some(w as usize)
    }

    /// Points on the ring.
    pub(super) fn len(&self) -> usize {
        self.points.len()
    }

    /// The worker of the point `i` steps after `start` (wrapping).
    pub(super) fn worker_at(&self, start: usize, i: usize) -> WorkerId {
        self.points[(start + i) % self.points.len()].1 as usize
    }
}

/// The hash a pick places on the ring: the key's, or a random one for a request without a key.
pub(super) fn pick_hash(cluster: &Cluster<'_>, rng: &mut SimRng) -> (u64, bool) {
    match cluster.key() {
        Some(k) => (hash_key(k), true),
        None => (rng.next_u64(), false),
    }
}

/// Sends each key to the owner of its point on a ring of virtual nodes.
#[derive(Clone, Debug)]
pub struct RingHash {
    ring: Ring,
    last: Option<(Option<u64>, WorkerId)>,
}

impl RingHash {
    /// A ring with `ring_size` points per worker (Envoy: 1,024 at least).
    pub fn new(ring_size: usize) -> RingHash {
        RingHash { ring: Ring::new(ring_size), last: None }
    }
}

impl Strategy for RingHash {
    fn clone_box(&self) -> Option<Box<dyn Strategy>> {
        Some(Box::new(self.clone()))
    }

    fn name(&self) -> &str {
        "ring-hash"
    }

    fn wants_pending_changes(&self) -> bool {
        false
    }

    fn wants_responses(&self) -> bool {
        false
    }

    fn pick(&mut self, cluster: &Cluster<'_>, rng: &mut SimRng) -> Option<WorkerId> {
        if cluster.up().is_empty() {
            return None;
        }
        if self.ring.workers != cluster.len() {
            self.ring.update(cluster);
        }
        let (hash, keyed) = pick_hash(cluster, rng);
        let w = self.ring.owner(hash)?;
        self.last = Some((keyed.then(|| cluster.key()).flatten(), w));
        Some(w)
    }

    fn on_cluster_change(&mut self, cluster: &Cluster<'_>) {
        self.ring.update(cluster);
    }

    fn keys_moved(&self) -> Option<f64> {
        self.ring.moved
    }

    fn explain_last_pick(&self) -> Option<String> {
        Some(match self.last {
            Some((Some(k), w)) => format!("key {k} hashes onto worker {w}'s arc of the ring"),
            _ => "no key: a random point of the ring".to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::Fixture;

    fn owners(s: &mut RingHash, f: &Fixture, keys: u64) -> Vec<WorkerId> {
        let mut rng = SimRng::stream(0, crate::rng::Stream::Strategy);
        (0..keys).map(|k| s.pick(&f.cluster().with_key(Some(k)), &mut rng).unwrap()).collect()
    }

    #[test]
    fn a_key_always_goes_to_the_same_worker_and_keys_spread() {
        let mut f = Fixture::new(&[0; 10]);
        let mut s = RingHash::new(1024);
        s.on_cluster_change(&f.cluster());
        let a = owners(&mut s, &f, 20_000);
        assert_eq!(a, owners(&mut s, &f, 20_000));
        let mut counts = [0u32; 10];
        a.iter().for_each(|&w| counts[w] += 1);
        // 1,024 points each: every share within 15% of a tenth.
        assert!(counts.iter().all(|&c| (1_700..=2_300).contains(&c)), "{counts:?}");
        f.set_up(3, false);
        s.on_cluster_change(&f.cluster());
        assert!(owners(&mut s, &f, 1_000).iter().all(|&w| w != 3));
    }

    #[test]
    fn one_worker_of_n_leaving_moves_about_one_nth_of_the_keys_and_only_its_own() {
        let mut f = Fixture::new(&[0; 20]);
        let mut s = RingHash::new(1024);
        s.on_cluster_change(&f.cluster());
        let before = owners(&mut s, &f, 50_000);
        f.set_up(7, false);
        s.on_cluster_change(&f.cluster());
        let after = owners(&mut s, &f, 50_000);
        let moved = before.iter().zip(&after).filter(|(a, b)| a != b).count();
        assert!(before.iter().zip(&after).all(|(&a, &b)| a == b || a == 7), "only worker 7's keys move");
        let share = moved as f64 / 50_000.0;
        assert!((share - 0.05).abs() < 0.01, "{share}");
        // The ring's own measure of what moved agrees with the keys that did.
        assert!((s.keys_moved().unwrap() - share).abs() < 0.006, "{:?} vs {share}", s.keys_moved());
        f.set_up(7, true);
        s.on_cluster_change(&f.cluster());
        assert_eq!(owners(&mut s, &f, 50_000), before, "they come back when it does");
    }
}
