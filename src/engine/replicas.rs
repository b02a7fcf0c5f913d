//! Balancer replicas: several balancers in front of the same workers, as with sidecars,
//! client libraries or router replicas.
//!
//! Each replica has its own strategy instance and its own random stream (replica 0 draws from
//! [`Stream::Strategy`], replica i from its substream i, so one replica is exactly lbsim's
//! single balancer). What a replica knows of the loads is its [`View`]:
//!
//! - `global`: the shared views hold the true count of attempts sent and not answered, and
//!   every replica's strategy hears of every change;
//! - `report`: the shared views hold the latest load report, and every replica hears of it at
//!   each refresh;
//! - `local`: each replica keeps its own views, counting only the attempts it sent;
//! - `report+local`: each replica's own views hold the latest report plus the attempts it sent
//!   since and has not heard back about.
//!
//! Requests reach a replica at random (the [`Stream::Balancers`] stream) or in turn; an
//! attempt remembers its replica, so retries and requeues go through the same one.

use super::{Assignment, Attempt, Sim, View};
use crate::metrics::BalancerStats;
use crate::rng::{SimRng, Stream};
use crate::strategy::{self, Cluster, Strategy, WorkerId, WorkerView};
use crate::time::Nanos;

/// One balancer replica.
pub(super) struct Replica {
    pub(super) strategy: Box<dyn Strategy>,
    pub(super) rng: SimRng,
    /// Its own views of the workers under the local views; empty when it reads the shared
    /// ones.
    own: Vec<WorkerView>,
}

/// The replicas of a run and how requests reach them.
pub(super) struct Replicas {
    pub(super) list: Vec<Replica>,
    pub(super) view: View,
    assignment: Assignment,
    /// Round-robin assignment: the next replica.
    next: u32,
    /// Assignment and dispatch delays.
    pub(super) rng: SimRng,
    /// When the latest load report was taken (`report+local`: a replica's attempts sent from
    /// then on count on top of it).
    report_at: Nanos,
    /// The replica of the latest pick.
    pub(super) last: u32,
    /// Which replica an idle worker registers with (join-idle-queue), from its own stream.
    idle_rng: SimRng,
    /// Whether a replica's strategy is an oracle: then picks see each worker's work left.
    oracle: bool,
    /// Whether requests are keyed: then picks see the request's key.
    keyed: bool,
    /// Whether a pick sees more than the loads (a key or an oracle): read on every pick, so
    /// kept as one flag.
    rich_picks: bool,
    /// Whether a replica's strategy wants to hear of idle workers (join-idle-queue).
    idle: bool,
    /// Whether a replica's strategy wants to hear of pending changes, and of answers: the
    /// engine spares the others a call per send and per answer.
    pending_changes: bool,
    responses: bool,
    /// Whether the replicas keep their own views (`local`, `report+local`): read on every
    /// send and answer, so kept as a flag beside `view`.
    own_views: bool,
}

impl Replica {
    /// An exact copy, or `None` when its strategy cannot copy itself.
    fn try_clone(&self) -> Option<Replica> {
        Some(Replica { strategy: self.strategy.clone_box()?, rng: self.rng.clone(), own: self.own.clone() })
    }
}

impl Replicas {
    /// An exact copy of every replica and of how requests reach them (for a checkpoint), or
    /// `None` when a strategy cannot copy itself.
    pub(super) fn try_clone(&self) -> Option<Replicas> {
        Some(Replicas {
            list: self.list.iter().map(Replica::try_clone).collect::<Option<Vec<_>>>()?,
            view: self.view,
            assignment: self.assignment,
            next: self.next,
            rng: self.rng.clone(),
            report_at: self.report_at,
            last: self.last,
            idle_rng: self.idle_rng.clone(),
            oracle: self.oracle,
            keyed: self.keyed,
            rich_picks: self.rich_picks,
            idle: self.idle,
            pending_changes: self.pending_changes,
            responses: self.responses,
            own_views: self.own_views,
        })
    }
}

