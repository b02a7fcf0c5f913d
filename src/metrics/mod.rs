//! Measurement: HdrHistogram latency recorders, request counters and per-worker accumulators;
//! the one accounting path both engines call ([`accounts`]: [`Metrics::sent`],
//! [`Metrics::ended`] with an [`Ending`]); the run over time ([`timeline`]).
//!
//! Memory is fixed per recorder and per worker: nothing grows with the number of requests.
//! The model records its latencies in bulk ([`Recorder::record_later`], `later`), settled
//! before anyone reads them.
//!
//! Layer 2 of the house: imports only the foundations (`time`, ...), never the model, the
//! engines or the reports; everything above may import it.

pub mod accounts;
mod later;
pub mod timeline;

pub use accounts::Ending;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::time::{MICROS, Nanos};

/// Significant decimal digits kept by the histograms.
pub const SIGFIG: u8 = 3;

/// A latency distribution: an HdrHistogram at microsecond resolution (3 significant digits)
/// for percentiles, plus an exact sum in nanoseconds for the mean.
#[derive(Debug)]
pub struct Recorder {
    hist: Histogram<u64>,
    sum: u128,
    max: Nanos,
    /// Values recorded with [`record_later`](Recorder::record_later), until
    /// [`settle`](Recorder::settle) puts them in `hist`.
    later: Option<Box<later::Later>>,
}

impl Clone for Recorder {
    fn clone(&self) -> Recorder {
        Recorder {
            hist: self.hist.clone(),
            sum: self.sum,
            max: self.max,
            // A settled recorder's copy (a checkpoint's) does without the counts' memory.
            later: self.later.as_ref().filter(|l| !l.is_settled()).cloned(),
        }
    }
}

impl Default for Recorder {
    fn default() -> Recorder {
        // 1 µs to 1 hour to begin with; the histogram grows if a longer value comes.
        let mut hist = Histogram::new_with_bounds(1, 3_600_000_000, SIGFIG)
            .expect("constant histogram bounds are valid");
        hist.auto(true);
        Recorder { hist, sum: 0, max: 0, later: None }
    }
}

impl Recorder {
    /// Records one duration.
    #[inline]
    pub fn record(&mut self, value: Nanos) {
        let micros = (value + MICROS / 2) / MICROS;
        // `record` grows the histogram for a value beyond its range (`saturating_record`
        // would clamp it); it fails only beyond what a u64 histogram can hold at all.
        if self.hist.record(micros).is_err() {
            self.hist.saturating_record(micros);
        }
        self.sum += value as u128;
        self.max = self.max.max(value);
    }

    /// Records one duration, to be put in the histogram at the next [`settle`](Recorder::settle)
    /// (in bulk, for a fraction of the cost). Until then, the recorder must not be read: its
    /// sum and maximum are up to date, its histogram and count are not.
    #[inline(always)]
    pub fn record_later(&mut self, value: Nanos) {
        let micros = (value + MICROS / 2) / MICROS;
        let later = self.later.get_or_insert_with(|| Box::new(later::Later::new()));
        if !later.record(micros) && self.hist.record(micros).is_err() {
            self.hist.saturating_record(micros);
        }
        self.sum += value as u128;
        self.max = self.max.max(value);
    }

    /// Puts the values recorded with [`record_later`](Recorder::record_later) in the
    /// histogram: it is then exactly as if each had been recorded at once.
    pub fn settle(&mut self) {
        if let Some(later) = &mut self.later {
            later.settle(&mut self.hist);
        }
    }

    /// Whether every value recorded is in the histogram (nothing waits for a settle).
    pub fn is_settled(&self) -> bool {
        self.later.as_ref().is_none_or(|l| l.is_settled())
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        debug_assert!(self.is_settled(), "a recorder read before it was settled");
        self.hist.len()
    }

