//! The engine's input: a fully resolved, validated description of one run.
//!
//! Scenario files and command-line flags are turned into a [`SimConfig`]; the engine knows
//! nothing about either.

use crate::dist::Dist;
use crate::strategy::StrategyParams;
use crate::time::{Nanos, SECS};

/// How requests arrive at the balancer.
#[derive(Clone, Debug, PartialEq)]
pub enum Arrivals {
    /// Open loop, exponential inter-arrival times at `rate` [requests/s].
    Poisson { rate: f64 },
    /// Open loop, exactly `1 / rate` apart [requests/s].
    Constant { rate: f64 },
    /// Open loop, Poisson whose rate alternates: `base_rate` for `gap`, then `rate` for
    /// `burst`, and again [requests/s, ns]. The run starts in a gap.
    Bursty { rate: f64, base_rate: f64, burst: Nanos, gap: Nanos },
    /// Closed loop (Pike's requesters): `clients` clients, each sends a request, waits for the
    /// answer, thinks for a time drawn from `think`, and sends the next. Each starts after one
    /// think time.
    Closed { clients: u32, think: Dist },
}

impl Arrivals {
    /// The long-run mean arrival rate of an open-loop process [requests/s]; `None` for a
    /// closed loop, whose rate depends on the latency.
    pub fn mean_rate(&self) -> Option<f64> {
        match *self {
            Arrivals::Poisson { rate } | Arrivals::Constant { rate } => Some(rate),
            Arrivals::Bursty { rate, base_rate, burst, gap } => {
                Some((rate * burst as f64 + base_rate * gap as f64) / (burst + gap) as f64)
            }
            Arrivals::Closed { .. } => None,
        }
    }

    /// A short description, e.g. `poisson 720/s`.
    pub fn describe(&self) -> String {
        match self {
            Arrivals::Poisson { rate } => format!("poisson {rate:.0}/s"),
            Arrivals::Constant { rate } => format!("constant {rate:.0}/s"),
            Arrivals::Bursty { rate, base_rate, burst, gap } => format!(
                "bursty {base_rate:.0}/s, bursts of {rate:.0}/s for {} every {}",
                crate::time::Human(*burst),
                crate::time::Human(*burst + *gap)
            ),
            Arrivals::Closed { clients, think } => format!("closed loop, {clients} clients, think {think}"),
        }
    }
}

/// One worker.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerSpec {
    /// Relative speed: service time = demand / speed. Default 1.
    pub speed: f64,
    /// Weight for weighted strategies. Default: the speed.
    pub weight: f64,
    /// Requests served at once; the rest wait in a FIFO queue. Default 1.
    pub concurrency: u32,
    /// Most requests that may wait in the queue (not counting those in service); an arrival
    /// beyond it is rejected. Default `None`, unbounded.
    pub queue_capacity: Option<u32>,
}

impl Default for WorkerSpec {
    fn default() -> WorkerSpec {
        WorkerSpec { speed: 1.0, weight: 1.0, concurrency: 1, queue_capacity: None }
    }
}

/// When a run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// After this many requests have been sent after the warm-up, stop sending and let the
    /// requests in flight finish.
    Requests(u64),
    /// At this much virtual time after the warm-up [ns]; unfinished requests stay in flight.
    Duration(Nanos),
}

/// Everything the engine needs to run.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Master seed; all random streams derive from it.
    pub seed: u64,
    /// The requesters.
    pub arrivals: Arrivals,
    /// Service demand per request, in time at speed 1.
    pub service: Dist,
    /// The cluster, at least one worker.
    pub workers: Vec<WorkerSpec>,
    /// The end of the run.
    pub stop: Stop,
    /// Virtual time at the start excluded from all statistics [ns].
    pub warmup: Nanos,
    /// Parameters for the built-in strategies.
    pub strategy_params: StrategyParams,
}

/// A configuration that cannot run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ConfigError {
    /// The offending setting, named as in scenario files (`workers`, `arrivals.rate`, ...).
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

