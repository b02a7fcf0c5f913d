//! The program's "stop" request: raised by the first Ctrl-C, SIGTERM or SIGHUP, whoever hears
//! it first (the command line's signal watcher, or the terminal UI, which quits on them), and
//! read by the command when it decides its exit status (128 + the signal's number).
//!
//! One flag for both listeners: the UI used to quit on SIGTERM before the watcher's thread had
//! raised the flag, and the program then exited 0 as if `q` had been pressed.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// Raised once a stop was asked for: headless runs stop where they are and report.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The signal that raised [`INTERRUPTED`] (0: none yet).
static STOP_SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Notes that `signal` asked the program to stop (the first signal's number is kept).
pub fn note(signal: i32) {
    let _ = STOP_SIGNAL.compare_exchange(0, signal, Ordering::Relaxed, Ordering::Relaxed);
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// The signal (SIGINT, SIGTERM or SIGHUP) that asked the program to stop, once one did.
pub fn signal() -> Option<i32> {
    requested().then(|| STOP_SIGNAL.load(Ordering::Relaxed)).filter(|&s| s != 0)
}
