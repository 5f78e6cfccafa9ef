//! Log lines reach stderr through a thread of their own.
//!
//! A line written straight from a tokio worker holds up every connection that worker serves
//! for as long as the write takes: a stderr that is a file on a disk under writeback pressure
//! took 2–21 ms a write (strace, while `fdatasync` stayed under 0.5 ms), and a pipe whose reader
//! stopped (`serve 2>&1 | less`, a stuck log shipper) blocks it for good. So a line is copied
//! into a bounded buffer, and one writer thread writes the buffer out a few milliseconds later,
//! many lines a write. When the buffer is full the line is dropped and counted, never waited
//! for: a log line is not accepted input (the store has every request, run and email), and a
//! stalled stderr must not stop intake. The count is `hookflow_log_lines_dropped_total` in
//! `/metrics`, and the log says how many lines are missing where they are missing.
//!
//! Not `tracing-appender`'s non-blocking writer: it wakes its thread for every line that finds it
//! idle, and on two cores those wakes cost the draft load a tenth of its requests (16.3k
//! against 18.2k req/s side by side). Here a logger wakes the writer only when it is parked, and
//! the writer then waits [`GATHER`] so that one wake and one write carry a whole burst.
//!
//! What is buffered is written when the process ends normally, before a compaction's restart
//! and before an error is printed ([`finish`]); a `kill -9` loses at most those few milliseconds.

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::{JoinHandle, Thread};
use std::time::Duration;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Bytes of lines the buffer holds: about 3,000 lines, a fifth of a second at full intake.
const BUFFER_BYTES: usize = 512 * 1024;
/// How long the writer lets lines gather before it writes them.
const GATHER: Duration = Duration::from_millis(5);
/// Longest wait in [`finish`] for a stderr that does not take the last lines.
const FINISH_WAIT: Duration = Duration::from_secs(1);

static LOG: OnceLock<Arc<Buffer>> = OnceLock::new();
static WRITER: Mutex<Option<JoinHandle<()>>> = Mutex::new(None);

/// Sends `tracing`'s events at `HOOKFLOW_LOG`'s levels (default: hookflow's info lines and
/// every other crate's warnings) to stderr through the writer thread.
pub fn init() {
    let buffer = Arc::new(Buffer::default());
    let filter = EnvFilter::try_from_env("HOOKFLOW_LOG")
        .unwrap_or_else(|_| EnvFilter::new("hookflow=info,sled=off,warn"));
    let installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours for a person at a terminal, not escape codes in a file or a log shipper.
        .with_ansi(io::stderr().is_terminal())
        .with_writer(Lines(buffer.clone()))
        .try_init();
    if installed.is_err() || LOG.set(buffer.clone()).is_err() {
        return;
    }
    let thread = std::thread::Builder::new()
        .name("hookflow-log".into())
        .spawn(move || write_forever(&buffer, &mut io::stderr()));
    match thread {
        Ok(handle) => *WRITER.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle),
        Err(e) => eprintln!("warning: no log writer thread ({e}): the log is not written"),
    }
}

/// Prints `line` to stderr after the log lines before it (start-up notices printed beside
/// the log's own lines); straight to stderr when [`init`] did not run.
pub fn print_line(line: &str) {
    let text = format!("{line}\n");
    match LOG.get() {
        Some(buffer) => buffer.push(text.as_bytes()),
        None => {
            let _ = io::stderr().write_all(text.as_bytes());
        }
    }
}

/// Writes out what is buffered and stops the writer, waiting at most [`FINISH_WAIT`] for a
/// stderr that does not take it; later lines are not written. Called before the process ends,
/// restarts itself or prints an error.
pub fn finish() {
    let Some(buffer) = LOG.get() else { return };
    let Some(handle) = WRITER.lock().unwrap_or_else(|p| p.into_inner()).take() else {
        return;
    };
    buffer.stop.store(true, Ordering::SeqCst);
    handle.thread().unpark();
    let deadline = std::time::Instant::now() + FINISH_WAIT;
    while !handle.is_finished() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Lines dropped because the buffer was full, since the process started.
pub fn dropped_lines() -> u64 {
    LOG.get()
        .map_or(0, |b| b.dropped_total.load(Ordering::Relaxed))
}

#[derive(Default)]
struct Buffer {
    pending: Mutex<Pending>,
    /// The writer is parked (or about to be): the next line wakes it.
    idle: AtomicBool,
    stop: AtomicBool,
    writer: OnceLock<Thread>,
    dropped_total: AtomicU64,
}

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    /// Lines dropped since the last one that got in: told before the next one.
    dropped: u64,
}

impl Buffer {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, line: &[u8]) {
        let mut pending = self.lock();
        if pending.bytes.len() + line.len() > BUFFER_BYTES {
            pending.dropped += 1;
            self.dropped_total.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if pending.dropped > 0 {
            let notice = dropped_notice(pending.dropped);
            pending.bytes.extend_from_slice(notice.as_bytes());
            pending.dropped = 0;
        }
        pending.bytes.extend_from_slice(line);
        drop(pending);
        if self.idle.load(Ordering::Relaxed) && self.idle.swap(false, Ordering::SeqCst) {
            if let Some(writer) = self.writer.get() {
                writer.unpark();
            }
        }
    }
}

fn dropped_notice(n: u64) -> String {
    format!(
        "hookflow: {n} log lines dropped here: stderr did not keep up (requests, runs and emails \
         are unaffected; the store has them all)\n"
    )
}

/// The writer thread: takes the whole buffer, writes it, lets the next lines gather; parks
/// while there are none.
fn write_forever(buffer: &Buffer, out: &mut impl Write) {
    // Known before it can park, so a line that finds it parked can wake it.
    let _ = buffer.writer.set(std::thread::current());
    let mut batch = Vec::new();
    loop {
        std::mem::swap(&mut batch, &mut buffer.lock().bytes);
        if !batch.is_empty() {
            // A failed write (stderr closed) loses these lines; there is nowhere to say so.
            let _ = out.write_all(&batch).and_then(|()| out.flush());
            batch.clear();
            if !buffer.stop.load(Ordering::SeqCst) {
                std::thread::park_timeout(GATHER);
            }
            continue;
        }
        if buffer.stop.load(Ordering::SeqCst) {
            return;
        }
        buffer.idle.store(true, Ordering::SeqCst);
        // A line pushed before `idle` was set did not wake anyone: look once more.
        if buffer.lock().bytes.is_empty() && !buffer.stop.load(Ordering::SeqCst) {
            std::thread::park();
            // Let the burst that woke us gather.
            std::thread::park_timeout(GATHER);
        }
        buffer.idle.store(false, Ordering::SeqCst);
    }
}

/// `tracing`'s writer: each event arrives as one `write_all` of its formatted line.
struct Lines(Arc<Buffer>);

impl<'a> MakeWriter<'a> for Lines {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter(&self.0)
    }
}

struct LineWriter<'a>(&'a Buffer);

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