    /// Standard deviation (ns), from the histogram (to its precision); 0 when empty.
    pub fn stdev(&self) -> f64 {
        if self.count() == 0 { 0.0 } else { self.hist.stdev() * MICROS as f64 }
    }

    /// Exact mean (ns), 0 when empty.
    pub fn mean(&self) -> f64 {
        match self.count() {
            0 => 0.0,
            n => self.sum as f64 / n as f64,
        }
    }

    /// The value at quantile `q` in `[0, 1]` (ns), to the histogram's precision, and never
    /// above the largest value recorded (the histogram reports the top of a bucket).
    pub fn quantile(&self, q: f64) -> Nanos {
        if self.count() == 0 {
            return 0;
        }
        self.hist.value_at_quantile(q).saturating_mul(MICROS).min(self.max)
    }

    /// The exact largest value recorded (ns).
    pub fn max(&self) -> Nanos {
        self.max
    }

    /// The underlying histogram, in microseconds.
    pub fn histogram(&self) -> &Histogram<u64> {
        debug_assert!(self.is_settled(), "a recorder read before it was settled");
        &self.hist
    }

    /// Adds everything `other` recorded.
    pub fn add(&mut self, other: &Recorder) {
        debug_assert!(other.is_settled(), "a recorder read before it was settled");
        self.settle();
        // Both have the same precision, so adding cannot fail; a resize is automatic.
        let _ = self.hist.add(&other.hist);
        self.sum += other.sum;
        self.max = self.max.max(other.max);
    }

    /// What was recorded since `earlier`, a copy of this recorder taken before: exact counts
    /// and mean; the maximum to the histogram's precision.
    pub fn since(&self, earlier: &Recorder) -> Recorder {
        debug_assert!(self.is_settled() && earlier.is_settled(), "a recorder read before it was settled");
        let mut hist = self.hist.clone();
        // `earlier` holds a subset of these values, so subtracting cannot underflow.
        let _ = hist.subtract(&earlier.hist);
        let max = if hist.is_empty() { 0 } else { (hist.max().saturating_mul(MICROS)).min(self.max) };
        Recorder { hist, sum: self.sum - earlier.sum, max, later: None }
    }

    /// Forgets everything recorded.
    pub fn clear(&mut self) {
        if let Some(later) = &mut self.later {
            later.clear();
        }
        self.hist.reset();
        self.sum = 0;
        self.max = 0;
    }
}

/// What became of the measured requests. Every request sent is in exactly one of the other
/// six counts: `sent == completed + rejected + failed + timed_out + cancelled + in_flight`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Requests created by the requesters.
    pub sent: u64,
    /// Answered successfully.
    pub completed: u64,
    /// Turned away: no worker available, or the chosen worker's queue was full.
    pub rejected: u64,
    /// Lost to a failure, such as the worker being killed.
    pub failed: u64,
    /// Given up on by the requester.
    pub timed_out: u64,
    /// Cancelled when a live run shut down before they ended (always 0 in the model, whose
    /// runs end with such requests `in_flight`).
    pub cancelled: u64,
    /// Still queued or in service.
    pub in_flight: u64,
}

impl Counters {
    /// Requests that ended without an answer: failed, rejected, timed out or cancelled.
    pub fn unanswered(&self) -> u64 {
        self.failed + self.rejected + self.timed_out + self.cancelled
    }

    /// Whether the conservation law holds.
    pub fn is_conserved(&self) -> bool {
        self.sent
            == self.completed + self.rejected + self.failed + self.timed_out + self.cancelled + self.in_flight
    }
}

