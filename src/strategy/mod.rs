//! Balancing strategies: one trait, one file per strategy, one registry.
//!
//! # Adding a strategy
//!
//! 1. Write `src/strategy/my_strategy.rs` with a type that implements [`Strategy`].
//! 2. Add one [`StrategyInfo`] line to [`STRATEGIES`] below.
//!
//! It is then available as `--strategy my-strategy`, in `lbsim compare` and in `lbsim
//! strategies`. A strategy outside the crate (see `examples/`) implements the same trait and is
//! handed to [`crate::engine::Sim::new`] directly.
//!
//! Layering: beside the model's vocabulary (layer 2); a strategy imports only the
//! foundations (`rng`, `time`, `keys`) and sees workers through [`WorkerView`]; both engines,
//! the configuration and everything above import it.

use std::fmt;

use crate::rng::SimRng;
use crate::time::{Nanos, SECS};

mod bounded_hash;
mod join_idle_queue;
mod least_loaded;
mod least_request;
mod least_work_left;
mod maglev;
mod peak_ewma;
mod power_of_two;
mod random;
mod ring_hash;
mod round_robin;
mod sita;
mod weighted_round_robin;

pub use bounded_hash::BoundedHash;
pub use join_idle_queue::JoinIdleQueue;
pub use least_loaded::LeastLoaded;
pub use least_request::LeastRequest;
pub use least_work_left::LeastWorkLeft;
pub use maglev::Maglev;
pub use peak_ewma::PeakEwma;
pub use power_of_two::PowerOfTwo;
pub use random::Random;
pub use ring_hash::{MAX_RING_POINTS, RingHash};
pub use round_robin::RoundRobin;
pub use sita::Sita;
pub use weighted_round_robin::WeightedRoundRobin;

/// A worker's index in the cluster, `0..cluster.len()`.
pub type WorkerId = usize;

/// What the balancer knows about one worker. Strategies only ever read this.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerView {
    /// Requests sent to the worker and not yet answered: queued plus in service.
    pub pending: u32,
    /// Relative speed: a request with demand `d` takes `d / speed` to serve.
    pub speed: f64,
    /// Weight for weighted strategies (defaults to the speed).
    pub weight: f64,
    /// Whether the balancer may send requests to the worker.
    pub up: bool,
    /// Latency of the most recent answer from this worker (0 before the first).
    pub last_latency: Nanos,
}

/// A read-only view of the whole cluster, as the balancer sees it at the current virtual time.
#[derive(Clone, Copy, Debug)]
pub struct Cluster<'a> {
    now: Nanos,
    workers: &'a [WorkerView],
    up: &'a [WorkerId],
    key: Option<u64>,
    oracle: Option<&'a dyn Oracle>,
}

/// What only a simulation knows about the workers. A strategy that reads it is an oracle
/// ([`Strategy::is_oracle`]): no real balancer can do what it does, which makes it the bound
/// the others are measured against.
pub trait Oracle {
    /// The time `worker` needs to finish everything it holds (the rest of what it serves and
    /// all of its queue, at its current speed, over all its slots), from now.
    fn work_left(&self, worker: WorkerId) -> Nanos;

    /// The work of the request being placed (its demand at speed 1, ns), when this is a pick:
    /// a size no real balancer knows in advance (size-interval strategies read it). Default
    /// `None`.
    fn demand(&self) -> Option<Nanos> {
        None
    }

    /// The distribution that requests' sizes are drawn from, when known. Default `None`.
    fn sizes(&self) -> Option<&crate::dist::Dist> {
        None
    }
}

impl fmt::Debug for dyn Oracle + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Oracle")
    }
}

