//! The UI's view state: which worker is selected, which panels are shown, a value being
//! typed, a marked window, the log's scroll, the mouse. The runs, their clock and every
//! command belong to the run controller ([`Playground`]); keys are looked up in the
//! [`keymap`] and handed to it.

use std::cell::Cell;
use std::time::Duration;

use crossterm::event::{KeyEvent, KeyEventKind, KeyModifiers};

use super::keymap::{self, Act, Key};
use crate::metrics::Recorder;
use crate::playground::{Mode, Playground};
use crate::report::Report;
use crate::scenario::Scenario;
use crate::time::{Nanos, SECS, seconds_text};

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

/// A window of virtual time marked with `m`: the histograms and percentiles show the answers
/// that came within it.
#[derive(Clone, Debug)]
pub enum Window {
    /// Started at `from`: each pane's whole-run latencies then, to subtract from what comes.
    Open {
        /// Where it starts.
        from: Nanos,
        /// Each pane's latencies at `from`.
        before: Vec<Recorder>,
    },
    /// From `from` to `to`: each pane's latencies of the answers in between.
    Closed {
        /// Where it starts.
        from: Nanos,
        /// Where it ends.
        to: Nanos,
        /// Each pane's latencies within it.
        within: Vec<Recorder>,
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

/// A virtual time typed at a prompt: seconds (`19.5`) or a duration (`19.5s`, `1m`), read
/// by the one time parser.
fn typed_time(text: &str) -> Result<Nanos, String> {
    crate::time::parse_seconds_or_duration(text)
}

/// A pane that can be focused (Tab, or a click): it then fills the screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// The run view's worker bars.
    Workers,
    /// The latency histogram, or the chart over time (`o`); in compare, the chart.
    Latency,
    /// The run view's throughput sparkline.
    Throughput,
    /// The run view's p99 sparkline.
    P99,
    /// The run view's counters.
    Counters,
    /// The event log.
    Log,
    /// One strategy's pane in compare.
    Strategy(usize),
}

/// The UI: the run controller it drives, and the view's own state.
pub struct App {
    /// The runs, their clock and commands.
    pub play: Playground,
    /// Run or compare.
    pub mode: Mode,
    /// The worker selected with up/down.
    pub selected: usize,
    /// Whether the help overlay is open.
    pub show_help: bool,
    /// How many lines the help overlay is scrolled down.
    pub help_scroll: usize,
    /// Whether the histograms show the recent window rather than the whole run.
    pub show_recent: bool,
    /// Whether latency and throughput are charted over time (`o`) instead of the latency
    /// histogram.
    pub show_chart: bool,
    /// A window marked with `m`, which the histograms show instead.
    pub window: Option<Window>,
    /// Where the chart over time was last drawn (columns and the times at its ends), so that
    /// a mouse drag across it can mark a window.
    pub chart_span: Cell<Option<ChartSpan>>,
    /// Where each worker's bar was last drawn (a group's bar under its first worker), so that
    /// a click selects the worker.
    pub bar_hits: std::cell::RefCell<Vec<(ratatui::layout::Rect, usize)>>,
    /// Where the header's timeline strip was last drawn (its first and last column, its row)
    /// and the virtual time at its right end, so that a click goes to that time.
    pub strip_span: Cell<Option<(u16, u16, u16, Nanos)>>,
    /// Where each pane was last drawn, so that a click focuses it.
    pub pane_hits: std::cell::RefCell<Vec<(ratatui::layout::Rect, Focus)>>,
    /// The pane that fills the screen, if one was focused.
    pub focus: Option<Focus>,
    /// Where a mouse drag on the chart began (virtual time).
    drag_from: Option<Nanos>,
    /// How many lines up from the newest the event log is scrolled (0: following).
    pub log_scroll: usize,
    /// How many log entries the last drawing showed whole: what PgUp and PgDn move by.
    pub log_page: Cell<usize>,
    /// How far back the last drawing showed the log (at most the oldest full page).
    pub log_shown: Cell<Option<usize>>,
    /// The controller's [`logged`](Playground::logged) count when the scroll was last kept
    /// in place.
    log_seen: u64,
    /// Paused by `n`: the view gives the event log room for the step reasons.
    pub stepping: bool,
    /// A value being typed after `p` (a time to pause at), `x` (a speed) or `g` (a time).
    pub prompt: Option<Prompt>,
    /// The user asked to quit.
    pub quit: bool,
}

impl App {
    /// A UI for `scenario` run by the model, one pane per strategy.
    pub fn new(scenario: Scenario, strategies: &[String], mode: Mode) -> Result<App, String> {
        Ok(App::over(Playground::model(&scenario, strategies)?, mode))
    }