/// What happened to the attempts made for measured requests: a request is attempted once,
/// plus once per retry. Errors are counted by cause.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Attempts {
    /// Attempts made (first tries and retries).
    pub attempts: u64,
    /// Retries made (attempts after the first).
    pub retries: u64,
    /// Attempts a worker finished serving (successful or not, waited for or not).
    pub served: u64,
    /// Attempts a worker failed (its error rate).
    pub worker_errors: u64,
    /// Attempts lost to a crash (in service or queued at the crash, or sent to a dead worker).
    pub crash_errors: u64,
    /// Attempts turned away (queue full, or no worker available).
    pub rejections: u64,
    /// Attempts given up on (per-try timeout or the request's deadline).
    pub timeouts: u64,
    /// Requests that waited at the balancer because no worker could take them.
    pub blocked: u64,
    /// Service time spent on attempts nobody waited for any more (ns).
    pub wasted_work: Nanos,
}

/// A change in the size of an autoscaled pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ScalingEvent {
    /// When (ns).
    pub time: Nanos,
    /// What.
    pub action: ScaleAction,
    /// The worker concerned.
    pub worker: usize,
    /// Workers serving or starting after it.
    pub workers: u32,
}

/// Autoscaling actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleAction {
    /// A worker was added; it starts serving after the start-up delay.
    Up,
    /// The new worker is ready.
    Ready,
    /// A worker stopped taking requests and drains its queue.
    Down,
    /// The drained worker left.
    Retired,
}

impl ScaleAction {
    /// What happened to the worker, in words for an event log.
    pub fn words(self) -> &'static str {
        match self {
            ScaleAction::Up => "added (starting)",
            ScaleAction::Ready => "ready",
            ScaleAction::Down => "draining",
            ScaleAction::Retired => "retired",
        }
    }
}

/// Per-worker accumulators: completions and the time integrals of pending and busy slots.
#[derive(Clone, Debug, Default)]
pub struct WorkerStats {
    /// Measured requests this worker completed.
    pub completed: u64,
    /// Attempts this worker failed or lost (errors and crashes).
    pub errors: u64,
    /// Times it was ejected as an outlier.
    pub ejections: u32,
    /// Virtual time it spent crashed (ns).
    pub downtime: Nanos,
    /// Largest pending count seen.
    pub max_pending: u32,
    /// Measured attempts the balancers sent it (its picks).
    pub picks: u64,
    pending_area: u128,
    busy_area: u128,
    since: Nanos,
}

impl WorkerStats {
    /// Accounts for the time from the last call to `now`, during which the worker had
    /// `pending` requests and `busy` slots in use. Call before every change of either.
    #[inline]
    pub fn advance(&mut self, now: Nanos, pending: u32, busy: u32) {
        let dt = (now - self.since) as u128;
        self.pending_area += pending as u128 * dt;
        self.busy_area += busy as u128 * dt;
        self.since = now;
        self.max_pending = self.max_pending.max(pending);
    }

    /// Starts measuring afresh at `now` (the end of the warm-up).
    pub fn restart(&mut self, now: Nanos, pending: u32) {
        *self = WorkerStats { since: now, max_pending: pending, ..WorkerStats::default() };
    }

    /// Starts the time integrals afresh at `now` (the end of the warm-up, as a live run first
    /// sees it), keeping the counts of measured requests (`picks`, `completed`, `errors`):
    /// those are counted only for requests sent after the warm-up already, and one picked
    /// before this call may be answered after it.
    pub fn restart_times(&mut self, now: Nanos, pending: u32) {
        let (picks, completed, errors) = (self.picks, self.completed, self.errors);
        self.restart(now, pending);
        (self.picks, self.completed, self.errors) = (picks, completed, errors);
    }

    /// A fresh accumulator starting at `now` (a worker added by the autoscaler).
    pub fn starting_at(now: Nanos) -> WorkerStats {
        WorkerStats { since: now, ..WorkerStats::default() }
    }

    /// A copy brought up to `now`, for reading while the worker still has `pending`
    /// requests and `busy` slots in use.
    pub fn settled(&self, now: Nanos, pending: u32, busy: u32) -> WorkerStats {
        let mut s = self.clone();
        s.advance(now.max(s.since), pending, busy);
        s
    }

