//! The command line: clap definitions, validation of raw values into a [`Scenario`] and
//! [`SimConfig`](crate::engine::SimConfig), and the commands themselves.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};

use crate::dist::Dist;
use crate::engine::{Backpressure, Detection, OutlierEjection, RetryPolicy, Sim, Stop};
use crate::engines::EngineKind;
use crate::live::Work;
use crate::output::OutputFile;
use crate::report::{self, Format, Report};
use crate::scenario::{ArrivalSpec, Level, Scenario, builtin};
use crate::strategy;
use crate::sweep::warmup::Warmup;
use crate::time::{MILLIS, Nanos, SECS, parse_duration};
use crate::tui::Mode;

/// Exit statuses and the UI's keys, for `--help` and the manual pages.
const AFTER_HELP: &str = "\
Exit status: 0 on success; 2 for bad input (one line naming the flag, or the file, line,
column and field of a scenario); 3 when a run stopped early at the in-flight cap (the report
is printed, then a warning); 1 for anything else, such as an unwritable --output.

Keys in the terminal UI of run and compare: space pause/resume; n step one event (the model);
+/- speed; x type a speed; p type a time to pause at (or [run] pause_at in the scenario);
left/right seek 5s back/forward, { } 1s (the model); up/down select a worker; k/r
crash/repair it; w slow it 10x; e/E its error rate up/down 10%; t retries on/off; [ ] arrival
rate -/+10%; s next strategy (run); h histograms: whole run or last 5s; PgUp/PgDn scroll the
event log (End: newest); R restart; ? help; q, Esc or Ctrl-C quit and print the report
(which lists every change made with keys).

lbsim man --dir DIR writes a page for every command (lbsim-run.1, lbsim-compare.1, ...).";

