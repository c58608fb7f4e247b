//! Running one bubblewrap invocation: limits set in the child, output read without holding
//! more than the limit, the whole tree killed on timeout.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::limits::{processes_of, rlimits, Limits};
use crate::{ExecOutput, SandboxError};

/// How long output readers may go on after the tree was killed (they end when the last
/// holder of the pipes dies, which the kill makes immediate).
const DRAIN_GRACE: Duration = Duration::from_secs(2);

pub(crate) struct Invocation<'a> {
    pub program: &'a Path,
    pub args: &'a [String],
    pub stdin: Option<&'a [u8]>,
    pub timeout: Duration,
    pub limits: &'a Limits,
    pub identity: Option<(u32, u32)>,
}

pub(crate) async fn run(inv: Invocation<'_>) -> Result<ExecOutput, SandboxError> {
    let started = Instant::now();
    let mut cmd = tokio::process::Command::new(inv.program);
    cmd.args(inv.args)
        .stdin(if inv.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_clear()
        .kill_on_drop(true)
        .process_group(0);
    let process_cap = match inv.identity {
        Some((uid, gid)) => {
            // std drops supplementary groups when it changes the uid.
            cmd.uid(uid).gid(gid);
            u64::from(inv.limits.max_processes)
        }
        // An ordinary user's RLIMIT_NPROC counts all their processes, not just the sandbox's.
        // SAFETY: getuid has no preconditions and cannot fail.
        None => processes_of(unsafe { libc::getuid() }) + u64::from(inv.limits.max_processes),
    };
    let limits = rlimits(inv.limits, process_cap);
    // SAFETY: the closure runs in the forked child before exec and only calls setrlimit,
    // which is async-signal-safe; it allocates nothing (the list was built before the fork).
    unsafe {
        cmd.pre_exec(move || {
            for &(resource, value) in &limits {
                let lim = libc::rlimit {
                    rlim_cur: value,
                    rlim_max: value,
                };
                if libc::setrlimit(resource, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|source| SandboxError::Spawn {
        program: inv.program.display().to_string(),
        source,
    })?;
    let pgid = child.id().map(|p| p as i32);

    let keep = inv.limits.output_bytes;
    let stdout = tokio::spawn(read_capped(child.stdout.take(), keep));
    let stderr = tokio::spawn(read_capped(child.stderr.take(), keep));
    if let (Some(mut pipe), Some(bytes)) = (child.stdin.take(), inv.stdin) {
        let bytes = bytes.to_vec();
        // A command that never reads its stdin must not block us: write in the background.
        tokio::spawn(async move {
            let _ = pipe.write_all(&bytes).await;
            let _ = pipe.shutdown().await;
        });
    }

    let (status, timed_out) = match tokio::time::timeout(inv.timeout, child.wait()).await {
        Ok(status) => (status.ok(), false),
        Err(_) => {
            // The sandbox's own processes first, so bwrap sees its child die and reaps it (a
            // killed bwrap would leave its child a zombie where nothing reaps orphans); then
            // bwrap's whole group, in case it lingers.
            if let Some((uid, _)) = inv.identity {
                kill_all_of_except(uid, pgid);
                let _ = tokio::time::timeout(Duration::from_millis(500), child.wait()).await;
            }
            kill_group(pgid);
            (child.wait().await.ok(), true)
        }
    };
    let (out, out_cut) = join_reader(stdout).await;
    let (err, err_cut) = join_reader(stderr).await;
    if !timed_out && status.is_some_and(|s| s.code() == Some(1)) && err.starts_with("bwrap:") {
        // bwrap's own failure (no user namespaces, a bad bind), not the command's.
        return Err(SandboxError::Setup(err.trim().to_string()));
    }
    use std::os::unix::process::ExitStatusExt;
    Ok(ExecOutput {
        exit_code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        stdout: out,
        stderr: err,
        timed_out,
        truncated: out_cut || err_cut,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

async fn join_reader(task: tokio::task::JoinHandle<(Vec<u8>, bool)>) -> (String, bool) {
    match tokio::time::timeout(DRAIN_GRACE, task).await {
        Ok(Ok((bytes, cut))) => (String::from_utf8_lossy(&bytes).into_owned(), cut),
        _ => (String::new(), true),
    }
}

/// Reads a stream to its end, keeping the first `keep` bytes.
async fn read_capped(stream: Option<impl AsyncRead + Unpin>, keep: usize) -> (Vec<u8>, bool) {
    let Some(mut stream) = stream else {
        return (Vec::new(), false);
    };
    let mut kept = Vec::new();
    let mut cut = false;
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = keep.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                cut |= n > room;
            }
        }
    }
    (kept, cut)
}

fn kill_group(pgid: Option<i32>) {
    if let Some(pgid) = pgid.filter(|p| *p > 0) {
        // SAFETY: kill with a negative pid signals that process group; no memory involved.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

/// SIGKILL to every process of `uid` (a sandbox's own user), found in /proc.
pub(crate) fn kill_all_of(uid: u32) {
    kill_all_of_except(uid, None)
}

fn kill_all_of_except(uid: u32, spare: Option<i32>) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if Some(pid) == spare {
            continue;
        }
        if entry.metadata().is_ok_and(|m| m.uid() == uid) {
            // SAFETY: signalling a pid; no memory involved.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}
