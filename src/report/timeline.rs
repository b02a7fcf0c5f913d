//! The timeline ([`crate::metrics::timeline`]) as reports give it: the JSON form and the CSV
//! of `--timeline-csv`.

use serde::Serialize;

use crate::metrics::timeline::Timeline;
use crate::time::{MILLIS, Nanos, as_secs_f64};

/// One interval as reports give it (JSON `timeline.intervals[]`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IntervalReport {
    /// Start (s of virtual time).
    pub start_s: f64,
    /// End (s).
    pub end_s: f64,
    /// Requests sent in the interval.
    pub sent: u64,
    /// Requests completed in it.
    pub completed: u64,
    /// Requests that failed in it.
    pub failed: u64,
    /// Requests turned away in it.
    pub rejected: u64,
    /// Requests given up on in it.
    pub timed_out: u64,
    /// Requests cancelled at shutdown in it (live).
    pub cancelled: u64,
    /// Median latency of the requests completed in it (ms), `null` when none did.
    pub p50_ms: Option<f64>,
    /// 99th percentile (ms), `null` when none completed.
    pub p99_ms: Option<f64>,
    /// Mean latency (ms), `null` when none completed.
    pub mean_ms: Option<f64>,
    /// Each worker's time-averaged pending count (queued + in service) over the interval.
    pub mean_pending: Vec<f64>,
}

/// The timeline as reports give it (JSON `timeline`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimelineReport {
    /// The intervals' length (s).
    pub interval_s: f64,
    /// The intervals, in order.
    pub intervals: Vec<IntervalReport>,
}

impl TimelineReport {
    /// The report of `timeline` at `now`, with `area_at` as for [`Timeline::close_until`].
    pub fn new(
        timeline: &Timeline,
        now: Nanos,
        workers: usize,
        area_at: impl Fn(usize, Nanos) -> u128,
    ) -> TimelineReport {
        let ms = |ns: f64| ns / MILLIS as f64;
        let intervals = timeline
            .intervals(now, workers, area_at)
            .into_iter()
            .map(|i| IntervalReport {
                start_s: as_secs_f64(i.start),
                end_s: as_secs_f64(i.end),
                sent: i.counts.sent,
                completed: i.counts.completed,
                failed: i.counts.failed,
                rejected: i.counts.rejected,
                timed_out: i.counts.timed_out,
                cancelled: i.counts.cancelled,
                p50_ms: i.latency.map(|l| ms(l.p50 as f64)),
                p99_ms: i.latency.map(|l| ms(l.p99 as f64)),
                mean_ms: i.latency.map(|l| ms(l.mean)),
                mean_pending: i.mean_pending,
            })
            .collect();
        TimelineReport { interval_s: as_secs_f64(timeline.interval()), intervals }
    }
}

/// The CSV columns before the per-worker ones (`pending_w0`, `pending_w1`, ...).
pub const CSV_COLUMNS: &[&str] = &[
    "strategy",
    "start_s",
    "end_s",
    "sent",
    "completed",
    "failed",
    "rejected",
    "timed_out",
    "cancelled",
    "latency_p50_ms",
    "latency_p99_ms",
    "latency_mean_ms",
    "mean_pending",
];

/// The timelines of several runs (one per strategy) as CSV: a header, then one line per
/// interval and strategy; `mean_pending` is the mean over the workers, then one column per
/// worker (empty where a worker did not exist yet). Numbers are written as Rust prints them
/// (shortest form that reads back exactly); the `csv` crate quotes what needs quoting.
pub fn csv(runs: &[(&str, &TimelineReport)]) -> String {
    let workers =
        runs.iter().flat_map(|(_, t)| &t.intervals).map(|i| i.mean_pending.len()).max().unwrap_or(0);
    let mut header: Vec<String> = CSV_COLUMNS.iter().map(|c| c.to_string()).collect();
    header.extend((0..workers).map(|w| format!("pending_w{w}")));
    let mut out = super::CsvOut::new();
    out.row(header);
    let opt = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
    for (strategy, t) in runs {
        for i in &t.intervals {
            let mean = if i.mean_pending.is_empty() {
                0.0
            } else {
                i.mean_pending.iter().sum::<f64>() / i.mean_pending.len() as f64
            };
            let mut cells = vec![
                crate::text::escape(strategy).to_string(),
                i.start_s.to_string(),
                i.end_s.to_string(),
                i.sent.to_string(),
                i.completed.to_string(),
                i.failed.to_string(),
                i.rejected.to_string(),
                i.timed_out.to_string(),
                i.cancelled.to_string(),
                opt(i.p50_ms),
                opt(i.p99_ms),
                opt(i.mean_ms),
                mean.to_string(),
            ];
            cells.extend(
                (0..workers).map(|w| i.mean_pending.get(w).map_or_else(String::new, |p| p.to_string())),
            );
            out.row(cells);
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Ending;

    #[test]
    fn csv_has_a_column_per_worker() {
        let mut t = Timeline::new(10, 0);
        t.sent();
        t.ended(&Ending::Completed { worker: 0, latency: 5_000_000, wait: 0, service: 5_000_000 });
        let r = TimelineReport::new(&t, 10, 2, |w, _| [5, 10][w]);
        let text = csv(&[("random", &r)]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].ends_with("mean_pending,pending_w0,pending_w1"), "{}", lines[0]);
        assert_eq!(lines[1], "random,0,0.00000001,1,1,0,0,0,0,5,5,5,0.75,0.5,1");
    }
}
