//! lbsim against queueing theory (docs/validation.md).
//!
//! Times are in units of the mean service time (1/mu = 1 ms). Run lengths and tolerances are
//! chosen so that each check is several standard errors wide yet still catches a wrong
//! formula, a biased generator or a mis-routed request.

mod common;

use common::*;

/// Erlang C: the probability that an arrival waits in M/M/N with offered load a = N rho.
fn erlang_c(n: usize, rho: f64) -> f64 {
    let a = n as f64 * rho;
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..n {
        sum += term;
        term *= a / (k + 1) as f64;
    }
    // term is now a^N / N!
    term / ((1.0 - rho) * sum + term)
}

/// Mean sojourn in M/M/N with mu = 1.
fn mmn_mean(n: usize, rho: f64) -> f64 {
    1.0 + erlang_c(n, rho) / (n as f64 * (1.0 - rho))
}

/// Mean sojourn in the supermarket model (N -> infinity) with d choices.
fn supermarket_mean(d: u32, rho: f64) -> f64 {
    let d = d as f64;
    (1..200).map(|i| rho.powf((d.powi(i) - d) / (d - 1.0))).take_while(|t| *t > 1e-300).sum()
}

fn close(actual: f64, expected: f64, rel: f64) -> bool {
    (actual / expected - 1.0).abs() <= rel
}

#[test]
fn the_formulas_reproduce_the_reference_values() {
    assert!((mmn_mean(16, 0.9) - 1.3696).abs() < 5e-4, "{}", mmn_mean(16, 0.9));
    assert!((supermarket_mean(2, 0.5) - 1.2657).abs() < 5e-4);
    assert!((supermarket_mean(2, 0.9) - 2.6141).abs() < 5e-4);
    assert!((supermarket_mean(2, 0.99) - 5.4320).abs() < 5e-4);
    assert!((mmn_mean(1, 0.8) - 5.0).abs() < 1e-12);
}

#[test]
fn random_is_n_independent_mm1_queues() {
    for (workers, rho, requests) in [(4, 0.5, 600_000), (8, 0.8, 1_500_000)] {
        let sim = run(&mm_config(workers, rho, requests, 9), "random");
        let mean = mean_sojourn(&sim);
        eprintln!("random N={workers} rho={rho} mean {mean} p99 {}", quantile(&sim, 0.99));
        let expected_mean = 1.0 / (1.0 - rho);
        assert!(close(mean, expected_mean, 0.02), "N={workers} rho={rho}: mean {mean} vs {expected_mean}");
        for q in [0.5, 0.9, 0.99] {
            let actual = quantile(&sim, q);
            let expected = -(1.0 - q).ln() / (1.0 - rho);
            assert!(close(actual, expected, 0.04), "N={workers} rho={rho}: p{q} {actual} vs {expected}");
        }
    }
}

#[test]
fn least_loaded_sits_above_mmn_and_far_below_random() {
    for (workers, rho, requests) in [(4, 0.7, 600_000), (16, 0.9, 2_000_000)] {
        let sim = run(&mm_config(workers, rho, requests, 9), "least-loaded");
        let mean = mean_sojourn(&sim);
        let bound = mmn_mean(workers, rho);
        eprintln!("jsq N={workers} rho={rho} mean {mean} bound {bound}");
        let random = 1.0 / (1.0 - rho);
        assert!(mean > bound, "N={workers} rho={rho}: JSQ {mean} beats the M/M/N bound {bound}");
        assert!(mean < 1.25 * bound, "N={workers} rho={rho}: JSQ {mean} is far above M/M/N {bound}");
        assert!(
            mean - bound < 0.25 * (random - bound),
            "N={workers} rho={rho}: JSQ {mean} does not close most of the gap from random {random} to M/M/N {bound}"
        );
        if workers == 16 {
            // An independent simulation gives about 1.58 here.
            assert!(close(mean, 1.58, 0.03), "JSQ N=16 rho=0.9: {mean}");
        }
    }
}

