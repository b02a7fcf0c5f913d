//! The knobs of real balancers (issue 11): Envoy's panic threshold.

mod common;

use common::*;
use lbsim::engine::{ScheduledCrash, Sim, SimConfig};
use lbsim::strategy;
use lbsim::time::{MILLIS, SECS};

/// 10 workers at half load; 6 of them crash at 2 s for 3 s (instant detection).
fn six_of_ten_down(panic: Option<f64>) -> SimConfig {
    let mut c = mm_config(10, 0.5, 60_000, 4);
    c.service = "exp:10ms".parse().unwrap();
    c.arrivals = lbsim::engine::Arrivals::Poisson { rate: 500.0 };
    c.warmup = 0;
    c.faults.crashes =
        (0..6).map(|worker| ScheduledCrash { worker, at: 2 * SECS, duration: 3 * SECS }).collect();
    c.defences.panic_threshold = panic;
    c
}

fn run_with_notices(c: &SimConfig, name: &str) -> (Sim, Vec<String>) {
    let s = strategy::build(name, &c.strategy_params).unwrap();
    let mut sim = Sim::new(c.clone(), s).unwrap();
    let mut notices = Vec::new();
    while !sim.run_events(10_000) {
        notices.extend(sim.take_notices().into_iter().map(|n| n.text));
    }
    notices.extend(sim.take_notices().into_iter().map(|n| n.text));
    (sim, notices)
}

#[test]
fn below_the_panic_threshold_the_balancer_spreads_over_every_worker() {
    // Without panic, the 4 survivors take 500/s against their 400/s of capacity for 3 s: a
    // queue of about 300 requests builds, and the p99 follows it. In panic, every worker is
    // offered again: about 6 in 10 requests of the window fail at once on dead workers, and
    // the survivors stay at half load.
    let (calm, _) = run_with_notices(&six_of_ten_down(None), "random");
    let (panicked, notices) = run_with_notices(&six_of_ten_down(Some(0.5)), "random");
    assert!(
        notices.iter().any(|n| n.starts_with("panic: 4 of 10 workers available, below 50%")),
        "{notices:?}"
    );
    assert!(notices.iter().any(|n| n.starts_with("out of panic: 5 of 10")), "{notices:?}");
    let (c, p) = (calm.metrics(), panicked.metrics());
    // About 1,500 arrivals in the window: 6/10 of them, 900, fail (binomial sd about 19).
    assert!(c.counters.failed < 100, "{}", c.counters.failed);
    assert!((800..1_000).contains(&p.counters.failed), "{}", p.counters.failed);
    let p99 = |s: &Sim| s.metrics().latency.quantile(0.99) as f64 / MILLIS as f64;
    assert!(p99(&calm) > 5.0 * p99(&panicked), "{} vs {}", p99(&calm), p99(&panicked));
    // A threshold of 0.3 is not crossed by 4 of 10: no panic, the same run as without.
    let (low, notices) = run_with_notices(&six_of_ten_down(Some(0.3)), "random");
    assert!(!notices.iter().any(|n| n.starts_with("panic")));
    assert_eq!(low.metrics().counters, calm.metrics().counters);
}

/// Picks of worker 0, and all picks, between `from` and `to`.
fn share_of_worker_0(c: &SimConfig, name: &str, from: u64, to: u64) -> f64 {
    let s = strategy::build(name, &c.strategy_params).unwrap();
    let mut sim = Sim::new(c.clone(), s).unwrap();
    let (mut mine, mut all) = (0u32, 0u32);
    while let Some(step) = sim.step() {
        if let lbsim::engine::StepKind::Arrival { worker: Some(w), .. } = step.kind
            && (from..to).contains(&step.time)
        {
            all += 1;
            mine += (w == 0) as u32;
        }
    }
    mine as f64 / all as f64
}

#[test]
fn slow_start_spares_a_worker_that_comes_back() {
    // 4 equal workers; worker 0 is down from 2 s to 3 s. With a 10 s slow start it comes back
    // at a tenth of its weight, a fifth after 2 s: in the 2 s after its return it should get
    // about 0.15 / 3.15 = 5% of the picks instead of 25%; after the window, 25% again.
    let mut c = mm_config(4, 0.6, 0, 5);
    c.stop = lbsim::engine::Stop::Duration(20 * SECS);
    c.warmup = 0;
    c.faults.crashes = vec![ScheduledCrash { worker: 0, at: 2 * SECS, duration: SECS }];
    let mut slow = c.clone();
    slow.defences.slow_start =
        Some(lbsim::engine::SlowStart { window: 10 * SECS, aggression: 1.0, min_weight_percent: 10.0 });
    for name in ["weighted-round-robin", "least-request"] {
        let without = share_of_worker_0(&c, name, 3 * SECS, 5 * SECS);
        let with = share_of_worker_0(&slow, name, 3 * SECS, 5 * SECS);
        // About 4,800 picks in the 2 s: a binomial share's sd is below 0.7 points.
        assert!((without - 0.25).abs() < 0.03, "{name} without: {without}");
        assert!(with < 0.08, "{name} with slow start: {with}");
        let after = share_of_worker_0(&slow, name, 14 * SECS, 20 * SECS);
        assert!((after - 0.25).abs() < 0.03, "{name} after the window: {after}");
    }
}
