//! Scenarios: TOML files <-> typed configuration.
//!
//! A scenario describes a workload and a cluster. Parsing is strict (unknown fields are
//! errors) and every error names the file, line, column and field. The schema, with every
//! default, is documented in the book (docs/src/reference/scenario-schema.md) and on [`ScenarioFile`]; `scenarios/*.toml` are
//! compiled into the binary ([`builtin`]).
//!
//! Loading goes in two steps so that command-line flags can override a scenario before its
//! relative settings (a load given as a fraction of capacity) are resolved:
//! [`Scenario::parse`] gives a [`Scenario`], [`Overrides::apply`] applies the typed overrides
//! (the command line's flags, a sweep cell's values) in one place, [`Scenario::to_config`]
//! gives an engine configuration.
//!
//! Files: `file` (the TOML tables and their reading), `fields` (checked field values),
//! `locate` (line, column and field of an error), `data` (trace and empirical files),
//! `builtin`, `overrides`, `values` (the flags' value parsers).
//!
//! Layer 4: it imports the engines' configuration (`engine`, `live`, `engines`), `strategy`
//! and the foundations; features (`sweep`, `replay`), `tui` and `cli` import it.

pub mod builtin;
mod data;
mod fields;
mod file;
mod locate;
pub mod overrides;
pub mod values;

use std::fmt;
use std::path::Path;

pub use data::trace_flags;
pub use file::ScenarioFile;
pub use overrides::{BackpressureFlag, FailureDetection, Overrides, SlowStartFlag, Warmup};

use crate::dist::Dist;
use crate::engine::{Arrivals, ConfigError, Defences, Faults, SimConfig, Stop, WorkerSpec};
use crate::strategy::StrategyParams;
use crate::time::Nanos;

