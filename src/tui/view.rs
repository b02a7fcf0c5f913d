//! Drawing: `impl Widget for &App` lays out the frame and hands each part to a widget.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Sparkline, Widget, Wrap};

use super::app::{App, Mode, Pane, RECENT_WINDOW, speed_text};
use super::widgets::{HistScale, LatencyHistogram, PendingBars, WorkerState, bar_layout, bar_scale};
use crate::engine::Snapshot;
use crate::engines::EngineKind;
use crate::metrics::Recorder;
use crate::time::{Human, MILLIS, Nanos, SECS, as_secs_f64};

/// The smallest terminal the UI draws in.
pub const MIN_WIDTH: u16 = 60;
/// See [`MIN_WIDTH`].
pub const MIN_HEIGHT: u16 = 18;

/// The footer's keys, most important first; as many as fit are shown, and always the last.
const KEYS: [&str; 13] = [
    "space pause",
    "n step",
    "+/- speed",
    "↑↓ worker",
    "k/r crash/repair",
    "w slow",
    "e/E errors",
    "t retries",
    "[ ] rate",
    "s strategy",
    "h histogram",
    "R restart",
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
        "n step" | "+/- speed" => !live,
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
        Paragraph::new(footer(self, area.width))
            .style(Style::new().fg(Color::DarkGray))
            .render(footer_area, buf);
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

fn render_header(app: &App, area: Rect, buf: &mut Buffer) {
    let strategies: Vec<&str> = app.panes.iter().map(|p| p.sim.strategy_name()).collect();
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let title = Line::from(vec![
        Span::styled(" lbsim ", bold.fg(Color::Black).bg(Color::Cyan)),
        Span::raw(format!(" scenario {} · ", crate::text::escape(&app.scenario.name))),
        Span::styled(strategies.join(" vs "), bold),
        Span::raw(format!(" · seed {} · {}", app.config().seed, cluster_text(app))),
    ]);
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
    let mut status = vec![
        Span::raw(format!(" t {:.3}s · {} · {rate} · ", as_secs_f64(app.clock), pace(app))),
        Span::styled(app.state(), state_style.add_modifier(Modifier::BOLD)),
    ];
    if app.retries_on() {
        status.push(Span::styled(" · retries on", Style::new().fg(Color::Magenta)));
    }
    let warmup = app.config().warmup;
    if app.clock < warmup {
        status.push(Span::styled(
            format!(" · warming up: statistics start at {:.1}s", as_secs_f64(warmup)),
            Style::new().fg(Color::Yellow),
        ));
    }
    if let Some(warning) = app.overload() {
        status.push(Span::styled(
            format!(" · {warning}"),
            Style::new().fg(Color::LightRed).add_modifier(Modifier::BOLD),
        ));
    }
    if let Some(achieved) = app.behind.filter(|_| app.running()) {
        status.push(Span::styled(
            format!(" · falling behind: {:.0}% of the requested speed", achieved * 100.0),
            Style::new().fg(Color::LightRed).add_modifier(Modifier::BOLD),
        ));
    }
    Paragraph::new(vec![title, Line::from(status)]).render(area, buf);
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
        EngineKind::Live => format!("live tokio tasks, time scale {}", app.scenario.live.time_scale),
    }
}

