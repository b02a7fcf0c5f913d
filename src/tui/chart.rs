//! Latency and throughput over time (`o`, issue 13): ratatui charts whose x axis is virtual
//! time. Above, the recent window's p99 and p50 on a log axis with units (one p99 line per
//! strategy in compare, on shared axes, with a legend); below, answers per second. Faults,
//! scaling steps and the user's commands are drawn as markers on the time axis, so that a
//! jump in the tail can be read against what caused it. The charts span the whole run
//! ([`Pane::trend`](crate::playground::Pane::trend)), not just the sparklines' last samples.

use ratatui::prelude::*;
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph};

use super::app::App;
use crate::playground::{Pane, RECENT_WINDOW};
use crate::report::TheoryReport;
use crate::time::{Human, Nanos, SECS, seconds_text};

/// One colour per pane (strategy), the same in both charts.
const COLORS: [Color; 4] = [Color::Yellow, Color::Cyan, Color::LightMagenta, Color::LightGreen];

/// The chart panel for everything `app` shows (one pane in run, all of them in compare).
pub struct TimeChart<'a> {
    /// The app whose panes' histories are drawn.
    pub app: &'a App,
}

/// What the charts plot, in chart coordinates: x in seconds of virtual time, latency as
/// log10 of milliseconds.
struct Series {
    name: String,
    /// Where its first point's span begins (the start of the run, unless it was cut).
    start: Option<f64>,
    color: Color,
    p99: Vec<(f64, f64)>,
    p50: Vec<(f64, f64)>,
    throughput: Vec<(f64, f64)>,
    /// What theory predicts (issue 23): the mean and the p99 where given, as log10 of ms.
    theory: Vec<f64>,
    /// Until when it holds (s): its lines end there.
    theory_until: Option<f64>,
}

/// What theory predicts for a pane's run over time (issue 23): the formula that holds, and
/// the moment its assumptions broke (a scheduled fault or the first command), if they did.
pub(super) struct Shown {
    /// The formula and its figures, or why none applies.
    pub report: TheoryReport,
    /// When the formula stops holding, and what breaks it (`crash`, `slowdown`, ...).
    pub until: Option<(Nanos, String)>,
}

impl Shown {
    /// Where the formula stopped holding by `now`: its time and cause.
    pub fn broken_at(&self, now: Nanos) -> Option<(Nanos, &str)> {
        self.until.as_ref().filter(|(at, _)| *at <= now).map(|(at, what)| (*at, what.as_str()))
    }
}

/// What theory predicts for a pane's run: the formula holds until the first scheduled fault
/// or command (see [`crate::theory::predict_until`]).
pub(super) fn prediction(pane: &Pane) -> Shown {
    let timed = crate::theory::predict_until(pane.sim.config(), pane.sim.strategy_name());
    let scheduled = timed.breaks.map(|b| (b.at, b.what));
    let command = pane.sim.metrics().interventions.first().map(|i| (i.at, command_word(i.kind).to_string()));
    let until = [scheduled, command].into_iter().flatten().min_by_key(|(at, _)| *at);
    if until.as_ref().is_some_and(|(at, _)| *at == 0) {
        // Changed before it began (a command at 0 s, as a replay's first): it never held.
        let none = TheoryReport::new(pane.sim.config(), pane.sim.strategy_name(), true);
        return Shown { report: none, until: None };
    }
    Shown { report: TheoryReport::from_prediction(&timed.prediction), until }
}

/// A command's kind in a word or two, as what broke the formula.
fn command_word(kind: crate::metrics::InterventionKind) -> &'static str {
    use crate::metrics::InterventionKind as K;
    match kind {
        K::ArrivalRate => "a rate change",
        K::Strategy => "a strategy switch",
        K::Speed => "a speed change",
        K::Slowdown => "slowdown",
        K::Crash => "crash",
        K::Repair => "a repair",
        K::ErrorRate => "errors",
        K::Retries => "retries",
    }
}

