//! The concurrency track's lessons (14 to 18): each claim (the `# Claim:` line of its scenario)
//! checked against the live engine, as tokio tasks in real time.
//!
//! Their claims are measured in real time, so they have this test binary to themselves
//! (`cargo test` runs the binaries one after another) and run one at a time
//! ([`common::one_at_a_time`]), not beside the CPU-heavy lessons of tests/lessons.rs.

mod common;

use std::time::Duration;

use common::report;
use lbsim::engine::{Backpressure, Stop};
use lbsim::engines::Engine;
use lbsim::live::{Live, Work};
use lbsim::report::Report;
use lbsim::scenario::Scenario;
use lbsim::scenario::builtin;
use lbsim::time::SECS;

/// Each lesson on the live engine with the test of its claim.
const LESSONS: &[(&str, fn())] = &[
    ("select-loop", select_loop),
    ("backpressure", backpressure),
    ("blocking-the-runtime", blocking_the_runtime),
    ("timeouts-and-cancellation", timeouts_and_cancellation),
    ("graceful-shutdown", graceful_shutdown),
];

#[test]
fn every_lesson_on_the_live_engine_has_a_checked_claim_in_course_order() {
    let checked: Vec<&str> = LESSONS.iter().map(|(name, _)| *name).collect();
    assert_eq!(common::lessons(true), checked);
}

/// A lesson scenario run live, as its file says, after `change`; started, not waited for.
fn start_live(name: &str, change: impl FnOnce(&mut Scenario)) -> Live {
    let mut s = builtin::find(name).unwrap().scenario().unwrap();
    change(&mut s);
    let config = s.to_config().unwrap();
    let strategy = lbsim::strategy::build(&s.strategy, &config.strategy_params).unwrap();
    let mut live = Live::new(config, strategy, s.live.clone()).unwrap();
    live.begin().unwrap();
    live
}

/// Runs a lesson live to its end.
fn live(name: &str, change: impl FnOnce(&mut Scenario)) -> Report {
    let mut run = start_live(name, change);
    while !run.wait(Duration::from_secs(1)) {}
    Report::new(&run, name, 0.0)
}

/// At 60% load, the live run's mean latency is within 10% of the model's (the same
/// requests; 3,000 of them here to keep the suite short).
fn select_loop() {
    let fewer = |s: &mut Scenario| s.stop = Stop::Requests(3_000);
    let mut s = builtin::find("select-loop").unwrap().scenario().unwrap();
    fewer(&mut s);
    let model = report(&s.to_config().unwrap(), "least-loaded");
    let live = live("select-loop", fewer);
    let (m, l) = (model.latency_ms.mean, live.latency_ms.mean);
    assert!((l / m - 1.0).abs() < 0.10, "live mean {l:.2} ms, model {m:.2} ms");
}

/// Blocking rejects nothing and fills the balancer's inbox (1024) to its bound; rejecting
/// turns requests away and keeps p99 under a quarter of blocking's. (Quiet, rejecting's p99 is
/// about 50 ms, five services, and blocking's over a second; on a loaded 2-core machine,
/// beside the spinning lesson 16, rejecting's rose to 124 ms, so a tenth was too close.)
fn backpressure() {
    let shorter = |s: &mut Scenario| {
        s.stop = Stop::Duration(2 * SECS);
        s.live.grace = Duration::from_millis(500);
    };
    let block = live("backpressure", shorter);
    assert_eq!(block.requests.rejected, 0, "{:?}", block.requests);
    assert_eq!(block.live.as_ref().unwrap().balancer_queue_max, 1024);
    let reject = live("backpressure", |s| {
        shorter(s);
        s.defences.backpressure = Backpressure::Reject;
    });
    assert!(reject.requests.rejected > 0, "{:?}", reject.requests);
    assert!(
        reject.latency_ms.p99 * 4.0 < block.latency_ms.p99,
        "{} vs {}",
        reject.latency_ms.p99,
        block.latency_ms.p99
    );
}

