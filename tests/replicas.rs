//! Balancer replicas (issue 11): one replica is lbsim's single balancer bit for bit, the
//! views and alignment behave as documented, and the workload never moves.

mod common;

use common::*;
use lbsim::engine::{Assignment, Balancers, Sim, SimConfig, StepKind, Stop, View};
use lbsim::report::Report;
use lbsim::scenario::builtin::BUILTINS;
use lbsim::stats::{mean, paired};
use lbsim::strategy;

/// The strategies that existed before replicas did (the pinned digest covers exactly these).
const STRATEGIES: [&str; 6] =
    ["round-robin", "random", "least-loaded", "power-of-two", "weighted-round-robin", "peak-ewma"];

/// Strategies added since, which every test but the pinned digest covers too.
const NEWER: [&str; 4] = ["least-request", "bounded-hash", "join-idle-queue", "least-work-left"];

/// The built-in scenarios that existed before replicas did, as they were then: stale-herding
/// has since moved its refresh from 500 ms to 100 ms (where its lesson's text is true).
fn older_builtins() -> impl Iterator<Item = SimConfig> {
    BUILTINS.iter().take(20).map(|b| {
        let mut config = b.scenario().unwrap().to_config().unwrap();
        if b.name == "stale-herding" {
            config.defences.load_refresh = Some(500 * lbsim::time::MILLIS);
        }
        config.stop = match config.stop {
            Stop::Requests(_) => Stop::Requests(5_000),
            Stop::Duration(_) => Stop::Duration(5 * lbsim::time::SECS),
        };
        config
    })
}

