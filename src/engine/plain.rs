//! The plain run's event loop: the usual case of one balancer with the global view, open-loop
//! arrivals and no defences, where a request's life is an arrival and a departure.
//!
//! The general path (`flow.rs`) asks at every step whether a feature is on: a retry policy, a
//! deadline, keys, a network or dispatch delay, backpressure, outlier detection, balancer
//! replicas. Each question is cheap, but a request asks a few dozen of them, and the function
//! calls, copies and returned step kinds around them cost more than the questions. Here the
//! run's configuration has answered them once (`Sim::is_plain`), and a request goes through
//! two short functions that make exactly the changes the general path would: the same state,
//! the same random draws in the same order, the same figures (`tests/plain.rs` runs both
//! loops side by side and compares them after every slice of events). A worker that is not
//! plain at the moment (down, failing, with a bounded queue, draining, not
//! first-come-first-served) takes the general path for that request, and every event other
//! than a departure goes through `Sim::handle` as always.
//!
//! What the configuration answers can change only through a command, between calls that
//! process events, so it is asked once per call ([`Sim::run`], [`Sim::run_events`],
//! [`Sim::step_until`], [`Sim::step_until_bounded`]).

use super::queue::Event;
use super::state::{Attempt, Request, RequestRef};
use super::{Backpressure, Lifecycle, NO_CLIENT, Sim, Stop};
use crate::metrics::Ending;
use crate::strategy::{Cluster, WorkerId};
use crate::time::Nanos;

/// Why [`Sim::run_plain`] stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PlainStop {
    /// No event is left: the run is over.
    Ended,
    /// It processed as many events as it was allowed.
    Spent,
    /// The next event is later than it was asked to go.
    Beyond,
}

impl Sim {
    /// The same run through the general event loop alone, never the plain run's own loop.
    /// The figures are the same either way, only slower: this is how the tests check that
    /// they are.
    pub fn without_fast_path(mut self) -> Sim {
        self.fast_path = false;
        self
    }

    /// Whether the run is plain now (one balancer, open-loop arrivals, no defences): then
    /// [`Sim::run`] and [`Sim::run_events`] take its own, shorter event loop.
    pub fn runs_plain(&self) -> bool {
        self.is_plain()
    }

    /// Whether the run is plain now: open-loop arrivals that are not a trace, one balancer
    /// with the global view whose picks see only the workers, and no keys, retries,
    /// deadlines, delays, blocking or outlier detection.
    pub(super) fn is_plain(&self) -> bool {
        let defences = &self.config.defences;
        self.fast_path
            && self.open_loop.as_ref().is_some_and(|open| !open.is_trace())
            && self.keys.is_none()
            && self.retry.is_none()
            && defences.timeout.is_none()
            && defences.backpressure != Backpressure::Block
            && defences.balancers.dispatch_delay.is_none()
            && defences.outlier.is_none()
            && self.config.faults.network_delay.is_none()
            && self.replicas.is_plain()
            && self.blocked.is_empty()
    }

    /// Processes at most `max_events` events of a plain run, none later than `until`;
    /// returns why it stopped and how many it processed.
    pub(super) fn run_plain(&mut self, max_events: u64, until: Nanos) -> (PlainStop, u64) {
        debug_assert!(self.is_plain());
        for done in 0..max_events {
            let Some((t, scheduled)) = self.next_event() else { return (PlainStop::Ended, done) };
            if t > until {
                return (PlainStop::Beyond, done);
            }
            if t > self.timeline_due {
                self.roll_timeline(t);
            }
            self.now = t;
            self.events_processed += 1;
            if !scheduled {
                self.plain_arrival(t);
                continue;
            }
            match self.events.pop().expect("peeked").1 {
                Event::Departure { worker, epoch, attempt } => {
                    self.plain_departure(worker as usize, epoch, attempt)
                }
                event => self.handle_other(event),
            }
        }
        (PlainStop::Spent, max_events)
    }

    /// An open-loop arrival at `now`: what `process_next`, `arrive`, `dispatch`, `place` and
    /// `send` do for it in a plain run.
    #[inline(always)]
    fn plain_arrival(&mut self, now: Nanos) {
        let open = self.open_loop.as_mut().expect("a plain run is an open loop");
        self.next_arrival = open.next_after(now, &mut self.arrivals_rng);
        let measured = now >= self.window_start;
        let demand = self.config.service.sample(&mut self.service_rng);
        let id = self.next_id;
        self.next_id += 1;
        let generation = id as u32;
        // Its first try, and its first attempt made (as `dispatch` and `count_attempt` count
        // them; nothing reads the request in between).
        let request = Request {
            id,
            created: now,
            demand,
            client: NO_CLIENT,
            measured,
            tries: 1,
            attempts: 1,
            generation,
            waiting_retry: false,
            held: false,
            replica: 0,
        };
        if measured {
            self.metrics.sent();
            self.metrics.last_sent = now;
            if let Stop::Requests(n) = self.config.stop
                && self.metrics.counters.sent >= n
            {
                self.sending = false;
            }
        }
        let slot = self.requests.insert(request);
        self.check_in_flight();
        let mut attempt = Attempt {
            id: self.next_attempt,
            request: RequestRef { slot, generation },
            try_no: 1,
            worker: super::flow::NOT_SENT,
            sent: now,
            start: 0,
            done: 0,
            demand,
            measured,
            replica: 0,
        };
        self.next_attempt += 1;
        self.replicas.last = 0;
        let only = &mut self.replicas.list[0];
        let Some(w) = only.strategy.pick(&Cluster::new(now, &self.views, &self.up), &mut only.rng) else {
            self.plain_rejected(attempt);
            return;
        };
        assert!(
            w < self.workers.len() && self.views[w].up,
            "strategy `{}` picked worker {w}, which is down or does not exist",
            self.replica_strategy(0).name()
        );
        attempt.worker = w as u32;
        if measured {
            self.metrics.attempts.attempts += 1;
            self.metrics.workers[w].picks += 1;
        }
        // Sent: the balancer counts it, and the strategy hears of it.
        let worker = &mut self.workers[w];
        worker.outstanding += 1;
        let outstanding = worker.outstanding;
        self.attempts_out += 1;
        self.check_in_flight();
        self.views[w].pending = outstanding;
        self.plain_pending_changed(w);
        let worker = &mut self.workers[w];
        if worker.is_down()
            || worker.spec.error_rate > 0.0
            || worker.shared.is_some()
            || worker.spec.queue_capacity.is_some()
        {
            self.receive_generally(w, attempt);
        } else {
            let busy = worker.serving.len() as u32;
            self.metrics.workers[w].advance(now, busy + worker.queue.len() as u32, busy);
            if busy < worker.spec.concurrency {
                self.plain_start(w, attempt);
            } else {
                worker.queue.push_back(attempt);
            }
        }
        if !self.sending {
            self.next_arrival = None;
        }
    }