/// lbsim: a load-balancer simulator.
#[derive(Debug, Parser)]
#[command(name = "lbsim", version, about, arg_required_else_help = true, after_long_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    /// What to do.
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate one strategy and report on it.
    Run {
        /// The balancing strategy (see `lbsim strategies`). Default: the scenario's, or
        /// least-loaded.
        #[arg(long, value_parser = parse_strategy)]
        strategy: Option<String>,
        /// Workload and output options.
        #[command(flatten)]
        sim: SimArgs,
    },
    /// Run several strategies on exactly the same workload and compare them.
    Compare {
        /// Comma-separated strategies.
        #[arg(long, value_delimiter = ',', value_parser = parse_strategy,
              default_value = "round-robin,random,least-loaded")]
        strategies: Vec<String>,
        /// Workload and output options.
        #[command(flatten)]
        sim: SimArgs,
    },
    /// List the built-in scenarios, or print one.
    Scenarios {
        /// `show NAME` prints one; without it, all are listed.
        #[command(subcommand)]
        action: Option<ScenariosAction>,
    },
    /// List the strategies.
    Strategies,
    /// Run one strategy in both engines, the model and live tokio tasks, and compare them:
    /// the "model vs reality" lesson. Runs 10,000 requests unless --requests or --duration
    /// says otherwise (the live run takes real time).
    Crosscheck {
        /// The balancing strategy. Default: the scenario's.
        #[arg(long, value_parser = parse_strategy)]
        strategy: Option<String>,
        /// Workload and output options.
        #[command(flatten)]
        sim: SimArgs,
    },
    /// Validate scenario files.
    Check {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print a shell completion script: lbsim completions bash > ~/.local/share/bash-completion/completions/lbsim
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): lbsim man > lbsim.1 && man ./lbsim.1; with --dir, write
    /// one page per command there.
    Man {
        /// Write lbsim.1 and a page per command (lbsim-run.1, ...) into this folder.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Play a session saved with --record back: in the UI on a terminal (its commands at
    /// their moments, the same screens at the same virtual times), else headless; then print
    /// its report, the same report the session gave (but for the wall time).
    Replay {
        /// The session file.
        file: PathBuf,
        /// Print the report without opening the UI.
        #[arg(long)]
        headless: bool,
        /// Report format [default: the session's].
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Write the report to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Response curves: every strategy at every load, replicated, with 95% confidence
    /// intervals, on every core.
    Sweep {
        /// What to sweep.
        #[command(flatten)]
        sweep: crate::sweep::SweepArgs,
        /// Workload and output options.
        #[command(flatten)]
        sim: SimArgs,
    },
}

/// `lbsim scenarios show NAME`.
#[derive(Debug, Subcommand)]
pub enum ScenariosAction {
    /// Print a built-in scenario's file.
    Show {
        /// The scenario's name.
        name: String,
    },
}

/// Options shared by `run` and `compare`. Values given here override the scenario's.
#[derive(Clone, Debug, Args)]
pub struct SimArgs {
    /// A scenario file, or the name of a built-in scenario (see `lbsim scenarios`).
    #[arg(long, value_name = "FILE|NAME", default_value = "default")]
    pub scenario: String,
    /// Number of workers; the scenario's list of workers is repeated (or cut) to this length.
    #[arg(long, value_name = "N", value_parser = parse_workers, allow_hyphen_values = true)]
    pub workers: Option<u32>,
    /// Poisson arrivals at this rate (requests/s), replacing the scenario's arrivals.
    #[arg(long, value_name = "R", value_parser = parse_positive, allow_hyphen_values = true,
          conflicts_with = "load")]
    pub rate: Option<f64>,
    /// Poisson arrivals at this fraction of the cluster's capacity (0.9 = 90% load).
    #[arg(long, value_name = "RHO", value_parser = parse_positive, allow_hyphen_values = true)]
    pub load: Option<f64>,
    /// Service time at speed 1: exp:10ms, const:10ms, uniform:5ms..15ms,
    /// lognormal:10ms,sigma=1, pareto:10ms,alpha=2.5, mix:1ms,50ms,p=0.05.
    /// empirical:FILE samples the durations in FILE (CSV with a header), interpolating
    /// between them.
    #[arg(long, value_name = "DIST", value_parser = parse_service)]
    pub service: Option<Dist>,
    /// Stop after this many measured requests (then let those in flight finish).
    #[arg(long, value_name = "N", value_parser = parse_count64, conflicts_with = "duration", allow_hyphen_values = true)]
    pub requests: Option<u64>,
    /// Stop after this much measured virtual time, e.g. 60s.
    #[arg(long, value_name = "TIME", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub duration: Option<Nanos>,
    /// Master seed: the same seed and scenario give the same results on any machine.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub seed: Option<u64>,
    /// Virtual time at the start excluded from statistics, e.g. 5s; `auto` finds the initial
    /// transient with MSER-5 on a pilot run and cuts it (the cut is reported on stderr).
    #[arg(long, value_name = "TIME|auto", value_parser = Warmup::parse, allow_hyphen_values = true)]
    pub warmup: Option<Warmup>,
    /// power-of-two: workers sampled per pick.
    #[arg(long, value_name = "D", value_parser = parse_count, allow_hyphen_values = true)]
    pub choices: Option<u32>,
    /// ring-hash and bounded-hash: points per worker on the ring [default: 1024].
    #[arg(long, value_name = "N", value_parser = parse_count, allow_hyphen_values = true)]
    pub ring_size: Option<u32>,
    /// maglev: lookup table size, the smallest prime at least this [default: 65537].
    #[arg(long, value_name = "N", value_parser = parse_count64, allow_hyphen_values = true)]
    pub table_size: Option<u64>,
    /// bounded-hash: no worker takes more than ceil(C x mean pending) (Envoy's
    /// hash_balance_factor / 100) [default: 1.25].
    #[arg(long, value_name = "C", value_parser = parse_positive, allow_hyphen_values = true)]
    pub balance_factor: Option<f64>,
    /// least-request with unequal weights: effective weight = weight / (active + 1)^B
    /// (Envoy's active_request_bias) [default: 1].
    #[arg(long, value_name = "B", value_parser = parse_non_negative, allow_hyphen_values = true)]
    pub active_request_bias: Option<f64>,
    /// peak-ewma: time over which latency peaks are forgotten [default: 1s].
    #[arg(long, value_name = "TIME", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub ewma_decay: Option<Nanos>,
    /// The requester gives up on a request after this long (retries included), e.g. 500ms.
    #[arg(long, value_name = "TIME", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub timeout: Option<Nanos>,
    /// Retry failed attempts up to N times (exponential backoff from 10ms, full jitter).
    #[arg(long, value_name = "N", value_parser = parse_retries, allow_hyphen_values = true)]
    pub retries: Option<u32>,
    /// With --retries: abandon an attempt and retry after this long.
    #[arg(long, value_name = "TIME", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub per_try_timeout: Option<Nanos>,
    /// With --retries: retry at most this fraction of requests (0.1 = 10%).
    #[arg(long, value_name = "FRACTION", value_parser = parse_probability, allow_hyphen_values = true)]
    pub retry_budget: Option<f64>,
    /// How the balancer learns that a worker is down: instant, health-checks (every 1s, down
    /// after 2 failures) or none.
    #[arg(long, value_name = "HOW", value_parser = ["instant", "health-checks", "none"])]
    pub failure_detection: Option<String>,
    /// Eject a worker after 5 consecutive errors (30s, growing with each ejection).
    #[arg(long)]
    pub outlier_ejection: bool,
    /// Load-aware strategies see queue lengths refreshed this often instead of live, e.g. 1s.
    #[arg(long, value_name = "TIME", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub load_refresh: Option<Nanos>,
    /// Envoy's panic threshold: when fewer than this fraction of the workers is available,
    /// balance across all of them (0.5 is Envoy's default) [default: off].
    #[arg(long, value_name = "F", value_parser = parse_probability, allow_hyphen_values = true)]
    pub panic_threshold: Option<f64>,
    /// Slow start (Envoy's slow_start_window): a worker that comes back or joins ramps its
    /// weight up over this window, e.g. 30s; `off` removes the scenario's [default: the
    /// scenario's, else off].
    #[arg(long, value_name = "TIME|off", value_parser = parse_slow_start, allow_hyphen_values = true)]
    pub slow_start: Option<SlowStartFlag>,
    /// Balancer replicas in front of the workers, 1 to 1000, each with its own strategy
    /// instance and random stream [default: the scenario's, else 1].
    #[arg(long, value_name = "N", value_parser = parse_balancers, allow_hyphen_values = true)]
    pub balancers: Option<u32>,
    /// What each balancer replica sees of the loads: global (the true pending counts), local
    /// (its own requests only), report (a shared report, refreshed every --load-refresh) or
    /// report+local (the report plus its own requests since) [default: global, or report
    /// with --load-refresh].
    #[arg(long, value_name = "VIEW", value_parser = crate::engine::View::parse)]
    pub balancer_view: Option<crate::engine::View>,
    /// When the chosen worker's queue is full: reject the request, or block (hold it at the
    /// balancer until there is room).
    #[arg(long, value_name = "HOW", value_parser = ["reject", "block"])]
    pub backpressure: Option<String>,
    /// Every worker fails this fraction of requests (after doing the work).
    #[arg(long, value_name = "P", value_parser = parse_probability, allow_hyphen_values = true)]
    pub error_rate: Option<f64>,
    /// peak-ewma: the latency an error counts as, e.g. 1s (0s: none) [default: 1s].
    #[arg(long, value_name = "TIME", value_parser = parse_duration, allow_hyphen_values = true)]
    pub error_penalty: Option<Nanos>,
    /// Which engine runs the scenario: sim (the discrete-event model, in virtual time) or
    /// live (real tokio tasks and channels, in real time) [default: sim].
    #[arg(long, value_enum, value_name = "ENGINE")]
    pub engine: Option<EngineKind>,
    /// live: what serving is: sleep (I/O-bound), spin (CPU work inside the async task) or
    /// blocking (the same CPU work on tokio's blocking pool) [default: sleep].
    #[arg(long, value_enum, value_name = "WORK")]
    pub work: Option<Work>,
    /// live: runtime worker threads, 1 to 1024 [default: the machine's cores].
    #[arg(long, value_name = "N", value_parser = parse_threads, allow_hyphen_values = true)]
    pub threads: Option<u32>,
    /// live: real time per scenario time, from 0.01 to 1000 (2: exp:10ms sleeps 20ms on
    /// average) [default: 1]. Reports give scenario time.
    #[arg(long, value_name = "F", value_parser = parse_time_scale, allow_negative_numbers = true)]
    pub time_scale: Option<f64>,
    /// live: how long requests in flight may take to finish when the run stops, e.g. 2s
    /// (real time) [default: 2s].
    #[arg(long, value_name = "TIME", value_parser = parse_duration, allow_hyphen_values = true)]
    pub grace: Option<Nanos>,
    /// live: workers stop work whose requester gave up (timed out).
    #[arg(long)]
    pub cancel_abandoned: bool,
    /// Print the report without opening the terminal UI (which opens when standard output is
    /// a terminal); after the UI, the report is printed too.
    #[arg(long)]
    pub headless: bool,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Run on R seeds (seed, seed + 1, ...; the same for every strategy) and report every
    /// figure as a mean with its 95% confidence interval; compare names a p99 leader only when
    /// the paired difference is significant. Above 1 the report is printed without the UI
    /// [default: 1; sweep: 5].
    #[arg(long, value_name = "R", value_parser = parse_replications, allow_hyphen_values = true)]
    pub replications: Option<u32>,
    /// Stop the run (and report what was simulated) when more than N requests, or N attempts
    /// at workers, are in flight, as when queues grow without bound [default: 10000000].
    #[arg(long, value_name = "N", value_parser = parse_count64, allow_hyphen_values = true)]
    pub max_in_flight: Option<u64>,
    /// Report the run over time in intervals of TIME (JSON `timeline`): per interval, requests
    /// sent, completed, failed, rejected and timed out, latency p50/p99/mean, and each
    /// worker's mean pending count.
    #[arg(long, value_name = "TIME", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub timeline: Option<Nanos>,
    /// Write the timeline as CSV to FILE (one line per interval and strategy); intervals of
    /// --timeline, else 1s.
    #[arg(long, value_name = "FILE")]
    pub timeline_csv: Option<PathBuf>,
    /// Trace arrivals: virtual time per unit of the trace's time (0.5 replays it twice as
    /// fast, at twice the load) [default: the scenario's arrivals.time_scale, or 1].
    #[arg(long, value_name = "F", value_parser = parse_trace_scale, allow_negative_numbers = true)]
    pub trace_scale: Option<f64>,
    /// Save the session (the options, and every command given in the UI at its moment of
    /// virtual time) to FILE, as JSON; `lbsim replay FILE` plays it back.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
}

