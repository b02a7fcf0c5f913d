//! Checking that a [`SimConfig`] can run: one clear error naming the setting.

use super::*;

impl SimConfig {
    /// Checks that the configuration can run. Loads of 1 or more are allowed (queues grow
    /// without bound, which can be the point of a lesson).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_workers()?;
        self.validate_faults()?;
        self.validate_defences()?;
        self.validate_arrivals()?;
        match self.stop {
            Stop::Requests(0) => return Err(bad("run.requests", "must be at least 1")),
            Stop::Duration(0) => return Err(bad("run.duration", "must be longer than 0")),
            _ => {}
        }
        self.validate_strategy_params()?;
        if self.defences.max_in_flight == Some(0) {
            return Err(bad("run.max_in_flight", "must be at least 1"));
        }
        self.validate_times()?;
        self.validate_periods()?;
        if let Some(interval) = self.timeline {
            crate::metrics::timeline::check(
                interval,
                self.expected_span() - self.warmup as f64,
                self.workers.len(),
            )
            .map_err(|e| bad("timeline", e))?;
        }
        Ok(())
    }

    fn validate_workers(&self) -> Result<(), ConfigError> {
        if self.workers.is_empty() {
            return Err(bad("workers", "at least one worker is needed"));
        }
        if self.workers.len() > MAX_WORKERS as usize {
            return Err(bad("workers", format!("at most {MAX_WORKERS} workers, got {}", self.workers.len())));
        }
        for w in &self.workers {
            if !(w.speed.is_finite() && (MIN_SPEED..=1e6).contains(&w.speed)) {
                return Err(bad(
                    "workers.speed",
                    format!("must be between 1e-6 and 1e6, got {}", crate::text::number(w.speed)),
                ));
            }
            if !(w.weight.is_finite() && w.weight > 0.0) {
                return Err(bad(
                    "workers.weight",
                    format!("must be positive, got {}", crate::text::number(w.weight)),
                ));
            }
            if w.concurrency == 0 {
                return Err(bad("workers.concurrency", "must be at least 1"));
            }
            probability("workers.error_rate", w.error_rate)?;
        }
        Ok(())
    }

    fn validate_arrivals(&self) -> Result<(), ConfigError> {
        match &self.arrivals {
            Arrivals::Poisson { rate } | Arrivals::Constant { rate } => {
                check_rate("arrivals.rate", *rate, false)?
            }
            Arrivals::Bursty { rate, base_rate, burst, gap } => {
                check_rate("arrivals.rate", *rate, false)?;
                check_rate("arrivals.base_rate", *base_rate, true)?;
                if *burst == 0 || *gap == 0 {
                    return Err(bad("arrivals.burst", "burst and gap must both be longer than 0"));
                }
            }
            Arrivals::Trace { trace, scale } => {
                if !(scale.is_finite() && *scale > 0.0 && *scale <= 1e6) {
                    return Err(bad("arrivals.time_scale", format!("must be in (0, 1e6], got {scale}")));
                }
                if trace.is_empty() {
                    return Err(bad("arrivals.file", "the trace has no requests"));
                }
            }
            Arrivals::Closed { clients, think } => {
                if *clients == 0 {
                    return Err(bad("arrivals.clients", "at least one client is needed"));
                }
                if *clients > 10_000_000 {
                    return Err(bad("arrivals.clients", "at most 10,000,000 clients"));
                }
                if think.mean() <= 0.0 {
                    // With zero think time a client turned away would retry at the same
                    // instant for ever.
                    return Err(bad("arrivals.think", "the mean think time must be positive"));
                }
            }
        }
        Ok(())
    }

    fn validate_strategy_params(&self) -> Result<(), ConfigError> {
        let choices = self.strategy_params.choices;
        if choices == 0 || choices > MAX_WORKERS as usize {
            // More choices than a cluster can have workers sample every worker, like
            // `MAX_WORKERS` choices, but would reserve room for them all on every pick.
            return Err(bad("strategy.choices", format!("must be from 1 to {MAX_WORKERS}, got {choices}")));
        }
        let p = &self.strategy_params;
        if p.ring_size == 0 || p.ring_size > crate::strategy::MAX_RING_POINTS {
            return Err(bad(
                "strategy.ring_size",
                format!("must be from 1 to {}", crate::strategy::MAX_RING_POINTS),
            ));
        }
        if p.table_size < 2 || p.table_size > 10_000_000 {
            return Err(bad("strategy.table_size", "must be from 2 to 10,000,000"));
        }
        if !(p.balance_factor.is_finite() && p.balance_factor > 1.0 && p.balance_factor <= 100.0) {
            return Err(bad(
                "strategy.balance_factor",
                format!("must be above 1 and at most 100, got {}", crate::text::number(p.balance_factor)),
            ));
        }
        if !(p.active_request_bias.is_finite() && (0.0..=10.0).contains(&p.active_request_bias)) {
            return Err(bad("strategy.active_request_bias", "must be from 0 to 10"));
        }
        if self.strategy_params.ewma_decay == 0 {
            return Err(bad("strategy.decay", "must be longer than 0"));
        }
        Ok(())
    }

    /// The cap on requests in flight and on attempts at workers.
    pub fn max_in_flight(&self) -> u64 {
        self.defences.max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT)
    }

    /// About how much virtual time the run covers (ns, as a float so that absurd settings
    /// show as absurd rather than overflowing): the warm-up plus the measured duration, or
    /// plus the time to send the requests at the mean rate (or to serve them, if longer).
    pub fn expected_span(&self) -> f64 {
        let warmup = self.warmup as f64;
        match self.stop {
            Stop::Duration(d) => warmup + d as f64,
            Stop::Requests(n) => {
                let rate = match &self.arrivals {
                    Arrivals::Closed { clients, think } => *clients as f64 * SECS as f64 / think.mean(),
                    open => open.mean_rate().unwrap_or(0.0),
                };
                let sending = n as f64 * SECS as f64 / rate;
                let serving = n as f64 / self.capacity() * SECS as f64;
                warmup + sending.max(serving)
            }
        }
    }

    /// About how many requests the run sends (warm-up included).
    fn expected_requests(&self) -> f64 {
        match (self.stop, self.arrivals.mean_rate()) {
            (Stop::Requests(n), _) => n as f64,
            (Stop::Duration(_), Some(rate)) => rate * self.expected_span() / SECS as f64,
            (Stop::Duration(_), None) => self.capacity() * self.expected_span() / SECS as f64,
        }
    }

    /// Every time in the configuration, and the run as a whole, must fit in virtual time.
    fn validate_times(&self) -> Result<(), ConfigError> {
        let limit = crate::time::MAX_TIME;
        dist("service", &self.service)?;
        if let Arrivals::Closed { think, .. } = &self.arrivals {
            dist("arrivals.think", think)?;
        }
        if let Arrivals::Bursty { burst, gap, .. } = self.arrivals {
            fits("arrivals.burst", burst)?;
            fits("arrivals.gap", gap)?;
        }
        if let Arrivals::Trace { trace, scale } = &self.arrivals {
            let scaled = trace.span() as f64 * scale;
            if scaled > limit as f64 {
                return Err(bad(
                    "arrivals.time_scale",
                    format!(
                        "the trace scaled by {scale} is longer than the longest virtual time lbsim can simulate"
                    ),
                ));
            }
        }
        fits("run.warmup", self.warmup)?;
        if let Stop::Duration(d) = self.stop {
            fits("run.duration", d)?;
        }
        fits("strategy.decay", self.strategy_params.ewma_decay)?;
        fits("strategy.error_penalty", self.strategy_params.error_penalty)?;
        let f = &self.faults;
        if let Some(d) = &f.network_delay {
            dist("faults.network_delay", d)?;
        }
        if let Some(d) = &self.defences.balancers.dispatch_delay {
            dist("balancers.dispatch_delay", d)?;
        }
        for c in &f.crashes {
            fits("faults.crash.at", c.at)?;
            fits("faults.crash.duration", c.duration)?;
        }
        if let Some(r) = &f.random_crashes {
            fits("faults.random_crashes.mtbf", r.mtbf)?;
            fits("faults.random_crashes.mttr", r.mttr)?;
        }
        for s in &f.slowdowns {
            fits("faults.slowdown.from", s.from)?;
            fits("faults.slowdown.to", s.to)?;
        }
        self.validate_defence_times()?;
        self.validate_span()
    }

    fn validate_defence_times(&self) -> Result<(), ConfigError> {
        let d = &self.defences;
        if let Some(t) = d.timeout {
            fits("timeout", t)?;
        }
        if let Some(r) = &d.retry {
            fits("retry.backoff", r.backoff)?;
            fits("retry.max_backoff", r.max_backoff)?;
            if let Some(t) = r.per_try_timeout {
                fits("retry.per_try_timeout", t)?;
            }
        }
        if let Detection::HealthChecks { interval, .. } = d.detection {
            fits("health_check.interval", interval)?;
        }
        if let Some(o) = &d.outlier {
            fits("outlier_ejection.base_ejection", o.base_ejection)?;
        }
        if let Some(t) = d.load_refresh {
            fits("balancer.load_refresh", t)?;
        }
        if let Some(a) = &d.autoscale {
            fits("autoscale.interval", a.interval)?;
            fits("autoscale.startup", a.startup)?;
            fits("autoscale.cooldown", a.cooldown)?;
        }
        Ok(())
    }

    /// The run as a whole must fit in virtual time.
    fn validate_span(&self) -> Result<(), ConfigError> {
        let limit = crate::time::MAX_TIME;
        // The run as a whole: sending its requests, or serving them, must fit too.
        let span = self.expected_span();
        if span.is_nan() || span > limit as f64 {
            let field = match (self.stop, &self.arrivals) {
                (Stop::Duration(_), _) => "run.duration",
                (Stop::Requests(n), a) => {
                    let rate = a.mean_rate().unwrap_or(f64::INFINITY);
                    if n as f64 * SECS as f64 / rate > n as f64 / self.capacity() * SECS as f64 {
                        match a {
                            Arrivals::Closed { .. } => "arrivals.think",
                            _ => "arrivals.rate",
                        }
                    } else {
                        "service"
                    }
                }
            };
            // An infinite span (a rate of 1e-300) never ends: not "about infs".
            let length = match span / SECS as f64 {
                s if s.is_finite() => format!("take about {s:.3e}s of virtual time"),
                _ => "never end".to_string(),
            };
            return Err(bad(
                field,
                format!(
                    "the run would {length}, more than lbsim can simulate (2^61 ns of virtual time, about \
                     {:.0} years)",
                    limit as f64 / SECS as f64 / 31_557_600.0
                ),
            ));
        }
        Ok(())
    }

    /// Periodic events (health checks, load refreshes, autoscaler ticks, random crashes,
    /// burst phases) must not swamp the run: each may do at most a budget of work that
    /// grows with the requests the run sends. A period too short for the run is rejected,
    /// naming the shortest one that would do.
    fn validate_periods(&self) -> Result<(), ConfigError> {
        let span = self.expected_span();
        let budget = PERIODIC_WORK_FLOOR.max(PERIODIC_WORK_PER_REQUEST * self.expected_requests());
        let n = self.workers.len() as f64;
        let check = |field: &str, shown: &str, period: Nanos, per_tick: f64, what: &str| {
            let ticks = span / period.max(1) as f64;
            if ticks * per_tick <= budget {
                return Ok(());
            }
            let shortest = (span * per_tick / budget).ceil() as Nanos;
            Err(bad(
                field,
                format!(
                    "{shown} is too short for this run ({:.1e} {what} over about {}); use at least {} \
                     or a shorter run",
                    ticks,
                    crate::time::Human(span as Nanos),
                    crate::time::Human(shortest.max(1)),
                ),
            ))
        };
        let d = &self.defences;
        if let Detection::HealthChecks { interval, .. } = d.detection {
            let shown = crate::time::canonical(interval);
            check("health_check.interval", &shown, interval, n, "rounds of health checks")?;
        }
        if let Some(t) = d.load_refresh {
            let per_tick = n * d.balancers.count as f64;
            check("balancer.load_refresh", &crate::time::canonical(t), t, per_tick, "refreshes")?;
        }
        if let Some(a) = &d.autoscale {
            let shown = crate::time::canonical(a.interval);
            check("autoscale.interval", &shown, a.interval, n.max(a.max as f64), "autoscaler ticks")?;
        }
        if let Some(r) = &self.faults.random_crashes {
            // Each worker crashes and is repaired once per mtbf + mttr, on average.
            let cycle = r.mtbf.saturating_add(r.mttr);
            let shown = format!("mtbf + mttr = {}", crate::time::canonical(cycle));
            check("faults.random_crashes.mtbf", &shown, cycle, 2.0 * n, "crashes and repairs")?;
        }
        if let Arrivals::Bursty { burst, gap, .. } = self.arrivals {
            let cycle = burst.saturating_add(gap);
            let shown = format!("burst + gap = {}", crate::time::canonical(cycle));
            check("arrivals.burst", &shown, cycle, 2.0, "phase changes")?;
        }
        Ok(())
    }
}

