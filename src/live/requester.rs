//! The requesters: they make up the workload from the scenario's random streams, send each
//! request to the balancer with its own reply channel, and wait for the answer.
//!
//! Open loop: one sender on a timer, and one small task per request that waits for its reply
//! (the sender never waits, so arrivals keep their schedule whatever the latency). Closed
//! loop: Pike's requesters, each a task that sends, waits for its reply, thinks, and again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::meter::{Cause, Meter, Record};
use super::request::{self, Reply, ReplySlot, Request};
use crate::dist::Dist;
use crate::metrics::Ending;
use crate::model::arrivals::OpenLoop;
use crate::model::config::{RetryPolicy, SimConfig, Stop};
use crate::rng::{SimRng, Stream};
use crate::time::Nanos;

/// What the user can change while requesters run.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Open-loop arrival rate (requests/s); `None` for a closed loop.
    pub rate: Option<f64>,
    /// Whether to send at all (space pauses the requesters).
    pub sending: bool,
    /// Retries, if on.
    pub retry: Option<RetryPolicy>,
}

/// The run's two stop signals as flags a task reads without a lock: a `CancellationToken`'s
/// `is_cancelled` takes a mutex every task shares, and waiting on one registers a waiter (both
/// showed in the profile, once a request). Each flag is raised before its token is cancelled,
/// so a task that hears of the cancellation (or of a channel dropped because of it) sees it.
#[derive(Debug, Default)]
pub struct Stopping {
    sending: AtomicBool,
    shutdown: AtomicBool,
}

impl Stopping {
    /// Raised before `stop_sending` is cancelled.
    pub fn stop_sending(&self) {
        self.sending.store(true, Ordering::Release);
    }
    /// Raised before `shutdown` is cancelled (which stops sending too).
    pub fn shut_down(&self) {
        self.sending.store(true, Ordering::Release);
        self.shutdown.store(true, Ordering::Release);
    }
    fn sending_stopped(&self) -> bool {
        self.sending.load(Ordering::Acquire)
    }
    fn is_shut_down(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }
}

/// What every requester shares.
pub struct Requesters {
    /// The balancer's channel (bounded: when it is full, requesters wait to send).
    pub balancer: mpsc::Sender<Request>,
    /// The plan in force.
    pub plan: watch::Receiver<Plan>,
    /// Where they report.
    pub meter: Meter,
    /// Service demands.
    pub service: Dist,
    /// Scenario time before which requests do not count.
    pub warmup: Nanos,
    /// When to stop sending.
    pub stop: Stop,
    /// The deadline of a request, if any.
    pub timeout: Option<Nanos>,
    /// Master seed.
    pub seed: u64,
    /// Cancelled when the run shuts down: requests in flight end as cancelled.
    pub shutdown: CancellationToken,
    /// Cancelled when the requesters are to stop sending (a child of `shutdown`).
    pub stop_sending: CancellationToken,
    /// Tracks every task, so that shutdown can wait for them all.
    pub tracker: TaskTracker,
    /// Retry tokens (a shared bucket: a few instructions under the lock, never across an
    /// `.await`).
    pub retry_tokens: Mutex<f64>,
    /// Closed loop: requests still to send, shared by the clients.
    pub tickets: AtomicU64,
    /// The stop signals as flags (raised by whoever cancels the tokens).
    pub stopping: Arc<Stopping>,
    next_id: AtomicU64,
}

impl Requesters {
    /// The shared part of the requesters of `config`.
    pub fn new(
        config: &SimConfig,
        balancer: mpsc::Sender<Request>,
        plan: watch::Receiver<Plan>,
        meter: Meter,
        shutdown: CancellationToken,
        tracker: TaskTracker,
    ) -> Requesters {
        Requesters {
            balancer,
            plan,
            meter,
            service: config.service.clone(),
            warmup: config.warmup,
            stop: config.stop,
            timeout: config.defences.timeout,
            seed: config.seed,
            stop_sending: shutdown.child_token(),
            shutdown,
            tracker,
            retry_tokens: Mutex::new(RetryPolicy::BUDGET_TOKENS_MAX),
            tickets: AtomicU64::new(match config.stop {
                Stop::Requests(n) => n,
                Stop::Duration(_) => u64::MAX,
            }),
            stopping: Arc::default(),
            next_id: AtomicU64::new(0),
        }
    }

    /// When sending stops (scenario time), for a run of fixed length.
    fn end(&self) -> Option<Nanos> {
        match self.stop {
            Stop::Duration(d) => Some(self.warmup.saturating_add(d)),
            Stop::Requests(_) => None,
        }
    }

