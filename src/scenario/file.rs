//! The TOML schema and its strict parsing.

use crate::model::config::DEFAULT_REQUESTS;
use std::num::{NonZeroU32, NonZeroU64};
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::fields::{Duration, NonNegative, PopularityName, Positive, Probability, StrategyName, ViewName};
use super::locate::{error_at, field_error, locate, qualify, table_at, unknown_field};
use super::{ArrivalSpec, Level, Scenario, ScenarioError};
use crate::dist::Dist;
use crate::engine::{
    Assignment, Autoscale, Backpressure, Balancers, Defences, Detection, Discipline, ErrorKind, Faults,
    MAX_WORKERS, OutlierEjection, QueueFate, RandomCrashes, RetryPolicy, ScaleMetric, ScheduledCrash,
    Slowdown, Stop, WorkerSpec,
};
use crate::live::{LiveOptions, Work};
use crate::strategy::StrategyParams;
use crate::time::{MILLIS, Nanos};

/// The layout of a scenario file. Every field is optional; defaults are given per field.
///
/// ```toml
/// name = "default"               # default: the file's stem
/// description = "one line"       # default: empty
/// service = "exp:10ms"           # service demand at speed 1 (see lbsim::dist); default exp:10ms
/// discipline = "fcfs"            # how workers serve: fcfs | ps | srpt | lcfs-pr; default fcfs
///
/// [arrivals]
/// kind = "poisson"               # poisson | constant | bursty | closed | trace; default poisson
/// load = 0.8                     # or rate = 720 (requests/s); default load 0.8
/// # bursty: rate/load is the burst level, base_rate/base_load the level between bursts,
/// # burst = "1s" and gap = "4s" their lengths (required). The run starts in a gap.
/// # closed: clients = 32 and think = "exp:100ms" (both required); no rate or load.
///
/// [[workers]]                    # one table per group of identical workers; default 4 workers
/// count = 4                      # default 1
/// speed = 1.0                    # service time = demand / speed; default 1
/// weight = 1.0                   # for weighted-round-robin; default: the speed
/// concurrency = 1                # requests served at once; default 1
/// queue_capacity = 100           # waiting requests before rejecting; default unbounded
/// discipline = "ps"              # this group's discipline; default the scenario's
///                                #   (ps: concurrency c > 1 lets c share, 1 lets all share;
///                                #   srpt reads each request's size: an oracle, model only)
///
/// [run]
/// requests = 100000              # measured requests, or duration = "60s"; default 100000
/// warmup = "1s"                  # virtual time excluded from statistics; default 0s
/// seed = 1                       # master seed; default 1
/// max_in_flight = 10000000      # stop beyond this many requests (or attempts) in flight
/// pause_at = "19.5s"             # the UI pauses when the run reaches this time; default none
///
/// [strategy]
/// name = "least-loaded"          # strategy for `lbsim run`; default least-loaded
/// choices = 2                    # power-of-two: workers sampled per pick; default 2
/// decay = "1s"                   # peak-ewma: how fast latency peaks are forgotten; default 1s
/// ring_size = 1024               # ring-hash, bounded-hash: ring points per worker; default 1024
/// table_size = 65537             # maglev: lookup table size (a prime at least this); default 65537
/// balance_factor = 1.25          # bounded-hash: no worker over ceil(c x mean pending); default 1.25
/// active_request_bias = 1.0      # least-request, unequal weights: weight / (active + 1)^bias; default 1
/// cutoffs = ["10ms", "100ms"]    # sita: size cutoffs, k of them split the workers into k + 1 classes
///
/// [live]                         # only for --engine live (real tokio tasks in real time)
/// work = "sleep"                 # sleep | spin | blocking: what serving is; default sleep
/// threads = 2                    # runtime worker threads; default: the machine's cores
/// time_scale = 1.0               # real time per scenario time (2: exp:10ms sleeps 20ms); default 1
/// grace = "2s"                   # real time in-flight requests get at shutdown; default 2s
/// cancel_abandoned = false       # workers stop work whose requester gave up; default false
///
/// [balancers]                    # several balancer replicas in front of the same workers
/// count = 10                     # replicas, 1 to 1000; default 1 (one balancer that sees all)
/// assignment = "random"          # random | round-robin: how a request reaches a replica; default random
/// view = "local"                 # global | local | report | report+local; default global
///                                #   (report when a refresh is set)
/// refresh = "500ms"              # the report's period (the same as balancer.load_refresh)
/// dispatch_delay = "exp:1ms"     # from a replica's pick to the worker; default none
/// aligned = false                # round-robin replicas all start at worker 0; default false
///
/// [slow_start]                   # a worker that joins or comes back ramps its weight up
/// window = "30s"                 # the ramp's length (required)
/// aggression = 1.0               # 1 = linear; higher ramps faster at first; default 1
/// min_weight_percent = 10        # the weight it starts with; default 10
///
/// [keys]                         # keyed requests, for hashing strategies and worker caches
/// count = 10000                  # distinct keys (required)
/// popularity = "zipf:1.1"        # uniform | zipf:S; default uniform
/// cache = { size = 500, hit_speedup = 10 }   # an LRU per worker; a hit is served 10x faster
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    name: Option<String>,
    description: Option<String>,
    service: Option<Spanned<String>>,
    discipline: Option<DisciplineName>,
    arrivals: Option<Spanned<ArrivalsTable>>,
    workers: Option<Vec<WorkerGroup>>,
    #[serde(default)]
    run: RunTable,
    #[serde(default)]
    strategy: StrategyTable,
    timeout: Option<Duration>,
    #[serde(default)]
    faults: FaultsTable,
    retry: Option<RetryTable>,
    health_check: Option<HealthTable>,
    outlier_ejection: Option<OutlierTable>,
    #[serde(default)]
    balancer: BalancerTable,
    #[serde(default)]
    balancers: BalancersTable,
    keys: Option<KeysTable>,
    slow_start: Option<SlowStartTable>,
    autoscale: Option<AutoscaleTable>,
    #[serde(default)]
    live: LiveTable,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LiveTable {
    work: Option<WorkName>,
    threads: Option<NonZeroU32>,
    time_scale: Option<Positive>,
    grace: Option<Duration>,
    cancel_abandoned: Option<bool>,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum WorkName {
    Sleep,
    Spin,
    Blocking,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsTable {
    network_delay: Option<Dist>,
    on_crash: Option<Fate>,
    #[serde(default)]
    crash: Vec<CrashTable>,
    random_crashes: Option<RandomCrashTable>,
    #[serde(default)]
    slowdown: Vec<SlowdownTable>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Fate {
    Fail,
    Requeue,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CrashTable {
    worker: usize,
    at: Duration,
    duration: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RandomCrashTable {
    mtbf: Duration,
    mttr: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlowdownTable {
    worker: usize,
    factor: Positive,
    from: Duration,
    to: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetryTable {
    max: u32,
    backoff: Option<Duration>,
    max_backoff: Option<Duration>,
    per_try_timeout: Option<Duration>,
    budget: Option<Probability>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum DetectionMode {
    Instant,
    Active,
    None,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HealthTable {
    mode: DetectionMode,
    interval: Option<Duration>,
    unhealthy: Option<NonZeroU32>,
    healthy: Option<NonZeroU32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutlierTable {
    consecutive_errors: Option<NonZeroU32>,
    base_ejection: Option<Duration>,
    max_ejected: Option<Probability>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum BackpressureMode {
    Reject,
    Block,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BalancerTable {
    load_refresh: Option<Duration>,
    backpressure: Option<BackpressureMode>,
    panic_threshold: Option<Probability>,
}

/// `[slow_start]`: see [`crate::engine::SlowStart`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlowStartTable {
    window: Duration,
    aggression: Option<Positive>,
    min_weight_percent: Option<Positive>,
}

/// `[keys]`: keyed requests (see [`crate::keys::Keys`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysTable {
    count: NonZeroU64,
    popularity: Option<PopularityName>,
    cache: Option<CacheTable>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CacheTable {
    size: NonZeroU32,
    hit_speedup: Option<Positive>,
}

/// `[balancers]`: several balancer replicas (see [`Balancers`]).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BalancersTable {
    count: Option<NonZeroU32>,
    assignment: Option<AssignmentName>,
    view: Option<ViewName>,
    refresh: Option<Duration>,
    dispatch_delay: Option<Dist>,
    aligned: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum AssignmentName {
    Random,
    RoundRobin,
    Hash,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Metric {
    Pending,
    Utilization,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AutoscaleTable {
    min: u32,
    max: u32,
    metric: Option<Metric>,
    scale_up: Option<NonNegative>,
    scale_down: Option<NonNegative>,
    interval: Option<Duration>,
    sustain: Option<NonZeroU32>,
    startup: Option<Duration>,
    cooldown: Option<Duration>,
}

/// A service discipline's name ([`Discipline`]).
#[derive(Clone, Copy, Debug, Deserialize)]
enum DisciplineName {
    #[serde(rename = "fcfs")]
    Fcfs,
    #[serde(rename = "ps")]
    Ps,
    #[serde(rename = "srpt")]
    Srpt,
    #[serde(rename = "lcfs-pr")]
    LcfsPr,
}

impl DisciplineName {
    fn discipline(self) -> Discipline {
        match self {
            DisciplineName::Fcfs => Discipline::Fcfs,
            DisciplineName::Ps => Discipline::Ps,
            DisciplineName::Srpt => Discipline::Srpt,
            DisciplineName::LcfsPr => Discipline::LcfsPr,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ErrorKindName {
    Slow,
    Fast,
}

#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum ArrivalKind {
    #[default]
    Poisson,
    Constant,
    Bursty,
    Closed,
    Trace,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArrivalsTable {
    #[serde(default)]
    kind: ArrivalKind,
    rate: Option<Spanned<Positive>>,
    load: Option<Spanned<Positive>>,
    base_rate: Option<Spanned<NonNegative>>,
    base_load: Option<Spanned<NonNegative>>,
    burst: Option<Spanned<Duration>>,
    gap: Option<Spanned<Duration>>,
    clients: Option<Spanned<NonZeroU32>>,
    think: Option<Spanned<Dist>>,
    file: Option<Spanned<String>>,
    time_scale: Option<Spanned<Positive>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkerGroup {
    count: Option<NonZeroU32>,
    speed: Option<Positive>,
    weight: Option<Positive>,
    concurrency: Option<NonZeroU32>,
    queue_capacity: Option<u32>,
    error_rate: Option<Probability>,
    error_kind: Option<ErrorKindName>,
    discipline: Option<DisciplineName>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunTable {
    requests: Option<Spanned<NonZeroU64>>,
    duration: Option<Spanned<Duration>>,
    warmup: Option<Duration>,
    seed: Option<u64>,
    max_in_flight: Option<NonZeroU64>,
    pause_at: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StrategyTable {
    name: Option<StrategyName>,
    choices: Option<NonZeroU32>,
    decay: Option<Duration>,
    error_penalty: Option<Duration>,
    ring_size: Option<NonZeroU32>,
    table_size: Option<NonZeroU64>,
    balance_factor: Option<Positive>,
    active_request_bias: Option<NonNegative>,
    cutoffs: Option<Vec<Duration>>,
}

/// Default number of workers when a file has no `[[workers]]`.
const DEFAULT_WORKERS: usize = 4;
/// Default offered load.
const DEFAULT_LOAD: f64 = 0.8;
/// Default speed-up of a cache hit.
const DEFAULT_HIT_SPEEDUP: f64 = 10.0;

/// The TOML text as the file's tables, an error placed and named as precisely as serde says.
fn read_toml(text: &str, origin: &str) -> Result<ScenarioFile, ScenarioError> {
    toml::from_str(text).map_err(|e| {
        let span = e.span();
        let mut err = error_at(text, origin, span.clone(), e.message().trim());
        if let Some(field) = unknown_field(e.message()) {
            // The span of an unknown key points at the key itself.
            err.field = Some(qualify(text, span.map_or(0, |s| s.start), &field));
        } else if err.field.is_none() && e.message().starts_with("missing field") {
            // The span of a missing field is its table's: name the table.
            err.field = span.and_then(|s| table_at(text, s.start));
        }
        err
    })
}

pub(super) fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
    let mut file = read_toml(text, origin)?;
    let default_name = std::path::Path::new(origin)
        .file_stem()
        .map(|s| s.to_string_lossy().trim_start_matches("built-in ").to_string())
        .unwrap_or_default();
    let b = &file.balancers;
    if b.refresh.is_some() && file.balancer.load_refresh.is_some() {
        return Err(locate(
            text,
            origin,
            "balancers.refresh",
            "give balancers.refresh or balancer.load_refresh (the same setting), not both",
        ));
    }
    let defences = defences(&file);
    let discipline = file.discipline.map_or(Discipline::Fcfs, DisciplineName::discipline);
    let workers = workers(text, origin, file.workers.as_deref(), discipline)?;
    let arrivals = arrival_spec(text, origin, file.arrivals.take())?;
    let run = &file.run;
    let stop = stop(text, origin, run)?;
    let strategy_params = strategy_params(&file.strategy);
    if strategy_params.ewma_decay == 0 {
        return Err(error_at(text, origin, None, "`strategy.decay` must be longer than 0"));
    }
    let faults = faults(&file.faults);
    let scenario = Scenario {
        name: file.name.clone().unwrap_or(default_name),
        description: file.description.clone().unwrap_or_default(),
        service: match &file.service {
            Some(service) => super::data::service(text, origin, service)?,
            None => Dist::Exp { mean: 10 * MILLIS },
        },
        arrivals,
        workers,
        stop,
        warmup: run.warmup.map_or(0, |d| d.0),
        pause_at: run.pause_at.map(|d| d.0),
        seed: run.seed.unwrap_or(crate::model::config::DEFAULT_SEED),
        strategy: file.strategy.name.clone().map_or_else(|| "least-loaded".to_string(), |n| n.0),
        strategy_params,
        faults,
        defences,
        live: live_options(&file.live),
        keys: keys(file.keys.as_ref()),
        timeline: None,
    };
    check_together(text, origin, &file, &scenario)?;
    Ok(scenario)
}

/// Settings that are wrong only together (a crash of a worker that does not exist, min
/// above max, ...): the engine's validation names the field; find it in the text.
fn check_together(
    text: &str,
    origin: &str,
    file: &ScenarioFile,
    scenario: &Scenario,
) -> Result<(), ScenarioError> {
    if scenario.live.threads.is_some_and(|n| n > 1024) {
        return Err(locate(text, origin, "live.threads", "must be from 1 to 1024"));
    }
    if let Err(e) = scenario.to_config() {
        // The refresh period may have been given under either of its names.
        let field = match e.field.as_str() {
            "balancer.load_refresh" if file.balancers.refresh.is_some() => "balancers.refresh",
            f => f,
        };
        return Err(locate(text, origin, field, &e.problem));
    }
    Ok(())
}

/// The workers: each group repeated `count` times (four plain workers without any).
fn workers(
    text: &str,
    origin: &str,
    groups: Option<&[WorkerGroup]>,
    discipline: Discipline,
) -> Result<Vec<WorkerSpec>, ScenarioError> {
    // Limits are checked before anything is allocated for the workers.
    if let Some(groups) = groups {
        let total: u64 = groups.iter().map(|g| g.count.map_or(1, |c| c.get() as u64)).sum();
        if total > MAX_WORKERS as u64 {
            return Err(locate(
                text,
                origin,
                "workers.count",
                &format!("{total} workers in all; at most {MAX_WORKERS} are allowed"),
            ));
        }
    }
    let workers: Vec<WorkerSpec> = match groups {
        None => vec![WorkerSpec { discipline, ..WorkerSpec::default() }; DEFAULT_WORKERS],
        Some(groups) => groups
            .iter()
            .flat_map(|g| {
                let speed = g.speed.map_or(1.0, |s| s.0);
                let spec = WorkerSpec {
                    speed,
                    weight: g.weight.map_or(speed, |w| w.0),
                    concurrency: g.concurrency.map_or(1, NonZeroU32::get),
                    queue_capacity: g.queue_capacity,
                    error_rate: g.error_rate.map_or(0.0, |p| p.0),
                    error_kind: match g.error_kind {
                        Some(ErrorKindName::Fast) => ErrorKind::Fast,
                        _ => ErrorKind::Slow,
                    },
                    discipline: g.discipline.map_or(discipline, DisciplineName::discipline),
                };
                std::iter::repeat_n(spec, g.count.map_or(1, NonZeroU32::get) as usize)
            })
            .collect(),
    };
    if workers.is_empty() {
        return Err(error_at(text, origin, None, "`workers` is empty: at least one worker is needed"));
    }
    Ok(workers)
}

/// When the run ends: `requests` or `duration` (100,000 requests without either).
fn stop(text: &str, origin: &str, run: &RunTable) -> Result<Stop, ScenarioError> {
    Ok(match (&run.requests, &run.duration) {
        (Some(_), Some(d)) => {
            return Err(field_error(
                text,
                origin,
                d.span(),
                "run.duration",
                "give `requests` or `duration`, not both",
            ));
        }
        (Some(n), None) => Stop::Requests(n.get_ref().get()),
        (None, Some(d)) if d.get_ref().0 == 0 => {
            return Err(field_error(text, origin, d.span(), "run.duration", "must be longer than 0"));
        }
        (None, Some(d)) => Stop::Duration(d.get_ref().0),
        (None, None) => Stop::Requests(DEFAULT_REQUESTS),
    })
}

/// The `[strategy]` table's parameters, defaults where not given.
fn strategy_params(t: &StrategyTable) -> StrategyParams {
    let defaults = StrategyParams::default();
    StrategyParams {
        choices: t.choices.map_or(defaults.choices, |c| c.get() as usize),
        ewma_decay: t.decay.map_or(defaults.ewma_decay, |d| d.0),
        error_penalty: t.error_penalty.map_or(defaults.error_penalty, |d| d.0),
        ring_size: t.ring_size.map_or(defaults.ring_size, |n| n.get() as usize),
        table_size: t.table_size.map_or(defaults.table_size, NonZeroU64::get),
        balance_factor: t.balance_factor.map_or(defaults.balance_factor, |x| x.0),
        active_request_bias: t.active_request_bias.map_or(defaults.active_request_bias, |x| x.0),
        cutoffs: t.cutoffs.as_ref().map_or(defaults.cutoffs, |c| c.iter().map(|d| d.0).collect()),
    }
}

/// The `[keys]` table.
fn keys(k: Option<&KeysTable>) -> Option<crate::keys::Keys> {
    k.map(|k| crate::keys::Keys {
        count: k.count.get(),
        popularity: k.popularity.as_ref().map_or(crate::keys::Popularity::Uniform, |p| p.0),
        cache: k.cache.as_ref().map(|c| crate::keys::Cache {
            size: c.size.get(),
            hit_speedup: c.hit_speedup.map_or(DEFAULT_HIT_SPEEDUP, |x| x.0),
        }),
    })
}

/// Defaults of the live engine's options, documented on [`ScenarioFile`].
fn live_options(t: &LiveTable) -> LiveOptions {
    let defaults = LiveOptions::default();
    LiveOptions {
        work: match t.work {
            Some(WorkName::Spin) => Work::Spin,
            Some(WorkName::Blocking) => Work::Blocking,
            Some(WorkName::Sleep) | None => Work::Sleep,
        },
        threads: t.threads.map(|n| n.get() as usize),
        time_scale: t.time_scale.map_or(defaults.time_scale, |x| x.0),
        grace: t.grace.map_or(defaults.grace, |d| std::time::Duration::from_nanos(d.0)),
        cancel_abandoned: t.cancel_abandoned.unwrap_or(defaults.cancel_abandoned),
    }
}

fn faults(f: &FaultsTable) -> Faults {
    Faults {
        crashes: f
            .crash
            .iter()
            .map(|c| ScheduledCrash { worker: c.worker, at: c.at.0, duration: c.duration.0 })
            .collect(),
        random_crashes: f.random_crashes.as_ref().map(|r| RandomCrashes { mtbf: r.mtbf.0, mttr: r.mttr.0 }),
        slowdowns: f
            .slowdown
            .iter()
            .map(|s| Slowdown { worker: s.worker, factor: s.factor.0, from: s.from.0, to: s.to.0 })
            .collect(),
        network_delay: f.network_delay.clone(),
        on_crash: match f.on_crash {
            Some(Fate::Requeue) => QueueFate::Requeue,
            _ => QueueFate::Fail,
        },
    }
}

/// Defaults of the defences, documented on [`ScenarioFile`].
fn defences(f: &ScenarioFile) -> Defences {
    let d = |v: &Option<Duration>, default: Nanos| v.map_or(default, |d| d.0);
    Defences {
        timeout: f.timeout.map(|t| t.0),
        retry: f.retry.as_ref().map(|r| RetryPolicy {
            max: r.max,
            backoff: d(&r.backoff, RetryPolicy::DEFAULT_BACKOFF),
            max_backoff: d(&r.max_backoff, RetryPolicy::DEFAULT_MAX_BACKOFF),
            per_try_timeout: r.per_try_timeout.map(|t| t.0),
            budget: r.budget.map(|b| b.0),
        }),
        detection: match &f.health_check {
            None => Detection::Instant,
            Some(h) => match h.mode {
                DetectionMode::Instant => Detection::Instant,
                DetectionMode::None => Detection::Never,
                DetectionMode::Active => Detection::HealthChecks {
                    interval: d(&h.interval, Detection::DEFAULT_CHECK_INTERVAL),
                    unhealthy: h.unhealthy.map_or(Detection::DEFAULT_UNHEALTHY, NonZeroU32::get),
                    healthy: h.healthy.map_or(Detection::DEFAULT_HEALTHY, NonZeroU32::get),
                },
            },
        },
        outlier: f.outlier_ejection.as_ref().map(|o| {
            let default = OutlierEjection::default();
            OutlierEjection {
                consecutive_errors: o.consecutive_errors.map_or(default.consecutive_errors, NonZeroU32::get),
                base_ejection: d(&o.base_ejection, default.base_ejection),
                max_ejected: o.max_ejected.map_or(default.max_ejected, |p| p.0),
            }
        }),
        load_refresh: f.balancer.load_refresh.or(f.balancers.refresh).map(|t| t.0),
        backpressure: match f.balancer.backpressure {
            Some(BackpressureMode::Block) => Backpressure::Block,
            _ => Backpressure::Reject,
        },
        autoscale: f.autoscale.as_ref().map(|a| Autoscale {
            min: a.min,
            max: a.max,
            metric: match a.metric {
                Some(Metric::Utilization) => ScaleMetric::Utilization,
                _ => ScaleMetric::Pending,
            },
            scale_up: a.scale_up.map_or(Autoscale::DEFAULT_SCALE_UP, |x| x.0),
            scale_down: a.scale_down.map_or(Autoscale::DEFAULT_SCALE_DOWN, |x| x.0),
            interval: d(&a.interval, Autoscale::DEFAULT_INTERVAL),
            sustain: a.sustain.map_or(Autoscale::DEFAULT_SUSTAIN, NonZeroU32::get),
            startup: d(&a.startup, Autoscale::DEFAULT_STARTUP),
            cooldown: d(&a.cooldown, Autoscale::DEFAULT_COOLDOWN),
        }),
        max_in_flight: f.run.max_in_flight.map(NonZeroU64::get),
        balancers: balancers(&f.balancers),
        panic_threshold: f.balancer.panic_threshold.map(|p| p.0),
        slow_start: f.slow_start.as_ref().map(|s| crate::engine::SlowStart {
            window: s.window.0,
            aggression: s.aggression.map_or(crate::engine::SlowStart::DEFAULT_AGGRESSION, |x| x.0),
            min_weight_percent: s
                .min_weight_percent
                .map_or(crate::engine::SlowStart::DEFAULT_MIN_WEIGHT_PERCENT, |x| x.0),
        }),
    }
}

/// Defaults of `[balancers]`, documented on [`ScenarioFile`] and [`Balancers`].
fn balancers(t: &BalancersTable) -> Balancers {
    let defaults = Balancers::default();
    Balancers {
        count: t.count.map_or(defaults.count, NonZeroU32::get),
        assignment: match t.assignment {
            Some(AssignmentName::RoundRobin) => Assignment::RoundRobin,
            Some(AssignmentName::Hash) => Assignment::Hash,
            _ => Assignment::Random,
        },
        view: t.view.as_ref().map(|v| v.0),
        dispatch_delay: t.dispatch_delay.clone(),
        aligned: t.aligned.unwrap_or(defaults.aligned),
    }
}

/// What the errors about an `[arrivals]` table need: the text, the table's kind and span.
struct ArrivalsContext<'a> {
    text: &'a str,
    origin: &'a str,
    kind: &'static str,
    table_span: Range<usize>,
}

/// The fields of `[arrivals]` that only some kinds take, and where they were set.
type Only<'a> = [(&'a str, Option<Range<usize>>)];

impl ArrivalsContext<'_> {
    fn not_for(&self, span: Range<usize>, field: &str) -> ScenarioError {
        let problem = format!("does not apply to {} arrivals", self.kind);
        field_error(self.text, self.origin, span, &format!("arrivals.{field}"), &problem)
    }

    fn missing(&self, what: &str) -> ScenarioError {
        let problem = format!("{} arrivals need {what}", self.kind);
        field_error(self.text, self.origin, self.table_span.clone(), "arrivals", &problem)
    }

    /// An error at the first of `fields` that was set.
    fn forbid(&self, fields: &Only) -> Result<(), ScenarioError> {
        match fields.iter().find_map(|(name, span)| span.clone().map(|s| (name, s))) {
            Some((name, span)) => Err(self.not_for(span, name)),
            None => Ok(()),
        }
    }

    /// A level given as a rate or as a load (not both), if given.
    fn level(
        &self,
        rate: Option<Spanned<f64>>,
        load: Option<Spanned<f64>>,
        names: (&str, &str),
    ) -> Result<Option<Level>, ScenarioError> {
        match (rate, load) {
            (Some(_), Some(l)) => Err(field_error(
                self.text,
                self.origin,
                l.span(),
                &format!("arrivals.{}", names.1),
                &format!("give `{}` or `{}`, not both", names.0, names.1),
            )),
            (Some(r), None) => Ok(Some(Level::Rate(*r.get_ref()))),
            (None, Some(l)) => Ok(Some(Level::Load(*l.get_ref()))),
            (None, None) => Ok(None),
        }
    }
}

fn respan(s: &Spanned<Positive>) -> Spanned<f64> {
    Spanned::new(s.span(), s.get_ref().0)
}

fn respan0(s: &Spanned<NonNegative>) -> Spanned<f64> {
    Spanned::new(s.span(), s.get_ref().0)
}

fn arrival_spec(
    text: &str,
    origin: &str,
    table: Option<Spanned<ArrivalsTable>>,
) -> Result<ArrivalSpec, ScenarioError> {
    let Some(table) = table else {
        return Ok(ArrivalSpec::Poisson(Level::Load(DEFAULT_LOAD)));
    };
    let table_span = table.span();
    let a = table.into_inner();
    let kind = match a.kind {
        ArrivalKind::Poisson => "poisson",
        ArrivalKind::Constant => "constant",
        ArrivalKind::Bursty => "bursty",
        ArrivalKind::Closed => "closed",
        ArrivalKind::Trace => "trace",
    };
    let cx = ArrivalsContext { text, origin, kind, table_span };
    // Fields that only some kinds take.
    let open_only =
        [("rate", a.rate.as_ref().map(Spanned::span)), ("load", a.load.as_ref().map(Spanned::span))];
    let bursty_only = [
        ("base_rate", a.base_rate.as_ref().map(Spanned::span)),
        ("base_load", a.base_load.as_ref().map(Spanned::span)),
        ("burst", a.burst.as_ref().map(Spanned::span)),
        ("gap", a.gap.as_ref().map(Spanned::span)),
    ];
    let closed_only =
        [("clients", a.clients.as_ref().map(Spanned::span)), ("think", a.think.as_ref().map(Spanned::span))];
    let trace_only = [
        ("file", a.file.as_ref().map(Spanned::span)),
        ("time_scale", a.time_scale.as_ref().map(Spanned::span)),
    ];
    let main_level = cx.level(a.rate.as_ref().map(respan), a.load.as_ref().map(respan), ("rate", "load"))?;
    Ok(match a.kind {
        ArrivalKind::Poisson | ArrivalKind::Constant => {
            cx.forbid(&bursty_only)?;
            cx.forbid(&closed_only)?;
            cx.forbid(&trace_only)?;
            let level = main_level.unwrap_or(Level::Load(DEFAULT_LOAD));
            if a.kind == ArrivalKind::Poisson {
                ArrivalSpec::Poisson(level)
            } else {
                ArrivalSpec::Constant(level)
            }
        }
        ArrivalKind::Bursty => {
            cx.forbid(&closed_only)?;
            cx.forbid(&trace_only)?;
            bursty(&cx, a, main_level)?
        }
        ArrivalKind::Closed => {
            cx.forbid(&open_only)?;
            cx.forbid(&bursty_only)?;
            cx.forbid(&trace_only)?;
            let clients = a.clients.ok_or_else(|| cx.missing("`clients` (how many requesters)"))?;
            let think = a.think.ok_or_else(|| cx.missing("`think` (a distribution, e.g. \"exp:100ms\")"))?;
            ArrivalSpec::Closed { clients: clients.get_ref().get(), think: think.into_inner() }
        }
        ArrivalKind::Trace => {
            cx.forbid(&bursty_only)?;
            cx.forbid(&closed_only)?;
            if let Some(span) = open_only.iter().find_map(|(_, span)| span.clone()) {
                return Err(field_error(
                    text,
                    origin,
                    span,
                    "arrivals",
                    "a trace's times set the rate: drop `rate` and `load` (`time_scale` replays it faster or slower)",
                ));
            }
            let file = a.file.ok_or_else(|| cx.missing("`file` (a CSV file with a `time` column)"))?;
            let trace = super::data::trace(text, origin, &file)?;
            ArrivalSpec::Trace { trace, scale: a.time_scale.map_or(1.0, |s| s.get_ref().0) }
        }
    })
}

/// Bursty arrivals: a level during bursts, another between them, and their lengths.
fn bursty(
    cx: &ArrivalsContext,
    a: ArrivalsTable,
    main_level: Option<Level>,
) -> Result<ArrivalSpec, ScenarioError> {
    let rate = main_level.ok_or_else(|| cx.missing("`rate` or `load` (the level during a burst)"))?;
    let base = cx
        .level(
            a.base_rate.as_ref().map(respan0),
            a.base_load.as_ref().map(respan0),
            ("base_rate", "base_load"),
        )?
        .ok_or_else(|| cx.missing("`base_rate` or `base_load` (the level between bursts)"))?;
    let burst = a.burst.ok_or_else(|| cx.missing("`burst` (how long a burst lasts)"))?;
    let gap = a.gap.ok_or_else(|| cx.missing("`gap` (the time between bursts)"))?;
    for (name, d) in [("burst", &burst), ("gap", &gap)] {
        if d.get_ref().0 == 0 {
            return Err(field_error(
                cx.text,
                cx.origin,
                d.span(),
                &format!("arrivals.{name}"),
                "must be longer than 0",
            ));
        }
    }
    Ok(ArrivalSpec::Bursty { rate, base, burst: burst.get_ref().0, gap: gap.get_ref().0 })
}

#[cfg(test)]
mod tests;
