//! The event queue: a min-heap ordered by (time, insertion order).
//!
//! Ties at the same virtual time are broken by the order in which events were scheduled, so
//! a run is a pure function of its configuration and seed.

use crate::time::Nanos;

/// A scheduled event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// An attempt's service ends. `epoch` guards against crashes meanwhile.
    Departure {
        worker: u32,
        epoch: u32,
        attempt: u64,
    },
    /// The next departure at a worker that does not serve first-come-first-served (processor
    /// sharing, SRPT, LCFS-PR): the request in service with the least work left ends, unless
    /// the worker's population changed since (`generation`, bumped at every change and crash).
    Share {
        worker: u32,
        generation: u32,
    },
    /// A closed-loop client finished thinking and sends its next request.
    ClientSend {
        client: u32,
    },
    /// The warm-up is over: statistics start.
    WarmupEnd,
    /// A request's deadline (the requester's timeout).
    Deadline {
        slot: u32,
        generation: u32,
    },
    /// An attempt's per-try timeout.
    TryTimeout {
        slot: u32,
        generation: u32,
        try_no: u32,
    },
    /// A retry's backoff is over.
    Retry {
        slot: u32,
        generation: u32,
    },
    /// Something reaches the end of the network.
    Transit {
        slot: u32,
    },
    /// A worker crashes.
    Crash {
        worker: u32,
    },
    /// A worker comes back (`random`: and schedules its next random crash).
    Repair {
        worker: u32,
        random: bool,
    },
    /// A configured slowdown begins / ends.
    SlowStart {
        index: u32,
    },
    SlowEnd {
        index: u32,
    },
    /// Periodic health checks.
    HealthCheck,
    /// An ejection ends (if it is still the worker's latest).
    Uneject {
        worker: u32,
        ejection: u32,
    },
    /// Stale load information is refreshed.
    LoadRefresh,
    /// The autoscaler looks at the load.
    ScaleTick,
    /// A new worker has started.
    WorkerReady {
        worker: u32,
    },
    /// A step of a worker's slow-start ramp (`ramp` guards against a newer ramp).
    SlowStartStep {
        worker: u32,
        ramp: u32,
    },
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    time: Nanos,
    seq: u64,
    event: Event,
}

impl Entry {
    /// The order of events as one number: time first, then insertion order. Comparing it is
    /// branch-free (a compare and a subtract with borrow), unlike the pair.
    #[inline(always)]
    fn key(&self) -> u128 {
        ((self.time as u128) << 64) | self.seq as u128
    }
}

/// Children per node. A 4-ary heap is half as deep as a binary one, and a node's children
/// share cache lines, which matters with a hundred thousand workers' departures pending.
const ARITY: usize = 4;

/// Events at most this many are kept sorted rather than in a heap.
const SORTED_MAX: usize = 32;

/// Pending events in time order. Few of them (a small cluster's departures: the usual case)
/// are kept sorted, latest first: a pop takes the last, a push moves a few entries up, which
/// is several times cheaper than a heap's sifting. Once there are more than `SORTED_MAX`,
/// they become an implicit 4-ary min-heap, for good (the sorted order is a valid heap).
#[derive(Clone, Debug, Default)]
pub(crate) struct EventQueue {
    heap: Vec<Entry>,
    /// Whether `heap` is a heap; sorted, latest first, until then.
    is_heap: bool,
    seq: u64,
}

impl EventQueue {
    #[inline(always)]
    pub fn push(&mut self, time: Nanos, event: Event) {
        self.seq += 1;
        let entry = Entry { time, seq: self.seq, event };
        let len = self.heap.len();
        if !self.is_heap && len < SORTED_MAX && len < self.heap.capacity() {
            // Where it goes: after every later entry (a prefix, latest first). Its sequence
            // number is the largest yet, so an entry is later exactly when its time is: the
            // times alone decide. A fixed five-step search (SORTED_MAX is 32; made branch-free,
            // it was slower: the branches are mostly predicted, a select waits for the times).
            let heap = &self.heap[..];
            let mut at = 0;
            let mut step = SORTED_MAX / 2;
            while step > 0 {
                if at + step <= len && heap[at + step - 1].time > time {
                    at += step;
                }
                step /= 2;
            }
            // The earlier entries move up one place one entry at a time, the last first: the
            // throughput bench's least-loaded run is about 2% faster than with `memmove`
            // (three runs of each, alternating). Likely why: the previous push has just
            // written these entries one by one, and a load the shape of a store is served
            // from it at once, where `memmove`'s wider loads, aligned otherwise, wait for the
            // stores to land. The `black_box` keeps the compiler from turning the loop back
            // into a `memmove` call.
            //
            // SAFETY: `at <= len < capacity`: the entries from `at` move up one place, within
            // the allocation, and `entry` fills the gap; then the vector is one longer.
            unsafe {
                let base = self.heap.as_mut_ptr();
                let mut i = len;
                while i > at {
                    base.add(i).write(base.add(i - 1).read());
                    i -= 1;
                    std::hint::black_box(());
                }
                base.add(at).write(entry);
                self.heap.set_len(len + 1);
            }
            return;
        }
        self.push_slow(entry);
    }

