//! Real traffic and real latencies from files: request traces (`[arrivals] kind = "trace"`)
//! and empirical service times (`empirical:FILE`).
//!
//! Both are CSV with a header line: a trace has a column `time` (from the start of the trace)
//! and optionally `demand` (work at speed 1), `client` and `key` (see [`key_of`]); a file of service times has one
//! column (or one named `demand`, `latency` or `service`). Times are decimal seconds
//! (`0.004`) or durations with a unit (`4ms`). Blank lines and lines starting with `#` are
//! skipped. A gzip file (it starts with gzip's magic bytes, whatever its name) is read
//! directly. Every error names the file, the line and the column.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::time::{MAX_TIME, Nanos, SECS};

/// The most lines of data a file may have (a trace keeps about 20 bytes per request).
pub const MAX_LINES: usize = 20_000_000;
/// The most bytes read from a file, after decompression.
pub const MAX_BYTES: u64 = 1 << 30;

/// A problem with a data file: where, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataError {
    /// The file, as the user named it (or as resolved against the scenario's folder).
    pub file: String,
    /// 1-based line and column, when the problem has a place.
    pub position: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, col)) => write!(f, "{}:{line}:{col}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for DataError {}

/// A request trace: arrival times (ns from the start, non-decreasing), and per request its
/// demand and client when the file has those columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// Where it was read from, as the scenario named it.
    pub source: String,
    /// The file read, when it was one (not built into lbsim): an output must not be it.
    pub path: Option<PathBuf>,
    /// Arrival times, non-decreasing.
    pub times: Vec<Nanos>,
    /// Work at speed 1 per request, when the file gives it.
    pub demands: Option<Vec<Nanos>>,
    /// The client of each request, when the file gives it.
    pub clients: Option<Vec<u32>>,
    /// The key of each request, when the file gives it ([`key_of`]): the hashing strategies
    /// and the workers' caches use it instead of a drawn key.
    pub keys: Option<Vec<u64>>,
    /// The distinct keys of `keys` (0 without).
    pub key_count: u64,
    /// Where in the file the values that set the run's length are, for error lines.
    pub marks: Marks,
}

/// Where in a trace file (line, column) the values that set the run's length are: the last
/// time, and the largest demand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Marks {
    /// The last request's time.
    pub last_time: Option<(usize, usize)>,
    /// The largest demand, when the file gives demands.
    pub largest_demand: Option<(usize, usize)>,
}

impl Trace {
    /// Requests in the trace.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// Whether it has no requests (never true of a trace read from a file).
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// The time of the last request (ns).
    pub fn span(&self) -> Nanos {
        self.times.last().copied().unwrap_or(0)
    }

    /// The mean demand (ns), when the file gives demands.
    pub fn mean_demand(&self) -> Option<f64> {
        let d = self.demands.as_ref()?;
        Some(d.iter().map(|&x| x as f64).sum::<f64>() / d.len().max(1) as f64)
    }

    /// Distinct clients, when the file names them.
    pub fn client_count(&self) -> Option<usize> {
        self.clients.as_ref().map(|c| {
            let mut c = c.clone();
            c.sort_unstable();
            c.dedup();
            c.len()
        })
    }

    /// Reads a trace file.
    pub fn read(path: &Path, shown: &str) -> Result<Trace, DataError> {
        let bytes = read_bytes(path, shown)?;
        Trace::parse(&bytes, shown)
    }

