//! Closing the timeline's intervals ([`crate::metrics::timeline`]) as virtual time passes them.

use super::Sim;
use crate::time::Nanos;

impl Sim {
    /// Closes the timeline's intervals that end before `t`, before the event at `t` is
    /// handled: the workers' pending counts are still those of the time since the last event.
    pub(super) fn roll_timeline(&mut self, t: Nanos) {
        let Some(timeline) = self.metrics.timeline.as_mut() else { return };
        let (workers, stats) = (&self.workers, &self.metrics.workers);
        timeline.close_until(t, stats.len(), |w, at| stats[w].pending_area_at(at, workers[w].pending()));
        self.timeline_due = timeline.due();
    }
}
