//! The clap definitions of the command line: the commands and their flags, each flag's
//! value checked by a parser of [`crate::scenario::values`] into a typed value.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::dist::Dist;
use crate::engines::EngineKind;
use crate::live::Work;
use crate::report::Format;
use crate::scenario::values::*;
use crate::scenario::{BackpressureFlag, FailureDetection, SlowStartFlag, Warmup};
use crate::sweep::{Loads, Metric, Vary};
use crate::time::{Nanos, parse_duration};

/// Exit statuses, for `--help` and the manual pages.
const EXIT_STATUS: &str = "\
Exit status: 0 on success; 2 for bad input (one line naming the flag, or the file, line,
column and field of a scenario); 3 when a run stopped early at the in-flight cap (the report
is printed, then a warning); 1 for anything else, such as an unwritable --output.";

/// What `--help` and the manual pages say after the options: the exit statuses and the UI's
/// keys, the keys from the one key table (`tui::keymap`), so that they cannot disagree with
/// the UI.
fn after_help() -> String {
    let keys = crate::text::wrap(&crate::tui::keymap::help_text(), 92).join("\n");
    format!(
        "{EXIT_STATUS}\n\n{keys}\n\nlbsim man --dir DIR writes a page for every command (lbsim-run.1, \
         lbsim-compare.1, ...)."
    )
}

/// lbsim: a load-balancer simulator.
// `--version` prints the version and, built from a git checkout, the commit (build.rs); the
// help's first line is this doc comment, not the package's (longer) description.
#[derive(Debug, Parser)]
#[command(name = "lbsim", version = env!("LBSIM_VERSION"), arg_required_else_help = true, after_long_help = after_help())]
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
    /// Translate a real balancer's configuration (an Envoy cluster, an nginx upstream, a
    /// HAProxy backend) into a scenario: every mapped setting commented with its source, every
    /// setting lbsim does not model named (in the file and on stderr). Traffic and service
    /// times are not in a proxy's configuration: the scenario states its assumptions.
    Import {
        /// The configuration's kind.
        #[arg(value_enum)]
        format: ImportFormat,
        /// The configuration file (Envoy: YAML or JSON).
        file: PathBuf,
        /// Envoy: the cluster to import, when the file has several.
        #[arg(long, value_name = "NAME", conflicts_with_all = ["upstream", "backend"])]
        cluster: Option<String>,
        /// nginx: the upstream to import, when the file has several.
        #[arg(long, value_name = "NAME", conflicts_with = "backend")]
        upstream: Option<String>,
        /// HAProxy: the backend (or listen section) to import, when the file has several.
        #[arg(long, value_name = "NAME")]
        backend: Option<String>,
        /// Write the scenario to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Public traces as lbsim's trace CSV (time, demand, client).
    Trace {
        /// What to do with a trace.
        #[command(subcommand)]
        action: TraceAction,
    },
    /// Response curves: every strategy at every load, replicated, with 95% confidence
    /// intervals, on every core.
    Sweep {
        /// What to sweep.
        #[command(flatten)]
        sweep: SweepArgs,
        /// Workload and output options.
        #[command(flatten)]
        sim: SimArgs,
    },
}

/// `lbsim import FORMAT`: whose configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFormat {
    /// An Envoy v3 cluster, or a bootstrap with static_resources.clusters (YAML or JSON).
    Envoy,
    /// An nginx configuration with upstream blocks.
    Nginx,
    /// A HAProxy configuration with backend and defaults sections.
    Haproxy,
}