    /// A UI over a run controller.
    pub fn over(play: Playground, mode: Mode) -> App {
        let log_seen = play.logged();
        App {
            play,
            mode,
            selected: 0,
            show_help: false,
            help_scroll: 0,
            show_recent: false,
            show_chart: false,
            window: None,
            chart_span: Cell::new(None),
            bar_hits: Default::default(),
            strip_span: Cell::new(None),
            pane_hits: Default::default(),
            focus: None,
            drag_from: None,
            log_scroll: 0,
            log_page: Cell::new(1),
            log_shown: Cell::new(None),
            log_seen,
            stepping: false,
            prompt: None,
            quit: false,
        }
    }

    /// Reports on what was run so far, one per pane that started.
    pub fn reports(&self) -> Vec<Report> {
        self.play.reports()
    }

    /// Advances the runs by `real` of wall time (see [`Playground::advance`]).
    pub fn advance(&mut self, real: Duration, budget: Duration) {
        self.play.advance(real, budget);
        self.settle();
    }

    /// Advances the runs to virtual time `target` (see [`Playground::advance_to`]).
    pub fn advance_to(&mut self, target: Nanos, deadline: Option<std::time::Instant>) -> bool {
        let reached = self.play.advance_to(target, deadline);
        self.settle();
        reached
    }

    /// Keeps the view consistent with the runs after they changed: a log scrolled back stays
    /// on the lines it shows, and the selected worker is one every pane has.
    fn settle(&mut self) {
        let new = self.play.logged() - self.log_seen;
        self.log_seen = self.play.logged();
        if self.log_scroll > 0 {
            let most = self.play.log_lines().len().saturating_sub(1);
            self.log_scroll = self.log_scroll.saturating_add(new as usize).min(most);
        }
        self.selected = self.selected.min(self.play.worker_count().saturating_sub(1));
    }

    /// Handles one key press.
    pub fn handle_key(&mut self, key: KeyEvent) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        self.settle();
        let key = Key { code: key.code, ctrl: key.modifiers.contains(KeyModifiers::CONTROL) };
        if self.prompt.is_some() {
            self.prompt_key(key);
        } else if self.show_help {
            self.help_key(key);
        } else if let Some(act) = keymap::act(key) {
            self.act(act);
        }
        self.settle();
    }

    /// A key while the help is open: the arrows and pages scroll it, `q` and Ctrl-C quit,
    /// any other key closes it.
    fn help_key(&mut self, key: Key) {
        use crossterm::event::KeyCode;
        match key.code {
            KeyCode::Up => self.help_scroll = self.help_scroll.saturating_sub(1),
            KeyCode::Down => self.help_scroll += 1,
            KeyCode::PageUp => self.help_scroll = self.help_scroll.saturating_sub(10),
            KeyCode::PageDown => self.help_scroll += 10,
            KeyCode::Home => self.help_scroll = 0,
            _ if keymap::act(key) == Some(Act::Quit) => self.quit = true,
            _ => self.show_help = false,
        }
        // Past the end is the end: the view shows the last page.
        self.help_scroll = self.help_scroll.min(super::help::help_lines(54).len());
    }

