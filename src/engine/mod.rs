//! The discrete-event simulation engine.
//!
//! Pure and deterministic: integer virtual time in nanoseconds, one event queue, and random
//! streams derived from one seed ([`crate::rng`]). No wall clock, no I/O, no threads. The
//! caller drives time: [`Sim::step`] processes one event, [`Sim::step_until`] runs to a
//! virtual time, [`Sim::run`] to the end; [`Sim::snapshot`] reads the state and
//! [`Sim::apply`] changes it between steps. A UI is just another caller.
//!
//! A *request* is what a requester sends; it ends exactly once, as completed, rejected,
//! failed or timed out. Each try at serving it is an *attempt*: the first, then one per retry.
//! Attempts travel to a worker (after a network delay, if any), wait and are served there,
//! and their answer travels back to the balancer, which completes the request or retries it.
//! The flow lives in `flow.rs`, faults and defences in `faults.rs`.

pub(crate) mod arrivals;
pub mod config;
mod faults;
mod flow;
mod queue;
mod replicas;
mod slab;
mod slow_start;
mod timeline;

use std::collections::VecDeque;

use smallvec::SmallVec;

pub use config::{
    Arrivals, Assignment, Autoscale, Backpressure, Balancers, ConfigError, DEFAULT_MAX_IN_FLIGHT, Defences,
    Detection, ErrorKind, Faults, MAX_BALANCERS, MAX_WORKERS, OutlierEjection, QueueFate, RandomCrashes,
    RetryPolicy, ScaleMetric, ScheduledCrash, SimConfig, SlowStart, Slowdown, Stop, View, WorkerSpec,
};

use crate::metrics::{Metrics, WorkerStats};
use crate::rng::{SimRng, Stream};
use crate::strategy::{Cluster, Strategy, WorkerId, WorkerView};
use crate::time::Nanos;
use arrivals::OpenLoop;
use queue::{Event, EventQueue};
use slab::Slab;

/// Marks a request that no closed-loop client waits for.
const NO_CLIENT: u32 = u32::MAX;
/// Notices kept for a UI to read.
const NOTICES: usize = 256;

/// A request sent by a requester, until it ends.
#[derive(Clone, Copy, Debug)]
struct Request {
    id: u64,
    /// When the requester sent it.
    created: Nanos,
    /// Work to do, in time at speed 1 (the same for every attempt).
    demand: Nanos,
    /// The closed-loop client waiting for it, or `NO_CLIENT`.
    client: u32,
    /// Whether it arrived after the warm-up and so counts.
    measured: bool,
    /// Dispatches so far; only the latest dispatch's attempt may answer for the request.
    tries: u32,
    /// Attempts actually made (sent to a worker or turned away), for the retry limit.
    attempts: u32,
    /// Distinguishes this request from later ones in the same slab slot.
    generation: u32,
    /// A retry is scheduled: no earlier attempt's answer counts any more.
    waiting_retry: bool,
    /// It has waited at the balancer at least once (counted once in `blocked`).
    held: bool,
    /// The balancer replica it reached (all its attempts go through it). (Its key, when
    /// requests are keyed, is kept beside the slab, in `Sim::request_keys`, so that a request
    /// stays 48 bytes.)
    replica: u16,
}

/// A reference to a request that may have ended meanwhile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RequestRef {
    slot: u32,
    generation: u32,
}

/// One try at serving a request.
#[derive(Clone, Copy, Debug)]
struct Attempt {
    id: u64,
    request: RequestRef,
    /// Which try (1 for the first).
    try_no: u32,
    /// The worker it was sent to.
    worker: u32,
    /// When the balancer sent it.
    sent: Nanos,
    /// When its service began (when it has).
    start: Nanos,
    /// When its service ends (set when it begins: the model draws the time then, and
    /// least-work-left's oracle reads it).
    done: Nanos,
    demand: Nanos,
    /// Whether its request counts (arrived after the warm-up).
    measured: bool,
    /// The balancer replica that sent it (u16 keeps an attempt in one 64-byte cache line).
    replica: u16,
}

/// How an attempt ended, as the balancer hears it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    Ok,
    /// The worker failed it (its error rate).
    WorkerError,
    /// Lost to a crash, or refused by a dead worker.
    Crash,
    /// Turned away: queue full, or no worker available.
    Rejected,
}

