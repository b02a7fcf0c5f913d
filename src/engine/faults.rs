//! Faults (crashes, slowdowns) and the defences that react to them (failure detection,
//! outlier ejection, load refreshes, autoscaling).

use super::queue::Event;
use super::{Answer, Attempt, Detection, Lifecycle, QueueFate, ScaleMetric, Sim, Worker};
use crate::metrics::{ScaleAction, ScalingEvent, WorkerStats};
use crate::strategy::{WorkerId, WorkerView};
use crate::time::{Human, Nanos};

impl Sim {
    /// Schedules the configured faults and periodic defences at the start of a run.
    pub(super) fn schedule_faults(&mut self) {
        let faults = self.config.faults.clone();
        for c in &faults.crashes {
            self.events.push(c.at, Event::Crash { worker: c.worker as u32 });
            self.events.push(
                c.at.saturating_add(c.duration),
                Event::Repair { worker: c.worker as u32, random: false },
            );
        }
        if faults.random_crashes.is_some() {
            for w in 0..self.workers.len() {
                self.schedule_random_crash(w);
            }
        }
        for (i, s) in faults.slowdowns.iter().enumerate() {
            self.events.push(s.from, Event::SlowStart { index: i as u32 });
            self.events.push(s.to, Event::SlowEnd { index: i as u32 });
        }
        let d = self.config.defences.clone();
        if let Detection::HealthChecks { interval, .. } = d.detection {
            self.events.push(interval, Event::HealthCheck);
        }
        if let Some(t) = d.load_refresh {
            self.events.push(t, Event::LoadRefresh);
        }
        if let Some(a) = &d.autoscale {
            self.events.push(a.interval, Event::ScaleTick);
        }
    }

    /// The next random crash of a worker, and its repair.
    pub(super) fn schedule_random_crash(&mut self, w: WorkerId) {
        let Some(r) = self.config.faults.random_crashes else { return };
        let at = self.now.saturating_add(self.faults_rng.exp(r.mtbf as f64) as Nanos);
        let back = at.saturating_add((self.faults_rng.exp(r.mttr as f64) as Nanos).max(1));
        self.events.push(at, Event::Crash { worker: w as u32 });
        self.events.push(back, Event::Repair { worker: w as u32, random: true });
    }

    /// A worker crashes: requests in service are lost, the queue fails or goes back to the
    /// balancer, and arrivals are refused until it is repaired.
    pub(super) fn crash(&mut self, w: WorkerId) {
        let worker = &mut self.workers[w];
        worker.crashes += 1;
        if worker.crashes > 1 || worker.lifecycle == Lifecycle::Retired {
            return;
        }
        self.metrics.workers[w].advance(self.now, worker.pending(), worker.busy());
        worker.down_since = self.now;
        worker.epoch = worker.epoch.wrapping_add(1);
        // A restarted process starts with an empty cache.
        if let Some(cache) = &mut worker.cache {
            cache.clear();
        }
        if let Some(shared) = &mut worker.shared {
            shared.clear();
        }
        let lost: Vec<Attempt> = worker.serving.drain(..).collect();
        let queued: Vec<Attempt> = worker.queue.drain(..).collect();
        let requeue = self.config.faults.on_crash == QueueFate::Requeue;
        // "failed", the report's word, for the attempts a crash ends.
        self.notice(if requeue {
            format!(
                "worker {w} crashed: {} in service failed, {} queued handed back",
                lost.len(),
                queued.len()
            )
        } else {
            format!("worker {w} crashed: {} in service and {} queued failed", lost.len(), queued.len())
        });
        for attempt in lost {
            self.answer(attempt, Answer::Crash);
        }
        if requeue && !queued.is_empty() {
            // The balancer gets these back, so it does not send them to the same worker.
            self.views[w].up = false;
            self.workers[w].available = false;
            self.cluster_changed();
            for attempt in queued {
                self.requeue(attempt);
            }
            // Then it knows what it knew before (or, with instant detection, that it is down).
            self.views[w].up = self.available(w);
            self.workers[w].available = self.views[w].up;
            self.cluster_changed();
        } else {
            for attempt in queued {
                self.answer(attempt, Answer::Crash);
            }
        }
        self.update_availability(w);
    }

