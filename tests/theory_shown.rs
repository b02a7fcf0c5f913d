//! Theory beside the simulation, shown (issue 23): the report's table, JSON and CSV and the
//! UI name the formula where one applies, and say "no closed form" (with why) where none does:
//! a fault, retries, heterogeneous workers, a command during the run.

mod common;

use common::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use lbsim::scenario::builtin;
use lbsim::time::SECS;
use lbsim::tui::{App, Mode};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["run", "--format", "json"];
    all.extend_from_slice(args);
    serde_json::from_slice(&ok(&all)).unwrap()
}

fn table(args: &[&str]) -> String {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    String::from_utf8(ok(&all)).unwrap()
}

#[test]
fn the_report_names_the_formula_and_compares() {
    // 8 identical workers at load 0.8, 10 ms exponential service: random makes each M/M/1,
    // mean 50 ms, p99 230 ms.
    let args = ["--scenario", "identical-workers", "--strategy", "random", "--requests", "20000"];
    let t = table(&args);
    let line = t.lines().find(|l| l.starts_with("theory")).unwrap_or_else(|| panic!("no theory line:\n{t}"));
    assert!(line.starts_with("theory (M/M/1): mean 50.0ms, measured "), "{line}");
    assert!(line.contains("%)") && line.contains("; p99 230ms, measured"), "{line}");
    let j = json(&args);
    let theory = &j["theory"];
    assert_eq!(theory["formula"], "M/M/1");
    assert!((theory["mean_ms"].as_f64().unwrap() - 50.0).abs() < 1e-9, "{theory}");
    assert!((theory["p99_ms"].as_f64().unwrap() - 50.0 * 100f64.ln()).abs() < 1e-6, "{theory}");
    assert!(theory["why"].is_null());
    // The CSV's last three columns.
    let csv = String::from_utf8(ok(&[
        "run", "--format", "csv", args[0], args[1], args[2], args[3], args[4], args[5],
    ]))
    .unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(at("theory_formula"), "M/M/1");
    assert!((at("theory_mean_ms").parse::<f64>().unwrap() - 50.0).abs() < 1e-9);
    // The other formulas by name.
    for (strategy, formula) in [("least-work-left", "M/M/c (Erlang C)"), ("round-robin", "E_k/M/1 (GI/M/1)")]
    {
        let j = json(&["--scenario", "identical-workers", "--strategy", strategy, "--requests", "2000"]);
        assert_eq!(j["theory"]["formula"], formula);
    }
    let j = json(&["--scenario", "power-of-two", "--strategy", "power-of-two", "--requests", "2000"]);
    assert_eq!(j["theory"]["formula"], "supermarket model, mean-field limit (d=2)");
    assert!(j["theory"]["note"].as_str().unwrap().contains("limit"));
    let j = json(&["--scenario", "one-worker", "--service", "const:10ms", "--requests", "2000"]);
    assert_eq!(j["theory"]["formula"], "M/G/1 (Pollaczek-Khinchine)");
}

#[test]
fn no_closed_form_where_the_assumptions_break() {
    let run = |scenario: &str, strategy: &str, extra: &[&str]| -> Vec<String> {
        let mut args = vec!["--scenario", scenario, "--strategy", strategy, "--requests", "2000"];
        args.extend_from_slice(extra);
        args.into_iter().map(String::from).collect()
    };
    for (args, why) in [
        (run("identical-workers", "random", &["--retries", "2"]), "retries"),
        (run("identical-workers", "random", &["--error-rate", "0.1"]), "faults: worker errors"),
        (run("default", "random", &[]), "heterogeneous workers"),
        (run("worker-crash", "random", &[]), "faults: crashes"),
        (run("identical-workers", "least-loaded", &[]), "join-the-shortest-queue"),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let extra = &args;
        let t = table(&args);
        let line = t.lines().find(|l| l.starts_with("theory")).unwrap();
        assert!(line.starts_with("theory: no closed form (") && line.contains(why), "{extra:?}: {line}");
        let j = json(&args);
        assert!(j["theory"]["formula"].is_null() && j["theory"]["mean_ms"].is_null(), "{extra:?}");
        assert!(j["theory"]["why"].as_str().unwrap().contains(why), "{extra:?}: {}", j["theory"]);
    }
}

fn app(name: &str, strategy: &str) -> App {
    let scenario = builtin::find(name).unwrap().scenario().unwrap();
    App::new(scenario, &[strategy.to_string()], Mode::Run).unwrap()
}

fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| f.render_widget(app, f.area())).unwrap();
    terminal.backend().to_string()
}

