//! Sweeps, `compare --replications` and crosscheck under hostile conditions (issue 25): huge
//! grids, signals, interrupted runs, and paths a shell would split.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, Ran, assert_refused, scratch};

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
