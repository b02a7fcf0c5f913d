//! Public traces as lbsim's trace CSV (`time,demand,client,key`; see [`crate::trace`]), for
//! `lbsim trace import FORMAT FILE`. Each format's key is the data's natural one, for the
//! hashing strategies and the workers' caches:
//!
//! - `azure`: the Azure Functions 2021 invocation trace (Zhang et al., SOSP 2021; the
//!   AzurePublicDataset's `AzureFunctionsInvocationTraceForTwoWeeksJan2021`), columns
//!   `app,func,end_timestamp,duration` in seconds: start = end - duration, sorted by start; the
//!   duration is the demand, the app the client, `app/func` (the function) the key.
//! - `alibaba`: the Alibaba 2021 microservices call-graph trace (Luo et al., SoCC 2021;
//!   clusterdata's `cluster-trace-microservices-v2021`, `MSCallGraph` tables), columns
//!   `timestamp` and `rt` in milliseconds and `service`: each call is a request, its `rt` the
//!   demand, its service the client and the key (a balancer with affinity by service). Rows with a negative `rt` (the data set has some) are
//!   skipped and counted.
//! - `access-log`: a common or combined log format line with `$request_time` (seconds) as its
//!   last field, as nginx writes with `log_format ... $request_time`: the time stamp is the
//!   arrival, the request time the demand, the client address the client, the request's
//!   path without its query (`/cart/42` of `GET /cart/42?x=1 HTTP/1.1`) the key. Log time stamps
//!   have whole seconds: the requests of one second are spread evenly over it.
//!
//! Times start at the trace's first request.

use super::ImportError;
use crate::time::{Nanos, SECS};

/// A public trace's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    /// Azure Functions 2021 invocations.
    Azure,
    /// Alibaba 2021 microservice calls.
    Alibaba,
    /// An access log with `$request_time` last.
    AccessLog,
}

/// A converted trace.
#[derive(Clone, Debug)]
pub struct Converted {
    /// lbsim's trace CSV.
    pub csv: String,
    /// Requests written.
    pub requests: usize,
    /// Distinct clients.
    pub clients: usize,
    /// What was skipped or assumed, one line each.
    pub notes: Vec<String>,
}

/// One request: arrival (ns, absolute), demand (ns), client name, key.
type Row = (i128, Nanos, String, String);

fn err(origin: &str, line: usize, key: &str, problem: impl Into<String>) -> ImportError {
    ImportError { origin: origin.into(), line, key: key.into(), problem: problem.into() }
}

/// Converts `text` (from `origin`) in `format` to lbsim's trace CSV.
pub fn convert(format: TraceFormat, text: &str, origin: &str) -> Result<Converted, ImportError> {
    let mut notes = Vec::new();
    let rows = match format {
        TraceFormat::Azure => {
            csv_rows(text, origin, &["app", "end_timestamp", "duration", "func"], SECS, &mut notes)?
        }
        TraceFormat::Alibaba => csv_rows(
            text,
            origin,
            &["service", "timestamp", "rt", "service"],
            crate::time::MILLIS,
            &mut notes,
        )?,
        TraceFormat::AccessLog => access_log(text, origin, &mut notes)?,
    };
    Ok(write(rows, notes))
}

/// A number of `unit`s as ns; decimals and scientific notation accepted.
fn amount(text: &str, unit: Nanos) -> Option<i128> {
    let x: f64 = text.trim().parse().ok()?;
    (x.is_finite() && x.abs() < 1e12).then(|| (x * unit as f64).round() as i128)
}

