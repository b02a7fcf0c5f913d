//! Faults and defences work as modelled, within statistical tolerance. The lessons' claims
//! (a slow worker, stale information, ...) are checked in tests/lessons.rs.

mod common;

use common::*;
use lbsim::engine::{
    Backpressure, Detection, ErrorKind, OutlierEjection, QueueFate, RetryPolicy, ScheduledCrash, SimConfig,
    Stop,
};
use lbsim::metrics::ScaleAction;
use lbsim::report::Report;
use lbsim::scenario::builtin;
use lbsim::time::{MILLIS, SECS};

fn scenario_config(name: &str) -> SimConfig {
    builtin::find(name).unwrap().scenario().unwrap().to_config().unwrap()
}

fn with_errors(p: f64, kind: ErrorKind, retries: Option<u32>, seed: u64) -> SimConfig {
    let mut c = mm_config(8, 0.5, 40_000, seed);
    c.warmup = 0;
    for w in &mut c.workers {
        w.error_rate = p;
        w.error_kind = kind;
    }
    c.defences.retry = retries.map(|max| RetryPolicy {
        max,
        backoff: MILLIS,
        max_backoff: 10 * MILLIS,
        per_try_timeout: None,
        budget: None,
    });
    c
}

#[test]
fn the_injected_error_rate_is_observed() {
    for (seed, kind) in [(1, ErrorKind::Slow), (2, ErrorKind::Fast), (3, ErrorKind::Slow)] {
        let r = report(&with_errors(0.2, kind, None, seed), "round-robin");
        let rate = r.requests.failed as f64 / r.requests.sent as f64;
        // 40,000 requests: one standard deviation is 0.002.
        assert!((rate - 0.2).abs() < 0.01, "{kind:?} seed {seed}: failure rate {rate}");
        assert_eq!(r.attempts.errors.worker_error, r.requests.failed);
        assert!(r.requests.is_conserved());
    }
}

#[test]
fn with_r_retries_failures_drop_to_p_to_the_r_plus_one() {
    let p: f64 = 0.3;
    for (r, kind) in [(1, ErrorKind::Slow), (2, ErrorKind::Fast), (3, ErrorKind::Slow)] {
        let rep = report(&with_errors(p, kind, Some(r), 10 + r as u64), "random");
        let expected = p.powi(r as i32 + 1);
        let rate = rep.requests.failed as f64 / rep.requests.sent as f64;
        let sd = (expected * (1.0 - expected) / rep.requests.sent as f64).sqrt();
        assert!((rate - expected).abs() < 4.0 * sd + 1e-4, "r={r}: failure rate {rate}, expected {expected}");
        // Attempts per request: 1 + p + p^2 + ... + p^r.
        let amplification: f64 = (0..=r as i32).map(|i| p.powi(i)).sum();
        assert!((rep.attempts.retry_amplification - amplification).abs() < 0.02, "r={r}: {rep:?}");
    }
}

#[test]
fn no_request_completes_after_its_timeout() {
    for seed in 1..4 {
        let mut config = scenario_config("retry-storm");
        config.seed = seed;
        config.stop = Stop::Duration(30 * SECS);
        config.defences.retry.as_mut().unwrap().budget = Some(0.2);
        let sim = run(&config, "round-robin");
        let timeout = config.defences.timeout.unwrap();
        let m = sim.metrics();
        assert!(m.counters.completed > 1_000 && m.counters.timed_out > 0, "{:?}", m.counters);
        assert!(m.latency.max() <= timeout, "seed {seed}: a success took {} > {timeout}", m.latency.max());
    }
}

#[test]
fn naive_retries_melt_down_and_a_budget_recovers() {
    let naive = report(&scenario_config("retry-storm"), "round-robin");
    let mut budgeted = scenario_config("retry-storm");
    budgeted.defences.retry.as_mut().unwrap().budget = Some(0.1);
    let budgeted = report(&budgeted, "round-robin");
    assert!(naive.attempts.retry_amplification > 2.0, "{}", naive.attempts.retry_amplification);
    assert!(budgeted.attempts.retry_amplification < 1.2, "{}", budgeted.attempts.retry_amplification);
    assert!(
        budgeted.goodput_rps > 2.0 * naive.goodput_rps,
        "{} vs {}",
        budgeted.goodput_rps,
        naive.goodput_rps
    );
    assert!(naive.attempts.wasted_work_s > budgeted.attempts.wasted_work_s);
    assert!(naive.served_rps > naive.goodput_rps * 2.0, "the workers stay busy for nothing");
}