fn parse_service(s: &str) -> Result<Dist, String> {
    Dist::parse_service(s, None)
}

fn parse_trace_scale(s: &str) -> Result<f64, String> {
    let f = parse_positive(s)?;
    if f <= 1e6 { Ok(f) } else { Err(format!("must be at most 1e6, got {f}")) }
}

pub(crate) fn parse_strategy(s: &str) -> Result<String, String> {
    strategy::find(s).map(|info| info.name.to_string()).map_err(|e| e.to_string())
}

fn parse_positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        Ok(x) => Err(format!("must be a positive number, got {x}")),
        Err(_) => Err(format!("`{s}` is not a number")),
    }
}

fn parse_non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        Ok(x) => Err(format!("must be a number of at least 0, got {x}")),
        Err(_) => Err(format!("`{s}` is not a number")),
    }
}

pub(crate) fn parse_count(s: &str) -> Result<u32, String> {
    parse_whole(s, 1, u32::MAX as u64).map(|n| n as u32)
}

fn parse_threads(s: &str) -> Result<u32, String> {
    parse_whole(s, 1, 1024).map(|n| n as u32)
}

pub(crate) fn parse_workers(s: &str) -> Result<u32, String> {
    parse_whole(s, 1, crate::engine::MAX_WORKERS as u64).map(|n| n as u32)
}

pub(crate) fn parse_retries(s: &str) -> Result<u32, String> {
    parse_whole(s, 0, 100).map(|n| n as u32)
}

/// A whole number in `min..=max`, with a message saying what is allowed.
pub(crate) fn parse_whole(s: &str, min: u64, max: u64) -> Result<u64, String> {
    let allowed = || match max {
        u64::MAX => format!("a whole number of at least {min}"),
        _ => format!("a whole number from {min} to {max}"),
    };
    match s.replace('_', "").parse::<i128>() {
        Ok(n) if n >= min as i128 && n <= max as i128 => Ok(n as u64),
        Ok(n) => Err(format!("must be {}, got {n}", allowed())),
        Err(_) => Err(format!("`{s}` is not {}", allowed())),
    }
}

fn parse_balancers(s: &str) -> Result<u32, String> {
    parse_whole(s, 1, crate::engine::MAX_BALANCERS as u64).map(|n| n as u32)
}

fn parse_replications(s: &str) -> Result<u32, String> {
    parse_whole(s, 1, 10_000).map(|n| n as u32)
}

pub(crate) fn parse_count64(s: &str) -> Result<u64, String> {
    parse_whole(s, 1, u64::MAX)
}

pub(crate) fn parse_probability(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        Ok(p) => Err(format!("must be between 0 and 1, got {p}")),
        Err(_) => Err(format!("`{s}` is not a number")),
    }
}

fn parse_time_scale(s: &str) -> Result<f64, String> {
    let f = parse_positive(s)?;
    if (0.01..=1000.0).contains(&f) { Ok(f) } else { Err(format!("must be between 0.01 and 1000, got {f}")) }
}

pub(crate) fn parse_positive_duration(s: &str) -> Result<Nanos, String> {
    match parse_duration(s)? {
        0 => Err(format!("`{s}` must be longer than 0")),
        t => Ok(t),
    }
}

/// `--slow-start`: a window, or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlowStartFlag {
    /// No slow start, whatever the scenario says.
    Off,
    /// Ramp over this window (the scenario's aggression and floor kept, else Envoy's defaults).
    Window(Nanos),
}

fn parse_slow_start(s: &str) -> Result<SlowStartFlag, String> {
    match s {
        "off" => Ok(SlowStartFlag::Off),
        _ => parse_positive_duration(s).map(SlowStartFlag::Window).map_err(|e| format!("{e} (or `off`)")),
    }
}

/// An error for the user: one line, and the exit status it calls for.
#[derive(Debug)]
pub struct CliError {
    /// 2 for bad input, 1 for anything else.
    pub code: u8,
    /// The line to print (without the `lbsim: ` prefix).
    pub message: String,
}

