//! Resource limits, applied with `setrlimit` in the child before bubblewrap starts, so they
//! hold for everything the sandboxed command forks.

use std::time::Duration;

/// What one sandboxed command may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Processes (and threads) the sandbox's user may have at once: a fork bomb hits this.
    pub max_processes: u32,
    /// Address space per process.
    pub memory_bytes: u64,
    /// CPU time per process.
    pub cpu_seconds: u64,
    /// Largest file a process may write.
    pub file_size_bytes: u64,
    /// Wall time of one command; then the whole tree is killed.
    pub exec_timeout: Duration,
    /// Output kept per stream (stdout, stderr); the rest is read and dropped.
    pub output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_processes: 64,
            memory_bytes: 1 << 30,
            cpu_seconds: 60,
            file_size_bytes: 64 << 20,
            exec_timeout: Duration::from_secs(120),
            output_bytes: 256 << 10,
        }
    }
}

/// The `setrlimit` calls to make in the child: (resource, value).
pub(crate) fn rlimits(limits: &Limits, process_cap: u64) -> Vec<(libc::__rlimit_resource_t, u64)> {
    vec![
        (libc::RLIMIT_NPROC, process_cap),
        (libc::RLIMIT_AS, limits.memory_bytes),
        (libc::RLIMIT_CPU, limits.cpu_seconds.max(1)),
        (libc::RLIMIT_FSIZE, limits.file_size_bytes),
        (libc::RLIMIT_CORE, 0),
    ]
}

/// Processes that `uid` has now, counted from /proc: an ordinary user's RLIMIT_NPROC counts
/// every process of theirs, so the cap is this plus the sandbox's allowance.
pub(crate) fn processes_of(uid: u32) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| e.metadata().is_ok_and(|m| m.uid() == uid))
        .count() as u64
}