#[test]
fn health_checks_limit_the_damage_of_a_crash() {
    let checked = scenario_config("worker-crash");
    let mut blind = checked.clone();
    blind.defences.detection = Detection::Never;
    let mut oracle = checked.clone();
    oracle.defences.detection = Detection::Instant;
    for strategy in ["round-robin", "least-loaded"] {
        let (c, b, o) = (report(&checked, strategy), report(&blind, strategy), report(&oracle, strategy));
        assert!(
            b.requests.failed > 5 * c.requests.failed,
            "{strategy}: blind {} vs checked {}",
            b.requests.failed,
            c.requests.failed
        );
        assert!(c.requests.failed > o.requests.failed, "{strategy}: checks take time to notice");
        assert!(
            c.workers[2].downtime_s > 29.0 && c.workers[2].downtime_s < 31.0,
            "{}",
            c.workers[2].downtime_s
        );
    }
    // Without detection least-loaded is drawn to the dead worker, which answers at once.
    assert!(report(&blind, "least-loaded").requests.failed > report(&blind, "round-robin").requests.failed);
}

#[test]
fn requeueing_a_crashed_workers_queue_saves_its_requests() {
    let mut config = mm_config(4, 0.9, 30_000, 5);
    config.faults.crashes = (0..5)
        .map(|i| ScheduledCrash { worker: i % 4, at: (3 + 3 * i as u64) * SECS, duration: SECS })
        .collect();
    let failed = report(&config, "round-robin");
    config.faults.on_crash = QueueFate::Requeue;
    let requeued = report(&config, "round-robin");
    assert!(
        requeued.requests.failed * 3 < failed.requests.failed,
        "{} vs {}",
        requeued.requests.failed,
        failed.requests.failed
    );
    assert!(requeued.requests.is_conserved() && failed.requests.is_conserved());
}

#[test]
fn a_fast_failing_worker_attracts_least_loaded_but_not_penalised_peak_ewma() {
    let config = scenario_config("fast-failure");
    let ll = report(&config, "least-loaded");
    let rr = report(&config, "round-robin");
    let ewma = report(&config, "peak-ewma");
    let mut naive = config.clone();
    naive.strategy_params.error_penalty = 0;
    let naive = report(&naive, "peak-ewma");
    // Round-robin sends it an eighth of the traffic; least-loaded much more.
    assert!(ll.requests.failed > 2 * rr.requests.failed, "{} vs {}", ll.requests.failed, rr.requests.failed);
    assert!(ewma.requests.failed * 20 < rr.requests.failed, "peak-ewma {}", ewma.requests.failed);
    assert!(
        naive.requests.failed > 20 * ewma.requests.failed,
        "without the penalty {}",
        naive.requests.failed
    );
    // Outlier ejection cures least-loaded.
    let mut ejecting = config.clone();
    ejecting.defences.outlier =
        Some(OutlierEjection { consecutive_errors: 5, base_ejection: 30 * SECS, max_ejected: 0.1 });
    let cured = report(&ejecting, "least-loaded");
    assert!(cured.requests.failed * 100 < ll.requests.failed, "{}", cured.requests.failed);
    assert!(cured.workers[0].ejections >= 1);
}

#[test]
fn the_pool_grows_for_bursts_and_shrinks_after() {
    let config = scenario_config("autoscale");
    let r: Report = report(&config, "least-loaded");
    let ups = r.scaling.iter().filter(|s| s.action == ScaleAction::Up).count();
    let retired = r.scaling.iter().filter(|s| s.action == ScaleAction::Retired).count();
    assert!(ups >= 8, "{ups} scale-ups");
    assert!(retired >= 8, "{retired} retirements");
    let a = config.defences.autoscale.as_ref().unwrap();
    for s in &r.scaling {
        assert!(s.workers >= a.min && s.workers <= a.max, "{s:?}");
    }
    // Scale-ups happen during bursts (15 s of every 40 s, after a 25 s gap), or after one
    // while the backlog drains; never late in a calm gap.
    for s in r.scaling.iter().filter(|s| s.action == ScaleAction::Up) {
        let phase = s.time_s % 40.0;
        assert!(!(12.0..25.0).contains(&phase), "scaled up at {}", s.time_s);
    }
}

#[test]
fn blocking_backpressure_holds_instead_of_rejecting() {
    let mut config = scenario_config("closed-loop");
    config.stop = Stop::Duration(20 * SECS);
    for w in &mut config.workers {
        w.queue_capacity = Some(2);
    }
    let rejecting = report(&config, "random");
    config.defences.backpressure = Backpressure::Block;
    let blocking = report(&config, "random");
    assert!(rejecting.requests.rejected > 100, "{}", rejecting.requests.rejected);
    assert_eq!(blocking.requests.rejected, 0);
    assert!(blocking.attempts.blocked > 100);
    assert!(blocking.latency_ms.mean > rejecting.latency_ms.mean, "waiting shows in the latency");
}

#[test]
fn network_delay_adds_to_latency_twice() {
    let mut config = mm_config(4, 0.3, 20_000, 8);
    let base = report(&config, "least-loaded").latency_ms.mean;
    config.faults.network_delay = Some("const:5ms".parse().unwrap());
    let delayed = report(&config, "least-loaded").latency_ms.mean;
    assert!((delayed - base - 10.0).abs() < 0.5, "{base} -> {delayed}");
}
