//! Property tests: over random small scenarios, with every fault and defence, and random
//! commands, the engine never panics, time never goes back, and every request ends in exactly
//! one state.

use std::collections::{BTreeMap, BTreeSet};

use lbsim::dist::Dist;
use lbsim::engine::{
    Arrivals, Assignment, Autoscale, Backpressure, Balancers, Command, Defences, Detection, Discipline,
    ErrorKind, Faults, OutlierEjection, QueueFate, RandomCrashes, RetryPolicy, ScaleMetric, ScheduledCrash,
    Sim, SimConfig, Slowdown, StepKind, Stop, View, WorkerSpec,
};
use lbsim::keys::{Cache, Keys, Popularity};
use lbsim::strategy::{self, STRATEGIES, StrategyParams};
use lbsim::time::MILLIS;
use proptest::prelude::*;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn dist() -> impl Strategy<Value = Dist> {
    prop_oneof![
        (0u64..5).prop_map(|m| Dist::Const(m * MILLIS)),
        (1u64..5).prop_map(|m| Dist::Exp { mean: m * MILLIS }),
        (0u64..3, 0u64..5).prop_map(|(a, b)| Dist::Uniform { low: a * MILLIS, high: (a + b) * MILLIS }),
        (1u64..5, 0.2f64..2.0).prop_map(|(m, sigma)| Dist::LogNormal { mean: m * MILLIS, sigma }),
        (1u64..5, 1.1f64..4.0).prop_map(|(m, alpha)| Dist::Pareto { mean: m * MILLIS, alpha }),
        (0.0f64..1.0).prop_map(|p_slow| Dist::Mix { fast: MILLIS, slow: 20 * MILLIS, p_slow }),
    ]
}

fn arrivals() -> impl Strategy<Value = Arrivals> {
    prop_oneof![
        (10.0f64..3000.0).prop_map(|rate| Arrivals::Poisson { rate }),
        (10.0f64..3000.0).prop_map(|rate| Arrivals::Constant { rate }),
        (10.0f64..3000.0, 0.0f64..500.0, 1u64..50, 1u64..50).prop_map(|(rate, base_rate, b, g)| {
            Arrivals::Bursty { rate, base_rate, burst: b * MILLIS, gap: g * MILLIS }
        }),
        (1u32..20, dist()).prop_map(|(clients, think)| Arrivals::Closed { clients, think }),
    ]
}

/// Half FCFS, half the others (issue 23: every discipline conserves requests).
fn discipline() -> impl Strategy<Value = Discipline> {
    prop_oneof![
        3 => Just(Discipline::Fcfs),
        1 => Just(Discipline::Ps),
        1 => Just(Discipline::Srpt),
        1 => Just(Discipline::LcfsPr),
    ]
}

fn worker() -> impl Strategy<Value = WorkerSpec> {
    (
        0.2f64..4.0,
        1u32..4,
        proptest::option::of(0u32..4),
        prop_oneof![Just(0.0), 0.0f64..0.5],
        any::<bool>(),
        discipline(),
    )
        .prop_map(|(speed, concurrency, queue_capacity, error_rate, fast, discipline)| WorkerSpec {
            speed,
            weight: speed,
            concurrency,
            queue_capacity,
            error_rate,
            error_kind: if fast { ErrorKind::Fast } else { ErrorKind::Slow },
            discipline,
        })
}

fn faults(workers: usize) -> impl Strategy<Value = Faults> {
    let w = workers;
    (
        proptest::collection::vec((0..w, 0u64..200, 1u64..100), 0..3),
        proptest::option::of((5u64..100, 1u64..30)),
        proptest::collection::vec((0..w, 1.0f64..20.0, 0u64..100, 1u64..100), 0..3),
        proptest::option::of(dist()),
        any::<bool>(),
    )
        .prop_map(|(crashes, random, slow, delay, requeue)| Faults {
            crashes: crashes
                .into_iter()
                .map(|(worker, at, d)| ScheduledCrash { worker, at: at * MILLIS, duration: d * MILLIS })
                .collect(),
            random_crashes: random.map(|(f, r)| RandomCrashes { mtbf: f * MILLIS, mttr: r * MILLIS }),
            slowdowns: slow
                .into_iter()
                .map(|(worker, factor, from, len)| Slowdown {
                    worker,
                    factor,
                    from: from * MILLIS,
                    to: (from + len) * MILLIS,
                })
                .collect(),
            network_delay: delay,
            on_crash: if requeue { QueueFate::Requeue } else { QueueFate::Fail },
        })
}

