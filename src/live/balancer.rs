//! The balancer: one task that owns the strategy and every worker's pending count, and does
//! nothing but wait for the next thing to happen and deal with it. Pike's loop:
//!
//! ```go
//! for {
//!     select {
//!     case req := <-work: b.dispatch(req)
//!     case w := <-b.done: b.completed(w)
//!     }
//! }
//! ```
//!
//! Only this task reads or writes the pending counts, so there are no locks and no shared
//! counters: the channels carry all the news.

use std::time::{Duration, Instant};

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::LiveOptions;
use super::meter::{Meter, Record};
use super::request::{Done, Reply, Request};
use super::worker::{self, Settings, Worker};
use crate::engine::{Backpressure, Detection, SimConfig, WorkerSpec};
use crate::rng::{SimRng, Stream};
use crate::strategy::{Cluster, Strategy, WorkerView};
use crate::time::Nanos;

/// A change the UI or the fault schedule asks of the running system.
pub enum Control {
    /// Crash a worker: abort its task.
    Crash(usize),
    /// Repair a crashed worker: start a new task.
    Repair(usize),
    /// Slow a worker down (1 = normal); the balancer is not told.
    Slowdown(usize, f64),
    /// Set a worker's error rate.
    ErrorRate(usize, f64),
    /// Set a worker's configured speed (the balancer is told).
    Speed(usize, f64),
    /// Balance with another strategy from now on.
    Strategy(Box<dyn Strategy>),
}

/// What the balancer knows of one worker, published for the UI.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Seen {
    /// Requests sent to it and not answered yet.
    pub pending: u32,
    /// Whether the balancer sends to it.
    pub up: bool,
    /// Whether its task is dead.
    pub crashed: bool,
    /// Its settings.
    pub speed: f64,
    /// Slowdown in force.
    pub slowdown: f64,
    /// Error rate in force.
    pub error_rate: f64,
    /// Latency of its latest answer (scenario ns).
    pub last_latency: Nanos,
}

/// The balancer's state as last published (every few milliseconds).
#[derive(Clone, Debug, Default)]
pub struct View {
    /// One per worker.
    pub workers: Vec<Seen>,
    /// Requests the balancer holds because no worker can take them (blocking backpressure),
    /// plus those waiting in its own channel meanwhile.
    pub blocked: usize,
    /// Requests waiting in the balancer's channel.
    pub queue: usize,
    /// Time spent handling events so far.
    pub busy: Duration,
    /// Events handled so far.
    pub events: u64,
    /// When it was published (scenario time).
    pub at: Nanos,
}

/// How to reach one worker.
struct Slot {
    queue: mpsc::Sender<Request>,
    task: JoinHandle<()>,
    settings: watch::Sender<Settings>,
    epoch: u32,
    crashed: bool,
    checks_failed: u32,
    checks_passed: u32,
}

/// Starts worker tasks (at the beginning and after each repair).
pub struct Hiring {
    /// The workers' specs.
    pub specs: Vec<WorkerSpec>,
    /// The options of the live run.
    pub options: LiveOptions,
    /// Where workers say they are done.
    pub done: mpsc::UnboundedSender<Done>,
    /// Every task of the run is tracked, so shutdown can wait for all of them.
    pub tracker: TaskTracker,
    /// The run's shutdown signal.
    pub shutdown: CancellationToken,
    /// Master seed.
    pub seed: u64,
    /// Where tasks report.
    pub meter: Meter,
}

impl Hiring {
    fn hire(
        &self,
        id: usize,
        epoch: u32,
        settings: watch::Receiver<Settings>,
    ) -> (mpsc::Sender<Request>, JoinHandle<()>) {
        let spec = &self.specs[id];
        // A bounded queue: when it is full, the balancer rejects or waits (backpressure).
        let capacity = spec.queue_capacity.map_or(tokio::sync::Semaphore::MAX_PERMITS, |c| c.max(1) as usize);
        let (tx, rx) = mpsc::channel(capacity);
        let me = Worker {
            id,
            epoch,
            concurrency: spec.concurrency,
            error_kind: spec.error_kind,
            settings,
            done: self.done.clone(),
            work: self.options.work,
            cancel_abandoned: self.options.cancel_abandoned,
            shutdown: self.shutdown.clone(),
            seed: self.seed,
            meter: self.meter.clone(),
        };
        (tx, self.tracker.spawn(worker::work(me, rx)))
    }
}

/// The balancer's state. Only its own task touches it.
pub struct Balancer {
    strategy: Box<dyn Strategy>,
    rng: SimRng,
    /// What it knows of each worker: Pike's pool (pending counts, speed, weight, up).
    pool: Vec<WorkerView>,
    /// The ids of the workers that are up.
    up: Vec<usize>,
    workers: Vec<Slot>,
    /// A request that no worker can take now (blocking backpressure): no new request is read
    /// until it is placed.
    held: Option<Request>,
    backpressure: Backpressure,
    detection: Detection,
    hiring: Hiring,
    meter: Meter,
    view: watch::Sender<View>,
    busy: Duration,
    events: u64,
}

