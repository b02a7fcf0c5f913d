//! The real binary: exit codes, one-line errors, every scenario, the JSON contract.

mod common;

use std::path::Path;
use std::process::Command;

use common::{assert_input_error, lbsim, stderr, stdout};

#[test]
fn bad_scenario_files_name_file_line_and_field() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let expect =
            text.lines().next().and_then(|l| l.strip_prefix("# expect: ")).expect("fixture has # expect:");
        let rel = format!("tests/fixtures/bad/{}", path.file_name().unwrap().to_str().unwrap());
        let o = Command::new(env!("CARGO_BIN_EXE_lbsim"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["check", &rel])
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{rel}: {err}");
        assert_eq!(err.lines().count(), 1, "{rel}: {err}");
        assert!(
            err.starts_with(&format!("lbsim: {rel}:{expect}")),
            "{rel}: got {err:?}, expected {expect:?}"
        );
        // `run` reports the same problem.
        let run = Command::new(env!("CARGO_BIN_EXE_lbsim"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["run", "--headless", "--scenario", &rel])
            .output()
            .unwrap();
        assert_eq!((run.status.code(), stderr(&run)), (Some(2), err.clone()));
        checked += 1;
    }
    assert!(checked >= 10);
}

#[test]
fn unknown_strategies_list_the_valid_ones() {
    let valid = "(valid: round-robin, random, least-loaded, power-of-two, weighted-round-robin, peak-ewma, \
                 least-request, join-idle-queue, least-work-left, ring-hash, maglev, bounded-hash, sita, sita-e)";
    assert_input_error(&["run", "--strategy", "fastest"], &format!("unknown strategy `fastest` {valid}"));
    assert_input_error(&["compare", "--strategies", "random,fastest"], "unknown strategy `fastest`");
    assert_input_error(&["compare", "--strategies", "random,random"], "strategy `random` is listed twice");
    assert_input_error(&["run", "--slow-start", "soon"], "invalid value 'soon' for '--slow-start");
    assert_input_error(
        &["run", "--engine", "live", "--scenario", "slow-start"],
        "the live engine does not model slow start",
    );
    // The strategies' knobs, checked by the model and blamed on their flags.
    assert_input_error(&["run", "--balance-factor", "0.9"], "--balance-factor: must be above 1");
    assert_input_error(
        &["run", "--active-request-bias", "11"],
        "--active-request-bias: must be from 0 to 10",
    );
    assert_input_error(&["run", "--table-size", "1"], "--table-size: must be from 2");
    // An oracle reads what only the model knows.
    assert_input_error(
        &["run", "--engine", "live", "--strategy", "least-work-left"],
        "strategy `least-work-left` is an oracle",
    );
}

#[test]
fn nonsense_numbers_are_refused() {
    for (args, words) in [
        (&["run", "--workers", "0"][..], "--workers <N>': must be a whole number from 1 to 1000000, got 0"),
        (&["run", "--workers", "many"][..], "`many` is not a whole number from 1 to 1000000"),
        (&["run", "--rate", "-5"][..], "--rate <R>': must be a positive number, got -5"),
        (&["run", "--rate", "0"][..], "must be a positive number, got 0"),
        (&["run", "--load", "NaN"][..], "must be a positive number, got NaN"),
        (&["run", "--rate", "1e12"][..], "above the maximum"),
        (&["run", "--duration", "10"][..], "duration `10` has no unit"),
        (&["run", "--duration", "0s"][..], "`0s` must be longer than 0"),
        (&["run", "--duration", "-3s"][..], "duration `-3s` is negative"),
        (&["run", "--requests", "0"][..], "must be a whole number of at least 1, got 0"),
        (&["run", "--service", "exp:0ms"][..], "the mean must be positive"),
        (&["run", "--service", "gauss:1ms"][..], "unknown distribution `gauss`"),
        (&["run", "--warmup", "soon"][..], "`soon` is not a duration"),
        (&["run", "--seed", "-1"][..], "--seed <N>"),
        (&["run", "--rate", "5", "--load", "0.5"][..], "cannot be used with"),
        (&["run", "--scenario", "nowhere"][..], "no scenario file or built-in scenario named `nowhere`"),
        (&["scenarios", "show", "nowhere"][..], "no built-in scenario `nowhere`"),
        (&["check", "/nonexistent.toml"][..], "/nonexistent.toml: cannot read"),
        (&["frobnicate"][..], "unrecognized subcommand"),
        (&["run", "--error-rate", "1.5"][..], "--error-rate <P>': must be between 0 and 1, got 1.5"),
        (&["run", "--retries", "500"][..], "must be a whole number from 0 to 100, got 500"),
        (&["run", "--retry-budget", "0.1"][..], "--per-try-timeout and --retry-budget need --retries"),
        (&["run", "--timeout", "-1s"][..], "duration `-1s` is negative"),
        (&["run", "--failure-detection", "psychic"][..], "invalid value 'psychic'"),
    ] {
        assert_input_error(args, words);
    }
}