impl<'a> Cluster<'a> {
    /// A view over `workers`; `up` must list exactly the ids of the workers that are up.
    pub fn new(now: Nanos, workers: &'a [WorkerView], up: &'a [WorkerId]) -> Cluster<'a> {
        debug_assert_eq!(up.len(), workers.iter().filter(|w| w.up).count());
        Cluster { now, workers, up, key: None, oracle: None }
    }

    /// The same view for a pick of a request with `key` (keyed requests).
    #[inline]
    pub fn with_key(self, key: Option<u64>) -> Cluster<'a> {
        Cluster { key, ..self }
    }

    /// The same view with an oracle's knowledge (the model gives it to oracle strategies).
    #[inline]
    pub fn with_oracle(self, oracle: &'a dyn Oracle) -> Cluster<'a> {
        Cluster { oracle: Some(oracle), ..self }
    }

    /// The time `worker` needs to finish all it holds, when an oracle is at hand ([`Oracle`]);
    /// `None` otherwise.
    pub fn work_left(&self, worker: WorkerId) -> Option<Nanos> {
        self.oracle.map(|o| o.work_left(worker))
    }

    /// The work of the request being placed (demand at speed 1), when an oracle is at hand
    /// and this is a pick ([`Oracle::demand`]); `None` otherwise.
    pub fn demand(&self) -> Option<Nanos> {
        self.oracle.and_then(|o| o.demand())
    }

    /// The distribution of requests' sizes, when an oracle is at hand ([`Oracle::sizes`]).
    pub fn sizes(&self) -> Option<&'a crate::dist::Dist> {
        self.oracle.and_then(|o| o.sizes())
    }

    /// The key of the request being placed, when requests are keyed (a `[keys]` table) and
    /// this is a pick; `None` otherwise. Hashing strategies send a key to the same worker.
    pub fn key(&self) -> Option<u64> {
        self.key
    }

    /// Current virtual time.
    pub fn now(&self) -> Nanos {
        self.now
    }

    /// Number of workers, up or down.
    pub fn len(&self) -> usize {
        self.workers.len()
    }

    /// Whether the cluster has no workers at all.
    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }

    /// One worker's view.
    pub fn worker(&self, id: WorkerId) -> &'a WorkerView {
        &self.workers[id]
    }

    /// All workers, indexed by id.
    pub fn workers(&self) -> &'a [WorkerView] {
        self.workers
    }

    /// The ids of the workers that are up, in no particular order; sampling from this slice
    /// is the cheap way to choose among available workers.
    pub fn up(&self) -> &'a [WorkerId] {
        self.up
    }

    /// A worker that is up, uniformly at random; `None` when none is.
    pub fn random_up(&self, rng: &mut SimRng) -> Option<WorkerId> {
        if self.up.is_empty() {
            return None;
        }
        Some(self.up[rng.below(self.up.len() as u64) as usize])
    }

    /// Two distinct workers that are up, uniformly at random (the first pair of the power of
    /// two choices); `None` with fewer than two up.
    pub fn two_up(&self, rng: &mut SimRng) -> Option<(WorkerId, WorkerId)> {
        let n = self.up.len() as u64;
        if n < 2 {
            return None;
        }
        let a = rng.below(n);
        let mut b = rng.below(n - 1);
        if b >= a {
            b += 1;
        }
        Some((self.up[a as usize], self.up[b as usize]))
    }
}

/// A load-balancing strategy: picks a worker for each request.
///
/// The engine calls [`pick`](Strategy::pick) once per request, and tells the strategy about
/// what happens through the `on_*` hooks, whose default implementations do nothing. All
/// randomness must come from the `rng` argument so that runs are reproducible.
///
/// ```
/// use lbsim::rng::SimRng;
/// use lbsim::strategy::{Cluster, Strategy, WorkerId};
///
/// /// Sends every request to the fastest worker that is up.
/// struct Fastest;
///
/// impl Strategy for Fastest {
///     fn name(&self) -> &str {
///         "fastest"
///     }
///
///     fn pick(&mut self, cluster: &Cluster<'_>, _rng: &mut SimRng) -> Option<WorkerId> {
///         cluster.up().iter().copied().max_by(|&a, &b| {
///             cluster.worker(a).speed.total_cmp(&cluster.worker(b).speed)
///         })
///     }
/// }
/// ```
pub trait Strategy: Send {
    /// The strategy's name, as shown in reports.
    fn name(&self) -> &str;

    /// A copy of the strategy in its current state, if it can make one: the engine then
    /// keeps checkpoints of a run, so that going back in time
    /// (the run controller's seeking) resumes from one instead of from the start. The
    /// default, `None`, is always correct, only slower to seek: a strategy that derives
    /// `Clone` returns `Some(Box::new(self.clone()))`.
    fn clone_box(&self) -> Option<Box<dyn Strategy>> {
        None
    }