/// Strategy instances for `count` replicas: `first`, then fresh ones built by its registered
/// name.
pub(super) fn instances(
    first: Box<dyn Strategy>,
    count: u32,
    params: &strategy::StrategyParams,
) -> Result<Vec<Box<dyn Strategy>>, String> {
    let mut list = Vec::with_capacity(count as usize);
    let name = first.name().to_string();
    list.push(first);
    for _ in 1..count {
        let s = strategy::build(&name, params).map_err(|_| {
            format!(
                "strategy `{name}` is not registered, so lbsim cannot build one per balancer replica \
                 (register it with lbsim::strategy::register, or give Sim::with_replicas one per replica)"
            )
        })?;
        list.push(s);
    }
    Ok(list)
}

impl Replicas {
    /// Replicas running `strategies` (one each), with views over `views`, for requests with
    /// keys or without.
    pub(super) fn new(
        seed: u64,
        config: &super::Balancers,
        view: View,
        strategies: Vec<Box<dyn Strategy>>,
        views: &[WorkerView],
        keyed: bool,
    ) -> Replicas {
        let own_views = matches!(view, View::Local | View::ReportLocal);
        let list = strategies
            .into_iter()
            .enumerate()
            .map(|(i, strategy)| Replica {
                strategy,
                rng: if i == 0 {
                    SimRng::stream(seed, Stream::Strategy)
                } else {
                    SimRng::substream(seed, Stream::Strategy, i as u64)
                },
                own: if own_views { views.to_vec() } else { Vec::new() },
            })
            .collect();
        let mut replicas = Replicas {
            list,
            view,
            assignment: config.assignment,
            next: 0,
            rng: SimRng::stream(seed, Stream::Balancers),
            report_at: 0,
            last: 0,
            idle_rng: SimRng::stream(seed, Stream::Idle),
            oracle: false,
            keyed,
            rich_picks: keyed,
            idle: false,
            pending_changes: true,
            responses: true,
            own_views,
        };
        replicas.strategies_changed();
        replicas
    }

    /// Reads what the replicas' strategies need (an oracle, news of idle workers): at the
    /// start and after the strategy changes.
    pub(super) fn strategies_changed(&mut self) {
        self.oracle = self.list.iter().any(|r| r.strategy.is_oracle());
        self.rich_picks = self.oracle || self.keyed;
        self.idle = self.list.iter().any(|r| r.strategy.wants_idle());
        self.pending_changes = self.list.iter().any(|r| r.strategy.wants_pending_changes());
        self.responses = self.list.iter().any(|r| r.strategy.wants_responses());
    }

    /// How many replicas.
    pub(super) fn count(&self) -> usize {
        self.list.len()
    }

    /// The replica a new request reaches. One replica draws nothing, so a single balancer's
    /// run is unchanged.
    #[inline]
    pub(super) fn assign(&mut self, key: u64) -> u32 {
        let n = self.list.len() as u32;
        if n == 1 {
            return 0;
        }
        match self.assignment {
            Assignment::Hash => (crate::keys::mix(key ^ 0x7265_706c_6963_6173) % n as u64) as u32,
            Assignment::Random => self.rng.below(n as u64) as u32,
            Assignment::RoundRobin => {
                let r = self.next;
                self.next = (r + 1) % n;
                r
            }
        }
    }

    /// Whether these are one balancer with the global view whose strategy's picks see only
    /// the workers (no key, no oracle): a plain run's (`plain.rs`).
    pub(super) fn is_plain(&self) -> bool {
        self.list.len() == 1 && self.view == View::Global && !self.own_views && !self.rich_picks
    }

    /// Whether a replica's strategy wants to hear of pending changes.
    #[inline(always)]
    pub(super) fn hear_pending(&self) -> bool {
        self.pending_changes
    }

    /// Whether a replica's strategy wants to hear of idle workers (join-idle-queue).
    #[inline(always)]
    pub(super) fn hear_idle(&self) -> bool {
        self.idle
    }

