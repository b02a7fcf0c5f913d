//! The run controller: one or more runs of a scenario (one pane per strategy) on one
//! virtual clock, with no terminal in sight.
//!
//! A [`Playground`] owns the panes, the clock and its speed, pausing, sampling for the
//! sparklines and the chart over time, the commands (applied to every pane, recorded for
//! `--record`), checkpoints and seeking ([`Playground::seek_to`]), playing a recorded session back, the
//! event log and the reports. The terminal UI (`crate::tui`) and headless `lbsim replay` /
//! `--record` drive it; so do tests and benches. It asks engines what they can do
//! ([`Caps`]), never which engine they are.
//!
//! Layering: this module sits above the engines, the session format and the reports
//! (`engines`, `session`, `report`, `scenario`, `metrics`, `strategy`); `tui` and the
//! command line import it; it imports neither.

mod commands;
mod pane;
mod seek;
mod step;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use pane::{HISTORY, Pane, Sample, TREND};
pub use seek::{CHECKPOINT_EVENTS, MAX_CHECKPOINTS};

use crate::engine::{Notice, SimConfig};
use crate::engines::{self, Caps, EngineKind};
use crate::live::LiveOptions;
use crate::metrics::Recorder;
use crate::report::Report;
use crate::scenario::Scenario;
use crate::session::{Entry, Point, Recorded, Recorder as SessionRecorder};
use crate::time::{MILLIS, Nanos, SECS};

/// Width of the "recent" latency window (ns).
pub const RECENT_WINDOW: Nanos = 5 * SECS;
/// Lines kept in the event log.
pub const LOG_LINES: usize = 2000;
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

/// Run one strategy, or compare several: the command a session is, which the UI lays out
/// and the reports print after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `lbsim run`.
    Run,
    /// `lbsim compare`.
    Compare,
}

/// Where the run as a whole is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// The clock moves.
    Running,
    /// Paused by the user (a live run's tasks still drain).
    Paused,
    /// Past its end, its requests in flight finishing (a live run's grace period).
    Draining,
    /// Every run reached its end.
    Finished,
    /// A run stopped early at the in-flight cap.
    Stopped,
}

impl RunState {
    /// The word for the header.
    pub fn word(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Draining => "draining",
            RunState::Finished => "finished",
            RunState::Stopped => "stopped",
        }
    }
}

/// How a run's time relates to the wall clock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// Virtual seconds per real second, as the user chose (paced engines).
    Speed(f64),
    /// Real time slowed down by this time scale (a live run; set before it starts).
    TimeScale(f64),
}

/// What becomes of the commands recorded after a time the run goes back to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Future {
    /// They are dropped with the future they belonged to (the UI: the user rewrites history).
    Drop,
    /// They stay ahead and are applied again at their moments going forward, until a new
    /// command starts a new future (a session being replayed; scripted seeking).
    Keep,
}

/// A line of the event log.
#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    /// Virtual time when it happened.
    pub time: Nanos,
    /// What happened.
    pub text: String,
    /// Whether it is an event of the run (a fault, a scaling step, a command's effect) that
    /// the chart over time marks, rather than a word from the controller.
    pub mark: bool,
}

/// The run controller (see the module's documentation).
pub struct Playground {
    scenario: String,
    config: SimConfig,
    live: LiveOptions,
    engine: EngineKind,
    caps: Caps,
    /// Whether panes keep a recent latency window and samples their percentiles.
    recent: bool,
    panes: Vec<Pane>,
    /// Every pane has been advanced to here.
    clock: Nanos,
    speed: f64,
    paused: bool,
    pause_at: Option<Nanos>,
    behind: Option<f64>,
    achieved: f64,
    next_sample: Nanos,
    log: VecDeque<LogLine>,
    /// Lines ever added to the log (a view scrolled back keeps its place by it).
    logged: u64,
    checkpoints: seek::Checkpoints,
    /// The strategies as the session (or its latest restart) began, and the commands applied.
    recorder: SessionRecorder,
    /// Commands still to apply at their moments: a session being replayed, or (with
    /// [`Future::Keep`]) those left ahead by going back.
    future: VecDeque<Entry>,
    on_seek_back: Future,
    /// Samples before this time are dropped from the history before anyone sees them (while
    /// seeking re-simulates to a time far ahead), so their percentiles are not worked out.
    quiet_until: Nanos,
    /// The open-loop rate the user controls (for bursty arrivals, the burst rate).
    nominal_rate: Option<f64>,
    /// A time being gone to forward in slices, a frame's budget at a time, so that keys
    /// and signals are read between them ([`Playground::go_toward`]).
    seeking: Option<Nanos>,
}

