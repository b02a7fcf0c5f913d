//! `lbsim run`, `compare` and `crosscheck`: one run per strategy, in the UI or headless, and
//! their reports.

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{CliError, SimArgs, resolve_scenario};
use crate::engine::Sim;
use crate::engines::EngineKind;
use crate::output::stop::INTERRUPTED;
use crate::output::{Progress, deliver, prepare_sink, use_ui};
use crate::playground::{Mode, Playground};
use crate::report::{self, Format, Report};
use crate::scenario::{Scenario, Warmup};
use crate::strategy;

/// Requests a crosscheck runs unless told otherwise.
const CROSSCHECK_REQUESTS: u64 = 10_000;

/// `lbsim run`.
pub fn run(strategy: Option<String>, sim: &SimArgs) -> Result<(), CliError> {
    distinct_files(sim)?;
    let mut scenario = resolve_scenario(sim)?;
    outputs_spare_data(sim, &scenario)?;
    let name = strategy.unwrap_or_else(|| scenario.strategy.clone());
    if let Some(r) = sim.replications.filter(|&r| r > 1) {
        return replicated(&[name], sim, r);
    }
    crate::sweep::warmup::apply(sim.warmup, sim.engine, &mut scenario, std::slice::from_ref(&name))
        .map_err(CliError::input)?;
    simulate_and_report(scenario, &[name], Mode::Run, sim)
}

/// `lbsim compare`.
pub fn compare(strategies: &[String], sim: &SimArgs) -> Result<(), CliError> {
    if let Some(dup) = strategies.iter().enumerate().find(|(i, s)| strategies[..*i].contains(s)) {
        return Err(CliError::input(format!("strategy `{}` is listed twice", dup.1)));
    }
    distinct_files(sim)?;
    if let Some(r) = sim.replications.filter(|&r| r > 1) {
        return replicated(strategies, sim, r);
    }
    let mut scenario = resolve_scenario(sim)?;
    outputs_spare_data(sim, &scenario)?;
    crate::sweep::warmup::apply(sim.warmup, sim.engine, &mut scenario, strategies)
        .map_err(CliError::input)?;
    simulate_and_report(scenario, strategies, Mode::Compare, sim)
}

/// `run` or `compare` with `--replications R`, R > 1: headless, every figure with its
/// interval.
fn replicated(strategies: &[String], sim: &SimArgs, replications: u32) -> Result<(), CliError> {
    timeline_unsupported(sim, "--replications")?;
    if sim.engine == Some(EngineKind::Live) {
        return Err(CliError::input("--replications above 1 runs the model only: drop --engine live"));
    }
    let scenario = resolve_scenario(sim)?;
    outputs_spare_data(sim, &scenario)?;
    let sink = prepare_sink(sim.output.as_deref())?;
    let auto = sim.warmup == Some(Warmup::Auto);
    crate::sweep::compare::command(&scenario, strategies, replications, auto, sim.format, sink, &stop_signal)
}

/// `lbsim crosscheck`: one strategy in both engines.
pub fn crosscheck(strategy: Option<String>, mut sim: SimArgs) -> Result<(), CliError> {
    if sim.engine.is_some() {
        return Err(CliError::input("crosscheck runs both engines: drop --engine"));
    }
    if sim.replications.is_some() {
        return Err(CliError::input("--replications applies to run, compare and sweep, not crosscheck"));
    }
    if sim.warmup == Some(Warmup::Auto) {
        return Err(CliError::input(
            "--warmup auto: crosscheck runs the live engine too; give a fixed --warmup TIME",
        ));
    }
    if sim.record.is_some() {
        return Err(CliError::input("--record records run and compare sessions, not crosscheck"));
    }
    if sim.timeline_csv.is_some() {
        return Err(CliError::input(
            "--timeline-csv applies to run and compare; crosscheck --format json has the timelines",
        ));
    }
    distinct_files(&sim)?;
    if sim.requests.is_none() && sim.duration.is_none() {
        sim.requests = Some(CROSSCHECK_REQUESTS);
    }
    sim.engine = Some(EngineKind::Live);
    let scenario = resolve_scenario(&sim)?;
    outputs_spare_data(&sim, &scenario)?;
    let sink = prepare_sink(sim.output.as_deref())?;
    let name = strategy.unwrap_or_else(|| scenario.strategy.clone());
    let model = simulate_all(&scenario, std::slice::from_ref(&name))?.remove(0);
    let live = run_live(&scenario, &[name])?.remove(0);
    let signal = stop_signal();
    let name = signal.map(crate::sweep::signal_name);
    let text = match sim.format {
        Format::Table => report::crosscheck_table(&model, &live, name.as_deref()),
        Format::Json => report::crosscheck_json(&model, &live, name.as_deref()),
        Format::Csv => report::csv(&[model.clone(), live.clone()]),
    };
    let delivered = deliver(&text, sink);
    if let Some(signal) = signal {
        return Err(crate::sweep::interrupted(signal, "the crosscheck is partial, with no verdict"));
    }
    delivered?;
    stopped_early(&[model, live])
}

