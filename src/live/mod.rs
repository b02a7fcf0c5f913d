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
//!
//! Layer 3 of the house: this folder imports the model's vocabulary ([`crate::model`]: the
//! configuration, commands, snapshots, the arrival processes), [`crate::metrics`] (the one
//! accounting path the model uses too), [`crate::strategy`] and the foundations; never
//! [`crate::engine`] nor anything above. The [`Engine`](crate::engines::Engine) trait's impl for
//! [`Live`] is in `engines.rs`, over inherent methods here. Anything from layer 4 up may
//! import it.

pub mod balancer;
pub mod meter;
pub mod request;
pub mod requester;
mod run;
pub mod worker;

use std::time::Duration;

use crate::model::config::{QueueFate, SimConfig, View};

pub use crate::model::figures::{LiveFigures, Work};

pub use run::Live;

/// The default cap on requests in flight in a live run: each is a task of about 2 KB
/// waiting for its answer, so a million is about 2 GB (the model's default, ten million,
/// would be twenty). `--max-in-flight` or `[run] max_in_flight` set another.
pub const LIVE_MAX_IN_FLIGHT: u64 = 1_000_000;

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

/// Why a strategy cannot run live: an oracle reads what only the model knows.
pub fn check_strategy(strategy: &dyn crate::strategy::Strategy) -> Result<(), String> {
    if strategy.is_oracle() {
        return Err(format!(
            "strategy `{}` is an oracle: it reads each worker's remaining work or each request's size, \
             which only the model knows (no real balancer can); run it with --engine sim",
            strategy.name()
        ));
    }
    Ok(())
}

/// Why a configuration cannot run live.
pub fn check_supported(config: &SimConfig) -> Result<(), String> {
    if let Some(w) = config.workers.iter().find(|w| w.discipline != crate::model::config::Discipline::Fcfs) {
        use crate::model::config::Discipline;
        let why = match w.discipline {
            Discipline::Ps => "it would share each worker's speed among the requests it holds",
            Discipline::Srpt => "it reads each request's size before serving it, which only the model knows",
            _ => "it preempts the request in service",
        };
        return Err(format!(
            "the live engine serves first come, first served only: discipline `{}` (discipline, \
             --discipline) is not modelled live ({why}); run this scenario with --engine sim",
            w.discipline.name()
        ));
    }
    let unsupported = [
        (config.faults.network_delay.is_some(), "network delay (faults.network_delay)"),
        (config.faults.on_crash == QueueFate::Requeue, "on_crash = \"requeue\""),
        (config.defences.balancers.count > 1, "several balancer replicas (balancers.count, --balancers)"),
        (
            config.defences.view() == View::ReportLocal,
            "the report+local view (balancers.view, --balancer-view)",
        ),
        (config.defences.balancers.dispatch_delay.is_some(), "a dispatch delay (balancers.dispatch_delay)"),
        (
            matches!(&config.arrivals, crate::model::config::Arrivals::Trace { trace, .. } if trace.keys.is_some()),
            "keyed requests (a trace's `key` column)",
        ),
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
