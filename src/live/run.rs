//! A live run: the handle the UI and the reports hold. It starts the tasks on a runtime of its
//! own, takes in what they report, passes the user's commands on, and shuts everything down
//! so that no task outlives the run.

use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::balancer::{self, Balancer, Control, Hiring, View};
use super::meter::{Clock, Meter, Record, Records, Tally};
use super::requester::{self, Plan, Requesters, Stopping};
use super::{LiveFigures, LiveOptions, check_supported};
use crate::metrics::timeline::Timeline;
use crate::metrics::{Metrics, WorkerStats};
use crate::model::arrivals::OpenLoop;
use crate::model::config::{Arrivals, SimConfig, Stop};
use crate::model::{Command, CommandError, Lifecycle, Notice, Snapshot, StopReason, WorkerSnapshot};
use crate::rng::{SimRng, Stream};
use crate::strategy::Strategy;
use crate::time::{MILLIS, Nanos};

/// The parts of a running live run.
struct Running {
    runtime: tokio::runtime::Runtime,
    clock: Clock,
    records: Records,
    view: watch::Receiver<View>,
    plan: watch::Sender<Plan>,
    control: mpsc::UnboundedSender<Control>,
    shutdown: CancellationToken,
    stop_sending: CancellationToken,
    /// The same signals as flags, raised before the tokens are cancelled.
    stopping: Arc<Stopping>,
    tracker: TaskTracker,
    /// Requester tasks: each says when it has stopped sending.
    requesters: u32,
    /// When the requesters stopped (for the grace period).
    stopped_sending: Option<Instant>,
}

/// A live run: the handle on its tasks. See the [module documentation](crate::live).
pub struct Live {
    config: SimConfig,
    options: LiveOptions,
    strategy_name: String,
    /// The strategy, until the run starts and hands it to the balancer.
    strategy: Option<Box<dyn Strategy>>,
    running: Option<Running>,
    metrics: Metrics,
    tally: Tally,
    notices: Vec<Notice>,
    view: View,
    plan: Plan,
    /// Scenario time at the end, once finished.
    ended_at: Option<Nanos>,
    sequential: bool,
    /// Why the run stopped early (the in-flight cap), if it did.
    stop_reason: Option<StopReason>,
    /// Whether the warm-up is over and per-worker statistics have restarted.
    window_started: bool,
    /// The time of the balancer's view last added to the per-worker statistics.
    sampled_at: Nanos,
    queue_samples: (u64, u64),
    queue_max: usize,
    alive_max: usize,
    global_queue_max: usize,
    runtime_workers: usize,
    tasks_left: usize,
    wall: Duration,
    /// The user's commands sent to the balancer so far.
    commands: u64,
    /// Changes to workers the user asked for that the balancer's view does not show yet
    /// (with the command's number): the UI shows them at once, so that a second key press
    /// acts on the first one's result (`k` then `r` repairs the worker it crashed).
    asked: Vec<(u64, usize, Asked)>,
    /// The meter's records being taken in (kept for its space).
    batch: Vec<Record>,
}

/// A change to one worker the user asked for.
#[derive(Clone, Copy, Debug)]
enum Asked {
    Up(bool),
    Slowdown(f64),
    ErrorRate(f64),
    Speed(f64),
}

impl Live {
    /// A live run of `config` balanced by `strategy`, not started yet.
    pub fn new(config: SimConfig, strategy: Box<dyn Strategy>, options: LiveOptions) -> Result<Live, String> {
        config.validate().map_err(|e| e.to_string())?;
        check_supported(&config)?;
        super::check_strategy(strategy.as_ref())?;
        if !(options.time_scale.is_finite() && options.time_scale > 0.0) {
            return Err(format!("--time-scale must be a positive number, got {}", options.time_scale));
        }
        if options.thread_count() == 0 {
            return Err("--threads must be at least 1".to_string());
        }
        let n = config.workers.len();
        let plan = Plan {
            rate: OpenLoop::new(&config.arrivals).map(|o| o.current_rate()),
            sending: true,
            retry: config.defences.retry.clone(),
        };
        Ok(Live {
            metrics: Metrics {
                workers: vec![WorkerStats::default(); n],
                timeline: config.timeline.map(|i| Timeline::new(i, config.warmup)),
                ..Metrics::default()
            },
            strategy_name: strategy.name().to_string(),
            strategy: Some(strategy),
            running: None,
            tally: Tally::default(),
            notices: Vec::new(),
            view: View::default(),
            plan,
            ended_at: None,
            sequential: false,
            stop_reason: None,
            window_started: false,
            sampled_at: 0,
            queue_samples: (0, 0),
            queue_max: 0,
            alive_max: 0,
            global_queue_max: 0,
            runtime_workers: 0,
            tasks_left: 0,
            wall: Duration::ZERO,
            commands: 0,
            asked: Vec::new(),
            batch: Vec::new(),
            config,
            options,
        })
    }

