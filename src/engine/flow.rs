//! The life of a request: arrival, dispatch, the trip to a worker, service, the answer, and
//! completion, retry or failure.

use super::queue::Event;
use super::{Answer, Arrivals, Attempt, Backpressure, Request, RequestRef, Sim, StepKind, Stop, Transit};
use crate::metrics::Ending;
use crate::model::config::RetryPolicy;
use crate::strategy::WorkerId;
use crate::time::Nanos;

impl Sim {
    /// A requester sends a new request (`client` for a closed loop), with `demand` and `key`
    /// when a trace gives them (else they are drawn: the demand from the service
    /// distribution, the key, when requests are keyed, from `[keys]`).
    pub(super) fn arrive(&mut self, client: u32, demand: Option<Nanos>, key: Option<u64>) -> StepKind {
        let measured = self.now >= self.window_start;
        let key = self.keys.as_mut().map_or(0, |(sampler, rng)| key.unwrap_or_else(|| sampler.sample(rng)));
        let request = Request {
            id: self.next_id,
            created: self.now,
            demand: match demand {
                Some(d) => d,
                None => self.config.service.sample(&mut self.service_rng),
            },
            client,
            measured,
            tries: 0,
            attempts: 0,
            generation: self.next_id as u32,
            waiting_retry: false,
            held: false,
            replica: self.replicas.assign(key) as u16,
        };
        self.next_id += 1;
        if measured {
            self.metrics.sent();
            self.metrics.last_sent = self.now;
            if let Stop::Requests(n) = self.config.stop
                && self.metrics.counters.sent >= n
            {
                self.sending = false;
            }
        }
        if let Some(p) = &self.retry
            && let Some(budget) = p.budget
        {
            self.retry_tokens = (self.retry_tokens + budget).min(RetryPolicy::BUDGET_TOKENS_MAX);
        }
        let slot = self.requests.insert(request);
        if self.keys.is_some() {
            if self.request_keys.len() <= slot as usize {
                self.request_keys.resize(slot as usize + 1, 0);
            }
            self.request_keys[slot as usize] = key;
        }
        self.check_in_flight();
        let r = RequestRef { slot, generation: request.generation };
        if let Some(timeout) = self.config.defences.timeout {
            self.events
                .push(self.now.saturating_add(timeout), Event::Deadline { slot, generation: r.generation });
        }
        let worker = self.dispatch(r);
        StepKind::Arrival { request: request.id, demand: request.demand, worker }
    }

    /// Makes a new attempt at a request: picks a worker and sends it. Returns the worker, or
    /// `None` if it could not be placed (then it was rejected, or is waiting at the balancer).
    pub(super) fn dispatch(&mut self, r: RequestRef) -> Option<WorkerId> {
        let request = self.requests.get_mut(r.slot).expect("dispatching a live request");
        request.tries += 1;
        let (try_no, demand, measured, replica) =
            (request.tries, request.demand, request.measured, request.replica);
        request.waiting_retry = false;
        let attempt = Attempt {
            id: self.next_attempt,
            request: r,
            try_no,
            worker: NOT_SENT,
            sent: self.now,
            start: 0,
            done: 0,
            demand,
            measured,
            replica,
        };
        self.next_attempt += 1;
        self.place(attempt)
    }

    /// Picks a worker for an attempt and sends it there, or rejects it, or holds it.
    fn place(&mut self, mut attempt: Attempt) -> Option<WorkerId> {
        let r = attempt.replica as usize;
        let choice = self.replica_pick(r, attempt.request.slot);
        let block = self.config.defences.backpressure == Backpressure::Block;
        let Some(w) = choice else {
            if block {
                self.hold(attempt.request);
            } else {
                self.count_attempt(attempt);
                self.answer(attempt, Answer::Rejected);
            }
            return None;
        };
        assert!(
            w < self.workers.len() && self.views[w].up,
            "strategy `{}` picked worker {w}, which is down or does not exist",
            self.replica_strategy(r).name()
        );
        if block && self.full(w) {
            self.hold(attempt.request);
            return None;
        }
        attempt.worker = w as u32;
        attempt.sent = self.now;
        self.count_attempt(attempt);
        if let Some(p) = &self.retry
            && let Some(t) = p.per_try_timeout
        {
            let (slot, generation, try_no) =
                (attempt.request.slot, attempt.request.generation, attempt.try_no);
            self.events.push(self.now.saturating_add(t), Event::TryTimeout { slot, generation, try_no });
        }
        if attempt.measured {
            self.count_pick(r, w);
        }
        self.own_sent(r, w);
        match self.config.defences.balancers.dispatch_delay.as_ref() {
            Some(delay) => {
                let t = self.now.saturating_add(delay.sample(&mut self.replicas.rng));
                let slot = self.transit.insert(Transit::Dispatch(attempt));
                self.events.push(t, Event::Transit { slot });
            }
            None => self.send(w, attempt),
        }
        Some(w)
    }