    /// Waits until sending is on (it is paused with space); false if sending stopped for good.
    async fn until_sending(&self, plan: &mut watch::Receiver<Plan>) -> bool {
        tokio::select! {
            on = plan.wait_for(|p| p.sending) => on.is_ok(),
            _ = self.stop_sending.cancelled() => false,
        }
    }

    /// Sends one request and waits for its end, in a task of its own (open loop).
    fn spawn_request(self: &Arc<Self>, demand: Nanos, measured: bool) {
        // Reported here rather than in the task: the meter hears of the request before the
        // requester can report that it is done sending, so the run cannot end (all sent, none
        // alive) while the request's task has yet to start.
        self.meter.record(Record::Sent { measured });
        let me = Arc::clone(self);
        self.tracker.spawn(async move { me.serve(demand, measured).await });
    }

    /// One request, from sending to its end, reported to the meter.
    async fn request(&self, demand: Nanos, measured: bool) {
        self.meter.record(Record::Sent { measured });
        self.serve(demand, measured).await
    }

    /// One request sent at `sent` when there is neither a deadline nor a retry policy: one
    /// attempt, awaited right here (no task, no timer, no select over the shutdown signal: a
    /// shutdown drops the request's reply channel, and the flag says why). Reports the same
    /// records as [`Self::request`]; returns when it ended, read once for the latency and the
    /// end. The reply channel is the client's own, armed again for this request.
    async fn request_plain(
        &self,
        slot: &Arc<ReplySlot>,
        id: u64,
        demand: Nanos,
        measured: bool,
        sent: Instant,
        kept: &mut Option<Record>,
    ) -> Instant {
        // The previous request's end, kept back by the client, goes under the same lock.
        match kept.take() {
            Some(end) => self.meter.record_all([
                end,
                Record::Sent { measured },
                Record::Attempt { measured, retry: false },
            ]),
            None => {
                self.meter.record_all([Record::Sent { measured }, Record::Attempt { measured, retry: false }])
            }
        }
        let (reply, answer) = slot.arm();
        let request = Request { id, demand, measured, dispatched: None, reply };
        let answer = match self.balancer.send(request).await {
            Ok(()) => Some(answer.await),
            Err(_) => None, // the balancer has gone: the run is shutting down
        };
        let ended = Instant::now();
        let at = self.meter.clock.since_start(ended);
        // Shutdown first, as in `serve`: a request cut off by it is cancelled, whatever else it
        // saw (an answer that came meanwhile, or its reply channel dropped by the shutdown).
        let (cause, worker) = match answer {
            _ if self.stopping.is_shut_down() => (None, None),
            None => (None, None),
            Some(Ok(Reply::Done { worker, wait, service })) => {
                let clock = &self.meter.clock;
                let end = Ending::Completed {
                    worker,
                    latency: clock.scenario(ended.saturating_duration_since(sent)),
                    wait: clock.scenario(wait),
                    service: clock.scenario(service),
                };
                // Kept back: reported with the client's next request, or before it waits.
                *kept = Some(Record::Ended { measured, end, at });
                return ended;
            }
            Some(Ok(Reply::Failed { worker })) => (Some(Cause::WorkerError), Some(worker)),
            Some(Ok(Reply::Rejected)) => (Some(Cause::Rejected), None),
            Some(Err(_)) => (Some(Cause::Crash), None),
        };
        let end = match cause {
            None => Ending::Cancelled,
            Some(Cause::Rejected) => Ending::Rejected,
            Some(_) => Ending::Failed,
        };
        match cause {
            Some(cause) => self.meter.record_all([
                Record::AttemptFailed { measured, worker, cause },
                Record::Ended { measured, end, at },
            ]),
            None => self.meter.record(Record::Ended { measured, end, at }),
        }
        ended
    }

