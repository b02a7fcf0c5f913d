//! A progress bar for headless runs, on standard error, drawn by `indicatif`.
//!
//! `indicatif` is the well-kept crate for this (rate-limited redraws, an ETA estimated from
//! the progress so far, clearing its line when done, hiding itself on a non-terminal): the
//! hand-written bar it replaces had none of the ETA and redrew on every update.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Steps of the bar: progress is a fraction, drawn in thousandths.
const STEPS: u64 = 1000;

/// How long a run goes before its bar appears: short runs print no bar at all.
const DELAY: Duration = Duration::from_millis(500);

/// A one-line progress bar with a label and an ETA, on standard error, only when it is a
/// terminal and only after the first half second.
pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    enabled: bool,
    shown: bool,
}

impl Progress {
    /// A bar labelled `label` (`run`, `compare`, `sweep`), not drawn yet.
    pub fn new(label: &str) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(STEPS), ProgressDrawTarget::hidden());
        let style = ProgressStyle::with_template("{msg} [{bar:40}] {percent:>3}%  {elapsed} (ETA {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("#>-");
        bar.set_style(style);
        bar.set_message(label.to_string());
        Progress { bar, started: Instant::now(), enabled: std::io::stderr().is_terminal(), shown: false }
    }

    /// Sets the fraction done (0 to 1).
    pub fn update(&mut self, fraction: f64) {
        self.bar.set_position((fraction.clamp(0.0, 1.0) * STEPS as f64) as u64);
        if self.enabled && !self.shown && self.started.elapsed() >= DELAY {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown = true;
        }
    }

    /// Removes the bar from the screen (it leaves nothing behind).
    pub fn clear(&mut self) {
        if self.shown {
            self.bar.finish_and_clear();
            self.shown = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}
