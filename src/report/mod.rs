//! Reports of finished (or stopped) runs: the data, and its table, JSON and CSV renderings.
//!
//! The JSON form is the contract for scripts; its keys are documented in the book (docs/src/reference/json.md) and
//! checked by the tests. New keys may be added, existing ones never change meaning.
//!
//! - `mod.rs`: the [`Report`] of one run, read from any [`Engine`], and its CSV;
//! - [`json`]: the JSON contract: [`SCHEMA_VERSION`], and the run and compare documents;
//! - `table.rs`: the tables for people; `crosscheck.rs`: the model against a live run;
//! - `theory.rs`: what [`crate::theory`] predicts for the run, beside what it measured;
//! - [`timeline`]: the run over time as reports give it, and `--timeline-csv`.
//!
//! Layer 4 of the house: imports [`crate::engines`] (the `Engine` trait), the model's
//! vocabulary, [`crate::metrics`] and the foundations; never an engine directly. The timeline's
//! CSV file is written through [`crate::output`]'s atomic files (a layer above: the one
//! exception, kept here for now as the brief of issue 19 placed it). The command line and
//! the UI import it.

mod crosscheck;
pub mod json;
mod table;
mod theory;
pub mod timeline;

use serde::Serialize;

pub use crosscheck::{Differences, crosscheck_json, crosscheck_table};
pub use json::{SCHEMA_VERSION, compare_json, run_json};
pub use table::{compare_table, run_table};
pub use theory::{TheoryReport, compare_cell, theory_line};
pub use timeline::{IntervalReport, TimelineReport};

use crate::engines::{Engine, EngineKind};
use crate::metrics::{Counters, InterventionKind, Metrics, Recorder};
use crate::model::config::Stop;
use crate::model::{LiveFigures, SimConfig, WorkerSnapshot};
use crate::time::{MILLIS, Nanos, as_secs_f64};

/// Latency percentiles (ms). With nothing recorded (`count` 0) every figure is n/a: 0 here,
/// `null` in JSON, `n/a` in tables.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencySummary {
    /// Exact mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
    /// Values recorded (not in the JSON: `requests.completed` says it).
    pub count: u64,
    /// Standard deviation (not in the JSON; for the standard error of the mean).
    pub stdev: f64,
}

/// Mean and p99 (ms); n/a as for [`LatencySummary`] when `count` is 0.
#[derive(Clone, Debug, PartialEq)]
pub struct ShortSummary {
    /// Exact mean.
    pub mean: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Values recorded.
    pub count: u64,
}

/// A figure of a summary, `None` (n/a) when nothing was recorded.
fn figure(count: u64, v: f64) -> Option<f64> {
    (count > 0).then_some(v)
}

impl Serialize for LatencySummary {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut m = s.serialize_struct("LatencySummary", 6)?;
        for (key, v) in [
            ("mean", self.mean),
            ("p50", self.p50),
            ("p90", self.p90),
            ("p99", self.p99),
            ("p999", self.p999),
            ("max", self.max),
        ] {
            m.serialize_field(key, &figure(self.count, v))?;
        }
        m.end()
    }
}

impl Serialize for ShortSummary {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut m = s.serialize_struct("ShortSummary", 2)?;
        m.serialize_field("mean", &figure(self.count, self.mean))?;
        m.serialize_field("p99", &figure(self.count, self.p99))?;
        m.end()
    }
}

impl LatencySummary {
    /// Whether there is anything to report (at least one value recorded).
    pub fn is_known(&self) -> bool {
        self.count > 0
    }
}

/// One worker's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkerReport {
    /// Its index.
    pub id: usize,
    /// Configured speed.
    pub speed: f64,
    /// Whether the balancer may send to it at the end.
    pub up: bool,
    /// Measured requests it answered (one per request; never more than `picks`).
    pub completed: u64,
    /// Attempts it failed or lost to a crash.
    pub errors: u64,
    /// Times ejected as an outlier.
    pub ejections: u32,
    /// Virtual time spent crashed (s).
    pub downtime_s: f64,
    /// Fraction of slot-time spent serving, 0 to 1.
    pub utilization: f64,
    /// Time-averaged queued + in service.
    pub mean_pending: f64,
    /// Largest pending count.
    pub max_pending: u32,
    /// Measured attempts the balancers sent it: first tries and retries, answered, failed,
    /// abandoned or still there at the end (so at least `completed`).
    pub picks: u64,
    /// Its picks by balancer replica (only with more than one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picks_by_balancer: Option<Vec<u64>>,
}

