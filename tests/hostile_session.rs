//! Hostile input to sessions and commands (issue 25): numbers past the documented limits,
//! sessions edited by hand or at random, sessions moved to another folder. Each either
//! replays exactly the run it recorded or is refused with one line and exit status 2, never a
//! panic.

mod common;

use std::path::Path;

use common::{Ran, assert_refused, lbsim, lbsim_in, scratch};
use lbsim::engine::{Command, CommandError};
use serde_json::{Value, json};

/// A small scenario file and a session recorded from it headless (no commands yet).
fn recorded(dir: &Path, extra: &[&str]) -> (String, Value) {
    let scenario = dir.join("sc.toml");
    std::fs::write(&scenario, "[arrivals]\nload = 0.7\n[run]\nrequests = 600\n").unwrap();
    let session = dir.join("s.json");
    let mut args = vec!["compare", "--headless", "--scenario", "sc.toml", "--record", "s.json"];
    args.extend_from_slice(extra);
    let o = lbsim_in(dir, &args);
    assert!(matches!(o.status.code(), Some(0 | 3)), "{}", String::from_utf8_lossy(&o.stderr));
    let value = serde_json::from_str(&std::fs::read_to_string(&session).unwrap()).unwrap();
    (session.to_str().unwrap().to_string(), value)
}

fn replay(session: &str) -> Ran {
    Ran::from(lbsim(&["replay", "--headless", session, "--format", "json"]))
}

/// A command at `t` ns (after `events` events) in every run of `session`.
fn with_command(session: &Value, t: u64, events: u64, action: Value) -> Value {
    let runs = session["strategies"].as_array().unwrap().len();
    let mut entry = action;
    entry["at"] = json!(vec![json!({"time_ns": t, "events": events}); runs]);
    let mut s = session.clone();
    s["commands"] = json!([entry]);
    s
}

