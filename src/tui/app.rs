//! The UI's state and behaviour, apart from drawing: which simulations run, the shared
//! virtual clock, the controls. Keys change state here; the engine is only changed through
//! its commands.

mod seek;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::engine::{Arrivals, Command, Notice, RetryPolicy, SimConfig, StepKind};
use crate::engines::{self, Engine, EngineKind};
use crate::live::LiveOptions;
use crate::report::Report;
use crate::scenario::Scenario;
use crate::strategy::{self, StrategyInfo};
use crate::time::{Human, MILLIS, Nanos, SECS, seconds_text};

/// Width of the "recent" latency window (ns).
pub const RECENT_WINDOW: Nanos = 5 * SECS;
/// Samples kept for the sparklines.
const HISTORY: usize = 240;
/// Points kept for the chart over time ([`Pane::trend`]): the whole run, its resolution
/// halved each time it fills.
const TREND: usize = 480;
/// Lines kept in the event log (PgUp / PgDn scroll through them).
const LOG_LINES: usize = 2000;
/// Slowest and fastest speeds (virtual s per real s).
/// The speeds `+` and `-` step through (virtual s per real s): halves below 1x, then 1, 2, 5
/// in each decade up to 100000x, so that every step is reachable from every other and 1x is
/// always on the way.
pub const SPEEDS: [f64; 26] = [
    1.0 / 1024.0,
    1.0 / 512.0,
    1.0 / 256.0,
    1.0 / 128.0,
    1.0 / 64.0,
    1.0 / 32.0,
    1.0 / 16.0,
    1.0 / 8.0,
    1.0 / 4.0,
    1.0 / 2.0,
    1.0,
    2.0,
    5.0,
    10.0,
    20.0,
    50.0,
    100.0,
    200.0,
    500.0,
    1_000.0,
    2_000.0,
    5_000.0,
    10_000.0,
    20_000.0,
    50_000.0,
    100_000.0,
];

/// One run shown on screen, with the short history its sparklines need.
pub struct Pane {
    /// The engine: the model or the live one; the UI reads both alike.
    pub sim: Box<dyn Engine>,
    /// One sample per sampling period, with its virtual time: the sparklines draw the last
    /// 240.
    pub history: VecDeque<Sample>,
    /// The whole run in at most 480 points, for the chart over time: every sample until it
    /// fills, then each pair merged into one (their span, the larger p99, the later p50, the
    /// answers per second over both), and so on.
    pub trend: Vec<Sample>,
    last_completions: u64,
}

/// One sample of a pane over time: when, the recent window's p50 and p99 (0 when nothing
/// was answered in it, or when they were not computed: samples taken while re-simulating
/// far ahead), and the answers per second since the previous sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Virtual time of the previous sample (or of the start): this one covers `from..at`.
    pub from: Nanos,
    /// Virtual time of the sample.
    pub at: Nanos,
    /// Median of the recent window (ns).
    pub p50: Nanos,
    /// 99th percentile of the recent window (ns).
    pub p99: Nanos,
    /// Answers per second since the previous sample.
    pub throughput: f64,
}

impl Sample {
    /// One point for two consecutive samples: their span, the larger p99 (a spike stays in
    /// view), the later p50 that was computed, and the answers per second over both.
    fn merge(self, next: Sample) -> Sample {
        let (a, b) = ((self.at - self.from) as f64, (next.at - next.from) as f64);
        let throughput =
            if a + b > 0.0 { (self.throughput * a + next.throughput * b) / (a + b) } else { 0.0 };
        let p50 = if next.p99 > 0 { next.p50 } else { self.p50 };
        Sample { from: self.from, at: next.at, p50, p99: self.p99.max(next.p99), throughput }
    }
}

impl Pane {
    fn new(
        engine: EngineKind,
        config: &SimConfig,
        live: &LiveOptions,
        strategy: &str,
    ) -> Result<Pane, String> {
        let sim = engines::build(engine, config, live, strategy, Some(RECENT_WINDOW))?;
        Ok(Pane { sim, history: VecDeque::new(), trend: Vec::new(), last_completions: 0 })
    }

    /// Takes a sample; `evicted` when more than [`HISTORY`] samples will follow before
    /// anyone looks (re-simulating to a time far ahead), which spares the percentiles.
    fn sample(&mut self, period: Nanos, evicted: bool) {
        let done = self.sim.completions();
        let rate = (done - self.last_completions) as f64 / (period as f64 / SECS as f64);
        self.last_completions = done;
        let recent = if evicted { None } else { self.recent() };
        let (p50, p99) = recent.map_or((0, 0), |r| (r.quantile(0.5), r.quantile(0.99)));
        let from = self.history.back().map_or(0, |s| s.at);
        let sample = Sample { from, at: self.sim.now(), p50, p99, throughput: rate };
        push_capped(&mut self.history, sample, HISTORY);
        if self.trend.len() == TREND {
            self.trend = self
                .trend
                .chunks(2)
                .map(|pair| pair.iter().copied().reduce(Sample::merge).unwrap())
                .collect();
        }
        self.trend.push(sample);
    }

    /// Answers per second at each sample, oldest first.
    pub fn throughput(&self) -> Vec<u64> {
        self.history.iter().map(|s| s.throughput.round() as u64).collect()
    }

    /// The recent window's p99 at each sample (µs), oldest first.
    pub fn p99_us(&self) -> Vec<u64> {
        self.history.iter().map(|s| s.p99 / 1_000).collect()
    }

    /// Answers per second over the last ten samples (a second of real time), and how many
    /// samples that is.
    pub fn smoothed_throughput(&self) -> (u64, usize) {
        let recent: Vec<u64> =
            self.history.iter().rev().take(10).map(|s| s.throughput.round() as u64).collect();
        (recent.iter().sum::<u64>() / recent.len().max(1) as u64, recent.len())
    }