    /// Also keeps the latencies of about the last `width` of scenario time, for a live
    /// display (as [`crate::engine::Sim::enable_recent_window`]).
    pub fn enable_recent_window(&mut self, width: Nanos) {
        self.metrics.recent = Some(crate::metrics::RecentWindow::new(width));
    }

    /// Starts the tasks: workers, the balancer, the requesters and the fault schedule.
    pub fn begin(&mut self) -> Result<(), String> {
        let strategy = self.strategy.take().ok_or("the run has already started")?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(self.options.thread_count())
            .thread_name("lbsim-live")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the live runtime: {e}"))?;
        let clock = Clock { start: Instant::now(), scale: self.options.time_scale };
        let (meter, records) = Meter::new(clock);
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let (plan, plan_rx) = watch::channel(self.plan.clone());
        let (view_tx, view) = watch::channel(View::default());
        // The balancer's inbox is bounded: when it is full, requesters wait to send.
        let (work_tx, work_rx) = mpsc::channel(1024);
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let (control, control_rx) = mpsc::unbounded_channel();
        let entered = runtime.enter();
        let hiring = Hiring {
            specs: self.config.workers.clone(),
            options: self.options.clone(),
            done: done_tx,
            tracker: tracker.clone(),
            shutdown: shutdown.clone(),
            seed: self.config.seed,
            meter: meter.clone(),
        };
        let balancer = Balancer::new(&self.config, strategy, hiring, view_tx, control.clone());
        tracker.spawn(balancer.balance(work_rx, done_rx, control_rx));
        let requesters = Arc::new(Requesters::new(
            &self.config,
            work_tx,
            plan_rx,
            meter.clone(),
            shutdown.clone(),
            tracker.clone(),
        ));
        let stop_sending = requesters.stop_sending.clone();
        let stopping = Arc::clone(&requesters.stopping);
        let count = match &self.config.arrivals {
            Arrivals::Closed { clients, think } => {
                for i in 0..*clients {
                    tracker.spawn(requester::client(Arc::clone(&requesters), i, think.clone()));
                }
                *clients
            }
            arrivals => {
                let open = OpenLoop::new(arrivals).expect("an open loop");
                tracker.spawn(requester::open_loop(Arc::clone(&requesters), open));
                1
            }
        };
        drop(requesters);
        self.schedule_faults(&tracker, &shutdown, &control, clock);
        drop(entered);
        self.running = Some(Running {
            runtime,
            clock,
            records,
            view,
            plan,
            control,
            shutdown,
            stop_sending,
            stopping,
            tracker,
            requesters: count,
            stopped_sending: None,
        });
        Ok(())
    }

