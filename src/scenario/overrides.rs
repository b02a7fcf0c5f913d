//! Typed overrides of a scenario: what the command line's flags (and a sweep's cells) change,
//! applied in one place, [`Overrides::apply`].
//!
//! Every field is an `Option` of a checked value (`None`: the scenario's own setting stays);
//! the command line builds an `Overrides` from its flags, and `sweep` adds each cell's load and
//! `--vary` value with [`Overrides::merged`]. An error names the flag that set the field at
//! fault, so that the user reads `--workers: ...` rather than a scenario field they never
//! wrote.

use std::time::Duration;

use super::{ArrivalSpec, Level, Scenario};
use crate::dist::Dist;
use crate::engine::{Backpressure, ConfigError, Detection, OutlierEjection, SlowStart, Stop, View};
use crate::engines::EngineKind;
use crate::live::Work;
use crate::time::{Nanos, SECS};

/// `--warmup`: a fixed time, or `auto` (MSER-5 on pilot runs whose data is not reused, see `sweep::warmup`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Warmup {
    /// Exclude this much virtual time at the start.
    Fixed(Nanos),
    /// Find the transient with MSER-5 on pilot runs (not the measured one) and exclude it.
    Auto,
}

impl Warmup {
    /// Parses `--warmup`: `auto` or a duration (`5s`).
    pub fn parse(s: &str) -> Result<Warmup, String> {
        if s == "auto" { Ok(Warmup::Auto) } else { crate::time::parse_duration(s).map(Warmup::Fixed) }
    }
}

/// `--slow-start`: a window, or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlowStartFlag {
    /// No slow start, whatever the scenario says.
    Off,
    /// Ramp over this window (the scenario's aggression and floor kept, else Envoy's defaults).
    Window(Nanos),
}

/// `--failure-detection`: how the balancer learns that a worker is down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailureDetection {
    /// At once.
    Instant,
    /// Health checks every 1s, down after 2 failures (the scenario's checks kept).
    HealthChecks,
    /// Never.
    None,
}

/// `--backpressure`: what happens when the chosen worker's queue is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BackpressureFlag {
    /// Reject the request.
    Reject,
    /// Hold it at the balancer until there is room.
    Block,
}

/// What to change in a scenario. Built by the command line from its flags; each field is
/// named after its flag.
#[derive(Clone, Debug, Default, PartialEq)]
#[allow(missing_docs)] // each field is the flag of the same name (see `lbsim run --help`)
pub struct Overrides {
    pub workers: Option<u32>,
    pub rate: Option<f64>,
    pub load: Option<f64>,
    pub service: Option<Dist>,
    pub discipline: Option<crate::model::config::Discipline>,
    pub requests: Option<u64>,
    pub duration: Option<Nanos>,
    pub seed: Option<u64>,
    pub warmup: Option<Warmup>,
    pub choices: Option<u32>,
    pub ring_size: Option<u32>,
    pub table_size: Option<u64>,
    pub balance_factor: Option<f64>,
    pub active_request_bias: Option<f64>,
    pub cutoffs: Option<Vec<Nanos>>,
    pub ewma_decay: Option<Nanos>,
    pub error_penalty: Option<Nanos>,
    pub timeout: Option<Nanos>,
    pub retries: Option<u32>,
    pub per_try_timeout: Option<Nanos>,
    pub retry_budget: Option<f64>,
    pub failure_detection: Option<FailureDetection>,
    /// `--outlier-ejection` (`Some(true)`: given).
    pub outlier_ejection: Option<bool>,
    pub load_refresh: Option<Nanos>,
    pub panic_threshold: Option<f64>,
    pub slow_start: Option<SlowStartFlag>,
    pub balancers: Option<u32>,
    pub balancer_view: Option<View>,
    pub backpressure: Option<BackpressureFlag>,
    pub error_rate: Option<f64>,
    pub max_in_flight: Option<u64>,
    /// `--timeline TIME`.
    pub timeline: Option<Nanos>,
    /// `--timeline-csv FILE` was given (a timeline is kept, every `--timeline` or 1s).
    pub timeline_csv: Option<bool>,
    pub trace_scale: Option<f64>,
    pub engine: Option<EngineKind>,
    pub work: Option<Work>,
    pub threads: Option<u32>,
    pub time_scale: Option<f64>,
    pub grace: Option<Nanos>,
    /// `--cancel-abandoned` (`Some(true)`: given).
    pub cancel_abandoned: Option<bool>,
}