impl CliError {
    pub(crate) fn input(message: impl ToString) -> CliError {
        CliError { code: 2, message: message.to_string() }
    }

    pub(crate) fn runtime(message: impl ToString) -> CliError {
        CliError { code: 1, message: message.to_string() }
    }
}

/// The whole program: runs the command line of this process and turns the outcome into an
/// exit status (0; 2 for bad input; 3 for a run stopped early at the in-flight cap, after its
/// report; 1 otherwise), printing any error as one line.
pub fn main() -> std::process::ExitCode {
    crate::output::guard_standard_streams();
    watch_stop_signals();
    match main_with_args(std::env::args_os()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            crate::output::error_line(&e.message);
            std::process::ExitCode::from(e.code)
        }
    }
}

/// Parses the arguments and runs the command. `--help` and `--version` print their text and
/// return `Ok`; nothing here panics on a closed or full standard output.
pub fn main_with_args<I, T>(args: I) -> Result<(), CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let _ = crate::replay::RAW_ARGS.set(args.iter().map(|a| a.to_string_lossy().into_owned()).collect());
    let mut command = <Cli as clap::CommandFactory>::command();
    let parsed = command
        .try_get_matches_from_mut(args)
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m).map(|cli| (cli, m)));
    let cli = match parsed {
        Ok((mut cli, matches)) => {
            if let (Command::Sweep { sweep, .. }, Some(m), Some(c)) =
                (&mut cli.command, matches.subcommand_matches("sweep"), command.find_subcommand("sweep"))
            {
                sweep.passed = crate::sweep::plan::passed_options(c, m);
            }
            cli
        }
        Err(e) => {
            use clap::error::ErrorKind;
            match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    return print_stdout(&e.render().to_string());
                }
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    crate::output::stderr_text(&e.render().to_string());
                    return Err(CliError::input("a command is needed (see above)"));
                }
                _ => return Err(CliError::input(clap_error_line(&e))),
            }
        }
    };
    run(cli)
}

/// clap's error as one line: the error itself and what it lists after it (the missing
/// arguments, the valid values, a tip), without the usage lines.
pub(crate) fn clap_error_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut line = String::new();
    for part in text.lines().map(str::trim) {
        if part.starts_with("Usage:") || part.starts_with("For more information") {
            break;
        }
        if part.is_empty() {
            continue;
        }
        let part = part.trim_start_matches("error: ");
        if !line.is_empty() {
            line += if line.ends_with(':') { " " } else { "; " };
        }
        line += part;
    }
    if line.is_empty() { "invalid arguments".to_string() } else { line }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Run { strategy, sim } => {
            let mut scenario = resolve_scenario(&sim)?;
            let name = strategy.unwrap_or_else(|| scenario.strategy.clone());
            if let Some(r) = sim.replications.filter(|&r| r > 1) {
                timeline_unsupported(&sim, "--replications")?;
                return crate::sweep::compare::command(&[name], &sim, r);
            }
            crate::sweep::warmup::apply(sim.warmup, sim.engine, &mut scenario, std::slice::from_ref(&name))
                .map_err(CliError::input)?;
            simulate_and_report(scenario, &[name], Mode::Run, &sim)
        }
        Command::Crosscheck { strategy, mut sim } => {
            if sim.engine.is_some() {
                return Err(CliError::input("crosscheck runs both engines: drop --engine"));
            }
            if sim.replications.is_some() {
                return Err(CliError::input(
                    "--replications applies to run, compare and sweep, not crosscheck",
                ));
            }
            if sim.warmup == Some(Warmup::Auto) {
                return Err(CliError::input(
                    "--warmup auto: crosscheck runs the live engine too; give a fixed --warmup TIME",
                ));
            }
            if sim.record.is_some() {
                return Err(CliError::input("--record records run and compare sessions, not crosscheck"));
            }
            if sim.timeline_csv.is_some() {
                return Err(CliError::input(
                    "--timeline-csv applies to run and compare; crosscheck --format json has the timelines",
                ));
            }
            if sim.requests.is_none() && sim.duration.is_none() {
                sim.requests = Some(CROSSCHECK_REQUESTS);
            }
            sim.engine = Some(EngineKind::Live);
            let scenario = resolve_scenario(&sim)?;
            let sink = prepare_sink(&sim)?;
            let name = strategy.unwrap_or_else(|| scenario.strategy.clone());
            let model = simulate_all(&scenario, std::slice::from_ref(&name))?.remove(0);
            let live = run_live(&scenario, &[name])?.remove(0);
            let text = match sim.format {
                Format::Table => report::crosscheck_table(&model, &live),
                Format::Json => report::crosscheck_json(&model, &live),
                Format::Csv => report::csv(&[model.clone(), live.clone()]),
            };
            deliver(&text, sink)?;
            stopped_early(&[model, live])
        }
        Command::Compare { strategies, sim } => {
            if let Some(dup) = strategies.iter().enumerate().find(|(i, s)| strategies[..*i].contains(s)) {
                return Err(CliError::input(format!("strategy `{}` is listed twice", dup.1)));
            }
            if let Some(r) = sim.replications.filter(|&r| r > 1) {
                timeline_unsupported(&sim, "--replications")?;
                return crate::sweep::compare::command(&strategies, &sim, r);
            }
            let mut scenario = resolve_scenario(&sim)?;
            crate::sweep::warmup::apply(sim.warmup, sim.engine, &mut scenario, &strategies)
                .map_err(CliError::input)?;
            simulate_and_report(scenario, &strategies, Mode::Compare, &sim)
        }
        Command::Scenarios { action: None } => {
            let width = builtin::BUILTINS.iter().map(|b| b.name.len()).max().unwrap_or(0);
            let mut out = String::from("The playground, then the course, in order:\n\n");
            for b in builtin::BUILTINS {
                let s = b.scenario().map_err(CliError::runtime)?;
                let n = builtin::lesson(b.name).map_or("  ".to_string(), |n| format!("{n:>2}"));
                out += &format!("{n}  {:<width$}  {}\n", b.name, s.description);
            }
            out += "\nlbsim scenarios show NAME prints one, with what to press and what to see;\n";
            out += "lbsim run --scenario NAME runs it.\n";
            print_stdout(&out)
        }
        Command::Scenarios { action: Some(ScenariosAction::Show { name }) } => {
            let b = builtin::find(&name).ok_or_else(|| {
                CliError::input(format!("no built-in scenario `{name}` (built-ins: {})", builtin::names()))
            })?;
            print_stdout(b.text)
        }
        Command::Strategies => {
            let width = strategy::all().map(|s| s.name.len()).max().unwrap_or(0);
            let out: String = strategy::all().map(|s| format!("{:<width$}  {}\n", s.name, s.about)).collect();
            print_stdout(&out)
        }
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "lbsim", &mut out);
            print_stdout(&String::from_utf8_lossy(&out))
        }
        Command::Man { dir: Some(dir) } => {
            clap_mangen::generate_to(<Cli as clap::CommandFactory>::command(), &dir).map_err(|e| {
                CliError::runtime(format!("cannot write the manual pages to {}: {e}", dir.display()))
            })?;
            print_stdout(&format!("manual pages written to {}\n", dir.display()))
        }
        Command::Man { dir: None } => {
            let mut out = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut out)
                .map_err(|e| CliError::runtime(format!("cannot render the manual page: {e}")))?;
            print_stdout(&String::from_utf8_lossy(&out))
        }
        Command::Check { files } => check_files(&files),
        Command::Replay { file, headless, format, output } => {
            crate::replay::command(&file, headless, format, output.as_deref())
        }
        Command::Sweep { sweep, sim } => {
            timeline_unsupported(&sim, "sweep")?;
            crate::sweep::command(&sweep, &sim)
        }
    }
}