    /// The scenario's faults, on their schedule: a task sends the balancer a crash, a repair
    /// or a slowdown at each one's time.
    fn schedule_faults(
        &self,
        tracker: &TaskTracker,
        shutdown: &CancellationToken,
        control: &mpsc::UnboundedSender<Control>,
        clock: Clock,
    ) {
        let f = &self.config.faults;
        let mut plan: Vec<(Nanos, Fault)> = Vec::new();
        for c in &f.crashes {
            plan.push((c.at, Fault::Crash(c.worker)));
            plan.push((c.at.saturating_add(c.duration), Fault::Repair(c.worker)));
        }
        for s in &f.slowdowns {
            plan.push((s.from, Fault::Slow(s.worker, s.factor)));
            plan.push((s.to, Fault::Slow(s.worker, 1.0)));
        }
        plan.sort_by_key(|(t, _)| *t);
        let (tx, stop) = (control.clone(), shutdown.clone());
        tracker.spawn(async move {
            for (t, fault) in plan {
                tokio::select! {
                    _ = tokio::time::sleep_until(clock.at(t).into()) => {}
                    _ = stop.cancelled() => return,
                }
                let _ = tx.send(fault.control());
            }
        });
        if let Some(r) = f.random_crashes {
            for w in 0..self.config.workers.len() {
                let mut rng = SimRng::substream(self.config.seed, Stream::Faults, w as u64);
                let (tx, stop) = (control.clone(), shutdown.clone());
                tracker.spawn(async move {
                    loop {
                        for (mean, fault) in [(r.mtbf, Fault::Crash(w)), (r.mttr, Fault::Repair(w))] {
                            let wait = clock.real(rng.exp(mean as f64) as Nanos);
                            tokio::select! {
                                _ = tokio::time::sleep(wait) => {}
                                _ = stop.cancelled() => return,
                            }
                            let _ = tx.send(fault.control());
                        }
                    }
                });
            }
        }
    }

    /// Takes in what the tasks reported, samples the balancer and the runtime, and ends the
    /// run when it is over.
    fn sync(&mut self) {
        let Some(run) = self.running.as_mut() else { return };
        let now = run.clock.now();
        let mut records = std::mem::take(&mut self.batch);
        run.records.take(&mut records);
        self.view = run.view.borrow().clone();
        let handled = self.view.handled;
        self.asked.retain(|&(n, ..)| n > handled);
        let m = run.runtime.metrics();
        self.alive_max = self.alive_max.max(m.num_alive_tasks());
        self.global_queue_max = self.global_queue_max.max(m.global_queue_depth());
        self.runtime_workers = m.num_workers();
        let all_stopped = self.tally.done_sending >= run.requesters as u64;
        let mut stopped_at = all_stopped.then(|| *run.stopped_sending.get_or_insert_with(Instant::now));
        // A run of fixed length stops sending at its end, whether or not every requester has
        // said so yet: a closed-loop client waiting in a long queue says so only once its
        // answer comes (3000 clients ran 9.9 s of a 2 s run with no grace). The grace period
        // runs from the end.
        if let Stop::Duration(d) = self.config.stop {
            let end = self.config.warmup.saturating_add(d);
            if now >= end {
                let at = run.clock.at(end);
                stopped_at = Some(stopped_at.map_or(at, |s| s.min(at)));
            }
        }
        self.absorb(records.drain(..), now);
        self.batch = records;
        self.sample_workers();
        self.queue_max = self.queue_max.max(self.view.queue);
        self.queue_samples = (self.queue_samples.0 + self.view.queue as u64, self.queue_samples.1 + 1);
        // Requests in flight (each a task waiting for its answer) past the cap: the queues are
        // growing without bound. Stop, as the model does, and say why.
        let limit = self.in_flight_cap();
        if self.tally.alive > limit && self.stop_reason.is_none() {
            self.stop_reason = Some(StopReason::InFlightCap { limit, at: now });
            self.notices
                .push(Notice { time: now, text: format!("more than {limit} requests in flight: stopped") });
            return self.finish();
        }
        // Over when the requesters have stopped and every request has ended, or when the
        // grace period for those still in flight is up.
        if let Some(since) = stopped_at
            && ((all_stopped && self.tally.alive == 0) || since.elapsed() >= self.options.grace)
        {
            self.finish();
        }
    }

    fn absorb(&mut self, records: impl IntoIterator<Item = Record>, now: Nanos) {
        for record in records {
            if let Some(text) = self.tally.add(&mut self.metrics, record, now) {
                self.notices.push(Notice { time: now, text });
            }
        }
    }