    /// Statistics with one entry per replica, with their picks per worker; none for a
    /// single balancer, whose picks are the workers' (the report sums them).
    pub(super) fn stats(&self, workers: usize) -> Vec<BalancerStats> {
        match self.list.len() {
            1 => Vec::new(),
            n => vec![BalancerStats { picks: 0, by_worker: vec![0; workers] }; n],
        }
    }
}

impl Sim {
    /// Replica `r` picks a worker for an attempt of the request in `slot`.
    #[inline]
    pub(super) fn replica_pick(&mut self, r: usize, slot: u32) -> Option<WorkerId> {
        self.replicas.last = r as u32;
        let now = self.now;
        let replica = &mut self.replicas.list[r];
        let views = if replica.own.is_empty() { &self.views[..] } else { &replica.own[..] };
        let cluster = Cluster::new(now, views, &self.up);
        if !self.replicas.rich_picks {
            // The common case, kept as short as the single balancer's pick always was.
            return replica.strategy.pick(&cluster, &mut replica.rng);
        }
        let key = self.keys.is_some().then(|| self.request_keys[slot as usize]);
        let cluster = cluster.with_key(key);
        if self.replicas.oracle {
            let demand = self.requests.get(slot).map(|q| q.demand);
            let oracle = WorkLeft { workers: &self.workers, now, demand, sizes: &self.config.service };
            return replica.strategy.pick(&cluster.with_oracle(&oracle), &mut replica.rng);
        }
        replica.strategy.pick(&cluster, &mut replica.rng)
    }

    /// Worker `w` has nothing left to do: it registers as idle with one replica, chosen at
    /// random from its own stream when there are several (join-idle-queue; other strategies
    /// ignore it).
    #[inline]
    pub(super) fn worker_idle(&mut self, w: WorkerId) {
        if !self.replicas.idle {
            return;
        }
        let n = self.replicas.count();
        let r = if n == 1 { 0 } else { self.replicas.idle_rng.below(n as u64) as usize };
        let now = self.now;
        let replica = &mut self.replicas.list[r];
        let views = if replica.own.is_empty() { &self.views[..] } else { &replica.own[..] };
        replica.strategy.on_idle(w, &Cluster::new(now, views, &self.up));
    }

    /// Every worker that is serving nothing, up and active registers as idle (at the start,
    /// and when the strategy changes, so that a new join-idle-queue knows them).
    pub(super) fn register_idle_workers(&mut self) {
        for w in 0..self.workers.len() {
            let worker = &self.workers[w];
            if worker.pending() == 0 && !worker.is_down() && worker.lifecycle == super::Lifecycle::Active {
                self.worker_idle(w);
            }
        }
    }

    /// The strategy of replica `r`.
    #[inline]
    pub(super) fn replica_strategy(&self, r: usize) -> &dyn Strategy {
        self.replicas.list[r].strategy.as_ref()
    }

    /// Counts a measured pick of worker `w` by replica `r`.
    #[inline]
    pub(super) fn count_pick(&mut self, r: usize, w: WorkerId) {
        self.metrics.workers[w].picks += 1;
        if let Some(b) = self.metrics.balancers.get_mut(r) {
            b.picks += 1;
            b.by_worker[w] += 1;
        }
    }

    /// Replica `r` sent an attempt to `w`: under the local views it counts it at once.
    #[inline]
    pub(super) fn own_sent(&mut self, r: usize, w: WorkerId) {
        if self.replicas.own_views {
            self.own_changed(r, w, |p| p + 1);
        }
    }

    /// Replica `r` heard back about (or took back) an attempt sent at `sent`: under the local
    /// views it stops counting it (under `report+local`, only if it was sent after the latest
    /// report, which counted the others).
    #[inline]
    pub(super) fn own_answered(&mut self, attempt: &Attempt) {
        if !self.replicas.own_views {
            return;
        }
        let counts = match self.replicas.view {
            View::Local => true,
            View::ReportLocal => attempt.sent >= self.replicas.report_at,
            View::Global | View::Report => false,
        };
        if counts {
            self.own_changed(attempt.replica as usize, attempt.worker as usize, |p| p.saturating_sub(1));
        }
    }