    /// An attempt leaves the balancer for its worker: from now on every replica with the
    /// global view counts it.
    #[inline(always)]
    fn send(&mut self, w: WorkerId, attempt: Attempt) {
        self.workers[w].outstanding += 1;
        self.attempts_out += 1;
        self.check_in_flight();
        self.outstanding_changed(w);
        match self.config.faults.network_delay.as_ref() {
            Some(delay) => {
                let t = self.now.saturating_add(delay.sample(&mut self.faults_rng));
                let slot = self.transit.insert(Transit::ToWorker(attempt));
                self.events.push(t, Event::Transit { slot });
            }
            None => self.worker_receives(w, attempt),
        }
    }

    /// Whether the balancer knows a worker cannot take another request now.
    fn full(&self, w: WorkerId) -> bool {
        let worker = &self.workers[w];
        worker.spec.queue_capacity.is_some_and(|cap| worker.outstanding >= worker.spec.concurrency + cap)
    }

    /// An attempt is made: sent to a worker, or turned away.
    fn count_attempt(&mut self, attempt: Attempt) {
        let request = self.requests.get_mut(attempt.request.slot).expect("live request");
        request.attempts += 1;
        if attempt.measured {
            self.metrics.attempts.attempts += 1;
            if request.attempts > 1 {
                self.metrics.attempts.retries += 1;
            }
        }
    }

    /// Blocking backpressure: the request waits at the balancer (no attempt is made).
    fn hold(&mut self, r: RequestRef) {
        let request = self.requests.get_mut(r.slot).expect("holding a live request");
        if request.measured && !request.held {
            self.metrics.attempts.blocked += 1;
        }
        request.held = true;
        self.blocked.push_back(r);
    }

    /// Sends waiting requests while workers can take them.
    pub(super) fn release_blocked(&mut self) {
        if self.releasing {
            return;
        }
        self.releasing = true;
        while let Some(&r) = self.blocked.front() {
            if !self.is_live(r) {
                self.blocked.pop_front();
                continue;
            }
            let held_before = self.blocked.len();
            self.blocked.pop_front();
            let _ = self.dispatch(r);
            if self.blocked.len() >= held_before {
                // It went back to the end of the line: nothing can take it now. Put it first
                // again so that order is kept.
                let back = self.blocked.pop_back().expect("just held");
                self.blocked.push_front(back);
                break;
            }
        }
        self.releasing = false;
    }

    /// An attempt reaches its worker.
    #[inline(always)]
    pub(super) fn worker_receives(&mut self, w: WorkerId, attempt: Attempt) {
        let worker = &self.workers[w];
        if worker.is_down() {
            self.answer(attempt, Answer::Crash);
            return;
        }
        if worker.spec.error_rate > 0.0
            && worker.spec.error_kind == super::ErrorKind::Fast
            && self.faults_rng.unit() < worker.spec.error_rate
        {
            self.answer(attempt, Answer::WorkerError);
            return;
        }
        let worker = &mut self.workers[w];
        if worker.shared.is_some() {
            return self.shared_receive(w, attempt);
        }
        let busy = worker.serving.len() as u32;
        let pending = worker.pending();
        if busy < worker.spec.concurrency {
            self.metrics.workers[w].advance(self.now, pending, busy);
            self.start_service(w, attempt);
        } else if worker.spec.queue_capacity.is_some_and(|cap| worker.queue.len() as u32 >= cap) {
            self.answer(attempt, Answer::Rejected);
        } else {
            self.metrics.workers[w].advance(self.now, pending, busy);
            worker.queue.push_back(attempt);
        }
    }