    /// Ends the run: cancels what is still in flight, waits for every task to end, and shuts
    /// the runtime down.
    fn finish(&mut self) {
        let Some(run) = self.running.take() else { return };
        // A run that ends on its own ends when its last request did (however late this
        // watcher noticed); one cut short (the grace period, the user, the cap) ends now. A run
        // of fixed length stops sending at its end, and what is still in flight gets the grace
        // period: those answers count.
        let over = self.tally.alive == 0 && self.tally.done_sending >= run.requesters as u64;
        let end = if over && self.tally.last_event > 0 { self.tally.last_event } else { run.clock.now() };
        run.stopping.shut_down();
        run.stop_sending.cancel();
        run.shutdown.cancel();
        run.tracker.close();
        // Wait (outside any runtime: this may be called from the UI's) for every task to end.
        let (tx, rx) = std_mpsc::channel();
        let tracker = run.tracker.clone();
        run.runtime.spawn(async move {
            tracker.wait().await;
            let _ = tx.send(());
        });
        let _ = rx.recv_timeout(Duration::from_secs(10));
        let mut records = Vec::new();
        run.records.take(&mut records);
        self.absorb(records, end);
        self.view = run.view.borrow().clone();
        // The waiting task itself may still be winding down: give it a moment.
        let deadline = Instant::now() + Duration::from_secs(1);
        while run.runtime.metrics().num_alive_tasks() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        self.tasks_left = run.runtime.metrics().num_alive_tasks();
        self.wall = run.clock.start.elapsed();
        run.runtime.shutdown_background();
        self.sample_workers();
        // The balancer's last published counts are from before it stopped: answers and
        // cancellations it never heard of still count as pending there. Every request has
        // ended now (answered, or cancelled with its task), so none waits at any worker or at
        // the balancer: the final snapshot agrees with the counters' `in_flight` of 0.
        for seen in &mut self.view.workers {
            seen.pending = 0;
        }
        (self.view.blocked, self.view.queue) = (0, 0);
        self.ended_at = Some(end);
    }

    /// Adds the time since the last sample at the pending counts the balancer published
    /// since (every 10 ms of real time): a Riemann sum over time, sampled at regular times so
    /// that it is not biased towards the moments when something happens.
    fn sample_workers(&mut self) {
        let at = self.view.at;
        if at <= self.sampled_at {
            return;
        }
        self.sampled_at = at;
        // Workers the autoscaler added are measured from when they are first seen.
        while self.metrics.workers.len() < self.view.workers.len() {
            self.metrics.workers.push(WorkerStats::starting_at(at));
        }
        let first = &self.config.workers[0];
        let specs = self.config.workers.iter().chain(std::iter::repeat(first));
        let workers = self.metrics.workers.iter_mut().zip(&self.view.workers).zip(specs);
        if !self.window_started && at >= self.config.warmup {
            // The warm-up is over: per-worker statistics start now, as in the model.
            self.window_started = true;
            for ((stats, seen), _) in workers {
                stats.restart_times(at, seen.pending);
            }
            return;
        }
        if let Some(timeline) = self.metrics.timeline.as_mut() {
            // Intervals that ended since the last sample, as the Riemann sum below counts the
            // time: at the pending counts seen now.
            let (stats, seen) = (&self.metrics.workers, &self.view.workers);
            timeline.close_until(at, seen.len(), |w, t| stats[w].pending_area_at(t, seen[w].pending));
        }
        let first = &self.config.workers[0];
        let specs = self.config.workers.iter().chain(std::iter::repeat(first));
        let workers = self.metrics.workers.iter_mut().zip(&self.view.workers).zip(specs);
        for ((stats, seen), spec) in workers {
            stats.advance(at, seen.pending, seen.pending.min(spec.concurrency));
        }
    }

    /// Waits for news from the tasks (a full block of records, or a [`TICK`](super::meter::TICK)
    /// at most, and never longer than `timeout`), takes it in, and says whether the run is over: for a caller that has nothing else to do (headless runs, tests).
    pub fn wait(&mut self, timeout: Duration) -> bool {
        if let Some(run) = &self.running {
            // Woken by a full block or a tick, not by each record.
            let mut records = std::mem::take(&mut self.batch);
            run.records.wait(timeout, &mut records);
            let now = run.clock.now();
            self.absorb(records.drain(..), now);
            self.batch = records;
        }
        self.sync();
        self.is_finished()
    }

