//! Recorded sessions and seeking: the user's commands at their moments of virtual time, played
//! back exactly.
//!
//! A command is recorded with the *moment* it was applied at: for each pane (one run per
//! strategy), the virtual time and the number of events processed. Both are needed: the UI
//! advances the model in bounded slices, and a slice may stop between two events of the same
//! instant; the event count says which. Played back ([`reach`] then apply), every command finds
//! the model exactly as it was, so the run is the same bits ([`Seeker`], [`replay`]).
//!
//! Going back in time resumes from the latest checkpoint before the target (a copy of the
//! runs kept every [`CHECKPOINT_EVENTS`] events or more, at most [`MAX_CHECKPOINTS`] of them:
//! when full, every other one is dropped and the spacing doubles) and re-simulates from there
//! with the commands replayed. Re-running from the start alone took 128 to 166 ms to go back
//! near the end of a 10-minute run at 1,000 requests/s (1.2 million events); with checkpoints
//! it is a few milliseconds (`cargo bench --bench seek`). A strategy that cannot copy itself
//! ([`Strategy::clone_box`](crate::strategy::Strategy::clone_box)) is re-run from the start.

/// Events (over all runs) between checkpoints, at first.
pub const CHECKPOINT_EVENTS: u64 = 200_000;
/// Checkpoints kept at most.
pub const MAX_CHECKPOINTS: usize = 32;

use serde::{Deserialize, Serialize};

use crate::engine::{Command, RetryPolicy, Sim, SimConfig, Snapshot};
use crate::report::Report;
use crate::strategy::{self, StrategyParams};
use crate::time::Nanos;

/// What a command did, in a form that can be saved (a strategy is saved by its name).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// The open-loop arrival rate (requests/s).
    Rate {
        /// Requests per second.
        rate: f64,
    },
    /// Switched to another strategy.
    Strategy {
        /// Its name.
        name: String,
    },
    /// A worker's configured speed.
    Speed {
        /// The worker.
        worker: usize,
        /// Its new speed.
        speed: f64,
    },
    /// A worker slowed down (1: back to normal).
    Slowdown {
        /// The worker.
        worker: usize,
        /// How many times slower.
        factor: f64,
    },
    /// A worker crashed (`up` false) or was repaired.
    Up {
        /// The worker.
        worker: usize,
        /// Repaired (true) or crashed (false).
        up: bool,
    },
    /// A worker's error rate.
    ErrorRate {
        /// The worker.
        worker: usize,
        /// Probability of failing a request.
        rate: f64,
    },
    /// Retries on (with this policy) or off.
    Retry {
        /// The policy, or `None` for off.
        policy: Option<Retry>,
    },
}

/// A retry policy as saved (times in ns).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Retry {
    /// Retries per request at most.
    pub max: u32,
    /// First backoff (ns).
    pub backoff_ns: Nanos,
    /// Longest backoff (ns).
    pub max_backoff_ns: Nanos,
    /// Per-try timeout (ns), if any.
    pub per_try_timeout_ns: Option<Nanos>,
    /// Retry budget, if any.
    pub budget: Option<f64>,
}

impl Action {
    /// What `command` does, to be saved.
    pub fn of(command: &Command) -> Action {
        match command {
            Command::SetRate(rate) => Action::Rate { rate: *rate },
            Command::SetStrategy(s) => Action::Strategy { name: s.name().to_string() },
            Command::SetWorkerSpeed { worker, speed } => Action::Speed { worker: *worker, speed: *speed },
            Command::SetWorkerSlowdown { worker, factor } => {
                Action::Slowdown { worker: *worker, factor: *factor }
            }
            Command::SetWorkerUp { worker, up } => Action::Up { worker: *worker, up: *up },
            Command::SetWorkerErrorRate { worker, rate } => {
                Action::ErrorRate { worker: *worker, rate: *rate }
            }
            Command::SetRetry(policy) => Action::Retry {
                policy: policy.as_ref().map(|p| Retry {
                    max: p.max,
                    backoff_ns: p.backoff,
                    max_backoff_ns: p.max_backoff,
                    per_try_timeout_ns: p.per_try_timeout,
                    budget: p.budget,
                }),
            },
        }
    }

