//! Theory beside the simulation (issue 23): what queueing theory predicts for a
//! configuration, when a closed form applies, computed here (integrals numerically), never
//! read from tables.
//!
//! - `mod.rs`: [`predict`], which decides from a [`SimConfig`] and a strategy's name whether
//!   a formula holds exactly (or as a stated limit), and gives its mean and p99, or says why
//!   there is none; and [`predict_until`], the formula that holds until a scheduled fault
//!   breaks its assumptions, and when;
//! - [`formulas`]: M/M/1, M/G/1 (Pollaczek-Khinchine), M/G/1-PS, M/M/c (Erlang C), the
//!   supermarket model, E_k/M/1, closed networks (M/M/1//K and mean value analysis);
//! - [`law`]: size distributions' partial moments, M/G/1-SRPT (Schrage and Miller's integral)
//!   and SITA / SITA-E, ready for the service disciplines and size-aware dispatching.
//!
//! Layer 4 of the house, beside [`crate::report`]: imports the model's configuration and the
//! foundations ([`crate::dist`]); [`crate::report`] and [`crate::tui`] import it.

pub mod formulas;
pub mod law;

use crate::dist::Dist;
use crate::model::config::{Arrivals, Discipline, SimConfig};
use crate::time::{MILLIS, Nanos, SECS};

/// Power of d choices is given its mean-field limit from this many workers up.
pub const MEAN_FIELD_WORKERS: usize = 20;

/// What theory says about a run's end-to-end latency.
#[derive(Clone, Debug, PartialEq)]
pub enum Prediction {
    /// A formula applies.
    Closed {
        /// Its name, e.g. `M/M/1`, `M/G/1 (Pollaczek-Khinchine)`.
        formula: &'static str,
        /// The predicted mean (ns).
        mean: f64,
        /// The predicted 99th percentile (ns), where the formula gives one.
        p99: Option<f64>,
        /// What to know about it (e.g. that it is a limit as workers grow).
        note: Option<String>,
    },
    /// No closed form applies.
    NoClosedForm {
        /// Why, in a few words (`heterogeneous workers`, `retries`, ...).
        why: String,
    },
}

impl Prediction {
    fn none(why: impl Into<String>) -> Prediction {
        Prediction::NoClosedForm { why: why.into() }
    }

    fn closed(formula: &'static str, mean: f64, p99: Option<f64>, note: Option<&str>) -> Prediction {
        Prediction::closed_owned(formula, mean, p99, note.map(str::to_string))
    }

    fn closed_owned(formula: &'static str, mean: f64, p99: Option<f64>, note: Option<String>) -> Prediction {
        Prediction::Closed { formula, mean, p99, note }
    }

    /// The formula's name, if one applies.
    pub fn formula(&self) -> Option<&'static str> {
        match self {
            Prediction::Closed { formula, .. } => Some(formula),
            Prediction::NoClosedForm { .. } => None,
        }
    }

    /// The predicted mean (ms), if a formula applies.
    pub fn mean_ms(&self) -> Option<f64> {
        match self {
            Prediction::Closed { mean, .. } => Some(mean / MILLIS as f64),
            Prediction::NoClosedForm { .. } => None,
        }
    }

    /// The predicted p99 (ms), if the formula gives one.
    pub fn p99_ms(&self) -> Option<f64> {
        match self {
            Prediction::Closed { p99, .. } => p99.map(|p| p / MILLIS as f64),
            Prediction::NoClosedForm { .. } => None,
        }
    }
}

/// What theory predicts for `config` run under the strategy named `strategy`: a formula when
/// its assumptions hold exactly (open-loop Poisson arrivals, identical workers, no faults,
/// retries, timeouts, caps or slow start, and a strategy it models), else why not.
pub fn predict(config: &SimConfig, strategy: &str) -> Prediction {
    predict_before_faults(config, strategy, false)
}

