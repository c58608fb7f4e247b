//! Throwaway sandboxes for agent samples.
//!
//! Each sample gets a [`Sandbox`]: a fresh work directory, seen inside as `/work`, in which
//! commands run under [bubblewrap](https://github.com/containers/bubblewrap) with no network,
//! a read-only system, a private `/tmp`, a clean environment (no API key of the host reaches
//! it), its own PID namespace, and the [`Limits`] on processes, memory, CPU, file size and wall
//! time. At the end of each command the whole process tree dies with it; dropping the sandbox
//! removes the work directory. State lives in the work directory between commands.
//!
//! ```no_run
//! # async fn demo() -> Result<(), redline_sandbox::SandboxError> {
//! use redline_sandbox::{Backend, Limits, Sandbox, SandboxSpec};
//! let sandbox = Sandbox::create(&SandboxSpec {
//!     backend: Backend::detect()?,
//!     limits: Limits::default(),
//!     network: false,
//! })?;
//! sandbox.write_file("notes.txt", b"hello").await?;
//! let out = sandbox.exec(&["bash", "-c", "wc -c notes.txt"], None).await?;
//! assert_eq!(out.stdout.trim(), "5 notes.txt");
//! # Ok(()) }
//! ```
//!
//! # Other backends
//!
//! [`Backend`] is where container backends plug in for runs at scale: a `Docker` variant would
//! start one container per sample in [`Sandbox::create`] (`docker run -d --network none
//! --pids-limit --memory --read-only` with the work directory as a volume), run each command
//! with `docker exec`, and remove the container on drop; a `Kubernetes` variant would do the
//! same with a pod and `kubectl exec`. Everything above the backend (the agent's tools, the
//! file helpers, [`ExecOutput`]) stays as it is.

mod bwrap;
mod error;
mod exec;
mod limits;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use error::SandboxError;
pub use limits::Limits;

/// How sandboxes are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// One `bwrap` invocation per command (Debian package `bubblewrap`).
    Bubblewrap { bwrap: PathBuf },
}

impl Backend {
    /// Bubblewrap at `$REDLINE_BWRAP`, else `/usr/bin/bwrap`, else `bwrap` on the `PATH`.
    pub fn detect() -> Result<Backend, SandboxError> {
        if let Some(p) = std::env::var_os("REDLINE_BWRAP") {
            let p = PathBuf::from(p);
            return if p.is_file() {
                Ok(Backend::Bubblewrap { bwrap: p })
            } else {
                Err(SandboxError::NoBubblewrap { looked_at: Some(p) })
            };
        }
        let on_path = std::env::var_os("PATH")
            .into_iter()
            .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
            .map(|d| d.join("bwrap"));
        std::iter::once(PathBuf::from("/usr/bin/bwrap"))
            .chain(on_path)
            .find(|p| p.is_file())
            .map(|bwrap| Backend::Bubblewrap { bwrap })
            .ok_or(SandboxError::NoBubblewrap { looked_at: None })
    }
}

/// What to make a sandbox with.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    pub backend: Backend,
    pub limits: Limits,
    /// Share the host's network (off by default: tasks rarely need it, and a model's code
    /// should reach nothing).
    pub network: bool,
}

/// How one command ended. A non-zero exit or a timeout is data, not an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecOutput {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// Lossy UTF-8, cut at [`Limits::output_bytes`].
    pub stdout: String,
    pub stderr: String,
    /// The wall-time limit was reached and the whole tree killed.
    pub timed_out: bool,
    /// Some output was cut.
    pub truncated: bool,
    pub duration_ms: u64,
}

impl ExecOutput {
    /// Exited by itself with status 0.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }
}

/// A sandbox: its work directory and who runs in it. Dropping it removes the directory.
pub struct Sandbox {
    spec: SandboxSpec,
    work: tempfile::TempDir,
    /// When running as root, commands run as this unprivileged user (RLIMIT_NPROC does not
    /// bind root); `None` runs them as the current user.
    identity: Option<(u32, u32)>,
}

