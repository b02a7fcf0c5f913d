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
const VERSION: u32 = 2;

/// This build's version, which every plan and every result names: results of another
/// version are not merged.
pub const LBSIM_VERSION: &str = env!("CARGO_PKG_VERSION");

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
    "plan_job",
    "missing",
];

/// The options `--merge` takes besides DIR: how to show the results.
pub const MERGE_OPTIONS: &[&str] = &["merge", "missing", "metric", "plot", "format", "output", "headless"];

/// `DIR/sweep.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    /// The JSON contract's version ([`crate::report::SCHEMA_VERSION`]; absent in older plans).
    #[serde(default)]
    schema_version: u32,
    /// What wrote it: `lbsim sweep --plan`, format [`VERSION`].
    version: u32,
    /// The plan's identity ([`plan_id`]): every job's result carries it.
    id: String,
    /// The lbsim version that planned it.
    lbsim: String,
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
    /// A trace's sweep: the `--trace-scale` that replays the trace at the cell's load
    /// (absent otherwise: the job runs at `--load`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    trace_scale: Option<f64>,
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

/// What a job of a plan writes beside its report (`"plan": {...}` in its JSON): the plan's
/// identity and the run's place in it, as the job's command line gave them, so that
/// `--merge` takes only the run the plan asked for at that place.
#[derive(Debug, Serialize, Deserialize)]
pub struct Stamp {
    /// The plan's identity (a hash of the version, the scenario, the options and the grid).
    pub id: String,
    /// The lbsim version that ran the job.
    pub lbsim: String,
    /// Its cell (index in the sweep's `cells`).
    pub cell: usize,
    /// Its replication, from 0.
    pub replication: u32,
    /// The scenario's name.
    pub scenario: String,
    /// The strategy.
    pub strategy: String,
    /// The seed it ran with.
    pub seed: u64,
    /// `--load` as the job was given it.
    pub load: Option<f64>,
    /// The options a `--vary` can set, as the job was given them (by `--vary` name, as JSON).
    pub options: serde_json::Map<String, serde_json::Value>,
    /// `complete`; `stopped` at the in-flight cap (a result, as in the in-process sweep); or
    /// `interrupted` by a signal before its end (partial: not a result).
    pub status: String,
}

/// `--plan-job PLAN/CELL/REPLICATION`, as a job line gives it.
pub fn parse_tag(tag: &str) -> Result<(String, usize, u32), String> {
    let mut parts = tag.split('/');
    let bad =
        || format!("--plan-job {tag}: not PLAN/CELL/REPLICATION (a line of a plan's jobs.txt gives it)");
    let (Some(id), Some(cell), Some(rep), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    Ok((id.to_string(), cell.parse().map_err(|_| bad())?, rep.parse().map_err(|_| bad())?))
}

/// A plan's identity: 16 hex digits of a 64-bit FNV-1a hash of the lbsim version, the
/// scenario (its file's bytes too), every option passed on to the jobs and the grid.
fn plan_id(grid: &Grid, scenario: &str, common: &[String]) -> String {
    let mut text = format!("lbsim {LBSIM_VERSION}\nscenario {scenario}\n");
    if let Ok(bytes) = std::fs::read(scenario) {
        text += &format!("file {:016x}\n", fnv(&bytes));
    }
    for word in common {
        text += &format!("option {word}\n");
    }
    text += &format!("strategies {}\nloads {:?}\n", grid.strategies.join(","), grid.loads);
    if let Some(v) = &grid.vary {
        text += &format!("vary {}={}\n", v.key(), v.values.join(","));
    }
    text += &format!("replications {}\nseed {}\n", grid.replications, grid.seed);
    format!("{:016x}", fnv(text.as_bytes()))
}

/// 64-bit FNV-1a.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
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
        common.push(match id.as_str() {
            "scenario" => format!("--scenario={scenario}"),
            "service" => absolute_service(token)?,
            _ => token.to_string(),
        });
    }
    Ok(common)
}

/// `--service=empirical:FILE` with FILE made absolute, so that the line runs from any folder.
fn absolute_service(token: &str) -> Result<String, Error> {
    let Some(file) = token.strip_prefix("--service=").and_then(|t| t.trim().strip_prefix("empirical:"))
    else {
        return Ok(token.to_string());
    };
    let path = Path::new(file.trim());
    match std::fs::canonicalize(path) {
        Ok(p) if path.is_file() => Ok(format!("--service=empirical:{}", p.display())),
        Ok(_) | Err(_) => Ok(token.to_string()),
    }
}