/// Something travelling between the balancer and a worker.
#[derive(Clone, Copy, Debug)]
enum Transit {
    /// Picked by a replica, not yet on its way (the dispatch delay).
    Dispatch(Attempt),
    ToWorker(Attempt),
    ToBalancer(Attempt, Answer),
}

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

/// A worker's engine-side state: the truth, of which the balancer sees only its view.
#[derive(Clone, Debug)]
struct Worker {
    spec: WorkerSpec,
    /// The speed in force (the configured speed, divided by any slowdown).
    speed: f64,
    /// The slowdown in force (1 = none).
    slowdown: f64,
    queue: VecDeque<Attempt>,
    /// In service; inline for the usual single slot, to spare a pointer chase per event.
    serving: SmallVec<[Attempt; 1]>,
    /// Bumped at each crash, so departures scheduled before it are ignored.
    epoch: u32,
    /// Nested crash windows in force; down while positive.
    crashes: u32,
    down_since: Nanos,
    lifecycle: Lifecycle,
    /// Attempts the balancer sent it and has not heard back about.
    outstanding: u32,
    /// The balancer's belief from health checks.
    healthy: bool,
    checks_failed: u32,
    checks_passed: u32,
    /// Ejected as an outlier until this time.
    ejected_until: Option<Nanos>,
    /// Ejections so far (the n-th lasts n base ejection times).
    ejections: u32,
    consecutive_errors: u32,
    /// Its cache of keys (keyed requests with a cache only).
    cache: Option<crate::keys::Lru>,
    /// Whether the balancer may send to it by what it knows (kept for the panic threshold,
    /// under which the view may say up when this does not).
    available: bool,
    /// Slow start: the latest ramp, and when it began.
    ramp: u32,
    ramp_since: Nanos,
}

impl Worker {
    fn new(spec: WorkerSpec, lifecycle: Lifecycle) -> Worker {
        Worker {
            speed: spec.speed,
            slowdown: 1.0,
            queue: VecDeque::new(),
            serving: SmallVec::new(),
            epoch: 0,
            crashes: 0,
            down_since: 0,
            lifecycle,
            outstanding: 0,
            healthy: true,
            checks_failed: 0,
            checks_passed: 0,
            ejected_until: None,
            ejections: 0,
            consecutive_errors: 0,
            cache: None,
            available: lifecycle == Lifecycle::Active,
            ramp: 0,
            ramp_since: 0,
            spec,
        }
    }

    fn with_cache(mut self, cache: Option<crate::keys::Cache>) -> Worker {
        self.cache = cache.map(|c| crate::keys::Lru::new(c.size));
        self
    }

    fn pending(&self) -> u32 {
        (self.queue.len() + self.serving.len()) as u32
    }

    fn is_down(&self) -> bool {
        self.crashes > 0
    }
}

/// How a request ended, other than completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Its last attempt was turned away.
    Rejected,
    /// Its last attempt failed (worker error or crash).
    Failed,
    /// The requester gave up on it.
    TimedOut,
}

/// What one call of [`Sim::step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// A new request's first attempt was sent to `worker`, or could not be placed (`None`).
    Arrival {
        /// The request's id.
        request: u64,
        /// Its work, at speed 1 (ns).
        demand: Nanos,
        /// Where it went.
        worker: Option<WorkerId>,
    },
    /// A retry (attempt number `attempt`) was sent to `worker`, or could not be placed.
    Retry {
        /// The request's id.
        request: u64,
        /// The attempt's number (2 for the first retry).
        attempt: u32,
        /// Where it went.
        worker: Option<WorkerId>,
    },
    /// `worker` completed a request that took `latency` end to end.
    Completion {
        /// The request's id.
        request: u64,
        /// The worker that served it.
        worker: WorkerId,
        /// From its arrival to its answer (ns).
        latency: Nanos,
    },
    /// A request ended without success.
    Failure {
        /// The request's id.
        request: u64,
        /// How it ended.
        outcome: Outcome,
    },
    /// A closed-loop client that has nothing more to send retired.
    ClientRetired {
        /// The client.
        client: u32,
    },
    /// The warm-up ended; statistics start now.
    WarmupEnded,
    /// Anything else: an attempt served or lost, a fault, a health check, a scaling tick.
    Internal,
}

