//! Helpers shared by the integration tests: each test binary compiles this folder with
//! `mod common;` and uses what it needs (the rest is unused there, hence the `allow`).
//!
//! - here: the model's helpers for the statistical tests (the M/M/n setting, runs, quantiles);
//! - [`binary`]: running the real binary, the one-line-error check, scratch folders;
//! - [`real_time`]: one real-time test at a time, and the programs (tmux, GNU parallel) the
//!   end-to-end tests drive.
#![allow(dead_code, unused_imports)]

pub mod binary;
pub mod real_time;

pub use binary::{
    BIN, Ran, Scratch, assert_input_error, assert_refused, lbsim, lbsim_in, ok, ok_in, scratch, stderr,
    stdout,
};
pub use real_time::{have, have_tmux, one_at_a_time};

use lbsim::dist::Dist;
use lbsim::engine::{Arrivals, Sim, SimConfig, Stop, WorkerSpec};
use lbsim::report::Report;
use lbsim::scenario::builtin::{self, BUILTINS};
use lbsim::strategy::{self, StrategyParams};
use lbsim::time::MILLIS;

/// The unit of time in the theory tests: the mean service time, 1 ms.
pub const UNIT: f64 = MILLIS as f64;

/// N identical FIFO workers, Poisson arrivals at per-worker load `rho`, exponential service
/// with mean 1 ms: the setting of docs/validation.md.
pub fn mm_config(workers: usize, rho: f64, requests: u64, seed: u64) -> SimConfig {
    SimConfig {
        seed,
        arrivals: Arrivals::Poisson { rate: rho * workers as f64 * 1000.0 },
        service: Dist::Exp { mean: MILLIS },
        workers: vec![WorkerSpec::default(); workers],
        stop: Stop::Requests(requests),
        // Long enough for the queues to reach their steady state at the loads tested.
        warmup: 2_000 * MILLIS,
        strategy_params: StrategyParams::default(),
        faults: Default::default(),
        defences: Default::default(),
        keys: None,
        timeline: None,
    }
}

/// Runs `config` under the named strategy to the end.
pub fn run(config: &SimConfig, strategy: &str) -> Sim {
    let s = strategy::build(strategy, &config.strategy_params).unwrap();
    let mut sim = Sim::new(config.clone(), s).unwrap();
    sim.run();
    sim
}

/// (arrival time, demand) of every request, by stepping the engine: the workload, which no
/// strategy, replica or key may move.
pub fn workload(config: &SimConfig, strategy: &str) -> Vec<(u64, u64)> {
    let s = strategy::build(strategy, &config.strategy_params).unwrap();
    let mut sim = Sim::new(config.clone(), s).unwrap();
    let mut seen = Vec::new();
    while let Some(step) = sim.step() {
        if let lbsim::engine::StepKind::Arrival { demand, .. } = step.kind {
            seen.push((step.time, demand));
        }
    }
    seen
}

/// Runs and reports (wall time zeroed).
pub fn report(config: &SimConfig, strategy: &str) -> Report {
    Report::new(&run(config, strategy), "test", 0.0)
}

/// Mean end-to-end latency in units of the mean service time.
pub fn mean_sojourn(sim: &Sim) -> f64 {
    sim.metrics().latency.mean() / UNIT
}

/// A latency quantile in units of the mean service time.
pub fn quantile(sim: &Sim, q: f64) -> f64 {
    sim.metrics().latency.quantile(q) as f64 / UNIT
}

/// The lessons, in course order, that run on the live engine (`live`: their first line says
/// "(live engine)") or on the model (`!live`).
pub fn lessons(live: bool) -> Vec<&'static str> {
    let on_live = |text: &str| text.lines().next().is_some_and(|l| l.contains("(live engine)"));
    BUILTINS
        .iter()
        .filter(|b| builtin::lesson(b.name).is_some() && on_live(b.text) == live)
        .map(|b| b.name)
        .collect()
}