/// [`predict`], or with `before_faults` as if the run had no scheduled crashes or slowdowns.
fn predict_before_faults(config: &SimConfig, strategy: &str, before_faults: bool) -> Prediction {
    if let Err(why) = assumptions(config, strategy, before_faults) {
        return Prediction::none(why);
    }
    match config.arrivals {
        Arrivals::Poisson { rate } => open(config, strategy, rate),
        Arrivals::Closed { clients, ref think } => closed(config, strategy, clients, think),
        Arrivals::Constant { .. } => Prediction::none("constant arrivals, not Poisson"),
        Arrivals::Bursty { .. } => Prediction::none("bursty arrivals, not Poisson"),
        Arrivals::Trace { .. } => Prediction::none("arrivals from a trace, not Poisson"),
    }
}

/// What theory says about a run over time: a formula may hold until a scheduled fault makes
/// its assumptions false.
#[derive(Clone, Debug, PartialEq)]
pub struct Timed {
    /// What holds before [`breaks`](Timed::breaks) (the whole run's prediction when nothing
    /// breaks it on a schedule).
    pub prediction: Prediction,
    /// When a scheduled fault breaks the formula's assumptions, and what it is (`crash`,
    /// `slowdown`); `None` when the prediction is the whole run's.
    pub breaks: Option<Break>,
}

/// The moment a formula stops holding, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Break {
    /// Virtual time (ns).
    pub at: Nanos,
    /// What broke it, in a word or two (`crash`, `slowdown`, `a command`).
    pub what: String,
}

/// What theory predicts for `config` under `strategy` up to its first scheduled fault (crash
/// or slowdown): until then the run is the same as one without its faults, so that one's
/// formula holds, and [`Timed::breaks`] says when it stops. Without scheduled faults, or
/// when the run without them has no closed form either, or when a fault is due at the start,
/// this is [`predict`] for the whole run.
pub fn predict_until(config: &SimConfig, strategy: &str) -> Timed {
    let whole = || Timed { prediction: predict(config, strategy), breaks: None };
    let f = &config.faults;
    let crash = f.crashes.iter().map(|c| (c.at, "crash"));
    let slowdown =
        f.slowdowns.iter().filter(|s| s.to > s.from && s.factor != 1.0).map(|s| (s.from, "slowdown"));
    let Some((at, what)) = crash.chain(slowdown).min_by_key(|(at, _)| *at) else {
        return whole();
    };
    if at == 0 || f.random_crashes.is_some() {
        return whole();
    }
    match predict_before_faults(config, strategy, true) {
        p @ Prediction::Closed { .. } => {
            Timed { prediction: p, breaks: Some(Break { at, what: what.to_string() }) }
        }
        Prediction::NoClosedForm { .. } => whole(),
    }
}

/// The assumptions every formula here shares; the first one broken, in words. Scheduled
/// crashes and slowdowns are not counted `before_faults`.
fn assumptions(config: &SimConfig, strategy: &str, before_faults: bool) -> Result<(), String> {
    let f = &config.faults;
    let d = &config.defences;
    let first = &config.workers[0];
    let broken = [
        ((!f.crashes.is_empty() && !before_faults) || f.random_crashes.is_some(), "faults: crashes"),
        (!f.slowdowns.is_empty() && !before_faults, "faults: slowdowns"),
        (f.network_delay.is_some(), "network delay"),
        (config.workers.iter().any(|w| w.error_rate > 0.0), "faults: worker errors"),
        (d.retry.is_some(), "retries"),
        (d.timeout.is_some(), "timeouts"),
        (d.outlier.is_some(), "outlier ejection"),
        (d.autoscale.is_some(), "autoscaling"),
        (d.slow_start.is_some(), "slow start"),
        (config.workers.iter().any(|w| w.queue_capacity.is_some()), "queue caps"),
        (d.max_in_flight.is_some(), "a cap on requests in flight"),
        (d.balancers.dispatch_delay.is_some(), "dispatch delay"),
        (d.balancers.count > 1 && strategy != "random", "several balancers"),
        (d.load_refresh.is_some() && strategy != "random", "stale load reports"),
        (config.keys.as_ref().is_some_and(|k| k.cache.is_some()), "worker caches"),
        (
            config.workers.iter().any(|w| {
                w.speed != first.speed
                    || w.concurrency != first.concurrency
                    || w.discipline != first.discipline
            }),
            "heterogeneous workers",
        ),
    ];
    match broken.into_iter().find(|(b, _)| *b) {
        Some((_, why)) => Err(why.to_string()),
        None => Ok(()),
    }
}

