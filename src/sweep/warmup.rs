//! `--warmup auto`: the initial transient found by MSER-5 and cut off.
//!
//! A pilot run of the same configuration without warm-up records the end-to-end latency of
//! every completion, in completion order, as batch means of 5 (so memory is a fifth of a
//! value per request, not a histogram per time slot). MSER-5 picks how many leading batches
//! to discard; the cut is the virtual time of the last discarded completion. The real run
//! then uses that time as its warm-up: the engine is deterministic and its random streams do
//! not depend on the warm-up, so it replays the pilot's trajectory and measures only what
//! came after the cut.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::engine::{Sim, SimConfig, StepKind};
use crate::strategy;
use crate::time::Nanos;

pub use crate::scenario::Warmup;

/// Where MSER-5 cut a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cut {
    /// The warm-up to use: the virtual time of the last discarded completion (0: none).
    pub time: Nanos,
    /// Completions discarded.
    pub discarded: u64,
    /// Completions in the pilot run.
    pub completions: u64,
}

/// Runs `config` (its own warm-up ignored) under `strategy` as a pilot and returns the
/// MSER-5 cut. `stop` abandons the pilot (then `None`).
pub fn find_cut(config: &SimConfig, strategy: &str, stop: &AtomicBool) -> Result<Option<Cut>, String> {
    let mut pilot = config.clone();
    pilot.warmup = 0;
    let s = strategy::build(strategy, &pilot.strategy_params).map_err(|e| e.to_string())?;
    let mut sim = Sim::new(pilot, s).map_err(|e| e.to_string())?;
    let mut batch_means = Vec::new();
    let mut batch_ends: Vec<Nanos> = Vec::new();
    let (mut sum, mut in_batch, mut completions) = (0.0, 0, 0u64);
    let mut steps = 0u32;
    while let Some(step) = sim.step() {
        if let StepKind::Completion { latency, .. } = step.kind {
            sum += latency as f64;
            in_batch += 1;
            completions += 1;
            if in_batch == 5 {
                batch_means.push(sum / 5.0);
                batch_ends.push(step.time);
                (sum, in_batch) = (0.0, 0);
            }
        }
        steps = steps.wrapping_add(1);
        if steps.is_multiple_of(65_536) && stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
    }
    let d = crate::stats::mser_batches(&batch_means);
    let time = if d == 0 { 0 } else { batch_ends[d - 1] };
    Ok(Some(Cut { time, discarded: 5 * d as u64, completions }))
}

/// The line `run` and `compare` print on stderr about the cut.
pub fn describe(cut: &Cut, strategy: &str) -> String {
    format!(
        "--warmup auto (MSER-5 on batch means of latency): cut the first {} of virtual time ({} of {} completions of {strategy}'s pilot run)",
        crate::time::Human(cut.time),
        cut.discarded,
        cut.completions
    )
}

/// `--warmup auto` for `run` and `compare`: a pilot run per strategy, and the longest cut
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