    /// The latencies of the recent window.
    pub fn recent(&self) -> Option<crate::metrics::Recorder> {
        self.sim.metrics().recent.as_ref().map(|r| r.merged(self.sim.now()))
    }
}

/// A virtual time typed at a prompt: seconds (`19.5`) or a duration (`19.5s`, `1m`).
fn typed_time(text: &str) -> Result<Nanos, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok((s * SECS as f64).round() as Nanos),
        _ => crate::time::parse_duration(text),
    }
}

fn push_capped<T>(q: &mut VecDeque<T>, value: T, cap: usize) {
    if q.len() == cap {
        q.pop_front();
    }
    q.push_back(value);
}

/// Run one strategy, or compare several.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `lbsim run`.
    Run,
    /// `lbsim compare`.
    Compare,
}

/// What a typed value is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptKind {
    /// `p`: a virtual time to pause at (`19.5s`, `1m`, or seconds).
    PauseAt,
    /// `x`: a speed, virtual seconds per real second (`50`, `0.25`).
    Speed,
    /// `g`: a virtual time to go to, back or forward (`19.5s`, `1m`, or seconds).
    GoTo,
}

/// A window of virtual time marked with `m` (issue 13): the histograms and percentiles show
/// the answers that came within it.
#[derive(Clone, Debug)]
pub enum Window {
    /// Started at `from`: each pane's whole-run latencies then, to subtract from what comes.
    Open {
        /// Where it starts.
        from: Nanos,
        /// Each pane's latencies at `from`.
        before: Vec<crate::metrics::Recorder>,
    },
    /// From `from` to `to`: each pane's latencies of the answers in between.
    Closed {
        /// Where it starts.
        from: Nanos,
        /// Where it ends.
        to: Nanos,
        /// Each pane's latencies within it.
        within: Vec<crate::metrics::Recorder>,
    },
}

impl Window {
    /// Where it starts and, once it is closed, where it ends.
    pub fn bounds(&self) -> (Nanos, Option<Nanos>) {
        match self {
            Window::Open { from, .. } => (*from, None),
            Window::Closed { from, to, .. } => (*from, Some(*to)),
        }
    }
}

/// The columns of the chart's time axis and the virtual times at its two ends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChartSpan {
    /// First column of the plot.
    pub left: u16,
    /// Last column of the plot.
    pub right: u16,
    /// First row of the plot.
    pub top: u16,
    /// Last row of the plot.
    pub bottom: u16,
    /// Virtual time at `left` (ns).
    pub from: Nanos,
    /// Virtual time at `right` (ns).
    pub to: Nanos,
}

impl ChartSpan {
    /// The virtual time under a column, or `None` outside the plot.
    pub fn time_at(&self, column: u16, row: u16) -> Option<Nanos> {
        if !(self.left..=self.right).contains(&column) || !(self.top..=self.bottom).contains(&row) {
            return None;
        }
        let share = (column - self.left) as f64 / (self.right - self.left).max(1) as f64;
        Some(self.from + ((self.to - self.from) as f64 * share) as Nanos)
    }
}

/// A value being typed at the footer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    /// What it is for.
    pub kind: PromptKind,
    /// What has been typed.
    pub text: String,
}

impl Prompt {
    /// The question shown before the typed text.
    pub fn question(&self) -> &'static str {
        match self.kind {
            PromptKind::PauseAt => "pause at (virtual time, e.g. 19.5s; empty: never)",
            PromptKind::Speed => "speed (virtual s per real s, 1/1024 to 100000)",
            PromptKind::GoTo => "go to (virtual time, e.g. 12s: back or forward)",
        }
    }
}

/// A line of the event log.
#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    /// Virtual time when it happened.
    pub time: Nanos,
    /// What happened.
    pub text: String,
    /// Whether it is an event of the run (a fault, a scaling step, a command's effect) that
    /// the chart over time marks, rather than a word from the UI.
    pub mark: bool,
}

/// The whole UI state.
pub struct App {
    /// The scenario as given (after command-line overrides).
    pub scenario: Scenario,
    config: SimConfig,
    /// Run or compare.
    pub mode: Mode,
    /// The model, or the live engine (whose comparisons run one strategy after another).
    pub engine: EngineKind,
    /// One per strategy.
    pub panes: Vec<Pane>,
    /// The shared virtual clock: every pane has been advanced to here.
    pub clock: Nanos,
    /// Requested speed (virtual seconds per real second).
    pub speed: f64,
    /// Paused by the user.
    pub paused: bool,
    /// The worker selected with up/down.
    pub selected: usize,
    /// Whether the help overlay is open.
    pub show_help: bool,
    /// Whether the histograms show the recent window rather than the whole run.
    pub show_recent: bool,
    /// Whether latency and throughput are charted over time (`o`) instead of the latency
    /// histogram.
    pub show_chart: bool,
    /// A window marked with `m`, which the histograms show instead.
    pub window: Option<Window>,
    /// Where the chart over time was last drawn (columns and the times at its ends), so that
    /// a mouse drag across it can mark a window.
    pub chart_span: std::cell::Cell<Option<ChartSpan>>,
    /// Where a mouse drag on the chart began (virtual time).
    drag_from: Option<Nanos>,
    /// Copies of the model's runs taken as they go, so that seeking back resumes from the
    /// latest one before the target instead of from the start (src/tui/app/seek.rs).
    checkpoints: seek::Checkpoints,
    /// Newest last.
    pub log: VecDeque<LogLine>,
    /// How many lines up from the newest the event log is scrolled (0: following).
    pub log_scroll: usize,
    /// Paused by `n`: the view gives the event log room for the step reasons.
    pub stepping: bool,
    /// The clock stops and the run pauses when it reaches this time (`p`, or the
    /// scenario's `pause_at`).
    pub pause_at: Option<Nanos>,
    /// A value being typed after `p` (a time to pause at) or `x` (a speed).
    pub prompt: Option<Prompt>,
    /// Achieved / requested speed, smoothed, while the engine cannot keep up.
    pub behind: Option<f64>,
    /// The user asked to quit.
    pub quit: bool,
    achieved: f64,
    next_sample: Nanos,
    /// A recorded session's commands still to apply, each at its moment (`lbsim replay`).
    playback: VecDeque<crate::session::Entry>,
    /// Whether this UI replays a recorded session (seeking back puts its later commands back).
    replaying: bool,
    /// Samples before this time are dropped from the history before anyone sees them (while
    /// seeking re-simulates to a time far ahead), so their percentiles are not worked out.
    quiet_until: Nanos,
    /// The open-loop rate the user controls (for bursty arrivals, the burst rate).
    nominal_rate: Option<f64>,
    /// The commands of this session, for `--record` (issue 13).
    pub recorder: crate::session::Recorder,
}