/// What keyed requests met.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeysReport {
    /// Distinct keys.
    pub count: u64,
    /// Their popularity, `uniform` or `zipf:S`.
    pub popularity: String,
    /// Measured attempts whose key was in their worker's cache (0 without a cache).
    pub cache_hits: u64,
    /// Measured attempts whose key was not.
    pub cache_misses: u64,
    /// Hits / (hits + misses); `null` without a cache or before any service.
    pub cache_hit_rate: Option<f64>,
    /// Keys that changed worker when workers crashed, came back or scaled, summed over the
    /// changes after the warm-up (the share of the key space moved, times the keys).
    pub remapped: f64,
    /// Cluster changes that moved keys.
    pub remaps: u64,
}

/// One balancer replica's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BalancerReport {
    /// Its index.
    pub id: usize,
    /// Measured attempts it sent to workers.
    pub picks: u64,
}

/// Everything reported about one run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The strategy's name.
    pub strategy: String,
    /// Master seed.
    pub seed: u64,
    /// The scenario's name.
    pub scenario: String,
    /// The arrival process, in words.
    pub arrivals: String,
    /// The service-time distribution, in the `--service` syntax.
    pub service: String,
    /// The cluster in words, e.g. `8 workers` or `4 workers, autoscaled 2 to 16`.
    pub cluster: String,
    /// Mean arrival rate / capacity (`null` for a closed loop).
    pub offered_load: Option<f64>,
    /// What became of the measured requests.
    pub requests: Counters,
    /// Attempts, retries and errors by cause.
    pub attempts: AttemptsReport,
    /// End-to-end latency (ms) of the answered requests only; those still waiting at the
    /// end are counted in `requests.in_flight`.
    pub latency_ms: LatencySummary,
    /// What queueing theory predicts for the latency, or why nothing does.
    pub theory: TheoryReport,
    /// Time queued at the worker (ms).
    pub queue_wait_ms: ShortSummary,
    /// Time in service (ms).
    pub service_ms: ShortSummary,
    /// Completed requests per second of the measured window the arrivals define
    /// (`arrivals_window_s`: from the end of the warm-up to the end of sending), not of the
    /// drain after the last arrival (the goodput).
    pub throughput_rps: f64,
    /// Successful requests per second (the same as `throughput_rps`, named for comparison
    /// with `served_rps`).
    pub goodput_rps: f64,
    /// Attempts workers served per second of the same window, failed and abandoned ones
    /// included.
    pub served_rps: f64,
    /// The time base of the rates above (s): from the end of the warm-up to the end of the
    /// arrivals (the configured duration, a trace's end, or the last measured request of a
    /// run stopped by a request count), or to the end of the run if that came first.
    pub arrivals_window_s: f64,
    /// Autoscaling actions.
    pub scaling: Vec<ScalingReport>,
    /// Virtual time simulated, warm-up included (s).
    pub sim_time_s: f64,
    /// Virtual time measured, after the warm-up (s).
    pub measured_time_s: f64,
    /// Real time the simulation took (s); the only field that differs between identical runs.
    pub wall_time_s: f64,
    /// One entry per worker.
    pub workers: Vec<WorkerReport>,
    /// One entry per balancer replica.
    pub balancers: Vec<BalancerReport>,
    /// Keyed requests: the keys, cache hits and keys remapped (absent without keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys: Option<KeysReport>,
    /// Jain's fairness index over each worker's picks / capacity (speed x concurrency):
    /// 1 when every worker got picks in proportion to its capacity; `null` with no picks.
    pub fairness_jain: Option<f64>,
    /// Which engine ran it: `sim` (the model) or `live` (real tokio tasks).
    pub engine: EngineKind,
    /// What only the live engine measures (absent for the model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveFigures>,
    /// Why the run stopped before its configured end: `in_flight_cap`, or `null`.
    pub stop_reason: Option<&'static str>,
    /// The cap on requests and attempts in flight the run had.
    pub max_in_flight: u64,
    /// The signal (`SIGINT`, `SIGTERM`, `SIGHUP`) that stopped the run before its end: the
    /// report covers what ran until then. Absent for a run that ended by itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted_by: Option<String>,
    /// Commands applied during the run (the UI's keys), in order.
    pub interventions: Vec<InterventionReport>,
    /// The run over time (`--timeline`); absent without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<TimelineReport>,
    /// When the strategy was switched during the run, one entry per strategy in force, with
    /// the requests that ended while it was; empty when it never changed.
    pub strategy_spans: Vec<SpanReport>,
}

