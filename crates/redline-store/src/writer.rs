//! The batched sample writer.

use std::path::{Path, PathBuf};

use redline_eval::SampleRecord;
use rusqlite::{params, Connection};

use crate::error::{SqlContext, StoreError};
use crate::schema::{connect, now};

/// Commits finished samples for one run on its own connection.
pub struct SampleWriter {
    conn: Connection,
    path: PathBuf,
    run_id: String,
}

/// Most records committed in one transaction: big enough to make commits cheap, small
/// enough that a crash loses little work.
const MAX_BATCH: usize = 512;

impl SampleWriter {
    pub fn open(path: &Path, run_id: &str) -> Result<SampleWriter, StoreError> {
        Ok(SampleWriter {
            conn: connect(path)?,
            path: path.to_path_buf(),
            run_id: run_id.to_string(),
        })
    }

    /// Writes the records in one transaction. A record replaces an earlier one for the same
    /// sample and epoch (an errored sample retried on resume), so nothing is ever duplicated.
    /// Only errored samples are ever rewritten and they have no scores, so no stale score can
    /// survive a replacement.
    pub fn write_batch(&mut self, records: &[SampleRecord]) -> Result<(), StoreError> {
        let path = self.path.clone();
        let ts = now();
        let tx = self.conn.transaction().ctx(&path)?;
        {
            let mut put_sample = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO samples (run_id, sample_id, epoch, ordinal, ok, output, record_json, \
                     input_tokens, output_tokens, latency_ms, retries, cache_hit, error_kind, error_message, completed_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                )
                .ctx(&path)?;
            let mut put_score = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO scores (run_id, scorer, sample_id, epoch, value, answer, explanation) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .ctx(&path)?;
            for r in records {
                // Scores live in their own table; the record JSON holds everything else.
                let json = serde_json::to_string(&RecordWithoutScores(r))
                    .map_err(|e| StoreError::Corrupt(format!("cannot encode sample {}: {e}", r.sample_id)))?;
                put_sample
                    .execute(params![
                        self.run_id,
                        r.sample_id,
                        r.epoch,
                        r.ordinal as i64,
                        r.error.is_none(),
                        r.output(),
                        json,
                        r.usage.input_tokens as i64,
                        r.usage.output_tokens as i64,
                        r.latency_ms as i64,
                        r.retries(),
                        r.cache_hit,
                        r.error.as_ref().map(|e| e.kind.as_str()),
                        r.error.as_ref().map(|e| e.message.as_str()),
                        ts,
                    ])
                    .ctx(&path)?;
                for s in &r.scores {
                    put_score
                        .execute(params![
                            self.run_id,
                            s.scorer,
                            r.sample_id,
                            r.epoch,
                            s.value,
                            s.answer,
                            s.explanation
                        ])
                        .ctx(&path)?;
                }
            }
        }
        tx.commit().ctx(&path)
    }
}

/// Serialises a record with an empty score list, without cloning it.
struct RecordWithoutScores<'a>(&'a SampleRecord);

impl serde::Serialize for RecordWithoutScores<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let r = self.0;
        let mut st = s.serialize_struct("SampleRecord", 15)?;
        st.serialize_field("sample_id", &r.sample_id)?;
        st.serialize_field("epoch", &r.epoch)?;
        st.serialize_field("ordinal", &r.ordinal)?;
        st.serialize_field("messages", &r.messages)?;
        st.serialize_field("target", &r.target)?;
        st.serialize_field("response", &r.response)?;
        st.serialize_field("attempts", &r.attempts)?;
        st.serialize_field("cache_hit", &r.cache_hit)?;
        st.serialize_field("latency_ms", &r.latency_ms)?;
        st.serialize_field("usage", &r.usage)?;
        st.serialize_field("error", &r.error)?;
        st.serialize_field("scores", &[] as &[u8])?;
        st.serialize_field("unscored", &r.unscored)?;
        st.serialize_field("groups", &r.groups)?;
        match &r.agent {
            Some(agent) => st.serialize_field("agent", agent)?,
            None => st.skip_field("agent")?,
        }
        st.end()
    }
}

/// Receives records until the channel closes, committing them in batches: whatever has
/// arrived by the time the previous commit ends goes into the next one. Blocking: run it on a
/// dedicated thread (`tokio::task::spawn_blocking`). Returns the number of records written.
pub fn drain_into(
    mut rx: tokio::sync::mpsc::Receiver<SampleRecord>,
    writer: &mut SampleWriter,
) -> Result<u64, StoreError> {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut written = 0;
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        writer.write_batch(&batch)?;
        written += batch.len() as u64;
        batch.clear();
    }
    Ok(written)
}
