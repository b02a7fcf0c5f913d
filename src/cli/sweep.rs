//! `lbsim sweep`: flags -> a typed [`Spec`], then the grid run under the
//! terminal chart or headless with a progress bar, planned (`--plan`) or merged (`--merge`).

use std::ffi::OsString;

use super::{CliError, SimArgs, SweepArgs};
use crate::output::{Progress, prepare_sink, use_ui};
use crate::report::Format;
use crate::scenario::Warmup;
use crate::sweep::{self, Spec, plan};

/// `lbsim sweep`.
pub fn command(args: &SweepArgs, sim: &SimArgs) -> Result<(), CliError> {
    super::run::timeline_unsupported(sim, "sweep")?;
    if sim.plan_job.is_some() {
        return Err(CliError::input(
            "--plan-job: for `lbsim run`, as the lines of a plan's jobs.txt give it",
        ));
    }
    if let Some(dir) = &args.merge {
        return merge(dir, args, sim);
    }
    if let Some(dir) = &args.plan {
        return plan(dir, args, sim);
    }
    if let Some(path) = &args.plot {
        sweep::plot::check(path).map_err(CliError::input)?;
    }
    let (mut grid, jobs) = build(args, sim)?;
    let sink = prepare_sink(sim.output.as_deref())?;
    let auto = sim.warmup == Some(Warmup::Auto);
    let threads = args.jobs.unwrap_or_else(sweep::cores);
    // Ctrl-C, SIGTERM or SIGHUP stop the runs (those running within a moment), and the
    // report covers what finished, marked partial; the exit status is then 128 + the signal.
    let stop = super::run::stop_signal;
    let samples = if use_ui(sim.headless) {
        crate::tui::sweep::run(&grid, &jobs, threads, auto, &stop).map_err(CliError::runtime)?
    } else {
        let mut bar = Progress::new("sweep");
        let samples = sweep::execute(&jobs, threads, auto, &mut |p| {
            bar.update(p.fraction);
            stop().is_some()
        })
        .map_err(CliError::runtime)?;
        bar.clear();
        samples
    };
    grid.fill(samples);
    grid.interrupted = stop();
    sweep::finish(&grid, sim.format, args.plot.as_deref(), sink)
}

/// The typed sweep of the flags.
pub fn spec(args: &SweepArgs) -> Spec {
    Spec {
        strategies: args.strategies.clone(),
        loads: args.loads.as_ref().map(|l| l.0.clone()).unwrap_or_default(),
        metric: args.metric,
        vary: args.vary.clone(),
    }
}

/// The grid of a sweep and its jobs, from the flags: `--scenario` loaded, the flags'
/// overrides and each cell's applied.
pub fn build(args: &SweepArgs, sim: &SimArgs) -> Result<(sweep::Grid, Vec<sweep::Job>), CliError> {
    let overrides = sim.overrides();
    let spec = spec(args);
    // The sweep's own refusals come before any file is read.
    sweep::check(&overrides, &spec, sim.replications)?;
    let scenario = super::overrides::load_scenario(&sim.scenario)?;
    sweep::build(&scenario, &overrides, &spec, sim.replications)
}

/// `lbsim sweep ... --plan DIR`.
fn plan(dir: &std::path::Path, args: &SweepArgs, sim: &SimArgs) -> Result<(), CliError> {
    if args.jobs.is_some() {
        return Err(CliError::input(
            "--jobs: a plan runs nothing; the batch system decides how many jobs run at once",
        ));
    }
    if args.plot.is_some() {
        return Err(CliError::input(
            "--plot: a plan runs nothing yet; give --plot to `lbsim sweep --merge DIR`",
        ));
    }
    if sim.output.is_some() || sim.format != Format::Table {
        return Err(CliError::input(
            "--format and --output: a plan's jobs write JSON into DIR/results; give them to `lbsim sweep --merge DIR`",
        ));
    }
    let (grid, jobs) = build(args, sim)?;
    let request = plan::PlanRequest { scenario: &sim.scenario, passed: &args.passed };
    plan::plan(dir, &grid, &jobs, &request)
}

/// The most bytes of `DIR/sweep.json` read (a grid of a million points is far less).
const SWEEP_JSON_LIMIT: u64 = 256 << 20;

/// `lbsim sweep --merge DIR`.
fn merge(dir: &std::path::Path, args: &SweepArgs, sim: &SimArgs) -> Result<(), CliError> {
    let passed = &args.passed;
    if let Some((_, token)) = passed.iter().find(|(id, _)| !plan::MERGE_OPTIONS.contains(&id.as_str())) {
        let name = token.to_string_lossy();
        let name = name.split('=').next().unwrap_or_default();
        return Err(CliError::input(format!(
            "{name}: --merge reads the grid from DIR/sweep.json; it takes only --metric, --plot, --format and --output"
        )));
    }
    let metric = passed.iter().any(|(id, _)| id == "metric").then_some(args.metric);
    // A named pipe or a device (/dev/zero) as DIR/sweep.json is refused before it is read.
    let plan_path = dir.join("sweep.json");
    if std::fs::symlink_metadata(&plan_path).is_ok() {
        crate::output::open_regular(&plan_path, SWEEP_JSON_LIMIT)
            .map_err(|e| CliError::input(format!("{}: cannot read it ({e})", plan_path.display())))?;
    }
    if args.missing {
        if passed.iter().any(|(id, _)| !["merge", "missing"].contains(&id.as_str())) {
            return Err(CliError::input(
                "--missing prints job lines: it takes no other option than --merge DIR",
            ));
        }
        return plan::missing(dir);
    }
    plan::merge(dir, metric, args.plot.as_deref(), sim.format, sim.output.as_deref())
}

