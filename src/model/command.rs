//! Commands: the changes a user (or a recorded session) makes to a run while it goes on, the
//! same for both engines, and their one validation ([`Command::check`]).

use super::config::{Arrivals, MIN_SPEED, RetryPolicy, SimConfig, check_rate};
use crate::metrics::InterventionKind;
use crate::strategy::{Strategy, WorkerId};

/// A change applied between steps.
pub enum Command {
    /// Sets the open-loop arrival rate (requests/s) (for bursty arrivals, the burst rate; the
    /// base rate keeps its ratio). Zero pauses arrivals.
    SetRate(f64),
    /// Replaces the balancing strategy.
    SetStrategy(Box<dyn Strategy>),
    /// Changes a worker's configured speed (the balancer is told); requests already in
    /// service keep their finish time.
    SetWorkerSpeed {
        /// The worker.
        worker: WorkerId,
        /// Its new speed.
        speed: f64,
    },
    /// Slows a worker down by `factor` (1 = back to normal) without telling the balancer.
    SetWorkerSlowdown {
        /// The worker.
        worker: WorkerId,
        /// How many times slower.
        factor: f64,
    },
    /// Crashes (`false`) or repairs (`true`) a worker. A crash loses the requests in service
    /// and fails or requeues the queue; the balancer learns of it as configured.
    SetWorkerUp {
        /// The worker.
        worker: WorkerId,
        /// `false` crashes it, `true` repairs it.
        up: bool,
    },
    /// Sets the probability that a worker fails a request.
    SetWorkerErrorRate {
        /// The worker.
        worker: WorkerId,
        /// Probability of failing a request.
        rate: f64,
    },
    /// Turns retries on (with the given policy) or off.
    SetRetry(Option<RetryPolicy>),
}

impl Command {
    /// What it does, in words, for the event log and the report (`worker 3 crashed`).
    pub fn describe(&self) -> String {
        match self {
            Command::SetRate(r) if *r == 0.0 => "arrivals paused (rate 0/s)".to_string(),
            Command::SetRate(r) => format!("arrival rate set to {r:.0}/s"),
            Command::SetStrategy(s) => format!("strategy switched to {}", s.name()),
            Command::SetWorkerSpeed { worker, speed } => format!("worker {worker} speed set to {speed}"),
            Command::SetWorkerSlowdown { worker, factor } if *factor == 1.0 => {
                format!("worker {worker} back to normal speed")
            }
            Command::SetWorkerSlowdown { worker, factor } => format!("worker {worker} slowed down {factor}x"),
            Command::SetWorkerUp { worker, up: false } => format!("worker {worker} crashed"),
            Command::SetWorkerUp { worker, up: true } => format!("worker {worker} repaired"),
            Command::SetWorkerErrorRate { worker, rate } => {
                format!("worker {worker} fails {:.0}% of requests", rate * 100.0)
            }
            Command::SetRetry(Some(p)) => format!("retries on: up to {} per request", p.max),
            Command::SetRetry(None) => "retries off".to_string(),
        }
    }
}

/// A command that cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The rate of a closed loop is set by its clients.
    #[error("a closed-loop run has no arrival rate to set")]
    ClosedLoop,
    /// No such worker.
    #[error("there is no worker {0}")]
    NoWorker(WorkerId),
    /// A nonsense number.
    #[error("{0}")]
    BadValue(String),
}

impl Command {
    /// Whether the command can be applied to a run of `config` that has `workers` workers
    /// now (retired ones included). Both engines call this before acting: one validation,
    /// one wording of each refusal. (What only one engine cannot do, such as an oracle
    /// strategy in a live run, each checks on its own.)
    pub fn check(&self, config: &SimConfig, workers: usize) -> Result<(), CommandError> {
        let worker = |w: WorkerId| if w < workers { Ok(()) } else { Err(CommandError::NoWorker(w)) };
        match self {
            Command::SetRate(rate) => {
                check_rate("rate", *rate, true).map_err(|e| CommandError::BadValue(e.to_string()))?;
                let mut probe = config.clone();
                match &mut probe.arrivals {
                    Arrivals::Closed { .. } => return Err(CommandError::ClosedLoop),
                    Arrivals::Trace { .. } => return Err(CommandError::BadValue(
                        "the arrivals come from a trace, whose times are fixed (its time scale sets how fast it plays)"
                            .to_string(),
                    )),
                    Arrivals::Poisson { rate: r } | Arrivals::Constant { rate: r } => *r = *rate,
                    Arrivals::Bursty { rate: r, base_rate, .. } => {
                        *base_rate *= if *r > 0.0 { *rate / *r } else { 1.0 };
                        *r = *rate;
                    }
                }
                // The run must still fit in the virtual time lbsim can simulate at the new rate
                // (a rate of 1e-300 would send the next request beyond the end of time).
                if *rate > 0.0 {
                    probe.validate().map_err(|e| CommandError::BadValue(e.to_string()))?;
                }
                Ok(())
            }
            Command::SetStrategy(_) => Ok(()),
            Command::SetWorkerSpeed { worker: w, speed } => {
                worker(*w)?;
                if !(speed.is_finite() && (MIN_SPEED..=1e6).contains(speed)) {
                    return Err(CommandError::BadValue(format!(
                        "speed must be in [{MIN_SPEED}, 1e6], got {speed}"
                    )));
                }
                Ok(())
            }
            Command::SetWorkerSlowdown { worker: w, factor } => {
                worker(*w)?;
                if !(factor.is_finite() && (1.0..=1e6).contains(factor)) {
                    return Err(CommandError::BadValue(format!(
                        "slowdown must be in [1, 1e6], got {factor}"
                    )));
                }
                Ok(())
            }
            Command::SetWorkerUp { worker: w, .. } => worker(*w),
            Command::SetWorkerErrorRate { worker: w, rate } => {
                worker(*w)?;
                if !(0.0..=1.0).contains(rate) {
                    return Err(CommandError::BadValue(format!("error rate must be in [0, 1], got {rate}")));
                }
                Ok(())
            }
            Command::SetRetry(None) => Ok(()),
            Command::SetRetry(Some(p)) => {
                let mut probe = config.clone();
                probe.defences.retry = Some(p.clone());
                probe.validate().map_err(|e| CommandError::BadValue(e.to_string()))
            }
        }
    }

    /// What kind of change it is, for the report's list of interventions.
    pub fn kind(&self) -> InterventionKind {
        match self {
            Command::SetRate(_) => InterventionKind::ArrivalRate,
            Command::SetStrategy(_) => InterventionKind::Strategy,
            Command::SetWorkerSpeed { .. } => InterventionKind::Speed,
            Command::SetWorkerSlowdown { .. } => InterventionKind::Slowdown,
            Command::SetWorkerUp { up: false, .. } => InterventionKind::Crash,
            Command::SetWorkerUp { up: true, .. } => InterventionKind::Repair,
            Command::SetWorkerErrorRate { .. } => InterventionKind::ErrorRate,
            Command::SetRetry(_) => InterventionKind::Retries,
        }
    }
}