/// Runs the strategies in the UI or headless, then prints the report in the chosen format.
fn simulate_and_report(
    scenario: Scenario,
    strategies: &[String],
    mode: Mode,
    args: &SimArgs,
) -> Result<(), CliError> {
    let engine = args.engine.unwrap_or_default();
    let sink = prepare_sink(args)?;
    let timeline_sink =
        crate::timeline::prepare_csv(args.timeline_csv.as_deref()).map_err(CliError::runtime)?;
    for w in choice_warnings(&scenario, strategies, args.choices) {
        crate::output::error_line(&format!("warning: {w}"));
    }
    let reports = if args.record.is_some() {
        crate::replay::record(&scenario, strategies, mode, args, use_ui(args))?
    } else if use_ui(args) {
        crate::tui::run(scenario, strategies, mode, engine).map_err(CliError::runtime)?
    } else if engine == EngineKind::Live {
        run_live(&scenario, strategies)?
    } else {
        simulate_all(&scenario, strategies)?
    };
    deliver(&render_reports(args.format, mode, &reports), sink)?;
    crate::timeline::deliver_csv(&reports, timeline_sink).map_err(CliError::runtime)?;
    if INTERRUPTED.load(Ordering::Relaxed) {
        crate::output::error_line("interrupted: the report covers what ran until then");
    }
    stopped_early(&reports)
}

/// The UI opens when standard output is a terminal, unless `--headless`, or the terminal
/// cannot draw it (`TERM=dumb`: then the report is printed, with a note).
pub(crate) fn use_ui(args: &SimArgs) -> bool {
    if args.headless || !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return false;
    }
    if std::env::var_os("TERM").is_some_and(|t| t == "dumb") {
        eprintln!("lbsim: TERM=dumb cannot show the terminal UI; printing the report when the run ends");
        return false;
    }
    true
}

/// The reports of a run (one) or a comparison in `format`.
pub(crate) fn render_reports(format: Format, mode: Mode, reports: &[Report]) -> String {
    match (format, mode) {
        (Format::Table, Mode::Run) => report::run_table(&reports[0]),
        (Format::Table, Mode::Compare) => report::compare_table(reports),
        (Format::Json, Mode::Run) => report::run_json(&reports[0]),
        (Format::Json, Mode::Compare) => report::compare_json(reports),
        (Format::Csv, _) => report::csv(reports),
    }
}