/// `lbsim run ... --plan-job PLAN/CELL/REPLICATION`, a line of a plan's jobs.txt: the run
/// headless, its JSON report stamped with the plan's identity and the run's place in it
/// ([`plan::Stamp`]). A run a signal stops writes its partial report (`"partial": true`,
/// status `interrupted`) and exits 128 + the signal; one stopped at the in-flight cap is a
/// result (status `stopped`, exit 3) as in the in-process sweep.
pub fn plan_job(strategy: Option<String>, sim: &SimArgs) -> Result<(), CliError> {
    let tag = sim.plan_job.as_deref().unwrap_or_default();
    let (id, cell, replication) = plan::parse_tag(tag).map_err(CliError::input)?;
    super::run::distinct_files(sim)?;
    super::run::timeline_unsupported(sim, "a plan's jobs")?;
    if sim.replications.is_some_and(|r| r > 1) || sim.record.is_some() {
        return Err(CliError::input("--plan-job: a plan's job is one run (no --replications or --record)"));
    }
    let mut scenario = super::resolve_scenario(sim)?;
    let strategy = strategy.unwrap_or_else(|| scenario.strategy.clone());
    sweep::warmup::apply(sim.warmup, sim.engine, &mut scenario, std::slice::from_ref(&strategy))
        .map_err(CliError::input)?;
    let scenario = &scenario;
    if sim.format != Format::Json || sim.engine == Some(crate::engines::EngineKind::Live) {
        return Err(CliError::input("--plan-job: a plan's job runs the model with --format json"));
    }
    let sink = prepare_sink(sim.output.as_deref())?;
    let reports = super::run::simulate_all(scenario, std::slice::from_ref(&strategy))?;
    let report = &reports[0];
    let signal = report.interrupted_by.is_some().then(super::run::stop_signal).flatten();
    let status = if report.interrupted_by.is_some() {
        "interrupted"
    } else if report.stop_reason.is_some() {
        "stopped"
    } else {
        "complete"
    };
    let stamp = plan::Stamp {
        id,
        lbsim: plan::LBSIM_VERSION.to_string(),
        cell,
        replication,
        scenario: scenario.name.clone(),
        strategy,
        seed: scenario.seed,
        load: sim.load,
        options: vary_options(sim),
        status: status.to_string(),
    };
    #[derive(serde::Serialize)]
    struct Stamped<'a> {
        #[serde(flatten)]
        report: &'a crate::report::Report,
        /// Present (true) only when a signal stopped the run before its end.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        partial: bool,
        plan: plan::Stamp,
    }
    let partial = report.interrupted_by.is_some();
    let json = crate::report::json::document(&Stamped { report, partial, plan: stamp });
    crate::output::deliver(&json, sink)?;
    if partial {
        let signal = signal.unwrap_or(libc::SIGTERM);
        return Err(sweep::interrupted(signal, "the run's report is partial; run its line again"));
    }
    super::run::stopped_early(&reports)
}

/// The options a `--vary` can set, as the command line gave them, by `--vary` name, each as
/// [`sweep::Vary::json`] writes it; and `--trace-scale` (a trace's sweep sets it for a load).
fn vary_options(sim: &SimArgs) -> serde_json::Map<String, serde_json::Value> {
    let time = |t: Option<crate::time::Nanos>| t.map(|t| crate::time::canonical(t).into());
    let given: [(&str, Option<serde_json::Value>); 8] = [
        ("trace-scale", sim.trace_scale.map(Into::into)),
        ("workers", sim.workers.map(Into::into)),
        ("choices", sim.choices.map(Into::into)),
        ("refresh", time(sim.load_refresh)),
        ("error-rate", sim.error_rate.map(Into::into)),
        ("retries", sim.retries.map(Into::into)),
        ("timeout", time(sim.timeout)),
        ("requests", sim.requests.map(Into::into)),
    ];
    given.into_iter().filter_map(|(k, v)| Some((k.to_string(), v?))).collect()
}

/// The long options given on the command line (not defaults), as `--name=value` (or
/// `--name` for switches), in the order the command defines them, with the ids of those
/// given. Reads clap's matches, so `--name value` and `--name=value` come out the same.
pub(crate) fn passed_options(cmd: &clap::Command, matches: &clap::ArgMatches) -> Vec<(String, OsString)> {
    use clap::parser::ValueSource;
    let mut out = Vec::new();
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        if matches.value_source(id) != Some(ValueSource::CommandLine) {
            continue;
        }
        let Some(long) = arg.get_long() else { continue };
        let mut token = OsString::from(format!("--{long}"));
        if arg.get_action().takes_values()
            && let Some(values) = matches.get_raw(id)
        {
            token.push("=");
            for (i, v) in values.enumerate() {
                if i > 0 {
                    token.push(",");
                }
                token.push(v);
            }
        }
        out.push((id.to_string(), token));
    }
    out
}
