//! The event queue: a binary min-heap ordered by (time, insertion order).
//!
//! Ties at the same virtual time are broken by the order in which events were scheduled, so
//! a run is a pure function of its configuration and seed.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::Nanos;

/// A scheduled event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A request's service ends. `epoch` guards against workers killed meanwhile.
    Departure { worker: u32, epoch: u32, request: u64 },
    /// A closed-loop client finished thinking and sends its next request.
    ClientSend { client: u32 },
    /// The warm-up is over: statistics start.
    WarmupEnd,
}

#[derive(Debug)]
struct Entry {
    time: Nanos,
    seq: u64,
    event: Event,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Entry) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Entry) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest first.
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// Pending events in time order.
#[derive(Debug, Default)]
pub(crate) struct EventQueue {
    heap: BinaryHeap<Entry>,
    seq: u64,
}

impl EventQueue {
    pub fn push(&mut self, time: Nanos, event: Event) {
        self.seq += 1;
        self.heap.push(Entry { time, seq: self.seq, event });
    }

    pub fn peek_time(&self) -> Option<Nanos> {
        self.heap.peek().map(|e| e.time)
    }

    pub fn pop(&mut self) -> Option<(Nanos, Event)> {
        self.heap.pop().map(|e| (e.time, e.event))
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
