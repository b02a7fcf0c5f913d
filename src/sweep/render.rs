//! A sweep's report: the table (mean ± half-width), the JSON contract and CSV.

use std::fmt::Write;

use serde::Serialize;
use serde::ser::SerializeMap;

use super::{Cell, Figure, Grid, Metric};
use crate::text::escape;

/// What the JSON's `sweep` says varied.
#[derive(Serialize)]
struct Header<'a> {
    scenario: &'a str,
    strategies: &'a [String],
    loads: &'a [f64],
    vary: Option<VaryHeader>,
    replications: u32,
    seed: u64,
    metric: Metric,
    /// Present (true) only when a signal stopped the sweep before every run finished.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    partial: bool,
    /// The signal that stopped it.
    #[serde(skip_serializing_if = "Option::is_none")]
    interrupted_by: Option<String>,
}

#[derive(Serialize)]
struct VaryHeader {
    name: &'static str,
    values: Vec<serde_json::Value>,
}

#[derive(Serialize)]
struct CellOut<'a> {
    strategy: &'a str,
    load: f64,
    vary: Option<serde_json::Map<String, serde_json::Value>>,
    replications: usize,
    metrics: Metrics<'a>,
}

/// `{"mean_ms": {...}, ...}` in [`Metric::ALL`] order.
pub(super) struct Metrics<'a>(pub(super) &'a Cell);

#[derive(Serialize)]
pub(super) struct FigureOut {
    pub(super) mean: Option<f64>,
    pub(super) ci95_low: Option<f64>,
    pub(super) ci95_high: Option<f64>,
}

impl From<Figure> for FigureOut {
    fn from(f: Figure) -> FigureOut {
        FigureOut { mean: f.mean, ci95_low: f.ci.map(|c| c.low), ci95_high: f.ci.map(|c| c.high) }
    }
}

impl Serialize for Metrics<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(Metric::ALL.len()))?;
        for metric in Metric::ALL {
            m.serialize_entry(metric.key(), &FigureOut::from(self.0.figure(metric)))?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct Out<'a> {
    sweep: Header<'a>,
    cells: Vec<CellOut<'a>>,
}

fn header(grid: &Grid) -> Header<'_> {
    Header {
        scenario: &grid.scenario,
        strategies: &grid.strategies,
        loads: &grid.loads,
        vary: grid.vary.as_ref().map(|v| VaryHeader {
            name: v.key(),
            values: v.values.iter().map(|x| v.json(x).unwrap_or(serde_json::Value::Null)).collect(),
        }),
        replications: grid.replications,
        seed: grid.seed,
        metric: grid.metric,
        partial: grid.interrupted.is_some(),
        interrupted_by: grid.interrupted.map(super::signal_name),
    }
}

fn vary_of(grid: &Grid, cell: &Cell) -> Option<(&'static str, serde_json::Value)> {
    let (v, i) = (grid.vary.as_ref()?, cell.vary?);
    Some((v.key(), v.json(&v.values[i]).unwrap_or(serde_json::Value::Null)))
}

/// `{"sweep": {...}, "cells": [...]}`: the contract documented in the book (docs/src/reference/json.md).
pub fn sweep_json(grid: &Grid) -> String {
    let cells = grid
        .cells
        .iter()
        .map(|c| CellOut {
            strategy: &c.strategy,
            load: c.load,
            vary: vary_of(grid, c).map(|(k, v)| [(k.to_string(), v)].into_iter().collect()),
            replications: c.samples.len(),
            metrics: Metrics(c),
        })
        .collect();
    crate::report::json::document(&Out { sweep: header(grid), cells })
}

/// A header line and one line per cell: strategy, load, the varied option and its value,
/// replications, then mean, ci95_low and ci95_high of each metric (empty when n/a).
pub fn sweep_csv(grid: &Grid) -> String {
    let rows = grid.cells.iter().map(|c| {
        let (name, value) = match vary_of(grid, c) {
            Some((k, serde_json::Value::String(s))) => (k.to_string(), s),
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (String::new(), String::new()),
        };
        let mut row = vec![escape(&c.strategy).into_owned(), c.load.to_string(), name, value];
        row.push(c.samples.len().to_string());
        row.extend(csv_figures(c));
        row
    });
    csv_text(&csv_header(&["strategy", "load", "vary", "vary_value", "replications"]), rows)
}

