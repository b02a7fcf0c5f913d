//! The command line: thin. Layer 7, the top: it may import anything below it; nothing in
//! `src/` imports it (tests and `main.rs` do).
//!
//! - [`args`]: the clap definitions, flags grouped under headings;
//! - [`overrides`]: flags -> typed [`Overrides`](crate::scenario::Overrides) of a scenario,
//!   and loading `--scenario`;
//! - one module per command: [`run`] (run, compare, crosscheck), [`sweep`], [`replay`],
//!   [`info`] (scenarios, strategies, check, completions, man), [`import`].
//!
//! The work itself is done below: `scenario` applies the overrides, `sweep` runs grids,
//! `output` carries errors, progress and reports out.

pub mod args;
pub mod import;
pub mod info;
pub mod overrides;
pub mod replay;
pub mod run;
pub mod sweep;

pub use crate::output::Error as CliError;
pub use crate::scenario::SlowStartFlag;
pub use args::{Cli, Command, ScenariosAction, SimArgs, SweepArgs};
pub use overrides::resolve_scenario;

use crate::output::print_stdout;

/// The whole program: runs the command line of this process and turns the outcome into an
/// exit status (0; 2 for bad input; 3 for a run stopped early at the in-flight cap, after its
/// report; 1 otherwise), printing any error as one line.
pub fn main() -> std::process::ExitCode {
    crate::output::guard_standard_streams();
    run::watch_stop_signals();
    match main_with_args(std::env::args_os()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            crate::output::error_line(&e.message);
            std::process::ExitCode::from(e.code)
        }
    }
}

/// Parses the arguments and runs the command. `--help` and `--version` print their text and
/// return `Ok`; nothing here panics on a closed or full standard output.
pub fn main_with_args<I, T>(args: I) -> Result<(), CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let _ = crate::replay::RAW_ARGS.set(args.iter().map(|a| a.to_string_lossy().into_owned()).collect());
    let mut command = <Cli as clap::CommandFactory>::command();
    let parsed = command
        .try_get_matches_from_mut(args)
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m).map(|cli| (cli, m)));
    let cli = match parsed {
        Ok((mut cli, matches)) => {
            if let (Command::Sweep { sweep, .. }, Some(m), Some(c)) =
                (&mut cli.command, matches.subcommand_matches("sweep"), command.find_subcommand("sweep"))
            {
                sweep.passed = sweep::passed_options(c, m);
            }
            cli
        }
        Err(e) => {
            use clap::error::ErrorKind;
            match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    return print_stdout(&e.render().to_string());
                }
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    crate::output::stderr_text(&e.render().to_string());
                    return Err(CliError::input("a command is needed (see above)"));
                }
                _ => return Err(CliError::input(clap_error_line(&e))),
            }
        }
    };
    dispatch(cli)
}

/// clap's error as one line: the error itself and what it lists after it (the missing
/// arguments, the valid values, a tip), without the usage lines.
pub(crate) fn clap_error_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut line = String::new();
    for part in text.lines().map(str::trim) {
        if part.starts_with("Usage:") || part.starts_with("For more information") {
            break;
        }
        if part.is_empty() {
            continue;
        }
        let part = part.trim_start_matches("error: ");
        if !line.is_empty() {
            line += if line.ends_with(':') { " " } else { "; " };
        }
        line += part;
    }
    if line.is_empty() { "invalid arguments".to_string() } else { line }
}

/// Runs a parsed command line.
pub fn dispatch(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        // A line of a sweep's plan (`--plan-job`, which only `lbsim run` takes).
        Command::Run { strategy, sim } if sim.plan_job.is_some() => sweep::plan_job(strategy, &sim),
        Command::Crosscheck { sim, .. } | Command::Compare { sim, .. } if sim.plan_job.is_some() => {
            Err(CliError::input("--plan-job: for `lbsim run`, as the lines of a plan's jobs.txt give it"))
        }
        Command::Run { strategy, sim } => run::run(strategy, &sim),
        Command::Crosscheck { strategy, sim } => run::crosscheck(strategy, sim),
        Command::Compare { strategies, sim } => run::compare(&strategies, &sim),
        Command::Scenarios { action: None } => info::list_scenarios(),
        Command::Scenarios { action: Some(ScenariosAction::Show { name }) } => info::show_scenario(&name),
        Command::Strategies => info::strategies(),
        Command::Completions { shell } => info::completions(shell),
        Command::Man { dir } => info::man(dir.as_deref()),
        Command::Check { files } => info::check_files(&files),
        Command::Replay { file, headless, format, output } => {
            replay::command(&file, headless, format, output.as_deref())
        }
        Command::Sweep { sweep, sim } => sweep::command(&sweep, &sim),
        Command::Import { format, file, cluster, upstream, backend, output } => {
            import::command(format, &file, cluster.or(upstream).or(backend).as_deref(), output.as_deref())
        }
        Command::Trace { action: args::TraceAction::Import { format, file, output } } => {
            import::trace(format, &file, output.as_deref())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
