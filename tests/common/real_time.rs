//! What the real-time tests need: to run one at a time, and the programs they drive.
//!
//! `cargo test` runs the test binaries one after another, but the tests of one binary in
//! parallel threads. A test whose claim is measured in real time (the live engine's tokio
//! tasks, the UI in tmux) would then share the two cores with its neighbours and measure them.
//! So the real-time tests live in binaries of their own (tests/live.rs, tests/lessons_live.rs,
//! tests/tui_e2e.rs), and each of their tests holds [`one_at_a_time`] while it runs.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Holds the other real-time tests of this binary off until it is dropped: take it first
/// thing in every test of a real-time binary (`let _serial = common::one_at_a_time();`).
pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    static ONE: Mutex<()> = Mutex::new(());
    // A test that failed while holding it has said so already: the next may run.
    ONE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The variable `.ci/run` sets: there, a program the tests drive must be installed.
pub const REQUIRE_TOOLS: &str = "LBSIM_REQUIRE_TOOLS";

/// Whether `program` is on the PATH. If it is not, the test fails when [`REQUIRE_TOOLS`] is
/// set (CI, which installs it, must not pass silently without it); elsewhere it prints why
/// it skips and returns false.
pub fn have(program: &str, install: &str) -> bool {
    if on_path(program) {
        return true;
    }
    if std::env::var_os(REQUIRE_TOOLS).is_some_and(|v| !v.is_empty() && v != "0") {
        panic!("{program} is not installed and {REQUIRE_TOOLS} is set: {install}");
    }
    // Straight to standard error: `eprintln!` would be captured, and shown only on failure.
    let note = format!("SKIPPED: {program} is not installed ({install}; .ci/run does)\n");
    let _ = std::io::Write::write_all(&mut std::io::stderr(), note.as_bytes());
    false
}

/// Whether an executable file named `program` is in a folder of the PATH.
fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| {
        std::fs::metadata(dir.join(program)).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// Whether tmux is here (see [`have`]).
pub fn have_tmux() -> bool {
    have("tmux", "apt-get install tmux")
}