impl Playground {
    /// Runs of `scenario` by `engine`, one pane per strategy, keeping the recent latency
    /// window a live display needs. A live comparison starts the first strategy now and each
    /// of the others when the one before it has finished.
    pub fn new(scenario: &Scenario, strategies: &[String], engine: EngineKind) -> Result<Playground, String> {
        let config = scenario.to_config().map_err(|e| e.to_string())?;
        let mut play = Playground::build(config, scenario.live.clone(), strategies, engine, true)?;
        play.scenario = scenario.name.clone();
        play.pause_at = scenario.pause_at;
        play.log(format!("started: {} ({})", scenario.name, play.config.arrivals.describe()));
        if !play.caps.concurrent && play.panes.len() > 1 {
            play.log(
                "live: the strategies run one after another, never at once (they would share the CPU)".into(),
            );
        }
        Ok(play)
    }

    /// [`Playground::new`] run by the model.
    pub fn model(scenario: &Scenario, strategies: &[String]) -> Result<Playground, String> {
        Playground::new(scenario, strategies, EngineKind::Sim)
    }

    /// Runs of `config` by the model with no display: no recent window, no percentiles in
    /// the samples; commands left ahead by going back are kept ([`Future::Keep`]).
    pub fn headless(config: SimConfig, strategies: &[String]) -> Result<Playground, String> {
        let mut play = Playground::build(config, LiveOptions::default(), strategies, EngineKind::Sim, false)?;
        play.on_seek_back = Future::Keep;
        Ok(play)
    }

    /// The same, reporting under the scenario name `name`.
    pub fn named(mut self, name: &str) -> Playground {
        self.scenario = name.to_string();
        self
    }

    fn build(
        config: SimConfig,
        live: LiveOptions,
        strategies: &[String],
        engine: EngineKind,
        recent: bool,
    ) -> Result<Playground, String> {
        if strategies.is_empty() {
            return Err("no strategy to run".to_string());
        }
        let panes = make_panes(engine, &config, &live, strategies, recent)?;
        let caps = panes[0].sim.caps();
        let speed = if caps.paced { 1.0 } else { 1.0 / live.time_scale };
        let mut play = Playground {
            scenario: String::new(),
            config,
            live,
            engine,
            caps,
            recent,
            panes,
            clock: 0,
            speed,
            paused: false,
            pause_at: None,
            behind: None,
            achieved: 1.0,
            next_sample: 0,
            log: VecDeque::new(),
            logged: 0,
            checkpoints: seek::Checkpoints::default(),
            recorder: SessionRecorder::new(strategies),
            future: VecDeque::new(),
            on_seek_back: Future::Drop,
            quiet_until: 0,
            nominal_rate: None,
            seeking: None,
        };
        play.nominal_rate = play.initial_rate();
        play.next_sample = play.sample_period();
        Ok(play)
    }

    /// The panes, one per strategy.
    pub fn panes(&self) -> &[Pane] {
        &self.panes
    }

    /// What the engines can do.
    pub fn caps(&self) -> Caps {
        self.caps
    }

    /// The configuration every pane runs.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The scenario's name.
    pub fn scenario_name(&self) -> &str {
        &self.scenario
    }

    /// The shared clock: every pane has been advanced to here.
    pub fn clock(&self) -> Nanos {
        self.clock
    }

    /// The speed asked for (virtual seconds per real second).
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// How the run's time relates to the wall clock.
    pub fn pace(&self) -> Pace {
        if self.caps.paced { Pace::Speed(self.speed) } else { Pace::TimeScale(self.live.time_scale) }
    }

    /// Paused by the user.
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// The time at which the clock stops and the run pauses, if any.
    pub fn pause_at(&self) -> Option<Nanos> {
        self.pause_at
    }

    /// Achieved / requested speed, smoothed, while the engines cannot keep up.
    pub fn behind(&self) -> Option<f64> {
        self.behind
    }

    /// The event log, oldest first.
    pub fn log_lines(&self) -> &VecDeque<LogLine> {
        &self.log
    }

    /// Lines ever added to the log.
    pub fn logged(&self) -> u64 {
        self.logged
    }

    /// The commands applied so far, with the strategies they were applied to.
    pub fn recorder(&self) -> &SessionRecorder {
        &self.recorder
    }

    /// What this session leaves for `--record`: its commands, and where each run ended
    /// (`None` unless every run is seekable).
    pub fn recorded(&self) -> Recorded {
        let end = self.panes.iter().map(|p| p.sim.position()).collect();
        Recorded { recorder: self.recorder.clone(), end }
    }

    /// Each pane's state now.
    pub fn snapshots(&self) -> Vec<crate::engine::Snapshot> {
        self.panes.iter().map(|p| p.sim.snapshot()).collect()
    }

    /// Where each run is now, if every run is seekable.
    pub fn positions(&self) -> Option<Vec<Point>> {
        self.panes.iter().map(|p| p.sim.position()).collect()
    }

