//! Reports of finished (or stopped) runs: the data, and its table, JSON and CSV renderings.
//!
//! The JSON form is the contract for scripts; its keys are documented in the README and
//! checked by the tests. New keys may be added, existing ones never change meaning.

mod table;

use serde::Serialize;

pub use table::{compare_table, run_table};

use crate::engine::Sim;
use crate::metrics::{Counters, Recorder};
use crate::time::{MILLIS, as_secs_f64};

/// Latency percentiles [ms].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LatencySummary {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// Mean and p99 [ms].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShortSummary {
    pub mean: f64,
    pub p99: f64,
}

/// One worker's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkerReport {
    pub id: usize,
    pub speed: f64,
    pub up: bool,
    pub completed: u64,
    /// Fraction of slot-time spent serving, 0 to 1.
    pub utilization: f64,
    /// Time-averaged queued + in service.
    pub mean_pending: f64,
    pub max_pending: u32,
}

/// Everything reported about one run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub strategy: String,
    pub seed: u64,
    pub scenario: String,
    /// The arrival process, in words.
    pub arrivals: String,
    /// The service-time distribution, in the `--service` syntax.
    pub service: String,
    /// Mean arrival rate / capacity (`null` for a closed loop).
    pub offered_load: Option<f64>,
    pub requests: Counters,
    pub latency_ms: LatencySummary,
    pub queue_wait_ms: ShortSummary,
    pub service_ms: ShortSummary,
    /// Completed requests per second of measured virtual time.
    pub throughput_rps: f64,
    /// Virtual time simulated, warm-up included [s].
    pub sim_time_s: f64,
    /// Virtual time measured, after the warm-up [s].
    pub measured_time_s: f64,
    /// Real time the simulation took [s]; the only field that differs between identical runs.
    pub wall_time_s: f64,
    pub workers: Vec<WorkerReport>,
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
    }
}

fn short(r: &Recorder) -> ShortSummary {
    ShortSummary { mean: ms(r.mean()), p99: ms(r.quantile(0.99) as f64) }
}

impl Report {
    /// Reports on `sim` as it is now. `scenario` names the workload; `wall_time_s` is how long
    /// it took in real time.
    pub fn new(sim: &Sim, scenario: &str, wall_time_s: f64) -> Report {
        let m = sim.metrics();
        let config = sim.config();
        let window = sim.now().saturating_sub(sim.window_start());
        let snapshot = sim.snapshot();
        let workers = m
            .workers
            .iter()
            .zip(&snapshot.workers)
            .enumerate()
            .map(|(id, (stats, w))| (id, stats.settled(sim.now(), w.pending, w.busy), w))
            .map(|(id, stats, w)| WorkerReport {
                id,
                speed: w.speed,
                up: w.up,
                completed: stats.completed,
                utilization: stats.utilization(window, w.concurrency),
                mean_pending: stats.mean_pending(window),
                max_pending: stats.max_pending,
            })
            .collect();
        Report {
            strategy: sim.strategy_name().to_string(),
            seed: config.seed,
            scenario: scenario.to_string(),
            arrivals: config.arrivals.describe(),
            service: config.service.to_string(),
            offered_load: config.load(),
            requests: m.counters,
            latency_ms: summary(&m.latency),
            queue_wait_ms: short(&m.queue_wait),
            service_ms: short(&m.service),
            throughput_rps: if window == 0 { 0.0 } else { m.counters.completed as f64 / as_secs_f64(window) },
            sim_time_s: as_secs_f64(sim.now()),
            measured_time_s: as_secs_f64(window),
            wall_time_s,
            workers,
        }
    }

    /// The report with the wall time zeroed: equal for equal runs.
    pub fn without_wall_time(&self) -> Report {
        Report { wall_time_s: 0.0, ..self.clone() }
    }
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

/// JSON for one run.
pub fn run_json(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("reports serialise") + "\n"
}

/// JSON for a comparison: `{"runs": [...]}`.
pub fn compare_json(reports: &[Report]) -> String {
    #[derive(Serialize)]
    struct Runs<'a> {
        runs: &'a [Report],
    }
    serde_json::to_string_pretty(&Runs { runs: reports }).expect("reports serialise") + "\n"
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
    "sim_time_s",
    "wall_time_s",
];

/// CSV with a header line and one line per run (per-worker figures are in the JSON).
pub fn csv(reports: &[Report]) -> String {
    let mut out = CSV_COLUMNS.join(",") + "\n";
    for r in reports {
        let c = &r.requests;
        let l = &r.latency_ms;
        let fields: Vec<String> = vec![
            csv_text(&r.strategy),
            r.seed.to_string(),
            csv_text(&r.scenario),
            c.sent.to_string(),
            c.completed.to_string(),
            c.rejected.to_string(),
            c.failed.to_string(),
            c.timed_out.to_string(),
            c.in_flight.to_string(),
            l.mean.to_string(),
            l.p50.to_string(),
            l.p90.to_string(),
            l.p99.to_string(),
            l.p999.to_string(),
            l.max.to_string(),
            r.queue_wait_ms.mean.to_string(),
            r.queue_wait_ms.p99.to_string(),
            r.service_ms.mean.to_string(),
            r.service_ms.p99.to_string(),
            r.throughput_rps.to_string(),
            r.sim_time_s.to_string(),
            r.wall_time_s.to_string(),
        ];
        out += &fields.join(",");
        out.push('\n');
    }
    out
}

fn csv_text(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}