/// One processed event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// When it happened.
    pub time: Nanos,
    /// What happened.
    pub kind: StepKind,
}

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
    pub counters: crate::metrics::Counters,
    /// Attempts and errors so far.
    pub attempts: crate::metrics::Attempts,
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
    /// ([`SimConfig::max_in_flight`]): the queues were growing without bound.
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

/// A simulation run.
pub struct Sim {
    config: SimConfig,
    now: Nanos,
    /// The balancer replicas (one by default), each with its strategy and random stream.
    replicas: replicas::Replicas,
    arrivals_rng: SimRng,
    service_rng: SimRng,
    faults_rng: SimRng,
    defences_rng: SimRng,
    /// Keyed requests: the key of each request, from its own stream.
    keys: Option<(crate::keys::KeySampler, SimRng)>,
    /// Keyed requests: each live request's key, by its slot in `requests`.
    request_keys: Vec<u64>,
    events: EventQueue,
    open_loop: Option<OpenLoop>,
    next_arrival: Option<Nanos>,
    /// Whether requesters may still send (false once the request budget is spent).
    sending: bool,
    workers: Vec<Worker>,
    views: Vec<WorkerView>,
    up: Vec<WorkerId>,
    requests: Slab<Request>,
    transit: Slab<Transit>,
    /// Requests waiting for a worker (blocking backpressure), oldest first.
    blocked: VecDeque<RequestRef>,
    /// Re-entrance guard for releasing blocked requests.
    releasing: bool,
    retry: Option<RetryPolicy>,
    retry_tokens: f64,
    next_id: u64,
    next_attempt: u64,
    metrics: Metrics,
    window_start: Nanos,
    end: Option<Nanos>,
    finished: bool,
    events_processed: u64,
    /// Requests completed, warm-up included.
    completions: u64,
    notices: VecDeque<Notice>,
    /// Attempts sent to workers that the balancer has not heard back about (the sum of the
    /// workers' `outstanding`), abandoned ones included.
    attempts_out: u64,
    /// The cap on requests in flight plus `attempts_out`.
    max_in_flight: u64,
    /// Set when the run stopped before its configured end.
    stop_reason: Option<StopReason>,
    /// Autoscaler: consecutive evaluations above / below the thresholds, and the end of the
    /// cooldown.
    scale_above: u32,
    scale_below: u32,
    scale_quiet_until: Nanos,
    /// When the timeline's open interval ends (`Nanos::MAX` without a timeline).
    timeline_due: Nanos,
    /// Below the panic threshold: balancing across every active worker.
    panicking: bool,
}

impl Sim {
    /// A new run of `config` balanced by `strategy`, at virtual time 0. With several
    /// balancer replicas ([`Balancers::count`]), replica 0 runs `strategy` and the others
    /// fresh instances built by its registered name ([`crate::strategy::build`]); for a
    /// strategy that is not registered, use [`Sim::with_replicas`].
    pub fn new(config: SimConfig, strategy: Box<dyn Strategy>) -> Result<Sim, ConfigError> {
        config.validate()?;
        let count = config.defences.balancers.count;
        let strategies = replicas::instances(strategy, count, &config.strategy_params)
            .map_err(|problem| ConfigError { field: "balancers.count".to_string(), problem })?;
        Sim::with_replicas(config, strategies)
    }

