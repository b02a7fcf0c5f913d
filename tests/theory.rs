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

// Theory beside the simulation (issue 23): every formula `lbsim::theory::predict` shows in
// reports and the UI, against the simulation at 2 million measured requests: four seeds of
// 500,000 (after a warm-up), pooled through lbsim's own recorders. The standard error (SE) of
// the pooled mean comes from batch means: each run's measured completions, in completion
// order, cut into 10 batches of 50,000, the 40 batch means taken as independent. Each test's
// comment gives the relative SE measured (`cargo test --test theory -- --nocapture` prints
// `2M |` lines: formula, scenario, error, SE); the loads are chosen so that 2% is at least
// three SEs. p99 is read from the merged histograms (3 significant digits) and held to 3%.

use lbsim::engine::{Discipline, SimConfig, StepKind};
use lbsim::metrics::Recorder;
use lbsim::theory::{Prediction, predict};

/// Measured requests per check, and the seeds they are spread over.
const REQUESTS: u64 = 2_000_000;
const SEEDS: [u64; 4] = [1, 2, 3, 4];
/// Batches per run for the batch-means standard error.
const BATCHES: u64 = 10;

/// One seed's run: lbsim's latency recorder and the batch means (ns) of its measured
/// completions.
fn batched_run(config: &SimConfig, strategy: &str) -> (Recorder, Vec<f64>) {
    let s = lbsim::strategy::build(strategy, &config.strategy_params).unwrap();
    let mut sim = lbsim::engine::Sim::new(config.clone(), s).unwrap();
    let lbsim::engine::Stop::Requests(n) = config.stop else { panic!("a request-count run") };
    let per_batch = n / BATCHES;
    // Ids are given in arrival order; the first to arrive after the warm-up is measured, and
    // every later one.
    let mut first_measured = None;
    let (mut sum, mut in_batch, mut means) = (0.0, 0, Vec::new());
    while let Some(step) = sim.step() {
        match step.kind {
            StepKind::Arrival { request, .. } if first_measured.is_none() && step.time >= config.warmup => {
                first_measured = Some(request)
            }
            StepKind::Completion { request, latency, .. } if first_measured.is_some_and(|f| request >= f) => {
                sum += latency as f64;
                in_batch += 1;
                if in_batch == per_batch {
                    means.push(sum / per_batch as f64);
                    (sum, in_batch) = (0.0, 0);
                }
            }
            _ => {}
        }
    }
    (sim.metrics().latency.clone(), means)
}

/// What the simulation measured over [`SEEDS`] (in units of 1 ms), pooled.
struct Measured {
    mean: f64,
    p99: f64,
    /// The standard error of `mean`, relative to it, from batch means.
    rel_se: f64,
}

