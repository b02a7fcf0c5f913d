//! `--plot FILE.svg`: the sweep's chart as an SVG file, drawn with plotters (its SVG backend
//! only: no font files, no image encoders).
//!
//! x is the load, y the chosen metric; one line per strategy with a legend, and a whisker
//! over each point from the low to the high end of its 95% interval. With `--vary`, one
//! panel per value.
//!
//! The y axis fits the data ([`ticks`]): linear unless the data spans more than about a
//! decade and a half, round ticks in one precision; the terminal's chart (`tui::sweep`) uses
//! the same axis.

use std::path::Path;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::{Grid, Metric};

/// A point of a curve: load, mean, and the 95% interval.
pub type Point = (f64, f64, Option<(f64, f64)>);

/// Checks `--plot` before anything runs: an `.svg` file.
pub fn check(path: &Path) -> Result<(), String> {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("svg") => Ok(()),
        Some("png") => Err(format!(
            "--plot {}: PNG is not built in (its encoder would add an image library); write .svg and convert it, e.g. rsvg-convert -o plot.png plot.svg",
            path.display()
        )),
        _ => Err(format!("--plot {}: the file name must end in .svg", path.display())),
    }
}

/// The SVG text of the chart.
pub fn svg(grid: &Grid) -> Result<String, String> {
    let panels: Vec<Option<usize>> = match &grid.vary {
        Some(v) => (0..v.values.len()).map(Some).collect(),
        None => vec![None],
    };
    let cols = panels.len().min(3);
    let rows = panels.len().div_ceil(cols);
    let mut text = String::new();
    {
        let size = (720 * cols as u32, 480 * rows as u32);
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let areas = root.split_evenly((rows, cols));
        for (area, panel) in areas.iter().zip(&panels) {
            draw_panel(area, grid, *panel).map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(text)
}

/// A panel's curves, one per strategy in order: its points sorted by load.
pub fn curves(grid: &Grid, panel: Option<usize>) -> Vec<Vec<Point>> {
    let mut curves: Vec<Vec<Point>> = vec![Vec::new(); grid.strategies.len()];
    for c in grid.cells.iter().filter(|c| c.vary == panel) {
        let f = c.figure(grid.metric);
        let (Some(m), Some(s)) = (f.mean, grid.strategies.iter().position(|s| *s == c.strategy)) else {
            continue;
        };
        curves[s].push((c.load, m, f.ci.map(|ci| (ci.low, ci.high))));
    }
    for points in &mut curves {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    curves
}

/// The y axis of `curves` with at most `max` ticks: it holds every mean and every interval
/// (an interval's low end cut at zero, which none of the figures goes below).
pub fn y_ticks(curves: &[Vec<Point>], max: usize) -> Ticks {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &(_, m, ci) in curves.iter().flatten() {
        let (low, high) = ci.map_or((m, m), |(l, h)| (l.max(0.0).min(m), h.max(m)));
        lo = lo.min(low);
        hi = hi.max(high);
    }
    if lo > hi { linear_ticks(0.0, 1.0, max) } else { ticks(lo, hi, max) }
}

/// The y axis for plotters: linear over positions, its grid lines exactly at the ticks.
struct YAxis {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ranged for YAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() { Vec::new() } else { self.ticks.clone() }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    grid: &Grid,
    panel: Option<usize>,
) -> Result<(), Box<dyn std::error::Error>> {
    let metric = grid.metric;
    let curves = curves(grid, panel);
    // About one tick per 40 pixels of the panel's height.
    let y = y_ticks(&curves, (area.dim_in_pixel().1 as usize / 40).max(3));
    let [y_min, y_max] = y.bounds();
    let at = |v: f64| y.position(v.clamp(y.values[0], y.values[y.values.len() - 1]));
    let x_min = grid.loads.iter().copied().fold(f64::INFINITY, f64::min);
    let x_max = grid.loads.iter().copied().fold(0.0, f64::max);
    let pad = ((x_max - x_min) * 0.05).max(0.02);
    let title = match (&grid.vary, panel) {
        (Some(v), Some(i)) => {
            format!("{}: {} ({} = {})", grid.scenario, metric.label(), v.key(), v.values[i])
        }
        _ => format!("{}: {}", grid.scenario, metric.label()),
    };
    // The y axis's grid lines and labels are exactly the ticks (positions log10 on a log
    // axis); no fine lines in between on either axis.
    let y_range =
        YAxis { inner: (y_min..y_max).into(), ticks: y.values.iter().map(|&v| y.position(v)).collect() };
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((x_min - pad)..(x_max + pad), y_range)?;
    let y_desc = if y.log { format!("{} (log scale)", metric.label()) } else { metric.label().to_string() };
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc("offered load (fraction of capacity)")
        .y_desc(y_desc)
        .x_label_formatter(&|x| format!("{x:.2}"))
        .y_label_formatter(&|p| y.label_at(*p).to_string())
        .draw()?;
    for (i, (strategy, points)) in grid.strategies.iter().zip(&curves).enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(points.iter().map(|p| (p.0, at(p.1))), color.stroke_width(2)))?
            .label(strategy.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(points.iter().map(|p| Circle::new((p.0, at(p.1)), 3, color.filled())))?;
        // Whiskers: the 95% interval, with caps.
        let cap = (x_max - x_min).max(0.1) * 0.006;
        for &(x, _, ci) in points {
            let Some((low, high)) = ci else { continue };
            let (low, high) = (at(low), at(high));
            let style = color.stroke_width(1);
            chart.draw_series([
                PathElement::new(vec![(x, low), (x, high)], style),
                PathElement::new(vec![(x - cap, low), (x + cap, low)], style),
                PathElement::new(vec![(x - cap, high), (x + cap, high)], style),
            ])?;
        }
    }
    chart
        .configure_series_labels()
        .position(if metric == Metric::Goodput {
            SeriesLabelPosition::LowerRight
        } else {
            SeriesLabelPosition::UpperLeft
        })
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// Writes the chart to `path` (through a temporary file beside it, renamed when complete).
pub fn write(path: &Path, grid: &Grid) -> Result<(), String> {
    let text = svg(grid)?;
    let file = crate::output::OutputFile::prepare(path)
        .map_err(|e| format!("cannot write --plot {}: {e}", path.display()))?;
    file.commit(&text).map_err(|e| format!("cannot write --plot {}: {e}", path.display()))
}

/// The data span (largest over smallest) above which the y axis is logarithmic: beyond about
/// a decade and a half, a linear axis would squeeze the low values into its bottom row.
pub const LOG_ABOVE: f64 = 30.0;

/// An axis fitted to the data: its scale and its ticks, round numbers (1, 2 or 5 times a
/// power of ten apart; whole powers of ten on a log axis), evenly spaced on the axis, the
/// first and last being its ends, and their labels, all with the same number of decimals.
#[derive(Clone, Debug, PartialEq)]
pub struct Ticks {
    /// Logarithmic: the ticks are powers of ten, positions their log10.
    pub log: bool,
    /// The ticks, ascending.
    pub values: Vec<f64>,
    /// Their labels, one precision, all different.
    pub labels: Vec<String>,
}

impl Ticks {
    /// Where `v` lies on the axis (its log10 on a log axis).
    pub fn position(&self, v: f64) -> f64 {
        if self.log { v.log10() } else { v }
    }

    /// The axis's ends, as positions.
    pub fn bounds(&self) -> [f64; 2] {
        [self.position(self.values[0]), self.position(self.values[self.values.len() - 1])]
    }

    /// The label of the tick at position `p` (the nearest tick).
    pub fn label_at(&self, p: f64) -> &str {
        let distance = |i: usize| (self.position(self.values[i]) - p).abs();
        let i = (0..self.values.len()).min_by(|&a, &b| distance(a).total_cmp(&distance(b))).unwrap_or(0);
        &self.labels[i]
    }
}

/// The ticks of an axis over data from `lo` to `hi`, at most `max` of them (at least 2):
/// logarithmic when the data is positive and spans more than [`LOG_ABOVE`], else linear with
/// a margin of 5% each side (never below zero for data that is not).
pub fn ticks(lo: f64, hi: f64, max: usize) -> Ticks {
    if lo > 0.0 && hi / lo > LOG_ABOVE && hi < 1e300 {
        log_ticks(lo, hi, max)
    } else {
        linear_ticks(lo, hi, max)
    }
}

/// Linear ticks over data from `lo` to `hi`, at most `max` of them (at least 2).
pub fn linear_ticks(lo: f64, hi: f64, max: usize) -> Ticks {
    let max = max.max(2) as f64;
    // Beyond 1e300 the ticks themselves would overflow: such data gets the axis of no data.
    let sane = |v: f64| v.abs() < 1e300;
    let (lo, hi) = if sane(lo) && sane(hi) && lo <= hi { (lo, hi) } else { (0.0, 1.0) };
    // One value: a span of 10% around it (or 0 to 1 around zero).
    let (mut a, b) = if hi - lo <= hi.abs().max(lo.abs()) * 1e-9 {
        let half = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - half, hi + half)
    } else {
        let pad = (hi - lo) * 0.05;
        (lo - pad, hi + pad)
    };
    if lo >= 0.0 {
        a = a.max(0.0);
    }
    let raw = (b - a) / (max - 1.0);
    if raw <= 0.0 || raw.is_nan() {
        // Values so close to zero that their span underflows.
        return linear_ticks(0.0, 1.0, max as usize);
    }
    let mut k = raw.log10().floor() as i32;
    let mut m = 0;
    let (first, last, step) = loop {
        let step = [1.0, 2.0, 5.0][m] * 10f64.powi(k);
        let first = (a / step + 1e-9).floor();
        let last = (b / step - 1e-9).ceil();
        if last - first < max || k > 300 {
            break (first, last, step);
        }
        m += 1;
        if m == 3 {
            (m, k) = (0, k + 1);
        }
    };
    let exponent = step.log10().floor() as i32;
    let values: Vec<f64> = (0..=(last - first) as i64).map(|i| (first + i as f64) * step).collect();
    let labels = labels(&values, exponent, false);
    Ticks { log: false, values, labels }
}

/// Powers of ten around data from `lo` to `hi` (positive), every one or every few decades so
/// that at most `max` (at least 2).
fn log_ticks(lo: f64, hi: f64, max: usize) -> Ticks {
    let a = (lo.log10() + 1e-9).floor() as i32;
    let b = ((hi.log10() - 1e-9).ceil() as i32).max(a + 1);
    let gaps = max.max(2) as i32 - 1;
    let every = ((b - a + gaps - 1) / gaps).max(1);
    let (a, b) = (a.div_euclid(every) * every, (b + every - 1).div_euclid(every) * every);
    let values: Vec<f64> = (a..=b).step_by(every as usize).map(|k| 10f64.powi(k)).collect();
    let labels = labels(&values, a, true);
    Ticks { log: true, values, labels }
}

/// Labels for ticks that are multiples of 10^`exponent` (powers of ten from it up when
/// `log`): plain with as many decimals as that needs, or, for huge or tiny ticks, in
/// scientific notation with one mantissa precision.
fn labels(values: &[f64], exponent: i32, log: bool) -> Vec<String> {
    let top = values.iter().fold(0f64, |m, v| m.max(v.abs()));
    if exponent >= -4 && top < 1e7 {
        let decimals = (-exponent).max(0) as usize;
        values.iter().map(|v| format!("{:.*}", decimals, v + 0.0)).collect()
    } else {
        let digits = if log { 0 } else { ((top.log10().floor() as i32) - exponent).max(0) as usize };
        values.iter().map(|v| format!("{:.*e}", digits, v + 0.0)).collect()
    }
}
