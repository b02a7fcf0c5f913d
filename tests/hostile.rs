//! The real binary against a hostile user: every class of input that once panicked, hung, ran
//! out of memory or lost a result. Each run has a time bound (the child is killed past it)
//! and, on Linux, a bound on its peak memory (VmHWM from /proc, read while it runs); none may
//! end in a panic (101) or an abort (134).

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, Ran, assert_refused, scratch};

/// Where the child's standard output goes.
enum Out {
    Piped,
    /// `/dev/full`: every write fails with ENOSPC.
    Full,
    /// A pipe whose reading end is closed before the child writes: EPIPE.
    ClosedPipe,
    /// No standard output at all (`>&-`).
    Closed,
    /// `/dev/null` opened read-write (`1<>/dev/null`), as Python's `subprocess.DEVNULL` and
    /// systemd's `null` give it: what Rust's runtime puts in place of a closed descriptor.
    NullReadWrite,
}

fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs lbsim with `args` in `dir`, killing it after `limit`.
fn run_in(dir: &Path, args: &[&str], out: Out, limit: Duration) -> Ran {
    let mut cmd = match out {
        // The shell closes descriptor 1, then becomes lbsim (same process, so /proc follows).
        Out::Closed | Out::NullReadWrite => {
            let redirect = if matches!(out, Out::Closed) { ">&-" } else { "1<>/dev/null" };
            let mut c = Command::new("sh");
            c.arg("-c").arg(format!("exec \"$0\" \"$@\" {redirect}")).arg(BIN).args(args);
            c
        }
        _ => {
            let mut c = Command::new(BIN);
            c.args(args);
            c
        }
    };
    cmd.current_dir(dir).stdin(Stdio::null()).stderr(Stdio::piped());
    match out {
        Out::Piped | Out::ClosedPipe => cmd.stdout(Stdio::piped()),
        Out::Full => cmd.stdout(std::fs::File::options().write(true).open("/dev/full").expect("/dev/full")),
        Out::Closed | Out::NullReadWrite => cmd.stdout(Stdio::inherit()),
    };
    let mut child: Child = cmd.spawn().expect("lbsim starts");
    let stdout = child.stdout.take();
    let stdout_reader = match (out, stdout) {
        (Out::ClosedPipe, Some(pipe)) => {
            drop(pipe);
            None
        }
        (_, Some(mut pipe)) => Some(std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = pipe.read_to_end(&mut s);
            s
        })),
        _ => None,
    };
    let mut stderr_pipe = child.stderr.take().expect("stderr piped");
    let stderr_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut s);
        s
    });
    let started = Instant::now();
    let mut peak = None;
    let status = loop {
        if let Some(p) = peak_kib(child.id()) {
            peak = Some(p);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("lbsim {args:?} ran over its time bound of {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = stdout_reader.map(|r| r.join().unwrap()).unwrap_or_default();
    let stderr = stderr_reader.join().unwrap();
    let ran = Ran {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        peak_kib: peak,
    };
    assert!(
        !matches!(ran.code, Some(101) | Some(134) | None),
        "lbsim {args:?} crashed ({:?}): {}",
        ran.code,
        ran.stderr
    );
    assert!(!ran.stderr.contains("panicked"), "lbsim {args:?} panicked: {}", ran.stderr);
    ran
}

fn run(args: &[&str]) -> Ran {
    run_in(Path::new(env!("CARGO_MANIFEST_DIR")), args, Out::Piped, Duration::from_secs(20))
}

fn assert_memory_below(ran: &Ran, mib: u64) {
    if let Some(kib) = ran.peak_kib {
        assert!(kib < mib * 1024, "peak memory {} MiB, over {mib} MiB", kib / 1024);
    }
}

#[test]
fn help_and_version_survive_a_full_disk_and_a_closed_pipe() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    for args in [&["--help"][..], &["-h"], &["--version"], &["run", "--help"], &["strategies"]] {
        let full = run_in(dir, args, Out::Full, Duration::from_secs(10));
        assert_eq!(full.code, Some(1), "{args:?} to /dev/full: {full:?}");
        assert_eq!(full.stderr.lines().count(), 1, "{full:?}");
        assert!(full.stderr.contains("cannot write to standard output"), "{full:?}");
        // `lbsim --help | head -1`: a reader that leaves is not an error.
        let pipe = run_in(dir, args, Out::ClosedPipe, Duration::from_secs(10));
        assert_eq!((pipe.code, pipe.stderr.as_str()), (Some(0), ""), "{args:?} to a closed pipe");
    }
}

#[test]
fn stdout_closed_is_an_error_not_silence() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    for args in [&["run", "--headless", "--requests", "1000"][..], &["strategies"]] {
        let ran = run_in(dir, args, Out::Closed, Duration::from_secs(10));
        assert_eq!(ran.code, Some(1), "{args:?}: {ran:?}");
        assert!(ran.stderr.contains("standard output is closed"), "{ran:?}");
    }
    // With --output the report has somewhere to go.
    let dir_out = scratch("closed-stdout");
    let out = dir_out.join("r.json");
    let ran = run_in(
        dir,
        &["run", "--headless", "--requests", "1000", "--format", "json", "--output", out.to_str().unwrap()],
        Out::Closed,
        Duration::from_secs(10),
    );
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert!(std::fs::read_to_string(&out).unwrap().contains("\"latency_ms\""));
}

