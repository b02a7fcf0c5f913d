//! Drawing: `impl Widget for &App` lays out the frame and hands each part to a widget.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Sparkline, Widget, Wrap};

use super::app::{App, Mode, Pane, RECENT_WINDOW, count_text, speed_text};
use super::fit;
use super::widgets::{HistScale, LatencyHistogram, PendingBars, WorkerState, bar_scale, bars_height};
use crate::engine::{Snapshot, Stop};
use crate::engines::EngineKind;
use crate::metrics::Recorder;
use crate::time::{Human, MILLIS, Nanos, SECS, as_secs_f64};

/// The smallest terminal the UI draws in.
pub const MIN_WIDTH: u16 = 60;
/// See [`MIN_WIDTH`].
pub const MIN_HEIGHT: u16 = 18;

/// The footer's keys, most important first; as many as fit are shown, and always the last.
const KEYS: [&str; 20] = [
    "space pause",
    "n step",
    "+/- speed",
    "←→ seek",
    "p pause at",
    "g go to",
    "x set speed",
    "↑↓ worker",
    "k/r crash/repair",
    "w slow",
    "e/E errors",
    "t retries",
    "[ ] rate",
    "s strategy",
    "h histogram",
    "o over time",
    "m mark window",
    "R restart",
    "PgUp/PgDn log",
    "? help · q quit",
];

/// The keys that do something in this view: compare runs fixed strategies, and a live run
/// can be neither stepped nor sped up.
fn footer(app: &App, width: u16) -> String {
    let last = KEYS[KEYS.len() - 1];
    let mut text = String::from(" ");
    let live = app.engine == EngineKind::Live;
    let applies = |key: &&&str| match **key {
        "s strategy" => app.mode == Mode::Run,
        "n step" | "+/- speed" | "x set speed" | "←→ seek" | "g go to" => !live,
        _ => true,
    };
    for key in KEYS[..KEYS.len() - 1].iter().filter(applies) {
        if text.chars().count() + key.chars().count() + 3 + last.chars().count() > width as usize {
            break;
        }
        text += key;
        text += " · ";
    }
    text + last
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            render_too_small(area, buf);
            return;
        }
        let [header, body, footer_area] = area.layout(&Layout::vertical([
            Constraint::Length(2),
            Constraint::Min(0),
            Constraint::Length(1),
        ]));
        render_header(self, header, buf);
        match self.mode {
            Mode::Run => render_run(self, body, buf),
            Mode::Compare => render_compare(self, body, buf),
        }
        match &self.prompt {
            Some(p) => Paragraph::new(Line::from(vec![
                Span::styled(format!(" {}: ", p.question()), Style::new().fg(Color::Cyan)),
                Span::styled(format!("{}▏", p.text), Style::new().add_modifier(Modifier::BOLD)),
                Span::styled("  Enter sets · Esc cancels", Style::new().fg(Color::DarkGray)),
            ]))
            .render(footer_area, buf),
            None => Paragraph::new(footer(self, area.width))
                .style(Style::new().fg(Color::DarkGray))
                .render(footer_area, buf),
        }
        if self.show_help {
            render_help(area, buf);
        }
    }
}

fn render_too_small(area: Rect, buf: &mut Buffer) {
    let text = vec![
        Line::from("lbsim: enlarge the terminal").style(Style::new().add_modifier(Modifier::BOLD)),
        Line::from(format!("it is {}x{}; the UI needs {MIN_WIDTH}x{MIN_HEIGHT}", area.width, area.height)),
        Line::from("q quits"),
    ];
    let y = area.y + area.height.saturating_sub(3) / 2;
    let rect = Rect { y, height: area.height.min(3), ..area };
    Paragraph::new(text).alignment(Alignment::Center).wrap(Wrap { trim: true }).render(rect, buf);
}

