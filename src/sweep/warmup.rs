//! `--warmup auto`: the initial transient found by MSER-5 on pilot runs, and cut off.
//!
//! The cut must not be chosen on the data it then measures: MSER picks the truncation point
//! that makes the remaining mean look steadiest, so on the measured run itself it tends to
//! cut just after a chance spike of latency and biases the mean down (issue 20: -6.7% and
//! 70% interval coverage at load 0.95). So the cut comes from [`PILOTS`] pilot runs of the
//! same configuration without warm-up, on seeds derived from the run's seed but never used
//! by a measured run (see [`pilot_seed`]). Each pilot records the end-to-end latency of
//! every completion, in completion order, as batch means of 5 (memory is a fifth of a value
//! per request). MSER-5 runs on the mean trajectory across the pilots (batch j averaged over
//! them), where the transient stands out of noise that averaging has shrunk; the cut is the
//! mean, over the pilots, of the virtual time of the last discarded completion. The measured
//! run then excludes the virtual time up to the cut: its own noise played no part in it.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::engine::{Sim, SimConfig, StepKind};
use crate::strategy;
use crate::time::Nanos;

pub use crate::scenario::Warmup;

/// Pilot runs per cut.
pub const PILOTS: u64 = 4;

/// Where MSER-5 cut a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cut {
    /// The warm-up to use: the mean over the pilots of the virtual time of their last
    /// discarded completion (0: none).
    pub time: Nanos,
    /// Completions discarded in each pilot.
    pub discarded: u64,
    /// Completions in the shortest pilot run.
    pub completions: u64,
}

/// The seed of pilot `k` of a run with seed `seed`: a SplitMix64 mix of both, so that pilots
/// neither share a seed with their run nor (but by a 2^-64 chance) with the run of any other
/// seed, such as the neighbouring replications of a sweep (seeds `base + r`).
pub fn pilot_seed(seed: u64, k: u64) -> u64 {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    mix(mix(seed ^ 0x7069_6c6f_7420_7275) ^ k)
}

/// One pilot: the batch means of 5 of its latencies in completion order, the virtual time
/// of each batch's last completion, and its completions; `None` if stopped.
type Trajectory = (Vec<f64>, Vec<Nanos>, u64);

fn trajectory(config: &SimConfig, strategy: &str, stop: &AtomicBool) -> Result<Option<Trajectory>, String> {
    let s = strategy::build(strategy, &config.strategy_params).map_err(|e| e.to_string())?;
    let mut sim = Sim::new(config.clone(), s).map_err(|e| e.to_string())?;
    let (mut means, mut ends) = (Vec::new(), Vec::new());
    let (mut sum, mut in_batch, mut completions) = (0.0, 0, 0u64);
    let mut steps = 0u32;
    while let Some(step) = sim.step() {
        if let StepKind::Completion { latency, .. } = step.kind {
            sum += latency as f64;
            in_batch += 1;
            completions += 1;
            if in_batch == 5 {
                means.push(sum / 5.0);
                ends.push(step.time);
                (sum, in_batch) = (0.0, 0);
            }
        }
        steps = steps.wrapping_add(1);
        if steps.is_multiple_of(65_536) && stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
    }
    Ok(Some((means, ends, completions)))
}

/// The MSER-5 cut of `config` (its own warm-up ignored) under `strategy`, from pilot runs
/// with the given seeds: MSER on the batch means averaged across the pilots (by batch index,
/// up to the shortest pilot). `stop` abandons the pilots (then `None`).
pub fn cut_from_pilots(
    config: &SimConfig,
    strategy: &str,
    seeds: &[u64],
    stop: &AtomicBool,
) -> Result<Option<Cut>, String> {
    let mut runs = Vec::new();
    for &seed in seeds {
        let mut pilot = config.clone();
        (pilot.seed, pilot.warmup) = (seed, 0);
        match trajectory(&pilot, strategy, stop)? {
            Some(t) => runs.push(t),
            None => return Ok(None),
        }
    }
    let batches = runs.iter().map(|r| r.0.len()).min().unwrap_or(0);
    let n = runs.len() as f64;
    let average: Vec<f64> = (0..batches).map(|j| runs.iter().map(|r| r.0[j]).sum::<f64>() / n).collect();
    let d = crate::stats::mser_batches(&average);
    let time =
        if d == 0 { 0 } else { (runs.iter().map(|r| r.1[d - 1] as f64).sum::<f64>() / n).round() as Nanos };
    let completions = runs.iter().map(|r| r.2).min().unwrap_or(0);
    Ok(Some(Cut { time, discarded: 5 * d as u64, completions }))
}

/// The MSER-5 cut for a run of `config` under `strategy`, from [`PILOTS`] pilot runs on
/// [`pilot_seed`]s of its seed, never on the run's own data. `stop` abandons the pilots
/// (then `None`).
pub fn find_cut(config: &SimConfig, strategy: &str, stop: &AtomicBool) -> Result<Option<Cut>, String> {
    let seeds: Vec<u64> = (0..PILOTS).map(|k| pilot_seed(config.seed, k)).collect();
    cut_from_pilots(config, strategy, &seeds, stop)
}

/// The line `run` and `compare` print on stderr about the cut.
pub fn describe(cut: &Cut, strategy: &str) -> String {
    format!(
        "--warmup auto (MSER-5 on batch means of latency, averaged over {PILOTS} pilot runs on seeds of their own): cut the first {} of virtual time ({} of {} completions of each of {strategy}'s pilot runs)",
        crate::time::Human(cut.time),
        cut.discarded,
        cut.completions
    )
}

/// `--warmup auto` for `run` and `compare`: [`PILOTS`] pilot runs per strategy, and the longest cut
/// for all (so that compared strategies share one measurement window), said on stderr.
/// Nothing happens for a fixed warm-up.
pub fn apply(
    warmup: Option<Warmup>,
    engine: Option<crate::engines::EngineKind>,
    scenario: &mut crate::scenario::Scenario,
    strategies: &[String],
) -> Result<(), String> {
    if warmup != Some(Warmup::Auto) {
        return Ok(());
    }
    if engine == Some(crate::engines::EngineKind::Live) {
        return Err(
            "--warmup auto needs a pilot run of the model: use --engine sim, or a fixed --warmup TIME".into(),
        );
    }
    let config = scenario.to_config().map_err(|e| e.to_string())?;
    let never = AtomicBool::new(false);
    let mut longest: Option<(Cut, &str)> = None;
    for name in strategies {
        let cut = find_cut(&config, name, &never)?.expect("the pilot is never stopped");
        if longest.is_none_or(|(l, _)| cut.time > l.time) {
            longest = Some((cut, name));
        }
    }
    if let Some((cut, name)) = longest {
        scenario.warmup = cut.time;
        crate::output::error_line(&describe(&cut, name));
    }
    Ok(())
}