    /// Chooses a worker for the next request, or `None` to reject it (for example when no
    /// worker is up). The worker must be up.
    fn pick(&mut self, cluster: &Cluster<'_>, rng: &mut SimRng) -> Option<WorkerId>;

    /// Called after `worker`'s pending count, as the balancer sees it, changed.
    fn on_pending_change(&mut self, _worker: WorkerId, _cluster: &Cluster<'_>) {}

    /// Called when `worker` answers an attempt that took `latency` from the balancer and
    /// back; `ok` is false for an error (the worker failed it, crashed, or turned it away).
    fn on_response(&mut self, _worker: WorkerId, _latency: Nanos, _ok: bool, _cluster: &Cluster<'_>) {}

    /// Called when `worker` has run out of work and registers with this balancer as idle
    /// (join-idle-queue): when it finishes its last request, when it comes back from a crash,
    /// when an autoscaled worker starts, and for every worker at the start. With several
    /// balancer replicas, only one hears of it, chosen at random. Only for a strategy whose
    /// [`wants_idle`](Strategy::wants_idle) is true.
    fn on_idle(&mut self, _worker: WorkerId, _cluster: &Cluster<'_>) {}

    /// Whether the strategy wants [`on_idle`](Strategy::on_idle) calls; the engines spare
    /// the others the work of making them. Default: false.
    fn wants_idle(&self) -> bool {
        false
    }

    /// Whether the strategy wants [`on_pending_change`](Strategy::on_pending_change) calls.
    /// One that reads the loads only when it picks can say no, and the simulation spares it
    /// a call per send and per answer (the live engine makes them anyway: they are cheap
    /// beside a channel send). Default: true.
    fn wants_pending_changes(&self) -> bool {
        true
    }

    /// Whether the strategy wants [`on_response`](Strategy::on_response) calls (as
    /// [`wants_pending_changes`](Strategy::wants_pending_changes), for answers). Default:
    /// true.
    fn wants_responses(&self) -> bool {
        true
    }

    /// Whether the strategy reads [`Cluster::work_left`], which only the model can give:
    /// such a strategy is an oracle (a bound to compare real strategies against), and the
    /// live engine refuses it. Default: false.
    fn is_oracle(&self) -> bool {
        false
    }

    /// Called when the cluster changed shape (a worker went up or down, was added or changed
    /// speed or weight), and once before the first pick. Strategies that keep per-worker state
    /// rebuild it here.
    fn on_cluster_change(&mut self, _cluster: &Cluster<'_>) {}

    /// Called once, after the first [`on_cluster_change`](Strategy::on_cluster_change), when
    /// this instance is one of several balancer replicas that are not aligned: a strategy that
    /// walks the workers in a fixed order (round robin) starts at a random point of it, drawn
    /// from `rng` (this replica's own stream), as independent processes do. Default: nothing.
    fn start_as_replica(&mut self, _cluster: &Cluster<'_>, _rng: &mut SimRng) {}

    /// For hashing strategies: the share of the key space (0 to 1) that changed worker at the
    /// latest [`on_cluster_change`](Strategy::on_cluster_change), which the engine reports
    /// as keys remapped. Default: `None` (keys have no home worker).
    fn keys_moved(&self) -> Option<f64> {
        None
    }

    /// Why the latest pick went where it did, in a few words, for a UI stepping through
    /// decisions (for example "sampled 3 (2 pending) and 5 (4 pending)"). Default: `None`.
    fn explain_last_pick(&self) -> Option<String> {
        None
    }
}

/// Tunable parameters shared by the built-in strategies.
#[derive(Clone, Debug, PartialEq)]
pub struct StrategyParams {
    /// Workers sampled per pick by `power-of-two`. Default 2.
    pub choices: usize,
    /// Time over which `peak-ewma` forgets a latency peak (ns). Default 1 s: Finagle and
    /// Linkerd use 10 s for production traffic; lbsim's runs last seconds to minutes, and on
    /// the shipped scenarios 1 s does within a few percent of 10 s while reacting faster.
    pub ewma_decay: Nanos,
    /// The latency `peak-ewma` records for an error answer, so that a worker that fails
    /// fast does not look fast (ns). Default 1 s; 0 turns the penalty off.
    pub error_penalty: Nanos,
    /// `ring-hash` and `bounded-hash`: points per worker on the ring. Default 1,024.
    pub ring_size: usize,
    /// `maglev`: lookup table size (the smallest prime at least this). Default 65,537.
    pub table_size: u64,
    /// `bounded-hash`: no worker takes more than `ceil(balance_factor x mean pending)`.
    /// Default 1.25.
    pub balance_factor: f64,
    /// `least-request` with unequal weights: effective weight = weight / (active + 1)^bias.
    /// Default 1.0 (Envoy's `active_request_bias`).
    pub active_request_bias: f64,
    /// `sita`: the size cutoffs (demand at speed 1, ns), increasing; k cutoffs split the
    /// workers into k + 1 classes in order. Default none (`sita` then acts as `sita-e`).
    pub cutoffs: Vec<Nanos>,
}

impl Default for StrategyParams {
    fn default() -> StrategyParams {
        StrategyParams {
            choices: 2,
            ewma_decay: SECS,
            error_penalty: SECS,
            ring_size: 1024,
            table_size: maglev::DEFAULT_TABLE_SIZE,
            balance_factor: 1.25,
            active_request_bias: 1.0,
            cutoffs: Vec::new(),
        }
    }
}

/// A registered strategy: its CLI name, a one-line description and a constructor.
pub struct StrategyInfo {
    /// The name used on the command line and in scenarios.
    pub name: &'static str,
    /// One line for `lbsim strategies`.
    pub about: &'static str,
    /// Builds a fresh instance.
    pub build: fn(&StrategyParams) -> Box<dyn Strategy>,
}

/// Every built-in strategy. Register a new one here.
pub const STRATEGIES: &[StrategyInfo] = &[
    StrategyInfo {
        name: "round-robin",
        about: "next worker in turn (nginx's default)",
        build: |_| Box::new(RoundRobin::default()),
    },
    StrategyInfo {
        name: "random",
        about: "a uniformly random worker",
        build: |_| Box::new(Random::default()),
    },
    StrategyInfo {
        name: "least-loaded",
        about: "fewest pending requests, ties broken at random (Pike's heap balancer, HAProxy leastconn)",
        build: |_| Box::new(LeastLoaded::default()),
    },
    StrategyInfo {
        name: "power-of-two",
        about: "sample d distinct workers (default 2), take the least pending (Envoy least_request)",
        build: |p| Box::new(PowerOfTwo::new(p.choices)),
    },
    StrategyInfo {
        name: "weighted-round-robin",
        about: "smooth weighted round robin by worker weight, default weight = speed (nginx)",
        build: |_| Box::new(WeightedRoundRobin::default()),
    },
    StrategyInfo {
        name: "peak-ewma",
        about: "latency-aware: peak EWMA of latency x (pending + 1), best of two (Finagle, Linkerd)",
        build: |p| Box::new(PeakEwma::new(p.ewma_decay).with_error_penalty(p.error_penalty)),
    },
    StrategyInfo {
        name: "least-request",
        about: "Envoy least_request: power of d on active requests, or weight / (active + 1)^bias when weights differ",
        build: |p| Box::new(LeastRequest::new(p.choices, p.active_request_bias)),
    },
    StrategyInfo {
        name: "join-idle-queue",
        about: "an idle worker joins one balancer's idle list; send to one from it, else at random (Lu et al. 2011)",
        build: |_| Box::new(JoinIdleQueue::default()),
    },
    StrategyInfo {
        name: "least-work-left",
        about: "an oracle: the least remaining work, which no real balancer knows (the lower bound, model only)",
        build: |_| Box::new(LeastWorkLeft::default()),
    },
    StrategyInfo {
        name: "ring-hash",
        about: "consistent hashing of the request's key on a ring of virtual nodes (Envoy RING_HASH)",
        build: |p| Box::new(RingHash::new(p.ring_size)),
    },
    StrategyInfo {
        name: "maglev",
        about: "the key's entry of a Maglev lookup table, O(1) (Envoy MAGLEV)",
        build: |p| Box::new(Maglev::new(p.table_size)),
    },
    StrategyInfo {
        name: "bounded-hash",
        about: "consistent hashing with bounded loads: no worker over c x mean (Envoy hash_balance_factor)",
        build: |p| Box::new(BoundedHash::new(p.ring_size, p.balance_factor)),
    },
    StrategyInfo {
        name: "sita",
        about: "an oracle: size interval task assignment, each size class (strategy.cutoffs) to its workers; reads each request's size (model only)",
        build: |p| Box::new(Sita::new(p.cutoffs.clone())),
    },
    StrategyInfo {
        name: "sita-e",
        about: "an oracle: SITA with cutoffs that give every worker an equal share of the work, from the service distribution (model only)",
        build: |_| Box::new(Sita::equal_load()),
    },
];

/// Strategies registered by a program that embeds lbsim (see [`register`]).
static EXTRA: std::sync::OnceLock<&'static [StrategyInfo]> = std::sync::OnceLock::new();

/// Adds strategies to the registry, for a program built on lbsim's library (like
/// `examples/fastest_two.rs`): they then work everywhere a built-in does, by name. Call it
/// once, before anything looks a strategy up; later calls are ignored and return false.
pub fn register(extra: &'static [StrategyInfo]) -> bool {
    EXTRA.set(extra).is_ok()
}

/// Every strategy: the built-ins, then any registered ones.
pub fn all() -> impl Iterator<Item = &'static StrategyInfo> {
    STRATEGIES.iter().chain(EXTRA.get().copied().unwrap_or_default())
}

/// The names of all strategies, comma separated.
pub fn names() -> String {
    all().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

/// A strategy name that is not registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownStrategy(pub String);

impl fmt::Display for UnknownStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown strategy `{}` (valid: {})", self.0, names())
    }
}

impl std::error::Error for UnknownStrategy {}

/// Looks a strategy up by its CLI name.
pub fn find(name: &str) -> Result<&'static StrategyInfo, UnknownStrategy> {
    all().find(|s| s.name == name).ok_or_else(|| UnknownStrategy(name.to_string()))
}

/// Builds a strategy by its CLI name.
pub fn build(name: &str, params: &StrategyParams) -> Result<Box<dyn Strategy>, UnknownStrategy> {
    find(name).map(|info| (info.build)(params))
}

/// Helpers shared by the strategies' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::rng::Stream;

    /// A cluster of workers with the given pending counts, speeds 1, all up.
    pub struct Fixture {
        pub workers: Vec<WorkerView>,
        pub up: Vec<WorkerId>,
        pub now: Nanos,
    }

    impl Fixture {
        pub fn new(pending: &[u32]) -> Fixture {
            let workers: Vec<WorkerView> = pending
                .iter()
                .map(|&p| WorkerView { pending: p, speed: 1.0, weight: 1.0, up: true, last_latency: 0 })
                .collect();
            let up = (0..workers.len()).collect();
            Fixture { workers, up, now: 0 }
        }

        pub fn cluster(&self) -> Cluster<'_> {
            Cluster::new(self.now, &self.workers, &self.up)
        }

        pub fn set_up(&mut self, id: WorkerId, up: bool) {
            self.workers[id].up = up;
            self.up = (0..self.workers.len()).filter(|&i| self.workers[i].up).collect();
        }

        /// Picks `n` times with a fixed seed, telling the strategy about each pick as the
        /// engine would (pending + 1), and returns how many picks each worker got.
        pub fn pick_counts(&mut self, s: &mut dyn Strategy, n: usize, keep_load: bool) -> Vec<usize> {
            let mut rng = SimRng::stream(42, Stream::Strategy);
            s.on_cluster_change(&self.cluster());
            let mut counts = vec![0; self.workers.len()];
            for _ in 0..n {
                let w = s.pick(&self.cluster(), &mut rng).expect("a worker is up");
                assert!(self.workers[w].up, "picked down worker {w}");
                counts[w] += 1;
                if keep_load {
                    self.workers[w].pending += 1;
                    s.on_pending_change(w, &self.cluster());
                }
            }
            counts
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    #[test]
    fn names_are_unique_and_buildable() {
        for (i, info) in STRATEGIES.iter().enumerate() {
            assert!(STRATEGIES[..i].iter().all(|o| o.name != info.name));
            assert_eq!(build(info.name, &StrategyParams::default()).unwrap().name(), info.name);
        }
    }

    #[test]
    fn every_strategy_explains_its_picks() {
        for info in STRATEGIES {
            let mut f = testing::Fixture::new(&[2, 0, 1]);
            let mut s = (info.build)(&StrategyParams::default());
            f.pick_counts(s.as_mut(), 1, false);
            let why = s.explain_last_pick().unwrap_or_default();
            assert!(!why.is_empty(), "{} gives no reason", info.name);
        }
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let err = build("fastest", &StrategyParams::default()).err().unwrap().to_string();
        assert!(err.starts_with("unknown strategy `fastest` (valid: round-robin, random"), "{err}");
    }

    #[test]
    fn every_strategy_rejects_when_no_worker_is_up_and_never_picks_a_down_one() {
        for info in STRATEGIES {
            let mut f = testing::Fixture::new(&[0, 0, 0]);
            let mut s = (info.build)(&StrategyParams::default());
            f.set_up(1, false);
            let counts = f.pick_counts(s.as_mut(), 100, true);
            assert_eq!(counts[1], 0, "{}", info.name);
            for id in [0, 2] {
                f.set_up(id, false);
            }
            s.on_cluster_change(&f.cluster());
            let mut rng = SimRng::stream(1, Stream::Strategy);
            assert_eq!(s.pick(&f.cluster(), &mut rng), None, "{}", info.name);
        }
    }
}