/// Styled parts of a line, each with a rank (see [`fit::keep`]), laid out to fit `width`:
/// the least important parts are dropped whole, and a line that still does not fit ends in
/// `…`, so the screen says it was shortened.
fn fitted_line(width: u16, sep: &str, parts: Vec<(u8, Span<'static>)>) -> Line<'static> {
    let ranked: Vec<(u8, String)> = parts.iter().map(|(r, s)| (*r, s.content.to_string())).collect();
    let keep = fit::keep(width as usize, sep, &ranked);
    let mut spans: Vec<Span<'static>> = Vec::new();
    for ((_, span), _) in parts.into_iter().zip(&keep).filter(|(_, k)| **k) {
        if !spans.is_empty() {
            spans.push(Span::raw(sep.to_string()));
        }
        spans.push(span);
    }
    let line = Line::from(spans);
    if line.width() <= width as usize {
        return line;
    }
    // Cut at the last column, marked.
    let mut out = Vec::new();
    let mut room = (width as usize).saturating_sub(1);
    for span in line.spans {
        if room == 0 {
            break;
        }
        let text: String = span.content.chars().take(room).collect();
        room -= fit::width(&text);
        out.push(Span::styled(text, span.style));
    }
    out.push(Span::raw("…"));
    Line::from(out)
}

fn render_header(app: &App, area: Rect, buf: &mut Buffer) {
    let strategies: Vec<&str> = app.panes.iter().map(|p| p.sim.strategy_name()).collect();
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let badge = Span::styled(" lbsim ", bold.fg(Color::Black).bg(Color::Cyan));
    let mut items = vec![
        (0, Span::raw(crate::text::escape(&app.scenario.name).to_string())),
        (0, Span::styled(strategies.join(" vs "), bold)),
        (1, Span::raw(cluster_text(app))),
        (3, Span::raw(format!("seed {}", app.config().seed))),
    ];
    // Which engine runs goes on the first line: the second fills up with warnings.
    if app.engine == EngineKind::Live {
        items.push((2, Span::styled("live tokio tasks", Style::new().fg(Color::Magenta))));
    }
    let title = fitted_line(area.width.saturating_sub(8), " · ", items);
    let mut first = vec![badge, Span::raw(" ")];
    first.extend(title.spans);
    let state_style = match app.state() {
        "running" => Style::new().fg(Color::Green),
        "paused" => Style::new().fg(Color::Yellow),
        _ => Style::new().fg(Color::Cyan),
    };
    let in_flight = app.panes.iter().map(|p| p.sim.in_flight()).max().unwrap_or(0);
    let rate = match app.rate() {
        // Sending is over (or paused) while requests are still being served.
        Some(r) if r == 0.0 && in_flight > 0 && !app.finished() => {
            format!("no new requests · draining {in_flight} in flight")
        }
        Some(r) => format!("rate {r:.0}/s (load {:.2})", r / app.config().capacity()),
        None => app.config().arrivals.describe(),
    };
    let red = Style::new().fg(Color::LightRed).add_modifier(Modifier::BOLD);
    let mut status = vec![(0, Span::raw(format!("t {:.3}s", as_secs_f64(app.clock))))];
    if let Some((done, left)) = progress_text(app) {
        status.push((2, Span::raw(done)));
        status.push((4, Span::styled(left, Style::new().fg(Color::DarkGray))));
    }
    if let Some(strip) = timeline_strip(app, 16) {
        // Dropped first when the line is full: the figures before it say the same.
        status.push((5, strip));
    }
    status.push((1, Span::raw(pace(app))));
    status.push((1, Span::raw(rate)));
    status.push((0, Span::styled(app.state(), state_style.add_modifier(Modifier::BOLD))));
    if app.retries_on() {
        status.push((1, Span::styled("retries on", Style::new().fg(Color::Magenta))));
    }
    if let Some(t) = app.pause_at {
        let at = format!("pausing at {}", crate::time::seconds_text(t));
        status.push((1, Span::styled(at, Style::new().fg(Color::Yellow))));
    }
    let warmup = app.config().warmup;
    if app.clock < warmup {
        status.push((
            1,
            Span::styled(
                format!("warming up: statistics start at {:.1}s", as_secs_f64(warmup)),
                Style::new().fg(Color::Yellow),
            ),
        ));
    }
    if let Some(warning) = app.overload() {
        status.push((0, Span::styled(warning, red)));
    }
    if let Some(achieved) = app.behind.filter(|_| app.running()) {
        status.push((
            1,
            Span::styled(format!("falling behind: {:.0}% of the requested speed", achieved * 100.0), red),
        ));
    }
    let mut second = vec![Span::raw(" ")];
    second.extend(fitted_line(area.width.saturating_sub(1), " · ", status).spans);
    Paragraph::new(vec![Line::from(first), Line::from(second)]).render(area, buf);
}

/// Where the clock is in a run of known length, as a strip of `cells` (issue 13): `━` for
/// what has run, `─` for what is to come, `┃` for the edges of a window marked with `m`
/// (`None` for a run whose end is a number of requests).
fn timeline_strip(app: &App, cells: usize) -> Option<Span<'static>> {
    let c = app.config();
    let end = match (c.trace_end(), c.stop) {
        (Some(end), _) => end,
        (None, Stop::Duration(d)) => c.warmup + d,
        (None, Stop::Requests(_)) => return None,
    }
    .max(app.clock)
    .max(1);
    let cell = |t: Nanos| ((t as f64 / end as f64 * cells as f64) as usize).min(cells - 1);
    let mut strip: Vec<char> =
        (0..cells).map(|i| if i < cell(app.clock) || app.clock >= end { '━' } else { '─' }).collect();
    let edges = app.window.as_ref().map(|w| w.bounds());
    for t in edges.into_iter().flat_map(|(from, to)| std::iter::once(from).chain(to)) {
        strip[cell(t)] = '┃';
    }
    let strip: String = strip.into_iter().collect();
    Some(Span::styled(format!("▕{strip}▏"), Style::new().fg(Color::Cyan)))
}

/// How far the run is (`of 65s`, or `40% of 40000 requests`), and about how long it has
/// left in real time at this speed (`~25s left`), while it runs.
fn progress_text(app: &App) -> Option<(String, String)> {
    if app.finished() {
        return None;
    }
    let c = app.config();
    let done = app.panes.iter().filter(|p| p.sim.started()).map(|p| p.sim.progress()).fold(1.0, f64::min);
    let (text, virtual_left) = match (c.trace_end(), c.stop) {
        // A trace ends when its last request is sent (if the stop does not come first).
        (Some(end), _) => {
            (format!("trace of {}", crate::time::seconds_text(end)), end.saturating_sub(app.clock) as f64)
        }
        (None, Stop::Duration(d)) => (
            format!("of {}", crate::time::canonical(c.warmup + d)),
            (c.warmup + d).saturating_sub(app.clock) as f64,
        ),
        (None, Stop::Requests(n)) => {
            let text = format!("{:.0}% of {n} requests", done * 100.0);
            if done <= 0.0 {
                return Some((text, String::new()));
            }
            (text, app.clock as f64 * (1.0 - done) / done)
        }
    };
    let per_real = match app.engine {
        EngineKind::Sim => app.speed,
        EngineKind::Live => 1.0 / app.scenario.live.time_scale,
    };
    let left = if app.running() && per_real > 0.0 {
        let real = (virtual_left / per_real) as Nanos;
        if real > 100 * 3600 * SECS { "hours left".to_string() } else { format!("~{} left", Human(real)) }
    } else {
        String::new()
    };
    Some((text, left))
}

/// The workers now: `8 workers`, or for an autoscaled pool how many serve, start and drain
/// (retired ones are gone), within its bounds.
fn cluster_text(app: &App) -> String {
    let replicas = super::replicas::cluster_suffix(app.config());
    let Some(a) = &app.config().defences.autoscale else {
        return plural(app.config().workers.len(), "worker") + &replicas;
    };
    use crate::engine::Lifecycle;
    let engine = &app.panes[0].sim;
    let count = |state| (0..engine.worker_count()).filter(|&w| engine.worker(w).lifecycle == state).count();
    let mut text = format!("{} active", count(Lifecycle::Active));
    for (state, word) in [(Lifecycle::Starting, "starting"), (Lifecycle::Draining, "draining")] {
        match count(state) {
            0 => {}
            n => text += &format!(", {n} {word}"),
        }
    }
    text + &format!(" (autoscaled {} to {})", a.min, a.max) + &replicas
}

/// `1 worker`, `8 workers`.
fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

/// How fast time goes: the model's speed, or the live engine's real time and time scale.
fn pace(app: &App) -> String {
    match app.engine {
        EngineKind::Sim => format!("speed {}", speed_text(app.speed)),
        EngineKind::Live => format!("time scale {}", app.scenario.live.time_scale),
    }
}

fn titled(title: impl Into<Line<'static>>) -> Block<'static> {
    Block::bordered().title(title).border_style(Style::new().fg(Color::DarkGray))
}

fn render_run(app: &App, area: Rect, buf: &mut Buffer) {
    let pane = &app.panes[0];
    // Below 100x30 (a laptop's 80x24, a projector's large font) the counters and the
    // sparklines share a row and the event log spans the width under them; the log goes
    // first when rows run out, then the sparklines: the workers, the latencies and the
    // counters are what every lesson reads.
    if area.width < 100 || area.height < 27 {
        let log_rows = area.height.saturating_sub(16).min(7);
        let log_rows = if log_rows < 3 { 0 } else { log_rows };
        let [top, middle, log] = area.layout(&Layout::vertical([
            Constraint::Min(6),
            Constraint::Length(8),
            Constraint::Length(log_rows),
        ]));
        let [workers, latency] =
            top.layout(&Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]));
        render_workers(app, pane, workers, buf);
        render_latency_or_chart(app, pane, latency, buf);
        if middle.width >= COUNTERS_WIDTH + 20 {
            let [counters, sparks] =
                middle.layout(&Layout::horizontal([Constraint::Length(COUNTERS_WIDTH), Constraint::Min(0)]));
            render_counters(pane, counters, buf);
            let [throughput, p99] =
                sparks.layout(&Layout::vertical([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]));
            render_throughput(app, pane, throughput, buf);
            render_p99(app, pane, p99, buf);
        } else {
            render_counters(pane, middle, buf);
        }
        if log_rows > 0 {
            render_log(app, log, buf);
        }
        return;
    }
    let [top, sparks, bottom] =
        area.layout(&Layout::vertical([Constraint::Min(8), Constraint::Length(6), Constraint::Length(8)]));
    let [workers, latency] =
        top.layout(&Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]));
    render_workers(app, pane, workers, buf);
    render_latency_or_chart(app, pane, latency, buf);
    let [throughput, p99] =
        sparks.layout(&Layout::horizontal([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]));
    render_throughput(app, pane, throughput, buf);
    render_p99(app, pane, p99, buf);
    let [counters, log] =
        bottom.layout(&Layout::horizontal([Constraint::Length(COUNTERS_WIDTH), Constraint::Min(20)]));
    render_counters(pane, counters, buf);
    render_log(app, log, buf);
}