    /// A new run of `config` with one strategy instance per balancer replica (as many as
    /// [`Balancers::count`]), at virtual time 0.
    pub fn with_replicas(
        config: SimConfig,
        mut strategies: Vec<Box<dyn Strategy>>,
    ) -> Result<Sim, ConfigError> {
        config.validate()?;
        if strategies.len() != config.defences.balancers.count as usize {
            return Err(ConfigError {
                field: "balancers.count".to_string(),
                problem: format!(
                    "{} replicas need as many strategy instances, got {}",
                    config.defences.balancers.count,
                    strategies.len()
                ),
            });
        }
        let cache = config.keys.as_ref().and_then(|k| k.cache);
        let workers: Vec<Worker> = config
            .workers
            .iter()
            .map(|spec| Worker::new(spec.clone(), Lifecycle::Active).with_cache(cache))
            .collect();
        let views: Vec<WorkerView> = config
            .workers
            .iter()
            .map(|s| WorkerView { pending: 0, speed: s.speed, weight: s.weight, up: true, last_latency: 0 })
            .collect();
        let up: Vec<WorkerId> = (0..workers.len()).collect();
        for s in &mut strategies {
            s.on_cluster_change(&Cluster::new(0, &views, &up));
        }
        let replicas = replicas::Replicas::new(
            config.seed,
            &config.defences.balancers,
            config.defences.view(),
            strategies,
            &views,
            config.keys.is_some(),
        );
        let timeline =
            config.timeline.map(|interval| crate::timeline::Timeline::new(interval, config.warmup));
        let timeline_due = timeline.as_ref().map_or(Nanos::MAX, |t| t.due());
        let metrics = Metrics {
            workers: vec![WorkerStats::default(); workers.len()],
            balancers: replicas.stats(workers.len()),
            timeline,
            ..Metrics::default()
        };
        let mut sim = Sim {
            now: 0,
            replicas,
            arrivals_rng: SimRng::stream(config.seed, Stream::Arrivals),
            service_rng: SimRng::stream(config.seed, Stream::Service),
            faults_rng: SimRng::stream(config.seed, Stream::Faults),
            defences_rng: SimRng::stream(config.seed, Stream::Defences),
            keys: config
                .keys
                .as_ref()
                .map(|k| (crate::keys::KeySampler::new(k), SimRng::stream(config.seed, Stream::Keys))),
            request_keys: Vec::new(),
            events: EventQueue::default(),
            open_loop: OpenLoop::new(&config.arrivals),
            next_arrival: None,
            sending: true,
            workers,
            views,
            up,
            requests: Slab::default(),
            transit: Slab::default(),
            blocked: VecDeque::new(),
            releasing: false,
            retry: config.defences.retry.clone(),
            retry_tokens: RETRY_TOKENS_MAX,
            next_id: 0,
            next_attempt: 0,
            metrics,
            window_start: config.warmup,
            end: match config.stop {
                Stop::Duration(d) => Some(config.warmup.saturating_add(d)),
                Stop::Requests(_) => None,
            },
            finished: false,
            events_processed: 0,
            completions: 0,
            notices: VecDeque::new(),
            scale_above: 0,
            scale_below: 0,
            scale_quiet_until: 0,
            panicking: false,
            attempts_out: 0,
            max_in_flight: config.max_in_flight(),
            stop_reason: None,
            timeline_due,
            config,
        };
        if sim.config.warmup > 0 {
            sim.events.push(sim.config.warmup, Event::WarmupEnd);
        }
        match &sim.config.arrivals {
            Arrivals::Closed { clients, think } => {
                for client in 0..*clients {
                    let t = think.sample(&mut sim.arrivals_rng);
                    sim.events.push(t, Event::ClientSend { client });
                }
            }
            _ => {
                let open = sim.open_loop.as_mut().expect("open loop");
                sim.next_arrival = open.next_after(0, &mut sim.arrivals_rng);
            }
        }
        sim.offset_replicas(sim.config.defences.balancers.aligned);
        sim.register_idle_workers();
        sim.schedule_faults();
        Ok(sim)
    }

    /// The configuration being run.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Current virtual time.
    pub fn now(&self) -> Nanos {
        self.now
    }

