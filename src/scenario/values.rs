//! The values of the command line's flags, checked: each parser gives a typed value or one
//! line saying what is allowed. The command line (`cli/`) uses them as clap value parsers;
//! `sweep --vary` checks its values with the same ones.

use super::overrides::SlowStartFlag;
use crate::dist::Dist;
use crate::time::{Nanos, parse_duration};

/// `--service`: a distribution (not `empirical:FILE` relative to a scenario).
pub fn parse_service(s: &str) -> Result<Dist, String> {
    Dist::parse_service(s, None)
}

/// `--trace-scale`: positive, at most 1e6.
pub fn parse_trace_scale(s: &str) -> Result<f64, String> {
    let f = parse_positive(s)?;
    if f <= 1e6 { Ok(f) } else { Err(format!("must be at most 1e6, got {f}")) }
}

/// A strategy's name (or alias), as its canonical name.
pub fn parse_strategy(s: &str) -> Result<String, String> {
    crate::strategy::find(s).map(|info| info.name.to_string()).map_err(|e| e.to_string())
}

/// A finite number above 0.
pub fn parse_positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        Ok(x) => Err(format!("must be a positive number, got {x}")),
        Err(_) => Err(format!("`{s}` is not a number")),
    }
}

/// A finite number of at least 0.
pub fn parse_non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        Ok(x) => Err(format!("must be a number of at least 0, got {x}")),
        Err(_) => Err(format!("`{s}` is not a number")),
    }
}

/// A whole number from 1 to `u32::MAX`.
pub fn parse_count(s: &str) -> Result<u32, String> {
    parse_whole(s, 1, u32::MAX as u64).map(|n| n as u32)
}

/// `--threads`: 1 to 1024.
pub fn parse_threads(s: &str) -> Result<u32, String> {
    parse_whole(s, 1, 1024).map(|n| n as u32)
}

/// `--workers`: 1 to the engine's limit.
pub fn parse_workers(s: &str) -> Result<u32, String> {
    parse_whole(s, 1, crate::engine::MAX_WORKERS as u64).map(|n| n as u32)
}

/// `--retries`: 0 to 100.
pub fn parse_retries(s: &str) -> Result<u32, String> {
    parse_whole(s, 0, 100).map(|n| n as u32)
}

/// A whole number in `min..=max`, with a message saying what is allowed.
pub fn parse_whole(s: &str, min: u64, max: u64) -> Result<u64, String> {
    let allowed = || match max {
        u64::MAX => format!("a whole number of at least {min}"),
        _ => format!("a whole number from {min} to {max}"),
    };
    match s.replace('_', "").parse::<i128>() {
        Ok(n) if n >= min as i128 && n <= max as i128 => Ok(n as u64),
        Ok(n) => Err(format!("must be {}, got {n}", allowed())),
        Err(_) => Err(format!("`{s}` is not {}", allowed())),
    }
}

/// `--balancers`: 1 to the engine's limit.
pub fn parse_balancers(s: &str) -> Result<u32, String> {
    parse_whole(s, 1, crate::engine::MAX_BALANCERS as u64).map(|n| n as u32)
}

/// `--replications`: 1 to 10,000.
pub fn parse_replications(s: &str) -> Result<u32, String> {
    parse_whole(s, 1, 10_000).map(|n| n as u32)
}

/// A whole number of at least 1.
pub fn parse_count64(s: &str) -> Result<u64, String> {
    parse_whole(s, 1, u64::MAX)
}

/// A number from 0 to 1.
pub fn parse_probability(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        Ok(p) => Err(format!("must be between 0 and 1, got {p}")),
        Err(_) => Err(format!("`{s}` is not a number")),
    }
}

/// `--time-scale`: 0.01 to 1000.
pub fn parse_time_scale(s: &str) -> Result<f64, String> {
    let f = parse_positive(s)?;
    if (0.01..=1000.0).contains(&f) { Ok(f) } else { Err(format!("must be between 0.01 and 1000, got {f}")) }
}

/// A duration longer than 0.
pub fn parse_positive_duration(s: &str) -> Result<Nanos, String> {
    match parse_duration(s)? {
        0 => Err(format!("`{s}` must be longer than 0")),
        t => Ok(t),
    }
}

/// `--slow-start`: a window, or `off`.
pub fn parse_slow_start(s: &str) -> Result<SlowStartFlag, String> {
    match s {
        "off" => Ok(SlowStartFlag::Off),
        _ => parse_positive_duration(s).map(SlowStartFlag::Window).map_err(|e| format!("{e} (or `off`)")),
    }
}