impl App {
    /// A UI for `scenario` run by the model, one pane per strategy.
    pub fn new(scenario: Scenario, strategies: &[String], mode: Mode) -> Result<App, String> {
        App::with_engine(scenario, strategies, mode, EngineKind::Sim)
    }

    /// A UI for `scenario` run by `engine`, one pane per strategy. A live comparison starts
    /// the first strategy now and each of the others when the one before it has finished.
    pub fn with_engine(
        scenario: Scenario,
        strategies: &[String],
        mode: Mode,
        engine: EngineKind,
    ) -> Result<App, String> {
        let config = scenario.to_config().map_err(|e| e.to_string())?;
        let panes = App::make_panes(engine, &config, &scenario.live, strategies)?;
        let speed = match engine {
            EngineKind::Sim => 1.0,
            // Scenario seconds per real second.
            EngineKind::Live => 1.0 / scenario.live.time_scale,
        };
        let mut app = App {
            scenario,
            config,
            mode,
            engine,
            panes,
            clock: 0,
            speed,
            paused: false,
            selected: 0,
            show_help: false,
            show_recent: false,
            show_chart: false,
            window: None,
            chart_span: std::cell::Cell::new(None),
            drag_from: None,
            checkpoints: seek::Checkpoints::default(),
            quiet_until: 0,
            playback: VecDeque::new(),
            replaying: false,
            log: VecDeque::new(),
            log_scroll: 0,
            stepping: false,
            pause_at: None,
            prompt: None,
            behind: None,
            quit: false,
            achieved: 1.0,
            next_sample: 0,
            nominal_rate: None,
            recorder: crate::session::Recorder::new(strategies),
        };
        app.nominal_rate = app.initial_rate();
        app.next_sample = app.sample_period();
        app.pause_at = app.scenario.pause_at;
        app.log(format!("started: {} ({})", app.scenario.name, app.config.arrivals.describe()));
        if engine == EngineKind::Live && app.panes.len() > 1 {
            app.log(
                "live: the strategies run one after another, never at once (they would share the CPU)".into(),
            );
        }
        Ok(app)
    }

    fn make_panes(
        engine: EngineKind,
        config: &SimConfig,
        live: &LiveOptions,
        strategies: &[String],
    ) -> Result<Vec<Pane>, String> {
        let mut panes =
            strategies.iter().map(|s| Pane::new(engine, config, live, s)).collect::<Result<Vec<_>, _>>()?;
        let several = panes.len() > 1;
        for pane in &mut panes {
            pane.sim.set_sequential(several);
        }
        if let Some(first) = panes.first_mut() {
            first.sim.start();
        }
        Ok(panes)
    }

    /// The pane whose run is going on (a live comparison runs one at a time), else the last.
    fn active_pane(&self) -> usize {
        self.panes
            .iter()
            .position(|p| p.sim.started() && !p.sim.is_finished())
            .unwrap_or(self.panes.len() - 1)
    }

    /// Stops every run (the user quit): live runs stop sending, let requests in flight
    /// finish for their grace period and cancel the rest.
    pub fn stop(&mut self) {
        for pane in &mut self.panes {
            pane.sim.stop();
        }
    }

    /// The engine configuration all panes run.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Whether every pane's run is over.
    pub fn finished(&self) -> bool {
        self.panes.iter().all(|p| p.sim.is_finished())
    }

    /// Live: takes in what the running pane's tasks did, and starts the next strategy of a
    /// comparison when its turn comes.
    fn advance_live(&mut self) {
        let i = self.active_pane();
        if !self.panes[i].sim.started() {
            return self.start_pane(i);
        }
        self.panes[i].sim.advance_to(0, None);
        self.clock = self.panes[i].sim.now();
        let period = self.sample_period();
        while self.clock >= self.next_sample {
            self.panes[i].sample(period, false);
            self.next_sample += period;
        }
        if self.panes[i].sim.is_finished() {
            let name = self.panes[i].sim.strategy_name().to_string();
            self.log(format!("live: {name} finished"));
            if i + 1 < self.panes.len() {
                self.start_pane(i + 1);
            }
        }
    }

    fn start_pane(&mut self, i: usize) {
        let pane = &mut self.panes[i];
        pane.sim.start();
        pane.sim.set_sending(!self.paused);
        let name = pane.sim.strategy_name().to_string();
        self.clock = 0;
        self.next_sample = self.sample_period();
        self.log(format!("live: {name} starts now"));
    }

