//! The real binary in a real terminal: tmux runs `lbsim`, we read the screen as a person
//! would, press keys, and check that it quits cleanly and prints its report.
//!
//! Real time: one test at a time ([`common::one_at_a_time`]). Without tmux a test skips with
//! a note, unless `LBSIM_REQUIRE_TOOLS` is set (`.ci/run` sets it): then it fails.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::have_tmux;

/// A tmux session running `command` in a 120x40 terminal; killed when dropped. Each has a
/// tmux server of its own (`tmux -L NAME`): none is shared with the user's sessions, and none
/// is shared between tests (a server exits with its last session, and a test starting a session
/// on the same socket at that moment would fail).
struct Session(String);

impl Session {
    fn start(name: &str, command: &str) -> Session {
        Session::sized(name, command, 120, 40)
    }

    /// A session on a terminal `width` x `height`.
    fn sized(name: &str, command: &str, width: u16, height: u16) -> Session {
        let name = format!("lbsim-e2e-{name}-{}", std::process::id());
        let (w, h) = (width.to_string(), height.to_string());
        let out = Command::new("tmux")
            .args(["-L", &name, "new-session", "-d", "-s", &name, "-x", &w, "-y", &h, command])
            .env("TERM", "xterm-256color")
            .output()
            .expect("tmux starts");
        assert!(out.status.success(), "tmux new-session: {}", String::from_utf8_lossy(&out.stderr));
        Session(name)
    }

    /// Runs a tmux command on this session's server; returns what it printed.
    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux").args(["-L", &self.0]).args(args).output().expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", &self.0])
    }

    /// The screen and what scrolled off it, lines wrapped by the terminal joined again.
    fn history(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", &self.0])
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", self.0.as_str()];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Waits until the screen satisfies `done`, up to 20 s; returns the screen.
    fn wait_for(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The pid of the shell tmux started.
    fn shell_pid(&self) -> u32 {
        self.tmux(&["list-panes", "-t", &self.0, "-F", "#{pane_pid}"]).trim().parse().expect("pane pid")
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}

fn command(args: &str) -> String {
    let bin = env!("CARGO_BIN_EXE_lbsim");
    assert!(Path::new(bin).exists());
    format!("sh -c '{bin} {args}; echo EXIT=$?; sleep 60'")
}

/// The children of a process, from /proc.
fn children(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // Fields after the command name (which is in parentheses): state, ppid, ...
        let after = &stat[stat.rfind(')').unwrap_or(0) + 1..];
        if after.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()) == Some(pid) {
            found.push(child);
        }
    }
    found
}

