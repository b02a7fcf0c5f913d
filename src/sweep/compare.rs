//! `lbsim compare --replications R`: every figure as a mean with its 95% interval over R
//! seeds, and a p99 leader named only when the paired difference to the runner-up is
//! significant.

use std::fmt::Write;

use serde::Serialize;

use super::render::{FigureOut, cell_text};
use super::{Cell, Job, Metric, Sample};
use crate::output::{Error, OutputFile};
use crate::report::Format;
use crate::stats::{self, Paired};
use crate::text::escape;

/// Each strategy's runs over the replications, in seed order.
pub struct Replicated {
    /// The scenario's name.
    pub scenario: String,
    /// Replication r ran with seed `seed + r`.
    pub seed: u64,
    /// Replications asked for.
    pub replications: u32,
    /// One cell per strategy, in the order given (`load` is unused: 0).
    pub cells: Vec<Cell>,
    /// The signal that stopped the runs early: then every cell holds the same seeds, those
    /// every strategy finished (the report is partial).
    pub interrupted: Option<i32>,
}

impl Replicated {
    /// The replications each strategy has (the same for all).
    pub fn finished(&self) -> usize {
        self.cells.iter().map(|c| c.samples.len()).min().unwrap_or(0)
    }
}

/// Runs every strategy on `scenario` with seeds `seed + r`, r < `replications`, on
/// `threads` threads (`--warmup auto` per run when `auto`), with a progress bar. When
/// `stop` gives a signal, the runs stop within a moment and only the seeds that every
/// strategy finished are kept, so that the strategies are compared on the same requests.
pub fn replicate(
    scenario: &crate::scenario::Scenario,
    strategies: &[String],
    replications: u32,
    seed: u64,
    threads: usize,
    auto: bool,
    stop: &dyn Fn() -> Option<i32>,
) -> Result<Replicated, String> {
    let shared = std::sync::Arc::new(scenario.clone());
    // Seed by seed, every strategy in turn: a run stopped early has as many seeds of each.
    let mut jobs = Vec::new();
    for r in 0..replications {
        for (cell, name) in strategies.iter().enumerate() {
            let (scenario, seed) = (std::sync::Arc::clone(&shared), seed.wrapping_add(r as u64));
            jobs.push(Job { cell, strategy: name.clone(), scenario, seed });
        }
    }
    let mut bar = crate::output::Progress::new("compare");
    let samples = super::execute(&jobs, threads, auto, &mut |p| {
        bar.update(p.fraction);
        stop().is_some()
    })?;
    bar.clear();
    let interrupted = stop();
    let mut cells: Vec<Cell> = strategies
        .iter()
        .map(|s| Cell { strategy: s.clone(), load: 0.0, vary: None, samples: Vec::new() })
        .collect();
    for seed_runs in samples.chunks(strategies.len().max(1)) {
        // A seed some strategy did not finish is left out for all (only when stopped early).
        if seed_runs.iter().all(Option::is_some) {
            for (cell, sample) in cells.iter_mut().zip(seed_runs) {
                cell.samples.extend(sample.clone());
            }
        }
    }
    Ok(Replicated { scenario: scenario.name.clone(), seed, replications, cells, interrupted })
}

/// Who leads on p99, and whether it is more than noise.
#[derive(Clone, Debug)]
pub struct Leader {
    /// The strategy with the lowest mean p99.
    pub best: String,
    /// The next lowest.
    pub runner_up: String,
    /// The paired test of runner-up minus best, over the replications where both completed
    /// something.
    pub test: Paired,
}

