//! Shared output plumbing for the commands and the features (`sweep`, `replay`): where text
//! goes, and what happens when it cannot go there (standard output closed, a closed pipe, a
//! full disk, an unwritable `--output`); the error a command ends with and its exit status
//! ([`Error`]); report sinks written atomically ([`sink`]); progress bars on a terminal's
//! standard error ([`progress`]); the program's stop request ([`stop`]).
//!
//! Layer 5 (beside the features): it imports only foundations (`text`). Features and the
//! command line (`cli/`) import it; it imports neither.
//!
//! Nothing here panics: `print!` and `eprintln!` do when a write fails, so the command line
//! writes through these functions instead.

mod error;
pub mod progress;
pub mod sink;
pub mod stop;

pub use error::Error;
pub use progress::Progress;
pub use sink::{deliver, prepare_sink, print_stdout, use_ui};

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

/// Whether standard output was open when the program started (see [`guard_standard_streams`]).
static STDOUT_OPEN: OnceLock<bool> = OnceLock::new();

/// Records whether standard output is open (see [`stdout_open`]), then fills any closed standard descriptor (0, 1,
/// 2) with `/dev/null`, so that no file the program opens later lands on one of them and
/// receives text meant for the terminal. Call first thing in `main`.
pub fn guard_standard_streams() {
    let open = stdout_was_open();
    let _ = STDOUT_OPEN.set(open);
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        if !(open && fd_open(&io::stdin()) && fd_open(&io::stderr())) {
            // The lowest free descriptor is taken first: keep the ones that plug a hole.
            for _ in 0..3 {
                match File::options().read(true).write(true).open("/dev/null") {
                    Ok(f) if f.as_raw_fd() <= 2 => std::mem::forget(f),
                    _ => break,
                }
            }
        }
    }
}

#[cfg(unix)]
fn fd_open(stream: &impl std::os::fd::AsFd) -> bool {
    // Duplicating a closed descriptor fails (EBADF).
    stream.as_fd().try_clone_to_owned().is_ok()
}

#[cfg(not(unix))]
fn fd_open<T>(_: &T) -> bool {
    true
}

/// Whether standard output can be written to (it was not closed, as with `>&-`).
pub fn stdout_open() -> bool {
    *STDOUT_OPEN.get_or_init(stdout_was_open)
}

/// Descriptor 1 as the process found it, before Rust's runtime started: 0 = not seen, 1 =
/// open, 2 = closed. The runtime fills a closed standard descriptor with `/dev/null`, opened
/// read-write, before `main`; after that, `>&-` cannot be told from a parent's own
/// read-write `/dev/null` (Python's `subprocess.DEVNULL`, systemd's `null`), which must work.
static STDOUT_AT_START: AtomicU8 = AtomicU8::new(0);

/// Looks at descriptor 1 from the ELF `.init_array`, which the C library runs before `main`
/// and so before the Rust runtime's set-up. Linux only; elsewhere nothing is seen and
/// [`stdout_was_open`] asks the descriptor as it is.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static SEE_STDOUT_AT_START: extern "C" fn() = see_stdout_at_start;

#[cfg(target_os = "linux")]
extern "C" fn see_stdout_at_start() {
    // SAFETY: F_GETFD only reads the descriptor's flags; it fails (EBADF) when it is closed.
    let open = unsafe { libc::fcntl(1, libc::F_GETFD) } != -1;
    STDOUT_AT_START.store(if open { 1 } else { 2 }, Ordering::Relaxed);
}

/// Whether descriptor 1 was open when the process started.
fn stdout_was_open() -> bool {
    // Keeps the `.init_array` entry in the link (nothing else names it).
    #[cfg(target_os = "linux")]
    std::hint::black_box(&SEE_STDOUT_AT_START);
    match STDOUT_AT_START.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => fd_open(&io::stdout()),
    }
}

/// Writes `text` to standard output and flushes it.
pub fn write_stdout(text: &str) -> io::Result<()> {
    if !stdout_open() {
        return Err(io::Error::other("standard output is closed"));
    }
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Writes one line to standard error, prefixed `lbsim: `, with control characters escaped
/// so that the line stays one line. A failure to write is ignored: there is nowhere left
/// to say so.
pub fn error_line(message: &str) {
    let line = format!("lbsim: {}\n", crate::text::escape(message));
    let _ = io::stderr().lock().write_all(line.as_bytes());
}

/// Writes text (several lines, such as clap's usage) to standard error, ignoring failures.
pub fn stderr_text(text: &str) {
    let _ = io::stderr().lock().write_all(crate::text::escape_lines(text).as_bytes());
}

/// A report file being written: checked (created) before the run, so that a typo or a
/// read-only directory is found before a long run rather than after it, and written to a
/// temporary file beside it that replaces it only once complete, so that a full disk never
/// leaves half a report in place of a good one. A symbolic link is followed: its target is
/// written (atomically, beside the target), the link stays. A terminal or `/dev/null` is
/// written in place, and so is a named pipe that has a reader; a named pipe without one is
/// refused at once rather than waited on (the wait would not end, nor heed signals), and so
/// is anything else that is not a regular file.
pub struct OutputFile {
    path: PathBuf,
    /// Where the file really is: `path` with its symbolic links followed.
    target: PathBuf,
    /// The temporary file and its path, or the target itself when written in place.
    file: File,
    temp: Option<PathBuf>,
}

/// The most symbolic links followed in a row (as Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// `path` with its symbolic links followed, as far as they lead (a link to a file not yet
/// made gives that file's path).
pub fn follow_links(path: &Path) -> io::Result<PathBuf> {
    let mut path = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&path)?;
                path = match path.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            _ => return Ok(path),
        }
    }
    Err(io::Error::new(io::ErrorKind::InvalidInput, "too many levels of symbolic links"))
}

