//! The live chart of `lbsim sweep` on a terminal: x the load, y the metric on a log axis,
//! one line per strategy, whiskers for the 95% intervals, points filling in as cells
//! finish. `q` stops early and keeps what is done.
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
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Widget};

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

fn quit_pressed() -> bool {
    let mut quit = false;
    while event::poll(Duration::ZERO).unwrap_or(false) {
        if let Ok(e) = event::read() {
            quit |= is_quit(&e);
        }
    }
    quit
}

/// Runs `jobs` under the live chart; returns their samples (`None` where stopped early).
pub fn run(grid: &Grid, jobs: &[Job], threads: usize, auto: bool) -> Result<Vec<Option<Sample>>, String> {
    let mut terminal = ratatui::try_init().map_err(|e| format!("cannot open the terminal UI: {e}"))?;
    let restore = super::Restore;
    let mut last = Instant::now() - Duration::from_secs(1);
    let mut stopped = false;
    let mut draw_error = None;
    let samples = crate::sweep::execute(jobs, threads, auto, &mut |p| {
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
    if let Some(e) = draw_error {
        return Err(format!("terminal error: {e}"));
    }
    if !stopped {
        // Done: keep the finished chart on screen until a key.
        let mut g = grid.clone();
        g.fill(samples.clone());
        let status = "done · any key prints the report";
        terminal
            .draw(|f| SweepView { grid: &g, status }.render(f.area(), f.buffer_mut()))
            .map_err(|e| format!("terminal error: {e}"))?;
        loop {
            match event::read() {
                Ok(Event::Key(_)) | Err(_) => break,
                Ok(_) => {}
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
    let metric = g.metric;
    let cells: Vec<_> = g.cells.iter().filter(|c| c.vary == panel).collect();
    // Log axis: values are plotted as log10.
    let mut lines: Vec<Vec<(f64, f64)>> = vec![Vec::new(); g.strategies.len()];
    let mut whiskers: Vec<(usize, [(f64, f64); 2])> = Vec::new();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for c in &cells {
        let f = c.figure(metric);
        let Some(m) = f.mean.filter(|m| *m > 0.0) else { continue };
        let s = g.strategies.iter().position(|s| *s == c.strategy).unwrap_or(0);
        lines[s].push((c.load, m.log10()));
        lo = lo.min(m);
        hi = hi.max(m);
        if let Some(ci) = f.ci {
            let low = ci.low.max(m / 10.0);
            whiskers.push((s, [(c.load, low.log10()), (c.load, ci.high.log10())]));
            lo = lo.min(low);
            hi = hi.max(ci.high);
        }
    }
    for l in &mut lines {
        l.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let (lo, hi) = if lo.is_finite() {
        (lo.log10().floor(), hi.log10().ceil().max(lo.log10().floor() + 1.0))
    } else {
        (0.0, 1.0)
    };
    let x_min = g.loads.iter().copied().fold(f64::INFINITY, f64::min);
    let x_max = g.loads.iter().copied().fold(f64::NEG_INFINITY, f64::max).max(x_min + 0.01);
    let mut datasets = Vec::new();
    for (s, ends) in &whiskers {
        datasets.push(
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(COLOURS[s % COLOURS.len()]))
                .data(ends),
        );
    }
    for (s, points) in lines.iter().enumerate() {
        datasets.push(
            Dataset::default()
                .name(g.strategies[s].clone())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(COLOURS[s % COLOURS.len()]))
                .data(points),
        );
    }
    let decades: Vec<String> =
        (lo as i32..=hi as i32).map(|k| crate::sweep::render_number(10f64.powi(k))).collect();
    let title = match (&g.vary, panel) {
        (Some(v), Some(i)) => format!("{} = {}", v.key(), v.values[i]),
        _ => String::new(),
    };
    Chart::new(datasets)
        .block(ratatui::widgets::Block::bordered().title(title))
        // The legend names the curves: shown whenever it fits inside the chart at all (by
        // default ratatui hides it below a quarter of the chart, which an 80x24 terminal is).
        .hidden_legend_constraints((Constraint::Ratio(1, 1), Constraint::Ratio(1, 1)))
        .x_axis(Axis::default().title("load").bounds([x_min, x_max]).labels([
            format!("{x_min:.2}"),
            format!("{:.2}", (x_min + x_max) / 2.0),
            format!("{x_max:.2}"),
        ]))
        .y_axis(Axis::default().title(format!("{} (log)", metric.label())).bounds([lo, hi]).labels(decades))
        .render(area, buf);
}