    /// The integral of the pending count over time (pending x ns) up to `t`, for a worker
    /// whose count has been `pending` between `t` and the last [`advance`](WorkerStats::advance)
    /// (before it or after it).
    pub fn pending_area_at(&self, t: Nanos, pending: u32) -> u128 {
        if t >= self.since {
            self.pending_area + pending as u128 * (t - self.since) as u128
        } else {
            self.pending_area.saturating_sub(pending as u128 * (self.since - t) as u128)
        }
    }

    /// Time-averaged pending count over `window` nanoseconds (of a settled copy).
    pub fn mean_pending(&self, window: Nanos) -> f64 {
        if window == 0 { 0.0 } else { self.pending_area as f64 / window as f64 }
    }

    /// Fraction of slot-time spent serving over `window` with `slots` slots.
    pub fn utilization(&self, window: Nanos, slots: u32) -> f64 {
        if window == 0 { 0.0 } else { self.busy_area as f64 / (window as f64 * slots as f64) }
    }
}

/// What keyed requests met, after the warm-up.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct KeyStats {
    /// Measured attempts whose key was in their worker's cache when service began.
    pub cache_hits: u64,
    /// Measured attempts whose key was not.
    pub cache_misses: u64,
    /// Keys that changed worker when the cluster changed (crashes, repairs, scaling), summed
    /// over changes: the share of the key space a hashing strategy moved, times the keys.
    pub remapped: f64,
    /// Cluster changes that moved keys.
    pub remaps: u64,
}

/// What one balancer replica did, after the warm-up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BalancerStats {
    /// Measured attempts it sent to workers.
    pub picks: u64,
    /// Its picks per worker.
    pub by_worker: Vec<u64>,
}

/// Jain's fairness index of `x`: `(sum x)^2 / (n sum x^2)`, from 1/n (all on one) to 1 (all
/// equal); `None` when there is nothing to judge (no values, or all zero).
pub fn jain(x: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (mut n, mut sum, mut squares) = (0usize, 0.0, 0.0);
    for v in x {
        n += 1;
        sum += v;
        squares += v * v;
    }
    (n > 0 && squares > 0.0).then(|| sum * sum / (n as f64 * squares))
}

/// Everything measured in a run, after the warm-up.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    /// End-to-end latency: arrival at the balancer to the end of service.
    pub latency: Recorder,
    /// Time spent queued at the worker before service began.
    pub queue_wait: Recorder,
    /// Time in service.
    pub service: Recorder,
    /// Request outcomes.
    pub counters: Counters,
    /// Attempts, retries and errors by cause.
    pub attempts: Attempts,
    /// Autoscaling actions, in order.
    pub scaling: Vec<ScalingEvent>,
    /// One entry per worker.
    pub workers: Vec<WorkerStats>,
    /// Changes made with commands while the run went on (the UI's keys), in order.
    pub interventions: Vec<Intervention>,
    /// Where the strategy was switched by a command: the first entry is the strategy the run
    /// began with; each holds what had been measured when it took over. Empty when the
    /// strategy never changed.
    pub switches: Vec<Switch>,
    /// One entry per balancer replica when there are several; empty for a single balancer
    /// (its picks are the workers') and in a live run.
    pub balancers: Vec<BalancerStats>,
    /// Keyed requests: cache hits and keys remapped.
    pub keys: KeyStats,
    /// Latencies of the recent past, when enabled with
    /// [`Sim::enable_recent_window`](crate::engine::Sim::enable_recent_window).
    pub recent: Option<RecentWindow>,
    /// The run over time, per interval, when the configuration asks for it
    /// ([`SimConfig::timeline`](crate::engine::SimConfig::timeline)).
    pub timeline: Option<timeline::Timeline>,
    /// When the last measured request was sent (scenario time; 0 before any): the end of the
    /// window the arrivals define for a run stopped by a request count (the report's
    /// `throughput_rps` counts answers per second of that window, not of the drain after it).
    pub last_sent: Nanos,
}