/// A command applied during the run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InterventionReport {
    /// Virtual time it was applied (s).
    pub at_s: f64,
    /// What kind of change it was (`arrival_rate`, `strategy`, `crash`, ...).
    pub kind: InterventionKind,
    /// What it did (`worker 3 crashed`, `arrival rate set to 660/s`).
    pub what: String,
}

/// What one strategy measured while it was in force.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpanReport {
    /// The strategy.
    pub strategy: String,
    /// When it took over (s of virtual time; 0 for the first).
    pub from_s: f64,
    /// When it was replaced, or the run ended (s).
    pub to_s: f64,
    /// Measured requests completed while it was in force.
    pub completed: u64,
    /// Measured requests that ended unanswered (failed, rejected, timed out, cancelled) while
    /// it was in force.
    pub unanswered: u64,
    /// Latency of the requests completed while it was in force (ms).
    pub latency_ms: LatencySummary,
}

/// Attempts and errors.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttemptsReport {
    /// Attempts made (first tries and retries).
    pub total: u64,
    /// Attempts after the first.
    pub retries: u64,
    /// Attempts per request sent.
    pub retry_amplification: f64,
    /// Errors by cause.
    pub errors: ErrorsReport,
    /// Requests that had to wait at the balancer (blocking backpressure).
    pub blocked: u64,
    /// Service time spent on attempts nobody waited for any more (s).
    pub wasted_work_s: f64,
}

/// Attempts that went wrong, by cause.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ErrorsReport {
    /// The worker failed it (its error rate).
    pub worker_error: u64,
    /// Lost to a crash, or sent to a dead worker.
    pub crash: u64,
    /// Turned away: queue full, or no worker available.
    pub rejected: u64,
    /// Given up on: per-try timeouts and request deadlines.
    pub timed_out: u64,
}

/// One autoscaling action.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScalingReport {
    /// When (s).
    pub time_s: f64,
    /// What.
    pub action: crate::metrics::ScaleAction,
    /// The worker concerned.
    pub worker: usize,
    /// Workers serving or starting afterwards.
    pub workers: u32,
}

fn ms(ns: f64) -> f64 {
    ns / MILLIS as f64
}

fn summary(r: &Recorder) -> LatencySummary {
    LatencySummary {
        mean: ms(r.mean()),
        p50: ms(r.quantile(0.5) as f64),
        p90: ms(r.quantile(0.9) as f64),
        p99: ms(r.quantile(0.99) as f64),
        p999: ms(r.quantile(0.999) as f64),
        max: ms(r.max() as f64),
        count: r.count(),
        stdev: ms(r.stdev()),
    }
}

fn short(r: &Recorder) -> ShortSummary {
    ShortSummary { mean: ms(r.mean()), p99: ms(r.quantile(0.99) as f64), count: r.count() }
}

/// Several balancer replicas in words (`, 10 balancers (local view, random assignment)`);
/// nothing for one.
fn balancers_words(config: &SimConfig) -> String {
    let b = &config.defences.balancers;
    if b.count == 1 {
        return String::new();
    }
    let aligned = if b.aligned { ", aligned" } else { "" };
    let delay = b.dispatch_delay.as_ref().map(|d| format!(", dispatch delay {d}")).unwrap_or_default();
    format!(
        ", {} balancers ({} view, {} assignment{aligned}{delay})",
        b.count,
        config.defences.view().name(),
        b.assignment.name()
    )
}

/// A worker's capacity for the fairness index: its configured speed (not slowed down) times
/// its service slots.
fn capacity(w: &WorkerSnapshot) -> f64 {
    w.speed * w.slowdown * w.concurrency as f64
}

fn per_second(count: u64, window: Nanos) -> f64 {
    if window == 0 { 0.0 } else { count as f64 / as_secs_f64(window) }
}

/// The measured window the arrivals define (ns): from the end of the warm-up to the end of
/// sending (the configured duration's end, a trace's end, or when the last measured request
/// of a request-count run was sent), cut at the end of the run so far. The drain after the
/// last arrival (the model's remaining events, the live run's grace) is not in it.
fn arrivals_window(sim: &dyn Engine) -> Nanos {
    let config = sim.config();
    let now = sim.now();
    let by_stop = match config.stop {
        Stop::Duration(d) => config.warmup.saturating_add(d),
        // Still sending, the window runs to now; done, to the last measured request.
        Stop::Requests(n) if sim.metrics().counters.sent >= n => sim.metrics().last_sent,
        Stop::Requests(_) => now,
    };
    let end = config.trace_end().map_or(by_stop, |t| by_stop.min(t.max(sim.window_start())));
    end.min(now).saturating_sub(sim.window_start())
}

