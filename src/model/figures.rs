//! What only a live run measures, in the model's vocabulary, so that reports need not know the
//! live engine: how serving was done ([`Work`]) and the run's [`LiveFigures`].

use serde::Serialize;

/// What serving a request is, for a live worker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Work {
    /// Waiting (I/O-bound): `tokio::time::sleep`. The thread is free meanwhile.
    #[default]
    Sleep,
    /// Computing inside the async task (CPU-bound): it holds its runtime thread throughout.
    Spin,
    /// The same computing moved to tokio's blocking pool with `spawn_blocking`.
    Blocking,
}

impl Work {
    /// The name used in scenarios and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Work::Sleep => "sleep",
            Work::Spin => "spin",
            Work::Blocking => "blocking",
        }
    }
}

/// What a live run measured that the model has no notion of.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LiveFigures {
    /// Real time per scenario time.
    pub time_scale: f64,
    /// What serving was.
    pub work: Work,
    /// Runtime worker threads.
    pub threads: usize,
    /// Grace period at shutdown (s, real time).
    pub grace_s: f64,
    /// Whether workers stopped work nobody waited for.
    pub cancel_abandoned: bool,
    /// Whether this run was one of several run one after another (a live comparison).
    pub sequential: bool,
    /// Timers and hand-offs measured.
    pub lateness_samples: u64,
    /// How late timers and hand-offs ran against when they should have (ms of scenario time):
    /// mean, p50, p99, max.
    pub lateness_mean_ms: f64,
    /// Median lateness (ms).
    pub lateness_p50_ms: f64,
    /// 99th percentile lateness (ms).
    pub lateness_p99_ms: f64,
    /// Largest lateness (ms).
    pub lateness_max_ms: f64,
    /// Fraction of the wall time the balancer task spent handling events.
    pub balancer_utilization: f64,
    /// Events the balancer handled.
    pub balancer_events: u64,
    /// Requests waiting in the balancer's channel: the largest and the mean seen.
    pub balancer_queue_max: usize,
    /// Mean of the balancer's channel length, sampled.
    pub balancer_queue_mean: f64,
    /// Runtime worker threads, as tokio reports them.
    pub runtime_workers: usize,
    /// Most tasks alive at once (sampled).
    pub runtime_alive_tasks_max: usize,
    /// Longest global (injection) queue of the runtime seen (sampled).
    pub runtime_global_queue_max: usize,
    /// Tasks still alive when the runtime was shut down: 0 when every task ended with the run.
    pub tasks_left_at_shutdown: usize,
}
