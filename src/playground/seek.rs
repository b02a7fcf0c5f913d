//! Moving through time: forward runs on; back runs again from the latest checkpoint before
//! the target (or from the start) with the commands recorded before it replayed at their
//! exact moments, so the state is what it was. The one implementation of checkpoints and
//! seeking, for the UI, `lbsim replay` and scripted seeking alike.
//!
//! Checkpoints are copies of every pane, taken at a sampling time once the panes have
//! processed [`CHECKPOINT_EVENTS`] events (over all panes) since the last one. At most
//! [`MAX_CHECKPOINTS`] are kept: when full, every other one is dropped and the spacing
//! doubles. Re-running from the start alone took 128 to 166 ms to go back near the end of a
//! 10-minute run at 1,000 requests/s (1.2 million events); with checkpoints it is a few
//! milliseconds (`cargo bench --bench seek`). A strategy that cannot copy itself
//! ([`Strategy::clone_box`](crate::strategy::Strategy::clone_box)) is re-run from the start.

use super::{Future, Pane, Playground, Sample, make_panes};
use crate::metrics::Recorder;
use crate::session::Entry;
use crate::time::{Human, Nanos};

/// Events (over all panes) between checkpoints, at first.
pub const CHECKPOINT_EVENTS: u64 = 200_000;
/// Checkpoints kept at most.
pub const MAX_CHECKPOINTS: usize = 32;
/// The memory all checkpoints may take together, as [`state_bytes`] estimates it (bytes).
/// Past it the oldest are thinned, then dropped; a copy larger than all of it is not taken
/// (going back then re-runs from an earlier one, or from the start). Issue 25: a run whose
/// queues grow without bound took 2.97 GB in copies of them where the run itself took 213 MB.
pub const CHECKPOINT_BUDGET: u64 = 512 << 20;

/// About how much memory a copy of `pane` takes (bytes): per request in flight (the request,
/// its attempt, its event and its place in a queue), per worker (its state and statistics),
/// and the sparklines.
pub(super) fn state_bytes(pane: &Pane) -> u64 {
    const PER_IN_FLIGHT: u64 = 256;
    const PER_WORKER: u64 = 16 << 10;
    const BASE: u64 = 256 << 10;
    let workers = pane.sim.worker_count() as u64;
    BASE + pane.sim.in_flight().saturating_mul(PER_IN_FLIGHT) + workers.saturating_mul(PER_WORKER)
}

/// Every pane as it was at `at`.
pub(super) struct Checkpoint {
    at: Nanos,
    next_sample: Nanos,
    /// Events of all panes when it was taken.
    events: u64,
    /// Its size, as [`state_bytes`] estimates it.
    bytes: u64,
    panes: Vec<Pane>,
}

/// The checkpoints of a run, oldest first, and the events between two of them now.
pub(super) struct Checkpoints {
    list: Vec<Checkpoint>,
    /// [`CHECKPOINT_EVENTS`], doubled at each thinning.
    spacing: u64,
    /// [`CHECKPOINT_BUDGET`], or what a test set.
    budget: u64,
}

impl Default for Checkpoints {
    fn default() -> Checkpoints {
        Checkpoints { list: Vec::new(), spacing: CHECKPOINT_EVENTS, budget: CHECKPOINT_BUDGET }
    }
}

impl Checkpoints {
    fn bytes(&self) -> u64 {
        self.list.iter().map(|c| c.bytes).sum()
    }

    /// Keeps every other checkpoint (the newest stays): the spacing doubles.
    fn thin(&mut self) {
        let n = self.list.len();
        let mut i = 0;
        self.list.retain(|_| {
            i += 1;
            (n - i).is_multiple_of(2)
        });
        self.spacing = self.spacing.saturating_mul(2);
    }

    /// Makes room for a copy of `bytes` within the budget; false if it cannot fit at all.
    fn make_room(&mut self, bytes: u64) -> bool {
        if bytes > self.budget {
            return false;
        }
        if self.list.len() >= MAX_CHECKPOINTS {
            self.thin();
        }
        while !self.list.is_empty() && self.bytes() + bytes > self.budget {
            if self.list.len() > 2 {
                self.thin();
            } else {
                // The newer is the more useful: drop the oldest.
                self.list.remove(0);
            }
        }
        true
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
    if entry.at.len() != panes.len() {
        return Err(format!("a command has moments for {} runs, not {}", entry.at.len(), panes.len()));
    }
    for (pane, &point) in panes.iter_mut().zip(&entry.at) {
        pane.sim.reach(point)?;
        // Refused then (recorded as pressed), refused again now.
        let _ = pane.sim.apply(entry.action.command(params)?);
    }
    Ok(())
}

impl Playground {
    /// Keeps checkpoints every `events` events (over all panes) from now on; `u64::MAX`
    /// keeps none, so that going back re-runs from the start.
    pub fn set_checkpoint_spacing(&mut self, events: u64) {
        self.checkpoints.spacing = events.max(1);
    }