#[test]
fn run_shows_bars_and_histogram_then_quits_with_a_report() {
    let _serial = common::one_at_a_time();
    if !have_tmux() {
        return;
    }
    let s = Session::start("run", &command("run --scenario default --warmup 0s"));
    s.wait_for("the worker bars and the histogram", |screen| {
        screen.contains("pending · scale")
            && screen.contains("latency · whole run")
            && screen.contains("p99 ")
    });
    s.keys(&["Space"]);
    s.wait_for("paused", |screen| screen.contains("paused"));
    s.keys(&["n", "n", "n"]);
    s.wait_for("a stepped event in the log", |screen| {
        screen.contains("-> worker") || screen.contains("answered")
    });
    s.keys(&["Down", "k"]);
    s.wait_for("the crash in the log", |screen| screen.contains("worker 1 crashed"));
    s.keys(&["q"]);
    let screen = s.wait_for("the exit and the report", |screen| screen.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(screen.contains("lbsim run · scenario default · strategy least-loaded"), "{screen}");
    assert!(screen.contains("latency") && screen.contains("down"), "{screen}");
    assert!(!screen.contains("pending · scale"), "the UI is still on screen:\n{screen}");
}

#[test]
fn compare_shows_every_strategy_and_sigterm_restores_the_terminal() {
    let _serial = common::one_at_a_time();
    if !have_tmux() {
        return;
    }
    let s = Session::start("compare", &command("compare --strategies round-robin,random,least-loaded"));
    s.wait_for("three panes and the p99 leader", |screen| {
        screen.contains("round-robin · p99")
            && screen.contains("random · p99")
            && screen.contains("least-loaded · p99")
            && screen.contains("p99 leader")
    });
    let shell = s.shell_pid();
    let lbsim = children(shell);
    assert_eq!(lbsim.len(), 1, "expected one lbsim under the shell: {lbsim:?}");
    Command::new("kill").args(["-TERM", &lbsim[0].to_string()]).status().unwrap();
    let screen = s.wait_for("the exit after SIGTERM", |screen| screen.contains("EXIT="));
    // Stopped by a signal: 128 + SIGTERM, as batch systems read it, after the report.
    assert!(screen.contains("EXIT=143"), "{screen}");
    assert!(screen.contains("lbsim compare · scenario default"), "{screen}");
    assert!(!screen.contains("p99 leader"), "the UI is still on screen:\n{screen}");
}

/// Lesson 14 as its header says, at 80x24 (a laptop, or a projector at a large font): the
/// live run's header, bars and answers, then a worker task crashed and repaired.
#[test]
fn the_live_engine_opens_in_the_same_ui_crashes_a_worker_task_and_quits_with_its_report() {
    let _serial = common::one_at_a_time();
    if !have_tmux() {
        return;
    }
    let s = Session::sized(
        "live",
        &command("run --engine live --scenario select-loop --requests 100000 --warmup 0s"),
        80,
        24,
    );
    s.wait_for("the live header, the bars and answers", |screen| {
        screen.contains("live tokio tasks") && screen.contains("scale ") && screen.contains("p99 ")
    });
    s.keys(&["n"]);
    s.wait_for("why n does nothing live", |screen| screen.contains("cannot be stepped"));
    s.keys(&["Down", "k"]);
    s.wait_for("the aborted worker task in the log", |screen| screen.contains("worker 1 crashed"));
    s.keys(&["r"]);
    s.wait_for("the new worker task in the log", |screen| screen.contains("worker 1 repaired"));
    s.keys(&["q"]);
    let screen = s.wait_for("the exit and the report", |screen| screen.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(!screen.contains("scale "), "the UI is still on screen:\n{screen}");
    let report = s.history();
    assert!(report.contains("ran live (tokio tasks"), "{report}");
    assert!(report.contains("0 tasks left at shutdown"), "{report}");
    assert!(report.contains("worker 1 crashed") && report.contains("worker 1 repaired"), "{report}");
}

/// The state letter of a process (`T` when stopped), from /proc.
fn state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat[stat.rfind(')').map_or(0, |i| i + 1)..].trim_start().chars().next().unwrap_or('?')
}

/// The lbsim process under the session's shell.
fn lbsim_pid(s: &Session) -> u32 {
    let lbsim = children(s.shell_pid());
    assert_eq!(lbsim.len(), 1, "expected one lbsim under the shell: {lbsim:?}");
    lbsim[0]
}

#[test]
fn sighup_and_sigquit_restore_the_terminal_and_print_the_report() {
    let _serial = common::one_at_a_time();
    if !have_tmux() {
        return;
    }
    for sig in ["HUP", "QUIT"] {
        let s = Session::start(&format!("sig{sig}"), &command("run --scenario default --warmup 0s"));
        s.wait_for("the UI", |screen| screen.contains("pending · scale"));
        Command::new("kill").args([&format!("-{sig}"), &lbsim_pid(&s).to_string()]).status().unwrap();
        let screen = s.wait_for("the exit", |screen| screen.contains("EXIT="));
        // SIGHUP stops the run (128 + 1, as batch systems read it); SIGQUIT asks it to quit,
        // as q does.
        let code = if sig == "HUP" { "EXIT=129" } else { "EXIT=0" };
        assert!(screen.contains(code), "SIG{sig}: {screen}");
        assert!(screen.contains("lbsim run · scenario default"), "SIG{sig}: no report:\n{screen}");
        assert!(!screen.contains("pending · scale"), "SIG{sig}: the UI is still on screen:\n{screen}");
    }
}

#[test]
fn ctrl_z_suspends_with_the_terminal_restored_and_sigcont_resumes_in_raw_mode() {
    let _serial = common::one_at_a_time();
    if !have_tmux() {
        return;
    }
    let s = Session::start("suspend", &command("run --scenario default --warmup 0s"));
    s.wait_for("the UI", |screen| screen.contains("pending · scale"));
    let pid = lbsim_pid(&s);
    s.keys(&["C-z"]);
    let start = Instant::now();
    while state(pid) != 'T' {
        assert!(start.elapsed() < Duration::from_secs(10), "lbsim did not stop on Ctrl-Z");
        std::thread::sleep(Duration::from_millis(50));
    }
    s.wait_for("the main screen back while suspended", |screen| !screen.contains("pending · scale"));
    Command::new("kill").args(["-CONT", &pid.to_string()]).status().unwrap();
    s.wait_for("the UI redrawn", |screen| screen.contains("pending · scale"));
    // Raw mode again: a single key acts, no Enter needed.
    s.keys(&["q"]);
    let screen = s.wait_for("the exit", |screen| screen.contains("EXIT="));
    assert!(screen.contains("EXIT=0") && screen.contains("lbsim run · scenario default"), "{screen}");
}

#[test]
fn term_dumb_prints_the_report_instead_of_the_ui() {
    let _serial = common::one_at_a_time();
    if !have_tmux() {
        return;
    }
    let s = Session::start(
        "dumb",
        &command("run --scenario default --requests 20000").replace("sh -c '", "sh -c 'TERM=dumb "),
    );
    let screen = s.wait_for("the exit", |screen| screen.contains("EXIT="));
    assert!(screen.contains("TERM=dumb cannot show the terminal UI"), "{screen}");
    assert!(screen.contains("EXIT=0") && screen.contains("lbsim run · scenario default"), "{screen}");
}

/// The counter after `label` on screen, when it shows something other than 0 or none.
fn counted(screen: &str, label: &str) -> bool {
    let label: Vec<&str> = label.split(' ').collect();
    screen.lines().any(|line| {
        let line = line.replace('│', " ");
        let words: Vec<&str> = line.split_whitespace().collect();
        words
            .windows(label.len() + 1)
            .any(|w| w[..label.len()] == label[..] && !matches!(w[label.len()], "0" | "none"))
    })
}

/// A live lesson as its header says, at 80x24: `words` on the screen and `counters` above 0
/// while it runs; then `q`, a clean exit, and the report (with what scrolled off).
fn live_lesson(name: &str, args: &str, words: &[&str], counters: &[&str]) -> String {
    let s = Session::sized(name, &command(args), 80, 24);
    s.wait_for(&format!("{name}: {words:?} and {counters:?} above 0"), |screen| {
        words.iter().all(|w| screen.contains(w)) && counters.iter().all(|c| counted(screen, c))
    });
    s.keys(&["q"]);
    let screen = s.wait_for("the exit and the report", |screen| screen.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{name}: {screen}");
    s.history()
}

/// Lesson 15: blocking holds requests at the balancer (the counter says how many).
#[test]
fn lesson_15_backpressure_at_80x24() {
    let _serial = common::one_at_a_time();
    if have_tmux() {
        live_lesson(
            "backpressure",
            "run --engine live --scenario backpressure",
            &["live tokio tasks"],
            &["blocked"],
        );
    }
}

/// Lesson 16: the spinning run still shows its header and answers.
#[test]
fn lesson_16_blocking_the_runtime_at_80x24() {
    let _serial = common::one_at_a_time();
    if have_tmux() {
        let args = "run --engine live --scenario blocking-the-runtime";
        live_lesson("blocking", args, &["live tokio tasks", "p99 "], &[]);
    }
}

/// Lesson 17: requests time out and their work is wasted, on screen.
#[test]
fn lesson_17_timeouts_at_80x24() {
    let _serial = common::one_at_a_time();
    if have_tmux() {
        let args = "run --engine live --scenario timeouts-and-cancellation";
        live_lesson("timeouts", args, &[], &["timed out", "wasted"]);
    }
}

/// Lesson 18: quit mid-run; with the grace period no request is cancelled, and no task is left.
#[test]
fn lesson_18_graceful_shutdown_at_80x24() {
    let _serial = common::one_at_a_time();
    if have_tmux() {
        let report =
            live_lesson("shutdown", "run --engine live --scenario graceful-shutdown", &["p99 "], &[]);
        // With the 2 s grace, every request sent finished: none was cancelled.
        let none_cancelled =
            report.lines().any(|l| l.split_whitespace().take(3).eq(["cancelled", "0", "requests"]));
        assert!(none_cancelled && report.contains("0 tasks left at shutdown"), "{report}");
    }
}

/// A session recorded in the UI (a crash by `k`) replays in the UI: the crash comes again at
/// its moment, the log says it is a replay, and `q` prints the report.
#[test]
fn a_recorded_session_replays_in_the_ui() {
    let _serial = common::one_at_a_time();
    if !have_tmux() {
        return;
    }
    let file = std::env::temp_dir().join(format!("lbsim-e2e-replay-{}.json", std::process::id()));
    let path = file.display().to_string();
    let s = Session::start("record", &command(&format!("run --scenario slow-worker --record {path}")));
    s.wait_for("the UI", |screen| screen.contains("running"));
    s.keys(&["k"]);
    s.wait_for("the crash", |screen| screen.contains("worker 0 crashed"));
    s.keys(&["q"]);
    s.wait_for("the exit", |screen| screen.contains("EXIT=0"));
    let r = Session::start("replay", &command(&format!("replay {path}")));
    let screen = r.wait_for("the replayed crash", |screen| screen.contains("replay: worker 0 crashed"));
    assert!(screen.contains("replaying a recorded session: 1 command"), "{screen}");
    r.keys(&["q"]);
    let screen = r.wait_for("the exit", |screen| screen.contains("EXIT="));
    assert!(screen.contains("EXIT=0") && screen.contains("lbsim run · scenario slow-worker"), "{screen}");
    let _ = std::fs::remove_file(file);
}

/// `command`, then the exit status and whether the terminal is back in cooked mode with echo
/// (`stty` prints `icanon echo`, or `-icanon -echo` when left raw).
fn command_then_stty(prefix: &str, args: &str) -> String {
    let bin = env!("CARGO_BIN_EXE_lbsim");
    format!(
        "sh -c '{prefix}{bin} {args}; echo EXIT=$?; echo STTY $(stty -a | tr \" ;\" \"\\n\\n\" | grep -x -e icanon -e -icanon -e echo -e -echo); sleep 60'"
    )
}

/// What tmux knows of the pane's modes: the alternate screen, mouse reporting, the cursor.
fn modes(s: &Session) -> String {
    s.tmux(&[
        "display-message",
        "-p",
        "-t",
        &s.0,
        "alt=#{alternate_on} mouse=#{mouse_any_flag} cursor=#{cursor_flag}",
    ])
}

/// An abort (issue 25: an allocation that failed under a memory limit left the terminal raw,
/// on the alternate screen, mouse reporting on, cursor hidden) gives the terminal back.
#[test]
fn an_abort_restores_the_terminal() {
    let _serial = common::one_at_a_time();
    if !have_tmux() {
        return;
    }
    let s = Session::start("abort", &command_then_stty("", "run --scenario default --warmup 0s"));
    s.wait_for("the UI", |screen| screen.contains("pending · scale"));
    assert!(modes(&s).contains("alt=1"), "{}", modes(&s));
    Command::new("kill").args(["-ABRT", &lbsim_pid(&s).to_string()]).status().unwrap();
    let screen = s.wait_for("the exit", |screen| screen.contains("STTY"));
    assert!(screen.contains("EXIT=134"), "{screen}");
    assert!(screen.contains("STTY icanon echo"), "the terminal was left raw:\n{screen}");
    assert_eq!(modes(&s).trim(), "alt=0 mouse=0 cursor=1");
}

/// Going far ahead in a run whose queues grow without bound, under a memory limit: the
/// checkpoints stay within their budget and the run may still run out of memory (its own
/// queues); either way `q` or the abort gives the terminal back.
#[test]
fn running_out_of_memory_while_seeking_restores_the_terminal() {
    let _serial = common::one_at_a_time();
    if !have_tmux() {
        return;
    }
    let args = "run --strategy round-robin --rate 200000 --requests 100000000 --warmup 0s";
    let s = Session::start("oom", &command_then_stty("ulimit -v 1000000; ", args));
    s.wait_for("the UI", |screen| screen.contains("pending · scale"));
    s.keys(&["g"]);
    s.keys(&["-l", "300s"]);
    s.keys(&["Enter"]);
    // Keys are read while it goes: q quits within a second or two, if it has not aborted.
    std::thread::sleep(Duration::from_secs(3));
    s.keys(&["q"]);
    let start = Instant::now();
    let screen = loop {
        let screen = s.screen();
        if screen.contains("STTY") {
            break screen;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no exit:\n{screen}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(screen.contains("EXIT=0") || screen.contains("EXIT=134"), "{screen}");
    assert!(screen.contains("STTY icanon echo"), "the terminal was left raw:\n{screen}");
    assert_eq!(modes(&s).trim(), "alt=0 mouse=0 cursor=1");
}

/// The sweep's UI stopped by SIGTERM ends within seconds, gives the terminal back (the main
/// screen, the shell's modes) and exits 128 + SIGTERM (issue 25: it ignored SIGTERM and kept
/// running at full CPU).
#[test]
fn the_sweep_ui_ends_on_sigterm_and_restores_the_terminal() {
    let _serial = common::one_at_a_time();
    if !have_tmux() {
        return;
    }
    let args = "sweep --strategies random,least-loaded --loads 0.5,0.9 --replications 20 --requests 5000000 --jobs 1";
    let s = Session::start("sweep-term", &command_then_stty("", args));
    s.wait_for("the sweep's chart", |screen| screen.contains("load"));
    Command::new("kill").args(["-TERM", &lbsim_pid(&s).to_string()]).status().unwrap();
    let screen = s.wait_for("the exit", |screen| screen.contains("STTY"));
    assert!(screen.contains("EXIT=143"), "{screen}");
    assert!(screen.contains("STTY icanon echo"), "the terminal is still raw:\n{screen}");
}
