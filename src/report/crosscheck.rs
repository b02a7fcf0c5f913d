//! `lbsim crosscheck`: the model and the live engine side by side, on the same workload.

use std::fmt::Write;

use serde::Serialize;

use super::Report;
use super::table::live_lines;

/// How far apart the two engines may be on mean latency for the verdict to say they agree.
pub const AGREEMENT: f64 = 0.10;

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
    /// Whether mean latency agrees within 10%.
    pub agrees: bool,
}

impl Differences {
    /// The differences between `model` and `live`.
    pub fn new(model: &Report, live: &Report) -> Differences {
        let mean = relative(model.latency_ms.mean, live.latency_ms.mean);
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
            agrees: mean.is_some_and(|d| d.abs() <= AGREEMENT),
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
    let verdict = if d.agrees {
        format!("mean latency agrees within {:.0}% ({})", AGREEMENT * 100.0, percent(d.mean))
    } else {
        format!(
            "mean latency differs by more than {:.0}% ({}): look at the lateness and the balancer below",
            AGREEMENT * 100.0,
            percent(d.mean)
        )
    };
    let _ = writeln!(out, "\n{verdict}");
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

    #[test]
    fn differences_are_relative_to_the_model() {
        assert_eq!(relative(100.0, 110.0), Some(0.1));
        assert_eq!(relative(0.0, 1.0), None);
        assert_eq!(percent(Some(-0.0312)), "-3.1%");
    }
}
