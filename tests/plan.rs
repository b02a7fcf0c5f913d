//! `lbsim sweep --plan DIR` / `--merge DIR`: the jobs run as `deploy/` runs them (GNU
//! parallel, which `.ci/run` installs; a Slurm array task; a Kubernetes Indexed Job's pod
//! script), from another folder, then merged into exactly the report the in-process sweep
//! prints.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{BIN, lbsim, ok, ok_in, scratch};

/// The repository's `deploy/` folder.
fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy").join(file)
}

/// A command run from `/` with lbsim on the PATH, as on a batch system's node.
fn on_a_node(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let bin = Path::new(BIN).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut c = Command::new(program);
    c.env("PATH", path).current_dir("/");
    c
}

fn succeeds(c: &mut Command) -> Vec<u8> {
    let out = c.output().expect("runs");
    assert!(out.status.success(), "{c:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Runs every line of `DIR/jobs.txt` with `deploy/parallel.sh` (GNU parallel, which
/// `.ci/run` installs), and returns what its merge printed with `merge_args`.
fn run_with_parallel(dir: &Path, merge_args: &[&str]) -> Vec<u8> {
    succeeds(on_a_node("bash").arg(deploy("parallel.sh")).arg(dir).args(merge_args))
}

/// A scenario file in a folder with a space in its name, given by a relative path, so the
/// plan must quote and make it absolute for the jobs to run from elsewhere.
fn scenario(dir: &Path) -> PathBuf {
    let sub = dir.join("my scenarios");
    std::fs::create_dir_all(&sub).unwrap();
    let file = sub.join("two.toml");
    std::fs::write(
        &file,
        "name = \"two\"\nservice = \"exp:10ms\"\n[[workers]]\ncount = 4\n[run]\nrequests = 1500\nseed = 7\n",
    )
    .unwrap();
    file
}

const GRID: &[&str] = &[
    "--strategies",
    "random,least-loaded",
    "--loads",
    "0.5,0.9",
    "--vary",
    "workers=2,4",
    "--replications",
    "2",
    "--warmup",
    "auto",
];

#[test]
fn a_planned_sweep_run_by_gnu_parallel_merges_into_the_in_process_report() {
    if !common::have("parallel", "apt-get install parallel") {
        return;
    }
    let dir = scratch("round-trip");
    let file = scenario(&dir);
    let plan = dir.join("plan");
    let mut args = vec!["sweep", "--scenario", file.to_str().unwrap(), "--error-rate", "0.01"];
    args.extend(GRID);
    let mut planned = vec!["sweep", "--scenario", "my scenarios/two.toml", "--error-rate", "0.01"];
    planned.extend(GRID);
    planned.extend(["--plan", "plan"]);
    let said = String::from_utf8(ok_in(&dir, &planned)).unwrap();
    assert!(said.contains("wrote 16 jobs"), "{said}");
    let jobs = std::fs::read_to_string(plan.join("jobs.txt")).unwrap();
    assert_eq!(jobs.lines().count(), 16);
    let first = jobs.lines().next().unwrap();
    assert!(first.starts_with("lbsim run '--scenario=/"), "absolute and quoted: {first}");
    for flag in ["--error-rate=0.01", "--warmup=auto", "--strategy=random", "--load=0.5", "--workers=2"] {
        assert!(first.contains(flag), "{flag} missing: {first}");
    }
    assert!(first.contains("--seed=7 --headless --format=json --output="), "{first}");
    assert!(!jobs.contains("--replications") && !jobs.contains("--vary"), "{jobs}");

    let merged = run_with_parallel(&plan, &["--format", "json"]);
    let mut direct = args.clone();
    direct.extend(["--format", "json"]);
    assert_eq!(String::from_utf8(merged).unwrap(), String::from_utf8(ok(&direct)).unwrap());

    let merge = plan.to_str().unwrap();
    for format in ["json", "csv", "table"] {
        let mut direct = args.clone();
        direct.extend(["--format", format]);
        let merged = ok(&["sweep", "--merge", merge, "--format", format]);
        assert_eq!(
            String::from_utf8(merged).unwrap(),
            String::from_utf8(ok(&direct)).unwrap(),
            "--format {format}: the merge differs from the in-process sweep"
        );
    }
    // The figure shown is the plan's unless the merge asks for another.
    let table = String::from_utf8(ok(&["sweep", "--merge", merge, "--metric", "goodput"])).unwrap();
    assert!(table.contains("goodput (requests/s)"), "{table}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn fails(args: &[&str], code: i32, needle: &str) {
    let o = lbsim(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "{args:?}: `{needle}` not in {err}");
}

#[test]
fn merging_what_is_missing_stale_or_not_a_plan_says_so_in_one_line() {
    let dir = scratch("errors");
    let plan = dir.join("plan");
    let p = plan.to_str().unwrap();
    let grid =
        ["sweep", "--strategies", "random", "--loads", "0.5", "--replications", "2", "--requests", "500"];
    let mut planned = grid.to_vec();
    planned.extend(["--plan", p]);
    ok(&planned);
    fails(&["sweep", "--merge", p], 1, "2 of 2 results are missing");
    assert_eq!(ok(&["sweep", "--merge", p, "--missing"]).iter().filter(|&&b| b == b'\n').count(), 2);
    // Line 1 as Slurm's array task 1 runs it.
    succeeds(on_a_node("bash").arg(deploy("slurm.sh")).arg(&plan).env("SLURM_ARRAY_TASK_ID", "1"));
    fails(&["sweep", "--merge", p], 1, "1 of 2 results are missing");
    // Line 2 as the Kubernetes Indexed Job's pod of index 1 runs it: the manifest's script.
    let manifest = std::fs::read_to_string(deploy("kubernetes.yaml")).unwrap();
    let script: String = manifest
        .lines()
        .skip_while(|l| l.trim() != "- |")
        .skip(1)
        .take_while(|l| l.starts_with("              "))
        .map(|l| format!("{}\n", l.trim_start()))
        .collect();
    assert!(script.contains("JOB_COMPLETION_INDEX + 1"), "{script}");
    succeeds(on_a_node("sh").args(["-c", &script]).env("PLAN", &plan).env("JOB_COMPLETION_INDEX", "1"));
    let mut direct = grid.to_vec();
    direct.extend(["--format", "json"]);
    assert_eq!(ok(&["sweep", "--merge", p, "--format", "json"]), ok(&direct));
    // A task past the last line says so.
    let o = on_a_node("bash")
        .arg(deploy("slurm.sh"))
        .arg(&plan)
        .env("SLURM_ARRAY_TASK_ID", "3")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    // The grid comes from the plan: options that would change it are refused.
    fails(&["sweep", "--merge", p, "--loads", "0.3"], 2, "--loads: --merge reads the grid");
    fails(&["sweep", "--merge", p, "--workers", "3"], 2, "--workers: --merge reads the grid");
    // Planning again into the same folder would mix old results with new jobs.
    fails(&planned, 2, "already has files");
    fails(&["sweep", "--merge", dir.to_str().unwrap()], 2, "is it a folder written by --plan?");
    // A result from another run (here, another seed) is caught.
    let results = plan.join("results");
    std::fs::copy(results.join("cell-0-r0.json"), results.join("cell-0-r1.json")).unwrap();
    fails(&["sweep", "--merge", p], 2, "a duplicate of results/cell-0-r0.json");
    std::fs::write(results.join("cell-0-r1.json"), "{ half").unwrap();
    fails(&["sweep", "--merge", p], 2, "not a JSON report");
    // A plan's options that only a merge can use.
    let other = dir.join("other");
    let mut plotted = grid.to_vec();
    plotted.extend(["--plan", other.to_str().unwrap(), "--format", "json"]);
    fails(&plotted, 2, "give them to `lbsim sweep --merge DIR`");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Plans `grid` into `dir/NAME` and runs every line through `sh` from `/`; returns the plan.
fn planned_and_run(dir: &Path, name: &str, grid: &[&str]) -> PathBuf {
    let plan = dir.join(name);
    let mut args = grid.to_vec();
    args.extend(["--plan", plan.to_str().unwrap()]);
    ok(&args);
    run_lines(&std::fs::read_to_string(plan.join("jobs.txt")).unwrap());
    plan
}

/// Runs job lines through `sh`, as a batch system's node would; returns their exit statuses.
fn run_lines(lines: &str) -> Vec<Option<i32>> {
    lines.lines().map(|line| on_a_node("sh").args(["-c", line]).output().unwrap().status.code()).collect()
}

/// A refusal of the merge: exit 2, one line naming `file` and saying `why`, nothing on stdout.
fn refused(plan: &Path, file: &str, why: &str) {
    let o = lbsim(&["sweep", "--merge", plan.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(o.stdout.is_empty(), "printed {}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(file) && err.contains(why), "`{file}` and `{why}` not in {err}");
}

/// The lines --missing prints.
fn missing(plan: &Path) -> String {
    String::from_utf8(ok(&["sweep", "--merge", plan.to_str().unwrap(), "--missing"])).unwrap()
}

const SMALL: &[&str] =
    &["sweep", "--strategies", "random", "--loads", "0.5,0.7", "--replications", "2", "--requests", "300"];

#[test]
fn a_result_of_another_load_plan_seed_or_version_is_refused_naming_its_file_and_rerun() {
    let dir = scratch("refusals");
    let plan = planned_and_run(&dir, "plan", SMALL);
    let mut direct = SMALL.to_vec();
    direct.extend(["--format", "json"]);
    let expected = ok(&direct);
    let merge = plan.to_str().unwrap();
    assert_eq!(ok(&["sweep", "--merge", merge, "--format", "json"]), expected);
    assert_eq!(missing(&plan), "");
    let results = plan.join("results");
    let jobs: Vec<String> =
        std::fs::read_to_string(plan.join("jobs.txt")).unwrap().lines().map(String::from).collect();
    let first = results.join("cell-0-r0.json");
    let good = std::fs::read_to_string(&first).unwrap();
    let check = |text: &str, why: &str| {
        std::fs::write(&first, text).unwrap();
        refused(&plan, "cell-0-r0.json", why);
        // --missing lists exactly its line; running it makes the plan whole again.
        assert_eq!(missing(&plan), format!("{}\n", jobs[0]), "{why}");
        assert_eq!(run_lines(&missing(&plan)), [Some(0)]);
        assert_eq!(ok(&["sweep", "--merge", merge, "--format", "json"]), expected, "{why}");
    };
    // The first fault: another load's result (same strategy and seed) in this cell.
    check(
        &std::fs::read_to_string(results.join("cell-1-r0.json")).unwrap(),
        "a duplicate of results/cell-1-r0.json",
    );
    check(&good[..good.len() / 2], "not a JSON report");
    check(&good.replace("\"status\": \"complete\"", "\"status\": \"interrupted\""), "stopped by a signal");
    check(&good.replace("\"lbsim\": \"", "\"lbsim\": \"0.0.0-other"), "run by lbsim 0.0.0-other");
    let unstamped: serde_json::Value = serde_json::from_str(&good).unwrap();
    let mut unstamped = unstamped.as_object().unwrap().clone();
    unstamped.remove("plan");
    check(&serde_json::to_string(&unstamped).unwrap(), "no `plan` stamp");
    // Its line run with another load, seed, scenario or request count (the same stamp).
    for (from, to, why) in [
        ("--load=0.5", "--load=0.6", "load 0.6 (the plan's: 0.5)"),
        ("--seed=1", "--seed=9", "seed 9 (the plan's: 1)"),
        ("lbsim run", "lbsim run --scenario=one-worker", "scenario one-worker (the plan's: default)"),
    ] {
        assert_eq!(run_lines(&jobs[0].replace(from, to)), [Some(0)]);
        refused(&plan, "cell-0-r0.json", why);
        assert_eq!(run_lines(&missing(&plan)), [Some(0)]);
    }
    // A whole results folder of another plan (other scenario and request count).
    let mut other = vec!["sweep", "--scenario", "one-worker", "--strategies", "random", "--loads", "0.5,0.7"];
    other.extend(["--replications", "2", "--requests", "400"]);
    let other = planned_and_run(&dir, "other", &other);
    for name in ["cell-0-r0.json", "cell-0-r1.json", "cell-1-r0.json", "cell-1-r1.json"] {
        std::fs::copy(other.join("results").join(name), results.join(name)).unwrap();
    }
    refused(&plan, "cell-0-r0.json", "a result of another plan");
    assert_eq!(missing(&plan).lines().count(), 4);
    run_lines(&missing(&plan));
    assert_eq!(ok(&["sweep", "--merge", merge, "--format", "json"]), expected);
}

#[test]
fn a_vary_value_of_another_cell_is_refused() {
    let dir = scratch("vary-refusal");
    let mut grid = SMALL.to_vec();
    grid.extend(["--vary", "workers=2,3"]);
    let plan = planned_and_run(&dir, "plan", &grid);
    let jobs = std::fs::read_to_string(plan.join("jobs.txt")).unwrap();
    let line = jobs.lines().next().unwrap();
    assert!(line.contains("--workers=2"), "{line}");
    assert_eq!(run_lines(&line.replace("--workers=2", "--workers=3")), [Some(0)]);
    refused(&plan, "cell-0-r0.json", "workers 3 (the plan's: 2)");
}

#[test]
fn runs_stopped_at_the_in_flight_cap_merge_as_the_in_process_sweep_reports_them() {
    if !common::have("parallel", "apt-get install parallel") {
        return;
    }
    let dir = scratch("capped");
    let mut grid = vec!["sweep", "--scenario", "identical-workers", "--strategies", "random"];
    grid.extend(["--loads", "0.5,3", "--replications", "2", "--max-in-flight", "200", "--requests", "3000"]);
    let plan = dir.join("plan");
    let mut args = grid.clone();
    args.extend(["--plan", plan.to_str().unwrap()]);
    ok(&args);
    let codes = run_lines(&std::fs::read_to_string(plan.join("jobs.txt")).unwrap());
    assert_eq!(codes, [Some(0), Some(0), Some(3), Some(3)], "the overloaded runs stop at the cap");
    assert_eq!(missing(&plan), "", "a capped run is a result");
    std::fs::remove_dir_all(plan.join("results")).unwrap();
    std::fs::create_dir(plan.join("results")).unwrap();
    let merged =
        on_a_node("bash").arg(deploy("parallel.sh")).arg(&plan).args(["--format", "json"]).output().unwrap();
    grid.extend(["--format", "json"]);
    let direct = lbsim(&grid);
    assert_eq!(direct.status.code(), Some(3));
    assert_eq!(merged.status.code(), Some(3), "{}", String::from_utf8_lossy(&merged.stderr));
    assert_eq!(String::from_utf8(merged.stdout).unwrap(), String::from_utf8(direct.stdout).unwrap());
}

#[test]
fn parallel_sh_leaves_healthy_jobs_alone_when_a_line_fails_and_a_rerun_completes_the_plan() {
    if !common::have("parallel", "apt-get install parallel") {
        return;
    }
    let dir = scratch("rerun");
    let plan = dir.join("plan");
    let mut args = SMALL.to_vec();
    args.extend(["--plan", plan.to_str().unwrap()]);
    ok(&args);
    // Line 2 cannot write its result: it fails, the others run to their end.
    let blocked = plan.join("results").join("cell-0-r1.json");
    std::fs::create_dir(&blocked).unwrap();
    let o = on_a_node("bash").arg(deploy("parallel.sh")).arg(&plan).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("1 lines of") && err.contains("run this script again"), "{err}");
    let jobs = std::fs::read_to_string(plan.join("jobs.txt")).unwrap();
    assert_eq!(missing(&plan), format!("{}\n", jobs.lines().nth(1).unwrap()));
    std::fs::remove_dir(&blocked).unwrap();
    let merged = run_with_parallel(&plan, &["--format", "json"]);
    let mut direct = SMALL.to_vec();
    direct.extend(["--format", "json"]);
    assert_eq!(String::from_utf8(merged).unwrap(), String::from_utf8(ok(&direct)).unwrap());
}

#[test]
fn an_empirical_service_file_given_relative_runs_from_another_folder() {
    let dir = scratch("empirical");
    let mut csv = String::from("latency_ms\n");
    for i in 1..50 {
        csv += &format!("{}\n", i as f64 / 5.0);
    }
    std::fs::write(dir.join("lat.csv"), csv).unwrap();
    let mut args = SMALL.to_vec();
    args.extend(["--service", "empirical:lat.csv", "--plan", "plan"]);
    ok_in(&dir, &args);
    let jobs = std::fs::read_to_string(dir.join("plan").join("jobs.txt")).unwrap();
    let service =
        format!("--service=empirical:{}", std::fs::canonicalize(dir.join("lat.csv")).unwrap().display());
    assert!(jobs.lines().all(|l| l.contains(&service)), "{jobs}");
    assert!(run_lines(&jobs).iter().all(|c| *c == Some(0)), "the lines run from /");
    let merged = ok(&["sweep", "--merge", dir.join("plan").to_str().unwrap(), "--format", "json"]);
    args.truncate(args.len() - 2);
    args.extend(["--format", "json"]);
    assert_eq!(String::from_utf8(merged).unwrap(), String::from_utf8(ok_in(&dir, &args)).unwrap());
}

#[test]
fn slurm_chunks_lines_per_task_and_refuses_task_zero() {
    let dir = scratch("slurm");
    let mut grid = SMALL.to_vec();
    grid.extend(["--vary", "workers=2,3"]);
    let plan = dir.join("plan");
    let mut args = grid.clone();
    args.extend(["--plan", plan.to_str().unwrap()]);
    ok(&args);
    let task = |id: &str| {
        on_a_node("bash")
            .arg(deploy("slurm.sh"))
            .arg(&plan)
            .arg("3")
            .env("SLURM_ARRAY_TASK_ID", id)
            .output()
            .unwrap()
    };
    // 8 lines, 3 per task: tasks 1 to 3, the last with 2 lines.
    for id in ["1", "2", "3"] {
        let o = task(id);
        assert_eq!(o.status.code(), Some(0), "task {id}: {}", String::from_utf8_lossy(&o.stderr));
    }
    grid.extend(["--format", "json"]);
    assert_eq!(ok(&["sweep", "--merge", plan.to_str().unwrap(), "--format", "json"]), ok(&grid));
    let zero = task("0");
    assert_eq!(zero.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&zero.stderr).contains("task ids count from 1"));
    let past = task("4");
    assert_eq!(past.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&past.stderr).contains("has no line 10"));
}

#[test]
fn the_kubernetes_manifest_validates_against_the_api_schemas_offline() {
    if !common::have("kubernetes-validate", "pip install kubernetes-validate") {
        return;
    }
    let manifest = std::fs::read_to_string(deploy("kubernetes.yaml")).unwrap().replace("COMPLETIONS", "4");
    for kind in ["kind: PersistentVolumeClaim", "ReadWriteMany", "name: lbsim-sweep-merge"] {
        assert!(manifest.contains(kind), "{kind}");
    }
    for version in ["1.29", "1.37"] {
        let mut child = Command::new("kubernetes-validate")
            .args(["--strict", "-k", version, "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), manifest.as_bytes()).unwrap();
        let o = child.wait_with_output().unwrap();
        let said = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{version}: {said}");
        assert_eq!(said.matches("passed").count(), 3, "{said}");
    }
}

#[test]
fn a_trace_scenario_sweeps_its_loads_as_replay_speeds_and_its_lines_run_from_anywhere() {
    let dir = scratch("trace");
    let sub = dir.join("traces");
    std::fs::create_dir_all(&sub).unwrap();
    let mut csv = String::from("time,demand\n");
    for i in 0..400 {
        csv += &format!("{:.4},{}ms\n", i as f64 * 0.003, 2 + i % 5);
    }
    std::fs::write(sub.join("t.csv"), csv).unwrap();
    std::fs::write(
        sub.join("t.toml"),
        "name = \"t\"\nservice = \"exp:10ms\"\n[arrivals]\nkind = \"trace\"\nfile = \"t.csv\"\n[[workers]]\ncount = 2\n",
    )
    .unwrap();
    let grid =
        ["sweep", "--scenario", "traces/t.toml", "--strategies", "random,least-loaded", "--loads", "0.5,0.8"];
    let mut grid = grid.to_vec();
    grid.extend(["--replications", "2", "--vary", "workers=2,3"]);
    let mut planned = grid.clone();
    planned.extend(["--plan", "plan"]);
    ok_in(&dir, &planned);
    let jobs = std::fs::read_to_string(dir.join("plan").join("jobs.txt")).unwrap();
    assert!(jobs.lines().all(|l| l.contains("--trace-scale=") && !l.contains("--load=")), "{jobs}");
    assert!(run_lines(&jobs).iter().all(|c| *c == Some(0)), "the lines run from /");
    let merged = ok(&["sweep", "--merge", dir.join("plan").to_str().unwrap(), "--format", "json"]);
    grid.extend(["--format", "json"]);
    let direct = ok_in(&dir, &grid);
    assert_eq!(String::from_utf8(merged).unwrap(), String::from_utf8(direct.clone()).unwrap());
    // Each cell's runs offered the cell's load.
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("plan").join("results").join("cell-1-r0.json")).unwrap(),
    )
    .unwrap();
    assert!((report["offered_load"].as_f64().unwrap() - 0.8).abs() < 1e-9, "{}", report["offered_load"]);
    // --trace-scale would fight --loads.
    grid.extend(["--trace-scale", "2"]);
    let o = common::lbsim_in(&dir, &grid);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--trace-scale: a sweep of a trace"));
}
