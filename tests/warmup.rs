//! `--warmup auto` (MSER-5) on runs started empty at 95% load, against a long fixed warm-up.

mod common;

use std::sync::atomic::AtomicBool;

use common::*;
use lbsim::sweep::warmup::find_cut;
use lbsim::time::SECS;

/// Random over 64 workers: 64 M/M/1 queues at 0.95 (mean sojourn 20 service times), started
/// empty. Each queue takes about 1 / (1 - sqrt(0.95))^2 = 1,500 service times (1.5 s here)
/// to fill, so the first seconds of completions are faster than the steady state.
#[test]
fn mser5_cuts_part_of_the_transient_of_a_run_started_empty_at_load_0_95() {
    let never = AtomicBool::new(false);
    let (mut none, mut auto, mut fixed) = (0.0, 0.0, 0.0);
    let seeds = [1, 2, 3, 4, 5];
    for seed in seeds {
        let mut config = mm_config(64, 0.95, 300_000, seed);
        config.warmup = 0;
        let cut = find_cut(&config, "random", &never).unwrap().unwrap();
        let m_none = mean_sojourn(&run(&config, "random"));
        config.warmup = cut.time;
        let m_auto = mean_sojourn(&run(&config, "random"));
        config.warmup = 20 * SECS;
        let m_fixed = mean_sojourn(&run(&config, "random"));
        eprintln!(
            "seed {seed}: cut {:.3}s ({} of {} completions); mean without warm-up {m_none:.2}, after the cut {m_auto:.2}, after a fixed 20s {m_fixed:.2}",
            cut.time as f64 / SECS as f64,
            cut.discarded,
            cut.completions
        );
        // Something is cut, and what is cut is the fast start: the mean rises.
        assert!(cut.time > 0 && cut.discarded > 0, "seed {seed}: nothing cut");
        assert!(cut.discarded <= cut.completions / 2);
        assert!(m_auto > m_none, "seed {seed}: the cut did not remove the fast start");
        (none, auto, fixed) = (none + m_none, auto + m_auto, fixed + m_fixed);
    }
    let n = seeds.len() as f64;
    let (none, auto, fixed) = (none / n, auto / n, fixed / n);
    eprintln!("over {n} seeds: without warm-up {none:.2}, auto {auto:.2}, fixed 20s {fixed:.2}, M/M/1 20");
    // Closer to the long warm-up's figure than no warm-up at all.
    assert!((auto - fixed).abs() < (none - fixed).abs(), "auto {auto}, none {none}, fixed {fixed}");
}

#[test]
fn run_reports_the_cut_and_uses_it() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .args([
            "run",
            "--scenario",
            "identical-workers",
            "--load",
            "0.95",
            "--warmup",
            "auto",
            "--requests",
            "50000",
        ])
        .args(["--strategy", "random", "--format", "json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("--warmup auto (MSER-5") && err.contains("completions"), "{err}");
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let warmup = report["sim_time_s"].as_f64().unwrap() - report["measured_time_s"].as_f64().unwrap();
    assert!(warmup > 0.0, "{report}");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .args(["run", "--warmup", "auto", "--engine", "live", "--headless"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--warmup auto"));
}
