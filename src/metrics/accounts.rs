//! The one accounting path: both engines tell [`Metrics`] that a measured request was sent
//! ([`Metrics::sent`]) and how it ended ([`Metrics::ended`]), and nothing else touches the
//! request counters, so that every report of either engine satisfies
//! `sent = completed + rejected + failed + timed_out + cancelled + in_flight`.

use super::Metrics;
use crate::time::Nanos;

/// How a request ended, whichever engine ran it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Answered well; times in scenario nanoseconds.
    Completed {
        /// The worker that served it.
        worker: usize,
        /// From sending to the answer.
        latency: Nanos,
        /// Queued at the worker.
        wait: Nanos,
        /// In service.
        service: Nanos,
    },
    /// Its last attempt was turned away (queue full, or no worker available).
    Rejected,
    /// Its last attempt failed (worker error or crash).
    Failed,
    /// The requester gave up on it (its deadline, or the last per-try timeout).
    TimedOut,
    /// A live run shut down before it ended (the model's runs end with such requests in
    /// flight instead).
    Cancelled,
}

impl Ending {
    /// How it ended, in a word or two (`timed out`), for an event log.
    pub fn words(&self) -> &'static str {
        match self {
            Ending::Completed { .. } => "completed",
            Ending::Rejected => "rejected",
            Ending::Failed => "failed",
            Ending::TimedOut => "timed out",
            Ending::Cancelled => "cancelled",
        }
    }
}

impl Metrics {
    /// A measured request was sent (one after the warm-up).
    // Always inlined: on the model's hot path, where each call site knows the ending, so that
    // the match folds away (an outlined call cost 2% more instructions per request).
    #[inline(always)]
    pub fn sent(&mut self) {
        if let Some(timeline) = &mut self.timeline {
            timeline.sent();
        }
        let c = &mut self.counters;
        c.sent += 1;
        c.in_flight += 1;
    }

    /// A measured request ended, at `now` (scenario time, for the recent window). A
    /// completion's latencies are recorded, and its worker's count.
    #[inline(always)]
    pub fn ended(&mut self, ending: &Ending, now: Nanos) {
        self.end(ending, now, false);
    }

    /// As [`ended`](Metrics::ended), with a completion's latencies recorded for later
    /// ([`Recorder::record_later`](super::Recorder::record_later)): the model's way, which
    /// settles them ([`Metrics::settle`]) before anyone reads them.
    #[inline(always)]
    pub fn ended_later(&mut self, ending: &Ending, now: Nanos) {
        self.end(ending, now, true);
    }

    #[inline(always)]
    fn end(&mut self, ending: &Ending, now: Nanos, later: bool) {
        let c = &mut self.counters;
        c.in_flight -= 1;
        match *ending {
            Ending::Completed { worker, latency, wait, service } => {
                c.completed += 1;
                // The recent window counts the same requests as the totals (not the
                // warm-up's), so that a window's p99 can never exceed the whole run's max.
                if let Some(recent) = &mut self.recent {
                    recent.record(now, latency);
                }
                if later {
                    self.latency.record_later(latency);
                    self.queue_wait.record_later(wait);
                    self.service.record_later(service);
                } else {
                    self.latency.record(latency);
                    self.queue_wait.record(wait);
                    self.service.record(service);
                }
                if let Some(stats) = self.workers.get_mut(worker) {
                    stats.completed += 1;
                }
            }
            Ending::Rejected => c.rejected += 1,
            Ending::Failed => c.failed += 1,
            Ending::TimedOut => c.timed_out += 1,
            Ending::Cancelled => c.cancelled += 1,
        }
        if let Some(timeline) = &mut self.timeline {
            timeline.ended(ending);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ending_lands_in_exactly_one_count() {
        let mut m = Metrics { workers: vec![Default::default(); 2], ..Metrics::default() };
        let ends = [
            Ending::Completed { worker: 1, latency: 5, wait: 1, service: 4 },
            Ending::Rejected,
            Ending::Failed,
            Ending::TimedOut,
            Ending::Cancelled,
        ];
        for end in ends {
            m.sent();
            m.ended(&end, 0);
        }
        m.sent();
        let c = m.counters;
        assert_eq!((c.sent, c.completed, c.rejected, c.failed, c.timed_out, c.cancelled), (6, 1, 1, 1, 1, 1));
        assert_eq!(c.in_flight, 1);
        assert!(c.is_conserved());
        assert_eq!((m.workers[1].completed, m.latency.count()), (1, 1));
    }
}