/// The second moment of the service time at `speed` (ns^2); infinite for Pareto tails with
/// alpha <= 2.
fn second_moment(service: &Dist, speed: f64) -> f64 {
    match service {
        // The interpolated distribution: uniform between neighbouring order statistics.
        Dist::Empirical(samples) => {
            let s = &samples.sorted;
            if s.len() < 2 {
                return s.first().map_or(0.0, |&v| (v as f64 / speed).powi(2));
            }
            let sum: f64 = s
                .windows(2)
                .map(|w| {
                    let (a, b) = (w[0] as f64 / speed, w[1] as f64 / speed);
                    (a * a + a * b + b * b) / 3.0
                })
                .sum();
            sum / (s.len() - 1) as f64
        }
        // Sampled as whole nanoseconds from low to high: the discrete uniform's variance.
        Dist::Uniform { low, high } => {
            let (l, h) = (*low as f64 / speed, *high as f64 / speed);
            let n = (high - low + 1) as f64;
            let mean = (l + h) / 2.0;
            mean * mean + (n * n - 1.0) / 12.0 / (speed * speed)
        }
        other => law::SizeLaw::new(other, speed).map_or(f64::NAN, |l| l.second_moment()),
    }
}

/// One worker (or each of several that random splits the arrivals between) at arrival rate
/// `lambda` (per ns) with `c` slots and mean service time `mean`.
fn single(config: &SimConfig, lambda: f64, c: u32, mean: f64, note: Option<&str>) -> Prediction {
    let exponential = matches!(config.service, Dist::Exp { .. });
    let speed = config.workers[0].speed;
    if config.workers[0].discipline != Discipline::Fcfs {
        return single_preemptive(config, lambda, c, mean, note);
    }
    match (c, exponential) {
        (1, true) => Prediction::closed(
            "M/M/1",
            formulas::mm1_mean(lambda, mean).unwrap_or(f64::NAN),
            formulas::mm1_quantile(lambda, mean, 0.99),
            note,
        ),
        (1, false) => {
            let m2 = second_moment(&config.service, speed);
            if m2.is_infinite() {
                return Prediction::none("service of infinite variance: the mean wait grows without bound");
            }
            let mean = formulas::mg1_mean(lambda, mean, m2).unwrap_or(f64::NAN);
            Prediction::closed("M/G/1 (Pollaczek-Khinchine)", mean, None, note)
        }
        (c, true) => Prediction::closed(
            "M/M/c (Erlang C)",
            formulas::mmc_mean(c, lambda, mean).unwrap_or(f64::NAN),
            formulas::mmc_quantile(c, lambda, mean, 0.99),
            note,
        ),
        (c, false) => Prediction::none(format!("M/G/c: {c} slots a worker, service not exponential")),
    }
}

