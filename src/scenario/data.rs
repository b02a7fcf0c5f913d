//! The data files a scenario names: a trace (`[arrivals] file`) and empirical service times
//! (`service = "empirical:FILE"`), found relative to the scenario's file, or among the files
//! built into lbsim for a built-in scenario.

use std::sync::Arc;

use toml::Spanned;

use super::ScenarioError;
use crate::dist::Dist;
use crate::trace::{DataError, Samples, Trace};

/// What [`bytes`] read: the bytes, how errors show the file, and its path (none when built in).
type Read = (std::borrow::Cow<'static, [u8]>, String, Option<std::path::PathBuf>);

/// The bytes of `file` as a scenario from `origin` names it, how errors show it, and the
/// file read.
fn bytes(origin: &str, file: &str) -> Result<Read, DataError> {
    if let Some(name) = origin.strip_prefix("built-in ") {
        let data = super::builtin::data(file).ok_or_else(|| DataError {
            file: file.to_string(),
            position: None,
            message: format!("is not among the files built into lbsim (named by built-in {name})"),
        })?;
        return Ok((std::borrow::Cow::Borrowed(data), format!("built-in {file}"), None));
    }
    let base = std::path::Path::new(origin).parent();
    let (path, shown) = crate::trace::resolve(file, base);
    Ok((std::borrow::Cow::Owned(crate::trace::read_bytes(&path, &shown)?), shown, Some(path)))
}

fn data_error(e: DataError) -> ScenarioError {
    ScenarioError { file: e.file, position: e.position, field: None, message: e.message }
}

/// The trace `[arrivals] file` names.
pub(super) fn trace(text: &str, origin: &str, file: &Spanned<String>) -> Result<Arc<Trace>, ScenarioError> {
    let name = file.get_ref().trim();
    if name.is_empty() {
        return Err(super::locate::field_error(text, origin, file.span(), "arrivals.file", "names no file"));
    }
    let (bytes, shown, path) = bytes(origin, name).map_err(data_error)?;
    let trace = Trace::parse(&bytes, &shown).map_err(data_error)?;
    Ok(Arc::new(Trace { source: name.to_string(), path, ..trace }))
}

/// The `service` distribution: the syntax of `--service`, or `empirical:FILE`.
pub(super) fn service(text: &str, origin: &str, service: &Spanned<String>) -> Result<Dist, ScenarioError> {
    let spec = service.get_ref().trim();
    let at = |message: String| super::locate::field_error(text, origin, service.span(), "service", &message);
    let Some(file) = spec.strip_prefix("empirical:").map(str::trim) else {
        return Dist::parse(spec).map_err(at);
    };
    if file.is_empty() {
        return Err(at(format!("`{spec}` names no file (empirical:FILE, e.g. empirical:latencies.csv)")));
    }
    let (bytes, shown, path) = bytes(origin, file).map_err(data_error)?;
    let samples = Samples::parse(&bytes, &shown).map_err(data_error)?;
    Ok(Dist::Empirical(Arc::new(Samples { source: file.to_string(), path, ..samples })))
}

/// The command line's `--rate`, `--load` (given or not) and `--trace-scale` against a
/// scenario's arrivals: a trace's times set the rate, so `--rate` and `--load` are refused for
/// it, and `--trace-scale` applies to nothing else.
pub fn trace_flags(
    s: &mut super::Scenario,
    rate: bool,
    load: bool,
    scale: Option<f64>,
) -> Result<(), String> {
    match (&mut s.arrivals, scale) {
        (super::ArrivalSpec::Trace { trace, .. }, _) if rate || load => Err(format!(
            "{}: the arrivals come from the trace {}, whose times set the rate; replay it faster or \
             slower with --trace-scale F (0.5: twice as fast)",
            if rate { "--rate" } else { "--load" },
            trace.source
        )),
        (super::ArrivalSpec::Trace { scale: current, .. }, Some(f)) => {
            *current = f;
            Ok(())
        }
        (_, Some(_)) => {
            Err("--trace-scale applies to trace arrivals ([arrivals] kind = \"trace\")".to_string())
        }
        _ => Ok(()),
    }
}
