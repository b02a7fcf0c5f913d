//! `lbsim sweep --plan DIR` and `--merge DIR`: a sweep run by a batch system.
//!
//! A sweep is a grid of independent, deterministic runs, so it need not run in one process.
//! `--plan DIR` writes:
//! - `DIR/jobs.txt`: one self-contained `lbsim run ... --format=json --output=...` command
//!   per line, one per run (each cell's replications in seed order);
//! - `DIR/sweep.json`: the grid, and which result file each line writes;
//! - an empty `DIR/results/`.
//!
//! Any batch system runs the lines (GNU parallel, a Slurm job array, a Kubernetes Indexed
//! Job: see `deploy/`). `--merge DIR` then reads the results and reports exactly what the
//! in-process sweep would have: the figures are read from each run's JSON report, which is
//! also how the in-process sweep reads its own runs ([`super::Sample::from_report`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Grid, Job, Metric, Sample, Spec, Vary};
use crate::output::Error;
use crate::report::Format;

/// The version of `sweep.json` this build writes and reads.
const VERSION: u32 = 1;

/// The options of the command line that do not go into each job's `lbsim run`: the sweep's
/// own, and those each job sets itself.
pub const NOT_PASSED_ON: &[&str] = &[
    "strategies",
    "loads",
    "metric",
    "vary",
    "jobs",
    "plot",
    "plan",
    "merge",
    "replications",
    "seed",
    "format",
    "output",
    "headless",
];

/// The options `--merge` takes besides DIR: how to show the results.
pub const MERGE_OPTIONS: &[&str] = &["merge", "metric", "plot", "format", "output", "headless"];

/// `DIR/sweep.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    /// The JSON contract's version ([`crate::report::SCHEMA_VERSION`]; absent in older plans).
    #[serde(default)]
    schema_version: u32,
    /// What wrote it: `lbsim sweep --plan`, format [`VERSION`].
    version: u32,
    scenario: String,
    strategies: Vec<String>,
    loads: Vec<f64>,
    /// The `--vary` option's name and its values as given, or null.
    vary: Option<PlanVary>,
    replications: u32,
    seed: u64,
    metric: Metric,
    /// Line K of jobs.txt (from 1) is `jobs[K - 1]`.
    jobs: Vec<PlanJob>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanVary {
    name: String,
    values: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanJob {
    /// Index of the cell in the report's `cells`.
    cell: usize,
    strategy: String,
    /// Its replication, from 0: it ran with seed `seed + replication`.
    replication: u32,
    seed: u64,
    /// Where its report goes, relative to DIR.
    output: String,
}

/// Quotes `s` for a POSIX shell when it needs it: single quotes (POSIX style) around
/// anything with a character outside `[A-Za-z0-9_./:=,+-]`. A newline cannot stay literal
/// (each job is one line of jobs.txt), so an argument with one becomes
/// `"$(printf %b '...')"` with the newline written `\n` (and `\` as `\\`); a command substitution drops trailing
/// newlines, so [`check_words`] refuses arguments that end with one.
fn shell_quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=,+".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else if s.contains('\n') {
        let escaped = s.replace('\\', r"\\").replace('\'', r"'\''").replace('\n', r"\n");
        format!("\"$(printf %b '{escaped}')\"")
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Refuses an argument that no job line can carry: one ending with a newline.
fn check_words(words: &[String]) -> Result<(), Error> {
    match words.iter().find(|w| w.ends_with('\n')) {
        Some(w) => Err(Error::input(format!(
            "{}: ends with a newline, which a line of jobs.txt cannot carry; rename it",
            crate::text::escape(w.trim_end())
        ))),
        None => Ok(()),
    }
}

/// The result file of run `replication` of cell `cell`, relative to DIR.
fn result_name(cell: usize, replication: u32) -> String {
    format!("results/cell-{cell}-r{replication}.json")
}

/// What `--plan` writes into each job's command line besides the cell's own options.
pub struct PlanRequest<'a> {
    /// `--scenario` as given: a built-in's name, or a file (made absolute).
    pub scenario: &'a str,
    /// The options given on the command line, as `--name=value` by clap id.
    pub passed: &'a [(String, OsString)],
}

