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
        let mean = relative(model.latency_ms.mean, live.latency_ms.mean);
        let expected = Expectation::new(model, live);
        let answered = model.latency_ms.is_known() && live.latency_ms.is_known();
        Differences {
            mean,
            p50: relative(model.latency_ms.p50, live.latency_ms.p50),
            p99: relative(model.latency_ms.p99, live.latency_ms.p99),
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

/// The side-by-side table.
pub fn crosscheck_table(model: &Report, live: &Report) -> String {
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
    let mut row = |name: &str, m: f64, l: f64, diff: Option<f64>| {
        let _ = writeln!(out, "{name:<16}{m:>12.3}{l:>12.3}{:>12}", percent(diff));
    };
    let (ml, ll) = (&model.latency_ms, &live.latency_ms);
    row("mean ms", ml.mean, ll.mean, d.mean);
    row("p50 ms", ml.p50, ll.p50, d.p50);
    row("p99 ms", ml.p99, ll.p99, d.p99);
    row("throughput/s", model.goodput_rps, live.goodput_rps, d.throughput);
    for ((m, l), diff) in model.workers.iter().zip(&live.workers).zip(&d.utilization).take(32) {
        row(&format!("util worker {}", m.id), m.utilization, l.utilization, *diff);
    }
    let c = (&model.requests, &live.requests);
    let _ = writeln!(out, "{:<16}{:>12}{:>12}", "completed", c.0.completed, c.1.completed);
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

/// `{"model": {...}, "live": {...}, "difference": {...}}`.
pub fn crosscheck_json(model: &Report, live: &Report) -> String {
    #[derive(Serialize)]
    struct Crosscheck<'a> {
        model: &'a Report,
        live: &'a Report,
        difference: Differences,
    }
    let c = Crosscheck { model, live, difference: Differences::new(model, live) };
    serde_json::to_string_pretty(&c).expect("reports serialise") + "\n"
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
        let table = crosscheck_table(&model, &live);
        assert!(table.contains("tolerance 1.160 ms") && table.contains("mean latency agrees"), "{table}");
        // Without lateness to explain it, 16% is beyond the tolerance.
        let slow = report(11.6, 10.0, 10_000, Some(0.0));
        assert!(!Differences::new(&model, &slow).agrees);
        // Few samples: the standard error, not the floor, sets the tolerance.
        let few = report(10.0, 50.0, 100, Some(0.0));
        let d = Differences::new(&model, &few);
        assert!(d.expected.tolerance_ms > 3.0 * 5.0 && d.agrees, "{d:?}");
    }

    #[test]
    fn differences_are_relative_to_the_model() {
        assert_eq!(relative(100.0, 110.0), Some(0.1));
        assert_eq!(relative(0.0, 1.0), None);
        assert_eq!(percent(Some(-0.0312)), "-3.1%");
    }
}
