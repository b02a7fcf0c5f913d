//! What a user can do to the runs: pause, speed, the pause time, and the commands applied to
//! every pane alike (and recorded, so that a session replays exactly).

use super::{Playground, SPEEDS, make_panes};
use crate::engine::{Command, RetryPolicy};
use crate::session::{Action, Point};
use crate::strategy::{self, StrategyInfo};
use crate::time::{Nanos, seconds_text};

impl Playground {
    /// Pauses or resumes; a live run stops or resumes sending (its tasks keep draining).
    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
        for pane in &mut self.panes {
            pane.sim.set_sending(!paused);
        }
    }

    /// Space: pauses or resumes, and says so.
    pub fn toggle_pause(&mut self) {
        self.set_paused(!self.paused);
        let what = match (self.paused, self.caps.paced) {
            (true, false) => "paused: the requesters stop, the workers drain their queues",
            (true, true) => "paused",
            (false, _) => "resumed",
        };
        self.log(what.to_string());
    }

    /// Pauses the clock when it reaches `t`; `None` clears it. A time already passed is
    /// refused with a line in the log.
    pub fn set_pause_at(&mut self, t: Option<Nanos>) {
        match t {
            None => {
                self.pause_at = None;
                self.log("no pause set".to_string());
            }
            Some(t) if t <= self.clock => {
                self.log(format!("cannot pause at {}: the run is past it", seconds_text(t)))
            }
            Some(t) => {
                self.pause_at = Some(t);
                self.log(format!("will pause at {}", seconds_text(t)));
            }
        }
    }

    /// Sets the speed (virtual s per real s), clamped to the ladder's ends; a run in real
    /// time is refused with a line in the log.
    pub fn set_speed(&mut self, speed: f64) {
        if !self.caps.paced {
            let scale = self.live.time_scale;
            return self.log(format!(
                "the live engine runs in real time (time scale {scale}: set it with --time-scale)"
            ));
        }
        let speed = speed.clamp(SPEEDS[0], SPEEDS[SPEEDS.len() - 1]);
        if speed != self.speed {
            self.speed = speed;
            self.achieved = 1.0;
            self.behind = None;
            self.next_sample = self.clock + self.sample_period();
            self.log(format!("speed {}", crate::text::speed_text(speed)));
        }
    }

    /// Moves one step up or down the ladder of speeds; at either end nothing changes.
    pub fn step_speed(&mut self, by: isize) {
        let ladder = &SPEEDS;
        let here = ladder.iter().position(|&s| s >= self.speed).unwrap_or(ladder.len() - 1);
        self.set_speed(ladder[here.saturating_add_signed(by).min(ladder.len() - 1)]);
    }

    /// Applies `action` to every pane now, records it, and says what it did. A command
    /// refused is recorded all the same (it is what was pressed; replayed, it is refused
    /// alike and changes nothing); a new command starts a new future (see [`super::Future`]).
    pub fn command(&mut self, action: Action) -> Result<(), String> {
        self.record(action.clone());
        self.future.clear();
        let panes = match &action {
            // `s` switches the strategy of the one run of `lbsim run`.
            Action::Strategy { .. } => &mut self.panes[..1],
            _ => &mut self.panes[..],
        };
        for pane in panes {
            pane.sim.apply(action.command(&self.config.strategy_params)?).map_err(|e| e.to_string())?;
        }
        if let Action::Rate { rate } = action {
            self.nominal_rate = Some(rate);
        }
        Ok(())
    }

    /// Records a command about to be applied (seekable runs only: a run in real time cannot
    /// be replayed exactly).
    fn record(&mut self, action: Action) {
        let points: Option<Vec<Point>> = self.positions();
        if let Some(points) = points {
            self.recorder.push(points, action);
        }
    }

    /// Crashes (`up` false) or repairs a worker.
    pub fn set_worker_up(&mut self, worker: usize, up: bool) {
        let was_up = !self.panes[0].sim.worker(worker).crashed;
        if was_up == up {
            return self.log(format!("worker {worker} is already {}", if up { "up" } else { "down" }));
        }
        if let Err(e) = self.command(Action::Up { worker, up }) {
            self.log(format!("cannot change worker {worker}: {e}"));
        }
        self.collect_notices();
    }

    /// Slows a worker down 10x, or back to normal.
    pub fn toggle_slow(&mut self, worker: usize) {
        let slowed = self.panes[0].sim.worker(worker).slowdown > 1.0;
        let factor = if slowed { 1.0 } else { 10.0 };
        if let Err(e) = self.command(Action::Slowdown { worker, factor }) {
            self.log(format!("cannot slow worker {worker}: {e}"));
        }
        self.collect_notices();
    }

    /// Changes a worker's error rate by `delta`, in steps of 10%.
    pub fn change_error_rate(&mut self, worker: usize, delta: f64) {
        let now = self.panes[0].sim.worker(worker).error_rate;
        let rate = ((now + delta) * 10.0).round().clamp(0.0, 10.0) / 10.0;
        match self.command(Action::ErrorRate { worker, rate }) {
            Ok(()) => self.log_event(format!("worker {worker} now fails {:.0}% of requests", rate * 100.0)),
            Err(e) => self.log(format!("cannot change worker {worker}: {e}")),
        }
    }

    /// The retry policy that turning retries on applies: the scenario's, or the default.
    fn retry_policy(&self) -> RetryPolicy {
        self.config.defences.retry.clone().unwrap_or_default()
    }

    /// Turns retries on (with the scenario's policy, or [`RetryPolicy::default`]) or off.
    pub fn toggle_retries(&mut self) {
        let on = !self.retries_on();
        let policy = on.then(|| self.retry_policy());
        let max = policy.as_ref().map(|p| p.max);
        match self.command(Action::of(&Command::SetRetry(policy))) {
            Ok(()) => match max {
                Some(max) => self.log_event(format!("retries on: up to {max} per request")),
                None => self.log_event("retries off".to_string()),
            },
            Err(e) => self.log(format!("cannot change retries: {e}")),
        }
    }

    /// Scales the open-loop arrival rate by `factor` (at least 1 request/s).
    pub fn scale_rate(&mut self, factor: f64) {
        let Some(nominal) = self.nominal_rate else {
            return self.log("closed loop: the clients set the rate".to_string());
        };
        let rate = (nominal * factor).max(1.0);
        match self.command(Action::Rate { rate }) {
            Ok(()) => {
                let load = rate / self.config.capacity();
                self.log_event(format!("arrival rate {rate:.0}/s (load {load:.2})"));
            }
            Err(e) => self.log(format!("cannot set the rate: {e}")),
        }
    }

    /// Switches the first pane's run to the next strategy of the registry.
    pub fn next_strategy(&mut self) {
        let current = self.panes[0].sim.strategy_name().to_string();
        let all: Vec<&StrategyInfo> = strategy::all().collect();
        let i = all.iter().position(|s| s.name == current).map_or(0, |i| (i + 1) % all.len());
        let name = all[i].name;
        match self.command(Action::Strategy { name: name.to_string() }) {
            Ok(()) => self.log_event(format!("strategy switched to {name}")),
            Err(e) => self.log(format!("cannot switch strategy: {e}")),
        }
    }

    /// Starts every run again from the start with the same seed, at 1x (a restart at 100000x
    /// would be over before it could be watched). A session being replayed plays again from
    /// its first command.
    pub fn restart(&mut self) {
        let names: Vec<String> = self.panes.iter().map(|p| p.sim.strategy_name().to_string()).collect();
        match make_panes(self.engine, &self.config, &self.live, &names, self.recent) {
            Ok(panes) => {
                self.seeking = None;
                self.quiet_until = 0;
                self.panes = panes;
                self.checkpoints = Default::default();
                if self.on_seek_back == super::Future::Keep {
                    let applied = std::mem::take(&mut self.recorder.entries);
                    self.future = applied.into_iter().chain(self.future.drain(..)).collect();
                }
                self.recorder.restart(&names);
                self.clock = 0;
                if self.caps.paced {
                    self.speed = 1.0;
                    self.achieved = 1.0;
                    self.behind = None;
                }
                self.next_sample = self.sample_period();
                self.nominal_rate = self.initial_rate();
                self.log(format!("restarted with seed {}", self.config.seed));
            }
            Err(e) => self.log(format!("cannot restart: {e}")),
        }
    }
}