/// `lbsim sweep ... --plan DIR`: writes the grid's `jobs` as command lines.
pub fn plan(dir: &Path, grid: &Grid, jobs: &[Job], request: &PlanRequest) -> Result<(), Error> {
    let results = dir.join("results");
    if results.read_dir().is_ok_and(|mut d| d.next().is_some()) {
        return Err(Error::input(format!(
            "--plan {}: its results folder already has files; plan into a new folder",
            dir.display()
        )));
    }
    let io = |what: &Path, e: std::io::Error| Error::runtime(format!("cannot write {}: {e}", what.display()));
    let scenario = Path::new(request.scenario);
    let scenario = if scenario.is_file() {
        std::fs::canonicalize(scenario).map_err(|e| io(scenario, e))?.display().to_string()
    } else {
        request.scenario.to_string()
    };
    let common = common_options(request.passed, &scenario)?;
    check_words(&common)?;
    std::fs::create_dir_all(&results).map_err(|e| io(&results, e))?;
    // Absolute paths, so that a line runs from any folder of a machine that shares DIR.
    let dir = std::fs::canonicalize(dir).map_err(|e| io(dir, e))?;
    write_plan(&dir, grid, jobs, &common)
}

/// The options every job line carries: those given, but the sweep's own and those each job
/// sets itself; `--scenario` made absolute.
fn common_options(passed: &[(String, OsString)], scenario: &str) -> Result<Vec<String>, Error> {
    let mut common: Vec<String> = Vec::new();
    for (id, token) in passed {
        if NOT_PASSED_ON.contains(&id.as_str()) {
            continue;
        }
        let token = token.to_str().ok_or_else(|| {
            Error::input(format!(
                "{}: not valid UTF-8, which a job line cannot carry",
                token.to_string_lossy()
            ))
        })?;
        common.push(if id == "scenario" { format!("--scenario={scenario}") } else { token.to_string() });
    }
    Ok(common)
}

/// Writes DIR/jobs.txt and DIR/sweep.json, and says so.
fn write_plan(dir: &Path, grid: &Grid, jobs: &[Job], common: &[String]) -> Result<(), Error> {
    let io = |what: &Path, e: std::io::Error| Error::runtime(format!("cannot write {}: {e}", what.display()));
    let mut lines = String::new();
    let mut plan_jobs = Vec::new();
    let r = grid.replications as usize;
    for (k, job) in jobs.iter().enumerate() {
        let cell = &grid.cells[job.cell];
        let replication = (k % r) as u32;
        let output = result_name(job.cell, replication);
        let mut words = vec!["lbsim".to_string(), "run".to_string()];
        words.extend(common.iter().cloned());
        words.push(format!("--strategy={}", cell.strategy));
        words.push(format!("--load={}", cell.load));
        if let (Some(v), Some(i)) = (&grid.vary, cell.vary) {
            words.push(format!("{}={}", v.flag(), v.values[i]));
        }
        words.push(format!("--seed={}", job.seed));
        words.extend(["--headless".into(), "--format=json".into()]);
        words.push(format!("--output={}", dir.join(&output).display()));
        lines += &words.iter().map(|w| shell_quote(w)).collect::<Vec<_>>().join(" ");
        lines.push('\n');
        plan_jobs.push(PlanJob {
            cell: job.cell,
            strategy: cell.strategy.clone(),
            replication,
            seed: job.seed,
            output,
        });
    }
    let file = PlanFile {
        schema_version: crate::report::SCHEMA_VERSION,
        version: VERSION,
        scenario: grid.scenario.clone(),
        strategies: grid.strategies.clone(),
        loads: grid.loads.clone(),
        vary: grid.vary.as_ref().map(|v| PlanVary { name: v.key().to_string(), values: v.values.clone() }),
        replications: grid.replications,
        seed: grid.seed,
        metric: grid.metric,
        jobs: plan_jobs,
    };
    let json = serde_json::to_string_pretty(&file).expect("plans serialise") + "\n";
    let (jobs_txt, sweep_json) = (dir.join("jobs.txt"), dir.join("sweep.json"));
    std::fs::write(&jobs_txt, lines).map_err(|e| io(&jobs_txt, e))?;
    std::fs::write(&sweep_json, json).map_err(|e| io(&sweep_json, e))?;
    crate::output::print_stdout(&format!(
        "wrote {} jobs to {} and the grid to {}\n\
         run them, e.g. `parallel < {}` (or see deploy/ for Slurm and Kubernetes),\n\
         then report with `lbsim sweep --merge {}`\n",
        jobs.len(),
        jobs_txt.display(),
        sweep_json.display(),
        shell_quote(&jobs_txt.display().to_string()),
        shell_quote(&dir.display().to_string()),
    ))
}