    fn own_changed(&mut self, r: usize, w: WorkerId, change: impl Fn(u32) -> u32) {
        let now = self.now;
        let replica = &mut self.replicas.list[r];
        let view = &mut replica.own[w];
        view.pending = change(view.pending);
        if self.replicas.pending_changes {
            replica.strategy.on_pending_change(w, &Cluster::new(now, &replica.own, &self.up));
        }
    }

    /// The shared view of worker `w` changed: every replica that reads it hears of it.
    #[inline]
    pub(super) fn shared_pending_changed(&mut self, w: WorkerId) {
        if !self.replicas.pending_changes {
            return;
        }
        let cluster = Cluster::new(self.now, &self.views, &self.up);
        if let [only] = &mut self.replicas.list[..] {
            // The single balancer: straight to its strategy.
            only.strategy.on_pending_change(w, &cluster);
            return;
        }
        for replica in self.replicas.list.iter_mut().filter(|r| r.own.is_empty()) {
            replica.strategy.on_pending_change(w, &cluster);
        }
    }

    /// Worker `w` answered replica `r` after `latency`.
    #[inline]
    pub(super) fn replica_response(&mut self, r: usize, w: WorkerId, latency: Nanos, ok: bool) {
        if self.replicas.own_views {
            self.replicas.list[r].own[w].last_latency = latency;
        }
        if !self.replicas.responses {
            return;
        }
        let now = self.now;
        let replica = &mut self.replicas.list[r];
        let views = if replica.own.is_empty() { &self.views[..] } else { &replica.own[..] };
        replica.strategy.on_response(w, latency, ok, &Cluster::new(now, views, &self.up));
    }

    /// The cluster changed shape: replicas with their own views copy it, then every replica's
    /// strategy rebuilds.
    pub(super) fn replicas_cluster_changed(&mut self) {
        let now = self.now;
        for replica in &mut self.replicas.list {
            if !replica.own.is_empty() {
                replica.own.resize(self.views.len(), WorkerView::default_for_sync());
                for (own, shared) in replica.own.iter_mut().zip(&self.views) {
                    own.speed = shared.speed;
                    own.weight = shared.weight;
                    own.up = shared.up;
                }
            }
            let views = if replica.own.is_empty() { &self.views[..] } else { &replica.own[..] };
            replica.strategy.on_cluster_change(&Cluster::new(now, views, &self.up));
        }
        self.report_keys_moved();
        let workers = self.views.len();
        for b in &mut self.metrics.balancers {
            if !b.by_worker.is_empty() {
                b.by_worker.resize(workers, 0);
            }
        }
    }

    /// A hashing strategy moved keys to other workers (a crash, a repair, scaling): said in
    /// the log, and counted (after the warm-up) as keys remapped. Every replica maps keys
    /// alike, so replica 0 speaks for all.
    fn report_keys_moved(&mut self) {
        let Some(keys) = self.config.keys.as_ref().map(|k| k.count) else { return };
        let Some(share) = self.replicas.list[0].strategy.keys_moved().filter(|&s| s > 0.0) else { return };
        let moved = share * keys as f64;
        if self.now >= self.window_start {
            self.metrics.keys.remapped += moved;
            self.metrics.keys.remaps += 1;
        }
        let name = self.replicas.list[0].strategy.name().to_string();
        self.notice(format!(
            "{name} remapped {:.1}% of the keys (about {moved:.0} of {keys}) to other workers",
            share * 100.0
        ));
    }

    /// A load report was taken (the shared views now hold it): `report+local` replicas start
    /// again from it.
    pub(super) fn report_taken(&mut self) {
        self.replicas.report_at = self.now;
        if self.replicas.view != View::ReportLocal {
            return;
        }
        let now = self.now;
        for replica in &mut self.replicas.list {
            for w in 0..self.views.len() {
                let pending = self.views[w].pending;
                if replica.own[w].pending != pending {
                    replica.own[w].pending = pending;
                    if self.replicas.pending_changes {
                        replica.strategy.on_pending_change(w, &Cluster::new(now, &replica.own, &self.up));
                    }
                }
            }
        }
    }

