//! Drawing a comparison: one column per strategy on shared scales, with the p99 leader and the selected worker across all.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::app::{App, Focus};
use super::fit;
use super::panes::{
    empty_text, fitted_line, mean_text, outcome, pane_drawn, percentiles, render_log, shown_recorder, titled,
};
use super::widgets::{
    BarRow, HistScale, LatencyHistogram, PendingBars, WorkerState, bar_room, bar_rows, bar_scale,
    bars_height, merged_workers,
};
use crate::engine::Snapshot;
use crate::metrics::Recorder;
use crate::playground::RECENT_WINDOW;
use crate::time::{Human, SECS, as_secs_f64};

pub(super) fn render_compare(app: &App, area: Rect, buf: &mut Buffer) {
    // Room for the last five events when the terminal has it (each `n` step adds one per
    // pane), three when it is small. While stepping, the log takes what the histograms would:
    // the reasons are the lesson then, and they wrap rather than being cut.
    let log_rows = match (app.stepping, area.height) {
        (true, h) => (h.saturating_sub(1) / 2).clamp(5, 14),
        (false, h) if h >= 20 => 7,
        _ => 5,
    };
    let worker_rows = u16::from(area.height >= 20);
    let focus = app.focused();
    if focus == Some(Focus::Log) {
        render_log(app, area, buf);
        return pane_drawn(app, area, Focus::Log, buf);
    }
    let [summary, worker, panes_area, log] = area.layout(&Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(worker_rows),
        Constraint::Min(6),
        Constraint::Length(log_rows),
    ]));
    Paragraph::new(lead_line(app, summary.width)).render(summary, buf);
    Paragraph::new(selected_line(app, worker.width)).render(worker, buf);
    if app.show_chart {
        // One chart, every strategy on the same axes; focused, it takes the log's rows too.
        let chart = if focus == Some(Focus::Latency) { panes_area.union(log) } else { panes_area };
        (&super::chart::TimeChart { app }).render(chart, buf);
        pane_drawn(app, chart, Focus::Latency, buf);
        if chart == panes_area {
            render_log(app, log, buf);
            pane_drawn(app, log, Focus::Log, buf);
        }
        return;
    }
    // A focused strategy's pane takes the room of all of them; the scales stay shared, so
    // that it still compares honestly with the others.
    let shown: Vec<usize> = match focus {
        Some(Focus::Strategy(i)) => vec![i],
        _ => (0..app.play.panes().len()).collect(),
    };
    let n = shown.len() as u32;
    let side_by_side = panes_area.width / n as u16 >= 36 || panes_area.height / (n as u16) < 10;
    let constraints = (0..n).map(|_| Constraint::Ratio(1, n));
    let layout = if side_by_side { Layout::horizontal(constraints) } else { Layout::vertical(constraints) };
    let rects = panes_area.layout_vec(&layout);
    let shared = shared_scales(app, rects.first().map_or(0, |r| r.width.saturating_sub(2)));
    for (i, rect) in shown.into_iter().zip(rects) {
        render_compare_pane(app, &shared, i, rect, buf);
        pane_drawn(app, rect, Focus::Strategy(i), buf);
    }
    render_log(app, log, buf);
    pane_drawn(app, log, Focus::Log, buf);
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
    /// The workers of every pane in one list (see [`merged_workers`]), from which every pane
    /// lays its bars out alike; `None` when the panes have different workers.
    pub workers: Option<Vec<crate::engine::WorkerSnapshot>>,
}

/// The scales shared by the compare panes, for histograms `width` columns wide.
pub fn shared_scales(app: &App, width: u16) -> SharedScales {
    let snapshots: Vec<Snapshot> = app.play.panes().iter().map(|p| p.sim.snapshot()).collect();
    let recorders: Vec<Recorder> = app.play.panes().iter().map(|p| shown_recorder(app, p).0).collect();
    let most = snapshots.iter().flat_map(|s| s.workers.iter().map(|w| w.pending)).max().unwrap_or(0);
    let histogram = HistScale::shared(recorders.iter(), width as usize);
    let legend_rows = recorders.iter().map(|r| percentiles(r, width).len() as u16).max().unwrap_or(1);
    let runs: Vec<&[crate::engine::WorkerSnapshot]> = snapshots.iter().map(|s| &s.workers[..]).collect();
    let workers = merged_workers(&runs);
    SharedScales { snapshots, recorders, bar: bar_scale(most), histogram, legend_rows, workers }
}