    /// Parses a trace from the bytes of a CSV file (gzip or not). `shown` names it in errors.
    pub fn parse(bytes: &[u8], shown: &str) -> Result<Trace, DataError> {
        let bytes = decompress(bytes, shown)?;
        let mut csv = Csv::new(&bytes, shown)?;
        let (header_line, names) = csv.header()?;
        let col = |name: &str| names.iter().position(|n| *n == name);
        let (time, demand, client, key) = (col("time"), col("demand"), col("client"), col("key"));
        for (i, n) in names.iter().enumerate() {
            let known = ["time", "demand", "client", "key"];
            if !known.contains(&n.as_str()) {
                let n = cut(n);
                return Err(csv.error_at(
                    header_line,
                    csv.header_col(i),
                    format!(
                        "unknown column `{n}`; a trace has `time` and optionally `demand`, `client` and `key`"
                    ),
                ));
            }
            if names[..i].contains(n) {
                return Err(csv.error_at(
                    header_line,
                    csv.header_col(i),
                    format!("column `{n}` appears twice"),
                ));
            }
        }
        let time = time.ok_or_else(|| {
            csv.error_at(
                header_line,
                1,
                "no `time` column: a trace needs `time` (and optionally `demand`, `client`)",
            )
        })?;
        let mut trace = Trace {
            source: shown.to_string(),
            path: None,
            times: Vec::new(),
            demands: demand.map(|_| Vec::new()),
            clients: client.map(|_| Vec::new()),
            keys: key.map(|_| Vec::new()),
            key_count: 0,
            marks: Marks::default(),
        };
        let mut largest = 0;
        let mut last = 0;
        while let Some(row) = csv.row(names.len())? {
            let t = row.time(time, "time")?;
            if t < last {
                return Err(row.error(
                    time,
                    format!(
                        "time {} is before the previous line's {}: a trace must be in time order",
                        crate::time::canonical(t),
                        crate::time::canonical(last)
                    ),
                ));
            }
            last = t;
            trace.times.push(t);
            trace.marks.last_time = row.at(time);
            if let (Some(c), Some(d)) = (demand, trace.demands.as_mut()) {
                let demand = row.time(c, "demand")?;
                if demand >= largest || trace.marks.largest_demand.is_none() {
                    (largest, trace.marks.largest_demand) = (demand, row.at(c));
                }
                d.push(demand);
            }
            if let (Some(c), Some(ids)) = (client, trace.clients.as_mut()) {
                ids.push(row.whole(c, "client")?);
            }
            if let (Some(c), Some(keys)) = (key, trace.keys.as_mut()) {
                let cell = row.cell(c);
                if cell.is_empty() {
                    return Err(row.error(c, "empty `key`: every request of a keyed trace needs one".into()));
                }
                keys.push(key_of(cell));
            }
            csv.recycle(row);
        }
        trace.key_count = trace.keys.as_deref().map_or(0, distinct);
        if trace.times.is_empty() {
            return Err(DataError {
                file: shown.to_string(),
                position: None,
                message: "has no requests (a header line, then one line per request)".to_string(),
            });
        }
        Ok(trace)
    }
}

/// A request's key from a trace's `key` cell: a whole number from 0 to 2^64 - 1 written in
/// decimal digits is that number; any other text is hashed with 64-bit FNV-1a over its UTF-8
/// bytes (offset basis 0xcbf29ce484222325, prime 0x100000001b3), the same on every machine.
/// The cell is trimmed and unquoted first, as every cell is.
pub fn key_of(cell: &str) -> u64 {
    if cell.bytes().all(|b| b.is_ascii_digit())
        && let Ok(k) = cell.parse::<u64>()
    {
        return k;
    }
    cell.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// The distinct keys of a trace's `key` column (a keyed scenario's key count).
pub fn distinct(keys: &[u64]) -> u64 {
    let mut k = keys.to_vec();
    k.sort_unstable();
    k.dedup();
    k.len() as u64
}

/// Observed durations to sample from (`empirical:FILE`), sorted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Samples {
    /// The file, as named.
    pub source: String,
    /// The file read, when it was one (not built into lbsim): an output must not be it.
    pub path: Option<PathBuf>,
    /// The values, ascending.
    pub sorted: Vec<Nanos>,
}

impl Samples {
    /// Reads a file of durations.
    pub fn read(path: &Path, shown: &str) -> Result<Samples, DataError> {
        let bytes = read_bytes(path, shown)?;
        Samples::parse(&bytes, shown)
    }

    /// Parses durations from the bytes of a CSV file (gzip or not): one column, or the one
    /// named `demand`, `latency` or `service`.
    pub fn parse(bytes: &[u8], shown: &str) -> Result<Samples, DataError> {
        let bytes = decompress(bytes, shown)?;
        let mut csv = Csv::new(&bytes, shown)?;
        let (header_line, names) = csv.header()?;
        let column = if names.len() == 1 {
            0
        } else {
            names.iter().position(|n| ["demand", "latency", "service"].contains(&n.as_str())).ok_or_else(|| {
                csv.error_at(
                    header_line,
                    1,
                    format!(
                        "{} columns and none named `demand`, `latency` or `service`: which holds the durations?",
                        names.len()
                    ),
                )
            })?
        };
        let name = names[column].to_string();
        let mut sorted = Vec::new();
        while let Some(row) = csv.row(names.len())? {
            sorted.push(row.time(column, &name)?);
            csv.recycle(row);
        }
        if sorted.is_empty() {
            return Err(DataError {
                file: shown.to_string(),
                position: None,
                message: "has no values (a header line, then one duration per line)".to_string(),
            });
        }
        sorted.sort_unstable();
        Ok(Samples { source: shown.to_string(), path: None, sorted })
    }