fn defences(workers: u32) -> impl Strategy<Value = Defences> {
    (
        proptest::option::of(1u64..200),
        proptest::option::of((0u32..4, proptest::option::of(1u64..50), proptest::option::of(0.0f64..1.0))),
        0u8..3,
        proptest::option::of((1u32..4, 1u64..50)),
        proptest::option::of(1u64..30),
        any::<bool>(),
        proptest::option::of((0u32..3, 1u32..4, any::<bool>())),
        balancers(),
    )
        .prop_map(move |(timeout, retry, detection, outlier, refresh, block, scale, balancers)| {
            Defences {
                timeout: timeout.map(|t| t * MILLIS),
                retry: retry.map(|(max, per_try, budget)| RetryPolicy {
                    max,
                    backoff: MILLIS,
                    max_backoff: 8 * MILLIS,
                    per_try_timeout: per_try.map(|t| t * MILLIS),
                    budget,
                }),
                detection: match detection {
                    0 => Detection::Instant,
                    1 => Detection::HealthChecks { interval: 5 * MILLIS, unhealthy: 2, healthy: 1 },
                    _ => Detection::Never,
                },
                outlier: outlier.map(|(k, base)| OutlierEjection {
                    consecutive_errors: k,
                    base_ejection: base * MILLIS,
                    max_ejected: 0.5,
                }),
                load_refresh: refresh.map(|t| t * MILLIS),
                backpressure: if block { Backpressure::Block } else { Backpressure::Reject },
                autoscale: scale.map(|(below, above, util)| Autoscale {
                    min: workers.saturating_sub(below).max(1),
                    max: workers + above,
                    metric: if util { ScaleMetric::Utilization } else { ScaleMetric::Pending },
                    scale_up: if util { 0.7 } else { 2.0 },
                    scale_down: if util { 0.2 } else { 0.5 },
                    interval: 5 * MILLIS,
                    sustain: 2,
                    startup: 10 * MILLIS,
                    cooldown: 10 * MILLIS,
                }),
                max_in_flight: None,
                panic_threshold: if block { Some(0.5) } else { None },
                slow_start: refresh.map(|ms| lbsim::engine::SlowStart {
                    window: ms * 10 * MILLIS,
                    aggression: 1.0,
                    min_weight_percent: 10.0,
                }),
                // A view that needs no refresh is made to fit one when the run has one, and the
                // other way round.
                balancers: Balancers {
                    view: balancers.view.map(|v| match (v, refresh.is_some()) {
                        (View::Global | View::Local, true) => View::ReportLocal,
                        (View::Report | View::ReportLocal, false) => View::Local,
                        (v, _) => v,
                    }),
                    ..balancers
                },
            }
        })
}

/// Keyed requests now and then, with or without a cache.
fn keys() -> impl Strategy<Value = Option<Keys>> {
    proptest::option::of((1u64..50, any::<bool>(), proptest::option::of((1u32..8, 1.0f64..5.0)))).prop_map(
        |k| {
            k.map(|(count, zipf, cache)| Keys {
                count,
                popularity: if zipf { Popularity::Zipf(1.1) } else { Popularity::Uniform },
                cache: cache.map(|(size, hit_speedup)| Cache { size, hit_speedup }),
            })
        },
    )
}

/// One to four balancer replicas, any view, assignment, dispatch delay and alignment.
fn balancers() -> impl Strategy<Value = Balancers> {
    (
        prop_oneof![Just(1u32), 1u32..5],
        any::<bool>(),
        proptest::option::of(0usize..4),
        proptest::option::of(1u64..5),
        any::<bool>(),
    )
        .prop_map(|(count, round_robin, view, delay, aligned)| Balancers {
            count,
            assignment: if round_robin { Assignment::RoundRobin } else { Assignment::Random },
            view: view.map(|i| View::ALL[i]),
            dispatch_delay: delay.map(|ms| Dist::Exp { mean: ms * MILLIS }),
            aligned,
        })
}