/// Who leads on p99 (of the histograms shown), and by how much. p99 counts answered
/// requests only, so when the leader left more requests unanswered than another strategy,
/// the line says so: that part is never dropped for room.
pub(super) fn lead_line(app: &App, width: u16) -> Line<'static> {
    let p99s: Vec<(String, u64)> = app
        .play
        .panes()
        .iter()
        .map(|p| (p.sim.strategy_name().to_string(), shown_recorder(app, p).0.quantile(0.99)))
        .collect();
    let Some((best, best_p99)) = p99s.iter().filter(|(_, v)| *v > 0).min_by_key(|(_, v)| *v).cloned() else {
        return match app.play.clock() < app.play.config().warmup {
            true => Line::from(format!(
                " warming up: statistics start at {:.1}s",
                as_secs_f64(app.play.config().warmup)
            )),
            false => Line::from(" waiting for the first answers"),
        };
    };
    let (worst, worst_p99) = p99s.iter().max_by_key(|(_, v)| *v).cloned().unwrap_or_default();
    let green = Style::new().fg(Color::Green).add_modifier(Modifier::BOLD);
    // What the p99s cover, as the histograms below them: a marked window, the last 5 s, or
    // the whole run.
    let label = match app.window_latencies(0) {
        Some((_, bounds)) => format!(" p99 leader, window {bounds}:"),
        None if app.show_recent => format!(" p99 leader, last {}s:", RECENT_WINDOW / SECS),
        None => " p99 leader:".to_string(),
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
        app.play
            .panes()
            .iter()
            .find(|p| p.sim.strategy_name() == name)
            .map_or(0, |p| p.sim.metrics().counters.unanswered())
    };
    // Requests left waiting when the run ended are part of the verdict: a p99 of the
    // answered ones says nothing of them.
    if app.play.finished() {
        let waiting: Vec<String> = app
            .play
            .panes()
            .iter()
            .map(|p| (p.sim.strategy_name().to_string(), p.sim.metrics().counters))
            .filter(|(_, c)| c.in_flight > 0 && c.in_flight * 100 >= c.completed + c.in_flight)
            .map(|(name, c)| format!("{name} {}", c.in_flight))
            .collect();
        if !waiting.is_empty() {
            let text = format!("· p99 of answered only; left waiting: {}", waiting.join(", "));
            parts.push((0, Span::styled(text, Style::new().fg(Color::Yellow))));
        }
    }
    let leader_lost = unanswered(&best);
    let fewer = app
        .play
        .panes()
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
pub(super) fn selected_line(app: &App, width: u16) -> Line<'static> {
    let snapshots: Vec<Snapshot> = app.play.panes().iter().map(|p| p.sim.snapshot()).collect();
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

/// A compare pane's title parts: the strategy, its p99, its cache hit rate when caches are
/// on, and whether it waits its turn (live runs one strategy at a time).
fn pane_title(pane: &crate::playground::Pane, rec: &Recorder) -> Vec<(u8, Span<'static>)> {
    let mut title = vec![(
        0,
        Span::styled(format!(" {}", pane.sim.strategy_name()), Style::new().add_modifier(Modifier::BOLD)),
    )];
    if rec.count() > 0 {
        // Behind the hit rate when caches are on: the p99 is in the pane's percentiles too.
        let rank =
            if pane.sim.metrics().keys.cache_hits + pane.sim.metrics().keys.cache_misses > 0 { 2 } else { 1 };
        title.push((rank, Span::raw(format!("p99 {}", Human(rec.quantile(0.99))))));
    }
    // With caches, the hit rate is half of the comparison (lesson 21: affinity against balance).
    let keys = pane.sim.metrics().keys;
    let looked = keys.cache_hits + keys.cache_misses;
    if looked > 0 {
        let hits = 100.0 * keys.cache_hits as f64 / looked as f64;
        title.push((1, Span::styled(format!("hit {hits:.0}%"), Style::new().fg(Color::Green))));
    }
    if !pane.sim.started() {
        title.push((
            1,
            Span::styled("waits its turn: live runs one strategy at a time", Style::new().fg(Color::Yellow)),
        ));
    }
    title
}

pub(super) fn render_compare_pane(app: &App, shared: &SharedScales, i: usize, area: Rect, buf: &mut Buffer) {
    let pane = &app.play.panes()[i];
    let rec = &shared.recorders[i];
    let room = area.width.saturating_sub(2);
    let window = match &app.window {
        Some(_) => shown_recorder(app, pane).1,
        None if app.show_recent => format!("last {}s", RECENT_WINDOW / SECS),
        None => "whole run".to_string(),
    };
    let c = pane.sim.metrics().counters;
    let title = pane_title(pane, rec);
    let mut title = fitted_line(room.saturating_sub(1), " · ", title);
    title.spans.push(Span::raw(" "));
    let bottom = fit::by_rank(
        room as usize,
        " · ",
        &[(0, format!(" {window}")), (1, mean_text(rec)), (2, format!("{} done ", c.completed))],
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
    // Every pane lays its bars out alike, from the workers of all of them.
    let workers = shared.workers.as_deref().unwrap_or(&snapshot.workers);
    let bar_rows = bars_height(workers, app.selected, inner.width, max_bars);
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
    let layout = shared.workers.as_ref().map(|w| bar_rows_for(w, app.selected, bars));
    let layout = layout.as_deref();
    PendingBars {
        workers: &snapshot.workers,
        selected: app.selected,
        scale: shared.bar,
        layout,
        hits: Some(&app.bar_hits),
    }
    .render(bars, buf);
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

/// The bars of `workers` in `area`.
fn bar_rows_for(workers: &[crate::engine::WorkerSnapshot], selected: usize, area: Rect) -> Vec<BarRow> {
    bar_rows(workers, selected, bar_room(area.width, area.height))
}