#[test]
fn a_read_write_dev_null_is_an_open_stdout() {
    // What a closed descriptor 1 looks like once Rust's runtime has started, but here the
    // parent chose it: the report goes there, and nothing is said.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    for args in [&["run", "--headless", "--requests", "1000"][..], &["strategies"]] {
        let ran = run_in(dir, args, Out::NullReadWrite, Duration::from_secs(10));
        assert_eq!((ran.code, ran.stderr.as_str()), (Some(0), ""), "{args:?}: {ran:?}");
    }
}

#[test]
fn limits_are_checked_before_allocating() {
    let dir = scratch("limits");
    for n in ["4000000000", "4294967296", "1000001"] {
        let ran = run(&["run", "--headless", "--workers", n]);
        assert_refused(&ran, &["--workers", "from 1 to 1000000", n]);
        assert_memory_below(&ran, 64);
    }
    for n in ["4000000000", "50000000"] {
        let file = dir.file(&format!("w{n}.toml"), format!("[[workers]]\ncount = {n}\n"));
        let ran = run(&["check", &file]);
        assert_refused(&ran, &[":2:9: field `workers.count`", "at most 1000000"]);
        assert_memory_below(&ran, 64);
    }
}

#[test]
fn only_regular_files_of_sane_size_are_read() {
    let dir = scratch("files");
    let ran = run_in(&dir, &["check", "/dev/zero"], Out::Piped, Duration::from_secs(5));
    assert_refused(&ran, &["/dev/zero", "not a regular file"]);
    assert_memory_below(&ran, 64);
    let ran = run(&["check", dir.to_str().unwrap()]);
    assert_refused(&ran, &["is a directory"]);
    let ran = run(&["run", "--headless", "--scenario", dir.to_str().unwrap()]);
    assert_refused(&ran, &["--scenario", "is a directory"]);
    let big = dir.file("big.toml", format!("# {}\n", "x".repeat(2 << 20)));
    let ran = run(&["check", &big]);
    assert_refused(&ran, &["at most 1048576 bytes"]);
    assert_memory_below(&ran, 64);
}

#[test]
fn overload_stops_at_the_in_flight_cap_with_the_partial_report() {
    let ran = run(&["run", "--headless", "--load", "5", "--duration", "86400s", "--max-in-flight", "100000"]);
    assert_eq!(ran.code, Some(3), "{ran:?}");
    assert!(ran.stdout.contains("latency") && ran.stdout.contains("in flight"), "{}", ran.stdout);
    assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("stopped early") && ran.stderr.contains("--max-in-flight"), "{}", ran.stderr);
    assert_memory_below(&ran, 200);
    // The scenario field does the same, and JSON says why.
    let dir = scratch("cap");
    let file =
        dir.file("cap.toml", "[arrivals]\nload = 4\n[run]\nduration = \"1h\"\nmax_in_flight = 20000\n");
    let ran = run(&["compare", "--headless", "--scenario", &file, "--format", "json"]);
    assert_eq!(ran.code, Some(3), "{ran:?}");
    let json: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    for r in json["runs"].as_array().unwrap() {
        assert_eq!(r["stop_reason"], "in_flight_cap");
        assert_eq!(r["max_in_flight"], 20000);
        assert!(r["sim_time_s"].as_f64().unwrap() < 3600.0);
    }
}

