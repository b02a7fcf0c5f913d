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
    #[inline]
    fn before(&self, other: &Entry) -> bool {
        (self.time, self.seq) < (other.time, other.seq)
    }
}

/// Children per node. A 4-ary heap is half as deep as a binary one, and a node's children
/// share cache lines, which matters with a hundred thousand workers' departures pending.
const ARITY: usize = 4;

/// Pending events in time order: an implicit 4-ary min-heap.
#[derive(Clone, Debug, Default)]
pub(crate) struct EventQueue {
    heap: Vec<Entry>,
    seq: u64,
}

impl EventQueue {
    pub fn push(&mut self, time: Nanos, event: Event) {
        self.seq += 1;
        let entry = Entry { time, seq: self.seq, event };
        let mut i = self.heap.len();
        self.heap.push(entry);
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if !entry.before(&self.heap[parent]) {
                break;
            }
            self.heap[i] = self.heap[parent];
            i = parent;
        }
        self.heap[i] = entry;
    }

    pub fn peek_time(&self) -> Option<Nanos> {
        self.heap.first().map(|e| e.time)
    }

    pub fn pop(&mut self) -> Option<(Nanos, Event)> {
        let last = self.heap.pop()?;
        if self.heap.is_empty() {
            return Some((last.time, last.event));
        }
        let top = self.heap[0];
        // Sift `last` down from the root.
        let n = self.heap.len();
        let mut i = 0;
        loop {
            let first = i * ARITY + 1;
            if first >= n {
                break;
            }
            let end = (first + ARITY).min(n);
            let mut best = first;
            for c in first + 1..end {
                if self.heap[c].before(&self.heap[best]) {
                    best = c;
                }
            }
            if !self.heap[best].before(&last) {
                break;
            }
            self.heap[i] = self.heap[best];
            i = best;
        }
        self.heap[i] = last;
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