/// The p99 leader over replications, `None` with fewer than two strategies or when one
/// completed nothing in some replication.
pub fn leader(r: &Replicated) -> Option<Leader> {
    if r.cells.len() < 2
        || r.finished() < 2
        || r.cells.iter().any(|c| c.values(Metric::P99).len() < c.samples.len())
    {
        return None;
    }
    let mut order: Vec<&Cell> = r.cells.iter().collect();
    order.sort_by(|a, b| {
        let m = |c: &Cell| c.figure(Metric::P99).mean.unwrap_or(f64::INFINITY);
        m(a).total_cmp(&m(b))
    });
    let (best, runner_up) = (order[0], order[1]);
    let test = stats::paired(&runner_up.values(Metric::P99), &best.values(Metric::P99));
    Some(Leader { best: best.strategy.clone(), runner_up: runner_up.strategy.clone(), test })
}

/// The leader line of the table.
pub fn leader_line(r: &Replicated) -> String {
    let n = r.finished();
    if n < 2 {
        return format!("no p99 leader: {n} replications finished for every strategy; at least 2 are needed");
    }
    if let Some(c) = r.cells.iter().find(|c| c.values(Metric::P99).len() < c.samples.len()) {
        return format!("no p99 leader: {} completed no request in some replications", escape(&c.strategy));
    }
    let Some(l) = leader(r) else { return String::new() };
    let (best, runner) = (escape(&l.best), escape(&l.runner_up));
    let diff = match l.test.ci {
        Some(ci) => {
            format!("{} ± {} ms", super::render::number(ci.mean), super::render::number(ci.half_width()))
        }
        None => format!("{} ms", super::render::number(l.test.mean)),
    };
    let p99 =
        |name: &str| r.cells.iter().find(|c| c.strategy == name).and_then(|c| c.figure(Metric::P99).mean);
    if l.test.significant {
        let ratio = match (p99(&l.best), p99(&l.runner_up)) {
            (Some(b), Some(u)) if b > 0.0 => format!(": {:.2}x lower than {runner}", u / b),
            _ => format!(", ahead of {runner}"),
        };
        format!("{best} leads on p99{ratio} (paired difference {diff} over {n} seeds: significant at 95%)")
    } else if l.test.mean == 0.0 && l.test.ci.is_none_or(|c| c.low == 0.0 && c.high == 0.0) {
        format!("no p99 leader: {best} and {runner} had the same p99 on every one of the {n} seeds")
    } else {
        let needed = match l.test.replications_needed {
            Some(k) if k >= 1_000_000 => {
                " and no feasible number of replications would tell them apart".to_string()
            }
            Some(k) => format!("; about {k} replications would likely be needed to tell them apart"),
            None => String::new(),
        };
        format!(
            "no p99 leader: {best} and {runner} are not distinguishable at {n} replications (paired difference {diff}, 95% interval includes 0){needed}"
        )
    }
}

/// The table: one row per strategy, each figure `mean ± half-width`, then the leader line.
pub fn table(r: &Replicated) -> String {
    let mut out = format!(
        "lbsim compare · scenario {} · {} replications (seeds {} to {}, the same requests for every strategy)\n",
        escape(&r.scenario),
        r.replications,
        r.seed,
        r.seed.wrapping_add(r.replications as u64 - 1)
    );
    out += "each figure: mean ± half-width of its 95% confidence interval over the replications\n";
    if let Some(signal) = r.interrupted {
        let _ = writeln!(
            out,
            "partial: interrupted by {}; {} of the {} replications finished for every strategy, and the figures cover those seeds only",
            super::signal_name(signal),
            r.finished(),
            r.replications
        );
    }
    out.push('\n');
    let titles = ["mean ms", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "goodput/s"];
    let texts: Vec<Vec<String>> =
        r.cells.iter().map(|c| Metric::ALL.iter().map(|&m| cell_text(c.figure(m))).collect()).collect();
    let width = texts.iter().flatten().map(|t| t.chars().count()).max().unwrap_or(8).max(9) + 3;
    let name_width =
        r.cells.iter().map(|c| escape(&c.strategy).chars().count()).max().unwrap_or(8).max(8) + 2;
    let _ = write!(out, "{:<name_width$}", "strategy");
    for t in titles {
        let _ = write!(out, "{t:>width$}");
    }
    out.push('\n');
    for (c, row) in r.cells.iter().zip(&texts) {
        let _ = write!(out, "{:<name_width$}", escape(&c.strategy));
        for t in row {
            let _ = write!(out, "{t:>width$}");
        }
        out.push('\n');
    }
    let line = leader_line(r);
    if !line.is_empty() {
        out += &line;
        out.push('\n');
    }
    out
}