    /// Whether every pane's run is over.
    pub fn finished(&self) -> bool {
        self.panes.iter().all(|p| p.sim.is_finished())
    }

    /// Where the run as a whole is.
    pub fn state(&self) -> RunState {
        if self.panes.iter().any(|p| p.sim.stop_reason().is_some()) {
            RunState::Stopped
        } else if self.finished() {
            RunState::Finished
        } else if self.panes.iter().filter(|p| p.sim.started()).all(|p| p.sim.progress() >= 1.0) {
            RunState::Draining
        } else if self.paused {
            RunState::Paused
        } else {
            RunState::Running
        }
    }

    /// Whether the clock should move: not paused (a paused live run keeps draining), not
    /// finished.
    pub fn running(&self) -> bool {
        (!self.paused || !self.caps.paced) && !self.finished()
    }

    /// Whether [`advance`](Playground::advance) has work to do: the runs go on, or a time
    /// is being gone to (paused or not).
    pub fn busy(&self) -> bool {
        self.running() || self.seeking.is_some()
    }

    /// The time being gone to, while [`go_toward`](Playground::go_toward) is under way.
    pub fn seeking(&self) -> Option<Nanos> {
        self.seeking
    }

    /// Time between two samples: a tenth of a real second at the speed asked for.
    pub fn sample_period(&self) -> Nanos {
        ((self.speed * SECS as f64 / 10.0) as Nanos).max(MILLIS / 10)
    }

    /// Stops every run (the user quit): live runs stop sending, let requests in flight
    /// finish for their grace period and cancel the rest.
    pub fn stop(&mut self) {
        for pane in &mut self.panes {
            pane.sim.stop();
        }
    }

    /// Reports on what was run so far, one per pane that started.
    pub fn reports(&self) -> Vec<Report> {
        self.panes
            .iter()
            .filter(|p| p.sim.started())
            .map(|p| Report::new(p.sim.as_ref(), &self.scenario, 0.0))
            .collect()
    }

    /// Each pane's whole-run latencies now.
    pub fn latencies(&self) -> Vec<Recorder> {
        self.panes.iter().map(|p| p.sim.metrics().latency.clone()).collect()
    }

    /// The open-loop rate in force, if any.
    pub fn rate(&self) -> Option<f64> {
        self.panes.first().and_then(|p| p.sim.arrival_rate())
    }

    /// Whether retries are on.
    pub fn retries_on(&self) -> bool {
        self.panes.first().is_some_and(|p| p.sim.retries_on())
    }

    /// Workers every pane has (the set changes with a restart and with autoscaling).
    pub fn worker_count(&self) -> usize {
        self.panes.iter().map(|p| p.sim.worker_count()).min().unwrap_or(1)
    }

    /// Adds a word from the controller to the log.
    pub fn log(&mut self, text: String) {
        self.push_log(LogLine { time: self.clock, text, mark: false });
    }

    /// A command's effect on the run: logged, and marked on the chart over time.
    fn log_event(&mut self, text: String) {
        self.push_log(LogLine { time: self.clock, text, mark: true });
    }

    fn push_log(&mut self, line: LogLine) {
        pane::push_capped(&mut self.log, line, LOG_LINES);
        self.logged += 1;
    }

