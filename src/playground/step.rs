//! Stepping one event at a time (`n`): the earliest pane's next event, in words: which worker
//! got a request and why, who answered, what ended.

use super::Playground;
use crate::engine::StepKind;
use crate::time::Human;

impl Playground {
    /// Pauses, processes the next event (of the earliest pane; the others are brought to the
    /// same time) and logs what the balancer did. Runs that cannot be stepped say so.
    pub fn step_one(&mut self) {
        if !self.caps.steppable {
            return self.log("n: live tasks run in real time and cannot be stepped (the model can)".into());
        }
        if !self.paused {
            self.paused = true;
            self.log("paused to step".to_string());
        }
        let Some(t) = self.panes.iter().filter_map(|p| p.sim.next_event_time()).min() else {
            return self.log("nothing left to step".to_string());
        };
        let many = self.panes.len() > 1;
        let mut lines = Vec::new();
        for pane in &mut self.panes {
            let sim = &mut pane.sim;
            if sim.next_event_time() != Some(t) {
                sim.advance_to(t, None);
                continue;
            }
            let Some(step) = sim.step_event() else { continue };
            let who = if many { format!("{}: ", sim.strategy_name()) } else { String::new() };
            let why = || sim.explain_last_pick().unwrap_or_default();
            lines.push(format!("{who}{}", describe(step.kind, why)));
            // Keep the other panes on the same clock.
            sim.advance_to(t, None);
        }
        self.clock = self.clock.max(t);
        for line in lines {
            self.log(line);
        }
        self.collect_notices();
    }
}

/// One event in words; `why` explains the strategy's last pick.
fn describe(kind: StepKind, why: impl Fn() -> String) -> String {
    match kind {
        StepKind::Arrival { request, worker: Some(w), .. } => {
            format!("request {request} -> worker {w}: {}", why())
        }
        StepKind::Arrival { request, worker: None, .. } => {
            format!("request {request} rejected (no worker up, or its queue is full)")
        }
        StepKind::Completion { request, worker, latency } => {
            format!("worker {worker} answered request {request} in {}", Human(latency))
        }
        StepKind::Retry { request, attempt, worker: Some(w) } => {
            format!("request {request} retry {attempt} -> worker {w}: {}", why())
        }
        StepKind::Retry { request, attempt, worker: None } => {
            format!("request {request} retry {attempt} could not be placed")
        }
        StepKind::Failure { request, outcome } => {
            format!("request {request} ended: {}", outcome.words())
        }
        StepKind::Internal => "an attempt was served, lost or checked".to_string(),
        StepKind::ClientRetired { client } => format!("client {client} has nothing more to send"),
        StepKind::WarmupEnded => "warm-up over: statistics start".to_string(),
    }
}