    /// The quantile function, linear between order statistics: `u` in `[0, 1]` maps to the
    /// value at position `u (n - 1)` of the sorted data, interpolated (ns).
    pub fn quantile(&self, u: f64) -> Nanos {
        let n = self.sorted.len();
        if n == 1 {
            return self.sorted[0];
        }
        let pos = u.clamp(0.0, 1.0) * (n - 1) as f64;
        let i = (pos as usize).min(n - 2);
        let frac = pos - i as f64;
        let (a, b) = (self.sorted[i] as f64, self.sorted[i + 1] as f64);
        (a + frac * (b - a) + 0.5) as Nanos
    }

    /// The mean of the interpolated distribution (ns): each gap between neighbouring order
    /// statistics is equally likely, and uniform within.
    pub fn mean(&self) -> f64 {
        let n = self.sorted.len();
        let sum: f64 = self.sorted.iter().map(|&v| v as f64).sum();
        if n == 1 {
            return sum;
        }
        (sum - (self.sorted[0] as f64 + self.sorted[n - 1] as f64) / 2.0) / (n - 1) as f64
    }

    /// The largest value.
    pub fn largest(&self) -> Nanos {
        self.sorted.last().copied().unwrap_or(0)
    }
}

/// A data file named in a scenario (or on the command line, `base` `None`): its path, relative
/// to `base` (the scenario's folder) when relative, and how errors show it.
pub fn resolve(file: &str, base: Option<&Path>) -> (std::path::PathBuf, String) {
    let path = Path::new(file);
    match base {
        Some(dir) if path.is_relative() => {
            let joined = dir.join(path);
            let shown = joined.display().to_string();
            (joined, shown)
        }
        _ => (path.to_path_buf(), file.to_string()),
    }
}

/// Reads a regular file of at most [`MAX_BYTES`].
pub fn read_bytes(path: &Path, shown: &str) -> Result<Vec<u8>, DataError> {
    let error = |message: String| DataError { file: shown.to_string(), position: None, message };
    let meta = std::fs::metadata(path).map_err(|e| error(format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(error("is not a regular file".to_string()));
    }
    if meta.len() > MAX_BYTES {
        return Err(error(format!("is {} bytes; at most {MAX_BYTES} are read", meta.len())));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| error(format!("cannot read: {e}")))?;
    Ok(bytes)
}

/// The bytes themselves, or what a gzip stream holds (at most [`MAX_BYTES`]).
fn decompress<'a>(bytes: &'a [u8], shown: &str) -> Result<std::borrow::Cow<'a, [u8]>, DataError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes).take(MAX_BYTES + 1).read_to_end(&mut out).map_err(|e| {
        DataError {
            file: shown.to_string(),
            position: None,
            message: format!("is not a readable gzip file: {e}"),
        }
    })?;
    if out.len() as u64 > MAX_BYTES {
        return Err(DataError {
            file: shown.to_string(),
            position: None,
            message: format!("holds more than {MAX_BYTES} bytes uncompressed, the most read"),
        });
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// The CSV reader of data files: the `csv` crate splits the records (quoted fields, `\r\n`
/// or `\n`); this adds what the files need on top: blank lines and `#` comments skipped,
/// spaces around cells trimmed, and the line and column of every cell for error messages.
struct Csv<'a> {
    text: &'a str,
    shown: &'a str,
    reader: csv::Reader<&'a [u8]>,
    header: Vec<usize>,
    rows: usize,
    /// The storage of the latest row, kept to spare an allocation per line.
    spare: (csv::StringRecord, Vec<usize>),
}

