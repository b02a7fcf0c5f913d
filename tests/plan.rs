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
    fails(&["sweep", "--merge", p], 1, "where the plan ran random with seed 2");
    std::fs::write(results.join("cell-0-r1.json"), "{ half").unwrap();
    fails(&["sweep", "--merge", p], 1, "not a JSON report");
    // A plan's options that only a merge can use.
    let other = dir.join("other");
    let mut plotted = grid.to_vec();
    plotted.extend(["--plan", other.to_str().unwrap(), "--format", "json"]);
    fails(&plotted, 2, "give them to `lbsim sweep --merge DIR`");
    let _ = std::fs::remove_dir_all(&dir);
}