    /// A push that grows the vector, turns the sorted events into a heap or sifts in it.
    #[inline(never)]
    fn push_slow(&mut self, entry: Entry) {
        let key = entry.key();
        if !self.is_heap {
            if self.heap.len() < SORTED_MAX {
                let at = self.heap.partition_point(|e| e.key() > key);
                self.heap.insert(at, entry);
                return;
            }
            self.heap.reverse();
            self.is_heap = true;
        }
        let mut i = self.heap.len();
        self.heap.push(entry);
        let heap = &mut self.heap[..];
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if key >= heap[parent].key() {
                break;
            }
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = entry;
    }

    pub fn peek_time(&self) -> Option<Nanos> {
        if self.is_heap { self.heap.first() } else { self.heap.last() }.map(|e| e.time)
    }

    #[inline(always)]
    pub fn pop(&mut self) -> Option<(Nanos, Event)> {
        let last = self.heap.pop()?;
        if !self.is_heap {
            return Some((last.time, last.event));
        }
        self.pop_heap(last)
    }

    /// A pop from the heap, whose last entry (`last`) has been taken off: the root goes, and
    /// `last` sifts down from there.
    #[inline(never)]
    fn pop_heap(&mut self, last: Entry) -> Option<(Nanos, Event)> {
        let n = self.heap.len();
        if n == 0 {
            return Some((last.time, last.event));
        }
        let heap = &mut self.heap[..];
        let top = heap[0];
        let key = last.key();
        // Sift `last` down from the root. Where a node has all four children (every level
        // but the last), the least of them is found without branches.
        let mut i = 0;
        loop {
            let first = i * ARITY + 1;
            let (best, best_key) = if first + ARITY <= n {
                let c = &heap[first..first + ARITY];
                let (k0, k1, k2, k3) = (c[0].key(), c[1].key(), c[2].key(), c[3].key());
                let (a, ka) = if k1 < k0 { (1, k1) } else { (0, k0) };
                let (b, kb) = if k3 < k2 { (3, k3) } else { (2, k2) };
                let (m, km) = if kb < ka { (b, kb) } else { (a, ka) };
                (first + m, km)
            } else if first < n {
                let (mut best, mut best_key) = (first, heap[first].key());
                for (c, e) in heap.iter().enumerate().take(n).skip(first + 1) {
                    let k = e.key();
                    if k < best_key {
                        (best, best_key) = (c, k);
                    }
                }
                (best, best_key)
            } else {
                break;
            };
            if best_key >= key {
                break;
            }
            heap[i] = heap[best];
            i = best;
        }
        heap[i] = last;
        Some((top.time, top.event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_a_sort_on_many_random_events() {
        let mut rng = crate::rng::SimRng::stream(3, crate::rng::Stream::Faults);
        let mut q = EventQueue::default();
        let mut expected = Vec::new();
        for i in 0..5_000u32 {
            let t = rng.below(500);
            q.push(t, Event::ClientSend { client: i });
            expected.push((t, i));
            if i % 3 == 0 {
                expected.sort();
                let (t0, c0) = expected.remove(0);
                assert_eq!(q.pop(), Some((t0, Event::ClientSend { client: c0 })));
            }
        }
        expected.sort();
        for (t, c) in expected {
            assert_eq!(q.pop(), Some((t, Event::ClientSend { client: c })));
        }
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn agrees_with_a_sort_while_small_and_after_growing() {
        // Up to SORTED_MAX events (sorted), then beyond (a heap), then back down.
        let mut rng = crate::rng::SimRng::stream(4, crate::rng::Stream::Faults);
        let mut q = EventQueue::default();
        let mut expected = Vec::new();
        fn check(q: &mut EventQueue, expected: &mut Vec<(u64, u32)>) {
            expected.sort();
            let (t0, c0) = expected.remove(0);
            assert_eq!(q.peek_time(), Some(t0));
            assert_eq!(q.pop(), Some((t0, Event::ClientSend { client: c0 })));
        }
        for i in 0..3_000u32 {
            let t = rng.below(40);
            q.push(t, Event::ClientSend { client: i });
            expected.push((t, i));
            // Hover around SORTED_MAX for a while, then grow.
            let keep = if i < 1_000 { SORTED_MAX - 2 } else { 200 };
            while expected.len() > keep || (rng.below(3) == 0 && !expected.is_empty()) {
                check(&mut q, &mut expected);
            }
        }
        while !expected.is_empty() {
            check(&mut q, &mut expected);
        }
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn pops_in_time_order_then_insertion_order() {
        let mut q = EventQueue::default();
        q.push(5, Event::ClientSend { client: 1 });
        q.push(3, Event::ClientSend { client: 2 });
        q.push(5, Event::ClientSend { client: 3 });
        q.push(1, Event::WarmupEnd);
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            [
                (1, Event::WarmupEnd),
                (3, Event::ClientSend { client: 2 }),
                (5, Event::ClientSend { client: 1 }),
                (5, Event::ClientSend { client: 3 }),
            ]
        );
    }
}
