//! The UI's widgets: per-worker pending bars and a log-scaled latency histogram. Each takes
//! data by reference and only draws; the bucketing and layout arithmetic are plain functions,
//! tested on their own.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Widget;

use crate::engine::WorkerSnapshot;
use crate::metrics::Recorder;
use crate::time::{Human, MICROS, Nanos};

const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
const VERTICAL_EIGHTHS: [char; 8] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇'];

/// How a worker is doing, for its colour and label. Later variants win when a bar stands
/// for several workers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum WorkerState {
    /// Removed by the autoscaler.
    Retired,
    /// Nothing pending.
    Idle,
    /// Serving, nothing queued.
    Busy,
    /// Requests waiting.
    Queued,
    /// A long queue: at least 8 waiting per service slot.
    Overloaded,
    /// Added by the autoscaler, not serving yet.
    Starting,
    /// Being removed by the autoscaler, finishing its queue.
    Draining,
    /// Slowed down.
    Slow,
    /// Ejected as an outlier.
    Ejected,
    /// Crashed, and the balancer knows.
    Down,
    /// Crashed, and the balancer does not know yet: requests sent there fail.
    DeadUnnoticed,
}

impl WorkerState {
    /// Classifies a worker.
    pub fn of(w: &WorkerSnapshot) -> WorkerState {
        use crate::engine::Lifecycle;
        if w.crashed {
            if w.up { WorkerState::DeadUnnoticed } else { WorkerState::Down }
        } else if w.ejected {
            WorkerState::Ejected
        } else if w.lifecycle == Lifecycle::Retired {
            WorkerState::Retired
        } else if w.lifecycle == Lifecycle::Starting {
            WorkerState::Starting
        } else if w.lifecycle == Lifecycle::Draining {
            WorkerState::Draining
        } else if w.slowdown > 1.0 {
            WorkerState::Slow
        } else if w.pending == 0 {
            WorkerState::Idle
        } else if w.queued == 0 {
            WorkerState::Busy
        } else if w.queued >= 8 * w.concurrency {
            WorkerState::Overloaded
        } else {
            WorkerState::Queued
        }
    }

    /// Its colour.
    pub fn color(self) -> Color {
        match self {
            WorkerState::Retired => Color::DarkGray,
            WorkerState::Idle => Color::DarkGray,
            WorkerState::Busy => Color::Green,
            WorkerState::Queued => Color::Yellow,
            WorkerState::Overloaded => Color::LightRed,
            WorkerState::Starting => Color::Cyan,
            WorkerState::Draining => Color::Blue,
            WorkerState::Slow => Color::Magenta,
            WorkerState::Ejected => Color::LightBlue,
            WorkerState::Down => Color::Red,
            WorkerState::DeadUnnoticed => Color::LightMagenta,
        }
    }

    /// A word for it.
    pub fn name(self) -> &'static str {
        match self {
            WorkerState::Retired => "retired",
            WorkerState::Idle => "idle",
            WorkerState::Busy => "busy",
            WorkerState::Queued => "queueing",
            WorkerState::Overloaded => "overloaded",
            WorkerState::Starting => "starting",
            WorkerState::Draining => "draining",
            WorkerState::Slow => "slow",
            WorkerState::Ejected => "ejected",
            WorkerState::Down => "down",
            WorkerState::DeadUnnoticed => "dead, unnoticed",
        }
    }

    /// Whether the bar shows this word instead of a pending count.
    fn labelled(self) -> bool {
        matches!(
            self,
            WorkerState::Retired
                | WorkerState::Starting
                | WorkerState::Ejected
                | WorkerState::Down
                | WorkerState::DeadUnnoticed
        )
    }
}

/// The bar scale: the smallest of 8, 16, 32, ... that holds `max`.
pub fn bar_scale(max: u32) -> u32 {
    max.max(8).next_power_of_two()
}

/// How the bars fit an area: `per_bar` workers per bar (1 unless aggregated), in `columns`
/// columns of up to `rows` bars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarLayout {
    /// Workers per bar.
    pub per_bar: usize,
    /// Columns of bars.
    pub columns: usize,
    /// Bars per column.
    pub rows: usize,
}

/// Narrowest column of bars worth drawing.
const MIN_COLUMN: u16 = 22;

/// Lays out `n` workers in a `width` x `height` area: one bar each in as many columns as
/// needed; when even the most columns cannot hold them, consecutive workers share a bar.
pub fn bar_layout(n: usize, width: u16, height: u16) -> BarLayout {
    let rows = height.max(1) as usize;
    let max_columns = (width / MIN_COLUMN).max(1) as usize;
    if n <= rows * max_columns {
        BarLayout { per_bar: 1, columns: n.div_ceil(rows).max(1), rows }
    } else {
        let per_bar = n.div_ceil(rows * max_columns);
        BarLayout { per_bar, columns: n.div_ceil(per_bar).div_ceil(rows), rows }
    }
}