fn titled(title: impl Into<Line<'static>>) -> Block<'static> {
    Block::bordered().title(title).border_style(Style::new().fg(Color::DarkGray))
}

fn render_run(app: &App, area: Rect, buf: &mut Buffer) {
    let pane = &app.panes[0];
    let [top, sparks, bottom] =
        area.layout(&Layout::vertical([Constraint::Min(8), Constraint::Length(6), Constraint::Length(8)]));
    let [workers, latency] =
        top.layout(&Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]));
    render_workers(app, pane, workers, buf);
    render_latency(app, pane, latency, buf);
    let [throughput, p99] =
        sparks.layout(&Layout::horizontal([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]));
    // The title's figure is smoothed over the last ten samples (a second of real time), and
    // says over how much virtual time, so that it does not jump from sample to sample.
    let recent: Vec<u64> = pane.throughput.iter().rev().take(10).copied().collect();
    let mean_tp = recent.iter().sum::<u64>() / recent.len().max(1) as u64;
    let span = Human((app.speed * recent.len() as f64 / 10.0 * SECS as f64) as Nanos);
    let tp = tail_of(&pane.throughput, throughput.width.saturating_sub(2));
    let tp_top = tp.iter().copied().max().unwrap_or(0).max(1);
    Sparkline::default()
        .block(titled(format!(" throughput {mean_tp}/s over {span} ")).title_bottom(spark_scale(
            app,
            tp.len(),
            format!("{tp_top}/s"),
        )))
        .data(&tp)
        .max(tp_top)
        .style(Style::new().fg(Color::Green))
        .render(throughput, buf);
    let last_p99 = pane.p99.back().copied().unwrap_or(0);
    let p = tail_of(&pane.p99, p99.width.saturating_sub(2));
    let p_top = p.iter().copied().max().unwrap_or(0).max(1);
    let window = RECENT_WINDOW / SECS;
    let answers = pane.recent().map_or(0, |r| r.count());
    let p99_title = match answers {
        0 => format!(" p99 of the last {window}s: no answers "),
        _ => format!(" p99 of the last {window}s: {} ", Human(last_p99 * 1_000)),
    };
    Sparkline::default()
        .block(titled(p99_title).title_bottom(spark_scale(app, p.len(), Human(p_top * 1_000).to_string())))
        .data(&p)
        .max(p_top)
        .style(Style::new().fg(Color::Yellow))
        .render(p99, buf);
    let [counters, log] = bottom.layout(&Layout::horizontal([Constraint::Length(46), Constraint::Min(20)]));
    render_counters(pane, counters, buf);
    render_log(app, log, buf);
}

/// The last `n` values (sparklines draw from the left).
fn tail_of(data: &std::collections::VecDeque<u64>, n: u16) -> Vec<u64> {
    data.iter().skip(data.len().saturating_sub(n as usize)).copied().collect()
}

/// Virtual time between two sparkline samples at the current speed: a tenth of a real second
/// (as the app samples; a pure function of its public fields).
pub fn sample_period(app: &App) -> Nanos {
    ((app.speed * SECS as f64 / 10.0) as Nanos).max(MILLIS / 10)
}

/// A sparkline's scale: what a full column means, and the virtual time its columns span.
fn spark_scale(app: &App, samples: usize, top: String) -> String {
    let span = sample_period(app).saturating_mul(samples as u64);
    format!(" full = {top} · last {} ", Human(span))
}

fn render_workers(app: &App, pane: &Pane, area: Rect, buf: &mut Buffer) {
    let snapshot = pane.sim.snapshot();
    let workers = &snapshot.workers;
    let scale = bar_scale(workers.iter().map(|w| w.pending).max().unwrap_or(0));
    let inner_height = area.height.saturating_sub(2);
    let layout = bar_layout(workers.len(), area.width.saturating_sub(2), inner_height);
    let grouping =
        if layout.per_bar > 1 { format!(" · {} workers/bar, max", layout.per_bar) } else { String::new() };
    let selected = &workers[app.selected.min(workers.len() - 1)];
    let title = format!(" pending · scale {scale}{grouping} ");
    let detail = format!(
        " worker {}: speed {:.2}, {} pending, {} done, {} ",
        app.selected,
        selected.speed,
        selected.pending,
        selected.completed,
        WorkerState::of(selected).name()
    );
    let block = titled(title).title_bottom(detail);
    let inner = block.inner(area);
    block.render(area, buf);
    PendingBars { workers, selected: app.selected, scale }.render(inner, buf);
}

/// The percentiles, on one line if `width` allows, else on two.
fn percentiles(rec: &Recorder, width: u16) -> Vec<Line<'static>> {
    let line = percentiles_line(rec);
    if line.width() <= width as usize || line.spans.len() <= 6 {
        return vec![line];
    }
    let spans = line.spans;
    let (first, second) = spans.split_at(6);
    vec![Line::from(first.to_vec()), Line::from(second.to_vec())]
}