    /// Hands a queued attempt back to the balancer, which places it again (not a retry).
    fn requeue(&mut self, attempt: Attempt) {
        let w = attempt.worker as usize;
        self.workers[w].outstanding -= 1;
        self.attempts_out -= 1;
        self.outstanding_changed(w);
        self.own_answered(&attempt);
        if self.is_current(attempt) {
            let r = attempt.request;
            // Placed again, it is the same attempt, not a new one.
            let request = self.requests.get_mut(r.slot).expect("live");
            request.attempts -= 1;
            if attempt.measured {
                self.metrics.attempts.attempts -= 1;
                if request.attempts >= 1 {
                    self.metrics.attempts.retries -= 1;
                }
            }
            let _ = self.dispatch(r);
        }
    }

    /// A worker comes back (`force`: however many crash windows overlap).
    pub(super) fn repair(&mut self, w: WorkerId, force: bool) {
        let worker = &mut self.workers[w];
        if worker.crashes == 0 {
            return;
        }
        worker.crashes = if force { 0 } else { worker.crashes - 1 };
        if worker.crashes > 0 {
            return;
        }
        let since = worker.down_since.max(self.window_start);
        self.metrics.workers[w].downtime += self.now.saturating_sub(since);
        self.notice(format!("worker {w} is back"));
        if self.config.defences.detection == Detection::Instant {
            self.update_availability(w);
        }
        // It came back with nothing to do.
        if self.workers[w].lifecycle == Lifecycle::Active {
            self.worker_idle(w);
        }
    }

    pub(super) fn set_slowdown(&mut self, w: WorkerId, factor: f64) {
        // A worker that shares or preempts serves what it holds at the new speed from now
        // (FCFS keeps the service times drawn when each service began).
        self.shared_advance(w);
        let worker = &mut self.workers[w];
        worker.slowdown = factor;
        worker.speed = worker.spec.speed / factor;
        self.shared_reschedule(w);
        if factor == 1.0 {
            self.notice(format!("worker {w} back to normal speed"));
        } else {
            self.notice(format!("worker {w} slowed down {factor}x"));
        }
    }

    /// Whether the balancer may send to a worker, by what it knows.
    fn available(&self, w: WorkerId) -> bool {
        let worker = &self.workers[w];
        let believed_up = match self.config.defences.detection {
            Detection::Instant => !worker.is_down(),
            Detection::HealthChecks { .. } => worker.healthy,
            Detection::Never => true,
        };
        worker.lifecycle == Lifecycle::Active && worker.ejected_until.is_none() && believed_up
    }

    /// Brings a worker's `up` in the balancer's view in line with what it knows.
    pub(super) fn update_availability(&mut self, w: WorkerId) {
        let up = self.available(w);
        let changed = match self.config.defences.panic_threshold {
            None => self.views[w].up != up,
            // The view may say up in panic: compare with what the balancer knew.
            Some(_) => self.workers[w].available != up,
        };
        let joined = up && !self.workers[w].available;
        self.workers[w].available = up;
        if changed {
            self.views[w].up = up;
            self.cluster_changed();
        }
        if joined {
            self.start_slow_start(w);
        }
    }