    /// Unaligned replicas start their fixed orders (round robin) at random points, each from
    /// its own stream; a single balancer, or aligned replicas, start where they always do.
    pub(super) fn offset_replicas(&mut self, aligned: bool) {
        if self.replicas.count() == 1 || aligned {
            return;
        }
        let now = self.now;
        for replica in &mut self.replicas.list {
            let views = if replica.own.is_empty() { &self.views[..] } else { &replica.own[..] };
            replica.strategy.start_as_replica(&Cluster::new(now, views, &self.up), &mut replica.rng);
        }
    }
}

/// The oracle's knowledge: each worker's remaining work, which the model knows because it
/// drew every service time when the service began (and knows the demands of the queue).
struct WorkLeft<'a> {
    workers: &'a [super::Worker],
    now: Nanos,
    /// The demand of the request being placed.
    demand: Option<Nanos>,
    /// The service distribution.
    sizes: &'a crate::dist::Dist,
}

impl strategy::Oracle for WorkLeft<'_> {
    fn demand(&self) -> Option<Nanos> {
        self.demand
    }

    fn sizes(&self) -> Option<&crate::dist::Dist> {
        Some(self.sizes)
    }

    fn work_left(&self, w: WorkerId) -> Nanos {
        let worker = &self.workers[w];
        if let Some(shared) = &worker.shared {
            // Sharing or preempting: all it holds, at its speed over its servers.
            let servers = match worker.spec.discipline {
                super::Discipline::Ps => 1.0,
                _ => worker.spec.concurrency.max(1) as f64,
            };
            return (shared.work_left(self.now, worker.speed) / worker.speed / servers).round() as Nanos;
        }
        let serving: Nanos = worker.serving.iter().map(|a| a.done.saturating_sub(self.now)).sum();
        let queued: Nanos =
            worker.queue.iter().map(|a| super::flow::service_time(a.demand, worker.speed)).sum();
        (serving + queued) / worker.spec.concurrency.max(1) as Nanos
    }
}