    /// Does what a key of the [`keymap`] says.
    fn act(&mut self, act: Act) {
        let worker = self.selected;
        let prompt = |kind| Some(Prompt { kind, text: String::new() });
        match act {
            Act::Quit => self.quit = true,
            // Esc stops going to a time where the runs got to, then leaves a focused pane.
            Act::Back if self.play.seeking().is_some() => self.play.cancel_seek(),
            Act::Back if self.focus.is_some() => self.focus = None,
            Act::Back => self.quit = true,
            Act::FocusNext => self.cycle_focus(1),
            Act::FocusPrev => self.cycle_focus(-1),
            Act::Help => {
                self.show_help = true;
                self.help_scroll = 0;
            }
            Act::LogBack => self.scroll_log(self.log_page.get().max(1) as isize),
            Act::LogForward => self.scroll_log(-(self.log_page.get().max(1) as isize)),
            Act::LogNewest => self.log_scroll = 0,
            Act::Pause => {
                self.stepping = false;
                self.play.toggle_pause();
            }
            Act::Step => {
                if self.play.caps().steppable {
                    self.stepping = true;
                    self.log_scroll = 0;
                }
                self.play.step_one();
            }
            Act::PauseAt => self.prompt = prompt(PromptKind::PauseAt),
            // A run in real time says why it has no speed to type.
            Act::TypeSpeed if !self.play.caps().paced => self.play.set_speed(self.play.speed()),
            Act::TypeSpeed => self.prompt = prompt(PromptKind::Speed),
            Act::GoTo => self.prompt = prompt(PromptKind::GoTo),
            Act::SeekBack => self.seek_by(-5 * SECS as i64),
            Act::SeekForward => self.seek_by(5 * SECS as i64),
            Act::SeekBackSecond => self.seek_by(-(SECS as i64)),
            Act::SeekForwardSecond => self.seek_by(SECS as i64),
            Act::Faster => self.play.step_speed(1),
            Act::Slower => self.play.step_speed(-1),
            Act::SelectUp => self.selected = self.selected.saturating_sub(1),
            Act::SelectDown => self.selected += 1,
            Act::Crash => self.play.set_worker_up(worker, false),
            Act::Repair => self.play.set_worker_up(worker, true),
            Act::Slow => self.play.toggle_slow(worker),
            Act::MoreErrors => self.play.change_error_rate(worker, 0.1),
            Act::FewerErrors => self.play.change_error_rate(worker, -0.1),
            Act::Retries => self.play.toggle_retries(),
            Act::RateDown => self.play.scale_rate(0.9),
            Act::RateUp => self.play.scale_rate(1.1),
            Act::Strategy if self.mode == Mode::Compare => {
                self.play.log("compare runs fixed strategies; s switches strategy in lbsim run".to_string())
            }
            Act::Strategy => self.play.next_strategy(),
            Act::Restart => {
                self.window = None;
                self.play.restart();
            }
            Act::Mark => self.mark(),
            Act::Chart => {
                self.show_chart = !self.show_chart;
                let what = if self.show_chart { "latency and throughput over time" } else { "the histogram" };
                self.play.log(format!("showing {what}"));
            }
            Act::Recent => {
                self.show_recent = !self.show_recent;
                let what = if self.show_recent { "the last 5s" } else { "the whole run" };
                self.play.log(format!("histograms show {what}"));
            }
        }
    }

    /// Scrolls the event log `by` lines back (negative: forward, towards the newest).
    fn scroll_log(&mut self, by: isize) {
        let most = self.play.log_lines().len().saturating_sub(1);
        // From what the screen shows: scrolled past the oldest page, it shows that page.
        let from = self.log_shown.get().map_or(self.log_scroll, |shown| shown.min(self.log_scroll));
        self.log_scroll = from.saturating_add_signed(by).min(most);
    }

    /// A key while a value is typed: Enter sets it, Esc (or Ctrl-C) drops it.
    fn prompt_key(&mut self, key: Key) {
        use crossterm::event::KeyCode;
        let Some(prompt) = self.prompt.as_mut() else { return };
        match key.code {
            KeyCode::Char('c') if key.ctrl => self.prompt = None,
            KeyCode::Esc => self.prompt = None,
            KeyCode::Backspace => {
                prompt.text.pop();
            }
            KeyCode::Char(c) if prompt.text.len() < 24 && !c.is_control() => prompt.text.push(c),
            KeyCode::Enter => {
                let prompt = self.prompt.take().expect("a prompt");
                let text = prompt.text.trim();
                match prompt.kind {
                    PromptKind::PauseAt => self.pause_at(text),
                    PromptKind::Speed => self.type_speed(text),
                    PromptKind::GoTo => self.go_to(text),
                }
            }
            _ => {}
        }
    }

    /// `p`: pause when the clock reaches a time (a duration, or seconds); empty clears it.
    fn pause_at(&mut self, text: &str) {
        if text.is_empty() {
            return self.play.set_pause_at(None);
        }
        match typed_time(text) {
            Ok(t) => self.play.set_pause_at(Some(t)),
            Err(e) => self.play.log(format!("cannot pause at `{text}`: {e}")),
        }
    }

    /// `x`: any speed between the ladder's ends, typed.
    fn type_speed(&mut self, text: &str) {
        use crate::playground::SPEEDS;
        let (low, high) = (SPEEDS[0], SPEEDS[SPEEDS.len() - 1]);
        let value = match text.split_once('/') {
            Some((a, b)) => {
                a.trim().parse::<f64>().ok().zip(b.trim().parse::<f64>().ok()).map(|(a, b)| a / b)
            }
            None => text.trim_end_matches('x').parse::<f64>().ok(),
        };
        match value {
            Some(v) if v.is_finite() && (low..=high).contains(&v) => self.play.set_speed(v),
            _ => self.play.log(format!("speed `{text}`: give a number from 1/1024 to 100000")),
        }
    }

