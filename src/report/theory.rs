//! Theory beside the simulation in reports (issue 23): the prediction of [`crate::theory`]
//! for the run's configuration and strategy, as the JSON's `theory` object, the table's line
//! and the CSV's columns.

use serde::Serialize;

use crate::theory::{Prediction, predict};

/// What theory predicts for the run: a formula's name and figures, or why none applies.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TheoryReport {
    /// The formula's name (`M/M/1`, `M/G/1 (Pollaczek-Khinchine)`, ...); `null` when no
    /// closed form applies.
    pub formula: Option<&'static str>,
    /// Its mean latency (ms).
    pub mean_ms: Option<f64>,
    /// Its p99 (ms), where the formula gives one.
    pub p99_ms: Option<f64>,
    /// What to know about it (e.g. that it is a limit).
    pub note: Option<String>,
    /// Why no closed form applies; `null` when one does.
    pub why: Option<String>,
}

impl TheoryReport {
    /// The report of a prediction.
    pub fn from_prediction(p: &Prediction) -> TheoryReport {
        match p {
            Prediction::Closed { formula, note, .. } => TheoryReport {
                formula: Some(formula),
                mean_ms: p.mean_ms(),
                p99_ms: p.p99_ms(),
                note: note.clone(),
                why: None,
            },
            Prediction::NoClosedForm { why } => TheoryReport {
                formula: None,
                mean_ms: None,
                p99_ms: None,
                note: None,
                why: Some(why.clone()),
            },
        }
    }

    /// The prediction for a run of `config` under `strategy`; none when commands changed the
    /// run (`changed`), as the model's assumptions then no longer hold.
    pub fn new(config: &crate::model::SimConfig, strategy: &str, changed: bool) -> TheoryReport {
        if changed {
            return TheoryReport::from_prediction(&Prediction::NoClosedForm {
                why: "the run was changed by commands".to_string(),
            });
        }
        TheoryReport::from_prediction(&predict(config, strategy))
    }
}

/// `+0.5%`: how far `measured` is from `predicted`.
fn off(measured: f64, predicted: f64) -> String {
    format!("{:+.1}%", (measured / predicted - 1.0) * 100.0)
}

/// The table's line: `theory (M/M/1): mean 4.00ms, measured 4.02ms (+0.5%); p99 ...`, or
/// `theory: no closed form (heterogeneous workers)`. `measured` is the run's (mean, p99) in
/// ms, `None` before any answer.
pub fn theory_line(t: &TheoryReport, measured: Option<(f64, f64)>) -> String {
    let (Some(formula), Some(mean)) = (t.formula, t.mean_ms) else {
        return format!("theory: no closed form ({})", t.why.as_deref().unwrap_or("unknown"));
    };
    let ms = |v: f64| crate::time::Human((v * 1e6).round() as crate::time::Nanos).to_string();
    let mut out = format!("theory ({formula}): mean {}", ms(mean));
    if let Some((m, _)) = measured {
        out += &format!(", measured {} ({})", ms(m), off(m, mean));
    }
    if let Some(p99) = t.p99_ms {
        out += &format!("; p99 {}", ms(p99));
        if let Some((_, p)) = measured {
            out += &format!(", measured {} ({})", ms(p), off(p, p99));
        }
    }
    if let Some(note) = &t.note {
        out += &format!(" · {note}");
    }
    out
}

/// A strategy's theory in the comparison's table: `M/M/1 mean 50.0 vs 50.3 (+0.6%), p99
/// 230 vs 231 (+0.4%)` (predicted vs measured, ms), or `no closed form (retries)`.
/// `measured` is the run's (mean, p99) in ms, `None` when nothing was answered.
pub fn compare_cell(t: &TheoryReport, measured: Option<(f64, f64)>) -> String {
    let (Some(formula), Some(mean)) = (t.formula, t.mean_ms) else {
        return format!("no closed form ({})", t.why.as_deref().unwrap_or("unknown"));
    };
    // Three significant digits (ms), as the pane's.
    let figure = |v: f64| match v.abs() {
        a if a >= 100.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        a if a >= 1.0 => format!("{v:.2}"),
        _ => format!("{v:.3}"),
    };
    let pair = |name: &str, predicted: f64, measured: Option<f64>| match measured {
        Some(m) => format!("{name} {} vs {} ({})", figure(predicted), figure(m), off(m, predicted)),
        None => format!("{name} {} vs n/a", figure(predicted)),
    };
    let mut out = format!("{formula} {}", pair("mean", mean, measured.map(|m| m.0)));
    if let Some(p99) = t.p99_ms {
        out += &format!(", {}", pair("p99", p99, measured.map(|m| m.1)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let t =
            TheoryReport { formula: Some("M/M/1"), mean_ms: Some(4.0), p99_ms: None, note: None, why: None };
        assert_eq!(
            theory_line(&t, Some((4.02, 20.0))),
            "theory (M/M/1): mean 4.00ms, measured 4.02ms (+0.5%)"
        );
        assert_eq!(theory_line(&t, None), "theory (M/M/1): mean 4.00ms");
        let none = TheoryReport::from_prediction(&Prediction::NoClosedForm { why: "retries".into() });
        assert_eq!(theory_line(&none, Some((1.0, 2.0))), "theory: no closed form (retries)");
        assert_eq!(compare_cell(&none, None), "no closed form (retries)");
        let t = TheoryReport { p99_ms: Some(230.2585), ..t };
        assert_eq!(
            compare_cell(&t, Some((4.02, 231.3))),
            "M/M/1 mean 4.00 vs 4.02 (+0.5%), p99 230 vs 231 (+0.5%)"
        );
        assert_eq!(compare_cell(&t, None), "M/M/1 mean 4.00 vs n/a, p99 230 vs n/a");
    }
}
