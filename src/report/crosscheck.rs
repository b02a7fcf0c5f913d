//! `lbsim crosscheck`: the model and the live engine side by side, on the same workload.

use std::fmt::Write;

use serde::Serialize;

use super::Report;
use super::table::live_lines;

/// The least tolerance of the verdict, relative to the expected live mean: what the
/// statistics cannot see (queueing's long memory makes the naive standard error too small,
/// and the lateness correction is an estimate).
pub const AGREEMENT: f64 = 0.10;

/// Standard errors of the difference the verdict allows beyond [`AGREEMENT`]'s floor.
pub const STANDARD_ERRORS: f64 = 3.0;

/// Timers and hand-offs that each request's latency includes in a live run: the hand-off to
/// its worker and the service timer (an arrival timer's lateness is not in the latency,
/// which is measured from when the request was actually sent).
pub const LATE_STEPS_PER_REQUEST: f64 = 2.0;

/// What a correct live run's mean latency should be, and how far from it the verdict allows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Expectation {
    /// The model's mean plus the lateness the live run measured (ms):
    /// model + [`LATE_STEPS_PER_REQUEST`] x the mean lateness.
    pub mean_ms: f64,
    /// The lateness part of it (ms).
    pub lateness_ms: f64,
    /// The standard error of the difference of the two means (ms), from each run's spread
    /// and count as if independent.
    pub standard_error_ms: f64,
    /// The tolerance used (ms): [`STANDARD_ERRORS`] standard errors, and at least
    /// [`AGREEMENT`] of `mean_ms`.
    pub tolerance_ms: f64,
}

impl Expectation {
    /// What `live`'s mean should be, given `model`'s and the lateness `live` measured.
    pub fn new(model: &Report, live: &Report) -> Expectation {
        let lateness_ms = live.live.as_ref().map_or(0.0, |l| l.lateness_mean_ms * LATE_STEPS_PER_REQUEST);
        let mean_ms = model.latency_ms.mean + lateness_ms;
        let var = |l: &super::LatencySummary| {
            if l.count == 0 { 0.0 } else { l.stdev * l.stdev / l.count as f64 }
        };
        let standard_error_ms = (var(&model.latency_ms) + var(&live.latency_ms)).sqrt();
        let tolerance_ms = (STANDARD_ERRORS * standard_error_ms).max(AGREEMENT * mean_ms);
        Expectation { mean_ms, lateness_ms, standard_error_ms, tolerance_ms }
    }
}

/// The live figure's difference from the model's, relative to the model's (`None` when the
/// model's is 0).
pub fn relative(model: f64, live: f64) -> Option<f64> {
    (model != 0.0).then(|| (live - model) / model)
}

/// The relative differences of the figures a crosscheck compares.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Differences {
    /// Mean latency.
    pub mean: Option<f64>,
    /// Median latency.
    pub p50: Option<f64>,
    /// 99th percentile latency.
    pub p99: Option<f64>,
    /// Goodput.
    pub throughput: Option<f64>,
    /// Each worker's utilisation.
    pub utilization: Vec<Option<f64>>,
    /// What the live mean should be and the tolerance used.
    pub expected: Expectation,
    /// Whether the live mean latency is within the tolerance of the model's plus the
    /// lateness the live run measured (`expected`).
    pub agrees: bool,
}

impl Differences {
    /// The differences between `model` and `live`.
    pub fn new(model: &Report, live: &Report) -> Differences {
        let expected = Expectation::new(model, live);
        let answered = model.latency_ms.is_known() && live.latency_ms.is_known();
        // A run that answered nothing has no latency to compare (not 0 ms: -100%).
        let latency = |m: f64, l: f64| if answered { relative(m, l) } else { None };
        let (ml, ll) = (&model.latency_ms, &live.latency_ms);
        Differences {
            mean: latency(ml.mean, ll.mean),
            p50: latency(ml.p50, ll.p50),
            p99: latency(ml.p99, ll.p99),
            throughput: relative(model.goodput_rps, live.goodput_rps),
            utilization: model
                .workers
                .iter()
                .zip(&live.workers)
                .map(|(m, l)| relative(m.utilization, l.utilization))
                .collect(),
            agrees: answered && (live.latency_ms.mean - expected.mean_ms).abs() <= expected.tolerance_ms,
            expected,
        }
    }
}

fn percent(d: Option<f64>) -> String {
    d.map_or_else(|| "n/a".to_string(), |d| format!("{:+.1}%", d * 100.0))
}

