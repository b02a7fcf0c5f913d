//! `--plot FILE.svg`: the sweep's chart as an SVG file, drawn with plotters (its SVG backend
//! only: no font files, no image encoders).
//!
//! x is the load, y the chosen metric on a log axis; one line per strategy with a legend,
//! and a whisker over each point from the low to the high end of its 95% interval. With
//! `--vary`, one panel per value.

use std::path::Path;

use plotters::prelude::*;

use super::{Grid, Metric};

/// A point of a curve: load, mean, and the 95% interval (clipped to the axis).
type Point = (f64, f64, Option<(f64, f64)>);

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

fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    grid: &Grid,
    panel: Option<usize>,
) -> Result<(), Box<dyn std::error::Error>> {
    let metric = grid.metric;
    let cells: Vec<_> = grid.cells.iter().filter(|c| c.vary == panel).collect();
    // A log axis needs positive values.
    let mut lows = Vec::new();
    let mut highs = Vec::new();
    for c in &cells {
        let f = c.figure(metric);
        if let Some(m) = f.mean.filter(|m| *m > 0.0) {
            lows.push(f.ci.map_or(m, |ci| ci.low).max(m * 0.1).min(m));
            highs.push(f.ci.map_or(m, |ci| ci.high).max(m));
        }
    }
    let y_min = lows.iter().copied().fold(f64::INFINITY, f64::min);
    let y_max = highs.iter().copied().fold(0.0, f64::max);
    let (y_min, y_max) =
        if y_min.is_finite() && y_max > 0.0 { (y_min / 1.3, y_max * 1.3) } else { (0.1, 10.0) };
    let x_min = grid.loads.iter().copied().fold(f64::INFINITY, f64::min);
    let x_max = grid.loads.iter().copied().fold(0.0, f64::max);
    let pad = ((x_max - x_min) * 0.05).max(0.02);
    let title = match (&grid.vary, panel) {
        (Some(v), Some(i)) => {
            format!("{}: {} ({} = {})", grid.scenario, metric.label(), v.key(), v.values[i])
        }
        _ => format!("{}: {}", grid.scenario, metric.label()),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((x_min - pad)..(x_max + pad), (y_min..y_max).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("offered load (fraction of capacity)")
        .y_desc(format!("{} (log scale)", metric.label()))
        .x_label_formatter(&|x| format!("{x:.2}"))
        .y_label_formatter(&|y| super::render::number(*y))
        .draw()?;
    for (i, strategy) in grid.strategies.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let mut points: Vec<Point> = cells
            .iter()
            .filter(|c| &c.strategy == strategy)
            .filter_map(|c| {
                let f = c.figure(metric);
                let m = f.mean.filter(|m| *m > 0.0)?;
                Some((c.load, m, f.ci.map(|ci| (ci.low.max(y_min), ci.high.min(y_max)))))
            })
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(points.iter().map(|p| (p.0, p.1)), color.stroke_width(2)))?
            .label(strategy.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(points.iter().map(|p| Circle::new((p.0, p.1), 3, color.filled())))?;
        // Whiskers: the 95% interval, with caps.
        let cap = (x_max - x_min).max(0.1) * 0.006;
        for &(x, _, ci) in &points {
            let Some((low, high)) = ci else { continue };
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