/// A time that must fit in virtual time.
fn fits(field: &str, t: Nanos) -> Result<(), ConfigError> {
    let limit = crate::time::MAX_TIME;
    if t <= limit {
        return Ok(());
    }
    Err(bad(
        field,
        format!(
            "{} is longer than the longest virtual time lbsim can simulate (2^61 ns, about {:.0} years)",
            crate::time::canonical(t),
            limit as f64 / SECS as f64 / 31_557_600.0
        ),
    ))
}

fn dist(field: &str, d: &Dist) -> Result<(), ConfigError> {
    fits(field, d.largest())
}

fn probability(field: &str, p: f64) -> Result<(), ConfigError> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(bad(field, format!("must be a probability between 0 and 1, got {p}")))
    }
}

fn positive_time(field: &str, t: Nanos) -> Result<(), ConfigError> {
    if t == 0 { Err(bad(field, "must be longer than 0")) } else { Ok(()) }
}

impl SimConfig {
    fn validate_faults(&self) -> Result<(), ConfigError> {
        let n = self.workers.len();
        let worker = |field: &str, w: usize| {
            if w < n {
                Ok(())
            } else {
                Err(bad(field, format!("there is no worker {w} (workers are numbered 0 to {})", n - 1)))
            }
        };
        for c in &self.faults.crashes {
            worker("faults.crash.worker", c.worker)?;
            positive_time("faults.crash.duration", c.duration)?;
        }
        if let Some(r) = &self.faults.random_crashes {
            positive_time("faults.random_crashes.mtbf", r.mtbf)?;
            positive_time("faults.random_crashes.mttr", r.mttr)?;
        }
        for s in &self.faults.slowdowns {
            worker("faults.slowdown.worker", s.worker)?;
            if !(s.factor.is_finite() && s.factor >= 1.0 && s.factor <= 1e6) {
                return Err(bad(
                    "faults.slowdown.factor",
                    format!("must be between 1 and 1e6, got {}", s.factor),
                ));
            }
            if s.to <= s.from {
                return Err(bad("faults.slowdown.to", "must be later than `from`"));
            }
        }
        Ok(())
    }

