//! `--record FILE` and `lbsim replay FILE`: a session's commands saved with its command line,
//! and played back headless to the same report.
//!
//! The file is JSON ([`Session`]): the options of `lbsim run` or `lbsim compare` as given,
//! the strategies, a fingerprint of the resolved configuration, each command with the moment
//! of every run it was applied at, and where every run ended. Replaying resolves the scenario
//! from the options again (the scenario file, and any trace, must still be there, unchanged:
//! the fingerprint says if not) and plays the commands back at their moments.

use std::path::Path;
use std::sync::OnceLock;

use crate::cli::{CliError, SimArgs};
use crate::engines::EngineKind;
use crate::playground::Playground;
use crate::report::{Format, Report};
use crate::scenario::Scenario;
use crate::session::{Recorded, Recorder, Session, fingerprint};
use crate::tui::Mode;

/// The program's arguments, kept by [`crate::cli::main_with_args`] for `--record`.
pub(crate) static RAW_ARGS: OnceLock<Vec<String>> = OnceLock::new();

/// The largest session file read.
const MAX_SESSION_BYTES: u64 = 64 << 20;

/// The options after `run` or `compare`, without those that say where output goes.
fn recorded_args() -> (String, Vec<String>) {
    let raw = RAW_ARGS.get().cloned().unwrap_or_default();
    let Some(at) = raw.iter().position(|a| a == "run" || a == "compare") else {
        return (String::new(), Vec::new());
    };
    let mut args = Vec::new();
    let mut rest = raw[at + 1..].iter();
    while let Some(a) = rest.next() {
        let flag = a.split('=').next().unwrap_or("");
        if ["--record", "--output", "--timeline-csv"].contains(&flag) {
            if !a.contains('=') {
                rest.next();
            }
            continue;
        }
        args.push(a.clone());
    }
    (raw[at].clone(), args)
}

/// Runs the strategies as `lbsim run` or `compare` would (in the UI, or headless when it is
/// not open), saving the session to `--record FILE`; returns the reports.
pub(crate) fn record(
    scenario: &Scenario,
    strategies: &[String],
    mode: Mode,
    args: &SimArgs,
    ui: bool,
) -> Result<Vec<Report>, CliError> {
    let path = args.record.as_deref().expect("--record was given");
    if args.engine == Some(EngineKind::Live) {
        return Err(CliError::input(
            "--record: a live run cannot be replayed exactly (real time); record with --engine sim",
        ));
    }
    let sink = crate::output::OutputFile::prepare(path)
        .map_err(|e| CliError::runtime(format!("cannot write --record {}: {e}", path.display())))?;
    let config = scenario.to_config().map_err(CliError::input)?;
    let (reports, recorded) = if ui {
        crate::tui::run_recorded(scenario.clone(), strategies, mode, EngineKind::Sim)
            .map_err(CliError::runtime)?
    } else {
        let started = std::time::Instant::now();
        let mut play =
            Playground::headless(config.clone(), strategies).map_err(CliError::input)?.named(&scenario.name);
        play.set_checkpoint_spacing(u64::MAX);
        play.seek_to(crate::time::MAX_TIME).map_err(CliError::runtime)?;
        let wall = started.elapsed().as_secs_f64();
        let reports = play.reports().into_iter().map(|r| Report { wall_time_s: wall, ..r }).collect();
        (reports, Recorded { recorder: Recorder::new(strategies), end: play.positions() })
    };
    let (command, options) = recorded_args();
    let session = Session {
        version: 1,
        command,
        args: options,
        strategies: recorded.recorder.strategies,
        scenario: scenario.name.clone(),
        seed: config.seed,
        fingerprint: fingerprint(&config),
        end: recorded.end.ok_or_else(|| CliError::runtime("--record: the session was not the model's"))?,
        commands: recorded.recorder.entries,
    };
    let text = serde_json::to_string_pretty(&session).expect("sessions serialise") + "\n";
    let shown = path.display().to_string();
    sink.commit(&text).map_err(|e| CliError::runtime(format!("cannot write --record {shown}: {e}")))?;
    Ok(reports)
}

/// `lbsim replay FILE`: plays a recorded session back, in the UI on a terminal (unless
/// `headless`), and prints its report.
pub(crate) fn command(
    file: &Path,
    headless: bool,
    format: Option<Format>,
    output: Option<&Path>,
) -> Result<(), CliError> {
    let shown = file.display();
    let bad = |problem: String| CliError::input(format!("{shown}: {problem}"));
    let meta = std::fs::metadata(file).map_err(|e| bad(format!("cannot read: {e}")))?;
    if !meta.is_file() || meta.len() > MAX_SESSION_BYTES {
        return Err(bad(format!(
            "is not a session file (a regular file of at most {MAX_SESSION_BYTES} bytes)"
        )));
    }
    let text = std::fs::read_to_string(file).map_err(|e| bad(format!("cannot read: {e}")))?;
    let session: Session = serde_json::from_str(&text)
        .map_err(|e| bad(format!("line {}: not a session recorded with --record: {e}", e.line())))?;
    if session.version != 1 {
        return Err(bad(format!("session format {} is not known (this lbsim reads 1)", session.version)));
    }
    let mode = match session.command.as_str() {
        "run" => Mode::Run,
        "compare" => Mode::Compare,
        other => return Err(bad(format!("recorded command `{other}` is not run or compare"))),
    };
    let argv = ["lbsim".to_string(), session.command.clone()].into_iter().chain(session.args.iter().cloned());
    if session.strategies.is_empty() {
        return Err(bad("the session has no strategies".to_string()));
    }
    let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(argv)
        .map_err(|e| bad(format!("its options: {}", crate::cli::clap_error_line(&e))))?;
    let mut args = match cli.command {
        crate::cli::Command::Run { sim, .. } | crate::cli::Command::Compare { sim, .. } => sim,
        _ => return Err(bad("its options are not those of run or compare".to_string())),
    };
    let mut scenario = crate::cli::resolve_scenario(&args)?;
    crate::sweep::warmup::apply(args.warmup, args.engine, &mut scenario, &session.strategies)
        .map_err(CliError::input)?;
    let config = scenario.to_config().map_err(CliError::input)?;
    if fingerprint(&config) != session.fingerprint {
        return Err(bad(
            "the scenario (or a file it names) has changed since the session was recorded: the replay would differ"
                .to_string(),
        ));
    }
    args.output = output.map(Path::to_path_buf);
    if let Some(f) = format {
        args.format = f;
    }
    let sink = crate::cli::prepare_sink(&args)?;
    args.headless = headless;
    let reports = if crate::cli::use_ui(&args) {
        crate::tui::run_replay(scenario.clone(), &session.strategies, mode, session.commands.clone())
            .map_err(CliError::runtime)?
    } else {
        crate::playground::replay(&config, &session, &scenario.name).map_err(bad)?
    };
    crate::cli::deliver(&crate::cli::render_reports(args.format, mode, &reports), sink)
}
