//! The plain run's own event loop (`src/engine/plain.rs`) against the general one: the same
//! state after every slice of events (by a budget of events, up to a time, or both), on every
//! built-in scenario with every strategy, and on random plain runs disturbed by faults and
//! commands between slices.

use lbsim::dist::Dist;
use lbsim::engine::{Arrivals, Command, ScheduledCrash, Sim, SimConfig, Slowdown, Stop, WorkerSpec};
use lbsim::rng::{SimRng, Stream};
use lbsim::scenario::builtin::BUILTINS;
use lbsim::strategy::{self, STRATEGIES};
use lbsim::time::{MILLIS, SECS};

/// Everything a report or a UI reads of a run, as text.
fn state(sim: &Sim) -> String {
    format!("{} {:?} {:?} {:?}", sim.now(), sim.is_finished(), sim.snapshot(), sim.metrics())
}

/// Runs `config` under `strategy` both ways, in slices of `slice` events, with `between`
/// applied to both after each slice; panics where they first differ. Returns whether the
/// fast one took the plain loop at the start, and whether the run stopped early (at the
/// in-flight cap).
fn same_both_ways(
    label: &str,
    config: &SimConfig,
    strategy: &str,
    slice: u64,
    mut between: impl FnMut(u64, &mut Sim),
) -> (bool, bool) {
    let build =
        || Sim::new(config.clone(), strategy::build(strategy, &config.strategy_params).unwrap()).unwrap();
    let (mut fast, mut general) = (build(), build().without_fast_path());
    let plain = fast.runs_plain();
    assert!(!general.runs_plain());
    for round in 0u64.. {
        // Each way of moving on in turn: a budget of events (headless runs, sweeps), up to
        // a time (replays), up to a time within a budget (the UI and its seeks).
        // Up to a time, or exactly to the next event's time, or just before it.
        let next = general.next_event_time().unwrap_or(general.now());
        let to = match round % 4 {
            0 | 3 => general.now() + (round % 5 + 1) * 20 * MILLIS,
            1 => next,
            _ => next.saturating_sub(1).max(general.now()),
        };
        let go = |sim: &mut Sim| match round % 3 {
            0 => (sim.run_events(slice), 0),
            1 => (sim.is_finished(), sim.step_until(to)),
            _ => (sim.step_until_bounded(to, slice / 3), 0),
        };
        let (a, b) = (go(&mut fast), go(&mut general));
        assert_eq!(a, b, "{label} / {strategy}: they went on differently, slice {round}");
        let a = fast.is_finished();
        let (x, y) = (state(&fast), state(&general));
        if x != y {
            let at = x.bytes().zip(y.bytes()).position(|(p, q)| p != q).unwrap_or(0);
            let from = at.saturating_sub(200);
            panic!(
                "{label} / {strategy}: the plain loop differs after slice {round}:\n fast: {}\n general: {}",
                &x[from..(at + 200).min(x.len())],
                &y[from..(at + 200).min(y.len())]
            );
        }
        if a {
            break;
        }
        between(round, &mut fast);
        between(round, &mut general);
    }
    (plain, fast.stop_reason().is_some())
}

#[test]
fn every_builtin_scenario_gives_the_same_state_both_ways() {
    let mut plain = 0;
    for b in BUILTINS {
        let mut config = b.scenario().unwrap().to_config().unwrap();
        config.stop = match config.stop {
            Stop::Requests(_) => Stop::Requests(4_000),
            Stop::Duration(_) => Stop::Duration(4 * SECS),
        };
        for info in STRATEGIES {
            plain += same_both_ways(b.name, &config, info.name, 1_777, |_, _| {}).0 as usize;
        }
    }
    // Most of them have some defence or fault on; enough are plain to matter.
    assert!(plain >= 20, "only {plain} scenario-strategy pairs ran plain");
}