    #[inline(always)]
    fn start_service(&mut self, w: WorkerId, mut attempt: Attempt) {
        let worker = &mut self.workers[w];
        let mut time = service_time(attempt.demand, worker.speed);
        if let Some(cache) = &mut worker.cache {
            // The key of a request that has ended meanwhile (an abandoned attempt) is gone:
            // such an attempt neither finds nor leaves anything in the cache.
            let slot = attempt.request.slot;
            let live = self.requests.get(slot).is_some_and(|q| q.generation == attempt.request.generation);
            if live {
                let key = self.request_keys[slot as usize];
                time =
                    cached_service_time(cache, key, time, &self.config, attempt.measured, &mut self.metrics);
            }
        }
        attempt.start = self.now;
        let t = self.now.saturating_add(time);
        attempt.done = t;
        self.events.push(t, Event::Departure { worker: w as u32, epoch: worker.epoch, attempt: attempt.id });
        worker.serving.push(attempt);
    }

    /// A worker finishes serving an attempt.
    #[inline(always)]
    pub(super) fn depart(&mut self, w: WorkerId, epoch: u32, id: u64) -> StepKind {
        let now = self.now;
        let worker = &mut self.workers[w];
        if epoch != worker.epoch {
            return StepKind::Internal; // lost in a crash meanwhile
        }
        self.metrics.workers[w].advance(now, worker.pending(), worker.serving.len() as u32);
        let mut attempt = worker.take_served(id);
        attempt.done = now;
        if let Some(next) = worker.queue.pop_front() {
            self.start_service(w, next);
        }
        self.served(w, attempt)
    }

    /// An attempt a worker has finished serving (under any discipline): whether it failed
    /// slowly, the accounting of work served and wasted, the worker idle or retired if it is
    /// empty now, and the answer on its way back.
    #[inline(always)]
    pub(super) fn served(&mut self, w: WorkerId, attempt: Attempt) -> StepKind {
        let failed = {
            let spec = &self.workers[w].spec;
            spec.error_rate > 0.0
                && spec.error_kind == super::ErrorKind::Slow
                && self.faults_rng.unit() < spec.error_rate
        };
        let current = self.count_served(attempt);
        if self.workers[w].pending() == 0 {
            match self.workers[w].lifecycle {
                super::Lifecycle::Draining => self.retire(w),
                // Join-idle-queue: it says so to a balancer before its answer arrives.
                _ => self.worker_idle(w),
            }
        }
        self.answer_current(attempt, if failed { Answer::WorkerError } else { Answer::Ok }, Some(current))
    }

    /// Counts an attempt served (its work wasted if nobody waits for it any more); returns
    /// whether its answer counts. Nothing before the balancer hears the answer changes that
    /// (no request ends or is retried meanwhile), so it is asked once.
    #[inline(always)]
    pub(super) fn count_served(&mut self, attempt: Attempt) -> bool {
        let current = self.is_current(attempt);
        if attempt.measured {
            let a = &mut self.metrics.attempts;
            a.served += 1;
            if !current {
                a.wasted_work += self.now - attempt.start;
            }
        }
        current
    }

    /// Sends an attempt's answer back to the balancer (over the network, if it has a delay).
    /// Returns what the balancer did with it, if it arrived at once.
    pub(super) fn answer(&mut self, attempt: Attempt, answer: Answer) -> StepKind {
        self.answer_current(attempt, answer, None)
    }

    /// [`answer`](Sim::answer), with whether the attempt is current when it is known (it is
    /// asked again if the answer travels).
    #[inline(always)]
    fn answer_current(&mut self, attempt: Attempt, answer: Answer, current: Option<bool>) -> StepKind {
        match (self.config.faults.network_delay.as_ref(), self.was_sent(attempt)) {
            (Some(delay), true) => {
                let t = self.now.saturating_add(delay.sample(&mut self.faults_rng));
                let slot = self.transit.insert(Transit::ToBalancer(attempt, answer));
                self.events.push(t, Event::Transit { slot });
                StepKind::Internal
            }
            _ => self.balancer_receives(attempt, answer, current),
        }
    }

    /// Whether an attempt was handed to a worker (rejections by the balancer itself were not).
    fn was_sent(&self, attempt: Attempt) -> bool {
        attempt.worker != NOT_SENT
    }