fn config() -> impl Strategy<Value = SimConfig> {
    proptest::collection::vec(worker(), 1..6).prop_flat_map(|workers| {
        let n = workers.len();
        (
            any::<u64>(),
            arrivals(),
            dist(),
            Just(workers),
            prop_oneof![
                (1u64..300).prop_map(Stop::Requests),
                (1u64..300).prop_map(|ms| Stop::Duration(ms * MILLIS))
            ],
            1usize..4,
            faults(n),
            defences(n as u32),
            keys(),
        )
            .prop_map(|(seed, arrivals, service, workers, stop, choices, faults, defences, keys)| {
                SimConfig {
                    seed,
                    arrivals,
                    service,
                    workers,
                    stop,
                    warmup: 0,
                    strategy_params: StrategyParams {
                        choices,
                        ewma_decay: 50 * MILLIS,
                        error_penalty: 10 * MILLIS,
                        ..StrategyParams::default()
                    },
                    faults,
                    // Keyed runs reach their replicas by key, one time in two.
                    defences: Defences {
                        balancers: Balancers {
                            assignment: match (&keys, seed % 2) {
                                (Some(_), 0) => Assignment::Hash,
                                _ => defences.balancers.assignment,
                            },
                            ..defences.balancers.clone()
                        },
                        ..defences
                    },
                    keys,
                    timeline: None,
                }
            })
    })
}

/// A command to apply after some step.
#[derive(Clone, Debug)]
enum Action {
    /// Kill, and revive 50 steps later.
    Kill(usize),
    /// Scheduled by a kill.
    Revive(usize),
    Speed(usize, f64),
    Slow(usize, f64),
    Errors(usize, f64),
    Rate(f64),
    Strategy(usize),
    Retries(bool),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (0usize..6).prop_map(Action::Kill),
        (0usize..6, 0.1f64..5.0).prop_map(|(w, s)| Action::Speed(w, s)),
        (0usize..6, 1.0f64..10.0).prop_map(|(w, s)| Action::Slow(w, s)),
        (0usize..6, 0.0f64..1.0).prop_map(|(w, p)| Action::Errors(w, p)),
        (0.0f64..3000.0).prop_map(Action::Rate),
        (0usize..STRATEGIES.len()).prop_map(Action::Strategy),
        any::<bool>().prop_map(Action::Retries),
    ]
}

