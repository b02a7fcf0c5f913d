//! Where a report goes: standard output, or a file written atomically (`--output`).

use std::path::Path;

use super::{Error, OutputFile};

/// Prints to standard output. A closed pipe (`lbsim ... | head`) is not an error worth a
/// message; a closed or full standard output is.
pub fn print_stdout(text: &str) -> Result<(), Error> {
    match super::write_stdout(text) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::runtime(format!("cannot write to standard output: {e}"))),
    }
}

/// Writes a report where [`prepare_sink`] said it goes.
pub fn deliver(text: &str, sink: Option<OutputFile>) -> Result<(), Error> {
    match sink {
        Some(file) => {
            let path = file.path().to_path_buf();
            file.commit(text).map_err(|e| output_error(&path, e))
        }
        None => print_stdout(text),
    }
}

fn output_error(path: &Path, e: std::io::Error) -> Error {
    let message = format!("cannot write --output {}: {e}", path.display());
    // Not a regular file (a named pipe nothing reads, a socket): bad input, as for inputs.
    if e.kind() == std::io::ErrorKind::InvalidInput { Error::input(message) } else { Error::runtime(message) }
}

/// Where a run's report will go (`output`: `--output FILE`, else standard output), made sure
/// of before the run starts: the file is created (as a temporary file beside it), or
/// standard output must be open.
pub fn prepare_sink(output: Option<&Path>) -> Result<Option<OutputFile>, Error> {
    match output {
        Some(path) => OutputFile::prepare(path).map(Some).map_err(|e| output_error(path, e)),
        None if !super::stdout_open() => Err(Error::runtime(
            "standard output is closed: there is nowhere to print the report (give --output FILE)",
        )),
        None => Ok(None),
    }
}

/// Whether a run opens the terminal UI: when standard output and input are a terminal,
/// unless `headless`, or the terminal cannot draw it (`TERM=dumb`: then the report is
/// printed, with a note).
pub fn use_ui(headless: bool) -> bool {
    use std::io::IsTerminal;
    if headless || !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return false;
    }
    if std::env::var_os("TERM").is_some_and(|t| t == "dumb") {
        super::error_line("TERM=dumb cannot show the terminal UI; printing the report when the run ends");
        return false;
    }
    true
}