    /// Real time the run took (so far).
    pub fn wall_time(&self) -> Duration {
        match &self.running {
            Some(run) => run.clock.start.elapsed(),
            None => self.wall,
        }
    }

    /// Sends the balancer one of the user's commands, then word that it was handled.
    fn send(&mut self, control: Control) -> Result<(), CommandError> {
        match &self.running {
            Some(run) => {
                self.commands += 1;
                let _ = run.control.send(control);
                let _ = run.control.send(Control::Handled(self.commands));
                Ok(())
            }
            None => Err(CommandError::BadValue("the live run is not running".to_string())),
        }
    }

    /// Sends a change to `worker`, shown at once until the balancer's view shows it.
    fn ask(&mut self, worker: usize, asked: Asked, control: Control) -> Result<(), CommandError> {
        self.send(control)?;
        self.asked.push((self.commands, worker, asked));
        Ok(())
    }

    fn set_plan(&mut self, change: impl FnOnce(&mut Plan)) {
        change(&mut self.plan);
        if let Some(run) = &self.running {
            run.plan.send_replace(self.plan.clone());
        }
    }
}

/// A scheduled fault.
#[derive(Clone, Copy, Debug)]
enum Fault {
    Crash(usize),
    Repair(usize),
    Slow(usize, f64),
}