impl Sandbox {
    /// A fresh, empty work directory and its owner.
    pub fn create(spec: &SandboxSpec) -> Result<Sandbox, SandboxError> {
        let work = tempfile::Builder::new()
            .prefix("redline-sandbox-")
            .tempdir()
            .map_err(SandboxError::WorkDir)?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let identity = (unsafe { libc::geteuid() } == 0).then(bwrap::fresh_identity);
        let sandbox = Sandbox {
            spec: spec.clone(),
            work,
            identity,
        };
        sandbox.give_to_sandbox_user(sandbox.work.path())?;
        Ok(sandbox)
    }

    /// Copies the contents of `host_dir` (files and folders; symlinks are skipped) into
    /// `/work`.
    pub fn copy_in(&self, host_dir: &Path) -> Result<(), SandboxError> {
        self.copy_tree(host_dir, self.work.path())
    }

    fn copy_tree(&self, from: &Path, to: &Path) -> Result<(), SandboxError> {
        let err = |source| SandboxError::CopyIn {
            path: from.to_path_buf(),
            source,
        };
        for entry in std::fs::read_dir(from).map_err(err)? {
            let entry = entry.map_err(err)?;
            let kind = entry.file_type().map_err(err)?;
            let target = to.join(entry.file_name());
            if kind.is_dir() {
                std::fs::create_dir_all(&target).map_err(err)?;
                self.give_to_sandbox_user(&target)?;
                self.copy_tree(&entry.path(), &target)?;
            } else if kind.is_file() {
                std::fs::copy(entry.path(), &target).map_err(err)?;
                self.give_to_sandbox_user(&target)?;
            }
        }
        Ok(())
    }

    fn give_to_sandbox_user(&self, path: &Path) -> Result<(), SandboxError> {
        if let Some((uid, gid)) = self.identity {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(SandboxError::WorkDir)?;
        }
        Ok(())
    }

    /// The work directory on the host, for the harness's own checks after a command.
    pub fn host_work_dir(&self) -> &Path {
        self.work.path()
    }

    /// Runs `argv` in the sandbox with the default wall-time limit; `stdin` is fed and closed.
    pub async fn exec(&self, argv: &[&str], stdin: Option<&[u8]>) -> Result<ExecOutput, SandboxError> {
        self.exec_with_timeout(argv, stdin, self.spec.limits.exec_timeout)
            .await
    }

    /// Runs `argv` in the sandbox, killing it and everything it started after `timeout`.
    pub async fn exec_with_timeout(
        &self,
        argv: &[&str],
        stdin: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<ExecOutput, SandboxError> {
        let Backend::Bubblewrap { bwrap } = &self.spec.backend;
        let args = bwrap::arguments(self.work.path(), self.spec.network, argv);
        exec::run(exec::Invocation {
            program: bwrap,
            args: &args,
            stdin,
            timeout,
            limits: &self.spec.limits,
            identity: self.identity,
        })
        .await
    }

    /// A file's content (read inside the sandbox, so a symlink cannot reach the host).
    pub async fn read_file(&self, path: &str) -> Result<ExecOutput, SandboxError> {
        self.exec(&["cat", "--", path], None).await
    }

    /// Writes `contents` to `path`, creating its folders (inside the sandbox).
    pub async fn write_file(&self, path: &str, contents: &[u8]) -> Result<ExecOutput, SandboxError> {
        let script = r#"mkdir -p -- "$(dirname -- "$1")" && cat > "$1""#;
        self.exec(&["sh", "-c", script, "write_file", path], Some(contents))
            .await
    }

    /// `ls -la` of a directory (inside the sandbox).
    pub async fn list_dir(&self, path: &str) -> Result<ExecOutput, SandboxError> {
        self.exec(&["ls", "-la", "--", path], None).await
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Every command's tree dies with its bwrap; this sweeps anything that escaped that
        // (none should) before the directory goes.
        if let Some((uid, _)) = self.identity {
            exec::kill_all_of(uid);
        }
    }
}
