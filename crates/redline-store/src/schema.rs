//! Connection settings and schema migrations (tracked in `PRAGMA user_version`).

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use crate::error::{SqlContext, StoreError};

/// Each entry moves the schema one version up. Never edit a shipped entry; append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: runs, samples, scores, response cache.
    r#"
    CREATE TABLE runs (
        id              TEXT PRIMARY KEY,
        fingerprint     TEXT NOT NULL,
        eval_id         TEXT NOT NULL,
        eval_version    TEXT NOT NULL,
        eval_path       TEXT NOT NULL,
        eval_sha256     TEXT NOT NULL,
        dataset_path    TEXT NOT NULL,
        dataset_sha256  TEXT NOT NULL,
        model           TEXT NOT NULL,
        base_url        TEXT,
        settings_json   TEXT NOT NULL,
        status          TEXT NOT NULL,
        planned         INTEGER NOT NULL,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        finished_at     TEXT,
        wall_ms         INTEGER NOT NULL DEFAULT 0,
        metrics_json    TEXT,
        message         TEXT,
        redline_version TEXT NOT NULL
    );
    CREATE INDEX runs_fingerprint ON runs (fingerprint, created_at);
    CREATE TABLE samples (
        run_id        TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        sample_id     TEXT NOT NULL,
        epoch         INTEGER NOT NULL,
        ordinal       INTEGER NOT NULL,
        ok            INTEGER NOT NULL,
        output        TEXT,
        record_json   TEXT NOT NULL,
        input_tokens  INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        latency_ms    INTEGER NOT NULL,
        retries       INTEGER NOT NULL,
        cache_hit     INTEGER NOT NULL,
        error_kind    TEXT,
        error_message TEXT,
        completed_at  TEXT NOT NULL,
        PRIMARY KEY (run_id, sample_id, epoch)
    ) WITHOUT ROWID;
    CREATE INDEX samples_order ON samples (run_id, ordinal, epoch);
    CREATE TABLE scores (
        run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        scorer      TEXT NOT NULL,
        sample_id   TEXT NOT NULL,
        epoch       INTEGER NOT NULL,
        value       REAL NOT NULL,
        answer      TEXT,
        explanation TEXT,
        PRIMARY KEY (run_id, scorer, sample_id, epoch)
    ) WITHOUT ROWID;
    CREATE TABLE response_cache (
        key           TEXT PRIMARY KEY,
        model         TEXT NOT NULL,
        response_json TEXT NOT NULL,
        created_at    TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 2: assessments, the runs they used, and the append-only log of human determinations.
    r#"
    CREATE TABLE assessments (
        id                TEXT PRIMARY KEY,
        framework_id      TEXT NOT NULL,
        framework_version TEXT NOT NULL,
        framework_sha256  TEXT NOT NULL,
        framework_text    TEXT NOT NULL,
        framework_file    TEXT NOT NULL,
        pre_target_json   TEXT NOT NULL,
        post_target_json  TEXT NOT NULL,
        suite             TEXT NOT NULL,
        created_at        TEXT NOT NULL,
        redline_version   TEXT NOT NULL
    );
    CREATE TABLE assessment_runs (
        assessment_id TEXT NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
        state         TEXT NOT NULL,
        eval          TEXT NOT NULL,
        run_id        TEXT NOT NULL REFERENCES runs (id),
        PRIMARY KEY (assessment_id, state, eval)
    ) WITHOUT ROWID;
    CREATE TABLE determinations (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        assessment_id TEXT NOT NULL REFERENCES assessments (id),
        category      TEXT NOT NULL,
        state         TEXT NOT NULL,
        level         TEXT NOT NULL,
        decided_by    TEXT NOT NULL,
        rationale     TEXT NOT NULL,
        created_at    TEXT NOT NULL
    );
    CREATE TRIGGER determinations_append_only_update BEFORE UPDATE ON determinations
        BEGIN SELECT RAISE(ABORT, 'determinations are append-only'); END;
    CREATE TRIGGER determinations_append_only_delete BEFORE DELETE ON determinations
        BEGIN SELECT RAISE(ABORT, 'determinations are append-only'); END;
    "#,
    // 3: what a run's sequential tests concluded, when it sampled sequentially.
    r#"
    ALTER TABLE runs ADD COLUMN sequential_json TEXT;
    "#,
    // 4: red-team campaigns, their attempts, and findings (from campaigns or people).
    r#"
    CREATE TABLE campaigns (
        id              TEXT PRIMARY KEY,
        fingerprint     TEXT NOT NULL,
        target          TEXT NOT NULL,
        attacker        TEXT NOT NULL,
        judge           TEXT NOT NULL,
        goals_path      TEXT NOT NULL,
        goals_sha256    TEXT NOT NULL,
        settings_json   TEXT NOT NULL,
        planned         INTEGER NOT NULL,
        status          TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        redline_version TEXT NOT NULL
    );
    CREATE INDEX campaigns_fingerprint ON campaigns (fingerprint, created_at);
    CREATE TABLE attempts (
        campaign_id  TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
        goal_id      TEXT NOT NULL,
        attack       TEXT NOT NULL,
        category     TEXT NOT NULL,
        success      INTEGER NOT NULL,
        queries      INTEGER NOT NULL,
        tokens       INTEGER NOT NULL,
        record_json  TEXT NOT NULL,
        completed_at TEXT NOT NULL,
        PRIMARY KEY (campaign_id, goal_id, attack)
    ) WITHOUT ROWID;
    CREATE TABLE findings (
        id              TEXT PRIMARY KEY,
        campaign_id     TEXT REFERENCES campaigns (id) ON DELETE SET NULL,
        goal_id         TEXT NOT NULL,
        goal            TEXT NOT NULL,
        category        TEXT NOT NULL,
        attack          TEXT NOT NULL,
        target          TEXT NOT NULL,
        messages_json   TEXT NOT NULL,
        reply           TEXT NOT NULL,
        rating          REAL,
        judge_reason    TEXT,
        severity        TEXT NOT NULL,
        status          TEXT NOT NULL,
        submitter       TEXT NOT NULL,
        group_id        TEXT NOT NULL,
        promoted_to     TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL
    );
    CREATE INDEX findings_group ON findings (group_id);
    "#,
];

