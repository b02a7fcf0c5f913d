//! `lbsim sweep`: response curves with confidence intervals.
//!
//! A sweep is a grid of independent, deterministic cells: every strategy at every load (and
//! every value of one more option, `--vary`), each run `--replications` times. Replication r
//! uses seed `base + r` for every cell (common random numbers), so differences between
//! strategies are paired. Each cell reports the mean across replications and a 95% Student
//! t confidence interval. The runs go to a pool of threads (`--jobs`); results are gathered
//! by index, so they do not depend on the number of threads or on which finishes first.
//!
//! The same grid can be written out as shell commands (`--plan DIR`), run anywhere, and
//! read back (`--merge DIR`) into exactly the report an in-process sweep prints.
//!
//! What lives here: the grid ([`Spec`], [`Grid`], [`build`]), the thread [`pool`] that
//! `compare` uses too, `compare --replications` ([`compare`]), `--warmup auto` ([`warmup`]),
//! `--plan`/`--merge` ([`plan`]), the SVG chart ([`plot`]) and the reports.
//!
//! A feature (layer 5): it takes a loaded [`Scenario`] and typed
//! [`Overrides`], never the command line's flags, and imports
//! `output`, `scenario`, `engine`, `report` and the foundations. It never imports `cli` or
//! `tui`: the terminal chart (`tui::sweep`) drives [`execute`] as its monitor, and the command
//! layer (`cli::sweep`) chooses the chart or a headless progress bar. `cli` and `tui` import
//! it.

pub mod compare;
pub mod plan;
pub mod plot;
pub mod pool;
mod render;
pub mod warmup;

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::engine::Sim;
use crate::output::{Error, OutputFile};
use crate::report::{Format, Report};
use crate::scenario::values as v;
use crate::scenario::{Overrides, Scenario};
use crate::stats::{self, Interval};
use crate::strategy;

pub use pool::cores;
pub use render::{sweep_csv, sweep_json, sweep_table};

/// What a sweep varies and shows, besides the options it shares with `run`.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// One curve each.
    pub strategies: Vec<String>,
    /// The loads (fractions of capacity), in the order given.
    pub loads: Vec<f64>,
    /// The figure the table and the charts show.
    pub metric: Metric,
    /// One more axis.
    pub vary: Option<Vary>,
}

/// Replications per cell unless `--replications` says otherwise.
pub const DEFAULT_REPLICATIONS: u32 = 5;

/// Most loads (and `--vary` values) one sweep takes.
const MAX_POINTS: usize = 1000;

/// Most runs (cells x replications) one sweep takes. A run costs a few hundred bytes while
/// the grid runs (its job, its result slot, its sample in the grid, and the chart's copies
/// of both), so the biggest grid accepted stays near 150 MB; a grid that needs more runs
/// than this is better split, or run with `--plan` in parts.
pub const MAX_RUNS: u64 = 250_000;

/// `--loads`: the loads of a sweep, in the order given.
#[derive(Clone, Debug, PartialEq)]
pub struct Loads(pub Vec<f64>);

impl Loads {
    /// Parses `0.1,0.5,0.9` or `0.1..0.95:0.05`.
    pub fn parse(s: &str) -> Result<Loads, String> {
        let number = |t: &str| -> Result<f64, String> {
            match t.trim().parse::<f64>() {
                Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
                Ok(x) => Err(format!("loads must be positive numbers, got {x}")),
                Err(_) => {
                    Err(format!("`{t}` is not a number (a list 0.1,0.5,0.9 or a range 0.1..0.95:0.05)"))
                }
            }
        };
        let loads = if let Some((from, rest)) = s.split_once("..") {
            let (to, step) = rest
                .split_once(':')
                .ok_or_else(|| format!("`{s}`: a range needs a step, e.g. 0.1..0.95:0.05"))?;
            let (from, to, step) = (number(from)?, number(to)?, number(step)?);
            if to < from {
                return Err(format!("`{s}`: the range ends below its start"));
            }
            let count = ((to - from) / step + 1e-9).floor() + 1.0;
            if count > MAX_POINTS as f64 {
                return Err(format!("`{s}` has {count} loads; at most {MAX_POINTS}"));
            }
            // Computed from the index, not by adding up steps, and rounded to 1e-9, so that
            // 0.1..0.95:0.05 gives 0.15, not 0.15000000000000002.
            (0..count as usize).map(|i| ((from + i as f64 * step) * 1e9).round() / 1e9).collect()
        } else {
            s.split(',').map(number).collect::<Result<Vec<f64>, String>>()?
        };
        if loads.len() > MAX_POINTS {
            return Err(format!("{} loads; at most {MAX_POINTS}", loads.len()));
        }
        if let Some((i, l)) = loads.iter().enumerate().find(|(i, l)| loads[..*i].contains(l)) {
            let _ = i;
            return Err(format!("load {l} is listed twice"));
        }
        Ok(Loads(loads))
    }
}