    /// How many checkpoints the run keeps now.
    pub fn checkpoint_count(&self) -> usize {
        self.checkpoints.list.len()
    }

    fn events(&self) -> u64 {
        self.panes.iter().filter_map(|p| p.sim.position()).map(|p| p.events).sum()
    }

    /// Takes a checkpoint when the panes have processed enough events since the last one
    /// (seekable runs only, and only when every strategy can copy itself).
    pub(super) fn checkpoint_if_due(&mut self) {
        if !self.caps.seekable {
            return;
        }
        let events = self.events();
        let ck = &self.checkpoints;
        if events < ck.list.last().map_or(0, |c| c.events).saturating_add(ck.spacing) {
            return;
        }
        // Room is made before copying, so that the copies never pass the budget.
        let bytes: u64 = self.panes.iter().map(state_bytes).sum();
        if !self.checkpoints.make_room(bytes) {
            return;
        }
        let Some(panes) = self.panes.iter().map(Pane::copy).collect::<Option<Vec<_>>>() else { return };
        let (at, next_sample) = (self.clock, self.next_sample);
        self.checkpoints.list.push(Checkpoint { at, next_sample, events, bytes, panes });
    }

    /// Bounds the memory of all checkpoints together (bytes, as estimated); the default is
    /// 512 MiB (`CHECKPOINT_BUDGET`).
    pub fn set_checkpoint_budget(&mut self, bytes: u64) {
        self.checkpoints.budget = bytes;
    }

    /// The memory the checkpoints kept take, as estimated (bytes).
    pub fn checkpoint_bytes(&self) -> u64 {
        self.checkpoints.bytes()
    }

    /// Moves the runs to virtual time `target`: forward runs on; back runs again (seekable
    /// runs only) and logs from where. Commands recorded after the target are dropped or kept
    /// ahead, as [`Future`] says.
    pub fn seek_to(&mut self, target: Nanos) -> Result<(), String> {
        self.seeking = None;
        if !self.caps.seekable {
            let e = "seeking needs the model: a live run cannot go back in time".to_string();
            self.log(e.clone());
            return Err(e);
        }
        if target >= self.clock {
            self.advance_to(target, None);
            self.collect_notices();
            return Ok(());
        }
        match self.run_again_to(target) {
            Ok(resumed) => {
                let from = match resumed {
                    0 => "re-run from the start".to_string(),
                    t => format!("re-run from the checkpoint at {}", Human(t)),
                };
                let future = match self.on_seek_back {
                    Future::Drop => "commands after it dropped",
                    Future::Keep => "commands after it come again",
                };
                self.log(format!("back to {} ({from}; {future})", Human(target)));
                Ok(())
            }
            Err(e) => {
                self.log(format!("cannot go back: {e}"));
                Err(e)
            }
        }
    }

    /// The latest time the runs can reach: the end of a run of fixed duration, else the
    /// end of simulable time (a run of so many requests ends when they are done).
    pub fn reachable_end(&self) -> Nanos {
        let limit = crate::time::MAX_TIME;
        match self.config.stop {
            crate::engine::Stop::Duration(d) => self.config.warmup.saturating_add(d).min(limit),
            crate::engine::Stop::Requests(_) => limit,
        }
    }

    /// Goes to virtual time `target` (clamped to [`reachable_end`](Playground::reachable_end))
    /// for the UI: back at once (re-simulated exactly, as [`seek_to`](Playground::seek_to));
    /// forward in slices of a frame's budget, each [`advance`](Playground::advance) doing
    /// one, so that keys and signals are read between them however far it is. Another seek
    /// replaces the goal; [`cancel_seek`](Playground::cancel_seek) stops where it got to.
    pub fn go_toward(&mut self, target: Nanos) -> Result<(), String> {
        let target = target.min(self.reachable_end());
        self.seeking = None;
        if target < self.clock || !self.caps.seekable {
            return self.seek_to(target);
        }
        self.seeking = Some(target);
        // Samples long before the goal are never seen: evicted without their percentiles.
        let shown = (super::HISTORY as u64 + 2).saturating_mul(self.sample_period());
        self.quiet_until = target.saturating_sub(shown);
        Ok(())
    }