/// Refuses, before anything runs, two outputs that are one file (one would overwrite the
/// other: `--output X --record X`), and an output that is the scenario file being read.
pub(crate) fn distinct_files(args: &SimArgs) -> Result<(), CliError> {
    let outputs: Vec<(&str, &std::path::Path)> =
        [("--output", &args.output), ("--timeline-csv", &args.timeline_csv), ("--record", &args.record)]
            .into_iter()
            .filter_map(|(flag, path)| Some((flag, path.as_deref()?)))
            .collect();
    for (i, (flag, path)) in outputs.iter().enumerate() {
        if let Some((other, _)) = outputs[..i].iter().find(|(_, p)| crate::output::same_file(p, path)) {
            return Err(CliError::input(format!(
                "{other} and {flag} name the same file, {}: give each its own",
                path.display()
            )));
        }
        let scenario = std::path::Path::new(&args.scenario);
        if scenario.is_file() && crate::output::same_file(scenario, path) {
            return Err(CliError::input(format!(
                "{flag} {} is the scenario file being read: write the report elsewhere",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Refuses, before anything runs, an output that is a data file the scenario read: its trace
/// or its `empirical:` service times (as [`distinct_files`] refuses the scenario file).
pub(crate) fn outputs_spare_data(args: &SimArgs, scenario: &Scenario) -> Result<(), CliError> {
    let outputs =
        [("--output", &args.output), ("--timeline-csv", &args.timeline_csv), ("--record", &args.record)];
    for (flag, path) in outputs.iter().filter_map(|(flag, path)| Some((flag, path.as_deref()?))) {
        if let Some((what, _)) =
            scenario.data_files().into_iter().find(|(_, d)| crate::output::same_file(d, path))
        {
            return Err(CliError::input(format!(
                "{flag} {} is {what} being read: write the report elsewhere",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Runs the strategies in the UI or headless, then prints the report in the chosen format.
fn simulate_and_report(
    scenario: Scenario,
    strategies: &[String],
    mode: Mode,
    args: &SimArgs,
) -> Result<(), CliError> {
    let engine = args.engine.unwrap_or_default();
    let sink = prepare_sink(args.output.as_deref())?;
    let timeline_sink = prepare_csv(args.timeline_csv.as_deref())?;
    for w in choice_warnings(&scenario, strategies, args.choices) {
        crate::output::error_line(&format!("warning: {w}"));
    }
    let reports = if let Some(path) = &args.record {
        record(&scenario, strategies, mode, path, args)?
    } else if use_ui(args.headless) {
        let play = Playground::new(&scenario, strategies, engine).map_err(CliError::input)?;
        crate::tui::run(play, mode).map_err(CliError::runtime)?.0
    } else if engine == EngineKind::Live {
        run_live(&scenario, strategies)?
    } else {
        simulate_all(&scenario, strategies)?
    };
    deliver(&render_reports(args.format, mode, &reports), sink)?;
    deliver_csv(&reports, timeline_sink).map_err(CliError::runtime)?;
    // Stopped by a signal: the report of what ran (marked partial) is out, and the exit status
    // says so as batch systems read it, 128 + the signal's number.
    if INTERRUPTED.load(Ordering::Relaxed) {
        let signal = stop_signal().unwrap_or(libc::SIGINT);
        return Err(crate::sweep::interrupted(signal, "the report covers what ran until then (partial)"));
    }
    stopped_early(&reports)
}

/// Runs the strategies in the UI or headless and saves the session to `path` (`--record
/// FILE`); returns the reports.
fn record(
    scenario: &Scenario,
    strategies: &[String],
    mode: Mode,
    path: &std::path::Path,
    args: &SimArgs,
) -> Result<Vec<Report>, CliError> {
    let sink = crate::replay::prepare(path, args.engine)?;
    let config = scenario.to_config().map_err(CliError::input)?;
    let (reports, recorded) = if use_ui(args.headless) {
        let play = Playground::model(scenario, strategies).map_err(CliError::input)?;
        crate::tui::run(play, mode).map_err(CliError::runtime)?
    } else {
        crate::replay::run_headless(scenario, &config, strategies)?
    };
    crate::replay::save(sink, path, scenario, &config, recorded)?;
    Ok(reports)
}

/// The reports of a run (one) or a comparison in `format`.
pub(crate) fn render_reports(format: Format, mode: Mode, reports: &[Report]) -> String {
    match (format, mode) {
        (Format::Table, Mode::Run) => report::run_table(&reports[0]),
        (Format::Table, Mode::Compare) => report::compare_table(reports),
        (Format::Json, Mode::Run) => report::run_json(&reports[0]),
        (Format::Json, Mode::Compare) => report::compare_json(reports),
        (Format::Csv, _) => report::csv(reports),
    }
}

/// `--timeline` and `--timeline-csv` report one run per strategy: not replications or sweeps.
pub(crate) fn timeline_unsupported(args: &SimArgs, what: &str) -> Result<(), CliError> {
    if args.timeline.is_some() || args.timeline_csv.is_some() {
        return Err(CliError::input(format!(
            "--timeline and --timeline-csv report single runs (run, compare, crosscheck), not {what}"
        )));
    }
    if args.record.is_some() {
        return Err(CliError::input(format!("--record records run and compare sessions, not {what}")));
    }
    Ok(())
}

/// Runs each strategy live, one after another (at once they would share the CPU and spoil
/// each other's timings), drawing a progress bar on a terminal's stderr.
pub fn run_live(scenario: &Scenario, strategies: &[String]) -> Result<Vec<Report>, CliError> {
    let config = scenario.to_config().map_err(CliError::input)?;
    let interrupted = &INTERRUPTED;
    let mut bar = Progress::new("live");
    let mut reports = Vec::new();
    for (i, name) in strategies.iter().enumerate() {
        if interrupted.load(Ordering::Relaxed) {
            break; // the strategies not run yet are left out of the report
        }
        let mut engine = crate::live::Live::new(
            config.clone(),
            strategy::build(name, &config.strategy_params).map_err(CliError::input)?,
            scenario.live.clone(),
        )
        .map_err(CliError::input)?;
        engine.set_sequential(strategies.len() > 1);
        engine.begin().map_err(CliError::runtime)?;
        while !engine.wait(Duration::from_millis(100)) {
            bar.update((i as f64 + engine.progress()) / strategies.len() as f64);
            if interrupted.load(Ordering::Relaxed) {
                // As in the UI: stop sending, let requests in flight finish within the grace
                // period, cancel the rest, and report on what ran.
                bar.clear();
                crate::output::error_line(
                    "stopping: requests in flight get the grace period, then the report",
                );
                engine.stop();
            }
        }
        let mut report = Report::new(&engine, &scenario.name, engine.wall_time().as_secs_f64());
        // Stopped before its end: the report says so, as the model's do.
        if interrupted.load(Ordering::Relaxed) {
            report.interrupted_by = Some(stop_signal().map_or("a signal".into(), crate::sweep::signal_name));
        }
        reports.push(report);
    }
    bar.clear();
    Ok(reports)
}

/// The signal (SIGINT, SIGTERM or SIGHUP) that asked the program to stop, once one did.
pub(crate) fn stop_signal() -> Option<i32> {
    crate::output::stop::signal()
}

/// From now on, a first Ctrl-C, SIGTERM or SIGHUP raises [`INTERRUPTED`] rather than ending the
/// process at once, and a second one ends it (exit status 130). Only the program's `main`
/// calls this: a library caller keeps the default behaviour of signals.
pub(crate) fn watch_stop_signals() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_io().build() else { return };
    let signals: Result<Vec<_>, _> = {
        let _entered = runtime.enter();
        [SignalKind::interrupt(), SignalKind::terminate(), SignalKind::hangup()]
            .into_iter()
            .map(signal)
            .collect()
    };
    let Ok(mut signals) = signals else { return };
    std::thread::spawn(move || {
        runtime.block_on(async move {
            for heard in 1..=2 {
                let waits = signals.iter_mut().map(|s| Box::pin(s.recv()));
                let (_, which, _) = futures_util::future::select_all(waits).await;
                crate::output::stop::note([libc::SIGINT, libc::SIGTERM, libc::SIGHUP][which]);
                if heard == 2 {
                    // A UI that did not get to quit on the first gives the terminal back.
                    crate::tui::restore_terminal_now();
                    std::process::exit(130);
                }
            }
        });
    });
}

/// Runs one simulation per strategy, in parallel on the available cores (the sweep's
/// [`pool`](crate::sweep::pool)), drawing a progress bar on a terminal's stderr when it
/// takes more than a moment.
pub fn simulate_all(scenario: &Scenario, strategies: &[String]) -> Result<Vec<Report>, CliError> {
    let config = scenario.to_config().map_err(CliError::input)?;
    let mut sims = Vec::with_capacity(strategies.len());
    for name in strategies {
        let s = strategy::build(name, &config.strategy_params).map_err(CliError::input)?;
        sims.push(Mutex::new(Some(Sim::new(config.clone(), s).map_err(CliError::input)?)));
    }
    let mut bar = Progress::new(if strategies.len() > 1 { "compare" } else { "run" });
    // Ctrl-C, SIGTERM or SIGHUP (when the program watches for them) stop the simulations
    // where they are: every one still reports, covering what was simulated so far, as in the
    // UI; so the pool itself is never stopped.
    let work = |job: &Mutex<Option<Sim>>, slot: &crate::sweep::pool::Slot| {
        let mut sim = job.lock().expect("job lock").take().expect("each job runs once");
        let started = Instant::now();
        let mut done = false;
        while !done && !INTERRUPTED.load(Ordering::Relaxed) {
            done = sim.run_events(200_000);
            slot.set_progress(sim.progress());
        }
        let mut report = Report::new(&sim, &scenario.name, started.elapsed().as_secs_f64());
        report.interrupted_by =
            (!done).then(|| stop_signal().map_or("a signal".into(), crate::sweep::signal_name));
        Ok(Some(report))
    };
    let reports = crate::sweep::pool::run(&sims, crate::sweep::cores(), work, &mut |status| {
        bar.update(status.fraction);
        false
    })
    .map_err(CliError::runtime)?;
    bar.clear();
    Ok(reports.into_iter().map(|r| r.expect("every job reported")).collect())
}

/// The exit status 3 and its warning when a run stopped early at the in-flight cap.
pub(crate) fn stopped_early(reports: &[Report]) -> Result<(), CliError> {
    let stopped: Vec<String> = reports
        .iter()
        .filter(|r| r.stop_reason.is_some())
        .map(|r| format!("{} at {:.3}s", r.strategy, r.sim_time_s))
        .collect();
    if stopped.is_empty() {
        return Ok(());
    }
    let cap = reports[0].max_in_flight;
    Err(CliError::stopped_early(format!(
        "warning: stopped early ({}): more than {cap} requests (or attempts at workers) were in \
         flight, the queues growing without bound; the report covers the run until then (raise the cap with \
         --max-in-flight or run.max_in_flight)",
        stopped.join(", ")
    )))
}

/// Settings that work but probably do not do what was meant: more choices than workers.
pub(crate) fn choice_warnings(s: &Scenario, strategies: &[String], flag: Option<u32>) -> Vec<String> {
    let d = s.strategy_params.choices;
    let n = s.workers.len();
    if d <= n || !strategies.iter().any(|st| st == "power-of-two") {
        return Vec::new();
    }
    let given = match flag {
        Some(_) => format!("--choices {d}"),
        None => format!("strategy.choices = {d}"),
    };
    vec![format!(
        "{given} is more than the {n} workers: power-of-two samples all {n}, which makes it least-loaded"
    )]
}

/// `--timeline-csv FILE`: made sure of before the run (as `--output` is).
fn prepare_csv(path: Option<&std::path::Path>) -> Result<Option<crate::output::OutputFile>, CliError> {
    path.map(|p| {
        crate::output::OutputFile::prepare(p).map_err(|e| {
            let message = format!("cannot write --timeline-csv {}: {e}", p.display());
            match e.kind() {
                std::io::ErrorKind::InvalidInput => CliError::input(message),
                _ => CliError::runtime(message),
            }
        })
    })
    .transpose()
}

/// Writes the reports' timelines where [`prepare_csv`] said.
fn deliver_csv(reports: &[Report], sink: Option<crate::output::OutputFile>) -> Result<(), String> {
    let Some(file) = sink else { return Ok(()) };
    let runs: Vec<(&str, &crate::report::timeline::TimelineReport)> =
        reports.iter().filter_map(|r| Some((r.strategy.as_str(), r.timeline.as_ref()?))).collect();
    let path = file.path().display().to_string();
    file.commit(&crate::report::timeline::csv(&runs))
        .map_err(|e| format!("cannot write --timeline-csv {path}: {e}"))
}
