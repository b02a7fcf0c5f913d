//! What the balancer does besides dispatching: crashes and repairs, failure detection,
//! outlier ejection, stale load reports and autoscaling. Each is a small addition to the same
//! loop: an event in, a change to what the balancer knows, a notice out.

use std::time::Instant;

use super::{Balancer, Control, hire};
use crate::live::meter::Record;
use crate::metrics::ScaleAction;
use crate::model::Lifecycle;
use crate::model::config::{Detection, ScaleMetric};
use crate::strategy::WorkerView;
use crate::time::{Human, Nanos};

impl Balancer {
    /// Stale load information: the strategy sees every pending count as it is now, until the
    /// next refresh.
    pub(super) fn refresh_loads(&mut self) {
        for w in 0..self.workers.len() {
            self.show_pending(w);
        }
    }

    /// Aborts the worker's task: everything queued there and in service is dropped, reply
    /// channels included. The balancer stops counting what it sent there (the connection
    /// broke); whether it stops sending there depends on how it detects failures.
    pub(super) fn crash(&mut self, w: usize) {
        let slot = &mut self.workers[w];
        if slot.crashed {
            return;
        }
        slot.task.abort();
        slot.crashed = true;
        slot.epoch += 1;
        slot.pending = 0;
        self.pending_changed(w);
        self.notice(format!("worker {w} crashed"));
        self.update_availability(w);
    }

    /// Starts a new task for a crashed worker.
    pub(super) fn repair(&mut self, w: usize) {
        let slot = &mut self.workers[w];
        if !slot.crashed || slot.lifecycle == Lifecycle::Retired {
            return;
        }
        let (queue, task) = self.hiring.hire(w, slot.epoch, slot.settings.subscribe());
        (slot.queue, slot.task, slot.crashed) = (Some(queue), task, false);
        self.notice(format!("worker {w} repaired"));
        self.update_availability(w);
        self.idle(w);
    }

    /// Asks every worker whether it is alive (its task is running): enough failures in a row
    /// mark it down, enough passes mark it up.
    pub(super) fn health_check(&mut self) {
        let Detection::HealthChecks { unhealthy, healthy, .. } = self.defences.detection else { return };
        for w in 0..self.workers.len() {
            let slot = &mut self.workers[w];
            if slot.lifecycle == Lifecycle::Retired {
                continue;
            }
            if slot.task.is_finished() {
                (slot.checks_passed, slot.checks_failed) = (0, slot.checks_failed + 1);
                if slot.healthy && slot.checks_failed >= unhealthy {
                    slot.healthy = false;
                    self.notice(format!("health checks mark worker {w} down"));
                    self.update_availability(w);
                }
            } else {
                (slot.checks_passed, slot.checks_failed) = (slot.checks_passed + 1, 0);
                if !slot.healthy && slot.checks_passed >= healthy {
                    slot.healthy = true;
                    self.notice(format!("health checks mark worker {w} up"));
                    self.update_availability(w);
                }
            }
        }
    }

    /// Outlier detection: enough errors in a row from a worker eject it for a while (the n-th
    /// ejection lasts n base ejection times), within the share of workers that may be out.
    pub(super) fn observe_outcome(&mut self, w: usize, ok: bool) {
        let Some(o) = self.defences.outlier else { return };
        let slot = &mut self.workers[w];
        if ok {
            slot.consecutive_errors = 0;
            return;
        }
        slot.consecutive_errors += 1;
        if slot.consecutive_errors < o.consecutive_errors || slot.ejected {
            return;
        }
        let ejected = self.workers.iter().filter(|s| s.ejected).count();
        if ejected >= ((o.max_ejected * self.workers.len() as f64) as usize).max(1) {
            return;
        }
        let slot = &mut self.workers[w];
        (slot.consecutive_errors, slot.ejected, slot.ejections) = (0, true, slot.ejections + 1);
        let (count, base) = (slot.ejections, o.base_ejection);
        self.meter.record(Record::Ejected { worker: w });
        self.notice(format!(
            "worker {w} ejected for {} ({} errors in a row)",
            Human(base * count as u64),
            o.consecutive_errors
        ));
        self.after(base * count as u64, Control::Uneject(w, count));
        self.update_availability(w);
    }

