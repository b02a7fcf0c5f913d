//! Reading traces: lines per second, plain and gzip (`cargo bench --bench trace`). The issue
//! asks for at least 2 million lines a second.

use std::io::Write;
use std::time::Instant;

use lbsim::trace::Trace;

fn main() {
    let lines = 2_000_000;
    let mut text = String::from("time,demand,client\n");
    for k in 0..lines {
        text += &format!("{:.6},{:.3}ms,{}\n", k as f64 * 0.000_5, (k % 97) as f64 * 0.25 + 1.0, k % 50);
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    for (name, bytes) in [("plain", text.as_bytes()), ("gzip", &gz[..])] {
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let started = Instant::now();
            let t = Trace::parse(bytes, name).unwrap();
            assert_eq!(t.len(), lines);
            best = best.min(started.elapsed().as_secs_f64());
        }
        println!("{name:>5}: {} lines in {:.3} s: {:.2} M lines/s", lines, best, lines as f64 / best / 1e6);
    }
}
