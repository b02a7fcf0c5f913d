//! Recorded sessions: the user's commands at their moments of virtual time, in a form that
//! can be saved (`--record FILE`) and played back exactly.
//!
//! A command is recorded with the *moment* it was applied at: for each pane (one run per
//! strategy), the virtual time and the number of events processed ([`Point`]). Both are
//! needed: a run advanced in bounded slices may stop between two events of the same instant,
//! and the event count says which. Played back (reach the point, then apply), every command
//! finds the model exactly as it was, so the run is the same bits. The run controller
//! (`crate::playground`) records and plays them, and seeks with them.
//!
//! Layering: the file format only; it imports the engine's commands and the strategy
//! registry, and the run controller and the command line import it.

use serde::{Deserialize, Serialize};

pub use crate::engines::Point;

use crate::engine::{Command, RetryPolicy, SimConfig};
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
