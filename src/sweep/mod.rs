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

pub mod compare;
pub mod plan;
pub mod plot;
mod render;
pub mod warmup;

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::cli::{CliError, SimArgs};
use crate::engine::Sim;
use crate::report::{Format, Report};
use crate::scenario::Scenario;
use crate::stats::{self, Interval};
use crate::strategy;

pub(crate) use render::number as render_number;
pub use render::{sweep_csv, sweep_json, sweep_table};

/// The options of `lbsim sweep` besides those it shares with `run`.
#[derive(Clone, Debug, clap::Args)]
pub struct SweepArgs {
    /// Comma-separated strategies, one curve each.
    #[arg(long, value_delimiter = ',', value_parser = crate::cli::parse_strategy,
          default_value = "round-robin,random,least-loaded")]
    pub strategies: Vec<String>,
    /// The loads (fractions of capacity): a list, 0.1,0.5,0.9, or a range with a step,
    /// 0.1..0.95:0.05 (both ends included when the step lands on them).
    #[arg(long, value_name = "LIST|FROM..TO:STEP", value_parser = Loads::parse, allow_hyphen_values = true)]
    pub loads: Option<Loads>,
    /// The figure the table and the charts show (JSON and CSV have them all).
    #[arg(long, value_enum, default_value_t = Metric::P99)]
    pub metric: Metric,
    /// One more axis: NAME=V1,V2,... with NAME one of workers, choices, refresh,
    /// error-rate, retries, timeout, requests (e.g. workers=4,8,16 or refresh=10ms,100ms).
    #[arg(long, value_name = "NAME=V1,V2,...", value_parser = Vary::parse)]
    pub vary: Option<Vary>,
    /// Runs at once [default: the machine's cores].
    #[arg(long, value_name = "N", value_parser = parse_jobs, allow_hyphen_values = true)]
    pub jobs: Option<usize>,
    /// Also draw the chart into this SVG file (x load, y the metric on a log axis, 95%
    /// whiskers).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Write the grid as shell commands to DIR/jobs.txt (and DIR/sweep.json) instead of
    /// running it; `--merge DIR` reads the results back.
    #[arg(long, value_name = "DIR", conflicts_with = "merge")]
    pub plan: Option<PathBuf>,
    /// Read the results of a `--plan DIR` whose jobs have run, and report as the sweep would.
    #[arg(long, value_name = "DIR")]
    pub merge: Option<PathBuf>,
    /// The options given on the command line, as `--name=value` by clap id (filled by
    /// [`crate::cli::main_with_args`]): what `--plan` passes on to each job.
    #[arg(skip)]
    pub passed: Vec<(String, std::ffi::OsString)>,
}

fn parse_jobs(s: &str) -> Result<usize, String> {
    crate::cli::parse_whole(s, 1, 1024).map(|n| n as usize)
}

/// Replications per cell unless `--replications` says otherwise.
pub const DEFAULT_REPLICATIONS: u32 = 5;

/// Most loads (and `--vary` values) one sweep takes.
const MAX_POINTS: usize = 1000;

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
    pub fn json(&self, v: &str) -> Result<serde_json::Value, String> {
        use crate::cli as c;
        Ok(match self.name {
            VaryName::Workers => c::parse_workers(v)?.into(),
            VaryName::Choices => c::parse_count(v)?.into(),
            VaryName::Retries => c::parse_retries(v)?.into(),
            VaryName::Requests => c::parse_count64(v)?.into(),
            VaryName::ErrorRate => c::parse_probability(v)?.into(),
            VaryName::Refresh | VaryName::Timeout => {
                crate::time::canonical(c::parse_positive_duration(v)?).into()
            }
        })
    }

    /// Whether `args` sets this option itself (then `--vary` would silently override it).
    fn given(&self, args: &SimArgs) -> bool {
        match self.name {
            VaryName::Workers => args.workers.is_some(),
            VaryName::Choices => args.choices.is_some(),
            VaryName::Refresh => args.load_refresh.is_some(),
            VaryName::ErrorRate => args.error_rate.is_some(),
            VaryName::Retries => args.retries.is_some(),
            VaryName::Timeout => args.timeout.is_some(),
            VaryName::Requests => args.requests.is_some() || args.duration.is_some(),
        }
    }

    /// Sets value `v` in `args`.
    fn apply(&self, v: &str, args: &mut SimArgs) -> Result<(), String> {
        use crate::cli as c;
        match self.name {
            VaryName::Workers => args.workers = Some(c::parse_workers(v)?),
            VaryName::Choices => args.choices = Some(c::parse_count(v)?),
            VaryName::Refresh => args.load_refresh = Some(c::parse_positive_duration(v)?),
            VaryName::ErrorRate => args.error_rate = Some(c::parse_probability(v)?),
            VaryName::Retries => args.retries = Some(c::parse_retries(v)?),
            VaryName::Timeout => args.timeout = Some(c::parse_positive_duration(v)?),
            VaryName::Requests => args.requests = Some(c::parse_count64(v)?),
        }
        Ok(())
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
}