/// Loads `--scenario` and applies the flags that override it.
pub fn resolve_scenario(args: &SimArgs) -> Result<Scenario, CliError> {
    let path = Path::new(&args.scenario);
    let mut s = if path.is_file() {
        Scenario::load(path).map_err(CliError::input)?
    } else if let Some(b) = builtin::find(&args.scenario) {
        b.scenario().map_err(CliError::runtime)?
    } else if path.exists() {
        // A directory, a device, a pipe: loading says what it is and why it will not do.
        Scenario::load(path).map_err(|e| CliError::input(format!("--scenario {e}")))?
    } else {
        return Err(CliError::input(format!(
            "--scenario: no scenario file or built-in scenario named `{}` (built-ins: {})",
            args.scenario,
            builtin::names()
        )));
    };
    if let Some(n) = args.workers {
        // The parser has checked `n` against the limit: nothing this large is allocated.
        s.workers = s.workers.iter().cycle().take(n as usize).cloned().collect();
    }
    if let Some(n) = args.max_in_flight {
        s.defences.max_in_flight = Some(n);
    }
    if args.timeline.is_some() || args.timeline_csv.is_some() {
        s.timeline = Some(args.timeline.unwrap_or(SECS));
    }
    crate::scenario::trace_flags(&mut s, args.rate.is_some(), args.load.is_some(), args.trace_scale)
        .map_err(CliError::input)?;
    if let Some(rate) = args.rate {
        s.arrivals = ArrivalSpec::Poisson(Level::Rate(rate));
    }
    if let Some(load) = args.load {
        s.arrivals = ArrivalSpec::Poisson(Level::Load(load));
    }
    if let Some(service) = &args.service {
        s.service = service.clone();
    }
    if let Some(n) = args.requests {
        s.stop = Stop::Requests(n);
    }
    if let Some(d) = args.duration {
        s.stop = Stop::Duration(d);
    }
    if let Some(seed) = args.seed {
        s.seed = seed;
    }
    match args.warmup {
        Some(Warmup::Fixed(w)) => s.warmup = w,
        // Found per run by `auto_warmup`, from a pilot run without warm-up.
        Some(Warmup::Auto) => s.warmup = 0,
        None => {}
    }
    if let Some(d) = args.choices {
        s.strategy_params.choices = d as usize;
    }
    if let Some(d) = args.ewma_decay {
        s.strategy_params.ewma_decay = d;
    }
    if let Some(n) = args.ring_size {
        s.strategy_params.ring_size = n as usize;
    }
    if let Some(n) = args.table_size {
        s.strategy_params.table_size = n;
    }
    if let Some(c) = args.balance_factor {
        s.strategy_params.balance_factor = c;
    }
    if let Some(b) = args.active_request_bias {
        s.strategy_params.active_request_bias = b;
    }
    if let Some(p) = args.error_penalty {
        s.strategy_params.error_penalty = p;
    }
    let d = &mut s.defences;
    if let Some(t) = args.timeout {
        d.timeout = Some(t);
    }
    if let Some(max) = args.retries {
        let mut policy = d.retry.clone().unwrap_or(RetryPolicy {
            max,
            backoff: 10 * MILLIS,
            max_backoff: SECS,
            per_try_timeout: None,
            budget: None,
        });
        policy.max = max;
        d.retry = Some(policy);
    }
    if args.per_try_timeout.is_some() || args.retry_budget.is_some() {
        let Some(policy) = d.retry.as_mut() else {
            return Err(CliError::input(
                "--per-try-timeout and --retry-budget need --retries (or a [retry] table)",
            ));
        };
        if let Some(t) = args.per_try_timeout {
            policy.per_try_timeout = Some(t);
        }
        if let Some(b) = args.retry_budget {
            policy.budget = Some(b);
        }
    }
    match args.failure_detection.as_deref() {
        Some("instant") => d.detection = Detection::Instant,
        Some("none") => d.detection = Detection::Never,
        Some(_) if !matches!(d.detection, Detection::HealthChecks { .. }) => {
            d.detection = Detection::HealthChecks { interval: SECS, unhealthy: 2, healthy: 1 };
        }
        _ => {}
    }
    if args.outlier_ejection && d.outlier.is_none() {
        d.outlier =
            Some(OutlierEjection { consecutive_errors: 5, base_ejection: 30 * SECS, max_ejected: 0.1 });
    }
    if let Some(t) = args.load_refresh {
        d.load_refresh = Some(t);
        // Today's flag keeps its meaning: a shared report, unless a view says otherwise.
        if d.balancers.view.is_some_and(|v| !v.uses_report()) && args.balancer_view.is_none() {
            d.balancers.view = Some(crate::engine::View::Report);
        }
    }
    if let Some(n) = args.balancers {
        d.balancers.count = n;
    }
    if let Some(p) = args.panic_threshold {
        d.panic_threshold = Some(p);
    }
    match args.slow_start {
        Some(SlowStartFlag::Off) => d.slow_start = None,
        Some(SlowStartFlag::Window(window)) => {
            let kept = d.slow_start.unwrap_or(crate::engine::SlowStart {
                window,
                aggression: 1.0,
                min_weight_percent: 10.0,
            });
            d.slow_start = Some(crate::engine::SlowStart { window, ..kept });
        }
        None => {}
    }
    if let Some(v) = args.balancer_view {
        d.balancers.view = Some(v);
        if !v.uses_report() && args.load_refresh.is_none() {
            // A view without reports drops the scenario's refresh period.
            d.load_refresh = None;
        }
    }
    match args.backpressure.as_deref() {
        Some("block") => d.backpressure = Backpressure::Block,
        Some(_) => d.backpressure = Backpressure::Reject,
        None => {}
    }
    if let Some(p) = args.error_rate {
        for w in &mut s.workers {
            w.error_rate = p;
        }
    }
    live_options(args, &mut s)?;
    // Catch impossible combinations before anything runs, naming the flag when one set the
    // field at fault.
    s.to_config().map_err(|e| CliError::input(blame_flag(args, &e)))?;
    Ok(s)
}

/// `--timeline` and `--timeline-csv` report one run per strategy: not replications or sweeps.
fn timeline_unsupported(args: &SimArgs, what: &str) -> Result<(), CliError> {
    if args.timeline.is_some() || args.timeline_csv.is_some() {
        return Err(CliError::input(format!(
            "--timeline and --timeline-csv report single runs (run, compare, crosscheck), not {what}"
        )));
    }
    if args.record.is_some() {
        return Err(CliError::input(format!("--record records run and compare sessions, not {what}")));
    }
    Ok(())
}

/// Requests a crosscheck runs unless told otherwise.
const CROSSCHECK_REQUESTS: u64 = 10_000;

/// Applies the live engine's flags; they are an error without `--engine live`.
fn live_options(args: &SimArgs, s: &mut Scenario) -> Result<(), CliError> {
    let given = args.work.is_some()
        || args.threads.is_some()
        || args.time_scale.is_some()
        || args.grace.is_some()
        || args.cancel_abandoned;
    if given && args.engine != Some(EngineKind::Live) {
        return Err(CliError::input(
            "--work, --threads, --time-scale, --grace and --cancel-abandoned apply to --engine live",
        ));
    }
    let live = &mut s.live;
    if let Some(w) = args.work {
        live.work = w;
    }
    if let Some(n) = args.threads {
        live.threads = Some(n as usize);
    }
    if let Some(f) = args.time_scale {
        live.time_scale = f;
    }
    if let Some(g) = args.grace {
        live.grace = Duration::from_nanos(g);
    }
    live.cancel_abandoned |= args.cancel_abandoned;
    if args.engine == Some(EngineKind::Live) {
        let config = s.to_config().map_err(CliError::input)?;
        crate::live::check_supported(&config).map_err(CliError::input)?;
    }
    Ok(())
}