/// A command applied during a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Intervention {
    /// Virtual time it was applied (ns).
    pub at: Nanos,
    /// What kind of change it was.
    pub kind: InterventionKind,
    /// What it did, in words (`worker 3 crashed`), for display.
    pub what: String,
}

/// The kinds of change a command makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InterventionKind {
    /// The open-loop arrival rate was set (or arrivals paused).
    ArrivalRate,
    /// The balancing strategy was switched.
    Strategy,
    /// A worker's configured speed was changed.
    Speed,
    /// A worker was slowed down (or back to normal) without the balancer being told.
    Slowdown,
    /// A worker was crashed.
    Crash,
    /// A worker was repaired.
    Repair,
    /// A worker's error rate was set.
    ErrorRate,
    /// Retries were turned on or off.
    Retries,
}

/// A strategy taking over a run, and the measurements so far (to tell what each strategy
/// measured while in force).
#[derive(Clone, Debug)]
pub struct Switch {
    /// Virtual time it took over (ns).
    pub at: Nanos,
    /// Its name.
    pub strategy: String,
    /// The run's latencies up to then.
    pub latency: Recorder,
    /// The run's counters up to then.
    pub counters: Counters,
}

impl Metrics {
    /// Puts the latencies recorded for later ([`Metrics::ended_later`]) in their histograms.
    pub fn settle(&mut self) {
        self.latency.settle();
        self.queue_wait.settle();
        self.service.settle();
    }

    /// Notes a command of `kind` applied at `at`, `what` it did in words; `switched` names the
    /// strategies before and after a strategy switch.
    pub fn note_command(
        &mut self,
        at: Nanos,
        kind: InterventionKind,
        what: String,
        switched: Option<(&str, &str)>,
    ) {
        self.settle();
        self.interventions.push(Intervention { at, kind, what });
        if let Some((before, after)) = switched {
            if self.switches.is_empty() {
                let start = Switch {
                    at: 0,
                    strategy: before.to_string(),
                    latency: Recorder::default(),
                    counters: Counters::default(),
                };
                self.switches.push(start);
            }
            let latency = self.latency.clone();
            self.switches.push(Switch { at, strategy: after.to_string(), latency, counters: self.counters });
        }
    }
}

/// Latencies completed over a sliding window of virtual time, kept as a ring of
/// histograms, each a quarter of the width: at any moment the window covers between one and
/// one and a quarter widths. Fixed memory, no per-request storage.
#[derive(Clone, Debug)]
pub struct RecentWindow {
    /// Length of one slot.
    slot: Nanos,
    /// `PARTS + 1` slots; `head` is being filled.
    slots: Vec<Recorder>,
    head: usize,
    head_start: Nanos,
}

/// Full slots per window.
const PARTS: usize = 4;

impl RecentWindow {
    /// A window of `width` nanoseconds.
    pub fn new(width: Nanos) -> RecentWindow {
        RecentWindow {
            slot: (width / PARTS as Nanos).max(1),
            slots: vec![Recorder::default(); PARTS + 1],
            head: 0,
            head_start: 0,
        }
    }

    /// Slots the head would move by to reach `now`.
    fn steps_to(&self, now: Nanos) -> usize {
        (now.saturating_sub(self.head_start) / self.slot).min(PARTS as Nanos + 1) as usize
    }

    /// Records a latency completed at `now`.
    #[inline]
    pub fn record(&mut self, now: Nanos, latency: Nanos) {
        if now >= self.head_start + self.slot {
            let steps = (now - self.head_start) / self.slot;
            for _ in 0..self.steps_to(now) {
                self.head = (self.head + 1) % self.slots.len();
                self.slots[self.head].clear();
            }
            self.head_start += steps * self.slot;
        }
        self.slots[self.head].record(latency);
    }

