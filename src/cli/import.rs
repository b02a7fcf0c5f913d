//! `lbsim import envoy|nginx|haproxy FILE`: a proxy's configuration as a scenario (see
//! [`crate::import`]). The scenario goes to standard output or `--output` (written
//! atomically); the notes on what is not modelled go to standard error. `lbsim trace import`
//! converts a public trace the same way.

use std::path::Path;

use super::CliError;
use super::args::{ImportFormat, TraceImportFormat};
use crate::import::{Format, import};
use crate::output::{deliver, prepare_sink};

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
    let mut notes = format!(
        "lbsim import: {} setting(s) not modelled or modelled differently (also listed in the scenario):\n",
        imported.notes.len()
    );
    for n in &imported.notes {
        notes += &format!("  - {n}\n");
    }
    crate::output::stderr_text(&crate::text::escape_lines(&notes));
    deliver(&imported.toml, sink)
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
