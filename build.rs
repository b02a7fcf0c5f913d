//! Puts the git commit into `lbsim --version` when built from a git checkout: sets
//! `LBSIM_VERSION` to `0.1.0 (abc1234)`, or to the bare package version when git or the
//! checkout is absent (a packaged crate, a tarball), which is never an error.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let long = match commit(&dir) {
        Some(commit) => format!("{version} ({commit})"),
        None => {
            println!("cargo:rerun-if-changed=build.rs");
            version
        }
    };
    println!("cargo:rustc-env=LBSIM_VERSION={long}");
}

/// `git` in `dir`, its output trimmed, or `None` on any failure.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// The short commit of the checkout `dir` is the top of, asking cargo to rerun this script
/// when HEAD moves (a checkout, or a commit on its branch). `None` when `dir` is not the top of
/// a checkout: a packaged crate unpacked inside some other repository must not take its commit.
fn commit(dir: &Path) -> Option<String> {
    let top = PathBuf::from(git(dir, &["rev-parse", "--show-toplevel"])?);
    if top.canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    let watch = |path: String| {
        let path = PathBuf::from(path);
        let path = if path.is_absolute() { path } else { dir.join(path) };
        // Cargo reruns the script at every build for a path that does not exist.
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    };
    watch(git(dir, &["rev-parse", "--git-path", "HEAD"])?);
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        watch(git(dir, &["rev-parse", "--git-path", &branch])?);
        watch(git(dir, &["rev-parse", "--git-path", "packed-refs"])?);
    }
    git(dir, &["rev-parse", "--short", "HEAD"])
}
