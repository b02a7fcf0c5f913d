//! Requests per second through the live engine's balancer task (16 workers, zero service
//! time), against a minimal tokio channel ping-pong measured in the same run, on 2 runtime
//! threads and on all cores (machines here are noisy: compare ratios, not absolute figures).
//!
//!     cargo bench --bench live
//!
//! Each figure: `CLIENTS` client tasks, each sending a request with its own reply channel and
//! waiting for the answer, again and again, for a fixed wall time after a short warm-up. Each
//! line also gives the CPU time the process spent per request (every thread) and how many
//! cores the run had: on a shared machine, CPU time per request is the steadier figure.
//!
//! - ping-pong (baseline): the clients send to one echo task over a bounded channel; it
//!   answers each request at once. The least a request/reply round trip can cost.
//! - live, sleep: the live balancer (least-loaded) and its 16 worker tasks, `Work::Sleep` (the
//!   default). Nobody reads the meter: each report is a send that fails at once.
//! - live, spin: the same with `Work::Spin`, which never touches the timer. Close to the line
//!   above, as long as a worker skips the timer for a deadline already passed (it went through
//!   `sleep_until` before, and waited for the timer's next 1 ms tick: 0.2-0.4x this figure
//!   with 1024 clients, and a round trip of about 1.2 ms, so 13,000 requests/s, with 16).
//! - live, sleep, meter read in a blocking loop: a thread waits for the meter's records, as
//!   `Live::wait` does (headless runs): woken per full block or per tick, never per record.
//! - live, sleep, meter read every 10 ms: a thread takes what has come every 10 ms, as the UI
//!   does each frame: nobody is woken.
//!
//! Then the headless command end to end: `lbsim run --engine live --headless --threads 2` on a
//! closed loop of Pike's shape (1024 clients, think and service `const:1ns`, 16 workers,
//! least-loaded, 2,000,000 requests), through the library function the command calls
//! ([`lbsim::cli::run::run_live`]), whole runs timed from start to report. When `go` is on the
//! path, Pike's Go balancer (`../shared/bench/pike-go`, same shape, 2 procs) runs in the same
//! bench, alternating with lbsim for 3 rounds, and the ratio of the medians is printed;
//! otherwise lbsim's figure alone, and a line saying Go is missing.
//!
//! Before them, two lines show what a zero `sleep_until` costs on the runtime: a deadline of
//! now waits for the timer's next 1 ms tick; one 2 ms in the past is ready at once.
//!
//! `LBSIM_LIVE_CLIENTS=64,256` measures other numbers of clients; `LBSIM_LIVE_ONLY=spin` (a
//! word of a label) measures one server alone, for longer, to profile it;
//! `LBSIM_LIVE_ONLY=headless` runs only the headless command against Go (5 rounds), and
//! `LBSIM_PIKE_GO=FILE` uses a Go binary built already. Without `--bench`
//! (as under `cargo test --benches`) it runs a quick smoke version.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use lbsim::dist::Dist;
use lbsim::engine::{Arrivals, SimConfig, Stop, WorkerSpec};
use lbsim::live::balancer::{Balancer, Hiring};
use lbsim::live::meter::{Clock, Meter, Record, Records};
use lbsim::live::request::{Reply, ReplySlot, Request};
use lbsim::live::{LiveOptions, Work};
use lbsim::strategy::{self, StrategyParams};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Concurrent clients: the most throughput through the live balancer on the 2-core machine
/// (256 gives about as much; 64 and 4096 less).
const CLIENTS: usize = 1024;
/// Workers behind the balancer.
const WORKERS: usize = 16;
/// The balancer's inbox, as in a live run.
const INBOX: usize = 1024;
/// Requests per second the live balancer should pass on the 2-core machine.
const TARGET: f64 = 500_000.0;

/// One client's count of answers, alone on its cache line: the clients do not contend over a
/// shared counter, and the measuring thread sums them.
#[repr(align(128))]
#[derive(Default)]
struct Count(AtomicU64);

/// What answers the clients.
#[derive(Clone, Copy, PartialEq)]
enum Server {
    /// One echo task: the baseline.
    PingPong,
    /// The live balancer and its workers.
    Live {
        /// What serving is.
        work: Work,
        /// Who reads the meter's records.
        meter: Reader,
    },
}

/// Who reads the meter's records.
#[derive(Clone, Copy, PartialEq)]
enum Reader {
    /// Nobody: the watcher's end is dropped, and each report returns at once.
    Nobody,
    /// A thread that waits for a block or a tick (as `Live::wait`, in headless runs).
    Blocking,
    /// A thread that takes what has come every 10 ms (as the UI, each frame).
    Every10ms,
}