/// Whether a switch was given.
fn on(flag: Option<bool>) -> bool {
    flag == Some(true)
}

impl Overrides {
    /// These overrides with those `more` sets on top (a sweep's cell: its load, its `--vary`
    /// value).
    pub fn merged(&self, more: &Overrides) -> Overrides {
        let mut out = self.clone();
        macro_rules! take {
            ($($f:ident),*) => { $( if more.$f.is_some() { out.$f = more.$f.clone(); } )* };
        }
        take!(
            workers,
            rate,
            load,
            service,
            discipline,
            requests,
            duration,
            seed,
            warmup,
            choices,
            ring_size,
            table_size,
            balance_factor,
            active_request_bias,
            cutoffs,
            ewma_decay,
            error_penalty,
            timeout,
            retries,
            per_try_timeout,
            retry_budget,
            failure_detection,
            outlier_ejection,
            load_refresh,
            panic_threshold,
            slow_start,
            balancers,
            balancer_view,
            backpressure,
            error_rate,
            max_in_flight,
            timeline,
            timeline_csv,
            trace_scale,
            engine,
            work,
            threads,
            time_scale,
            grace,
            cancel_abandoned
        );
        out
    }

    /// Applies the overrides to `s`, then checks the result as the engine would, so that an
    /// impossible combination is found before anything runs; an error names the flag that
    /// set the field at fault.
    pub fn apply(&self, s: &mut Scenario) -> Result<(), String> {
        self.apply_workload(s)?;
        self.apply_strategy(s);
        self.apply_defences(s)?;
        self.apply_live(s)?;
        s.to_config().map_err(|e| self.blame(&e))?;
        Ok(())
    }

    /// Workers, arrivals, service, the run's length, seed, warm-up and timeline.
    fn apply_workload(&self, s: &mut Scenario) -> Result<(), String> {
        if let Some(n) = self.workers {
            // The parser has checked `n` against the limit: nothing this large is allocated.
            s.workers = s.workers.iter().cycle().take(n as usize).cloned().collect();
        }
        if let Some(n) = self.max_in_flight {
            s.defences.max_in_flight = Some(n);
        }
        if self.timeline.is_some() || on(self.timeline_csv) {
            s.timeline = Some(self.timeline.unwrap_or(SECS));
        }
        super::trace_flags(s, self.rate.is_some(), self.load.is_some(), self.trace_scale)?;
        if let Some(rate) = self.rate {
            s.arrivals = ArrivalSpec::Poisson(Level::Rate(rate));
        }
        if let Some(load) = self.load {
            s.arrivals = ArrivalSpec::Poisson(Level::Load(load));
        }
        if let Some(service) = &self.service {
            s.service = service.clone();
        }
        if let Some(n) = self.requests {
            s.stop = Stop::Requests(n);
        }
        if let Some(d) = self.duration {
            s.stop = Stop::Duration(d);
        }
        if let Some(seed) = self.seed {
            s.seed = seed;
        }
        match self.warmup {
            Some(Warmup::Fixed(w)) => s.warmup = w,
            // Found per run by `sweep::warmup`, from a pilot run without warm-up.
            Some(Warmup::Auto) => s.warmup = 0,
            None => {}
        }
        if let Some(p) = self.error_rate {
            for w in &mut s.workers {
                w.error_rate = p;
            }
        }
        if let Some(d) = self.discipline {
            for w in &mut s.workers {
                w.discipline = d;
            }
        }
        Ok(())
    }

