//! The meter: the tasks report what happened ([`Record`]s) to whoever watches the run, and the
//! watcher adds them up into the same [`Metrics`] the model fills.
//!
//! The watcher (the UI's thread, or the headless loop) is not a tokio task. The records go into
//! one shared block in the order they happened (a push under a lock held for nothing else), and
//! the watcher takes the whole block at once, every frame or every [`TICK`]: a task never wakes
//! the watcher for a record, only once per full block ([`BLOCK`] records), so what the meter
//! costs does not depend on who reads it or how often. One block for every task keeps the
//! order in which things happened: a pick comes before its answer, a request's sending before
//! its end, whatever task or thread reported each.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::metrics::{Ending, Metrics};

/// How a request ended: the one [`Ending`] both engines use (its old name here).
pub use crate::metrics::Ending as End;
use crate::time::Nanos;

/// Real time and scenario time. A live run can be slowed down or sped up: `scale` real
/// seconds pass for each scenario second, so `exp:10ms` at scale 2 sleeps 20 ms on average.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// When the run began.
    pub start: Instant,
    /// Real time per unit of scenario time.
    pub scale: f64,
}

impl Clock {
    /// Real time for a scenario duration.
    pub fn real(&self, scenario: Nanos) -> Duration {
        if self.scale == 1.0 {
            return Duration::from_nanos(scenario); // the same figure, without the float round trip
        }
        Duration::from_nanos((scenario as f64 * self.scale).round() as u64)
    }

    /// Scenario time for a real duration.
    pub fn scenario(&self, real: Duration) -> Nanos {
        // Whole nanoseconds in a u64 (584 years), not `as_nanos`'s u128: its conversion to a
        // float and the rounding showed in the live engine's profile (4%).
        let ns = real.as_secs().saturating_mul(1_000_000_000).saturating_add(u64::from(real.subsec_nanos()));
        if self.scale == 1.0 {
            return ns;
        }
        (ns as f64 / self.scale).round() as Nanos
    }

    /// Scenario time at the real instant `t` (one clock read serves several figures).
    pub fn since_start(&self, t: Instant) -> Nanos {
        self.scenario(t.saturating_duration_since(self.start))
    }

    /// The real instant at scenario time `t`.
    pub fn at(&self, t: Nanos) -> Instant {
        self.start + self.real(t)
    }

    /// Scenario time now.
    pub fn now(&self) -> Nanos {
        self.scenario(self.start.elapsed())
    }
}

/// Why an attempt went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The worker failed it.
    WorkerError,
    /// Its reply channel was dropped: the worker crashed with it, or was dead.
    Crash,
    /// Turned away by the balancer.
    Rejected,
    /// Given up on.
    TimedOut,
}

/// One thing that happened, as a task reports it.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// A requester sent a new request.
    Sent {
        /// After the warm-up.
        measured: bool,
    },
    /// An attempt was made (the first, or a retry).
    Attempt {
        /// Of a measured request.
        measured: bool,
        /// A retry.
        retry: bool,
    },
    /// An attempt went wrong.
    AttemptFailed {
        /// Of a measured request.
        measured: bool,
        /// The worker concerned, when known.
        worker: Option<usize>,
        /// Why.
        cause: Cause,
    },
    /// A request had to wait at the balancer (blocking backpressure).
    Blocked {
        /// Of a measured request.
        measured: bool,
    },
    /// The balancer sent an attempt to a worker.
    Picked {
        /// Of a measured request.
        measured: bool,
        /// The worker.
        worker: usize,
    },
    /// A worker finished serving an attempt.
    Served {
        /// Of a measured request.
        measured: bool,
        /// Service time (scenario ns).
        service: Nanos,
        /// Nobody waited for the answer any more.
        wasted: bool,
    },
    /// A request ended.
    Ended {
        /// After the warm-up.
        measured: bool,
        /// How.
        end: Ending,
        /// When (scenario time).
        at: Nanos,
    },
    /// A timer or a hand-off ran this long (scenario ns) after it should have.
    Late(Nanos),
    /// The balancer ejected a worker as an outlier.
    Ejected {
        /// The worker.
        worker: usize,
    },
    /// The autoscaler acted.
    Scaled {
        /// What it did.
        action: crate::metrics::ScaleAction,
        /// To which worker.
        worker: usize,
        /// Workers serving or starting afterwards.
        workers: u32,
    },
    /// A line for the event log.
    Notice(String),
    /// A requester has stopped sending, at this scenario time.
    DoneSending(Nanos),
}

/// Records in a block before the watcher is woken for it (a headless watcher waits for a full
/// block or a [`TICK`], whichever comes first).
pub const BLOCK: usize = 4096;

