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