/// What woke the balancer.
enum Event {
    Request(Request),
    Done(Done),
    Control(Control),
    HealthCheck,
    Publish,
    Shutdown,
}

impl Balancer {
    /// A balancer for `config`'s workers, starting their tasks.
    pub fn new(
        config: &SimConfig,
        strategy: Box<dyn Strategy>,
        hiring: Hiring,
        view: watch::Sender<View>,
    ) -> Balancer {
        let pool: Vec<WorkerView> = config
            .workers
            .iter()
            .map(|s| WorkerView { pending: 0, speed: s.speed, weight: s.weight, up: true, last_latency: 0 })
            .collect();
        let workers = config
            .workers
            .iter()
            .enumerate()
            .map(|(id, spec)| {
                let settings = Settings { speed: spec.speed, slowdown: 1.0, error_rate: spec.error_rate };
                let (settings, watcher) = watch::channel(settings);
                let (queue, task) = hiring.hire(id, 0, watcher);
                Slot { queue, task, settings, epoch: 0, crashed: false, checks_failed: 0, checks_passed: 0 }
            })
            .collect();
        let mut b = Balancer {
            strategy,
            rng: SimRng::stream(config.seed, Stream::Strategy),
            up: (0..pool.len()).collect(),
            pool,
            workers,
            held: None,
            backpressure: config.defences.backpressure,
            detection: config.defences.detection,
            meter: hiring.meter.clone(),
            hiring,
            view,
            busy: Duration::ZERO,
            events: 0,
        };
        b.cluster_changed();
        b
    }

    /// The loop: wait for the next event, handle it, again; until shutdown.
    pub async fn balance(
        mut self,
        mut work: mpsc::Receiver<Request>,
        mut done: mpsc::UnboundedReceiver<Done>,
        mut control: mpsc::UnboundedReceiver<Control>,
    ) {
        let check_every = match self.detection {
            Detection::HealthChecks { interval, .. } => self.meter.clock.real(interval),
            _ => Duration::from_secs(3600),
        };
        let mut checks = tokio::time::interval_at((Instant::now() + check_every).into(), check_every);
        let mut publish = tokio::time::interval(Duration::from_millis(10));
        publish.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let shutdown = self.hiring.shutdown.clone();
        loop {
            let event = tokio::select! {
                Some(request) = work.recv(), if self.held.is_none() => Event::Request(request),
                Some(worker) = done.recv() => Event::Done(worker),
                Some(c) = control.recv() => Event::Control(c),
                _ = checks.tick() => Event::HealthCheck,
                _ = publish.tick() => Event::Publish,
                _ = shutdown.cancelled() => Event::Shutdown,
            };
            let started = Instant::now();
            match event {
                Event::Request(request) => self.dispatch(request),
                Event::Done(worker) => self.completed(worker),
                Event::Control(c) => self.control(c),
                Event::HealthCheck => self.health_check(),
                Event::Publish => self.publish(work.len()),
                Event::Shutdown => break,
            }
            self.busy += started.elapsed();
            self.events += 1;
        }
        self.publish(work.len());
    }

    /// Sends a new request to the worker the strategy picks: Pike's `dispatch`.
    fn dispatch(&mut self, request: Request) {
        if let Some(request) = self.place(request) {
            self.cannot_place(request, true);
        }
    }

    /// Tries the held request again, now that something changed.
    fn retry_held(&mut self) {
        if let Some(request) = self.held.take()
            && let Some(request) = self.place(request)
        {
            self.cannot_place(request, false);
        }
    }

    /// Picks a worker and puts the request in its queue; gives the request back if no worker
    /// can take it.
    fn place(&mut self, mut request: Request) -> Option<Request> {
        let now = self.meter.clock.now();
        let cluster = Cluster::new(now, &self.pool, &self.up);
        let Some(w) = self.strategy.pick(&cluster, &mut self.rng) else { return Some(request) };
        request.dispatched = Some(Instant::now());
        match self.workers[w].queue.try_send(request) {
            Ok(()) => {
                self.pool[w].pending += 1;
                let cluster = Cluster::new(now, &self.pool, &self.up);
                self.strategy.on_pending_change(w, &cluster);
                None
            }
            Err(TrySendError::Full(request)) => Some(request),
            // A dead worker nobody noticed: dropping the request drops its reply channel,
            // and the requester hears of the crash.
            Err(TrySendError::Closed(_)) => None,
        }
    }

    /// No worker can take the request: turn it away, or hold it and stop reading new
    /// requests, so that the requesters wait (backpressure).
    fn cannot_place(&mut self, mut request: Request, first_time: bool) {
        match self.backpressure {
            Backpressure::Reject => {
                let _ = request.reply.send(Reply::Rejected);
            }
            Backpressure::Block => {
                if first_time {
                    self.meter.record(Record::Blocked { measured: request.measured });
                }
                request.dispatched = None;
                self.held = Some(request);
            }
        }
    }

