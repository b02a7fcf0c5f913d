//! Drawing one run's panels, for the run view and each column of a comparison: workers, latency, counters, sparklines, the event log.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline, Widget};

use super::app::{App, Focus};
use super::fit;
use super::widgets::{LatencyHistogram, PendingBars, WorkerState, bar_scale};
use crate::metrics::Recorder;
use crate::playground::{Pane, RECENT_WINDOW};
use crate::text::count_text;
use crate::time::{Human, Nanos, SECS, as_secs_f64, seconds_text};

/// Styled parts of a line, each with a rank (see [`fit::keep`]), laid out to fit `width`:
/// the least important parts are dropped whole, and a line that still does not fit ends in
/// `…`, so the screen says it was shortened.
pub(super) fn fitted_line(width: u16, sep: &str, parts: Vec<(u8, Span<'static>)>) -> Line<'static> {
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

/// Records where `focus`'s pane was drawn, so that a click focuses it; the focused pane's
/// border is drawn bright, so that it is plain which one fills the screen.
pub(super) fn pane_drawn(app: &App, area: Rect, focus: Focus, buf: &mut Buffer) {
    app.pane_hits.borrow_mut().push((area, focus));
    if app.focused() != Some(focus) {
        return;
    }
    let bright = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let edge = y == area.top() || y + 1 == area.bottom() || x == area.left() || x + 1 == area.right();
            if let Some(cell) = buf.cell_mut((x, y))
                && edge
                && "─│┌┐└┘╭╮╰╯".contains(cell.symbol())
            {
                cell.set_style(bright);
            }
        }
    }
}

pub(super) fn titled(title: impl Into<Line<'static>>) -> Block<'static> {
    Block::bordered().title(title).border_style(Style::new().fg(Color::DarkGray))
}

/// The sparkline of completions per second. Its title's figure is smoothed over the last
/// ten samples (a second of real time), and says over how much virtual time, so that it
/// does not jump from sample to sample.
pub(super) fn render_throughput(app: &App, pane: &Pane, area: Rect, buf: &mut Buffer) {
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
pub(super) fn render_p99(app: &App, pane: &Pane, area: Rect, buf: &mut Buffer) {
    let p99 = pane.p99_us();
    let last_p99 = p99.last().copied().unwrap_or(0);
    let (p, per_column) =
        columns(&p99, area.width.saturating_sub(2), |s| s.iter().copied().max().unwrap_or(0));
    let p_top = p.iter().copied().max().unwrap_or(0).max(1);
    let window = RECENT_WINDOW / SECS;
    let answers = pane.recent().map_or(0, |r| r.count());
    let value = match answers {
        0 if app.play.clock() < app.play.config().warmup => "warming up".to_string(),
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
pub(super) fn columns(all: &[u64], width: u16, combine: impl Fn(&[u64]) -> u64) -> (Vec<u64>, usize) {
    let width = width.max(1) as usize;
    let per_column = all.len().div_ceil(width).max(1);
    // Whole columns, aligned on the newest sample.
    let skip = all.len() % per_column;
    let out = all[skip..].chunks(per_column).map(&combine).collect();
    (out, per_column)
}

/// The virtual time the newest `samples` samples cover, up to now: from the start of the
/// oldest of them to the clock.
fn covered(app: &App, pane: &Pane, samples: usize) -> Nanos {
    let oldest = pane.history.len().saturating_sub(samples.max(1));
    let since = pane.history.get(oldest).map_or(app.play.clock(), |s| s.from).min(app.play.clock());
    app.play.clock() - since
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

pub(super) fn render_workers(app: &App, pane: &Pane, area: Rect, buf: &mut Buffer) {
    let snapshot = pane.sim.snapshot();
    let workers = &snapshot.workers;
    let scale = bar_scale(workers.iter().map(|w| w.pending).max().unwrap_or(0));
    let room = area.width.saturating_sub(2) as usize;
    let bars =
        PendingBars { workers, selected: app.selected, scale, layout: None, hits: Some(&app.bar_hits) };
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
pub(super) fn percentiles(rec: &Recorder, width: u16) -> Vec<Line<'static>> {
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
pub(super) fn shown_recorder(app: &App, pane: &Pane) -> (Recorder, String) {
    let index = app.play.panes().iter().position(|p| std::ptr::eq(p, pane)).unwrap_or(0);
    if let Some((rec, bounds)) = app.window_latencies(index) {
        (rec, format!("window {bounds}"))
    } else if app.show_recent {
        let w = RECENT_WINDOW / 1_000_000_000;
        (pane.recent().unwrap_or_default(), format!("last {w}s"))
    } else {
        (pane.sim.metrics().latency.clone(), "whole run".to_string())
    }
}

/// `mean 12.3ms`, or `no answers yet` rather than a mean of nothing.
pub(super) fn mean_text(rec: &Recorder) -> String {
    if rec.count() == 0 { "no answers yet".to_string() } else { format!("mean {}", Human(rec.mean() as u64)) }
}

pub(super) fn empty_text(app: &App) -> String {
    let warmup = app.play.config().warmup;
    if app.play.clock() < warmup {
        format!("warming up: latencies count from {:.1}s", as_secs_f64(warmup))
    } else {
        "no answers yet".to_string()
    }
}

/// The latency histogram, or with `o` latency and throughput over time.
pub(super) fn render_latency_or_chart(app: &App, pane: &Pane, area: Rect, buf: &mut Buffer) {
    if app.show_chart {
        (&super::chart::TimeChart { app }).render(area, buf);
    } else {
        render_latency(app, pane, area, buf);
    }
}

fn render_latency(app: &App, pane: &Pane, area: Rect, buf: &mut Buffer) {
    let (rec, window) = shown_recorder(app, pane);
    let room = area.width.saturating_sub(2) as usize;
    let mut parts = vec![(0, " latency".to_string()), (1, window), (1, mean_text(&rec))];
    if rec.count() > 0 {
        parts.push((2, format!("{} answers ", rec.count())));
    }
    let title = fit::by_rank(room, " · ", &parts);
    let title = if title.ends_with(' ') { title } else { title + " " };
    let mut legend = percentiles(&rec, inner_size(area).1);
    let shown = super::chart::prediction(pane);
    // Theory's line (issue 23) takes a row while the histogram keeps 4; short of rows, its
    // formula and mean take the bottom border instead of the `h` hint (the footer has `h`).
    let theory_row = inner_size(area).0 as usize >= legend.len() + 1 + 4;
    let theory_short = match (shown.broken_at(pane.sim.now()), shown.report.formula, shown.report.mean_ms) {
        (_, _, _) if theory_row => None,
        (Some((at, what)), _, _) => Some(format!(" theory held to {}: then {what} ", seconds_text(at))),
        (None, Some(formula), Some(mean)) => {
            Some(format!(" theory {formula} mean {} ", Human((mean * 1e6).round() as Nanos)))
        }
        _ => None,
    };
    let hint = match (&app.window, theory_short) {
        (Some(crate::tui::app::Window::Open { .. }), _) => {
            fit::first_fitting(room, &[" m: end the window ".to_string(), " m: end ".to_string()])
        }
        (Some(_), _) => {
            fit::first_fitting(room, &[" m: back to the whole run ".to_string(), " m: all ".to_string()])
        }
        (None, Some(theory)) if fit::width(&theory) <= room => theory,
        (None, _) => {
            fit::first_fitting(room, &[" h: whole run / last 5s ".to_string(), " h: window ".to_string()])
        }
    };
    let block = titled(title).title_bottom(hint);
    let inner = block.inner(area);
    block.render(area, buf);
    if theory_row {
        legend.insert(0, theory_line(pane, &shown, inner.width));
    }
    let [plot, legend_area] =
        inner.layout(&Layout::vertical([Constraint::Min(2), Constraint::Length(legend.len() as u16)]));
    LatencyHistogram { recorder: &rec, empty_text: &empty_text(app), scale: None }.render(plot, buf);
    Paragraph::new(legend).render(legend_area, buf);
}

/// The rows and columns inside a bordered pane drawn in `area`.
fn inner_size(area: Rect) -> (u16, u16) {
    (area.height.saturating_sub(2), area.width.saturating_sub(2))
}

/// `theory M/M/1 mean 50.0ms p99 230ms measured 50.3ms`, or `theory: no closed form
/// (retries)`; once the formula stopped holding, `theory held to 30s: then crash (no closed
/// form) · M/M/1 5.00ms, measured 5.02ms` (measured up to then); fitted to `width` (the note,
/// then the p99 and the reason go first).
fn theory_line(pane: &Pane, shown: &super::chart::Shown, width: u16) -> Line<'static> {
    let gray = Style::new().fg(Color::DarkGray);
    let t = &shown.report;
    let (Some(formula), Some(mean)) = (t.formula, t.mean_ms) else {
        let why = format!("({})", t.why.as_deref().unwrap_or("unknown"));
        return fitted_line(
            width,
            " ",
            vec![(0, Span::styled("theory: no closed form", gray)), (1, Span::styled(why, gray))],
        );
    };
    let ms = |v: f64| Human((v * 1e6).round() as Nanos).to_string();
    let white = Style::new().fg(Color::White);
    if let Some((at, what)) = shown.broken_at(pane.sim.now()) {
        let mut parts = vec![
            (0, Span::styled(format!("theory held to {}:", seconds_text(at)), Style::new().fg(Color::Gray))),
            (0, Span::styled(format!("then {what}"), white)),
            (2, Span::styled("(no closed form)", gray)),
        ];
        let measured =
            super::chart::mean_until(pane, at).map_or(String::new(), |m| format!(", measured {}", ms(m)));
        parts.push((1, Span::styled(format!("· {formula} {}{measured}", ms(mean)), gray)));
        return fitted_line(width, " ", parts);
    }
    let mut parts = vec![
        (0, Span::styled(format!("theory {formula}"), Style::new().fg(Color::Gray))),
        (0, Span::styled(format!("mean {}", ms(mean)), white)),
    ];
    if let Some(p99) = t.p99_ms {
        parts.push((2, Span::styled(format!("p99 {}", ms(p99)), white)));
    }
    let measured = &pane.sim.metrics().latency;
    if measured.count() > 0 {
        parts.push((1, Span::styled(format!("measured {}", ms(measured.mean() / 1e6)), gray)));
    }
    if let Some((at, what)) = &shown.until {
        parts.push((3, Span::styled(format!("(until {what} at {})", seconds_text(*at)), gray)));
    }
    if let Some(note) = &t.note {
        parts.push((4, Span::styled(format!("({note})"), gray)));
    }
    fitted_line(width, " ", parts)
}

/// Width of the counters' box: two columns of a 10-column label and a value of up to 8
/// characters (larger numbers are written 12.3M, never cut).
pub(super) const COUNTERS_WIDTH: u16 = 44;

pub(super) fn render_counters(pane: &Pane, area: Rect, buf: &mut Buffer) {
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
pub(super) fn render_log(app: &App, area: Rect, buf: &mut Buffer) {
    let inner_of = |title: &str| {
        let mut block = titled(fit::ellipsis(title, area.width.saturating_sub(2) as usize));
        if let Some(row) = super::replicas::picks_row(app, area.width) {
            block = block.title_bottom(row);
        }
        block
    };
    let inner = inner_of("").inner(area);
    // Scrolled back past the oldest full page, the pane shows that page: never blank rows.
    let mut scroll = app.log_scroll;
    let (mut rows, mut whole) = log_rows(app, inner, scroll);
    while rows.len() < inner.height as usize && scroll > 0 {
        scroll -= 1;
        (rows, whole) = log_rows(app, inner, scroll);
    }
    app.log_page.set(whole.max(1));
    app.log_shown.set(Some(scroll));
    let title = match scroll {
        0 => " events ".to_string(),
        n => format!(" events · {n} lines back · End: newest "),
    };
    let block = inner_of(&title);
    block.render(area, buf);
    Paragraph::new(rows).render(inner, buf);
}

/// The event log's rows in `inner`, `scroll` entries back from the newest, filled from the
/// bottom up, and how many entries they show whole (a page for PgUp and PgDn).
fn log_rows(app: &App, inner: Rect, scroll: usize) -> (Vec<Line<'static>>, usize) {
    let log = app.play.log_lines();
    let newest = log.len().saturating_sub(scroll);
    let time_width =
        log.get(newest.saturating_sub(1)).map_or(0, |l| format!("{:.3}s", as_secs_f64(l.time)).len());
    let height = inner.height as usize;
    let mut rows: Vec<Line> = Vec::new();
    let mut whole = 0;
    for line in log.iter().take(newest).rev() {
        let time = format!("{:>time_width$} ", format!("{:.3}s", as_secs_f64(line.time)));
        let wrapped =
            crate::text::wrap(&line.text, (inner.width as usize).saturating_sub(time_width + 1).max(8));
        let mut these: Vec<Line> = wrapped
            .into_iter()
            .enumerate()
            .map(|(i, text)| {
                let lead = if i == 0 { time.clone() } else { " ".repeat(time_width + 1) };
                Line::from(vec![Span::styled(lead, Style::new().fg(Color::DarkGray)), Span::raw(text)])
            })
            .collect();
        let room = height - rows.len();
        if these.len() > room {
            // The pane is filled: the newest entry's start when even it does not fit, else
            // the end of the oldest one.
            if rows.is_empty() {
                these.truncate(room);
            } else {
                these.drain(..these.len() - room);
            }
            these.reverse();
            rows.extend(these);
            break;
        }
        whole += 1;
        these.reverse();
        rows.extend(these);
        if rows.len() == height {
            break;
        }
    }
    rows.reverse();
    (rows, whole)
}

/// What became of a pane's requests, in the report's words: answers per second (the goodput:
/// what lesson 6 compares), then every way a request went unanswered, and the retries.
pub(super) fn outcome(pane: &Pane, width: u16) -> Line<'static> {
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
