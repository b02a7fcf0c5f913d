//! The binary against hostile files (issue 25): named pipes and devices where a file is
//! expected, outputs that would overwrite each other or the scenario, symbolic links, and
//! trace files built to be slow or confusing. Each run has a time bound (the child is killed
//! past it); none may panic.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, Ran, assert_refused, scratch};

/// Runs lbsim with `args` in `dir`, killing it past `limit` (then failing).
fn run_in(dir: &Path, args: &[&str], limit: Duration) -> Ran {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lbsim starts");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("lbsim {args:?} ran over its time bound of {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let ran = Ran::from(child.wait_with_output().expect("output"));
    assert!(!matches!(ran.code, Some(101) | Some(134) | None), "lbsim {args:?} crashed: {ran:?}");
    ran
}

fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0, "mkfifo {}", path.display());
}

#[test]
fn a_named_pipe_nothing_reads_is_refused_as_an_output_at_once() {
    let dir = scratch("fifo-out");
    mkfifo(&dir.join("pipe"));
    for flag in ["--output", "--timeline-csv", "--record"] {
        let ran =
            run_in(&dir, &["run", "--headless", "--requests", "50", flag, "pipe"], Duration::from_secs(20));
        if flag == "--record" {
            // replay.rs calls every --record failure a runtime error (exit 1).
            assert_eq!((ran.code, ran.stderr.lines().count()), (Some(1), 1), "{ran:?}");
            assert!(ran.stderr.contains("named pipe"), "{ran:?}");
        } else {
            assert_refused(&ran, &[flag, "pipe", "named pipe"]);
        }
    }
}

#[test]
fn sweep_json_that_is_a_device_or_a_pipe_is_refused_before_reading() {
    let dir = scratch("sweep-json");
    std::fs::create_dir(dir.join("zero")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero/sweep.json")).unwrap();
    let ran = run_in(&dir, &["sweep", "--merge", "zero"], Duration::from_secs(20));
    assert_refused(&ran, &["sweep.json", "not a regular file"]);
    std::fs::create_dir(dir.join("pipe")).unwrap();
    mkfifo(&dir.join("pipe/sweep.json"));
    let ran = run_in(&dir, &["sweep", "--merge", "pipe"], Duration::from_secs(20));
    assert_refused(&ran, &["sweep.json", "not a regular file"]);
}

#[test]
fn two_outputs_in_one_file_or_over_the_scenario_are_refused() {
    let dir = scratch("same-out");
    let scenario = dir.file("s.toml", "[arrivals]\nkind = \"poisson\"\nrate = 100\n");
    let before = std::fs::read(&scenario).unwrap();
    let limit = Duration::from_secs(20);
    let base = ["run", "--headless", "--requests", "50"];
    let with = |more: &[&'static str]| -> Vec<&'static str> { [&base[..], more].concat() };
    let ran = run_in(&dir, &with(&["--output", "x", "--record", "x"]), limit);
    assert_refused(&ran, &["--output and --record name the same file"]);
    let ran = run_in(&dir, &with(&["--output", "x", "--timeline-csv", "./x"]), limit);
    assert_refused(&ran, &["--output and --timeline-csv name the same file"]);
    assert!(!dir.join("x").exists());
    let ran = run_in(&dir, &with(&["--scenario", "s.toml", "--output", "s.toml"]), limit);
    assert_refused(&ran, &["--output s.toml is the scenario file"]);
    assert_eq!(std::fs::read(&scenario).unwrap(), before);
}

#[test]
fn an_output_through_a_symbolic_link_writes_its_target_and_keeps_the_link() {
    let dir = scratch("symlink-out");
    dir.file("target.txt", "old");
    std::os::unix::fs::symlink("target.txt", dir.join("link.txt")).unwrap();
    let ran = run_in(
        &dir,
        &["run", "--headless", "--requests", "50", "--output", "link.txt"],
        Duration::from_secs(20),
    );
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert!(std::fs::symlink_metadata(dir.join("link.txt")).unwrap().file_type().is_symlink());
    let written = std::fs::read_to_string(dir.join("target.txt")).unwrap();
    assert!(written.starts_with("lbsim run"), "{written}");
    let leftovers: Vec<_> = std::fs::read_dir(&*dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}