#[test]
fn abandoned_attempts_cannot_pile_up_without_bound() {
    let ran = run(&[
        "run",
        "--headless",
        "--load",
        "0.95",
        "--retries",
        "100",
        "--per-try-timeout",
        "10ms",
        "--duration",
        "600s",
        "--max-in-flight",
        "200000",
    ]);
    assert_eq!(ran.code, Some(3), "{ran:?}");
    assert!(ran.stderr.contains("attempts at workers"), "{}", ran.stderr);
    assert_memory_below(&ran, 200);
}

#[test]
fn periods_too_short_for_the_run_are_refused() {
    let dir = scratch("periods");
    let ran = run(&["run", "--headless", "--load-refresh", "1ns"]);
    assert_refused(&ran, &["--load-refresh", "too short", "use at least"]);
    for (text, field) in [
        ("[health_check]\nmode = \"active\"\ninterval = \"1ns\"\n", "health_check.interval"),
        ("[faults.random_crashes]\nmtbf = \"1ns\"\nmttr = \"1ns\"\n", "faults.random_crashes.mtbf"),
        ("[balancer]\nload_refresh = \"10ns\"\n", "balancer.load_refresh"),
        ("[[workers]]\ncount = 4\n[autoscale]\nmin = 2\nmax = 8\ninterval = \"1ns\"\n", "autoscale.interval"),
        (
            "[arrivals]\nkind = \"bursty\"\nload = 0.9\nbase_load = 0.1\nburst = \"1ns\"\ngap = \"1ns\"\n",
            "arrivals.burst",
        ),
    ] {
        let file = dir.file("p.toml", text);
        let ran = run(&["check", &file]);
        assert_refused(&ran, &[&format!("field `{field}`"), "too short"]);
    }
    // The same period is fine for a short run.
    let file = dir.file("short.toml", "[balancer]\nload_refresh = \"10us\"\n[run]\nrequests = 1000\n");
    assert_eq!(run(&["check", &file]).code, Some(0));
}

#[test]
fn runs_that_cannot_fit_in_virtual_time_are_refused() {
    let dir = scratch("time");
    let ran = run(&["run", "--headless", "--rate", "1e-15"]);
    assert_refused(&ran, &["--rate", "virtual time"]);
    let ran = run(&["run", "--headless", "--service", "const:5124095h"]);
    assert_refused(&ran, &["--service", "5124095h", "longest virtual time"]);
    let file = dir.file("slow.toml", "[[workers]]\nspeed = 1e-300\n");
    let ran = run(&["check", &file]);
    assert_refused(&ran, &["field `workers.speed`", "1e-300", "between 1e-6 and 1e6"]);
    let ran = run(&["run", "--headless", "--duration", "5124095h"]);
    assert_refused(&ran, &["--duration", "longest virtual time"]);
}

/// Error lines about huge or infinite numbers say something a person can read (issue 25:
/// "about infs of virtual time", 1e308 printed as 309 digits), and a trace's problems name the
/// trace's file, line and column, not `arrivals.rate` or `service`, which the user never wrote.
#[test]
fn error_lines_about_huge_numbers_and_traces_make_sense() {
    for (args, words) in [
        (["--rate", "1e308", "--requests", "10"], ["--rate", "1e308 is above the maximum"]),
        (["--rate", "1e-300", "--requests", "10"], ["--rate", "would never end"]),
        (["--load", "1e308", "--requests", "10"], ["--load", "more than 10^300 requests/s"]),
    ] {
        let ran = run(&[&["run", "--headless"][..], &args].concat());
        assert_refused(&ran, &words);
        assert!(!ran.stderr.contains("inf") && ran.stderr.len() < 300, "{}", ran.stderr);
    }
    let dir = scratch("trace-blame");
    dir.file("far.csv", "time,demand\n0,1ms\n0.5,1ms\n  2000000000,1ms\n");
    dir.file("big.csv", "time,demand\n0,1ms\n0,2000000000\n0.001,1ms\n");
    for (name, words) in [
        ("far", ["field `arrivals.file`", "far.csv line 4, column 3", "times"]),
        ("big", ["field `arrivals.file`", "big.csv line 3, column 3", "demands"]),
    ] {
        let file = dir
            .file(&format!("{name}.toml"), format!("[arrivals]\nkind = \"trace\"\nfile = \"{name}.csv\"\n"));
        let ran = run(&["run", "--headless", "--requests", "1000000", "--scenario", &file]);
        assert_refused(&ran, &words);
        assert!(!ran.stderr.contains("arrivals.rate") && !ran.stderr.contains("`service`"), "{}", ran.stderr);
    }
}

