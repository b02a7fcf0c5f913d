//! Values recorded now and put into their histogram later, in bulk.
//!
//! The model records three durations per request, and a histogram's own `record` costs
//! several times an increment (an out-of-line call, its range checks, its minimum and
//! maximum). Here a value costs an increment at the histogram's own index; [`Later::settle`]
//! adds the counts to the histogram, after which it is exactly what recording each value
//! would have made it: the same counts, total, minimum and maximum.

use hdrhistogram::Histogram;

/// Values counted here: below 2^32 µs (71 minutes), which the histograms' first range (1 µs
/// to an hour, rounded up to whole buckets) covers. Longer ones go to the histogram at once.
const LIMIT: u64 = 1 << 32;
/// The histogram's indices below `LIMIT`.
const INDICES: usize = index(LIMIT - 1) + 1;

/// The index of `value` (µs) in a histogram of lowest discernible value 1 and 3 significant
/// digits (`crate::metrics::SIGFIG`): buckets of 2048 sub-buckets, whose lower half repeats
/// the bucket below, so that each bucket adds 1024 indices.
#[inline(always)]
const fn index(value: u64) -> usize {
    // 53 = 64 - log2(2048): the bucket is how far `value` reaches beyond 11 bits.
    let bucket = 53 - (value | 2047).leading_zeros();
    let sub = (value >> bucket) as u32;
    ((bucket << 10) + sub) as usize
}

/// The lowest value at index `i`.
fn lowest(i: usize) -> u64 {
    match (i >> 10) as u32 {
        0 | 1 => i as u64,
        b => ((i & 1023) as u64 + 1024) << (b - 1),
    }
}

/// Counts waiting to be added to a histogram.
#[derive(Clone)]
pub(super) struct Later {
    counts: Box<[u64]>,
    /// The indices whose count is not zero, in no order: the first `listed`. Room for every
    /// index and one more, so that a value can be listed without asking whether it is new
    /// (it is written past the end, and the end moves only if it was): a branch on that
    /// was mispredicted often enough that a whole run is about 2% faster without it.
    touched: Box<[u32]>,
    listed: usize,
    /// The smallest non-zero value counted, minus one (`u64::MAX` when none): so that a zero
    /// wraps to the top and never lowers it.
    min_less_one: u64,
    max: u64,
}

impl std::fmt::Debug for Later {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Later({} values to add)",
            self.touched[..self.listed].iter().map(|&i| self.counts[i as usize]).sum::<u64>()
        )
    }
}

impl Later {
    pub(super) fn new() -> Later {
        Later {
            counts: vec![0; INDICES].into(),
            touched: vec![0; INDICES + 1].into(),
            listed: 0,
            min_less_one: u64::MAX,
            max: 0,
        }
    }

    /// Counts `micros`; false (and counts nothing) when it is beyond what is counted here.
    #[inline(always)]
    pub(super) fn record(&mut self, micros: u64) -> bool {
        if micros >= LIMIT {
            return false;
        }
        let i = index(micros);
        debug_assert!(i < self.counts.len());
        // SAFETY: `index` grows with the value, and `micros < LIMIT`: `i < INDICES`, the
        // length of `counts` (saves a bounds check per value, three per request).
        let count = unsafe { self.counts.get_unchecked_mut(i) };
        // SAFETY: an index is listed once until the next settle or clear (when its count
        // leaves zero), so `listed <= INDICES`, and `touched` has INDICES + 1 places.
        debug_assert!(self.listed < self.touched.len());
        unsafe { *self.touched.get_unchecked_mut(self.listed) = i as u32 };
        self.listed += (*count == 0) as usize;
        *count += 1;
        self.min_less_one = self.min_less_one.min(micros.wrapping_sub(1));
        self.max = self.max.max(micros);
        true
    }

    /// Whether everything counted has been added.
    pub(super) fn is_settled(&self) -> bool {
        self.listed == 0
    }

