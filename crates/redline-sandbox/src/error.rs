use std::path::PathBuf;

/// Why a sandbox could not be made or a command could not be started in it. A command that
/// runs and fails, or times out, is not an error: see [`crate::ExecOutput`].
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "bubblewrap (`bwrap`) was not found{}: install the Debian package `bubblewrap` \
         (scripts/install-bubblewrap.sh does) or point REDLINE_BWRAP at the binary",
        .looked_at.as_ref().map(|p| format!(" at {}", p.display())).unwrap_or_default()
    )]
    NoBubblewrap { looked_at: Option<PathBuf> },
    #[error("cannot prepare the sandbox's work directory: {0}")]
    WorkDir(#[source] std::io::Error),
    #[error("cannot copy {path} into the sandbox: {source}")]
    CopyIn {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the sandbox ({program}): {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("bubblewrap could not set up the sandbox: {0}")]
    Setup(String),
}