/// The sparkline of completions per second. Its title's figure is smoothed over the last
/// ten samples (a second of real time), and says over how much virtual time, so that it
/// does not jump from sample to sample.
fn render_throughput(app: &App, pane: &Pane, area: Rect, buf: &mut Buffer) {
    let (mean_tp, samples) = pane.smoothed_throughput();
    let span = Human(covered(app, pane, samples));
    let (tp, per_column) = columns(&pane.throughput(), area.width.saturating_sub(2), |s| {
        s.iter().sum::<u64>() / s.len().max(1) as u64
    });
    let tp_top = tp.iter().copied().max().unwrap_or(0).max(1);
    let title = fit::first_fitting(
        area.width.saturating_sub(2) as usize,
        &[format!(" throughput {mean_tp}/s over {span} "), format!(" throughput {mean_tp}/s ")],
    );
    let scale = spark_scale(app, pane, tp.len() * per_column, format!("{tp_top}/s"), area.width);
    Sparkline::default()
        .block(titled(title).title_bottom(scale))
        .data(&tp)
        .max(tp_top)
        .style(Style::new().fg(Color::Green))
        .render(area, buf);
}

/// The sparkline of the recent window's p99.
fn render_p99(app: &App, pane: &Pane, area: Rect, buf: &mut Buffer) {
    let p99 = pane.p99_us();
    let last_p99 = p99.last().copied().unwrap_or(0);
    let (p, per_column) =
        columns(&p99, area.width.saturating_sub(2), |s| s.iter().copied().max().unwrap_or(0));
    let p_top = p.iter().copied().max().unwrap_or(0).max(1);
    let window = RECENT_WINDOW / SECS;
    let answers = pane.recent().map_or(0, |r| r.count());
    let value = match answers {
        0 if app.clock < app.config().warmup => "warming up".to_string(),
        0 => "no answers".to_string(),
        _ => Human(last_p99 * 1_000).to_string(),
    };
    let title = fit::first_fitting(
        area.width.saturating_sub(2) as usize,
        &[format!(" p99 of the last {window}s: {value} "), format!(" p99, last {window}s: {value} ")],
    );
    let scale = spark_scale(app, pane, p.len() * per_column, Human(p_top * 1_000).to_string(), area.width);
    Sparkline::default()
        .block(titled(title).title_bottom(scale))
        .data(&p)
        .max(p_top)
        .style(Style::new().fg(Color::Yellow))
        .render(area, buf);
}

