//! The run over time: per interval of virtual time, how many requests were sent and how they
//! ended, their latency (p50, p99, mean) and each worker's time-averaged pending count
//! (`--timeline 1s`).
//!
//! This is the measurement; the report's form of it and its CSV are in `report/timeline.rs`.
//!
//! Both engines fill a [`Timeline`] held in [`Metrics::timeline`](super::Metrics), through
//! the one accounting path ([`Metrics::sent`](super::Metrics::sent),
//! [`Metrics::ended`](super::Metrics::ended)):
//! requests are counted in the interval that is open when they are sent or end. Intervals
//! run from the end of the warm-up and include their end, not their start (the first includes
//! both): `(start, end]`, so that something at the very end of a run is in its last interval.
//! The caller closes an interval ([`Timeline::close_until`]) before the first event after its
//! end, handing over each worker's pending-time integral at that moment. The model does this
//! exactly; the live engine closes intervals when it samples the balancer's view (every 10 ms
//! of real time), so a request ending within that sample of a boundary may be counted in the
//! interval after. Either way the intervals add up to the run's totals.
//!
//! Memory is one small histogram for the open interval and a few numbers per closed interval
//! and worker; [`check`] bounds it before a run starts.

use hdrhistogram::Histogram;
use serde::Serialize;

use super::{Ending, SIGFIG};
use crate::time::{MICROS, Nanos};

/// Most numbers (intervals x workers) a timeline may be expected to store; [`check`] refuses
/// settings beyond it.
pub const MAX_CELLS: f64 = 1e7;
/// Most intervals a timeline may be expected to have.
pub const MAX_INTERVALS: f64 = 100_000.0;
/// A run that goes on far beyond what was expected stops opening new intervals here: the
/// last one grows to the end, so the totals still add up.
const HARD_CAP_CELLS: usize = 2 * MAX_CELLS as usize;

/// How measured requests ended, counted per interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Requests sent.
    pub sent: u64,
    /// Requests answered successfully.
    pub completed: u64,
    /// Requests whose last attempt failed (worker error or crash).
    pub failed: u64,
    /// Requests turned away.
    pub rejected: u64,
    /// Requests the requester gave up on.
    pub timed_out: u64,
    /// Requests cut off when a live run shut down.
    pub cancelled: u64,
}

/// One closed interval.
#[derive(Clone, Debug, PartialEq)]
pub struct Interval {
    /// Start (virtual ns).
    pub start: Nanos,
    /// End (virtual ns).
    pub end: Nanos,
    /// What happened to requests in it.
    pub counts: Counts,
    /// Latency of the requests completed in it (ns); `None` when none completed.
    pub latency: Option<LatencyFigures>,
    /// Each worker's time-averaged pending count over the interval.
    pub mean_pending: Vec<f64>,
}

/// p50, p99 and mean latency of one interval (ns).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatencyFigures {
    /// Median (to the histogram's 3 significant digits).
    pub p50: Nanos,
    /// 99th percentile.
    pub p99: Nanos,
    /// Exact mean.
    pub mean: f64,
}

/// Latencies of the open interval: an auto-resizing histogram (it grows only as far as the
/// largest latency seen, so clearing it each interval stays cheap) and an exact sum.
#[derive(Clone, Debug)]
struct OpenLatency {
    hist: Histogram<u64>,
    sum: u128,
    max: Nanos,
}

impl Default for OpenLatency {
    fn default() -> OpenLatency {
        OpenLatency { hist: Histogram::new(SIGFIG).expect("3 significant figures are valid"), sum: 0, max: 0 }
    }
}

impl OpenLatency {
    fn record(&mut self, latency: Nanos) {
        let micros = (latency + MICROS / 2) / MICROS;
        if self.hist.record(micros).is_err() {
            self.hist.saturating_record(micros);
        }
        self.sum += latency as u128;
        self.max = self.max.max(latency);
    }

    fn figures(&self) -> Option<LatencyFigures> {
        let n = self.hist.len();
        let q = |q: f64| self.hist.value_at_quantile(q).saturating_mul(MICROS).min(self.max);
        (n > 0).then(|| LatencyFigures { p50: q(0.5), p99: q(0.99), mean: self.sum as f64 / n as f64 })
    }

    fn clear(&mut self) {
        if !self.hist.is_empty() {
            self.hist.reset();
        }
        self.sum = 0;
        self.max = 0;
    }
}

/// The run over time. See the [module documentation](self).
#[derive(Clone, Debug)]
pub struct Timeline {
    interval: Nanos,
    /// Start of the open interval.
    start: Nanos,
    counts: Counts,
    latency: OpenLatency,
    /// Each worker's pending-time integral at `start`.
    area_at_start: Vec<u128>,
    closed: Vec<Interval>,
}

impl Timeline {
    /// A timeline of intervals `interval` long from `start` (the end of the warm-up).
    pub fn new(interval: Nanos, start: Nanos) -> Timeline {
        Timeline {
            interval: interval.max(1),
            start,
            counts: Counts::default(),
            latency: OpenLatency::default(),
            area_at_start: Vec::new(),
            closed: Vec::new(),
        }
    }

    /// The interval's length.
    pub fn interval(&self) -> Nanos {
        self.interval
    }

    /// When the open interval ends: the caller calls [`close_until`](Timeline::close_until)
    /// before handling anything after this time.
    pub fn due(&self) -> Nanos {
        if self.capped() { Nanos::MAX } else { self.start.saturating_add(self.interval) }
    }

    fn capped(&self) -> bool {
        (self.closed.len() + 1) * self.area_at_start.len().max(1) >= HARD_CAP_CELLS
    }

