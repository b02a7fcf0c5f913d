//! What travels on the channels: a [`Request`] carries its reply channel, as in Pike's
//! balancer (`Request{fn, c}`), and a worker tells the balancer it is [`Done`].
//!
//! The reply channel is a [`ReplySlot`] its requester keeps and arms again for each request,
//! as Pike's requester reuses its `c`: no allocation per request (a tokio `oneshot` is one).

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

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
    pub reply: Responder,
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

/// The answer's end was dropped unanswered: the worker crashed with the request, or the run
/// was cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dropped;

/// A reply channel a requester keeps and [arms](ReplySlot::arm) again for each request it
/// sends, one at a time. Each arming is a new generation: an answer to an older one (a
/// request given up on, still in a worker's queue) is refused, as a closed `oneshot` would.
#[derive(Debug, Default)]
pub struct ReplySlot {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The generation armed last.
    generation: u64,
    /// Its answer, once given (or its responder dropped unanswered).
    answer: Option<Result<Reply, Dropped>>,
    /// The requester stopped waiting for it (its [`Answer`] was dropped unread).
    abandoned: bool,
    /// The requester waiting for the answer.
    waiting: Option<Waker>,
    /// A worker waiting to hear that nobody waits any more ([`Responder::closed`]).
    watching: Option<Waker>,
}

impl ReplySlot {
    /// A slot to arm.
    pub fn new() -> Arc<ReplySlot> {
        Arc::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Nothing under the lock can panic; a poisoned one is whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new generation: the end the request carries, and the end the requester awaits.
    /// Whatever waited on the previous one hears that it is closed.
    pub fn arm(self: &Arc<Self>) -> (Responder, Answer) {
        let mut state = self.state();
        state.generation += 1;
        state.answer = None;
        state.abandoned = false;
        state.waiting = None;
        let watching = state.watching.take();
        let generation = state.generation;
        drop(state);
        if let Some(w) = watching {
            w.wake();
        }
        let responder = Responder { slot: Arc::clone(self), generation, spent: false };
        (responder, Answer { slot: Arc::clone(self), generation, read: false })
    }
}

/// A reply channel for one request alone (retries and open-loop requests, whose requester
/// lives as long as the request).
pub fn channel() -> (Responder, Answer) {
    ReplySlot::new().arm()
}

/// The end a request carries: answer it once ([`Responder::send`]), or drop it and the
/// requester hears of it ([`Dropped`]).
#[derive(Debug)]
pub struct Responder {
    slot: Arc<ReplySlot>,
    generation: u64,
    spent: bool,
}

impl Responder {
    /// Answers; gives the answer back if nobody waits for it any more.
    pub fn send(mut self, reply: Reply) -> Result<(), Reply> {
        self.spent = true;
        let mut state = self.slot.state();
        if state.generation != self.generation || state.abandoned {
            return Err(reply);
        }
        state.answer = Some(Ok(reply));
        let waiting = state.waiting.take();
        drop(state);
        if let Some(w) = waiting {
            w.wake();
        }
        Ok(())
    }

    /// Whether nobody waits for the answer any more.
    pub fn is_closed(&self) -> bool {
        let state = self.slot.state();
        state.generation != self.generation || state.abandoned
    }

    /// Returns once nobody waits for the answer any more.
    pub async fn closed(&mut self) {
        poll_fn(|cx| {
            let mut state = self.slot.state();
            if state.generation != self.generation || state.abandoned {
                return Poll::Ready(());
            }
            if !state.watching.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                state.watching = Some(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if self.spent {
            return;
        }
        let mut state = self.slot.state();
        if state.generation != self.generation || state.answer.is_some() {
            return;
        }
        state.answer = Some(Err(Dropped));
        let waiting = state.waiting.take();
        drop(state);
        if let Some(w) = waiting {
            w.wake();
        }
    }
}

/// The end the requester awaits: the answer, or [`Dropped`]. Dropping it unread tells the
/// worker that nobody waits any more.
#[derive(Debug)]
pub struct Answer {
    slot: Arc<ReplySlot>,
    generation: u64,
    read: bool,
}

impl Future for Answer {
    type Output = Result<Reply, Dropped>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.slot.state();
        if state.generation != self.generation {
            drop(state);
            self.read = true;
            return Poll::Ready(Err(Dropped)); // armed again meanwhile: cannot happen
        }
        if let Some(answer) = state.answer.take() {
            drop(state);
            self.read = true;
            return Poll::Ready(answer);
        }
        if !state.waiting.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            state.waiting = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        if self.read {
            return;
        }
        let mut state = self.slot.state();
        if state.generation != self.generation {
            return;
        }
        state.abandoned = true;
        let watching = state.watching.take();
        drop(state);
        if let Some(w) = watching {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done() -> Reply {
        Reply::Done { worker: 3, wait: Duration::ZERO, service: Duration::ZERO }
    }

    #[tokio::test]
    async fn a_slot_answers_each_generation_once_and_refuses_older_ones() {
        let slot = ReplySlot::new();
        let (tx, rx) = slot.arm();
        assert!(!tx.is_closed());
        tx.send(done()).unwrap();
        assert_eq!(rx.await, Ok(done()));
        // Given up on: the worker sees it closed, and its late answer is refused.
        let (mut stale, rx) = slot.arm();
        drop(rx);
        assert!(stale.is_closed());
        stale.closed().await;
        // Armed again while the stale one is still out: only the new generation counts.
        let (tx, rx) = slot.arm();
        assert_eq!(stale.send(Reply::Rejected), Err(Reply::Rejected));
        assert!(!tx.is_closed());
        drop(tx);
        assert_eq!(rx.await, Err(Dropped), "a responder dropped unanswered: the requester hears of it");
        let (tx, rx) = slot.arm();
        let answer = tokio::spawn(rx);
        tokio::task::yield_now().await;
        tx.send(Reply::Rejected).unwrap();
        assert_eq!(answer.await.unwrap(), Ok(Reply::Rejected), "a waiting requester is woken");
    }

    #[tokio::test]
    async fn a_worker_watching_hears_when_the_requester_gives_up() {
        let (mut tx, rx) = channel();
        let watch = tokio::spawn(async move {
            tx.closed().await;
            tx.is_closed()
        });
        tokio::task::yield_now().await;
        drop(rx);
        assert!(watch.await.unwrap());
    }
}