/// One bar per worker (or per group of workers when they do not fit), showing pending
/// requests, coloured by state.
pub struct PendingBars<'a> {
    /// The workers.
    pub workers: &'a [WorkerSnapshot],
    /// The selected worker, highlighted.
    pub selected: usize,
    /// Pending count of a full bar.
    pub scale: u32,
}

impl Widget for PendingBars<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() || self.workers.is_empty() {
            return;
        }
        let layout = bar_layout(self.workers.len(), area.width, area.height);
        let col_width = area.width / layout.columns as u16;
        let digits = self.workers.len().saturating_sub(1).to_string().len();
        // Show speeds when they differ and there is room: the lesson of heterogeneous clusters.
        let speeds_differ = self.workers.iter().any(|w| w.speed != self.workers[0].speed);
        let show_speed = speeds_differ && layout.per_bar == 1 && col_width >= 30;
        let label_width = match (layout.per_bar, show_speed) {
            (1, true) => digits + 7,
            (1, false) => digits + 1,
            _ => 2 * digits + 2,
        };
        let count_text = |group: &[WorkerSnapshot]| {
            let pending = group.iter().map(|w| w.pending).max().unwrap_or(0);
            match group.iter().map(WorkerState::of).max().unwrap_or(WorkerState::Idle) {
                WorkerState::Slow if layout.per_bar == 1 => format!("{pending} slow {}x", group[0].slowdown),
                WorkerState::DeadUnnoticed => format!("{pending} dead!"),
                s if s.labelled() && pending == 0 => s.name().to_string(),
                s if s.labelled() => format!("{pending} {}", s.name()),
                _ => pending.to_string(),
            }
        };
        // Every bar gets the same room, whatever its own label: a longer label must not make a
        // longer queue look shorter.
        let widest =
            self.workers.chunks(layout.per_bar).map(|g| count_text(g).chars().count()).max().unwrap_or(0);
        for (bar, group) in self.workers.chunks(layout.per_bar).enumerate() {
            let (col, row) = (bar / layout.rows, bar % layout.rows);
            let x = area.x + col as u16 * col_width;
            let y = area.y + row as u16;
            let first = bar * layout.per_bar;
            let last = first + group.len() - 1;
            let label = if show_speed {
                format!("{first:>digits$} {:>4}x ", short_speed(group[0].speed))
            } else if layout.per_bar == 1 {
                format!("{first:>digits$} ")
            } else {
                format!("{first:>digits$}-{last:<digits$} ")
            };
            let pending = group.iter().map(|w| w.pending).max().unwrap_or(0);
            let state = group.iter().map(WorkerState::of).max().unwrap_or(WorkerState::Idle);
            let selected = (first..=last).contains(&self.selected);
            let label_style = if selected {
                Style::new().add_modifier(Modifier::REVERSED)
            } else {
                Style::new().fg(Color::Gray)
            };
            buf.set_stringn(x, y, &label, label_width, label_style);
            let count = count_text(group);
            let bar_width = (col_width as usize).saturating_sub(label_width + widest + 2);
            let style = Style::new().fg(state.color());
            let eighths =
                (pending as usize * bar_width * 8).div_ceil(self.scale.max(1) as usize).min(bar_width * 8);
            let mut text: String = "█".repeat(eighths / 8);
            if !eighths.is_multiple_of(8) {
                text.push(EIGHTHS[eighths % 8]);
            }
            let bar_x = x + label_width as u16;
            buf.set_stringn(bar_x, y, &text, bar_width, style);
            let count_x = bar_x + text.chars().count() as u16 + 1;
            buf.set_stringn(count_x, y, &count, count.len(), style.add_modifier(Modifier::BOLD));
        }
    }
}

/// A speed in at most four characters: `2`, `0.5`, `0.25`, `12.5`.
fn short_speed(speed: f64) -> String {
    let text = format!("{speed:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.chars().take(4).collect()
}

/// A histogram bucket: values in `[low, high)` microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    /// Lower edge (µs).
    pub low: f64,
    /// Upper edge (µs).
    pub high: f64,
    /// Values in it.
    pub count: u64,
}

/// Buckets the recorded values into `n` buckets evenly spaced on a log scale between the
/// smallest and largest value (in microseconds).
pub fn log_buckets(rec: &Recorder, n: usize) -> Vec<Bucket> {
    match value_range(rec) {
        Some((low, high)) => log_buckets_between(rec, n, low, high),
        None => Vec::new(),
    }
}