pub(crate) fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).ctx(path)?;
    conn.busy_timeout(Duration::from_secs(30)).ctx(path)?;
    // WAL lets readers work while the writer commits; NORMAL sync survives a killed process
    // (only a power cut can drop the last commits, and resume redoes those samples).
    set_wal(&conn, path)?;
    conn.pragma_update(None, "synchronous", "NORMAL").ctx(path)?;
    conn.pragma_update(None, "foreign_keys", "ON").ctx(path)?;
    Ok(conn)
}

/// Switching a new file to WAL needs an exclusive lock, and SQLite reports a competing opener
/// as BUSY at once instead of calling the busy handler; so wait and retry here (bounded).
fn set_wal(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let mut delay = Duration::from_millis(5);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0)) {
            Ok(_) => return Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(200));
            }
            Err(e) => return Err(e).ctx(path),
        }
    }
}

pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as i64;
    let version = user_version(conn, path)?;
    if version == known {
        return Ok(());
    }
    // IMMEDIATE takes the write lock first, so two processes opening a new store at once
    // migrate one after the other; the version is read again under the lock.
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .ctx(path)?;
    let version = user_version(&tx, path)?;
    if version > known {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: version,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql).ctx(path)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64).ctx(path)?;
    }
    tx.commit().ctx(path)
}

fn user_version(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .ctx(path)
}

pub(crate) fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_newer_schemas() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.db");
        let mut c = connect(&p).unwrap();
        migrate(&mut c, &p).unwrap();
        migrate(&mut c, &p).unwrap();
        let v: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        c.pragma_update(None, "user_version", 99).unwrap();
        assert!(matches!(
            migrate(&mut c, &p),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }
}