    pub(super) fn transit_arrives(&mut self, slot: u32) -> StepKind {
        match self.transit.remove(slot).expect("transit slot is live") {
            Transit::Dispatch(attempt) => {
                self.send(attempt.worker as usize, attempt);
                StepKind::Internal
            }
            Transit::ToWorker(attempt) => {
                self.worker_receives(attempt.worker as usize, attempt);
                StepKind::Internal
            }
            Transit::ToBalancer(attempt, answer) => self.balancer_receives(attempt, answer, None),
        }
    }

    /// Whether a request has not ended.
    pub(super) fn is_live(&self, r: RequestRef) -> bool {
        self.requests.get(r.slot).is_some_and(|q| q.generation == r.generation)
    }

    /// Whether an attempt is its request's latest and the request has not ended: only then
    /// does its answer count.
    pub(super) fn is_current(&self, attempt: Attempt) -> bool {
        self.requests.get(attempt.request.slot).is_some_and(|q| {
            q.generation == attempt.request.generation && q.tries == attempt.try_no && !q.waiting_retry
        })
    }

    /// The balancer hears how an attempt went (`current`: whether the attempt is current, if
    /// known).
    fn balancer_receives(&mut self, attempt: Attempt, answer: Answer, current: Option<bool>) -> StepKind {
        let w = attempt.worker as usize;
        if self.was_sent(attempt) {
            self.workers[w].outstanding -= 1;
            self.attempts_out -= 1;
            self.outstanding_changed(w);
            self.own_answered(&attempt);
            let latency = self.now - attempt.sent;
            self.views[w].last_latency = latency;
            self.replica_response(attempt.replica as usize, w, latency, answer == Answer::Ok);
            self.observe_outcome(w, answer == Answer::Ok || answer == Answer::Rejected);
        }
        let current = current.unwrap_or_else(|| self.is_current(attempt));
        if answer != Answer::Ok && attempt.measured {
            let a = &mut self.metrics.attempts;
            match answer {
                Answer::WorkerError => a.worker_errors += 1,
                Answer::Crash => a.crash_errors += 1,
                Answer::Rejected => a.rejections += 1,
                Answer::Ok => {}
            }
            if answer != Answer::Rejected && self.was_sent(attempt) {
                self.metrics.workers[w].errors += 1;
            }
        }
        let step = match (current, answer) {
            (false, _) => StepKind::Internal, // abandoned: nobody waits for it
            (true, Answer::Ok) => self.complete(attempt),
            (true, Answer::WorkerError | Answer::Crash) => self.retry_or_end(attempt.request, Ending::Failed),
            (true, Answer::Rejected) => self.retry_or_end(attempt.request, Ending::Rejected),
        };
        // The worker has room again: requests waiting at the balancer may go (after this
        // request is settled, so that releasing cannot interleave with it).
        if self.was_sent(attempt) && !self.blocked.is_empty() {
            self.release_blocked();
        }
        step
    }

    fn complete(&mut self, attempt: Attempt) -> StepKind {
        let request = self.requests.remove(attempt.request.slot).expect("completing a live request");
        let w = attempt.worker as usize;
        let latency = self.now - request.created;
        self.completions += 1;
        if request.measured {
            let wait = attempt.start - attempt.sent;
            let service = attempt.done - attempt.start;
            self.metrics.ended_later(&Ending::Completed { worker: w, latency, wait, service }, self.now);
        }
        self.client_returns(request.client);
        StepKind::Completion { request: request.id, worker: w, latency }
    }

    /// After a failed attempt: retries if the policy, the budget and the deadline allow,
    /// else ends the request with `outcome`.
    fn retry_or_end(&mut self, r: RequestRef, outcome: Ending) -> StepKind {
        let request = *self.requests.get(r.slot).expect("live request");
        if let Some(p) = &self.retry
            && request.attempts <= p.max
        {
            let budget_ok = p.budget.is_none() || self.retry_tokens >= 1.0;
            let cap =
                p.backoff.saturating_mul(1u64 << (request.attempts.max(1) - 1).min(40)).min(p.max_backoff);
            let backoff = (self.defences_rng.unit() * cap as f64) as Nanos;
            let deadline_ok = self
                .config
                .defences
                .timeout
                .is_none_or(|t| self.now.saturating_add(backoff) < request.created.saturating_add(t));
            if budget_ok && deadline_ok {
                if p.budget.is_some() {
                    self.retry_tokens -= 1.0;
                }
                self.requests.get_mut(r.slot).expect("live").waiting_retry = true;
                self.events.push(
                    self.now.saturating_add(backoff),
                    Event::Retry { slot: r.slot, generation: r.generation },
                );
                return StepKind::Internal;
            }
        }
        self.end(r, outcome)
    }