/// The newest samples as at most `width` columns: when there are more samples than columns,
/// each column stands for `per_column` consecutive samples, combined by `combine` (a mean for
/// throughput, a maximum for p99 so that a spike is never averaged away), so that the
/// sparkline shows all the history kept rather than its last few seconds.
fn columns(all: &[u64], width: u16, combine: impl Fn(&[u64]) -> u64) -> (Vec<u64>, usize) {
    let width = width.max(1) as usize;
    let per_column = all.len().div_ceil(width).max(1);
    // Whole columns, aligned on the newest sample.
    let skip = all.len() % per_column;
    let out = all[skip..].chunks(per_column).map(&combine).collect();
    (out, per_column)
}

/// Virtual time between two sparkline samples at the current speed: a tenth of a real second
/// (as the app samples; a pure function of its public fields).
pub fn sample_period(app: &App) -> Nanos {
    ((app.speed * SECS as f64 / 10.0) as Nanos).max(MILLIS / 10)
}

/// The virtual time the newest `samples` samples cover, up to now: from the start of the
/// oldest of them to the clock.
fn covered(app: &App, pane: &Pane, samples: usize) -> Nanos {
    let oldest = pane.history.len().saturating_sub(samples.max(1));
    let since = pane.history.get(oldest).map_or(app.clock, |s| s.from).min(app.clock);
    app.clock - since
}

/// A sparkline's scale: what a full column means, and the virtual time its columns span
/// (from the oldest sample shown to now: samples are taken at the speed of the moment, so
/// their number alone does not say).
fn spark_scale(app: &App, pane: &Pane, samples: usize, top: String, width: u16) -> String {
    let span = Human(covered(app, pane, samples));
    fit::first_fitting(
        width.saturating_sub(2) as usize,
        &[format!(" full = {top} · last {span} "), format!(" full {top} · {span} "), format!(" full {top} ")],
    )
}

fn render_workers(app: &App, pane: &Pane, area: Rect, buf: &mut Buffer) {
    let snapshot = pane.sim.snapshot();
    let workers = &snapshot.workers;
    let scale = bar_scale(workers.iter().map(|w| w.pending).max().unwrap_or(0));
    let room = area.width.saturating_sub(2) as usize;
    let bars = PendingBars { workers, selected: app.selected, scale };
    let inner = Block::bordered().inner(area);
    let grouped = bars.rows(inner).iter().any(|r| r.is_group());
    let title = if grouped {
        fit::first_fitting(
            room,
            &[
                format!(" pending · scale {scale} · ≤N: the most in a group "),
                format!(" pending · scale {scale} · ≤: group's most "),
                format!(" scale {scale} · ≤: group's most "),
                format!(" scale {scale} "),
            ],
        )
    } else {
        fit::first_fitting(room, &[format!(" pending · scale {scale} "), format!(" scale {scale} ")])
    };
    let selected = &workers[app.selected.min(workers.len() - 1)];
    let state = match WorkerState::of(selected) {
        WorkerState::Slow => format!("slow {}x", selected.slowdown),
        s => s.name().to_string(),
    };
    let detail = fit::by_rank(
        room,
        ", ",
        &[
            (0, format!(" worker {}: {state}", app.selected)),
            (1, format!("{} pending", selected.pending)),
            (2, format!("speed {:.2}", selected.speed)),
            (3, format!("{} done ", selected.completed)),
        ],
    );
    let detail = if detail.ends_with(' ') { detail } else { detail + " " };
    let block = titled(title).title_bottom(detail);
    block.render(area, buf);
    bars.render(inner, buf);
}

/// The percentiles in at most two lines of `width`: p50, p90, p99, p99.9 and max, in that
/// order; when they do not all fit, p90 goes first, then max, then p99.9 (never a cut
/// number).
fn percentiles(rec: &Recorder, width: u16) -> Vec<Line<'static>> {
    if rec.count() == 0 {
        return vec![Line::from(Span::styled("no latencies yet", Style::new().fg(Color::DarkGray)))];
    }
    let all = [
        ("p50", rec.quantile(0.5), Color::Cyan),
        ("p90", rec.quantile(0.9), Color::Cyan),
        ("p99", rec.quantile(0.99), Color::Yellow),
        ("p99.9", rec.quantile(0.999), Color::LightRed),
        ("max", rec.max(), Color::LightRed),
    ];
    let text = |i: usize| format!("{} {}", all[i].0, Human(all[i].1));
    // Greedy lines of the kept entries, two spaces apart.
    let lay = |kept: &[usize]| -> Vec<Vec<usize>> {
        let mut lines: Vec<Vec<usize>> = vec![Vec::new()];
        let mut used = 0;
        for &i in kept {
            let w = fit::width(&text(i));
            let line = lines.last_mut().expect("a line");
            if line.is_empty() || used + 2 + w <= width as usize {
                used += if line.is_empty() { w } else { 2 + w };
                line.push(i);
            } else {
                lines.push(vec![i]);
                used = w;
            }
        }
        lines
    };
    let mut kept = vec![0, 1, 2, 3, 4];
    for drop in [1, 4, 3] {
        if lay(&kept).len() <= 2 {
            break;
        }
        kept.retain(|&i| i != drop);
    }
    lay(&kept)
        .into_iter()
        .take(2)
        .map(|line| {
            let mut spans = Vec::new();
            for (k, i) in line.into_iter().enumerate() {
                if k > 0 {
                    spans.push(Span::raw("  "));
                }
                spans.push(Span::styled(format!("{} ", all[i].0), Style::new().fg(Color::DarkGray)));
                spans.push(Span::styled(Human(all[i].1).to_string(), Style::new().fg(all[i].2)));
            }
            Line::from(spans)
        })
        .collect()
}

