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

mod defences;
use crate::metrics::ScaleAction;
use crate::model::Lifecycle;
use crate::model::config::{Backpressure, Defences, Detection, SimConfig, WorkerSpec};
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
    /// An ejected worker's time is up (the n-th ejection).
    Uneject(usize, u32),
    /// A worker added by the autoscaler has started up.
    Ready(usize),
    /// Sent after the user's n-th command: the view says it was handled, so the UI stops
    /// showing that command's effect on its own and reads the balancer's again.
    Handled(u64),
}

/// What the balancer knows of one worker, published for the UI.
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    /// Requests sent to it and not answered yet.
    pub pending: u32,
    /// Whether the balancer sends to it.
    pub up: bool,
    /// Whether its task is dead.
    pub crashed: bool,
    /// Whether it is ejected as an outlier.
    pub ejected: bool,
    /// Where it is in its life (autoscaled pools add and retire workers).
    pub lifecycle: Lifecycle,
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
    /// How many of the user's commands it has handled.
    pub handled: u64,
}

/// How to reach one worker, and what the balancer knows of it beyond its view.
struct Slot {
    /// Its queue; `None` once it has retired (dropping the sender ends its task).
    queue: Option<mpsc::Sender<Request>>,
    task: JoinHandle<()>,
    settings: watch::Sender<Settings>,
    epoch: u32,
    crashed: bool,
    /// Requests sent to it and not answered yet (the view may show an older count).
    pending: u32,
    lifecycle: Lifecycle,
    /// What health checks last concluded.
    healthy: bool,
    checks_failed: u32,
    checks_passed: u32,
    ejected: bool,
    ejections: u32,
    consecutive_errors: u32,
}

impl Slot {
    fn new(
        queue: mpsc::Sender<Request>,
        task: JoinHandle<()>,
        settings: watch::Sender<Settings>,
        lifecycle: Lifecycle,
    ) -> Slot {
        Slot {
            queue: Some(queue),
            task,
            settings,
            epoch: 0,
            crashed: false,
            pending: 0,
            lifecycle,
            healthy: true,
            checks_failed: 0,
            checks_passed: 0,
            ejected: false,
            ejections: 0,
            consecutive_errors: 0,
        }
    }
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
    /// Worker `id`'s spec: workers the autoscaler adds are like the first one.
    fn spec(&self, id: usize) -> &WorkerSpec {
        self.specs.get(id).unwrap_or(&self.specs[0])
    }