/// CSV text (by the `csv` crate: fields quoted where they need it, `\n` line ends): the
/// header, then the rows.
pub(crate) fn csv_text(header: &[String], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).expect("CSV is written to memory");
    for row in rows {
        w.write_record(&row).expect("CSV is written to memory");
    }
    let bytes = w.into_inner().expect("CSV is written to memory");
    String::from_utf8(bytes).expect("the fields are text")
}

/// A CSV header: the leading columns, then mean, ci95_low and ci95_high of each metric.
pub(crate) fn csv_header(leading: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = leading.iter().map(|c| c.to_string()).collect();
    for m in Metric::ALL {
        let k = m.key();
        out.extend([format!("{k}_mean"), format!("{k}_ci95_low"), format!("{k}_ci95_high")]);
    }
    out
}

/// A cell's figures for a CSV line: mean, ci95_low and ci95_high of each metric (empty when
/// n/a).
pub(crate) fn csv_figures(cell: &super::Cell) -> Vec<String> {
    let opt = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
    let mut out = Vec::new();
    for m in Metric::ALL {
        let f = cell.figure(m);
        out.extend([opt(f.mean), opt(f.ci.map(|c| c.low)), opt(f.ci.map(|c| c.high))]);
    }
    out
}

/// A figure with about four significant digits.
pub(crate) fn number(v: f64) -> String {
    match v.abs() {
        x if x >= 1000.0 => format!("{v:.0}"),
        x if x >= 100.0 => format!("{v:.1}"),
        x if x >= 10.0 => format!("{v:.2}"),
        _ => format!("{v:.3}"),
    }
}

/// `mean ± half-width` (`n/a` when nothing completed; the mean alone with one replication).
pub(crate) fn cell_text(f: Figure) -> String {
    match (f.mean, f.ci) {
        (None, _) => "n/a".to_string(),
        (Some(m), None) => number(m),
        (Some(m), Some(ci)) => format!("{} ± {}", number(m), number(ci.half_width())),
    }
}

/// The table: one block per `--vary` value, a row per load, a column per strategy, each
/// cell `mean ± half-width` of the chosen metric.
pub fn sweep_table(grid: &Grid) -> String {
    let first_seed = grid.seed;
    let last_seed = grid.seed_of(grid.replications - 1);
    let mut out = format!(
        "lbsim sweep · scenario {} · {} replications per cell (seeds {first_seed} to {last_seed}, the same for every cell)\n",
        escape(&grid.scenario),
        grid.replications
    );
    let _ = writeln!(
        out,
        "{}: mean ± half-width of its 95% confidence interval (Student t over replications)",
        grid.metric.label()
    );
    if let Some(signal) = grid.interrupted {
        let _ = writeln!(
            out,
            "partial: interrupted by {}; a cell marked (n/{}) has only n of its replications",
            super::signal_name(signal),
            grid.replications
        );
    }
    let blocks: Vec<Option<usize>> = match &grid.vary {
        Some(v) => (0..v.values.len()).map(Some).collect(),
        None => vec![None],
    };
    for block in blocks {
        out.push('\n');
        if let (Some(v), Some(i)) = (&grid.vary, block) {
            let _ = writeln!(out, "{} = {}", v.key(), v.values[i]);
        }
        let cells: Vec<&Cell> = grid.cells.iter().filter(|c| c.vary == block).collect();
        let text = |c: &Cell| {
            let mut t = cell_text(c.figure(grid.metric));
            if c.samples.len() < grid.replications as usize {
                let _ = write!(t, " ({}/{})", c.samples.len(), grid.replications);
            }
            t
        };
        let width = grid
            .strategies
            .iter()
            .map(|s| escape(s).chars().count())
            .chain(cells.iter().map(|c| text(c).chars().count()))
            .max()
            .unwrap_or(8)
            + 3;
        let _ = write!(out, "{:<6}", "load");
        for s in &grid.strategies {
            let _ = write!(out, "{:>width$}", escape(s));
        }
        out.push('\n');
        for &load in &grid.loads {
            let _ = write!(out, "{:<6}", load);
            for s in &grid.strategies {
                let t = cells
                    .iter()
                    .find(|c| &c.strategy == s && c.load == load)
                    .map_or(String::new(), |c| text(c));
                let _ = write!(out, "{t:>width$}");
            }
            out.push('\n');
        }
    }
    if grid.stopped() > 0 {
        let _ =
            writeln!(out, "\n{} runs stopped early at the in-flight cap (see the warning)", grid.stopped());
    }
    out
}
