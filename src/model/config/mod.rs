//! The engine's input: a fully resolved, validated description of one run.
//!
//! Scenario files and command-line flags are turned into a [`SimConfig`]; the engine knows
//! nothing about either. Every default lives here, as a `Default` impl or a named constant
//! (`RetryPolicy::default`, `Detection::DEFAULT_HEALTH_CHECKS`, `DEFAULT_SEED`, ...), and the
//! scenario layer and the flags take them from here. Imports only the foundations and the
//! strategy parameters; `validate` checks a configuration before anything is allocated.

mod validate;

use crate::dist::Dist;
use crate::strategy::StrategyParams;
use crate::time::{MILLIS, Nanos, SECS};

/// How requests arrive at the balancer.
#[derive(Clone, Debug, PartialEq)]
pub enum Arrivals {
    /// Open loop, exponential inter-arrival times at `rate` (requests/s).
    Poisson {
        /// Mean rate (requests/s).
        rate: f64,
    },
    /// Open loop, exactly `1 / rate` apart (requests/s).
    Constant {
        /// Rate (requests/s).
        rate: f64,
    },
    /// Open loop, Poisson whose rate alternates: `base_rate` for `gap`, then `rate` for
    /// `burst`, and again (requests/s, ns). The run starts in a gap.
    Bursty {
        /// Rate during a burst (requests/s).
        rate: f64,
        /// Rate between bursts (requests/s).
        base_rate: f64,
        /// Length of a burst (ns).
        burst: Nanos,
        /// Time between bursts (ns).
        gap: Nanos,
    },
    /// Open loop, replaying a trace: a request at each of its times multiplied by `scale`
    /// (0.5 replays it twice as fast), with the trace's demand when it gives one (else one
    /// drawn from the service distribution). The run stops sending when the trace ends.
    Trace {
        /// The requests, read from a file.
        trace: std::sync::Arc<crate::trace::Trace>,
        /// Virtual time per unit of trace time. Default 1.
        scale: f64,
    },
    /// Closed loop (Pike's requesters): `clients` clients, each sends a request, waits for the
    /// answer, thinks for a time drawn from `think`, and sends the next. Each starts after one
    /// think time.
    Closed {
        /// Number of clients.
        clients: u32,
        /// Time a client waits between an answer and its next request.
        think: Dist,
    },
}

impl Arrivals {
    /// The long-run mean arrival rate of an open-loop process (requests/s); `None` for a
    /// closed loop, whose rate depends on the latency.
    pub fn mean_rate(&self) -> Option<f64> {
        match *self {
            Arrivals::Poisson { rate } | Arrivals::Constant { rate } => Some(rate),
            Arrivals::Bursty { rate, base_rate, burst, gap } => {
                Some((rate * burst as f64 + base_rate * gap as f64) / (burst + gap) as f64)
            }
            Arrivals::Trace { ref trace, scale } => {
                Some(trace.len() as f64 * SECS as f64 / (trace.span() as f64 * scale).max(1.0))
            }
            Arrivals::Closed { .. } => None,
        }
    }

    /// A short description, e.g. `poisson 720/s`.
    pub fn describe(&self) -> String {
        match self {
            Arrivals::Poisson { rate } => format!("poisson {rate:.0}/s"),
            Arrivals::Constant { rate } => format!("constant {rate:.0}/s"),
            Arrivals::Bursty { rate, base_rate, burst, gap } => format!(
                "bursty {base_rate:.0}/s, bursts of {rate:.0}/s for {} every {}",
                crate::time::Human(*burst),
                crate::time::Human(*burst + *gap)
            ),
            Arrivals::Closed { clients, think } => format!("closed loop, {clients} clients, think {think}"),
            Arrivals::Trace { trace, scale } => {
                let clients = trace.client_count().map_or(String::new(), |c| format!(" from {c} clients"));
                let demands = if trace.demands.is_some() { ", with their demands" } else { "" };
                let scaled = if *scale == 1.0 { String::new() } else { format!(", time x{scale}") };
                format!(
                    "trace {}: {} requests{clients}{demands} over {}{scaled}",
                    trace.source,
                    trace.len(),
                    crate::time::Human(trace.span())
                )
            }
        }
    }
}

/// How a faulty worker fails requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ErrorKind {
    /// After doing the work: the error comes back after the service time.
    #[default]
    Slow,
    /// At once, without doing the work (a fast 503).
    Fast,
}

