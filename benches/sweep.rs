//! Parallel efficiency of `lbsim sweep`: the same 20-cell sweep (4 strategies x 5 loads, 2
//! replications each: 40 runs) on 1 thread and on 2, measured in the same run, and the
//! per-run speed in requests per second against one run alone.
//!
//!     cargo bench --bench sweep
//!
//! Efficiency = time on 1 thread / (2 x time on 2 threads); the target is at least
//! 0.9 (2 jobs take at most 0.55 of the time of 1). Machines here are noisy, and two virtual
//! cores need not be two cores' worth: the same measure of a plain arithmetic loop, in the
//! same run, says what the machine itself gives.

use std::time::Instant;

use clap::Parser;
use lbsim::cli::{Cli, Command};

fn sweep_jobs(requests: &str) -> (lbsim::sweep::Grid, Vec<lbsim::sweep::Job>) {
    let args = [
        "lbsim",
        "sweep",
        "--strategies",
        "random,round-robin,power-of-two,least-loaded",
        "--loads",
        "0.5,0.6,0.7,0.8,0.9",
        "--replications",
        "2",
        "--requests",
        requests,
        "--warmup",
        "1s",
        "--headless",
    ];
    let Command::Sweep { sweep, sim } = Cli::parse_from(args).command else { unreachable!("a sweep") };
    lbsim::cli::sweep::build(&sweep, &sim).map_err(|e| e.message).expect("the sweep builds")
}

fn time(jobs: &[lbsim::sweep::Job], threads: usize) -> f64 {
    let start = Instant::now();
    let samples = lbsim::sweep::execute(jobs, threads, false, &mut |_| false).expect("runs");
    assert!(samples.iter().all(Option::is_some));
    start.elapsed().as_secs_f64()
}

/// The same work (a fixed arithmetic loop) split over `threads`: what the machine gives.
fn spin(threads: usize, total: u64) -> f64 {
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(move || {
                let mut x = 1u64;
                for i in 0..total / threads as u64 {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
                }
                std::hint::black_box(x);
            });
        }
    });
    start.elapsed().as_secs_f64()
}

fn main() {
    // `cargo test --benches` runs this without --bench: a quick smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let requests = if full { "200000" } else { "2000" };
    let (grid, jobs) = sweep_jobs(requests);
    println!(
        "lbsim sweep benchmark: {} cells, {} runs of {requests} requests each",
        grid.cells.len(),
        jobs.len()
    );
    time(&jobs[..2], 1); // warm the caches
    let one = time(&jobs, 1);
    let two = time(&jobs, 2);
    let runs = jobs.len() as f64 * requests.parse::<f64>().unwrap();
    println!("  1 thread:  {one:.2} s ({:.2} M requests/s)", runs / one / 1e6);
    println!("  2 threads: {two:.2} s ({:.2} M requests/s)", runs / two / 1e6);
    let efficiency = one / (2.0 * two);
    println!(
        "  2 threads take {:.2} of the time of 1: parallel efficiency {efficiency:.2} (target: at least 0.9) {}",
        two / one,
        if efficiency >= 0.9 { "met" } else { "MISSED" }
    );
    let work = if full { 2_000_000_000 } else { 20_000_000 };
    let (m1, m2) = (spin(1, work), spin(2, work));
    let machine = m1 / (2.0 * m2);
    println!(
        "  the machine, same run: a plain loop on 2 threads has efficiency {machine:.2}; the sweep reaches {:.2} of it",
        efficiency / machine
    );
}
