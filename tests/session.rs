//! Seeking and recorded sessions: going back to a time gives exactly the state of running
//! straight there (commands included), and a recorded session plays back to the same report.

use lbsim::engine::{Arrivals, SimConfig, Stop};
use lbsim::scenario::builtin::BUILTINS;
use lbsim::session::{Action, Seeker, Session, fingerprint, replay};
use lbsim::time::{MILLIS, Nanos, SECS};

/// The commands of the test: a slowdown, a crash, a rate change where the arrivals have a rate
/// to change, and retries, at their times.
fn commands(config: &SimConfig) -> Vec<(Nanos, Action)> {
    let mut out = vec![
        (1_500 * MILLIS, Action::Slowdown { worker: 0, factor: 10.0 }),
        (2_500 * MILLIS, Action::Up { worker: config.workers.len() - 1, up: false }),
    ];
    if let Some(rate) = match config.arrivals {
        Arrivals::Poisson { rate } | Arrivals::Constant { rate } | Arrivals::Bursty { rate, .. } => {
            Some(rate)
        }
        _ => None,
    } {
        out.push((3_000 * MILLIS, Action::Rate { rate: rate * 1.2 }));
    }
    out.push((3_500 * MILLIS, Action::Retry { policy: None }));
    out
}

/// Runs straight to `t`, applying the commands at their times on the way, keeping
/// checkpoints every `spacing` events.
fn straight_with(config: &SimConfig, strategies: &[String], t: Nanos, spacing: u64) -> Seeker {
    let mut s = Seeker::new(config.clone(), strategies).unwrap();
    s.set_checkpoint_spacing(spacing);
    for (at, action) in commands(config) {
        if at > t {
            break;
        }
        s.seek(at).unwrap();
        s.apply(action, None).unwrap();
    }
    s.seek(t).unwrap();
    s
}

/// Runs straight to `t`, keeping no checkpoints.
fn straight(config: &SimConfig, strategies: &[String], t: Nanos) -> Seeker {
    straight_with(config, strategies, t, u64::MAX)
}

#[test]
fn seeking_back_gives_the_state_of_running_straight_there() {
    for b in BUILTINS {
        let mut config = b.scenario().unwrap().to_config().unwrap();
        config.stop = Stop::Duration(6 * SECS);
        config.warmup = config.warmup.min(SECS);
        let strategies = vec!["least-loaded".to_string(), "power-of-two".to_string()];
        // Going back from checkpoints (every 100 events: thinned to 32, as a long run would be),
        // and from the start.
        for spacing in [100, u64::MAX] {
            let s = straight_with(&config, &strategies, 5 * SECS, spacing);
            assert_eq!(
                spacing == u64::MAX,
                s.checkpoints() == 0,
                "{}: {} checkpoints",
                b.name,
                s.checkpoints()
            );
            seek_around(&config, &strategies, s, b.name);
        }
    }
}

/// Seeks `s` (at 5 s) back and forth, each time against a run straight there.
fn seek_around(config: &SimConfig, strategies: &[String], mut s: Seeker, name: &str) {
    for t in [4_200 * MILLIS, 2 * SECS, 0, 3_100 * MILLIS] {
        s.seek(t).unwrap();
        let direct = straight(config, strategies, t);
        assert_eq!(s.snapshots(), direct.snapshots(), "{name}: back to {t} ns");
        assert_eq!(s.sims()[0].metrics().latency.mean(), direct.sims()[0].metrics().latency.mean());
    }
    // Forward again: the commands are replayed at their times.
    s.seek(5 * SECS).unwrap();
    assert_eq!(s.snapshots(), straight(config, strategies, 5 * SECS).snapshots(), "{name}: forward");
}

#[test]
fn a_command_after_seeking_back_starts_a_new_future() {
    let config = BUILTINS[0].scenario().unwrap().to_config().unwrap();
    let strategies = vec!["least-loaded".to_string()];
    let mut s = Seeker::new(config.clone(), &strategies).unwrap();
    s.seek(2 * SECS).unwrap();
    s.apply(Action::Up { worker: 1, up: false }, None).unwrap();
    s.seek(4 * SECS).unwrap();
    s.seek(SECS).unwrap();
    s.apply(Action::Slowdown { worker: 2, factor: 5.0 }, None).unwrap();
    assert_eq!(s.entries().len(), 1, "the crash at 2 s belonged to the future left behind");
    s.seek(3 * SECS).unwrap();
    assert!(!s.snapshots()[0].workers[1].crashed);
    assert_eq!(s.snapshots()[0].workers[2].slowdown, 5.0);
}

#[test]
fn a_recorded_session_replays_to_the_same_report() {
    let mut config = BUILTINS[0].scenario().unwrap().to_config().unwrap();
    config.stop = Stop::Duration(8 * SECS);
    let strategies = vec!["round-robin".to_string(), "least-loaded".to_string()];
    let mut s = straight(&config, &strategies, 7 * SECS);
    s.apply(Action::Up { worker: 0, up: true }, Some("r".into())).unwrap();
    s.seek(7_500 * MILLIS).unwrap();
    let session = Session {
        version: 1,
        command: "compare".into(),
        args: vec![],
        strategies: strategies.clone(),
        scenario: "default".into(),
        seed: config.seed,
        fingerprint: fingerprint(&config),
        end: s.sims().iter().map(lbsim::session::Point::of).collect(),
        commands: s.entries().to_vec(),
    };
    let json = serde_json::to_string(&session).unwrap();
    let back: Session = serde_json::from_str(&json).unwrap();
    let replayed = replay(&config, &back, "default").unwrap();
    for (sim, r) in s.sims().iter().zip(replayed) {
        let original = lbsim::report::Report::new(sim, "default", 0.0);
        assert_eq!(lbsim::report::Report { wall_time_s: 0.0, ..r }, original);
    }
}