/// `lbsim trace ...`.
#[derive(Debug, Subcommand)]
pub enum TraceAction {
    /// Convert a public data set's trace to lbsim's trace CSV (`time,demand,client`), for
    /// `[arrivals] kind = "trace"`: azure (Azure Functions 2021: app,func,end_timestamp,duration),
    /// alibaba (Alibaba 2021 microservices call graph: timestamp, rt in ms, service),
    /// access-log (common log format with $request_time last).
    Import {
        /// The trace's format.
        #[arg(value_enum)]
        format: TraceImportFormat,
        /// The trace file.
        file: PathBuf,
        /// Write the CSV to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// `lbsim trace import FORMAT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TraceImportFormat {
    /// Azure Functions 2021 invocations: app,func,end_timestamp,duration (seconds).
    Azure,
    /// Alibaba 2021 microservices call graph: timestamp and rt (ms), service.
    Alibaba,
    /// A common or combined log format with $request_time (seconds) as the last field.
    AccessLog,
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
    #[arg(help_heading = "Scenario and workload", long, value_name = "FILE|NAME", default_value = "default")]
    pub scenario: String,
    /// Number of workers; the scenario's list of workers is repeated (or cut) to this length.
    #[arg(help_heading = "Scenario and workload", long, value_name = "N", value_parser = parse_workers, allow_hyphen_values = true)]
    pub workers: Option<u32>,
    /// Poisson arrivals at this rate (requests/s), replacing the scenario's arrivals.
    #[arg(help_heading = "Scenario and workload", long, value_name = "R", value_parser = parse_positive, allow_hyphen_values = true,
          conflicts_with = "load")]
    pub rate: Option<f64>,
    /// Poisson arrivals at this fraction of the cluster's capacity (0.9 = 90% load).
    #[arg(help_heading = "Scenario and workload", long, value_name = "RHO", value_parser = parse_positive, allow_hyphen_values = true)]
    pub load: Option<f64>,
    /// Service time at speed 1: exp:10ms, const:10ms, uniform:5ms..15ms,
    /// lognormal:10ms,sigma=1, pareto:10ms,alpha=2.5, mix:1ms,50ms,p=0.05.
    /// empirical:FILE samples the durations in FILE (CSV with a header), interpolating
    /// between them.
    #[arg(help_heading = "Scenario and workload", long, value_name = "DIST", value_parser = parse_service)]
    pub service: Option<Dist>,
    /// How every worker serves: fcfs (first come, first served), ps (processor sharing: the
    /// requests in service share its speed), srpt (least work left first, preemptive: an
    /// oracle, it reads each request's size) or lcfs-pr (last come, first served,
    /// preemptive). Model only.
    #[arg(help_heading = "Scenario and workload", long, value_name = "NAME", value_parser = crate::model::config::Discipline::parse)]
    pub discipline: Option<crate::model::config::Discipline>,
    /// Stop after this many measured requests (then let those in flight finish).
    #[arg(help_heading = "Scenario and workload", long, value_name = "N", value_parser = parse_count64, conflicts_with = "duration", allow_hyphen_values = true)]
    pub requests: Option<u64>,
    /// Stop after this much measured virtual time, e.g. 60s.
    #[arg(help_heading = "Scenario and workload", long, value_name = "TIME", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub duration: Option<Nanos>,
    /// Master seed: the same seed and scenario give the same results on any machine.
    #[arg(help_heading = "Scenario and workload", long, value_name = "N", allow_hyphen_values = true)]
    pub seed: Option<u64>,
    /// Virtual time at the start excluded from statistics, e.g. 5s; `auto` finds the initial
    /// transient with MSER-5 on pilot runs of their own seeds (never the measured run's data)
    /// and cuts it (the cut is reported on stderr).
    #[arg(help_heading = "Scenario and workload", long, value_name = "TIME|auto", value_parser = Warmup::parse, allow_hyphen_values = true)]
    pub warmup: Option<Warmup>,
    /// power-of-two: workers sampled per pick (1 to 1000000, the most workers a run can have;
    /// more than the workers warns).
    #[arg(help_heading = "Strategy parameters", long, value_name = "D", value_parser = parse_count, allow_hyphen_values = true)]
    pub choices: Option<u32>,
    /// ring-hash and bounded-hash: points per worker on the ring [default: 1024].
    #[arg(help_heading = "Strategy parameters", long, value_name = "N", value_parser = parse_count, allow_hyphen_values = true)]
    pub ring_size: Option<u32>,
    /// maglev: lookup table size, the smallest prime at least this [default: 65537].
    #[arg(help_heading = "Strategy parameters", long, value_name = "N", value_parser = parse_count64, allow_hyphen_values = true)]
    pub table_size: Option<u64>,
    /// bounded-hash: no worker takes more than ceil(C x mean pending) (Envoy's
    /// hash_balance_factor / 100) [default: 1.25].
    #[arg(help_heading = "Strategy parameters", long, value_name = "C", value_parser = parse_positive, allow_hyphen_values = true)]
    pub balance_factor: Option<f64>,
    /// least-request with unequal weights: effective weight = weight / (active + 1)^B
    /// (Envoy's active_request_bias) [default: 1].
    #[arg(help_heading = "Strategy parameters", long, value_name = "B", value_parser = parse_non_negative, allow_hyphen_values = true)]
    pub active_request_bias: Option<f64>,
    /// sita: size cutoffs at speed 1, comma separated (10ms,100ms): k cutoffs split the
    /// workers into k + 1 classes in order [default: none, equal load as sita-e].
    #[arg(help_heading = "Strategy parameters", long, value_name = "TIME,...", value_parser = parse_positive_duration, value_delimiter = ',', allow_hyphen_values = true)]
    pub cutoffs: Option<Vec<Nanos>>,
    /// peak-ewma: time over which latency peaks are forgotten [default: 1s].
    #[arg(help_heading = "Strategy parameters", long, value_name = "TIME", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub ewma_decay: Option<Nanos>,
    /// The requester gives up on a request after this long (retries included), e.g. 500ms.
    #[arg(help_heading = "Defences", long, value_name = "TIME", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub timeout: Option<Nanos>,
    /// Retry failed attempts up to N times (exponential backoff from 10ms, full jitter).
    #[arg(help_heading = "Defences", long, value_name = "N", value_parser = parse_retries, allow_hyphen_values = true)]
    pub retries: Option<u32>,
    /// With --retries: abandon an attempt and retry after this long.
    #[arg(help_heading = "Defences", long, value_name = "TIME", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub per_try_timeout: Option<Nanos>,
    /// With --retries: retry at most this fraction of requests (0.1 = 10%).
    #[arg(help_heading = "Defences", long, value_name = "FRACTION", value_parser = parse_probability, allow_hyphen_values = true)]
    pub retry_budget: Option<f64>,
    /// How the balancer learns that a worker is down: instant, health-checks (every 1s, down
    /// after 2 failures) or none.
    #[arg(help_heading = "Defences", long, value_enum, value_name = "HOW")]
    pub failure_detection: Option<FailureDetection>,
    /// Eject a worker after 5 consecutive errors (30s, growing with each ejection).
    #[arg(help_heading = "Defences", long)]
    pub outlier_ejection: bool,
    /// Load-aware strategies see queue lengths refreshed this often instead of live, e.g. 1s.
    #[arg(help_heading = "Defences", long, value_name = "TIME", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub load_refresh: Option<Nanos>,
    /// Envoy's panic threshold: when fewer than this fraction of the workers is available,
    /// balance across all of them (0.5 is Envoy's default) [default: off].
    #[arg(help_heading = "Defences", long, value_name = "F", value_parser = parse_probability, allow_hyphen_values = true)]
    pub panic_threshold: Option<f64>,
    /// Slow start (Envoy's slow_start_window): a worker that comes back or joins ramps its
    /// weight up over this window, e.g. 30s; `off` removes the scenario's [default: the
    /// scenario's, else off].
    #[arg(help_heading = "Defences", long, value_name = "TIME|off", value_parser = parse_slow_start, allow_hyphen_values = true)]
    pub slow_start: Option<SlowStartFlag>,
    /// Balancer replicas in front of the workers, 1 to 1000, each with its own strategy
    /// instance and random stream [default: the scenario's, else 1].
    #[arg(help_heading = "Defences", long, value_name = "N", value_parser = parse_balancers, allow_hyphen_values = true)]
    pub balancers: Option<u32>,
    /// What each balancer replica sees of the loads: global (the true pending counts), local
    /// (its own requests only), report (a shared report, refreshed every --load-refresh) or
    /// report+local (the report plus its own requests since) [default: global, or report
    /// with --load-refresh].
    #[arg(help_heading = "Defences", long, value_name = "VIEW", value_parser = crate::engine::View::parse)]
    pub balancer_view: Option<crate::engine::View>,
    /// When the chosen worker's queue is full: reject the request, or block (hold it at the
    /// balancer until there is room).
    #[arg(help_heading = "Defences", long, value_enum, value_name = "HOW")]
    pub backpressure: Option<BackpressureFlag>,
    /// Every worker fails this fraction of requests (after doing the work).
    #[arg(help_heading = "Scenario and workload", long, value_name = "P", value_parser = parse_probability, allow_hyphen_values = true)]
    pub error_rate: Option<f64>,
    /// peak-ewma: the latency an error counts as, e.g. 1s (0s: none) [default: 1s].
    #[arg(help_heading = "Strategy parameters", long, value_name = "TIME", value_parser = parse_duration, allow_hyphen_values = true)]
    pub error_penalty: Option<Nanos>,
    /// Which engine runs the scenario: sim (the discrete-event model, in virtual time) or
    /// live (real tokio tasks and channels, in real time) [default: sim].
    #[arg(help_heading = "Engine", long, value_enum, value_name = "ENGINE")]
    pub engine: Option<EngineKind>,
    /// live: what serving is: sleep (I/O-bound), spin (CPU work inside the async task) or
    /// blocking (the same CPU work on tokio's blocking pool) [default: sleep].
    #[arg(help_heading = "Engine", long, value_enum, value_name = "WORK")]
    pub work: Option<Work>,
    /// live: runtime worker threads, 1 to 1024 [default: the machine's cores].
    #[arg(help_heading = "Engine", long, value_name = "N", value_parser = parse_threads, allow_hyphen_values = true)]
    pub threads: Option<u32>,
    /// live: real time per scenario time, from 0.01 to 1000 (2: exp:10ms sleeps 20ms on
    /// average) [default: 1]. Reports give scenario time.
    #[arg(help_heading = "Engine", long, value_name = "F", value_parser = parse_time_scale, allow_negative_numbers = true)]
    pub time_scale: Option<f64>,
    /// live: how long requests in flight may take to finish when the run stops, e.g. 2s
    /// (real time) [default: 2s].
    #[arg(help_heading = "Engine", long, value_name = "TIME", value_parser = parse_duration, allow_hyphen_values = true)]
    pub grace: Option<Nanos>,
    /// live: workers stop work whose requester gave up (timed out).
    #[arg(help_heading = "Engine", long)]
    pub cancel_abandoned: bool,
    /// Print the report without opening the terminal UI (which opens when standard output is
    /// a terminal); after the UI, the report is printed too.
    #[arg(help_heading = "Output", long)]
    pub headless: bool,
    /// Report format.
    #[arg(help_heading = "Output", long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(help_heading = "Output", long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Run on R seeds (seed, seed + 1, ...; the same for every strategy) and report every
    /// figure as a mean with its 95% confidence interval; compare names a p99 leader only when
    /// the paired difference is significant. Above 1 the report is printed without the UI
    /// [default: 1; sweep: 5].
    #[arg(help_heading = "Output", long, value_name = "R", value_parser = parse_replications, allow_hyphen_values = true)]
    pub replications: Option<u32>,
    /// Stop the run (and report what was simulated) when more than N requests, or N attempts
    /// at workers, are in flight, as when queues grow without bound [default: 10000000].
    #[arg(help_heading = "Scenario and workload", long, value_name = "N", value_parser = parse_count64, allow_hyphen_values = true)]
    pub max_in_flight: Option<u64>,
    /// Report the run over time in intervals of TIME (JSON `timeline`): per interval, requests
    /// sent, completed, failed, rejected and timed out, latency p50/p99/mean, and each
    /// worker's mean pending count.
    #[arg(help_heading = "Output", long, value_name = "TIME", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub timeline: Option<Nanos>,
    /// Write the timeline as CSV to FILE (one line per interval and strategy); intervals of
    /// --timeline, else 1s.
    #[arg(help_heading = "Output", long, value_name = "FILE")]
    pub timeline_csv: Option<PathBuf>,
    /// Trace arrivals: virtual time per unit of the trace's time (0.5 replays it twice as
    /// fast, at twice the load) [default: the scenario's arrivals.time_scale, or 1].
    #[arg(help_heading = "Scenario and workload", long, value_name = "F", value_parser = parse_trace_scale, allow_negative_numbers = true)]
    pub trace_scale: Option<f64>,
    /// Save the session (the options, and every command given in the UI at its moment of
    /// virtual time) to FILE, as JSON; `lbsim replay FILE` plays it back.
    #[arg(help_heading = "Output", long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// A line of a sweep's plan (`lbsim sweep --plan`) runs this: PLAN/CELL/REPLICATION. The
    /// report then carries the plan's identity and the run's place in it, and a run a signal
    /// stops exits 128 + the signal after its partial report.
    #[arg(long, hide = true, value_name = "PLAN/CELL/REPLICATION")]
    pub plan_job: Option<String>,
}