    fn hire(
        &self,
        id: usize,
        epoch: u32,
        settings: watch::Receiver<Settings>,
    ) -> (mpsc::Sender<Request>, JoinHandle<()>) {
        let spec = self.spec(id);
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

/// A new worker: its settings channel, its queue and its task.
fn hire(hiring: &Hiring, id: usize, lifecycle: Lifecycle) -> Slot {
    let spec = hiring.spec(id);
    let settings = Settings { speed: spec.speed, slowdown: 1.0, error_rate: spec.error_rate };
    let (settings, watcher) = watch::channel(settings);
    let (queue, task) = hiring.hire(id, 0, watcher);
    Slot::new(queue, task, settings, lifecycle)
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
    defences: Defences,
    hiring: Hiring,
    /// The balancer's own inbox for commands, for timers it sets itself.
    to_self: mpsc::UnboundedSender<Control>,
    /// Autoscaler: evaluations in a row above / below the thresholds, and the cooldown's end.
    scale_above: u32,
    scale_below: u32,
    quiet_until: Instant,
    meter: Meter,
    view: watch::Sender<View>,
    busy: Duration,
    events: u64,
    /// How many of the user's commands it has handled (published in the view).
    handled: u64,
    /// When the event being handled was taken up (the clock is read once per event, or once
    /// per `CLOCK_EVERY` events of a batch).
    at: Instant,
}

/// Events handled after one from the `select!` before it is polled again.
const BATCH: usize = 64;

/// Events of a batch that share one clock reading: the time an event is stamped with (a
/// request's dispatch, the strategy's now) is early by at most the handling of 3 others,
/// about a microsecond at Pike's shape's rate.
const CLOCK_EVERY: usize = 4;

/// What woke the balancer.
enum Event {
    Request(Request),
    Done(Done),
    Control(Control),
    HealthCheck,
    LoadRefresh,
    ScaleTick,
    Publish,
    Shutdown,
}

impl Balancer {
    /// A balancer for `config`'s workers, starting their tasks. `to_self` is the sending end
    /// of the command channel it will read.
    pub fn new(
        config: &SimConfig,
        strategy: Box<dyn Strategy>,
        hiring: Hiring,
        view: watch::Sender<View>,
        to_self: mpsc::UnboundedSender<Control>,
    ) -> Balancer {
        let pool: Vec<WorkerView> = config
            .workers
            .iter()
            .map(|s| WorkerView { pending: 0, speed: s.speed, weight: s.weight, up: true, last_latency: 0 })
            .collect();
        let workers = (0..config.workers.len()).map(|id| hire(&hiring, id, Lifecycle::Active)).collect();
        let mut b = Balancer {
            strategy,
            rng: SimRng::stream(config.seed, Stream::Strategy),
            up: (0..pool.len()).collect(),
            pool,
            workers,
            held: None,
            defences: config.defences.clone(),
            meter: hiring.meter.clone(),
            hiring,
            to_self,
            scale_above: 0,
            scale_below: 0,
            quiet_until: Instant::now(),
            view,
            busy: Duration::ZERO,
            events: 0,
            handled: 0,
            at: Instant::now(),
        };
        b.cluster_changed();
        b.register_idle_workers();
        b
    }

    /// The loop: wait for the next event, handle it, again; until shutdown.
    pub async fn balance(
        mut self,
        mut work: mpsc::Receiver<Request>,
        mut done: mpsc::UnboundedReceiver<Done>,
        mut control: mpsc::UnboundedReceiver<Control>,
    ) {
        let every = |period: Option<Nanos>| {
            let period = period.map_or(Duration::from_secs(3600), |t| self.meter.clock.real(t));
            let mut timer = tokio::time::interval_at((Instant::now() + period).into(), period);
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            timer
        };
        let d = &self.defences;
        let health = match d.detection {
            Detection::HealthChecks { interval, .. } => Some(interval),
            _ => None,
        };
        let (mut checks, mut refresh) = (every(health), every(d.load_refresh));
        let mut scaling = every(d.autoscale.as_ref().map(|a| a.interval));
        let mut publish = tokio::time::interval(Duration::from_millis(10));
        publish.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let shutdown = self.hiring.shutdown.clone();
        // One future for the whole loop (not a new one per pass).
        let mut shutting_down = std::pin::pin!(shutdown.cancelled());
        loop {
            let event = tokio::select! {
                Some(request) = work.recv(), if self.held.is_none() => Event::Request(request),
                Some(worker) = done.recv() => Event::Done(worker),
                Some(c) = control.recv() => Event::Control(c),
                _ = checks.tick() => Event::HealthCheck,
                _ = refresh.tick() => Event::LoadRefresh,
                _ = scaling.tick() => Event::ScaleTick,
                _ = publish.tick() => Event::Publish,
                _ = &mut shutting_down => Event::Shutdown,
            };
            let started = self.tick();
            if !self.handle(event, &work) {
                break;
            }
            // What has come meanwhile is handled now, without going back to the `select!`
            // (a batch of at most BATCH events; the timers and commands wait for its end):
            // answers first, as they make room. The busy time is measured over the batch.
            for i in 1..=BATCH {
                let event = match done.try_recv() {
                    Ok(worker) => Event::Done(worker),
                    Err(_) if self.held.is_none() => match work.try_recv() {
                        Ok(request) => Event::Request(request),
                        Err(_) => break,
                    },
                    Err(_) => break,
                };
                // Events in between share a clock reading (see CLOCK_EVERY).
                if i % CLOCK_EVERY == 0 {
                    self.tick();
                } else {
                    self.events += 1;
                }
                self.handle(event, &work);
            }
            self.busy += started.elapsed();
        }
        self.publish(work.len());
    }

    /// Reads the clock for the event about to be handled.
    fn tick(&mut self) -> Instant {
        self.at = Instant::now();
        self.events += 1;
        self.at
    }

    /// Scenario time of the event being handled.
    fn now(&self) -> Nanos {
        self.meter.clock.since_start(self.at)
    }

    /// Handles one event; false at shutdown.
    fn handle(&mut self, event: Event, work: &mpsc::Receiver<Request>) -> bool {
        match event {
            Event::Request(request) => self.dispatch(request),
            Event::Done(worker) => self.completed(worker),
            Event::Control(c) => {
                let users = matches!(c, Control::Handled(_));
                self.control(c);
                // The user's command is done: show its effect at once.
                if users {
                    self.publish(work.len());
                }
            }
            Event::HealthCheck => self.health_check(),
            Event::LoadRefresh => self.refresh_loads(),
            Event::ScaleTick => self.autoscale_tick(),
            Event::Publish => self.publish(work.len()),
            Event::Shutdown => return false,
        }
        true
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
        let cluster = Cluster::new(self.now(), &self.pool, &self.up);
        let Some(w) = self.strategy.pick(&cluster, &mut self.rng) else { return Some(request) };
        request.dispatched = Some(self.at);
        let Some(queue) = &self.workers[w].queue else { return Some(request) };
        let measured = request.measured;
        // The pick is recorded before the worker can have the request (a place in its queue
        // is reserved first), so that the watcher always hears of a pick before the answer:
        // a worker's `picks` never falls behind its `completed`, even mid-run.
        match queue.try_reserve() {
            Ok(place) => {
                self.meter.record(Record::Picked { measured, worker: w });
                place.send(request);
            }
            Err(TrySendError::Full(())) => return Some(request),
            // A dead worker nobody noticed: dropping the request drops its reply channel,
            // and the requester hears of the crash.
            Err(TrySendError::Closed(())) => {
                self.meter.record(Record::Picked { measured, worker: w });
                return None;
            }
        }
        self.workers[w].pending += 1;
        self.pending_changed(w);
        None
    }

    /// No worker can take the request: turn it away, or hold it and stop reading new
    /// requests, so that the requesters wait (backpressure).
    fn cannot_place(&mut self, mut request: Request, first_time: bool) {
        match self.defences.backpressure {
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
        let slot = &mut self.workers[w];
        slot.pending = slot.pending.saturating_sub(1);
        if done.answered {
            let latency = self.meter.clock.scenario(done.latency);
            self.pool[w].last_latency = latency;
            let cluster = Cluster::new(self.now(), &self.pool, &self.up);
            self.strategy.on_response(w, latency, done.ok, &cluster);
            self.observe_outcome(w, done.ok);
        }
        self.pending_changed(w);
        let slot = &self.workers[w];
        if slot.pending == 0 {
            match slot.lifecycle {
                Lifecycle::Draining => self.retire(w),
                // Join-idle-queue: a worker with nothing left to do is idle.
                _ => self.idle(w),
            }
        }
        // Room somewhere: try the held request again.
        self.retry_held();
    }

    /// A worker's pending count changed: the strategy sees it now, or at the next refresh
    /// when load reports are stale.
    fn pending_changed(&mut self, w: usize) {
        if self.defences.load_refresh.is_none() {
            self.show_pending(w);
        }
    }

    fn show_pending(&mut self, w: usize) {
        if self.pool[w].pending != self.workers[w].pending {
            self.pool[w].pending = self.workers[w].pending;
            let cluster = Cluster::new(self.now(), &self.pool, &self.up);
            self.strategy.on_pending_change(w, &cluster);
        }
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
                self.register_idle_workers();
            }
            Control::Uneject(w, ejection) => {
                let slot = &mut self.workers[w];
                if slot.ejected && slot.ejections == ejection {
                    slot.ejected = false;
                    self.notice(format!("worker {w} back from ejection"));
                    self.update_availability(w);
                }
            }
            Control::Handled(n) => self.handled = n,
            Control::Ready(w) => {
                if self.workers[w].lifecycle == Lifecycle::Starting {
                    self.workers[w].lifecycle = Lifecycle::Active;
                    self.scaled(ScaleAction::Ready, w);
                    self.update_availability(w);
                    self.idle(w);
                }
            }
        }
    }

    fn cluster_changed(&mut self) {
        self.up = (0..self.pool.len()).filter(|&i| self.pool[i].up).collect();
        let cluster = Cluster::new(self.now(), &self.pool, &self.up);
        self.strategy.on_cluster_change(&cluster);
        self.retry_held();
    }

    /// Worker `w` has nothing to do: the strategy hears of it (join-idle-queue keeps a list
    /// of such workers; the others ignore it).
    fn idle(&mut self, w: usize) {
        if !self.strategy.wants_idle() {
            return;
        }
        let cluster = Cluster::new(self.now(), &self.pool, &self.up);
        self.strategy.on_idle(w, &cluster);
    }

    /// Every worker with nothing to do, up and active, is idle (at the start, and for a new
    /// strategy).
    fn register_idle_workers(&mut self) {
        for w in 0..self.workers.len() {
            let slot = &self.workers[w];
            if slot.pending == 0 && !slot.crashed && slot.lifecycle == Lifecycle::Active {
                self.idle(w);
            }
        }
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
                    pending: slot.pending,
                    up: v.up,
                    crashed: slot.crashed,
                    ejected: slot.ejected,
                    lifecycle: slot.lifecycle,
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
            view.handled = self.handled;
        });
    }
}
