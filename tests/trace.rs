//! Traces and empirical service times: hand-made traces give exactly the latencies worked
//! out by hand, empirical samples match their data, bad files get one line naming file, line
//! and column, and the example trace is what its script makes.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{assert_input_error, lbsim, scratch};

use lbsim::dist::Dist;
use lbsim::engine::{Arrivals, Sim, SimConfig, StepKind, Stop, WorkerSpec};
use lbsim::engines::Engine;
use lbsim::live::Live;
use lbsim::report::Report;
use lbsim::rng::{SimRng, Stream};
use lbsim::scenario::Scenario;
use lbsim::strategy;
use lbsim::time::{MILLIS, Nanos};
use lbsim::trace::{Samples, Trace};

fn trace(csv: &str) -> Arc<Trace> {
    Arc::new(Trace::parse(csv.as_bytes(), "hand.csv").unwrap())
}

/// Every request's latency, in the order they completed, one worker.
fn latencies(trace: Arc<Trace>, scale: f64) -> Vec<Nanos> {
    let config =
        SimConfig::new(vec![WorkerSpec::default()], Arrivals::Trace { trace, scale }, Dist::Const(MILLIS));
    let mut sim = Sim::new(config, strategy::build("round-robin", &Default::default()).unwrap()).unwrap();
    let mut out = Vec::new();
    while let Some(step) = sim.step() {
        if let StepKind::Completion { latency, .. } = step.kind {
            out.push(latency);
        }
    }
    out
}

/// D/D/1: a request every 10 ms needing 4 ms each: no request waits, every latency is 4 ms.
#[test]
fn a_deterministic_trace_without_queueing() {
    let t = trace("time,demand\n0,4ms\n0.010,4ms\n0.020,4ms\n0.030,4ms\n");
    assert_eq!(latencies(t, 1.0), vec![4 * MILLIS; 4]);
}

/// Three requests 1 ms apart needing 4 ms each, then one after the queue has drained: each
/// of the three waits for those before it, 4, 4 + 3 = 7 and 7 + 3 = 10 ms; the fourth, at
/// 20 ms, finds the worker idle (it freed at 12 ms): 2 ms.
#[test]
fn a_trace_that_queues() {
    let t = trace("time,demand\n0,4ms\n1ms,4ms\n0.002,4ms\n20ms,2ms\n");
    assert_eq!(latencies(t.clone(), 1.0), vec![4 * MILLIS, 7 * MILLIS, 10 * MILLIS, 2 * MILLIS]);
    // At time scale 2 the gaps double (2 ms): 4, 6 and 8 ms; the demands stay.
    assert_eq!(latencies(t, 2.0), vec![4 * MILLIS, 6 * MILLIS, 8 * MILLIS, 2 * MILLIS]);
}

/// Without a `demand` column, demands come from the service distribution (1 ms here).
#[test]
fn a_trace_without_demands_draws_them() {
    assert_eq!(latencies(trace("time\n0\n0\n"), 1.0), vec![MILLIS, 2 * MILLIS]);
}

/// Samples drawn from an empirical distribution have the data's mean and quantiles within
/// their sampling error, and come from the service stream (the same seed, the same draws).
#[test]
fn empirical_samples_match_their_data() {
    // 2,000 durations from 1 ms with a long tail: value k is 1 ms x (1 + k^2 / 40,000).
    let mut data: Vec<Nanos> = (0..2_000u64).map(|k| MILLIS + MILLIS * k * k / 40_000).collect();
    let csv: String = std::iter::once("latency".to_string())
        .chain(data.iter().map(|v| format!("{v}ns")))
        .collect::<Vec<_>>()
        .join("\n");
    let samples = Samples::parse(csv.as_bytes(), "l.csv").unwrap();
    data.sort_unstable();
    let dist = Dist::Empirical(Arc::new(samples));
    let n = 400_000;
    let mut rng = SimRng::stream(3, Stream::Service);
    let mut drawn: Vec<Nanos> = (0..n).map(|_| dist.sample(&mut rng)).collect();
    let mean = drawn.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
    let data_mean = data.iter().map(|&x| x as f64).sum::<f64>() / data.len() as f64;
    // The data's standard deviation is about 0.9 of its mean (34 ms against 34.3 ms): over
    // 400,000 draws the standard error of the mean is 0.15%; the interpolated distribution's
    // own mean differs from the data's by (first + last) / 2 / (n - 1), under 0.1%.
    assert!((mean / data_mean - 1.0).abs() < 0.006, "mean {mean} against the data's {data_mean}");
    drawn.sort_unstable();
    for q in [0.1, 0.5, 0.9, 0.99] {
        let of_data = data[(q * (data.len() - 1) as f64).round() as usize] as f64;
        let of_draws = drawn[(q * (n - 1) as f64) as usize] as f64;
        assert!((of_draws / of_data - 1.0).abs() < 0.01, "q{q}: {of_draws} against {of_data}");
    }
    assert!(*drawn.first().unwrap() >= data[0] && *drawn.last().unwrap() <= data[data.len() - 1]);
    let mut again = SimRng::stream(3, Stream::Service);
    let first: Vec<Nanos> = (0..5).map(|_| dist.sample(&mut again)).collect();
    let mut rng = SimRng::stream(3, Stream::Service);
    assert_eq!(first, (0..5).map(|_| dist.sample(&mut rng)).collect::<Vec<_>>());
}

