//! `--record FILE` and `lbsim replay FILE`: a session's commands saved with its command line,
//! and played back headless to the same report.
//!
//! The file is JSON ([`Session`]): the options of `lbsim run` or `lbsim compare` as given,
//! the strategies, a fingerprint of the resolved configuration, each command with the moment
//! of every run it was applied at, and where every run ended. A scenario file is saved by its
//! absolute path, so that the session replays from any folder. Replaying resolves the scenario
//! from the options again (the scenario file, and any trace, must still be there, unchanged:
//! the fingerprint says if not), checks the session ([`check`], for the UI and headless
//! alike) and plays the commands back at their moments; a run that stopped at the in-flight
//! cap stops there again, and the replay exits 3 as the run did.

use std::path::Path;
use std::sync::OnceLock;

use crate::engine::SimConfig;
use crate::engines::EngineKind;
use crate::output::Error;
use crate::playground::Mode;
use crate::playground::Playground;
use crate::report::Report;
use crate::scenario::Scenario;
use crate::session::{Recorded, Recorder, Session, fingerprint};
use crate::time::Nanos;

/// The program's arguments, kept by the command line (`lbsim::cli::main_with_args`) for
/// `--record`.
pub static RAW_ARGS: OnceLock<Vec<String>> = OnceLock::new();

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
        if flag == "--scenario" {
            // A scenario file is saved by its absolute path, so that the session replays
            // from any folder (a built-in scenario's name stays a name).
            let value = match a.split_once('=') {
                Some((_, v)) => Some(v.to_string()),
                None => rest.next().cloned(),
            };
            args.push("--scenario".to_string());
            if let Some(v) = value {
                args.push(absolute_file(&v));
            }
            continue;
        }
        args.push(a.clone());
    }
    (raw[at].clone(), args)
}

/// `name` as an absolute path when it names an existing file, else as given.
fn absolute_file(name: &str) -> String {
    let path = Path::new(name);
    match std::fs::canonicalize(path) {
        Ok(full) if path.is_file() => full.to_str().map_or_else(|| name.to_string(), str::to_string),
        _ => name.to_string(),
    }
}

/// Where `--record FILE` will be written, checked before anything runs: a live run cannot
/// be recorded (real time cannot be replayed exactly).
pub fn prepare(path: &Path, engine: Option<EngineKind>) -> Result<crate::output::OutputFile, Error> {
    if engine == Some(EngineKind::Live) {
        return Err(Error::input(
            "--record: a live run cannot be replayed exactly (real time); record with --engine sim",
        ));
    }
    crate::output::OutputFile::prepare(path)
        .map_err(|e| Error::runtime(format!("cannot write --record {}: {e}", path.display())))
}

/// Runs the strategies headless to their end, as `lbsim run` or `compare` would, for
/// `--record`: the reports, and where each run ended.
pub fn run_headless(
    scenario: &Scenario,
    config: &SimConfig,
    strategies: &[String],
) -> Result<(Vec<Report>, Recorded), Error> {
    let started = std::time::Instant::now();
    let mut play =
        Playground::headless(config.clone(), strategies).map_err(Error::input)?.named(&scenario.name);
    play.set_checkpoint_spacing(u64::MAX);
    play.seek_to(crate::time::MAX_TIME).map_err(Error::runtime)?;
    let wall = started.elapsed().as_secs_f64();
    let reports = play.reports().into_iter().map(|r| Report { wall_time_s: wall, ..r }).collect();
    Ok((reports, Recorded { recorder: Recorder::new(strategies), end: play.positions() }))
}

/// Saves what a run `recorded` to `sink` (from [`prepare`]), with the command line it was
/// run with.
pub fn save(
    sink: crate::output::OutputFile,
    path: &Path,
    scenario: &Scenario,
    config: &SimConfig,
    recorded: Recorded,
) -> Result<(), Error> {
    let (command, options) = recorded_args();
    let session = Session {
        version: 1,
        command,
        args: options,
        strategies: recorded.recorder.strategies,
        scenario: scenario.name.clone(),
        seed: config.seed,
        fingerprint: fingerprint(config),
        end: recorded.end.ok_or_else(|| Error::runtime("--record: the session was not the model's"))?,
        commands: recorded.recorder.entries,
    };
    let text = serde_json::to_string_pretty(&session).expect("sessions serialise") + "\n";
    let shown = path.display().to_string();
    sink.commit(&text).map_err(|e| Error::runtime(format!("cannot write --record {shown}: {e}")))
}