/// Runs each strategy live, one after another (at once they would share the CPU and spoil
/// each other's timings), drawing a progress bar on a terminal's stderr.
pub fn run_live(scenario: &Scenario, strategies: &[String]) -> Result<Vec<Report>, CliError> {
    let config = scenario.to_config().map_err(CliError::input)?;
    let interrupted = &INTERRUPTED;
    let mut bar = ProgressBar::new();
    let mut reports = Vec::new();
    for (i, name) in strategies.iter().enumerate() {
        if interrupted.load(Ordering::Relaxed) {
            break; // the strategies not run yet are left out of the report
        }
        let mut engine = crate::live::Live::new(
            config.clone(),
            strategy::build(name, &config.strategy_params).map_err(CliError::input)?,
            scenario.live.clone(),
        )
        .map_err(CliError::input)?;
        engine.set_sequential(strategies.len() > 1);
        engine.begin().map_err(CliError::runtime)?;
        while !engine.wait(Duration::from_millis(100)) {
            bar.update((i as f64 + engine.progress()) / strategies.len() as f64);
            if interrupted.load(Ordering::Relaxed) {
                // As in the UI: stop sending, let requests in flight finish within the grace
                // period, cancel the rest, and report on what ran.
                bar.clear();
                crate::output::error_line(
                    "stopping: requests in flight get the grace period, then the report",
                );
                engine.stop();
            }
        }
        reports.push(Report::new(&engine, &scenario.name, engine.wall_time().as_secs_f64()));
    }
    bar.clear();
    Ok(reports)
}

/// Raised by Ctrl-C, SIGTERM or SIGHUP once [`watch_stop_signals`] watches for them: headless
/// runs then stop where they are and print the report of what ran.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// From now on, a first Ctrl-C, SIGTERM or SIGHUP raises [`INTERRUPTED`] rather than ending the
/// process at once, and a second one ends it (exit status 130). Only the program's `main`
/// calls this: a library caller keeps the default behaviour of signals.
fn watch_stop_signals() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_io().build() else { return };
    let signals: Result<Vec<_>, _> = {
        let _entered = runtime.enter();
        [SignalKind::interrupt(), SignalKind::terminate(), SignalKind::hangup()]
            .into_iter()
            .map(signal)
            .collect()
    };
    let Ok(mut signals) = signals else { return };
    std::thread::spawn(move || {
        runtime.block_on(async move {
            for _ in 0..2 {
                let waits = signals.iter_mut().map(|s| Box::pin(s.recv()));
                futures_util::future::select_all(waits).await;
                if INTERRUPTED.swap(true, Ordering::Relaxed) {
                    std::process::exit(130);
                }
            }
        });
    });
}

/// A configuration error as the user should read it: when a flag set the field at fault, the
/// flag is named instead of the scenario's field.
fn blame_flag(args: &SimArgs, e: &crate::engine::ConfigError) -> String {
    let given = |set: bool, flag: &str| set.then(|| flag.to_string());
    let field = e.field.as_str();
    let flag = match field {
        "arrivals.rate" | "arrivals.load" => {
            given(args.rate.is_some(), "--rate").or_else(|| given(args.load.is_some(), "--load"))
        }
        "service" => given(args.service.is_some(), "--service")
            .or_else(|| given(args.load.is_some(), "--load"))
            .or_else(|| given(args.rate.is_some(), "--rate")),
        "workers" | "workers.count" => given(args.workers.is_some(), "--workers"),
        "workers.error_rate" => given(args.error_rate.is_some(), "--error-rate"),
        "run.requests" => given(args.requests.is_some(), "--requests"),
        "run.duration" => given(args.duration.is_some(), "--duration"),
        "run.warmup" => given(args.warmup.is_some(), "--warmup"),
        "run.max_in_flight" => given(args.max_in_flight.is_some(), "--max-in-flight"),
        "arrivals.time_scale" => given(args.trace_scale.is_some(), "--trace-scale"),
        "timeline" => given(args.timeline.is_some(), "--timeline").or(Some("--timeline-csv".to_string())),
        "strategy.choices" => given(args.choices.is_some(), "--choices"),
        "strategy.decay" => given(args.ewma_decay.is_some(), "--ewma-decay"),
        "strategy.ring_size" => given(args.ring_size.is_some(), "--ring-size"),
        "strategy.table_size" => given(args.table_size.is_some(), "--table-size"),
        "strategy.balance_factor" => given(args.balance_factor.is_some(), "--balance-factor"),
        "strategy.active_request_bias" => given(args.active_request_bias.is_some(), "--active-request-bias"),
        "strategy.error_penalty" => given(args.error_penalty.is_some(), "--error-penalty"),
        "timeout" => given(args.timeout.is_some(), "--timeout"),
        "retry.max" => given(args.retries.is_some(), "--retries"),
        "retry.per_try_timeout" => given(args.per_try_timeout.is_some(), "--per-try-timeout"),
        "retry.budget" => given(args.retry_budget.is_some(), "--retry-budget"),
        "balancer.load_refresh" => given(args.load_refresh.is_some(), "--load-refresh"),
        "balancers.count" => given(args.balancers.is_some(), "--balancers"),
        f if f.starts_with("slow_start") => given(args.slow_start.is_some(), "--slow-start"),
        "balancers.view" => given(args.balancer_view.is_some(), "--balancer-view"),
        f if f.starts_with("health_check") => {
            given(args.failure_detection.is_some(), "--failure-detection health-checks")
        }
        _ => None,
    };
    match flag {
        Some(flag) => format!("{flag}: {}", e.problem),
        None => e.to_string(),
    }
}

/// Runs one simulation per strategy, in parallel on the available cores, drawing a progress
/// bar on a terminal's stderr when it takes more than a moment.
pub fn simulate_all(scenario: &Scenario, strategies: &[String]) -> Result<Vec<Report>, CliError> {
    // Ctrl-C, SIGTERM or SIGHUP (when the program watches for them) stop the simulations
    // where they are: the report covers what was simulated so far, as in the UI.
    let interrupted = &INTERRUPTED;
    let config = scenario.to_config().map_err(CliError::input)?;
    let mut sims = Vec::with_capacity(strategies.len());
    for name in strategies {
        let s = strategy::build(name, &config.strategy_params).map_err(CliError::input)?;
        sims.push(Sim::new(config.clone(), s).map_err(CliError::input)?);
    }
    let progress: Vec<AtomicU64> = sims.iter().map(|_| AtomicU64::new(0)).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(sims.len());
    let jobs: Vec<Mutex<Option<Sim>>> = sims.into_iter().map(|s| Mutex::new(Some(s))).collect();
    let results: Vec<Mutex<Option<Report>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(index) else { break };
                        let mut sim = job.lock().expect("job lock").take().expect("each job runs once");
                        let started = Instant::now();
                        while !sim.run_events(200_000) && !interrupted.load(Ordering::Relaxed) {
                            progress[index].store((sim.progress() * 1e6) as u64, Ordering::Relaxed);
                        }
                        progress[index].store(1_000_000, Ordering::Relaxed);
                        let report = Report::new(&sim, &scenario.name, started.elapsed().as_secs_f64());
                        *results[index].lock().expect("result lock") = Some(report);
                    }
                })
            })
            .collect();
        let mut bar = ProgressBar::new();
        // Until every thread is done (or has died: the scope then passes its panic on).
        while workers.iter().any(|w| !w.is_finished()) {
            std::thread::sleep(Duration::from_millis(10));
            let total: u64 = progress.iter().map(|p| p.load(Ordering::Relaxed)).sum();
            bar.update(total as f64 / (1e6 * jobs.len() as f64));
        }
        bar.clear();
    });
    Ok(results
        .into_iter()
        .map(|r| r.into_inner().expect("result lock").expect("every job reported"))
        .collect())
}

