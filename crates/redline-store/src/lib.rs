//! Redline's store: runs, samples (full transcripts), scores and the response cache, in one
//! SQLite file (WAL mode), created and migrated on first use.
//!
//! Writes go through a [`SampleWriter`] on its own connection and thread, committing batches
//! as samples finish; readers use [`Store`]. A killed process loses at most the batch it had
//! not committed, and resume re-runs exactly those samples.
//!
//! ```no_run
//! # fn demo() -> Result<(), redline_store::StoreError> {
//! let store = redline_store::Store::open("redline.db".as_ref())?;
//! for run in store.list_runs(20)? {
//!     println!("{} {} {}", run.id, run.eval_id, run.status);
//! }
//! # Ok(()) }
//! ```

mod assessments;
mod cache;
mod error;
mod metrics;
mod redteam;
mod runs;
mod samples;
mod schema;
mod writer;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

pub use assessments::{AssessmentRow, AssessmentRun, DeterminationRow, NewAssessment};
pub use cache::SqliteCache;
pub use error::StoreError;
pub use metrics::{GroupMetrics, GroupedScore, LabelShare, MetricRow};
pub use redteam::{AttemptRow, CampaignRow, FindingRow, NewCampaign, NewFinding, FINDING_STATUSES};
pub use runs::{NewRun, RunRow, RunStatus};
pub use samples::UsageTotals;
pub use writer::{drain_into, SampleWriter};

/// The default store file: `$XDG_DATA_HOME/redline/redline.db`, else
/// `~/.local/share/redline/redline.db`, else `./redline.db`.
pub fn default_path() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/share"))
        });
    match base {
        Some(b) => b.join("redline").join("redline.db"),
        None => PathBuf::from("redline.db"),
    }
}

/// A handle for reading runs and managing their lifecycle.
pub struct Store {
    path: PathBuf,
    conn: Connection,
}

impl Store {
    /// Opens (creating the file and its folder if needed) and migrates the store.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let mut conn = schema::connect(path)?;
        schema::migrate(&mut conn, path)?;
        Ok(Store {
            path: path.to_path_buf(),
            conn,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
