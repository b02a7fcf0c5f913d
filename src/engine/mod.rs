//! The discrete-event simulation engine.
//!
//! Pure and deterministic: integer virtual time in nanoseconds, one event queue, and random
//! streams derived from one seed ([`crate::rng`]). No wall clock, no I/O, no threads. The
//! caller drives time: [`Sim::step`] processes one event, [`Sim::step_until`] runs to a
//! virtual time, [`Sim::run`] to the end; [`Sim::snapshot`] reads the state and
//! [`Sim::apply`] changes it between steps. A UI is just another caller.

mod arrivals;
pub mod config;
mod queue;

use std::collections::VecDeque;

pub use config::{Arrivals, ConfigError, SimConfig, Stop, WorkerSpec};

use crate::metrics::{Counters, Metrics, WorkerStats};
use crate::rng::{SimRng, Stream};
use crate::strategy::{Cluster, Strategy, WorkerId, WorkerView};
use crate::time::Nanos;
use arrivals::OpenLoop;
use queue::{Event, EventQueue};

/// Marks a request that no closed-loop client waits for.
const NO_CLIENT: u32 = u32::MAX;

/// A request in the system.
#[derive(Clone, Copy, Debug)]
struct Request {
    id: u64,
    /// Arrival at the balancer.
    arrival: Nanos,
    /// Work to do, in time at speed 1.
    demand: Nanos,
    /// Start of service (set when it starts).
    start: Nanos,
    /// The closed-loop client waiting for it, or `NO_CLIENT`.
    client: u32,
    /// Whether it arrived after the warm-up and so counts.
    measured: bool,
}

/// A worker's engine-side state.
#[derive(Debug)]
struct Worker {
    spec: WorkerSpec,
    queue: VecDeque<Request>,
    serving: Vec<Request>,
    /// Bumped when the worker is killed, so its scheduled departures are ignored.
    epoch: u32,
}

impl Worker {
    fn pending(&self) -> u32 {
        (self.queue.len() + self.serving.len()) as u32
    }
}

/// What one call of [`Sim::step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// A request arrived and was sent to `worker`, or rejected when `worker` is `None`.
    Arrival { request: u64, demand: Nanos, worker: Option<WorkerId> },
    /// `worker` finished a request that took `latency` end to end.
    Completion { request: u64, worker: WorkerId, latency: Nanos },
    /// A closed-loop client that has nothing more to send retired.
    ClientRetired { client: u32 },
    /// The warm-up ended; statistics start now.
    WarmupEnded,
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
    /// Sets the open-loop arrival rate [requests/s] (for bursty arrivals, the burst rate; the
    /// base rate keeps its ratio). Zero pauses arrivals.
    SetRate(f64),
    /// Replaces the balancing strategy.
    SetStrategy(Box<dyn Strategy>),
    /// Changes a worker's speed; requests already in service keep their finish time.
    SetWorkerSpeed { worker: WorkerId, speed: f64 },
    /// Kills (`false`) or revives (`true`) a worker. Killing fails every request it holds.
    SetWorkerUp { worker: WorkerId, up: bool },
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
    /// Relative speed.
    pub speed: f64,
    /// Whether the worker is up.
    pub up: bool,
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
    /// One entry per worker.
    pub workers: Vec<WorkerSnapshot>,
    /// The open-loop arrival rate in force [requests/s], `None` for a closed loop.
    pub arrival_rate: Option<f64>,
    /// Whether the run is over.
    pub finished: bool,
}

/// A simulation run.
pub struct Sim {
    config: SimConfig,
    now: Nanos,
    strategy: Box<dyn Strategy>,
    arrivals_rng: SimRng,
    service_rng: SimRng,
    strategy_rng: SimRng,
    events: EventQueue,
    open_loop: Option<OpenLoop>,
    next_arrival: Option<Nanos>,
    /// Whether requesters may still send (false once the request budget is spent).
    sending: bool,
    workers: Vec<Worker>,
    views: Vec<WorkerView>,
    up: Vec<WorkerId>,
    next_id: u64,
    metrics: Metrics,
    window_start: Nanos,
    end: Option<Nanos>,
    finished: bool,
    events_processed: u64,
    /// Requests completed, warm-up included.
    completions: u64,
}