    /// Whether the run has reached its end.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Why the run stopped before its configured end (the in-flight cap), if it did.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.stop_reason
    }

    /// What the in-flight cap bounds: the requests in flight (warm-up included), or the
    /// attempts at workers (abandoned ones included), whichever is more.
    pub fn in_flight_load(&self) -> u64 {
        (self.requests.len() as u64).max(self.attempts_out)
    }

    /// Stops the run if requests and attempts in flight went beyond the cap.
    fn check_in_flight(&mut self) {
        if self.stop_reason.is_none() && self.in_flight_load() > self.max_in_flight {
            let reason = StopReason::InFlightCap { limit: self.max_in_flight, at: self.now };
            self.stop_reason = Some(reason);
            self.notice(format!("more than {} requests or attempts in flight: stopped", self.max_in_flight));
        }
    }

    /// An exact copy of the run as it is now, to resume from later; `None` when its strategy
    /// cannot copy itself ([`Strategy::clone_box`]).
    pub fn checkpoint(&self) -> Option<Sim> {
        Some(Sim {
            config: self.config.clone(),
            now: self.now,
            replicas: self.replicas.try_clone()?,
            arrivals_rng: self.arrivals_rng.clone(),
            service_rng: self.service_rng.clone(),
            faults_rng: self.faults_rng.clone(),
            keys: self.keys.clone(),
            defences_rng: self.defences_rng.clone(),
            events: self.events.clone(),
            open_loop: self.open_loop.clone(),
            next_arrival: self.next_arrival,
            sending: self.sending,
            workers: self.workers.clone(),
            views: self.views.clone(),
            up: self.up.clone(),
            requests: self.requests.clone(),
            transit: self.transit.clone(),
            blocked: self.blocked.clone(),
            releasing: self.releasing,
            retry: self.retry.clone(),
            retry_tokens: self.retry_tokens,
            next_id: self.next_id,
            next_attempt: self.next_attempt,
            metrics: self.metrics.clone(),
            window_start: self.window_start,
            end: self.end,
            finished: self.finished,
            events_processed: self.events_processed,
            completions: self.completions,
            notices: self.notices.clone(),
            attempts_out: self.attempts_out,
            max_in_flight: self.max_in_flight,
            stop_reason: self.stop_reason,
            scale_above: self.scale_above,
            scale_below: self.scale_below,
            scale_quiet_until: self.scale_quiet_until,
            timeline_due: self.timeline_due,
            panicking: self.panicking,
            request_keys: self.request_keys.clone(),
        })
    }

    /// The strategy's name.
    pub fn strategy_name(&self) -> &str {
        self.replica_strategy(0).name()
    }

    /// How many balancer replicas the run has.
    pub fn balancer_count(&self) -> usize {
        self.replicas.count()
    }

    /// Everything measured so far.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Events processed so far (including internal ones such as warm-up's end).
    pub fn events_processed(&self) -> u64 {
        self.events_processed
    }

    /// Requests completed so far, warm-up included (for live rates).
    pub fn completions(&self) -> u64 {
        self.completions
    }

    /// Start of the measurement window.
    pub fn window_start(&self) -> Nanos {
        self.window_start
    }

    /// How far the run is, from 0 to 1.
    pub fn progress(&self) -> f64 {
        if self.finished {
            return 1.0;
        }
        let by_stop = match self.config.stop {
            Stop::Requests(n) => self.metrics.counters.sent as f64 / n as f64,
            Stop::Duration(_) => self.now as f64 / self.end.unwrap_or(1).max(1) as f64,
        };
        // A trace stops sending when it ends, whichever comes first.
        match self.config.trace_end() {
            Some(end) => by_stop.max(self.now as f64 / end.max(1) as f64).min(1.0),
            None => by_stop,
        }
    }

    /// The time of the next event, if any remains before the end.
    pub fn next_event_time(&self) -> Option<Nanos> {
        if self.finished || self.stop_reason.is_some() {
            return None;
        }
        let t = match (self.events.peek_time(), self.next_arrival) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        match self.end {
            Some(end) if t > end => None,
            // A request-count run is over once nothing is left in flight, even if periodic
            // events (health checks, autoscaling) would go on for ever.
            None if !self.sending && self.requests.len() == 0 => None,
            _ => Some(t),
        }
    }

    /// Processes the next event. Returns `None` when the run is over (then virtual time is at
    /// the end of the run).
    pub fn step(&mut self) -> Option<Step> {
        let Some(t) = self.next_event_time() else {
            self.finish();
            return None;
        };
        Some(self.process_next(t))
    }

    /// Processes every event up to and including virtual time `t`, then sets the clock to
    /// `t` (or to the end of the run, if that comes first). Returns the number of steps.
    pub fn step_until(&mut self, t: Nanos) -> u64 {
        let mut steps = 0;
        while let Some(next) = self.next_event_time() {
            if next > t {
                break;
            }
            self.process_next(next);
            steps += 1;
        }
        if self.next_event_time().is_none() {
            self.finish();
        }
        if !self.finished {
            self.now = self.now.max(t);
        }
        steps
    }

    /// Like [`step_until`](Sim::step_until), but processes at most `max_events` events.
    /// Returns whether virtual time reached `t` (or the run ended); if not, the clock stays
    /// at the last event processed and a later call continues.
    pub fn step_until_bounded(&mut self, t: Nanos, max_events: u64) -> bool {
        for _ in 0..max_events {
            match self.next_event_time() {
                Some(next) if next <= t => {
                    self.process_next(next);
                }
                _ => {
                    self.step_until(t);
                    return true;
                }
            }
        }
        match self.next_event_time() {
            Some(next) if next <= t => false,
            _ => {
                self.step_until(t);
                true
            }
        }
    }

    /// Processes at most `max_events` events; returns whether the run is over. Lets a caller
    /// run in slices (to draw progress, or to stay responsive).
    pub fn run_events(&mut self, max_events: u64) -> bool {
        for _ in 0..max_events {
            let Some(t) = self.next_event_time() else {
                self.finish();
                return true;
            };
            self.process_next(t);
        }
        self.finished
    }

    /// Runs to the end.
    pub fn run(&mut self) {
        while let Some(t) = self.next_event_time() {
            self.process_next(t);
        }
        self.finish();
    }

    fn finish(&mut self) {
        if self.finished {
            return;
        }
        if let Some(end) = self.end
            && self.stop_reason.is_none()
        {
            self.now = self.now.max(end);
        }
        self.finished = true;
        let now = self.now;
        for (w, stats) in self.workers.iter().zip(&mut self.metrics.workers) {
            stats.advance(now, w.pending(), w.serving.len() as u32);
            if w.is_down() {
                stats.downtime += now - w.down_since.max(self.window_start).min(now);
            }
        }
    }

    /// Processes the event at time `t` (the earliest).
    fn process_next(&mut self, t: Nanos) -> Step {
        debug_assert!(t >= self.now, "time went back from {} to {t}", self.now);
        if t > self.timeline_due {
            self.roll_timeline(t);
        }
        self.now = t;
        self.events_processed += 1;
        // Scheduled events go before an arrival at the same instant.
        if self.events.peek_time() == Some(t) {
            let (_, event) = self.events.pop().expect("peeked");
            let kind = self.handle(event);
            return Step { time: t, kind };
        }
        // An open-loop arrival.
        let open = self.open_loop.as_mut().expect("only open loops schedule arrivals");
        let demand = open.trace_demand();
        self.next_arrival = open.next_after(t, &mut self.arrivals_rng);
        let kind = self.arrive(NO_CLIENT, demand);
        if !self.sending {
            self.next_arrival = None;
        }
        Step { time: t, kind }
    }

    fn handle(&mut self, event: Event) -> StepKind {
        match event {
            Event::Departure { worker, epoch, attempt } => self.depart(worker as usize, epoch, attempt),
            Event::ClientSend { client } => {
                if self.sending {
                    self.arrive(client, None)
                } else {
                    StepKind::ClientRetired { client }
                }
            }
            Event::WarmupEnd => {
                self.start_window();
                StepKind::WarmupEnded
            }
            Event::Deadline { slot, generation } => self.deadline(RequestRef { slot, generation }),
            Event::TryTimeout { slot, generation, try_no } => {
                self.try_timeout(RequestRef { slot, generation }, try_no)
            }
            Event::Retry { slot, generation } => self.retry_now(RequestRef { slot, generation }),
            Event::Transit { slot } => self.transit_arrives(slot),
            Event::Crash { worker } => {
                self.crash(worker as usize);
                StepKind::Internal
            }
            Event::Repair { worker, random } => {
                self.repair(worker as usize, false);
                if random {
                    self.schedule_random_crash(worker as usize);
                }
                StepKind::Internal
            }
            Event::SlowStart { index } => {
                let s = self.config.faults.slowdowns[index as usize];
                self.set_slowdown(s.worker, s.factor);
                StepKind::Internal
            }
            Event::SlowEnd { index } => {
                let s = self.config.faults.slowdowns[index as usize];
                self.set_slowdown(s.worker, 1.0);
                StepKind::Internal
            }
            Event::HealthCheck => {
                self.health_check();
                StepKind::Internal
            }
            Event::Uneject { worker, ejection } => {
                self.uneject(worker as usize, ejection);
                StepKind::Internal
            }
            Event::LoadRefresh => {
                self.refresh_loads();
                StepKind::Internal
            }
            Event::ScaleTick => {
                self.autoscale_tick();
                StepKind::Internal
            }
            Event::SlowStartStep { worker, ramp } => {
                self.slow_start_step(worker as usize, ramp);
                StepKind::Internal
            }
            Event::WorkerReady { worker } => {
                self.worker_ready(worker as usize);
                StepKind::Internal
            }
        }
    }

    fn start_window(&mut self) {
        self.window_start = self.now;
        for (w, stats) in self.workers.iter().zip(&mut self.metrics.workers) {
            stats.restart(self.now, w.pending());
        }
    }

    /// Records a line for a UI's event log.
    fn notice(&mut self, text: String) {
        if self.notices.len() == NOTICES {
            self.notices.pop_front();
        }
        self.notices.push_back(Notice { time: self.now, text });
    }

    /// Takes the notices recorded since the last call (at most the latest 256).
    pub fn take_notices(&mut self) -> Vec<Notice> {
        self.notices.drain(..).collect()
    }

    /// Applies a command at the current virtual time.
    pub fn apply(&mut self, command: Command) -> Result<(), CommandError> {
        let what = command.describe();
        let before = self.strategy_name().to_string();
        let switched = matches!(command, Command::SetStrategy(_));
        self.apply_command(command)?;
        let after = self.strategy_name().to_string();
        self.metrics.note_command(self.now, what, switched.then_some((before.as_str(), after.as_str())));
        Ok(())
    }

    fn apply_command(&mut self, command: Command) -> Result<(), CommandError> {
        let n = self.workers.len();
        let check_worker = |w: WorkerId| if w < n { Ok(()) } else { Err(CommandError::NoWorker(w)) };
        match command {
            Command::SetRate(rate) => {
                config::check_rate("rate", rate, true).map_err(|e| CommandError::BadValue(e.to_string()))?;
                let open = self.open_loop.as_mut().ok_or(CommandError::ClosedLoop)?;
                if open.is_trace() {
                    return Err(CommandError::BadValue(
                        "the arrivals come from a trace, whose times are fixed (its time scale sets how fast it plays)"
                            .to_string(),
                    ));
                }
                open.set_rate(rate);
                if self.sending && !self.finished {
                    self.next_arrival = open.next_after(self.now, &mut self.arrivals_rng);
                }
            }
            Command::SetStrategy(strategy) => {
                let count = self.replicas.count() as u32;
                let strategies = replicas::instances(strategy, count, &self.config.strategy_params)
                    .map_err(CommandError::BadValue)?;
                for (replica, s) in self.replicas.list.iter_mut().zip(strategies) {
                    replica.strategy = s;
                }
                self.replicas.strategies_changed();
                self.cluster_changed();
                self.offset_replicas(self.config.defences.balancers.aligned);
                self.register_idle_workers();
            }
            Command::SetWorkerSpeed { worker, speed } => {
                check_worker(worker)?;
                if !(speed.is_finite() && speed > 0.0 && speed <= 1e6) {
                    return Err(CommandError::BadValue(format!("speed must be in (0, 1e6], got {speed}")));
                }
                let w = &mut self.workers[worker];
                w.spec.speed = speed;
                w.speed = speed / w.slowdown;
                self.views[worker].speed = speed;
                self.cluster_changed();
            }
            Command::SetWorkerSlowdown { worker, factor } => {
                check_worker(worker)?;
                if !(factor.is_finite() && (1.0..=1e6).contains(&factor)) {
                    return Err(CommandError::BadValue(format!(
                        "slowdown must be in [1, 1e6], got {factor}"
                    )));
                }
                self.set_slowdown(worker, factor);
            }
            Command::SetWorkerUp { worker, up } => {
                check_worker(worker)?;
                if up {
                    self.repair(worker, true);
                } else if !self.workers[worker].is_down() {
                    self.crash(worker);
                }
            }
            Command::SetWorkerErrorRate { worker, rate } => {
                check_worker(worker)?;
                if !(0.0..=1.0).contains(&rate) {
                    return Err(CommandError::BadValue(format!("error rate must be in [0, 1], got {rate}")));
                }
                self.workers[worker].spec.error_rate = rate;
            }
            Command::SetRetry(policy) => {
                if let Some(p) = &policy {
                    let mut probe = self.config.clone();
                    probe.defences.retry = Some(p.clone());
                    probe.validate().map_err(|e| CommandError::BadValue(e.to_string()))?;
                }
                self.retry = policy;
            }
        }
        Ok(())
    }

    /// The state now. O(workers): for one worker or one figure, use [`Sim::worker`],
    /// [`Sim::arrival_rate`], [`Sim::retries_on`] or [`Sim::blocked`].
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            now: self.now,
            window_start: self.window_start,
            strategy: self.strategy_name().to_string(),
            counters: self.metrics.counters,
            attempts: self.metrics.attempts,
            workers: (0..self.workers.len()).map(|w| self.worker(w)).collect(),
            arrival_rate: self.arrival_rate(),
            retries_on: self.retries_on(),
            blocked: self.blocked(),
            finished: self.finished,
            stop_reason: self.stop_reason,
        }
    }

    /// One worker's state now. Panics if there is no such worker.
    pub fn worker(&self, id: WorkerId) -> WorkerSnapshot {
        let (w, v, s) = (&self.workers[id], &self.views[id], &self.metrics.workers[id]);
        WorkerSnapshot {
            pending: w.pending(),
            queued: w.queue.len() as u32,
            busy: w.serving.len() as u32,
            concurrency: w.spec.concurrency,
            speed: w.speed,
            slowdown: w.slowdown,
            up: v.up,
            crashed: w.is_down(),
            ejected: w.ejected_until.is_some(),
            lifecycle: w.lifecycle,
            error_rate: w.spec.error_rate,
            completed: s.completed,
            last_latency: v.last_latency,
        }
    }

    /// Workers, retired ones included.
    pub fn worker_count(&self) -> usize {
        self.workers.len()
    }

    /// The open-loop arrival rate in force (requests/s); `None` for a closed loop.
    pub fn arrival_rate(&self) -> Option<f64> {
        self.open_loop.as_ref().map(|o| if self.sending { o.current_rate() } else { 0.0 })
    }

    /// Whether retries are on.
    pub fn retries_on(&self) -> bool {
        self.retry.is_some()
    }

    /// Requests waiting at the balancer (blocking backpressure).
    pub fn blocked(&self) -> usize {
        self.blocked.len()
    }

    /// Also keeps the latencies of about the last `width` of virtual time (between `width`
    /// and 1.25 `width`, of the measured requests only, as the totals) in [`Metrics::recent`], for a live display.
    pub fn enable_recent_window(&mut self, width: Nanos) {
        self.metrics.recent = Some(crate::metrics::RecentWindow::new(width));
    }

    /// The strategy's explanation of its latest pick, if it gives one; with several
    /// balancer replicas, it names the replica that picked (`balancer 3 of 10: ...`).
    pub fn explain_last_pick(&self) -> Option<String> {
        let r = self.replicas.last as usize;
        let why = self.replica_strategy(r).explain_last_pick();
        match self.replicas.count() {
            1 => why,
            n => Some(format!("balancer {r} of {n}: {}", why.unwrap_or_default()).trim_end().to_string()),
        }
    }

    /// Whether the balancer is in panic (too few workers available: it balances across all).
    pub fn panicking(&self) -> bool {
        self.panicking
    }

    /// Requests in flight, measured or not (for memory checks).
    pub fn requests_in_system(&self) -> usize {
        self.requests.len()
    }

    fn cluster_changed(&mut self) {
        if self.config.defences.panic_threshold.is_some() {
            self.apply_panic_threshold();
        }
        self.up = (0..self.views.len()).filter(|&i| self.views[i].up).collect();
        self.replicas_cluster_changed();
        // Requests waiting for a worker may now have one.
        if !self.blocked.is_empty() && !self.up.is_empty() {
            self.release_blocked();
        }
    }
}

/// Retry tokens banked at most (see [`RetryPolicy::budget`]).
const RETRY_TOKENS_MAX: f64 = 10.0;

#[cfg(test)]
mod tests;