    /// The autoscaler's periodic look at the load of the active workers.
    pub(super) fn autoscale_tick(&mut self) {
        let Some(a) = self.defences.autoscale.clone() else { return };
        let active: Vec<usize> =
            (0..self.workers.len()).filter(|&w| self.workers[w].lifecycle == Lifecycle::Active).collect();
        let metric = match a.metric {
            ScaleMetric::Pending => {
                active.iter().map(|&w| self.workers[w].pending as f64).sum::<f64>()
                    / active.len().max(1) as f64
            }
            ScaleMetric::Utilization => {
                let slots = |w: usize| self.hiring.spec(w).concurrency;
                let busy: u32 = active.iter().map(|&w| self.workers[w].pending.min(slots(w))).sum();
                busy as f64 / active.iter().map(|&w| slots(w)).sum::<u32>().max(1) as f64
            }
        };
        self.scale_above = if metric > a.scale_up { self.scale_above + 1 } else { 0 };
        self.scale_below = if metric < a.scale_down { self.scale_below + 1 } else { 0 };
        if Instant::now() < self.quiet_until {
            return;
        }
        let serving_or_starting = self
            .workers
            .iter()
            .filter(|s| matches!(s.lifecycle, Lifecycle::Active | Lifecycle::Starting))
            .count();
        if self.scale_above >= a.sustain && serving_or_starting < a.max as usize {
            // A new worker task, which serves once it has started up.
            let w = self.workers.len();
            let spec = self.hiring.spec(w).clone();
            self.workers.push(hire(&self.hiring, w, Lifecycle::Starting));
            self.pool.push(WorkerView {
                pending: 0,
                speed: spec.speed,
                weight: spec.weight,
                up: false,
                last_latency: 0,
            });
            self.cluster_changed();
            self.scaled(ScaleAction::Up, w);
            self.after(a.startup, Control::Ready(w));
            self.scale_above = 0;
        } else if self.scale_below >= a.sustain && active.len() > a.min as usize {
            // The newest active worker leaves first: it takes no new requests, finishes its
            // queue, then retires.
            let w = *active.last().expect("more than min workers are active");
            self.workers[w].lifecycle = Lifecycle::Draining;
            self.scaled(ScaleAction::Down, w);
            self.update_availability(w);
            if self.workers[w].pending == 0 {
                self.retire(w);
            }
            self.scale_below = 0;
        } else {
            return;
        }
        self.quiet_until = Instant::now() + self.meter.clock.real(a.cooldown);
    }

    /// A drained worker leaves: dropping its queue's sender ends its task once the queue is
    /// empty.
    pub(super) fn retire(&mut self, w: usize) {
        self.workers[w].lifecycle = Lifecycle::Retired;
        self.workers[w].queue = None;
        self.scaled(ScaleAction::Retired, w);
    }

    pub(super) fn scaled(&mut self, action: ScaleAction, worker: usize) {
        let workers = self
            .workers
            .iter()
            .filter(|s| matches!(s.lifecycle, Lifecycle::Active | Lifecycle::Starting))
            .count() as u32;
        self.meter.record(Record::Scaled { action, worker, workers });
        self.notice(format!("autoscaler: worker {worker} {}; {workers} workers", action.words()));
    }

    /// Sends the balancer `control` after `delay` (scenario time), from a timer task.
    pub(super) fn after(&self, delay: Nanos, control: Control) {
        let (to_self, stop) = (self.to_self.clone(), self.hiring.shutdown.clone());
        let due = Instant::now() + self.meter.clock.real(delay);
        self.hiring.tracker.spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep_until(due.into()) => { let _ = to_self.send(control); }
                _ = stop.cancelled() => {}
            }
        });
    }

    /// Whether the balancer may send to a worker, by what it knows.
    pub(super) fn available(&self, w: usize) -> bool {
        let slot = &self.workers[w];
        let believed_up = match self.defences.detection {
            Detection::Instant => !slot.crashed,
            Detection::HealthChecks { .. } => slot.healthy,
            Detection::Never => true,
        };
        slot.lifecycle == Lifecycle::Active && !slot.ejected && believed_up
    }

    /// Brings a worker's `up` in the view in line with what the balancer knows.
    pub(super) fn update_availability(&mut self, w: usize) {
        let up = self.available(w);
        if self.pool[w].up != up {
            self.pool[w].up = up;
            self.cluster_changed();
        }
    }
}