/// How a worker serves the requests it holds (its service discipline).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Discipline {
    /// First come, first served: `concurrency` slots, each at the worker's full speed; the
    /// rest wait in a FIFO queue. The default.
    #[default]
    Fcfs,
    /// Processor sharing: the requests in service share the worker's speed equally (as a
    /// thread or an event loop per request does). With `concurrency` c above 1, at most c
    /// share and the rest wait FCFS; with 1 (the default), every request it holds shares.
    Ps,
    /// Preemptive shortest remaining processing time: the requests with the least work left
    /// are served (`concurrency` of them, each at full speed). It reads each request's size,
    /// which no real server knows in advance: an oracle, as least-work-left is.
    Srpt,
    /// Preemptive last come, first served: a new request preempts the one in service, which
    /// resumes when the later ones are done (`concurrency` served at once, at full speed).
    LcfsPr,
}

impl Discipline {
    /// Every discipline, by its name in scenario files and on the command line.
    pub const ALL: [(&'static str, Discipline); 4] = [
        ("fcfs", Discipline::Fcfs),
        ("ps", Discipline::Ps),
        ("srpt", Discipline::Srpt),
        ("lcfs-pr", Discipline::LcfsPr),
    ];

    /// Reads a discipline's name (`fcfs`, `ps`, `srpt`, `lcfs-pr`).
    pub fn parse(text: &str) -> Result<Discipline, String> {
        Discipline::ALL.iter().find(|(name, _)| *name == text).map(|&(_, d)| d).ok_or_else(|| {
            format!("unknown discipline `{}` (valid: fcfs, ps, srpt, lcfs-pr)", crate::trace::cut(text))
        })
    }

    /// Its name in scenario files and on the command line.
    pub fn name(self) -> &'static str {
        Discipline::ALL.iter().find(|&&(_, d)| d == self).map_or("fcfs", |&(name, _)| name)
    }
}

/// One worker.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerSpec {
    /// Relative speed: service time = demand / speed. Default 1.
    pub speed: f64,
    /// Weight for weighted strategies. Default: the speed.
    pub weight: f64,
    /// Requests served at once; the rest wait in a FIFO queue. Default 1.
    pub concurrency: u32,
    /// Most requests that may wait in the queue (not counting those in service); an arrival
    /// beyond it is rejected. Default `None`, unbounded.
    pub queue_capacity: Option<u32>,
    /// Probability that the worker fails a request. Default 0.
    pub error_rate: f64,
    /// Whether failures come after the work or at once. Default slow.
    pub error_kind: ErrorKind,
    /// How it serves what it holds. Default FCFS.
    pub discipline: Discipline,
}

impl WorkerSpec {
    /// Its capacity in requests of work 1 served per unit of time: speed x concurrency,
    /// except under processor sharing, where the requests in service share one speed.
    pub fn capacity(&self) -> f64 {
        match self.discipline {
            Discipline::Ps => self.speed,
            _ => self.speed * self.concurrency as f64,
        }
    }
}

impl Default for WorkerSpec {
    fn default() -> WorkerSpec {
        WorkerSpec {
            speed: 1.0,
            weight: 1.0,
            concurrency: 1,
            queue_capacity: None,
            error_rate: 0.0,
            error_kind: ErrorKind::Slow,
            discipline: Discipline::Fcfs,
        }
    }
}

/// A worker down from `at` for `duration`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScheduledCrash {
    /// The worker.
    pub worker: usize,
    /// When it crashes (ns).
    pub at: Nanos,
    /// How long it stays down (ns).
    pub duration: Nanos,
}

/// Every worker crashes independently, after exponential times with mean `mtbf`, and comes
/// back after exponential times with mean `mttr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RandomCrashes {
    /// Mean time between failures (ns).
    pub mtbf: Nanos,
    /// Mean time to repair (ns).
    pub mttr: Nanos,
}

/// A worker `factor` times slower from `from` to `to`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Slowdown {
    /// The worker.
    pub worker: usize,
    /// How many times slower, at least 1.
    pub factor: f64,
    /// Start (ns).
    pub from: Nanos,
    /// End (ns).
    pub to: Nanos,
}

/// What becomes of a crashed worker's queue. Requests in service are lost either way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QueueFate {
    /// The queued requests fail.
    #[default]
    Fail,
    /// They are handed back to the balancer, which sends them elsewhere.
    Requeue,
}