    pub(super) fn retry_now(&mut self, r: RequestRef) -> StepKind {
        if !self.is_live(r) {
            return StepKind::Internal;
        }
        let (id, attempts) = {
            let q = self.requests.get(r.slot).expect("live");
            (q.id, q.attempts)
        };
        let worker = self.dispatch(r);
        StepKind::Retry { request: id, attempt: attempts + 1, worker }
    }

    /// The requester's deadline.
    pub(super) fn deadline(&mut self, r: RequestRef) -> StepKind {
        if !self.is_live(r) {
            return StepKind::Internal;
        }
        if self.requests.get(r.slot).is_some_and(|q| q.measured) {
            self.metrics.attempts.timeouts += 1;
        }
        self.end(r, Ending::TimedOut)
    }

    /// A per-try timeout: the attempt is abandoned (it goes on running on its worker).
    pub(super) fn try_timeout(&mut self, r: RequestRef, try_no: u32) -> StepKind {
        let Some(request) = self.requests.get(r.slot) else { return StepKind::Internal };
        // Stale unless this attempt is still the one being waited for: not answered (an error
        // answer schedules a retry) and not superseded.
        if request.generation != r.generation || request.tries != try_no || request.waiting_retry {
            return StepKind::Internal;
        }
        if request.measured {
            self.metrics.attempts.timeouts += 1;
        }
        // The abandoned attempt stops counting: the request is retried (while it waits for
        // the retry, `waiting_retry` makes any late answer stale) or ends here.
        self.retry_or_end(r, Ending::TimedOut)
    }

    /// Ends a request without success.
    pub(super) fn end(&mut self, r: RequestRef, outcome: Ending) -> StepKind {
        let request = self.requests.remove(r.slot).expect("ending a live request");
        if request.measured {
            self.metrics.ended(&outcome, self.now);
        }
        self.client_returns(request.client);
        StepKind::Failure { request: request.id, outcome }
    }

    /// A closed-loop client whose request ended thinks, then sends again.
    fn client_returns(&mut self, client: u32) {
        if client != super::NO_CLIENT
            && let Arrivals::Closed { think, .. } = &self.config.arrivals
        {
            let t = self.now.saturating_add(think.sample(&mut self.arrivals_rng));
            self.events.push(t, Event::ClientSend { client });
        }
    }

    /// The balancers' count for a worker changed: under the global view, update what
    /// strategies see (the other views count their own, or read periodic reports).
    #[inline]
    pub(super) fn outstanding_changed(&mut self, w: WorkerId) {
        if self.replicas.view != super::View::Global {
            return;
        }
        self.views[w].pending = self.workers[w].outstanding;
        self.shared_pending_changed(w);
    }
}

/// The worker of an attempt the balancer never sent.
pub(super) const NOT_SENT: u32 = u32::MAX;

/// The service time of an attempt for `key` at a worker with a cache of keys, `time` on a
/// miss: a hit serves faster. (Out of line: only keyed runs with caches come here.)
#[cold]
#[inline(never)]
pub(super) fn cached_service_time(
    cache: &mut crate::keys::Lru,
    key: u64,
    time: Nanos,
    config: &super::SimConfig,
    measured: bool,
    metrics: &mut crate::metrics::Metrics,
) -> Nanos {
    let hit = cache.access(key);
    if measured {
        let k = &mut metrics.keys;
        if hit {
            k.cache_hits += 1;
        } else {
            k.cache_misses += 1;
        }
    }
    if !hit {
        return time;
    }
    let speedup = config.keys.as_ref().and_then(|k| k.cache).map_or(1.0, |c| c.hit_speedup);
    (time as f64 / speedup + 0.5) as Nanos
}

/// Time to serve `demand` (work at speed 1) at `speed`.
pub(super) fn service_time(demand: Nanos, speed: f64) -> Nanos {
    // A branch, not a select: the compiler computed the division for every request.
    if speed == 1.0 { demand } else { scaled_service_time(demand, speed) }
}

#[cold]
#[inline(never)]
fn scaled_service_time(demand: Nanos, speed: f64) -> Nanos {
    ((demand as f64 / speed + 0.5) as Nanos).min(crate::time::MAX_TIME)
}