/// The recorder a histogram shows: the whole run's or the recent window's.
fn shown_recorder(app: &App, pane: &Pane) -> (Recorder, String) {
    let index = app.panes.iter().position(|p| std::ptr::eq(p, pane)).unwrap_or(0);
    if let Some((rec, bounds)) = app.window_latencies(index) {
        (rec, format!("window {bounds}"))
    } else if app.show_recent {
        let w = RECENT_WINDOW / 1_000_000_000;
        (pane.recent().unwrap_or_default(), format!("last {w}s"))
    } else {
        (pane.sim.metrics().latency.clone(), "whole run".to_string())
    }
}

fn empty_text(app: &App) -> String {
    let warmup = app.config().warmup;
    if app.clock < warmup {
        format!("warming up: latencies count from {:.1}s", as_secs_f64(warmup))
    } else {
        "no answers yet".to_string()
    }
}

/// The latency histogram, or with `o` latency and throughput over time.
fn render_latency_or_chart(app: &App, pane: &Pane, area: Rect, buf: &mut Buffer) {
    if app.show_chart {
        (&super::chart::TimeChart { app }).render(area, buf);
    } else {
        render_latency(app, pane, area, buf);
    }
}

fn render_latency(app: &App, pane: &Pane, area: Rect, buf: &mut Buffer) {
    let (rec, window) = shown_recorder(app, pane);
    let room = area.width.saturating_sub(2) as usize;
    let title = fit::by_rank(
        room,
        " · ",
        &[
            (0, " latency".to_string()),
            (1, window),
            (1, format!("mean {}", Human(rec.mean() as u64))),
            (2, format!("{} answers ", rec.count())),
        ],
    );
    let title = if title.ends_with(' ') { title } else { title + " " };
    let hint = match &app.window {
        Some(crate::tui::app::Window::Open { .. }) => {
            fit::first_fitting(room, &[" m: end the window ".to_string(), " m: end ".to_string()])
        }
        Some(_) => {
            fit::first_fitting(room, &[" m: back to the whole run ".to_string(), " m: all ".to_string()])
        }
        None => {
            fit::first_fitting(room, &[" h: whole run / last 5s ".to_string(), " h: window ".to_string()])
        }
    };
    let block = titled(title).title_bottom(hint);
    let inner = block.inner(area);
    block.render(area, buf);
    let legend = percentiles(&rec, inner.width);
    let [plot, legend_area] =
        inner.layout(&Layout::vertical([Constraint::Min(2), Constraint::Length(legend.len() as u16)]));
    LatencyHistogram { recorder: &rec, empty_text: &empty_text(app), scale: None }.render(plot, buf);
    Paragraph::new(legend).render(legend_area, buf);
}

/// Width of the counters' box: two columns of a 10-column label and a value of up to 8
/// characters (larger numbers are written 12.3M, never cut).
const COUNTERS_WIDTH: u16 = 44;

fn render_counters(pane: &Pane, area: Rect, buf: &mut Buffer) {
    let c = pane.sim.metrics().counters;
    let a = pane.sim.metrics().attempts;
    let cell = |name: &str, v: String, color: Color| {
        // Never cut a number: past 8 digits it is written with a unit.
        let v = match v.parse::<u64>() {
            Ok(n) if v.len() > 8 => count_text(n),
            _ => v,
        };
        vec![
            Span::styled(format!("{name:<10}"), Style::new().fg(Color::Gray)),
            Span::styled(format!("{v:>8}  "), Style::new().fg(color)),
        ]
    };
    let bad = |v: u64| if v > 0 { Color::LightRed } else { Color::DarkGray };
    let amplification = if c.sent == 0 { 1.0 } else { a.attempts as f64 / c.sent as f64 };
    let rows = [
        (
            cell("sent", c.sent.to_string(), Color::White),
            cell("attempts", a.attempts.to_string(), Color::White),
        ),
        (
            cell("completed", c.completed.to_string(), Color::Green),
            cell("retries", a.retries.to_string(), bad(a.retries)),
        ),
        (
            cell("rejected", c.rejected.to_string(), bad(c.rejected)),
            cell(
                "per req",
                format!("{amplification:.2}x"),
                if amplification > 1.05 { Color::LightRed } else { Color::DarkGray },
            ),
        ),
        (
            cell("failed", c.failed.to_string(), bad(c.failed)),
            cell(
                "errors",
                (a.worker_errors + a.crash_errors).to_string(),
                bad(a.worker_errors + a.crash_errors),
            ),
        ),
        (
            cell("timed out", c.timed_out.to_string(), bad(c.timed_out)),
            cell(
                "wasted",
                if a.wasted_work == 0 { "none".to_string() } else { Human(a.wasted_work).to_string() },
                bad(a.wasted_work),
            ),
        ),
        (
            cell("in flight", c.in_flight.to_string(), Color::Yellow),
            cell("blocked", pane.sim.blocked().to_string(), bad(a.blocked)),
        ),
    ];
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|(left, right)| Line::from(left.into_iter().chain(right).collect::<Vec<_>>()))
        .collect();
    Paragraph::new(lines).block(titled(" requests · attempts ")).render(area, buf);
}