/// A one-line progress bar on stderr, only on a terminal and only after the first half second.
pub(crate) struct ProgressBar {
    started: Instant,
    enabled: bool,
    drawn: bool,
}

impl ProgressBar {
    pub(crate) fn new() -> ProgressBar {
        ProgressBar { started: Instant::now(), enabled: std::io::stderr().is_terminal(), drawn: false }
    }

    pub(crate) fn update(&mut self, fraction: f64) {
        if !self.enabled || self.started.elapsed() < Duration::from_millis(500) {
            return;
        }
        let width = 40;
        let filled = ((fraction.clamp(0.0, 1.0)) * width as f64) as usize;
        let line = format!(
            "\r[{}{}] {:>3.0}%  {:.1}s",
            "#".repeat(filled),
            " ".repeat(width - filled),
            fraction * 100.0,
            self.started.elapsed().as_secs_f64()
        );
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
        let _ = err.flush();
        self.drawn = true;
    }

    pub(crate) fn clear(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr(), "\r{}\r", " ".repeat(60));
        }
    }
}

/// Prints to standard output. A closed pipe (`lbsim ... | head`) is not an error worth a
/// message; a closed or full standard output is.
pub(crate) fn print_stdout(text: &str) -> Result<(), CliError> {
    match crate::output::write_stdout(text) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::runtime(format!("cannot write to standard output: {e}"))),
    }
}

/// Writes a report where [`prepare_sink`] said it goes.
pub(crate) fn deliver(text: &str, sink: Option<OutputFile>) -> Result<(), CliError> {
    match sink {
        Some(file) => {
            let path = file.path().to_path_buf();
            file.commit(text).map_err(|e| output_error(&path, e))
        }
        None => print_stdout(text),
    }
}

fn output_error(path: &Path, e: std::io::Error) -> CliError {
    CliError::runtime(format!("cannot write --output {}: {e}", path.display()))
}

/// Where a run's report will go, made sure of before the run starts: `--output` is created
/// (as a temporary file beside it), or standard output must be open.
pub(crate) fn prepare_sink(args: &SimArgs) -> Result<Option<OutputFile>, CliError> {
    match &args.output {
        Some(path) => OutputFile::prepare(path).map(Some).map_err(|e| output_error(path, e)),
        None if !crate::output::stdout_open() => Err(CliError::runtime(
            "standard output is closed: there is nowhere to print the report (give --output FILE)",
        )),
        None => Ok(None),
    }
}

/// The exit status 3 and its warning when a run stopped at the in-flight cap.
fn stopped_early(reports: &[Report]) -> Result<(), CliError> {
    let stopped: Vec<String> = reports
        .iter()
        .filter(|r| r.stop_reason.is_some())
        .map(|r| format!("{} at {:.3}s", r.strategy, r.sim_time_s))
        .collect();
    if stopped.is_empty() {
        return Ok(());
    }
    let cap = reports[0].max_in_flight;
    Err(CliError {
        code: 3,
        message: format!(
            "warning: stopped early ({}): more than {cap} requests (or attempts at workers) were in \
             flight, the queues growing without bound; the report covers the run until then (raise the cap with \
             --max-in-flight or run.max_in_flight)",
            stopped.join(", ")
        ),
    })
}

/// `lbsim check`: every file is checked and reported on, good ones on standard output, bad
/// ones on standard error; exit 2 if any was bad.
fn check_files(files: &[PathBuf]) -> Result<(), CliError> {
    let mut out = String::new();
    let mut bad = 0;
    for f in files {
        // A file, or else a built-in scenario's name (as --scenario takes).
        let builtin = builtin::find(&f.to_string_lossy()).filter(|_| !f.exists());
        let loaded = match builtin {
            Some(b) => b.scenario(),
            None => Scenario::load(f),
        };
        let checked = loaded
            .map_err(|e| e.to_string())
            .and_then(|s| s.to_config().map(|_| s).map_err(|e| format!("{}: {e}", f.display())));
        match checked {
            Ok(s) => {
                out += &format!("{}: ok ({})\n", f.display(), crate::text::escape(&s.name));
                for w in choice_warnings(&s, std::slice::from_ref(&s.strategy), None) {
                    out += &format!("{}: warning: {w}\n", f.display());
                }
            }
            Err(e) if files.len() == 1 => return Err(CliError::input(e)),
            Err(e) => {
                crate::output::error_line(&e);
                bad += 1;
            }
        }
    }
    print_stdout(&crate::text::escape_lines(&out))?;
    match bad {
        0 => Ok(()),
        n => Err(CliError::input(format!("{n} of {} scenario files have errors (above)", files.len()))),
    }
}

/// Settings that work but probably do not do what was meant: more choices than workers.
fn choice_warnings(s: &Scenario, strategies: &[String], flag: Option<u32>) -> Vec<String> {
    let d = s.strategy_params.choices;
    let n = s.workers.len();
    if d <= n || !strategies.iter().any(|st| st == "power-of-two") {
        return Vec::new();
    }
    let given = match flag {
        Some(_) => format!("--choices {d}"),
        None => format!("strategy.choices = {d}"),
    };
    vec![format!(
        "{given} is more than the {n} workers: power-of-two samples all {n}, which makes it least-loaded"
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
