//! The live engine: the model's requesters, balancer and workers as real tokio tasks that
//! talk over channels, in real time. Rob Pike's balancer ("Concurrency is not parallelism",
//! 2012), in Rust.
//!
//! - [`requester`]: the workload. Each request carries its own reply channel (Pike's `req.c`).
//! - [`balancer`]: one task, one `select!` loop over "a request arrived" and "a worker is
//!   done"; it alone owns the strategy and the pending counts: no locks.
//! - [`worker`]: one task per worker, with a bounded queue.
//! - [`meter`]: what the tasks report, added up into the same metrics as the model's.
//!
//! [`Live`] (in `run.rs`) is the handle the UI and the reports hold: it starts the tasks on a
//! runtime of its own, reads what they report, passes the user's commands on, and shuts
//! everything down so that no task outlives the run.

pub mod balancer;
pub mod meter;
pub mod request;
pub mod requester;
mod run;
pub mod worker;

use std::time::Duration;

use serde::Serialize;

use crate::engine::{QueueFate, SimConfig};

pub use run::Live;

/// The default cap on requests in flight in a live run: each is a task of about 2 KB
/// waiting for its answer, so a million is about 2 GB (the model's default, ten million,
/// would be twenty). `--max-in-flight` or `[run] max_in_flight` set another.
pub const LIVE_MAX_IN_FLIGHT: u64 = 1_000_000;

/// What serving a request is, for a live worker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Work {
    /// Waiting (I/O-bound): `tokio::time::sleep`. The thread is free meanwhile.
    #[default]
    Sleep,
    /// Computing inside the async task (CPU-bound): it holds its runtime thread throughout.
    Spin,
    /// The same computing moved to tokio's blocking pool with `spawn_blocking`.
    Blocking,
}

impl Work {
    /// The name used in scenarios and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Work::Sleep => "sleep",
            Work::Spin => "spin",
            Work::Blocking => "blocking",
        }
    }
}

/// How a live run runs (the scenario's `[live]` table and the `--work`, `--threads`,
/// `--time-scale`, `--grace` flags).
#[derive(Clone, Debug, PartialEq)]
pub struct LiveOptions {
    /// What serving is. Default sleep.
    pub work: Work,
    /// Runtime worker threads. Default: the machine's cores.
    pub threads: Option<usize>,
    /// Real time per scenario time: 2 runs `exp:10ms` as 20 ms on average. Default 1.
    pub time_scale: f64,
    /// After the user quits (or the run's time is up), how long requests in flight may take
    /// to finish before they are cancelled (real time). Default 2 s.
    pub grace: Duration,
    /// Whether a worker stops work whose requester gave up (a timeout). Default false: the
    /// work goes on, and shows as wasted.
    pub cancel_abandoned: bool,
}

impl Default for LiveOptions {
    fn default() -> LiveOptions {
        LiveOptions {
            work: Work::Sleep,
            threads: None,
            time_scale: 1.0,
            grace: Duration::from_secs(2),
            cancel_abandoned: false,
        }
    }
}

impl LiveOptions {
    /// Runtime worker threads in use.
    pub fn thread_count(&self) -> usize {
        self.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

/// What a live run measured that the model has no notion of.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LiveFigures {
    /// Real time per scenario time.
    pub time_scale: f64,
    /// What serving was.
    pub work: Work,
    /// Runtime worker threads.
    pub threads: usize,
    /// Grace period at shutdown (s, real time).
    pub grace_s: f64,
    /// Whether workers stopped work nobody waited for.
    pub cancel_abandoned: bool,
    /// Whether this run was one of several run one after another (a live comparison).
    pub sequential: bool,
    /// Timers and hand-offs measured.
    pub lateness_samples: u64,
    /// How late timers and hand-offs ran against when they should have (ms of scenario time):
    /// mean, p50, p99, max.
    pub lateness_mean_ms: f64,
    /// Median lateness (ms).
    pub lateness_p50_ms: f64,
    /// 99th percentile lateness (ms).
    pub lateness_p99_ms: f64,
    /// Largest lateness (ms).
    pub lateness_max_ms: f64,
    /// Fraction of the wall time the balancer task spent handling events.
    pub balancer_utilization: f64,
    /// Events the balancer handled.
    pub balancer_events: u64,
    /// Requests waiting in the balancer's channel: the largest and the mean seen.
    pub balancer_queue_max: usize,
    /// Mean of the balancer's channel length, sampled.
    pub balancer_queue_mean: f64,
    /// Runtime worker threads, as tokio reports them.
    pub runtime_workers: usize,
    /// Most tasks alive at once (sampled).
    pub runtime_alive_tasks_max: usize,
    /// Longest global (injection) queue of the runtime seen (sampled).
    pub runtime_global_queue_max: usize,
    /// Tasks still alive when the runtime was shut down: 0 when every task ended with the run.
    pub tasks_left_at_shutdown: usize,
}

/// Why a strategy cannot run live: an oracle reads what only the model knows.
pub fn check_strategy(strategy: &dyn crate::strategy::Strategy) -> Result<(), String> {
    if strategy.is_oracle() {
        return Err(format!(
            "strategy `{}` is an oracle: it reads each worker's remaining work, which only the model \
             knows (no real balancer can); run it with --engine sim",
            strategy.name()
        ));
    }
    Ok(())
}

/// Why a configuration cannot run live.
pub fn check_supported(config: &SimConfig) -> Result<(), String> {
    let unsupported = [
        (config.faults.network_delay.is_some(), "network delay (faults.network_delay)"),
        (config.faults.on_crash == QueueFate::Requeue, "on_crash = \"requeue\""),
        (config.defences.balancers.count > 1, "several balancer replicas (balancers.count, --balancers)"),
        (
            config.defences.view() == crate::engine::View::ReportLocal,
            "the report+local view (balancers.view, --balancer-view)",
        ),
        (config.defences.balancers.dispatch_delay.is_some(), "a dispatch delay (balancers.dispatch_delay)"),
        (config.keys.is_some(), "keyed requests ([keys])"),
        (config.defences.slow_start.is_some(), "slow start ([slow_start], --slow-start)"),
        (config.defences.panic_threshold.is_some(), "a panic threshold (panic_threshold, --panic-threshold)"),
    ];
    match unsupported.iter().find(|(used, _)| *used) {
        Some((_, what)) => {
            Err(format!("the live engine does not model {what} yet; run this scenario with --engine sim"))
        }
        None => Ok(()),
    }
}