/// One line of data: its cells and the byte offset of each in the line.
struct Row<'a> {
    shown: &'a str,
    line: usize,
    text: &'a str,
    record: csv::StringRecord,
    offsets: Vec<usize>,
}

impl<'a> Csv<'a> {
    fn new(bytes: &'a [u8], shown: &'a str) -> Result<Csv<'a>, DataError> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
            DataError {
                file: shown.to_string(),
                position: Some((line, 1)),
                message: "is not UTF-8 text".to_string(),
            }
        })?;
        // A byte order mark, as spreadsheets on Windows write: not part of the first name.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        let spare = (csv::StringRecord::new(), Vec::new());
        Ok(Csv { text, shown, reader, header: Vec::new(), rows: 0, spare })
    }

    fn error_at(&self, line: usize, col: usize, message: impl Into<String>) -> DataError {
        DataError { file: self.shown.to_string(), position: Some((line, col)), message: message.into() }
    }

    fn header_col(&self, i: usize) -> usize {
        self.header.get(i).copied().unwrap_or(1)
    }

    /// The next record that is not blank or a comment: its line number, the line's text, and
    /// its cells (untrimmed) with their byte offsets in the line.
    fn next_record(
        &mut self,
        record: &mut csv::StringRecord,
        offsets: &mut Vec<usize>,
    ) -> Result<Option<(usize, &'a str)>, DataError> {
        loop {
            let more = self.reader.read_record(record).map_err(|e| {
                let line = e.position().map_or(1, |p| p.line() as usize);
                self.error_at(line, 1, format!("cannot be read as CSV: {e}"))
            })?;
            if !more {
                return Ok(None);
            }
            let first = record.get(0).unwrap_or("").trim();
            if (record.len() == 1 && first.is_empty()) || first.starts_with('#') {
                continue;
            }
            let position = record.position().expect("a record read has a position");
            let start = (position.byte() as usize).min(self.text.len());
            let rest = &self.text[start..];
            let line = &rest[..rest.find('\n').unwrap_or(rest.len())];
            let line = line.strip_suffix('\r').unwrap_or(line);
            cell_offsets(line, record, offsets);
            return Ok(Some((position.line() as usize, line)));
        }
    }

    /// The 1-based column of a byte offset in a line.
    fn column(line: &str, offset: usize) -> usize {
        line.get(..offset).map_or(offset, |before| before.chars().count()) + 1
    }

    /// The 1-based columns of ascending byte offsets in a line, counted in one pass (a
    /// header of 400,000 names must not cost 400,000 passes over its line).
    fn columns(line: &str, offsets: &[usize]) -> Vec<usize> {
        let (mut out, mut chars, mut at) = (Vec::with_capacity(offsets.len()), 0, 0);
        for &o in offsets {
            let Some(between) = line.get(at.min(o)..o) else {
                return offsets.iter().map(|&o| o + 1).collect();
            };
            chars += between.chars().count();
            at = o;
            out.push(chars + 1);
        }
        out
    }

    /// The header's column names, with the line they are on.
    fn header(&mut self) -> Result<(usize, Vec<String>), DataError> {
        let (mut record, mut offsets) = (csv::StringRecord::new(), Vec::new());
        let (line, text) = self.next_record(&mut record, &mut offsets)?.ok_or_else(|| DataError {
            file: self.shown.to_string(),
            position: None,
            message: "is empty: expected a header line (e.g. `time,demand`), then the data".to_string(),
        })?;
        self.header = Csv::columns(text, &offsets);
        let names: Vec<String> = record.iter().map(|n| n.trim().to_string()).collect();
        if let Some((i, _)) = names.iter().enumerate().find(|(_, n)| n.is_empty()) {
            return Err(self.error_at(line, self.header_col(i), "empty column name in the header line"));
        }
        if let Some((i, n)) = names.iter().enumerate().find(|(_, n)| n.parse::<f64>().is_ok()) {
            return Err(self.error_at(
                line,
                self.header_col(i),
                format!(
                    "the first line must name the columns (e.g. `time,demand`), found the number `{}`",
                    cut(n)
                ),
            ));
        }
        Ok((line, names))
    }

    /// Takes a row's storage back for the next.
    fn recycle(&mut self, row: Row<'a>) {
        self.spare = (row.record, row.offsets);
    }

    /// The next line of data, with exactly `width` cells.
    fn row(&mut self, width: usize) -> Result<Option<Row<'a>>, DataError> {
        let (mut record, mut offsets) = std::mem::take(&mut self.spare);
        let Some((line, text)) = self.next_record(&mut record, &mut offsets)? else { return Ok(None) };
        self.rows += 1;
        if self.rows > MAX_LINES {
            return Err(self.error_at(
                line,
                1,
                format!("more than {MAX_LINES} lines of data, the most read"),
            ));
        }
        if record.len() != width {
            let col = offsets.get(width).map_or(text.chars().count() + 1, |&o| Csv::column(text, o));
            return Err(self.error_at(
                line,
                col,
                format!("{} values where the header has {width} columns", record.len()),
            ));
        }
        Ok(Some(Row { shown: self.shown, line, text, record, offsets }))
    }
}