    /// A request already reported sent, to its end. Every request ends exactly once:
    /// completed, rejected, failed, timed out, or cancelled by shutdown.
    async fn serve(&self, demand: Nanos, measured: bool) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let sent = Instant::now();
        let tries = self.tries(id, demand, measured, sent);
        let deadline = self.timeout.map(|t| sent + self.meter.clock.real(t));
        let end = tokio::select! {
            // Shutdown first: a request cut off by it is cancelled, whatever else it sees.
            biased;
            _ = self.shutdown.cancelled() => Ending::Cancelled,
            end = async {
                match deadline {
                    // The requester gives up at its deadline: dropping `tries` drops the reply
                    // channel it waits on. The worker may still do the work (wasted), unless
                    // the run cancels abandoned work.
                    Some(d) => match tokio::time::timeout_at(d.into(), tries).await {
                        // An answer that came after the deadline (the timer fired late, the
                        // answer won the race) is a timeout, as in the model: never a success
                        // slower than the timeout.
                        Ok(Ending::Completed { latency, .. }) if self.timeout.is_some_and(|t| latency > t) => {
                            let cause = Cause::TimedOut;
                            self.meter.record(Record::AttemptFailed { measured, worker: None, cause });
                            Ending::TimedOut
                        }
                        Ok(end) => end,
                        Err(_) => {
                            let cause = Cause::TimedOut;
                            self.meter.record(Record::AttemptFailed { measured, worker: None, cause });
                            Ending::TimedOut
                        }
                    },
                    None => tries.await,
                }
            } => end,
        };
        self.meter.record(Record::Ended { measured, end, at: self.meter.clock.now() });
    }

    /// Tries, and retries as the plan allows, until an answer or the last failure.
    async fn tries(&self, id: u64, demand: Nanos, measured: bool, sent: Instant) -> Ending {
        let mut jitter = SimRng::substream(self.seed, Stream::Defences, id);
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.meter.record(Record::Attempt { measured, retry: attempt > 1 });
            let (reply, answer) = request::channel();
            let request = Request { id, demand, measured, dispatched: None, reply };
            if self.balancer.send(request).await.is_err() {
                return Ending::Cancelled; // the balancer has gone: the run is shutting down
            }
            let policy = self.plan.borrow().retry.clone();
            let per_try = policy.as_ref().and_then(|p| p.per_try_timeout).map(|t| self.meter.clock.real(t));
            let answer = match per_try {
                Some(t) => tokio::time::timeout(t, answer).await.ok(),
                None => Some(answer.await),
            };
            let (cause, worker) = match answer {
                Some(Ok(Reply::Done { worker, wait, service })) => {
                    let clock = &self.meter.clock;
                    return Ending::Completed {
                        worker,
                        latency: clock.scenario(sent.elapsed()),
                        wait: clock.scenario(wait),
                        service: clock.scenario(service),
                    };
                }
                Some(Ok(Reply::Failed { worker })) => (Cause::WorkerError, Some(worker)),
                Some(Ok(Reply::Rejected)) => (Cause::Rejected, None),
                // The reply channel was dropped unanswered: the worker crashed with it.
                Some(Err(_)) => (Cause::Crash, None),
                None => (Cause::TimedOut, None),
            };
            self.meter.record(Record::AttemptFailed { measured, worker, cause });
            let ended = match cause {
                Cause::Rejected => Ending::Rejected,
                Cause::TimedOut => Ending::TimedOut,
                Cause::WorkerError | Cause::Crash => Ending::Failed,
            };
            let Some(p) = policy.filter(|p| attempt <= p.max) else { return ended };
            if !self.spend_retry_token(&p) {
                return ended;
            }
            // Exponential backoff with full jitter, as in the model.
            let cap = p.backoff.saturating_mul(1u64 << (attempt - 1).min(40)).min(p.max_backoff);
            let backoff = (jitter.unit() * cap as f64) as Nanos;
            tokio::time::sleep(self.meter.clock.real(backoff)).await;
        }
    }

    /// Each request adds `budget` tokens to the bucket (of the retry policy in force); a retry
    /// spends one.
    fn earn_retry_token(&self, retry: Option<&RetryPolicy>) {
        if let Some(budget) = retry.and_then(|p| p.budget) {
            let mut tokens = self.retry_tokens.lock().expect("never poisoned: no panics under it");
            *tokens = (*tokens + budget).min(RetryPolicy::BUDGET_TOKENS_MAX);
        }
    }

    fn spend_retry_token(&self, p: &RetryPolicy) -> bool {
        if p.budget.is_none() {
            return true;
        }
        let mut tokens = self.retry_tokens.lock().expect("never poisoned: no panics under it");
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The open-loop sender: arrival times and demands from the same streams as the model, so a
/// live run sends the same requests at the same (scenario) times.
pub(crate) async fn open_loop(me: Arc<Requesters>, mut arrivals: OpenLoop) {
    let mut arrivals_rng = SimRng::stream(me.seed, Stream::Arrivals);
    let mut service_rng = SimRng::stream(me.seed, Stream::Service);
    let mut plan = me.plan.clone();
    let mut rate = plan.borrow().rate;
    let mut next = arrivals.next_after(0, &mut arrivals_rng);
    let mut left = me.tickets.load(Ordering::Relaxed);
    while left > 0 {
        let Some(t) = next.filter(|&t| me.end().is_none_or(|end| t < end)) else { break };
        let due = me.meter.clock.at(t);
        tokio::select! {
            _ = tokio::time::sleep_until(due.into()) => {}
            changed = plan.changed() => {
                if changed.is_err() { break }
                // Paused, or a new rate: start the arrival process afresh from now (it is
                // memoryless, so nothing is lost).
                if !me.until_sending(&mut plan).await { break }
                let new_rate = plan.borrow_and_update().rate;
                if new_rate != rate {
                    rate = new_rate;
                    arrivals.set_rate(rate.unwrap_or(0.0));
                }
                next = arrivals.next_after(me.meter.clock.now(), &mut arrivals_rng);
                continue;
            }
            _ = me.stop_sending.cancelled() => break,
        }
        me.meter.late(due, Instant::now());
        let measured = t >= me.warmup;
        let demand = arrivals.trace_demand().unwrap_or_else(|| me.service.sample(&mut service_rng));
        me.earn_retry_token(me.plan.borrow().retry.as_ref());
        me.spawn_request(demand, measured);
        if measured {
            left -= 1;
        }
        next = arrivals.next_after(t, &mut arrivals_rng);
    }
    me.meter.record(Record::DoneSending(me.meter.clock.now()));
}

/// Reports the end of a request a client kept back (to report with its next one), before
/// the client waits for anything.
fn report_kept(meter: &Meter, kept: &mut Option<Record>) {
    if let Some(end) = kept.take() {
        meter.record(end);
    }
}

/// A closed-loop client: Pike's requester. Sends, waits for the answer, thinks, again.
///
/// Without a deadline or a retry policy, each request is awaited inline
/// (`Requesters::request_plain`). A thought under a microsecond, or already over when it is
/// checked, goes through no timer, which would round it up to the timer's next 1 ms tick.
/// The plan is read again only when it changed, and one clock read serves as the end of one
/// request and the start of the next thought.
pub async fn client(me: Arc<Requesters>, index: u32, think: Dist) {
    let mut think_rng = SimRng::substream(me.seed, Stream::Arrivals, index as u64);
    let mut service_rng = SimRng::substream(me.seed, Stream::Service, index as u64);
    let mut plan = me.plan.clone();
    let mut current = plan.borrow_and_update().clone();
    // Ids of inline requests: this client's own range (retried requests take theirs from
    // `next_id`, which stays below 2^63).
    let mut next_id = 1 << 63 | (index as u64) << 32;
    // Pike's requester keeps one reply channel: so does this one.
    let slot = ReplySlot::new();
    // The end of the latest request, kept back to go with the next one (under one lock of the
    // meter) when the client sends again at once; reported alone before it waits for anything.
    let mut kept: Option<Record> = None;
    let mut now = Instant::now();
    loop {
        let pause = me.meter.clock.real(think.sample(&mut think_rng));
        // Thinking past the end of the run: stop at the end, not when the thought is over.
        let wake = match me.end() {
            Some(end) => (now + pause).min(me.meter.clock.at(end)),
            None => now + pause,
        };
        // A thought under a microsecond is over by the time anything could check it: it is
        // not waited for (nor the clock read again). Longer ones are, against a fresh read.
        if pause >= Duration::from_micros(1) && wake > now {
            report_kept(&me.meter, &mut kept);
            now = Instant::now();
            if wake > now {
                tokio::select! {
                    _ = tokio::time::sleep_until(wake.into()) => {}
                    _ = me.stop_sending.cancelled() => break,
                }
                now = Instant::now();
            }
        }
        if me.stopping.sending_stopped() {
            break;
        }
        if !current.sending || plan.has_changed().unwrap_or(true) {
            report_kept(&me.meter, &mut kept);
            if !me.until_sending(&mut plan).await {
                break;
            }
            current = plan.borrow_and_update().clone();
            now = Instant::now();
        }
        let at = me.meter.clock.since_start(now);
        if me.end().is_some_and(|end| at >= end) {
            break;
        }
        let measured = at >= me.warmup;
        // The last tickets: once they are gone, every client stops.
        if measured
            && me.tickets.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_err()
        {
            break;
        }
        let demand = me.service.sample(&mut service_rng);
        me.earn_retry_token(current.retry.as_ref());
        if me.timeout.is_none() && current.retry.is_none() {
            now = me.request_plain(&slot, next_id, demand, measured, now, &mut kept).await;
            next_id += 1;
        } else {
            report_kept(&me.meter, &mut kept);
            me.request(demand, measured).await;
            now = Instant::now();
        }
    }
    let done = Record::DoneSending(me.meter.clock.now());
    match kept {
        Some(end) => me.meter.record_all([end, done]),
        None => me.meter.record(done),
    }
}