/// The whole run's mean latency (ms) when the formula stopped holding at `at`: the last
/// sample's at or before it, if the pane took one after an answer.
pub(super) fn mean_until(pane: &Pane, at: Nanos) -> Option<f64> {
    let sample = pane.trend.iter().rev().find(|s| s.at <= at)?;
    (sample.mean > 0.0).then_some(sample.mean / 1e6)
}

fn log_ms(t: Nanos) -> f64 {
    (t as f64 / 1e6).log10()
}

impl TimeChart<'_> {
    fn series(&self) -> Vec<Series> {
        self.app
            .play
            .panes()
            .iter()
            .enumerate()
            .map(|(i, pane)| {
                let secs = |t: Nanos| t as f64 / SECS as f64;
                let answered = pane.trend.iter().filter(|s| s.p99 > 0);
                let shown = prediction(pane);
                Series {
                    name: pane.sim.strategy_name().to_string(),
                    start: pane.trend.first().map(|s| secs(s.from)),
                    color: COLORS[i % COLORS.len()],
                    p99: answered.clone().map(|s| (secs(s.at), log_ms(s.p99))).collect(),
                    p50: answered.map(|s| (secs(s.at), log_ms(s.p50.max(1)))).collect(),
                    throughput: pane.trend.iter().map(|s| (secs(s.at), s.throughput)).collect(),
                    theory: [shown.report.mean_ms, shown.report.p99_ms]
                        .into_iter()
                        .flatten()
                        .map(f64::log10)
                        .collect(),
                    theory_until: shown.until.as_ref().map(|(at, _)| secs(*at)),
                }
            })
            .collect()
    }

    /// The times of the run's events (faults, scaling, commands) the log has kept.
    fn marks(&self) -> Vec<f64> {
        self.app.play.log_lines().iter().filter(|l| l.mark).map(|l| l.time as f64 / SECS as f64).collect()
    }
}

/// Theory's reference lines: dots across `x0..=x1` at each of `levels`, up to `until` (s)
/// where the formula stopped holding.
fn reference_dots(levels: &[f64], x0: f64, x1: f64, until: Option<f64>) -> Vec<(f64, f64)> {
    let end = until.unwrap_or(x1);
    levels
        .iter()
        .flat_map(|&y| (0..=60).map(move |k| (x0 + (x1 - x0) * k as f64 / 60.0, y)))
        .filter(|&(x, _)| x <= end)
        .collect()
}

/// A line or scatter of `data` in Braille dots of `color`.
fn plot(data: &[(f64, f64)], color: Color, graph: GraphType) -> Dataset<'_> {
    Dataset::default()
        .marker(symbols::Marker::Braille)
        .graph_type(graph)
        .style(Style::new().fg(color))
        .data(data)
}

/// Labels for a time axis from `from` to `to` seconds: start, middle and end.
fn time_labels(from: f64, to: f64) -> Vec<Line<'static>> {
    [from, (from + to) / 2.0, to]
        .into_iter()
        .map(|s| Line::from(seconds_text((s * SECS as f64).round() as Nanos)))
        .collect()
}

/// Decades from `lo` to `hi` (log10 of ms) as labels (`1.00ms`, `10.0ms`, `100ms`, `1.00s`):
/// every decade when there are at most five, else the ends and the middle.
fn latency_labels(lo: f64, hi: f64) -> Vec<Line<'static>> {
    let decades = (hi - lo).round() as usize;
    let marks: Vec<f64> = if decades <= 4 {
        (0..=decades).map(|k| lo + k as f64).collect()
    } else {
        vec![lo, (lo + hi) / 2.0, hi]
    };
    marks.into_iter().map(|m| Line::from(Human((10f64.powf(m) * 1e6).round() as Nanos).to_string())).collect()
}