impl Sim {
    /// A new run of `config` balanced by `strategy`, at virtual time 0.
    pub fn new(config: SimConfig, mut strategy: Box<dyn Strategy>) -> Result<Sim, ConfigError> {
        config.validate()?;
        let workers: Vec<Worker> = config
            .workers
            .iter()
            .map(|spec| Worker {
                spec: spec.clone(),
                queue: VecDeque::new(),
                serving: Vec::with_capacity(spec.concurrency.min(64) as usize),
                epoch: 0,
            })
            .collect();
        let views: Vec<WorkerView> = config
            .workers
            .iter()
            .map(|s| WorkerView { pending: 0, speed: s.speed, weight: s.weight, up: true, last_latency: 0 })
            .collect();
        let up: Vec<WorkerId> = (0..workers.len()).collect();
        strategy.on_cluster_change(&Cluster::new(0, &views, &up));
        let metrics = Metrics { workers: vec![WorkerStats::default(); workers.len()], ..Metrics::default() };
        let mut sim = Sim {
            now: 0,
            strategy,
            arrivals_rng: SimRng::stream(config.seed, Stream::Arrivals),
            service_rng: SimRng::stream(config.seed, Stream::Service),
            strategy_rng: SimRng::stream(config.seed, Stream::Strategy),
            events: EventQueue::default(),
            open_loop: OpenLoop::new(&config.arrivals),
            next_arrival: None,
            sending: true,
            workers,
            views,
            up,
            next_id: 0,
            metrics,
            window_start: config.warmup,
            end: match config.stop {
                Stop::Duration(d) => Some(config.warmup.saturating_add(d)),
                Stop::Requests(_) => None,
            },
            finished: false,
            events_processed: 0,
            completions: 0,
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

    /// The strategy's name.
    pub fn strategy_name(&self) -> &str {
        self.strategy.name()
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
        match self.config.stop {
            Stop::Requests(n) => self.metrics.counters.sent as f64 / n as f64,
            Stop::Duration(_) => self.now as f64 / self.end.unwrap_or(1).max(1) as f64,
        }
    }

    /// The time of the next event, if any remains before the end.
    pub fn next_event_time(&self) -> Option<Nanos> {
        if self.finished {
            return None;
        }
        let t = match (self.events.peek_time(), self.next_arrival) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        match self.end {
            Some(end) if t > end => None,
            _ => Some(t),
        }
    }

    /// Processes the next event. Returns `None` when the run is over (then virtual time is at
    /// the end of the run).
    pub fn step(&mut self) -> Option<Step> {
        loop {
            let Some(t) = self.next_event_time() else {
                self.finish();
                return None;
            };
            if let Some(step) = self.process_next(t) {
                return Some(step);
            }
        }
    }

    /// Processes every event up to and including virtual time `t`, then sets the clock to
    /// `t` (or to the end of the run, if that comes first). Returns the number of steps.
    pub fn step_until(&mut self, t: Nanos) -> u64 {
        let mut steps = 0;
        while let Some(next) = self.next_event_time() {
            if next > t {
                break;
            }
            if self.process_next(next).is_some() {
                steps += 1;
            }
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
        if let Some(end) = self.end {
            self.now = self.now.max(end);
        }
        self.finished = true;
        self.settle_worker_stats();
    }

    /// Brings every worker's time integrals up to now.
    fn settle_worker_stats(&mut self) {
        let now = self.now;
        for (w, stats) in self.workers.iter().zip(&mut self.metrics.workers) {
            stats.advance(now, w.pending(), w.serving.len() as u32);
        }
    }

    /// Processes the event at time `t` (the earliest). Returns `None` for an event that had
    /// no visible effect (a departure from a worker killed meanwhile).
    fn process_next(&mut self, t: Nanos) -> Option<Step> {
        debug_assert!(t >= self.now, "time went back from {} to {t}", self.now);
        self.now = t;
        self.events_processed += 1;
        // Scheduled events go before an arrival at the same instant.
        if self.events.peek_time() == Some(t) {
            let (_, event) = self.events.pop().expect("peeked");
            return match event {
                Event::Departure { worker, epoch, request } => self.depart(worker as usize, epoch, request),
                Event::ClientSend { client } => Some(self.client_send(client)),
                Event::WarmupEnd => {
                    self.start_window();
                    Some(Step { time: t, kind: StepKind::WarmupEnded })
                }
            };
        }
        // An open-loop arrival.
        let open = self.open_loop.as_mut().expect("only open loops schedule arrivals");
        self.next_arrival = open.next_after(t, &mut self.arrivals_rng);
        let step = self.arrive(NO_CLIENT);
        if !self.sending {
            self.next_arrival = None;
        }
        Some(step)
    }

    fn client_send(&mut self, client: u32) -> Step {
        if !self.sending {
            return Step { time: self.now, kind: StepKind::ClientRetired { client } };
        }
        self.arrive(client)
    }

    /// A new request arrives at the balancer.
    fn arrive(&mut self, client: u32) -> Step {
        let measured = self.now >= self.window_start;
        let request = Request {
            id: self.next_id,
            arrival: self.now,
            demand: self.config.service.sample(&mut self.service_rng),
            start: 0,
            client,
            measured,
        };
        self.next_id += 1;
        if measured {
            let c = &mut self.metrics.counters;
            c.sent += 1;
            c.in_flight += 1;
            if let Stop::Requests(n) = self.config.stop
                && c.sent >= n
            {
                self.sending = false;
            }
        }
        let cluster = Cluster::new(self.now, &self.views, &self.up);
        let choice = self.strategy.pick(&cluster, &mut self.strategy_rng);
        let worker = match choice {
            Some(w) => {
                assert!(
                    w < self.workers.len() && self.views[w].up,
                    "strategy `{}` picked worker {w}, which is down or does not exist",
                    self.strategy.name()
                );
                self.enqueue(w, request).then_some(w)
            }
            None => None,
        };
        if worker.is_none() {
            self.end_request(&request, Outcome::Rejected);
        }
        Step {
            time: self.now,
            kind: StepKind::Arrival { request: request.id, demand: request.demand, worker },
        }
    }

    /// Hands a request to a worker; false if its queue is full.
    fn enqueue(&mut self, w: WorkerId, request: Request) -> bool {
        let worker = &mut self.workers[w];
        let busy = worker.serving.len() as u32;
        let pending = worker.pending();
        if busy >= worker.spec.concurrency {
            if worker.spec.queue_capacity.is_some_and(|cap| worker.queue.len() as u32 >= cap) {
                return false;
            }
            self.metrics.workers[w].advance(self.now, pending, busy);
            worker.queue.push_back(request);
        } else {
            self.metrics.workers[w].advance(self.now, pending, busy);
            self.start_service(w, request);
        }
        self.pending_changed(w);
        true
    }

    fn start_service(&mut self, w: WorkerId, mut request: Request) {
        let worker = &mut self.workers[w];
        request.start = self.now;
        let service = if worker.spec.speed == 1.0 {
            request.demand
        } else {
            (request.demand as f64 / worker.spec.speed + 0.5) as Nanos
        };
        self.events.push(
            self.now + service,
            Event::Departure { worker: w as u32, epoch: worker.epoch, request: request.id },
        );
        worker.serving.push(request);
    }

    fn depart(&mut self, w: WorkerId, epoch: u32, id: u64) -> Option<Step> {
        let now = self.now;
        let worker = &mut self.workers[w];
        if epoch != worker.epoch {
            return None;
        }
        let i = worker.serving.iter().position(|r| r.id == id).expect("departing request is in service");
        self.metrics.workers[w].advance(now, worker.pending(), worker.serving.len() as u32);
        let request = worker.serving.swap_remove(i);
        if let Some(next) = worker.queue.pop_front() {
            self.start_service(w, next);
        }
        let latency = now - request.arrival;
        self.views[w].last_latency = latency;
        self.completions += 1;
        if let Some(recent) = &mut self.metrics.recent {
            recent.record(now, latency);
        }
        if request.measured {
            let m = &mut self.metrics;
            m.latency.record(latency);
            m.queue_wait.record(request.start - request.arrival);
            m.service.record(now - request.start);
            m.workers[w].completed += 1;
        }
        self.end_request(&request, Outcome::Completed);
        self.pending_changed(w);
        let cluster = Cluster::new(now, &self.views, &self.up);
        self.strategy.on_response(w, latency, &cluster);
        Some(Step { time: now, kind: StepKind::Completion { request: id, worker: w, latency } })
    }

    /// Counts a request's end and, for a closed loop, sends its client back to thinking.
    fn end_request(&mut self, request: &Request, outcome: Outcome) {
        if request.measured {
            let c = &mut self.metrics.counters;
            c.in_flight -= 1;
            match outcome {
                Outcome::Completed => c.completed += 1,
                Outcome::Rejected => c.rejected += 1,
                Outcome::Failed => c.failed += 1,
            }
        }
        if request.client != NO_CLIENT
            && let Arrivals::Closed { think, .. } = &self.config.arrivals
        {
            let t = self.now + think.sample(&mut self.arrivals_rng);
            self.events.push(t, Event::ClientSend { client: request.client });
        }
    }

    fn pending_changed(&mut self, w: WorkerId) {
        let pending = self.workers[w].pending();
        self.views[w].pending = pending;
        let cluster = Cluster::new(self.now, &self.views, &self.up);
        self.strategy.on_pending_change(w, &cluster);
    }

    fn start_window(&mut self) {
        self.window_start = self.now;
        for (w, stats) in self.workers.iter().zip(&mut self.metrics.workers) {
            stats.restart(self.now, w.pending());
        }
    }

    fn cluster_changed(&mut self) {
        self.up = (0..self.views.len()).filter(|&i| self.views[i].up).collect();
        let cluster = Cluster::new(self.now, &self.views, &self.up);
        self.strategy.on_cluster_change(&cluster);
    }

    /// Applies a command at the current virtual time.
    pub fn apply(&mut self, command: Command) -> Result<(), CommandError> {
        let check_worker =
            |w: WorkerId, n: usize| if w < n { Ok(()) } else { Err(CommandError::NoWorker(w)) };
        match command {
            Command::SetRate(rate) => {
                config::check_rate("rate", rate, true).map_err(|e| CommandError::BadValue(e.to_string()))?;
                let open = self.open_loop.as_mut().ok_or(CommandError::ClosedLoop)?;
                open.set_rate(rate);
                if self.sending && !self.finished {
                    self.next_arrival = open.next_after(self.now, &mut self.arrivals_rng);
                }
            }
            Command::SetStrategy(strategy) => {
                self.strategy = strategy;
                self.cluster_changed();
            }
            Command::SetWorkerSpeed { worker, speed } => {
                check_worker(worker, self.workers.len())?;
                if !(speed.is_finite() && speed > 0.0 && speed <= 1e6) {
                    return Err(CommandError::BadValue(format!("speed must be in (0, 1e6], got {speed}")));
                }
                self.workers[worker].spec.speed = speed;
                self.views[worker].speed = speed;
                self.cluster_changed();
            }
            Command::SetWorkerUp { worker, up } => {
                check_worker(worker, self.workers.len())?;
                if self.views[worker].up == up {
                    return Ok(());
                }
                if !up {
                    self.kill(worker);
                }
                self.views[worker].up = up;
                self.cluster_changed();
            }
        }
        Ok(())
    }

    /// Fails every request a worker holds and ignores its scheduled departures.
    fn kill(&mut self, w: WorkerId) {
        let worker = &mut self.workers[w];
        self.metrics.workers[w].advance(self.now, worker.pending(), worker.serving.len() as u32);
        worker.epoch = worker.epoch.wrapping_add(1);
        let lost: Vec<Request> = worker.serving.drain(..).chain(worker.queue.drain(..)).collect();
        for request in &lost {
            self.end_request(request, Outcome::Failed);
        }
        self.views[w].pending = 0;
    }

    /// The state now.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            now: self.now,
            window_start: self.window_start,
            strategy: self.strategy.name().to_string(),
            counters: self.metrics.counters,
            workers: self
                .workers
                .iter()
                .zip(&self.views)
                .zip(&self.metrics.workers)
                .map(|((w, v), s)| WorkerSnapshot {
                    pending: w.pending(),
                    queued: w.queue.len() as u32,
                    busy: w.serving.len() as u32,
                    concurrency: w.spec.concurrency,
                    speed: w.spec.speed,
                    up: v.up,
                    completed: s.completed,
                    last_latency: v.last_latency,
                })
                .collect(),
            arrival_rate: self.open_loop.as_ref().map(|o| if self.sending { o.current_rate() } else { 0.0 }),
            finished: self.finished,
        }
    }

    /// Also keeps the latencies of about the last `width` of virtual time (between `width`
    /// and 1.25 `width`, warm-up included) in [`Metrics::recent`], for a live display.
    pub fn enable_recent_window(&mut self, width: Nanos) {
        self.metrics.recent = Some(crate::metrics::RecentWindow::new(width));
    }

    /// The strategy's explanation of its latest pick, if it gives one.
    pub fn explain_last_pick(&self) -> Option<String> {
        self.strategy.explain_last_pick()
    }

    /// Requests currently held by workers, measured or not (for memory checks).
    pub fn requests_in_system(&self) -> usize {
        self.workers.iter().map(|w| w.pending() as usize).sum()
    }

    /// Events waiting in the queue.
    pub fn queued_events(&self) -> usize {
        self.events.len()
    }
}

#[derive(Clone, Copy, Debug)]
enum Outcome {
    Completed,
    Rejected,
    Failed,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy;
    use crate::time::{MILLIS, SECS};