/// One worker that does not serve first come, first served: processor sharing and preemptive
/// LCFS have the mean `E[S] / (1 - rho)` whatever the sizes' law (M/G/1-PS, M/G/1-LCFS-PR);
/// SRPT has Schrage and Miller's integral, computed numerically.
fn single_preemptive(config: &SimConfig, lambda: f64, c: u32, mean: f64, note: Option<&str>) -> Prediction {
    let discipline = config.workers[0].discipline;
    if c != 1 {
        return Prediction::none(format!("{} with {c} at a time: no closed form", discipline.name()));
    }
    let ps_mean = || formulas::mg1_ps_mean(lambda, mean).unwrap_or(f64::NAN);
    match discipline {
        Discipline::Ps => {
            Prediction::closed("M/G/1-PS", ps_mean(), None, note.or(Some("insensitive to the sizes' law")))
        }
        Discipline::LcfsPr => Prediction::closed(
            "M/G/1-LCFS-PR",
            ps_mean(),
            None,
            note.or(Some("insensitive to the sizes' law")),
        ),
        Discipline::Srpt => {
            let Ok(law) = law::SizeLaw::new(&config.service, config.workers[0].speed) else {
                return Prediction::none("SRPT over this service distribution: no law to integrate");
            };
            match law::srpt_mean(lambda, &law) {
                Some(e) if e.value.is_finite() => {
                    let within = format!(
                        "Schrage and Miller's integral, numerically, within {}",
                        crate::time::Human(e.error.ceil() as u64)
                    );
                    Prediction::closed_owned(
                        "M/G/1-SRPT",
                        e.value,
                        None,
                        Some(note.map_or(within.clone(), |n| format!("{n}; {within}"))),
                    )
                }
                _ => Prediction::none("SRPT: the integral does not converge here"),
            }
        }
        Discipline::Fcfs => unreachable!("FCFS is served by `single`"),
    }
}

/// Size-interval task assignment over FCFS workers, each class's workers picked at random: a
/// set of M/G/1 queues, exact when every class has as many workers.
fn sita(config: &SimConfig, strategy: &str, lambda: f64) -> Prediction {
    let n = config.workers.len();
    let speed = config.workers[0].speed;
    if config.workers[0].concurrency != 1 || config.workers[0].discipline != Discipline::Fcfs {
        return Prediction::none("SITA's theory is of one FCFS server a class");
    }
    let Ok(law) = law::SizeLaw::new(&config.service, speed) else {
        return Prediction::none("SITA over this service distribution: no law to split");
    };
    let given = &config.strategy_params.cutoffs;
    let cutoffs: Vec<f64> = match (strategy, given.is_empty()) {
        ("sita", false) => given.iter().map(|&c| c as f64 / speed).collect(),
        _ => law::sita_e_cutoffs(&law, n),
    };
    let classes = cutoffs.len() + 1;
    if !n.is_multiple_of(classes) {
        return Prediction::none(format!("{n} workers in {classes} size classes: classes of unequal size"));
    }
    // Random within a class of m workers: each worker sees 1/m of its class's arrivals.
    let per_worker = lambda / (n / classes) as f64;
    match law::sita(per_worker, &law, &cutoffs) {
        (_, Some(mean)) => Prediction::closed(
            "SITA (M/G/1 per size class)",
            mean,
            None,
            Some("an oracle: sizes known at dispatch"),
        ),
        (_, None) => Prediction::none("SITA: a size class is overloaded or has no finite mean"),
    }
}

fn open(config: &SimConfig, strategy: &str, rate: f64) -> Prediction {
    let n = config.workers.len();
    let w = &config.workers[0];
    let c = w.concurrency;
    let mean = config.service.mean() / w.speed;
    let lambda = rate / SECS as f64;
    let load = lambda * mean / (n as f64 * c as f64);
    if load >= 1.0 {
        return Prediction::none(format!("overloaded (load {load:.2}): no steady state"));
    }
    let exponential = matches!(config.service, Dist::Exp { .. });
    if n == 1 {
        return single(config, lambda, c, mean, None);
    }
    if strategy == "random" {
        return single(config, lambda / n as f64, c, mean, Some("each worker on its own"));
    }
    if strategy == "sita" || strategy == "sita-e" {
        return sita(config, strategy, lambda);
    }
    if config.workers[0].discipline != Discipline::Fcfs {
        let name = config.workers[0].discipline.name();
        return Prediction::none(format!("{strategy} over {name} workers: no closed form"));
    }
    match strategy {
        "least-work-left" if c == 1 && exponential => Prediction::closed(
            "M/M/c (Erlang C)",
            formulas::mmc_mean(n as u32, lambda, mean).unwrap_or(f64::NAN),
            formulas::mmc_quantile(n as u32, lambda, mean, 0.99),
            Some("least-work-left is one central queue, exactly"),
        ),
        "least-work-left" if c == 1 => {
            Prediction::none("M/G/c: least-work-left's central queue, service not exponential")
        }
        "power-of-two" => power_of_d(config, lambda, mean, load),
        "round-robin" if c == 1 && exponential => match formulas::ekm1(n as u32, lambda / n as f64, mean) {
            Some((mean, p99)) => Prediction::closed(
                "E_k/M/1 (GI/M/1)",
                mean,
                Some(p99),
                Some("each worker gets every n-th arrival"),
            ),
            None => Prediction::none("overloaded: no steady state"),
        },
        "round-robin" => Prediction::none("E_k/G/1: round-robin, service not exponential"),
        "least-loaded" | "least-request" => {
            Prediction::none("join-the-shortest-queue: M/M/c only bounds it below")
        }
        other => Prediction::none(format!("{other}: no model of its picks")),
    }
}

