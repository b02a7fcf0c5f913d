//! Moving through time in the UI (issue 13): left / right seek 5 virtual seconds back or
//! forward, `{` / `}` one second, `g` to a typed time. Forward runs on; back runs again from
//! the latest checkpoint before the target (a copy of every pane taken every
//! [`CHECKPOINT_EVENTS`] events as the run goes, as the engine's `Seeker` does, at most
//! [`MAX_CHECKPOINTS`] thinned by halves; from the start when there is none) with the
//! commands recorded since replayed at their exact moments ([`crate::session::reach`]), so
//! the state is what it was. Commands recorded after the target are dropped with the future
//! they belonged to. The model only: a live run cannot go back.

use std::collections::VecDeque;

use super::{App, Pane, Sample};
use crate::engine::Sim;
use crate::engines::EngineKind;
use crate::session::{CHECKPOINT_EVENTS, Entry, MAX_CHECKPOINTS, reach};
use crate::time::{Human, Nanos};

impl App {
    /// Moves the run to virtual time `target`: forward runs on; back runs again from the latest
    /// checkpoint before it (or the start) with the commands recorded before `target` replayed
    /// exactly, and drops those after it.
    pub fn seek_to(&mut self, target: Nanos) {
        if self.engine != EngineKind::Sim {
            self.log("seeking needs the model: a live run cannot go back in time".to_string());
            return;
        }
        if target >= self.clock {
            self.advance_to(target, None);
            self.collect_notices();
            return;
        }
        // A window that ends after the target belonged to the future being dropped.
        let end = self.window.as_ref().map(|w| match w.bounds() {
            (from, None) => from,
            (_, Some(to)) => to,
        });
        if end.is_some_and(|end| target < end) {
            self.window = None;
            self.log("window cleared: it lay after the time sought".to_string());
        }
        match self.run_again_to(target) {
            Ok(resumed) => {
                let from = match resumed {
                    0 => "re-run from the start".to_string(),
                    t => format!("re-run from the checkpoint at {}", Human(t)),
                };
                self.log(format!("back to {} ({from}; commands after it dropped)", Human(target)))
            }
            Err(e) => self.log(format!("cannot go back: {e}")),
        }
    }

    /// Seeks `delta` virtual nanoseconds back (negative) or forward from now.
    pub fn seek_by(&mut self, delta: i64) {
        let target = if delta < 0 {
            self.clock.saturating_sub(delta.unsigned_abs())
        } else {
            self.clock + delta as Nanos
        };
        self.seek_to(target);
    }

    /// Returns the time it resumed from (0: the start).
    fn run_again_to(&mut self, target: Nanos) -> Result<Nanos, String> {
        let keep: Vec<Entry> =
            self.recorder.entries.iter().take_while(|e| first(e) <= target).cloned().collect();
        // Replaying a session, the commands after the target are still to come.
        if self.replaying {
            let later = self.recorder.entries[keep.len()..].iter().rev().cloned();
            for entry in later {
                self.playback.push_front(entry);
            }
        }
        // Checkpoints after the one resumed from belong to the future being dropped.
        let from = self.resume_from(target, &keep);
        self.checkpoints.list.truncate(from.map_or(0, |i| i + 1));
        let (panes, at) = self.starting_panes(from)?;
        // The chart's points up to the target are those drawn the first time (the run is
        // the same): keep them rather than the coarser ones of a re-run.
        let trends: Vec<Vec<Sample>> = self
            .panes
            .iter_mut()
            .map(|p| std::mem::take(&mut p.trend).into_iter().take_while(|s| s.at <= target).collect())
            .collect();
        self.panes = panes;
        self.clock = at;
        self.next_sample =
            from.map_or_else(|| self.sample_period(), |i| self.checkpoints.list[i].next_sample);
        let resumed = self.clock;
        // Only the last HISTORY samples before the target stay in the sparklines (one more for
        // the alignment of sampling times): those before are evicted unseen.
        let shown = (super::HISTORY as u64 + 2).saturating_mul(self.sample_period());
        self.quiet_until = target.saturating_sub(shown);
        for entry in keep.iter().filter(|e| first(e) >= resumed) {
            // Every event before the entry's instant had been processed when it was applied;
            // of its instant, exactly as many as its points say.
            self.advance_plain(first(entry).saturating_sub(1), None);
            self.apply_entry(entry)?;
        }
        self.recorder.entries = keep;
        self.advance_to(target, None);
        for (pane, trend) in self.panes.iter_mut().zip(trends) {
            pane.trend = trend;
        }
        // What happened on the way was shown the first time.
        for pane in &mut self.panes {
            pane.sim.take_notices();
        }
        self.quiet_until = 0;
        self.keep_selection_valid();
        Ok(resumed)
    }
}

/// Every pane as it was at `at`.
pub(super) struct Checkpoint {
    at: Nanos,
    next_sample: Nanos,
    /// Events of the first pane when it was taken.
    events: u64,
    panes: Vec<PaneCopy>,
}

/// A pane's run and sparkline history, copied.
struct PaneCopy {
    sim: Sim,
    history: VecDeque<Sample>,
    last_completions: u64,
}

impl PaneCopy {
    fn restore(&self) -> Pane {
        let sim = self.sim.checkpoint().expect("a checkpoint copies again as it copied once");
        let (history, last_completions) = (self.history.clone(), self.last_completions);
        Pane { sim: Box::new(sim), history, trend: Vec::new(), last_completions }
    }
}