    /// Envoy's panic threshold: below it, every active worker is offered to the strategies
    /// (requests to dead ones fail); at or above it, the available ones only.
    pub(super) fn apply_panic_threshold(&mut self) {
        let Some(threshold) = self.config.defences.panic_threshold else { return };
        let active = self.workers.iter().filter(|w| w.lifecycle == Lifecycle::Active).count();
        let available =
            self.workers.iter().filter(|w| w.lifecycle == Lifecycle::Active && w.available).count();
        let panic = active > 0 && (available as f64) < threshold * active as f64;
        for (view, worker) in self.views.iter_mut().zip(&self.workers) {
            view.up = if panic { worker.lifecycle == Lifecycle::Active } else { worker.available };
        }
        if panic != self.panicking {
            self.panicking = panic;
            self.notice(if panic {
                format!(
                    "panic: {available} of {active} workers available, below {}%: balancing across all {active}",
                    threshold * 100.0
                )
            } else {
                format!("out of panic: {available} of {active} workers available")
            });
        }
    }

    /// Active health checks: every worker is probed; enough failures in a row mark it down,
    /// enough passes mark it up.
    pub(super) fn health_check(&mut self) {
        let Detection::HealthChecks { interval, unhealthy, healthy } = self.config.defences.detection else {
            return;
        };
        for w in 0..self.workers.len() {
            let worker = &mut self.workers[w];
            if worker.lifecycle == Lifecycle::Retired {
                continue;
            }
            if worker.is_down() {
                worker.checks_passed = 0;
                worker.checks_failed += 1;
                if worker.healthy && worker.checks_failed >= unhealthy {
                    worker.healthy = false;
                    self.notice(format!("health checks mark worker {w} down"));
                    self.update_availability(w);
                }
            } else {
                worker.checks_failed = 0;
                worker.checks_passed += 1;
                if !worker.healthy && worker.checks_passed >= healthy {
                    worker.healthy = true;
                    self.notice(format!("health checks mark worker {w} up"));
                    self.update_availability(w);
                }
            }
        }
        self.events.push(self.now.saturating_add(interval), Event::HealthCheck);
    }

    /// Outlier detection: consecutive errors from a worker eject it for a while.
    pub(super) fn observe_outcome(&mut self, w: WorkerId, ok: bool) {
        let Some(o) = self.config.defences.outlier else { return };
        let worker = &mut self.workers[w];
        if ok {
            worker.consecutive_errors = 0;
            return;
        }
        worker.consecutive_errors += 1;
        if worker.consecutive_errors < o.consecutive_errors || worker.ejected_until.is_some() {
            return;
        }
        let ejected = self.workers.iter().filter(|w| w.ejected_until.is_some()).count();
        let allowed = ((o.max_ejected * self.workers.len() as f64) as usize).max(1);
        if ejected >= allowed {
            return;
        }
        self.metrics.workers[w].ejections += 1;
        let worker = &mut self.workers[w];
        worker.consecutive_errors = 0;
        worker.ejections += 1;
        let count = worker.ejections;
        let until = self.now.saturating_add(o.base_ejection.saturating_mul(count as u64));
        worker.ejected_until = Some(until);
        self.events.push(until, Event::Uneject { worker: w as u32, ejection: count });
        self.notice(format!(
            "worker {w} ejected for {} ({} errors in a row)",
            Human(until - self.now),
            o.consecutive_errors
        ));
        self.update_availability(w);
    }

    pub(super) fn uneject(&mut self, w: WorkerId, ejection: u32) {
        if self.workers[w].ejections != ejection || self.workers[w].ejected_until.is_none() {
            return;
        }
        self.workers[w].ejected_until = None;
        self.notice(format!("worker {w} back from ejection"));
        self.update_availability(w);
    }

    /// Stale load information: strategies see each worker's queue as it is now, until the
    /// next refresh.
    pub(super) fn refresh_loads(&mut self) {
        for w in 0..self.workers.len() {
            let pending = self.workers[w].pending();
            if self.views[w].pending != pending {
                self.views[w].pending = pending;
                self.shared_pending_changed(w);
            }
        }
        self.report_taken();
        if let Some(t) = self.config.defences.load_refresh {
            self.events.push(self.now.saturating_add(t), Event::LoadRefresh);
        }
    }