#[test]
fn least_work_left_is_one_central_queue_mmn() {
    // Each request goes to the worker that will be free soonest, so it starts exactly when it
    // would in one FIFO queue feeding N servers: the oracle *is* M/M/N, not just above it.
    for (workers, rho, requests) in [(4, 0.7, 600_000), (16, 0.9, 2_000_000)] {
        let sim = run(&mm_config(workers, rho, requests, 9), "least-work-left");
        let mean = mean_sojourn(&sim);
        let expected = mmn_mean(workers, rho);
        eprintln!("lwl N={workers} rho={rho} mean {mean} M/M/N {expected}");
        assert!(close(mean, expected, 0.02), "N={workers} rho={rho}: mean {mean} vs M/M/N {expected}");
        // The tail too: in M/M/N a request waits with probability C, then Exp(N mu - lambda),
        // so P(sojourn > t) mixes two exponentials; p99 from the exact mixture.
        let c = erlang_c(workers, rho);
        let r = workers as f64 * (1.0 - rho);
        let survival = |t: f64| {
            // Service Exp(1) plus, with probability C, an independent wait Exp(r).
            let wait = if (r - 1.0).abs() < 1e-9 {
                (1.0 + t) * (-t).exp()
            } else {
                (r * (-t).exp() - (-r * t).exp()) / (r - 1.0)
            };
            (1.0 - c) * (-t).exp() + c * wait
        };
        let (mut lo, mut hi) = (0.0, 100.0);
        for _ in 0..100 {
            let mid = (lo + hi) / 2.0;
            if survival(mid) > 0.01 { lo = mid } else { hi = mid }
        }
        let p99 = quantile(&sim, 0.99);
        assert!(close(p99, lo, 0.04), "N={workers} rho={rho}: p99 {p99} vs M/M/N {lo}");
    }
}

#[test]
fn power_of_two_matches_the_supermarket_model() {
    for (rho, requests) in [(0.5, 1_000_000), (0.9, 2_000_000)] {
        let sim = run(&mm_config(100, rho, requests, 9), "power-of-two");
        let mean = mean_sojourn(&sim);
        let limit = supermarket_mean(2, rho);
        eprintln!("p2c rho={rho} mean {mean} limit {limit}");
        // Finite N sits slightly above the N -> infinity limit.
        assert!(mean > 0.995 * limit && mean < 1.03 * limit, "rho={rho}: {mean} vs limit {limit}");
    }
}

#[test]
fn littles_law_holds_on_lbsims_own_numbers() {
    let mut configs =
        vec![(mm_config(8, 0.8, 300_000, 5), "random"), (mm_config(8, 0.8, 300_000, 5), "least-loaded")];
    let mut hetero = mm_config(6, 0.7, 300_000, 9);
    for (i, w) in hetero.workers.iter_mut().enumerate() {
        w.speed = 0.5 + i as f64 * 0.3;
        w.weight = w.speed;
    }
    hetero.service = "lognormal:1ms,sigma=1".parse().unwrap();
    for s in ["round-robin", "power-of-two", "weighted-round-robin", "peak-ewma"] {
        configs.push((hetero.clone(), s));
    }
    let mut closed = mm_config(4, 0.8, 300_000, 2);
    closed.arrivals = lbsim::engine::Arrivals::Closed { clients: 12, think: "exp:2ms".parse().unwrap() };
    configs.push((closed, "least-loaded"));
    for (config, strategy) in configs {
        let r = report(&config, strategy);
        let in_system: f64 = r.workers.iter().map(|w| w.mean_pending).sum();
        // Over the whole measured time, drain included, as `mean_pending` is averaged (the
        // system is empty at its end); `throughput_rps` is per second of the arrivals' window.
        let rate = r.requests.completed as f64 / r.measured_time_s;
        let little = rate * r.latency_ms.mean / 1000.0;
        eprintln!("little {strategy} {in_system} {little}");
        assert!(
            close(in_system, little, 0.002),
            "{strategy}: time-averaged in system {in_system} vs throughput x latency {little}"
        );
    }
}

// Theory beside the simulation (issue 23): what `lbsim::theory::predict` shows in reports and
// the UI, against the simulation. Each mean within 2% over a few seeds (pooled, so that the
// check is several standard errors wide at these run lengths).

use lbsim::theory::{Prediction, predict};

