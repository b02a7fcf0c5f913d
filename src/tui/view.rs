//! Drawing: `impl Widget for &App` lays out the frame and hands each part to a widget.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::app::{App, Focus};
use super::compare::render_compare;
use super::help::render_help;
use super::panes::{
    COUNTERS_WIDTH, fitted_line, pane_drawn, render_counters, render_latency_or_chart, render_log,
    render_p99, render_throughput, render_workers,
};
use crate::engine::Stop;
use crate::playground::Mode;
use crate::playground::Pace;
use crate::text::speed_text;
use crate::time::{Human, Nanos, SECS, as_secs_f64};

/// The smallest terminal the UI draws in.
pub const MIN_WIDTH: u16 = 60;
/// See [`MIN_WIDTH`].
pub const MIN_HEIGHT: u16 = 18;

/// The keys that do something in this view (from the one [`keymap`](super::keymap) table):
/// compare runs fixed strategies, and a live run can be neither stepped nor sped up.
fn footer(app: &App, width: u16) -> String {
    let keys = |width| super::keymap::footer(app.play.caps(), app.mode == Mode::Run, width);
    match app.focused() {
        // How to get back is the first thing said while one pane fills the screen.
        Some(_) => format!(" Esc all panes ·{}", keys(width.saturating_sub(15))),
        None => keys(width),
    }
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            render_too_small(area, buf);
            return;
        }
        self.bar_hits.borrow_mut().clear();
        self.pane_hits.borrow_mut().clear();
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
            render_help(self.help_scroll, area, buf);
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

fn render_header(app: &App, area: Rect, buf: &mut Buffer) {
    let strategies: Vec<&str> = app.play.panes().iter().map(|p| p.sim.strategy_name()).collect();
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let badge = Span::styled(" lbsim ", bold.fg(Color::Black).bg(Color::Cyan));
    let mut items = vec![
        (0, Span::raw(crate::text::escape(app.play.scenario_name()).to_string())),
        (0, Span::styled(strategies.join(" vs "), bold)),
        (1, Span::raw(cluster_text(app))),
        (3, Span::raw(format!("seed {}", app.play.config().seed))),
    ];
    // Which engine runs goes on the first line: the second fills up with warnings.
    if !app.play.caps().paced {
        items.push((2, Span::styled("live tokio tasks", Style::new().fg(Color::Magenta))));
    }
    let title = fitted_line(area.width.saturating_sub(8), " · ", items);
    let mut first = vec![badge, Span::raw(" ")];
    first.extend(title.spans);
    let state_style = match app.play.state().word() {
        "running" => Style::new().fg(Color::Green),
        "paused" => Style::new().fg(Color::Yellow),
        _ => Style::new().fg(Color::Cyan),
    };
    let in_flight = app.play.panes().iter().map(|p| p.sim.in_flight()).max().unwrap_or(0);
    let rate = match app.play.rate() {
        // Sending is over (or paused) while requests are still being served.
        Some(r) if r == 0.0 && in_flight > 0 && !app.play.finished() => {
            format!("no new requests · draining {in_flight} in flight")
        }
        Some(r) => format!("rate {r:.0}/s (load {:.2})", r / app.play.config().capacity()),
        None => app.play.config().arrivals.describe(),
    };
    let red = Style::new().fg(Color::LightRed).add_modifier(Modifier::BOLD);
    let mut status = vec![(0, Span::raw(format!("t {:.3}s", as_secs_f64(app.play.clock()))))];
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
    status.push((0, Span::styled(app.play.state().word(), state_style.add_modifier(Modifier::BOLD))));
    if app.play.retries_on() {
        status.push((1, Span::styled("retries on", Style::new().fg(Color::Magenta))));
    }
    if let Some(late) = timer_lateness(app) {
        status.push(late);
    }
    if let Some(t) = app.play.pause_at() {
        let at = format!("pausing at {}", crate::time::seconds_text(t));
        status.push((1, Span::styled(at, Style::new().fg(Color::Yellow))));
    }
    let warmup = app.play.config().warmup;
    if app.play.clock() < warmup {
        status.push((
            1,
            Span::styled(
                format!("warming up: statistics start at {:.1}s", as_secs_f64(warmup)),
                Style::new().fg(Color::Yellow),
            ),
        ));
    }
    if let Some(warning) = app.play.overload() {
        status.push((0, Span::styled(warning, red)));
    }
    if let Some(achieved) = app.play.behind().filter(|_| app.play.running()) {
        // A speed that is not being met is always said (rank 0): the header's speed alone
        // would claim it is.
        status.insert(
            1,
            (
                0,
                Span::styled(format!("falling behind: {:.0}% of the requested speed", achieved * 100.0), red),
            ),
        );
    }
    let mut second = vec![Span::raw(" ")];
    second.extend(fitted_line(area.width.saturating_sub(1), " · ", status).spans);
    Paragraph::new(vec![Line::from(first), Line::from(second)]).render(area, buf);
    // Where the timeline strip landed, if it was kept, for a click on it.
    let y = area.y + 1;
    let column = |symbol: &str| (area.x..area.right()).find(|&x| buf[(x, y)].symbol() == symbol);
    let strip = column("▕").zip(column("▏")).zip(run_end(app));
    app.strip_span.set(strip.map(|((x0, x1), end)| (x0 + 1, x1.saturating_sub(1), y, end)));
}

