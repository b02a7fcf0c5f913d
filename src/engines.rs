//! One interface, two engines: what the terminal UI and the reports read from a run, whether
//! the discrete-event model ([`Sim`]) or real tokio tasks ([`crate::live::Live`]) run it.
//!
//! Widgets and reports only ever see a `dyn Engine`: they draw the same snapshot, the same
//! metrics and the same notices, and change a run only through the same [`Command`]s.
//!
//! Layer 4 of the house: this file imports both engines (layer 3) and the model below them;
//! neither engine imports it (each has inherent methods, which the impls here delegate to).

use std::time::Instant;

use crate::engine::{Sim, Step};
use crate::live::{Live, LiveOptions};
use crate::metrics::Metrics;
use crate::model::{
    Command, CommandError, LiveFigures, Notice, SimConfig, Snapshot, StopReason, WorkerSnapshot,
};
use crate::time::Nanos;

/// Which engine runs a scenario.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// The discrete-event simulation: virtual time, deterministic, as fast as the CPU allows.
    #[default]
    Sim,
    /// Real tokio tasks and channels in real time (Pike's balancer).
    Live,
}

impl EngineKind {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Sim => "sim",
            EngineKind::Live => "live",
        }
    }
}

/// What an engine can do. Callers ask for an ability, never for an engine kind: the run
/// controller and the UI read these and nothing else to decide what a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    /// It runs in virtual time, as fast or as slow as it is driven: its speed against the
    /// wall clock is the caller's to choose (the model). Otherwise it runs in real time at
    /// its configured time scale, and pausing only stops new requests (its tasks drain).
    pub paced: bool,
    /// It can process one event at a time and say what happened ([`Engine::step_event`]).
    pub steppable: bool,
    /// It can be copied as it is ([`Engine::checkpoint`]) and brought to an exact recorded
    /// moment ([`Engine::reach`]): going back in time, recording and replaying sessions.
    pub seekable: bool,
    /// Several runs of it may go on at once sharing one clock; otherwise a comparison runs
    /// them one after another (they would share the CPU).
    pub concurrent: bool,
}

/// Where one run was: its virtual time and the events it had processed. Both are needed to
/// find an exact moment again: a run advanced in bounded slices may stop between two events
/// of the same instant, and the event count says which.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Point {
    /// Virtual time (ns).
    pub time_ns: Nanos,
    /// Events processed.
    pub events: u64,
}

impl Point {
    /// Where `sim` is now.
    pub fn of(sim: &Sim) -> Point {
        Point { time_ns: sim.now(), events: sim.events_processed() }
    }
}

/// Brings `sim` to `point`: exactly `point.events` events, then the clock to its time. A
/// point the run has passed is an error (the caller goes back by starting afresh).
pub fn reach(sim: &mut Sim, point: Point) -> Result<(), String> {
    if sim.events_processed() > point.events || sim.now() > point.time_ns {
        return Err(format!(
            "the run is past the recorded moment ({} events at {} ns; it is at {} events, {} ns)",
            point.events,
            point.time_ns,
            sim.events_processed(),
            sim.now()
        ));
    }
    while sim.events_processed() < point.events {
        if sim.step().is_none() {
            break;
        }
    }
    if sim.now() < point.time_ns {
        sim.step_until(point.time_ns);
    }
    if sim.next_event_time().is_none() {
        // Nothing is left to process: the recorded run had ended here, and ending settles
        // what only the end counts (the downtime of a worker still down).
        sim.step();
    }
    Ok(())
}

