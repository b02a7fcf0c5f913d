//! Driving a run: the next event, one step, up to a time, a budget of events, or to the
//! end. Each way takes the plain loop (`plain.rs`) when the run is plain, else the general
//! one here, which processes one event at a time through `Sim::handle` and the flow.

use super::plain::PlainStop;
use super::{NO_CLIENT, Sim, Step};
use crate::time::Nanos;

impl Sim {
    /// The time of the next event, if any remains before the end.
    pub fn next_event_time(&self) -> Option<Nanos> {
        self.next_event().map(|(t, _)| t)
    }

    /// The time of the next event, if any remains before the end, and whether it is a
    /// scheduled one (else an open-loop arrival; scheduled events go before an arrival at the
    /// same instant).
    #[inline(always)]
    pub(super) fn next_event(&self) -> Option<(Nanos, bool)> {
        if self.finished || self.stop_reason.is_some() {
            return None;
        }
        let next @ (t, _) = match (self.events.peek_time(), self.next_arrival) {
            (Some(a), Some(b)) if b < a => (b, false),
            (Some(a), _) => (a, true),
            (None, Some(b)) => (b, false),
            (None, None) => return None,
        };
        match self.end {
            Some(end) if t > end => None,
            // A request-count run is over once nothing is left in flight, even if periodic
            // events (health checks, autoscaling) would go on for ever.
            None if !self.sending && self.requests.len() == 0 => None,
            _ => Some(next),
        }
    }

    /// Processes the next event. Returns `None` when the run is over (then virtual time is at
    /// the end of the run).
    pub fn step(&mut self) -> Option<Step> {
        let Some((t, scheduled)) = self.next_event() else {
            self.finish();
            return None;
        };
        let step = self.process_next(t, scheduled);
        self.metrics.settle();
        Some(step)
    }

    /// Processes every event up to and including virtual time `t`, then sets the clock to
    /// `t` (or to the end of the run, if that comes first). Returns the number of steps.
    pub fn step_until(&mut self, t: Nanos) -> u64 {
        let mut steps = 0;
        if self.is_plain() {
            steps = self.run_plain(u64::MAX, t).1;
        }
        while let Some((next, scheduled)) = self.next_event() {
            if next > t {
                break;
            }
            self.process_next(next, scheduled);
            steps += 1;
        }
        if self.next_event_time().is_none() {
            self.finish();
        }
        if !self.finished {
            self.now = self.now.max(t);
        }
        self.metrics.settle();
        steps
    }

    /// Like [`step_until`](Sim::step_until), but processes at most `max_events` events.
    /// Returns whether virtual time reached `t` (or the run ended); if not, the clock stays
    /// at the last event processed and a later call continues.
    pub fn step_until_bounded(&mut self, t: Nanos, max_events: u64) -> bool {
        if self.is_plain() {
            if self.run_plain(max_events, t).0 != PlainStop::Spent {
                self.step_until(t);
                return true;
            }
            return self.bounded_budget_spent(t);
        }
        for _ in 0..max_events {
            match self.next_event() {
                Some((next, scheduled)) if next <= t => {
                    self.process_next(next, scheduled);
                }
                _ => {
                    self.step_until(t);
                    return true;
                }
            }
        }
        self.bounded_budget_spent(t)
    }

    /// [`step_until_bounded`](Sim::step_until_bounded) after its budget of events: whether
    /// it reached `t` all the same.
    fn bounded_budget_spent(&mut self, t: Nanos) -> bool {
        self.metrics.settle();
        match self.next_event_time() {
            Some(next) if next <= t => false,
            _ => {
                self.step_until(t);
                true
            }
        }
    }

    /// Processes at most `max_events` events; returns whether the run is over. Lets a caller
    /// run in slices (to draw progress, or to stay responsive).
    pub fn run_events(&mut self, max_events: u64) -> bool {
        if self.is_plain() {
            if self.run_plain(max_events, Nanos::MAX).0 == PlainStop::Ended {
                self.finish();
                return true;
            }
            self.metrics.settle();
            return self.finished;
        }
        for _ in 0..max_events {
            let Some((t, scheduled)) = self.next_event() else {
                self.finish();
                return true;
            };
            self.process_next(t, scheduled);
        }
        self.metrics.settle();
        self.finished
    }

    /// Runs to the end.
    pub fn run(&mut self) {
        // With neither a budget nor a time bound, the plain loop returns only at the end.
        if self.is_plain() {
            let (stop, _) = self.run_plain(u64::MAX, Nanos::MAX);
            debug_assert_eq!(stop, PlainStop::Ended);
        }
        while let Some((t, scheduled)) = self.next_event() {
            self.process_next(t, scheduled);
        }
        self.finish();
    }

    pub(super) fn finish(&mut self) {
        // The model records latencies in bulk: they are read once a call that processes
        // events returns (each settles them), and at the end.
        self.metrics.settle();
        if self.finished {
            return;
        }
        if let Some(end) = self.end
            && self.stop_reason.is_none()
        {
            self.now = self.now.max(end);
        }
        self.finished = true;
        let now = self.now;
        for (w, stats) in self.workers.iter().zip(&mut self.metrics.workers) {
            stats.advance(now, w.pending(), w.busy());
            if w.is_down() {
                stats.downtime += now - w.down_since.max(self.window_start).min(now);
            }
        }
    }

    /// Processes the event at time `t` (the earliest): the first scheduled one if
    /// `scheduled`, else an open-loop arrival.
    #[inline(always)]
    pub(super) fn process_next(&mut self, t: Nanos, scheduled: bool) -> Step {
        debug_assert!(t >= self.now, "time went back from {} to {t}", self.now);
        if t > self.timeline_due {
            self.roll_timeline(t);
        }
        self.now = t;
        self.events_processed += 1;
        // Scheduled events go before an arrival at the same instant.
        if scheduled {
            let (_, event) = self.events.pop().expect("peeked");
            let kind = self.handle(event);
            return Step { time: t, kind };
        }
        // An open-loop arrival.
        let open = self.open_loop.as_mut().expect("only open loops schedule arrivals");
        let demand = open.trace_demand();
        // A keyed trace's key; asked only when requests are keyed at all.
        let key = if self.keys.is_some() { open.trace_key() } else { None };
        self.next_arrival = open.next_after(t, &mut self.arrivals_rng);
        // A trace that is over sends no more: the run ends once nothing is in flight, even if
        // periodic events (health checks) would go on for ever.
        if self.next_arrival.is_none() && self.config.trace_end().is_some() {
            self.sending = false;
        }
        let kind = self.arrive(NO_CLIENT, demand, key);
        if !self.sending {
            self.next_arrival = None;
        }
        Step { time: t, kind }
    }
}