/// The figures a sweep measures, in the order of the JSON's `metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Mean latency (ms).
    Mean,
    /// Median latency (ms).
    P50,
    /// 90th percentile latency (ms).
    P90,
    /// 99th percentile latency (ms).
    P99,
    /// 99.9th percentile latency (ms).
    P999,
    /// Successful requests per second.
    Goodput,
}

impl Metric {
    /// Every metric, in order.
    pub const ALL: [Metric; 6] =
        [Metric::Mean, Metric::P50, Metric::P90, Metric::P99, Metric::P999, Metric::Goodput];

    /// Its key in the JSON's `metrics`.
    pub fn key(self) -> &'static str {
        match self {
            Metric::Mean => "mean_ms",
            Metric::P50 => "p50_ms",
            Metric::P90 => "p90_ms",
            Metric::P99 => "p99_ms",
            Metric::P999 => "p999_ms",
            Metric::Goodput => "goodput_rps",
        }
    }

    /// Its name in words, with the unit.
    pub fn label(self) -> &'static str {
        match self {
            Metric::Mean => "mean latency (ms)",
            Metric::P50 => "p50 latency (ms)",
            Metric::P90 => "p90 latency (ms)",
            Metric::P99 => "p99 latency (ms)",
            Metric::P999 => "p99.9 latency (ms)",
            Metric::Goodput => "goodput (requests/s)",
        }
    }

    /// Whether less is better (latencies) or more (goodput).
    pub fn lower_is_better(self) -> bool {
        self != Metric::Goodput
    }

    fn index(self) -> usize {
        Metric::ALL.iter().position(|&m| m == self).unwrap_or(0)
    }
}

/// The option `--vary` changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VaryName {
    /// `--workers`.
    Workers,
    /// `--choices`.
    Choices,
    /// `--load-refresh`.
    Refresh,
    /// `--error-rate`.
    ErrorRate,
    /// `--retries`.
    Retries,
    /// `--timeout`.
    Timeout,
    /// `--requests`.
    Requests,
}

const VARY_NAMES: &[(&str, VaryName, &str)] = &[
    ("workers", VaryName::Workers, "--workers"),
    ("choices", VaryName::Choices, "--choices"),
    ("refresh", VaryName::Refresh, "--load-refresh"),
    ("error-rate", VaryName::ErrorRate, "--error-rate"),
    ("retries", VaryName::Retries, "--retries"),
    ("timeout", VaryName::Timeout, "--timeout"),
    ("requests", VaryName::Requests, "--requests"),
];

/// `--vary NAME=V1,V2,...`: one more axis of the grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Vary {
    /// What varies.
    pub name: VaryName,
    /// Its values, as given (each checked as the flag would check it).
    pub values: Vec<String>,
}

