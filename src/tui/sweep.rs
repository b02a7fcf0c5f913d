//! The live chart of `lbsim sweep` on a terminal: x the load, y the metric on an axis fitted
//! to the data (the SVG's, [`plot::y_ticks`]: linear unless the data spans more than about a
//! decade and a half), one line per strategy, capped whiskers for the 95% intervals, points
//! filling in as cells finish. `q` stops early and keeps what is done.
//!
//! The runs go on the sweep's thread pool; this loop is the pool's monitor: it reads keys
//! without waiting and redraws a few times a second from the results so far.

use std::time::{Duration, Instant};

use crossterm::event::{self, Event, KeyCode, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::Line;
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, LegendPosition, Paragraph, Widget};

use crate::sweep::plot::{self, Point};
use crate::sweep::{Grid, Job, Sample};

/// Colours of the strategies' lines, in order.
const COLOURS: [Color; 6] =
    [Color::Red, Color::Green, Color::Yellow, Color::Cyan, Color::Magenta, Color::Blue];

/// Whether a key asks to stop.
fn is_quit(e: &Event) -> bool {
    match e {
        Event::Key(k) => {
            matches!(k.code, KeyCode::Char('q') | KeyCode::Esc)
                || (k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL))
        }
        _ => false,
    }
}

/// Whether a key asks to stop, or the terminal is gone (reading it fails, as with EIO once
/// it has closed): then too the chart must end rather than spin.
fn quit_pressed() -> bool {
    loop {
        match event::poll(Duration::ZERO) {
            Ok(false) => return false,
            Ok(true) => match event::read() {
                Ok(e) if is_quit(&e) => return true,
                Ok(_) => {}
                Err(_) => return true,
            },
            Err(_) => return true,
        }
    }
}

/// Runs `jobs` under the live chart; returns their samples (`None` where stopped early).
/// `stop` says when a signal asks the program to stop: the chart then ends at once (the
/// pool's runs stop within a moment) and the terminal is restored.
pub fn run(
    grid: &Grid,
    jobs: &[Job],
    threads: usize,
    auto: bool,
    stop: &dyn Fn() -> Option<i32>,
) -> Result<Vec<Option<Sample>>, String> {
    let mut terminal = ratatui::try_init().map_err(|e| format!("cannot open the terminal UI: {e}"))?;
    let restore = super::Restore;
    let mut last = Instant::now() - Duration::from_secs(1);
    let mut stopped = false;
    let mut draw_error = None;
    let samples = crate::sweep::execute(jobs, threads, auto, &mut |p| {
        if stop().is_some() {
            // Not drawn again: the terminal may be gone, and the program ends now.
            return true;
        }
        if quit_pressed() {
            stopped = true;
        }
        if last.elapsed() >= Duration::from_millis(100) {
            last = Instant::now();
            let mut g = grid.clone();
            g.fill(p.results());
            let status = if stopped {
                "stopping: keeping what is done".to_string()
            } else {
                format!("{:.0}% done · q stops and keeps what is done", p.fraction * 100.0)
            };
            if let Err(e) =
                terminal.draw(|f| SweepView { grid: &g, status: &status }.render(f.area(), f.buffer_mut()))
            {
                draw_error.get_or_insert(e.to_string());
                stopped = true;
            }
        }
        stopped
    })?;
    if stop().is_some() {
        drop(restore);
        return Ok(samples);
    }
    if let Some(e) = draw_error {
        return Err(format!("terminal error: {e}"));
    }
    if !stopped {
        // Done: keep the finished chart on screen until a key (or a signal, or the terminal
        // going away).
        let mut g = grid.clone();
        g.fill(samples.clone());
        let status = "done · any key prints the report";
        terminal
            .draw(|f| SweepView { grid: &g, status }.render(f.area(), f.buffer_mut()))
            .map_err(|e| format!("terminal error: {e}"))?;
        while stop().is_none() {
            match event::poll(Duration::from_millis(100)) {
                Ok(false) => {}
                Ok(true) => match event::read() {
                    Ok(Event::Key(_)) | Err(_) => break,
                    Ok(_) => {}
                },
                Err(_) => break,
            }
        }
    }
    drop(restore);
    Ok(samples)
}

/// The whole screen: a status line and one chart per `--vary` value.
pub struct SweepView<'a> {
    /// The grid, filled with what is done.
    pub grid: &'a Grid,
    /// The status line.
    pub status: &'a str,
}

