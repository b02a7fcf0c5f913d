//! Time to draw one frame of the terminal UI (into a buffer, without terminal I/O), for 16
//! and 256 workers, in the run and compare views; against drawing a screenful of plain text
//! in the same run.
//!
//!     cargo bench --bench render

use std::hint::black_box;
use std::time::Instant;

use lbsim::scenario::builtin;
use lbsim::time::SECS;
use lbsim::tui::{App, Mode};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Paragraph, Widget};

const AREA: Rect = Rect { x: 0, y: 0, width: 160, height: 48 };

fn time_per_frame(frames: u32, mut draw: impl FnMut(&mut Buffer)) -> f64 {
    let mut buf = Buffer::empty(AREA);
    draw(&mut buf); // warm up
    let start = Instant::now();
    for _ in 0..frames {
        buf.reset();
        draw(&mut buf);
        black_box(&buf);
    }
    start.elapsed().as_secs_f64() / frames as f64
}

fn app(workers: usize, strategies: &[&str], mode: Mode) -> App {
    let mut s = builtin::find("default").unwrap().scenario().unwrap();
    s.workers = s.workers.iter().cycle().take(workers).cloned().collect();
    let names: Vec<String> = strategies.iter().map(|s| s.to_string()).collect();
    let mut app = App::new(s, &names, mode).unwrap();
    app.advance_to(20 * SECS, None);
    app
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let frames = if full { 300 } else { 5 };
    let text: String = (0..AREA.height).map(|i| format!("line {i} {}\n", "x".repeat(150))).collect();
    let baseline = time_per_frame(frames, |buf| Paragraph::new(text.as_str()).render(AREA, buf));
    println!("render benchmark, {}x{} frame ({} frames each)", AREA.width, AREA.height, frames);
    println!("  a screenful of plain text (baseline)     {:>8.3} ms", baseline * 1e3);
    for (label, workers, strategies, mode) in [
        ("run view, 16 workers", 16, &["least-loaded"][..], Mode::Run),
        ("run view, 256 workers", 256, &["least-loaded"][..], Mode::Run),
        ("compare view x3, 16 workers", 16, &["round-robin", "random", "least-loaded"][..], Mode::Compare),
        ("compare view x3, 256 workers", 256, &["round-robin", "random", "least-loaded"][..], Mode::Compare),
    ] {
        let a = app(workers, strategies, mode);
        let t = time_per_frame(frames, |buf| (&a).render(AREA, buf));
        println!(
            "  {label:<40} {:>8.3} ms  ({:.1}x baseline; {:.0}% of a 30 fps frame)",
            t * 1e3,
            t / baseline,
            t * 3000.0
        );
    }
}
