//! Seeking back in a run (`cargo bench --bench seek`): a 10-minute virtual run at 1,000
//! requests/s, then back to near its end, which re-simulates from the latest checkpoint with
//! the commands replayed; in a headless run controller (`Playground`) and in the UI
//! (`App::seek_to`, the same controller with its sparklines), each against re-running from the
//! start in the same run. The issue asks for under 100 ms.

use std::time::Instant;

use lbsim::dist::Dist;
use lbsim::engine::{Arrivals, SimConfig, Stop, WorkerSpec};
use lbsim::playground::Playground;
use lbsim::session::Action;
use lbsim::time::{MILLIS, SECS};

fn main() {
    let mut config = SimConfig::new(
        vec![WorkerSpec::default(); 16],
        Arrivals::Poisson { rate: 1_000.0 },
        Dist::Exp { mean: 10 * MILLIS },
    );
    config.stop = Stop::Duration(600 * SECS);
    let strategies = ["least-loaded".to_string()];
    let mut s = Playground::headless(config, &strategies).unwrap();
    for k in 1..=10 {
        s.seek_to(k * 50 * SECS).unwrap();
        s.command(Action::Slowdown { worker: (k % 16) as usize, factor: if k % 2 == 0 { 1.0 } else { 4.0 } })
            .unwrap();
    }
    s.seek_to(600 * SECS).unwrap();
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        s.seek_to(595 * SECS).unwrap();
        times.push(started.elapsed().as_secs_f64() * 1e3);
        s.seek_to(600 * SECS).unwrap();
    }
    times.sort_by(f64::total_cmp);
    let events = s.positions().unwrap()[0].events;
    println!(
        "seek back to 595 s of a 600 s run ({events} events, 10 commands): best {:.1} ms, median {:.1} ms",
        times[0], times[2]
    );
    ui();
}

/// The same run in the UI: seeking back from its end to 595 s, against running a fresh UI
/// straight to 595 s (what seeking cost before the UI kept checkpoints).
fn ui() {
    use lbsim::tui::{App, Mode};
    let scenario = || {
        let text = r#"
            name = "seek-bench"
            service = "exp:10ms"
            [arrivals]
            rate = 1000
            [[workers]]
            count = 16
            [run]
            duration = "600s"
            warmup = "0s"
        "#;
        lbsim::scenario::Scenario::parse(text, "seek-bench").unwrap()
    };
    let strategies = ["least-loaded".to_string()];
    let mut app = App::new(scenario(), &strategies, Mode::Run).unwrap();
    app.advance_to(600 * SECS, None);
    let (mut seek, mut fresh) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let started = Instant::now();
        app.seek_to(595 * SECS);
        seek.push(started.elapsed().as_secs_f64() * 1e3);
        app.seek_to(600 * SECS);
        let started = Instant::now();
        let mut straight = App::new(scenario(), &strategies, Mode::Run).unwrap();
        straight.advance_to(595 * SECS, None);
        fresh.push(started.elapsed().as_secs_f64() * 1e3);
    }
    seek.sort_by(f64::total_cmp);
    fresh.sort_by(f64::total_cmp);
    println!(
        "UI: back to 595 s ({} checkpoints): median {:.1} ms; from the start: median {:.1} ms ({:.2}x)",
        app.play.checkpoint_count(),
        seek[2],
        fresh[2],
        seek[2] / fresh[2]
    );
}
