//! Scenarios: TOML files <-> typed configuration.
//!
//! A scenario describes a workload and a cluster. Parsing is strict (unknown fields are
//! errors) and every error names the file, line, column and field. The schema, with every
//! default, is documented in the README and on [`ScenarioFile`]; `scenarios/*.toml` are
//! compiled into the binary ([`builtin`]).
//!
//! Loading goes in two steps so that command-line flags can override a scenario before its
//! relative settings (a load given as a fraction of capacity) are resolved:
//! [`Scenario::parse`] gives a [`Scenario`], [`Scenario::to_config`] an engine configuration.

pub mod builtin;
mod file;

use std::fmt;
use std::path::Path;

pub use file::ScenarioFile;

use crate::dist::Dist;
use crate::engine::{Arrivals, ConfigError, Defences, Faults, SimConfig, Stop, WorkerSpec};
use crate::strategy::StrategyParams;
use crate::time::Nanos;

/// An arrival rate, absolute or relative to the cluster's capacity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Level {
    /// Requests per second.
    Rate(f64),
    /// A fraction of the cluster's total service capacity (0.8 = 80% load).
    Load(f64),
}

impl Level {
    fn resolve(self, capacity: f64) -> f64 {
        match self {
            Level::Rate(r) => r,
            Level::Load(l) => l * capacity,
        }
    }
}

/// How requests arrive, before loads are resolved into rates.
#[derive(Clone, Debug, PartialEq)]
pub enum ArrivalSpec {
    /// Poisson arrivals.
    Poisson(Level),
    /// Evenly spaced arrivals.
    Constant(Level),
    /// Poisson at `base` for `gap`, then at `rate` for `burst`, repeating.
    Bursty {
        /// Level during a burst.
        rate: Level,
        /// Level between bursts.
        base: Level,
        /// Length of a burst (ns).
        burst: Nanos,
        /// Time between bursts (ns).
        gap: Nanos,
    },
    /// Closed-loop clients that think between requests.
    Closed {
        /// Number of clients.
        clients: u32,
        /// Think time between an answer and the next request.
        think: Dist,
    },
}

/// A parsed scenario: a workload, a cluster and run settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Short name (the file's stem unless the file says otherwise).
    pub name: String,
    /// One line saying what the scenario shows.
    pub description: String,
    /// Service demand per request at speed 1.
    pub service: Dist,
    /// The requesters.
    pub arrivals: ArrivalSpec,
    /// The workers, one entry each.
    pub workers: Vec<WorkerSpec>,
    /// When the run ends.
    pub stop: Stop,
    /// Virtual time excluded from statistics (ns).
    pub warmup: Nanos,
    /// Master seed.
    pub seed: u64,
    /// Strategy for `lbsim run`.
    pub strategy: String,
    /// Parameters for the built-in strategies.
    pub strategy_params: StrategyParams,
    /// Injected faults.
    pub faults: Faults,
    /// Defences against faults and overload.
    pub defences: Defences,
    /// How the live engine runs it (ignored by the model).
    pub live: crate::live::LiveOptions,
}

/// A scenario that cannot be read: where, which field, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file (or `built-in NAME`).
    pub file: String,
    /// 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    /// The field, as a dotted path (`arrivals.rate`), when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        match &self.field {
            Some(field) => write!(f, ": field `{field}`: {}", self.message),
            None => write!(f, ": {}", self.message),
        }
    }
}

impl std::error::Error for ScenarioError {}

impl Scenario {
    /// Parses TOML text. `origin` names the source in errors (a path, or `built-in NAME`)
    /// and gives the default name.
    pub fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        file::parse(text, origin)
    }

    /// Reads and parses a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            file: origin.clone(),
            position: None,
            field: None,
            message: format!("cannot read: {e}"),
        })?;
        Scenario::parse(&text, &origin)
    }

    /// Total service capacity of the cluster (requests/s).
    pub fn capacity(&self) -> f64 {
        self.skeleton().capacity()
    }

    fn skeleton(&self) -> SimConfig {
        SimConfig {
            seed: self.seed,
            arrivals: Arrivals::Poisson { rate: 1.0 },
            service: self.service.clone(),
            workers: self.workers.clone(),
            stop: self.stop,
            warmup: self.warmup,
            strategy_params: self.strategy_params.clone(),
            faults: self.faults.clone(),
            defences: self.defences.clone(),
        }
    }

    /// The engine configuration, with loads resolved against the cluster's capacity.
    pub fn to_config(&self) -> Result<SimConfig, ConfigError> {
        let mut config = self.skeleton();
        let capacity = config.capacity();
        config.arrivals = match &self.arrivals {
            ArrivalSpec::Poisson(level) => Arrivals::Poisson { rate: level.resolve(capacity) },
            ArrivalSpec::Constant(level) => Arrivals::Constant { rate: level.resolve(capacity) },
            ArrivalSpec::Bursty { rate, base, burst, gap } => Arrivals::Bursty {
                rate: rate.resolve(capacity),
                base_rate: base.resolve(capacity),
                burst: *burst,
                gap: *gap,
            },
            ArrivalSpec::Closed { clients, think } => {
                Arrivals::Closed { clients: *clients, think: think.clone() }
            }
        };
        config.validate()?;
        Ok(config)
    }
}