/// Injected faults. The default injects none.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Crashes at given times.
    pub crashes: Vec<ScheduledCrash>,
    /// Crashes at random.
    pub random_crashes: Option<RandomCrashes>,
    /// Slow periods.
    pub slowdowns: Vec<Slowdown>,
    /// One-way delay between the balancer and a worker, drawn for each request and each
    /// answer. Default none.
    pub network_delay: Option<Dist>,
    /// What a crash does to the queue.
    pub on_crash: QueueFate,
}

/// Retrying failed attempts.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries per request at most (attempts = 1 + retries).
    pub max: u32,
    /// Backoff before the first retry; doubles each retry, with full jitter (ns).
    pub backoff: Nanos,
    /// Longest backoff (ns).
    pub max_backoff: Nanos,
    /// Give up on an attempt (and retry) after this long; the abandoned attempt still runs
    /// on its worker. Default none: only errors and rejections are retried.
    pub per_try_timeout: Option<Nanos>,
    /// Retries at most this fraction of requests (a token bucket: each request adds this
    /// many tokens, up to 10, and a retry spends one). Default none: unlimited.
    pub budget: Option<f64>,
}

impl RetryPolicy {
    /// Retries per request of the default policy.
    pub const DEFAULT_MAX: u32 = 3;
    /// The default backoff before the first retry (ns).
    pub const DEFAULT_BACKOFF: Nanos = 10 * MILLIS;
    /// The default longest backoff (ns).
    pub const DEFAULT_MAX_BACKOFF: Nanos = SECS;
    /// Retry tokens a budget banks at most ([`RetryPolicy::budget`]).
    pub const BUDGET_TOKENS_MAX: f64 = 10.0;
}

/// The default policy: 3 retries, 10 ms backoff doubling up to 1 s, no per-try timeout, no
/// budget. What `retries on` and a scenario's `[retry]` table start from.
impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max: RetryPolicy::DEFAULT_MAX,
            backoff: RetryPolicy::DEFAULT_BACKOFF,
            max_backoff: RetryPolicy::DEFAULT_MAX_BACKOFF,
            per_try_timeout: None,
            budget: None,
        }
    }
}

/// How the balancer learns that a worker is down.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Detection {
    /// At once (an oracle; Pike's balancer).
    #[default]
    Instant,
    /// Through periodic health checks.
    HealthChecks {
        /// Time between checks.
        interval: Nanos,
        /// Consecutive failed checks to mark a worker down.
        unhealthy: u32,
        /// Consecutive passed checks to mark it up again.
        healthy: u32,
    },
    /// Never: it keeps sending to dead workers (unless outlier ejection removes them).
    Never,
}

impl Detection {
    /// Time between health checks by default.
    pub const DEFAULT_CHECK_INTERVAL: Nanos = SECS;
    /// Failed checks that mark a worker down, by default.
    pub const DEFAULT_UNHEALTHY: u32 = 2;
    /// Passed checks that mark it up again, by default.
    pub const DEFAULT_HEALTHY: u32 = 1;
    /// Health checks as `--health-check` and a scenario's `[health_check]` start: every
    /// second, down after 2 failed checks, up again after 1 passed.
    pub const DEFAULT_HEALTH_CHECKS: Detection = Detection::HealthChecks {
        interval: Detection::DEFAULT_CHECK_INTERVAL,
        unhealthy: Detection::DEFAULT_UNHEALTHY,
        healthy: Detection::DEFAULT_HEALTHY,
    };
}

/// Envoy-style outlier ejection.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutlierEjection {
    /// Consecutive errors that eject a worker.
    pub consecutive_errors: u32,
    /// Ejection time; the n-th ejection of a worker lasts n times this.
    pub base_ejection: Nanos,
    /// At most this fraction of the cluster ejected at once (at least one worker may be).
    pub max_ejected: f64,
}

/// Envoy's defaults: 5 consecutive errors eject a worker for 30 s (times its ejections), at
/// most 10% of the cluster at once.
impl Default for OutlierEjection {
    fn default() -> OutlierEjection {
        OutlierEjection { consecutive_errors: 5, base_ejection: 30 * SECS, max_ejected: 0.1 }
    }
}

/// When requests cannot be placed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backpressure {
    /// A full queue (or no worker up) rejects the request.
    #[default]
    Reject,
    /// The request waits at the balancer until a worker can take it.
    Block,
}

/// What the autoscaler watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScaleMetric {
    /// Mean pending requests per active worker.
    Pending,
    /// Fraction of service slots busy.
    Utilization,
}

