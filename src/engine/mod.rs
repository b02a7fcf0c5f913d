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
//! Driving a run lives in `stepping.rs`, the flow in `flow.rs`, faults and defences in
//! `faults.rs`, the state of requests, attempts and workers in `state.rs`. A plain run (one
//! balancer with the global view, open-loop arrivals, no defences) takes its own, shorter
//! loop through the same flow, in `plain.rs`.
//!
//! Layer 3 of the house: this folder imports the model's vocabulary ([`crate::model`]),
//! [`crate::metrics`], [`crate::strategy`] and the foundations; never [`crate::live`] nor
//! anything above (engines, reports, UI). Its old paths for the model's types
//! (`engine::SimConfig`, `engine::Command`, ...) are re-exports. Anything from layer 4 up may
//! import it.

mod disciplines;
mod faults;
mod flow;
mod plain;
mod queue;
mod replicas;
mod slab;
mod slow_start;
mod state;
mod stepping;
mod timeline;

use std::collections::VecDeque;

// The model's vocabulary at its old paths (`engine::SimConfig`, `engine::config::MAX_RATE`,
// `engine::Command`, ...), for the callers that still use them.
pub use crate::model::config::{
    self as config, Arrivals, Assignment, Autoscale, Backpressure, Balancers, ConfigError,
    DEFAULT_MAX_IN_FLIGHT, Defences, Detection, Discipline, ErrorKind, Faults, MAX_BALANCERS, MAX_WORKERS,
    OutlierEjection, QueueFate, RandomCrashes, RetryPolicy, ScaleMetric, ScheduledCrash, SimConfig,
    SlowStart, Slowdown, Stop, View, WorkerSpec,
};
pub use crate::model::{
    Command, CommandError, Ending, Lifecycle, Notice, Snapshot, StopReason, WorkerSnapshot,
};

/// How a request ended: the model's [`Ending`] (its old name here).
pub type Outcome = Ending;

use crate::metrics::timeline::Timeline;
use crate::metrics::{Metrics, WorkerStats};
use crate::model::arrivals::OpenLoop;
use crate::rng::{SimRng, Stream};
use crate::strategy::{Cluster, Strategy, WorkerId, WorkerView};
use crate::time::Nanos;
use queue::{Event, EventQueue};
use slab::Slab;
use state::{Answer, Attempt, Request, RequestRef, Transit, Worker};

/// Marks a request that no closed-loop client waits for.
const NO_CLIENT: u32 = u32::MAX;
/// Notices kept for a UI to read.
const NOTICES: usize = 256;

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
        /// How it ended (never completed).
        outcome: Ending,
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
    /// Whether a plain run may take its own event loop (`plain.rs`); off only to test it
    /// against the general path.
    fast_path: bool,
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
        let views: Vec<WorkerView> = config.workers.iter().map(fresh_view).collect();
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
        let timeline = config.timeline.map(|interval| Timeline::new(interval, config.warmup));
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
            retry_tokens: RetryPolicy::BUDGET_TOKENS_MAX,
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
            fast_path: true,
            config,
        };
        sim.schedule_start();
        Ok(sim)
    }

    /// Schedules what happens first: the warm-up's end, the first requests, the faults.
    fn schedule_start(&mut self) {
        if self.config.warmup > 0 {
            self.events.push(self.config.warmup, Event::WarmupEnd);
        }
        match &self.config.arrivals {
            Arrivals::Closed { clients, think } => {
                for client in 0..*clients {
                    let t = think.sample(&mut self.arrivals_rng);
                    self.events.push(t, Event::ClientSend { client });
                }
            }
            _ => {
                let open = self.open_loop.as_mut().expect("open loop");
                self.next_arrival = open.next_after(0, &mut self.arrivals_rng);
            }
        }
        self.offset_replicas(self.config.defences.balancers.aligned);
        self.register_idle_workers();
        self.schedule_faults();
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
    #[inline(always)]
    fn check_in_flight(&mut self) {
        if self.in_flight_load() > self.max_in_flight {
            self.in_flight_beyond_cap();
        }
    }

    #[cold]
    #[inline(never)]
    fn in_flight_beyond_cap(&mut self) {
        if self.stop_reason.is_none() {
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
            fast_path: self.fast_path,
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

    fn handle(&mut self, event: Event) -> StepKind {
        match event {
            Event::Departure { worker, epoch, attempt } => self.depart(worker as usize, epoch, attempt),
            Event::Share { worker, generation } => self.shared_depart(worker as usize, generation),
            Event::ClientSend { client } => {
                if self.sending {
                    self.arrive(client, None, None)
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
        let in_force;
        let config = match &command {
            // Whether retries can fire depends on the faults in force, not only on those the
            // run started with (lesson 17: `e`, then `t`).
            Command::SetRetry(Some(_)) => {
                in_force = self.config_in_force();
                &in_force
            }
            _ => &self.config,
        };
        command.check(config, self.workers.len())?;
        let (what, kind) = (command.describe(), command.kind());
        let before = self.strategy_name().to_string();
        let switched = matches!(command, Command::SetStrategy(_));
        self.apply_command(command)?;
        self.metrics.settle();
        let after = self.strategy_name().to_string();
        self.metrics.note_command(
            self.now,
            kind,
            what,
            switched.then_some((before.as_str(), after.as_str())),
        );
        Ok(())
    }

    /// The configuration with the workers' faults in force: error rates as commands left them,
    /// and a worker that is down now failing every attempt (as it does, to whoever sends it one).
    fn config_in_force(&self) -> SimConfig {
        let mut config = self.config.clone();
        for (spec, w) in config.workers.iter_mut().zip(&self.workers) {
            spec.error_rate = if w.is_down() { 1.0 } else { w.spec.error_rate };
        }
        config
    }

    /// Applies a command that [`Command::check`] accepted.
    fn apply_command(&mut self, command: Command) -> Result<(), CommandError> {
        match command {
            Command::SetRate(rate) => {
                let open = self.open_loop.as_mut().ok_or(CommandError::ClosedLoop)?;
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
                self.shared_advance(worker);
                let w = &mut self.workers[worker];
                w.spec.speed = speed;
                w.speed = speed / w.slowdown;
                self.shared_reschedule(worker);
                self.views[worker].speed = speed;
                self.cluster_changed();
            }
            Command::SetWorkerSlowdown { worker, factor } => self.set_slowdown(worker, factor),
            Command::SetWorkerUp { worker, up } => {
                if up {
                    self.repair(worker, true);
                } else if !self.workers[worker].is_down() {
                    self.crash(worker);
                }
            }
            Command::SetWorkerErrorRate { worker, rate } => self.workers[worker].spec.error_rate = rate,
            Command::SetRetry(policy) => self.retry = policy,
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
            // Under processor sharing, the requests beyond its concurrency count as queued.
            queued: w.pending() - w.busy(),
            busy: w.busy(),
            concurrency: w.spec.concurrency,
            speed: w.speed,
            slowdown: w.slowdown,
            up: v.up,
            crashed: w.is_down(),
            ejected: w.ejected_until.is_some(),
            lifecycle: w.lifecycle,
            error_rate: w.spec.error_rate,
            weight_share: if w.spec.weight > 0.0 { (v.weight / w.spec.weight).min(1.0) } else { 1.0 },
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

/// What the balancer sees of a worker of `spec` at the start: idle and up.
fn fresh_view(spec: &WorkerSpec) -> WorkerView {
    WorkerView { pending: 0, speed: spec.speed, weight: spec.weight, up: true, last_latency: 0 }
}

#[cfg(test)]
mod tests;