fn percentiles_line(rec: &Recorder) -> Line<'static> {
    if rec.count() == 0 {
        return Line::from(Span::styled("no latencies yet", Style::new().fg(Color::DarkGray)));
    }
    let q = |label: &str, v: u64, color: Color| {
        vec![
            Span::styled(format!("{label} "), Style::new().fg(Color::DarkGray)),
            Span::styled(format!("{}  ", Human(v)), Style::new().fg(color)),
        ]
    };
    let mut spans = Vec::new();
    spans.extend(q("p50", rec.quantile(0.5), Color::Cyan));
    spans.extend(q("p90", rec.quantile(0.9), Color::Cyan));
    spans.extend(q("p99", rec.quantile(0.99), Color::Yellow));
    spans.extend(q("p99.9", rec.quantile(0.999), Color::LightRed));
    spans.extend(q("max", rec.max(), Color::LightRed));
    Line::from(spans)
}

/// The recorder a histogram shows: the whole run's or the recent window's.
fn shown_recorder(app: &App, pane: &Pane) -> (Recorder, String) {
    if app.show_recent {
        let w = RECENT_WINDOW / 1_000_000_000;
        (pane.recent().unwrap_or_default(), format!("last {w}s"))
    } else {
        (pane.sim.metrics().latency.clone(), "whole run".to_string())
    }
}

fn empty_text(app: &App) -> String {
    let warmup = app.config().warmup;
    if !app.show_recent && app.clock < warmup {
        format!("warming up until {:.1}s (h shows the last 5s meanwhile)", as_secs_f64(warmup))
    } else {
        "no answers yet".to_string()
    }
}

fn render_latency(app: &App, pane: &Pane, area: Rect, buf: &mut Buffer) {
    let (rec, window) = shown_recorder(app, pane);
    let title = format!(" latency, {window} ({} answers, mean {}) ", rec.count(), Human(rec.mean() as u64));
    let block = titled(title).title_bottom(" h: whole run / last 5s ");
    let inner = block.inner(area);
    block.render(area, buf);
    let legend = percentiles(&rec, inner.width);
    let [plot, legend_area] =
        inner.layout(&Layout::vertical([Constraint::Min(2), Constraint::Length(legend.len() as u16)]));
    LatencyHistogram { recorder: &rec, empty_text: &empty_text(app), scale: None }.render(plot, buf);
    Paragraph::new(legend).render(legend_area, buf);
}

fn render_counters(pane: &Pane, area: Rect, buf: &mut Buffer) {
    let c = pane.sim.metrics().counters;
    let a = pane.sim.metrics().attempts;
    let cell = |name: &str, v: String, color: Color| {
        vec![
            Span::styled(format!("{name:<10}"), Style::new().fg(Color::Gray)),
            Span::styled(format!("{v:>9}  "), Style::new().fg(color)),
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

fn render_log(app: &App, area: Rect, buf: &mut Buffer) {
    let rows = area.height.saturating_sub(2) as usize;
    let lines: Vec<Line> = app
        .log
        .iter()
        .skip(app.log.len().saturating_sub(rows))
        .map(|l| {
            Line::from(vec![
                Span::styled(format!("{:>10.3}s ", as_secs_f64(l.time)), Style::new().fg(Color::DarkGray)),
                Span::raw(l.text.clone()),
            ])
        })
        .collect();
    let mut block = titled(" events ");
    if let Some(row) = super::replicas::picks_row(app, area.width) {
        block = block.title_bottom(row);
    }
    Paragraph::new(lines).block(block).render(area, buf);
}

fn render_compare(app: &App, area: Rect, buf: &mut Buffer) {
    // Room for the last five events (each `n` step adds one per pane) when the terminal has
    // it, three when it is small.
    let log_rows = if area.height >= 24 { 7 } else { 5 };
    let [summary, panes_area, log] = area.layout(&Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(8),
        Constraint::Length(log_rows),
    ]));
    Paragraph::new(lead_line(app)).render(summary, buf);
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

/// Who leads on p99 (of the histograms shown), and by how much.
fn lead_line(app: &App) -> Line<'static> {
    let p99s: Vec<(String, u64)> = app
        .panes
        .iter()
        .map(|p| (p.sim.strategy_name().to_string(), shown_recorder(app, p).0.quantile(0.99)))
        .collect();
    let Some((best, best_p99)) = p99s.iter().filter(|(_, v)| *v > 0).min_by_key(|(_, v)| *v).cloned() else {
        return Line::from(" waiting for the first answers");
    };
    let (worst, worst_p99) = p99s.iter().max_by_key(|(_, v)| *v).cloned().unwrap_or_default();
    let mut spans = vec![
        Span::raw(" p99 leader: "),
        Span::styled(best.clone(), Style::new().fg(Color::Green).add_modifier(Modifier::BOLD)),
        Span::raw(format!(" at {}", Human(best_p99))),
    ];
    if worst != best {
        spans.push(Span::raw(format!(
            ", {:.2}x lower than {worst} ({})",
            worst_p99 as f64 / best_p99 as f64,
            Human(worst_p99)
        )));
    }
    // p99 counts answered requests only: say so when the leader answers fewer.
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
        spans.push(Span::styled(
            format!(" · but {leader_lost} unanswered, {other} {lost}"),
            Style::new().fg(Color::LightRed).add_modifier(Modifier::BOLD),
        ));
    }
    Line::from(spans)
}

