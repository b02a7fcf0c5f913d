//! The JSON contract (issue 21): every JSON document lbsim writes carries `schema_version` and
//! validates against its schema in `schemas/` (draft 2020-12); the schemas reject what breaks
//! the contract; and the package's `--version` names the commit it was built from.
//!
//! Validation runs `schemas/validate.py` (Python's `jsonschema` package, which `.ci/run`
//! installs): a Rust validator would add minutes to a fresh build on two cores. Without the
//! package these tests skip with a note, and fail under `LBSIM_REQUIRE_TOOLS=1` (CI).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{BIN, lbsim_in, scratch};
use serde_json::{Value, json};

const SCHEMAS: [&str; 6] = ["run", "compare", "compare-replicated", "crosscheck", "sweep", "plan"];

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

/// Runs the validator: its exit status (0 all valid, 1 some invalid, 2 no `jsonschema`) and
/// what it printed (one line per invalid document).
fn validate_files(schema: &str, docs: &[PathBuf]) -> (Option<i32>, String) {
    let o = Command::new("python3")
        .arg(schemas_dir().join("validate.py"))
        .arg(schema)
        .args(docs)
        .output()
        .expect("python3 runs");
    (o.status.code(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

/// Whether the validator can run here; see the top comment.
fn have_validator() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import jsonschema, referencing"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return true;
    }
    if std::env::var_os(common::real_time::REQUIRE_TOOLS).is_some_and(|v| !v.is_empty() && v != "0") {
        panic!("python3 with the jsonschema package is required: pip install jsonschema");
    }
    let note =
        "SKIPPED: the Python package jsonschema is not installed (pip install jsonschema; .ci/run does)\n";
    let _ = std::io::Write::write_all(&mut std::io::stderr(), note.as_bytes());
    false
}

/// Asserts that every document in `docs` validates against `schema`.
fn assert_valid(schema: &str, docs: &[PathBuf]) {
    let (code, out) = validate_files(schema, docs);
    assert_eq!(code, Some(0), "against {schema}.schema.json:\n{out}");
}

/// Runs lbsim in `dir` with `args`, expecting one of `codes`; its standard output goes to
/// `dir/name`, whose path is returned.
fn output(dir: &Path, name: &str, args: &[&str], codes: &[i32]) -> PathBuf {
    let o = lbsim_in(dir, args);
    let code = o.status.code().unwrap_or(-1);
    assert!(codes.contains(&code), "{args:?} exited {code}: {}", String::from_utf8_lossy(&o.stderr));
    let path = dir.join(name);
    std::fs::write(&path, &o.stdout).unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON: {e}"));
    assert_eq!(v["schema_version"], json!(lbsim::report::SCHEMA_VERSION), "{args:?}");
    path
}

#[test]
fn every_schema_is_draft_2020_12_and_names_this_version() {
    for name in SCHEMAS {
        let path = schemas_dir().join(format!("{name}.schema.json"));
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema", "{name}");
        assert_eq!(schema["$id"], format!("https://github.com/lbsim/lbsim/schemas/{name}.schema.json"));
        let version = if name == "run" {
            &schema["$defs"]["report"]["properties"]["schema_version"]
        } else {
            &schema["properties"]["schema_version"]
        };
        assert_eq!(version["const"], json!(lbsim::report::SCHEMA_VERSION), "{name}");
        let required = &schema["required"];
        assert!(required.as_array().unwrap().contains(&json!("schema_version")), "{name}");
    }
    let listed = std::fs::read_dir(schemas_dir())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".schema.json"));
    assert_eq!(listed.count(), SCHEMAS.len(), "a schema that no test checks");
    if have_validator() {
        // Every schema against the draft's metaschema.
        let (code, out) = validate_files("--check", &[]);
        assert_eq!(code, Some(0), "{out}");
    }
}

/// A small scenario for the runs below.
const SCENARIO: &str = "[arrivals]\nload = 0.7\n[run]\nrequests = 600\n";