    /// A measured request was sent. (Always inlined, as [`Metrics::ended`](super::Metrics::ended).)
    #[inline(always)]
    pub fn sent(&mut self) {
        self.counts.sent += 1;
    }

    /// A measured request ended.
    #[inline(always)]
    pub fn ended(&mut self, ending: &Ending) {
        let c = &mut self.counts;
        match *ending {
            Ending::Completed { latency, .. } => {
                c.completed += 1;
                self.latency.record(latency);
            }
            Ending::Failed => c.failed += 1,
            Ending::Rejected => c.rejected += 1,
            Ending::TimedOut => c.timed_out += 1,
            Ending::Cancelled => c.cancelled += 1,
        }
    }

    /// Closes every interval that ends before `now`. `area_at(w, t)` gives worker `w`'s
    /// pending-time integral (pending x ns, since the warm-up) at time `t`, for `workers`
    /// workers; between the last event and `now` nothing changed, so it is exact for any `t`
    /// in between.
    pub fn close_until(&mut self, now: Nanos, workers: usize, area_at: impl Fn(usize, Nanos) -> u128) {
        while self.due() < now {
            let end = self.due();
            let areas: Vec<u128> = (0..workers).map(|w| area_at(w, end)).collect();
            let interval = self.summarise(end, &areas);
            self.closed.push(interval);
            self.start = end;
            self.counts = Counts::default();
            self.latency.clear();
            self.area_at_start = areas;
        }
    }

    /// The open interval up to `end`, given the workers' integrals at `end`.
    fn summarise(&self, end: Nanos, areas: &[u128]) -> Interval {
        summary_of(&self.counts, &self.latency, &self.area_at_start, self.start, end, areas)
    }

    /// Every interval up to `now`: the closed ones, those `now` has passed the end of (closed
    /// on a copy, with `area_at` as for [`close_until`](Timeline::close_until)), and the open
    /// one if time has passed in it or anything happened in it.
    pub fn intervals(
        &self,
        now: Nanos,
        workers: usize,
        area_at: impl Fn(usize, Nanos) -> u128,
    ) -> Vec<Interval> {
        let mut t = self.clone();
        t.close_until(now, workers, &area_at);
        let mut all = t.closed;
        if now > t.start || t.counts != Counts::default() {
            let end = now.max(t.start);
            let areas: Vec<u128> = (0..workers).map(|w| area_at(w, end)).collect();
            all.push(summary_of(&t.counts, &t.latency, &t.area_at_start, t.start, end, &areas));
        }
        all
    }
}

fn summary_of(
    counts: &Counts,
    latency: &OpenLatency,
    area_at_start: &[u128],
    start: Nanos,
    end: Nanos,
    areas: &[u128],
) -> Interval {
    let span = end.saturating_sub(start);
    let mean_pending = areas
        .iter()
        .enumerate()
        .map(|(w, &a)| {
            let before = area_at_start.get(w).copied().unwrap_or(0);
            if span == 0 { 0.0 } else { a.saturating_sub(before) as f64 / span as f64 }
        })
        .collect();
    Interval { start, end, counts: *counts, latency: latency.figures(), mean_pending }
}

/// Whether a run of about `span` ns of virtual time on `workers` workers may keep a timeline
/// of `interval`: refuses an interval of 0 or one that would store too much.
pub fn check(interval: Nanos, span: f64, workers: usize) -> Result<(), String> {
    if interval == 0 {
        return Err("must be longer than 0".to_string());
    }
    let intervals = (span / interval as f64).ceil().max(1.0);
    let cells = intervals * workers.max(1) as f64;
    if intervals > MAX_INTERVALS || cells > MAX_CELLS {
        let shortest = (span / MAX_INTERVALS).max(span * workers.max(1) as f64 / MAX_CELLS).ceil() as Nanos;
        return Err(format!(
            "{} gives about {intervals:.0} intervals of {workers} workers for this run; at most \
             {MAX_INTERVALS:.0} intervals and {MAX_CELLS:.0e} per-worker figures are kept: use at least {}",
            crate::time::canonical(interval),
            crate::time::Human(shortest.max(1))
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_close_in_order_and_split_the_counts() {
        let mut t = Timeline::new(100, 1_000);
        t.sent();
        t.ended(&Ending::Completed { worker: 0, latency: 40, wait: 0, service: 40 });
        // Worker 0 had 1 pending throughout; worker 1 none.
        let area = |w: usize, at: Nanos| if w == 0 { (at - 1_000) as u128 } else { 0 };
        t.close_until(1_250, 2, area);
        t.sent();
        t.ended(&Ending::Rejected);
        let all = t.intervals(1_250, 2, area);
        assert_eq!(all.len(), 3);
        assert_eq!(
            (all[0].start, all[0].end, all[0].counts.sent, all[0].counts.completed),
            (1_000, 1_100, 1, 1)
        );
        assert_eq!(all[0].mean_pending, vec![1.0, 0.0]);
        assert_eq!(all[1].counts, Counts::default());
        assert!(all[1].latency.is_none());
        assert_eq!((all[2].start, all[2].end, all[2].counts.rejected), (1_200, 1_250, 1));
        assert_eq!(all[2].mean_pending, vec![1.0, 0.0]);
    }

    #[test]
    fn too_fine_a_timeline_is_refused_with_the_shortest_that_would_do() {
        assert!(check(crate::time::SECS, 600e9, 8).is_ok());
        let e = check(1_000, 600e9, 8).unwrap_err();
        assert!(e.contains("use at least"), "{e}");
        assert!(check(0, 1e9, 1).is_err());
    }
}