impl Widget for &TimeChart<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let series = self.series();
        let compare = series.len() > 1;
        let block = legend_block(&series, area.width);
        let inner = block.inner(area);
        block.render(area, buf);
        // The axes fit what is drawn: in compare, the p99 lines only.
        let points: Vec<&(f64, f64)> = series
            .iter()
            .flat_map(|s| s.p99.iter().chain(if compare { &[][..] } else { &s.p50[..] }))
            .collect();
        if points.is_empty() {
            Paragraph::new("no answers yet: the chart starts with the first").render(inner, buf);
            return;
        }
        let first = series.iter().filter_map(|s| s.start).fold(f64::MAX, f64::min);
        let now = self.app.play.clock() as f64 / SECS as f64;
        let (x0, x1) = (first.min(now), now.max(first + 1.0));
        // The theory's reference lines are kept in view too.
        let ys = || points.iter().map(|p| p.1).chain(series.iter().flat_map(|s| s.theory.iter().copied()));
        let lo = ys().fold(f64::MAX, f64::min).floor();
        let hi = ys().fold(f64::MIN, f64::max).ceil().max(lo + 1.0);
        // A vertical line of `dots` points at each of `times` in view.
        let upright = |times: Vec<f64>, dots: u32| -> Vec<(f64, f64)> {
            times
                .into_iter()
                .filter(|t| (x0..=x1).contains(t))
                .flat_map(|t| (0..=dots).map(move |k| (t, lo + (hi - lo) * k as f64 / dots as f64)))
                .collect()
        };
        // Markers: a dotted vertical line per event in view.
        let marks = upright(self.marks(), 16);
        let (latency_area, throughput_area) = if inner.height >= 12 {
            let [a, b] = inner.layout(&Layout::vertical([Constraint::Ratio(2, 3), Constraint::Ratio(1, 3)]));
            (a, Some(b))
        } else {
            (inner, None)
        };
        let mut datasets = Vec::new();
        for s in &series {
            let name = if compare { s.name.clone() } else { "p99".to_string() };
            datasets.push(plot(&s.p99, s.color, GraphType::Line).name(name));
            if !compare {
                datasets.push(plot(&s.p50, Color::Cyan, GraphType::Line).name("p50"));
            }
        }
        // Theory's mean and p99: dotted horizontal lines across the chart, up to the moment
        // the formula stopped holding.
        let reference: Vec<(Color, Vec<(f64, f64)>)> = series
            .iter()
            .map(|s| {
                let color = if compare { s.color } else { Color::Gray };
                let dots = reference_dots(&s.theory, x0, x1, s.theory_until);
                (color, dots)
            })
            .collect();
        for (color, dots) in &reference {
            if !dots.is_empty() {
                datasets.push(plot(dots, *color, GraphType::Scatter));
            }
        }
        // A window marked with `m`: its edges (the end is now while it is open).
        let secs = |t: Nanos| t as f64 / SECS as f64;
        let edges = self.app.window.as_ref().map(|w| w.bounds());
        let edges = edges.map(|(from, to)| vec![secs(from), to.map_or(now, secs)]).unwrap_or_default();
        let edges = upright(edges, 32);
        if !edges.is_empty() {
            datasets.push(plot(&edges, Color::LightBlue, GraphType::Scatter));
        }
        if !marks.is_empty() {
            datasets.push(plot(&marks, Color::LightRed, GraphType::Scatter).marker(symbols::Marker::Dot));
        }
        let axis_style = Style::new().fg(Color::DarkGray);
        // Where the plot lies (right of the y labels and their axis line, above the x labels
        // and theirs), for a mouse drag across it.
        let labels_width = latency_labels(lo, hi).iter().map(Line::width).max().unwrap_or(0) as u16;
        let left = latency_area.x + labels_width + 1;
        let bottom = latency_area.bottom().saturating_sub(3);
        self.app.chart_span.set((left < latency_area.right() && bottom > latency_area.y).then(|| {
            super::app::ChartSpan {
                left,
                right: latency_area.right() - 1,
                top: latency_area.y,
                bottom,
                from: (x0 * SECS as f64) as Nanos,
                to: (x1 * SECS as f64) as Nanos,
            }
        }));
        Chart::new(datasets)
            .x_axis(Axis::default().bounds([x0, x1]).labels(time_labels(x0, x1)).style(axis_style))
            .y_axis(Axis::default().bounds([lo, hi]).labels(latency_labels(lo, hi)).style(axis_style))
            .legend_position(None)
            .render(latency_area, buf);
        if let Some(area) = throughput_area {
            render_throughput(&series, x0, x1, area, buf);
        }
    }
}