/// Writes DIR/jobs.txt and DIR/sweep.json, and says so.
fn write_plan(dir: &Path, grid: &Grid, jobs: &[Job], common: &[String]) -> Result<(), Error> {
    let io = |what: &Path, e: std::io::Error| Error::runtime(format!("cannot write {}: {e}", what.display()));
    let scenario = common.iter().find_map(|w| w.strip_prefix("--scenario=")).unwrap_or(&grid.scenario);
    let id = plan_id(grid, scenario, common);
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
        let trace_scale = match job.scenario.arrivals {
            crate::scenario::ArrivalSpec::Trace { scale, .. } => Some(scale),
            _ => None,
        };
        words.push(match trace_scale {
            Some(scale) => format!("--trace-scale={scale}"),
            None => format!("--load={}", cell.load),
        });
        if let (Some(v), Some(i)) = (&grid.vary, cell.vary) {
            words.push(format!("{}={}", v.flag(), v.values[i]));
        }
        words.push(format!("--plan-job={id}/{}/{replication}", job.cell));
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
            trace_scale,
        });
    }
    let file = PlanFile {
        schema_version: crate::report::SCHEMA_VERSION,
        version: VERSION,
        id,
        lbsim: LBSIM_VERSION.to_string(),
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
/// `plot`. Every result must be the run its line asked for, complete or stopped at the
/// in-flight cap: any other is refused, naming its file, and nothing is printed.
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
    let (file, mut grid) = read_plan(dir, metric)?;
    let sink = crate::output::prepare_sink(output)?;
    let missing: Vec<&PlanJob> = file.jobs.iter().filter(|j| !dir.join(&j.output).is_file()).collect();
    if let Some(first) = missing.first() {
        return Err(Error::runtime(format!(
            "{} of {} results are missing (the first: {}); run the lines `lbsim sweep --merge {} --missing` prints and merge again",
            missing.len(),
            file.jobs.len(),
            dir.join(&first.output).display(),
            shell_quote(&dir.display().to_string()),
        )));
    }
    let mut samples = Vec::with_capacity(file.jobs.len());
    for k in 0..file.jobs.len() {
        samples.push(Some(read_result(dir, &file, &grid, k)?));
    }
    grid.fill(samples);
    super::finish(&grid, format, plot, sink)
}

/// `lbsim sweep --merge DIR --missing`: prints the lines of DIR/jobs.txt still to run, those
/// whose result is absent or would be refused (a signal stopped it, another plan's...), one
/// per line, ready for `parallel` or `sh`.
pub fn missing(dir: &Path) -> Result<(), Error> {
    let (file, grid) = read_plan(dir, None)?;
    let jobs_txt = dir.join("jobs.txt");
    let text = std::fs::read_to_string(&jobs_txt)
        .map_err(|e| Error::input(format!("{}: cannot read it ({e})", jobs_txt.display())))?;
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() != file.jobs.len() {
        return Err(Error::input(format!(
            "{}: {} lines, where {} lists {} jobs; plan again",
            jobs_txt.display(),
            lines.len(),
            dir.join("sweep.json").display(),
            file.jobs.len()
        )));
    }
    let mut out = String::new();
    for (k, job) in file.jobs.iter().enumerate() {
        if !dir.join(&job.output).is_file() || read_result(dir, &file, &grid, k).is_err() {
            out += lines[k];
            out.push('\n');
        }
    }
    crate::output::print_stdout(&out)
}

