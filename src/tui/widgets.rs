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

    /// Its colour: the Okabe-Ito palette (distinct for the common colour-blindnesses and on a
    /// washed-out projector) in xterm's 256 colours. Colour is never the only sign: every
    /// state that is not plain serving is also written as a word on its bar, and with
    /// `NO_COLOR` set the words are all there is.
    pub fn color(self) -> Color {
        match self {
            WorkerState::Retired => Color::Indexed(240),
            WorkerState::Idle => Color::Indexed(245),
            // Bluish green, yellow, orange: light to heavy.
            WorkerState::Busy => Color::Indexed(36),
            WorkerState::Queued => Color::Indexed(221),
            WorkerState::Overloaded => Color::Indexed(214),
            // Sky blue and a lighter blue than the terminal's (dark on black).
            WorkerState::Starting => Color::Indexed(117),
            WorkerState::Draining => Color::Indexed(32),
            // Reddish purple.
            WorkerState::Slow => Color::Indexed(175),
            WorkerState::Ejected => Color::Indexed(252),
            // Out of service: grey bars, and the word in reverse video.
            WorkerState::Down => Color::Indexed(248),
            // Vermillion, the word in reverse video: requests sent there fail.
            WorkerState::DeadUnnoticed => Color::Indexed(166),
        }
    }

    /// The style of the word on its bar: reverse video for the states that fail requests,
    /// so that they stand out without colour.
    fn label_style(self) -> Style {
        let style = Style::new().fg(self.color()).add_modifier(Modifier::BOLD);
        match self {
            WorkerState::Down | WorkerState::DeadUnnoticed | WorkerState::Ejected => {
                style.add_modifier(Modifier::REVERSED)
            }
            _ => style,
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

/// Narrowest column of bars worth drawing.
const MIN_COLUMN: u16 = 22;

/// One bar: worker `first`, or the consecutive workers `first..=last` drawn as one bar
/// showing the most pending among them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarRow {
    /// First worker.
    pub first: usize,
    /// Last worker (`first` for a bar of its own).
    pub last: usize,
}

impl BarRow {
    /// Whether it stands for several workers.
    pub fn is_group(&self) -> bool {
        self.last > self.first
    }

    /// Its workers.
    pub fn len(&self) -> usize {
        self.last - self.first + 1
    }

    /// Never true: a bar stands for at least one worker.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// A step of planning the bars: a worker on its own, or a run of workers to group.
enum Item {
    Alone(usize),
    Run(usize, usize),
}

/// How much a worker needs a bar of its own so that its state is seen: 3 the selected one,
/// 2 any that is slow, down, dead, ejected, starting, draining, failing or warming up (grouping
/// it would hide that,
/// or mark healthy neighbours with it), 1 the busiest (`longest`: the hot worker a lesson
/// points at), 0 the others. When not all fit, the least needed give way first.
fn notability(w: &WorkerSnapshot, id: usize, selected: usize, longest: Option<usize>) -> u8 {
    if id == selected {
        3
    } else if WorkerState::of(w) >= WorkerState::Starting || w.error_rate > 0.0 || w.weight_share < 1.0 {
        2
    } else {
        u8::from(Some(id) == longest)
    }
}

/// One worker list for several runs of the same cluster (a comparison), so that every pane
/// lays its bars out alike: each worker in its worst state and with its most pending over the
/// runs. `None` when the runs have different workers (autoscaling).
pub fn merged_workers(runs: &[&[WorkerSnapshot]]) -> Option<Vec<WorkerSnapshot>> {
    let first = runs.first()?;
    if runs.iter().any(|r| r.len() != first.len()) {
        return None;
    }
    let worst = |i: usize| {
        runs.iter().map(|r| &r[i]).max_by_key(|w| (WorkerState::of(w), w.pending)).expect("a run").clone()
    };
    Some(
        (0..first.len())
            .map(|i| {
                let mut w = worst(i);
                w.pending = runs.iter().map(|r| r[i].pending).max().unwrap_or(0);
                w.weight_share = runs.iter().map(|r| r[i].weight_share).fold(1.0, f64::min);
                w
            })
            .collect(),
    )
}

/// What a bar says beside its bar: the pending count (the most in a group) and the state a
/// lesson needs to see (slow, dead, down, draining; injected errors; a slow start's ramp).
fn count_label(group: &[WorkerSnapshot], is_group: bool) -> String {
    let pending = group.iter().map(|w| w.pending).max().unwrap_or(0);
    let state = group.iter().map(WorkerState::of).max().unwrap_or(WorkerState::Idle);
    if is_group {
        let many = group.iter().filter(|w| WorkerState::of(w) == state).count();
        return match state.labelled() || state >= WorkerState::Starting {
            true => format!("≤{pending} {many} {}", state.name()),
            false => format!("≤{pending}"),
        };
    }
    // Injected errors are said beside the count: the bar alone looks healthy.
    let errors = match group[0].error_rate {
        r if r > 0.0 => format!(" {:.0}% errors", r * 100.0),
        _ => String::new(),
    };
    // So is a slow start's ramp: the bar is short because the balancer holds back.
    let errors = match group[0].weight_share {
        s if s < 1.0 => format!("{errors} warming {:.0}%", s * 100.0),
        _ => errors,
    };
    let text = match state {
        WorkerState::Slow => format!("{pending} slow {}x", group[0].slowdown),
        WorkerState::DeadUnnoticed => format!("{pending} dead!"),
        s if s.labelled() && pending == 0 => s.name().to_string(),
        s if s.labelled() || s == WorkerState::Draining => format!("{pending} {}", s.name()),
        _ => pending.to_string(),
    };
    text + &errors
}

/// The bars for `workers` when at most `room` fit: one per worker when they all fit;
/// otherwise notable workers (selected, busiest, failing by injected errors, slow, down, dead, ejected, starting or
/// draining) keep a bar each and the others are grouped in runs of consecutive workers, as few per bar
/// as the room allows. Retired workers get no bar (the event log keeps their story) and no
/// group spans them. If even the notable ones do not fit, every worker is grouped alike.
pub fn bar_rows(workers: &[WorkerSnapshot], selected: usize, room: usize) -> Vec<BarRow> {
    let room = room.max(1);
    let shown: Vec<usize> =
        (0..workers.len()).filter(|&i| WorkerState::of(&workers[i]) != WorkerState::Retired).collect();
    if shown.len() <= room {
        return shown.iter().map(|&i| BarRow { first: i, last: i }).collect();
    }
    // The first of the workers with the most pending, if any has some.
    let longest = shown
        .iter()
        .copied()
        .filter(|&i| workers[i].pending > 0)
        .max_by_key(|&i| (workers[i].pending, std::cmp::Reverse(i)));
    // Runs of consecutive shown workers that may be grouped, split at notable ones.
    // Bars of their own for workers at least this notable (`apart`; 4: none), and groups only
    // of consecutive workers (`gaps` false), when the room allows.
    let plan = |apart: u8, gaps: bool| -> (Vec<Item>, usize) {
        let mut items = Vec::new();
        let mut singles = 0;
        let mut run: Option<(usize, usize)> = None;
        for &i in &shown {
            let alone = notability(&workers[i], i, selected, longest) >= apart;
            let extends = run.is_some_and(|(_, last)| gaps || last + 1 == i);
            if (alone || !extends)
                && let Some(r) = run.take()
            {
                items.push(Item::Run(r.0, r.1));
            }
            if alone {
                items.push(Item::Alone(i));
                singles += 1;
            } else {
                run = Some(run.filter(|_| extends).map_or((i, i), |(first, _)| (first, i)));
            }
        }
        if let Some(r) = run {
            items.push(Item::Run(r.0, r.1));
        }
        (items, singles)
    };
    let bars = |items: &[Item]| items.len();
    // The notable workers apart, the least notable giving way first; then none apart, and
    // at last groups across the gaps.
    let (mut items, mut singles) = plan(1, false);
    for (apart, gaps) in [(2, false), (3, false), (4, false), (4, true)] {
        if bars(&items) <= room {
            break;
        }
        (items, singles) = plan(apart, gaps);
    }
    let groups_room = room - singles.min(room);
    let bars_for = |per: usize| -> usize {
        items.iter().map(|i| if let Item::Run(a, b) = i { (b - a + 1).div_ceil(per) } else { 0 }).sum()
    };
    // The fewest workers per bar that fits (a doubling search, then a binary one).
    let mut high = 1;
    while bars_for(high) > groups_room.max(1) && high < workers.len() {
        high *= 2;
    }
    let mut low = high / 2 + 1;
    let mut per = high;
    while low < per {
        let mid = (low + per) / 2;
        if bars_for(mid) <= groups_room.max(1) { per = mid } else { low = mid + 1 }
    }
    let mut rows = Vec::new();
    for item in items {
        match item {
            Item::Alone(i) => rows.push(BarRow { first: i, last: i }),
            Item::Run(a, b) => {
                // Even groups: sizes differ by at most one.
                let n = b - a + 1;
                let bars = n.div_ceil(per);
                let mut start = a;
                for k in 0..bars {
                    let size = n / bars + usize::from(k < n % bars);
                    rows.push(BarRow { first: start, last: start + size - 1 });
                    start += size;
                }
            }
        }
    }
    rows
}

/// Bars that fit a `width` x `height` area: rows, then columns of at least 22 characters.
pub fn bar_room(width: u16, height: u16) -> usize {
    height.max(1) as usize * (width / MIN_COLUMN).max(1) as usize
}

/// Rows of the screen the bars of `workers` need in an area `width` wide and at most
/// `max_height` high.
pub fn bars_height(workers: &[WorkerSnapshot], selected: usize, width: u16, max_height: u16) -> u16 {
    let rows = bar_rows(workers, selected, bar_room(width, max_height)).len();
    let columns = (width / MIN_COLUMN).max(1) as usize;
    (rows.div_ceil(columns) as u16).min(max_height.max(1))
}

/// One bar per worker (or per group of consecutive workers when they do not fit: see
/// [`bar_rows`]), showing pending requests, coloured by state. A group's bar shows the most
/// pending among its workers, written `≤N`, in the worst state among them.
pub struct PendingBars<'a> {
    /// The workers.
    pub workers: &'a [WorkerSnapshot],
    /// The selected worker, highlighted.
    pub selected: usize,
    /// Pending count of a full bar.
    pub scale: u32,
    /// The bars to draw, when they are chosen for several panes at once (a comparison lays
    /// every pane out alike); otherwise they are chosen for `workers` and the area.
    pub layout: Option<&'a [BarRow]>,
    /// Where each bar is drawn, with its first worker, for mouse clicks.
    pub hits: Option<&'a std::cell::RefCell<Vec<(Rect, usize)>>>,
}

impl PendingBars<'_> {
    /// The bars this widget draws in `area`.
    pub fn rows(&self, area: Rect) -> Vec<BarRow> {
        match self.layout {
            Some(rows) => rows.to_vec(),
            None => bar_rows(self.workers, self.selected, bar_room(area.width, area.height)),
        }
    }
}