    /// Whether the clock should move (not paused, not finished; the help overlay does not
    /// stop it).
    pub fn running(&self) -> bool {
        // A paused live run keeps going: its requesters stop, its workers drain.
        (!self.paused || self.engine == EngineKind::Live) && !self.finished()
    }

    /// Time between two sparkline samples: a tenth of a real second.
    fn sample_period(&self) -> Nanos {
        ((self.speed * SECS as f64 / 10.0) as Nanos).max(MILLIS / 10)
    }

    /// A command's effect on the run: logged, and marked on the chart over time.
    fn log_event(&mut self, text: String) {
        self.push_log(LogLine { time: self.clock, text, mark: true });
    }

    fn log(&mut self, text: String) {
        self.push_log(LogLine { time: self.clock, text, mark: false });
    }

    /// Adds a line; a log scrolled back stays on the lines it shows.
    fn push_log(&mut self, line: LogLine) {
        push_capped(&mut self.log, line, LOG_LINES);
        if self.log_scroll > 0 {
            self.log_scroll = (self.log_scroll + 1).min(self.log.len().saturating_sub(1));
        }
    }

    /// Scrolls the event log `by` lines back (negative: forward, towards the newest).
    fn scroll_log(&mut self, by: isize) {
        let most = self.log.len().saturating_sub(1);
        self.log_scroll = self.log_scroll.saturating_add_signed(by).min(most);
    }

    /// Advances by `real` of wall time at the current speed, spending at most `budget` of
    /// real time in the engines. If that is not enough, the clock stops where they got to
    /// and [`behind`](App::behind) says by how much the UI falls short.
    pub fn advance(&mut self, real: Duration, budget: Duration) {
        if !self.running() {
            return;
        }
        if self.engine == EngineKind::Live {
            self.advance_live();
            self.collect_notices();
            self.pause_if_due();
            if self.finished() {
                self.log("finished".to_string());
            }
            return;
        }
        let start = self.clock;
        let mut target = start + (self.speed * real.as_secs_f64() * SECS as f64) as Nanos;
        if let Some(t) = self.pause_at.filter(|&t| t > start) {
            target = target.min(t);
        }
        let deadline = Instant::now() + budget;
        let reached = self.advance_to(target, Some(deadline));
        self.collect_notices();
        self.pause_if_due();
        let ratio = if target > start { (self.clock - start) as f64 / (target - start) as f64 } else { 1.0 };
        self.achieved = 0.8 * self.achieved + 0.2 * ratio;
        self.behind = if !reached && self.achieved < 0.95 { Some(self.achieved) } else { None };
        if self.finished() {
            self.behind = None;
            self.log("finished".to_string());
        }
    }

    /// Advances every pane to virtual time `target`, taking sparkline samples on the way.
    /// With a deadline, stops when it passes and returns false.
    pub fn advance_to(&mut self, target: Nanos, deadline: Option<Instant>) -> bool {
        // A session being replayed: its commands at their moments on the way.
        while let Some(at) = self.playback.front().map(seek::first).filter(|&at| at <= target) {
            if !self.advance_plain(at.saturating_sub(1), deadline) {
                return false;
            }
            let entry = self.playback.pop_front().expect("a command to replay");
            if let Err(e) = self.replay_entry(&entry) {
                self.log(format!("replay stopped: {e}"));
                self.playback.clear();
                break;
            }
        }
        self.advance_plain(target, deadline)
    }

    /// Replays a recorded session's commands (`lbsim replay`): each is applied when the clock
    /// reaches its moment, exactly as it was, and the log says so.
    pub fn play(&mut self, entries: Vec<crate::session::Entry>) {
        let n = entries.len();
        self.log(format!("replaying a recorded session: {n} command{}", if n == 1 { "" } else { "s" }));
        self.playback = entries.into();
        self.replaying = true;
    }

    fn advance_plain(&mut self, target: Nanos, deadline: Option<Instant>) -> bool {
        while self.clock < target && !self.finished() {
            let stop = target.min(self.next_sample);
            for pane in &mut self.panes {
                if !pane.sim.advance_to(stop, deadline) {
                    self.clock = self.panes.iter().map(|p| p.sim.now()).min().unwrap_or(stop).max(self.clock);
                    return false;
                }
            }
            self.clock = stop;
            if self.finished() {
                // Runs end at their own time, not at the frame's.
                self.clock = self.panes.iter().map(|p| p.sim.now()).max().unwrap_or(stop);
                break;
            }
            if stop == self.next_sample {
                let period = self.sample_period();
                let evicted = stop < self.quiet_until;
                for pane in &mut self.panes {
                    pane.sample(period, evicted);
                }
                self.next_sample += period;
                self.collect_notices();
                self.checkpoint_if_due();
            }
        }
        self.collect_notices();
        true
    }

    /// Keeps the selected worker one that every pane has: the set of workers changes with a
    /// restart (back to the scenario's) and with autoscaling.
    fn keep_selection_valid(&mut self) {
        let workers = self.panes.iter().map(|p| p.sim.worker_count()).min().unwrap_or(1);
        self.selected = self.selected.min(workers.saturating_sub(1));
    }

