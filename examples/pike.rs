//! Rob Pike's load balancer ("Concurrency is not parallelism", 2012) in Rust with tokio: the
//! shape of `src/live/` in a hundred lines. Read it first.
//!
//! ```sh
//! cargo run --example pike     # a run, and how evenly the work was spread
//! cargo test --example pike    # every request answered once; always the least loaded
//! ```
//!
//! Requesters send requests on one channel, `work`. The balancer, one task, gives each to the
//! worker with the fewest pending requests; the worker serves it, answers on the request's own
//! channel and tells the balancer it is done. Only the balancer touches the pending counts: no
//! locks, the channels carry all the news. `src/live/` is this program grown up, with the same
//! names: `request.rs` (`Request`, `Done`), `requester.rs`, `worker.rs` (`work`), and
//! `balancer.rs` (`Balancer::balance`, `dispatch`, `completed`), where a strategy replaces the
//! pool and timeouts, retries, crashes and a graceful shutdown are added.

use std::collections::BTreeSet;
use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use tokio::sync::{mpsc, oneshot};

/// Pike's `Request{fn, c}`: the work (`demand`, here time to sleep) and `reply`, the channel
/// of the requester that waits for the answer (`c`). The answer is the worker's index.
#[derive(Debug)]
struct Request {
    demand: Duration,
    reply: oneshot::Sender<usize>,
}

/// A worker finished a request: Pike's `done <- w`.
struct Done {
    worker: usize,
}

/// Pike's requester: sleep a while, send a request, wait for its answer; `requests` times.
/// Returns the answers (which worker served each).
async fn requester(work: mpsc::Sender<Request>, requests: usize, seed: u64) -> Vec<usize> {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let mut answers = Vec::with_capacity(requests);
    for _ in 0..requests {
        tokio::time::sleep(Duration::from_micros(rng.random_range(0..2_000))).await;
        let (reply, answer) = oneshot::channel();
        let demand = Duration::from_micros(rng.random_range(500..3_000));
        work.send(Request { demand, reply }).await.expect("the balancer runs until we stop");
        answers.push(answer.await.expect("every request is answered"));
    }
    answers
}

/// Pike's worker: `for { req := <-w.requests; req.c <- req.fn(); done <- w }`, until the
/// balancer closes its queue. Returns how many requests it served.
async fn work(
    index: usize,
    mut requests: mpsc::Receiver<Request>,
    done: mpsc::UnboundedSender<Done>,
) -> usize {
    let mut served = 0;
    while let Some(request) = requests.recv().await {
        tokio::time::sleep(request.demand).await;
        let _ = request.reply.send(index);
        let _ = done.send(Done { worker: index });
        served += 1;
    }
    served
}

/// Pike's `Balancer`: the workers' queues and pending counts, the pool, and the done channel.
struct Balancer {
    requests: Vec<mpsc::Sender<Request>>,
    pending: Vec<usize>,
    /// Pike's `pool`, a heap of workers by pending count. std's `BinaryHeap` cannot take out a
    /// given worker (Pike's `heap.Remove`), so the pool is an ordered set of `(pending, index)`:
    /// `pop_first` is `heap.Pop`, `insert` is `heap.Push`.
    pool: BTreeSet<(usize, usize)>,
    done: mpsc::UnboundedReceiver<Done>,
    /// The most any worker was given over the least loaded, each just after a dispatch.
    most_over_least: usize,
}

impl Balancer {
    /// Pike's `balance`: one loop, one `select!`, until every requester has stopped.
    async fn balance(mut self, mut work: mpsc::Receiver<Request>) -> usize {
        loop {
            tokio::select! {
                request = work.recv() => match request {
                    Some(request) => self.dispatch(request),
                    None => return self.most_over_least, // dropping the queues ends the workers
                },
                Some(Done { worker }) = self.done.recv() => self.completed(worker),
            }
        }
    }

    /// Pike's `dispatch`: take the least loaded worker, send it the request, count it, put it back.
    fn dispatch(&mut self, request: Request) {
        let (pending, w) = self.pool.pop_first().expect("at least one worker");
        // Never full: a queue holds as many requests as there are requesters, one each at most.
        self.requests[w].try_send(request).expect("room in the queue");
        self.pending[w] = pending + 1;
        self.pool.insert((pending + 1, w));
        let least = self.pool.first().map_or(0, |&(p, _)| p);
        self.most_over_least = self.most_over_least.max(pending + 1 - least);
    }

    /// Pike's `completed`: one fewer pending, and the worker back in its place in the pool.
    fn completed(&mut self, w: usize) {
        self.pool.remove(&(self.pending[w], w));
        self.pending[w] -= 1;
        self.pool.insert((self.pending[w], w));
    }
}

/// What a run gives: each requester's answers, each worker's count of requests served, and
/// the most a worker was given over the least loaded.
struct Run {
    answers: Vec<Vec<usize>>,
    served: Vec<usize>,
    most_over_least: usize,
}

/// `workers` workers, `requesters` requesters sending `each` requests.
async fn run(workers: usize, requesters: usize, each: usize) -> Run {
    let (done_tx, done) = mpsc::unbounded_channel();
    let (mut requests, mut tasks) = (Vec::new(), Vec::new());
    for w in 0..workers {
        let (tx, rx) = mpsc::channel(requesters);
        requests.push(tx);
        tasks.push(tokio::spawn(work(w, rx, done_tx.clone())));
    }
    let pool = (0..workers).map(|w| (0, w)).collect();
    let balancer = Balancer { requests, pending: vec![0; workers], pool, done, most_over_least: 0 };
    let (work_tx, work_rx) = mpsc::channel(requesters);
    let balancer = tokio::spawn(balancer.balance(work_rx));
    let senders: Vec<_> =
        (0..requesters).map(|r| tokio::spawn(requester(work_tx.clone(), each, r as u64))).collect();
    drop(work_tx);
    let mut answers = Vec::new();
    for s in senders {
        answers.push(s.await.expect("a requester"));
    }
    let most_over_least = balancer.await.expect("the balancer");
    let mut served = Vec::new();
    for t in tasks {
        served.push(t.await.expect("a worker"));
    }
    Run { answers, served, most_over_least }
}

#[tokio::main]
async fn main() {
    let (workers, requesters, each) = (8, 64, 50);
    let r = run(workers, requesters, each).await;
    let answered: usize = r.answers.iter().map(Vec::len).sum();
    println!("{requesters} requesters sent {each} requests each to {workers} workers: {answered} answered");
    println!("served per worker: {:?}", r.served);
    println!("the most a worker was given over the least loaded: {}", r.most_over_least);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_request_is_answered_exactly_once() {
        let r = run(4, 16, 25).await;
        assert!(r.answers.iter().all(|a| a.len() == 25 && a.iter().all(|&w| w < 4)));
        // Each worker's count of what it served adds up to the requests sent: none twice.
        assert_eq!(r.served.iter().sum::<usize>(), 16 * 25);
        let mut by_answer = vec![0; 4];
        r.answers.iter().flatten().for_each(|&w| by_answer[w] += 1);
        assert_eq!(by_answer, r.served);
    }

    #[tokio::test]
    async fn no_worker_is_given_more_than_one_over_the_least_loaded() {
        let r = run(8, 32, 20).await;
        assert_eq!(r.most_over_least, 1);
        assert!(r.served.iter().all(|&n| n > 0), "{:?}", r.served);
    }
}