impl Vary {
    /// Parses `workers=4,8,16`.
    pub fn parse(s: &str) -> Result<Vary, String> {
        let names = || VARY_NAMES.iter().map(|v| v.0).collect::<Vec<_>>().join(", ");
        let (name, values) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}` is not NAME=V1,V2,... (NAME one of {})", names()))?;
        let (_, name, _) = VARY_NAMES
            .iter()
            .find(|v| v.0 == name)
            .ok_or_else(|| format!("cannot vary `{name}`; one of {}", names()))?;
        let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
        if values.len() > MAX_POINTS {
            return Err(format!("{} values; at most {MAX_POINTS}", values.len()));
        }
        let vary = Vary { name: *name, values };
        let mut seen = Vec::new();
        for v in &vary.values {
            let value = vary.json(v).map_err(|e| format!("{}={v}: {e}", vary.key()))?;
            if seen.contains(&value) {
                return Err(format!("{}={v} is listed twice", vary.key()));
            }
            seen.push(value);
        }
        Ok(vary)
    }

    /// Its name as `--vary` takes it (`error-rate`).
    pub fn key(&self) -> &'static str {
        VARY_NAMES.iter().find(|v| v.1 == self.name).map_or("", |v| v.0)
    }

    /// The flag of `run` it sets (`--error-rate`).
    pub fn flag(&self) -> &'static str {
        VARY_NAMES.iter().find(|v| v.1 == self.name).map_or("", |v| v.2)
    }

    /// A value as JSON: a number, or for times the canonical duration (`500ms`).
    pub fn json(&self, value: &str) -> Result<serde_json::Value, String> {
        Ok(match self.name {
            VaryName::Workers => v::parse_workers(value)?.into(),
            VaryName::Choices => v::parse_count(value)?.into(),
            VaryName::Retries => v::parse_retries(value)?.into(),
            VaryName::Requests => v::parse_count64(value)?.into(),
            VaryName::ErrorRate => v::parse_probability(value)?.into(),
            VaryName::Refresh | VaryName::Timeout => {
                crate::time::canonical(v::parse_positive_duration(value)?).into()
            }
        })
    }

    /// Whether `o` sets this option itself (then `--vary` would silently override it).
    fn given(&self, o: &Overrides) -> bool {
        match self.name {
            VaryName::Workers => o.workers.is_some(),
            VaryName::Choices => o.choices.is_some(),
            VaryName::Refresh => o.load_refresh.is_some(),
            VaryName::ErrorRate => o.error_rate.is_some(),
            VaryName::Retries => o.retries.is_some(),
            VaryName::Timeout => o.timeout.is_some(),
            VaryName::Requests => o.requests.is_some() || o.duration.is_some(),
        }
    }

    /// Value `value` as a typed override of the option it varies.
    pub fn overrides(&self, value: &str) -> Result<Overrides, String> {
        let mut o = Overrides::default();
        match self.name {
            VaryName::Workers => o.workers = Some(v::parse_workers(value)?),
            VaryName::Choices => o.choices = Some(v::parse_count(value)?),
            VaryName::Refresh => o.load_refresh = Some(v::parse_positive_duration(value)?),
            VaryName::ErrorRate => o.error_rate = Some(v::parse_probability(value)?),
            VaryName::Retries => o.retries = Some(v::parse_retries(value)?),
            VaryName::Timeout => o.timeout = Some(v::parse_positive_duration(value)?),
            VaryName::Requests => o.requests = Some(v::parse_count64(value)?),
        }
        Ok(o)
    }
}

/// What one run measured: the figures of [`Metric::ALL`] (`None`: n/a, nothing completed),
/// and whether it stopped early at the in-flight cap.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Mean, p50, p90, p99, p99.9 (ms) and goodput (requests/s).
    pub values: [Option<f64>; 6],
    /// Stopped at the in-flight cap.
    pub stopped: bool,
}

impl Sample {
    /// From a run's JSON report (`lbsim run --format json`), as `--merge` reads it.
    pub fn from_json(v: &serde_json::Value) -> Result<Sample, String> {
        let num = |path: &[&str]| -> Result<Option<f64>, String> {
            let mut at = v;
            for key in path {
                at = at.get(key).ok_or_else(|| format!("no `{}` in the report", path.join(".")))?;
            }
            match at {
                serde_json::Value::Null => Ok(None),
                x => x.as_f64().map(Some).ok_or_else(|| format!("`{}` is not a number", path.join("."))),
            }
        };
        let goodput = num(&["goodput_rps"])?.ok_or("`goodput_rps` is null")?;
        Ok(Sample {
            values: [
                num(&["latency_ms", "mean"])?,
                num(&["latency_ms", "p50"])?,
                num(&["latency_ms", "p90"])?,
                num(&["latency_ms", "p99"])?,
                num(&["latency_ms", "p999"])?,
                Some(goodput),
            ],
            stopped: !v.get("stop_reason").is_none_or(serde_json::Value::is_null),
        })
    }

    /// From a report in memory: through its JSON, exactly as `--merge` reads a file, so
    /// that both paths give the same bits.
    pub fn from_report(r: &Report) -> Sample {
        let v = serde_json::to_value(r).expect("reports serialise");
        Sample::from_json(&v).expect("a report has every figure")
    }

    /// One figure.
    pub fn get(&self, m: Metric) -> Option<f64> {
        self.values[m.index()]
    }
}

/// One cell of the grid: a strategy at a load (and a `--vary` value).
#[derive(Clone, Debug)]
pub struct Cell {
    /// The strategy.
    pub strategy: String,
    /// The offered load.
    pub load: f64,
    /// The `--vary` value (index into [`Vary::values`]).
    pub vary: Option<usize>,
    /// The replications that finished, in seed order (fewer than asked when stopped early).
    pub samples: Vec<Sample>,
}

/// A figure of a cell: the mean across replications and its 95% interval (`None` where
/// nothing completed, or fewer than two replications measured it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Figure {
    /// Mean across the replications that measured it.
    pub mean: Option<f64>,
    /// Its 95% confidence interval.
    pub ci: Option<Interval>,
}

impl Cell {
    /// The replications' values of `m` (those that measured it).
    pub fn values(&self, m: Metric) -> Vec<f64> {
        self.samples.iter().filter_map(|s| s.get(m)).collect()
    }

    /// Mean and 95% interval of `m`.
    pub fn figure(&self, m: Metric) -> Figure {
        let v = self.values(m);
        Figure { mean: (!v.is_empty()).then(|| stats::mean(&v)), ci: stats::ci95(&v) }
    }
}

/// A sweep's grid: what varies, and the cells in report order (for each `--vary` value, each
/// strategy, each load).
#[derive(Clone, Debug)]
pub struct Grid {
    /// The scenario's name.
    pub scenario: String,
    /// The strategies.
    pub strategies: Vec<String>,
    /// The loads.
    pub loads: Vec<f64>,
    /// The other axis.
    pub vary: Option<Vary>,
    /// Replications per cell.
    pub replications: u32,
    /// Replication r ran with seed `seed + r`.
    pub seed: u64,
    /// The figure shown.
    pub metric: Metric,
    /// The cells.
    pub cells: Vec<Cell>,
    /// The signal that stopped the sweep before every run finished (the report is partial).
    pub interrupted: Option<i32>,
}

impl Grid {
    fn vary_values(&self) -> Vec<Option<usize>> {
        match &self.vary {
            Some(v) => (0..v.values.len()).map(Some).collect(),
            None => vec![None],
        }
    }

    /// A new grid with empty cells.
    pub fn new(scenario: String, spec: &Spec, seed: u64, replications: u32) -> Grid {
        let mut grid = Grid {
            scenario,
            strategies: spec.strategies.clone(),
            loads: spec.loads.clone(),
            vary: spec.vary.clone(),
            replications,
            seed,
            metric: spec.metric,
            cells: Vec::new(),
            interrupted: None,
        };
        for vary in grid.vary_values() {
            for strategy in &grid.strategies {
                for &load in &grid.loads {
                    grid.cells.push(Cell { strategy: strategy.clone(), load, vary, samples: Vec::new() });
                }
            }
        }
        grid
    }

    /// The seed of replication `r`.
    pub fn seed_of(&self, r: u32) -> u64 {
        self.seed.wrapping_add(r as u64)
    }

    /// Fills the cells from per-run samples in job order (cell-major, then replication);
    /// `None` for runs that did not finish.
    pub fn fill(&mut self, samples: Vec<Option<Sample>>) {
        let r = self.replications as usize;
        for (k, s) in samples.into_iter().enumerate() {
            if let Some(s) = s {
                self.cells[k / r].samples.push(s);
            }
        }
    }

    /// Runs that stopped at the in-flight cap.
    pub fn stopped(&self) -> usize {
        self.cells.iter().flat_map(|c| &c.samples).filter(|s| s.stopped).count()
    }
}

/// One run of the grid: a scenario resolved for its cell and seeded for its replication.
/// The runs of a cell share its scenario, so that a job costs a few dozen bytes.
pub struct Job {
    /// The cell's index in [`Grid::cells`].
    pub cell: usize,
    /// The strategy.
    pub strategy: String,
    /// The scenario, overrides applied (its seed is the base; the run's is `seed`).
    pub scenario: Arc<Scenario>,
    /// The run's seed.
    pub seed: u64,
}

/// Runs one job to the end; `None` if the pool stopped first.
pub fn run_job(job: &Job, auto_warmup: bool, slot: &pool::Slot) -> Result<Option<Sample>, String> {
    let mut config = job.scenario.to_config().map_err(|e| e.to_string())?;
    config.seed = job.seed;
    if auto_warmup {
        match warmup::find_cut(&config, &job.strategy, slot.stop)? {
            Some(cut) => config.warmup = cut.time,
            None => return Ok(None),
        }
    }
    let s = strategy::build(&job.strategy, &config.strategy_params).map_err(|e| e.to_string())?;
    let mut sim = Sim::new(config, s).map_err(|e| e.to_string())?;
    while !sim.run_events(100_000) {
        if slot.stopping() {
            return Ok(None);
        }
        slot.set_progress(sim.progress());
    }
    Ok(Some(Sample::from_report(&Report::new(&sim, &job.scenario.name, 0.0))))
}

/// What the caller of [`execute`] sees while the jobs run: the fraction done, and
/// [`pool::Status::results`], the samples so far.
pub type Progress<'a> = pool::Status<'a, Sample>;

/// Runs `jobs` on `threads` threads of the [`pool`]. `monitor` is called about every 10 ms
/// on the calling thread with the progress; when it returns true, the jobs still running are
/// abandoned and those not started never start. Returns each job's sample by index (`None`:
/// not run).
pub fn execute(
    jobs: &[Job],
    threads: usize,
    auto_warmup: bool,
    monitor: &mut dyn FnMut(&Progress) -> bool,
) -> Result<Vec<Option<Sample>>, String> {
    pool::run(jobs, threads, |job, slot| run_job(job, auto_warmup, slot), monitor)
}

/// The grid of a sweep and its jobs, every cell's scenario resolved (and checked) up front:
/// `scenario` as loaded, with `overrides` (the command line's) and each cell's load and
/// `--vary` value applied.
pub fn build(
    scenario: &Scenario,
    overrides: &Overrides,
    spec: &Spec,
    replications: Option<u32>,
) -> Result<(Grid, Vec<Job>), Error> {
    check(overrides, spec, replications)?;
    let replications = replications.unwrap_or(DEFAULT_REPLICATIONS);
    let resolve = |o: &Overrides| -> Result<Scenario, Error> {
        let mut s = scenario.clone();
        o.apply(&mut s).map_err(Error::input)?;
        Ok(s)
    };
    let base = resolve(overrides)?;
    let trace = matches!(base.arrivals, crate::scenario::ArrivalSpec::Trace { .. });
    if trace && overrides.trace_scale.is_some() {
        return Err(Error::input(
            "--trace-scale: a sweep of a trace replays it at the speed that gives each of --loads (drop it)",
        ));
    }
    let mut grid = Grid::new(base.name.clone(), spec, base.seed, replications);
    // One scenario per (vary value, load), checked before anything runs.
    let mut resolved: Vec<Vec<Arc<Scenario>>> = Vec::new();
    for vary in grid.vary_values() {
        let mut row = Vec::new();
        for &load in &grid.loads {
            let cell = cell_overrides(overrides, &grid, vary, (!trace).then_some(load));
            let cell = if trace { trace_cell(&resolve(&cell)?, &cell, load)? } else { cell };
            row.push(Arc::new(resolve(&cell)?));
        }
        resolved.push(row);
    }
    let mut jobs = Vec::new();
    for (index, cell) in grid.cells.iter().enumerate() {
        let vi = cell.vary.unwrap_or(0);
        let li = grid.loads.iter().position(|&l| l == cell.load).unwrap_or(0);
        for r in 0..grid.replications {
            let scenario = Arc::clone(&resolved[vi][li]);
            jobs.push(Job { cell: index, strategy: cell.strategy.clone(), scenario, seed: grid.seed_of(r) });
        }
    }
    // Strategies are checked by the parser; a configuration the engine refuses is found here.
    for row in &resolved {
        for s in row {
            let config = s.to_config().map_err(Error::input)?;
            for name in &grid.strategies {
                let st = strategy::build(name, &config.strategy_params).map_err(Error::input)?;
                Sim::new(config.clone(), st).map_err(Error::input)?;
            }
        }
    }
    grid.cells.iter_mut().for_each(|c| c.samples.clear());
    Ok((grid, jobs))
}

/// What a sweep refuses before building anything (before its scenario is even read).
pub fn check(overrides: &Overrides, spec: &Spec, replications: Option<u32>) -> Result<(), Error> {
    if overrides.load.is_some() || overrides.rate.is_some() {
        return Err(Error::input("--load and --rate: a sweep takes its loads from --loads (drop them)"));
    }
    if overrides.engine == Some(crate::engines::EngineKind::Live) {
        return Err(Error::input("--engine live: a sweep runs the model (--engine sim) only"));
    }
    if let Some(dup) = spec.strategies.iter().enumerate().find(|(i, s)| spec.strategies[..*i].contains(s)) {
        return Err(Error::input(format!("--strategies: `{}` is listed twice", dup.1)));
    }
    if spec.loads.is_empty() {
        return Err(Error::input(
            "--loads is required: a list (0.1,0.5,0.9) or a range with a step (0.1..0.95:0.05)",
        ));
    }
    if let Some(v) = &spec.vary
        && v.given(overrides)
    {
        return Err(Error::input(format!("--vary {}= and {} both set it: give one", v.key(), v.flag())));
    }
    let replications = replications.unwrap_or(DEFAULT_REPLICATIONS);
    if replications < 2 {
        return Err(Error::input(
            "--replications: a sweep needs from 2 to 10000 (a spread cannot be estimated from one run)",
        ));
    }
    let cells = spec.strategies.len() as u64
        * spec.loads.len() as u64
        * spec.vary.as_ref().map_or(1, |v| v.values.len() as u64);
    let runs = cells * replications as u64;
    if runs > MAX_RUNS {
        return Err(Error::input(format!(
            "the grid has {cells} cells x {replications} replications = {runs} runs; a sweep takes at most \
             {MAX_RUNS} (fewer loads, strategies, --vary values or replications; or split it)"
        )));
    }
    Ok(())
}

/// The overrides of a cell of a trace's sweep: `cell` (the cell's scenario but for its load)
/// replayed at the speed (`--trace-scale`) that makes its mean load `load`: a trace's times set
/// its rate, so a load is a speed of replay.
fn trace_cell(cell: &Scenario, overrides: &Overrides, load: f64) -> Result<Overrides, Error> {
    let crate::scenario::ArrivalSpec::Trace { scale, .. } = cell.arrivals else {
        return Err(Error::input("a sweep's --vary changed the trace's arrivals"));
    };
    let config = cell.to_config().map_err(Error::input)?;
    let own = config.load().filter(|l| *l > 0.0 && l.is_finite()).ok_or_else(|| {
        Error::input(format!("{}: the trace has no mean load to scale to --loads", cell.name))
    })?;
    Ok(overrides.merged(&Overrides { trace_scale: Some(scale * own / load), ..Overrides::default() }))
}

/// The overrides of one cell (seed not set: it is per replication); `load` None for a trace's.
fn cell_overrides(overrides: &Overrides, grid: &Grid, vary: Option<usize>, load: Option<f64>) -> Overrides {
    let mut cell = Overrides { load, ..Overrides::default() };
    if let (Some(v), Some(i)) = (&grid.vary, vary) {
        // Checked when parsed.
        if let Ok(o) = v.overrides(&v.values[i]) {
            cell = cell.merged(&o);
        }
    }
    overrides.merged(&cell)
}

/// Prints (and plots) a filled grid: the report in `format` to `sink`, the chart to `plot`.
pub fn finish(
    grid: &Grid,
    format: Format,
    plot: Option<&Path>,
    sink: Option<OutputFile>,
) -> Result<(), Error> {
    let text = match format {
        Format::Table => sweep_table(grid),
        Format::Json => sweep_json(grid),
        Format::Csv => sweep_csv(grid),
    };
    if let Some(path) = plot {
        plot::write(path, grid).map_err(Error::runtime)?;
    }
    let delivered = crate::output::deliver(&text, sink);
    if let Some(signal) = grid.interrupted {
        // The signal's status wins: the report may not have got out (a closed terminal).
        return Err(sweep_interrupted(grid, signal));
    }
    delivered?;
    stopped_runs(grid.stopped())
}

/// A signal's name: `SIGTERM`.
pub fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGINT => "SIGINT".to_string(),
        libc::SIGTERM => "SIGTERM".to_string(),
        libc::SIGHUP => "SIGHUP".to_string(),
        n => format!("signal {n}"),
    }
}

/// How a run stopped by `signal` ends, after its partial report: exit status 128 +
/// `signal`, and a line saying so.
pub fn interrupted(signal: i32, what: &str) -> Error {
    Error {
        code: u8::try_from(128 + signal).unwrap_or(Error::RUNTIME),
        message: format!("interrupted by {}: {what}", signal_name(signal)),
    }
}

/// The line of a sweep stopped by `signal`, and its exit status.
fn sweep_interrupted(grid: &Grid, signal: i32) -> Error {
    let done: usize = grid.cells.iter().map(|c| c.samples.len()).sum();
    let total = grid.cells.len() * grid.replications as usize;
    interrupted(signal, &format!("the report is partial, {done} of {total} runs finished"))
}

/// Exit status 3 and its warning when `n` runs stopped early at the in-flight cap.
pub(crate) fn stopped_runs(n: usize) -> Result<(), Error> {
    match n {
        0 => Ok(()),
        n => Err(Error::stopped_early(format!(
            "warning: {n} runs stopped early at the in-flight cap (queues growing without bound); \
             their figures cover the run until then (raise it with --max-in-flight)"
        ))),
    }
}
