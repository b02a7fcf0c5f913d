//! `--timeline`: the run over time. A case worked out by hand, the intervals adding up to the
//! run's totals in both engines, a timeline that changes nothing else, and the command line.

mod common;

use std::time::Duration;

use common::lbsim;

use lbsim::dist::Dist;
use lbsim::engine::{Arrivals, Sim, SimConfig, Stop, WorkerSpec};
use lbsim::engines::Engine;
use lbsim::live::Live;
use lbsim::report::Report;
use lbsim::report::timeline::TimelineReport;
use lbsim::scenario::Scenario;
use lbsim::scenario::builtin::BUILTINS;
use lbsim::strategy;
use lbsim::time::{MILLIS, SECS};

fn simulate(config: &SimConfig, strategy: &str) -> Report {
    let s = strategy::build(strategy, &config.strategy_params).unwrap();
    let mut sim = Sim::new(config.clone(), s).unwrap();
    sim.run();
    Report::new(&sim, "t", 0.0)
}

/// Checks that the intervals tile the measured window and add up to the totals, and that
/// their pending counts average to the per-worker figures of the report.
fn assert_adds_up(r: &Report) {
    let t = r.timeline.as_ref().expect("a timeline");
    let sum = |f: fn(&lbsim::report::timeline::IntervalReport) -> u64| t.intervals.iter().map(f).sum::<u64>();
    let c = &r.requests;
    assert_eq!(sum(|i| i.sent), c.sent, "sent");
    assert_eq!(sum(|i| i.completed), c.completed, "completed");
    assert_eq!(sum(|i| i.failed), c.failed, "failed");
    assert_eq!(sum(|i| i.rejected), c.rejected, "rejected");
    assert_eq!(sum(|i| i.timed_out), c.timed_out, "timed out");
    assert_eq!(sum(|i| i.cancelled), c.cancelled, "cancelled");
    let start = r.sim_time_s - r.measured_time_s;
    assert!((t.intervals[0].start_s - start).abs() < 1e-9, "{} vs {start}", t.intervals[0].start_s);
    for pair in t.intervals.windows(2) {
        assert_eq!(pair[0].end_s, pair[1].start_s);
    }
    assert!((t.intervals.last().unwrap().end_s - r.sim_time_s).abs() < 1e-9);
    for w in &r.workers {
        let area: f64 = t
            .intervals
            .iter()
            .map(|i| i.mean_pending.get(w.id).copied().unwrap_or(0.0) * (i.end_s - i.start_s))
            .sum();
        let mean = area / r.measured_time_s;
        assert!(
            (mean - w.mean_pending).abs() <= 1e-6 * w.mean_pending.max(1.0),
            "worker {}: {mean} vs {}",
            w.id,
            w.mean_pending
        );
    }
}

/// An interval's start, end, sent, completed, p50, p99 and worker 0's mean pending.
type Row = (f64, f64, u64, u64, Option<f64>, Option<f64>, f64);

/// One worker, a request every 250 ms from 250 ms, each 100 ms of work; 2 s in intervals of
/// 500 ms, each `(start, end]`. By hand: arrivals at 0.25, 0.5, 0.75, ... 2.0 s (the last at
/// the very end, so still in flight), each answered 100 ms later with no queueing. The
/// intervals see 2 requests sent each, 1, 2, 2, 2 completed, all at 100 ms, and the worker
/// busy 0.1, 0.2, 0.2 and 0.2 s of their 0.5 s: mean pending 0.2, 0.4, 0.4, 0.4.
#[test]
fn a_case_worked_out_by_hand() {
    let mut config = SimConfig::new(
        vec![WorkerSpec::default()],
        Arrivals::Constant { rate: 4.0 },
        Dist::Const(100 * MILLIS),
    );
    config.stop = Stop::Duration(2 * SECS);
    config.timeline = Some(500 * MILLIS);
    let r = simulate(&config, "round-robin");
    let t = r.timeline.as_ref().unwrap();
    assert_eq!(t.interval_s, 0.5);
    let rows: Vec<Row> = t
        .intervals
        .iter()
        .map(|i| (i.start_s, i.end_s, i.sent, i.completed, i.p50_ms, i.p99_ms, i.mean_pending[0]))
        .collect();
    let ms100 = Some(100.0);
    assert_eq!(
        rows,
        vec![
            (0.0, 0.5, 2, 1, ms100, ms100, 0.2),
            (0.5, 1.0, 2, 2, ms100, ms100, 0.4),
            (1.0, 1.5, 2, 2, ms100, ms100, 0.4),
            (1.5, 2.0, 2, 2, ms100, ms100, 0.4),
        ]
    );
    assert_eq!((r.requests.sent, r.requests.in_flight), (8, 1));
    assert_adds_up(&r);
}

