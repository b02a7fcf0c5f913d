//! Moving through time in the UI (issue 13): left / right seek 5 virtual seconds back or
//! forward, `{` / `}` one second. Forward runs on; back runs again from the start with the
//! commands recorded before the target replayed at their exact moments
//! ([`crate::session::reach`]), so the state is what it was. Commands recorded after the
//! target are dropped with the future they belonged to. The model only: a live run cannot go
//! back.

use super::App;
use crate::engines::EngineKind;
use crate::session::{Entry, reach};
use crate::time::{Human, Nanos};

impl App {
    /// Moves the run to virtual time `target`: forward runs on; back runs again from the start
    /// with the commands recorded before `target` replayed exactly, and drops those after it.
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
        let end = match &self.window {
            Some(super::Window::Open { from, .. }) => Some(*from),
            Some(super::Window::Closed { to, .. }) => Some(*to),
            None => None,
        };
        if end.is_some_and(|end| target < end) {
            self.window = None;
            self.log("window cleared: it lay after the time sought".to_string());
        }
        match self.run_again_to(target) {
            Ok(()) => self.log(format!("back to {} (commands after it dropped)", Human(target))),
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

    fn run_again_to(&mut self, target: Nanos) -> Result<(), String> {
        let names = self.recorder.strategies.clone();
        self.panes = App::make_panes(self.engine, &self.config, &self.scenario.live, &names)?;
        self.clock = 0;
        self.next_sample = self.sample_period();
        let first = |e: &Entry| e.at.iter().map(|p| p.time_ns).min().unwrap_or(0);
        let keep: Vec<Entry> =
            self.recorder.entries.iter().take_while(|e| first(e) <= target).cloned().collect();
        for entry in &keep {
            // Every event before the entry's instant had been processed when it was applied;
            // of its instant, exactly as many as its points say.
            self.advance_to(first(entry).saturating_sub(1), None);
            for (pane, &point) in self.panes.iter_mut().zip(&entry.at) {
                let sim = pane.sim.as_sim_mut().ok_or("not the model")?;
                reach(sim, point)?;
                // Refused then (recorded as pressed), refused again now.
                let _ = sim.apply(entry.action.command(&self.config.strategy_params)?);
            }
            self.clock = first(entry);
        }
        self.recorder.entries = keep;
        self.advance_to(target, None);
        // What happened on the way was shown the first time.
        for pane in &mut self.panes {
            pane.sim.take_notices();
        }
        self.keep_selection_valid();
        Ok(())
    }
}
