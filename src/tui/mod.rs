//! The live terminal UI: ratatui widgets drawn from the run controller's panes, a tokio loop
//! that ticks the controller in bounded slices and reads keys.
//!
//! The runs, their clock and commands belong to the run controller
//! ([`crate::playground::Playground`]); [`app`] keeps only the view's state, [`keymap`] is the
//! one table of keys, and drawing ([`view`], [`chart`], [`widgets`], [`replicas`]) only reads.
//! [`sweep`] is the live chart of `lbsim sweep`.
//!
//! Layering: the top of the house but for the command line, which alone imports it; it
//! imports the controller, the engines' vocabulary, metrics and reports, never the command
//! line.

pub mod app;
pub mod chart;
pub mod compare;
pub mod fit;
pub mod help;
pub mod keymap;
pub mod panes;
pub mod replicas;
pub mod sweep;
pub mod view;
pub mod widgets;

use std::io;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream, KeyCode, KeyModifiers};
use futures_util::StreamExt;
use ratatui::DefaultTerminal;

pub use crate::playground::Mode;
pub use app::{App, Focus};

use crate::playground::Playground;
use crate::report::Report;
use crate::session::Recorded;

/// Frames per second while running.
const FPS: f64 = 30.0;
/// Real time per frame the engines may use, leaving the rest for drawing and keys.
const ENGINE_BUDGET: Duration = Duration::from_millis(18);

/// Restores the terminal when dropped, on every way out (errors included; panics are covered
/// by the hook `ratatui::try_init` installs, aborts and a second signal by [`emergency`]).
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        emergency::disarm();
        let _ = crossterm::execute!(io::stdout(), crossterm::event::DisableMouseCapture);
        ratatui::restore();
    }
}

/// Gives the terminal back at once if the UI holds it: the settings it had before, the main
/// screen, mouse reporting off, the cursor shown. For ways out that skip the UI's own
/// restoring: the command line calls it before `exit` on a second Ctrl-C, SIGTERM or SIGHUP.
pub fn restore_terminal_now() {
    emergency::restore();
}

/// Restoring the terminal where nothing else can: an abort (an allocation that failed, a
/// stack overflow) or an `exit` from another thread. Only async-signal-safe calls (`write`,
/// `tcsetattr`) on what was saved before the UI took the terminal.
mod emergency {
    use std::cell::UnsafeCell;
    use std::mem::MaybeUninit;
    use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

    /// The bytes that leave the UI's modes: mouse reporting off (every mode crossterm turns
    /// on), the cursor shown, the main screen back.
    const LEAVE: &[u8] = b"\x1b[?1006l\x1b[?1015l\x1b[?1003l\x1b[?1002l\x1b[?1000l\x1b[?25h\x1b[?1049l";

    struct Saved(UnsafeCell<MaybeUninit<libc::termios>>);
    // SAFETY: written once by `arm` before ARMED is set, then only read.
    unsafe impl Sync for Saved {}
    static SAVED: Saved = Saved(UnsafeCell::new(MaybeUninit::uninit()));
    static WRITTEN: AtomicBool = AtomicBool::new(false);
    static ARMED: AtomicBool = AtomicBool::new(false);
    static TTY: AtomicI32 = AtomicI32::new(-1);

    /// Saves the terminal's settings (before raw mode) and catches SIGABRT to restore them.
    pub(super) fn arm() {
        // The terminal crossterm puts in raw mode: standard input if it is one, else /dev/tty.
        // SAFETY: plain calls on file descriptors; `SAVED` is written before anyone reads it.
        unsafe {
            let fd = if libc::isatty(0) == 1 { 0 } else { libc::open(c"/dev/tty".as_ptr(), libc::O_RDWR) };
            if fd < 0 {
                return;
            }
            if !WRITTEN.load(Ordering::Acquire) {
                if libc::tcgetattr(fd, (*SAVED.0.get()).as_mut_ptr()) != 0 {
                    return;
                }
                WRITTEN.store(true, Ordering::Release);
            }
            TTY.store(fd, Ordering::Release);
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_abort as *const () as libc::sighandler_t;
            action.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGABRT, &action, std::ptr::null_mut());
        }
        ARMED.store(true, Ordering::Release);
    }

    /// The UI gave the terminal back the ordinary way.
    pub(super) fn disarm() {
        ARMED.store(false, Ordering::Release);
    }

    /// Restores the terminal if the UI holds it (once).
    pub(super) fn restore() {
        if !ARMED.swap(false, Ordering::AcqRel) {
            return;
        }
        // SAFETY: async-signal-safe calls only, on what `arm` saved.
        unsafe {
            let _ = libc::write(1, LEAVE.as_ptr().cast(), LEAVE.len());
            let fd = TTY.load(Ordering::Acquire);
            if fd >= 0 && WRITTEN.load(Ordering::Acquire) {
                libc::tcsetattr(fd, libc::TCSANOW, (*SAVED.0.get()).as_ptr());
            }
        }
    }

    extern "C" fn on_abort(signal: libc::c_int) {
        restore();
        // SA_RESETHAND put the default action back: abort as before.
        // SAFETY: raise is async-signal-safe.
        unsafe {
            libc::raise(signal);
        }
    }
}