/// The UI's prompts read times with the one time parser, overflow checks included (issue 25:
/// `1e300` typed at `p` was taken as seconds by a parser of its own, saturating to a time
/// beyond lbsim's virtual time).
#[test]
fn times_typed_in_the_ui_are_checked_like_every_other() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let scenario = lbsim::scenario::builtin::find("default").unwrap().scenario().unwrap();
    let mut app =
        lbsim::tui::App::new(scenario, &["least-loaded".to_string()], lbsim::playground::Mode::Run).unwrap();
    let mut key = |code| app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
    for typed in ["1e300", "99999999999", "inf"] {
        key(KeyCode::Char('p'));
        typed.chars().for_each(|c| key(KeyCode::Char(c)));
        key(KeyCode::Enter);
    }
    let log: Vec<&str> = app.play.log_lines().iter().map(|l| l.text.as_str()).collect();
    assert_eq!(app.play.pause_at(), None, "{log:?}");
    for typed in ["1e300", "99999999999", "inf"] {
        assert!(log.iter().any(|l| l.starts_with(&format!("cannot pause at `{typed}`"))), "{typed}: {log:?}");
    }
    let mut key = |code| app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
    key(KeyCode::Char('p'));
    "2.5".chars().for_each(|c| key(KeyCode::Char(c)));
    key(KeyCode::Enter);
    assert_eq!(app.play.pause_at(), Some(2_500 * lbsim::time::MILLIS));
}

#[test]
fn output_is_checked_before_the_run_and_replaced_whole() {
    let dir = scratch("output");
    // A run of minutes would come first if the path were checked after it.
    let bad = dir.join("no/such/dir/r.txt");
    let ran = run_in(
        &dir,
        &["run", "--headless", "--requests", "200000000", "--output", bad.to_str().unwrap()],
        Out::Piped,
        Duration::from_secs(5),
    );
    assert_eq!(ran.code, Some(1), "{ran:?}");
    assert!(ran.stderr.contains("--output") && ran.stderr.contains("no/such/dir"), "{}", ran.stderr);
    let ran = run(&["run", "--headless", "--output", dir.to_str().unwrap()]);
    assert_eq!(ran.code, Some(1), "{ran:?}");
    // A good file is replaced by the whole new report, and nothing is left beside it.
    let target = dir.join("r.json");
    std::fs::write(&target, "old").unwrap();
    let ran = run(&[
        "run",
        "--headless",
        "--requests",
        "500",
        "--format",
        "json",
        "--output",
        target.to_str().unwrap(),
    ]);
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let text = std::fs::read_to_string(&target).unwrap();
    serde_json::from_str::<serde_json::Value>(&text).expect("a whole report");
    let left: Vec<_> = std::fs::read_dir(&*dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 1, "{left:?}");
    // Not a regular file: written in place (never renamed over).
    let ran = run(&["run", "--headless", "--requests", "100", "--output", "/dev/null"]);
    assert_eq!(ran.code, Some(0), "{ran:?}");
}

