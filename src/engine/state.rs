//! The engine's state of requests, attempts and workers: the truth the model keeps, of which
//! the balancer sees only its view.

use std::collections::VecDeque;

use smallvec::SmallVec;

use crate::model::Lifecycle;
use crate::model::config::WorkerSpec;
use crate::time::Nanos;

/// A request sent by a requester, until it ends.
#[derive(Clone, Copy, Debug)]
pub(super) struct Request {
    pub(super) id: u64,
    /// When the requester sent it.
    pub(super) created: Nanos,
    /// Work to do, in time at speed 1 (the same for every attempt).
    pub(super) demand: Nanos,
    /// The closed-loop client waiting for it, or `NO_CLIENT`.
    pub(super) client: u32,
    /// Whether it arrived after the warm-up and so counts.
    pub(super) measured: bool,
    /// Dispatches so far; only the latest dispatch's attempt may answer for the request.
    pub(super) tries: u32,
    /// Attempts actually made (sent to a worker or turned away), for the retry limit.
    pub(super) attempts: u32,
    /// Distinguishes this request from later ones in the same slab slot.
    pub(super) generation: u32,
    /// A retry is scheduled: no earlier attempt's answer counts any more.
    pub(super) waiting_retry: bool,
    /// It has waited at the balancer at least once (counted once in `blocked`).
    pub(super) held: bool,
    /// The balancer replica it reached (all its attempts go through it). (Its key, when
    /// requests are keyed, is kept beside the slab, in `Sim::request_keys`, so that a request
    /// stays 48 bytes.)
    pub(super) replica: u16,
}

/// A reference to a request that may have ended meanwhile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct RequestRef {
    pub(super) slot: u32,
    pub(super) generation: u32,
}

/// One try at serving a request.
#[derive(Clone, Copy, Debug)]
pub(super) struct Attempt {
    pub(super) id: u64,
    pub(super) request: RequestRef,
    /// Which try (1 for the first).
    pub(super) try_no: u32,
    /// The worker it was sent to.
    pub(super) worker: u32,
    /// When the balancer sent it.
    pub(super) sent: Nanos,
    /// When its service began (when it has).
    pub(super) start: Nanos,
    /// When its service ends (set when it begins: the model draws the time then, and
    /// least-work-left's oracle reads it).
    pub(super) done: Nanos,
    pub(super) demand: Nanos,
    /// Whether its request counts (arrived after the warm-up).
    pub(super) measured: bool,
    /// The balancer replica that sent it (u16 keeps an attempt in one 64-byte cache line).
    pub(super) replica: u16,
}

/// How an attempt ended, as the balancer hears it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Answer {
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
pub(super) enum Transit {
    /// Picked by a replica, not yet on its way (the dispatch delay).
    Dispatch(Attempt),
    ToWorker(Attempt),
    ToBalancer(Attempt, Answer),
}

/// A worker's engine-side state: the truth, of which the balancer sees only its view.
#[derive(Clone, Debug)]
pub(super) struct Worker {
    pub(super) spec: WorkerSpec,
    /// The speed in force (the configured speed, divided by any slowdown).
    pub(super) speed: f64,
    /// The slowdown in force (1 = none).
    pub(super) slowdown: f64,
    pub(super) queue: VecDeque<Attempt>,
    /// In service; inline for the usual single slot, to spare a pointer chase per event.
    pub(super) serving: SmallVec<[Attempt; 1]>,
    /// Bumped at each crash, so departures scheduled before it are ignored.
    pub(super) epoch: u32,
    /// Nested crash windows in force; down while positive.
    pub(super) crashes: u32,
    pub(super) down_since: Nanos,
    pub(super) lifecycle: Lifecycle,
    /// Attempts the balancer sent it and has not heard back about.
    pub(super) outstanding: u32,
    /// The balancer's belief from health checks.
    pub(super) healthy: bool,
    pub(super) checks_failed: u32,
    pub(super) checks_passed: u32,
    /// Ejected as an outlier until this time.
    pub(super) ejected_until: Option<Nanos>,
    /// Ejections so far (the n-th lasts n base ejection times).
    pub(super) ejections: u32,
    pub(super) consecutive_errors: u32,
    /// Its cache of keys (keyed requests with a cache only).
    pub(super) cache: Option<crate::keys::Lru>,
    /// Whether the balancer may send to it by what it knows (kept for the panic threshold,
    /// under which the view may say up when this does not).
    pub(super) available: bool,
    /// Slow start: the latest ramp, and when it began.
    pub(super) ramp: u32,
    pub(super) ramp_since: Nanos,
    /// The requests of a worker that does not serve first-come-first-served, with their work
    /// left (`None` for FCFS, which keeps everything in `serving` and `queue` alone).
    pub(super) shared: Option<Box<super::disciplines::Shared>>,
}

impl Worker {
    pub(super) fn new(spec: WorkerSpec, lifecycle: Lifecycle) -> Worker {
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
            shared: super::disciplines::Shared::for_spec(&spec),
            spec,
        }
    }

    pub(super) fn with_cache(mut self, cache: Option<crate::keys::Cache>) -> Worker {
        self.cache = cache.map(|c| crate::keys::Lru::new(c.size));
        self
    }

    pub(super) fn pending(&self) -> u32 {
        (self.queue.len() + self.serving.len()) as u32
    }

    /// Slots in use, for the statistics and snapshots: the requests in service, except under
    /// processor sharing, whose requests share one processor: as many as its concurrency at
    /// most (one with the default, under which every request it holds shares).
    pub(super) fn busy(&self) -> u32 {
        match self.spec.discipline {
            super::Discipline::Ps if !self.serving.is_empty() => {
                self.spec.concurrency.min(self.serving.len() as u32)
            }
            _ => self.serving.len() as u32,
        }
    }

    pub(super) fn is_down(&self) -> bool {
        self.crashes > 0
    }

    /// Takes attempt `id`, which it is serving, out of service.
    #[inline(always)]
    pub(super) fn take_served(&mut self, id: u64) -> Attempt {
        let i = self.serving.iter().position(|a| a.id == id).expect("departing attempt is in service");
        // The usual single slot holds just this one: pop it rather than swap it with itself.
        if i + 1 == self.serving.len() {
            self.serving.pop().expect("it is there")
        } else {
            self.serving.swap_remove(i)
        }
    }
}