#[test]
fn every_shipped_scenario_checks_and_runs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    // Scenarios, not the data files beside them (example-trace.csv).
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5);
    let paths: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
    let o = lbsim(&[&["check"], &paths[..]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().filter(|l| l.contains(": ok (")).count(), files.len());
    for path in &paths {
        let o = lbsim(&["run", "--headless", "--scenario", path, "--format", "json"]);
        assert!(o.status.success(), "{path}: {}", stderr(&o));
        let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert!(report["requests"]["completed"].as_u64().unwrap() > 1000, "{path}");
    }
}

#[test]
fn json_report_keeps_its_contract() {
    let o =
        lbsim(&["run", "--headless", "--requests", "2000", "--format", "json", "--strategy", "power-of-two"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    for key in ["strategy", "seed", "scenario", "throughput_rps", "sim_time_s", "wall_time_s", "workers"] {
        assert!(!r[key].is_null(), "missing {key}");
    }
    for key in ["sent", "completed", "rejected", "failed", "timed_out", "in_flight"] {
        assert!(r["requests"][key].is_u64(), "missing requests.{key}");
    }
    for key in ["mean", "p50", "p90", "p99", "p999", "max"] {
        assert!(r["latency_ms"][key].is_f64(), "missing latency_ms.{key}");
    }
    for section in ["queue_wait_ms", "service_ms"] {
        for key in ["mean", "p99"] {
            assert!(r[section][key].is_f64(), "missing {section}.{key}");
        }
    }
    for key in ["id", "completed", "utilization", "mean_pending", "max_pending"] {
        assert!(!r["workers"][0][key].is_null(), "missing workers[].{key}");
    }
    assert_eq!(r["strategy"], "power-of-two");
    assert_eq!(r["scenario"], "default");
    assert_eq!(r["requests"]["sent"], 2000);
    assert_eq!(r["workers"].as_array().unwrap().len(), 8);

    let o =
        lbsim(&["compare", "--requests", "2000", "--format", "json", "--strategies", "random,least-loaded"]);
    let c: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let runs = c["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(
        (runs[0]["strategy"].as_str(), runs[1]["strategy"].as_str()),
        (Some("random"), Some("least-loaded"))
    );
    // The same workload: the same number of requests sent.
    assert_eq!(runs[0]["requests"]["sent"], runs[1]["requests"]["sent"]);
}

/// The compare table fits 80 columns, each column's figures have the same decimals (their
/// points line up), and a star marks every row that prints the best value, or none when
/// all print the same.
#[test]
fn the_compare_table_fits_80_columns_and_lines_up_its_points() {
    let o = lbsim(&["compare", "--requests", "5000"]);
    let table = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    for line in table.lines() {
        assert!(line.chars().count() <= 80, "wider than 80 columns: {line:?}");
    }
    let rows: Vec<&str> = table
        .lines()
        .skip_while(|l| !l.starts_with("strategy"))
        .skip(1)
        .take_while(|l| !l.starts_with("latencies in ms"))
        .collect();
    assert_eq!(rows.len(), 3, "{table}");
    // The byte offset of each latency's decimal point, per row.
    let points = |row: &str| -> Vec<usize> {
        let mut at = 0;
        let mut out = Vec::new();
        for token in row.split_whitespace().skip(1).take(6) {
            let start = at + row[at..].find(token).unwrap();
            out.push(start + token.find('.').unwrap_or(token.trim_end_matches('*').len()));
            at = start + token.len();
        }
        out
    };
    let first = points(rows[0]);
    for row in &rows[1..] {
        assert_eq!(points(row), first, "points do not line up:\n{table}");
    }
    // Two identical runs under different names: nothing is best.
    let c = lbsim::scenario::builtin::find("default").unwrap().scenario().unwrap().to_config().unwrap();
    let mut config = c.clone();
    config.stop = lbsim::engine::Stop::Requests(2000);
    let s = lbsim::strategy::build("random", &config.strategy_params).unwrap();
    let mut sim = lbsim::engine::Sim::new(config, s).unwrap();
    sim.run();
    let a = lbsim::report::Report::new(&sim, "default", 0.0);
    let mut b = a.clone();
    b.strategy = "random-again".into();
    let text = lbsim::report::compare_table(&[a, b]);
    let marked = text.lines().filter(|l| l.starts_with("random") && l.contains('*')).count();
    assert_eq!(marked, 0, "equal rows are not ranked:\n{text}");
}

#[test]
fn table_csv_and_output_file() {
    let o = lbsim(&["compare", "--requests", "5000", "--strategies", "round-robin,least-loaded"]);
    let table = stdout(&o);
    assert!(o.status.success());
    assert!(table.contains("strategy") && table.contains("* best in column"), "{table}");
    assert!(table.contains("least-loaded leads on p99"), "{table}");

    let o = lbsim(&["compare", "--requests", "5000", "--format", "csv"]);
    let csv = stdout(&o);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(lbsim::report::CSV_COLUMNS.join(",").as_str()));
    assert_eq!(lines.count(), 3);

    let dir = std::env::temp_dir().join(format!("lbsim-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("report.json");
    let o = lbsim(&["run", "--requests", "1000", "--format", "json", "--output", out.to_str().unwrap()]);
    assert!(o.status.success() && stdout(&o).is_empty());
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written["requests"]["sent"], 1000);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn flags_override_the_scenario() {
    let o = lbsim(&[
        "run",
        "--format",
        "json",
        "--scenario",
        "heavy-tail",
        "--workers",
        "3",
        "--rate",
        "100",
        "--service",
        "const:5ms",
        "--duration",
        "10s",
        "--seed",
        "42",
        "--warmup",
        "1s",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["workers"].as_array().unwrap().len(), 3);
    assert_eq!(r["seed"], 42);
    assert_eq!(r["service"], "const:5ms");
    assert_eq!(r["sim_time_s"], 11.0);
    assert_eq!(r["measured_time_s"], 10.0);
    assert!((r["throughput_rps"].as_f64().unwrap() - 100.0).abs() < 10.0);
    assert_eq!(r["service_ms"]["mean"], 5.0);
}

#[test]
fn listings() {
    let o = lbsim(&["strategies"]);
    let text = stdout(&o);
    for s in lbsim::strategy::STRATEGIES {
        assert!(text.lines().any(|l| l.starts_with(s.name) && l.contains(s.about)), "{text}");
    }
    let o = lbsim(&["scenarios"]);
    let text = stdout(&o);
    for b in lbsim::scenario::builtin::BUILTINS {
        assert!(text.lines().any(|l| l.get(4..).is_some_and(|rest| rest.starts_with(b.name))), "{text}");
    }
    let o = lbsim(&["scenarios", "show", "bursty"]);
    assert_eq!(stdout(&o), lbsim::scenario::builtin::find("bursty").unwrap().text);
    let o = lbsim(&["--version"]);
    assert!(o.status.success() && stdout(&o).starts_with("lbsim "));
}

#[test]
fn completions_and_man_page() {
    for (shell, marker) in [("bash", "complete -F"), ("zsh", "#compdef lbsim"), ("fish", "complete -c lbsim")]
    {
        let o = lbsim(&["completions", shell]);
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        let text = stdout(&o);
        assert!(text.contains(marker) && text.contains("compare"), "{shell}");
    }
    assert_input_error(&["completions", "tcsh"], "invalid value 'tcsh'");
    let o = lbsim(&["man"]);
    let text = stdout(&o);
    assert!(o.status.success() && text.contains(".TH lbsim 1"), "{text}");
    assert!(text.contains("compare") && text.contains("scenarios"));
}

#[test]
fn live_engine_options_are_checked_and_name_what_is_allowed() {
    let cases: &[(&[&str], &str)] = &[
        (&["run", "--headless", "--work", "spin"], "apply to --engine live"),
        (&["run", "--headless", "--engine", "live", "--time-scale", "5000"], "between 0.01 and 1000"),
        (&["run", "--headless", "--engine", "live", "--threads", "2000"], "from 1 to 1024"),
        (
            &["run", "--headless", "--engine", "live", "--work", "gpu"],
            "possible values: sleep, spin, blocking",
        ),
        (&["run", "--headless", "--engine", "bogus"], "possible values: sim, live"),
        (&["crosscheck", "--engine", "live"], "crosscheck runs both engines"),
    ];
    for (args, words) in cases {
        assert_input_error(args, words);
    }
    let dir = std::env::temp_dir().join(format!("lbsim-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let threads = dir.join("threads.toml");
    std::fs::write(&threads, "name = \"t\"\n[live]\nthreads = 5000\n").unwrap();
    assert_input_error(
        &["check", threads.to_str().unwrap()],
        "threads.toml:3:11: field `live.threads`: must be from 1 to 1024",
    );
    let delay = dir.join("delay.toml");
    std::fs::write(&delay, "name = \"d\"\n[faults]\nnetwork_delay = \"exp:1ms\"\n").unwrap();
    let path = delay.to_str().unwrap();
    assert_input_error(
        &["run", "--headless", "--engine", "live", "--scenario", path],
        "does not model network delay",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_takes_built_in_names_as_scenario_does() {
    let o = lbsim(&["check", "default", "identical-workers"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "default: ok (default)\nidentical-workers: ok (identical-workers)\n");
}

/// Ctrl-C in a headless run: the report of what was simulated so far, marked partial, a line
/// saying so and exit 130; a second Ctrl-C would end it at once.
#[test]
fn ctrl_c_in_a_headless_run_prints_the_report_so_far() {
    let child = Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .args(["run", "--headless", "--requests", "500000000", "--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let o = child.wait_with_output().unwrap();
    // 128 + SIGINT, as batch systems read a run stopped by a signal (issue 21).
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("interrupted by SIGINT: the report covers what ran until then (partial)"),
        "{}",
        stderr(&o)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let sent = report["requests"]["sent"].as_u64().unwrap();
    assert!(sent > 0 && sent < 500_000_000, "{sent}");
}

#[test]
fn man_writes_a_page_per_command_with_options_keys_and_exit_statuses() {
    let dir = std::env::temp_dir().join(format!("lbsim-man-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let o = lbsim(&["man", "--dir", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    for page in
        ["lbsim.1", "lbsim-run.1", "lbsim-compare.1", "lbsim-crosscheck.1", "lbsim-sweep.1", "lbsim-check.1"]
    {
        assert!(dir.join(page).is_file(), "{page} missing");
    }
    let run = std::fs::read_to_string(dir.join("lbsim-run.1")).unwrap();
    assert!(run.contains("engine") && run.contains("time\\-scale"), "lbsim-run.1 lacks options");
    let main = stdout(&lbsim(&["man"]));
    assert!(main.contains("Exit status") && main.contains("crash / repair it"), "{main}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn balancer_replicas_from_flags_with_their_errors() {
    let o = lbsim(&[
        "run",
        "--headless",
        "--requests",
        "2000",
        "--format",
        "json",
        "--balancers",
        "4",
        "--balancer-view",
        "local",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["balancers"].as_array().unwrap().len(), 4);
    assert!(r["fairness_jain"].as_f64().is_some_and(|j| j > 0.0 && j <= 1.0));
    assert!(r["workers"][0]["picks"].is_u64() && r["workers"][0]["picks_by_balancer"].is_array());
    assert!(r["cluster"].as_str().unwrap().ends_with("4 balancers (local view, random assignment)"));
    // One balancer: one entry, no per-replica split.
    let o = lbsim(&["run", "--headless", "--requests", "2000", "--format", "json"]);
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["balancers"], serde_json::json!([{"id": 0, "picks": 2000}]));
    assert!(r["workers"][0].get("picks_by_balancer").is_none());
    // --load-refresh is still the report view, and --balancer-view names what it needs.
    let o = lbsim(&["run", "--headless", "--requests", "1000", "--balancers", "3", "--load-refresh", "50ms"]);
    assert!(stdout(&o).contains("3 balancers (report view"), "{}", stderr(&o));
    assert_input_error(
        &["run", "--balancers", "0"],
        "--balancers <N>': must be a whole number from 1 to 1000",
    );
    assert_input_error(&["run", "--balancer-view", "psychic"], "unknown balancer view `psychic`");
    assert_input_error(
        &["run", "--balancer-view", "report+local"],
        "--balancer-view: `report+local` needs a refresh period",
    );
    assert_input_error(
        &["run", "--engine", "live", "--balancers", "2"],
        "the live engine does not model several balancer replicas",
    );
    assert_input_error(
        &["run", "--workers", "100000", "--balancers", "1000"],
        "--balancers: 1000 replicas x 100000 workers is more than",
    );
}

/// Each strategy knob's flag reaches its strategy: the run changes with it.
#[test]
fn the_strategy_knobs_reach_their_strategies() {
    let latency = |args: &[&str]| {
        let mut all = vec!["run", "--format", "json", "--duration", "5s"];
        all.extend_from_slice(args);
        let o = lbsim(&all);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        json["latency_ms"].to_string()
    };
    for (scenario, strategy, flag, value) in [
        ("hot-keys", "ring-hash", "--ring-size", "1"),
        ("hot-keys", "maglev", "--table-size", "7"),
        ("hot-keys", "bounded-hash", "--balance-factor", "3"),
        ("slow-start", "least-request", "--active-request-bias", "0"),
    ] {
        let base = ["--scenario", scenario, "--strategy", strategy];
        let default = latency(&base);
        assert_eq!(default, latency(&base), "{strategy}: runs are reproducible");
        let mut changed = base.to_vec();
        changed.extend([flag, value]);
        assert_ne!(default, latency(&changed), "{flag} {value} changed nothing for {strategy}");
    }
}

/// `--help` and the manual pages list the UI's keys from the one key table, so every key the
/// UI answers to is named there (issue 19: `g`, `o`, `m` and the mouse were missing).
#[test]
fn help_lists_every_key_of_the_ui() {
    let help = stdout(&lbsim(&["--help"]));
    let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for b in lbsim::tui::keymap::KEYMAP {
        let line = format!("{} {}", b.label, b.help);
        assert!(flat.contains(&line), "--help does not say `{line}`");
    }
    assert!(flat.contains(lbsim::tui::keymap::MOUSE), "{flat}");
}