    /// Handles one key press.
    pub fn handle_key(&mut self, key: KeyEvent) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        self.keep_selection_valid();
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if self.prompt.is_some() {
            return self.prompt_key(key.code, ctrl);
        }
        if self.show_help {
            match key.code {
                KeyCode::Char('c') if ctrl => self.quit = true,
                KeyCode::Char('q') => self.quit = true,
                _ => self.show_help = false,
            }
            return;
        }
        match key.code {
            KeyCode::Char('c') if ctrl => self.quit = true,
            KeyCode::Char('q') | KeyCode::Esc => self.quit = true,
            KeyCode::Char('?') => self.show_help = true,
            KeyCode::PageUp => self.scroll_log(5),
            KeyCode::PageDown => self.scroll_log(-5),
            KeyCode::End => self.log_scroll = 0,
            KeyCode::Char(' ') => {
                self.paused = !self.paused;
                self.stepping = false;
                let sending = !self.paused;
                for pane in &mut self.panes {
                    pane.sim.set_sending(sending);
                }
                let what = match (self.paused, self.engine) {
                    (true, EngineKind::Live) => "paused: the requesters stop, the workers drain their queues",
                    (true, EngineKind::Sim) => "paused",
                    (false, _) => "resumed",
                };
                self.log(what.to_string());
            }
            KeyCode::Char('n') => self.step_one(),
            KeyCode::Char('p') => {
                self.prompt = Some(Prompt { kind: PromptKind::PauseAt, text: String::new() })
            }
            KeyCode::Char('x') if self.engine == EngineKind::Sim => {
                self.prompt = Some(Prompt { kind: PromptKind::Speed, text: String::new() })
            }
            // Seeking (issue 13; src/tui/app/seek.rs).
            KeyCode::Left => self.seek_by(-5 * SECS as i64),
            KeyCode::Right => self.seek_by(5 * SECS as i64),
            KeyCode::Char('{') => self.seek_by(-(SECS as i64)),
            KeyCode::Char('g') => self.prompt = Some(Prompt { kind: PromptKind::GoTo, text: String::new() }),
            KeyCode::Char('}') => self.seek_by(SECS as i64),
            KeyCode::Char('+') | KeyCode::Char('=') => self.step_speed(1),
            KeyCode::Char('-') | KeyCode::Char('_') => self.step_speed(-1),
            KeyCode::Up | KeyCode::Char('K') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('J') => {
                self.selected += 1;
                self.keep_selection_valid();
            }
            KeyCode::Char('k') => self.set_up(false),
            KeyCode::Char('r') => self.set_up(true),
            KeyCode::Char('w') => self.toggle_slow(),
            KeyCode::Char('e') => self.change_error_rate(0.1),
            KeyCode::Char('E') => self.change_error_rate(-0.1),
            KeyCode::Char('t') => self.toggle_retries(),
            KeyCode::Char('[') => self.scale_rate(0.9),
            KeyCode::Char(']') => self.scale_rate(1.1),
            KeyCode::Char('s') => self.cycle_strategy(),
            KeyCode::Char('R') => self.restart(),
            KeyCode::Char('m') => self.mark(),
            KeyCode::Char('o') => {
                self.show_chart = !self.show_chart;
                let what = if self.show_chart { "latency and throughput over time" } else { "the histogram" };
                self.log(format!("showing {what}"));
            }
            KeyCode::Char('h') => {
                self.show_recent = !self.show_recent;
                let what = if self.show_recent { "the last 5s" } else { "the whole run" };
                self.log(format!("histograms show {what}"));
            }
            _ => {}
        }
    }

    /// Moves one step up or down the ladder of speeds; at either end nothing changes and
    /// nothing is logged.
    fn step_speed(&mut self, by: isize) {
        if self.engine == EngineKind::Live {
            let scale = self.scenario.live.time_scale;
            self.log(format!(
                "the live engine runs in real time (time scale {scale}: set it with --time-scale)"
            ));
            return;
        }
        let ladder = &SPEEDS;
        let here = ladder.iter().position(|&s| s >= self.speed).unwrap_or(ladder.len() - 1);
        let next = ladder[here.saturating_add_signed(by).min(ladder.len() - 1)];
        if next != self.speed {
            self.set_speed(next);
            self.log(format!("speed {}", speed_text(self.speed)));
        }
    }

    /// A key while a value is typed: Enter sets it, Esc (or Ctrl-C) drops it.
    fn prompt_key(&mut self, code: KeyCode, ctrl: bool) {
        let Some(prompt) = self.prompt.as_mut() else { return };
        match code {
            KeyCode::Char('c') if ctrl => self.prompt = None,
            KeyCode::Esc => self.prompt = None,
            KeyCode::Backspace => {
                prompt.text.pop();
            }
            KeyCode::Char(c) if prompt.text.len() < 24 && !c.is_control() => prompt.text.push(c),
            KeyCode::Enter => {
                let prompt = self.prompt.take().expect("a prompt");
                match prompt.kind {
                    PromptKind::PauseAt => self.set_pause_at(prompt.text.trim()),
                    PromptKind::Speed => self.type_speed(prompt.text.trim()),
                    PromptKind::GoTo => self.go_to(prompt.text.trim()),
                }
            }
            _ => {}
        }
    }

    /// `p`: pause when the clock reaches a time (a duration, or seconds); empty clears it.
    fn set_pause_at(&mut self, text: &str) {
        if text.is_empty() {
            self.pause_at = None;
            return self.log("no pause set".to_string());
        }
        match typed_time(text) {
            Ok(t) if t <= self.clock => self.log(format!("cannot pause at {text}: the run is past it")),
            Ok(t) => {
                self.pause_at = Some(t);
                self.log(format!("will pause at {}", crate::time::seconds_text(t)));
            }
            Err(e) => self.log(format!("cannot pause at `{text}`: {e}")),
        }
    }

    /// `m`: starts a window at the clock, ends it, or (once ended) goes back to the whole run.
    fn mark(&mut self) {
        let now = self.clock;
        self.window = match self.window.take() {
            None => {
                self.log(format!("window from {}: m again ends it", seconds_text(now)));
                Some(Window::Open { from: now, before: self.latencies() })
            }
            Some(Window::Open { from, before }) => Some(self.closed(from, now, &before, &self.latencies())),
            Some(Window::Closed { .. }) => {
                self.log("window cleared: the histograms show the whole run".to_string());
                None
            }
        };
    }

    /// Each pane's whole-run latencies now.
    fn latencies(&self) -> Vec<crate::metrics::Recorder> {
        self.panes.iter().map(|p| p.sim.metrics().latency.clone()).collect()
    }

    /// A mouse event: a drag across the chart over time marks the window it spans (the
    /// histograms then show it, as with `m`).
    pub fn handle_mouse(&mut self, mouse: crossterm::event::MouseEvent) {
        use crossterm::event::{MouseButton, MouseEventKind};
        let Some(span) = self.chart_span.get().filter(|_| self.show_chart) else { return };
        let at = span.time_at(mouse.column, mouse.row);
        match mouse.kind {
            MouseEventKind::Down(MouseButton::Left) => self.drag_from = at,
            MouseEventKind::Up(MouseButton::Left) => {
                let (Some(a), Some(b)) = (self.drag_from.take(), at) else { return };
                let (from, to) = (a.min(b), a.max(b).min(self.clock));
                if to > from {
                    self.mark_between(from, to);
                }
            }
            _ => {}
        }
    }

    /// Marks the window from `from` to `to` (both past): the latencies at each end are
    /// re-simulated, exactly, from the nearest checkpoint.
    pub fn mark_between(&mut self, from: Nanos, to: Nanos) {
        if self.engine != EngineKind::Sim {
            return self.log(
                "a past window needs the model: a live run cannot go back (m marks one as it runs)".into(),
            );
        }
        match (self.latencies_at(from), self.latencies_at(to)) {
            (Ok(before), Ok(after)) => self.window = Some(self.closed(from, to, &before, &after)),
            (Err(e), _) | (_, Err(e)) => self.log(format!("cannot mark that window: {e}")),
        }
    }

    /// The window from `from` to `to`, each pane's latencies `after` less those `before`;
    /// the log says so.
    fn closed(
        &mut self,
        from: Nanos,
        to: Nanos,
        before: &[crate::metrics::Recorder],
        after: &[crate::metrics::Recorder],
    ) -> Window {
        let within = after.iter().zip(before).map(|(a, b)| a.since(b)).collect();
        self.log(format!(
            "window {} to {}: the histograms show it (m: whole run)",
            seconds_text(from),
            seconds_text(to)
        ));
        Window::Closed { from, to, within }
    }

    /// The latencies a pane's histogram shows in the marked window, and its bounds in words;
    /// `None` without a window.
    pub fn window_latencies(&self, pane: usize) -> Option<(crate::metrics::Recorder, String)> {
        match self.window.as_ref()? {
            Window::Open { from, before } => Some((
                self.panes[pane].sim.metrics().latency.since(&before[pane]),
                format!("since {}", seconds_text(*from)),
            )),
            Window::Closed { from, to, within } => {
                Some((within[pane].clone(), format!("{} to {}", seconds_text(*from), seconds_text(*to))))
            }
        }
    }

    /// `g`: seeks to a typed virtual time, back (re-simulated exactly) or forward.
    fn go_to(&mut self, text: &str) {
        match typed_time(text) {
            Ok(t) => {
                let before = self.clock;
                self.seek_to(t);
                if self.clock == t && t >= before {
                    self.log(format!("went to {}", seconds_text(t)));
                }
            }
            Err(e) => self.log(format!("cannot go to `{text}`: {e}")),
        }
    }

    /// `x`: any speed between the ladder's ends, typed.
    fn type_speed(&mut self, text: &str) {
        let (low, high) = (SPEEDS[0], SPEEDS[SPEEDS.len() - 1]);
        let value = match text.split_once('/') {
            Some((a, b)) => {
                a.trim().parse::<f64>().ok().zip(b.trim().parse::<f64>().ok()).map(|(a, b)| a / b)
            }
            None => text.trim_end_matches('x').parse::<f64>().ok(),
        };
        match value {
            Some(v) if v.is_finite() && (low..=high).contains(&v) => {
                if v != self.speed {
                    self.set_speed(v);
                    self.log(format!("speed {}", speed_text(v)));
                }
            }
            _ => self.log(format!("speed `{text}`: give a number from 1/1024 to 100000")),
        }
    }

    /// Stops at [`App::pause_at`] when the clock has reached it.
    fn pause_if_due(&mut self) {
        if let Some(t) = self.pause_at.filter(|&t| self.clock >= t) {
            self.pause_at = None;
            self.paused = true;
            for pane in &mut self.panes {
                pane.sim.set_sending(false);
            }
            self.log(format!("paused at {} as asked (space resumes)", crate::time::seconds_text(t)));
        }
    }

    fn set_speed(&mut self, speed: f64) {
        self.speed = speed;
        self.achieved = 1.0;
        self.behind = None;
        self.next_sample = self.clock + self.sample_period();
    }

    /// Processes the next event (of the earliest pane) and says what the balancer did.
    fn step_one(&mut self) {
        if self.engine == EngineKind::Live {
            self.log("n: live tasks run in real time and cannot be stepped (the model can)".into());
            return;
        }
        if !self.paused {
            self.paused = true;
            self.log("paused to step".to_string());
        }
        self.stepping = true;
        self.log_scroll = 0;
        let sims = self.panes.iter_mut().filter_map(|p| p.sim.as_sim_mut());
        let Some(t) = sims.filter_map(|s| s.next_event_time()).min() else {
            self.log("nothing left to step".to_string());
            return;
        };
        let mut lines = Vec::new();
        let many = self.panes.len() > 1;
        for pane in self.panes.iter_mut().filter_map(|p| p.sim.as_sim_mut()) {
            if pane.next_event_time() != Some(t) {
                pane.step_until(t);
                continue;
            }
            let Some(step) = pane.step() else { continue };
            let who = if many { format!("{}: ", pane.strategy_name()) } else { String::new() };
            let text = match step.kind {
                StepKind::Arrival { request, worker: Some(w), .. } => {
                    let why = pane.explain_last_pick().unwrap_or_default();
                    format!("{who}request {request} -> worker {w}: {why}")
                }
                StepKind::Arrival { request, worker: None, .. } => {
                    format!("{who}request {request} rejected (no worker up, or its queue is full)")
                }
                StepKind::Completion { request, worker, latency } => {
                    format!("{who}worker {worker} answered request {request} in {}", Human(latency))
                }
                StepKind::Retry { request, attempt, worker: Some(w) } => {
                    let why = pane.explain_last_pick().unwrap_or_default();
                    format!("{who}request {request} retry {attempt} -> worker {w}: {why}")
                }
                StepKind::Retry { request, attempt, worker: None } => {
                    format!("{who}request {request} retry {attempt} could not be placed")
                }
                StepKind::Failure { request, outcome } => {
                    format!("{who}request {request} ended: {}", outcome_text(outcome))
                }
                StepKind::Internal => format!("{who}an attempt was served, lost or checked"),
                StepKind::ClientRetired { client } => {
                    format!("{who}client {client} has nothing more to send")
                }
                StepKind::WarmupEnded => format!("{who}warm-up over: statistics start"),
            };
            lines.push(text);
            // Keep the other panes on the same clock.
            pane.step_until(t);
        }
        self.clock = self.clock.max(t);
        for line in lines {
            self.log(line);
        }
        self.collect_notices();
    }

    fn apply_all(&mut self, make: impl Fn() -> Command) -> Result<(), String> {
        self.record(crate::session::Action::of(&make()));
        for pane in &mut self.panes {
            pane.sim.apply(make()).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Records a command about to be applied, for `--record` (model runs only: a live run
    /// cannot be replayed exactly). A command the engine refuses changes nothing, so
    /// replaying it is refused alike.
    fn record(&mut self, action: crate::session::Action) {
        let points: Option<Vec<_>> =
            self.panes.iter_mut().map(|p| p.sim.as_sim_mut().map(|s| crate::session::Point::of(s))).collect();
        if let Some(points) = points {
            self.recorder.push(points, action);
        }
    }

    fn set_up(&mut self, up: bool) {
        let worker = self.selected;
        let was_up = !self.panes[0].sim.worker(worker).crashed;
        if was_up == up {
            self.log(format!("worker {worker} is already {}", if up { "up" } else { "down" }));
            return;
        }
        if let Err(e) = self.apply_all(|| Command::SetWorkerUp { worker, up }) {
            self.log(format!("cannot change worker {worker}: {e}"));
        }
        self.collect_notices();
    }

    fn toggle_slow(&mut self) {
        let worker = self.selected;
        let slowed = self.panes[0].sim.worker(worker).slowdown > 1.0;
        let factor = if slowed { 1.0 } else { 10.0 };
        if let Err(e) = self.apply_all(|| Command::SetWorkerSlowdown { worker, factor }) {
            self.log(format!("cannot slow worker {worker}: {e}"));
        }
        self.collect_notices();
    }

    fn change_error_rate(&mut self, delta: f64) {
        let worker = self.selected;
        let now = self.panes[0].sim.worker(worker).error_rate;
        let rate = ((now + delta) * 10.0).round().clamp(0.0, 10.0) / 10.0;
        match self.apply_all(|| Command::SetWorkerErrorRate { worker, rate }) {
            Ok(()) => self.log_event(format!("worker {worker} now fails {:.0}% of requests", rate * 100.0)),
            Err(e) => self.log(format!("cannot change worker {worker}: {e}")),
        }
    }

    /// The retry policy `t` turns on: the scenario's, or 3 retries with 10 ms backoff.
    fn retry_policy(&self) -> RetryPolicy {
        self.config.defences.retry.clone().unwrap_or(RetryPolicy {
            max: 3,
            backoff: 10 * MILLIS,
            max_backoff: SECS,
            per_try_timeout: None,
            budget: None,
        })
    }

    fn toggle_retries(&mut self) {
        let on = !self.retries_on();
        let policy = on.then(|| self.retry_policy());
        match self.apply_all(|| Command::SetRetry(policy.clone())) {
            Ok(()) if on => {
                let p = self.retry_policy();
                self.log_event(format!("retries on: up to {} per request", p.max));
            }
            Ok(()) => self.log_event("retries off".to_string()),
            Err(e) => self.log(format!("cannot change retries: {e}")),
        }
    }

    /// Whether retries are on.
    pub fn retries_on(&self) -> bool {
        self.panes.first().is_some_and(|p| p.sim.retries_on())
    }

    /// Moves the engines' notices (faults, detections, ejections, scaling) into the log.
    /// In compare, a notice every pane gives alike is logged once, the others per strategy.
    fn collect_notices(&mut self) {
        let per_pane: Vec<(String, Vec<Notice>)> = self
            .panes
            .iter_mut()
            .map(|p| (p.sim.strategy_name().to_string(), p.sim.take_notices()))
            .collect();
        let Some((_, first)) = per_pane.first() else { return };
        let shared: Vec<&Notice> =
            first.iter().filter(|n| per_pane.iter().all(|(_, ns)| ns.contains(n))).collect();
        let mut lines: Vec<LogLine> =
            shared.iter().map(|n| LogLine { time: n.time, text: n.text.clone(), mark: true }).collect();
        for (name, notices) in &per_pane {
            for n in notices.iter().filter(|n| !shared.contains(n)) {
                lines.push(LogLine { time: n.time, text: format!("{name}: {}", n.text), mark: true });
            }
        }
        lines.sort_by_key(|l| l.time);
        for line in lines {
            self.push_log(line);
        }
    }

    /// The open-loop rate in force, if any.
    pub fn rate(&self) -> Option<f64> {
        self.panes.first().and_then(|p| p.sim.arrival_rate())
    }

    fn initial_rate(&self) -> Option<f64> {
        match self.config.arrivals {
            Arrivals::Poisson { rate } | Arrivals::Constant { rate } | Arrivals::Bursty { rate, .. } => {
                Some(rate)
            }
            Arrivals::Closed { .. } => None,
            // Fixed by the trace: the engine says so when `[` or `]` asks to change it.
            Arrivals::Trace { .. } => self.config.arrivals.mean_rate(),
        }
    }

    fn scale_rate(&mut self, factor: f64) {
        let Some(nominal) = self.nominal_rate else {
            self.log("closed loop: the clients set the rate".to_string());
            return;
        };
        let rate = (nominal * factor).max(1.0);
        match self.apply_all(|| Command::SetRate(rate)) {
            Ok(()) => {
                self.nominal_rate = Some(rate);
                let load = rate / self.config.capacity();
                self.log_event(format!("arrival rate {rate:.0}/s (load {load:.2})"));
            }
            Err(e) => self.log(format!("cannot set the rate: {e}")),
        }
    }

    fn cycle_strategy(&mut self) {
        if self.mode == Mode::Compare {
            self.log("compare runs fixed strategies; s switches strategy in lbsim run".to_string());
            return;
        }
        let current = self.panes[0].sim.strategy_name().to_string();
        let all: Vec<&StrategyInfo> = strategy::all().collect();
        let i = all.iter().position(|s| s.name == current).map_or(0, |i| (i + 1) % all.len());
        let info = all[i];
        let s = (info.build)(&self.config.strategy_params);
        self.record(crate::session::Action::Strategy { name: info.name.to_string() });
        match self.panes[0].sim.apply(Command::SetStrategy(s)) {
            Ok(()) => self.log_event(format!("strategy switched to {}", info.name)),
            Err(e) => self.log(format!("cannot switch strategy: {e}")),
        }
    }

    fn restart(&mut self) {
        let names: Vec<String> = self.panes.iter().map(|p| p.sim.strategy_name().to_string()).collect();
        match App::make_panes(self.engine, &self.config, &self.scenario.live, &names) {
            Ok(panes) => {
                self.panes = panes;
                self.window = None;
                self.checkpoints = seek::Checkpoints::default();
                if self.replaying {
                    // The session's commands from the start again.
                    let applied = std::mem::take(&mut self.recorder.entries);
                    self.playback = applied.into_iter().chain(self.playback.drain(..)).collect();
                }
                self.recorder.restart(&names);
                self.keep_selection_valid();
                self.clock = 0;
                // A restart at 100000x would be over before it could be watched.
                if self.engine == EngineKind::Sim {
                    self.set_speed(1.0);
                }
                self.next_sample = self.sample_period();
                self.nominal_rate = self.initial_rate();
                self.log(format!("restarted with seed {}", self.config.seed));
            }
            Err(e) => self.log(format!("cannot restart: {e}")),
        }
    }

    /// Reports on what was run so far, one per pane that started.
    pub fn reports(&self) -> Vec<Report> {
        self.panes
            .iter()
            .filter(|p| p.sim.started())
            .map(|p| Report::new(p.sim.as_ref(), &self.scenario.name, 0.0))
            .collect()
    }

    /// A warning for the header when queues grow without bound: the run stopped at the
    /// in-flight cap, or arrivals exceed capacity, or requests in flight are nearing the cap.
    pub fn overload(&self) -> Option<String> {
        let cap = self.panes.iter().map(|p| p.sim.in_flight_cap()).min().unwrap_or(0);
        if self.panes.iter().any(|p| p.sim.stop_reason().is_some()) {
            return Some(format!(
                "stopped: over {} in flight, the queues grew without bound",
                count_text(cap)
            ));
        }
        let in_flight = self.panes.iter().map(|p| p.sim.in_flight()).max().unwrap_or(0);
        let load = self.rate().map_or(0.0, |r| r / self.config.capacity());
        if load >= 1.0 && !self.finished() {
            Some(format!(
                "overloaded: arrivals exceed capacity, queues grow without bound ({} in flight; stops at {})",
                count_text(in_flight),
                count_text(cap)
            ))
        } else if in_flight > cap / 100 {
            Some(format!("{} in flight (the run stops at {})", count_text(in_flight), count_text(cap)))
        } else {
            None
        }
    }

    /// The state word for the header.
    pub fn state(&self) -> &'static str {
        if self.panes.iter().any(|p| p.sim.stop_reason().is_some()) {
            "stopped"
        } else if self.finished() {
            "finished"
        } else if self.paused {
            "paused"
        } else {
            "running"
        }
    }
}

fn outcome_text(outcome: crate::engine::Outcome) -> &'static str {
    outcome.words()
}

/// `950`, `12.3k`, `10.0M`: a count that fits a header.
pub fn count_text(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// `2x`, `0.5x`, `1/1024x`.
pub fn speed_text(speed: f64) -> String {
    if speed >= 1.0 {
        format!("{speed:.0}x")
    } else if speed >= 1.0 / 64.0 {
        format!("{speed}x")
    } else {
        format!("1/{:.0}x", 1.0 / speed)
    }
}
