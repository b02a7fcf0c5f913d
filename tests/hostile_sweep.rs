//! Sweeps, `compare --replications` and crosscheck under hostile conditions (issue 25): huge
//! grids, signals, interrupted runs, and paths a shell would split.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, Ran, assert_refused, one_at_a_time, scratch};

/// Runs lbsim with `args` under a 1 GB address-space limit (`ulimit -v`), so that a grid
/// needing more aborts here rather than swapping the machine.
fn limited(args: &[&str]) -> Ran {
    let o = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1000000 && exec \"$0\" \"$@\"")
        .arg(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("sh runs");
    Ran::from(o)
}

#[test]
fn a_grid_beyond_the_bound_is_refused_before_anything_is_allocated() {
    let huge = ["sweep", "--loads", "0.001..1:0.001", "--replications", "10000", "--headless"];
    assert_refused(&limited(&huge), &["30000000 runs", "at most 250000"]);
    let dir = scratch("huge-plan");
    let plan = dir.join("plan");
    let mut args = huge.to_vec();
    args.extend(["--plan", plan.to_str().unwrap()]);
    assert_refused(&limited(&args), &["at most 250000"]);
    assert!(!plan.exists(), "a refused plan wrote {}", plan.display());
}

#[test]
fn the_biggest_grid_accepted_plans_within_the_memory_limit() {
    // 1000 loads x 250 replications: exactly the bound.
    let dir = scratch("biggest-plan");
    let plan = dir.join("plan");
    let args = [
        "sweep",
        "--strategies",
        "round-robin",
        "--loads",
        "0.001..1:0.001",
        "--replications",
        "250",
        "--plan",
        plan.to_str().unwrap(),
    ];
    let ran = limited(&args);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let lines = std::fs::read_to_string(plan.join("jobs.txt")).unwrap().lines().count();
    assert_eq!(lines, 250_000);
}

#[test]
fn a_job_line_runs_through_sh_with_a_space_a_quote_and_a_newline_in_its_paths() {
    let dir = scratch("odd-paths");
    let odd = dir.join("it's a\nfolder %s \\n $HOME");
    std::fs::create_dir_all(&odd).unwrap();
    let scenario = odd.join("two.toml");
    std::fs::write(
        &scenario,
        "name = \"two\"\nservice = \"exp:10ms\"\n[[workers]]\ncount = 2\n[run]\nrequests = 200\nseed = 7\n",
    )
    .unwrap();
    let plan = odd.join("plan");
    let ran = Ran::from(
        Command::new(BIN)
            .args(["sweep", "--strategies", "random", "--loads", "0.5", "--replications", "2"])
            .arg("--scenario")
            .arg(&scenario)
            .arg("--plan")
            .arg(&plan)
            .output()
            .unwrap(),
    );
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let jobs = std::fs::read_to_string(plan.join("jobs.txt")).unwrap();
    assert_eq!(jobs.lines().count(), 2, "{jobs}");
    let line = jobs.lines().next().unwrap();
    let bin = std::path::Path::new(BIN).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let ran = Ran::from(
        Command::new("sh").arg("-c").arg(line).env("PATH", path).current_dir("/").output().unwrap(),
    );
    assert_eq!(ran.code, Some(0), "{line}: {}", ran.stderr);
    let result = plan.join("results").join("cell-0-r0.json");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap();
    assert_eq!(report["seed"], 7);
}

#[test]
fn a_scenario_path_ending_with_a_newline_is_refused_for_a_plan() {
    let dir = scratch("trailing-newline");
    let scenario = dir.file("two.toml\n", "name = \"two\"\n[[workers]]\ncount = 2\n");
    let plan = dir.join("plan");
    let ran = Ran::from(
        Command::new(BIN)
            .args(["sweep", "--loads", "0.5", "--scenario", &scenario, "--plan"])
            .arg(&plan)
            .output()
            .unwrap(),
    );
    assert_refused(&ran, &["ends with a newline"]);
    assert!(!plan.exists(), "a refused plan made {}", plan.display());
}

/// Spawns lbsim with `args` (`--jobs 2` or two cores' worth of runs), waits until its pool's
/// threads run, sends `signal`, and returns how it ended, within a generous bound.
fn interrupted(args: &[&str], signal: i32) -> Ran {
    interrupted_running(args, signal, 4)
}

/// As [`interrupted`], once lbsim runs `threads` threads.
fn interrupted_running(args: &[&str], signal: i32, threads_running: usize) -> Ran {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lbsim starts");
    let pid = child.id();
    // Running: the signal watcher's thread and at least two of the pool's.
    let threads = || std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| d.count());
    let started = Instant::now();
    while threads() < threads_running {
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("lbsim {args:?} ended before it was signalled: {status}");
        }
        assert!(started.elapsed() < Duration::from_secs(60), "lbsim {args:?} never started its runs");
        std::thread::sleep(Duration::from_millis(5));
    }
    let sent = Instant::now();
    // SAFETY: kill only sends a signal to the child this test started.
    assert_eq!(unsafe { libc::kill(pid as i32, signal) }, 0);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    // A second is the rule; the margin is for a busy 2-core machine (and a debug build).
    let out = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|_| {
        // SAFETY: as above.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        panic!("lbsim {args:?} ran on for 20 s after the signal")
    });
    let ran = Ran::from(out.expect("lbsim ends"));
    assert!(sent.elapsed() < Duration::from_secs(20));
    ran
}