/// On 2 threads, spin's mean latency is at least 5x blocking's, and its goodput (answers
/// per second of the run) is lower: the same requests take longer to answer.
fn blocking_the_runtime() {
    let spin = live("blocking-the-runtime", |_| {});
    let blocking = live("blocking-the-runtime", |s| s.live.work = Work::Blocking);
    let (s, b) = (spin.latency_ms.mean, blocking.latency_ms.mean);
    assert!(s > 5.0 * b, "spin {s:.1} ms, blocking {b:.1} ms");
    // Answers per second of the whole run, its drain included: goodput_rps is per second of
    // the arrivals window, and both runs answer every request in the end.
    let per_run = |r: &Report| r.requests.completed as f64 / r.measured_time_s;
    assert!(per_run(&spin) < per_run(&blocking), "{} vs {}", per_run(&spin), per_run(&blocking));
}

/// Cancelling abandoned work cuts the wasted work by at least half. (Over the whole 5 s:
/// the queues behind abandoned work build up over the run, and that is the lesson.)
fn timeouts_and_cancellation() {
    let waste = live("timeouts-and-cancellation", |_| {}).attempts.wasted_work_s;
    let cancelled = live("timeouts-and-cancellation", |s| s.live.cancel_abandoned = true);
    let kept = cancelled.attempts.wasted_work_s;
    assert!(waste > 0.0 && kept < waste / 2.0, "wasted {waste:.2}s without cancelling, {kept:.2}s with");
}

/// Stopping mid-run with a 2 s grace completes every request sent and leaves no task behind;
/// with no grace, every request is still either completed or cancelled.
fn graceful_shutdown() {
    for grace in [Duration::from_secs(2), Duration::ZERO] {
        let mut run = start_live("graceful-shutdown", |s| s.live.grace = grace);
        while run.now() < SECS {
            run.wait(Duration::from_millis(50));
        }
        run.stop();
        let c = run.metrics().counters;
        assert!(c.sent > 0 && c.in_flight == 0 && c.is_conserved(), "{c:?}");
        assert_eq!(c.completed + c.cancelled, c.sent, "{c:?}");
        if !grace.is_zero() {
            assert_eq!(c.cancelled, 0, "{c:?}");
        }
        assert_eq!(run.live_figures().unwrap().tasks_left_at_shutdown, 0);
    }
}

#[test]
fn lesson_14_select_loop() {
    let _serial = common::one_at_a_time();
    select_loop()
}
#[test]
fn lesson_15_backpressure() {
    let _serial = common::one_at_a_time();
    backpressure()
}
#[test]
fn lesson_16_blocking_the_runtime() {
    let _serial = common::one_at_a_time();
    blocking_the_runtime()
}
#[test]
fn lesson_17_timeouts_and_cancellation() {
    let _serial = common::one_at_a_time();
    timeouts_and_cancellation()
}
#[test]
fn lesson_18_graceful_shutdown() {
    let _serial = common::one_at_a_time();
    graceful_shutdown()
}

/// Lesson 16's key moment on screen: under `spin` the header says how late the runtime's
/// timers run, at 80x24 and 140x40 (issue 20: the "clock stutter" never showed).
#[test]
fn lesson_16_the_header_shows_the_stutter() {
    let _serial = common::one_at_a_time();
    use lbsim::engines::EngineKind;
    use lbsim::playground::{Mode, Playground};
    let scenario = builtin::find("blocking-the-runtime").unwrap().scenario().unwrap();
    let play = Playground::new(&scenario, &["least-loaded".to_string()], EngineKind::Live).unwrap();
    let mut app = lbsim::tui::App::over(play, Mode::Run);
    let started = std::time::Instant::now();
    // Await the first measured lateness rather than sleeping a fixed time.
    let late = |app: &lbsim::tui::App| {
        app.play.panes()[0]
            .sim
            .live_figures()
            .is_some_and(|f| f.lateness_samples > 100 && f.lateness_p99_ms > 5.0)
    };
    while !late(&app) && started.elapsed() < Duration::from_secs(60) && !app.play.finished() {
        app.advance(Duration::from_millis(100), Duration::from_millis(20));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(late(&app), "no lateness measured in {:?}", started.elapsed());
    for (w, h) in [(80, 24), (140, 40)] {
        let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
        t.draw(|f| f.render_widget(&app, f.area())).unwrap();
        let text = t.backend().to_string();
        let header: Vec<&str> = text.lines().take(3).collect();
        assert!(header.iter().any(|l| l.contains("ms late (p99)")), "{w}x{h}: {header:#?}");
    }
    app.play.stop();
}