proptest! {
    // A fixed seed keeps CI reproducible; PROPTEST_RNG_SEED and PROPTEST_CASES explore more.
    #![proptest_config(ProptestConfig {
        cases: env_or("PROPTEST_CASES", 1_000) as u32,
        rng_seed: proptest::test_runner::RngSeed::Fixed(env_or("PROPTEST_RNG_SEED", 20_261_124)),
        ..ProptestConfig::default()
    })]

    #[test]
    fn conservation_and_monotonic_time(
        config in config(),
        strategy_index in 0usize..STRATEGIES.len(),
        actions in proptest::collection::vec((0u64..600, action()), 0..8),
    ) {
        prop_assume!(config.validate().is_ok());
        let params = config.strategy_params.clone();
        let build = |i: usize| strategy::build(STRATEGIES[i].name, &params).unwrap();
        let stop = config.stop;
        let timeout = config.defences.timeout;
        let mut sim = Sim::new(config, build(strategy_index)).unwrap();
        let mut actions: BTreeMap<u64, Vec<Action>> =
            actions.into_iter().fold(BTreeMap::new(), |mut m, (k, a)| { m.entry(k).or_default().push(a); m });
        let mut arrived: BTreeMap<u64, u64> = BTreeMap::new(); // request -> arrival time
        let mut completed: BTreeSet<u64> = BTreeSet::new();
        let mut last = 0;
        let mut steps = 0u64;
        // Kills whose revive did not come before the run ended (it may end for want of events
        // while requests wait for a dead worker).
        let mut unrevived = 0;
        while let Some(step) = sim.step() {
            prop_assert!(step.time >= last, "time went back: {} -> {}", last, step.time);
            last = step.time;
            match step.kind {
                StepKind::Arrival { request, .. } => {
                    prop_assert!(arrived.insert(request, step.time).is_none(), "request {} arrived twice", request);
                }
                StepKind::Completion { request, latency, .. } => {
                    prop_assert!(arrived.contains_key(&request), "request {} completed without arriving", request);
                    prop_assert!(completed.insert(request), "request {} completed twice", request);
                    prop_assert_eq!(latency, step.time - arrived[&request]);
                    if let Some(t) = timeout {
                        prop_assert!(latency <= t, "request {} completed after its timeout: {} > {}", request, latency, t);
                    }
                }
                StepKind::Retry { request, .. } | StepKind::Failure { request, .. } => {
                    prop_assert!(arrived.contains_key(&request));
                    prop_assert!(!completed.contains(&request), "request {} went on after completing", request);
                }
                StepKind::ClientRetired { .. } | StepKind::WarmupEnded | StepKind::Internal => {}
            }
            let c = sim.metrics().counters;
            prop_assert!(c.is_conserved(), "{:?}", c);
            for action in actions.remove(&steps).unwrap_or_default() {
                let n = sim.snapshot().workers.len();
                let result = match action {
                    Action::Kill(w) => {
                        unrevived += 1;
                        actions.entry(steps + 50).or_default().push(Action::Revive(w));
                        sim.apply(Command::SetWorkerUp { worker: w, up: false })
                    }
                    Action::Revive(w) => {
                        unrevived -= 1;
                        sim.apply(Command::SetWorkerUp { worker: w, up: true })
                    }
                    Action::Speed(w, s) => sim.apply(Command::SetWorkerSpeed { worker: w, speed: s }),
                    Action::Slow(w, f) => sim.apply(Command::SetWorkerSlowdown { worker: w, factor: f }),
                    Action::Errors(w, p) => sim.apply(Command::SetWorkerErrorRate { worker: w, rate: p }),
                    Action::Rate(r) => sim.apply(Command::SetRate(r)).or(Ok(())),
                    Action::Strategy(i) => sim.apply(Command::SetStrategy(build(i))),
                    // Retries that could never fire are refused (a deadline, and nothing fails).
                    Action::Retries(on) => sim.apply(Command::SetRetry(on.then_some(RetryPolicy {
                        max: 2, backoff: MILLIS, max_backoff: 4 * MILLIS, per_try_timeout: None, budget: None,
                    }))).or_else(|e| if e.to_string().contains("never fire") { Ok(()) } else { Err(e) }),
                };
                let valid_worker = match action {
                    Action::Kill(w) | Action::Revive(w) | Action::Speed(w, _) | Action::Slow(w, _) | Action::Errors(w, _) => w < n,
                    _ => true,
                };
                prop_assert_eq!(result.is_ok(), valid_worker, "{:?}", action);
                prop_assert!(sim.metrics().counters.is_conserved());
            }
            steps += 1;
            prop_assert!(steps < 3_000_000, "run does not end");
        }
        let c = sim.metrics().counters;
        prop_assert!(c.is_conserved(), "{:?}", c);
        prop_assert_eq!(c.sent, arrived.len() as u64);
        prop_assert_eq!(c.completed, completed.len() as u64);
        prop_assert_eq!(c.in_flight as usize, sim.requests_in_system());
        if let Stop::Requests(_) = stop
            && unrevived == 0
        {
            prop_assert_eq!(c.in_flight, 0, "a request-count run drains");
        }
        let a = sim.metrics().attempts;
        // A completed or failed request made at least one attempt; first attempts are at most
        // one per request.
        prop_assert!(a.attempts >= c.completed + c.failed, "{:?} {:?}", a, c);
        prop_assert!(a.retries <= a.attempts && a.attempts - a.retries <= c.sent, "{:?} {:?}", a, c);
        prop_assert!(sim.is_finished());
        prop_assert!(sim.now() >= last);
    }
}