/// The event log, newest at the bottom. A line too long for the width wraps under itself
/// (never cut: a step's reason is the lesson); PgUp / PgDn scroll back through the history.
fn render_log(app: &App, area: Rect, buf: &mut Buffer) {
    let title = match app.log_scroll {
        0 => " events ".to_string(),
        n => format!(" events · {n} lines back · End: newest "),
    };
    let mut block = titled(fit::ellipsis(&title, area.width.saturating_sub(2) as usize));
    if let Some(row) = super::replicas::picks_row(app, area.width) {
        block = block.title_bottom(row);
    }
    let inner = block.inner(area);
    block.render(area, buf);
    let newest = app.log.len().saturating_sub(app.log_scroll);
    let time_width =
        app.log.get(newest.saturating_sub(1)).map_or(0, |l| format!("{:.3}s", as_secs_f64(l.time)).len());
    let mut rows: Vec<Line> = Vec::new();
    for line in app.log.iter().take(newest).rev() {
        let time = format!("{:>time_width$} ", format!("{:.3}s", as_secs_f64(line.time)));
        let wrapped =
            crate::text::wrap(&line.text, (inner.width as usize).saturating_sub(time_width + 1).max(8));
        if rows.len() + wrapped.len() > inner.height as usize {
            break;
        }
        let mut these: Vec<Line> = wrapped
            .into_iter()
            .enumerate()
            .map(|(i, text)| {
                let lead = if i == 0 { time.clone() } else { " ".repeat(time_width + 1) };
                Line::from(vec![Span::styled(lead, Style::new().fg(Color::DarkGray)), Span::raw(text)])
            })
            .collect();
        these.reverse();
        rows.extend(these);
    }
    rows.reverse();
    Paragraph::new(rows).render(inner, buf);
}

fn render_compare(app: &App, area: Rect, buf: &mut Buffer) {
    // Room for the last five events when the terminal has it (each `n` step adds one per
    // pane), three when it is small. While stepping, the log takes what the histograms would:
    // the reasons are the lesson then, and they wrap rather than being cut.
    let log_rows = match (app.stepping, area.height) {
        (true, h) => (h.saturating_sub(1) / 2).clamp(5, 14),
        (false, h) if h >= 20 => 7,
        _ => 5,
    };
    let worker_rows = u16::from(area.height >= 20);
    let [summary, worker, panes_area, log] = area.layout(&Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(worker_rows),
        Constraint::Min(6),
        Constraint::Length(log_rows),
    ]));
    Paragraph::new(lead_line(app, summary.width)).render(summary, buf);
    Paragraph::new(selected_line(app, worker.width)).render(worker, buf);
    if app.show_chart {
        // One chart, every strategy on the same axes.
        (&super::chart::TimeChart { app }).render(panes_area, buf);
        render_log(app, log, buf);
        return;
    }
    let n = app.panes.len() as u32;
    let side_by_side = panes_area.width / n as u16 >= 36 || panes_area.height / (n as u16) < 10;
    let constraints = (0..n).map(|_| Constraint::Ratio(1, n));
    let layout = if side_by_side { Layout::horizontal(constraints) } else { Layout::vertical(constraints) };
    let rects = panes_area.layout_vec(&layout);
    let shared = shared_scales(app, rects.first().map_or(0, |r| r.width.saturating_sub(2)));
    for (i, rect) in rects.into_iter().enumerate() {
        render_compare_pane(app, &shared, i, rect, buf);
    }
    render_log(app, log, buf);
}

/// What compare panes share so that they compare honestly: one bar scale, one histogram axis
/// and height (counts as a share of each pane's answers).
pub struct SharedScales {
    /// Each pane's snapshot.
    pub snapshots: Vec<Snapshot>,
    /// Each pane's histogram (whole run or recent, as shown).
    pub recorders: Vec<Recorder>,
    /// Pending count of a full bar, in every pane.
    pub bar: u32,
    /// The histograms' common scale (`None` before any answer).
    pub histogram: Option<HistScale>,
    /// Rows of percentiles under each histogram: the most any pane needs, so that the
    /// histograms are all as tall.
    pub legend_rows: u16,
}

/// The scales shared by the compare panes, for histograms `width` columns wide.
pub fn shared_scales(app: &App, width: u16) -> SharedScales {
    let snapshots: Vec<Snapshot> = app.panes.iter().map(|p| p.sim.snapshot()).collect();
    let recorders: Vec<Recorder> = app.panes.iter().map(|p| shown_recorder(app, p).0).collect();
    let most = snapshots.iter().flat_map(|s| s.workers.iter().map(|w| w.pending)).max().unwrap_or(0);
    let histogram = HistScale::shared(recorders.iter(), width as usize);
    let legend_rows = recorders.iter().map(|r| percentiles(r, width).len() as u16).max().unwrap_or(1);
    SharedScales { snapshots, recorders, bar: bar_scale(most), histogram, legend_rows }
}

