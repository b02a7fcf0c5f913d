//! Running the real binary, the checks the house rules ask of its errors, and scratch folders.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test, built by cargo for the integration tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_lbsim");

/// Runs lbsim with `args` in the current folder (the crate's root) and waits for it.
pub fn lbsim(args: &[&str]) -> Output {
    lbsim_in(Path::new("."), args)
}

/// Runs lbsim with `args` in `cwd` and waits for it.
pub fn lbsim_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(BIN).args(args).current_dir(cwd).output().expect("lbsim runs")
}

/// What lbsim printed on standard output, as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What lbsim printed on standard error, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs lbsim with `args`, asserts it succeeded, and returns its standard output.
pub fn ok(args: &[&str]) -> Vec<u8> {
    ok_in(Path::new("."), args)
}

/// Runs lbsim with `args` in `cwd`, asserts it succeeded, and returns its standard output.
pub fn ok_in(cwd: &Path, args: &[&str]) -> Vec<u8> {
    let o = lbsim_in(cwd, args);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    o.stdout
}

/// How a run of lbsim ended: its exit status and what it wrote.
#[derive(Debug)]
pub struct Ran {
    /// The exit status (`None`: killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Peak resident memory (KiB), where the run measured it (tests/hostile.rs does).
    pub peak_kib: Option<u64>,
}

impl From<Output> for Ran {
    fn from(o: Output) -> Ran {
        Ran { code: o.status.code(), stdout: stdout(&o), stderr: stderr(&o), peak_kib: None }
    }
}

/// Runs lbsim with `args` and asserts that it refused its input as the house rule says
/// (see [`assert_refused`]), with `words` in its one line.
pub fn assert_input_error(args: &[&str], words: &str) {
    refused(&Ran::from(lbsim(args)), &[words], &format!("{args:?}"));
}

/// Bad input gets one clear line and exit status 2, never a panic: asserts that `ran` exited
/// with 2, wrote exactly one line on standard error, starting `lbsim: ` and containing each of
/// `words`, and nothing on standard output.
pub fn assert_refused(ran: &Ran, words: &[&str]) {
    refused(ran, words, "lbsim");
}

fn refused(ran: &Ran, words: &[&str], what: &str) {
    let err = &ran.stderr;
    assert_eq!(ran.code, Some(2), "{what}: {err}");
    assert_eq!(err.lines().count(), 1, "{what}: not one line: {err}");
    assert!(err.starts_with("lbsim: "), "{what}: {err}");
    for w in words {
        assert!(err.contains(w), "{what}: {err:?} lacks {w:?}");
    }
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert!(ran.stdout.is_empty(), "{what} printed a report: {}", ran.stdout);
}

/// A fresh folder for the files one test writes, removed when dropped.
pub struct Scratch(pub PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh, empty folder for one test, named after this process and `name`.
pub fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("lbsim-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

impl Scratch {
    /// Writes `contents` to the file `name` in this folder; returns its path.
    pub fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_string()
    }
}