/// Runs the UI over `play` until the user quits; returns the reports of what was run, and
/// the session's commands with where each run ended (for `--record`; the ends are `None`
/// unless every run is seekable).
pub fn run(play: Playground, mode: Mode) -> Result<(Vec<Report>, Recorded), String> {
    run_app(App::over(play, mode))
}

fn run_app(app: App) -> Result<(Vec<Report>, Recorded), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the UI loop: {e}"))?;
    emergency::arm();
    let terminal = ratatui::try_init().map_err(|e| {
        emergency::disarm();
        format!("cannot open the terminal UI: {e}")
    })?;
    let restore = Restore;
    // Mouse drags across the chart over time mark a window (shift-drag still selects text in
    // most terminals).
    crossterm::execute!(io::stdout(), crossterm::event::EnableMouseCapture)
        .map_err(|e| format!("cannot open the terminal UI: {e}"))?;
    let started = Instant::now();
    let mut app = runtime.block_on(event_loop(terminal, app)).map_err(|e| format!("terminal error: {e}"))?;
    drop(restore);
    // Outside the UI's runtime: a live run now stops its requesters, lets requests in flight
    // finish for its grace period, cancels the rest and waits for every task to end.
    app.play.stop();
    let wall = started.elapsed().as_secs_f64();
    let recorded = app.play.recorded();
    Ok((app.reports().into_iter().map(|r| Report { wall_time_s: wall, ..r }).collect(), recorded))
}

async fn event_loop(mut terminal: DefaultTerminal, mut app: App) -> io::Result<App> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut events = EventStream::new();
    let mut frames = tokio::time::interval(Duration::from_secs_f64(1.0 / FPS));
    frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // Every signal that ends the program ends the UI the same way: the terminal is restored
    // and the report printed.
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut quit = signal(SignalKind::quit())?;
    // Suspend (Ctrl-Z sent by `kill -TSTP`) and resume (after any stop).
    let mut suspend_signal = signal(SignalKind::from_raw(libc::SIGTSTP))?;
    let mut resume_signal = signal(SignalKind::from_raw(libc::SIGCONT))?;
    let mut last = Instant::now();
    while !app.quit {
        terminal.draw(|frame| frame.render_widget(&app, frame.area()))?;
        // Going to a time counts as running: one slice a frame, keys and signals between.
        let running = app.play.busy();
        tokio::select! {
            _ = frames.tick(), if running => {
                let now = Instant::now();
                // A long stall (a suspended terminal) must not turn into a jump in time.
                let real = (now - last).min(Duration::from_millis(200));
                last = now;
                app.advance(real, ENGINE_BUDGET);
            }
            // Paused or finished: wake only for input (and rarely, to be safe), so an idle UI
            // costs next to nothing.
            _ = tokio::time::sleep(Duration::from_secs(1)), if !running => {
                last = Instant::now();
            }
            event = events.next() => match event {
                // In raw mode Ctrl-Z is a key, not a signal: suspend as the shell would.
                Some(Ok(Event::Key(key)))
                    if key.code == KeyCode::Char('z') && key.modifiers.contains(KeyModifiers::CONTROL) =>
                {
                    suspend(&mut terminal)?;
                }
                Some(Ok(Event::Key(key))) => {
                    app.handle_key(key);
                    if !app.play.running() {
                        last = Instant::now();
                    }
                }
                Some(Ok(Event::Mouse(mouse))) => app.handle_mouse(mouse),
                Some(Ok(_)) => {} // resize and others: the next draw adapts
                Some(Err(e)) => return Err(e),
                None => app.quit = true,
            },
            _ = suspend_signal.recv() => suspend(&mut terminal)?,
            _ = resume_signal.recv() => resume(&mut terminal)?,
            // A stop asked by a signal is noted here too, so the exit status says it (128 +
            // the signal) whether or not the command line's watcher has run yet.
            _ = terminate.recv() => stop(&mut app, libc::SIGTERM),
            _ = hangup.recv() => stop(&mut app, libc::SIGHUP),
            _ = quit.recv() => app.quit = true,
            _ = tokio::signal::ctrl_c() => stop(&mut app, libc::SIGINT),
        }
    }
    Ok(app)
}

/// A signal asked the program to stop: the UI quits, and the stop is noted for the exit status.
fn stop(app: &mut App, signal: libc::c_int) {
    crate::output::stop::note(signal);
    app.quit = true;
}

/// Gives the terminal back (cooked mode, main screen, cursor) and stops the process, as
/// SIGTSTP would have; continues when the shell sends SIGCONT (`fg`).
fn suspend(terminal: &mut DefaultTerminal) -> io::Result<()> {
    let _ = crossterm::execute!(io::stdout(), crossterm::event::DisableMouseCapture);
    ratatui::restore();
    // SAFETY: raise only sends a signal to this process; SIGSTOP cannot be caught, so this
    // returns once the process is continued.
    unsafe {
        libc::raise(libc::SIGSTOP);
    }
    resume(terminal)
}

/// Takes the terminal again after a stop: raw mode, the alternate screen, a full redraw.
fn resume(terminal: &mut DefaultTerminal) -> io::Result<()> {
    crossterm::terminal::enable_raw_mode()?;
    crossterm::execute!(
        io::stdout(),
        crossterm::terminal::EnterAlternateScreen,
        crossterm::cursor::Hide,
        crossterm::event::EnableMouseCapture
    )?;
    terminal.clear()
}