fn render_compare_pane(app: &App, shared: &SharedScales, i: usize, area: Rect, buf: &mut Buffer) {
    let pane = &app.panes[i];
    let rec = &shared.recorders[i];
    let window =
        if app.show_recent { format!("last {}s", RECENT_WINDOW / SECS) } else { "whole run".to_string() };
    let c = pane.sim.metrics().counters;
    let mut title = vec![Span::styled(
        format!(" {} ", pane.sim.strategy_name()),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    if rec.count() > 0 {
        title.push(Span::raw(format!("· p99 {} ", Human(rec.quantile(0.99)))));
    }
    if !pane.sim.started() {
        title.push(Span::styled(
            "· waits its turn: live runs one strategy at a time ",
            Style::new().fg(Color::Yellow),
        ));
    }
    let title = Line::from(title);
    let unanswered = match c.unanswered() {
        0 => String::new(),
        n => format!(" · {n} unanswered"),
    };
    let block = titled(title).title_bottom(format!(
        " {window} · mean {} · {} done{unanswered} ",
        Human(rec.mean() as u64),
        c.completed
    ));
    let inner = block.inner(area);
    block.render(area, buf);
    let snapshot = &shared.snapshots[i];
    // The bars take what they need, up to half the pane; the histogram the rest.
    let wanted = bar_layout(snapshot.workers.len(), inner.width, inner.height / 2);
    let bar_rows = snapshot.workers.len().div_ceil(wanted.per_bar * wanted.columns) as u16;
    let legend = percentiles(rec, inner.width);
    let [bars, scale_line, hist, legend_area] = inner.layout(&Layout::vertical([
        Constraint::Length(bar_rows.min(inner.height / 2)),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(shared.legend_rows.max(legend.len() as u16)),
    ]));
    PendingBars { workers: &snapshot.workers, selected: app.selected, scale: shared.bar }.render(bars, buf);
    // The scales, the same in every pane, said once per pane where the eye is.
    let mut scales = format!("same scales: bar {} pending", shared.bar);
    if let Some(h) = shared.histogram {
        scales += &format!(" · top {:.0}% of answers", h.top_share * 100.0);
    }
    Paragraph::new(scales).style(Style::new().fg(Color::DarkGray)).render(scale_line, buf);
    LatencyHistogram { recorder: rec, empty_text: &empty_text(app), scale: shared.histogram }
        .render(hist, buf);
    Paragraph::new(legend).render(legend_area, buf);
}

fn render_help(area: Rect, buf: &mut Buffer) {
    let keys = [
        ("space", "pause / resume"),
        ("n", "step one event: which worker got it, and why"),
        ("+ / -", "faster / slower (virtual s per real s)"),
        ("↑ / ↓", "select a worker"),
        ("k / r", "crash / repair it"),
        ("w", "slow it down 10x / back to normal"),
        ("e / E", "its error rate +10% / -10%"),
        ("t", "retries on / off"),
        ("[ / ]", "arrival rate -10% / +10%"),
        ("s", "next strategy (run view)"),
        ("h", "histograms: whole run / last 5s"),
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