/// A pool that grows and shrinks with load.
#[derive(Clone, Debug, PartialEq)]
pub struct Autoscale {
    /// Fewest workers serving or starting.
    pub min: u32,
    /// Most workers serving or starting.
    pub max: u32,
    /// What is watched.
    pub metric: ScaleMetric,
    /// Scale up when the metric stays above this for `sustain` evaluations.
    pub scale_up: f64,
    /// Scale down when it stays below this for `sustain` evaluations.
    pub scale_down: f64,
    /// Time between evaluations.
    pub interval: Nanos,
    /// Evaluations in a row beyond a threshold before acting.
    pub sustain: u32,
    /// A new worker takes this long before it serves.
    pub startup: Nanos,
    /// No scaling for this long after a scaling action.
    pub cooldown: Nanos,
}

impl Autoscale {
    /// The default scale-up threshold (mean pending per worker).
    pub const DEFAULT_SCALE_UP: f64 = 4.0;
    /// The default scale-down threshold.
    pub const DEFAULT_SCALE_DOWN: f64 = 0.5;
    /// The default time between evaluations (ns).
    pub const DEFAULT_INTERVAL: Nanos = SECS;
    /// The default evaluations in a row before acting.
    pub const DEFAULT_SUSTAIN: u32 = 3;
    /// The default start-up time of a new worker (ns).
    pub const DEFAULT_STARTUP: Nanos = 5 * SECS;
    /// The default quiet time after an action (ns).
    pub const DEFAULT_COOLDOWN: Nanos = 10 * SECS;

    /// A pool of `min` to `max` workers watched on their pending requests, with the defaults
    /// above.
    pub fn new(min: u32, max: u32) -> Autoscale {
        Autoscale {
            min,
            max,
            metric: ScaleMetric::Pending,
            scale_up: Autoscale::DEFAULT_SCALE_UP,
            scale_down: Autoscale::DEFAULT_SCALE_DOWN,
            interval: Autoscale::DEFAULT_INTERVAL,
            sustain: Autoscale::DEFAULT_SUSTAIN,
            startup: Autoscale::DEFAULT_STARTUP,
            cooldown: Autoscale::DEFAULT_COOLDOWN,
        }
    }
}

/// Defences against faults and overload. The default has none, and an omniscient balancer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Defences {
    /// The requester gives up on a request after this long (retries included).
    pub timeout: Option<Nanos>,
    /// Retrying failed attempts; default none.
    pub retry: Option<RetryPolicy>,
    /// How the balancer learns that a worker is down; default instantly.
    pub detection: Detection,
    /// Ejecting workers that keep failing; default none.
    pub outlier: Option<OutlierEjection>,
    /// Load-aware strategies see pending counts refreshed this often, instead of live.
    pub load_refresh: Option<Nanos>,
    /// What happens when no worker can take a request; default reject.
    pub backpressure: Backpressure,
    /// An autoscaled pool; default a fixed cluster.
    pub autoscale: Option<Autoscale>,
    /// Most requests in flight, and most attempts at workers (abandoned ones included);
    /// when a run goes beyond either, it stops ([`crate::engine::StopReason::InFlightCap`]).
    /// Default `None`: [`DEFAULT_MAX_IN_FLIGHT`].
    pub max_in_flight: Option<u64>,
    /// Balancer replicas (sidecars, client libraries, router replicas); default one, which
    /// sees everything.
    pub balancers: Balancers,
    /// Envoy's panic threshold: when fewer than this fraction of the active workers is
    /// available (believed up, not ejected), balance across all active workers as if every
    /// one were (failing requests rather than overloading the few). Default none (Envoy's
    /// default is 0.5).
    pub panic_threshold: Option<f64>,
    /// Envoy's slow start: a worker that joins or comes back ramps its weight up over a
    /// window. Default none.
    pub slow_start: Option<SlowStart>,
}

/// Slow start (Envoy's `slow_start_config`): see [`SlowStart::factor`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SlowStart {
    /// How long the ramp lasts (ns).
    pub window: Nanos,
    /// The ramp's shape: the time factor is raised to 1 / aggression (1 = linear). Default 1.
    pub aggression: f64,
    /// The least share of its weight a worker starts with, in percent. Default 10.
    pub min_weight_percent: f64,
}

impl SlowStart {
    /// Envoy's default aggression (a linear ramp).
    pub const DEFAULT_AGGRESSION: f64 = 1.0;
    /// Envoy's default floor, in percent of the weight.
    pub const DEFAULT_MIN_WEIGHT_PERCENT: f64 = 10.0;