impl Fault {
    fn control(self) -> Control {
        match self {
            Fault::Crash(w) => Control::Crash(w),
            Fault::Repair(w) => Control::Repair(w),
            Fault::Slow(w, f) => Control::Slowdown(w, f),
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Some(run) = self.running.take() {
            run.stopping.shut_down();
            run.shutdown.cancel();
            run.runtime.shutdown_background();
        }
    }
}

// What the `Engine` trait (`crate::engines`) reads and does, as inherent methods that its
// impl delegates to (this module may not import the trait: it is a layer above).
impl Live {
    /// The configuration being run.
    pub(crate) fn config(&self) -> &SimConfig {
        &self.config
    }
    /// The strategy's name (the latest switched to).
    pub(crate) fn strategy_name(&self) -> &str {
        &self.strategy_name
    }
    /// Scenario time now (real time over the time scale); at the end once finished.
    pub(crate) fn now(&self) -> Nanos {
        match (&self.running, self.ended_at) {
            (_, Some(t)) => t,
            (Some(run), None) => run.clock.now(),
            (None, None) => 0,
        }
    }
    /// Start of the measurement window (the end of the warm-up).
    pub(crate) fn window_start(&self) -> Nanos {
        self.config.warmup.min(self.now())
    }
    /// Whether the run is over.
    pub(crate) fn is_finished(&self) -> bool {
        self.ended_at.is_some()
    }
    /// How far the run is, from 0 to 1.
    pub(crate) fn progress(&self) -> f64 {
        if self.is_finished() {
            return 1.0;
        }
        match self.config.stop {
            Stop::Requests(n) => self.metrics.counters.sent as f64 / n as f64,
            Stop::Duration(d) => self.now() as f64 / (self.config.warmup + d).max(1) as f64,
        }
    }
    /// Everything measured so far.
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }
    /// The whole state now, as the balancer last published it.
    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            now: self.now(),
            window_start: self.window_start(),
            strategy: self.strategy_name.clone(),
            counters: self.metrics.counters,
            attempts: self.metrics.attempts,
            workers: (0..self.worker_count()).map(|w| self.worker(w)).collect(),
            arrival_rate: self.arrival_rate(),
            retries_on: self.retries_on(),
            blocked: self.blocked(),
            finished: self.is_finished(),
            stop_reason: self.stop_reason,
        }
    }
    /// One worker's state now, with the changes asked for that the balancer has not shown yet.
    pub(crate) fn worker(&self, id: usize) -> WorkerSnapshot {
        // Workers the autoscaler adds are like the first one.
        let spec = self.config.workers.get(id).unwrap_or(&self.config.workers[0]);
        let mut seen = self.view.workers.get(id).cloned().unwrap_or(balancer::Seen {
            pending: 0,
            up: true,
            crashed: false,
            ejected: false,
            lifecycle: Lifecycle::Active,
            speed: spec.speed,
            slowdown: 1.0,
            error_rate: spec.error_rate,
            last_latency: 0,
        });
        for &(_, _, asked) in self.asked.iter().filter(|(_, w, _)| *w == id) {
            match asked {
                Asked::Up(up) => seen.crashed = !up,
                // The view's speed is the configured one over the slowdown.
                Asked::Slowdown(factor) => {
                    (seen.speed, seen.slowdown) = (seen.speed * seen.slowdown / factor, factor)
                }
                Asked::ErrorRate(rate) => seen.error_rate = rate,
                Asked::Speed(speed) => seen.speed = speed / seen.slowdown,
            }
        }
        let busy = seen.pending.min(spec.concurrency);
        WorkerSnapshot {
            pending: seen.pending,
            queued: seen.pending - busy,
            busy,
            concurrency: spec.concurrency,
            speed: seen.speed,
            slowdown: seen.slowdown,
            up: seen.up,
            crashed: seen.crashed,
            ejected: seen.ejected,
            lifecycle: seen.lifecycle,
            error_rate: seen.error_rate,
            // The live engine refuses slow start: every worker has its whole weight.
            weight_share: 1.0,
            completed: self.metrics.workers.get(id).map_or(0, |s| s.completed),
            last_latency: seen.last_latency,
        }
    }
    /// Workers, retired ones included.
    pub(crate) fn worker_count(&self) -> usize {
        self.view.workers.len().max(self.config.workers.len())
    }
    /// The open-loop arrival rate in force (requests/s), `None` for a closed loop.
    pub(crate) fn arrival_rate(&self) -> Option<f64> {
        self.plan.rate.map(|r| if self.plan.sending && !self.is_finished() { r } else { 0.0 })
    }
    /// Whether retries are on.
    pub(crate) fn retries_on(&self) -> bool {
        self.plan.retry.is_some()
    }
    /// Requests waiting at the balancer (blocking backpressure).
    pub(crate) fn blocked(&self) -> usize {
        self.view.blocked
    }
    /// Requests completed so far, warm-up included.
    pub(crate) fn completions(&self) -> u64 {
        self.tally.completions
    }
    /// The notices recorded since the last call.
    pub(crate) fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }
    /// Applies a command now (checked by [`Command::check`] first).
    pub(crate) fn apply(&mut self, command: Command) -> Result<(), CommandError> {
        let in_force;
        let config = match &command {
            // Whether retries can fire depends on the faults in force (`e`, `k`), as in the model.
            Command::SetRetry(Some(_)) => {
                let mut config = self.config.clone();
                for (id, spec) in config.workers.iter_mut().enumerate() {
                    let w = self.worker(id);
                    spec.error_rate = if w.crashed { 1.0 } else { w.error_rate };
                }
                in_force = config;
                &in_force
            }
            _ => &self.config,
        };
        command.check(config, self.worker_count())?;
        let (what, kind) = (command.describe(), command.kind());
        let before = self.strategy_name.clone();
        let switched = matches!(command, Command::SetStrategy(_));
        self.apply_command(command)?;
        let (now, after) = (self.now(), self.strategy_name.clone());
        self.metrics.note_command(now, kind, what, switched.then_some((before.as_str(), after.as_str())));
        Ok(())
    }

    /// Takes in what the tasks did so far (a live run cannot be hurried).
    pub(crate) fn poll(&mut self) {
        self.sync();
    }
    /// Marks this run as one of several run one after another (a live comparison).
    pub(crate) fn set_sequential(&mut self, on: bool) {
        self.sequential = on;
    }
    /// Stops or resumes sending new requests (the tasks keep draining).
    pub(crate) fn set_sending(&mut self, on: bool) {
        self.set_plan(|p| p.sending = on);
    }
    /// Whether the run has begun.
    pub(crate) fn started(&self) -> bool {
        self.strategy.is_none()
    }
    /// Begins the run; a failure to start is reported as a notice.
    pub(crate) fn start(&mut self) {
        if let Err(e) = self.begin() {
            self.notices.push(Notice { time: 0, text: e });
        }
    }
    /// Stops the run: stops the requesters, lets requests in flight finish for the grace period
    /// and cancels the rest.
    pub(crate) fn stop(&mut self) {
        let Some(run) = self.running.as_ref() else { return };
        run.stopping.stop_sending();
        run.stop_sending.cancel();
        // Let the requests in flight finish, for the grace period at most. Which are in
        // flight is known only once every requester has said it stopped (a request may be on
        // its way meanwhile): `sync` ends the run then, as soon as none is left.
        let deadline = Instant::now() + self.options.grace;
        while Instant::now() < deadline {
            if self.wait(deadline.saturating_duration_since(Instant::now())) {
                return;
            }
        }
        self.finish();
    }
    /// Why the run stopped early (the in-flight cap), if it did.
    pub(crate) fn stop_reason(&self) -> Option<StopReason> {
        self.stop_reason
    }
    /// Requests in flight, warm-up included.
    pub(crate) fn in_flight(&self) -> u64 {
        self.tally.alive
    }
    /// The cap on requests in flight: past it, the run stops.
    pub(crate) fn in_flight_cap(&self) -> u64 {
        self.config.defences.max_in_flight.unwrap_or(super::LIVE_MAX_IN_FLIGHT)
    }
    /// What only a live run measures, for the report.
    pub(crate) fn live_figures(&self) -> Option<LiveFigures> {
        let l = &self.tally.lateness;
        let ms = |ns: f64| ns / MILLIS as f64;
        let wall = self.wall_time().as_secs_f64();
        Some(LiveFigures {
            time_scale: self.options.time_scale,
            work: self.options.work,
            threads: self.options.thread_count(),
            grace_s: self.options.grace.as_secs_f64(),
            cancel_abandoned: self.options.cancel_abandoned,
            sequential: self.sequential,
            lateness_samples: l.count(),
            lateness_mean_ms: ms(l.mean()),
            lateness_p50_ms: ms(l.quantile(0.5) as f64),
            lateness_p99_ms: ms(l.quantile(0.99) as f64),
            lateness_max_ms: ms(l.max() as f64),
            balancer_utilization: if wall > 0.0 { self.view.busy.as_secs_f64() / wall } else { 0.0 },
            balancer_events: self.view.events,
            balancer_queue_max: self.queue_max,
            balancer_queue_mean: self.queue_samples.0 as f64 / self.queue_samples.1.max(1) as f64,
            runtime_workers: self.runtime_workers,
            runtime_alive_tasks_max: self.alive_max,
            runtime_global_queue_max: self.global_queue_max,
            tasks_left_at_shutdown: self.tasks_left,
        })
    }
}