/// The smallest and largest values recorded (µs), if any.
pub fn value_range(rec: &Recorder) -> Option<(f64, f64)> {
    let hist = rec.histogram();
    (!hist.is_empty()).then(|| (hist.min().max(1) as f64, hist.max().max(1) as f64))
}

/// Like [`log_buckets`], between `low` and `high` (µs) whatever this recorder holds, so that
/// several histograms can share one axis; values outside go to the end buckets.
pub fn log_buckets_between(rec: &Recorder, n: usize, low: f64, high: f64) -> Vec<Bucket> {
    let hist = rec.histogram();
    if n == 0 || hist.is_empty() {
        return Vec::new();
    }
    let low = low.max(1.0);
    let high = high.max(low * 1.0001);
    let ratio = (high / low).ln();
    let edge = |i: usize| low * (ratio * i as f64 / n as f64).exp();
    let mut buckets: Vec<Bucket> =
        (0..n).map(|i| Bucket { low: edge(i), high: edge(i + 1), count: 0 }).collect();
    for v in hist.iter_recorded() {
        let value = (v.value_iterated_to().max(1)) as f64;
        let i = ((value / low).ln() / ratio * n as f64).floor().clamp(0.0, (n - 1) as f64) as usize;
        buckets[i].count += v.count_since_last_iteration();
    }
    buckets
}

/// A scale shared by several histograms drawn side by side: the same axis, and bar heights
/// as a share of each histogram's own count, against the same top.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HistScale {
    /// Left edge of the axis (µs).
    pub low: f64,
    /// Right edge of the axis (µs).
    pub high: f64,
    /// The share of a histogram's values (0 to 1) that fills the full height.
    pub top_share: f64,
}

impl HistScale {
    /// One scale for all of `recorders` drawn `width` buckets wide; `None` if none has values.
    pub fn shared<'a>(
        recorders: impl IntoIterator<Item = &'a Recorder> + Clone,
        width: usize,
    ) -> Option<HistScale> {
        let ranges: Vec<(f64, f64)> = recorders.clone().into_iter().filter_map(value_range).collect();
        let low = ranges.iter().map(|r| r.0).reduce(f64::min)?;
        let high = ranges.iter().map(|r| r.1).reduce(f64::max)?;
        let top_share = recorders
            .into_iter()
            .filter(|r| r.count() > 0)
            .map(|r| {
                let top = log_buckets_between(r, width, low, high).iter().map(|b| b.count).max().unwrap_or(0);
                top as f64 / r.count() as f64
            })
            .reduce(f64::max)?;
        Some(HistScale { low, high, top_share: top_share.max(1e-9) })
    }
}

/// A latency histogram on a log scale that fills its area, bars coloured by percentile band
/// (up to p90, to p99, beyond), with the range labelled below.
pub struct LatencyHistogram<'a> {
    /// The latencies.
    pub recorder: &'a Recorder,
    /// Shown when nothing is recorded yet.
    pub empty_text: &'a str,
    /// A scale shared with other histograms; `None`: its own (its range, its tallest bucket).
    pub scale: Option<HistScale>,
}