/// `lbsim sweep --merge DIR`: `metric` (given on the merge's command line) wins over the
/// plan's; the report goes in `format` to `output` (else standard output), the chart to
/// `plot`.
pub fn merge(
    dir: &Path,
    metric: Option<Metric>,
    plot: Option<&Path>,
    format: Format,
    output: Option<&Path>,
) -> Result<(), Error> {
    if let Some(path) = plot {
        super::plot::check(path).map_err(Error::input)?;
    }
    let plan_path = dir.join("sweep.json");
    let text = std::fs::read_to_string(&plan_path).map_err(|e| {
        Error::input(format!(
            "--merge: cannot read {} ({e}); is it a folder written by --plan?",
            plan_path.display()
        ))
    })?;
    let file: PlanFile = serde_json::from_str(&text)
        .map_err(|e| Error::input(format!("{}: not a sweep plan: {e}", plan_path.display())))?;
    if file.version != VERSION {
        return Err(Error::input(format!(
            "{}: plan format {} (this lbsim reads {VERSION}); plan again with this version",
            plan_path.display(),
            file.version
        )));
    }
    let mut grid =
        grid_of(&file, metric).map_err(|e| Error::input(format!("{}: {e}", plan_path.display())))?;
    let sink = crate::output::prepare_sink(output)?;
    let mut samples = Vec::with_capacity(file.jobs.len());
    let missing: Vec<&PlanJob> = file.jobs.iter().filter(|j| !dir.join(&j.output).is_file()).collect();
    if let Some(first) = missing.first() {
        return Err(Error::runtime(format!(
            "{} of {} results are missing (the first: {}); run their lines of {} and merge again",
            missing.len(),
            file.jobs.len(),
            dir.join(&first.output).display(),
            dir.join("jobs.txt").display()
        )));
    }
    for job in &file.jobs {
        samples.push(Some(read_result(dir, job)?));
    }
    grid.fill(samples);
    super::finish(&grid, format, plot, sink)
}

/// The grid a plan describes, cells empty; `--metric` on the merge's command line wins.
fn grid_of(file: &PlanFile, metric: Option<Metric>) -> Result<Grid, String> {
    let vary = match &file.vary {
        Some(v) => Some(Vary::parse(&format!("{}={}", v.name, v.values.join(",")))?),
        None => None,
    };
    let spec = Spec {
        strategies: file.strategies.clone(),
        loads: file.loads.clone(),
        metric: metric.unwrap_or(file.metric),
        vary,
    };
    let grid = Grid::new(file.scenario.clone(), &spec, file.seed, file.replications);
    let r = file.replications.max(1) as usize;
    if file.jobs.len() != grid.cells.len() * r {
        return Err(format!("{} jobs for {} cells of {r} replications", file.jobs.len(), grid.cells.len()));
    }
    for (k, job) in file.jobs.iter().enumerate() {
        let cell = &grid.cells[k / r];
        if job.cell != k / r || job.replication as usize != k % r || job.strategy != cell.strategy {
            return Err(format!("job {} does not match the grid", k + 1));
        }
    }
    Ok(grid)
}

/// A job's report, checked to be the run the plan asked for.
fn read_result(dir: &Path, job: &PlanJob) -> Result<Sample, Error> {
    let path: PathBuf = dir.join(&job.output);
    let bad = |what: String| Error::runtime(format!("{}: {what}", path.display()));
    let text = std::fs::read_to_string(&path).map_err(|e| bad(format!("cannot read it ({e})")))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| bad(format!("not a JSON report ({e}); run its line again")))?;
    let strategy = v.get("strategy").and_then(|s| s.as_str());
    let seed = v.get("seed").and_then(|s| s.as_u64());
    if strategy != Some(job.strategy.as_str()) || seed != Some(job.seed) {
        return Err(bad(format!(
            "a report of {} with seed {}, where the plan ran {} with seed {}",
            strategy.unwrap_or("?"),
            seed.map_or("?".to_string(), |s| s.to_string()),
            job.strategy,
            job.seed
        )));
    }
    Sample::from_json(&v).map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_leaves_plain_words_and_quotes_the_rest() {
        assert_eq!(shell_quote("--load=0.5"), "--load=0.5");
        assert_eq!(shell_quote("/tmp/a b.toml"), "'/tmp/a b.toml'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
        assert_eq!(shell_quote("a@b%c"), "'a@b%c'");
        assert_eq!(shell_quote("a\nb'%\\"), r#""$(printf %b 'a\nb'\''%\\')""#);
    }
}