/// Who leads on p99 (of the histograms shown), and by how much. p99 counts answered
/// requests only, so when the leader left more requests unanswered than another strategy,
/// the line says so: that part is never dropped for room.
fn lead_line(app: &App, width: u16) -> Line<'static> {
    let p99s: Vec<(String, u64)> = app
        .panes
        .iter()
        .map(|p| (p.sim.strategy_name().to_string(), shown_recorder(app, p).0.quantile(0.99)))
        .collect();
    let Some((best, best_p99)) = p99s.iter().filter(|(_, v)| *v > 0).min_by_key(|(_, v)| *v).cloned() else {
        return match app.clock < app.config().warmup {
            true => Line::from(format!(
                " warming up: statistics start at {:.1}s",
                as_secs_f64(app.config().warmup)
            )),
            false => Line::from(" waiting for the first answers"),
        };
    };
    let (worst, worst_p99) = p99s.iter().max_by_key(|(_, v)| *v).cloned().unwrap_or_default();
    let green = Style::new().fg(Color::Green).add_modifier(Modifier::BOLD);
    let label = if app.show_recent {
        format!(" p99 leader, last {}s:", RECENT_WINDOW / SECS)
    } else {
        " p99 leader:".to_string()
    };
    let mut parts = vec![
        (0, Span::raw(label)),
        (0, Span::styled(best.clone(), green)),
        (0, Span::raw(format!("at {}", Human(best_p99)))),
    ];
    if worst != best {
        parts.push((
            2,
            Span::raw(format!(
                "· {:.2}x lower than {worst} ({})",
                worst_p99 as f64 / best_p99 as f64,
                Human(worst_p99)
            )),
        ));
    }
    let unanswered = |name: &str| {
        app.panes
            .iter()
            .find(|p| p.sim.strategy_name() == name)
            .map_or(0, |p| p.sim.metrics().counters.unanswered())
    };
    let leader_lost = unanswered(&best);
    let fewer = app
        .panes
        .iter()
        .map(|p| (p.sim.strategy_name().to_string(), p.sim.metrics().counters.unanswered()))
        .filter(|(_, lost)| *lost < leader_lost)
        .min_by_key(|(_, lost)| *lost);
    if let Some((other, lost)) = fewer {
        parts.push((
            0,
            Span::styled(
                format!("· but {leader_lost} unanswered, {other} {lost}"),
                Style::new().fg(Color::LightRed).add_modifier(Modifier::BOLD),
            ),
        ));
    }
    fitted_line(width, " ", parts)
}

/// The selected worker across the panes, left to right: its speed when speeds differ (the
/// heterogeneous lesson), its state when it is not plain serving, and its pending count in
/// each pane, which bars grouped at small sizes cannot show.
fn selected_line(app: &App, width: u16) -> Line<'static> {
    let snapshots: Vec<Snapshot> = app.panes.iter().map(|p| p.sim.snapshot()).collect();
    let Some(first) = snapshots.first() else { return Line::default() };
    let id = app.selected.min(first.workers.len().saturating_sub(1));
    let w = &first.workers[id];
    let speeds_differ = first.workers.iter().any(|x| x.speed != w.speed);
    let mut parts =
        vec![(0, Span::styled(format!(" ↑↓ worker {id}"), Style::new().add_modifier(Modifier::BOLD)))];
    parts.push((if speeds_differ { 0 } else { 3 }, Span::raw(format!("speed {:.2}", w.speed))));
    let state = WorkerState::of(w);
    if state >= WorkerState::Starting {
        let word = match state {
            WorkerState::Slow => format!("slow {}x", w.slowdown),
            s => s.name().to_string(),
        };
        parts.push((0, Span::styled(word, Style::new().fg(state.color()).add_modifier(Modifier::BOLD))));
    }
    let pending: Vec<String> =
        snapshots.iter().map(|s| s.workers.get(id).map_or(0, |w| w.pending).to_string()).collect();
    parts.push((0, Span::raw(format!("pending {}", pending.join(" | ")))));
    parts.push((4, Span::styled("(panes left to right)", Style::new().fg(Color::DarkGray))));
    fitted_line(width, " · ", parts)
}