/// CSV rows with a client column, a time column, a duration column (in `unit`s) and a key
/// column. For Azure the time is the end (start = end - duration) and the key `app/func`; for
/// Alibaba the time is the start.
fn csv_rows(
    text: &str,
    origin: &str,
    names: &[&str; 4],
    unit: Nanos,
    notes: &mut Vec<String>,
) -> Result<Vec<Row>, ImportError> {
    let mut reader =
        csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(true).from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| err(origin, 1, "", format!("not CSV: {e}")))?.clone();
    let col = |n: &str| header.iter().position(|h| h == n);
    let mut cols = [0; 4];
    for (i, n) in names.iter().enumerate() {
        cols[i] = col(n).ok_or_else(|| {
            err(
                origin,
                1,
                n,
                format!("no `{n}` column (the header has: {})", header.iter().collect::<Vec<_>>().join(", ")),
            )
        })?;
    }
    let end_based = names[1] == "end_timestamp";
    let (mut rows, mut negative) = (Vec::new(), 0);
    for record in reader.records() {
        let record = record
            .map_err(|e| err(origin, e.position().map_or(0, |p| p.line() as usize), "", e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let field = |i: usize| record.get(cols[i]).unwrap_or("");
        let number = |i: usize| {
            amount(field(i), unit)
                .ok_or_else(|| err(origin, line, names[i], format!("`{}` is not a number", field(i))))
        };
        let (at, dur) = (number(1)?, number(2)?);
        if dur < 0 {
            negative += 1;
            continue;
        }
        let start = if end_based { at - dur } else { at };
        let key = if end_based { format!("{}/{}", field(0), field(3)) } else { field(3).to_string() };
        rows.push((start, dur as Nanos, field(0).to_string(), key));
    }
    if negative > 0 {
        notes.push(format!("{negative} row(s) with a negative `{}` skipped", names[2]));
    }
    Ok(rows)
}

/// Common/combined log format lines, `$request_time` last.
fn access_log(text: &str, origin: &str, notes: &mut Vec<String>) -> Result<Vec<Row>, ImportError> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let n = i + 1;
        let client = line.split_whitespace().next().unwrap_or("").to_string();
        let stamp = line
            .split_once('[')
            .and_then(|(_, r)| r.split_once(']'))
            .and_then(|(s, _)| log_time(s))
            .ok_or_else(|| err(origin, n, "time", "no time stamp such as [10/Oct/2000:13:55:36 -0700]"))?;
        let last = line.split_whitespace().last().unwrap_or("");
        let dur = amount(last.trim_matches('"'), SECS).filter(|d| *d >= 0).ok_or_else(|| {
            err(
                origin,
                n,
                "request_time",
                format!("`{last}` is not a request time in seconds (the last field)"),
            )
        })?;
        let path = line
            .split_once('"')
            .and_then(|(_, r)| r.split_whitespace().nth(1))
            .map_or("-", |p| p.split(['?', '"']).next().unwrap_or("-"));
        rows.push((stamp as i128 * SECS as i128, dur as Nanos, client, path.to_string()));
    }
    // Requests of one second, spread evenly over it (in the log's order).
    let mut i = 0;
    while i < rows.len() {
        let j = (i..rows.len()).find(|&j| rows[j].0 != rows[i].0).unwrap_or(rows.len());
        for (k, row) in rows[i..j].iter_mut().enumerate() {
            row.0 += (k as i128 * SECS as i128) / (j - i) as i128;
        }
        i = j;
    }
    notes.push("log time stamps have whole seconds: each second's requests are spread evenly over it".into());
    Ok(rows)
}

/// `10/Oct/2000:13:55:36 -0700` as seconds since 1970 (UTC).
fn log_time(s: &str) -> Option<i64> {
    let (date, zone) = s.trim().split_once(' ').unwrap_or((s.trim(), "+0000"));
    let mut parts = date.splitn(4, [':', '/']);
    let day: i64 = parts.next()?.parse().ok()?;
    let name = parts.next()?;
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = months.iter().position(|m| *m == name)? as i64 + 1;
    let rest: Vec<&str> = date.split(':').collect();
    let year: i64 = parts.next()?.parse().ok()?;
    let [_, h, m, sec] = rest.as_slice() else { return None };
    let (h, m, sec): (i64, i64, i64) = (h.parse().ok()?, m.parse().ok()?, sec.parse().ok()?);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let z: i64 = zone.trim_start_matches(['+', '-']).parse().ok()?;
    let offset = sign * ((z / 100) * 3600 + (z % 100) * 60);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + m * 60 + sec - offset)
}

/// Sorted by arrival (stable), times from the first, clients numbered in order of appearance.
fn write(mut rows: Vec<Row>, notes: Vec<String>) -> Converted {
    rows.sort_by_key(|r| r.0);
    let first = rows.first().map_or(0, |r| r.0);
    let mut clients: Vec<String> = Vec::new();
    let mut index = std::collections::BTreeMap::new();
    let mut csv = String::from("time,demand,client,key\n");
    for (at, demand, client, key) in &rows {
        let id = *index.entry(client.clone()).or_insert_with(|| {
            clients.push(client.clone());
            clients.len() - 1
        });
        csv += &format!("{},{},{id},{}\n", seconds((at - first) as Nanos), seconds(*demand), cell(key));
    }
    Converted { csv, requests: rows.len(), clients: clients.len(), notes }
}

/// A CSV cell: quoted (quotes doubled) when it holds a comma, a quote, a `#` or white space
/// at its ends; `-` when empty.
fn cell(text: &str) -> String {
    // A request without a key in the data (an empty field) gets the key `-`.
    let text = if text.is_empty() { "-" } else { text };
    let plain = !text.is_empty() && !text.contains([',', '"', '\n', '\r', '#']) && text.trim() == text;
    if plain { text.to_string() } else { format!("\"{}\"", text.replace('"', "\"\"")) }
}

/// Exact decimal seconds, without trailing zeros.
fn seconds(t: Nanos) -> String {
    let text = format!("{}.{:09}", t / SECS, t % SECS);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_times_are_utc_seconds() {
        assert_eq!(log_time("01/Jan/1970:00:00:00 +0000"), Some(0));
        assert_eq!(log_time("10/Oct/2000:13:55:36 -0700"), Some(971_211_336));
        assert_eq!(log_time("10/Foo/2000:13:55:36 -0700"), None);
    }
}
