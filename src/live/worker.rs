//! A worker: one task that takes requests from its own bounded queue, serves them, answers on
//! each request's reply channel and tells the balancer it is done. Pike's worker:
//! `for { req := <-w.requests; req.c <- req.fn(); done <- w }`.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio::sync::{Mutex, mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::Work;
use super::meter::{Meter, Record};
use super::request::{Done, Reply, Request, Responder};
use crate::model::config::ErrorKind;
use crate::rng::{SimRng, Stream};

/// What can change about a worker while it runs (set by the balancer, read at each request).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// Configured speed: a request with demand `d` takes `d / speed`.
    pub speed: f64,
    /// How many times slower it is than its speed says (1 = normal; the balancer is not told).
    pub slowdown: f64,
    /// Probability of failing a request.
    pub error_rate: f64,
}

/// Everything a worker task needs.
pub struct Worker {
    /// Its index.
    pub id: usize,
    /// Which life of this worker (each repair starts a new one).
    pub epoch: u32,
    /// Requests it serves at once.
    pub concurrency: u32,
    /// Whether failures come at once or after the work.
    pub error_kind: ErrorKind,
    /// Its settings, kept up to date by the balancer.
    pub settings: watch::Receiver<Settings>,
    /// Where it says it is done.
    pub done: mpsc::UnboundedSender<Done>,
    /// What kind of work serving is.
    pub work: Work,
    /// Stop work nobody waits for any more (the requester gave up).
    pub cancel_abandoned: bool,
    /// Cancelled when the run shuts down.
    pub shutdown: CancellationToken,
    /// Seed for its error draws.
    pub seed: u64,
    /// Where it reports what it did.
    pub meter: Meter,
}

/// The worker task: `concurrency` servers take turns at the queue, each serving one request
/// at a time (one server owns the queue: no lock to take per request). Aborting this task (a
/// crash) drops every request in its queue and in service, and with them their reply
/// channels: the requesters hear of the crash.
pub async fn work(me: Worker, mut queue: mpsc::Receiver<Request>) {
    if me.concurrency <= 1 {
        return me.serve(Queue::Own(&mut queue), 0).await;
    }
    let queue = Mutex::new(queue);
    join_all((0..me.concurrency).map(|slot| me.serve(Queue::Shared(&queue), slot))).await;
}

/// A server's way to its worker's queue.
enum Queue<'a> {
    /// The only server.
    Own(&'a mut mpsc::Receiver<Request>),
    /// One of several, taking turns.
    Shared(&'a Mutex<mpsc::Receiver<Request>>),
}

impl Queue<'_> {
    /// The next request if one is there already (a lone server's queue only).
    fn ready(&mut self) -> Option<Request> {
        match self {
            Queue::Own(queue) => queue.try_recv().ok(),
            Queue::Shared(_) => None,
        }
    }

    async fn next(&mut self) -> Option<Request> {
        match self {
            Queue::Own(queue) => queue.recv().await,
            Queue::Shared(queue) => queue.lock().await.recv().await,
        }
    }
}

/// What a server reports, kept back while it goes from one request straight to the next, and
/// reported under one lock before it waits for anything (the next request, a timer, the CPU
/// work), every [`HELD`] records, and when it stops or is aborted (a crash drops it). Only
/// the lateness and the service go this way: nothing else waits on them (a pick is reported
/// by the balancer before the worker has the request, a request's end by its requester).
struct Held<'a> {
    meter: &'a Meter,
    records: Vec<Record>,
}

/// Records a server keeps back at most.
const HELD: usize = 64;