fn power_of_d(config: &SimConfig, lambda: f64, mean: f64, load: f64) -> Prediction {
    let n = config.workers.len();
    let d = config.strategy_params.choices.max(1);
    if config.workers[0].concurrency != 1 || !matches!(config.service, Dist::Exp { .. }) {
        return Prediction::none("power of d: a limit only for exponential service, one slot");
    }
    if d == 1 {
        return single(config, lambda / n as f64, 1, mean, Some("one choice is random"));
    }
    if d >= n {
        return Prediction::none("join-the-shortest-queue: M/M/c only bounds it below");
    }
    if n < MEAN_FIELD_WORKERS {
        return Prediction::none(format!(
            "power of d at {n} workers: the supermarket model is a limit for {MEAN_FIELD_WORKERS}+"
        ));
    }
    let formula = match d {
        2 => "supermarket model, mean-field limit (d=2)",
        3 => "supermarket model, mean-field limit (d=3)",
        _ => "supermarket model, mean-field limit",
    };
    let value = formulas::supermarket_mean(d as u32, load, mean).unwrap_or(f64::NAN);
    Prediction::closed(
        formula,
        value,
        None,
        Some("a limit as workers grow: finite clusters sit slightly above"),
    )
}

fn closed(config: &SimConfig, strategy: &str, clients: u32, think: &Dist) -> Prediction {
    let n = config.workers.len();
    let w = &config.workers[0];
    if w.concurrency != 1 || !matches!(config.service, Dist::Exp { .. }) {
        return Prediction::none("a closed loop without exponential service, one slot");
    }
    if n > 1 && strategy != "random" {
        return Prediction::none(format!("a closed loop under {strategy}"));
    }
    let mean = config.service.mean() / w.speed;
    let value = formulas::closed_mva(clients, n as u32, think.mean(), mean);
    let note = Some("insensitive to the think-time distribution");
    if n == 1 {
        Prediction::closed("M/M/1//K (machine repairman)", value, None, note)
    } else {
        Prediction::closed("closed network (mean value analysis)", value, None, note)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config::{RetryPolicy, WorkerSpec};

    fn config(workers: usize, rate: f64, service: &str) -> SimConfig {
        SimConfig::new(
            vec![WorkerSpec::default(); workers],
            Arrivals::Poisson { rate },
            service.parse().unwrap(),
        )
    }

    fn formula(c: &SimConfig, s: &str) -> String {
        match predict(c, s) {
            Prediction::Closed { formula, .. } => formula.to_string(),
            Prediction::NoClosedForm { why } => format!("none: {why}"),
        }
    }

    #[test]
    fn picks_the_formula_from_the_config() {
        // 4 workers at 800/s each with 1 ms: M/M/1 at rho 0.8, mean 5 ms.
        let c = config(4, 3200.0, "exp:1ms");
        let p = predict(&c, "random");
        assert_eq!(p.formula(), Some("M/M/1"));
        assert!((p.mean_ms().unwrap() - 5.0).abs() < 1e-9);
        assert!((p.p99_ms().unwrap() - 23.0259).abs() < 1e-3);
        assert_eq!(formula(&c, "least-work-left"), "M/M/c (Erlang C)");
        assert_eq!(formula(&c, "round-robin"), "E_k/M/1 (GI/M/1)");
        assert!(formula(&c, "least-loaded").starts_with("none: join-the-shortest-queue"));
        assert!(formula(&c, "power-of-two").starts_with("none: power of d at 4 workers"));
        assert_eq!(
            formula(&config(100, 80_000.0, "exp:1ms"), "power-of-two"),
            "supermarket model, mean-field limit (d=2)"
        );
        assert_eq!(formula(&config(1, 500.0, "const:1ms"), "least-loaded"), "M/G/1 (Pollaczek-Khinchine)");
        assert!((predict(&config(1, 500.0, "const:1ms"), "random").mean_ms().unwrap() - 1.5).abs() < 1e-9);
        assert!(formula(&config(4, 3200.0, "const:1ms"), "least-work-left").starts_with("none: M/G/c"));
        assert!(formula(&config(4, 4000.0, "exp:1ms"), "random").starts_with("none: overloaded"));
        assert!(formula(&config(1, 400.0, "pareto:1ms,alpha=1.5"), "random").contains("infinite variance"));
    }

    #[test]
    fn says_why_not() {
        let mut c = config(4, 3200.0, "exp:1ms");
        c.workers[2].speed = 2.0;
        assert_eq!(formula(&c, "least-loaded"), "none: heterogeneous workers");
        let mut c = config(4, 3200.0, "exp:1ms");
        c.defences.retry = Some(RetryPolicy::default());
        assert_eq!(formula(&c, "random"), "none: retries");
        let mut c = config(4, 3200.0, "exp:1ms");
        c.workers[0].error_rate = 0.1;
        assert_eq!(formula(&c, "random"), "none: faults: worker errors");
        let c = SimConfig { arrivals: Arrivals::Constant { rate: 100.0 }, ..config(1, 1.0, "exp:1ms") };
        assert!(formula(&c, "random").contains("not Poisson"));
    }

    #[test]
    fn holds_until_the_first_scheduled_fault() {
        use crate::model::config::{ScheduledCrash, Slowdown};
        let mut c = config(4, 3200.0, "exp:1ms");
        c.faults.slowdowns.push(Slowdown { worker: 1, factor: 3.0, from: 40 * SECS, to: 50 * SECS });
        c.faults.crashes.push(ScheduledCrash { worker: 0, at: 30 * SECS, duration: SECS });
        let t = predict_until(&c, "random");
        assert_eq!(t.prediction.formula(), Some("M/M/1"));
        assert_eq!(t.breaks, Some(Break { at: 30 * SECS, what: "crash".into() }));
        // The whole run has none, and says why.
        assert_eq!(formula(&c, "random"), "none: faults: crashes");
        // Without a formula before the fault, the whole run's reason.
        assert_eq!(predict_until(&c, "least-loaded").breaks, None);
        c.faults.crashes[0].at = 0;
        assert_eq!(predict_until(&c, "random").breaks, None);
        let plain = config(4, 3200.0, "exp:1ms");
        assert_eq!(
            predict_until(&plain, "random"),
            Timed { prediction: predict(&plain, "random"), breaks: None }
        );
    }

    #[test]
    fn shared_queue_and_closed_loop() {
        // One worker with 2 slots is M/M/2.
        let mut c = config(1, 1000.0, "exp:1ms");
        c.workers[0].concurrency = 2;
        let p = predict(&c, "round-robin");
        assert_eq!(p.formula(), Some("M/M/c (Erlang C)"));
        assert!((p.mean_ms().unwrap() - 4.0 / 3.0).abs() < 1e-9);
        // Two clients thinking 1 ms, service 1 ms: 1.5 ms.
        let c = SimConfig {
            arrivals: Arrivals::Closed { clients: 2, think: "exp:1ms".parse().unwrap() },
            ..config(1, 1.0, "exp:1ms")
        };
        let p = predict(&c, "random");
        assert_eq!(p.formula(), Some("M/M/1//K (machine repairman)"));
        assert!((p.mean_ms().unwrap() - 1.5).abs() < 1e-9);
    }
}