/// The chart's frame: the legend is the title, in the lines' colours (a legend box would
/// cover the lines).
fn legend_block(series: &[Series], width: u16) -> Block<'static> {
    let compare = series.len() > 1;
    let window = RECENT_WINDOW / SECS;
    let mut keys: Vec<(String, Color)> = if compare {
        series.iter().map(|s| (format!("━ {} p99", s.name), s.color)).collect()
    } else {
        vec![("━ p99".to_string(), series[0].color), ("━ p50".to_string(), Color::Cyan)]
    };
    if series.iter().any(|s| !s.theory.is_empty()) {
        keys.push(("┄ theory".to_string(), Color::Gray));
    }
    keys.push(("• events".to_string(), Color::LightRed));
    let room = width.saturating_sub(4) as usize;
    let tail = super::fit::first_fitting(
        room.saturating_sub(keys.iter().map(|(k, _)| super::fit::width(k) + 1).sum::<usize>()),
        &[format!("· last {window}s at each moment, log scale "), "· last 5s, log ".into(), String::new()],
    );
    let mut title = vec![Span::raw(" ")];
    for (key, color) in keys {
        title.push(Span::styled(key, Style::new().fg(color)));
        title.push(Span::raw(" "));
    }
    title.push(Span::styled(tail, Style::new().fg(Color::DarkGray)));
    Block::bordered()
        .title(Line::from(title))
        .title_bottom(" o: histogram · events are in the log ")
        .border_style(Style::new().fg(Color::DarkGray))
}

/// Answers per second over time, below the latency chart.
fn render_throughput(series: &[Series], x0: f64, x1: f64, area: Rect, buf: &mut Buffer) {
    let axis_style = Style::new().fg(Color::DarkGray);
    let top = series.iter().flat_map(|s| s.throughput.iter().map(|p| p.1)).fold(1.0, f64::max);
    let datasets = series.iter().map(|s| plot(&s.throughput, s.color, GraphType::Line)).collect();
    let labels = vec![Line::from("0/s"), Line::from(format!("{top:.0}/s"))];
    Chart::new(datasets)
        .block(Block::new().title(Line::from(" answers per second ").style(axis_style)))
        .x_axis(Axis::default().bounds([x0, x1]).style(axis_style))
        .y_axis(Axis::default().bounds([0.0, top]).labels(labels).style(axis_style))
        .render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_labels_are_decades_with_units() {
        let text = |lines: Vec<Line>| lines.iter().map(|l| l.to_string()).collect::<Vec<_>>();
        assert_eq!(text(latency_labels(0.0, 3.0)), ["1.00ms", "10.0ms", "100ms", "1.00s"]);
        assert_eq!(text(latency_labels(-1.0, 5.0)), ["100µs", "100ms", "100s"]);
        assert_eq!(text(time_labels(10.0, 20.0)), ["10s", "15s", "20s"]);
    }

    #[test]
    fn theory_lines_end_where_the_formula_stopped_holding() {
        let all = reference_dots(&[1.0, 2.0], 0.0, 60.0, None);
        assert_eq!(all.len(), 122);
        let held = reference_dots(&[1.0], 0.0, 60.0, Some(30.0));
        assert_eq!(held.len(), 31);
        assert!(held.iter().all(|&(x, y)| x <= 30.0 && y == 1.0));
        // A break before the chart's start leaves none; one after its end, all of them.
        assert_eq!(reference_dots(&[1.0], 10.0, 70.0, Some(5.0)).len(), 0);
        assert_eq!(reference_dots(&[1.0], 0.0, 60.0, Some(90.0)).len(), 61);
    }
}