#[derive(Serialize)]
struct StrategyOut<'a> {
    strategy: &'a str,
    replications: usize,
    metrics: super::render::Metrics<'a>,
}

#[derive(Serialize)]
struct LeaderOut<'a> {
    metric: &'static str,
    strategy: Option<&'a str>,
    best: &'a str,
    runner_up: &'a str,
    difference_ms: FigureOut,
    significant: bool,
    replications_needed: Option<u64>,
}

#[derive(Serialize)]
struct Out<'a> {
    scenario: &'a str,
    replications: u32,
    seed: u64,
    /// Present (true) only when a signal stopped the runs early.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    partial: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    interrupted_by: Option<String>,
    strategies: Vec<StrategyOut<'a>>,
    leader: Option<LeaderOut<'a>>,
}

/// `{"scenario", "replications", "seed", "strategies": [{"strategy", "replications",
/// "metrics"}], "leader": {...} or null}`.
pub fn json(r: &Replicated) -> String {
    let l = leader(r);
    let out = Out {
        scenario: &r.scenario,
        replications: r.replications,
        seed: r.seed,
        partial: r.interrupted.is_some(),
        interrupted_by: r.interrupted.map(super::signal_name),
        strategies: r
            .cells
            .iter()
            .map(|c| StrategyOut {
                strategy: &c.strategy,
                replications: c.samples.len(),
                metrics: super::render::Metrics(c),
            })
            .collect(),
        leader: l.as_ref().map(|l| LeaderOut {
            metric: Metric::P99.key(),
            strategy: l.test.significant.then_some(l.best.as_str()),
            best: &l.best,
            runner_up: &l.runner_up,
            difference_ms: FigureOut {
                mean: Some(l.test.mean),
                ci95_low: l.test.ci.map(|c| c.low),
                ci95_high: l.test.ci.map(|c| c.high),
            },
            significant: l.test.significant,
            replications_needed: l.test.replications_needed,
        }),
    };
    crate::report::json::document(&out)
}

/// A header line and one line per strategy: `strategy,replications`, then mean, ci95_low and
/// ci95_high of each metric.
pub fn csv(r: &Replicated) -> String {
    let rows = r.cells.iter().map(|c| {
        let mut row = vec![escape(&c.strategy).into_owned(), c.samples.len().to_string()];
        row.extend(super::render::csv_figures(c));
        row
    });
    super::render::csv_text(&super::render::csv_header(&["strategy", "replications"]), rows)
}

/// `lbsim compare --replications R` with R > 1: headless (the UI shows one seed). `scenario`
/// is resolved (overrides applied); replication r runs with seed `scenario.seed + r`;
/// `auto`: `--warmup auto` per run.
pub fn command(
    scenario: &crate::scenario::Scenario,
    strategies: &[String],
    replications: u32,
    auto: bool,
    format: Format,
    sink: Option<OutputFile>,
    stop: &dyn Fn() -> Option<i32>,
) -> Result<(), Error> {
    let r = replicate(scenario, strategies, replications, scenario.seed, super::cores(), auto, stop)
        .map_err(Error::input)?;
    let text = match format {
        Format::Table => table(&r),
        Format::Json => json(&r),
        Format::Csv => csv(&r),
    };
    let delivered = crate::output::deliver(&text, sink);
    if let Some(signal) = r.interrupted {
        let what = format!(
            "the report is partial, {} of {} replications finished for every strategy",
            r.finished(),
            r.replications
        );
        return Err(super::interrupted(signal, &what));
    }
    delivered?;
    super::stopped_runs(r.cells.iter().flat_map(|c| &c.samples).filter(|s: &&Sample| s.stopped).count())
}