    /// A ramp over `window` with Envoy's defaults.
    pub fn new(window: Nanos) -> SlowStart {
        SlowStart {
            window,
            aggression: SlowStart::DEFAULT_AGGRESSION,
            min_weight_percent: SlowStart::DEFAULT_MIN_WEIGHT_PERCENT,
        }
    }
}

/// How a request reaches one of several balancer replicas.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Assignment {
    /// A uniformly random replica per request (from the `balancers` random stream).
    #[default]
    Random,
    /// Replicas in turn: request k goes to replica k mod count.
    RoundRobin,
    /// By the request's key (keyed requests only): a key always reaches the same replica.
    Hash,
}

impl Assignment {
    /// The name used in scenarios and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Assignment::Random => "random",
            Assignment::RoundRobin => "round-robin",
            Assignment::Hash => "hash",
        }
    }
}

/// What each balancer replica knows of the workers' loads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum View {
    /// Every replica sees the true pending counts: every request sent and not answered
    /// (one balancer that sees everything: lbsim's default).
    #[default]
    Global,
    /// Each replica sees only its own requests outstanding at each worker (Envoy's
    /// least_request, nginx least_conn per instance, client-side gRPC).
    Local,
    /// Every replica sees the same load report (each worker's queue), refreshed every
    /// [`Defences::load_refresh`] (Mitzenmacher's bulletin board).
    Report,
    /// The last report plus this replica's own requests sent since (the usual fix).
    ReportLocal,
}

impl View {
    /// The name used in scenarios and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            View::Global => "global",
            View::Local => "local",
            View::Report => "report",
            View::ReportLocal => "report+local",
        }
    }

    /// Every view, in the order documented.
    pub const ALL: [View; 4] = [View::Global, View::Local, View::Report, View::ReportLocal];

    /// The view of this name.
    pub fn parse(s: &str) -> Result<View, String> {
        View::ALL.into_iter().find(|v| v.name() == s).ok_or_else(|| {
            format!("unknown balancer view `{s}` (valid: global, local, report, report+local)")
        })
    }

    /// Whether the view reads a periodic load report (and so needs a refresh period).
    pub fn uses_report(self) -> bool {
        matches!(self, View::Report | View::ReportLocal)
    }
}

/// Several balancers in front of the same workers, each with its own strategy instance and
/// random stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Balancers {
    /// How many replicas, 1 to [`MAX_BALANCERS`]. Default 1.
    pub count: u32,
    /// How a request reaches a replica. Default random.
    pub assignment: Assignment,
    /// What each replica sees. `None` (the default): `report` when a load refresh is set
    /// (today's `load_refresh`), else `global`.
    pub view: Option<View>,
    /// Time between a replica's pick and the request reaching the worker (and the other
    /// replicas seeing it, under the global view): the window in which replicas race.
    /// Default none.
    pub dispatch_delay: Option<Dist>,
    /// Round-robin replicas all start at worker 0 (else each starts at a random point of the
    /// order, from its own random stream). Default false.
    pub aligned: bool,
}

impl Default for Balancers {
    fn default() -> Balancers {
        Balancers {
            count: 1,
            assignment: Assignment::Random,
            view: None,
            dispatch_delay: None,
            aligned: false,
        }
    }
}

/// The most balancer replicas a run may have.
pub const MAX_BALANCERS: u32 = 1_000;

/// The most replicas x workers a run may have: each replica keeps its own strategy state
/// (and, with a local view, its own counts) for every worker.
pub const MAX_REPLICA_WORKERS: u64 = 20_000_000;

impl Defences {
    /// The view in force: the one set, or `report` with a load refresh, else `global`.
    pub fn view(&self) -> View {
        self.balancers.view.unwrap_or(if self.load_refresh.is_some() { View::Report } else { View::Global })
    }
}

/// When a run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// After this many requests have been sent after the warm-up, stop sending and let the
    /// requests in flight finish.
    Requests(u64),
    /// At this much virtual time after the warm-up (ns); unfinished requests stay in flight.
    Duration(Nanos),
}