impl Report {
    /// Reports on a run as it is now, whichever engine runs it. `scenario` names the workload;
    /// `wall_time_s` is how long it took in real time.
    pub fn new(sim: &dyn Engine, scenario: &str, wall_time_s: f64) -> Report {
        let m = sim.metrics();
        let config = sim.config();
        let window = sim.now().saturating_sub(sim.window_start());
        let arrivals_window = arrivals_window(sim);
        let snapshot = sim.snapshot();
        let workers = workers_report(m, &snapshot.workers, sim.now(), window);
        let balancers = if m.balancers.is_empty() {
            // One balancer that does not count by replica (the live engine): all picks are its.
            vec![BalancerReport { id: 0, picks: workers.iter().map(|w| w.picks).sum() }]
        } else {
            m.balancers.iter().enumerate().map(|(id, b)| BalancerReport { id, picks: b.picks }).collect()
        };
        let fairness_jain = crate::metrics::jain(
            workers.iter().zip(&snapshot.workers).map(|(w, s)| w.picks as f64 / capacity(s)),
        );
        Report {
            strategy: sim.strategy_name().to_string(),
            seed: config.seed,
            scenario: scenario.to_string(),
            arrivals: arrivals_words(config, m),
            service: config.service.to_string(),
            cluster: cluster_words(config),
            offered_load: config.load(),
            requests: m.counters,
            attempts: attempts_report(m),
            latency_ms: summary(&m.latency),
            theory: TheoryReport::new(config, sim.strategy_name(), !m.interventions.is_empty()),
            queue_wait_ms: short(&m.queue_wait),
            service_ms: short(&m.service),
            throughput_rps: per_second(m.counters.completed, arrivals_window),
            goodput_rps: per_second(m.counters.completed, arrivals_window),
            served_rps: per_second(m.attempts.served, arrivals_window),
            arrivals_window_s: as_secs_f64(arrivals_window),
            scaling: m
                .scaling
                .iter()
                .map(|e| ScalingReport {
                    time_s: as_secs_f64(e.time),
                    action: e.action,
                    worker: e.worker,
                    workers: e.workers,
                })
                .collect(),
            sim_time_s: as_secs_f64(sim.now()),
            measured_time_s: as_secs_f64(window),
            wall_time_s,
            workers,
            balancers,
            keys: keys_report(config, m),
            fairness_jain,
            engine: sim.kind(),
            live: sim.live_figures(),
            stop_reason: sim.stop_reason().map(|r| r.key()),
            max_in_flight: sim.in_flight_cap(),
            interrupted_by: None,
            interventions: m
                .interventions
                .iter()
                .map(|i| InterventionReport { at_s: as_secs_f64(i.at), kind: i.kind, what: i.what.clone() })
                .collect(),
            strategy_spans: spans(m, sim.now()),
            timeline: m.timeline.as_ref().map(|t| {
                let pending = |w: usize| snapshot.workers.get(w).map_or(0, |s| s.pending);
                TimelineReport::new(t, sim.now(), m.workers.len(), |w, at| {
                    m.workers[w].pending_area_at(at, pending(w))
                })
            }),
        }
    }
}

/// Each worker's figures, its statistics brought up to `now`.
fn workers_report(m: &Metrics, snapshot: &[WorkerSnapshot], now: Nanos, window: Nanos) -> Vec<WorkerReport> {
    m.workers
        .iter()
        .zip(snapshot)
        .enumerate()
        .map(|(id, (stats, w))| (id, stats.settled(now, w.pending, w.busy), w))
        .map(|(id, stats, w)| WorkerReport {
            id,
            speed: w.speed,
            up: w.up,
            completed: stats.completed,
            errors: stats.errors,
            ejections: stats.ejections,
            downtime_s: as_secs_f64(stats.downtime),
            utilization: stats.utilization(window, w.concurrency),
            mean_pending: stats.mean_pending(window),
            max_pending: stats.max_pending,
            picks: stats.picks,
            picks_by_balancer: (m.balancers.len() > 1)
                .then(|| m.balancers.iter().map(|b| b.by_worker.get(id).copied().unwrap_or(0)).collect()),
        })
        .collect()
}