    fn validate_balancers(&self) -> Result<(), ConfigError> {
        let d = &self.defences;
        let b = &d.balancers;
        if b.count == 0 || b.count > MAX_BALANCERS {
            return Err(bad(
                "balancers.count",
                format!("must be from 1 to {MAX_BALANCERS}, got {}", b.count),
            ));
        }
        let most_workers = d.autoscale.as_ref().map_or(0, |a| a.max as u64).max(self.workers.len() as u64);
        if b.count as u64 * most_workers > MAX_REPLICA_WORKERS {
            return Err(bad(
                "balancers.count",
                format!(
                    "{} replicas x {most_workers} workers is more than {MAX_REPLICA_WORKERS} (each replica \
                     keeps its own state for every worker)",
                    b.count
                ),
            ));
        }
        if b.assignment == Assignment::Hash && self.keys.is_none() {
            return Err(bad("balancers.assignment", "`hash` needs keyed requests: add a [keys] table"));
        }
        if let Some(k) = &self.keys {
            k.validate().map_err(|(field, problem)| bad(field, problem))?;
        }
        match (b.view, d.load_refresh) {
            (Some(v), None) if v.uses_report() => {
                return Err(bad(
                    "balancers.view",
                    format!("`{}` needs a refresh period: balancers.refresh (or --load-refresh)", v.name()),
                ));
            }
            (Some(v), Some(_)) if !v.uses_report() => {
                return Err(bad(
                    "balancer.load_refresh",
                    format!(
                        "a load refresh applies to the report views, but balancers.view is `{}` \
                         (use report or report+local)",
                        v.name()
                    ),
                ));
            }
            _ => {}
        }
        Ok(())
    }

