//! `power-of-two`: the power of d choices (Mitzenmacher; Envoy's least_request).

use super::{Cluster, Strategy, WorkerId};
use crate::rng::SimRng;

/// Samples `d` distinct workers uniformly and sends the request to the one with the fewest
/// pending requests (the first sampled among equals, which is itself random).
#[derive(Clone, Debug)]
pub struct PowerOfTwo {
    d: usize,
    sample: Vec<usize>,
    /// The latest pick's candidates: (worker, pending), the chosen one first (d = 2 only).
    last: Option<[(WorkerId, u32); 2]>,
}

impl PowerOfTwo {
    /// `d` choices per pick (at least 1; 1 is the same as `random`).
    pub fn new(d: usize) -> PowerOfTwo {
        PowerOfTwo { d: d.max(1), sample: Vec::with_capacity(d.max(1)), last: None }
    }
}

/// Fills `out` with `k` distinct indices from `0..n`, uniformly (Floyd's algorithm, so
/// `O(k^2)` time and no allocation beyond `out`). Requires `k <= n`.
pub(crate) fn sample_distinct(n: usize, k: usize, rng: &mut SimRng, out: &mut Vec<usize>) {
    out.clear();
    for j in n - k..n {
        let t = rng.below(j as u64 + 1) as usize;
        if out.contains(&t) {
            out.push(j);
        } else {
            out.push(t);
        }
    }
}

impl Strategy for PowerOfTwo {
    fn clone_box(&self) -> Option<Box<dyn Strategy>> {
        Some(Box::new(self.clone()))
    }

    fn name(&self) -> &str {
        "power-of-two"
    }

    fn wants_pending_changes(&self) -> bool {
        false
    }

    fn wants_responses(&self) -> bool {
        false
    }

    fn pick(&mut self, cluster: &Cluster<'_>, rng: &mut SimRng) -> Option<WorkerId> {
        let up = cluster.up();
        let n = up.len();
        if n == 0 {
            return None;
        }
        if self.d == 2
            && let Some((a, b)) = cluster.two_up(rng)
        {
            // The common case, without the scratch vector.
            let pending = |w: WorkerId| cluster.worker(w).pending;
            let (win, lose) = if pending(b) < pending(a) { (b, a) } else { (a, b) };
            self.last = Some([(win, pending(win)), (lose, pending(lose))]);
            return Some(win);
        }
        let pending = |i: usize| cluster.worker(up[i]).pending;
        self.last = None;
        sample_distinct(n, self.d.min(n), rng, &mut self.sample);
        let best = self.sample.iter().copied().min_by_key(|&i| pending(i))?;
        Some(up[best])
    }

    fn explain_last_pick(&self) -> Option<String> {
        self.describe().or_else(|| Some(format!("least pending of {} sampled", self.d)))
    }
}

impl PowerOfTwo {
    fn describe(&self) -> Option<String> {
        let [(w, pw), (l, pl)] = self.last?;
        Some(format!("sampled {w} ({pw} pending) and {l} ({pl} pending): took the less loaded"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::Fixture;

    #[test]
    fn never_picks_the_most_loaded_of_two() {
        let mut f = Fixture::new(&[0, 9]);
        let counts = f.pick_counts(&mut PowerOfTwo::new(2), 1_000, false);
        assert_eq!(counts, [1_000, 0]);
    }

    #[test]
    fn the_busiest_of_n_workers_is_picked_only_when_sampled_against_nothing_better() {
        // With d = 2 among 4 workers of distinct loads, worker i wins when it is the less
        // loaded of the pair: P(lightest) = 3/6, then 2/6, 1/6, 0.
        let mut f = Fixture::new(&[0, 1, 2, 3]);
        let counts = f.pick_counts(&mut PowerOfTwo::new(2), 60_000, false);
        for (c, expected) in counts.iter().zip([30_000, 20_000, 10_000, 0]) {
            assert!((*c as i64 - expected).abs() < 800, "{counts:?}");
        }
    }

    #[test]
    fn d_equal_to_n_is_least_loaded_and_d_one_is_random() {
        let mut f = Fixture::new(&[4, 2, 7]);
        assert_eq!(f.pick_counts(&mut PowerOfTwo::new(3), 100, false), [0, 100, 0]);
        let counts = f.pick_counts(&mut PowerOfTwo::new(1), 30_000, false);
        assert!(counts.iter().all(|&c| (9_400..10_600).contains(&c)), "{counts:?}");
    }

    #[test]
    fn floyd_samples_are_distinct_and_uniform() {
        let mut rng = SimRng::stream(5, crate::rng::Stream::Strategy);
        let mut out = Vec::new();
        let mut hits = [0u32; 6];
        for _ in 0..30_000 {
            sample_distinct(6, 3, &mut rng, &mut out);
            let mut sorted = out.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), 3);
            for &i in &out {
                hits[i] += 1;
            }
        }
        assert!(hits.iter().all(|&h| (14_500..15_500).contains(&h)), "{hits:?}");
    }
}