/// Scenarios name traces relative to themselves; bad trace files get one line each, naming the
/// trace file, the line and the column.
#[test]
fn bad_trace_files_get_one_line_each() {
    let dir = scratch("bad");
    let scenario = |trace: &str| {
        dir.file(
            &format!("{trace}.toml"),
            format!("[arrivals]\nkind = \"trace\"\nfile = \"{trace}\"\n[run]\nrequests = 10\n").as_bytes(),
        )
    };
    let path = |name: &str| dir.0.join(name).display().to_string();
    let cases: &[(&str, &[u8], String)] = &[
        ("empty.csv", b"", format!("{}: is empty", path("empty.csv"))),
        ("header-only.csv", b"time,demand\n", format!("{}: has no requests", path("header-only.csv"))),
        (
            "back.csv",
            b"time\n0.5\n0.2\n",
            format!("{}:3:1: time 200ms is before the previous line's 500ms", path("back.csv")),
        ),
        (
            "negative.csv",
            b"time,demand\n0,-4ms\n",
            format!("{}:2:3: `demand`: `-4ms` is negative", path("negative.csv")),
        ),
        (
            "columns.csv",
            b"when,demand\n0,1ms\n",
            format!("{}:1:1: unknown column `when`", path("columns.csv")),
        ),
        (
            "short.csv",
            b"time,demand\n0,1ms\n1\n",
            format!("{}:3:2: 1 values where the header has 2 columns", path("short.csv")),
        ),
        (
            "bad-value.csv",
            b"time\nsoon\n",
            format!("{}:2:1: `time`: `soon` is not a time", path("bad-value.csv")),
        ),
    ];
    for (name, bytes, words) in cases {
        dir.file(name, bytes);
        assert_input_error(&["check", &scenario(name)], words);
    }
    assert_input_error(
        &["check", &scenario("missing.csv")],
        &format!("{}: cannot read", path("missing.csv")),
    );
    // A directory is not a trace.
    std::fs::create_dir_all(dir.0.join("folder.csv")).unwrap();
    assert_input_error(&["check", &scenario("folder.csv")], "is not a regular file");
}

/// A gzip trace is read directly, through a scenario, and plays like the plain one.
#[test]
fn gzip_traces_play_like_plain_ones() {
    use std::io::Write;
    let dir = scratch("gzip");
    let text = b"time,demand\n0,4ms\n1ms,4ms\n0.002,4ms\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text).unwrap();
    dir.file("t.csv.gz", gz.finish().unwrap());
    dir.file("t.csv", text);
    let load = |file: &str| {
        let s = dir.file(
            &format!("{file}.toml"),
            format!("[arrivals]\nkind = \"trace\"\nfile = \"{file}\"\n").as_bytes(),
        );
        Scenario::load(Path::new(&s)).unwrap()
    };
    let (plain, gzip) = (load("t.csv"), load("t.csv.gz"));
    let run = |s: &Scenario| {
        let config = s.to_config().unwrap();
        let mut sim =
            Sim::new(config.clone(), strategy::build("least-loaded", &config.strategy_params).unwrap())
                .unwrap();
        sim.run();
        Report::new(&sim, "t", 0.0)
    };
    let (a, b) = (run(&plain), run(&gzip));
    assert_eq!((a.requests.completed, a.latency_ms.mean), (3, 4.0));
    assert_eq!(a.latency_ms, b.latency_ms);
}

