//! Slow start (Envoy's `slow_start_config`): a worker that joins or comes back ramps its
//! effective weight up over a window instead of taking its full share at once, so that a cold
//! worker (an empty cache, a JIT still warming) is not flooded. While a worker is younger than
//! the window its weight is `weight x max(min_weight_percent, time_factor^(1 / aggression))`
//! with `time_factor = max(age, 1 ms) / window` (Envoy's code, `applySlowStartFactor`; its
//! documentation says `max(age in seconds, 1)`); the weight is updated in ten steps across the
//! window. Envoy instead re-evaluates a host's weight each time its EDF scheduler picks it
//! (`pickAndAdd`) and rebuilds the scheduler only when the hosts change: a continuous ramp.
//! Stepped, lbsim's warming worker holds the weight of each step's start for a tenth of the
//! window, so its share lags Envoy's by about half a step (docs/src/guide/import.md has the
//! numbers: at most 1.5 points of share in a 4-worker cluster). It applies to every strategy that reads weights (`weighted-round-robin`, and
//! `least-request`, whose unequal weights then switch it to its weighted schedule).

use super::queue::Event;
use super::{Sim, SlowStart};
use crate::strategy::WorkerId;
use crate::time::{MILLIS, Nanos};

/// Weight updates across a window.
const STEPS: u32 = 10;

impl SlowStart {
    /// The share of its weight a worker has at `age` (1 from the end of the window on).
    pub fn factor(&self, age: Nanos) -> f64 {
        if age >= self.window {
            return 1.0;
        }
        let time_factor = age.max(MILLIS) as f64 / self.window as f64;
        libm::pow(time_factor.min(1.0), 1.0 / self.aggression).max(self.min_weight_percent / 100.0).min(1.0)
    }
}

impl Sim {
    /// Worker `w` became available again (or for the first time): it starts its ramp.
    pub(super) fn start_slow_start(&mut self, w: WorkerId) {
        let Some(s) = self.config.defences.slow_start else { return };
        let worker = &mut self.workers[w];
        worker.ramp = worker.ramp.wrapping_add(1);
        worker.ramp_since = self.now;
        let ramp = worker.ramp;
        self.notice(format!(
            "worker {w} slow start: {:.0}% of its weight, full after {}",
            s.factor(0) * 100.0,
            crate::time::seconds_text(s.window)
        ));
        for step in 1..=STEPS {
            // The last step at the window's end exactly, whatever it divides into.
            let offset = if step == STEPS { s.window } else { s.window / STEPS as u64 * step as u64 };
            let at = self.now.saturating_add(offset);
            self.events.push(at, Event::SlowStartStep { worker: w as u32, ramp });
        }
        self.set_ramp_weight(w);
    }

    /// A step of a ramp (ignored if the worker has started another since).
    pub(super) fn slow_start_step(&mut self, w: WorkerId, ramp: u32) {
        if self.workers[w].ramp == ramp {
            self.set_ramp_weight(w);
            let s = self.config.defences.slow_start.expect("a ramp means slow start");
            if self.now - self.workers[w].ramp_since >= s.window {
                self.notice(format!("worker {w} at full weight: slow start over"));
            }
        }
    }

    fn set_ramp_weight(&mut self, w: WorkerId) {
        let Some(s) = self.config.defences.slow_start else { return };
        let worker = &self.workers[w];
        let weight = worker.spec.weight * s.factor(self.now - worker.ramp_since);
        if self.views[w].weight != weight {
            self.views[w].weight = weight;
            self.cluster_changed();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SECS;

    #[test]
    fn the_factor_follows_envoys_formula() {
        let s = SlowStart::new(10 * SECS);
        assert_eq!(s.factor(0), 0.1, "max(age, 1 ms) / window, at least 10%");
        assert!((s.factor(5 * SECS) - 0.5).abs() < 1e-12);
        assert_eq!(s.factor(10 * SECS), 1.0);
        let steep = SlowStart { aggression: 2.0, ..s };
        assert!((steep.factor(4 * SECS) - 0.4f64.sqrt()).abs() < 1e-12, "aggression 2: square root");
        let floor = SlowStart { min_weight_percent: 50.0, ..s };
        assert_eq!(floor.factor(2 * SECS), 0.5);
    }

    /// Envoy's `applySlowStartFactor` (source/common/upstream/load_balancer_impl.cc): the time
    /// factor is `max(1 ms, age in ms) / window in ms`, not the documentation's `max(age in
    /// seconds, 1)`: below one second of age the weight already grows.
    #[test]
    fn the_factor_is_envoys_code_to_the_millisecond() {
        let s = SlowStart { min_weight_percent: 0.1, ..SlowStart::new(10 * SECS) };
        assert!((s.factor(500 * MILLIS) - 0.05).abs() < 1e-12, "500 ms of 10 s");
        assert!((s.factor(0) - 0.001).abs() < 1e-12, "floored at 0.1%, the minimum weight");
        let raw = SlowStart { min_weight_percent: 0.0, ..s };
        assert!((raw.factor(0) - 0.0001).abs() < 1e-15, "age floored at 1 ms: 1 ms / 10 s");
        let steep = SlowStart { aggression: 2.0, ..raw };
        assert!((steep.factor(250 * MILLIS) - 0.025f64.sqrt()).abs() < 1e-12);
    }
}