/// A run of one strategy on one scenario, as the UI and the reports see it.
///
/// Times are scenario times in nanoseconds: virtual time for the model, real time divided by
/// the time scale for the live engine.
pub trait Engine: Send {
    /// Which engine this is (for reports; callers that decide what to do ask [`caps`](Engine::caps)).
    fn kind(&self) -> EngineKind;
    /// What this engine can do.
    fn caps(&self) -> Caps;
    /// The configuration being run.
    fn config(&self) -> &SimConfig;
    /// The strategy's name.
    fn strategy_name(&self) -> &str;
    /// Scenario time now.
    fn now(&self) -> Nanos;
    /// Start of the measurement window (the end of the warm-up).
    fn window_start(&self) -> Nanos;
    /// Whether the run is over.
    fn is_finished(&self) -> bool;
    /// How far the run is, from 0 to 1.
    fn progress(&self) -> f64;
    /// Everything measured so far.
    fn metrics(&self) -> &Metrics;
    /// The whole state now.
    fn snapshot(&self) -> Snapshot;
    /// One worker's state now.
    fn worker(&self, id: usize) -> WorkerSnapshot;
    /// Workers, retired ones included.
    fn worker_count(&self) -> usize;
    /// The open-loop arrival rate in force (requests/s), `None` for a closed loop.
    fn arrival_rate(&self) -> Option<f64>;
    /// Whether retries are on.
    fn retries_on(&self) -> bool;
    /// Requests waiting at the balancer (blocking backpressure).
    fn blocked(&self) -> usize;
    /// Requests completed so far, warm-up included (for live rates).
    fn completions(&self) -> u64;
    /// The notices recorded since the last call.
    fn take_notices(&mut self) -> Vec<Notice>;
    /// Applies a command now.
    fn apply(&mut self, command: Command) -> Result<(), CommandError>;
    /// Moves the run on to scenario time `t`, giving up at `deadline`; returns whether it got
    /// there (or the run ended). The model computes its way there; the live engine cannot be
    /// hurried: it takes in what its tasks did so far and returns.
    fn advance_to(&mut self, t: Nanos, deadline: Option<Instant>) -> bool;
    /// Stops or resumes sending new requests (the live engine's pause: its tasks keep
    /// draining). The model pauses by not advancing, so it ignores this.
    fn set_sending(&mut self, _on: bool) {}
    /// Whether the run has begun (a live comparison runs its strategies one after another;
    /// those waiting their turn have not).
    fn started(&self) -> bool {
        true
    }
    /// Begins a run that has not started yet.
    fn start(&mut self) {}
    /// Marks this run as one of several run one after another (a live comparison); reports
    /// say so. The model's runs share a virtual clock instead, so it ignores this.
    fn set_sequential(&mut self, _on: bool) {}
    /// Stops the run (the user quit): a live run stops its requesters, lets requests in
    /// flight finish for its grace period and cancels the rest.
    fn stop(&mut self) {}
    /// Why the run stopped before the end its configuration asks for (the in-flight cap).
    fn stop_reason(&self) -> Option<StopReason>;
    /// What the in-flight cap bounds: requests in flight, warm-up included (and, in the
    /// model, attempts at workers if more).
    fn in_flight(&self) -> u64;
    /// The cap on [`in_flight`](Engine::in_flight): past it, the run stops.
    fn in_flight_cap(&self) -> u64 {
        self.config().max_in_flight()
    }
    /// What only the live engine measures, for the report.
    fn live_figures(&self) -> Option<LiveFigures> {
        None
    }
    /// When the next event is due, if the engine is [steppable](Caps::steppable) and has one.
    fn next_event_time(&self) -> Option<Nanos> {
        None
    }
    /// Processes the next event and says what it was (steppable engines only).
    fn step_event(&mut self) -> Option<Step> {
        None
    }
    /// Why the strategy chose as it did at the last pick, in words, if it can say.
    fn explain_last_pick(&self) -> Option<String> {
        None
    }
    /// Where the run is now, exactly ([seekable](Caps::seekable) engines only).
    fn position(&self) -> Option<Point> {
        None
    }
    /// Brings the run to `point`, which must not be behind it (seekable engines only).
    fn reach(&mut self, _point: Point) -> Result<(), String> {
        Err("this engine cannot be brought to a recorded moment".to_string())
    }
    /// A copy of the run as it is, to resume from later (seekable engines whose strategy
    /// can copy itself).
    fn checkpoint(&self) -> Option<Box<dyn Engine>> {
        None
    }
}

impl Engine for Sim {
    fn kind(&self) -> EngineKind {
        EngineKind::Sim
    }
    fn caps(&self) -> Caps {
        Caps { paced: true, steppable: true, seekable: true, concurrent: true }
    }
    fn config(&self) -> &SimConfig {
        Sim::config(self)
    }
    fn strategy_name(&self) -> &str {
        Sim::strategy_name(self)
    }
    fn now(&self) -> Nanos {
        Sim::now(self)
    }
    fn window_start(&self) -> Nanos {
        Sim::window_start(self)
    }
    fn is_finished(&self) -> bool {
        Sim::is_finished(self)
    }
    fn progress(&self) -> f64 {
        Sim::progress(self)
    }
    fn metrics(&self) -> &Metrics {
        Sim::metrics(self)
    }
    fn snapshot(&self) -> Snapshot {
        Sim::snapshot(self)
    }
    fn worker(&self, id: usize) -> WorkerSnapshot {
        Sim::worker(self, id)
    }
    fn worker_count(&self) -> usize {
        Sim::worker_count(self)
    }
    fn arrival_rate(&self) -> Option<f64> {
        Sim::arrival_rate(self)
    }
    fn retries_on(&self) -> bool {
        Sim::retries_on(self)
    }
    fn blocked(&self) -> usize {
        Sim::blocked(self)
    }
    fn completions(&self) -> u64 {
        Sim::completions(self)
    }
    fn take_notices(&mut self) -> Vec<Notice> {
        Sim::take_notices(self)
    }
    fn apply(&mut self, command: Command) -> Result<(), CommandError> {
        Sim::apply(self, command)
    }
    fn advance_to(&mut self, t: Nanos, deadline: Option<Instant>) -> bool {
        while !self.step_until_bounded(t, 4_096) {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
        }
        true
    }
    fn stop_reason(&self) -> Option<StopReason> {
        Sim::stop_reason(self)
    }
    fn in_flight(&self) -> u64 {
        self.in_flight_load()
    }
    fn next_event_time(&self) -> Option<Nanos> {
        Sim::next_event_time(self)
    }
    fn step_event(&mut self) -> Option<Step> {
        Sim::step(self)
    }
    fn explain_last_pick(&self) -> Option<String> {
        Sim::explain_last_pick(self)
    }
    fn position(&self) -> Option<Point> {
        Some(Point::of(self))
    }
    fn reach(&mut self, point: Point) -> Result<(), String> {
        reach(self, point)
    }
    fn checkpoint(&self) -> Option<Box<dyn Engine>> {
        Sim::checkpoint(self).map(|s| Box::new(s) as Box<dyn Engine>)
    }
}