/// Everything the engine needs to run.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Master seed; all random streams derive from it.
    pub seed: u64,
    /// The requesters.
    pub arrivals: Arrivals,
    /// Service demand per request, in time at speed 1.
    pub service: Dist,
    /// The cluster, at least one worker.
    pub workers: Vec<WorkerSpec>,
    /// The end of the run.
    pub stop: Stop,
    /// Virtual time at the start excluded from all statistics (ns).
    pub warmup: Nanos,
    /// Parameters for the built-in strategies.
    pub strategy_params: StrategyParams,
    /// Injected faults.
    pub faults: Faults,
    /// Defences.
    pub defences: Defences,
    /// Keyed requests (for hashing strategies and worker caches); default none.
    pub keys: Option<crate::keys::Keys>,
    /// Keep the run over time in intervals of this length ([`crate::metrics::timeline`]): counts,
    /// latency and pending per worker, from the end of the warm-up. Default `None`: no
    /// timeline (it changes nothing else in the run).
    pub timeline: Option<Nanos>,
}

/// A configuration that cannot run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ConfigError {
    /// The offending setting, named as in scenario files (`workers`, `arrivals.rate`, ...).
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

fn bad(field: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError { field: field.to_string(), problem: problem.into() }
}

/// The master seed of a run that names none.
pub const DEFAULT_SEED: u64 = 1;

/// Requests measured by a run that sets neither a count nor a duration.
pub const DEFAULT_REQUESTS: u64 = 100_000;

/// The largest rate accepted (requests/s): one request per nanosecond.
pub const MAX_RATE: f64 = 1e9;

/// The most workers a cluster may have (checked before anything is allocated for them).
pub const MAX_WORKERS: u32 = 1_000_000;

/// The default cap on requests in flight and on attempts at workers ([`Defences::max_in_flight`]).
pub const DEFAULT_MAX_IN_FLIGHT: u64 = 10_000_000;

/// The slowest worker speed accepted (and the fastest is 1e6).
pub const MIN_SPEED: f64 = 1e-6;

/// Periodic work a run may schedule (ticks times the workers each tick visits), at least;
/// runs with many requests may do [`PERIODIC_WORK_PER_REQUEST`] units per request.
const PERIODIC_WORK_FLOOR: f64 = 2e8;
/// See [`PERIODIC_WORK_FLOOR`].
const PERIODIC_WORK_PER_REQUEST: f64 = 20.0;

pub(crate) fn check_rate(field: &str, rate: f64, allow_zero: bool) -> Result<(), ConfigError> {
    if !rate.is_finite() || rate < 0.0 || (rate == 0.0 && !allow_zero) {
        return Err(bad(
            field,
            format!("must be a positive number of requests per second, got {}", crate::text::amount(rate)),
        ));
    }
    if rate > MAX_RATE {
        return Err(bad(
            field,
            format!("{} is above the maximum of {MAX_RATE} requests per second", crate::text::number(rate)),
        ));
    }
    Ok(())
}

impl SimConfig {
    /// The default run: the `default` scenario's settings without a file.
    pub fn new(workers: Vec<WorkerSpec>, arrivals: Arrivals, service: Dist) -> SimConfig {
        SimConfig {
            seed: DEFAULT_SEED,
            arrivals,
            service,
            workers,
            stop: Stop::Requests(DEFAULT_REQUESTS),
            warmup: 0,
            strategy_params: StrategyParams::default(),
            faults: Faults::default(),
            defences: Defences::default(),
            keys: None,
            timeline: None,
        }
    }

    /// When a trace's last request is sent (virtual time), for trace arrivals.
    pub fn trace_end(&self) -> Option<Nanos> {
        match &self.arrivals {
            Arrivals::Trace { trace, scale } => Some((trace.span() as f64 * scale).round() as Nanos),
            _ => None,
        }
    }

    /// The mean demand of a request (ns): a trace's own demands when it has them, else the
    /// service distribution's mean.
    pub fn mean_demand(&self) -> f64 {
        match &self.arrivals {
            Arrivals::Trace { trace, .. } => trace.mean_demand().unwrap_or_else(|| self.service.mean()),
            _ => self.service.mean(),
        }
    }

    /// Total service capacity (requests/s): the sum of speed x concurrency over the workers
    /// (speed alone for processor sharing, [`WorkerSpec::capacity`]), divided by the mean
    /// demand.
    pub fn capacity(&self) -> f64 {
        let slots: f64 = self.workers.iter().map(WorkerSpec::capacity).sum();
        slots * SECS as f64 / self.mean_demand()
    }

    /// Offered load: mean arrival rate / capacity (`None` for a closed loop).
    pub fn load(&self) -> Option<f64> {
        self.arrivals.mean_rate().map(|r| r / self.capacity())
    }
}