/// A random plain run: 1 to 12 workers of mixed speed and concurrency, some with a bounded
/// queue or errors (those take the general path), scheduled crashes and slowdowns, a warm-up,
/// a timeline and an in-flight cap.
fn random_config(rng: &mut SimRng, seed: u64) -> SimConfig {
    let n = 1 + rng.below(12) as usize;
    let workers: Vec<WorkerSpec> = (0..n)
        .map(|_| WorkerSpec {
            speed: [1.0, 1.0, 0.5, 2.0][rng.below(4) as usize],
            concurrency: 1 + (rng.below(4) == 0) as u32 * rng.below(3) as u32,
            queue_capacity: (rng.below(6) == 0).then(|| rng.below(4) as u32),
            error_rate: if rng.below(6) == 0 { 0.2 } else { 0.0 },
            ..WorkerSpec::default()
        })
        .collect();
    // Up to 1.5x the capacity of workers at speed 1: some runs overload.
    let rate = (0.5 + rng.unit()) * n as f64 * 100.0;
    let mut config = SimConfig::new(workers, Arrivals::Poisson { rate }, Dist::Exp { mean: 10 * MILLIS });
    config.seed = seed;
    config.stop = if rng.below(2) == 0 { Stop::Requests(3_000) } else { Stop::Duration(3 * SECS) };
    config.warmup = rng.below(2) * 200 * MILLIS;
    config.timeline = (rng.below(2) == 0).then_some(100 * MILLIS);
    // Now and then a small in-flight cap, which an overloaded run reaches and stops at.
    config.defences.max_in_flight = (rng.below(5) == 0).then_some(20 + rng.below(40));
    if rng.below(2) == 0 {
        let worker = rng.below(n as u64) as usize;
        config.faults.crashes.push(ScheduledCrash { worker, at: 500 * MILLIS, duration: 300 * MILLIS });
    }
    if rng.below(2) == 0 {
        let worker = rng.below(n as u64) as usize;
        config.faults.slowdowns.push(Slowdown {
            worker,
            factor: 3.0,
            from: 800 * MILLIS,
            to: 1_500 * MILLIS,
        });
    }
    config
}

#[test]
fn random_plain_runs_with_faults_and_commands_are_the_same_both_ways() {
    let mut rng = SimRng::stream(11, Stream::Faults);
    let mut capped = 0;
    for seed in 0..60 {
        let config = random_config(&mut rng, seed);
        let n = config.workers.len();
        let strategy = STRATEGIES[seed as usize % STRATEGIES.len()].name;
        let (plain, stopped) =
            same_both_ways(&format!("seed {seed}"), &config, strategy, 211, |round, sim| {
                // Commands between slices, the same on both: a worker down and up again, a
                // slowdown, errors on and off, the rate changed.
                let w = round as usize % n;
                let command = match round % 7 {
                    1 => Some(Command::SetWorkerUp { worker: w, up: false }),
                    2 => Some(Command::SetWorkerUp { worker: w, up: true }),
                    3 => Some(Command::SetWorkerSlowdown { worker: w, factor: 2.0 }),
                    4 => Some(Command::SetWorkerErrorRate { worker: w, rate: 0.1 }),
                    5 => Some(Command::SetWorkerErrorRate { worker: w, rate: 0.0 }),
                    6 => Some(Command::SetRate(sim.config().workers.len() as f64 * 90.0)),
                    _ => None,
                };
                if let Some(command) = command {
                    let _ = sim.apply(command);
                }
            });
        let oracle = ["least-work-left", "sita", "sita-e"].contains(&strategy);
        assert!(plain || oracle, "seed {seed}: a plain configuration of {strategy} did not run plain");
        capped += stopped as usize;
    }
    assert!(capped >= 3, "only {capped} runs stopped at their in-flight cap");
}

#[test]
fn defences_and_replicas_are_not_plain() {
    let base = SimConfig::new(
        vec![WorkerSpec::default(); 4],
        Arrivals::Poisson { rate: 300.0 },
        Dist::Exp { mean: 10 * MILLIS },
    );
    let plain = |config: &SimConfig, strategy: &str| {
        Sim::new(config.clone(), strategy::build(strategy, &config.strategy_params).unwrap())
            .unwrap()
            .runs_plain()
    };
    for info in STRATEGIES {
        // The oracles' picks read every worker's work left or the request's size: the
        // general path has those.
        let oracle = ["least-work-left", "sita", "sita-e"].contains(&info.name);
        assert_eq!(plain(&base, info.name), !oracle, "{}", info.name);
    }
    let mut timeout = base.clone();
    timeout.defences.timeout = Some(SECS);
    assert!(!plain(&timeout, "least-loaded"));
    let mut replicas = base.clone();
    replicas.defences.balancers.count = 2;
    assert!(!plain(&replicas, "least-loaded"));
    let mut delay = base.clone();
    delay.faults.network_delay = Some(Dist::Const(MILLIS));
    assert!(!plain(&delay, "least-loaded"));
    let mut closed = base.clone();
    closed.arrivals = Arrivals::Closed { clients: 4, think: Dist::Const(MILLIS) };
    assert!(!plain(&closed, "least-loaded"));
    // A retry policy switched on by a command ends it at once.
    let mut sim =
        Sim::new(base.clone(), strategy::build("least-loaded", &Default::default()).unwrap()).unwrap();
    sim.apply(Command::SetRetry(Some(lbsim::engine::RetryPolicy::default()))).unwrap();
    assert!(!sim.runs_plain());
}