impl Grid {
    fn vary_values(&self) -> Vec<Option<usize>> {
        match &self.vary {
            Some(v) => (0..v.values.len()).map(Some).collect(),
            None => vec![None],
        }
    }

    /// A new grid with empty cells.
    pub(crate) fn new(
        scenario: String,
        sweep: &SweepArgs,
        loads: Vec<f64>,
        seed: u64,
        replications: u32,
    ) -> Grid {
        let mut grid = Grid {
            scenario,
            strategies: sweep.strategies.clone(),
            loads,
            vary: sweep.vary.clone(),
            replications,
            seed,
            metric: sweep.metric,
            cells: Vec::new(),
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
pub struct Job {
    /// The cell's index in [`Grid::cells`].
    pub cell: usize,
    /// The strategy.
    pub strategy: String,
    /// The scenario, overrides applied, seed set.
    pub scenario: Scenario,
}

/// Runs one job to the end; `None` if `stop` was raised first.
pub fn run_job(
    job: &Job,
    auto_warmup: bool,
    stop: &AtomicBool,
    progress: &AtomicU64,
) -> Result<Option<Sample>, String> {
    let mut config = job.scenario.to_config().map_err(|e| e.to_string())?;
    if auto_warmup {
        match warmup::find_cut(&config, &job.strategy, stop)? {
            Some(cut) => config.warmup = cut.time,
            None => return Ok(None),
        }
    }
    let s = strategy::build(&job.strategy, &config.strategy_params).map_err(|e| e.to_string())?;
    let mut sim = Sim::new(config, s).map_err(|e| e.to_string())?;
    while !sim.run_events(100_000) {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        progress.store((sim.progress() * 1e6) as u64, Ordering::Relaxed);
    }
    progress.store(1_000_000, Ordering::Relaxed);
    Ok(Some(Sample::from_report(&Report::new(&sim, &job.scenario.name, 0.0))))
}

/// What the caller of [`execute`] sees while the jobs run.
pub struct Progress<'a> {
    /// Fraction done, 0 to 1.
    pub fraction: f64,
    results: &'a [Mutex<Option<Sample>>],
}

impl Progress<'_> {
    /// The samples of the jobs finished so far (by job index).
    pub fn results(&self) -> Vec<Option<Sample>> {
        self.results.iter().map(|r| r.lock().expect("result lock").clone()).collect()
    }
}

/// Runs `jobs` on `threads` threads. `monitor` is called about every 10 ms on the calling
/// thread with the progress; when it returns true, the jobs still running are abandoned and
/// those not started never start. Returns each job's sample by index (`None`: not run).
pub fn execute(
    jobs: &[Job],
    threads: usize,
    auto_warmup: bool,
    monitor: &mut dyn FnMut(&Progress) -> bool,
) -> Result<Vec<Option<Sample>>, String> {
    let progress: Vec<AtomicU64> = jobs.iter().map(|_| AtomicU64::new(0)).collect();
    let results: Vec<Mutex<Option<Sample>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let error: Mutex<Option<String>> = Mutex::new(None);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let threads = threads.clamp(1, jobs.len().max(1));
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    while !stop.load(Ordering::Relaxed) {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(index) else { break };
                        match run_job(job, auto_warmup, &stop, &progress[index]) {
                            Ok(sample) => *results[index].lock().expect("result lock") = sample,
                            Err(e) => {
                                error.lock().expect("error lock").get_or_insert(e);
                                stop.store(true, Ordering::Relaxed);
                            }
                        }
                    }
                })
            })
            .collect();
        loop {
            let running = workers.iter().any(|w| !w.is_finished());
            let total: u64 = progress.iter().map(|p| p.load(Ordering::Relaxed)).sum();
            let fraction = total as f64 / (1e6 * jobs.len().max(1) as f64);
            if monitor(&Progress { fraction, results: &results }) {
                stop.store(true, Ordering::Relaxed);
            }
            if !running {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    if let Some(e) = error.into_inner().expect("error lock") {
        return Err(e);
    }
    Ok(results.into_iter().map(|r| r.into_inner().expect("result lock")).collect())
}

/// The machine's cores: the default for `--jobs`.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The grid of a sweep and its jobs, every cell's scenario resolved (and checked) up front.
pub fn build(sweep: &SweepArgs, sim: &SimArgs) -> Result<(Grid, Vec<Job>), CliError> {
    if sim.load.is_some() || sim.rate.is_some() {
        return Err(CliError::input("--load and --rate: a sweep takes its loads from --loads (drop them)"));
    }
    if sim.engine == Some(crate::engines::EngineKind::Live) {
        return Err(CliError::input("--engine live: a sweep runs the model (--engine sim) only"));
    }
    if let Some(dup) = sweep.strategies.iter().enumerate().find(|(i, s)| sweep.strategies[..*i].contains(s)) {
        return Err(CliError::input(format!("--strategies: `{}` is listed twice", dup.1)));
    }
    let loads = match &sweep.loads {
        Some(l) => l.0.clone(),
        None => {
            return Err(CliError::input(
                "--loads is required: a list (0.1,0.5,0.9) or a range with a step (0.1..0.95:0.05)",
            ));
        }
    };
    if let Some(v) = &sweep.vary
        && v.given(sim)
    {
        return Err(CliError::input(format!("--vary {}= and {} both set it: give one", v.key(), v.flag())));
    }
    let replications = sim.replications.unwrap_or(DEFAULT_REPLICATIONS);
    if replications < 2 {
        return Err(CliError::input(
            "--replications: a sweep needs from 2 to 10000 (a spread cannot be estimated from one run)",
        ));
    }
    let base = crate::cli::resolve_scenario(sim)?;
    let seed = sim.seed.unwrap_or(base.seed);
    let mut grid = Grid::new(base.name.clone(), sweep, loads, seed, replications);
    // One scenario per (vary value, load), checked before anything runs.
    let mut resolved: Vec<Vec<Scenario>> = Vec::new();
    for vary in grid.vary_values() {
        let mut row = Vec::new();
        for &load in &grid.loads {
            let args = cell_args(sim, &grid, vary, load);
            let scenario = crate::cli::resolve_scenario(&args)?;
            row.push(scenario);
        }
        resolved.push(row);
    }
    let mut jobs = Vec::new();
    for (index, cell) in grid.cells.iter().enumerate() {
        let vi = cell.vary.unwrap_or(0);
        let li = grid.loads.iter().position(|&l| l == cell.load).unwrap_or(0);
        for r in 0..grid.replications {
            let mut scenario = resolved[vi][li].clone();
            scenario.seed = grid.seed_of(r);
            jobs.push(Job { cell: index, strategy: cell.strategy.clone(), scenario });
        }
    }
    // Strategies are checked by the parser; a configuration the engine refuses is found here.
    for row in &resolved {
        for s in row {
            let config = s.to_config().map_err(CliError::input)?;
            for name in &grid.strategies {
                let st = strategy::build(name, &config.strategy_params).map_err(CliError::input)?;
                Sim::new(config.clone(), st).map_err(CliError::input)?;
            }
        }
    }
    grid.cells.iter_mut().for_each(|c| c.samples.clear());
    Ok((grid, jobs))
}

/// The arguments of `run` for one cell (seed not set: it is per replication).
fn cell_args(sim: &SimArgs, grid: &Grid, vary: Option<usize>, load: f64) -> SimArgs {
    let mut args = sim.clone();
    args.load = Some(load);
    if let (Some(v), Some(i)) = (&grid.vary, vary) {
        // Checked when parsed.
        let _ = v.apply(&v.values[i], &mut args);
    }
    args
}

/// `lbsim sweep`.
pub fn command(sweep: &SweepArgs, sim: &SimArgs) -> Result<(), CliError> {
    if let Some(dir) = &sweep.merge {
        return plan::merge(dir, sweep, sim);
    }
    if let Some(dir) = &sweep.plan {
        return plan::plan(dir, sweep, sim);
    }
    if let Some(path) = &sweep.plot {
        plot::check(path).map_err(CliError::input)?;
    }
    let (mut grid, jobs) = build(sweep, sim)?;
    let sink = crate::cli::prepare_sink(sim)?;
    let auto = sim.warmup == Some(warmup::Warmup::Auto);
    let threads = sweep.jobs.unwrap_or_else(cores);
    let samples = if crate::cli::use_ui(sim) {
        crate::tui::sweep::run(&grid, &jobs, threads, auto).map_err(CliError::runtime)?
    } else {
        let mut bar = crate::cli::ProgressBar::new();
        let samples = execute(&jobs, threads, auto, &mut |p| {
            bar.update(p.fraction);
            false
        })
        .map_err(CliError::runtime)?;
        bar.clear();
        samples
    };
    grid.fill(samples);
    finish(&grid, sweep, sim, sink)
}

/// Prints (and plots) a filled grid.
fn finish(
    grid: &Grid,
    sweep: &SweepArgs,
    sim: &SimArgs,
    sink: Option<crate::output::OutputFile>,
) -> Result<(), CliError> {
    let text = match sim.format {
        Format::Table => sweep_table(grid),
        Format::Json => sweep_json(grid),
        Format::Csv => sweep_csv(grid),
    };
    if let Some(path) = &sweep.plot {
        plot::write(path, grid).map_err(CliError::runtime)?;
    }
    crate::cli::deliver(&text, sink)?;
    stopped_runs(grid.stopped())
}

/// Exit status 3 and its warning when `n` runs stopped early at the in-flight cap.
pub(crate) fn stopped_runs(n: usize) -> Result<(), CliError> {
    match n {
        0 => Ok(()),
        n => Err(CliError {
            code: 3,
            message: format!(
                "warning: {n} runs stopped early at the in-flight cap (queues growing without bound); \
                 their figures cover the run until then (raise it with --max-in-flight)"
            ),
        }),
    }
}
