//! Workers that do not serve first-come-first-served: processor sharing, preemptive SRPT and
//! preemptive LCFS ([`Discipline`]).
//!
//! Exact and event-driven, without time slicing: such a worker keeps each request's work
//! left. When its population or its speed changes, it first advances every request in service
//! by the work done since (elapsed x speed / n under processor sharing, elapsed x speed
//! otherwise), then chooses which requests are in service, and schedules one departure, for
//! the request in service that will finish first; a generation counter, bumped at every
//! change and at a crash, makes older departures stale. FCFS workers never come here: the
//! engine's hot path tests one flag (`Worker::shared`) and goes on as it always did.
//!
//! The worker's `serving` and `queue` are kept as copies of who is in service and who waits,
//! so that counts, snapshots, statistics and crashes read them as they do for FCFS.

use super::queue::Event;
use super::{Answer, Attempt, Discipline, Sim, StepKind};
use crate::model::config::WorkerSpec;
use crate::strategy::WorkerId;
use crate::time::Nanos;

/// A non-FCFS worker's requests, in their order of arrival at the worker.
#[derive(Clone, Debug)]
pub(crate) struct Shared {
    discipline: Discipline,
    jobs: Vec<Job>,
    /// Bumped at every change: only the latest departure scheduled counts.
    generation: u32,
    /// When the work left was last brought up to date.
    last: Nanos,
}

#[derive(Clone, Copy, Debug)]
struct Job {
    attempt: Attempt,
    /// Work left, in time at speed 1 (ns).
    left: f64,
    /// In service now.
    serving: bool,
    /// Has been in service (its `attempt.start` is set).
    started: bool,
}

impl Shared {
    /// The state of a new worker of `spec`: `None` for FCFS.
    pub(super) fn for_spec(spec: &WorkerSpec) -> Option<Box<Shared>> {
        (spec.discipline != Discipline::Fcfs).then(|| {
            Box::new(Shared { discipline: spec.discipline, jobs: Vec::new(), generation: 0, last: 0 })
        })
    }

    /// How many requests may be in service at once.
    fn servers(&self, concurrency: u32) -> usize {
        match self.discipline {
            // Processor sharing with the default concurrency of 1 shares among all.
            Discipline::Ps if concurrency <= 1 => usize::MAX,
            _ => concurrency.max(1) as usize,
        }
    }

    /// The rate at which each request in service is served (work per ns).
    fn rate(&self, speed: f64) -> f64 {
        match self.discipline {
            Discipline::Ps => speed / self.jobs.iter().filter(|j| j.serving).count().max(1) as f64,
            _ => speed,
        }
    }

    /// The work left over all its requests now (ns at speed 1).
    pub(super) fn work_left(&self, now: Nanos, speed: f64) -> f64 {
        let total: f64 = self.jobs.iter().map(|j| j.left).sum();
        let serving = self.jobs.iter().filter(|j| j.serving).count() as f64;
        let done = now.saturating_sub(self.last) as f64 * self.rate(speed) * serving;
        (total - done).max(0.0)
    }

    /// Forgets everything it held (a crash), making any departure scheduled stale.
    pub(super) fn clear(&mut self) {
        self.jobs.clear();
        self.generation = self.generation.wrapping_add(1);
    }
}

impl Sim {
    /// An attempt reaches a non-FCFS worker that is up (and did not fail it at once).
    #[cold]
    #[inline(never)]
    pub(super) fn shared_receive(&mut self, w: WorkerId, attempt: Attempt) {
        let now = self.now;
        let worker = &mut self.workers[w];
        let shared = worker.shared.as_deref().expect("a non-FCFS worker");
        let servers = shared.servers(worker.spec.concurrency);
        let held = shared.jobs.len();
        if let Some(cap) = worker.spec.queue_capacity
            && held >= servers.saturating_add(cap as usize)
        {
            self.answer(attempt, Answer::Rejected);
            return;
        }
        self.metrics.workers[w].advance(now, worker.pending(), worker.busy());
        self.shared_advance(w);
        let mut work = attempt.demand;
        let worker = &mut self.workers[w];
        if let Some(cache) = &mut worker.cache {
            let slot = attempt.request.slot;
            let live = self.requests.get(slot).is_some_and(|q| q.generation == attempt.request.generation);
            if live {
                let key = self.request_keys[slot as usize];
                work = super::flow::cached_service_time(
                    cache,
                    key,
                    work,
                    &self.config,
                    attempt.measured,
                    &mut self.metrics,
                );
            }
        }
        let shared = worker.shared.as_deref_mut().expect("a non-FCFS worker");
        shared.jobs.push(Job { attempt, left: work as f64, serving: false, started: false });
        self.shared_reschedule(w);
    }