/// The arrival process in words, noting a rate changed by a command.
fn arrivals_words(config: &SimConfig, m: &Metrics) -> String {
    let changed = m.interventions.iter().any(|i| i.kind == InterventionKind::ArrivalRate);
    let note = if changed { " (the rate was changed during the run: see below)" } else { "" };
    format!("{}{note}", config.arrivals.describe())
}

/// The cluster in words: `8 workers`, `4 workers, autoscaled 2 to 16`, and any replicas.
fn cluster_words(config: &SimConfig) -> String {
    let workers = match &config.defences.autoscale {
        Some(a) => format!("{} workers, autoscaled {} to {}", config.workers.len(), a.min, a.max),
        None => format!("{} workers", config.workers.len()),
    };
    workers + &balancers_words(config)
}

fn attempts_report(m: &Metrics) -> AttemptsReport {
    AttemptsReport {
        total: m.attempts.attempts,
        retries: m.attempts.retries,
        retry_amplification: if m.counters.sent == 0 {
            0.0
        } else {
            m.attempts.attempts as f64 / m.counters.sent as f64
        },
        errors: ErrorsReport {
            worker_error: m.attempts.worker_errors,
            crash: m.attempts.crash_errors,
            rejected: m.attempts.rejections,
            timed_out: m.attempts.timeouts,
        },
        blocked: m.attempts.blocked,
        wasted_work_s: as_secs_f64(m.attempts.wasted_work),
    }
}

fn keys_report(config: &SimConfig, m: &Metrics) -> Option<KeysReport> {
    config.keys.as_ref().map(|k| {
        let s = &m.keys;
        let served = s.cache_hits + s.cache_misses;
        KeysReport {
            count: k.count,
            popularity: k.popularity.to_string(),
            cache_hits: s.cache_hits,
            cache_misses: s.cache_misses,
            cache_hit_rate: (served > 0).then(|| s.cache_hits as f64 / served as f64),
            remapped: s.remapped,
            remaps: s.remaps,
        }
    })
}

/// What each strategy measured while in force, from the run's switches (empty without).
fn spans(m: &Metrics, now: Nanos) -> Vec<SpanReport> {
    let s = &m.switches;
    (0..s.len())
        .map(|i| {
            let start = &s[i];
            let (to, latency, counters) = match s.get(i + 1) {
                Some(next) => (next.at, &next.latency, next.counters),
                None => (now, &m.latency, m.counters),
            };
            SpanReport {
                strategy: start.strategy.clone(),
                from_s: as_secs_f64(start.at),
                to_s: as_secs_f64(to),
                completed: counters.completed - start.counters.completed,
                unanswered: counters.unanswered() - start.counters.unanswered(),
                latency_ms: summary(&latency.since(&start.latency)),
            }
        })
        .collect()
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text for people.
    Table,
    /// One JSON object (`{"runs": [...]}` for compare).
    Json,
    /// One header line and one line per run.
    Csv,
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "strategy",
    "seed",
    "scenario",
    "sent",
    "completed",
    "rejected",
    "failed",
    "timed_out",
    "in_flight",
    "latency_mean_ms",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "latency_p999_ms",
    "latency_max_ms",
    "queue_wait_mean_ms",
    "queue_wait_p99_ms",
    "service_mean_ms",
    "service_p99_ms",
    "throughput_rps",
    "attempts",
    "retries",
    "retry_amplification",
    "worker_errors",
    "crash_errors",
    "rejected_attempts",
    "timed_out_attempts",
    "served_rps",
    "wasted_work_s",
    "sim_time_s",
    "wall_time_s",
    // Added after the others (so that their positions stay): with it, the request columns
    // add up, sent = completed + rejected + failed + timed_out + cancelled + in_flight.
    "cancelled",
    // Theory beside the simulation (issue 23): the formula's name (empty when none applies)
    // and its mean and p99 (empty where it gives none).
    "theory_formula",
    "theory_mean_ms",
    "theory_p99_ms",
];

