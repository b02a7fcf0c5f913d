//! The binary against hostile files (issue 25): named pipes and devices where a file is
//! expected, outputs that would overwrite each other or the scenario, symbolic links, and
//! trace files built to be slow or confusing. Each run has a time bound (the child is killed
//! past it); none may panic.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, Ran, assert_refused, scratch};

/// Runs lbsim with `args` in `dir`, killing it past `limit` (then failing).
fn run_in(dir: &Path, args: &[&str], limit: Duration) -> Ran {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lbsim starts");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("lbsim {args:?} ran over its time bound of {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let ran = Ran::from(child.wait_with_output().expect("output"));
    assert!(!matches!(ran.code, Some(101) | Some(134) | None), "lbsim {args:?} crashed: {ran:?}");
    ran
}

fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0, "mkfifo {}", path.display());
}

#[test]
fn a_named_pipe_nothing_reads_is_refused_as_an_output_at_once() {
    let dir = scratch("fifo-out");
    mkfifo(&dir.join("pipe"));
    for flag in ["--output", "--timeline-csv", "--record"] {
        let ran =
            run_in(&dir, &["run", "--headless", "--requests", "50", flag, "pipe"], Duration::from_secs(20));
        if flag == "--record" {
            // replay.rs calls every --record failure a runtime error (exit 1).
            assert_eq!((ran.code, ran.stderr.lines().count()), (Some(1), 1), "{ran:?}");
            assert!(ran.stderr.contains("named pipe"), "{ran:?}");
        } else {
            assert_refused(&ran, &[flag, "pipe", "named pipe"]);
        }
    }
}

