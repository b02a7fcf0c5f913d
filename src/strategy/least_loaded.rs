//! `least-loaded`: join the shortest queue.
//!
//! Pike's balancer keeps workers in a heap ordered by pending count. Here workers sit in
//! buckets indexed by their pending count, which makes a pick O(1) (amortised) and an update
//! O(1), and lets ties be broken uniformly at random instead of always favouring one index.

use super::{Cluster, Strategy, WorkerId};
use crate::rng::SimRng;

const NOT_LISTED: u32 = u32::MAX;

/// Where a worker is listed: its bucket (its pending count when listed, or `NOT_LISTED` when
/// down) and its index inside it. One pair, so that a pending change reads one place.
#[derive(Clone, Copy, Debug)]
struct Pos {
    level: u32,
    slot: u32,
}

const UNLISTED: Pos = Pos { level: NOT_LISTED, slot: 0 };

/// Sends each request to a worker with the fewest pending requests.
#[derive(Clone, Debug, Default)]
pub struct LeastLoaded {
    /// `buckets[p]` holds the up workers with `p` pending requests.
    buckets: Vec<Vec<u32>>,
    /// Each worker's place in the buckets.
    at: Vec<Pos>,
    /// No bucket below this one is non-empty.
    min: usize,
    /// Workers listed in all buckets together.
    listed: usize,
    /// How many workers tied at the latest pick, and their pending count (`min` may have
    /// moved on since: the pick itself changes the counts).
    last_ties: usize,
    last_level: usize,
}

impl LeastLoaded {
    fn insert(&mut self, w: WorkerId, pending: u32) {
        self.put(w, pending);
        self.listed += 1;
    }

    /// Lists `w` at the end of bucket `pending`.
    #[inline(always)]
    fn put(&mut self, w: WorkerId, pending: u32) {
        let p = pending as usize;
        if self.buckets.len() <= p {
            self.grow(p);
        }
        let bucket = &mut self.buckets[p];
        self.at[w] = Pos { level: pending, slot: bucket.len() as u32 };
        bucket.push(w as u32);
        self.min = self.min.min(p);
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, p: usize) {
        self.buckets.resize_with(p + 1, Vec::new);
    }

    /// Takes a worker out of its bucket, at `from` (the last worker of the bucket takes its
    /// place, as `Vec::swap_remove` does), to be put in another at once.
    ///
    /// Without a branch: when the worker taken was the bucket's last, it is written over its
    /// own old place (now past the bucket's end) and its own slot is set, which the `put`
    /// that follows overwrites. Whether it was the last is a coin toss in a busy cluster, and
    /// a mispredicted branch cost more than the two stores.
    #[inline(always)]
    fn take(&mut self, from: Pos) {
        let bucket = &mut self.buckets[from.level as usize];
        let last = bucket.pop().expect("a listed worker is in its bucket");
        let i = from.slot as usize;
        debug_assert!(i <= bucket.len(), "a worker's slot is inside its bucket");
        // SAFETY: `i` is at most the new length, which is below the capacity (one was just
        // popped): the write stays inside the allocation, past the end when `i` is the length.
        unsafe { bucket.as_mut_ptr().add(i).write(last) };
        self.at[last as usize].slot = from.slot;
    }
}

impl Strategy for LeastLoaded {
    fn clone_box(&self) -> Option<Box<dyn Strategy>> {
        Some(Box::new(self.clone()))
    }

    fn name(&self) -> &str {
        "least-loaded"
    }

    fn wants_responses(&self) -> bool {
        false
    }

    fn pick(&mut self, _cluster: &Cluster<'_>, rng: &mut SimRng) -> Option<WorkerId> {
        if self.listed == 0 {
            return None;
        }
        while self.buckets[self.min].is_empty() {
            self.min += 1;
        }
        let bucket = &self.buckets[self.min];
        let i = if bucket.len() == 1 { 0 } else { rng.below(bucket.len() as u64) as usize };
        self.last_ties = bucket.len();
        self.last_level = self.min;
        Some(bucket[i] as WorkerId)
    }

    fn explain_last_pick(&self) -> Option<String> {
        Some(match self.last_ties {
            1 => format!("fewest pending ({})", self.last_level),
            n => format!("fewest pending ({}), one of {n} tied, at random", self.last_level),
        })
    }