/// The byte offset in `line` of each of the record's cells (after its leading spaces). Exact
/// when the line has no quotes; with quotes, the offsets count each quoted cell's quotes
/// once, close enough to point at the cell.
fn cell_offsets(line: &str, record: &csv::StringRecord, offsets: &mut Vec<usize>) {
    offsets.clear();
    if !line.contains('"') {
        let mut start = 0;
        for part in line.split(',') {
            offsets.push(start + part.len() - part.trim_start().len());
            start += part.len() + 1;
        }
        return;
    }
    let mut start = 0;
    for cell in record.iter() {
        let quoted = line.get(start..).is_some_and(|r| r.trim_start().starts_with('"'));
        offsets.push(start + cell.len() - cell.trim_start().len() + quoted as usize);
        start += cell.len() + 1 + 2 * quoted as usize;
    }
}

impl Row<'_> {
    fn cell(&self, cell: usize) -> &str {
        self.record.get(cell).unwrap_or("").trim()
    }

    fn error(&self, cell: usize, message: String) -> DataError {
        DataError { file: self.shown.to_string(), position: self.at(cell), message }
    }

    /// The line and column of `cell`.
    fn at(&self, cell: usize) -> Option<(usize, usize)> {
        // A quoted cell may span lines, leaving fewer offsets in this line than cells.
        let col = self.offsets.get(cell).map_or(1, |&o| Csv::column(self.text, o));
        Some((self.line, col))
    }

    fn time(&self, cell: usize, column: &str) -> Result<Nanos, DataError> {
        parse_time(self.cell(cell)).map_err(|e| self.error(cell, format!("`{column}`: {e}")))
    }

    fn whole(&self, cell: usize, column: &str) -> Result<u32, DataError> {
        let text = self.cell(cell);
        text.parse::<u32>().map_err(|_| {
            let text = cut(text);
            self.error(cell, format!("`{column}`: `{text}` is not a whole number from 0 to {}", u32::MAX))
        })
    }
}

/// A time in a data file: decimal seconds (`0.004`, `12`, `1e-05`, as spreadsheets and
/// Python write them) or a duration with a unit (`4ms`). Exact to the nanosecond (decimal
/// digits, no floating point, so that a trace reads the same on every platform); negative
/// values and values beyond lbsim's virtual time are refused.
pub fn parse_time(text: &str) -> Result<Nanos, String> {
    if text.is_empty() {
        return Err("empty value".to_string());
    }
    let text = &cut(text);
    let too_big = || format!("`{text}` is longer than lbsim's virtual time can hold");
    let total = crate::time::parse_nanos_scientific(text, Some(SECS)).map_err(|e| match e {
        crate::time::TimeError::Negative => format!("`{text}` is negative"),
        crate::time::TimeError::TooLarge => too_big(),
        _ => format!("`{text}` is not a time (seconds such as 0.004, or a duration such as 4ms)"),
    })?;
    if total > MAX_TIME {
        return Err(too_big());
    }
    Ok(total)
}

/// The most characters of a value an error line shows.
const SHOWN_CHARS: usize = 40;