/// A trace sets the rate: --rate and --load are refused with a line saying what to do
/// instead; --trace-scale replays it faster, and applies to traces only.
#[test]
fn the_command_line_and_traces() {
    for flag in [["--rate", "100"], ["--load", "0.5"]] {
        assert_input_error(
            &["run", "--headless", "--scenario", "real-traffic", flag[0], flag[1]],
            &format!(
                "{}: the arrivals come from the trace example-trace.csv, whose times set the rate; replay it faster or slower with --trace-scale",
                flag[0]
            ),
        );
    }
    assert_input_error(
        &["run", "--headless", "--trace-scale", "0.5"],
        "--trace-scale applies to trace arrivals",
    );
    assert_input_error(
        &["run", "--headless", "--scenario", "real-traffic", "--trace-scale", "0"],
        "--trace-scale",
    );
    let o = lbsim(&[
        "run",
        "--headless",
        "--scenario",
        "real-traffic",
        "--trace-scale",
        "0.5",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(json["arrivals"].as_str().unwrap().contains("time x0.5"), "{}", json["arrivals"]);
    // 10 s of trace at 136% load on average: its queues take some 4 s more to drain (at time
    // scale 1 the trace alone takes 20 s).
    assert!(json["sim_time_s"].as_f64().unwrap() < 16.0, "{}", json["sim_time_s"]);
    // The scenario file on disk finds its trace beside it, from any folder.
    let on_disk = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/real-traffic.toml");
    let o =
        Command::new(env!("CARGO_BIN_EXE_lbsim")).args(["check", on_disk]).current_dir("/").output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// --service empirical:FILE from the command line (relative to the working folder) and
/// `service = "empirical:FILE"` in a scenario (relative to the scenario).
#[test]
fn empirical_service_from_the_command_line_and_scenarios() {
    let dir = scratch("empirical");
    dir.file("lat.csv", b"latency\n2ms\n2ms\n2ms\n");
    let scenario = dir
        .file("s.toml", b"service = \"empirical:lat.csv\"\n[arrivals]\nload = 0.5\n[run]\nrequests = 2000\n");
    let o = lbsim(&["run", "--headless", "--scenario", &scenario, "--format", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["service"], "empirical:lat.csv");
    assert_eq!(json["service_ms"]["mean"], 2.0);
    let o = Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .args([
            "run",
            "--headless",
            "--scenario",
            "identical-workers",
            "--requests",
            "500",
            "--service",
            "empirical:lat.csv",
            "--format",
            "json",
        ])
        .current_dir(&dir.0)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["service_ms"]["p99"], 2.0);
    assert_input_error(
        &["run", "--service", "empirical:/nonexistent/lat.csv"],
        "/nonexistent/lat.csv: cannot read",
    );
    dir.file("bad.csv", b"latency\n2ms\nfast\n");
    assert_input_error(
        &["run", "--service", &format!("empirical:{}", dir.0.join("bad.csv").display())],
        "bad.csv:3:1: `latency`: `fast` is not a time",
    );
    assert_input_error(&["run", "--service", "empirical:"], "names no file");
    // Only service times are empirical: a think time is not.
    let bad = dir
        .file("think.toml", b"[arrivals]\nkind = \"closed\"\nclients = 2\nthink = \"empirical:lat.csv\"\n");
    assert_input_error(&["check", &bad], "for service times only");
}

/// The live engine replays a trace too: every request of it, with its demands.
#[test]
fn the_live_engine_replays_a_trace() {
    let times: String = (0..100).map(|k| format!("{},2ms\n", k as f64 * 0.004)).collect();
    let t = Trace::parse(format!("time,demand\n{times}").as_bytes(), "live.csv").unwrap();
    let mut config = SimConfig::new(
        vec![WorkerSpec::default(); 2],
        Arrivals::Trace { trace: Arc::new(t), scale: 1.0 },
        Dist::Const(50 * MILLIS),
    );
    config.stop = Stop::Requests(1_000);
    let options = lbsim::live::LiveOptions { time_scale: 2.0, threads: Some(2), ..Default::default() };
    let mut run =
        Live::new(config.clone(), strategy::build("least-loaded", &config.strategy_params).unwrap(), options)
            .unwrap();
    run.begin().unwrap();
    while !run.wait(Duration::from_millis(200)) {}
    let c = run.metrics().counters;
    assert_eq!((c.sent, c.completed), (100, 100));
    // Served as the trace's 2 ms, not the distribution's 50 ms.
    let service = run.metrics().service.mean() / MILLIS as f64;
    assert!((2.0..2.5).contains(&service), "{service} ms");
}

/// The example trace is exactly what its script makes.
#[test]
fn the_example_trace_is_what_its_script_makes() {
    let root = env!("CARGO_MANIFEST_DIR");
    let o =
        Command::new("sh").arg(format!("{root}/scripts/make-example-trace.sh")).output().expect("sh runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let shipped = std::fs::read(format!("{root}/scenarios/example-trace.csv")).unwrap();
    assert!(o.stdout == shipped, "scripts/make-example-trace.sh no longer makes scenarios/example-trace.csv");
    let t = Trace::parse(&shipped, "example-trace.csv").unwrap();
    assert_eq!((t.len(), t.client_count()), (5_606, Some(50)));
}

/// A keyed trace's scenario, and the worker each arrival went to, per request in trace order.
fn keyed_run(dir: &common::Scratch, keys: &[String], strategy: &str) -> Vec<Option<usize>> {
    let rows: String =
        keys.iter().enumerate().map(|(i, k)| format!("{},1ms,{k}\n", i as f64 * 0.01)).collect();
    dir.file("keyed.csv", format!("time,demand,key\n{rows}"));
    let toml = format!(
        "service = \"exp:5ms\"\n[strategy]\nname = \"{strategy}\"\n[arrivals]\nkind = \"trace\"\nfile = \"keyed.csv\"\n\
         [[workers]]\n[[workers]]\n[[workers]]\n[[workers]]\n"
    );
    let path = dir.file("keyed.toml", toml);
    let s = Scenario::load(Path::new(&path)).unwrap();
    let config = s.to_config().unwrap();
    assert_eq!(
        config.keys.as_ref().map(|k| k.count),
        Some(Trace::read(&dir.join("keyed.csv"), "k").unwrap().key_count)
    );
    let mut sim = Sim::new(config, strategy::build(&s.strategy, &s.strategy_params).unwrap()).unwrap();
    let mut out = Vec::new();
    while let Some(step) = sim.step() {
        if let StepKind::Arrival { worker, .. } = step.kind {
            out.push(worker);
        }
    }
    assert_eq!(out.len(), keys.len());
    out
}

#[test]
fn a_traces_keys_send_each_key_to_one_worker() {
    let dir = scratch("keyed");
    for strategy in ["ring-hash", "maglev"] {
        // Two keys, alternating: each always reaches the same worker.
        let keys: Vec<String> =
            (0..200).map(|i| if i % 2 == 0 { "alice".into() } else { "bob".into() }).collect();
        let went = keyed_run(&dir, &keys, strategy);
        for parity in 0..2 {
            let mut to: Vec<_> = went.iter().skip(parity).step_by(2).collect();
            to.dedup();
            assert_eq!(to.len(), 1, "{strategy}: key {parity} went to {to:?}");
            assert!(to[0].is_some());
        }
        // A hot key (90% of the requests) is one worker's load; the rest spread.
        let keys: Vec<String> =
            (0..1000).map(|i| if i % 10 == 0 { format!("{i}") } else { "hot".to_string() }).collect();
        let went = keyed_run(&dir, &keys, strategy);
        let mut per = [0usize; 4];
        for w in went.iter().flatten() {
            per[*w] += 1;
        }
        let top = *per.iter().max().unwrap();
        assert!(top >= 900, "{strategy}: the hot key's worker has {top} of 1000: {per:?}");
    }
    // Without the key column, ring hash without [keys] is a scenario without keys.
    let s = Scenario::parse("[strategy]\nname = \"ring-hash\"\n", "s.toml").unwrap();
    assert!(s.to_config().unwrap().keys.is_none());
}

#[test]
fn the_live_engine_refuses_a_keyed_trace_in_one_line() {
    let dir = scratch("keyed-live");
    dir.file("k.csv", "time,key\n0,a\n0.1,b\n");
    let s = dir.file("k.toml", "[arrivals]\nkind = \"trace\"\nfile = \"k.csv\"\n");
    assert_input_error(
        &["run", "--scenario", &s, "--engine", "live", "--headless"],
        "the live engine does not model keyed requests (a trace's `key` column) yet",
    );
}

/// A trace run ends when the trace is over and nothing is in flight, even with periodic events
/// (active health checks) that would go on for ever: before, such a run never ended (found by
/// the `your-config` lesson, an imported Envoy cluster with health checks on a trace).
#[test]
fn a_trace_run_with_health_checks_ends_when_the_trace_does() {
    let t = trace("time,demand\n0,4ms\n0.010,4ms\n0.020,4ms\n");
    let mut config = SimConfig::new(
        vec![WorkerSpec::default()],
        Arrivals::Trace { trace: t, scale: 1.0 },
        Dist::Const(MILLIS),
    );
    config.defences.detection =
        lbsim::engine::Detection::HealthChecks { interval: MILLIS, unhealthy: 3, healthy: 2 };
    let mut sim = Sim::new(config, strategy::build("round-robin", &Default::default()).unwrap()).unwrap();
    assert!(sim.run_events(100_000), "the run did not end by {} ms of virtual time", sim.now() / MILLIS);
    assert_eq!(sim.metrics().counters.completed, 3);
    assert!(sim.now() < 100 * MILLIS, "it ended at {} ms", sim.now() / MILLIS);
}
