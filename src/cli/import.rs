//! `lbsim import envoy|nginx|haproxy FILE`: a proxy's configuration as a scenario (see
//! [`crate::import`]). The scenario goes to standard output or `--output` (written
//! atomically); the notes on what is not modelled go to standard error.

use std::path::Path;

use super::CliError;
use super::args::ImportFormat;
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