impl Widget for SweepView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let g = self.grid;
        let panels: Vec<Option<usize>> = match &g.vary {
            Some(v) => (0..v.values.len()).map(Some).collect(),
            None => vec![None],
        };
        let [head, body] = area.layout(&Layout::vertical([Constraint::Length(2), Constraint::Fill(1)]));
        let done: usize = g.cells.iter().map(|c| c.samples.len()).sum();
        let total = g.cells.len() * g.replications as usize;
        Paragraph::new(vec![
            Line::from(super::fit::by_rank(
                area.width as usize,
                " · ",
                &[
                    (0, "lbsim sweep".to_string()),
                    (0, crate::text::escape(&g.scenario).into_owned()),
                    (0, g.metric.label().to_string()),
                    (0, format!("{done}/{total} runs")),
                    (1, format!("mean and 95% interval over {} replications", g.replications)),
                ],
            )),
            Line::from(self.status.to_string()),
        ])
        .render(head, buf);
        let rows = Layout::vertical(vec![Constraint::Fill(1); panels.len()]).split(body);
        for (rect, panel) in rows.iter().zip(panels) {
            chart(g, panel, *rect, buf);
        }
    }
}

fn chart(g: &Grid, panel: Option<usize>, area: Rect, buf: &mut Buffer) {
    let curves = plot::curves(g, panel);
    // Rows and columns of the plot inside the border, less the x axis's line and labels.
    let rows = area.height.saturating_sub(4) as usize;
    let y = plot::y_ticks(&curves, (rows / 3 + 1).max(2));
    let y_labels_width = y.labels.iter().map(|l| l.len()).max().unwrap_or(1);
    let columns = (area.width as usize).saturating_sub(3 + y_labels_width).max(1);
    let x_min = g.loads.iter().copied().fold(f64::INFINITY, f64::min);
    let x_max = g.loads.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // At most 3 x ticks: ratatui centres the labels between the ends in equal slots, which
    // puts them where their values are only when there is one such label.
    let x = plot::linear_ticks(x_min, x_max, 3);
    let [x_lo, x_hi] = x.bounds();
    // A whisker's caps reach two braille dots (one character) either side of it.
    let cap = (x_hi - x_lo) / (columns * 2) as f64 * 2.0;
    let paths: Vec<Vec<(f64, f64)>> = curves.iter().map(|points| path(points, &y, cap)).collect();
    let datasets: Vec<Dataset> = paths
        .iter()
        .enumerate()
        .map(|(s, path)| {
            Dataset::default()
                .name(g.strategies[s].clone())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(COLOURS[s % COLOURS.len()]))
                .data(path)
        })
        .collect();
    let title = match (&g.vary, panel) {
        (Some(v), Some(i)) => format!("{} = {}", v.key(), v.values[i]),
        _ => String::new(),
    };
    let y_title = if y.log { format!("{} (log)", g.metric.label()) } else { g.metric.label().to_string() };
    Chart::new(datasets)
        .block(ratatui::widgets::Block::bordered().title(title))
        // The legend names the curves: shown whenever it fits inside the chart at all (by
        // default ratatui hides it below a quarter of the chart, which an 80x24 terminal is).
        .hidden_legend_constraints((Constraint::Ratio(1, 1), Constraint::Ratio(1, 1)))
        // Top left, where no curve goes: the curves rise with the load (latency steeply at the
        // right, where the whiskers are longest), and goodput starts low.
        .legend_position(Some(LegendPosition::TopLeft))
        .x_axis(Axis::default().title("load").bounds(x.bounds()).labels(x.labels))
        .y_axis(Axis::default().title(y_title).bounds(y.bounds()).labels(y.labels.clone()))
        .render(area, buf);
}

/// One strategy's curve as a single path through its points, with a whisker at each: up to
/// the interval's high end and down to its low end, each end capped `cap` wide either side.
/// One path per strategy keeps whisker and curve in one layer of the chart, so that neither
/// hides the other's dots where they meet.
fn path(points: &[Point], y: &plot::Ticks, cap: f64) -> Vec<(f64, f64)> {
    let [lo, hi] = y.bounds();
    let at = |v: f64| if y.log && v <= 0.0 { lo } else { y.position(v).clamp(lo, hi) };
    let mut path = Vec::new();
    for &(x, m, ci) in points {
        let mean = (x, at(m));
        path.push(mean);
        if let Some((low, high)) = ci {
            for end in [at(high), at(low)] {
                path.extend([(x, end), (x - cap, end), (x + cap, end), (x, end)]);
            }
            path.push(mean);
        }
    }
    path
}