    /// Retries that could never fire are refused, with the reason: with a request deadline
    /// and no per-try timeout, an attempt that is slow ends the whole request, and when no
    /// worker can fail, reject or crash either, no attempt ever fails short of the deadline
    /// (lesson 17's `t` once logged `retries on` while the retry counter stayed 0).
    fn validate_retries_can_fire(&self, r: &RetryPolicy) -> Result<(), ConfigError> {
        let Some(deadline) = self.defences.timeout else { return Ok(()) };
        let can_fail = r.per_try_timeout.is_some()
            || self.workers.iter().any(|w| w.error_rate > 0.0 || w.queue_capacity.is_some())
            || !self.faults.crashes.is_empty()
            || self.faults.random_crashes.is_some();
        if can_fail {
            return Ok(());
        }
        Err(bad(
            "retry",
            format!(
                "retries would never fire: no attempt can fail here (no errors, crashes or full \
                 queues), and a slow one meets the {} deadline, which ends the whole request; \
                 give retries a per-try timeout shorter than the deadline (--per-try-timeout, or \
                 per_try_timeout in the scenario's [retry])",
                crate::time::Human(deadline)
            ),
        ))
    }

    fn validate_defences(&self) -> Result<(), ConfigError> {
        let d = &self.defences;
        if let Some(t) = d.timeout {
            positive_time("timeout", t)?;
        }
        if let Some(r) = &d.retry {
            if r.max > 100 {
                return Err(bad("retry.max", format!("at most 100 retries, got {}", r.max)));
            }
            if r.max_backoff < r.backoff {
                return Err(bad("retry.max_backoff", "must be at least `backoff`"));
            }
            if let Some(t) = r.per_try_timeout {
                positive_time("retry.per_try_timeout", t)?;
            }
            if let Some(b) = r.budget {
                probability("retry.budget", b)?;
            }
            self.validate_retries_can_fire(r)?;
        }
        if let Detection::HealthChecks { interval, unhealthy, healthy } = d.detection {
            positive_time("health_check.interval", interval)?;
            if unhealthy == 0 || healthy == 0 {
                return Err(bad("health_check", "thresholds must be at least 1"));
            }
        }
        if let Some(o) = &d.outlier {
            if o.consecutive_errors == 0 {
                return Err(bad("outlier_ejection.consecutive_errors", "must be at least 1"));
            }
            positive_time("outlier_ejection.base_ejection", o.base_ejection)?;
            probability("outlier_ejection.max_ejected", o.max_ejected)?;
        }
        if let Some(t) = d.load_refresh {
            positive_time("balancer.load_refresh", t)?;
        }
        self.validate_balancers()?;
        if let Some(p) = d.panic_threshold {
            probability("balancer.panic_threshold", p)?;
        }
        if let Some(s) = &d.slow_start {
            positive_time("slow_start.window", s.window)?;
            if !(s.aggression.is_finite() && s.aggression > 0.0 && s.aggression <= 100.0) {
                return Err(bad("slow_start.aggression", "must be above 0 and at most 100"));
            }
            if !(s.min_weight_percent.is_finite()
                && s.min_weight_percent > 0.0
                && s.min_weight_percent <= 100.0)
            {
                return Err(bad("slow_start.min_weight_percent", "must be above 0 and at most 100"));
            }
        }
        if let Some(a) = &d.autoscale {
            let n = self.workers.len() as u32;
            if a.min == 0 {
                return Err(bad("autoscale.min", "must be at least 1"));
            }
            if a.min > a.max {
                return Err(bad("autoscale.min", format!("min ({}) is more than max ({})", a.min, a.max)));
            }
            if n < a.min || n > a.max {
                return Err(bad(
                    "autoscale",
                    format!("the cluster starts with {n} workers, outside min..max"),
                ));
            }
            if a.max > 100_000 {
                return Err(bad("autoscale.max", "at most 100,000 workers"));
            }
            if a.scale_down >= a.scale_up
                || a.scale_down < 0.0
                || !a.scale_up.is_finite()
                || a.scale_down.is_nan()
            {
                return Err(bad("autoscale.scale_down", "must be at least 0 and below scale_up"));
            }
            positive_time("autoscale.interval", a.interval)?;
            if a.sustain == 0 {
                return Err(bad("autoscale.sustain", "must be at least 1"));
            }
        }
        Ok(())
    }
}
