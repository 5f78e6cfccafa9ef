//! The one way a command writes to stdout.
//!
//! `println!` panics when stdout is a closed pipe (`hookflow runs | head -1`), which ends the
//! command with status 101 and a panic message. Every command prints through `outln!` (or
//! [`json`]) instead: a closed pipe ends the command quietly with status 0, as other Unix tools
//! do, and any other write error ends it with status 1 and one line on stderr.

use std::fmt;
use std::io::{ErrorKind, Write};

/// Writes one line to stdout, like `println!`, through [`write_line`].
#[macro_export]
macro_rules! outln {
    () => {
        $crate::cli::output::write_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::write_line(format_args!($($arg)*))
    };
}

/// Writes `line` and a newline to stdout; a closed stdout ends the process quietly (status 0).
pub fn write_line(line: fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let written = writeln!(out, "{line}").and_then(|()| out.flush());
    if let Err(e) = written {
        stdout_failed(e);
    }
}

/// Writes `value` as one pretty-printed JSON document.
pub fn json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => write_line(format_args!("{text}")),
        // Values built from serde_json never fail to serialise; say so rather than panic.
        Err(e) => {
            eprintln!("error: could not write JSON: {e}");
            std::process::exit(1);
        }
    }
}

/// Flushes what is left at the end of a command, with the same rule for a closed pipe.
pub fn finish() {
    if let Err(e) = std::io::stdout().lock().flush() {
        stdout_failed(e);
    }
}

fn stdout_failed(e: std::io::Error) -> ! {
    if e.kind() == ErrorKind::BrokenPipe {
        // The reader has gone: nobody is left to tell, and it is not an error of ours.
        std::process::exit(0);
    }
    let _ = writeln!(std::io::stderr(), "error: could not write to stdout: {e}");
    std::process::exit(1);
}

/// Turns a `println!` left in code that does not print through this module yet (a panic
/// "failed printing to stdout: Broken pipe") into the same quiet exit 0.
pub fn install_broken_pipe_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload_as_str().unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// Stdout as a `Write` for bulk output (`contacts export` with no FILE), under the same rule:
/// a closed pipe ends the process quietly, any other write error with status 1.
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        Ok(std::io::stdout()
            .lock()
            .write(data)
            .unwrap_or_else(|e| stdout_failed(e)))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout()
            .lock()
            .flush()
            .unwrap_or_else(|e| stdout_failed(e));
        Ok(())
    }
}