impl Held<'_> {
    fn push(&mut self, records: [Record; 2]) {
        self.records.extend(records);
        if self.records.len() >= HELD {
            self.flush();
        }
    }

    fn flush(&mut self) {
        self.meter.record_batch(&mut self.records);
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

impl Worker {
    /// One server: takes the next request, serves it, answers; until the queue closes.
    async fn serve(&self, mut queue: Queue<'_>, slot: u32) {
        let index = (self.id as u64) << 32 | (self.epoch as u64) << 8 | slot as u64;
        let mut rng = SimRng::substream(self.seed, Stream::Faults, index);
        // The settings, read again only when the balancer changed them.
        let mut watch = self.settings.clone();
        let mut settings = *watch.borrow_and_update();
        // When this server's last request was due to end. Each request is timed from when it
        // could start, max(dispatched, free_at), not from when a timer happened to wake us:
        // a late wake-up shows in the latency of the request it ends (and is measured), but
        // does not pile up on the requests queued behind it.
        let mut free_at = Instant::now();
        let mut held = Held { meter: &self.meter, records: Vec::with_capacity(HELD) };
        loop {
            let next = match queue.ready() {
                Some(request) => Some(request),
                None => {
                    held.flush();
                    queue.next().await
                }
            };
            let Some(mut request) = next else { return };
            let now = Instant::now();
            let dispatched = request.dispatched.unwrap_or(now);
            let start = dispatched.max(free_at).min(now);
            let late = Record::Late(self.meter.clock.scenario(now.saturating_duration_since(start)));
            if watch.has_changed().unwrap_or(false) {
                settings = *watch.borrow_and_update();
            }
            let fails = rng.unit() < settings.error_rate;
            if self.cancel_abandoned && request.reply.is_closed() {
                // The requester gave up before we began: skip the work.
                held.flush();
                self.meter.record(late);
                free_at = now;
                self.tell_balancer(dispatched, now, false, false);
                continue;
            }
            let demand = request.demand as f64 * settings.slowdown / settings.speed;
            let planned = match (fails, self.error_kind) {
                (true, ErrorKind::Fast) => Duration::ZERO,
                _ => self.meter.clock.real(demand as u64),
            };
            // Work that takes time: what is held goes first.
            if !(self.work == Work::Sleep && start + planned <= now) {
                held.flush();
            }
            let Some((end, answered)) = self.run(start, now, planned, &mut request.reply).await else {
                if self.shutdown.is_cancelled() {
                    return; // the run is over: nothing more is served, nor counted
                }
                // Cancelled: the requester gave up meanwhile.
                let stopped = Instant::now();
                let spent = stopped.saturating_duration_since(start);
                held.flush();
                self.meter.record_all([
                    late,
                    Record::Served {
                        measured: request.measured,
                        service: self.meter.clock.scenario(spent),
                        wasted: true,
                    },
                ]);
                free_at = stopped;
                self.tell_balancer(dispatched, stopped, false, false);
                continue;
            };
            free_at = end;
            let service = end.saturating_duration_since(start);
            let reply = if fails {
                Reply::Failed { worker: self.id }
            } else {
                Reply::Done { worker: self.id, wait: start.saturating_duration_since(dispatched), service }
            };
            let wasted = request.reply.send(reply).is_err();
            let service = self.meter.clock.scenario(service);
            // Both kept back together: the lateness of the start, and the service.
            held.push([late, Record::Served { measured: request.measured, service, wasted }]);
            self.tell_balancer(dispatched, answered, !fails, true);
        }
    }

    /// Tells the balancer this worker is done with a request it dispatched at `dispatched`,
    /// answered (or given up) at `at`.
    fn tell_balancer(&self, dispatched: Instant, at: Instant, ok: bool, answered: bool) {
        let latency = at.saturating_duration_since(dispatched);
        let _ = self.done.send(Done { worker: self.id, epoch: self.epoch, latency, ok, answered });
    }

    /// Does `planned` of work from `start` (the request was taken at `now`). Returns when it
    /// was due to end (sleep) or ended (CPU work), and when it was over as read on the clock
    /// (`now` for work already due when taken), or `None` if it was cancelled first.
    async fn run(
        &self,
        start: Instant,
        now: Instant,
        planned: Duration,
        reply: &mut Responder,
    ) -> Option<(Instant, Instant)> {
        match self.work {
            // I/O-bound: waiting, as for a database or another service. The thread is free
            // for other tasks meanwhile.
            Work::Sleep => {
                let end = start + planned;
                // A deadline already passed needs no timer (which would wait for its next
                // millisecond tick): checked against the read made when the request was
                // taken, then against a fresh one.
                if end <= now {
                    return Some((end, now));
                }
                let at = Instant::now();
                if end <= at {
                    return Some((end, at));
                }
                tokio::select! {
                    _ = tokio::time::sleep_until(end.into()) => {}
                    _ = reply.closed(), if self.cancel_abandoned => return None,
                    _ = self.shutdown.cancelled() => return None,
                }
                let woke = Instant::now();
                self.meter.late(end, woke);
                Some((end, woke))
            }
            // CPU-bound, done right inside the async task: the classic pitfall. Nothing else
            // runs on this runtime thread until it is over.
            Work::Spin => {
                let is_closed = || self.cancel_abandoned && reply.is_closed();
                let done = spin(planned, &|| self.shutdown.is_cancelled() || is_closed());
                done.then(Instant::now).map(|t| (t, t))
            }
            // The same CPU work moved to tokio's blocking pool: the runtime threads stay free.
            Work::Blocking => {
                let stop = self.shutdown.child_token();
                // If this task is aborted (a crash), the guard stops the spinning thread too.
                let _guard = stop.clone().drop_guard();
                let spinner = stop.clone();
                let job = tokio::task::spawn_blocking(move || spin(planned, &|| spinner.is_cancelled()));
                tokio::select! {
                    finished = job => finished.unwrap_or(false).then(Instant::now).map(|t| (t, t)),
                    _ = reply.closed(), if self.cancel_abandoned => None,
                }
            }
        }
    }
}

/// Burns CPU for `d` of real time, unless `stop` says to stop first; returns whether it
/// finished.
fn spin(d: Duration, stop: &dyn Fn() -> bool) -> bool {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if stop() {
            return false;
        }
        std::hint::spin_loop();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spin_takes_its_time_and_stops_when_told() {
        let t = Instant::now();
        assert!(spin(Duration::from_millis(5), &|| false));
        assert!(t.elapsed() >= Duration::from_millis(5));
        assert!(!spin(Duration::from_secs(60), &|| true));
    }
}