    /// A departure at a worker: what `depart`, `served`, `balancer_receives` and `complete`
    /// do in a plain run.
    #[inline(always)]
    fn plain_departure(&mut self, w: WorkerId, epoch: u32, id: u64) {
        let now = self.now;
        let worker = &mut self.workers[w];
        if epoch != worker.epoch {
            return; // lost in a crash meanwhile
        }
        if worker.spec.error_rate > 0.0 || worker.lifecycle != Lifecycle::Active {
            self.depart_generally(w, epoch, id);
            return;
        }
        let busy = worker.serving.len();
        self.metrics.workers[w].advance(now, (busy + worker.queue.len()) as u32, busy as u32);
        let mut attempt = worker.take_served(id);
        attempt.done = now;
        if let Some(next) = worker.queue.pop_front() {
            self.plain_start(w, next);
        }
        let current = self.count_served(attempt);
        let worker = &mut self.workers[w];
        // Join-idle-queue: an idle worker says so to the balancer before its answer arrives.
        // (The flag first: whether the worker is idle now is a coin toss.)
        if self.replicas.hear_idle() && worker.queue.is_empty() && worker.serving.is_empty() {
            self.worker_idle(w);
        }
        // The balancer hears the answer.
        let worker = &mut self.workers[w];
        worker.outstanding -= 1;
        let outstanding = worker.outstanding;
        self.attempts_out -= 1;
        self.views[w].pending = outstanding;
        self.plain_pending_changed(w);
        let latency = now - attempt.sent;
        self.views[w].last_latency = latency;
        self.replica_response(0, w, latency, true);
        if !current {
            return; // abandoned: nobody waits for it
        }
        let request = self.requests.remove(attempt.request.slot).expect("completing a live request");
        self.completions += 1;
        if request.measured {
            let ending = Ending::Completed {
                worker: w,
                latency: now - request.created,
                wait: attempt.start - attempt.sent,
                service: attempt.done - attempt.start,
            };
            self.metrics.ended_later(&ending, now);
        }
    }

    /// Starts serving an attempt at a plain worker (`start_service` without a cache).
    #[inline(always)]
    fn plain_start(&mut self, w: WorkerId, mut attempt: Attempt) {
        let now = self.now;
        let worker = &mut self.workers[w];
        let time = super::flow::service_time(attempt.demand, worker.speed);
        attempt.start = now;
        let t = now.saturating_add(time);
        attempt.done = t;
        self.events.push(t, Event::Departure { worker: w as u32, epoch: worker.epoch, attempt: attempt.id });
        worker.serving.push(attempt);
    }

    /// The single balancer's strategy hears that worker `w`'s count changed, if it listens.
    #[inline(always)]
    fn plain_pending_changed(&mut self, w: WorkerId) {
        if self.replicas.hear_pending() {
            let only = &mut self.replicas.list[0];
            only.strategy.on_pending_change(w, &Cluster::new(self.now, &self.views, &self.up));
        }
    }

    /// No worker could take the attempt: turned away, as `place` does.
    #[cold]
    #[inline(never)]
    fn plain_rejected(&mut self, attempt: Attempt) {
        if attempt.measured {
            self.metrics.attempts.attempts += 1;
        }
        self.answer(attempt, super::state::Answer::Rejected);
        if !self.sending {
            self.next_arrival = None;
        }
    }

    /// Any event but a departure, as the general loop handles it (out of line: rare here).
    #[cold]
    #[inline(never)]
    fn handle_other(&mut self, event: Event) {
        let _ = self.handle(event);
    }

    /// The attempt reaches a worker that is not plain now: the general path takes it.
    #[cold]
    #[inline(never)]
    fn receive_generally(&mut self, w: WorkerId, attempt: Attempt) {
        self.worker_receives(w, attempt);
    }

    /// A departure at a worker that is not plain now: the general path takes it.
    #[cold]
    #[inline(never)]
    fn depart_generally(&mut self, w: WorkerId, epoch: u32, id: u64) {
        let _ = self.depart(w, epoch, id);
    }
}
