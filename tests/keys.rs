//! Keyed requests (issue 11): keys come from their own stream, caches reward affinity,
//! hashing strategies keep keys on their workers, bounded-hash keeps the tail, and keys
//! remapped by crashes are counted.

mod common;

use common::*;
use lbsim::engine::{ScheduledCrash, Sim, SimConfig, Stop};
use lbsim::keys::{Cache, Keys, Popularity};
use lbsim::report::Report;
use lbsim::strategy::{self, STRATEGIES};
use lbsim::time::{MILLIS, SECS};

fn keyed(config: &mut SimConfig, count: u64, popularity: Popularity, cache: Option<Cache>) {
    config.keys = Some(Keys { count, popularity, cache });
}

#[test]
fn keys_never_move_the_workload_and_key_blind_strategies_ignore_them() {
    let config = mm_config(8, 0.8, 8_000, 2);
    let reference = workload(&config, "random");
    let mut with_keys = config.clone();
    keyed(&mut with_keys, 1_000, Popularity::Zipf(1.0), Some(Cache { size: 50, hit_speedup: 3.0 }));
    for info in STRATEGIES {
        assert!(workload(&with_keys, info.name) == reference, "{} saw another workload", info.name);
    }
    // Without a cache, a strategy that does not read keys does exactly what it did without.
    let mut no_cache = config.clone();
    keyed(&mut no_cache, 1_000, Popularity::Zipf(1.0), None);
    for name in ["round-robin", "random", "least-loaded", "power-of-two", "weighted-round-robin", "peak-ewma"]
    {
        let (a, b) = (report(&config, name), report(&no_cache, name));
        assert_eq!((a.latency_ms, a.workers), (b.latency_ms, b.workers), "{name}");
    }
}

fn hot_keys(cache: bool) -> SimConfig {
    let mut c = mm_config(10, 0.6, 40_000, 1);
    c.warmup = SECS;
    let cache = cache.then_some(Cache { size: 200, hit_speedup: 5.0 });
    keyed(&mut c, 10_000, Popularity::Zipf(1.1), cache);
    c
}

#[test]
fn hot_keys_overload_ring_hash_and_bounded_hash_keeps_the_tail() {
    // Zipf 1.1 over 10,000 keys: the hottest key alone is about 11% of the requests, so its
    // worker on the ring gets about twice its share, beyond its capacity at 60% load.
    let c = hot_keys(false);
    let (ring, maglev, bounded) = (report(&c, "ring-hash"), report(&c, "maglev"), report(&c, "bounded-hash"));
    for hashed in [&ring, &maglev] {
        assert!(
            hashed.latency_ms.p99 > 10.0 * bounded.latency_ms.p99,
            "{}: p99 {} vs bounded-hash {}",
            hashed.strategy,
            hashed.latency_ms.p99,
            bounded.latency_ms.p99
        );
        assert!(hashed.fairness_jain.unwrap() < 0.9, "{:?}", hashed.fairness_jain);
    }
    assert!(bounded.fairness_jain.unwrap() > 0.97, "{:?}", bounded.fairness_jain);
}

/// A hit rate and its binomial standard error.
fn hits(r: &Report) -> (f64, f64) {
    let k = r.keys.as_ref().unwrap();
    let n = (k.cache_hits + k.cache_misses) as f64;
    let p = k.cache_hit_rate.unwrap();
    (p, (p * (1.0 - p) / n).sqrt())
}

#[test]
fn affinity_pays_in_cache_hits_and_bounded_hash_keeps_most_of_them() {
    let c = hot_keys(true);
    let (ring, bounded, least) =
        (report(&c, "ring-hash"), report(&c, "bounded-hash"), report(&c, "least-loaded"));
    let ((pr, sr), (pb, sb), (pl, sl)) = (hits(&ring), hits(&bounded), hits(&least));
    // Measured: 84% for ring-hash, 77% for bounded-hash, 61% for least-loaded (which hits
    // only by the popularity of the hot keys). Differences of more than 6 standard errors.
    let apart = |a: f64, sa: f64, b: f64, sb: f64| (a - b) / (sa * sa + sb * sb).sqrt();
    assert!(apart(pr, sr, pl, sl) > 6.0, "ring {pr} vs least-loaded {pl}");
    assert!(apart(pb, sb, pl, sl) > 6.0, "bounded {pb} vs least-loaded {pl}");
    assert!(pb > 0.85 * pr, "bounded-hash keeps most of ring-hash's hits: {pb} vs {pr}");
    assert!(bounded.latency_ms.mean < least.latency_ms.mean, "the hits make it faster than least-loaded");
}

#[test]
fn a_crash_remaps_about_one_nth_of_the_keys_and_says_so() {
    let mut c = mm_config(10, 0.5, 20_000, 3);
    c.warmup = 0;
    keyed(&mut c, 10_000, Popularity::Uniform, None);
    c.faults.crashes = vec![ScheduledCrash { worker: 3, at: SECS, duration: 500 * MILLIS }];
    for name in ["ring-hash", "maglev", "bounded-hash"] {
        let s = strategy::build(name, &c.strategy_params).unwrap();
        let mut sim = Sim::new(c.clone(), s).unwrap();
        sim.run();
        let k = sim.metrics().keys;
        // Worker 3 leaves and comes back: two changes, each about a tenth of the keys (ring
        // arcs of 1,024 points vary by about 3%; Maglev moves a little more than 1/N).
        assert_eq!(k.remaps, 2, "{name}");
        assert!((1_800.0..2_600.0).contains(&k.remapped), "{name}: {}", k.remapped);
        let notices: Vec<String> = sim.take_notices().into_iter().map(|n| n.text).collect();
        assert!(
            notices
                .iter()
                .any(|t| t.starts_with(&format!("{name} remapped "))
                    && t.contains("of 10000) to other workers")),
            "{notices:?}"
        );
        let r = Report::new(&sim, "test", 0.0);
        assert_eq!(r.keys.as_ref().unwrap().remaps, 2);
    }
}

#[test]
fn keyed_runs_conserve_and_repeat_with_every_strategy_and_replicas() {
    let mut c = mm_config(6, 0.8, 5_000, 9);
    keyed(&mut c, 300, Popularity::Zipf(0.8), Some(Cache { size: 20, hit_speedup: 2.0 }));
    c.defences.balancers.count = 3;
    c.defences.balancers.assignment = lbsim::engine::Assignment::Hash;
    c.faults.crashes = vec![ScheduledCrash { worker: 1, at: 2_500 * MILLIS, duration: SECS }];
    c.stop = Stop::Requests(5_000);
    for info in STRATEGIES {
        let (a, b) = (report(&c, info.name), report(&c, info.name));
        assert_eq!(a, b, "{}", info.name);
        assert!(a.requests.sent == 5_000 && a.requests.in_flight == 0, "{}", info.name);
        let k = a.keys.as_ref().unwrap();
        assert!(k.cache_hits + k.cache_misses >= a.requests.completed, "{}", info.name);
    }
}