/// Reads a session file saved with `--record`, and which command it recorded.
pub fn read(file: &Path) -> Result<(Session, Mode), Error> {
    let shown = file.display();
    let bad = |problem: String| Error::input(format!("{shown}: {problem}"));
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
    if session.strategies.is_empty() {
        return Err(bad("the session has no strategies".to_string()));
    }
    Ok((session, mode))
}

/// The configuration of `scenario` (resolved again from the session's options, warm-up
/// applied), checked to be the one recorded. `file` names the session in errors.
pub fn unchanged(file: &Path, session: &Session, scenario: &Scenario) -> Result<SimConfig, Error> {
    let config = scenario.to_config().map_err(Error::input)?;
    if fingerprint(&config) != session.fingerprint {
        return Err(Error::input(format!(
            "{}: the scenario (or a file it names) has changed since the session was recorded: the replay would differ",
            file.display()
        )));
    }
    Ok(config)
}

/// The one check of a session against the configuration it replays on, for headless replay
/// and the replay UI alike: its strategies exist; every command has a moment for each run,
/// in order, no later than where the run ended; and every command is one lbsim could have
/// been given (held to the documented limits by [`Command::check`]). A command the engine
/// refuses for the state of the run (no such worker yet, no rate to set in a closed loop or
/// a trace) was recorded as pressed and is refused again on replay, changing nothing.
///
/// [`Command::check`]: crate::model::command::Command::check
pub fn check(session: &Session, config: &SimConfig) -> Result<(), String> {
    use crate::engine::{Arrivals, CommandError};
    let runs = session.strategies.len();
    for name in &session.strategies {
        crate::strategy::build(name, &config.strategy_params).map_err(|e| e.to_string())?;
    }
    if session.end.len() != runs {
        return Err(format!("the session ends {} runs, not its {runs} strategies", session.end.len()));
    }
    let limit = crate::time::MAX_TIME;
    let mut last: Vec<(Nanos, u64)> = vec![(0, 0); runs];
    let points = session.commands.iter().map(|e| &e.at).chain(std::iter::once(&session.end));
    for (i, at) in points.enumerate() {
        let which = if i < session.commands.len() { format!("command {}", i + 1) } else { "the end".into() };
        if at.len() != runs {
            return Err(format!("{which} has moments for {} runs, not {runs}", at.len()));
        }
        for (run, p) in at.iter().enumerate() {
            let here = (p.time_ns, p.events);
            if p.time_ns > limit || here.0 < last[run].0 || here.1 < last[run].1 {
                return Err(format!(
                    "{which} is at a moment before the one ahead of it, or past the end of time"
                ));
            }
            last[run] = here;
        }
    }
    let fixed_rate = matches!(config.arrivals, Arrivals::Closed { .. } | Arrivals::Trace { .. });
    for (i, entry) in session.commands.iter().enumerate() {
        let bad = |e: String| format!("command {}: {e}", i + 1);
        let command = entry.action.command(&config.strategy_params).map_err(bad)?;
        if fixed_rate && matches!(command, crate::engine::Command::SetRate(_)) {
            continue;
        }
        match command.check(config, usize::MAX) {
            Ok(()) | Err(CommandError::NoWorker(_)) | Err(CommandError::ClosedLoop) => {}
            Err(e) => return Err(bad(e.to_string())),
        }
    }
    Ok(())
}

/// Plays a session back headless on the configuration [`unchanged`] gave; returns the
/// reports. `file` names the session in errors.
pub fn play_headless(
    file: &Path,
    session: &Session,
    scenario: &Scenario,
    config: &SimConfig,
) -> Result<Vec<Report>, Error> {
    crate::playground::replay(config, session, &scenario.name)
        .map_err(|problem| Error::input(format!("{}: {problem}", file.display())))
}