/// The longest a waiting watcher leaves records in the block: the counters it shows lag by
/// no more than this (the UI takes the block every frame anyway).
pub const TICK: Duration = Duration::from_millis(2);

/// What the tasks and the watcher share: the block being filled.
#[derive(Debug, Default)]
struct Shared {
    block: Mutex<Vec<Record>>,
    /// Signalled when the block is full.
    full: Condvar,
    /// The watcher has gone: records are dropped.
    closed: AtomicBool,
}

impl Shared {
    /// The block; a task that panicked while pushing left it whole (a push cannot half-happen).
    fn block(&self) -> MutexGuard<'_, Vec<Record>> {
        self.block.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The tasks' end of the meter: cheap to clone, never waits for the watcher.
#[derive(Clone, Debug)]
pub struct Meter {
    shared: Arc<Shared>,
    /// The run's clock.
    pub clock: Clock,
}

/// The watcher's end of the meter: takes what the tasks reported, a block at a time.
#[derive(Debug)]
pub struct Records {
    shared: Arc<Shared>,
}

impl Records {
    /// Moves every record reported so far, in order, to the end of `into` (whose space is
    /// handed over for the next block when `into` is empty, so taking does not allocate).
    pub fn take(&self, into: &mut Vec<Record>) {
        let mut block = self.shared.block();
        if into.is_empty() {
            std::mem::swap(&mut *block, into);
        } else {
            into.append(&mut block);
        }
    }

    /// Waits until a block is full or `timeout` (at most a [`TICK`]) has passed, then takes
    /// every record reported so far into `into`.
    pub fn wait(&self, timeout: Duration, into: &mut Vec<Record>) {
        let timeout = timeout.min(TICK);
        let block = self.shared.block();
        let mut block = if block.len() < BLOCK {
            let (block, _) = self
                .shared
                .full
                .wait_timeout_while(block, timeout, |b| b.len() < BLOCK)
                .unwrap_or_else(PoisonError::into_inner);
            block
        } else {
            block
        };
        if into.is_empty() {
            std::mem::swap(&mut *block, into);
        } else {
            into.append(&mut block);
        }
    }
}

impl Drop for Records {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Relaxed);
        self.shared.block().clear();
    }
}

impl Meter {
    /// A meter and the watcher's end, where its records arrive.
    pub fn new(clock: Clock) -> (Meter, Records) {
        let shared = Arc::new(Shared::default());
        (Meter { shared: Arc::clone(&shared), clock }, Records { shared })
    }

    /// Reports one record. A watcher that has gone away is not an error: the run is ending.
    pub fn record(&self, record: Record) {
        self.record_all([record]);
    }

    /// Reports records that happened one after the other, under one lock.
    pub fn record_all<const N: usize>(&self, records: [Record; N]) {
        if self.shared.closed.load(Ordering::Relaxed) {
            return;
        }
        self.add(|block| block.extend(records));
    }

    /// Reports records a task kept back (in the order it made them), under one lock, and
    /// empties `records`.
    pub fn record_batch(&self, records: &mut Vec<Record>) {
        if records.is_empty() {
            return;
        }
        if self.shared.closed.load(Ordering::Relaxed) {
            records.clear();
            return;
        }
        self.add(|block| block.append(records));
    }

    /// Adds records to the block under its lock, and wakes the watcher once per block, when
    /// it fills (not per record).
    fn add(&self, add: impl FnOnce(&mut Vec<Record>)) {
        let mut block = self.shared.block();
        let before = block.len();
        add(&mut block);
        if before < BLOCK && block.len() >= BLOCK {
            drop(block);
            self.shared.full.notify_one();
        }
    }

    /// Reports how late something ran: `actual` against `planned`.
    pub fn late(&self, planned: Instant, actual: Instant) {
        self.record(Record::Late(self.clock.scenario(actual.saturating_duration_since(planned))));
    }
}

/// The watcher's tally, beyond what [`Metrics`] holds.
#[derive(Debug, Default)]
pub struct Tally {
    /// Requests sent and not ended yet, warm-up included.
    pub alive: u64,
    /// Requests completed, warm-up included.
    pub completions: u64,
    /// Requesters that have stopped sending.
    pub done_sending: u64,
    /// How late timers and hand-offs ran.
    pub lateness: crate::metrics::Recorder,
    /// When the latest request ended or requester stopped (scenario time): where a run that
    /// ends on its own ends, however late the watcher notices.
    pub last_event: Nanos,
}