/// The checkpoints of a run, oldest first, and the events between two of them now.
pub(super) struct Checkpoints {
    list: Vec<Checkpoint>,
    /// [`CHECKPOINT_EVENTS`], doubled at each thinning.
    spacing: u64,
}

impl Default for Checkpoints {
    fn default() -> Checkpoints {
        Checkpoints { list: Vec::new(), spacing: CHECKPOINT_EVENTS }
    }
}

impl App {
    /// Takes a checkpoint when the first pane has processed enough events since the last one
    /// (the model only, and only when every strategy can copy itself).
    pub(super) fn checkpoint_if_due(&mut self) {
        if self.engine != EngineKind::Sim {
            return;
        }
        let ck = &mut self.checkpoints;
        let Some(first) = self.panes.first_mut().and_then(|p| p.sim.as_sim_mut()) else { return };
        let events = first.events_processed();
        if events < ck.list.last().map_or(0, |c| c.events) + ck.spacing {
            return;
        }
        let mut panes = Vec::with_capacity(self.panes.len());
        for pane in &mut self.panes {
            let Some(sim) = pane.sim.as_sim_mut().and_then(|s| s.checkpoint()) else { return };
            panes.push(PaneCopy {
                sim,
                history: pane.history.clone(),
                last_completions: pane.last_completions,
            });
        }
        if ck.list.len() >= MAX_CHECKPOINTS {
            // Keep every other one: the spacing doubles.
            let mut i = 0;
            ck.list.retain(|_| {
                i += 1;
                i % 2 == 0
            });
            ck.spacing *= 2;
        }
        ck.list.push(Checkpoint { at: self.clock, next_sample: self.next_sample, events, panes });
    }

    /// How many checkpoints the run keeps now.
    pub fn checkpoint_count(&self) -> usize {
        self.checkpoints.list.len()
    }
}

/// The earliest moment of a recorded command (of any pane).
pub(super) fn first(e: &Entry) -> Nanos {
    e.at.iter().map(|p| p.time_ns).min().unwrap_or(0)
}

/// Applies a recorded command to `panes` at exactly its moment (each is at most just before
/// it).
fn apply_to(
    panes: &mut [Pane],
    entry: &Entry,
    params: &crate::strategy::StrategyParams,
) -> Result<(), String> {
    for (pane, &point) in panes.iter_mut().zip(&entry.at) {
        let sim = pane.sim.as_sim_mut().ok_or("not the model")?;
        reach(sim, point)?;
        // Refused then (recorded as pressed), refused again now.
        let _ = sim.apply(entry.action.command(params)?);
    }
    Ok(())
}

impl App {
    /// The latest checkpoint from which `target` can be reached with `entries` (the commands
    /// up to it): before the target, and at no command's instant (its events at that instant
    /// might already be past the command's).
    fn resume_from(&self, target: Nanos, entries: &[Entry]) -> Option<usize> {
        let usable = |c: &Checkpoint| c.at < target && !entries.iter().any(|e| first(e) == c.at);
        self.checkpoints.list.iter().rposition(usable)
    }

    /// Fresh panes at checkpoint `from` (or at the start), and their time.
    fn starting_panes(&self, from: Option<usize>) -> Result<(Vec<Pane>, Nanos), String> {
        match from.map(|i| &self.checkpoints.list[i]) {
            Some(c) => Ok((c.panes.iter().map(PaneCopy::restore).collect(), c.at)),
            None => {
                let names = &self.recorder.strategies;
                Ok((App::make_panes(self.engine, &self.config, &self.scenario.live, names)?, 0))
            }
        }
    }

    /// Applies a recorded command at exactly its moment in every pane (the clock is just
    /// before it).
    fn apply_entry(&mut self, entry: &Entry) -> Result<(), String> {
        apply_to(&mut self.panes, entry, &self.config.strategy_params)?;
        self.clock = first(entry);
        Ok(())
    }

    /// A command of the session being replayed: applied, recorded and logged.
    pub(super) fn replay_entry(&mut self, entry: &Entry) -> Result<(), String> {
        let what = entry.action.command(&self.config.strategy_params)?.describe();
        self.apply_entry(entry)?;
        if let crate::session::Action::Rate { rate } = entry.action {
            // `[` and `]` go on from the replayed rate.
            self.nominal_rate = Some(rate);
        }
        self.recorder.entries.push(entry.clone());
        self.log_event(format!("replay: {what}"));
        self.collect_notices();
        Ok(())
    }
}

impl App {
    /// Each pane's whole-run latencies as they were at `t` (now or earlier), re-simulated
    /// from the latest checkpoint before it with the recorded commands, without touching the
    /// runs on screen.
    pub(super) fn latencies_at(&self, t: Nanos) -> Result<Vec<crate::metrics::Recorder>, String> {
        if t >= self.clock {
            return Ok(self.latencies());
        }
        let n = self.recorder.entries.iter().take_while(|e| first(e) <= t).count();
        let entries = &self.recorder.entries[..n];
        let (mut panes, from) = self.starting_panes(self.resume_from(t, entries))?;
        for entry in entries.iter().filter(|e| first(e) >= from) {
            for pane in &mut panes {
                pane.sim.advance_to(first(entry).saturating_sub(1), None);
            }
            apply_to(&mut panes, entry, &self.config.strategy_params)?;
        }
        for pane in &mut panes {
            pane.sim.advance_to(t, None);
        }
        Ok(panes.iter().map(|p| p.sim.metrics().latency.clone()).collect())
    }
}