/// The pooled mean latency (ms) over `seeds`, and the prediction, for `config` under `strategy`.
fn measured_and_predicted(
    config: &lbsim::engine::SimConfig,
    strategy: &str,
    seeds: &[u64],
) -> (f64, Prediction) {
    let (mut sum, mut count) = (0.0, 0u64);
    for &seed in seeds {
        let sim = run(&lbsim::engine::SimConfig { seed, ..config.clone() }, strategy);
        let l = &sim.metrics().latency;
        sum += l.mean() * l.count() as f64;
        count += l.count();
    }
    (sum / count as f64 / UNIT, predict(config, strategy))
}

fn check(config: &lbsim::engine::SimConfig, strategy: &str, formula: &str, seeds: &[u64], tol: f64) {
    let (mean, p) = measured_and_predicted(config, strategy, seeds);
    assert_eq!(p.formula(), Some(formula), "{strategy}: {p:?}");
    let expected = p.mean_ms().unwrap();
    eprintln!("{formula} ({strategy}): measured {mean} predicted {expected}");
    assert!(close(mean, expected, tol), "{formula} ({strategy}): measured {mean} vs predicted {expected}");
}

#[test]
fn predict_gives_the_reference_formulas() {
    // The prediction shown to users is the formula checked above against the simulation.
    let p = predict(&mm_config(8, 0.8, 1, 1), "random");
    assert!(close(p.mean_ms().unwrap(), 5.0, 1e-9) && close(p.p99_ms().unwrap(), 100f64.ln() * 5.0, 1e-9));
    assert!(close(
        predict(&mm_config(16, 0.9, 1, 1), "least-work-left").mean_ms().unwrap(),
        mmn_mean(16, 0.9),
        1e-9
    ));
    let p2c = predict(&mm_config(100, 0.9, 1, 1), "power-of-two");
    assert!(close(p2c.mean_ms().unwrap(), supermarket_mean(2, 0.9), 1e-9));
    assert!(matches!(p2c, Prediction::Closed { note: Some(ref n), .. } if n.contains("limit")));
}

#[test]
fn pollaczek_khinchine_for_one_worker() {
    // M/D/1 and M/G/1 (lognormal, sigma 1: E[S^2] = e E[S]^2) at load 0.7.
    for (service, tol) in [("const:1ms", 0.02), ("lognormal:1ms,sigma=1", 0.02), ("uniform:0ms..2ms", 0.02)] {
        let mut c = mm_config(1, 0.7, 200_000, 1);
        c.service = service.parse().unwrap();
        check(&c, "least-loaded", "M/G/1 (Pollaczek-Khinchine)", &[1, 2, 3], tol);
    }
}

#[test]
fn round_robin_is_erlang_arrivals_at_each_worker() {
    // Every 4th Poisson arrival: E_4/M/1, sojourn exponential with rate mu (1 - sigma).
    check(&mm_config(4, 0.8, 300_000, 1), "round-robin", "E_k/M/1 (GI/M/1)", &[1, 2, 3], 0.02);
}

#[test]
fn a_worker_with_slots_is_mmc() {
    // One worker with 4 slots is one queue before 4 servers: M/M/4 at load 0.8.
    let mut c = mm_config(1, 3.2, 300_000, 1);
    c.workers[0].concurrency = 4;
    check(&c, "random", "M/M/c (Erlang C)", &[1, 2, 3], 0.02);
    // And random over workers with slots: each worker M/M/2.
    let mut c = mm_config(4, 1.4, 300_000, 1);
    for w in &mut c.workers {
        w.concurrency = 2;
    }
    check(&c, "random", "M/M/c (Erlang C)", &[1, 2], 0.02);
}

#[test]
fn closed_loop_is_the_machine_repairman() {
    // 10 clients thinking 5 ms (mean) before each request to one worker of 1 ms: M/M/1//K.
    // Deterministic think times give the same mean (insensitivity).
    for think in ["exp:5ms", "const:5ms"] {
        let mut c = mm_config(1, 0.5, 300_000, 1);
        c.arrivals = lbsim::engine::Arrivals::Closed { clients: 10, think: think.parse().unwrap() };
        check(&c, "random", "M/M/1//K (machine repairman)", &[1, 2], 0.02);
    }
    // Several workers picked at random: a closed network, exact by mean value analysis.
    let mut c = mm_config(4, 0.5, 300_000, 1);
    c.arrivals = lbsim::engine::Arrivals::Closed { clients: 24, think: "exp:3ms".parse().unwrap() };
    check(&c, "random", "closed network (mean value analysis)", &[1, 2], 0.02);
}