/// The largest scenario file read, 1 MiB (the built-in scenarios are about 2 KB).
pub const MAX_FILE_SIZE: u64 = 1 << 20;

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
    /// A request at each time of a trace, scaled by `scale` (virtual time per trace time).
    Trace {
        /// The requests.
        trace: std::sync::Arc<crate::trace::Trace>,
        /// Virtual time per unit of trace time (0.5 plays it twice as fast).
        scale: f64,
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
    /// The UI pauses when the run reaches this virtual time (ns): a presenter's stop just
    /// before a scheduled event. Headless runs ignore it.
    pub pause_at: Option<Nanos>,
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
    /// Keyed requests, if any.
    pub keys: Option<crate::keys::Keys>,
    /// Keep the run over time in intervals of this length (`--timeline`); default none.
    pub timeline: Option<Nanos>,
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
    /// A load is a fraction of the capacity: both must give a rate the engine can run.
    fn check_loads(&self, capacity: f64) -> Result<(), ConfigError> {
        let levels: Vec<(&str, Level)> = match &self.arrivals {
            ArrivalSpec::Poisson(l) | ArrivalSpec::Constant(l) => vec![("arrivals.load", *l)],
            ArrivalSpec::Bursty { rate, base, .. } => {
                vec![("arrivals.load", *rate), ("arrivals.base_load", *base)]
            }
            ArrivalSpec::Closed { .. } | ArrivalSpec::Trace { .. } => vec![],
        };
        for (field, level) in levels {
            let Level::Load(load) = level else { continue };
            let bad = |problem: String| ConfigError { field: field.to_string(), problem };
            if !(capacity.is_finite() && capacity > 0.0) {
                return Err(ConfigError {
                    field: "service".to_string(),
                    problem: format!(
                        "a mean service time of {} gives no finite capacity for a load to be a fraction of; \
                         the mean must be longer than 0",
                        crate::time::Human(self.service.mean() as Nanos)
                    ),
                });
            }
            let rate = load * capacity;
            if !rate.is_finite() || rate > crate::engine::config::MAX_RATE {
                return Err(bad(format!(
                    "{} of a capacity of {} requests/s is {} requests/s, above the maximum of {:.0e} \
                     (at most a load of {:.3e} here)",
                    crate::text::number(load),
                    crate::text::number(capacity.round()),
                    crate::text::amount(rate),
                    crate::engine::config::MAX_RATE,
                    crate::engine::config::MAX_RATE / capacity
                )));
            }
        }
        Ok(())
    }

    /// Parses TOML text. `origin` names the source in errors (a path, or `built-in NAME`)
    /// and gives the default name.
    pub fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        file::parse(text, origin)
    }

    /// Reads and parses a scenario file. Only a regular file of at most [`MAX_FILE_SIZE`]
    /// bytes is read: a directory, a device (`/dev/zero`), a pipe or a huge file is refused
    /// with a line saying so, before anything is read.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        use std::io::Read;
        let origin = path.display().to_string();
        let error =
            |message: String| ScenarioError { file: origin.clone(), position: None, field: None, message };
        let meta = std::fs::metadata(path).map_err(|e| error(format!("cannot read: {e}")))?;
        if meta.is_dir() {
            return Err(error("is a directory, not a scenario file".to_string()));
        }
        if !meta.is_file() {
            return Err(error(
                "is not a regular file (a device or a pipe?): scenarios are read from files".to_string(),
            ));
        }
        if meta.len() > MAX_FILE_SIZE {
            return Err(error(format!(
                "is {} bytes; a scenario file may have at most {MAX_FILE_SIZE} bytes",
                meta.len()
            )));
        }
        let mut bytes = Vec::new();
        let file = std::fs::File::open(path).map_err(|e| error(format!("cannot read: {e}")))?;
        // The file may grow between the check and the read: read no more than the limit.
        file.take(MAX_FILE_SIZE + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| error(format!("cannot read: {e}")))?;
        if bytes.len() as u64 > MAX_FILE_SIZE {
            return Err(error(format!(
                "has more than {MAX_FILE_SIZE} bytes, the most a scenario file may have"
            )));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            error(format!("is not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()))
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
            keys: self.run_keys(),
            timeline: self.timeline,
        }
    }

    /// The run's keyed requests: a trace with a `key` column makes them keyed, its keys
    /// replacing `[keys]` count and popularity (its cache still applies); else `[keys]`.
    fn run_keys(&self) -> Option<crate::keys::Keys> {
        if let ArrivalSpec::Trace { trace, .. } = &self.arrivals
            && trace.keys.is_some()
        {
            return Some(crate::keys::Keys {
                count: trace.key_count.max(1),
                popularity: crate::keys::Popularity::Uniform,
                cache: self.keys.as_ref().and_then(|k| k.cache),
            });
        }
        self.keys.clone()
    }

    /// The data files this scenario read (its trace, its `empirical:` samples), with what
    /// names each: an output must not overwrite one.
    pub fn data_files(&self) -> Vec<(&'static str, &std::path::Path)> {
        let mut files = Vec::new();
        if let ArrivalSpec::Trace { trace, .. } = &self.arrivals
            && let Some(path) = &trace.path
        {
            files.push(("the trace", path.as_path()));
        }
        if let Dist::Empirical(samples) = &self.service
            && let Some(path) = &samples.path
        {
            files.push(("the service times file", path.as_path()));
        }
        files
    }

    /// The engine configuration, with loads resolved against the cluster's capacity.
    pub fn to_config(&self) -> Result<SimConfig, ConfigError> {
        let mut config = self.skeleton();
        let capacity = config.capacity();
        self.check_loads(capacity)?;
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
            ArrivalSpec::Trace { trace, scale } => {
                Arrivals::Trace { trace: std::sync::Arc::clone(trace), scale: *scale }
            }
        };
        config.validate().map_err(|e| self.blame_trace(e))?;
        Ok(config)
    }

    /// A run too long for virtual time because of what a trace holds is the trace's fault, not
    /// that of `arrivals.rate` or `service`, which the user never wrote: the error names the
    /// trace's file, line and column (its last time, or its largest demand).
    fn blame_trace(&self, e: ConfigError) -> ConfigError {
        let ArrivalSpec::Trace { trace, .. } = &self.arrivals else { return e };
        let at = match e.field.as_str() {
            "arrivals.rate" => trace.marks.last_time,
            "service" if trace.demands.is_some() && e.problem.contains("virtual time") => {
                trace.marks.largest_demand
            }
            _ => return e,
        };
        let file = trace.path.as_ref().map_or(trace.source.clone(), |p| p.display().to_string());
        let place = at.map_or(String::new(), |(line, col)| format!(" line {line}, column {col}"));
        let what = if e.field == "service" { "demands" } else { "times" };
        ConfigError {
            field: "arrivals.file".to_string(),
            problem: format!("{}{place}: the trace's {what}: {}", crate::text::escape(&file), e.problem),
        }
    }
}
