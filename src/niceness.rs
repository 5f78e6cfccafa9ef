//! Background threads run at a lower CPU priority than the threads that acknowledge requests:
//! the run worker's (`engine::worker`) and the one that writes outbox `.eml` files
//! (`mail::eml_files`). A queued run or email can wait; a sender waiting for its 2xx should not.
//! On an idle machine this changes nothing; when the CPU is short (a burst of bookings on two
//! cores), the scheduler gives the acknowledging threads the larger share and the background
//! drains the queue in the time left. Side by side on the 2-core box (non-LTO builds, in turn),
//! the worker lowered: the booking load acknowledged 4,162–4,796 against 3,242–3,424 requests a
//! second (3 pairs); with a new patient each, 4,347–5,179 against 2,983–3,540 during the load,
//! and the bookings a second counted until every run had finished the same (2,234 against 2,186
//! in mean over 5 pairs), for a peak RSS 4 MiB higher (a longer queue while the load lasts).
//! The `.eml` files then built and written by a thread of their own, lowered as well, instead of
//! the runtime's threads and its blocking pool: new patients 4,900–5,099 against 2,875–3,039
//! acknowledged a second during the load, the ack p99 21–23 against 32–33 ms, bookings a second
//! until every run had finished 2,131–2,212 against 1,985–2,096, peak RSS 105–113 against
//! 102–106 MiB (3 pairs against the code before both).

/// How much background threads lower their priority (their nice value; 19 is the lowest).
pub const WORKER_NICE: i32 = 10;

/// A job for a background thread.
pub type Job = Box<dyn FnOnce() + Send>;

/// The body of a background thread (`what` names it in the log): lowers its priority by
/// [`WORKER_NICE`] (a warning if it cannot) and runs the jobs sent to it, in order, until every
/// sender is gone.
pub fn run_lowered(what: &str, jobs: std::sync::mpsc::Receiver<Job>) {
    if let Err(e) = lower_this_thread(WORKER_NICE) {
        tracing::warn!(error = %e, "could not lower the CPU priority of {what}");
    }
    jobs.into_iter().for_each(|job| job());
}

/// Lowers the calling thread's CPU priority by `by` nice steps (at most to 19). Only this
/// thread changes: Linux keeps a nice value per thread. Elsewhere it does nothing.
#[cfg(target_os = "linux")]
pub fn lower_this_thread(by: i32) -> std::io::Result<()> {
    let nice = this_thread_nice()?;
    // SAFETY: setpriority on this thread's id; no memory is passed.
    let done =
        unsafe { libc::setpriority(libc::PRIO_PROCESS, this_thread_id(), (nice + by).min(19)) };
    match done {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

#[cfg(not(target_os = "linux"))]
pub fn lower_this_thread(_by: i32) -> std::io::Result<()> {
    Ok(())
}

/// The calling thread's nice value.
#[cfg(target_os = "linux")]
pub fn this_thread_nice() -> std::io::Result<i32> {
    // getpriority returns −1 both for a nice of −1 and for an error: errno tells them apart.
    // SAFETY: errno is this thread's; getpriority takes this thread's id, no memory.
    unsafe {
        *libc::__errno_location() = 0;
        let nice = libc::getpriority(libc::PRIO_PROCESS, this_thread_id());
        match nice == -1 && *libc::__errno_location() != 0 {
            true => Err(std::io::Error::last_os_error()),
            false => Ok(nice),
        }
    }
}

/// Names the calling thread (at most 15 bytes show) for `top -H`, `perf` and `/proc`: a
/// thread borrowed from tokio's blocking pool is otherwise one more `tokio-rt-worker`, like
/// the threads that answer requests.
#[cfg(target_os = "linux")]
pub fn name_this_thread(name: &str) {
    let Ok(name) = std::ffi::CString::new(name) else {
        return;
    };
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of up to 16 bytes (longer is cut).
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
}

#[cfg(not(target_os = "linux"))]
pub fn name_this_thread(_name: &str) {}

/// The calling thread's id (its directory under `/proc/self/task`).
#[cfg(target_os = "linux")]
pub(crate) fn this_thread_id() -> libc::id_t {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as libc::id_t }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn only_the_calling_thread_is_lowered() {
        let before = this_thread_nice().unwrap();
        let lowered = std::thread::spawn(|| {
            let own = this_thread_nice().unwrap();
            lower_this_thread(3).unwrap();
            (own, this_thread_nice().unwrap())
        })
        .join()
        .unwrap();
        assert_eq!(lowered, (before, (before + 3).min(19)));
        assert_eq!(
            this_thread_nice().unwrap(),
            before,
            "the caller's thread kept its own"
        );
    }
}