    /// A worker finished a request: Pike's `completed`.
    fn completed(&mut self, done: Done) {
        let w = done.worker;
        if self.workers[w].epoch != done.epoch {
            return; // news from before a crash
        }
        let now = self.meter.clock.now();
        let view = &mut self.pool[w];
        view.pending = view.pending.saturating_sub(1);
        if done.answered {
            let latency = self.meter.clock.scenario(done.latency);
            view.last_latency = latency;
            let cluster = Cluster::new(now, &self.pool, &self.up);
            self.strategy.on_response(w, latency, done.ok, &cluster);
        }
        let cluster = Cluster::new(now, &self.pool, &self.up);
        self.strategy.on_pending_change(w, &cluster);
        // Room somewhere: try the held request again.
        self.retry_held();
    }

    fn control(&mut self, control: Control) {
        match control {
            Control::Crash(w) => self.crash(w),
            Control::Repair(w) => self.repair(w),
            Control::Slowdown(w, factor) => {
                self.workers[w].settings.send_modify(|s| s.slowdown = factor);
                let text =
                    if factor > 1.0 { format!("{factor}x slower") } else { "back to normal speed".into() };
                self.notice(format!("worker {w} {text}"));
            }
            Control::ErrorRate(w, rate) => self.workers[w].settings.send_modify(|s| s.error_rate = rate),
            Control::Speed(w, speed) => {
                self.workers[w].settings.send_modify(|s| s.speed = speed);
                self.pool[w].speed = speed;
                self.cluster_changed();
            }
            Control::Strategy(strategy) => {
                self.strategy = strategy;
                self.cluster_changed();
            }
        }
    }

    /// Aborts the worker's task: everything queued there and in service is dropped, reply
    /// channels included. The balancer stops counting what it sent there (the connection
    /// broke); whether it stops sending there depends on how it detects failures.
    fn crash(&mut self, w: usize) {
        let slot = &mut self.workers[w];
        if slot.crashed {
            return;
        }
        slot.task.abort();
        slot.crashed = true;
        slot.epoch += 1;
        self.pool[w].pending = 0;
        self.notice(format!("worker {w} crashed"));
        if self.detection == Detection::Instant {
            self.set_up(w, false);
        }
    }

    /// Starts a new task for a crashed worker.
    fn repair(&mut self, w: usize) {
        let slot = &mut self.workers[w];
        if !slot.crashed {
            return;
        }
        let (queue, task) = self.hiring.hire(w, slot.epoch, slot.settings.subscribe());
        (slot.queue, slot.task, slot.crashed) = (queue, task, false);
        self.notice(format!("worker {w} repaired"));
        if self.detection == Detection::Instant {
            self.set_up(w, true);
        }
    }

    /// Asks every worker whether it is alive (its task is running).
    fn health_check(&mut self) {
        let Detection::HealthChecks { unhealthy, healthy, .. } = self.detection else { return };
        for w in 0..self.workers.len() {
            let slot = &mut self.workers[w];
            let alive = !slot.task.is_finished();
            if alive {
                (slot.checks_passed, slot.checks_failed) = (slot.checks_passed + 1, 0);
            } else {
                (slot.checks_passed, slot.checks_failed) = (0, slot.checks_failed + 1);
            }
            let (passed, failed) = (slot.checks_passed, slot.checks_failed);
            if self.pool[w].up && failed >= unhealthy {
                self.notice(format!("health checks: worker {w} down"));
                self.set_up(w, false);
            } else if !self.pool[w].up && passed >= healthy {
                self.notice(format!("health checks: worker {w} up again"));
                self.set_up(w, true);
            }
        }
    }

    fn set_up(&mut self, w: usize, up: bool) {
        self.pool[w].up = up;
        self.cluster_changed();
    }

    fn cluster_changed(&mut self) {
        self.up = (0..self.pool.len()).filter(|&i| self.pool[i].up).collect();
        let cluster = Cluster::new(self.meter.clock.now(), &self.pool, &self.up);
        self.strategy.on_cluster_change(&cluster);
        self.retry_held();
    }

    fn notice(&self, text: String) {
        self.meter.record(Record::Notice(text));
    }

    /// Shows the UI what the balancer knows.
    fn publish(&self, queue: usize) {
        self.view.send_modify(|view| {
            view.workers.clear();
            view.workers.extend(self.pool.iter().zip(&self.workers).map(|(v, slot)| {
                let s = *slot.settings.borrow();
                Seen {
                    pending: v.pending,
                    up: v.up,
                    crashed: slot.crashed,
                    speed: s.speed / s.slowdown,
                    slowdown: s.slowdown,
                    error_rate: s.error_rate,
                    last_latency: v.last_latency,
                }
            }));
            view.queue = queue;
            view.blocked = if self.held.is_some() { 1 + queue } else { 0 };
            view.busy = self.busy;
            view.events = self.events;
            view.at = self.meter.clock.now();
        });
    }
}