impl Live {
    /// Applies a command that [`Command::check`] accepted to the running tasks.
    fn apply_command(&mut self, command: Command) -> Result<(), CommandError> {
        match command {
            Command::SetRate(rate) => {
                self.set_plan(|p| p.rate = Some(rate));
                Ok(())
            }
            Command::SetStrategy(s) => {
                super::check_strategy(s.as_ref()).map_err(CommandError::BadValue)?;
                self.strategy_name = s.name().to_string();
                self.send(Control::Strategy(s))
            }
            Command::SetWorkerSpeed { worker, speed } => {
                self.ask(worker, Asked::Speed(speed), Control::Speed(worker, speed))
            }
            Command::SetWorkerSlowdown { worker, factor } => {
                self.ask(worker, Asked::Slowdown(factor), Control::Slowdown(worker, factor))
            }
            Command::SetWorkerUp { worker, up } => {
                let control = if up { Control::Repair(worker) } else { Control::Crash(worker) };
                self.ask(worker, Asked::Up(up), control)
            }
            Command::SetWorkerErrorRate { worker, rate } => {
                self.ask(worker, Asked::ErrorRate(rate), Control::ErrorRate(worker, rate))
            }
            Command::SetRetry(policy) => {
                self.set_plan(|p| p.retry = policy);
                Ok(())
            }
        }
    }
}