/// A queue builds: requests every 100 ms from 100 ms need 150 ms each, for 1 s in intervals of
/// 500 ms. Request k arrives at 0.1k s and ends at 0.1 + 0.15k s, a latency of 0.1 + 0.05k s.
/// In (0, 0.5]: k = 1 to 5 sent, k = 1, 2 done (150, 200 ms); in (0.5, 1]: k = 6 to 10 sent,
/// k = 3 to 6 done (250 to 400 ms; k = 6 at exactly 1 s, before the arrival at that instant).
#[test]
fn a_queue_worked_out_by_hand() {
    let mut config = SimConfig::new(
        vec![WorkerSpec::default()],
        Arrivals::Constant { rate: 10.0 },
        Dist::Const(150 * MILLIS),
    );
    config.stop = Stop::Duration(SECS);
    config.timeline = Some(500 * MILLIS);
    let r = simulate(&config, "round-robin");
    let t = r.timeline.as_ref().unwrap();
    assert_eq!(t.intervals.len(), 2);
    let (a, b) = (&t.intervals[0], &t.intervals[1]);
    assert_eq!((a.sent, a.completed, b.sent, b.completed), (5, 2, 5, 4));
    // Percentiles to the histograms' 3 significant digits (p99 is the exact maximum).
    let close = |x: Option<f64>, y: f64| (x.unwrap() / y - 1.0).abs() < 1e-3;
    assert!(close(a.p50_ms, 150.0) && a.p99_ms == Some(200.0) && a.mean_ms == Some(175.0), "{a:?}");
    assert!(close(b.p50_ms, 300.0) && b.p99_ms == Some(400.0) && b.mean_ms == Some(325.0), "{b:?}");
    // Pending over [0, 0.5]: 1 from 0.1 to 0.2, 2 to 0.25, 1 to 0.3, 2 to 0.4, and 2 (one ended,
    // one came) to 0.5: 0.1 + 0.1 + 0.05 + 0.2 + 0.2 = 0.65 request-seconds in 0.5 s.
    assert!((a.mean_pending[0] - 1.3).abs() < 1e-9, "{}", a.mean_pending[0]);
    assert_adds_up(&r);
}

/// Every built-in scenario (faults, retries, timeouts, autoscaling included) with a timeline:
/// the intervals add up, and the run is otherwise the same bits as without one.
#[test]
fn intervals_add_up_and_change_nothing_else() {
    for b in BUILTINS {
        let mut config = b.scenario().unwrap().to_config().unwrap();
        config.stop = Stop::Duration(20 * SECS);
        let plain = simulate(&config, "power-of-two");
        config.timeline = Some(SECS);
        let timed = simulate(&config, "power-of-two");
        assert_adds_up(&timed);
        let intervals = timed.timeline.as_ref().unwrap().intervals.len();
        assert!((20..=21).contains(&intervals), "{}: {intervals} intervals", b.name);
        assert_eq!(Report { timeline: None, ..timed }, plain, "{}: the timeline changed the run", b.name);
    }
}

/// The report of a run stopped half way (as when the UI quits) covers the time until then.
#[test]
fn a_run_stopped_early_reports_the_time_until_then() {
    let mut config = BUILTINS[0].scenario().unwrap().to_config().unwrap();
    config.timeline = Some(SECS);
    let s = strategy::build("least-loaded", &config.strategy_params).unwrap();
    let mut sim = Sim::new(config, s).unwrap();
    sim.step_until(12_500 * MILLIS); // 7.5 s after the 5 s warm-up
    let r = Report::new(&sim, "t", 0.0);
    let t: &TimelineReport = r.timeline.as_ref().unwrap();
    assert_eq!(t.intervals.len(), 8);
    assert_eq!((t.intervals[0].start_s, t.intervals[7].end_s), (5.0, 12.5));
    assert_adds_up(&r);
}

