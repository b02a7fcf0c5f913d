//! One run on screen: its engine, and the samples over time its sparklines and chart draw.

use std::collections::VecDeque;

use crate::engines::Engine;
use crate::metrics::Recorder;
use crate::time::{Nanos, SECS};

/// Samples kept for the sparklines.
pub const HISTORY: usize = 240;
/// Points kept for the chart over time ([`Pane::trend`]): the whole run, its resolution
/// halved each time it fills.
pub const TREND: usize = 480;

/// One run of the playground, with the short history its sparklines need.
pub struct Pane {
    /// The engine: the model or the live one; the controller and the UI read both alike.
    pub sim: Box<dyn Engine>,
    /// One sample per sampling period, with its virtual time: the sparklines draw the last
    /// [`HISTORY`].
    pub history: VecDeque<Sample>,
    /// The whole run in at most [`TREND`] points, for the chart over time: every sample
    /// until it fills, then each pair merged into one (their span, the larger p99, the later
    /// p50, the answers per second over both, the later mean), and so on.
    pub trend: Vec<Sample>,
    pub(super) last_completions: u64,
}

/// One sample of a pane over time: when, the recent window's p50 and p99 (0 when nothing
/// was answered in it, or when they were not computed: samples taken while re-simulating
/// far ahead, or by a headless controller), the answers per second since the previous
/// sample and the whole run's mean latency.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Virtual time of the previous sample (or of the start): this one covers `from..at`.
    pub from: Nanos,
    /// Virtual time of the sample.
    pub at: Nanos,
    /// Median of the recent window (ns).
    pub p50: Nanos,
    /// 99th percentile of the recent window (ns).
    pub p99: Nanos,
    /// Answers per second since the previous sample.
    pub throughput: f64,
    /// The whole run's mean latency at the sample (ns; 0 before any answer): what theory's
    /// line compares with the formula up to the moment the formula stopped holding.
    pub mean: f64,
}

impl Sample {
    /// One point for two consecutive samples: their span, the larger p99 (a spike stays in
    /// view), the later p50 that was computed, the answers per second over both and the later mean.
    fn merge(self, next: Sample) -> Sample {
        let (a, b) = ((self.at - self.from) as f64, (next.at - next.from) as f64);
        let throughput =
            if a + b > 0.0 { (self.throughput * a + next.throughput * b) / (a + b) } else { 0.0 };
        let p50 = if next.p99 > 0 { next.p50 } else { self.p50 };
        Sample { from: self.from, at: next.at, p50, p99: self.p99.max(next.p99), throughput, mean: next.mean }
    }
}

impl Pane {
    /// A pane showing `sim`, with no samples yet.
    pub fn new(sim: Box<dyn Engine>) -> Pane {
        Pane { sim, history: VecDeque::new(), trend: Vec::new(), last_completions: 0 }
    }

    /// Takes a sample; `evicted` when more than [`HISTORY`] samples will follow before
    /// anyone looks (re-simulating to a time far ahead), which spares the percentiles.
    pub(super) fn sample(&mut self, period: Nanos, evicted: bool) {
        let done = self.sim.completions();
        let rate = (done - self.last_completions) as f64 / (period as f64 / SECS as f64);
        self.last_completions = done;
        let recent = if evicted { None } else { self.recent() };
        let (p50, p99) = recent.map_or((0, 0), |r| (r.quantile(0.5), r.quantile(0.99)));
        let from = self.history.back().map_or(0, |s| s.at);
        let mean = self.sim.metrics().latency.mean();
        let sample = Sample { from, at: self.sim.now(), p50, p99, throughput: rate, mean };
        push_capped(&mut self.history, sample, HISTORY);
        if self.trend.len() == TREND {
            self.trend = self
                .trend
                .chunks(2)
                .map(|pair| pair.iter().copied().reduce(Sample::merge).expect("chunks are not empty"))
                .collect();
        }
        self.trend.push(sample);
    }

    /// Answers per second at each sample, oldest first.
    pub fn throughput(&self) -> Vec<u64> {
        self.history.iter().map(|s| s.throughput.round() as u64).collect()
    }

    /// The recent window's p99 at each sample (µs), oldest first.
    pub fn p99_us(&self) -> Vec<u64> {
        self.history.iter().map(|s| s.p99 / 1_000).collect()
    }

    /// Answers per second over the last ten samples (a second of real time), and how many
    /// samples that is.
    pub fn smoothed_throughput(&self) -> (u64, usize) {
        let recent: Vec<u64> =
            self.history.iter().rev().take(10).map(|s| s.throughput.round() as u64).collect();
        (recent.iter().sum::<u64>() / recent.len().max(1) as u64, recent.len())
    }

    /// The latencies of the recent window, when the engine keeps one.
    pub fn recent(&self) -> Option<Recorder> {
        self.sim.metrics().recent.as_ref().map(|r| r.merged(self.sim.now()))
    }

    /// A copy to resume from later (see [`Engine::checkpoint`]); the chart's points are not
    /// copied: the run keeps those drawn the first time.
    pub(super) fn copy(&self) -> Option<Pane> {
        Some(Pane {
            sim: self.sim.checkpoint()?,
            history: self.history.clone(),
            trend: Vec::new(),
            last_completions: self.last_completions,
        })
    }
}

/// Pushes `value`, dropping the oldest when `q` holds `cap`.
pub(super) fn push_capped<T>(q: &mut VecDeque<T>, value: T, cap: usize) {
    if q.len() == cap {
        q.pop_front();
    }
    q.push_back(value);
}