    /// Advances by `real` of wall time at the current speed, spending at most `budget` of
    /// real time in the engines. If that is not enough, the clock stops where they got to
    /// and [`behind`](Playground::behind) says by how much it falls short.
    pub fn advance(&mut self, real: Duration, budget: Duration) {
        if let Some(goal) = self.seeking {
            return self.seek_slice(goal, Instant::now() + budget);
        }
        if !self.running() {
            return;
        }
        if !self.caps.paced {
            self.advance_real_time();
            self.collect_notices();
            self.pause_if_due();
            if self.finished() {
                self.log("finished".to_string());
            }
            return;
        }
        let start = self.clock;
        let mut target = start.saturating_add((self.speed * real.as_secs_f64() * SECS as f64) as Nanos);
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

    /// Advances every pane to virtual time `target`, taking samples on the way and applying
    /// the commands ahead at their moments. With a deadline, stops when it passes and
    /// returns false.
    pub fn advance_to(&mut self, target: Nanos, deadline: Option<Instant>) -> bool {
        while let Some(at) = self.future.front().map(seek::first).filter(|&at| at <= target) {
            if !self.advance_plain(at.saturating_sub(1), deadline) {
                return false;
            }
            let entry = self.future.pop_front().expect("a command ahead");
            if let Err(e) = self.replay_entry(&entry) {
                self.log(format!("replay stopped: {e}"));
                self.future.clear();
                break;
            }
        }
        self.advance_plain(target, deadline)
    }

    /// Plays a recorded session's commands: each is applied when the clock reaches its
    /// moment, exactly as it was, and the log says so. Going back keeps them ahead.
    pub fn play(&mut self, entries: Vec<Entry>) {
        let n = entries.len();
        self.log(format!("replaying a recorded session: {n} command{}", if n == 1 { "" } else { "s" }));
        self.future = entries.into();
        self.on_seek_back = Future::Keep;
    }

    fn advance_plain(&mut self, target: Nanos, deadline: Option<Instant>) -> bool {
        let mut first = true;
        while self.clock < target && !self.finished() {
            // Many samples with few events each: the deadline is checked between them too.
            if !std::mem::take(&mut first) && deadline.is_some_and(|d| Instant::now() >= d) {
                self.collect_notices();
                return false;
            }
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
                let evicted = stop < self.quiet_until || !self.recent;
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

    /// The pane whose run is going on (a sequential comparison runs one at a time), else
    /// the last.
    fn active_pane(&self) -> usize {
        self.panes
            .iter()
            .position(|p| p.sim.started() && !p.sim.is_finished())
            .unwrap_or(self.panes.len() - 1)
    }

    /// A run in real time: takes in what the running pane's tasks did, and starts the next
    /// strategy of a comparison when its turn comes.
    fn advance_real_time(&mut self) {
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

    /// Stops at the pause time when the clock has reached it.
    fn pause_if_due(&mut self) {
        if let Some(t) = self.pause_at.filter(|&t| self.clock >= t) {
            self.pause_at = None;
            self.set_paused(true);
            self.log(format!("paused at {} as asked (space resumes)", crate::time::seconds_text(t)));
        }
    }

    /// Moves the engines' notices (faults, detections, ejections, scaling) into the log.
    /// With several panes, a notice every pane gives alike is logged once, the others per
    /// strategy.
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

    fn initial_rate(&self) -> Option<f64> {
        use crate::engine::Arrivals;
        match self.config.arrivals {
            Arrivals::Poisson { rate } | Arrivals::Constant { rate } | Arrivals::Bursty { rate, .. } => {
                Some(rate)
            }
            Arrivals::Closed { .. } => None,
            // Fixed by the trace: the engine says so when asked to change it.
            Arrivals::Trace { .. } => self.config.arrivals.mean_rate(),
        }
    }

    /// A warning for the header when queues grow without bound: the run stopped at the
    /// in-flight cap, or arrivals exceed capacity, or requests in flight are nearing the cap.
    pub fn overload(&self) -> Option<String> {
        let count = crate::text::count_text;
        let cap = self.panes.iter().map(|p| p.sim.in_flight_cap()).min().unwrap_or(0);
        if self.panes.iter().any(|p| p.sim.stop_reason().is_some()) {
            return Some(format!("stopped: over {} in flight, the queues grew without bound", count(cap)));
        }
        let in_flight = self.panes.iter().map(|p| p.sim.in_flight()).max().unwrap_or(0);
        let load = self.rate().map_or(0.0, |r| r / self.config.capacity());
        if load >= 1.0 && !self.finished() {
            Some(format!(
                "overloaded: arrivals exceed capacity, queues grow without bound ({} in flight; stops at {})",
                count(in_flight),
                count(cap)
            ))
        } else if in_flight > cap / 100 {
            Some(format!("{} in flight (the run stops at {})", count(in_flight), count(cap)))
        } else {
            None
        }
    }
}

/// One pane per strategy, built by `engine`; with several, a sequential engine is told so,
/// and the first run starts.
fn make_panes(
    engine: EngineKind,
    config: &SimConfig,
    live: &LiveOptions,
    strategies: &[String],
    recent: bool,
) -> Result<Vec<Pane>, String> {
    let window = recent.then_some(RECENT_WINDOW);
    let mut panes = strategies
        .iter()
        .map(|s| engines::build(engine, config, live, s, window).map(Pane::new))
        .collect::<Result<Vec<_>, _>>()?;
    let several = panes.len() > 1;
    for pane in &mut panes {
        pane.sim.set_sequential(several);
    }
    if let Some(first) = panes.first_mut() {
        first.sim.start();
    }
    Ok(panes)
}

/// Plays a recorded session's commands back on `config` headless, to where it ended; the
/// reports are those the session gave (but for the wall time, measured here).
pub fn replay(
    config: &SimConfig,
    session: &crate::session::Session,
    scenario: &str,
) -> Result<Vec<Report>, String> {
    let mut play = Playground::headless(config.clone(), &session.strategies)?.named(scenario);
    let started = Instant::now();
    play.replay_to(&session.commands, &session.end)?;
    let wall = started.elapsed().as_secs_f64();
    Ok(play.reports().into_iter().map(|r| Report { wall_time_s: wall, ..r }).collect())
}
