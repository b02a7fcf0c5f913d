//! `lbsim import envoy|nginx|haproxy FILE`: a proxy's configuration as a scenario (see
//! [`crate::import`]). The scenario goes to standard output or `--output` (written
//! atomically); the notes on what is not modelled go to standard error. `lbsim trace import`
//! converts a public trace the same way.

use std::path::Path;

use super::CliError;
use super::args::{ImportFormat, TraceImportFormat};
use crate::import::{Format, import};
use crate::output::{deliver, prepare_sink};
use crate::scenario::{MAX_FILE_SIZE, Scenario};

/// Reads `file`, translates it, writes the scenario and prints the notes.
pub fn command(
    format: ImportFormat,
    file: &Path,
    select: Option<&str>,
    output: Option<&Path>,
) -> Result<(), CliError> {
    let format = match format {
        ImportFormat::Envoy => Format::Envoy,
        ImportFormat::Nginx => Format::Nginx,
        ImportFormat::Haproxy => Format::Haproxy,
    };
    let origin = file.display().to_string();
    let text =
        std::fs::read_to_string(file).map_err(|e| CliError::input(format!("cannot read {origin}: {e}")))?;
    let imported = import(format, &text, &origin, select).map_err(CliError::input)?;
    let sink = prepare_sink(output)?;
    print_notes(&imported.notes);
    deliver(&imported.toml, sink)
}

/// The notes on what is not modelled, on standard error.
fn print_notes(notes: &[String]) {
    let mut text = format!(
        "lbsim import: {} setting(s) not modelled or modelled differently (also listed in the scenario):\n",
        notes.len()
    );
    for n in notes {
        text += &format!("  - {n}\n");
    }
    crate::output::stderr_text(&crate::text::escape_lines(&text));
}

/// `--scenario FILE` (or `FILE#NAME`, naming the cluster, upstream or backend) when FILE is a
/// proxy's configuration rather than a scenario, recognised by its content
/// ([`crate::import::recognise`]): the scenario `lbsim import` would write, its notes printed
/// on standard error as `lbsim import` prints them. `None` when the argument is not such a
/// file (a TOML scenario, a built-in's name): the caller loads it as a scenario. A file that
/// is neither TOML nor a configuration gets one line saying what was expected.
pub fn config_scenario(arg: &str) -> Result<Option<Scenario>, CliError> {
    let (path, select) = match arg.rsplit_once('#') {
        Some((file, name)) if !Path::new(arg).exists() && Path::new(file).is_file() => (file, Some(name)),
        _ => (arg, None),
    };
    let file = Path::new(path);
    let readable = std::fs::metadata(file).is_ok_and(|m| m.is_file() && m.len() <= MAX_FILE_SIZE);
    let Some(text) = readable.then(|| std::fs::read_to_string(file).ok()).flatten() else {
        return Ok(None);
    };
    let format = match crate::import::recognise(&text) {
        Some(format) if text.parse::<toml::Table>().is_err() => format,
        _ if select.is_some() => {
            return Err(CliError::input(format!(
                "--scenario {path}#{}: `#NAME` picks a cluster, upstream or backend of an Envoy, nginx or \
                 HAProxy configuration, and {path} is not one",
                select.unwrap_or_default()
            )));
        }
        _ if text.parse::<toml::Table>().is_ok() || looks_like_toml(&text) => return Ok(None),
        _ => {
            return Err(CliError::input(format!(
                "{path}: neither a scenario (TOML, e.g. `[arrivals]` and `key = value` lines) nor an \
                 Envoy (YAML or JSON with `static_resources` or `lb_policy`), nginx (`upstream NAME {{`) or \
                 HAProxy (`backend NAME`) configuration"
            )));
        }
    };
    let imported = crate::import::import(format, &text, path, select).map_err(|e| {
        let flag = ["--cluster NAME", "--upstream NAME", "--backend NAME"];
        let hint = format!("--scenario {path}#NAME");
        CliError::input(flag.iter().fold(e.to_string(), |m, f| m.replace(f, &hint)))
    })?;
    print_notes(&imported.notes);
    Scenario::parse(&imported.toml, path).map(Some).map_err(CliError::input)
}

/// Whether text that is not valid TOML was meant to be: a `[table]` or a `key = value` line
/// (its error then says where the TOML is wrong).
fn looks_like_toml(text: &str) -> bool {
    text.lines().map(str::trim).any(|l| {
        let key = l.split_once('=').map(|(k, _)| k.trim());
        (l.starts_with('[') && l.ends_with(']'))
            || key.is_some_and(|k| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || "_-.\"".contains(c))
            })
    })
}

/// `lbsim trace import FORMAT FILE`: the CSV to standard output or `--output`, a summary on
/// standard error.
pub fn trace(format: TraceImportFormat, file: &Path, output: Option<&Path>) -> Result<(), CliError> {
    use crate::import::traces::{TraceFormat, convert};
    let format = match format {
        TraceImportFormat::Azure => TraceFormat::Azure,
        TraceImportFormat::Alibaba => TraceFormat::Alibaba,
        TraceImportFormat::AccessLog => TraceFormat::AccessLog,
    };
    let origin = file.display().to_string();
    let text =
        std::fs::read_to_string(file).map_err(|e| CliError::input(format!("cannot read {origin}: {e}")))?;
    let converted = convert(format, &text, &origin).map_err(CliError::input)?;
    let sink = prepare_sink(output)?;
    let mut summary =
        format!("lbsim trace import: {} requests from {} clients\n", converted.requests, converted.clients);
    for n in &converted.notes {
        summary += &format!("  - {n}\n");
    }
    crate::output::stderr_text(&crate::text::escape_lines(&summary));
    deliver(&converted.csv, sink)
}