    /// The window's latencies as of `now`, merged into one recorder.
    pub fn merged(&self, now: Nanos) -> Recorder {
        let steps = self.steps_to(now);
        let mut merged = Recorder::default();
        // The slot `age` places behind the head is still inside the window if, after the
        // head moves `steps` more places, it is at most PARTS places behind.
        for age in 0..self.slots.len() {
            if age + steps <= PARTS {
                let i = (self.head + self.slots.len() - age) % self.slots.len();
                merged.add(&self.slots[i]);
            }
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn jains_index_on_hand_cases() {
        assert_eq!(jain([3.0, 3.0, 3.0, 3.0]), Some(1.0));
        assert_eq!(jain([5.0, 0.0, 0.0, 0.0]), Some(0.25), "all on one of four: 1/n");
        // (1 + 2 + 3)^2 / (3 (1 + 4 + 9)) = 36 / 42.
        assert!((jain([1.0, 2.0, 3.0]).unwrap() - 36.0 / 42.0).abs() < 1e-15);
        // Two of four equally loaded, two idle: 1/2.
        assert_eq!(jain([7.0, 7.0, 0.0, 0.0]), Some(0.5));
        assert_eq!(jain([]), None);
        assert_eq!(jain([0.0, 0.0]), None);
    }

    use super::*;
    use crate::time::MILLIS;

    #[test]
    fn recorder_mean_is_exact_and_quantiles_are_close() {
        let mut r = Recorder::default();
        for i in 1..=1000u64 {
            r.record(i * MILLIS + 1);
        }
        assert_eq!(r.count(), 1000);
        assert_eq!(r.mean(), 500.5 * MILLIS as f64 + 1.0);
        let p99 = r.quantile(0.99) as f64;
        assert!((p99 / (990 * MILLIS) as f64 - 1.0).abs() < 0.001, "{p99}");
        assert_eq!(r.max(), 1000 * MILLIS + 1);
        // Values far beyond the initial range (an hour) are kept, not clamped.
        r.record(100 * 3_600 * crate::time::SECS);
        assert_eq!(r.quantile(1.0) / crate::time::SECS / 3_600, 100);
        r.clear();
        assert_eq!((r.count(), r.mean(), r.quantile(0.5)), (0, 0.0, 0));
    }

    #[test]
    fn worker_stats_integrate_over_time() {
        let mut s = WorkerStats::default();
        s.restart(100, 0);
        s.advance(200, 0, 0); // idle for 100
        s.advance(300, 2, 1); // two pending, one busy for 100
        assert_eq!(s.mean_pending(200), 1.0);
        assert_eq!(s.utilization(200, 1), 0.5);
        assert_eq!(s.max_pending, 2);
        // Settling counts the time since the last change at the current load.
        let later = s.settled(400, 2, 1);
        assert_eq!((later.mean_pending(300), later.utilization(300, 1)), (4.0 / 3.0, 2.0 / 3.0));
    }

    #[test]
    fn recent_window_forgets_the_old_and_keeps_the_new() {
        // Width 100: slots of 25; the window covers the current slot and four before it.
        let mut w = RecentWindow::new(100);
        w.record(10, 1_000); // slot [0, 25)
        w.record(60, 2_000); // slot [50, 75)
        assert_eq!(w.merged(60).count(), 2);
        assert_eq!(w.merged(124).count(), 2); // [0, 25) is still within [0, 125)
        assert_eq!(w.merged(125).count(), 1); // now the window is [25, 150)
        w.record(130, 3_000);
        assert_eq!(w.merged(130).count(), 2);
        assert_eq!(w.merged(175).count(), 1);
        assert_eq!(w.merged(1_000).count(), 0);
        w.record(1_000, 4_000);
        assert_eq!(w.merged(1_000).count(), 1);
        assert_eq!(w.merged(1_000).mean(), 4_000.0);
    }
}