    /// Brings the work left of a non-FCFS worker's requests in service up to now (nothing for
    /// an FCFS worker).
    pub(super) fn shared_advance(&mut self, w: WorkerId) {
        let now = self.now;
        let worker = &mut self.workers[w];
        let speed = worker.speed;
        let Some(shared) = worker.shared.as_deref_mut() else { return };
        let elapsed = now.saturating_sub(shared.last);
        shared.last = now;
        if elapsed == 0 {
            return;
        }
        let done = elapsed as f64 * shared.rate(speed);
        for job in shared.jobs.iter_mut().filter(|j| j.serving) {
            job.left = (job.left - done).max(0.0);
        }
    }

    /// Chooses who is in service at a non-FCFS worker, copies that into its `serving` and
    /// `queue`, and schedules its next departure (nothing for an FCFS worker). The work left
    /// must be up to date ([`Sim::shared_advance`]).
    pub(super) fn shared_reschedule(&mut self, w: WorkerId) {
        let now = self.now;
        let worker = &mut self.workers[w];
        let Some(shared) = worker.shared.as_deref_mut() else { return };
        let n = shared.jobs.len();
        let servers = shared.servers(worker.spec.concurrency).min(n);
        for job in &mut shared.jobs {
            job.serving = false;
        }
        match shared.discipline {
            Discipline::Fcfs | Discipline::Ps => {
                shared.jobs[..servers].iter_mut().for_each(|j| j.serving = true)
            }
            Discipline::LcfsPr => shared.jobs[n - servers..].iter_mut().for_each(|j| j.serving = true),
            Discipline::Srpt => {
                // The least work left first; ties in order of arrival.
                let mut order: Vec<usize> = (0..n).collect();
                order.sort_by(|&a, &b| shared.jobs[a].left.total_cmp(&shared.jobs[b].left).then(a.cmp(&b)));
                for &i in &order[..servers] {
                    shared.jobs[i].serving = true;
                }
            }
        }
        worker.serving.clear();
        worker.queue.clear();
        for job in &mut shared.jobs {
            if job.serving {
                if !job.started {
                    job.started = true;
                    job.attempt.start = now;
                }
                worker.serving.push(job.attempt);
            } else {
                worker.queue.push_back(job.attempt);
            }
        }
        shared.generation = shared.generation.wrapping_add(1);
        let rate = shared.rate(worker.speed);
        let first = shared.jobs.iter().filter(|j| j.serving).map(|j| j.left).min_by(f64::total_cmp);
        if let Some(left) = first {
            let wait = (left / rate).ceil().min(crate::time::MAX_TIME as f64) as Nanos;
            let generation = shared.generation;
            self.events.push(now.saturating_add(wait), Event::Share { worker: w as u32, generation });
        }
    }

    /// A non-FCFS worker's next departure is due: the request in service with the least
    /// work left ends (unless the event is stale).
    #[cold]
    #[inline(never)]
    pub(super) fn shared_depart(&mut self, w: WorkerId, generation: u32) -> StepKind {
        let now = self.now;
        let worker = &self.workers[w];
        if worker.shared.as_deref().is_none_or(|s| s.generation != generation) {
            return StepKind::Internal; // the population changed, or it crashed, meanwhile
        }
        self.metrics.workers[w].advance(now, worker.pending(), worker.busy());
        self.shared_advance(w);
        let shared = self.workers[w].shared.as_deref_mut().expect("a non-FCFS worker");
        let i = (0..shared.jobs.len())
            .filter(|&i| shared.jobs[i].serving)
            .min_by(|&a, &b| shared.jobs[a].left.total_cmp(&shared.jobs[b].left).then(a.cmp(&b)))
            .expect("a departure is scheduled only with a request in service");
        let mut attempt = shared.jobs.remove(i).attempt;
        attempt.done = now;
        self.shared_reschedule(w);
        self.served(w, attempt)
    }
}
