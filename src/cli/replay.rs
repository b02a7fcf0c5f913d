//! `lbsim replay FILE`: the session's options parsed again as `run` or `compare` would parse
//! them, its scenario resolved, then played back by [`crate::replay`].

use std::path::Path;

use super::{Cli, CliError, Command, resolve_scenario};
use crate::output::{deliver, prepare_sink, use_ui};
use crate::playground::Playground;
use crate::report::Format;

/// `lbsim replay FILE`: plays a recorded session back, in the UI on a terminal (unless
/// `headless`), and prints its report.
pub fn command(
    file: &Path,
    headless: bool,
    format: Option<Format>,
    output: Option<&Path>,
) -> Result<(), CliError> {
    let (session, mode) = crate::replay::read(file)?;
    let bad = |problem: String| CliError::input(format!("{}: {problem}", file.display()));
    let argv = ["lbsim".to_string(), session.command.clone()].into_iter().chain(session.args.iter().cloned());
    let cli = <Cli as clap::Parser>::try_parse_from(argv)
        .map_err(|e| bad(format!("its options: {}", super::clap_error_line(&e))))?;
    let args = match cli.command {
        Command::Run { sim, .. } | Command::Compare { sim, .. } => sim,
        _ => return Err(bad("its options are not those of run or compare".to_string())),
    };
    let mut scenario = resolve_scenario(&args)?;
    crate::sweep::warmup::apply(args.warmup, args.engine, &mut scenario, &session.strategies)
        .map_err(CliError::input)?;
    let config = crate::replay::unchanged(file, &session, &scenario)?;
    crate::replay::check(&session, &config).map_err(bad)?;
    let format = format.unwrap_or(args.format);
    let sink = prepare_sink(output)?;
    let reports = if use_ui(headless) {
        let mut play = Playground::model(&scenario, &session.strategies).map_err(CliError::input)?;
        play.play(session.commands.clone());
        crate::tui::run(play, mode).map_err(CliError::runtime)?.0
    } else {
        crate::replay::play_headless(file, &session, &scenario, &config)?
    };
    deliver(&super::run::render_reports(format, mode, &reports), sink)?;
    // A session of a run that stopped at the in-flight cap replays to the same stop, and
    // ends as that run did (exit status 3, with its warning).
    super::run::stopped_early(&reports)
}
