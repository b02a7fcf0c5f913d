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
