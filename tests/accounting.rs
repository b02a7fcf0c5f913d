//! Numbers that add up (issue 20): the reports' time bases and what they count.

mod common;

use common::{mm_config, report};
use lbsim::dist::Dist;
use lbsim::engine::{Arrivals, Stop};
use lbsim::time::MILLIS;

/// A run stopped by a request count drains what is in flight after its last arrival; the
/// throughput counts answers per second of the window the arrivals define, not of the drain.
/// With slow service (the drain is long against the window) the two differ by far more than
/// the test's margin, and with no losses every request sent is answered: the throughput is
/// the arrival rate to within the Poisson noise of the count.
#[test]
fn throughput_is_per_second_of_the_arrivals_window() {
    let mut c = mm_config(100, 0.5, 2_000, 7);
    // 100 workers at half load: 50,000/s for 2,000 requests (about 40 ms), 20 ms service.
    c.service = Dist::Exp { mean: 20 * MILLIS };
    c.arrivals = Arrivals::Poisson { rate: 2_500.0 };
    c.warmup = 0;
    let r = report(&c, "round-robin");
    assert_eq!(r.requests.completed, 2_000, "nothing is lost: {:?}", r.requests);
    assert!(r.arrivals_window_s < r.measured_time_s, "the drain is not in the window: {r:?}");
    let expected = r.requests.completed as f64 / r.arrivals_window_s;
    assert!((r.throughput_rps - expected).abs() < 1e-9, "{} against {expected}", r.throughput_rps);
    // 2,000 Poisson arrivals: the window is known to about 1/sqrt(2000) = 2.2%; 4 sigma.
    let rel = (r.throughput_rps / 2_500.0 - 1.0).abs();
    assert!(rel < 0.09, "throughput {} against the arrival rate 2500/s", r.throughput_rps);
    assert_eq!(r.goodput_rps, r.throughput_rps);
}

/// A run of fixed length measures over its configured window, whatever the engine's clock.
#[test]
fn a_timed_run_measures_over_its_duration() {
    let mut c = mm_config(4, 0.5, 0, 3);
    c.stop = Stop::Duration(2_000 * MILLIS);
    c.warmup = 500 * MILLIS;
    let r = report(&c, "round-robin");
    assert!((r.arrivals_window_s - 2.0).abs() < 1e-9, "{}", r.arrivals_window_s);
}

/// Reports of the model's slow-worker lesson cut at 17 s, when round-robin has more than 1%
/// of its requests stuck behind the slow worker.
fn slow_worker_at_17s(strategies: &[&str]) -> Vec<lbsim::report::Report> {
    let scenario = lbsim::scenario::builtin::find("slow-worker").unwrap().scenario().unwrap();
    let mut c = scenario.to_config().unwrap();
    c.stop = Stop::Duration(17_000 * MILLIS);
    strategies.iter().map(|s| report(&c, s)).collect()
}

/// The compare table counts the requests still in flight at the end: a column, a verdict
/// that says the p99 leaves them out when they are a meaningful share, and one line per
/// strategy whose counts visibly add up to those sent.
#[test]
fn the_compare_table_counts_requests_in_flight_at_the_end() {
    let reports = slow_worker_at_17s(&["round-robin", "least-loaded"]);
    let stuck = &reports[0].requests;
    assert!(stuck.in_flight * 100 > stuck.sent, "the setting has stuck requests: {stuck:?}");
    let table = lbsim::report::compare_table(&reports);
    let header = table.lines().find(|l| l.starts_with("strategy")).unwrap();
    assert!(header.ends_with("in flight"), "{table}");
    let verdict: String =
        table.lines().skip_while(|l| !l.contains("leads on p99")).collect::<Vec<_>>().join(" ");
    assert!(
        verdict.contains("still in flight at the end")
            && verdict.contains(&format!("round-robin {}", stuck.in_flight)),
        "{table}"
    );
    for r in &reports {
        let c = &r.requests;
        let line = format!(
            "{} = {} + {} + {} + {} + {} + {}",
            c.sent, c.completed, c.rejected, c.failed, c.timed_out, c.cancelled, c.in_flight
        );
        assert!(c.is_conserved() && table.contains(&line), "{line} missing:\n{table}");
    }
}

/// Lesson 17 (timeouts and cancellation): retries without a per-try timeout could never fire
/// (nothing fails short of the request's deadline, which ends the request): the flag is
/// refused with the reason, and so is the UI's `t` (the command), in either engine.
#[test]
fn retries_that_could_never_fire_are_refused_with_the_reason() {
    for engine in ["sim", "live"] {
        common::assert_input_error(
            &["run", "--scenario", "timeouts-and-cancellation", "--engine", engine, "--retries", "3"],
            "retries would never fire",
        );
    }
    let scenario = lbsim::scenario::builtin::find("timeouts-and-cancellation").unwrap().scenario().unwrap();
    let config = scenario.to_config().unwrap();
    let on = lbsim::engine::Command::SetRetry(Some(Default::default()));
    let err = on.check(&config, 8).unwrap_err().to_string();
    assert!(err.contains("per-try timeout"), "{err}");
    // With a per-try timeout they can fire, and are accepted.
    let policy = lbsim::engine::RetryPolicy { per_try_timeout: Some(15 * MILLIS), ..Default::default() };
    assert!(lbsim::engine::Command::SetRetry(Some(policy)).check(&config, 8).is_ok());
}

/// Whether retries can fire is judged by the faults in force, not only the scenario's: after
/// `e` gives a worker errors, or `k` crashes one, `t` turns retries on in lesson 17, and they
/// fire (issue 20: the refusal looked at the configuration only).
#[test]
fn retries_refused_for_lack_of_faults_are_accepted_once_a_fault_is_injected() {
    use lbsim::engine::Command;
    let scenario = lbsim::scenario::builtin::find("timeouts-and-cancellation").unwrap().scenario().unwrap();
    let config = scenario.to_config().unwrap();
    let retries = || Command::SetRetry(Some(Default::default()));
    let faults = [
        ("errors", Command::SetWorkerErrorRate { worker: 0, rate: 0.5 }),
        ("a crash", Command::SetWorkerUp { worker: 0, up: false }),
    ];
    for (fault, command) in faults {
        let strategy = lbsim::strategy::build("round-robin", &config.strategy_params).unwrap();
        let mut sim = lbsim::engine::Sim::new(config.clone(), strategy).unwrap();
        // The lesson's run lasts 5 s.
        sim.step_until(lbsim::time::SECS);
        assert!(sim.apply(retries()).is_err(), "no fault yet: retries could never fire");
        sim.apply(command).unwrap();
        sim.apply(retries()).unwrap_or_else(|e| panic!("after {fault}: {e}"));
        sim.step_until(2 * lbsim::time::SECS);
        // Attempts sent to a failing worker fail and are retried; a crashed one loses what it
        // held when it crashed (before `t`), and the next crash's losses are retried.
        if fault == "a crash" {
            sim.apply(Command::SetWorkerUp { worker: 0, up: true }).unwrap();
            sim.step_until(3 * lbsim::time::SECS);
            sim.apply(Command::SetWorkerUp { worker: 0, up: false }).unwrap();
            sim.step_until(4 * lbsim::time::SECS);
        }
        assert!(sim.metrics().attempts.retries > 0, "after {fault} retries fire");
    }
}