impl Server {
    fn label(self) -> &'static str {
        match self {
            Server::PingPong => "ping-pong, one echo task (baseline)",
            Server::Live { work: Work::Sleep, meter: Reader::Nobody } => "live balancer, work = sleep",
            Server::Live { work: Work::Sleep, meter: Reader::Blocking } => {
                "live, sleep, meter read in a blocking loop"
            }
            Server::Live { work: Work::Sleep, meter: Reader::Every10ms } => {
                "live, sleep, meter read every 10 ms"
            }
            Server::Live { work: Work::Spin, .. } => "live balancer, work = spin (no timer)",
            Server::Live { .. } => "live balancer, other",
        }
    }
}

/// Reads the meter's records as `how` says until `over` (then takes the last ones); returns
/// how many there were.
fn read_meter(records: Records, how: Reader, over: &AtomicBool) -> usize {
    let mut block: Vec<Record> = Vec::new();
    let mut n = 0;
    loop {
        let last = over.load(Ordering::Acquire);
        match how {
            Reader::Nobody => return 0,
            Reader::Blocking => records.wait(Duration::from_secs(1), &mut block),
            Reader::Every10ms => {
                std::thread::sleep(Duration::from_millis(10));
                records.take(&mut block);
            }
        }
        n += block.len();
        block.clear();
        if last {
            return n;
        }
    }
}

/// 16 identical workers, zero service time, least-loaded, every default.
fn config(clients: usize) -> SimConfig {
    SimConfig {
        seed: 1,
        arrivals: Arrivals::Closed { clients: clients as u32, think: Dist::Const(0) },
        service: Dist::Const(0),
        workers: vec![WorkerSpec::default(); WORKERS],
        stop: Stop::Duration(u64::MAX),
        warmup: 0,
        strategy_params: StrategyParams::default(),
        faults: Default::default(),
        defences: Default::default(),
        keys: None,
        timeline: None,
    }
}

/// A client: sends, waits for the answer, again, until told to stop (or the server is gone).
/// `stop` is a plain flag: `CancellationToken::is_cancelled` takes a mutex, shared by every
/// client, and showed in the profile.
async fn client(work: mpsc::Sender<Request>, count: Arc<Count>, stop: Arc<AtomicBool>, first_id: u64) {
    let mut answered = 0;
    let slot = ReplySlot::new();
    while !stop.load(Ordering::Acquire) {
        let (reply, answer) = slot.arm();
        let id = first_id + answered;
        let request = Request { id, demand: 0, measured: true, dispatched: None, reply };
        if work.send(request).await.is_err() {
            return;
        }
        match answer.await {
            Ok(Reply::Done { .. }) => {
                answered += 1;
                count.0.store(answered, Ordering::Relaxed);
            }
            Ok(other) => panic!("request {id}: unexpected answer {other:?}"),
            Err(_) => return, // shutting down
        }
    }
}

/// The baseline's server: answers every request at once.
async fn echo(mut work: mpsc::Receiver<Request>) {
    while let Some(request) = work.recv().await {
        let answer = Reply::Done { worker: 0, wait: Duration::ZERO, service: Duration::ZERO };
        let _ = request.reply.send(answer);
    }
}

fn runtime(threads: usize) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("lbsim-bench")
        .enable_all()
        .build()
        .expect("a runtime")
}

/// What a worker's zero service time costs: `sleep_until` a deadline `ago` in the past, `n`
/// times in a row in one task. Returns the share of sleeps ready at their first poll, and the
/// mean time each took. (tokio rounds a deadline up to its 1 ms timer tick, and fires it at
/// once only if the timer has already processed that tick.)
fn zero_sleep(threads: usize, ago: Duration, n: u32) -> (f64, Duration) {
    let runtime = runtime(threads);
    let task = runtime.spawn(async move {
        let (mut ready, mut total) = (0, Duration::ZERO);
        for _ in 0..n {
            let now = Instant::now();
            let mut sleep = pin!(tokio::time::sleep_until(now.checked_sub(ago).unwrap_or(now).into()));
            let at_once = poll_fn(|cx| Poll::Ready(sleep.as_mut().poll(cx).is_ready())).await;
            if at_once {
                ready += 1;
            } else {
                sleep.await;
            }
            total += now.elapsed();
        }
        (f64::from(ready) / f64::from(n), total / n)
    });
    let result = runtime.block_on(task).expect("the zero-sleep task");
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

/// What one server did over the measured window.
struct Figures {
    /// Requests answered per second of wall time.
    rate: f64,
    /// CPU time the process used per request (every thread, the meter's reader included).
    cpu_per_request: Duration,
    /// CPU time per wall time: how many cores the run had (the machine is shared).
    cores_used: f64,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:>9.0} requests/s", self.rate)?;
        if !self.cpu_per_request.is_zero() {
            let cpu = self.cpu_per_request.as_secs_f64() * 1e6;
            write!(f, ", {cpu:.2} µs CPU each, on {:.2} cores", self.cores_used)?;
        }
        Ok(())
    }
}