/// A grid that takes minutes to run in full.
const LONG_SWEEP: &[&str] = &[
    "sweep",
    "--strategies",
    "round-robin,least-loaded",
    "--loads",
    "0.5,0.9",
    "--replications",
    "20",
    "--requests",
    "5000000",
    "--jobs",
    "2",
    "--headless",
    "--format",
    "json",
];

#[test]
fn a_headless_sweep_stops_on_sigterm_and_reports_what_finished_as_partial() {
    let _serial = one_at_a_time();
    let ran = interrupted(LONG_SWEEP, libc::SIGTERM);
    assert_eq!(ran.code, Some(128 + libc::SIGTERM), "{}", ran.stderr);
    assert!(ran.stderr.contains("interrupted by SIGTERM"), "{}", ran.stderr);
    let out: serde_json::Value = serde_json::from_str(&ran.stdout).expect("a JSON report");
    assert_eq!(out["sweep"]["partial"], true, "{}", ran.stdout);
    assert_eq!(out["sweep"]["interrupted_by"], "SIGTERM");
}

#[test]
fn a_headless_sweep_stops_on_the_first_sighup() {
    let _serial = one_at_a_time();
    let mut args = LONG_SWEEP.to_vec();
    args.retain(|a| *a != "json" && *a != "--format");
    let ran = interrupted(&args, libc::SIGHUP);
    assert_eq!(ran.code, Some(128 + libc::SIGHUP), "{}", ran.stderr);
    assert!(ran.stdout.contains("partial: interrupted by SIGHUP"), "{}", ran.stdout);
}

#[test]
fn compare_with_replications_stops_on_ctrl_c_and_compares_only_the_same_seeds() {
    let _serial = one_at_a_time();
    let args = [
        "compare",
        "--strategies",
        "round-robin,least-loaded",
        "--load",
        "0.9",
        "--requests",
        "5000000",
        "--replications",
        "10",
        "--headless",
        "--format",
        "json",
    ];
    let ran = interrupted(&args, libc::SIGINT);
    assert_eq!(ran.code, Some(128 + libc::SIGINT), "{}", ran.stderr);
    assert!(ran.stderr.contains("interrupted by SIGINT"), "{}", ran.stderr);
    let out: serde_json::Value = serde_json::from_str(&ran.stdout).expect("a JSON report");
    assert_eq!(out["partial"], true, "{}", ran.stdout);
    let runs: Vec<u64> =
        out["strategies"].as_array().unwrap().iter().map(|s| s["replications"].as_u64().unwrap()).collect();
    assert!(runs.windows(2).all(|w| w[0] == w[1]), "unequal replications compared: {runs:?}");
    if runs[0] < 2 {
        assert!(out["leader"].is_null(), "a leader over fewer than 2 seeds: {}", ran.stdout);
    }
}

#[test]
fn an_interrupted_compare_names_no_leader_over_runs_stopped_at_different_points() {
    let _serial = one_at_a_time();
    let mut args = vec!["compare", "--strategies", "round-robin,least-loaded", "--load", "0.9"];
    args.extend(["--requests", "50000000", "--headless"]);
    let ran = interrupted(&args, libc::SIGTERM);
    assert_eq!(ran.code, Some(128 + libc::SIGTERM), "{}", ran.stderr);
    assert!(!ran.stdout.contains("leads on p99"), "{}", ran.stdout);
    assert!(ran.stdout.contains("no p99 leader: interrupted by SIGTERM"), "{}", ran.stdout);
    args.extend(["--format", "json"]);
    let ran = interrupted(&args, libc::SIGTERM);
    let out: serde_json::Value = serde_json::from_str(&ran.stdout).expect("a JSON report");
    assert_eq!(out["partial"], true, "{}", ran.stdout);
    assert_eq!(out["runs"][0]["interrupted_by"], "SIGTERM");
}

#[test]
fn a_plan_job_stopped_by_sigterm_exits_143_with_a_partial_report_and_stays_to_run() {
    let _serial = one_at_a_time();
    let dir = scratch("job-sigterm");
    let plan = dir.join("plan");
    let grid = [
        "sweep",
        "--strategies",
        "random",
        "--loads",
        "0.9",
        "--replications",
        "2",
        "--requests",
        "50000000",
    ];
    let mut args = grid.to_vec();
    args.extend(["--plan", plan.to_str().unwrap()]);
    assert_eq!(Ran::from(Command::new(BIN).args(&args).output().unwrap()).code, Some(0));
    let jobs = std::fs::read_to_string(plan.join("jobs.txt")).unwrap();
    let line = jobs.lines().next().unwrap();
    // The line's words (plain: no quoting needed here), run as a batch system would.
    let words: Vec<&str> = line.split(' ').skip(1).collect();
    // Running: the main thread, the signal watcher's and the run's.
    let ran = interrupted_running(&words, libc::SIGTERM, 3);
    assert_eq!(ran.code, Some(128 + libc::SIGTERM), "{}", ran.stderr);
    assert!(ran.stderr.contains("interrupted by SIGTERM"), "{}", ran.stderr);
    let result = plan.join("results").join("cell-0-r0.json");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap();
    assert_eq!(report["partial"], true);
    assert_eq!(report["plan"]["status"], "interrupted");
    let missing = Ran::from(
        Command::new(BIN).args(["sweep", "--merge", plan.to_str().unwrap(), "--missing"]).output().unwrap(),
    );
    assert_eq!(missing.stdout, jobs, "both lines are still to run, the stopped one too");
}