/// The side-by-side table. `interrupted`: the signal that stopped the runs early (then
/// the table says so and gives no verdict).
pub fn crosscheck_table(model: &Report, live: &Report, interrupted: Option<&str>) -> String {
    let d = Differences::new(model, live);
    let mut out = format!(
        "lbsim crosscheck · scenario {} · strategy {} · seed {} · the same arrivals and demands in both engines\n",
        model.scenario, model.strategy, model.seed
    );
    let load = model.offered_load.map(|l| format!(" (load {l:.2})")).unwrap_or_default();
    let _ =
        writeln!(out, "arrivals {}{load} · service {} · {}", model.arrivals, model.service, model.cluster);
    if let Some(l) = &live.live {
        let _ = writeln!(
            out,
            "live: {} work, {} threads, time scale {}: {:.1}s of real time; the model took {:.2}s",
            l.work.name(),
            l.threads,
            l.time_scale,
            live.wall_time_s,
            model.wall_time_s
        );
    }
    let _ = writeln!(out, "\n{:<16}{:>12}{:>12}{:>12}", "", "model", "live", "difference");
    // `None`: nothing measured it ("-", where the JSON has null).
    let mut row = |name: &str, m: Option<f64>, l: Option<f64>, diff: Option<f64>| {
        let cell = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"));
        let diff = if m.is_none() || l.is_none() { "no data".to_string() } else { percent(diff) };
        let _ = writeln!(out, "{name:<16}{:>12}{:>12}{diff:>12}", cell(m), cell(l));
    };
    let (ml, ll) = (&model.latency_ms, &live.latency_ms);
    let latency = |r: &super::LatencySummary, v: f64| r.is_known().then_some(v);
    row("mean ms", latency(ml, ml.mean), latency(ll, ll.mean), d.mean);
    row("p50 ms", latency(ml, ml.p50), latency(ll, ll.p50), d.p50);
    row("p99 ms", latency(ml, ml.p99), latency(ll, ll.p99), d.p99);
    row("throughput/s", Some(model.goodput_rps), Some(live.goodput_rps), d.throughput);
    for ((m, l), diff) in model.workers.iter().zip(&live.workers).zip(&d.utilization).take(32) {
        row(&format!("util worker {}", m.id), Some(m.utilization), Some(l.utilization), *diff);
    }
    let c = (&model.requests, &live.requests);
    let _ = writeln!(out, "{:<16}{:>12}{:>12}", "completed", c.0.completed, c.1.completed);
    if let Some(signal) = interrupted {
        let _ = writeln!(
            out,
            "\ninterrupted by {signal}: the runs stopped early, so no verdict (they cover different spans of the workload)"
        );
        out += &live_lines(live);
        return out;
    }
    if !ml.is_known() || !ll.is_known() {
        let which = if ml.is_known() { "the live run" } else { "the model" };
        let _ =
            writeln!(out, "\nno verdict: {which} completed no request, so there is no latency to compare");
        out += &live_lines(live);
        return out;
    }
    let e = &d.expected;
    let _ = writeln!(
        out,
        "\nexpected live mean {:.3} ms: the model's {:.3} + {:.3} of measured lateness ({} x its mean)",
        e.mean_ms, ml.mean, e.lateness_ms, LATE_STEPS_PER_REQUEST
    );
    let _ = writeln!(
        out,
        "tolerance {:.3} ms: {} standard errors of the two means ({:.3} ms), at least {:.0}% of the expected",
        e.tolerance_ms,
        STANDARD_ERRORS,
        e.standard_error_ms,
        AGREEMENT * 100.0
    );
    let off = ll.mean - e.mean_ms;
    let verdict = if d.agrees {
        format!("mean latency agrees: {off:+.3} ms from the expected, within the tolerance")
    } else {
        format!(
            "mean latency disagrees: {off:+.3} ms from the expected, beyond the tolerance: look at the lateness and the balancer below"
        )
    };
    let _ = writeln!(out, "{verdict}");
    out += &live_lines(live);
    out
}