/// A value from a file as an error line shows it: cut to `SHOWN_CHARS` (40) characters (a value
/// of 200 MB is not echoed whole).
pub fn cut(value: &str) -> std::borrow::Cow<'_, str> {
    match value.char_indices().nth(SHOWN_CHARS) {
        None => std::borrow::Cow::Borrowed(value),
        Some((end, _)) => std::borrow::Cow::Owned(format!("{}… ({} bytes)", &value[..end], value.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{MICROS, MILLIS};

    fn err(text: &str) -> String {
        Trace::parse(text.as_bytes(), "t.csv").unwrap_err().to_string()
    }

    #[test]
    fn times_in_seconds_or_with_units() {
        assert_eq!(parse_time("0.004"), Ok(4 * MILLIS));
        assert_eq!(parse_time("4ms"), Ok(4 * MILLIS));
        assert_eq!(parse_time("12"), Ok(12 * SECS));
        assert_eq!(parse_time(".5"), Ok(SECS / 2));
        assert_eq!(parse_time("1.5us"), Ok(1_500));
        assert!(parse_time("-1").unwrap_err().contains("negative"));
        assert!(parse_time("4 parsecs").is_err());
        // Scientific notation, as spreadsheets and Python's csv write small numbers.
        assert_eq!(parse_time("1e-05"), Ok(10 * MICROS));
        assert_eq!(parse_time("1e3"), Ok(1_000 * SECS));
        assert_eq!(parse_time("2.5E-3"), Ok(2_500 * MICROS));
        assert_eq!(parse_time("1.5e+2ms"), Ok(150 * MILLIS));
        assert_eq!(parse_time("1e-12"), Ok(0));
        assert!(parse_time("1e").is_err());
        assert!(parse_time("1e99").unwrap_err().contains("longer"));
    }

    #[test]
    fn reads_a_trace_with_every_column() {
        let t = Trace::parse(
            b"# made by hand\ntime, demand, client\n0,4ms,1\n0.5,0.010,2\n\n0.5,1ms,1\n",
            "t.csv",
        )
        .unwrap();
        assert_eq!(t.times, vec![0, SECS / 2, SECS / 2]);
        assert_eq!(t.demands, Some(vec![4 * MILLIS, 10 * MILLIS, MILLIS]));
        assert_eq!(t.client_count(), Some(2));
        let only_times = Trace::parse(b"time\r\n1\r\n2\r\n", "t.csv").unwrap();
        assert_eq!((&only_times.demands, &only_times.clients, only_times.span()), (&None, &None, 2 * SECS));
    }

    #[test]
    fn quoted_cells_and_crlf_are_read() {
        let t =
            Trace::parse(b"time,demand\r\n\"0.5\",\"1e-03\"\r\n# note\r\n  1 , 2ms\r\n", "t.csv").unwrap();
        assert_eq!(t.times, vec![SECS / 2, SECS]);
        assert_eq!(t.demands, Some(vec![MILLIS, 2 * MILLIS]));
        assert_eq!(
            err("time\n# a comment, \"quoted\n1\nsoon\n"),
            format!(
                "t.csv:4:1: `time`: `soon` is not a time (seconds such as 0.004, or a duration such as 4ms)"
            )
        );
    }

    #[test]
    fn keys_are_numbers_or_hashed_text_quoted_crlf_or_not() {
        let t = Trace::parse(
            b"time,key,demand\r\n0,user-7,1e-3\r\n\"1.5e0\",\"42\",2ms\r\n2,\"a,b\",1ms\r\n3,user-7,1ms\r\n",
            "t.csv",
        )
        .unwrap();
        assert_eq!(t.times, vec![0, 3 * SECS / 2, 2 * SECS, 3 * SECS]);
        assert_eq!(t.demands, Some(vec![MILLIS, 2 * MILLIS, MILLIS, MILLIS]));
        let keys = t.keys.clone().unwrap();
        assert_eq!(keys[1], 42, "a whole number is itself");
        assert_eq!(keys[0], keys[3], "the same text, the same key");
        // 64-bit FNV-1a, as documented: its published test vectors.
        assert_eq!(key_of(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(key_of("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(keys[2], key_of("a,b"));
        assert_eq!(key_of("18446744073709551615"), u64::MAX);
        assert_eq!(key_of("18446744073709551616"), key_of("18446744073709551616"), "too big: hashed");
        assert_ne!(key_of("-1"), 1);
        assert_eq!((distinct(&keys), t.key_count), (3, 3));
    }

    #[test]
    fn errors_name_file_line_and_column() {
        assert_eq!(
            err("time\n1\n0.5\n"),
            "t.csv:3:1: time 500ms is before the previous line's 1s: a trace must be in time order"
        );
        assert_eq!(err("time,demand\n1,-2ms\n"), "t.csv:2:3: `demand`: `-2ms` is negative");
        assert_eq!(err("time,demand\n1\n"), "t.csv:2:2: 1 values where the header has 2 columns");
        assert_eq!(err("time,demand\n1,2,3\n"), "t.csv:2:5: 3 values where the header has 2 columns");
        assert_eq!(
            err("time\nsoon\n"),
            "t.csv:2:1: `time`: `soon` is not a time (seconds such as 0.004, or a duration such as 4ms)"
        );
        assert!(err("demand\n1\n").starts_with("t.csv:1:1: no `time` column"));
        assert!(err("time,kee\n1,a\n").contains("t.csv:1:6: unknown column `kee`; a trace has"));
        assert_eq!(err("time,key\n1,\n"), "t.csv:2:3: empty `key`: every request of a keyed trace needs one");
        assert!(err("0.1,1ms\n").contains("the first line must name the columns"));
        assert_eq!(err(""), "t.csv: is empty: expected a header line (e.g. `time,demand`), then the data");
        assert!(err("time\n").contains("has no requests"));
        assert!(err("time,client\n1,x\n").starts_with("t.csv:2:3: `client`: `x` is not a whole number"));
        let bad_utf8 = Trace::parse(b"time\n1\n\xff\n", "t.csv").unwrap_err().to_string();
        assert_eq!(bad_utf8, "t.csv:3:1: is not UTF-8 text");
    }

    #[test]
    fn a_byte_order_mark_is_skipped_and_long_values_are_cut() {
        let t = Trace::parse("\u{feff}time,demand\n0,1ms\n".as_bytes(), "t.csv").unwrap();
        assert_eq!(t.times, vec![0]);
        let long = "x".repeat(100_000);
        let e = err(&format!("time\n{long}\n"));
        assert!(
            e.len() < 200 && e.starts_with("t.csv:2:1: `time`: `xxxx") && e.contains("100000 bytes"),
            "{e}"
        );
        let e = err(&format!("time,{long}\n1,2\n"));
        assert!(e.len() < 250 && e.starts_with("t.csv:1:6: unknown column"), "{e}");
    }

    #[test]
    fn a_header_of_many_columns_is_read_in_linear_time() {
        let mut text = String::from("time");
        for i in 0..400_000 {
            text.push_str(&format!(",c{i}"));
        }
        text.push_str("\n1\n");
        let started = std::time::Instant::now();
        assert!(err(&text).starts_with("t.csv:1:6: unknown column `c0`"));
        // Quadratic, this took about a minute; linear, well under a second even unoptimised.
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
    }

    #[test]
    fn gzip_is_read_directly() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"time,demand\n0,1ms\n1,2ms\n").unwrap();
        let bytes = gz.finish().unwrap();
        let t = Trace::parse(&bytes, "t.csv.gz").unwrap();
        assert_eq!(t.times, vec![0, SECS]);
        let broken = Trace::parse(&bytes[..bytes.len() / 2], "t.csv.gz").unwrap_err().to_string();
        assert!(broken.starts_with("t.csv.gz: is not a readable gzip file"), "{broken}");
    }

    #[test]
    fn samples_interpolate_between_order_statistics() {
        let s = Samples::parse(b"latency\n3ms\n1ms\n2ms\n", "l.csv").unwrap();
        assert_eq!(s.sorted, vec![MILLIS, 2 * MILLIS, 3 * MILLIS]);
        assert_eq!(
            (s.quantile(0.0), s.quantile(0.25), s.quantile(0.5), s.quantile(1.0)),
            (MILLIS, 1_500_000, 2 * MILLIS, 3 * MILLIS)
        );
        assert_eq!(s.mean(), 2.0 * MILLIS as f64);
        let picked = Samples::parse(b"time,latency\n0,5ms\n1,7ms\n", "l.csv").unwrap();
        assert_eq!(picked.sorted, vec![5 * MILLIS, 7 * MILLIS]);
        let e = Samples::parse(b"a,b\n1,2\n", "l.csv").unwrap_err().to_string();
        assert!(e.contains("none named `demand`, `latency` or `service`"), "{e}");
    }
}