impl Widget for LatencyHistogram<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.height < 2 || area.width < 10 {
            return;
        }
        let plot_height = area.height - 1;
        let buckets = match self.scale {
            Some(s) => log_buckets_between(self.recorder, area.width as usize, s.low, s.high),
            None => log_buckets(self.recorder, area.width as usize),
        };
        if buckets.is_empty() {
            buf.set_stringn(
                area.x,
                area.y,
                self.empty_text,
                area.width as usize,
                Style::new().fg(Color::DarkGray),
            );
            return;
        }
        let p90 = self.recorder.quantile(0.9) as f64 / MICROS as f64;
        let p99 = self.recorder.quantile(0.99) as f64 / MICROS as f64;
        // Bar height: a bucket's count against the tallest, or its share against the shared top.
        let height = |count: u64| -> u64 {
            let full = plot_height as u64 * 8;
            match self.scale {
                Some(s) => {
                    let share = count as f64 / self.recorder.count().max(1) as f64;
                    ((share / s.top_share * full as f64).ceil() as u64).min(full)
                }
                None => {
                    let top = buckets.iter().map(|b| b.count).max().unwrap_or(1).max(1);
                    (count * full).div_ceil(top)
                }
            }
        };
        for (i, b) in buckets.iter().enumerate() {
            let color = if b.low >= p99 {
                Color::LightRed
            } else if b.low >= p90 {
                Color::Yellow
            } else {
                Color::Cyan
            };
            let eighths = height(b.count) as usize;
            let x = area.x + i as u16;
            for row in 0..plot_height as usize {
                let filled = eighths.saturating_sub(row * 8).min(8);
                let ch = if filled == 8 { '█' } else { VERTICAL_EIGHTHS[filled] };
                if filled > 0 {
                    let y = area.y + plot_height - 1 - row as u16;
                    buf[(x, y)].set_char(ch).set_fg(color);
                }
            }
        }
        // Axis: the range, log scale.
        let y = area.y + plot_height;
        let dim = Style::new().fg(Color::DarkGray);
        let first = buckets[0].low;
        let last = buckets[buckets.len() - 1].high;
        let left = Human((first * MICROS as f64) as Nanos).to_string();
        let right = Human((last * MICROS as f64) as Nanos).to_string();
        let middle = Human(((first * last).sqrt() * MICROS as f64) as Nanos).to_string();
        buf.set_string(area.x, y, &left, dim);
        buf.set_string(area.x + area.width / 2 - middle.len() as u16 / 2, y, &middle, dim);
        buf.set_string(area.right() - right.chars().count() as u16, y, &right, dim);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::MILLIS;

    fn worker(pending: u32, queued: u32, up: bool) -> WorkerSnapshot {
        WorkerSnapshot {
            pending,
            queued,
            busy: pending - queued,
            concurrency: 1,
            speed: 1.0,
            slowdown: 1.0,
            up,
            crashed: !up,
            ejected: false,
            lifecycle: crate::engine::Lifecycle::Active,
            error_rate: 0.0,
            completed: 0,
            last_latency: 0,
        }
    }

    #[test]
    fn states_and_scales() {
        assert_eq!(WorkerState::of(&worker(0, 0, true)), WorkerState::Idle);
        assert_eq!(WorkerState::of(&worker(1, 0, true)), WorkerState::Busy);
        assert_eq!(WorkerState::of(&worker(3, 2, true)), WorkerState::Queued);
        assert_eq!(WorkerState::of(&worker(9, 8, true)), WorkerState::Overloaded);
        let mut dead = worker(0, 0, false);
        assert_eq!(WorkerState::of(&dead), WorkerState::Down);
        dead.up = true; // crashed, but the balancer still sends to it
        assert_eq!(WorkerState::of(&dead), WorkerState::DeadUnnoticed);
        let mut slow = worker(2, 1, true);
        slow.slowdown = 10.0;
        assert_eq!(WorkerState::of(&slow), WorkerState::Slow);
        assert_eq!([bar_scale(0), bar_scale(8), bar_scale(9), bar_scale(100)], [8, 8, 16, 128]);
    }

    #[test]
    fn layout_uses_columns_then_groups() {
        // Fits in one column.
        assert_eq!(bar_layout(8, 40, 10), BarLayout { per_bar: 1, columns: 1, rows: 10 });
        // 30 workers, 10 rows, room for 2 columns of 22+: 3 columns would be needed, so group.
        assert_eq!(bar_layout(30, 50, 10), BarLayout { per_bar: 2, columns: 2, rows: 10 });
        // 256 workers in 20 rows and 5 columns: 3 per bar, 86 bars, 5 columns.
        assert_eq!(bar_layout(256, 110, 20), BarLayout { per_bar: 3, columns: 5, rows: 20 });
        // Nothing is dropped: bars x per_bar covers every worker.
        for (n, w, h) in [(1, 10, 1), (7, 30, 3), (1000, 80, 12), (100_000, 120, 30)] {
            let l = bar_layout(n, w, h);
            assert!(l.columns * l.rows * l.per_bar >= n, "{n} {w} {h}: {l:?}");
            assert!(l.columns as u16 * MIN_COLUMN <= w.max(MIN_COLUMN), "{n} {w} {h}: {l:?}");
        }
    }

    #[test]
    fn buckets_are_log_spaced_and_count_everything() {
        let mut r = Recorder::default();
        for ms in [1, 1, 2, 4, 8, 16, 32, 64, 128, 256] {
            r.record(ms * MILLIS);
        }
        let b = log_buckets(&r, 8);
        assert_eq!(b.len(), 8);
        assert_eq!(b.iter().map(|b| b.count).sum::<u64>(), 10);
        // Equal ratios between edges: 256x over 8 buckets is 2x each.
        for w in &b {
            assert!((w.high / w.low - 2.0).abs() < 0.01, "{w:?}");
        }
        assert_eq!(b[0].count, 2 + 1); // 1, 1 and 2 (2 is just below the edge 2.0 after rounding up)
        assert!(log_buckets(&Recorder::default(), 8).is_empty());
    }
}