    /// Stops going to a time where the runs got to (`Esc`); says so.
    pub fn cancel_seek(&mut self) {
        if self.seeking.take().is_some() {
            self.quiet_until = 0;
            self.log(format!("stopped going to a time, at {}", Human(self.clock)));
        }
    }

    /// One slice of going to `goal`, until `deadline`.
    pub(super) fn seek_slice(&mut self, goal: Nanos, deadline: std::time::Instant) {
        let reached = self.advance_to(goal, Some(deadline));
        self.collect_notices();
        if reached || self.finished() {
            self.seeking = None;
            self.quiet_until = 0;
            self.log(format!("went to {}", crate::time::seconds_text(self.clock)));
        }
    }

    /// Returns the time it resumed from (0: the start).
    fn run_again_to(&mut self, target: Nanos) -> Result<Nanos, String> {
        let keep = self.recorder.entries.iter().take_while(|e| first(e) <= target).count();
        let later: Vec<Entry> = self.recorder.entries.drain(keep..).collect();
        if self.on_seek_back == Future::Keep {
            for entry in later.into_iter().rev() {
                self.future.push_front(entry);
            }
        }
        // Checkpoints after the one resumed from belong to the future being dropped.
        let from = self.resume_from(target, &self.recorder.entries);
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
        let entries = std::mem::take(&mut self.recorder.entries);
        for entry in entries.iter().filter(|e| first(e) >= resumed) {
            // Every event before the entry's instant had been processed when it was applied;
            // of its instant, exactly as many as its points say.
            self.advance_plain(first(entry).saturating_sub(1), None);
            apply_to(&mut self.panes, entry, &self.config.strategy_params)?;
            self.clock = first(entry);
        }
        self.recorder.entries = entries;
        self.advance_plain(target, None);
        for (pane, trend) in self.panes.iter_mut().zip(trends) {
            pane.trend = trend;
        }
        // What happened on the way was shown the first time.
        for pane in &mut self.panes {
            pane.sim.take_notices();
        }
        self.quiet_until = 0;
        Ok(resumed)
    }

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
            Some(c) => {
                let panes = c.panes.iter().map(Pane::copy).collect::<Option<Vec<_>>>();
                Ok((panes.ok_or("a checkpoint could not be copied again")?, c.at))
            }
            None => {
                let names = &self.recorder.strategies;
                Ok((make_panes(self.engine, &self.config, &self.live, names, self.recent)?, 0))
            }
        }
    }

    /// A command ahead (a session being replayed): applied at its moment, recorded and
    /// logged.
    pub(super) fn replay_entry(&mut self, entry: &Entry) -> Result<(), String> {
        let what = entry.action.command(&self.config.strategy_params)?.describe();
        apply_to(&mut self.panes, entry, &self.config.strategy_params)?;
        self.clock = first(entry);
        if let crate::session::Action::Rate { rate } = entry.action {
            // `[` and `]` go on from the replayed rate.
            self.nominal_rate = Some(rate);
        }
        self.recorder.entries.push(entry.clone());
        // Said once: the engines' own account of the command, marked as replayed, or the
        // command in words when they gave none.
        let before = self.logged;
        self.collect_notices();
        let new = (self.logged - before) as usize;
        match self.log.len().checked_sub(new).filter(|_| new > 0) {
            Some(first) => self.log[first].text.insert_str(0, "replay: "),
            None => self.log_event(format!("replay: {what}")),
        }
        Ok(())
    }

    /// Each pane's whole-run latencies as they were at `t` (now or earlier), re-simulated
    /// from the latest checkpoint before it with the recorded commands, without touching the
    /// runs on screen.
    pub fn latencies_at(&self, t: Nanos) -> Result<Vec<Recorder>, String> {
        if t >= self.clock {
            return Ok(self.latencies());
        }
        if !self.caps.seekable {
            return Err("a past window needs the model: a live run cannot go back".to_string());
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

    /// Plays `entries` (a recorded session's commands) to their end and brings each run to
    /// `end`, headless: the state the session ended in.
    pub fn replay_to(&mut self, entries: &[Entry], end: &[crate::session::Point]) -> Result<(), String> {
        if end.len() != self.panes.len() || entries.iter().any(|e| e.at.len() != self.panes.len()) {
            return Err(format!(
                "the session has moments for other than its {} strategies",
                self.panes.len()
            ));
        }
        for entry in entries {
            apply_to(&mut self.panes, entry, &self.config.strategy_params)?;
            self.recorder.entries.push(entry.clone());
        }
        for (pane, &point) in self.panes.iter_mut().zip(end) {
            pane.sim.reach(point)?;
        }
        self.clock = self.panes.iter().map(|p| p.sim.now()).min().unwrap_or(0);
        Ok(())
    }
}
