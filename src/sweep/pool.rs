//! The one thread pool of the headless runs: `compare` (each strategy a job), `compare
//! --replications` and `sweep` (each run of the grid a job).
//!
//! Jobs are taken in index order by `threads` scoped threads; results are gathered by index,
//! so they do not depend on the number of threads or on which finishes first.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

/// What a job sees while it runs: the pool's stop flag (raised when the monitor asks to stop
/// or a job failed), and where it reports its progress, in millionths.
pub struct Slot<'a> {
    /// Raised when the pool stops: the job should return soon (`Ok(None)`).
    pub stop: &'a AtomicBool,
    /// The job's fraction done, in millionths (0 to 1,000,000).
    pub progress: &'a AtomicU64,
}

impl Slot<'_> {
    /// Records the fraction done (0 to 1).
    pub fn set_progress(&self, fraction: f64) {
        self.progress.store((fraction.clamp(0.0, 1.0) * 1e6) as u64, Ordering::Relaxed);
    }

    /// Whether the pool asks the job to stop.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// What the monitor of [`run`] sees while the jobs run.
pub struct Status<'a, T> {
    /// Fraction done, 0 to 1.
    pub fraction: f64,
    results: &'a [Mutex<Option<T>>],
}

impl<T: Clone> Status<'_, T> {
    /// The results of the jobs finished so far (by job index).
    pub fn results(&self) -> Vec<Option<T>> {
        self.results.iter().map(|r| r.lock().expect("result lock").clone()).collect()
    }
}

/// Runs `work` on each of `jobs` on `threads` threads. `monitor` is called about every
/// 10 ms on the calling thread with the progress, and at once when a thread finishes; when
/// it returns true, the stop flag is raised: jobs running are asked to stop and those not
/// started never start. The first error stops the pool and is returned. Returns each job's
/// result by index (`None`: not run, or stopped).
pub fn run<J, T, W>(
    jobs: &[J],
    threads: usize,
    work: W,
    monitor: &mut dyn FnMut(&Status<T>) -> bool,
) -> Result<Vec<Option<T>>, String>
where
    J: Sync,
    T: Send,
    W: Fn(&J, &Slot) -> Result<Option<T>, String> + Sync,
{
    let progress: Vec<AtomicU64> = jobs.iter().map(|_| AtomicU64::new(0)).collect();
    let results: Vec<Mutex<Option<T>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let error: Mutex<Option<String>> = Mutex::new(None);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let threads = threads.clamp(1, jobs.len().max(1));
    // Each thread says when it is done (or drops its sender dying), so that the monitor's
    // wait between looks ends then: a run is over when its last job is, not up to 10 ms on.
    let (done_tx, done_rx) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let done = done_tx.clone();
                scope.spawn(|| {
                    while !stop.load(Ordering::Relaxed) {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(index) else { break };
                        let slot = Slot { stop: &stop, progress: &progress[index] };
                        match work(job, &slot) {
                            Ok(result) => {
                                progress[index].store(1_000_000, Ordering::Relaxed);
                                *results[index].lock().expect("result lock") = result;
                            }
                            Err(e) => {
                                error.lock().expect("error lock").get_or_insert(e);
                                stop.store(true, Ordering::Relaxed);
                            }
                        }
                    }
                    // Said, and the sender dropped (taken by the thread for that): once the
                    // last one is gone, the monitor's wait returns at once.
                    let _ = done.send(());
                    drop(done);
                })
            })
            .collect();
        drop(done_tx);
        // Until every thread is done (or has died: the scope then passes its panic on).
        loop {
            let running = workers.iter().any(|w| !w.is_finished());
            let total: u64 = progress.iter().map(|p| p.load(Ordering::Relaxed)).sum();
            let fraction = total as f64 / (1e6 * jobs.len().max(1) as f64);
            if monitor(&Status { fraction, results: &results }) {
                stop.store(true, Ordering::Relaxed);
            }
            if !running {
                break;
            }
            let _ = done_rx.recv_timeout(Duration::from_millis(10));
        }
    });
    if let Some(e) = error.into_inner().expect("error lock") {
        return Err(e);
    }
    Ok(results.into_iter().map(|r| r.into_inner().expect("result lock")).collect())
}

/// The machine's cores: the default for `--jobs`, and the threads of `compare`.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