#[test]
fn nothing_completed_means_no_latencies_and_no_leader() {
    let ran = run(&["compare", "--headless", "--timeout", "1ns", "--requests", "2000"]);
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let rows: Vec<&str> = ran.stdout.lines().filter(|l| l.starts_with("round-robin")).collect();
    assert_eq!(rows.len(), 1, "{}", ran.stdout);
    assert!(rows[0].contains("n/a") && !rows[0].contains("0.000"), "{}", ran.stdout);
    assert!(!ran.stdout.contains("leads on p99"), "{}", ran.stdout);
    assert!(ran.stdout.contains("no p99 leader"), "{}", ran.stdout);
    // Latency cells are never marked best.
    let marked = rows[0].split_whitespace().filter(|c| *c == "n/a*").count();
    assert_eq!(marked, 0, "{}", rows[0]);
    let ran = run(&["run", "--headless", "--timeout", "1ns", "--requests", "500", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    for key in ["mean", "p50", "p90", "p99", "p999", "max"] {
        assert!(json["latency_ms"][key].is_null(), "latency_ms.{key}: {}", json["latency_ms"]);
    }
    assert!(json["queue_wait_ms"]["p99"].is_null() && json["service_ms"]["mean"].is_null());
}

#[test]
fn percentiles_never_exceed_the_maximum() {
    let dir = scratch("percentiles");
    // Constant arrivals far apart and a constant service: every latency is 4.534271 ms, in a
    // histogram bucket whose top is above it.
    let file = dir.file(
        "const.toml",
        "service = \"const:4534271ns\"\n[arrivals]\nkind = \"constant\"\nrate = 10\n[run]\nrequests = 200\n",
    );
    let ran = run(&["run", "--headless", "--scenario", &file, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let l = &json["latency_ms"];
    let max = l["max"].as_f64().unwrap();
    assert_eq!(max, 4.534271);
    for key in ["p50", "p90", "p99", "p999"] {
        assert!(l[key].as_f64().unwrap() <= max, "{key} {} > max {max}", l[key]);
    }
}

#[test]
fn control_characters_in_scenarios_are_escaped_everywhere() {
    let dir = scratch("escapes");
    let file = dir.file(
        "evil.toml",
        "name = \"x\\u001b[2J\\u001b]0;owned\\u0007\"\ndescription = \"d\\u001b[31m\"\n[run]\nrequests = 200\n",
    );
    for args in [
        vec!["check", file.as_str()],
        vec!["run", "--headless", "--scenario", &file],
        vec!["compare", "--headless", "--scenario", &file],
        vec!["run", "--headless", "--scenario", &file, "--format", "csv"],
    ] {
        let ran = run(&args);
        assert_eq!(ran.code, Some(0), "{ran:?}");
        let all = ran.stdout.clone() + &ran.stderr;
        assert!(!all.chars().any(|c| c.is_control() && c != '\n'), "{args:?}: {all:?}");
        assert!(ran.stdout.contains("x\\u{1b}[2J"), "{args:?}: {}", ran.stdout);
    }
    // JSON escapes them its own way, and stays valid.
    let ran = run(&["run", "--headless", "--scenario", &file, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(json["scenario"], "x\u{1b}[2J\u{1b}]0;owned\u{7}");
    // Error lines too: a file name with an escape in it.
    let ran = run(&["check", "no-such-\u{1b}[2J.toml"]);
    assert_refused(&ran, &["no-such-\\u{1b}[2J.toml"]);
}

#[test]
fn compare_table_headers_never_run_together() {
    let ran = run(&[
        "compare",
        "--headless",
        "--requests",
        "3000",
        "--error-rate",
        "0.2",
        "--retries",
        "2",
        "--timeout",
        "30ms",
    ]);
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let header = ran.stdout.lines().find(|l| l.starts_with("strategy")).unwrap();
    for title in ["goodput/s", "failed", "timed out", "attempts/req", "p99.9"] {
        assert!(header.contains(&format!("  {title}")), "{title:?} not set apart in {header:?}");
    }
}

#[test]
fn error_lines_name_the_option_and_what_is_allowed() {
    let dir = scratch("errors");
    let cases: &[(&[&str], &[&str])] = &[
        (&["check"], &["<FILES>"]),
        (&["scenarios", "show"], &["<NAME>"]),
        (&["run", "--format", "xml"], &["--format", "table, json, csv"]),
        (&["run", "--failure-detection", "bogus"], &["--failure-detection", "instant, health-checks, none"]),
        (&["completions", "foo"], &["bash", "zsh", "fish"]),
        (&["run", "--headless", "--load", "1e308"], &["--load", "1e308", "maximum"]),
        (&["run", "--headless", "--service", "const:0ns"], &["--service", "longer than 0"]),
        (&["run", "--headless", "--workers", "4294967296"], &["--workers", "from 1 to 1000000"]),
        (&["run", "--headless", "--rate", "-inf"], &["--rate", "-inf", "positive"]),
        (&["run", "--headless", "--retries", "-1"], &["--retries", "from 0 to 100", "-1"]),
        (&["run", "--headless", "--max-in-flight", "0"], &["--max-in-flight", "at least 1", "got 0"]),
    ];
    for (args, words) in cases {
        assert_refused(&run(args), words);
    }
    let inline = dir.file("crash.toml", "[faults]\nrandom_crashes = { mtbf = \"0s\", mttr = \"1s\" }\n");
    assert_refused(&run(&["check", &inline]), &["crash.toml:2:27: field `faults.random_crashes.mtbf`"]);
    let missing = dir.file("missing.toml", "[faults.random_crashes]\nmtbf = \"1s\"\n");
    assert_refused(&run(&["check", &missing]), &["missing.toml:1:1: field `faults.random_crashes`", "mttr"]);
}

#[test]
fn check_reports_every_file() {
    let dir = scratch("check-all");
    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/default.toml");
    let bad1 = dir.file("bad1.toml", "[arrivals]\nrate = -1\n");
    let bad2 = dir.file("bad2.toml", "[[workers]]\ncount = 0\n");
    let ran = run(&["check", &bad1, good.to_str().unwrap(), &bad2]);
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(ran.stdout.contains("default.toml: ok"), "{}", ran.stdout);
    assert!(ran.stderr.contains("bad1.toml:2:8") && ran.stderr.contains("bad2.toml:2:9"), "{}", ran.stderr);
    assert!(ran.stderr.contains("2 of 3 scenario files have errors"), "{}", ran.stderr);
}

#[test]
fn more_choices_than_workers_is_warned_about() {
    let ran =
        run(&["run", "--headless", "--strategy", "power-of-two", "--choices", "1000", "--requests", "500"]);
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert!(ran.stderr.contains("warning: --choices 1000 is more than the 8 workers"), "{}", ran.stderr);
    assert!(!ran.stdout.is_empty());
    // Not for strategies that do not sample.
    let ran =
        run(&["run", "--headless", "--strategy", "least-loaded", "--choices", "1000", "--requests", "500"]);
    assert_eq!((ran.code, ran.stderr.as_str()), (Some(0), ""));
}

/// Random bytes, random TOML-like text and random argument vectors, in process: the parsers
/// answer with an error or a scenario, never a panic, and what they accept can be built and
/// run for a few events.
mod fuzz {
    use lbsim::cli::{Cli, Command, resolve_scenario};
    use lbsim::engine::Sim;
    use lbsim::scenario::Scenario;
    use lbsim::strategy;
    use proptest::prelude::*;

    /// Builds and briefly runs what the parsers accepted.
    fn exercise(s: &Scenario, strategy_name: &str) {
        let Ok(config) = s.to_config() else { return };
        let Ok(st) = strategy::build(strategy_name, &config.strategy_params) else { return };
        if let Ok(mut sim) = Sim::new(config, st) {
            sim.run_events(2_000);
            let _ = lbsim::report::Report::new(&sim, &s.name, 0.0);
        }
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("1".to_string()),
            Just("0".to_string()),
            Just("-1".to_string()),
            Just("4000000000".to_string()),
            Just("1e308".to_string()),
            Just("nan".to_string()),
            Just("inf".to_string()),
            Just("0.5".to_string()),
            Just("\"1ns\"".to_string()),
            Just("\"0s\"".to_string()),
            Just("\"5124095h\"".to_string()),
            Just("\"10ms\"".to_string()),
            Just("\"exp:10ms\"".to_string()),
            Just("\"const:0ns\"".to_string()),
            Just("\"pareto:1ms,alpha=1.0001\"".to_string()),
            Just("\"mix:1ms,5124095h,p=0.5\"".to_string()),
            Just("\"active\"".to_string()),
            Just("\"bursty\"".to_string()),
            Just("\"closed\"".to_string()),
            Just("\"block\"".to_string()),
            Just("\"weighted-round-robin\"".to_string()),
            Just("{ mtbf = \"1ns\", mttr = \"1ns\" }".to_string()),
            Just("[1, 2]".to_string()),
            "\"[a-z0-9:.,=\\\\u001b]{0,12}\"",
        ]
    }

    fn line() -> impl Strategy<Value = String> {
        let tables = prop_oneof![
            Just("[arrivals]"),
            Just("[[workers]]"),
            Just("[run]"),
            Just("[strategy]"),
            Just("[faults]"),
            Just("[faults.random_crashes]"),
            Just("[[faults.crash]]"),
            Just("[[faults.slowdown]]"),
            Just("[retry]"),
            Just("[health_check]"),
            Just("[outlier_ejection]"),
            Just("[balancer]"),
            Just("[autoscale]"),
            Just("[run"),
        ];
        let keys = prop_oneof![
            Just("kind"),
            Just("rate"),
            Just("load"),
            Just("base_load"),
            Just("burst"),
            Just("gap"),
            Just("clients"),
            Just("think"),
            Just("count"),
            Just("speed"),
            Just("weight"),
            Just("concurrency"),
            Just("queue_capacity"),
            Just("error_rate"),
            Just("requests"),
            Just("duration"),
            Just("warmup"),
            Just("seed"),
            Just("max_in_flight"),
            Just("name"),
            Just("choices"),
            Just("decay"),
            Just("service"),
            Just("timeout"),
            Just("mode"),
            Just("interval"),
            Just("mtbf"),
            Just("mttr"),
            Just("max"),
            Just("min"),
            Just("worker"),
            Just("at"),
            Just("factor"),
            Just("from"),
            Just("to"),
            Just("load_refresh"),
            Just("backpressure"),
            Just("per_try_timeout"),
            Just("random_crashes"),
            Just("description"),
        ];
        prop_oneof![tables.prop_map(str::to_string), (keys, value()).prop_map(|(k, v)| format!("{k} = {v}")),]
    }

    fn arg() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => prop_oneof![
                Just("run"), Just("compare"), Just("check"), Just("scenarios"), Just("show"),
                Just("strategies"), Just("completions"), Just("--headless"), Just("--workers"),
                Just("--rate"), Just("--load"), Just("--service"), Just("--requests"), Just("--duration"),
                Just("--warmup"), Just("--seed"), Just("--choices"), Just("--timeout"), Just("--retries"),
                Just("--per-try-timeout"), Just("--retry-budget"), Just("--failure-detection"),
                Just("--load-refresh"), Just("--error-rate"), Just("--max-in-flight"), Just("--format"),
                Just("--scenario"), Just("--strategy"), Just("--strategies"), Just("--outlier-ejection"),
                Just("-inf"), Just("nan"), Just("1e308"), Just("-1"), Just("0"), Just("4294967296"),
                Just("1ns"), Just("5124095h"), Just("const:0ns"), Just("exp:10ms"), Just("0.9"),
                Just("heavy-tail"), Just("power-of-two"), Just("xml"), Just("health-checks"), Just("/"),
                Just("/dev/zero"), Just("--help"), Just("--version"),
            ]
            .prop_map(str::to_string),
            1 => "[ -~]{0,10}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        #[test]
        fn random_bytes_never_panic_the_scenario_parser(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(s) = Scenario::parse(&text, "fuzz.toml") {
                exercise(&s, "least-loaded");
            }
        }

        #[test]
        fn random_scenario_text_never_panics(lines in proptest::collection::vec(line(), 0..14)) {
            let text = lines.join("\n") + "\n";
            match Scenario::parse(&text, "fuzz.toml") {
                Ok(s) => {
                    let strategy = s.strategy.clone();
                    exercise(&s, &strategy);
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }

        #[test]
        fn random_argument_vectors_never_panic(args in proptest::collection::vec(arg(), 0..8)) {
            let argv = std::iter::once("lbsim".to_string()).chain(args);
            let Ok(cli) = <Cli as clap::Parser>::try_parse_from(argv) else { return Ok(()) };
            match cli.command {
                Command::Run { strategy, sim } => {
                    if let Ok(s) = resolve_scenario(&sim) {
                        let name = strategy.unwrap_or_else(|| s.strategy.clone());
                        exercise(&s, &name);
                    }
                }
                Command::Compare { strategies, sim } => {
                    if let Ok(s) = resolve_scenario(&sim) {
                        for name in &strategies {
                            exercise(&s, name);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}