    /// The command again (a strategy is built afresh from its name with `params`).
    pub fn command(&self, params: &StrategyParams) -> Result<Command, String> {
        Ok(match self {
            Action::Rate { rate } => Command::SetRate(*rate),
            Action::Strategy { name } => {
                Command::SetStrategy(strategy::build(name, params).map_err(|e| e.to_string())?)
            }
            Action::Speed { worker, speed } => Command::SetWorkerSpeed { worker: *worker, speed: *speed },
            Action::Slowdown { worker, factor } => {
                Command::SetWorkerSlowdown { worker: *worker, factor: *factor }
            }
            Action::Up { worker, up } => Command::SetWorkerUp { worker: *worker, up: *up },
            Action::ErrorRate { worker, rate } => {
                Command::SetWorkerErrorRate { worker: *worker, rate: *rate }
            }
            Action::Retry { policy } => Command::SetRetry(policy.as_ref().map(|p| RetryPolicy {
                max: p.max,
                backoff: p.backoff_ns,
                max_backoff: p.max_backoff_ns,
                per_try_timeout: p.per_try_timeout_ns,
                budget: p.budget,
            })),
        })
    }
}

/// Where one run was: its virtual time and the events it had processed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// One recorded command: where every pane was, and what it did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Each pane's point, in the order of the strategies.
    pub at: Vec<Point>,
    /// The key that did it, when the UI recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// What it did.
    #[serde(flatten)]
    pub action: Action,
}

/// What a UI session did, for `--record`: the strategies it started with and its commands.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recorder {
    /// The strategies, one run each, as the session (or its latest restart) began.
    pub strategies: Vec<String>,
    /// The commands since then.
    pub entries: Vec<Entry>,
}

impl Recorder {
    /// A recorder for runs of `strategies`.
    pub fn new(strategies: &[String]) -> Recorder {
        Recorder { strategies: strategies.to_vec(), entries: Vec::new() }
    }

    /// Records `action`, applied to runs that were at `at`.
    pub fn push(&mut self, at: Vec<Point>, action: Action) {
        self.entries.push(Entry { at, key: None, action });
    }

    /// The runs started again, as runs of `strategies`: what was recorded is forgotten.
    pub fn restart(&mut self, strategies: &[String]) {
        *self = Recorder::new(strategies);
    }
}

/// What a finished UI session leaves for `--record`: its commands, and where each run ended
/// (`None` unless every run was the model's).
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    /// The strategies and commands.
    pub recorder: Recorder,
    /// Where each run ended.
    pub end: Option<Vec<Point>>,
}

impl Recorded {
    /// Takes what `app` recorded.
    pub fn of(app: &mut crate::tui::App) -> Recorded {
        let end = app.panes.iter_mut().map(|p| p.sim.as_sim_mut().map(|s| Point::of(s))).collect();
        Recorded { recorder: std::mem::take(&mut app.recorder), end }
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
    Ok(())
}

/// A run of one or more strategies (sharing the clock, as in `compare`) whose commands are
/// recorded, and which can be moved to any virtual time, back as well as forward.
pub struct Seeker {
    config: SimConfig,
    strategies: Vec<String>,
    sims: Vec<Sim>,
    entries: Vec<Entry>,
    /// Entries applied to the runs as they are now.
    applied: usize,
    /// Copies of the runs along the way, oldest first.
    checkpoints: Vec<Checkpoint>,
    /// Events between checkpoints.
    spacing: u64,
    /// Whether every strategy can copy itself.
    can_checkpoint: bool,
}

/// The runs at one moment, with how many entries they had applied.
struct Checkpoint {
    sims: Vec<Sim>,
    applied: usize,
}

impl Checkpoint {
    fn events(&self) -> u64 {
        self.sims.iter().map(Sim::events_processed).sum()
    }