/// DIR/sweep.json and the grid it describes (`metric` wins over the plan's).
fn read_plan(dir: &Path, metric: Option<Metric>) -> Result<(PlanFile, Grid), Error> {
    let plan_path = dir.join("sweep.json");
    let text = std::fs::read_to_string(&plan_path).map_err(|e| {
        Error::input(format!(
            "--merge: cannot read {} ({e}); is it a folder written by --plan?",
            plan_path.display()
        ))
    })?;
    let version = serde_json::from_str::<serde_json::Value>(&text).ok().and_then(|v| v["version"].as_u64());
    if let Some(v) = version.filter(|&v| v != VERSION as u64) {
        return Err(Error::input(format!(
            "{}: plan format {v} (this lbsim reads {VERSION}); plan again with this version",
            plan_path.display()
        )));
    }
    let file: PlanFile = serde_json::from_str(&text)
        .map_err(|e| Error::input(format!("{}: not a sweep plan: {e}", plan_path.display())))?;
    if file.lbsim != LBSIM_VERSION {
        return Err(Error::input(format!(
            "{}: planned by lbsim {}, this is {LBSIM_VERSION}; plan and run again with one version",
            plan_path.display(),
            file.lbsim
        )));
    }
    let grid = grid_of(&file, metric).map_err(|e| Error::input(format!("{}: {e}", plan_path.display())))?;
    Ok((file, grid))
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

/// Result `k` of a plan, checked to be the run its line asked for, complete or stopped at
/// the in-flight cap; else refused (exit 2) in one line naming its file.
fn read_result(dir: &Path, file: &PlanFile, grid: &Grid, k: usize) -> Result<Sample, Error> {
    let job = &file.jobs[k];
    let path: PathBuf = dir.join(&job.output);
    let bad = |what: String| Error::input(format!("{}: {what}; run its line again", path.display()));
    let text = std::fs::read_to_string(&path).map_err(|e| bad(format!("cannot read it ({e})")))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| bad(format!("not a JSON report ({e}), truncated or not a run's")))?;
    let stamp: Stamp = v
        .get("plan")
        .and_then(|p| serde_json::from_value(p.clone()).ok())
        .ok_or_else(|| bad("not the result of a plan's line (no `plan` stamp)".into()))?;
    if stamp.lbsim != file.lbsim {
        return Err(bad(format!("run by lbsim {}, where the plan is lbsim {}'s", stamp.lbsim, file.lbsim)));
    }
    if stamp.id != file.id {
        return Err(bad(format!("a result of another plan ({}; this plan is {})", stamp.id, file.id)));
    }
    match stamp.status.as_str() {
        "complete" | "stopped" => {}
        "interrupted" => return Err(bad("stopped by a signal before its end (partial)".into())),
        other => return Err(bad(format!("status `{other}`"))),
    }
    if (stamp.cell, stamp.replication) != (job.cell, job.replication) {
        let what = format!("the run of cell {} replication {}", stamp.cell, stamp.replication);
        return Err(
            match file.jobs.iter().find(|j| (j.cell, j.replication) == (stamp.cell, stamp.replication)) {
                Some(other) => bad(format!("a duplicate of {} ({what})", other.output)),
                None => bad(format!("{what}, which this plan does not have")),
            },
        );
    }
    let cell = &grid.cells[job.cell];
    let vary = match (&grid.vary, cell.vary) {
        (Some(v), Some(i)) => Some((v.key(), v.json(&v.values[i]).map_err(&bad)?)),
        _ => None,
    };
    let report_strategy = v.get("strategy").and_then(|s| s.as_str());
    let report_seed = v.get("seed").and_then(|s| s.as_u64());
    let report_scenario = v.get("scenario").and_then(|s| s.as_str());
    let mut wrong = Vec::new();
    if stamp.strategy != cell.strategy || report_strategy != Some(cell.strategy.as_str()) {
        wrong.push(format!("strategy {} (the plan's: {})", report_strategy.unwrap_or("?"), cell.strategy));
    }
    if stamp.seed != job.seed || report_seed != Some(job.seed) {
        let seed = report_seed.map_or("?".to_string(), |s| s.to_string());
        wrong.push(format!("seed {seed} (the plan's: {})", job.seed));
    }
    if let Some(scale) = job.trace_scale {
        let got = stamp.options.get("trace-scale").and_then(|x| x.as_f64());
        if got != Some(scale) || stamp.load.is_some() {
            let got = got.map_or("?".into(), |x| x.to_string());
            wrong.push(format!("trace scale {got} (the plan's: {scale}, load {})", cell.load));
        }
    } else if stamp.load != Some(cell.load) {
        wrong.push(format!(
            "load {} (the plan's: {})",
            stamp.load.map_or("?".into(), |l| l.to_string()),
            cell.load
        ));
    }
    if let Some((key, value)) = &vary
        && stamp.options.get(*key) != Some(value)
    {
        let got = stamp.options.get(*key).map_or("?".to_string(), |x| x.to_string());
        wrong.push(format!("{key} {got} (the plan's: {value})"));
    }
    if stamp.scenario != file.scenario || report_scenario != Some(file.scenario.as_str()) {
        wrong.push(format!("scenario {} (the plan's: {})", report_scenario.unwrap_or("?"), file.scenario));
    }
    if !wrong.is_empty() {
        return Err(bad(format!("not the run of its line: {}", wrong.join(", "))));
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