/// Runs `config` (its seed replaced) under `strategy` for [`REQUESTS`] measured requests
/// spread over [`SEEDS`], the seeds on threads.
fn measure(config: &SimConfig, strategy: &str) -> Measured {
    let per_seed = REQUESTS / SEEDS.len() as u64;
    let runs: Vec<(Recorder, Vec<f64>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = SEEDS
            .iter()
            .map(|&seed| {
                let c = SimConfig { seed, stop: lbsim::engine::Stop::Requests(per_seed), ..config.clone() };
                scope.spawn(move || batched_run(&c, strategy))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all = Recorder::default();
    let mut batches = Vec::new();
    for (r, b) in &runs {
        all.add(r);
        batches.extend_from_slice(b);
    }
    let k = batches.len() as f64;
    let m = batches.iter().sum::<f64>() / k;
    let var = batches.iter().map(|b| (b - m).powi(2)).sum::<f64>() / (k - 1.0);
    Measured { mean: all.mean() / UNIT, p99: all.quantile(0.99) as f64 / UNIT, rel_se: (var / k).sqrt() / m }
}

/// lbsim's prediction for `config` under `strategy`: its formula must be `formula`; returns
/// (mean, p99) in units of 1 ms.
fn predicted(config: &SimConfig, strategy: &str, formula: &str) -> (f64, Option<f64>) {
    let p = predict(config, strategy);
    assert_eq!(p.formula(), Some(formula), "{strategy}: {p:?}");
    (p.mean_ms().unwrap(), p.p99_ms())
}

/// Holds the simulation of `config` under `strategy` to lbsim's formula `formula`: the mean
/// within `tol`, the p99 (where the formula gives one) within 3%; and checks that `tol` is at
/// least `min_ses` standard errors wide, so that the check means something. Returns the
/// measurement and the predicted mean.
fn check_2m(
    config: &SimConfig,
    strategy: &str,
    formula: &str,
    scenario: &str,
    tol: f64,
    min_ses: f64,
) -> (Measured, f64) {
    let (mean, p99) = predicted(config, strategy, formula);
    let m = measure(config, strategy);
    let err = m.mean / mean - 1.0;
    let p99_err = p99.map(|p| m.p99 / p - 1.0);
    eprintln!(
        "2M | {formula} | {scenario} | mean {:.4} vs {mean:.4}: {:+.2}% (SE {:.2}%) | p99 {:.3} vs {}",
        m.mean,
        err * 100.0,
        m.rel_se * 100.0,
        m.p99,
        match (p99, p99_err) {
            (Some(p), Some(e)) => format!("{p:.3}: {:+.2}%", e * 100.0),
            _ => "-".to_string(),
        }
    );
    assert!(err.abs() <= tol, "{formula}, {scenario}: measured {} vs predicted {mean}", m.mean);
    assert!(
        tol >= min_ses * m.rel_se,
        "{formula}, {scenario}: SE {:.2}% is too wide for a {:.1}% check",
        m.rel_se * 100.0,
        tol * 100.0
    );
    if let Some(e) = p99_err {
        assert!(e.abs() <= 0.03, "{formula}, {scenario}: p99 {} vs predicted {}", m.p99, p99.unwrap());
    }
    (m, mean)
}

/// `workers` workers of discipline `d` at per-worker load `rho`, sizes `service` of mean 1 ms.
fn with(workers: usize, rho: f64, d: Discipline, service: &str) -> SimConfig {
    let mut c = mm_config(workers, rho, REQUESTS, 1);
    c.service = service.parse().unwrap();
    for w in &mut c.workers {
        w.discipline = d;
    }
    c
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
fn mm1_at_2m_requests() {
    // random over 8 workers at load 0.75: eight M/M/1 queues. SE 0.42% (at most 0.48% over
    // 12 seeds; at 0.8 up to 0.62%, too near a third of 2%).
    let c = with(8, 0.75, Discipline::Fcfs, "exp:1ms");
    let (m, mean) = check_2m(&c, "random", "M/M/1", "random, 8 workers, load 0.75", 0.02, 3.0);
    // The textbook: 1 / (1 - rho) and p99 ln(100) / (1 - rho).
    assert!(close(mean, 4.0, 1e-9) && close(m.p99, 100f64.ln() * 4.0, 0.03), "{}", m.p99);
}

#[test]
fn pollaczek_khinchine_at_2m_requests() {
    // One FCFS worker. Uniform sizes (lbsim's discrete uniform) at load 0.7: SE 0.30%;
    // lognormal, sigma 1 (E[S^2] = e E[S]^2) at load 0.5: SE 0.42% (0.69% at 0.7, too wide).
    for (service, rho) in [("uniform:0ms..2ms", 0.7), ("lognormal:1ms,sigma=1", 0.5)] {
        let c = with(1, rho, Discipline::Fcfs, service);
        check_2m(&c, "least-loaded", "M/G/1 (Pollaczek-Khinchine)", service, 0.02, 3.0);
    }
}

#[test]
fn erlang_c_at_2m_requests() {
    // least-work-left over 16 workers at load 0.8 is one central queue, M/M/16. At load 0.9
    // the SE is 0.8% (the mean wait is a small, noisy part of the time), too wide for 2%;
    // at 0.8 it is 0.19%. (least_work_left_is_one_central_queue_mmn holds load 0.9 to the
    // textbook's 1.3696 on one seed.)
    let c = with(16, 0.8, Discipline::Fcfs, "exp:1ms");
    let scenario = "least-work-left, 16 workers, load 0.8";
    let (_, mean) = check_2m(&c, "least-work-left", "M/M/c (Erlang C)", scenario, 0.02, 3.0);
    assert!(close(mean, mmn_mean(16, 0.8), 1e-9), "{mean}");
    // One worker with 4 slots at load 0.8: M/M/4. SE 0.48%.
    let mut c = with(1, 3.2, Discipline::Fcfs, "exp:1ms");
    c.workers[0].concurrency = 4;
    check_2m(&c, "random", "M/M/c (Erlang C)", "one worker, 4 slots, load 0.8", 0.02, 3.0);
}

#[test]
fn erlang_arrivals_at_2m_requests() {
    // round-robin over 4 workers at load 0.75: each sees every 4th Poisson arrival, E_4/M/1.
    // SE 0.43% (0.59% at 0.8).
    let c = with(4, 0.75, Discipline::Fcfs, "exp:1ms");
    check_2m(&c, "round-robin", "E_k/M/1 (GI/M/1)", "round-robin, 4 workers, load 0.75", 0.02, 3.0);
}

#[test]
fn supermarket_limit_at_2m_requests() {
    // power-of-two over 100 workers at load 0.9, against the mean-field limit (workers ->
    // infinity): a limit, which finite clusters sit slightly above (about 1.3% here), so the
    // check is one-sided: at most 2% above, and not below by more than 3 SEs. SE 0.41%. A
    // short warm-up: at this load a queue of the 100 forgets its start within milliseconds.
    let mut c = with(100, 0.9, Discipline::Fcfs, "exp:1ms");
    c.warmup = 200 * lbsim::time::MILLIS;
    let (m, limit) = check_2m(
        &c,
        "power-of-two",
        "supermarket model, mean-field limit (d=2)",
        "power-of-two, 100 workers, load 0.9",
        0.02,
        3.0,
    );
    assert!(m.mean > limit * (1.0 - 3.0 * m.rel_se), "{} below the limit {limit}", m.mean);
}

#[test]
fn closed_loops_at_2m_requests() {
    // 10 clients thinking 5 ms (mean) before each request to one 1 ms worker: M/M/1//K, and
    // the same mean for constant think times (insensitivity). SE 0.15%, 0.13%.
    for think in ["exp:5ms", "const:5ms"] {
        let mut c = with(1, 0.5, Discipline::Fcfs, "exp:1ms");
        c.arrivals = lbsim::engine::Arrivals::Closed { clients: 10, think: think.parse().unwrap() };
        let scenario = format!("10 clients, think {think}");
        check_2m(&c, "random", "M/M/1//K (machine repairman)", &scenario, 0.02, 3.0);
    }
    // 24 clients thinking 3 ms over 4 workers picked at random: mean value analysis. SE 0.14%.
    let mut c = with(4, 0.5, Discipline::Fcfs, "exp:1ms");
    c.arrivals = lbsim::engine::Arrivals::Closed { clients: 24, think: "exp:3ms".parse().unwrap() };
    check_2m(&c, "random", "closed network (mean value analysis)", "24 clients, 4 workers", 0.02, 3.0);
}

/// Exponential, deterministic and Pareto (alpha 2.5: finite variance) sizes of mean 1 ms.
const SAME_MEAN: [&str; 3] = ["exp:1ms", "const:1ms", "pareto:1ms,alpha=2.5"];

#[test]
fn processor_sharing_is_insensitive_at_2m_requests() {
    // One worker at load 0.7: under PS every law of sizes gives E[S] / (1 - rho) = 3.33 ms.
    // SE 0.41% (exp), 0.27% (const), 0.37% (Pareto 2.5).
    let rho = 0.7;
    for service in SAME_MEAN {
        let c = with(1, rho, Discipline::Ps, service);
        let (m, mean) = check_2m(&c, "random", "M/G/1-PS", service, 0.02, 3.0);
        assert!(close(mean, 1.0 / (1.0 - rho), 1e-9) && close(m.mean, 1.0 / (1.0 - rho), 0.02));
    }
}

#[test]
fn fcfs_differs_as_pollaczek_khinchine_says_at_2m_requests() {
    // The same sizes under FCFS: E[S] + rho E[S^2] / (2 E[S] (1 - rho)), so deterministic
    // (E[S^2] = 1: 2.17 ms) < Pareto 2.5 (E[S^2] = 1.8: 3.1 ms) < exponential (E[S^2] = 2:
    // 3.33 ms). Exponential and deterministic are held to 2% (SE 0.39%, 0.21%). Pareto with
    // alpha 2.5 has E[S^3] infinite, so the waiting time has infinite variance and its sample
    // mean settles slowly, below the truth more often than above (rare huge jobs): held to
    // 8%, no SE claimed (batch means understate it): over 12 seeds (3 sets of 4) it came
    // -2.7%, -0.7% and +3.7%. Each is well apart from the others.
    let rho = 0.7;
    let mut means = Vec::new();
    for (service, formula, tol, min_ses) in [
        ("const:1ms", "M/G/1 (Pollaczek-Khinchine)", 0.02, 3.0),
        ("pareto:1ms,alpha=2.5", "M/G/1 (Pollaczek-Khinchine)", 0.08, 0.0),
        ("exp:1ms", "M/M/1", 0.02, 3.0),
    ] {
        let c = with(1, rho, Discipline::Fcfs, service);
        let (m, mean) = check_2m(&c, "random", formula, service, tol, min_ses);
        let second = lbsim::theory::law::SizeLaw::new(&c.service, 1.0).unwrap().second_moment() / UNIT / UNIT;
        assert!(close(mean, 1.0 + rho * second / (2.0 * (1.0 - rho)), 1e-6), "{service}: {mean}");
        means.push(m.mean);
    }
    assert!(means[0] < 0.8 * means[1] && means[1] < 0.97 * means[2], "{means:?}");
}

#[test]
fn processor_sharing_under_infinite_variance() {
    // Pareto with alpha 1.5 has infinite variance, and so has a request's time under PS (at
    // least its size): the sample mean converges as n^(-1/3), not n^(-1/2), and no 2% can be
    // promised at 2M requests (one request of 30,000 E[S], which comes about once in 14 such
    // runs, moves the mean by 1.5%). The tightest honest check: the mean within 8% of E[S] /
    // (1 - rho) at load 0.5 (over 3 sets of 4 seeds: -0.4%, +0.4%, +3.1%; batch means claim
    // an SE of 1.3% to 2.7%, which understates it).
    let c = with(1, 0.5, Discipline::Ps, "pareto:1ms,alpha=1.5");
    check_2m(&c, "random", "M/G/1-PS", "pareto:1ms,alpha=1.5", 0.08, 0.0);
}

#[test]
fn preemptive_lcfs_at_2m_requests() {
    // Lognormal sizes (sigma 1) at load 0.6: E[S] / (1 - rho) as PS. SE 0.33%. (An
    // LCFS-PR request's time is a busy period: a tail far longer than PS's, p99 28.7 ms.)
    let c = with(1, 0.6, Discipline::LcfsPr, "lognormal:1ms,sigma=1");
    check_2m(&c, "random", "M/G/1-LCFS-PR", "lognormal sigma 1, load 0.6", 0.02, 3.0);
}

#[test]
fn srpt_at_2m_requests() {
    // Exponential sizes at load 0.8, where Schrage and Miller's integral is 2.352773 E[S]
    // (computed outside lbsim by a plain trapezoid): SE 0.41%. Lognormal (sigma 1) at 0.7:
    // SE 0.28%.
    let c = with(1, 0.8, Discipline::Srpt, "exp:1ms");
    let (_, mean) = check_2m(&c, "random", "M/G/1-SRPT", "exp, load 0.8", 0.02, 3.0);
    assert!(close(mean, 2.352_773, 1e-5), "{mean}");
    let c = with(1, 0.7, Discipline::Srpt, "lognormal:1ms,sigma=1");
    check_2m(&c, "random", "M/G/1-SRPT", "lognormal sigma 1, load 0.7", 0.02, 3.0);
}

#[test]
fn sita_at_2m_requests() {
    // SITA-E over 4 FCFS workers, lognormal sizes (sigma 1) at load 0.7: four M/G/1 queues of
    // equal load. SE 0.42%.
    let c = with(4, 0.7, Discipline::Fcfs, "lognormal:1ms,sigma=1");
    check_2m(&c, "sita-e", "SITA (M/G/1 per size class)", "sita-e, 4 workers, lognormal", 0.02, 3.0);
    // SITA with one cutoff at 1 ms over 2 workers, exponential sizes at load 0.5: the worker
    // of the small requests runs at load 0.26, that of the large ones at 0.74. SE 0.49%.
    let mut c = with(2, 0.5, Discipline::Fcfs, "exp:1ms");
    c.strategy_params.cutoffs = vec![lbsim::time::MILLIS];
    check_2m(&c, "sita", "SITA (M/G/1 per size class)", "sita, cutoff 1 ms, 2 workers, exp", 0.02, 3.0);
}