impl Tally {
    /// Adds one record to the metrics; `now` is scenario time, for the recent window.
    pub fn add(&mut self, metrics: &mut Metrics, record: Record, now: Nanos) -> Option<String> {
        let a = &mut metrics.attempts;
        match record {
            Record::Sent { measured } => {
                self.alive += 1;
                if measured {
                    metrics.sent();
                    metrics.last_sent = metrics.last_sent.max(now);
                }
            }
            Record::Attempt { measured, retry } => {
                if measured {
                    a.attempts += 1;
                    a.retries += retry as u64;
                }
            }
            Record::AttemptFailed { measured, worker, cause } => {
                if measured {
                    match cause {
                        Cause::WorkerError => a.worker_errors += 1,
                        Cause::Crash => a.crash_errors += 1,
                        Cause::Rejected => a.rejections += 1,
                        Cause::TimedOut => a.timeouts += 1,
                    }
                    if let Some(stats) = worker.and_then(|w| metrics.workers.get_mut(w)) {
                        stats.errors += 1;
                    }
                }
            }
            Record::Blocked { measured } => a.blocked += measured as u64,
            Record::Picked { measured, worker } => {
                if measured && let Some(stats) = metrics.workers.get_mut(worker) {
                    stats.picks += 1;
                }
            }
            Record::Served { measured, service, wasted } => {
                if measured {
                    a.served += 1;
                    if wasted {
                        a.wasted_work += service;
                    }
                }
            }
            Record::Ended { measured, end, at } => {
                self.last_event = self.last_event.max(at);
                self.alive = self.alive.saturating_sub(1);
                if let Ending::Completed { .. } = end {
                    self.completions += 1;
                }
                if measured {
                    metrics.ended(&end, now);
                }
            }
            Record::Late(ns) => self.lateness.record(ns),
            Record::Ejected { worker } => {
                if let Some(stats) = metrics.workers.get_mut(worker) {
                    stats.ejections += 1;
                }
            }
            Record::Scaled { action, worker, workers } => {
                metrics.scaling.push(crate::metrics::ScalingEvent { time: now, action, worker, workers });
            }
            Record::Notice(text) => return Some(text),
            Record::DoneSending(at) => {
                self.last_event = self.last_event.max(at);
                self.done_sending += 1;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_converts_both_ways() {
        let clock = Clock { start: Instant::now(), scale: 2.0 };
        assert_eq!(clock.real(10_000_000), Duration::from_millis(20));
        assert_eq!(clock.scenario(Duration::from_millis(20)), 10_000_000);
        assert_eq!(clock.at(5_000_000) - clock.start, Duration::from_millis(10));
    }

    #[test]
    fn blocks_keep_every_record_in_order_and_a_gone_watcher_drops_them() {
        let (meter, records) = Meter::new(Clock { start: Instant::now(), scale: 1.0 });
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let meter = meter.clone();
                std::thread::spawn(move || (0..10_000).for_each(|i| meter.record(Record::Late(t << 32 | i))))
            })
            .collect();
        let mut got = Vec::new();
        while got.len() < 40_000 {
            records.wait(Duration::from_millis(1), &mut got);
        }
        threads.into_iter().for_each(|t| t.join().unwrap());
        records.take(&mut got);
        assert_eq!(got.len(), 40_000, "nothing lost, nothing twice");
        let mut next = [0u64; 4];
        for r in got {
            let Record::Late(n) = r else { panic!("{r:?}") };
            let (t, i) = ((n >> 32) as usize, n & 0xffff_ffff);
            assert_eq!(i, next[t], "thread {t}'s records in the order it made them");
            next[t] += 1;
        }
        drop(records);
        meter.record(Record::Late(1));
        assert!(meter.shared.block().is_empty(), "nobody reads: nothing is kept");
    }

    #[test]
    fn every_request_lands_in_exactly_one_count() {
        let mut m = Metrics { workers: vec![Default::default(); 2], ..Metrics::default() };
        let mut t = Tally::default();
        let ends = [
            Ending::Completed { worker: 1, latency: 5, wait: 1, service: 4 },
            Ending::Rejected,
            Ending::Failed,
            Ending::TimedOut,
            Ending::Cancelled,
        ];
        for end in ends {
            t.add(&mut m, Record::Sent { measured: true }, 0);
            t.add(&mut m, Record::Ended { measured: true, end, at: 0 }, 0);
        }
        t.add(&mut m, Record::Sent { measured: true }, 0);
        t.add(&mut m, Record::Sent { measured: false }, 0);
        let c = m.counters;
        assert_eq!((c.sent, c.completed, c.rejected, c.failed, c.timed_out, c.cancelled), (6, 1, 1, 1, 1, 1));
        assert_eq!(c.in_flight, 1);
        assert!(c.is_conserved());
        assert_eq!((t.alive, t.completions, m.workers[1].completed), (2, 1, 1));
        assert_eq!(m.latency.count(), 1);
    }
}
