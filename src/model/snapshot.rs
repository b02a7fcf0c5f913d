//! What a run looks like from outside at one moment, whichever engine runs it: the
//! [`Snapshot`] a UI draws, the [`Notice`]s of its event log, and why it stopped early.

use crate::metrics::{Attempts, Counters};
use crate::time::Nanos;

/// Where a worker is in its life (autoscaled pools add and remove workers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifecycle {
    /// Serving.
    Active,
    /// Added by the autoscaler, not serving yet.
    Starting,
    /// Being removed: takes no new requests, finishes its queue.
    Draining,
    /// Removed.
    Retired,
}

/// One worker in a [`Snapshot`].
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerSnapshot {
    /// Queued plus in service.
    pub pending: u32,
    /// Waiting in the queue.
    pub queued: u32,
    /// In service.
    pub busy: u32,
    /// Service slots.
    pub concurrency: u32,
    /// Speed in force (after any slowdown).
    pub speed: f64,
    /// Slowdown factor in force (1 = none).
    pub slowdown: f64,
    /// Whether the balancer may send to it (it believes the worker up and it is not ejected).
    pub up: bool,
    /// Whether the worker has crashed (whatever the balancer believes).
    pub crashed: bool,
    /// Whether it is ejected as an outlier.
    pub ejected: bool,
    /// Where it is in its life.
    pub lifecycle: Lifecycle,
    /// Its error rate.
    pub error_rate: f64,
    /// The share of its weight the balancer gives it now: below 1 while slow start ramps it
    /// up after it joined or came back, else 1.
    pub weight_share: f64,
    /// Measured requests completed.
    pub completed: u64,
    /// Latency of its most recent answer.
    pub last_latency: Nanos,
}

/// The engine's state at one moment, for a UI or a test.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// Virtual time.
    pub now: Nanos,
    /// Start of the measurement window (end of the warm-up).
    pub window_start: Nanos,
    /// The strategy's name.
    pub strategy: String,
    /// Request outcomes so far.
    pub counters: Counters,
    /// Attempts and errors so far.
    pub attempts: Attempts,
    /// One entry per worker (retired ones included, so ids stay put).
    pub workers: Vec<WorkerSnapshot>,
    /// The open-loop arrival rate in force (requests/s), `None` for a closed loop.
    pub arrival_rate: Option<f64>,
    /// Whether retries are on.
    pub retries_on: bool,
    /// Requests waiting at the balancer (blocking backpressure).
    pub blocked: usize,
    /// Whether the run is over.
    pub finished: bool,
    /// Why the run stopped early, if it did (then `finished` is true too).
    pub stop_reason: Option<StopReason>,
}

/// Why a run stopped before the end its configuration asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// Requests in flight, or attempts at workers, went beyond the cap
    /// ([`SimConfig::max_in_flight`](super::config::SimConfig::max_in_flight)): the queues were growing without bound.
    InFlightCap {
        /// The cap.
        limit: u64,
        /// When it was reached (virtual time).
        at: Nanos,
    },
}

impl StopReason {
    /// A short machine-readable name (`in_flight_cap`), as in the JSON report.
    pub fn key(&self) -> &'static str {
        match self {
            StopReason::InFlightCap { .. } => "in_flight_cap",
        }
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::InFlightCap { limit, at } => write!(
                f,
                "stopped at {:.3}s of virtual time: more than {limit} requests (or attempts at workers) \
                 in flight, the queues growing without bound (raise the cap with --max-in-flight or \
                 run.max_in_flight)",
                crate::time::as_secs_f64(*at)
            ),
        }
    }
}

/// A line for a UI's event log: a fault, a detection, an ejection, a scaling action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// When.
    pub time: Nanos,
    /// What, in words.
    pub text: String,
}