/// How late a run in real time finds its timers and hand-offs (lesson 16: a runtime blocked
/// by CPU work in its tasks makes the clock stutter): the p99, in red and kept on the line
/// past 5 ms. `None` for the model, whose timers are never late.
fn timer_lateness(app: &App) -> Option<(u8, Span<'static>)> {
    if app.play.caps().paced {
        return None;
    }
    let pane = app.play.panes().iter().rfind(|p| p.sim.started())?;
    let f = pane.sim.live_figures().filter(|f| f.lateness_samples > 0)?;
    let text = format!("timers {:.1}ms late (p99)", f.lateness_p99_ms);
    // A stutter is the lesson, kept before the pace and the rate; a punctual runtime's
    // lateness is a detail, dropped first.
    Some(if f.lateness_p99_ms > 5.0 {
        (0, Span::styled(text, Style::new().fg(Color::LightRed).add_modifier(Modifier::BOLD)))
    } else {
        (3, Span::styled(text, Style::new().fg(Color::DarkGray)))
    })
}

/// The virtual time at the end of a run of known length (or now, if later): the right end of
/// the timeline strip.
fn run_end(app: &App) -> Option<Nanos> {
    let c = app.play.config();
    let end = match (c.trace_end(), c.stop) {
        (Some(end), _) => end,
        (None, Stop::Duration(d)) => c.warmup + d,
        (None, Stop::Requests(_)) => return None,
    };
    Some(end.max(app.play.clock()).max(1))
}

