use super::*;
use crate::strategy;
use crate::time::{MILLIS, SECS};

fn sim(stop: Stop) -> Sim {
    let mut config = SimConfig::new(
        vec![WorkerSpec::default(); 3],
        Arrivals::Poisson { rate: 200.0 },
        "exp:10ms".parse().unwrap(),
    );
    config.stop = stop;
    Sim::new(config, strategy::build("least-loaded", &Default::default()).unwrap()).unwrap()
}

#[test]
fn bounded_stepping_reaches_the_same_state_as_unbounded() {
    let mut a = sim(Stop::Duration(5 * SECS));
    let mut b = sim(Stop::Duration(5 * SECS));
    a.step_until(2 * SECS);
    let mut calls = 0;
    while !b.step_until_bounded(2 * SECS, 10) {
        calls += 1;
        assert!(b.now() <= 2 * SECS);
    }
    assert!(calls > 10, "the budget was not applied");
    assert_eq!(a.snapshot(), b.snapshot());
    assert_eq!(a.now(), 2 * SECS);
}

#[test]
fn duration_runs_end_at_the_end_and_step_says_so() {
    let mut s = sim(Stop::Duration(SECS));
    s.step_until(10 * SECS);
    assert!(s.is_finished());
    assert_eq!(s.now(), SECS);
    assert_eq!(s.step(), None);
    let snap = s.snapshot();
    assert!(snap.finished && snap.counters.sent > 100 && snap.counters.is_conserved());
}

#[test]
fn killing_a_worker_fails_its_requests_and_the_balancer_avoids_it() {
    let mut s = sim(Stop::Duration(10 * SECS));
    s.step_until(SECS);
    let held = s.snapshot().workers[1].pending as u64;
    let failed_before = s.metrics().counters.failed;
    s.apply(Command::SetWorkerUp { worker: 1, up: false }).unwrap();
    assert_eq!(s.metrics().counters.failed - failed_before, held);
    let completed_by_1 = s.snapshot().workers[1].completed;
    s.step_until(3 * SECS);
    let snap = s.snapshot();
    assert!(!snap.workers[1].up);
    assert_eq!((snap.workers[1].pending, snap.workers[1].completed), (0, completed_by_1));
    s.apply(Command::SetWorkerUp { worker: 1, up: true }).unwrap();
    s.step_until(5 * SECS);
    assert!(s.snapshot().workers[1].completed > completed_by_1);
    assert_eq!(s.apply(Command::SetWorkerUp { worker: 9, up: false }), Err(CommandError::NoWorker(9)));
}

#[test]
fn rate_commands_change_the_arrival_rate() {
    let mut s = sim(Stop::Duration(20 * SECS));
    s.step_until(5 * SECS);
    let before = s.metrics().counters.sent;
    s.apply(Command::SetRate(20.0)).unwrap();
    s.step_until(15 * SECS);
    let sent = s.metrics().counters.sent - before;
    assert!((100..320).contains(&sent), "{sent} requests in 10 s at 20/s");
    assert_eq!(s.snapshot().arrival_rate, Some(20.0));
    assert!(matches!(s.apply(Command::SetRate(-1.0)), Err(CommandError::BadValue(_))));
}

#[test]
fn the_recent_window_follows_virtual_time() {
    let mut s = sim(Stop::Duration(20 * SECS));
    s.enable_recent_window(2 * SECS);
    s.step_until(10 * SECS);
    let recent = s.metrics().recent.as_ref().unwrap().merged(s.now());
    // About 200/s over 2 to 2.5 seconds.
    assert!((330..560).contains(&recent.count()), "{}", recent.count());
    assert!(recent.mean() > MILLIS as f64);
}

#[test]
fn the_recent_window_counts_only_the_requests_the_totals_count() {
    let mut config = SimConfig::new(
        vec![WorkerSpec::default(); 1],
        Arrivals::Poisson { rate: 80.0 },
        "exp:10ms".parse().unwrap(),
    );
    config.warmup = 3 * SECS;
    config.stop = Stop::Duration(20 * SECS);
    let mut s = Sim::new(config, strategy::build("random", &Default::default()).unwrap()).unwrap();
    s.enable_recent_window(2 * SECS);
    s.step_until(2900 * MILLIS);
    assert_eq!(
        s.metrics().recent.as_ref().unwrap().merged(s.now()).count(),
        0,
        "the warm-up is not measured"
    );
    s.step_until(4 * SECS);
    let recent = s.metrics().recent.as_ref().unwrap().merged(s.now());
    assert!(recent.count() > 0);
    assert!(recent.max() <= s.metrics().latency.max(), "a window cannot exceed the whole run");
    assert!(recent.count() <= s.metrics().latency.count());
}

fn overloaded(cap: u64, retry: Option<RetryPolicy>, load: f64) -> Sim {
    let mut config = SimConfig::new(
        vec![WorkerSpec::default(); 2],
        Arrivals::Poisson { rate: load * 200.0 },
        "exp:10ms".parse().unwrap(),
    );
    config.stop = Stop::Duration(3_600 * SECS);
    config.defences.max_in_flight = Some(cap);
    config.defences.retry = retry;
    Sim::new(config, strategy::build("round-robin", &Default::default()).unwrap()).unwrap()
}

#[test]
fn overload_stops_at_the_in_flight_cap_and_says_why() {
    let mut s = overloaded(5_000, None, 3.0);
    s.run();
    let snap = s.snapshot();
    let Some(StopReason::InFlightCap { limit, at }) = s.stop_reason() else {
        panic!("no stop reason: {:?}", s.stop_reason())
    };
    assert_eq!((limit, at), (5_000, s.now()));
    // Stopped where it was, not at the end of the hour, and everyone can see it.
    assert!(snap.finished && s.now() < 3_600 * SECS && snap.stop_reason == s.stop_reason());
    assert_eq!(s.in_flight_load(), 5_001);
    assert!(snap.counters.is_conserved() && snap.counters.in_flight > 4_000);
    assert_eq!(s.step(), None);
    assert!(s.take_notices().iter().any(|n| n.text.contains("more than 5000")));
}

#[test]
fn abandoned_attempts_count_against_the_cap() {
    // Per-try timeouts far below the service time: every attempt is abandoned and retried
    // while it keeps its place in a queue, so attempts at workers pile up though each
    // request gives up within a few tries.
    let retry = RetryPolicy {
        max: 100,
        backoff: MILLIS,
        max_backoff: 10 * MILLIS,
        per_try_timeout: Some(2 * MILLIS),
        budget: None,
    };
    let mut s = overloaded(20_000, Some(retry), 0.95);
    s.run();
    assert!(matches!(s.stop_reason(), Some(StopReason::InFlightCap { .. })));
    assert!(s.requests_in_system() < 20_000, "the requests alone stay under the cap");
    assert_eq!(s.in_flight_load(), 20_001);
}

#[test]
fn a_run_within_the_cap_has_no_stop_reason() {
    let mut s = overloaded(1_000_000, None, 0.5);
    s.step_until(60 * SECS);
    assert_eq!(s.stop_reason(), None);
    assert_eq!(s.snapshot().stop_reason, None);
}

#[test]
fn requests_and_attempts_stay_small() {
    // An attempt in one 64-byte cache line, a request in 48 bytes: replicas and keys must not
    // cost the single balancer's hot path (keys live beside the slab).
    assert!(std::mem::size_of::<Attempt>() <= 64, "{}", std::mem::size_of::<Attempt>());
    assert!(std::mem::size_of::<Request>() <= 48, "{}", std::mem::size_of::<Request>());
}