/// FNV-1a over the figures of a run that any change in what the balancer does would move.
fn digest(sim: &Sim, h: &mut u64) {
    let m = sim.metrics();
    let c = m.counters;
    let mut figures = vec![
        c.sent,
        c.completed,
        c.rejected,
        c.failed,
        c.timed_out,
        c.in_flight,
        m.attempts.attempts,
        m.attempts.retries,
        (m.latency.mean() * m.latency.count() as f64).round() as u64,
        m.latency.max(),
        m.latency.quantile(0.99),
        sim.now(),
    ];
    for w in &m.workers {
        figures.extend([w.completed, w.errors, w.max_pending as u64]);
    }
    for x in figures {
        for b in x.to_le_bytes() {
            *h = (*h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// Every older built-in scenario (cut to 5,000 requests or 5 s) under every older strategy,
/// after `change`.
fn digest_all(change: impl Fn(&mut SimConfig)) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325;
    for mut config in older_builtins() {
        change(&mut config);
        for name in STRATEGIES {
            digest(&run(&config, name), &mut h);
        }
    }
    h
}

#[test]
fn one_balancer_is_todays_balancer_bit_for_bit() {
    // Computed by the same function on the commit before replicas existed (5faddd8): one
    // replica, by default or said explicitly, changes nothing in any scenario or strategy.
    assert_eq!(digest_all(|_| {}), PINNED_SINGLE_BALANCER);
    assert_eq!(
        digest_all(|c| c.defences.balancers = Balancers { count: 1, ..Balancers::default() }),
        PINNED_SINGLE_BALANCER
    );
}
const PINNED_SINGLE_BALANCER: u64 = 12_790_931_680_545_777_154;

#[test]
fn a_local_view_with_one_replica_is_the_global_view() {
    let global = digest_all(|c| {
        if c.defences.load_refresh.is_none() {
            c.defences.balancers.view = Some(View::Global);
        }
    });
    let local = digest_all(|c| {
        if c.defences.load_refresh.is_none() {
            c.defences.balancers.view = Some(View::Local);
        }
    });
    assert_eq!(global, local);
}

fn replicated(count: u32, view: View) -> impl Fn(&mut SimConfig) {
    move |c| {
        c.defences.balancers.count = count;
        c.defences.balancers.view = Some(view);
    }
}

#[test]
fn replicas_and_views_never_move_the_workload() {
    let config = mm_config(8, 0.9, 10_000, 4);
    let reference = workload(&config, "round-robin");
    for (count, view) in [(10, View::Local), (3, View::Global), (7, View::Local)] {
        let mut c = config.clone();
        replicated(count, view)(&mut c);
        c.defences.balancers.dispatch_delay = Some("exp:1ms".parse().unwrap());
        for name in STRATEGIES.into_iter().chain(NEWER) {
            assert!(workload(&c, name) == reference, "{count} {view:?} {name} saw another workload");
        }
    }
}

#[test]
fn runs_with_replicas_are_reproducible_and_conserve_requests() {
    for view in View::ALL {
        let mut c = mm_config(8, 0.9, 10_000, 4);
        replicated(5, view)(&mut c);
        if view.uses_report() {
            c.defences.load_refresh = Some(20 * lbsim::time::MILLIS);
        }
        c.defences.balancers.dispatch_delay = Some("exp:200us".parse().unwrap());
        for name in STRATEGIES.into_iter().chain(NEWER) {
            let (a, b) = (report(&c, name), report(&c, name));
            assert_eq!(a, b, "{view:?} {name}");
            assert!(a.requests.sent == a.requests.completed && a.requests.in_flight == 0, "{view:?} {name}");
            let picks: u64 = a.balancers.iter().map(|b| b.picks).sum();
            assert_eq!(picks, a.workers.iter().map(|w| w.picks).sum::<u64>());
            assert_eq!(picks, a.attempts.total, "{view:?} {name}: every attempt is one pick");
            for w in &a.workers {
                let by: &Vec<u64> = w.picks_by_balancer.as_ref().unwrap();
                assert_eq!(by.iter().sum::<u64>(), w.picks);
            }
        }
    }
}

/// p99 (ms) of `strategy` on seeds 1..=n after `change`.
fn p99s(base: &SimConfig, strategy: &str, n: u64, change: impl Fn(&mut SimConfig)) -> Vec<f64> {
    (1..=n)
        .map(|seed| {
            let mut c = base.clone();
            c.seed = seed;
            change(&mut c);
            report(&c, strategy).latency_ms.p99
        })
        .collect()
}

/// `a` exceeds `b` by more than `fraction` of `b`'s mean, with 95% confidence: the lower end
/// of the paired difference's interval is above that margin.
fn clearly_above(a: &[f64], b: &[f64], fraction: f64, what: &str) {
    let d = paired(a, b);
    let ci = d.ci.expect("several seeds");
    assert!(
        ci.low > fraction * mean(b),
        "{what}: difference {:.3} ms, 95% interval [{:.3}, {:.3}], needs above {:.3} ({a:?} vs {b:?})",
        d.mean,
        ci.low,
        ci.high,
        fraction * mean(b)
    );
}

#[test]
fn least_loaded_on_local_views_across_many_replicas_loses_to_the_global_view() {
    // 16 workers at 90% load, 10 replicas each seeing only its own requests: a replica's
    // least-loaded spreads its own tenth of the traffic evenly, blind to the other nine, so
    // queues form that one balancer would have avoided (measured: p99 about 118 ms against
    // 66 ms). Six paired seeds; the difference must exceed half the global p99 at 95%.
    let mut base = mm_config(16, 0.9, 30_000, 1);
    base.warmup = 500 * lbsim::time::MILLIS;
    let global = p99s(&base, "least-loaded", 6, replicated(10, View::Global));
    let local = p99s(&base, "least-loaded", 6, replicated(10, View::Local));
    clearly_above(&local, &global, 0.5, "local vs global");
    // And the global view with ten replicas is one balancer's least-loaded, in law: the same
    // p99 within the seeds' noise (no significant difference).
    let one = p99s(&base, "least-loaded", 6, |_| {});
    let d = paired(&global, &one);
    assert!(!d.significant || d.mean.abs() < 0.05 * mean(&one), "{global:?} vs {one:?}");
}

#[test]
fn join_idle_queue_scales_to_many_balancers_where_load_reading_does_not() {
    // Lu et al.'s claim: 100 workers at 90% load behind 10 replicas, each seeing only its
    // own requests. Least-loaded and power-of-two on such views balance a tenth of the
    // traffic each; join-idle-queue needs no loads at all, only the idle workers' one message
    // each, and sends most requests to a worker with nothing to do (measured on seed 1: mean
    // 18.9 ms against 42.3 for power-of-two, 36.3 for least-loaded, 101.5 for random, on 10 ms
    // of service). Six paired seeds: each must lose to it by 50% of its mean at 95%.
    let mut base = mm_config(100, 0.9, 60_000, 1);
    base.warmup = 500 * lbsim::time::MILLIS;
    base.service = "exp:10ms".parse().unwrap();
    base.arrivals = lbsim::engine::Arrivals::Poisson { rate: 0.9 * 100.0 * 100.0 };
    let means = |strategy: &str| -> Vec<f64> {
        (1..=6)
            .map(|seed| {
                let mut c = base.clone();
                c.seed = seed;
                replicated(10, View::Local)(&mut c);
                report(&c, strategy).latency_ms.mean
            })
            .collect()
    };
    let jiq = means("join-idle-queue");
    for other in ["power-of-two", "least-loaded", "random"] {
        clearly_above(&means(other), &jiq, 0.5, &format!("{other} vs join-idle-queue"));
    }
    // And the oracle bounds it from below: no balancer placing at once does better.
    clearly_above(&jiq, &means("least-work-left"), 0.2, "join-idle-queue vs least-work-left");
}

#[test]
fn aligned_round_robin_replicas_herd() {
    // 10 replicas in turn in front of 10 workers: aligned, the ten requests of a round all
    // reach worker k together (each replica's k-th pick); unaligned, each replica starts at
    // its own random worker and the rounds spread.
    let mut base = mm_config(10, 0.8, 30_000, 1);
    base.warmup = 500 * lbsim::time::MILLIS;
    let rr = |aligned: bool| {
        move |c: &mut SimConfig| {
            c.defences.balancers =
                Balancers { count: 10, assignment: Assignment::RoundRobin, aligned, ..Balancers::default() }
        }
    };
    let aligned = p99s(&base, "round-robin", 6, rr(true));
    let spread = p99s(&base, "round-robin", 6, rr(false));
    clearly_above(&aligned, &spread, 0.1, "aligned vs unaligned");
    // Picks: aligned replicas all hit worker 0 first.
    let mut c = base.clone();
    rr(true)(&mut c);
    c.warmup = 0;
    c.stop = Stop::Requests(10);
    let s = strategy::build("round-robin", &c.strategy_params).unwrap();
    let mut sim = Sim::new(c, s).unwrap();
    let mut first = Vec::new();
    while let Some(step) = sim.step() {
        if let StepKind::Arrival { worker: Some(w), .. } = step.kind {
            first.push(w);
        }
    }
    assert_eq!(first, vec![0; 10]);
}

#[test]
fn the_report_lists_replicas_and_jains_index() {
    let mut c = mm_config(4, 0.5, 4_000, 3);
    c.warmup = 0;
    replicated(3, View::Local)(&mut c);
    c.defences.balancers.assignment = Assignment::RoundRobin;
    let r: Report = report(&c, "round-robin");
    let json: serde_json::Value = serde_json::from_str(&lbsim::report::run_json(&r)).unwrap();
    let balancers = json["balancers"].as_array().unwrap();
    assert_eq!(balancers.len(), 3);
    // In turn: 4,000 requests, 1,334 / 1,333 / 1,333.
    let picks: Vec<u64> = balancers.iter().map(|b| b["picks"].as_u64().unwrap()).collect();
    assert_eq!(picks, [1_334, 1_333, 1_333]);
    assert_eq!(balancers[2]["id"], 2);
    assert!(json["workers"][0]["picks"].as_u64().unwrap() >= 999);
    // Round robin over equal workers: within a pick or so per replica of equal shares.
    let j = json["fairness_jain"].as_f64().unwrap();
    assert!(j > 0.9999, "{j}");
    assert!(
        lbsim::report::run_table(&r).contains("balancers   3 replicas, 4000 picks: 0:1334 1:1333 2:1333")
    );
}

#[test]
fn a_dispatch_delay_is_a_window_in_which_replicas_race() {
    // Ten least-loaded replicas on the global view: a request picked but not yet arrived is
    // invisible, so replicas that pick within 5 ms of each other pick the same worker. The p99
    // rises by far more than the 5 ms each request spends in the delay (measured: 66 ms to
    // 141 ms); it must rise by 30% of the undelayed p99 beyond the 5 ms, at 95%.
    let mut base = mm_config(16, 0.9, 30_000, 1);
    base.warmup = 500 * lbsim::time::MILLIS;
    let none = p99s(&base, "least-loaded", 6, replicated(10, View::Global));
    let delayed: Vec<f64> = p99s(&base, "least-loaded", 6, |c| {
        replicated(10, View::Global)(c);
        c.defences.balancers.dispatch_delay = Some("const:5ms".parse().unwrap());
    })
    .into_iter()
    .map(|p99| p99 - 5.0)
    .collect();
    clearly_above(&delayed, &none, 0.3, "5 ms dispatch delay vs none");
}

/// A strategy switched in mid-run gets what it needs: least-work-left its oracle, and
/// join-idle-queue the workers idle at that moment.
#[test]
fn a_strategy_switched_in_gets_its_oracle_and_the_idle_workers() {
    use lbsim::engine::Command;
    let mut c = mm_config(8, 0.3, 2_000, 5);
    c.warmup = 0;
    let mut sim = Sim::new(c, strategy::build("random", &Default::default()).unwrap()).unwrap();
    for _ in 0..500 {
        sim.step();
    }
    for (name, words) in [("least-work-left", "is free soonest"), ("join-idle-queue", "had joined")] {
        sim.apply(Command::SetStrategy(strategy::build(name, &Default::default()).unwrap())).unwrap();
        // The next arrival is placed by the new strategy.
        while !matches!(sim.step().map(|s| s.kind), Some(StepKind::Arrival { .. }) | None) {}
        let why = sim.explain_last_pick().unwrap_or_default();
        assert!(why.contains(words), "{name}: {why}");
    }
}