    /// Whether every run is at or before `t`.
    fn before(&self, t: Nanos) -> bool {
        self.sims.iter().all(|s| s.now() <= t)
    }
}

fn copy(sims: &[Sim]) -> Option<Vec<Sim>> {
    sims.iter().map(Sim::checkpoint).collect()
}

impl Seeker {
    /// Runs of `strategies` on `config`, at virtual time 0.
    pub fn new(config: SimConfig, strategies: &[String]) -> Result<Seeker, String> {
        let sims = start(&config, strategies)?;
        let can_checkpoint = copy(&sims).is_some();
        Ok(Seeker {
            config,
            strategies: strategies.to_vec(),
            sims,
            entries: Vec::new(),
            applied: 0,
            checkpoints: Vec::new(),
            spacing: CHECKPOINT_EVENTS,
            can_checkpoint,
        })
    }

    /// Keeps checkpoints every `events` events (over all runs) from now on; `u64::MAX` keeps
    /// none, so that going back re-runs from the start.
    pub fn set_checkpoint_spacing(&mut self, events: u64) {
        self.spacing = events.max(1);
    }

    /// Checkpoints kept now.
    pub fn checkpoints(&self) -> usize {
        self.checkpoints.len()
    }

    /// Keeps a copy of the runs if the latest is far enough behind.
    fn maybe_checkpoint(&mut self) {
        if !self.can_checkpoint {
            return;
        }
        let events: u64 = self.sims.iter().map(Sim::events_processed).sum();
        if events < self.checkpoints.last().map_or(0, Checkpoint::events) + self.spacing {
            return;
        }
        let Some(sims) = copy(&self.sims) else { return };
        self.checkpoints.push(Checkpoint { sims, applied: self.applied });
        if self.checkpoints.len() > MAX_CHECKPOINTS {
            let mut keep = false;
            self.checkpoints.retain(|_| {
                keep = !keep;
                keep
            });
            self.spacing *= 2;
        }
    }

    /// The runs.
    pub fn sims(&self) -> &[Sim] {
        &self.sims
    }

    /// Each run's state.
    pub fn snapshots(&self) -> Vec<Snapshot> {
        self.sims.iter().map(Sim::snapshot).collect()
    }

    /// The commands recorded so far.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The shared virtual time.
    pub fn now(&self) -> Nanos {
        self.sims.iter().map(Sim::now).min().unwrap_or(0)
    }

    /// Applies `action` to every run now and records it. Commands recorded after now (the
    /// user went back in time) are forgotten: this one starts a new future.
    pub fn apply(&mut self, action: Action, key: Option<String>) -> Result<(), String> {
        for sim in &mut self.sims {
            sim.apply(action.command(&self.config.strategy_params)?).map_err(|e| e.to_string())?;
        }
        self.entries.truncate(self.applied);
        // Checkpoints of the future left behind are of no use any more.
        let (applied, events): (usize, Vec<u64>) =
            (self.applied, self.sims.iter().map(Sim::events_processed).collect());
        self.checkpoints.retain(|c| {
            c.applied <= applied && c.sims.iter().zip(&events).all(|(s, &e)| s.events_processed() <= e)
        });
        self.entries.push(Entry { at: self.sims.iter().map(Point::of).collect(), key, action });
        self.applied = self.entries.len();
        Ok(())
    }