    /// The autoscaler's periodic look at the load.
    pub(super) fn autoscale_tick(&mut self) {
        let Some(a) = self.config.defences.autoscale.clone() else { return };
        self.events.push(self.now.saturating_add(a.interval), Event::ScaleTick);
        let active: Vec<&Worker> = self.workers.iter().filter(|w| w.lifecycle == Lifecycle::Active).collect();
        let serving_or_starting = self
            .workers
            .iter()
            .filter(|w| matches!(w.lifecycle, Lifecycle::Active | Lifecycle::Starting))
            .count();
        let metric = match a.metric {
            ScaleMetric::Pending => {
                active.iter().map(|w| w.pending() as f64).sum::<f64>() / active.len().max(1) as f64
            }
            ScaleMetric::Utilization => {
                let busy: u32 = active.iter().map(|w| w.serving.len() as u32).sum();
                let slots: u32 = active.iter().map(|w| w.spec.concurrency).sum();
                busy as f64 / slots.max(1) as f64
            }
        };
        let active = active.len();
        self.scale_above = if metric > a.scale_up { self.scale_above + 1 } else { 0 };
        self.scale_below = if metric < a.scale_down { self.scale_below + 1 } else { 0 };
        if self.now < self.scale_quiet_until {
            return;
        }
        if self.scale_above >= a.sustain && serving_or_starting < a.max as usize {
            self.add_worker(a.startup);
            self.scale_above = 0;
            self.scale_quiet_until = self.now.saturating_add(a.cooldown);
        } else if self.scale_below >= a.sustain && active > a.min as usize {
            // The newest active worker leaves first.
            let w = (0..self.workers.len()).rev().find(|&w| self.workers[w].lifecycle == Lifecycle::Active);
            if let Some(w) = w {
                self.drain(w);
                self.scale_below = 0;
                self.scale_quiet_until = self.now.saturating_add(a.cooldown);
            }
        }
    }

    fn scaling_event(&mut self, action: ScaleAction, worker: WorkerId) {
        let workers = self
            .workers
            .iter()
            .filter(|w| matches!(w.lifecycle, Lifecycle::Active | Lifecycle::Starting))
            .count() as u32;
        self.metrics.scaling.push(ScalingEvent { time: self.now, action, worker, workers });
        self.notice(format!("autoscaler: worker {worker} {}; {workers} workers", action.words()));
    }

    /// Adds a worker like the first one; it serves after `startup`.
    fn add_worker(&mut self, startup: Nanos) {
        let spec = self.config.workers[0].clone();
        let w = self.workers.len();
        self.views.push(WorkerView {
            pending: 0,
            speed: spec.speed,
            weight: spec.weight,
            up: false,
            last_latency: 0,
        });
        let cache = self.config.keys.as_ref().and_then(|k| k.cache);
        self.workers.push(Worker::new(spec, Lifecycle::Starting).with_cache(cache));
        self.metrics.workers.push(WorkerStats::starting_at(self.now));
        self.cluster_changed();
        self.events.push(self.now.saturating_add(startup), Event::WorkerReady { worker: w as u32 });
        self.scaling_event(ScaleAction::Up, w);
    }

    pub(super) fn worker_ready(&mut self, w: WorkerId) {
        if self.workers[w].lifecycle != Lifecycle::Starting {
            return;
        }
        self.workers[w].lifecycle = Lifecycle::Active;
        self.scaling_event(ScaleAction::Ready, w);
        self.update_availability(w);
        self.worker_idle(w);
    }

    fn drain(&mut self, w: WorkerId) {
        self.workers[w].lifecycle = Lifecycle::Draining;
        self.scaling_event(ScaleAction::Down, w);
        self.update_availability(w);
        if self.workers[w].pending() == 0 {
            self.retire(w);
        }
    }

    pub(super) fn retire(&mut self, w: WorkerId) {
        self.workers[w].lifecycle = Lifecycle::Retired;
        self.scaling_event(ScaleAction::Retired, w);
    }
}