    fn sim(stop: Stop) -> Sim {
        let mut config = SimConfig::new(
            vec![WorkerSpec::default(); 3],
            Arrivals::Poisson { rate: 200.0 },
            "exp:10ms".parse().unwrap(),
        );
        config.stop = stop;
        Sim::new(config, strategy::build("least-loaded", &Default::default()).unwrap()).unwrap()
    }

    #[test]
    fn bounded_stepping_reaches_the_same_state_as_unbounded() {
        let mut a = sim(Stop::Duration(5 * SECS));
        let mut b = sim(Stop::Duration(5 * SECS));
        a.step_until(2 * SECS);
        let mut calls = 0;
        while !b.step_until_bounded(2 * SECS, 10) {
            calls += 1;
            assert!(b.now() <= 2 * SECS);
        }
        assert!(calls > 10, "the budget was not applied");
        assert_eq!(a.snapshot(), b.snapshot());
        assert_eq!(a.now(), 2 * SECS);
    }

    #[test]
    fn duration_runs_end_at_the_end_and_step_says_so() {
        let mut s = sim(Stop::Duration(SECS));
        s.step_until(10 * SECS);
        assert!(s.is_finished());
        assert_eq!(s.now(), SECS);
        assert_eq!(s.step(), None);
        let snap = s.snapshot();
        assert!(snap.finished && snap.counters.sent > 100 && snap.counters.is_conserved());
    }

