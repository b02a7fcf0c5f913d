//! What travels on the channels: a [`Request`] carries its own reply channel, as in Pike's
//! balancer (`Request{fn, c}`), and a worker tells the balancer it is [`Done`].

use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::time::Nanos;

/// One try at serving a request, on its way from a requester through the balancer to a worker.
#[derive(Debug)]
pub struct Request {
    /// The request's number (retries keep it).
    pub id: u64,
    /// Work to do, in scenario time at speed 1.
    pub demand: Nanos,
    /// Whether it was sent after the warm-up, and so counts.
    pub measured: bool,
    /// When the balancer handed it to a worker (set by the balancer).
    pub dispatched: Option<Instant>,
    /// Where the answer goes: Pike's `req.c`. If it is dropped unanswered (the worker crashed,
    /// or the run was cancelled), the requester hears of it as an error.
    pub reply: oneshot::Sender<Reply>,
}

/// A worker's (or the balancer's) answer to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Served: how long it waited in the worker's queue, and how long its service took.
    Done {
        /// The worker that served it.
        worker: usize,
        /// Time queued at the worker (real time).
        wait: Duration,
        /// Time in service (real time).
        service: Duration,
    },
    /// The worker failed it (its error rate).
    Failed {
        /// The worker that failed it.
        worker: usize,
    },
    /// The balancer turned it away: no worker up, or the chosen worker's queue was full.
    Rejected,
}

/// A worker finished a request (well or not): Pike's `done <- w`.
#[derive(Clone, Copy, Debug)]
pub struct Done {
    /// The worker.
    pub worker: usize,
    /// Which life of the worker served it: answers from before a crash are ignored.
    pub epoch: u32,
    /// From dispatch to answer (real time), for latency-aware strategies.
    pub latency: Duration,
    /// Whether it succeeded.
    pub ok: bool,
    /// Whether the worker answered at all (`false`: it skipped or stopped work that nobody
    /// waited for any more), so latency-aware strategies learn only from real answers.
    pub answered: bool,
}