fn render_compare_pane(app: &App, shared: &SharedScales, i: usize, area: Rect, buf: &mut Buffer) {
    let pane = &app.panes[i];
    let rec = &shared.recorders[i];
    let room = area.width.saturating_sub(2);
    let window = match &app.window {
        Some(_) => shown_recorder(app, pane).1,
        None if app.show_recent => format!("last {}s", RECENT_WINDOW / SECS),
        None => "whole run".to_string(),
    };
    let c = pane.sim.metrics().counters;
    let mut title = vec![(
        0,
        Span::styled(format!(" {}", pane.sim.strategy_name()), Style::new().add_modifier(Modifier::BOLD)),
    )];
    if rec.count() > 0 {
        title.push((1, Span::raw(format!("p99 {}", Human(rec.quantile(0.99))))));
    }
    if !pane.sim.started() {
        title.push((
            1,
            Span::styled("waits its turn: live runs one strategy at a time", Style::new().fg(Color::Yellow)),
        ));
    }
    let mut title = fitted_line(room.saturating_sub(1), " · ", title);
    title.spans.push(Span::raw(" "));
    let bottom = fit::by_rank(
        room as usize,
        " · ",
        &[
            (0, format!(" {window}")),
            (1, format!("mean {}", Human(rec.mean() as u64))),
            (2, format!("{} done ", c.completed)),
        ],
    );
    let bottom = format!(" {} ", bottom.trim());
    let block = titled(title).title_bottom(bottom);
    let inner = block.inner(area);
    block.render(area, buf);
    let snapshot = &shared.snapshots[i];
    let legend = percentiles(rec, inner.width);
    let legend_rows = shared.legend_rows.max(legend.len() as u16);
    // What each row is for, most needed first: the bars (about half the pane, all but two
    // rows while stepping), what became of the requests, the percentiles, the scales, and
    // the histogram if three rows are left for it.
    let max_bars = if app.stepping {
        inner.height.saturating_sub(2)
    } else {
        (inner.height.saturating_sub(1) / 2).max(1)
    };
    let bar_rows = bars_height(&snapshot.workers, app.selected, inner.width, max_bars);
    let left = inner.height.saturating_sub(bar_rows + 1);
    let (legend_h, scale_h, hist_h) = if left >= legend_rows + 1 + 2 {
        (legend_rows, 1, left - legend_rows - 1)
    } else if left > legend_rows {
        (legend_rows, 1, 0)
    } else {
        (left.min(legend_rows), 0, 0)
    };
    let [bars, outcome_line, scale_line, hist, legend_area] = inner.layout(&Layout::vertical([
        Constraint::Length(bar_rows),
        Constraint::Length(1),
        Constraint::Length(scale_h),
        Constraint::Length(hist_h),
        Constraint::Length(legend_h),
    ]));
    PendingBars { workers: &snapshot.workers, selected: app.selected, scale: shared.bar }.render(bars, buf);
    Paragraph::new(outcome(pane, inner.width)).render(outcome_line, buf);
    // The scales, the same in every pane, said once per pane where the eye is.
    let top = shared.histogram.map(|h| format!("{:.0}%", h.top_share * 100.0));
    let mut variants = Vec::new();
    if let Some(t) = &top {
        variants.push(format!("same scales: bar {} pending · top {t} of answers", shared.bar));
    }
    variants.push(format!("same scales: bar {} pending", shared.bar));
    variants.push(format!("same scales · bar {}", shared.bar));
    variants.push(format!("bar {}", shared.bar));
    Paragraph::new(fit::first_fitting(inner.width as usize, &variants))
        .style(Style::new().fg(Color::DarkGray))
        .render(scale_line, buf);
    if hist_h > 0 {
        LatencyHistogram { recorder: rec, empty_text: &empty_text(app), scale: shared.histogram }
            .render(hist, buf);
    }
    Paragraph::new(legend).render(legend_area, buf);
}

/// What became of a pane's requests, in the report's words: answers per second (the goodput:
/// what lesson 6 compares), then every way a request went unanswered, and the retries.
fn outcome(pane: &Pane, width: u16) -> Line<'static> {
    let c = pane.sim.metrics().counters;
    let a = pane.sim.metrics().attempts;
    let (goodput, _) = pane.smoothed_throughput();
    let red = Style::new().fg(Color::LightRed).add_modifier(Modifier::BOLD);
    let mut parts = vec![(1, Span::styled(format!("{goodput}/s answered"), Style::new().fg(Color::Green)))];
    for (n, word) in [(c.failed, "failed"), (c.timed_out, "timed out"), (c.rejected, "rejected")] {
        if n > 0 {
            parts.push((0, Span::styled(format!("{n} {word}"), red)));
        }
    }
    if a.retries > 0 {
        parts.push((2, Span::styled(format!("{} retries", a.retries), Style::new().fg(Color::Magenta))));
    }
    if c.failed + c.timed_out + c.rejected == 0 {
        parts.push((3, Span::styled("none unanswered", Style::new().fg(Color::DarkGray))));
    }
    fitted_line(width, " · ", parts)
}

fn render_help(area: Rect, buf: &mut Buffer) {
    let keys = [
        ("space", "pause / resume"),
        ("n", "step one event: which worker got it, and why"),
        ("+ / -", "faster / slower (virtual s per real s)"),
        ("← / →", "seek 5s back / forward ({ } 1s): re-simulated, exact"),
        ("g", "go to a typed time (e.g. 12s), back or forward, exact"),
        ("x", "type a speed (e.g. 50, 0.25, 1/8)"),
        ("p", "type a time to pause at (e.g. 19.5s)"),
        ("PgUp PgDn", "scroll the event log (End: newest)"),
        ("↑ / ↓", "select a worker"),
        ("k / r", "crash / repair it"),
        ("w", "slow it down 10x / back to normal"),
        ("e / E", "its error rate +10% / -10%"),
        ("t", "retries on / off"),
        ("[ / ]", "arrival rate -10% / +10%"),
        ("s", "next strategy (run view)"),
        ("h", "histograms: whole run / last 5s"),
        ("o", "latency and throughput over time / histogram"),
        ("m", "mark a window's start, its end (histograms show it), clear"),
        ("R", "restart with the same seed"),
        ("?", "this help (any key closes it)"),
        ("q Esc ^C", "quit and print the report"),
    ];
    let mut lines: Vec<Line> = keys
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:>10}  "), Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::from(""));
    for states in [
        &[WorkerState::Idle, WorkerState::Busy, WorkerState::Queued, WorkerState::Overloaded][..],
        &[WorkerState::Slow, WorkerState::Ejected, WorkerState::Down, WorkerState::DeadUnnoticed][..],
        &[WorkerState::Starting, WorkerState::Draining, WorkerState::Retired][..],
    ] {
        let mut legend = vec![Span::raw("        ")];
        for state in states {
            legend.push(Span::styled(format!("█ {}  ", state.name()), Style::new().fg(state.color())));
        }
        lines.push(Line::from(legend));
    }
    let width = 64.min(area.width.saturating_sub(4));
    let height = (lines.len() as u16 + 2).min(area.height.saturating_sub(2));
    let rect =
        Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height };
    Clear.render(rect, buf);
    Paragraph::new(lines)
        .block(Block::bordered().title(" keys ").border_style(Style::new().fg(Color::Cyan)))
        .render(rect, buf);
}