    /// The strategies' parameters.
    fn apply_strategy(&self, s: &mut Scenario) {
        let p = &mut s.strategy_params;
        if let Some(c) = &self.cutoffs {
            p.cutoffs = c.clone();
        }
        if let Some(d) = self.choices {
            p.choices = d as usize;
        }
        if let Some(d) = self.ewma_decay {
            p.ewma_decay = d;
        }
        if let Some(n) = self.ring_size {
            p.ring_size = n as usize;
        }
        if let Some(n) = self.table_size {
            p.table_size = n;
        }
        if let Some(c) = self.balance_factor {
            p.balance_factor = c;
        }
        if let Some(b) = self.active_request_bias {
            p.active_request_bias = b;
        }
        if let Some(e) = self.error_penalty {
            p.error_penalty = e;
        }
    }

    /// Timeouts, retries, failure detection, outlier ejection, backpressure and the balancers.
    fn apply_defences(&self, s: &mut Scenario) -> Result<(), String> {
        let d = &mut s.defences;
        if let Some(t) = self.timeout {
            d.timeout = Some(t);
        }
        if let Some(max) = self.retries {
            let mut policy = d.retry.clone().unwrap_or_default();
            policy.max = max;
            d.retry = Some(policy);
        }
        if self.per_try_timeout.is_some() || self.retry_budget.is_some() {
            let Some(policy) = d.retry.as_mut() else {
                return Err("--per-try-timeout and --retry-budget need --retries (or a [retry] table)".into());
            };
            if let Some(t) = self.per_try_timeout {
                policy.per_try_timeout = Some(t);
            }
            if let Some(b) = self.retry_budget {
                policy.budget = Some(b);
            }
        }
        match self.failure_detection {
            Some(FailureDetection::Instant) => d.detection = Detection::Instant,
            Some(FailureDetection::None) => d.detection = Detection::Never,
            Some(FailureDetection::HealthChecks)
                if !matches!(d.detection, Detection::HealthChecks { .. }) =>
            {
                d.detection = Detection::DEFAULT_HEALTH_CHECKS;
            }
            _ => {}
        }
        if on(self.outlier_ejection) && d.outlier.is_none() {
            d.outlier = Some(OutlierEjection::default());
        }
        if let Some(p) = self.panic_threshold {
            d.panic_threshold = Some(p);
        }
        match self.slow_start {
            Some(SlowStartFlag::Off) => d.slow_start = None,
            Some(SlowStartFlag::Window(window)) => {
                let kept = d.slow_start.unwrap_or(SlowStart::new(window));
                d.slow_start = Some(SlowStart { window, ..kept });
            }
            None => {}
        }
        match self.backpressure {
            Some(BackpressureFlag::Block) => d.backpressure = Backpressure::Block,
            Some(BackpressureFlag::Reject) => d.backpressure = Backpressure::Reject,
            None => {}
        }
        self.apply_balancers(s);
        Ok(())
    }

    /// The balancer replicas, their view of the loads and its refresh period.
    fn apply_balancers(&self, s: &mut Scenario) {
        let d = &mut s.defences;
        if let Some(t) = self.load_refresh {
            d.load_refresh = Some(t);
            // Today's flag keeps its meaning: a shared report, unless a view says otherwise.
            if d.balancers.view.is_some_and(|v| !v.uses_report()) && self.balancer_view.is_none() {
                d.balancers.view = Some(View::Report);
            }
        }
        if let Some(n) = self.balancers {
            d.balancers.count = n;
        }
        if let Some(v) = self.balancer_view {
            d.balancers.view = Some(v);
            if !v.uses_report() && self.load_refresh.is_none() {
                // A view without reports drops the scenario's refresh period.
                d.load_refresh = None;
            }
        }
    }