/// CSV with a header line and one line per run (per-worker figures are in the JSON). Numbers
/// are written as Rust prints them (the shortest form that reads back exactly); the `csv`
/// crate quotes the text fields that need it.
pub fn csv(reports: &[Report]) -> String {
    let mut out = CsvOut::new();
    out.row(CSV_COLUMNS.iter().map(|c| c.to_string()).collect());
    for r in reports {
        let c = &r.requests;
        let l = &r.latency_ms;
        let fields: Vec<String> = vec![
            crate::text::escape(&r.strategy).to_string(),
            r.seed.to_string(),
            crate::text::escape(&r.scenario).to_string(),
            c.sent.to_string(),
            c.completed.to_string(),
            c.rejected.to_string(),
            c.failed.to_string(),
            c.timed_out.to_string(),
            c.in_flight.to_string(),
            cell(l.count, l.mean),
            cell(l.count, l.p50),
            cell(l.count, l.p90),
            cell(l.count, l.p99),
            cell(l.count, l.p999),
            cell(l.count, l.max),
            cell(r.queue_wait_ms.count, r.queue_wait_ms.mean),
            cell(r.queue_wait_ms.count, r.queue_wait_ms.p99),
            cell(r.service_ms.count, r.service_ms.mean),
            cell(r.service_ms.count, r.service_ms.p99),
            r.throughput_rps.to_string(),
            r.attempts.total.to_string(),
            r.attempts.retries.to_string(),
            r.attempts.retry_amplification.to_string(),
            r.attempts.errors.worker_error.to_string(),
            r.attempts.errors.crash.to_string(),
            r.attempts.errors.rejected.to_string(),
            r.attempts.errors.timed_out.to_string(),
            r.served_rps.to_string(),
            r.attempts.wasted_work_s.to_string(),
            r.sim_time_s.to_string(),
            r.wall_time_s.to_string(),
            c.cancelled.to_string(),
            r.theory.formula.unwrap_or("").to_string(),
            r.theory.mean_ms.map_or_else(String::new, |v| v.to_string()),
            r.theory.p99_ms.map_or_else(String::new, |v| v.to_string()),
        ];
        out.row(fields);
    }
    out.finish()
}

/// A CSV cell for a latency figure: empty when n/a.
fn cell(count: u64, v: f64) -> String {
    figure(count, v).map_or_else(String::new, |v| v.to_string())
}

/// CSV text built with the `csv` crate: lines end in `\n`, fields are quoted where needed.
pub(crate) struct CsvOut {
    writer: csv::Writer<Vec<u8>>,
}

impl CsvOut {
    pub(crate) fn new() -> CsvOut {
        let writer =
            csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
        CsvOut { writer }
    }

    /// One line. (Records of different lengths are the caller's mistake.)
    pub(crate) fn row(&mut self, fields: Vec<String>) {
        self.writer.write_record(&fields).expect("writing CSV to memory cannot fail");
    }

    pub(crate) fn finish(self) -> String {
        let bytes = self.writer.into_inner().expect("writing CSV to memory cannot fail");
        String::from_utf8(bytes).expect("the fields are text")
    }
}

/// Reports made by hand, for the unit tests of the renderings.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// A report of nothing: every count 0, every figure n/a.
    pub(crate) fn blank() -> Report {
        let none = LatencySummary {
            mean: 0.0,
            p50: 0.0,
            p90: 0.0,
            p99: 0.0,
            p999: 0.0,
            max: 0.0,
            count: 0,
            stdev: 0.0,
        };
        let short = ShortSummary { mean: 0.0, p99: 0.0, count: 0 };
        Report {
            strategy: "s".into(),
            seed: 1,
            scenario: "t".into(),
            arrivals: String::new(),
            service: String::new(),
            cluster: String::new(),
            offered_load: None,
            requests: Counters::default(),
            attempts: AttemptsReport {
                total: 0,
                retries: 0,
                retry_amplification: 0.0,
                errors: ErrorsReport { worker_error: 0, crash: 0, rejected: 0, timed_out: 0 },
                blocked: 0,
                wasted_work_s: 0.0,
            },
            latency_ms: none,
            theory: TheoryReport::from_prediction(&crate::theory::Prediction::NoClosedForm {
                why: "a blank report".into(),
            }),
            queue_wait_ms: short.clone(),
            service_ms: short,
            throughput_rps: 0.0,
            goodput_rps: 0.0,
            served_rps: 0.0,
            arrivals_window_s: 0.0,
            scaling: Vec::new(),
            sim_time_s: 0.0,
            measured_time_s: 0.0,
            wall_time_s: 0.0,
            workers: Vec::new(),
            balancers: Vec::new(),
            keys: None,
            fairness_jain: None,
            engine: EngineKind::Sim,
            live: None,
            stop_reason: None,
            max_in_flight: 0,
            interrupted_by: None,
            interventions: Vec::new(),
            timeline: None,
            strategy_spans: Vec::new(),
        }
    }
}