/// Where the clock is in a run of known length, as a strip of `cells` (issue 13): `━` for
/// what has run, `─` for what is to come, `┃` for the edges of a window marked with `m`
/// (`None` for a run whose end is a number of requests).
fn timeline_strip(app: &App, cells: usize) -> Option<Span<'static>> {
    let end = run_end(app)?;
    let cell = |t: Nanos| ((t as f64 / end as f64 * cells as f64) as usize).min(cells - 1);
    let mut strip: Vec<char> = (0..cells)
        .map(|i| if i < cell(app.play.clock()) || app.play.clock() >= end { '━' } else { '─' })
        .collect();
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
    if app.play.finished() {
        return None;
    }
    let c = app.play.config();
    let done =
        app.play.panes().iter().filter(|p| p.sim.started()).map(|p| p.sim.progress()).fold(1.0, f64::min);
    let (text, virtual_left) = match (c.trace_end(), c.stop) {
        // A trace ends when its last request is sent (if the stop does not come first).
        (Some(end), _) => (
            format!("trace of {}", crate::time::seconds_text(end)),
            end.saturating_sub(app.play.clock()) as f64,
        ),
        (None, Stop::Duration(d)) => (
            format!("of {}", crate::time::canonical(c.warmup + d)),
            (c.warmup + d).saturating_sub(app.play.clock()) as f64,
        ),
        (None, Stop::Requests(n)) => {
            let text = format!("{:.0}% of {n} requests", done * 100.0);
            if done <= 0.0 {
                return Some((text, String::new()));
            }
            (text, app.play.clock() as f64 * (1.0 - done) / done)
        }
    };
    let per_real = match app.play.pace() {
        Pace::Speed(speed) => speed,
        Pace::TimeScale(scale) => 1.0 / scale,
    };
    if virtual_left <= 0.0 {
        // Past its end and not finished: a live run lets its requests in flight finish.
        return Some((text, "past the end: requests in flight finish".to_string()));
    }
    let left = if app.play.running() && per_real > 0.0 {
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
    let replicas = super::replicas::cluster_suffix(app.play.config());
    let Some(a) = &app.play.config().defences.autoscale else {
        return plural(app.play.config().workers.len(), "worker") + &replicas;
    };
    use crate::engine::Lifecycle;
    let engine = &app.play.panes()[0].sim;
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
    match app.play.pace() {
        Pace::Speed(speed) => format!("speed {}", speed_text(speed)),
        Pace::TimeScale(scale) => format!("time scale {scale}"),
    }
}

fn render_run(app: &App, area: Rect, buf: &mut Buffer) {
    let pane = &app.play.panes()[0];
    if let Some(focus) = app.focused() {
        return render_run_pane(app, pane, focus, area, buf);
    }
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
        render_run_pane(app, pane, Focus::Workers, workers, buf);
        render_run_pane(app, pane, Focus::Latency, latency, buf);
        if middle.width >= COUNTERS_WIDTH + 20 {
            let [counters, sparks] =
                middle.layout(&Layout::horizontal([Constraint::Length(COUNTERS_WIDTH), Constraint::Min(0)]));
            render_run_pane(app, pane, Focus::Counters, counters, buf);
            let [throughput, p99] =
                sparks.layout(&Layout::vertical([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]));
            render_run_pane(app, pane, Focus::Throughput, throughput, buf);
            render_run_pane(app, pane, Focus::P99, p99, buf);
        } else {
            render_run_pane(app, pane, Focus::Counters, middle, buf);
        }
        if log_rows > 0 {
            render_run_pane(app, pane, Focus::Log, log, buf);
        }
        return;
    }
    let [top, sparks, bottom] =
        area.layout(&Layout::vertical([Constraint::Min(8), Constraint::Length(6), Constraint::Length(8)]));
    let [workers, latency] =
        top.layout(&Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]));
    render_run_pane(app, pane, Focus::Workers, workers, buf);
    render_run_pane(app, pane, Focus::Latency, latency, buf);
    let [throughput, p99] =
        sparks.layout(&Layout::horizontal([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]));
    render_run_pane(app, pane, Focus::Throughput, throughput, buf);
    render_run_pane(app, pane, Focus::P99, p99, buf);
    let [counters, log] =
        bottom.layout(&Layout::horizontal([Constraint::Length(COUNTERS_WIDTH), Constraint::Min(20)]));
    render_run_pane(app, pane, Focus::Counters, counters, buf);
    render_run_pane(app, pane, Focus::Log, log, buf);
}

/// One panel of the run view, in `area` (all of the body when it is focused).
fn render_run_pane(app: &App, pane: &crate::playground::Pane, focus: Focus, area: Rect, buf: &mut Buffer) {
    match focus {
        Focus::Workers => render_workers(app, pane, area, buf),
        Focus::Latency => render_latency_or_chart(app, pane, area, buf),
        Focus::Throughput => render_throughput(app, pane, area, buf),
        Focus::P99 => render_p99(app, pane, area, buf),
        Focus::Counters => render_counters(pane, area, buf),
        Focus::Log | Focus::Strategy(_) => render_log(app, area, buf),
    }
    pane_drawn(app, area, focus, buf);
}