#[test]
fn sweep_json_that_is_a_device_or_a_pipe_is_refused_before_reading() {
    let dir = scratch("sweep-json");
    std::fs::create_dir(dir.join("zero")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero/sweep.json")).unwrap();
    let ran = run_in(&dir, &["sweep", "--merge", "zero"], Duration::from_secs(20));
    assert_refused(&ran, &["sweep.json", "not a regular file"]);
    std::fs::create_dir(dir.join("pipe")).unwrap();
    mkfifo(&dir.join("pipe/sweep.json"));
    let ran = run_in(&dir, &["sweep", "--merge", "pipe"], Duration::from_secs(20));
    assert_refused(&ran, &["sweep.json", "not a regular file"]);
}

#[test]
fn two_outputs_in_one_file_or_over_the_scenario_are_refused() {
    let dir = scratch("same-out");
    let scenario = dir.file("s.toml", "[arrivals]\nkind = \"poisson\"\nrate = 100\n");
    let before = std::fs::read(&scenario).unwrap();
    let limit = Duration::from_secs(20);
    let base = ["run", "--headless", "--requests", "50"];
    let with = |more: &[&'static str]| -> Vec<&'static str> { [&base[..], more].concat() };
    let ran = run_in(&dir, &with(&["--output", "x", "--record", "x"]), limit);
    assert_refused(&ran, &["--output and --record name the same file"]);
    let ran = run_in(&dir, &with(&["--output", "x", "--timeline-csv", "./x"]), limit);
    assert_refused(&ran, &["--output and --timeline-csv name the same file"]);
    assert!(!dir.join("x").exists());
    let ran = run_in(&dir, &with(&["--scenario", "s.toml", "--output", "s.toml"]), limit);
    assert_refused(&ran, &["--output s.toml is the scenario file"]);
    assert_eq!(std::fs::read(&scenario).unwrap(), before);
}

/// An output that is the trace being read, or the `empirical:` service times, is refused
/// before the run, as one over the scenario file is (issue 25: the report overwrote the trace).
#[test]
fn an_output_over_the_trace_or_the_samples_being_read_is_refused() {
    let dir = scratch("data-out");
    let trace = dir.file("t.csv", "time,demand\n0,1ms\n0.01,2ms\n0.02,1ms\n");
    let samples = dir.file("lat.csv", "latency\n1ms\n2ms\n3ms\n");
    dir.file("s.toml", "service = \"empirical:lat.csv\"\n[arrivals]\nkind = \"trace\"\nfile = \"t.csv\"\n");
    let (trace_before, samples_before) = (std::fs::read(&trace).unwrap(), std::fs::read(&samples).unwrap());
    let limit = Duration::from_secs(20);
    for (out, words) in [
        ("t.csv", "--output t.csv is the trace being read"),
        ("./lat.csv", "--output ./lat.csv is the service times file being read"),
    ] {
        let ran = run_in(&dir, &["run", "--headless", "--scenario", "s.toml", "--output", out], limit);
        assert_refused(&ran, &[words]);
        let ran = run_in(
            &dir,
            &[
                "compare",
                "--strategies",
                "random,least-loaded",
                "--headless",
                "--scenario",
                "s.toml",
                "--record",
                out,
            ],
            limit,
        );
        assert_refused(&ran, &["--record", "being read"]);
    }
    // Given on the command line, relative to the working folder.
    let ran = run_in(
        &dir,
        &[
            "run",
            "--headless",
            "--requests",
            "50",
            "--service",
            "empirical:lat.csv",
            "--timeline-csv",
            "lat.csv",
        ],
        limit,
    );
    assert_refused(&ran, &["--timeline-csv lat.csv is the service times file being read"]);
    assert_eq!(std::fs::read(&trace).unwrap(), trace_before);
    assert_eq!(std::fs::read(&samples).unwrap(), samples_before);
}

#[test]
fn an_output_through_a_symbolic_link_writes_its_target_and_keeps_the_link() {
    let dir = scratch("symlink-out");
    dir.file("target.txt", "old");
    std::os::unix::fs::symlink("target.txt", dir.join("link.txt")).unwrap();
    let ran = run_in(
        &dir,
        &["run", "--headless", "--requests", "50", "--output", "link.txt"],
        Duration::from_secs(20),
    );
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert!(std::fs::symlink_metadata(dir.join("link.txt")).unwrap().file_type().is_symlink());
    let written = std::fs::read_to_string(dir.join("target.txt")).unwrap();
    assert!(written.starts_with("lbsim run"), "{written}");
    let leftovers: Vec<_> = std::fs::read_dir(&*dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

mod traces {
    use lbsim::trace::{Samples, Trace};
    use proptest::prelude::*;

    /// Pieces a trace file is made of, good and bad, for the mutations to combine.
    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9]{0,6}(\\.[0-9]{0,4})?",
            "[0-9]{1,3}(ms|us|s|h|m|ns|x)?",
            "[0-9]e[-+]?[0-9]{1,3}",
            "-?[0-9.]{1,25}",
            Just("\"1\"".to_string()),
            Just("\"".to_string()),
            Just("18446744073.9".to_string()),
            Just("\u{feff}time".to_string()),
            "[a-z#\\\\ ]{0,5}",
            "\\PC{0,4}",
        ]
    }

    fn file() -> impl Strategy<Value = Vec<u8>> {
        let header = prop_oneof![
            Just("time".to_string()),
            Just("time,demand".to_string()),
            Just("time,demand,client".to_string()),
            prop::collection::vec(cell(), 1..4).prop_map(|c| c.join(",")),
        ];
        let rows = prop::collection::vec(prop::collection::vec(cell(), 0..4).prop_map(|c| c.join(",")), 0..8);
        let ending = prop_oneof![Just("\n"), Just("\r\n"), Just("")];
        (header, rows, ending, any::<u8>(), any::<prop::sample::Index>()).prop_map(
            |(h, rows, end, byte, at)| {
                let mut text = h + "\n" + &rows.join("\n") + end;
                let mut bytes = std::mem::take(&mut text).into_bytes();
                // One byte anywhere replaced, as a damaged file has (sometimes not UTF-8).
                if !bytes.is_empty() && byte % 3 == 0 {
                    let i = at.index(bytes.len());
                    bytes[i] = byte;
                }
                bytes
            },
        )
    }

    /// A refusal names the file, and a line when the problem has one, on one line.
    fn check(message: &str) {
        assert!(message.starts_with("t.csv"), "{message}");
        // Printed through `output::error_line`, which escapes the newlines of a quoted cell.
        assert_eq!(lbsim::text::escape(message).lines().count(), 1, "{message}");
        let rest = message.strip_prefix("t.csv:").expect("file, then a colon");
        // `t.csv:LINE:COLUMN: ...`, or `t.csv: ...` for the file as a whole.
        if !rest.starts_with(' ') {
            let mut place = rest.split(':').take(2).map(|n| n.parse::<usize>().expect("line and column"));
            assert!(place.all(|n| n >= 1), "{message}");
        }
        assert!(message.len() < 400, "{message}");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]
        #[test]
        fn a_trace_is_read_or_refused_with_one_line_naming_file_and_line(bytes in file()) {
            match Trace::parse(&bytes, "t.csv") {
                Ok(t) => prop_assert!(!t.is_empty() && t.times.windows(2).all(|w| w[0] <= w[1])),
                Err(e) => check(&e.to_string()),
            }
            match Samples::parse(&bytes, "t.csv") {
                Ok(s) => prop_assert!(!s.sorted.is_empty()),
                Err(e) => check(&e.to_string()),
            }
        }
    }
}

/// The live engine's deadline is the model's (issue 25): an answer that arrives after
/// `--timeout` is a timeout, so no success is slower than the timeout (before: a max of
/// 6.99 ms at `--timeout 5ms`, the requester's timer firing late on a busy machine).
#[test]
fn live_successes_are_never_slower_than_the_timeout() {
    let _serial = common::one_at_a_time();
    let dir = scratch("live-timeout");
    let args = [
        "run",
        "--engine",
        "live",
        "--timeout",
        "5ms",
        "--requests",
        "3000",
        "--headless",
        "--format",
        "json",
    ];
    let ran = run_in(&dir, &args, Duration::from_secs(120));
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let max = report["latency_ms"]["max"].as_f64().expect("a max latency");
    assert!(max <= 5.0, "a success took {max} ms, over the 5 ms timeout");
}