/// CPU time this process has used so far (user and system, every thread).
#[cfg(unix)]
fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage only writes the struct it is given, and all zeros is a valid rusage.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let time =
        |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// CPU time is not measured here.
#[cfg(not(unix))]
fn cpu_time() -> Duration {
    Duration::ZERO
}

/// What `server` does over `window` after `warmup`.
fn rate(server: Server, threads: usize, clients: usize, warmup: Duration, window: Duration) -> Figures {
    let runtime = runtime(threads);
    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let (work_tx, work_rx) = mpsc::channel(INBOX);
    let mut meter_reader = None;
    let meter_over = Arc::new(AtomicBool::new(false));
    let entered = runtime.enter();
    let server_task = match server {
        Server::PingPong => tracker.spawn(echo(work_rx)),
        Server::Live { work, meter: how } => {
            let config = config(clients);
            let strategy = strategy::build("least-loaded", &config.strategy_params).expect("least-loaded");
            let (meter, records) = Meter::new(Clock { start: Instant::now(), scale: 1.0 });
            if how == Reader::Nobody {
                drop(records);
            } else {
                let over = Arc::clone(&meter_over);
                meter_reader = Some(std::thread::spawn(move || read_meter(records, how, &over)));
            }
            let (done_tx, done_rx) = mpsc::unbounded_channel();
            let (control_tx, control_rx) = mpsc::unbounded_channel();
            let (view_tx, _view_rx) = watch::channel(Default::default());
            let hiring = Hiring {
                specs: config.workers.clone(),
                options: LiveOptions { work, threads: Some(threads), ..LiveOptions::default() },
                done: done_tx,
                tracker: tracker.clone(),
                shutdown: shutdown.clone(),
                seed: config.seed,
                meter,
            };
            let balancer = Balancer::new(&config, strategy, hiring, view_tx, control_tx);
            tracker.spawn(balancer.balance(work_rx, done_rx, control_rx))
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let running = Arc::new(AtomicUsize::new(clients));
    let counts: Vec<Arc<Count>> = (0..clients).map(|_| Arc::new(Count::default())).collect();
    for (i, count) in counts.iter().enumerate() {
        let first_id = (i as u64) << 40;
        let (work, count, stop, running) =
            (work_tx.clone(), Arc::clone(count), Arc::clone(&stop), Arc::clone(&running));
        tracker.spawn(async move {
            client(work, count, stop, first_id).await;
            running.fetch_sub(1, Ordering::Release);
        });
    }
    drop((work_tx, entered));
    let total = || counts.iter().map(|c| c.0.load(Ordering::Relaxed)).sum::<u64>();
    std::thread::sleep(warmup);
    let (t0, n0, cpu0) = (Instant::now(), total(), cpu_time());
    std::thread::sleep(window);
    let (t1, n1, cpu1) = (Instant::now(), total(), cpu_time());
    // Clean shutdown, as a live run ends: the clients stop sending and get their last answers,
    // then the balancer and the workers are told to stop; every task must end. (Cancelling
    // with clients still sending can strand one: a request pushed into the balancer's channel
    // just after the balancer dropped its end stays there, reply channel and all, for as long
    // as any client holds a sender; a live run's requesters also watch the shutdown signal.)
    stop.store(true, Ordering::Release);
    let patience = Instant::now() + Duration::from_secs(2);
    while running.load(Ordering::Acquire) > 0 && Instant::now() < patience {
        std::thread::sleep(Duration::from_millis(1));
    }
    let left = running.load(Ordering::Acquire);
    assert_eq!(left, 0, "{}: {left} clients still waiting for an answer 2 s after stopping", server.label());
    shutdown.cancel();
    tracker.close();
    let ended =
        runtime.block_on(async { tokio::time::timeout(Duration::from_secs(2), tracker.wait()).await });
    assert!(
        ended.is_ok(),
        "{}: {} tasks still running 2 s after shutdown; the server task {}",
        server.label(),
        runtime.metrics().num_alive_tasks(),
        if server_task.is_finished() { "ended" } else { "did not" },
    );
    runtime.shutdown_timeout(Duration::from_secs(1));
    meter_over.store(true, Ordering::Release);
    if let Some(reader) = meter_reader {
        let records = reader.join().expect("the meter reader");
        std::hint::black_box(records);
    }
    assert!(n1 > n0, "{}: no request answered", server.label());
    let (n, wall, cpu) = (n1 - n0, t1 - t0, cpu1.saturating_sub(cpu0));
    Figures {
        rate: n as f64 / wall.as_secs_f64(),
        cpu_per_request: cpu / u32::try_from(n).unwrap_or(u32::MAX),
        cores_used: cpu.as_secs_f64() / wall.as_secs_f64(),
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (warmup, window) = if full {
        (Duration::from_millis(500), Duration::from_secs(2))
    } else {
        (Duration::from_millis(20), Duration::from_millis(50))
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut thread_counts = vec![2, cores];
    thread_counts.sort_unstable();
    thread_counts.dedup();
    let clients: Vec<usize> = match std::env::var("LBSIM_LIVE_CLIENTS") {
        Ok(list) => list.split(',').map(|c| c.trim().parse().expect("LBSIM_LIVE_CLIENTS: numbers")).collect(),
        Err(_) => vec![CLIENTS],
    };
    println!(
        "lbsim live balancer benchmark, {WORKERS} workers, zero service time, least-loaded ({}; {cores} cores)",
        if full { "full" } else { "smoke run; use cargo bench" }
    );
    let servers = [
        Server::Live { work: Work::Sleep, meter: Reader::Nobody },
        Server::Live { work: Work::Spin, meter: Reader::Nobody },
        Server::Live { work: Work::Sleep, meter: Reader::Blocking },
        Server::Live { work: Work::Sleep, meter: Reader::Every10ms },
    ];
    // The headless command against Go alone: `LBSIM_LIVE_ONLY=headless`.
    if std::env::var("LBSIM_LIVE_ONLY").is_ok_and(|w| w == "headless") {
        return headless_against_go(full);
    }
    // For profiling one server alone: `LBSIM_LIVE_ONLY=spin` (a word of its label).
    if let Ok(word) = std::env::var("LBSIM_LIVE_ONLY") {
        let server = *[Server::PingPong]
            .iter()
            .chain(&servers)
            .find(|s| s.label().contains(&word))
            .expect("LBSIM_LIVE_ONLY: a word of a label");
        for &threads in &thread_counts {
            for &c in &clients {
                let r = rate(server, threads, c, warmup, window * 4);
                println!("  {threads} threads, {c} clients: {:<44} {r}", server.label());
            }
        }
        return;
    }
    let mut verdicts = Vec::new();
    for &threads in &thread_counts {
        for &c in &clients {
            println!("  {threads} runtime threads, {c} clients");
            if c == clients[0] {
                for (ago, label) in [(Duration::ZERO, "now"), (Duration::from_millis(2), "now - 2 ms")] {
                    let (ready, mean) = zero_sleep(threads, ago, if full { 400 } else { 20 });
                    println!(
                        "    {:<44} {:>3.0}% ready at first poll, {:.1} µs on average",
                        format!("zero service: sleep_until({label})"),
                        ready * 100.0,
                        mean.as_secs_f64() * 1e6
                    );
                }
            }
            let baseline = rate(Server::PingPong, threads, c, warmup, window);
            println!("    {:<44} {baseline}", Server::PingPong.label());
            for server in servers {
                let r = rate(server, threads, c, warmup, window);
                println!("    {:<44} {r} ({:.3}x baseline)", server.label(), r.rate / baseline.rate);
                if server == servers[0] {
                    verdicts.push((threads, c, r.rate));
                }
            }
        }
    }
    headless_against_go(full);
    if full {
        for (threads, c, r) in verdicts {
            let verdict = if r >= TARGET { "meets" } else { "MISSES" };
            println!(
                "  {verdict} target {TARGET:.0} requests/s: live balancer (sleep), {threads} threads, {c} clients: {r:.0}"
            );
        }
    }
}

/// Requests of a headless run of Pike's shape (a smoke run sends fewer).
const HEADLESS_REQUESTS: u64 = 2_000_000;

/// Pike's shape as a scenario: 1024 closed-loop clients, think and service `const:1ns`, 16
/// workers, least-loaded, on 2 runtime threads.
fn pike_scenario(requests: u64) -> lbsim::scenario::Scenario {
    let text = format!(
        r#"
        name = "pike"
        service = "const:1ns"
        [arrivals]
        kind = "closed"
        clients = {CLIENTS}
        think = "const:1ns"
        [[workers]]
        count = {WORKERS}
        [run]
        requests = {requests}
        warmup = "0s"
        seed = 1
        [strategy]
        name = "least-loaded"
        [live]
        threads = 2
        "#
    );
    lbsim::scenario::Scenario::parse(&text, "pike").expect("the bench's scenario")
}

/// Requests per second of one whole headless live run (`lbsim run --engine live --headless`),
/// through the function the command calls.
fn headless(requests: u64) -> f64 {
    let scenario = pike_scenario(requests);
    let start = Instant::now();
    let reports = lbsim::cli::run::run_live(&scenario, &["least-loaded".to_string()]).expect("a live run");
    let wall = start.elapsed();
    let c = &reports[0].requests;
    assert_eq!(c.completed, requests, "headless run: every request completes ({c:?})");
    requests as f64 / wall.as_secs_f64()
}

/// Pike's Go balancer, built once into the target directory; `Err` says why it cannot run.
fn build_pike_go() -> Result<std::path::PathBuf, String> {
    use std::process::Command;
    // A binary built already: `LBSIM_PIKE_GO=/path/to/pike-go`.
    if let Some(binary) = std::env::var_os("LBSIM_PIKE_GO") {
        return Ok(binary.into());
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = root.join("../shared/bench/pike-go/main.go");
    if !source.exists() {
        return Err(format!("{} is missing", source.display()));
    }
    if Command::new("go").arg("version").output().is_err() {
        return Err("Go is missing (apt-get install golang-go)".to_string());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), Into::into);
    let dir = target.join("pike-go");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::copy(&source, dir.join("main.go")).map_err(|e| format!("copying main.go: {e}"))?;
    let go = |args: &[&str]| Command::new("go").args(args).current_dir(&dir).output();
    if !dir.join("go.mod").exists() {
        go(&["mod", "init", "pikego"]).map_err(|e| format!("go mod init: {e}"))?;
    }
    let built = go(&["build", "-o", "pike-go", "."]).map_err(|e| format!("go build: {e}"))?;
    if !built.status.success() {
        return Err(format!("go build failed: {}", String::from_utf8_lossy(&built.stderr).trim()));
    }
    Ok(dir.join("pike-go"))
}

/// Requests per second of one run of Pike's Go balancer (its `req_per_s=` figure).
fn pike_go(binary: &std::path::Path, requests: u64) -> f64 {
    let out = std::process::Command::new(binary)
        .args(["-workers", &WORKERS.to_string(), "-requesters", &CLIENTS.to_string()])
        .args(["-requests", &requests.to_string(), "-procs", "2"])
        .output()
        .expect("running pike-go");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("req_per_s="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("pike-go printed no req_per_s: {text}"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The headless command end to end against Pike's Go balancer, alternating, 3 rounds (one
/// short round, without Go, in a smoke run).
fn headless_against_go(full: bool) {
    let only = std::env::var("LBSIM_LIVE_ONLY").is_ok_and(|w| w == "headless");
    let (requests, rounds) = if full { (HEADLESS_REQUESTS, if only { 5 } else { 3 }) } else { (20_000, 1) };
    println!(
        "  headless `lbsim run --engine live --headless --threads 2`, Pike's shape ({CLIENTS} clients, \
         {WORKERS} workers, zero service), {requests} requests, {rounds} round(s)"
    );
    let go = if full { build_pike_go() } else { Err("not run in a smoke run".to_string()) };
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        let r = headless(requests);
        println!("    round {round}: lbsim headless {:>10.0} requests/s", r);
        ours.push(r);
        if let Ok(binary) = &go {
            let g = pike_go(binary, requests);
            println!("    round {round}: Pike's Go     {:>10.0} requests/s", g);
            theirs.push(g);
        }
    }
    let ours = median(ours);
    match go {
        Ok(_) => {
            let theirs = median(theirs);
            let verdict = if ours >= theirs { "meets" } else { "MISSES" };
            println!(
                "  {verdict} Pike's Go balancer: lbsim headless {ours:.0} requests/s, Go {theirs:.0} (medians): \
                 {:.2}x",
                ours / theirs
            );
        }
        Err(why) => println!("  lbsim headless {ours:.0} requests/s (median); Pike's Go not run: {why}"),
    }
}
