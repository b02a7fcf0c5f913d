//! The commands that run nothing: `scenarios`, `strategies`, `check`, `completions`, `man`.

use std::path::{Path, PathBuf};

use super::{Cli, CliError};
use crate::output::print_stdout;
use crate::scenario::{Scenario, builtin};
use crate::strategy;

/// `lbsim scenarios`: the built-ins, in course order.
pub fn list_scenarios() -> Result<(), CliError> {
    let width = builtin::BUILTINS.iter().map(|b| b.name.len()).max().unwrap_or(0);
    let mut out = String::from("The playground, then the course, in order:\n\n");
    for b in builtin::BUILTINS {
        let s = b.scenario().map_err(CliError::runtime)?;
        let n = builtin::lesson(b.name).map_or("  ".to_string(), |n| format!("{n:>2}"));
        out += &format!("{n}  {:<width$}  {}\n", b.name, s.description);
    }
    out += "\nlbsim scenarios show NAME prints one, with what to press and what to see;\n";
    out += "lbsim run --scenario NAME runs it.\n";
    print_stdout(&out)
}

/// `lbsim scenarios show NAME`.
pub fn show_scenario(name: &str) -> Result<(), CliError> {
    let b = builtin::find(name).ok_or_else(|| {
        CliError::input(format!("no built-in scenario `{name}` (built-ins: {})", builtin::names()))
    })?;
    print_stdout(b.text)
}

/// `lbsim strategies`.
pub fn strategies() -> Result<(), CliError> {
    let width = strategy::all().map(|s| s.name.len()).max().unwrap_or(0);
    let out: String = strategy::all().map(|s| format!("{:<width$}  {}\n", s.name, s.about)).collect();
    print_stdout(&out)
}

/// `lbsim completions SHELL`.
pub fn completions(shell: clap_complete::Shell) -> Result<(), CliError> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "lbsim", &mut out);
    print_stdout(&String::from_utf8_lossy(&out))
}

/// `lbsim man [--dir DIR]`.
pub fn man(dir: Option<&Path>) -> Result<(), CliError> {
    match dir {
        Some(dir) => {
            clap_mangen::generate_to(<Cli as clap::CommandFactory>::command(), dir).map_err(|e| {
                CliError::runtime(format!("cannot write the manual pages to {}: {e}", dir.display()))
            })?;
            print_stdout(&format!("manual pages written to {}\n", dir.display()))
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut out)
                .map_err(|e| CliError::runtime(format!("cannot render the manual page: {e}")))?;
            print_stdout(&String::from_utf8_lossy(&out))
        }
    }
}

/// `lbsim check`: every file is checked and reported on, good ones on standard output, bad
/// ones on standard error; exit 2 if any was bad.
pub fn check_files(files: &[PathBuf]) -> Result<(), CliError> {
    let mut out = String::new();
    let mut bad = 0;
    for f in files {
        // A file, or else a built-in scenario's name (as --scenario takes).
        let builtin = builtin::find(&f.to_string_lossy()).filter(|_| !f.exists());
        let loaded = match builtin {
            Some(b) => b.scenario().map_err(|e| e.to_string()),
            // A proxy's configuration is checked as the scenario its import gives.
            None => match super::import::config_scenario(&f.to_string_lossy()) {
                Ok(Some(s)) => Ok(s),
                Ok(None) => Scenario::load(f).map_err(|e| e.to_string()),
                Err(e) => Err(e.message),
            },
        };
        let checked =
            loaded.and_then(|s| s.to_config().map(|_| s).map_err(|e| format!("{}: {e}", f.display())));
        match checked {
            Ok(s) => {
                out += &format!("{}: ok ({})\n", f.display(), crate::text::escape(&s.name));
                for w in super::run::choice_warnings(&s, std::slice::from_ref(&s.strategy), None) {
                    out += &format!("{}: warning: {w}\n", f.display());
                }
            }
            Err(e) if files.len() == 1 => return Err(CliError::input(e)),
            Err(e) => {
                crate::output::error_line(&e);
                bad += 1;
            }
        }
    }
    print_stdout(&crate::text::escape_lines(&out))?;
    match bad {
        0 => Ok(()),
        n => Err(CliError::input(format!("{n} of {} scenario files have errors (above)", files.len()))),
    }
}