#[test]
fn choices_beyond_any_cluster_are_refused_by_run_and_check_alike() {
    let dir = scratch("choices");
    let file = dir.file("c.toml", "[strategy]\nname = \"power-of-two\"\nchoices = 4294967295\n");
    assert_refused(&Ran::from(lbsim(&["check", &file])), &["strategy.choices", "1000000"]);
    let run =
        ["run", "--headless", "--strategy", "power-of-two", "--choices", "4294967295", "--requests", "10"];
    assert_refused(&Ran::from(lbsim(&run)), &["choices", "1000000"]);
    // The largest accepted still runs, in little memory.
    let ok = ["run", "--headless", "--strategy", "power-of-two", "--choices", "1000000", "--requests", "10"];
    let o = lbsim(&ok);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn commands_are_held_to_the_documented_limits() {
    let config = lbsim::scenario::builtin::find("default").unwrap().scenario().unwrap().to_config().unwrap();
    let bad = |c: Command| matches!(c.check(&config, 8), Err(CommandError::BadValue(_)));
    assert!(bad(Command::SetRate(1e-300)), "a rate that sends the next request past the end of time");
    assert!(bad(Command::SetWorkerSpeed { worker: 0, speed: 1e-300 }));
    assert!(bad(Command::SetWorkerSpeed { worker: 0, speed: 1e-7 }));
    assert!(Command::SetRate(0.0).check(&config, 8).is_ok(), "rate 0 pauses arrivals");
    assert!(Command::SetRate(1.0).check(&config, 8).is_ok());
    assert!(Command::SetWorkerSpeed { worker: 0, speed: 1e-6 }.check(&config, 8).is_ok());
}

#[test]
fn a_session_with_a_command_past_the_limits_is_refused() {
    let dir = scratch("limits");
    let (path, session) = recorded(&dir, &[]);
    for action in [
        json!({"action": "rate", "rate": 1e-300}),
        json!({"action": "speed", "worker": 0, "speed": 1e-300}),
        json!({"action": "strategy", "name": "no-such-strategy"}),
    ] {
        let edited = with_command(&session, 1_000_000, 0, action.clone());
        std::fs::write(&path, serde_json::to_string(&edited).unwrap()).unwrap();
        assert_refused(&replay(&path), &["s.json", "command 1"]);
    }
    // Moments out of order (a command after the end) are refused too.
    let end = session["end"][0]["time_ns"].as_u64().unwrap();
    let edited = with_command(&session, end + 1, u64::MAX / 2, json!({"action": "rate", "rate": 100.0}));
    std::fs::write(&path, serde_json::to_string(&edited).unwrap()).unwrap();
    assert_refused(&replay(&path), &["s.json", "the end"]);
}

#[test]
fn a_session_replays_from_any_folder() {
    let dir = scratch("folder");
    let (path, _) = recorded(&dir, &[]);
    let elsewhere = scratch("folder-elsewhere");
    let o = lbsim_in(&elsewhere, &["replay", "--headless", &path]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_capped_run_replays_to_the_same_stop_and_exit_status() {
    let dir = scratch("capped");
    std::fs::write(
        dir.join("sc.toml"),
        "[arrivals]\nload = 3.0\n[run]\nrequests = 5000\nmax_in_flight = 50\n",
    )
    .unwrap();
    let args = ["run", "--headless", "--scenario", "sc.toml", "--record", "s.json", "--format", "json"];
    let o = lbsim_in(&dir, &args);
    assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
    let r = lbsim_in(&dir, &["replay", "--headless", "s.json", "--format", "json"]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(3), "{err}");
    assert!(err.contains("stopped early"), "{err}");
    let strip = |bytes: &[u8]| {
        let mut v: Value = serde_json::from_slice(bytes).unwrap();
        v["wall_time_s"] = 0.into();
        v
    };
    assert_eq!(strip(&o.stdout), strip(&r.stdout));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn action() -> impl Strategy<Value = Value> {
        let number = prop_oneof![
            Just(0.0),
            Just(-1.0),
            Just(1e-300),
            Just(1e300),
            Just(f64::MIN_POSITIVE),
            0.0..2000.0f64,
        ];
        let worker = prop_oneof![0u64..10, Just(u64::MAX)];
        prop_oneof![
            number.clone().prop_map(|r| json!({"action": "rate", "rate": r})),
            (worker.clone(), number.clone()).prop_map(|(w, s)| json!({"action": "speed", "worker": w, "speed": s})),
            (worker.clone(), number.clone())
                .prop_map(|(w, f)| json!({"action": "slowdown", "worker": w, "factor": f})),
            (worker.clone(), any::<bool>()).prop_map(|(w, up)| json!({"action": "up", "worker": w, "up": up})),
            (worker, number).prop_map(|(w, r)| json!({"action": "error_rate", "worker": w, "rate": r})),
            (0u32..20, 0u64..10_000_000_000u64).prop_map(|(max, b)| json!({"action": "retry", "policy":
                {"max": max, "backoff_ns": b, "max_backoff_ns": b, "per_try_timeout_ns": null, "budget": null}})),
            "[a-z-]{0,12}".prop_map(|n| json!({"action": "strategy", "name": n})),
        ]
    }

    fn moment() -> impl Strategy<Value = (u64, u64)> {
        (prop_oneof![0u64..2_000_000_000, Just(u64::MAX)], prop_oneof![0u64..3000, Just(u64::MAX)])
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

        /// Random commands at random moments: replayed, or refused with one line.
        #[test]
        fn random_commands_replay_or_are_refused(
            commands in proptest::collection::vec((moment(), action()), 0..5),
            end in moment(),
            truncate in proptest::option::of(0usize..2000),
        ) {
            let dir = scratch("prop");
            let (path, session) = recorded(&dir, &[]);
            let runs = session["strategies"].as_array().unwrap().len();
            let mut s = session.clone();
            s["commands"] = Value::Array(commands.into_iter().map(|((t, e), mut a)| {
                a["at"] = json!(vec![json!({"time_ns": t, "events": e}); runs]);
                a
            }).collect());
            if end.0 % 3 == 0 {
                s["end"] = json!(vec![json!({"time_ns": end.0, "events": end.1}); runs]);
            }
            let mut text = serde_json::to_string(&s).unwrap();
            if let Some(n) = truncate {
                text.truncate(n.min(text.len()));
            }
            std::fs::write(&path, &text).unwrap();
            let ran = replay(&path);
            prop_assert!(!ran.stderr.contains("panicked"), "{}", ran.stderr);
            match ran.code {
                Some(0) | Some(3) => {}
                Some(2) => assert_refused(&ran, &["s.json"]),
                other => prop_assert!(false, "exit {other:?}: {}", ran.stderr),
            }
        }
    }
}