    #[test]
    fn killing_a_worker_fails_its_requests_and_the_balancer_avoids_it() {
        let mut s = sim(Stop::Duration(10 * SECS));
        s.step_until(SECS);
        let held = s.snapshot().workers[1].pending as u64;
        let failed_before = s.metrics().counters.failed;
        s.apply(Command::SetWorkerUp { worker: 1, up: false }).unwrap();
        assert_eq!(s.metrics().counters.failed - failed_before, held);
        let completed_by_1 = s.snapshot().workers[1].completed;
        s.step_until(3 * SECS);
        let snap = s.snapshot();
        assert!(!snap.workers[1].up);
        assert_eq!((snap.workers[1].pending, snap.workers[1].completed), (0, completed_by_1));
        s.apply(Command::SetWorkerUp { worker: 1, up: true }).unwrap();
        s.step_until(5 * SECS);
        assert!(s.snapshot().workers[1].completed > completed_by_1);
        assert_eq!(s.apply(Command::SetWorkerUp { worker: 9, up: false }), Err(CommandError::NoWorker(9)));
    }

    #[test]
    fn rate_commands_change_the_arrival_rate() {
        let mut s = sim(Stop::Duration(20 * SECS));
        s.step_until(5 * SECS);
        let before = s.metrics().counters.sent;
        s.apply(Command::SetRate(20.0)).unwrap();
        s.step_until(15 * SECS);
        let sent = s.metrics().counters.sent - before;
        assert!((100..320).contains(&sent), "{sent} requests in 10 s at 20/s");
        assert_eq!(s.snapshot().arrival_rate, Some(20.0));
        assert!(matches!(s.apply(Command::SetRate(-1.0)), Err(CommandError::BadValue(_))));
    }

    #[test]
    fn the_recent_window_follows_virtual_time() {
        let mut s = sim(Stop::Duration(20 * SECS));
        s.enable_recent_window(2 * SECS);
        s.step_until(10 * SECS);
        let recent = s.metrics().recent.as_ref().unwrap().merged(s.now());
        // About 200/s over 2 to 2.5 seconds.
        assert!((330..560).contains(&recent.count()), "{}", recent.count());
        assert!(recent.mean() > MILLIS as f64);
    }
}