    fn on_pending_change(&mut self, worker: WorkerId, cluster: &Cluster<'_>) {
        let from = self.at[worker];
        if from.level == NOT_LISTED {
            return;
        }
        let pending = cluster.worker(worker).pending;
        if from.level != pending {
            // Out of one bucket and into another: as a removal then an insertion, without
            // counting it out and back in.
            self.take(from);
            self.put(worker, pending);
            // When the worker leaves the lowest bucket empty, the next one up is where the
            // lowest is now or below it (it went up by one: the usual case). Moved on here
            // without a branch, so that `pick` seldom has to search.
            self.min += self.buckets[self.min].is_empty() as usize;
        }
    }

    fn on_cluster_change(&mut self, cluster: &Cluster<'_>) {
        self.buckets.iter_mut().for_each(Vec::clear);
        self.at = vec![UNLISTED; cluster.len()];
        self.min = 0;
        self.listed = 0;
        for (id, w) in cluster.workers().iter().enumerate() {
            if w.up {
                self.insert(id, w.pending);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::Fixture;

    #[test]
    fn picks_the_minimum_and_follows_changes() {
        let mut f = Fixture::new(&[3, 1, 2, 5]);
        let mut s = LeastLoaded::default();
        let mut rng = SimRng::stream(0, crate::rng::Stream::Strategy);
        s.on_cluster_change(&f.cluster());
        assert_eq!(s.pick(&f.cluster(), &mut rng), Some(1));
        f.workers[1].pending = 4;
        s.on_pending_change(1, &f.cluster());
        assert_eq!(s.pick(&f.cluster(), &mut rng), Some(2));
        f.workers[3].pending = 0;
        s.on_pending_change(3, &f.cluster());
        assert_eq!(s.pick(&f.cluster(), &mut rng), Some(3));
        f.set_up(3, false);
        s.on_cluster_change(&f.cluster());
        assert_eq!(s.pick(&f.cluster(), &mut rng), Some(2));
    }

    #[test]
    fn explains_a_pick_by_the_counts_it_saw() {
        // The pick's own request raises its worker's count at once (the lowest bucket then
        // empties): the explanation still names the count the pick saw.
        let mut f = Fixture::new(&[0, 1, 1]);
        let mut s = LeastLoaded::default();
        let mut rng = SimRng::stream(0, crate::rng::Stream::Strategy);
        s.on_cluster_change(&f.cluster());
        assert_eq!(s.pick(&f.cluster(), &mut rng), Some(0));
        f.workers[0].pending = 1;
        s.on_pending_change(0, &f.cluster());
        assert_eq!(s.explain_last_pick().as_deref(), Some("fewest pending (0)"));
        assert_eq!(s.pick(&f.cluster(), &mut rng).map(|w| f.workers[w].pending), Some(1));
        assert_eq!(s.explain_last_pick().as_deref(), Some("fewest pending (1), one of 3 tied, at random"));
    }

    #[test]
    fn keeps_loads_level_when_nothing_completes() {
        let mut f = Fixture::new(&[0; 8]);
        let counts = f.pick_counts(&mut LeastLoaded::default(), 800, true);
        assert_eq!(counts, vec![100; 8]);
    }

    #[test]
    fn breaks_ties_at_random_not_by_index() {
        // All idle, loads never change: every pick is a tie among all four.
        let mut f = Fixture::new(&[0; 4]);
        let counts = f.pick_counts(&mut LeastLoaded::default(), 40_000, false);
        for c in counts {
            assert!((9_400..10_600).contains(&c), "{c}");
        }
    }

    #[test]
    fn agrees_with_a_linear_scan_under_random_updates() {
        let mut f = Fixture::new(&[0; 13]);
        let mut s = LeastLoaded::default();
        let mut rng = SimRng::stream(9, crate::rng::Stream::Faults);
        s.on_cluster_change(&f.cluster());
        for _ in 0..5_000 {
            let w = rng.below(13) as usize;
            let p = &mut f.workers[w].pending;
            *p = if rng.below(2) == 0 { p.saturating_sub(1) } else { *p + 1 + rng.below(3) as u32 };
            s.on_pending_change(w, &f.cluster());
            let picked = s.pick(&f.cluster(), &mut rng).unwrap();
            let min = f.workers.iter().map(|w| w.pending).min().unwrap();
            assert_eq!(f.workers[picked].pending, min);
        }
    }
}
