//! Restarting in place to compact the store. sled cannot shrink its file while open, and every
//! part of the server holds the store, so `serve` stops the way it does on SIGTERM (open
//! requests finish, the store is flushed), then exec's its own binary with the same arguments
//! and the listening socket: connections that arrive meanwhile wait in the socket's backlog,
//! the process id stays the same, and the new process compacts the store before it opens it.
//! Nothing new can be lost this way: what a kill -9 at any moment leaves, a restart resumes.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;

/// Names the inherited listening socket's descriptor for the new process.
const LISTEN_FD: &str = "HOOKFLOW_LISTEN_FD";
/// Tells the new process to compact before it opens the store.
const COMPACT: &str = "HOOKFLOW_COMPACT_AT_START";

/// True where this process can exec itself (Linux: `/proc/self/exe` names the running binary
/// even when the file was replaced since).
pub fn supported() -> bool {
    cfg!(target_os = "linux") && std::path::Path::new(SELF).exists()
}

const SELF: &str = "/proc/self/exe";

/// Replaces this process with a fresh `hookflow serve` (same arguments, same environment) that
/// compacts the store and keeps serving on `listener`. Returns only when the exec failed.
pub fn exec_compacting(listener: OwnedFd) -> std::io::Error {
    if let Err(e) = set_cloexec(&listener, false) {
        return e;
    }
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| "hookflow".into());
    std::process::Command::new(SELF)
        .arg0(arg0)
        .args(args)
        .env(LISTEN_FD, listener.as_raw_fd().to_string())
        .env(COMPACT, "1")
        .exec()
}

/// The listening socket a restart handed over, if any (and forgets it, so nothing started
/// later inherits it).
pub fn inherited_listener() -> anyhow::Result<Option<std::net::TcpListener>> {
    let Some(text) = std::env::var_os(LISTEN_FD) else {
        return Ok(None);
    };
    std::env::remove_var(LISTEN_FD);
    let fd: i32 = text
        .to_str()
        .and_then(|t| t.parse().ok())
        .filter(|fd| *fd > 2)
        .ok_or_else(|| anyhow::anyhow!("{LISTEN_FD} is not a descriptor number"))?;
    // SAFETY: the descriptor was handed over by the exec above and nothing else owns it.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    set_cloexec(&owned, true)?;
    let listener = std::net::TcpListener::from(owned);
    listener.local_addr()?;
    listener.set_nonblocking(true)?;
    Ok(Some(listener))
}

/// True when the process that exec'd this one asked for a compaction (and forgets it).
pub fn compaction_asked() -> bool {
    let asked = std::env::var_os(COMPACT).is_some();
    std::env::remove_var(COMPACT);
    asked
}

fn set_cloexec(fd: &OwnedFd, on: bool) -> std::io::Result<()> {
    let raw = fd.as_raw_fd();
    // SAFETY: fcntl on a descriptor this process owns, with integer arguments only.
    let flags = unsafe { libc::fcntl(raw, libc::F_GETFD) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let flags = if on {
        flags | libc::FD_CLOEXEC
    } else {
        flags & !libc::FD_CLOEXEC
    };
    // SAFETY: as above.
    if unsafe { libc::fcntl(raw, libc::F_SETFD, flags) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