    /// Adds everything counted to `hist`. Each index's count is recorded at one value of that
    /// index, which leaves the counts as they would be; the least and the largest value
    /// counted are recorded as themselves, so that the histogram's minimum and maximum are too.
    pub(super) fn settle(&mut self, hist: &mut Histogram<u64>) {
        if self.listed == 0 {
            return;
        }
        let (min, max) = (self.min_less_one.wrapping_add(1), self.max);
        // No non-zero value: all were zero (index 0), and `min` is 0.
        let (i_min, i_max) = (index(min), index(max));
        for &i in &self.touched[..std::mem::take(&mut self.listed)] {
            let i = i as usize;
            let n = std::mem::take(&mut self.counts[i]);
            let result = if i == i_max && i == i_min && min != max {
                hist.record_n(min, 1).and_then(|()| hist.record_n(max, n - 1))
            } else if i == i_max {
                hist.record_n(max, n)
            } else if i == i_min && min != 0 {
                hist.record_n(min, n)
            } else {
                hist.record_n(lowest(i), n)
            };
            // Below the histogram's first range, which it never shrinks from: cannot fail.
            debug_assert!(result.is_ok(), "{result:?}");
        }
        (self.min_less_one, self.max) = (u64::MAX, 0);
    }

    /// Forgets everything counted.
    pub(super) fn clear(&mut self) {
        for &i in &self.touched[..std::mem::take(&mut self.listed)] {
            self.counts[i as usize] = 0;
        }
        (self.min_less_one, self.max) = (u64::MAX, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{SimRng, Stream};

    fn histogram() -> Histogram<u64> {
        let mut hist = Histogram::new_with_bounds(1, 3_600_000_000, crate::metrics::SIGFIG).unwrap();
        hist.auto(true);
        hist
    }

    #[test]
    fn indices_are_the_histograms() {
        let hist = histogram();
        let mut rng = SimRng::stream(5, Stream::Faults);
        let mut values: Vec<u64> = (0..5_000).collect();
        values.extend((0..33).flat_map(|b| [(1u64 << b) - 1, 1 << b, (1 << b) + 1]));
        values.extend((0..20_000).map(|_| {
            let shift = rng.below(32);
            rng.below(LIMIT >> shift)
        }));
        values.push(LIMIT - 1);
        for v in values.into_iter().filter(|&v| v < LIMIT) {
            assert_eq!(lowest(index(v)), hist.lowest_equivalent(v), "{v}");
            assert!(index(v) < INDICES);
            // The next index starts where this one's values end.
            assert_eq!(lowest(index(v) + 1), hist.next_non_equivalent(v), "{v}");
        }
    }

    #[test]
    fn every_index_at_once_fits() {
        // Each index counted (the list full), then each again (written past the list's end):
        // nothing is out of bounds, and settling gives what recording each value gives.
        let (mut now, mut later, mut pending) = (histogram(), histogram(), Later::new());
        for _ in 0..2 {
            for i in 0..INDICES {
                let v = lowest(i);
                now.record(v).unwrap();
                assert!(pending.record(v));
            }
        }
        assert_eq!(pending.listed, INDICES);
        pending.settle(&mut later);
        assert!(pending.is_settled());
        assert_eq!(later, now);
    }

    #[test]
    fn settling_makes_the_same_histogram_as_recording_each_value() {
        let mut rng = SimRng::stream(7, Stream::Faults);
        for round in 0..40u64 {
            let (mut now, mut later, mut pending) = (histogram(), histogram(), Later::new());
            let n = rng.below(300);
            for k in 0..n {
                let v = match round % 4 {
                    0 => rng.below(3),
                    1 => 2048 + rng.below(4),
                    2 => rng.below(1 << 22),
                    _ => rng.below(LIMIT + (LIMIT >> 2)),
                };
                now.record(v).unwrap();
                if !pending.record(v) {
                    later.record(v).unwrap();
                }
                if k % 97 == 0 {
                    pending.settle(&mut later);
                }
            }
            pending.settle(&mut later);
            assert!(pending.is_settled());
            assert_eq!(later, now, "round {round}");
            assert_eq!((later.min_nz(), later.max(), later.len()), (now.min_nz(), now.max(), now.len()));
            assert_eq!(later.distinct_values(), now.distinct_values());
        }
    }
}
