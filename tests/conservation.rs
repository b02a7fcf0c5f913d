//! Property tests: over random small scenarios and random commands, the engine never panics,
//! time never goes back, and every request ends in exactly one state.

use std::collections::BTreeMap;

use lbsim::dist::Dist;
use lbsim::engine::{Arrivals, Command, Sim, SimConfig, StepKind, Stop, WorkerSpec};
use lbsim::strategy::{self, STRATEGIES, StrategyParams};
use lbsim::time::MILLIS;
use proptest::prelude::*;

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

fn worker() -> impl Strategy<Value = WorkerSpec> {
    (0.2f64..4.0, 1u32..4, proptest::option::of(0u32..4)).prop_map(|(speed, concurrency, queue_capacity)| {
        WorkerSpec { speed, weight: speed, concurrency, queue_capacity }
    })
}

fn config() -> impl Strategy<Value = SimConfig> {
    (
        any::<u64>(),
        arrivals(),
        dist(),
        proptest::collection::vec(worker(), 1..6),
        prop_oneof![
            (1u64..400).prop_map(Stop::Requests),
            (1u64..300).prop_map(|ms| Stop::Duration(ms * MILLIS))
        ],
        1usize..4,
    )
        .prop_map(|(seed, arrivals, service, workers, stop, choices)| SimConfig {
            seed,
            arrivals,
            service,
            workers,
            stop,
            warmup: 0,
            strategy_params: StrategyParams { choices, ewma_decay: 50 * MILLIS },
        })
}

/// A command to apply after some step.
#[derive(Clone, Debug)]
enum Action {
    Kill(usize),
    Revive(usize),
    Speed(usize, f64),
    Rate(f64),
    Strategy(usize),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (0usize..6).prop_map(Action::Kill),
        (0usize..6).prop_map(Action::Revive),
        (0usize..6, 0.1f64..5.0).prop_map(|(w, s)| Action::Speed(w, s)),
        (0.0f64..3000.0).prop_map(Action::Rate),
        (0usize..STRATEGIES.len()).prop_map(Action::Strategy),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn conservation_and_monotonic_time(
        config in config(),
        strategy_index in 0usize..STRATEGIES.len(),
        actions in proptest::collection::vec((0u64..600, action()), 0..8),
    ) {
        prop_assume!(config.validate().is_ok());
        let params = config.strategy_params.clone();
        let build = |i: usize| strategy::build(STRATEGIES[i].name, &params).unwrap();
        let workers = config.workers.len();
        let stop = config.stop;
        let mut sim = Sim::new(config, build(strategy_index)).unwrap();
        let actions: BTreeMap<u64, Action> = actions.into_iter().collect();
        // request id -> (arrived, completed)
        let mut seen: BTreeMap<u64, (bool, bool)> = BTreeMap::new();
        let (mut completions, mut rejections) = (0u64, 0u64);
        let mut last = 0;
        let mut steps = 0u64;
        while let Some(step) = sim.step() {
            prop_assert!(step.time >= last, "time went back: {} -> {}", last, step.time);
            last = step.time;
            match step.kind {
                StepKind::Arrival { request, worker, .. } => {
                    prop_assert!(seen.insert(request, (true, false)).is_none(), "request {} arrived twice", request);
                    if worker.is_none() {
                        rejections += 1;
                    }
                }
                StepKind::Completion { request, .. } => {
                    let entry = seen.get_mut(&request);
                    prop_assert!(entry.is_some(), "request {} completed without arriving", request);
                    let entry = entry.unwrap();
                    prop_assert!(!entry.1, "request {} completed twice", request);
                    entry.1 = true;
                    completions += 1;
                }
                StepKind::ClientRetired { .. } | StepKind::WarmupEnded => {}
            }
            let c = sim.metrics().counters;
            prop_assert!(c.is_conserved(), "{:?}", c);
            if let Some(action) = actions.get(&steps) {
                let result = match *action {
                    Action::Kill(w) => sim.apply(Command::SetWorkerUp { worker: w, up: false }),
                    Action::Revive(w) => sim.apply(Command::SetWorkerUp { worker: w, up: true }),
                    Action::Speed(w, s) => sim.apply(Command::SetWorkerSpeed { worker: w, speed: s }),
                    Action::Rate(r) => sim.apply(Command::SetRate(r)).or(Ok(())),
                    Action::Strategy(i) => sim.apply(Command::SetStrategy(build(i))),
                };
                let valid_worker = match *action {
                    Action::Kill(w) | Action::Revive(w) | Action::Speed(w, _) => w < workers,
                    _ => true,
                };
                prop_assert_eq!(result.is_ok(), valid_worker);
                prop_assert!(sim.metrics().counters.is_conserved());
            }
            steps += 1;
            prop_assert!(steps < 2_000_000, "run does not end");
        }
        let c = sim.metrics().counters;
        prop_assert!(c.is_conserved(), "{:?}", c);
        prop_assert_eq!(c.sent, seen.len() as u64);
        prop_assert_eq!(c.completed, completions);
        prop_assert_eq!(c.rejected, rejections);
        // Whatever was neither completed nor rejected failed (a killed worker) or is in flight.
        prop_assert_eq!(c.failed + c.in_flight, seen.values().filter(|v| !v.1).count() as u64 - rejections);
        if let Stop::Requests(_) = stop {
            prop_assert_eq!(c.in_flight, 0, "a request-count run drains");
        }
        prop_assert!(sim.is_finished());
        prop_assert!(sim.now() >= last);
    }
}