impl Engine for Live {
    fn kind(&self) -> EngineKind {
        EngineKind::Live
    }
    fn caps(&self) -> Caps {
        Caps { paced: false, steppable: false, seekable: false, concurrent: false }
    }
    fn config(&self) -> &SimConfig {
        Live::config(self)
    }
    fn strategy_name(&self) -> &str {
        Live::strategy_name(self)
    }
    fn now(&self) -> Nanos {
        Live::now(self)
    }
    fn window_start(&self) -> Nanos {
        Live::window_start(self)
    }
    fn is_finished(&self) -> bool {
        Live::is_finished(self)
    }
    fn progress(&self) -> f64 {
        Live::progress(self)
    }
    fn metrics(&self) -> &Metrics {
        Live::metrics(self)
    }
    fn snapshot(&self) -> Snapshot {
        Live::snapshot(self)
    }
    fn worker(&self, id: usize) -> WorkerSnapshot {
        Live::worker(self, id)
    }
    fn worker_count(&self) -> usize {
        Live::worker_count(self)
    }
    fn arrival_rate(&self) -> Option<f64> {
        Live::arrival_rate(self)
    }
    fn retries_on(&self) -> bool {
        Live::retries_on(self)
    }
    fn blocked(&self) -> usize {
        Live::blocked(self)
    }
    fn completions(&self) -> u64 {
        Live::completions(self)
    }
    fn take_notices(&mut self) -> Vec<Notice> {
        Live::take_notices(self)
    }
    fn apply(&mut self, command: Command) -> Result<(), CommandError> {
        Live::apply(self, command)
    }
    fn advance_to(&mut self, _t: Nanos, _deadline: Option<Instant>) -> bool {
        self.poll();
        true
    }
    fn set_sending(&mut self, on: bool) {
        Live::set_sending(self, on)
    }
    fn started(&self) -> bool {
        Live::started(self)
    }
    fn start(&mut self) {
        Live::start(self)
    }
    fn set_sequential(&mut self, on: bool) {
        Live::set_sequential(self, on)
    }
    fn stop(&mut self) {
        Live::stop(self)
    }
    fn stop_reason(&self) -> Option<StopReason> {
        Live::stop_reason(self)
    }
    fn in_flight(&self) -> u64 {
        Live::in_flight(self)
    }
    fn in_flight_cap(&self) -> u64 {
        Live::in_flight_cap(self)
    }
    fn live_figures(&self) -> Option<LiveFigures> {
        Live::live_figures(self)
    }
}

/// Builds a run of `strategy` on `config` by `engine`. With `recent`, it also keeps the
/// latencies of about that much recent scenario time (for a live display). A live run is not
/// started: call [`Engine::start`].
pub fn build(
    engine: EngineKind,
    config: &SimConfig,
    live: &LiveOptions,
    strategy: &str,
    recent: Option<Nanos>,
) -> Result<Box<dyn Engine>, String> {
    let s = crate::strategy::build(strategy, &config.strategy_params).map_err(|e| e.to_string())?;
    Ok(match engine {
        EngineKind::Sim => {
            let mut sim = Sim::new(config.clone(), s).map_err(|e| e.to_string())?;
            if let Some(width) = recent {
                sim.enable_recent_window(width);
            }
            Box::new(sim)
        }
        EngineKind::Live => {
            let mut run = Live::new(config.clone(), s, live.clone())?;
            if let Some(width) = recent {
                run.enable_recent_window(width);
            }
            Box::new(run)
        }
    })
}