/// The options of `lbsim sweep` besides those it shares with `run`.
#[derive(Clone, Debug, Args)]
pub struct SweepArgs {
    /// Comma-separated strategies, one curve each.
    #[arg(long, value_delimiter = ',', value_parser = parse_strategy,
          default_value = "round-robin,random,least-loaded")]
    pub strategies: Vec<String>,
    /// The loads (fractions of capacity): a list, 0.1,0.5,0.9, or a range with a step,
    /// 0.1..0.95:0.05 (both ends included when the step lands on them); at most 1000. The
    /// whole grid (strategies x loads x --vary values x replications) is at most 250000 runs.
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
    /// Also draw the chart into this SVG file (x load, y the metric on an axis fitted to the
    /// data with round ticks, log only when it spans over a decade and a half; 95% whiskers).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Write the grid as shell commands to DIR/jobs.txt (and DIR/sweep.json) instead of
    /// running it; `--merge DIR` reads the results back.
    #[arg(long, value_name = "DIR", conflicts_with = "merge")]
    pub plan: Option<PathBuf>,
    /// Read the results of a `--plan DIR` whose jobs have run, and report as the sweep would.
    #[arg(long, value_name = "DIR")]
    pub merge: Option<PathBuf>,
    /// With --merge: print the lines of DIR/jobs.txt still to run (their result absent,
    /// stopped by a signal or refused), one per line, instead of the report.
    #[arg(long, requires = "merge")]
    pub missing: bool,
    /// The options given on the command line, as `--name=value` by clap id (filled by
    /// [`crate::cli::main_with_args`]): what `--plan` passes on to each job.
    #[arg(skip)]
    pub passed: Vec<(String, std::ffi::OsString)>,
}

fn parse_jobs(s: &str) -> Result<usize, String> {
    parse_whole(s, 1, 1024).map(|n| n as usize)
}