fn key(app: &mut App, c: char) {
    app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
}

#[test]
fn the_ui_shows_the_prediction_and_drops_it_when_a_fault_breaks_it() {
    let mut a = app("identical-workers", "random");
    a.advance_to(5 * SECS, None);
    for (w, h) in [(140, 40), (120, 40), (80, 24)] {
        let s = screen(&a, w, h);
        assert!(s.contains("theory M/M/1 mean 50.0ms"), "{w}x{h}:\n{s}");
    }
    // The chart over time draws the reference lines, with a legend.
    key(&mut a, 'o');
    let s = screen(&a, 120, 40);
    assert!(s.contains("┄ theory"), "{s}");
    key(&mut a, 'o');
    // A crash makes the model's assumptions false: the pane says since when.
    key(&mut a, 'k');
    a.advance_to(6 * SECS, None);
    let s = screen(&a, 120, 40);
    assert!(s.contains("theory held to 5s: then crash (no closed form)"), "{s}");
    let s = screen(&a, 80, 24);
    assert!(s.contains("theory held to 5s: then crash"), "{s}");
    // Heterogeneous workers: no closed form from the start.
    let mut a = app("default", "least-loaded");
    a.advance_to(2 * SECS, None);
    assert!(screen(&a, 120, 40).contains("theory: no closed form (heterogeneous workers)"));
}

#[test]
fn the_formula_holds_until_a_scheduled_fault_and_the_chart_line_ends_there() {
    // Four M/M/1 queues (mean 10 ms) until worker 1 slows down at 30 s.
    let mut a = app("theory-on-screen", "random");
    a.advance_to(20 * SECS, None);
    let s = screen(&a, 140, 40);
    assert!(s.contains("theory M/M/1 mean 10.0ms p99 46.1ms measured "), "{s}");
    assert!(s.contains("(until slowdown at 30s)"), "{s}");
    assert!(screen(&a, 80, 24).contains("theory M/M/1 mean 10.0ms"));
    a.advance_to(40 * SECS, None);
    for (w, h) in [(140, 40), (120, 40), (80, 24)] {
        let s = screen(&a, w, h);
        assert!(s.contains("theory held to 30s: then slowdown"), "{w}x{h}:\n{s}");
    }
    // What was measured up to then, beside the formula.
    let s = screen(&a, 140, 40);
    let line = s.lines().find(|l| l.contains("theory held to 30s")).unwrap();
    let measured: f64 = line.split("measured ").nth(1).unwrap().split("ms").next().unwrap().parse().unwrap();
    assert!((measured / 10.0 - 1.0).abs() < 0.1, "{line}");
    // The chart keeps its legend (its reference lines end at 30 s: src/tui/chart.rs's test).
    key(&mut a, 'o');
    let s = screen(&a, 120, 40);
    assert!(s.contains("┄ theory"), "{s}");
    // The whole run's report keeps its meaning: no formula for it.
    let j = json(&["--scenario", "theory-on-screen", "--requests", "2000"]);
    assert_eq!(j["theory"]["why"], "faults: slowdowns");
}

#[test]
fn the_compare_table_shows_theory_per_strategy() {
    let out = String::from_utf8(ok(&[
        "compare",
        "--scenario",
        "identical-workers",
        "--strategies",
        "random,least-work-left,least-loaded",
        "--requests",
        "20000",
    ]))
    .unwrap();
    let at = out.find("theory, predicted vs measured (ms):").unwrap_or_else(|| panic!("{out}"));
    let lines: Vec<&str> = out[at..].lines().skip(1).take(3).collect();
    assert!(lines[0].trim_start().starts_with("random") && lines[0].contains("M/M/1 mean 50.0 vs "), "{out}");
    assert!(lines[0].contains("%), p99 230 vs "), "{out}");
    assert!(lines[1].contains("least-work-left") && lines[1].contains("M/M/c (Erlang C) mean"), "{out}");
    assert!(
        lines[2].contains("least-loaded") && lines[2].contains("no closed form (join-the-shortest"),
        "{out}"
    );
    for line in out.lines() {
        assert!(line.chars().count() <= 80, "wider than 80: {line}");
    }
    // The same reason for every strategy: one line.
    let out = String::from_utf8(ok(&[
        "compare",
        "--scenario",
        "worker-crash",
        "--strategies",
        "random,least-loaded",
        "--requests",
        "2000",
    ]))
    .unwrap();
    assert!(out.lines().any(|l| l == "theory: no closed form (faults: crashes)"), "{out}");
}