    /// Moves every run to virtual time `t` (or the end of the run, if sooner). Forward, the
    /// recorded commands met on the way are applied at their moments; back, the runs start
    /// afresh and go forward so.
    pub fn seek(&mut self, t: Nanos) -> Result<(), String> {
        if t < self.now() {
            let resume = self.checkpoints.iter().rev().find(|c| c.before(t));
            match resume.and_then(|c| Some((copy(&c.sims)?, c.applied))) {
                Some((sims, applied)) => {
                    self.sims = sims;
                    self.applied = applied;
                }
                None => {
                    self.sims = start(&self.config, &self.strategies)?;
                    self.applied = 0;
                }
            }
        }
        while let Some(entry) = self.entries.get(self.applied) {
            if entry.at.iter().map(|p| p.time_ns).min().unwrap_or(0) > t {
                break;
            }
            for (sim, &point) in self.sims.iter_mut().zip(&entry.at) {
                reach(sim, point)?;
                sim.apply(entry.action.command(&self.config.strategy_params)?).map_err(|e| e.to_string())?;
            }
            self.applied += 1;
            self.maybe_checkpoint();
        }
        loop {
            let mut there = true;
            for sim in &mut self.sims {
                there &= sim.step_until_bounded(t, (self.spacing / 4).clamp(1, CHECKPOINT_EVENTS));
            }
            self.maybe_checkpoint();
            if there {
                return Ok(());
            }
        }
    }
}

fn start(config: &SimConfig, strategies: &[String]) -> Result<Vec<Sim>, String> {
    strategies
        .iter()
        .map(|name| {
            let s = strategy::build(name, &config.strategy_params).map_err(|e| e.to_string())?;
            Sim::new(config.clone(), s).map_err(|e| e.to_string())
        })
        .collect()
}

/// A session as saved by `--record FILE` (JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The format's version (1).
    pub version: u32,
    /// `run` or `compare`.
    pub command: String,
    /// The options it was run with (after `lbsim run` or `lbsim compare`, without `--record`):
    /// replaying resolves the scenario from them again.
    pub args: Vec<String>,
    /// The strategies, one run each, as the session started with them.
    pub strategies: Vec<String>,
    /// The scenario's name and the seed, for people reading the file.
    pub scenario: String,
    /// The master seed.
    pub seed: u64,
    /// A fingerprint of the resolved configuration: replaying refuses a scenario that changed.
    pub fingerprint: String,
    /// Where each run was when the session ended.
    pub end: Vec<Point>,
    /// The commands, in order.
    pub commands: Vec<Entry>,
}

/// FNV-1a of the configuration's full description: any change to the scenario, its trace or
/// an option changes it.
pub fn fingerprint(config: &SimConfig) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("{config:?}").bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Plays a session's commands back on `config` headless, to where it ended; the reports are
/// those the session gave (but for the wall time).
pub fn replay(config: &SimConfig, session: &Session, scenario: &str) -> Result<Vec<Report>, String> {
    let mut sims = start(config, &session.strategies)?;
    if session.end.len() != sims.len() || session.commands.iter().any(|e| e.at.len() != sims.len()) {
        return Err(format!("the session has moments for other than its {} strategies", sims.len()));
    }
    for entry in &session.commands {
        for (sim, &point) in sims.iter_mut().zip(&entry.at) {
            reach(sim, point)?;
            // A command the session's run refused (the UI recorded it as pressed) is refused
            // again and changes nothing, as then.
            let _ = sim.apply(entry.action.command(&config.strategy_params)?);
        }
    }
    let started = std::time::Instant::now();
    for (sim, &point) in sims.iter_mut().zip(&session.end) {
        reach(sim, point)?;
    }
    let wall = started.elapsed().as_secs_f64();
    Ok(sims.iter().map(|sim| Report::new(sim, scenario, wall)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_through_json() {
        let policy =
            RetryPolicy { max: 3, backoff: 10, max_backoff: 1_000, per_try_timeout: Some(5), budget: None };
        let params = StrategyParams::default();
        for command in [
            Command::SetRate(120.0),
            Command::SetWorkerUp { worker: 2, up: false },
            Command::SetWorkerSlowdown { worker: 1, factor: 10.0 },
            Command::SetRetry(Some(policy)),
            Command::SetRetry(None),
            Command::SetStrategy(strategy::build("random", &params).unwrap()),
        ] {
            let action = Action::of(&command);
            let entry = Entry { at: vec![Point { time_ns: 5, events: 3 }], key: Some("k".into()), action };
            let json = serde_json::to_string(&entry).unwrap();
            let back: Entry = serde_json::from_str(&json).unwrap();
            assert_eq!(back, entry, "{json}");
            assert_eq!(Action::of(&back.action.command(&params).unwrap()), entry.action);
        }
    }
}
