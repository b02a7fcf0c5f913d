//! A custom strategy, written outside lbsim and run through lbsim's own command line and UI.
//!
//! `expected-wait` is power-of-two choices that knows about speed: it samples two workers and
//! sends the request to the one where it should finish first, `(pending + 1) / speed`, instead
//! of the one with fewer requests. On a cluster of mixed speeds that is the difference between
//! queueing behind one request on a slow worker and three on a fast one.
//!
//! ```sh
//! cargo run --release --example expected_wait -- compare \
//!     --strategies expected-wait,power-of-two,least-loaded
//! ```
//!
//! Everything `lbsim` does works here, with one more strategy registered.

use std::process::ExitCode;

use lbsim::rng::SimRng;
use lbsim::strategy::{self, Cluster, Strategy, StrategyInfo, WorkerId};

/// Of two random workers, the one that should answer soonest.
#[derive(Debug, Default)]
pub struct ExpectedWait;

impl ExpectedWait {
    /// Time until a new request would be done there, in units of work.
    fn expected_wait(cluster: &Cluster<'_>, id: WorkerId) -> f64 {
        let w = cluster.worker(id);
        (w.pending as f64 + 1.0) / w.speed
    }
}

impl Strategy for ExpectedWait {
    fn name(&self) -> &str {
        "expected-wait"
    }

    fn pick(&mut self, cluster: &Cluster<'_>, rng: &mut SimRng) -> Option<WorkerId> {
        // Two distinct workers that are up, uniformly; with fewer than two, whatever is up.
        let Some((a, b)) = cluster.two_up(rng) else {
            return cluster.up().first().copied();
        };
        let wait = |id| Self::expected_wait(cluster, id);
        Some(if wait(b) < wait(a) { b } else { a })
    }

    fn explain_last_pick(&self) -> Option<String> {
        Some("the sooner of two: (pending + 1) / speed".to_string())
    }
}

/// Registered with lbsim under its name.
static EXTRA: [StrategyInfo; 1] = [StrategyInfo {
    name: "expected-wait",
    about: "of two random workers, the one that should answer soonest: (pending + 1) / speed",
    build: |_| Box::new(ExpectedWait),
}];

fn main() -> ExitCode {
    strategy::register(&EXTRA);
    lbsim::cli::main()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lbsim::engine::Sim;
    use lbsim::report::Report;
    use lbsim::rng::Stream;
    use lbsim::scenario::builtin;
    use lbsim::strategy::WorkerView;

    fn view(pending: u32, speed: f64) -> WorkerView {
        WorkerView { pending, speed, weight: speed, up: true, last_latency: 0 }
    }

    #[test]
    fn prefers_a_fast_worker_with_a_longer_queue() {
        // Worker 0: 1 pending at speed 0.5 -> 4 units; worker 1: 2 pending at speed 3 -> 1.
        let workers = [view(1, 0.5), view(2, 3.0)];
        let up = [0, 1];
        let cluster = Cluster::new(0, &workers, &up);
        let mut rng = SimRng::stream(1, Stream::Strategy);
        let mut s = ExpectedWait;
        for _ in 0..20 {
            assert_eq!(s.pick(&cluster, &mut rng), Some(1));
        }
    }

    #[test]
    fn beats_plain_power_of_two_on_a_mixed_cluster() {
        let config = builtin::find("default").unwrap().scenario().unwrap().to_config().unwrap();
        let run = |s: Box<dyn Strategy>| {
            let mut sim = Sim::new(config.clone(), s).unwrap();
            sim.run();
            Report::new(&sim, "default", 0.0)
        };
        let ours = run(Box::new(ExpectedWait));
        let p2c = run(strategy::build("power-of-two", &config.strategy_params).unwrap());
        assert!(
            ours.latency_ms.p99 < 0.8 * p2c.latency_ms.p99,
            "{} vs {}",
            ours.latency_ms.p99,
            p2c.latency_ms.p99
        );
    }
}