/// The live engine fills the same timeline from what its tasks report.
#[test]
fn the_live_engine_keeps_a_timeline_too() {
    let text = r#"
        service = "exp:10ms"
        [arrivals]
        load = 0.5
        [[workers]]
        count = 4
        [run]
        duration = "1.5s"
        [live]
        time_scale = 2
        threads = 2
    "#;
    let mut scenario = Scenario::parse(text, "live-timeline").unwrap();
    scenario.timeline = Some(250 * MILLIS);
    let config = scenario.to_config().unwrap();
    let s = strategy::build("least-loaded", &config.strategy_params).unwrap();
    let mut run = Live::new(config, s, scenario.live.clone()).unwrap();
    run.begin().unwrap();
    while !run.wait(Duration::from_millis(200)) {}
    let r = Report::new(&run, "t", 0.0);
    let t = r.timeline.as_ref().unwrap();
    let sent: u64 = t.intervals.iter().map(|i| i.sent).sum();
    let completed: u64 = t.intervals.iter().map(|i| i.completed).sum();
    assert_eq!((sent, completed), (r.requests.sent, r.requests.completed));
    assert!(r.requests.sent > 100, "{}", r.requests.sent);
    assert!(t.intervals.len() >= 6, "{} intervals", t.intervals.len());
    // Every full interval saw work and its workers busy.
    for i in &t.intervals[..5] {
        assert!(i.completed > 0 && i.mean_pending.iter().sum::<f64>() > 0.0, "{i:?}");
    }
    assert_eq!(run.metrics().counters.unanswered(), 0);
}

#[test]
fn the_command_line_adds_the_timeline_to_json_and_writes_csv() {
    let dir = std::env::temp_dir().join(format!("lbsim-timeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("t.csv");
    let o = lbsim(&[
        "compare",
        "--headless",
        "--strategies",
        "random,least-loaded",
        "--duration",
        "5s",
        "--timeline",
        "500ms",
        "--timeline-csv",
        csv.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let runs = json["runs"].as_array().unwrap();
    for run in runs {
        let t = &run["timeline"];
        assert_eq!(t["interval_s"], 0.5);
        let intervals = t["intervals"].as_array().unwrap();
        assert_eq!(intervals.len(), 10);
        for key in
            ["start_s", "end_s", "sent", "completed", "failed", "rejected", "timed_out", "p50_ms", "p99_ms"]
        {
            assert!(intervals[3].get(key).is_some(), "no {key}");
        }
        assert_eq!(intervals[3]["mean_pending"].as_array().unwrap().len(), 8);
    }
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 2 * 10);
    assert!(lines[0].starts_with("strategy,start_s,end_s,sent,completed,failed"), "{}", lines[0]);
    assert!(lines[0].ends_with(",pending_w7"), "{}", lines[0]);
    // The default scenario's warm-up is 5 s.
    assert!(lines[1].starts_with("random,5,5.5,") && lines[11].starts_with("least-loaded,5,5.5,"));
    std::fs::remove_dir_all(&dir).unwrap();

    // Without the flag, no `timeline` key: the JSON is as it was.
    let o = lbsim(&["run", "--headless", "--requests", "1000", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(json.get("timeline").is_none());
}

#[test]
fn bad_timelines_get_one_line() {
    for (args, words) in [
        (&["run", "--headless", "--timeline", "0s"][..], "must be longer than 0"),
        (&["run", "--headless", "--timeline", "1ns", "--duration", "60s"][..], "--timeline: 1ns gives about"),
        (&["sweep", "--loads", "0.5", "--timeline", "1s"][..], "not sweep"),
        (&["run", "--replications", "3", "--timeline", "1s"][..], "not --replications"),
    ] {
        let o = lbsim(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(words), "{args:?}: {err}");
    }
}