fn bad(field: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError { field: field.to_string(), problem: problem.into() }
}

/// The largest rate accepted [requests/s]: one request per nanosecond.
pub const MAX_RATE: f64 = 1e9;

pub(crate) fn check_rate(field: &str, rate: f64, allow_zero: bool) -> Result<(), ConfigError> {
    if !rate.is_finite() || rate < 0.0 || (rate == 0.0 && !allow_zero) {
        return Err(bad(field, format!("must be a positive number of requests per second, got {rate}")));
    }
    if rate > MAX_RATE {
        return Err(bad(field, format!("{rate} is above the maximum of {MAX_RATE} requests per second")));
    }
    Ok(())
}

impl SimConfig {
    /// The default run: the `default` scenario's settings without a file.
    pub fn new(workers: Vec<WorkerSpec>, arrivals: Arrivals, service: Dist) -> SimConfig {
        SimConfig {
            seed: 1,
            arrivals,
            service,
            workers,
            stop: Stop::Requests(100_000),
            warmup: 0,
            strategy_params: StrategyParams::default(),
        }
    }

    /// Total service capacity [requests/s]: the sum of speed x concurrency over the workers,
    /// divided by the mean demand.
    pub fn capacity(&self) -> f64 {
        let slots: f64 = self.workers.iter().map(|w| w.speed * w.concurrency as f64).sum();
        slots * SECS as f64 / self.service.mean()
    }

    /// Offered load: mean arrival rate / capacity (`None` for a closed loop).
    pub fn load(&self) -> Option<f64> {
        self.arrivals.mean_rate().map(|r| r / self.capacity())
    }

    /// Checks that the configuration can run. Loads of 1 or more are allowed (queues grow
    /// without bound, which can be the point of a lesson).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.workers.is_empty() {
            return Err(bad("workers", "at least one worker is needed"));
        }
        if self.workers.len() > 10_000_000 {
            return Err(bad("workers", "at most 10,000,000 workers"));
        }
        for w in &self.workers {
            if !(w.speed.is_finite() && w.speed > 0.0 && w.speed <= 1e6) {
                return Err(bad("workers.speed", format!("must be in (0, 1e6], got {}", w.speed)));
            }
            if !(w.weight.is_finite() && w.weight > 0.0) {
                return Err(bad("workers.weight", format!("must be positive, got {}", w.weight)));
            }
            if w.concurrency == 0 {
                return Err(bad("workers.concurrency", "must be at least 1"));
            }
        }
        match &self.arrivals {
            Arrivals::Poisson { rate } | Arrivals::Constant { rate } => {
                check_rate("arrivals.rate", *rate, false)?
            }
            Arrivals::Bursty { rate, base_rate, burst, gap } => {
                check_rate("arrivals.rate", *rate, false)?;
                check_rate("arrivals.base_rate", *base_rate, true)?;
                if *burst == 0 || *gap == 0 {
                    return Err(bad("arrivals.burst", "burst and gap must both be longer than 0"));
                }
            }
            Arrivals::Closed { clients, think } => {
                if *clients == 0 {
                    return Err(bad("arrivals.clients", "at least one client is needed"));
                }
                if *clients > 10_000_000 {
                    return Err(bad("arrivals.clients", "at most 10,000,000 clients"));
                }
                if think.mean() <= 0.0 {
                    // With zero think time a client turned away would retry at the same
                    // instant for ever.
                    return Err(bad("arrivals.think", "the mean think time must be positive"));
                }
            }
        }
        match self.stop {
            Stop::Requests(0) => return Err(bad("run.requests", "must be at least 1")),
            Stop::Duration(0) => return Err(bad("run.duration", "must be longer than 0")),
            _ => {}
        }
        if self.strategy_params.choices == 0 {
            return Err(bad("strategy.choices", "must be at least 1"));
        }
        if self.strategy_params.ewma_decay == 0 {
            return Err(bad("strategy.decay", "must be longer than 0"));
        }
        Ok(())
    }
}