    /// `g`: seeks to a typed virtual time, back (re-simulated exactly) or forward.
    fn go_to(&mut self, text: &str) {
        match typed_time(text) {
            // Forward, it goes in slices between frames and says "went to" when there.
            Ok(t) => self.seek_to(t),
            Err(e) => self.play.log(format!("cannot go to `{text}`: {e}")),
        }
    }

    /// Moves the runs to virtual time `target` (see [`Playground::seek_to`]); a marked
    /// window that ends after it belonged to the future being dropped, and is cleared.
    pub fn seek_to(&mut self, target: Nanos) {
        let end = self.window.as_ref().map(|w| match w.bounds() {
            (from, None) => from,
            (_, Some(to)) => to,
        });
        if self.play.caps().seekable && target < self.play.clock() && end.is_some_and(|end| target < end) {
            self.window = None;
            self.play.log("window cleared: it lay after the time sought".to_string());
        }
        // The controller logs what it did, or why it could not; forward, it goes in slices
        // (see [`Playground::go_toward`]), each frame doing one.
        let _ = self.play.go_toward(target);
        self.settle();
    }

    /// Goes on to the time being gone to, without frames in between (tests, scripts).
    pub fn finish_seek(&mut self) {
        while self.play.seeking().is_some() {
            self.play.advance(Duration::ZERO, Duration::from_millis(50));
        }
        self.settle();
    }

    /// Seeks `delta` virtual nanoseconds back (negative) or forward from now.
    fn seek_by(&mut self, delta: i64) {
        // From the time being gone to, if any: pressed twice, right goes ten seconds on.
        let now = self.play.seeking().unwrap_or(self.play.clock());
        let target = if delta < 0 {
            now.saturating_sub(delta.unsigned_abs())
        } else {
            now.saturating_add(delta as Nanos)
        };
        self.seek_to(target);
    }

    /// `m`: starts a window at the clock, ends it, or (once ended) goes back to the whole run.
    fn mark(&mut self) {
        let now = self.play.clock();
        self.window = match self.window.take() {
            None => {
                self.play.log(format!("window from {}: m again ends it", seconds_text(now)));
                Some(Window::Open { from: now, before: self.play.latencies() })
            }
            Some(Window::Open { from, before }) if now == from => {
                self.play.log("the window is still empty: let the clock run, then m ends it".to_string());
                Some(Window::Open { from, before })
            }
            Some(Window::Open { from, before }) => {
                Some(self.closed(from, now, &before, &self.play.latencies()))
            }
            Some(Window::Closed { .. }) => {
                self.play.log("window cleared: the histograms show the whole run".to_string());
                None
            }
        };
    }

    /// A mouse event: a drag across the chart over time marks the window it spans (the
    /// histograms then show it, as with `m`).
    pub fn handle_mouse(&mut self, mouse: crossterm::event::MouseEvent) {
        use crossterm::event::{MouseButton, MouseEventKind};
        // The wheel scrolls the help when it is open, else the event log.
        let wheel = match mouse.kind {
            MouseEventKind::ScrollUp => -1,
            MouseEventKind::ScrollDown => 1,
            _ => 0,
        };
        if wheel != 0 {
            if self.show_help {
                self.help_scroll = self.help_scroll.saturating_add_signed(wheel);
            } else {
                self.scroll_log(-wheel);
            }
            return self.settle();
        }
        if mouse.kind == MouseEventKind::Down(MouseButton::Left) && self.click(mouse.column, mouse.row) {
            return self.settle();
        }
        // A drag across the chart over time marks a window; a click anywhere else on a pane,
        // or one that does not move on the chart, focuses the pane (or leaves it).
        let at = self
            .chart_span
            .get()
            .filter(|_| self.show_chart)
            .and_then(|s| s.time_at(mouse.column, mouse.row));
        match mouse.kind {
            MouseEventKind::Down(MouseButton::Left) if at.is_some() => self.drag_from = at,
            MouseEventKind::Down(MouseButton::Left) => self.focus_at(mouse.column, mouse.row),
            MouseEventKind::Up(MouseButton::Left) => match (self.drag_from.take(), at) {
                (Some(a), Some(b)) if a == b => self.focus_at(mouse.column, mouse.row),
                (Some(a), Some(b)) => {
                    let (from, to) = (a.min(b), a.max(b).min(self.play.clock()));
                    if to > from {
                        self.mark_between(from, to);
                    }
                }
                _ => {}
            },
            _ => {}
        }
        self.settle();
    }