/// Whether two paths name the same file (following links), for files that exist or not.
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    let absolute = |p: &Path| -> Option<PathBuf> {
        let p = follow_links(p).ok()?;
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        Some(std::fs::canonicalize(dir).ok()?.join(p.file_name()?))
    };
    matches!((absolute(a), absolute(b)), (Some(x), Some(y)) if x == y)
}

/// The error for a file that is not a regular file (nor a terminal, `/dev/null` or a named
/// pipe with a reader): bad input.
fn not_regular(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what.to_string())
}

/// Opens something that is not a regular file for writing, without waiting: a named pipe
/// without a reader is refused (`ENXIO`), as are sockets and block devices.
#[cfg(unix)]
fn open_special(path: &Path) -> io::Result<File> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let file = File::options().write(true).custom_flags(libc::O_NONBLOCK).open(path).map_err(|e| {
        if e.raw_os_error() == Some(libc::ENXIO) {
            not_regular("it is a named pipe that nothing reads (a regular file is expected)")
        } else {
            e
        }
    })?;
    let kind = file.metadata()?.file_type();
    if !(kind.is_fifo() || kind.is_char_device()) {
        return Err(not_regular("it is not a regular file"));
    }
    // SAFETY: F_GETFL and F_SETFL only read and set the open descriptor's status flags.
    unsafe {
        let flags = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
        if flags != -1 {
            libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    Ok(file)
}

#[cfg(not(unix))]
fn open_special(path: &Path) -> io::Result<File> {
    File::options().write(true).truncate(true).open(path)
}

/// Opens a regular file for reading, refusing at once anything else (a named pipe, a
/// device such as `/dev/zero`, a directory) and a file of more than `limit` bytes; the
/// opening never waits (a named pipe is opened without blocking, then refused).
pub fn open_regular(path: &Path, limit: u64) -> io::Result<File> {
    let mut options = File::options();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(if meta.is_dir() {
            "it is a directory"
        } else {
            "it is not a regular file"
        }));
    }
    if meta.len() > limit {
        return Err(not_regular(&format!("it is {} bytes; at most {limit} are read", meta.len())));
    }
    Ok(file)
}

/// Reads a regular file of at most `limit` bytes (see [`open_regular`]).
pub fn read_regular(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    open_regular(path, limit)?.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(not_regular(&format!("it holds more than {limit} bytes, the most read")));
    }
    Ok(bytes)
}

impl OutputFile {
    /// Opens the way to `path`: fails now if it cannot be written.
    pub fn prepare(path: &Path) -> io::Result<OutputFile> {
        let target = follow_links(path)?;
        let given = path.to_path_buf();
        match std::fs::metadata(&target) {
            Ok(m) if m.is_dir() => {
                return Err(io::Error::new(io::ErrorKind::IsADirectory, "it is a directory"));
            }
            Ok(m) if !m.is_file() => {
                let file = open_special(&target)?;
                return Ok(OutputFile { path: given, target, file, temp: None });
            }
            Ok(m) if m.permissions().readonly() => {
                return Err(io::Error::new(io::ErrorKind::PermissionDenied, "the file is read-only"));
            }
            _ => {}
        }
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "it names a directory, not a file"))?;
        let mut last = None;
        for n in 0..100 {
            let temp = dir.join(format!(".{}.lbsim-{}-{n}.tmp", name.to_string_lossy(), std::process::id()));
            match File::options().write(true).create_new(true).open(&temp) {
                Ok(file) => return Ok(OutputFile { path: given, target, file, temp: Some(temp) }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no temporary file name is free")))
    }

    /// The file the report goes to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `text` and puts the file in place. On failure the target is left as it was.
    pub fn commit(mut self, text: &str) -> io::Result<()> {
        let written = self.file.write_all(text.as_bytes()).and_then(|_| self.file.flush());
        let Some(temp) = self.temp.take() else { return written };
        let done =
            written.and_then(|_| self.file.sync_all()).and_then(|_| std::fs::rename(&temp, &self.target));
        if done.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        done
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        // Not committed (the run failed, or was abandoned): leave nothing behind.
        if let Some(temp) = self.temp.take() {
            let _ = std::fs::remove_file(temp);
        }
    }
}