/// A session recorded from [`SCENARIO`], with a strategy switch and a crash added at its end,
/// so that its replay reports interventions and strategy spans.
fn session_with_commands(dir: &Path) -> PathBuf {
    let rec = ["run", "--headless", "--scenario", "sc.toml", "--record", "s.json", "--format", "json"];
    output(dir, "recorded.json", &rec, &[0]);
    let mut s: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("s.json")).unwrap()).unwrap();
    let end = s["end"].clone();
    s["commands"] = json!([
        {"at": end, "action": "strategy", "name": "random"},
        {"at": end, "action": "up", "worker": 1, "up": false},
    ]);
    let path = dir.join("s2.json");
    std::fs::write(&path, s.to_string()).unwrap();
    path
}

#[test]
fn run_and_replay_reports_validate_in_all_their_shapes() {
    if !have_validator() {
        return;
    }
    let dir = scratch("schemas-run");
    std::fs::write(dir.join("sc.toml"), SCENARIO).unwrap();
    let capped = "[arrivals]\nload = 3.0\n[run]\nrequests = 5000\nmax_in_flight = 50\n";
    std::fs::write(dir.join("capped.toml"), capped).unwrap();
    let run = |name: &str, scenario: &str, extra: &[&str], codes: &[i32]| {
        let mut args =
            vec!["run", "--headless", "--format", "json", "--scenario", scenario, "--requests", "1500"];
        args.extend(extra);
        output(&dir, name, &args, codes)
    };
    let mut docs = vec![
        run("default.json", "default", &["--timeline", "1s"], &[0]),
        run("keys.json", "hot-keys", &[], &[0]),
        run("replicas.json", "replica-herding", &[], &[0]),
        run("autoscale.json", "autoscale", &["--engine", "sim"], &[0]),
        run("faults.json", "retry-storm", &[], &[0]),
        run("capped.json", "capped.toml", &[], &[3]),
    ];
    let session = session_with_commands(&dir);
    let replayed = output(
        &dir,
        "replay.json",
        &["replay", "--headless", session.to_str().unwrap(), "--format", "json"],
        &[0],
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&replayed).unwrap()).unwrap();
    assert_eq!(r["interventions"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(r["strategy_spans"].as_array().unwrap().len(), 2, "{r}");
    docs.push(replayed);
    let keys: Value = serde_json::from_str(&std::fs::read_to_string(&docs[1]).unwrap()).unwrap();
    assert!(keys["keys"].is_object(), "hot-keys reports its keys");
    assert_valid("run", &docs);
}

#[test]
fn compare_reports_validate() {
    if !have_validator() {
        return;
    }
    let dir = scratch("schemas-compare");
    let base = ["compare", "--strategies", "random,least-loaded", "--format", "json", "--requests", "500"];
    let mut headless = base.to_vec();
    headless.push("--headless");
    let compare = output(&dir, "compare.json", &headless, &[0]);
    assert_valid("compare", &[compare]);
    let mut replicated = base.to_vec();
    replicated.extend(["--replications", "3"]);
    let replicated = output(&dir, "replicated.json", &replicated, &[0]);
    assert_valid("compare-replicated", &[replicated]);
}

#[test]
fn sweep_plan_and_job_results_validate() {
    if !have_validator() {
        return;
    }
    let dir = scratch("schemas-sweep");
    let grid = [
        "--strategies",
        "random,least-loaded",
        "--loads",
        "0.5,0.9",
        "--replications",
        "2",
        "--requests",
        "300",
    ];
    let mut sweep = vec!["sweep", "--format", "json", "--vary", "workers=2,4"];
    sweep.extend(grid);
    let report = output(&dir, "sweep.json", &sweep, &[0]);
    assert_valid("sweep", &[report]);

    let mut plan = vec!["sweep", "--plan", "plan"];
    plan.extend(grid);
    let o = lbsim_in(&dir, &plan);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let plan_dir = dir.join("plan");
    assert_valid("plan", &[plan_dir.join("sweep.json")]);
    // Every job line, as a batch system would run it (lbsim on the PATH).
    let bin = Path::new(BIN).parent().unwrap().display().to_string();
    let path = format!("{bin}:{}", std::env::var("PATH").unwrap_or_default());
    let jobs = std::fs::read_to_string(plan_dir.join("jobs.txt")).unwrap();
    for line in jobs.lines() {
        let o = Command::new("sh").args(["-c", line]).env("PATH", &path).output().unwrap();
        assert!(o.status.success(), "{line}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let results: Vec<PathBuf> =
        std::fs::read_dir(plan_dir.join("results")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(results.len(), 8);
    assert_valid("run", &results);
    let merge = ["sweep", "--merge", "plan", "--format", "json"];
    let merged = output(&dir, "merged.json", &merge, &[0]);
    assert_valid("sweep", &[merged]);
}

#[test]
fn live_runs_and_crosscheck_validate() {
    if !have_validator() {
        return;
    }
    // Real time, but short, and only its shape is checked: no timing claim.
    let _serial = common::one_at_a_time();
    let dir = scratch("schemas-live");
    let short = ["--format", "json", "--requests", "200", "--warmup", "0s"];
    let mut live = vec!["run", "--headless", "--engine", "live"];
    live.extend(short);
    let run = output(&dir, "live.json", &live, &[0]);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&run).unwrap()).unwrap();
    assert!(v["live"].is_object(), "{v}");
    assert_valid("run", &[run]);
    let mut cross = vec!["crosscheck"];
    cross.extend(short);
    let cross = output(&dir, "crosscheck.json", &cross, &[0, 1]);
    assert_valid("crosscheck", &[cross]);
}

/// A document of each shape, broken in a way the contract forbids, is refused with a line
/// that says where.
#[test]
fn the_schemas_reject_broken_documents() {
    if !have_validator() {
        return;
    }
    let dir = scratch("schemas-broken");
    let args = [
        "compare",
        "--headless",
        "--strategies",
        "random,least-loaded",
        "--format",
        "json",
        "--requests",
        "300",
    ];
    let compare: Value =
        serde_json::from_str(&std::fs::read_to_string(output(&dir, "c.json", &args, &[0])).unwrap()).unwrap();
    let run = {
        let mut r = compare["runs"][0].clone();
        r["schema_version"] = json!(1);
        r
    };
    let broken: Vec<(&str, &str, Value)> = vec![
        ("run", "schema_version", {
            let mut r = run.clone();
            r.as_object_mut().unwrap().remove("schema_version");
            r
        }),
        ("run", "schema_version", {
            let mut r = run.clone();
            r["schema_version"] = json!(2);
            r
        }),
        ("run", "requests/completed", {
            let mut r = run.clone();
            r["requests"]["completed"] = json!("300");
            r
        }),
        ("run", "unexpected", {
            let mut r = run.clone();
            r["latency"] = json!(1.0);
            r
        }),
        ("run", "workers/0", {
            let mut r = run.clone();
            r["workers"][0].as_object_mut().unwrap().remove("utilization");
            r
        }),
        ("run", "engine", {
            let mut r = run.clone();
            r["engine"] = json!("model");
            r
        }),
        ("compare", "runs/1", {
            let mut c = compare.clone();
            c["runs"][1]["latency_ms"]["p99"] = json!("fast");
            c
        }),
        ("compare", "runs", {
            let mut c = compare.clone();
            c["runs"] = json!([]);
            c
        }),
    ];
    for (k, (schema, needle, doc)) in broken.iter().enumerate() {
        let path = dir.join(format!("broken-{k}.json"));
        std::fs::write(&path, doc.to_string()).unwrap();
        let (code, out) = validate_files(schema, &[path]);
        assert_eq!(code, Some(1), "broken document {k} passed {schema}.schema.json: {out}");
        assert!(out.contains(needle), "broken document {k}: {out:?} lacks {needle:?}");
    }
    // And the same document unbroken passes.
    let path = dir.join("whole.json");
    std::fs::write(&path, run.to_string()).unwrap();
    assert_valid("run", &[path]);
}

/// `lbsim --version`: the package's version and, built from a git checkout, its short commit.
#[test]
fn the_version_names_the_commit_it_was_built_from() {
    let o = Command::new(BIN).arg("--version").output().unwrap();
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    let manifest = env!("CARGO_MANIFEST_DIR");
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(manifest)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let top = git(&["rev-parse", "--show-toplevel"]);
    let checkout =
        top.is_some_and(|t| Path::new(&t).canonicalize().ok() == Path::new(manifest).canonicalize().ok());
    match git(&["rev-parse", "--short", "HEAD"]).filter(|_| checkout) {
        Some(commit) => assert_eq!(text, format!("lbsim {version} ({commit})\n")),
        None => assert_eq!(text, format!("lbsim {version}\n")),
    }
}