/// `{"schema_version", "model": {...}, "live": {...}, "difference": {...}}`; when `interrupted` (the signal
/// that stopped the runs early), also `"partial": true, "interrupted_by": "SIGTERM"`, and
/// `difference.agrees` is null: no verdict.
pub fn crosscheck_json(model: &Report, live: &Report, interrupted: Option<&str>) -> String {
    #[derive(Serialize)]
    struct Crosscheck<'a> {
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        partial: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        interrupted_by: Option<&'a str>,
        model: &'a Report,
        live: &'a Report,
        difference: serde_json::Value,
    }
    let mut difference = serde_json::to_value(Differences::new(model, live)).expect("differences serialise");
    if interrupted.is_some() || !model.latency_ms.is_known() || !live.latency_ms.is_known() {
        difference["agrees"] = serde_json::Value::Null;
    }
    let c =
        Crosscheck { partial: interrupted.is_some(), interrupted_by: interrupted, model, live, difference };
    super::json::document(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(mean: f64, stdev: f64, count: u64, lateness: Option<f64>) -> Report {
        let mut r = crate::report::tests_support::blank();
        r.latency_ms.mean = mean;
        r.latency_ms.stdev = stdev;
        r.latency_ms.count = count;
        r.live = lateness.map(|l| crate::model::LiveFigures { lateness_mean_ms: l, ..Default::default() });
        r
    }

    /// A live run at time scale 1 whose every request is late by the timers' lateness it
    /// measured agrees with the model; a flat 10% read it as disagreeing.
    #[test]
    fn agreement_allows_the_measured_lateness_and_says_its_tolerance() {
        let model = report(10.0, 10.0, 10_000, None);
        // Each request 2 x 0.8 ms late: 11.6 ms, 16% above the model.
        let live = report(11.6, 10.0, 10_000, Some(0.8));
        let d = Differences::new(&model, &live);
        assert!(d.agrees, "{d:?}");
        assert!((d.expected.mean_ms - 11.6).abs() < 1e-9);
        // 3 standard errors of sqrt(2 x 100 / 10,000) = 0.14 ms, below 10% of 11.6 ms.
        assert!((d.expected.tolerance_ms - 1.16).abs() < 1e-9, "{d:?}");
        let table = crosscheck_table(&model, &live, None);
        assert!(table.contains("tolerance 1.160 ms") && table.contains("mean latency agrees"), "{table}");
        // Without lateness to explain it, 16% is beyond the tolerance.
        let slow = report(11.6, 10.0, 10_000, Some(0.0));
        assert!(!Differences::new(&model, &slow).agrees);
        // Few samples: the standard error, not the floor, sets the tolerance.
        let few = report(10.0, 50.0, 100, Some(0.0));
        let d = Differences::new(&model, &few);
        assert!(d.expected.tolerance_ms > 3.0 * 5.0 && d.agrees, "{d:?}");
    }

    /// Where a run completed nothing the table shows "-" and "no data" (the JSON has null),
    /// not 0.000 and -100%, and gives no verdict; nor does an interrupted crosscheck.
    #[test]
    fn nothing_completed_or_interrupted_gives_no_figure_and_no_verdict() {
        let model = report(10.0, 10.0, 10_000, None);
        let mut live = report(0.0, 0.0, 0, Some(0.0));
        live.latency_ms.p50 = 0.0;
        let table = crosscheck_table(&model, &live, None);
        let mean = table.lines().find(|l| l.starts_with("mean ms")).unwrap();
        assert!(mean.contains(" - ") && mean.ends_with("no data") && !mean.contains(" 0.000"), "{table}");
        assert!(!table.contains("-100") && !table.contains("agrees"), "{table}");
        assert!(table.contains("no verdict: the live run completed no request"), "{table}");
        let json: serde_json::Value = serde_json::from_str(&crosscheck_json(&model, &live, None)).unwrap();
        assert!(json["difference"]["mean"].is_null() && json["difference"]["agrees"].is_null(), "{json}");
        let live = report(10.0, 10.0, 50, Some(0.0));
        let table = crosscheck_table(&model, &live, Some("SIGTERM"));
        assert!(table.contains("interrupted by SIGTERM") && !table.contains("agrees"), "{table}");
        let json: serde_json::Value =
            serde_json::from_str(&crosscheck_json(&model, &live, Some("SIGTERM"))).unwrap();
        assert_eq!(json["partial"], true);
        assert!(json["difference"]["agrees"].is_null(), "{json}");
    }

    #[test]
    fn differences_are_relative_to_the_model() {
        assert_eq!(relative(100.0, 110.0), Some(0.1));
        assert_eq!(relative(0.0, 1.0), None);
        assert_eq!(percent(Some(-0.0312)), "-3.1%");
    }
}