    /// The panes this view can focus, in the order Tab visits them.
    pub fn focusable(&self) -> Vec<Focus> {
        match self.mode {
            Mode::Run => vec![
                Focus::Workers,
                Focus::Latency,
                Focus::Throughput,
                Focus::P99,
                Focus::Counters,
                Focus::Log,
            ],
            Mode::Compare if self.show_chart => vec![Focus::Latency, Focus::Log],
            Mode::Compare => (0..self.play.panes().len()).map(Focus::Strategy).chain([Focus::Log]).collect(),
        }
    }

    /// The focused pane, if it is one this view has (the chart's `o` changes what compare
    /// shows).
    pub fn focused(&self) -> Option<Focus> {
        self.focus.filter(|f| self.focusable().contains(f))
    }

    /// Focuses the pane `by` places after the focused one (Tab, Shift-Tab); past either end,
    /// every pane again.
    fn cycle_focus(&mut self, by: isize) {
        let panes = self.focusable();
        let slots = panes.len() as isize + 1; // the last slot: no pane focused
        let now =
            self.focused().and_then(|f| panes.iter().position(|p| *p == f)).map_or(slots - 1, |i| i as isize);
        self.focus = panes.get((now + by).rem_euclid(slots) as usize).copied();
    }

    /// A click on a pane focuses it; on the focused pane, shows every pane again.
    fn focus_at(&mut self, column: u16, row: u16) {
        let inside = |r: &ratatui::layout::Rect| r.contains(ratatui::layout::Position { x: column, y: row });
        let hit = self.pane_hits.borrow().iter().find(|(r, _)| inside(r)).map(|&(_, f)| f);
        if let Some(pane) = hit {
            self.focus = if self.focused() == Some(pane) { None } else { Some(pane) };
        }
    }

    /// A left click: on a worker's bar selects it; on the header's timeline strip goes to the
    /// time under it. Returns whether it hit one.
    fn click(&mut self, column: u16, row: u16) -> bool {
        let inside = |r: &ratatui::layout::Rect| r.contains(ratatui::layout::Position { x: column, y: row });
        let hit = self.bar_hits.borrow().iter().find(|(r, _)| inside(r)).map(|&(_, w)| w);
        if let Some(worker) = hit {
            self.selected = worker;
            return true;
        }
        if let Some((x0, x1, y, end)) = self.strip_span.get()
            && row == y
            && (x0..=x1).contains(&column)
        {
            let share = (column - x0) as f64 / (x1 - x0).max(1) as f64;
            self.seek_to((end as f64 * share) as Nanos);
            return true;
        }
        false
    }

    /// Marks the window from `from` to `to` (both past): the latencies at each end are
    /// re-simulated, exactly, from the nearest checkpoint.
    pub fn mark_between(&mut self, from: Nanos, to: Nanos) {
        if !self.play.caps().seekable {
            return self.play.log(
                "a past window needs the model: a live run cannot go back (m marks one as it runs)".into(),
            );
        }
        match (self.play.latencies_at(from), self.play.latencies_at(to)) {
            (Ok(before), Ok(after)) => self.window = Some(self.closed(from, to, &before, &after)),
            (Err(e), _) | (_, Err(e)) => self.play.log(format!("cannot mark that window: {e}")),
        }
    }

    /// The window from `from` to `to`, each pane's latencies `after` less those `before`;
    /// the log says so.
    fn closed(&mut self, from: Nanos, to: Nanos, before: &[Recorder], after: &[Recorder]) -> Window {
        let within = after.iter().zip(before).map(|(a, b)| a.since(b)).collect();
        self.play.log(format!(
            "window {} to {}: the histograms show it (m: whole run)",
            seconds_text(from),
            seconds_text(to)
        ));
        Window::Closed { from, to, within }
    }

    /// The latencies a pane's histogram shows in the marked window, and its bounds in words;
    /// `None` without a window.
    pub fn window_latencies(&self, pane: usize) -> Option<(Recorder, String)> {
        match self.window.as_ref()? {
            Window::Open { from, before } => Some((
                self.play.panes()[pane].sim.metrics().latency.since(&before[pane]),
                format!("since {}", seconds_text(*from)),
            )),
            Window::Closed { from, to, within } => {
                Some((within[pane].clone(), format!("{} to {}", seconds_text(*from), seconds_text(*to))))
            }
        }
    }
}