impl Widget for PendingBars<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() || self.workers.is_empty() {
            return;
        }
        let bars = self.rows(area);
        let height = area.height as usize;
        let columns = bars.len().div_ceil(height).max(1);
        let col_width = area.width / columns as u16;
        let grouped = bars.iter().any(BarRow::is_group);
        let digits = self.workers.len().saturating_sub(1).to_string().len();
        // Show speeds when they differ and there is room: the lesson of heterogeneous clusters.
        let speeds_differ = self.workers.iter().any(|w| w.speed != self.workers[0].speed);
        let show_speed = speeds_differ && !grouped && col_width >= 30;
        let label_width = match (grouped, show_speed) {
            (false, true) => digits + 7,
            (false, false) => digits + 1,
            (true, _) => 2 * digits + 2,
        };
        let group_of = |r: &BarRow| &self.workers[r.first..=r.last];
        let count_text = |r: &BarRow| count_label(group_of(r), r.is_group());
        // Every bar gets the same room, whatever its own label: a longer label must not make a
        // longer queue look shorter.
        let widest = bars.iter().map(|r| count_text(r).chars().count()).max().unwrap_or(0);
        for (bar, row) in bars.iter().enumerate() {
            let (col, line) = (bar / height, bar % height);
            let x = area.x + col as u16 * col_width;
            let y = area.y + line as u16;
            let group = group_of(row);
            let label = if show_speed {
                format!("{:>digits$} {:>4}x ", row.first, short_speed(group[0].speed))
            } else if !grouped {
                format!("{:>digits$} ", row.first)
            } else if row.is_group() {
                format!("{:>digits$}-{:<digits$} ", row.first, row.last)
            } else {
                format!("{:>digits$}{} ", row.first, " ".repeat(digits + 1))
            };
            let pending = group.iter().map(|w| w.pending).max().unwrap_or(0);
            let state = group.iter().map(WorkerState::of).max().unwrap_or(WorkerState::Idle);
            let selected = (row.first..=row.last).contains(&self.selected);
            let label_style = if selected {
                Style::new().add_modifier(Modifier::REVERSED)
            } else {
                Style::new().fg(Color::Gray)
            };
            buf.set_stringn(x, y, &label, label_width, label_style);
            let count = count_text(row);
            let bar_width = (col_width as usize).saturating_sub(label_width + widest + 2);
            let style = Style::new().fg(state.color());
            let eighths =
                (pending as usize * bar_width * 8).div_ceil(self.scale.max(1) as usize).min(bar_width * 8);
            let mut text: String = "█".repeat(eighths / 8);
            if !eighths.is_multiple_of(8) {
                text.push(EIGHTHS[eighths % 8]);
            }
            if let Some(hits) = self.hits {
                hits.borrow_mut().push((Rect { x, y, width: col_width, height: 1 }, row.first));
            }
            let bar_x = x + label_width as u16;
            buf.set_stringn(bar_x, y, &text, bar_width, style);
            let count_x = bar_x + crate::text::width(&text) as u16 + 1;
            buf.set_stringn(count_x, y, &count, crate::text::width(&count), state.label_style());
        }
        // A legend for the colours on screen that no word explains, in a spare row.
        let used_rows = bars.len().min(height);
        if used_rows < height {
            let shown: Vec<WorkerState> = [WorkerState::Busy, WorkerState::Queued, WorkerState::Overloaded]
                .into_iter()
                .filter(|s| bars.iter().any(|r| group_of(r).iter().map(WorkerState::of).max() == Some(*s)))
                .collect();
            let mut x = area.x;
            let y = area.y + area.height - 1;
            for state in shown {
                let word = format!("■ {}  ", state.name());
                if (x - area.x) as usize + crate::text::width(&word) > area.width as usize {
                    break;
                }
                buf.set_string(x, y, &word, Style::new().fg(state.color()));
                x += crate::text::width(&word) as u16;
            }
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
            // Wrapped at words, never cut: the first screen says why there is nothing yet.
            let lines = crate::text::wrap(self.empty_text, area.width as usize);
            for (row, line) in lines.iter().take(plot_height as usize).enumerate() {
                buf.set_string(area.x, area.y + row as u16, line, Style::new().fg(Color::DarkGray));
            }
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
            // A bucket reaching past the p99 is the tail, whatever its lower edge: the worst
            // spike is never drawn in the calm colour.
            let color = if b.high > p99 {
                Color::LightRed
            } else if b.high > p90 {
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
        // As many of the three labels as fit with a space between them: the ends first.
        let w = crate::text::width;
        let room = area.width as usize;
        if w(&left) + w(&right) < room {
            buf.set_string(area.x, y, &left, dim);
            buf.set_string(area.right() - w(&right) as u16, y, &right, dim);
            let mid_x = (room / 2).saturating_sub(w(&middle) / 2);
            if mid_x > w(&left) && mid_x + w(&middle) < room - w(&right) {
                buf.set_string(area.x + mid_x as u16, y, &middle, dim);
            }
        } else if w(&right) < room {
            // Too narrow for both ends: the top of the range, which the tail reaches.
            buf.set_string(area.x, y, format!("≤{right}"), dim);
        }
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
            weight_share: 1.0,
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

    fn ranges(rows: &[BarRow]) -> Vec<(usize, usize)> {
        rows.iter().map(|r| (r.first, r.last)).collect()
    }

    #[test]
    fn bars_group_only_when_needed_and_keep_notable_workers_apart() {
        let mut w: Vec<WorkerSnapshot> = (0..8).map(|_| worker(1, 0, true)).collect();
        // They fit: one bar each.
        assert_eq!(bar_rows(&w, 0, 8).len(), 8);
        // Four bars for eight: worker 0 is selected and stays alone; the rest in even runs.
        assert_eq!(ranges(&bar_rows(&w, 0, 4)), [(0, 0), (1, 3), (4, 5), (6, 7)]);
        // A down worker in the middle keeps its own bar, and no group spans it.
        w[3].crashed = true;
        w[3].up = false;
        w[5].slowdown = 10.0;
        let rows = bar_rows(&w, 0, 6);
        assert_eq!(ranges(&rows), [(0, 0), (1, 2), (3, 3), (4, 4), (5, 5), (6, 7)]);
        // Retired workers get no bar, and groups do not span them.
        w[6].lifecycle = crate::engine::Lifecycle::Retired;
        assert_eq!(ranges(&bar_rows(&w, 0, 7)), [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (7, 7)]);
        // No room even for the notable ones: everything is grouped alike.
        assert_eq!(bar_rows(&w, 0, 2).len(), 2);
        // Every shown worker is in exactly one bar, whatever the room.
        for room in 1..12 {
            let rows = bar_rows(&w, 4, room);
            assert!(rows.len() <= room.max(1), "{room}: {rows:?}");
            let covered: Vec<usize> =
                rows.iter().flat_map(|r| r.first..=r.last).filter(|&i| i != 6).collect();
            assert_eq!(covered, [0, 1, 2, 3, 4, 5, 7], "room {room}");
        }
        // The busiest worker keeps its own bar too (the hot worker a lesson points at).
        let mut hot: Vec<WorkerSnapshot> = (0..8).map(|_| worker(1, 0, true)).collect();
        hot[5] = worker(40, 39, true);
        assert_eq!(ranges(&bar_rows(&hot, 0, 5)), [(0, 0), (1, 2), (3, 4), (5, 5), (6, 7)]);
        // Many workers: groups as even as the room allows.
        let many: Vec<WorkerSnapshot> = (0..256).map(|_| worker(0, 0, true)).collect();
        let rows = bar_rows(&many, 300, 86);
        assert!(rows.len() <= 86 && rows.iter().all(|r| r.len() <= 3), "{rows:?}");
        assert_eq!(bar_room(110, 20), 100);
    }

    #[test]
    fn a_group_says_it_shows_the_most_and_how_many_share_its_state() {
        let mut w: Vec<WorkerSnapshot> = (0..6).map(|i| worker(i, 0, true)).collect();
        w[1].crashed = true;
        w[1].up = false;
        w[4].crashed = true;
        w[4].up = false;
        let area = Rect::new(0, 0, 30, 2);
        let mut buf = Buffer::empty(area);
        PendingBars { workers: &w, selected: 9, scale: 8, layout: None, hits: None }.render(area, &mut buf);
        let row = |y: u16| (0..30).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>();
        // Two bars for six workers, none notable enough to fit alone: each says 1 of them is down.
        assert!(row(0).starts_with("0-2 ") && row(0).contains("≤2 1 down"), "{:?}", row(0));
        assert!(row(1).starts_with("3-5 ") && row(1).contains("≤5 1 down"), "{:?}", row(1));
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