    /// The live engine's options; they are an error without `--engine live`.
    fn apply_live(&self, s: &mut Scenario) -> Result<(), String> {
        let given = self.work.is_some()
            || self.threads.is_some()
            || self.time_scale.is_some()
            || self.grace.is_some()
            || on(self.cancel_abandoned);
        let live_engine = self.engine == Some(EngineKind::Live);
        if given && !live_engine {
            return Err(
                "--work, --threads, --time-scale, --grace and --cancel-abandoned apply to --engine live"
                    .into(),
            );
        }
        let live = &mut s.live;
        if let Some(w) = self.work {
            live.work = w;
        }
        if let Some(n) = self.threads {
            live.threads = Some(n as usize);
        }
        if let Some(f) = self.time_scale {
            live.time_scale = f;
        }
        if let Some(g) = self.grace {
            live.grace = Duration::from_nanos(g);
        }
        live.cancel_abandoned |= on(self.cancel_abandoned);
        if live_engine {
            let config = s.to_config().map_err(|e| e.to_string())?;
            crate::live::check_supported(&config)?;
        }
        Ok(())
    }

    /// A configuration error as the user should read it: when a flag set the field at fault,
    /// the flag is named instead of the scenario's field.
    pub fn blame(&self, e: &ConfigError) -> String {
        match self.flag_of(e.field.as_str()) {
            Some(flag) => format!("{flag}: {}", e.problem),
            None => e.to_string(),
        }
    }

    /// The flag that set `field`, if one did.
    fn flag_of(&self, field: &str) -> Option<&'static str> {
        let given = |set: bool, flag: &'static str| set.then_some(flag);
        match field {
            "arrivals.rate" | "arrivals.load" => {
                given(self.rate.is_some(), "--rate").or_else(|| given(self.load.is_some(), "--load"))
            }
            "service" => given(self.service.is_some(), "--service")
                .or_else(|| given(self.load.is_some(), "--load"))
                .or_else(|| given(self.rate.is_some(), "--rate")),
            "workers" | "workers.count" => given(self.workers.is_some(), "--workers"),
            "workers.error_rate" => given(self.error_rate.is_some(), "--error-rate"),
            "workers.discipline" => given(self.discipline.is_some(), "--discipline"),
            "strategy.cutoffs" => given(self.cutoffs.is_some(), "--cutoffs"),
            "run.requests" => given(self.requests.is_some(), "--requests"),
            "run.duration" => given(self.duration.is_some(), "--duration"),
            "run.warmup" => given(self.warmup.is_some(), "--warmup"),
            "run.max_in_flight" => given(self.max_in_flight.is_some(), "--max-in-flight"),
            "arrivals.time_scale" => given(self.trace_scale.is_some(), "--trace-scale"),
            "timeline" => given(self.timeline.is_some(), "--timeline").or(Some("--timeline-csv")),
            "strategy.choices" => given(self.choices.is_some(), "--choices"),
            "strategy.decay" => given(self.ewma_decay.is_some(), "--ewma-decay"),
            "strategy.ring_size" => given(self.ring_size.is_some(), "--ring-size"),
            "strategy.table_size" => given(self.table_size.is_some(), "--table-size"),
            "strategy.balance_factor" => given(self.balance_factor.is_some(), "--balance-factor"),
            "strategy.active_request_bias" => {
                given(self.active_request_bias.is_some(), "--active-request-bias")
            }
            "strategy.error_penalty" => given(self.error_penalty.is_some(), "--error-penalty"),
            "timeout" => given(self.timeout.is_some(), "--timeout"),
            "retry.max" => given(self.retries.is_some(), "--retries"),
            "retry.per_try_timeout" => given(self.per_try_timeout.is_some(), "--per-try-timeout"),
            "retry.budget" => given(self.retry_budget.is_some(), "--retry-budget"),
            "balancer.load_refresh" => given(self.load_refresh.is_some(), "--load-refresh"),
            "balancers.count" => given(self.balancers.is_some(), "--balancers"),
            f if f.starts_with("slow_start") => given(self.slow_start.is_some(), "--slow-start"),
            "balancers.view" => given(self.balancer_view.is_some(), "--balancer-view"),
            f if f.starts_with("health_check") => {
                given(self.failure_detection.is_some(), "--failure-detection health-checks")
            }
            _ => None,
        }
    }
}