impl WorkerView {
    /// A placeholder for a worker added to a replica's own views; its fields are copied from
    /// the shared view straight after.
    fn default_for_sync() -> WorkerView {
        WorkerView { pending: 0, speed: 1.0, weight: 1.0, up: false, last_latency: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Arrivals, QueueFate, RetryPolicy, ScheduledCrash, SimConfig, Stop, WorkerSpec};
    use super::*;
    use crate::time::MILLIS;

    /// Five workers, five replicas, faults that hand requests back, retries that abandon
    /// attempts, and a network delay: everything that moves a replica's own counts.
    fn config(view: View) -> SimConfig {
        let mut c = SimConfig::new(
            vec![WorkerSpec::default(); 5],
            Arrivals::Poisson { rate: 400.0 },
            "exp:10ms".parse().unwrap(),
        );
        c.stop = Stop::Requests(5_000);
        c.faults.on_crash = QueueFate::Requeue;
        c.faults.crashes = vec![ScheduledCrash { worker: 2, at: 2_000 * MILLIS, duration: 1_000 * MILLIS }];
        c.faults.network_delay = Some("exp:1ms".parse().unwrap());
        c.defences.retry = Some(RetryPolicy {
            max: 2,
            backoff: MILLIS,
            max_backoff: 10 * MILLIS,
            per_try_timeout: Some(30 * MILLIS),
            budget: None,
        });
        c.defences.balancers.count = 5;
        c.defences.balancers.view = Some(view);
        if view.uses_report() {
            c.defences.load_refresh = Some(20 * MILLIS);
        }
        c
    }

    fn sim(c: SimConfig) -> Sim {
        Sim::new(c, strategy::build("least-loaded", &Default::default()).unwrap()).unwrap()
    }

    #[test]
    fn local_views_count_exactly_the_replicas_own_attempts() {
        let mut s = sim(config(View::Local));
        let mut steps = 0;
        while s.step().is_some() {
            steps += 1;
            for w in 0..s.workers.len() {
                let own: u32 = s.replicas.list.iter().map(|r| r.own[w].pending).sum();
                assert_eq!(own, s.workers[w].outstanding, "worker {w} after {steps} steps");
            }
        }
        assert!(s.metrics().counters.is_conserved() && s.metrics().attempts.timeouts > 0);
        // Every replica sent some; at the end only attempts abandoned by their per-try timeout
        // (still at their workers) are counted, by exactly the replicas that sent them.
        assert!(s.metrics().balancers.iter().all(|b| b.picks > 500), "{:?}", s.metrics().balancers);
        let left: u32 = s.workers.iter().map(|w| w.outstanding).sum();
        let own: u32 = s.replicas.list.iter().flat_map(|r| r.own.iter().map(|v| v.pending)).sum();
        assert_eq!(own, left);
    }

    #[test]
    fn report_plus_local_is_the_report_plus_what_each_replica_sent_since() {
        let mut c = config(View::ReportLocal);
        c.defences.balancers.dispatch_delay = Some("exp:2ms".parse().unwrap());
        let mut s = sim(c);
        while s.step().is_some() {
            for r in &s.replicas.list {
                for (own, report) in r.own.iter().zip(&s.views) {
                    assert!(
                        own.pending >= report.pending,
                        "own {} below the report {}",
                        own.pending,
                        report.pending
                    );
                }
            }
        }
        // Once everything is answered, each replica is back to the latest report (nothing it
        // sent since is still out).
        for r in &s.replicas.list {
            let own: Vec<u32> = r.own.iter().map(|v| v.pending).collect();
            let report: Vec<u32> = s.views.iter().map(|v| v.pending).collect();
            assert_eq!(own, report);
        }
    }

    #[test]
    fn local_views_with_a_dispatch_delay_end_with_nothing_counted() {
        let mut c = config(View::Local);
        c.defences.balancers.dispatch_delay = Some("exp:2ms".parse().unwrap());
        // No attempt is abandoned, so every one sent is answered before the run ends.
        c.defences.retry.as_mut().unwrap().per_try_timeout = None;
        let mut s = sim(c);
        s.run();
        assert!(s.metrics().counters.is_conserved() && s.metrics().counters.in_flight == 0);
        assert!(s.replicas.list.iter().all(|r| r.own.iter().all(|v| v.pending == 0)));
        assert_eq!(s.workers.iter().map(|w| w.outstanding).sum::<u32>(), 0);
    }

    #[test]
    fn assignment_in_turn_and_at_random() {
        let mut c = config(View::Global);
        c.defences.balancers.assignment = Assignment::RoundRobin;
        let mut r = Replicas::new(1, &c.defences.balancers, View::Global, Vec::new(), &[], false);
        r.list = (0..3)
            .map(|_| Replica {
                strategy: strategy::build("random", &Default::default()).unwrap(),
                rng: SimRng::stream(1, Stream::Strategy),
                own: Vec::new(),
            })
            .collect();
        assert_eq!((0..7).map(|k| r.assign(k)).collect::<Vec<_>>(), [0, 1, 2, 0, 1, 2, 0]);
        r.assignment = Assignment::Random;
        let mut seen = [0u32; 3];
        for _ in 0..30_000 {
            seen[r.assign(0) as usize] += 1;
        }
        // 10,000 expected each; binomial sd about 82, so +-400 is beyond 4 sd.
        assert!(seen.iter().all(|&n| (9_600..=10_400).contains(&n)), "{seen:?}");
        // By key: a key always reaches the same replica, and 30,000 keys spread alike.
        r.assignment = Assignment::Hash;
        let mut seen = [0u32; 3];
        for k in 0..30_000 {
            let a = r.assign(k);
            assert_eq!(a, r.assign(k));
            seen[a as usize] += 1;
        }
        assert!(seen.iter().all(|&n| (9_600..=10_400).contains(&n)), "{seen:?}");
    }
}
