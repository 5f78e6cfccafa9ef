//! Log lines reach stderr through a thread of their own.
//!
//! A line written straight from a tokio worker holds up every connection that worker serves
//! for as long as the write takes: a stderr that is a file on a disk under writeback pressure
//! took 2–21 ms a write (strace, while `fdatasync` stayed under 0.5 ms), and a pipe whose reader
//! stopped (`serve 2>&1 | less`, a stuck log shipper) blocks it for good. So lines go into a
//! bounded queue that one writer thread empties (`tracing-appender`). When the queue is full
//! a line is dropped and counted, never waited for: a log line is not accepted input (the
//! request log in the store is the record), and a stalled stderr must not stop intake. The
//! count is `hookflow_log_lines_dropped_total` in `/metrics`, and the writer says how many it
//! missed in the log itself, where the gap is, once it catches up.
//!
//! What is still queued is written when the process ends normally, before a compaction's
//! restart and before an error is printed ([`finish`]); a `kill -9` loses at most those lines.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::sync::{Arc, Mutex, OnceLock};
use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Lines the queue holds before it drops new ones: at a few hundred bytes a line, about a
/// megabyte, and well over a second of lines at full intake.
const QUEUE_LINES: usize = 4096;

/// The writer's handle while it runs; taken by [`finish`].
static GUARD: Mutex<Option<WorkerGuard>> = Mutex::new(None);
static QUEUE: OnceLock<NonBlocking> = OnceLock::new();

/// Sends `tracing`'s events at `HOOKFLOW_LOG`'s levels (default: hookflow's info lines and
/// every other crate's warnings) to stderr through the writer thread.
pub fn init() {
    let dropped = Arc::new(OnceLock::<ErrorCounter>::new());
    let out = Stderr {
        out: BufWriter::new(io::stderr()),
        dropped: dropped.clone(),
        reported: 0,
    };
    let (queue, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(QUEUE_LINES)
        .lossy(true)
        .thread_name("hookflow-log")
        .finish(out);
    let _ = dropped.set(queue.error_counter());
    let filter = EnvFilter::try_from_env("HOOKFLOW_LOG")
        .unwrap_or_else(|_| EnvFilter::new("hookflow=info,sled=off,warn"));
    let installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours for a person at a terminal, not escape codes in a file or a log shipper.
        .with_ansi(io::stderr().is_terminal())
        .with_writer(queue.clone())
        .try_init();
    if installed.is_ok() {
        *GUARD.lock().unwrap_or_else(|p| p.into_inner()) = Some(guard);
        let _ = QUEUE.set(queue);
    }
}

/// Prints `line` to stderr after the log lines queued before it (start-up notices printed
/// beside the log's own lines); straight to stderr when [`init`] did not run.
pub fn print_line(line: &str) {
    let text = format!("{line}\n");
    // One write: the queue takes each write as one line.
    let _ = match QUEUE.get() {
        Some(queue) => queue.clone().write_all(text.as_bytes()),
        None => io::stderr().write_all(text.as_bytes()),
    };
}

/// Writes out what is queued and stops the writer (waiting at most about a second for a
/// stalled stderr); lines logged after it are dropped. Called before the process ends,
/// restarts itself or prints an error.
pub fn finish() {
    let guard = GUARD.lock().unwrap_or_else(|p| p.into_inner()).take();
    drop(guard);
}

/// Lines dropped because the queue was full, since the process started.
pub fn dropped_lines() -> u64 {
    QUEUE
        .get()
        .map_or(0, |q| q.error_counter().dropped_lines() as u64)
}

/// stderr, buffered per batch the writer thread takes off the queue (it flushes when the
/// queue is empty), with a notice wherever lines were dropped.
struct Stderr {
    out: BufWriter<io::Stderr>,
    dropped: Arc<OnceLock<ErrorCounter>>,
    reported: usize,
}

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let dropped = self.dropped.get().map_or(0, ErrorCounter::dropped_lines);
        let reported = std::mem::replace(&mut self.reported, dropped);
        if dropped > reported {
            writeln!(
                self.out,
                "hookflow: {} log lines dropped here: stderr did not keep up (requests, runs and \
                 emails are unaffected; the store has them all)",
                dropped - reported
            )?;
        }
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
