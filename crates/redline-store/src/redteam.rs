//! Red-team campaigns, their attempts, and findings.
//!
//! An attempt is stored whole (as JSON) the moment it ends, so a campaign that is killed
//! resumes with exactly the (goal, attack) pairs it had not finished. A finding is a success
//! worth a person's attention, from a campaign or submitted by hand; near-duplicates share a
//! `group_id` (the id of the group's first finding).

use std::collections::HashSet;

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use crate::error::{SqlContext, StoreError};
use crate::schema::now;
use crate::Store;

#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub fingerprint: String,
    pub target: String,
    pub attacker: String,
    pub judge: String,
    pub goals_path: String,
    pub goals_sha256: String,
    pub settings_json: String,
    pub planned: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CampaignRow {
    pub id: String,
    pub target: String,
    pub attacker: String,
    pub judge: String,
    pub goals_path: String,
    pub goals_sha256: String,
    pub settings: serde_json::Value,
    pub planned: u64,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
}

/// An attempt as the store keeps it; `record_json` is the whole attempt.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    pub goal_id: String,
    pub attack: String,
    pub category: String,
    pub success: bool,
    pub queries: u64,
    pub tokens: u64,
    pub record_json: String,
}

#[derive(Debug, Clone)]
pub struct NewFinding {
    pub campaign_id: Option<String>,
    pub goal_id: String,
    pub goal: String,
    pub category: String,
    pub attack: String,
    pub target: String,
    /// The conversation the target saw, as JSON messages.
    pub messages_json: String,
    pub reply: String,
    pub rating: Option<f64>,
    pub judge_reason: Option<String>,
    pub severity: String,
    pub submitter: String,
    /// The group to join (a near-duplicate's group), or `None` to start one.
    pub group_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingRow {
    pub id: String,
    pub campaign_id: Option<String>,
    pub goal_id: String,
    pub goal: String,
    pub category: String,
    pub attack: String,
    pub target: String,
    pub messages: serde_json::Value,
    pub reply: String,
    pub rating: Option<f64>,
    pub judge_reason: Option<String>,
    pub severity: String,
    pub status: String,
    pub submitter: String,
    pub group_id: String,
    pub promoted_to: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A finding's review states.
pub const FINDING_STATUSES: [&str; 4] = ["new", "confirmed", "false-positive", "fixed"];

const FINDING_COLUMNS: &str =
    "id, campaign_id, goal_id, goal, category, attack, target, messages_json, reply, \
     rating, judge_reason, severity, status, submitter, group_id, promoted_to, created_at, updated_at";

fn finding(r: &Row<'_>) -> rusqlite::Result<FindingRow> {
    let messages: String = r.get(7)?;
    Ok(FindingRow {
        id: r.get(0)?,
        campaign_id: r.get(1)?,
        goal_id: r.get(2)?,
        goal: r.get(3)?,
        category: r.get(4)?,
        attack: r.get(5)?,
        target: r.get(6)?,
        messages: serde_json::from_str(&messages).unwrap_or(serde_json::Value::Null),
        reply: r.get(8)?,
        rating: r.get(9)?,
        judge_reason: r.get(10)?,
        severity: r.get(11)?,
        status: r.get(12)?,
        submitter: r.get(13)?,
        group_id: r.get(14)?,
        promoted_to: r.get(15)?,
        created_at: r.get(16)?,
        updated_at: r.get(17)?,
    })
}

fn campaign(r: &Row<'_>) -> rusqlite::Result<CampaignRow> {
    let settings: String = r.get(6)?;
    Ok(CampaignRow {
        id: r.get(0)?,
        target: r.get(1)?,
        attacker: r.get(2)?,
        judge: r.get(3)?,
        goals_path: r.get(4)?,
        goals_sha256: r.get(5)?,
        settings: serde_json::from_str(&settings).unwrap_or(serde_json::Value::Null),
        planned: r.get::<_, i64>(7)? as u64,
        status: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

const CAMPAIGN_COLUMNS: &str =
    "id, target, attacker, judge, goals_path, goals_sha256, settings_json, planned, status, created_at, updated_at";

impl Store {
    pub fn create_campaign(&self, c: &NewCampaign) -> Result<CampaignRow, StoreError> {
        let id = crate::runs::new_id();
        let at = now();
        self.conn
            .execute(
                "INSERT INTO campaigns (id, fingerprint, target, attacker, judge, goals_path, goals_sha256, \
                 settings_json, planned, status, created_at, updated_at, redline_version) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'running', ?10, ?10, ?11)",
                params![
                    id,
                    c.fingerprint,
                    c.target,
                    c.attacker,
                    c.judge,
                    c.goals_path,
                    c.goals_sha256,
                    c.settings_json,
                    c.planned as i64,
                    at,
                    env!("CARGO_PKG_VERSION")
                ],
            )
            .ctx(&self.path)?;
        self.get_campaign(&id)
    }

    /// The newest unfinished campaign with this fingerprint (same models, goals and settings).
    pub fn find_resumable_campaign(&self, fingerprint: &str) -> Result<Option<CampaignRow>, StoreError> {
        let sql = format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE fingerprint = ?1 AND status != 'complete' \
             ORDER BY created_at DESC LIMIT 1"
        );
        self.conn
            .query_row(&sql, params![fingerprint], campaign)
            .optional()
            .ctx(&self.path)
    }

    pub fn get_campaign(&self, id: &str) -> Result<CampaignRow, StoreError> {
        let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?1");
        self.conn
            .query_row(&sql, params![id], campaign)
            .optional()
            .ctx(&self.path)?
            .ok_or_else(|| StoreError::NoSuchCampaign(id.to_string()))
    }

    pub fn set_campaign_status(&self, id: &str, status: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE campaigns SET status = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, status, now()],
            )
            .ctx(&self.path)?;
        Ok(())
    }

    /// Stores one finished attempt (replacing an earlier one for the same pair).
    pub fn put_attempt(&self, campaign_id: &str, a: &AttemptRow) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO attempts (campaign_id, goal_id, attack, category, success, queries, tokens, \
                 record_json, completed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    campaign_id,
                    a.goal_id,
                    a.attack,
                    a.category,
                    a.success,
                    a.queries as i64,
                    a.tokens as i64,
                    a.record_json,
                    now()
                ],
            )
            .ctx(&self.path)?;
        Ok(())
    }

    pub fn attempts(&self, campaign_id: &str) -> Result<Vec<AttemptRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT goal_id, attack, category, success, queries, tokens, record_json FROM attempts \
                 WHERE campaign_id = ?1 ORDER BY completed_at, goal_id, attack",
            )
            .ctx(&self.path)?;
        let rows = stmt
            .query_map(params![campaign_id], |r| {
                Ok(AttemptRow {
                    goal_id: r.get(0)?,
                    attack: r.get(1)?,
                    category: r.get(2)?,
                    success: r.get(3)?,
                    queries: r.get::<_, i64>(4)? as u64,
                    tokens: r.get::<_, i64>(5)? as u64,
                    record_json: r.get(6)?,
                })
            })
            .ctx(&self.path)?
            .collect::<Result<_, _>>()
            .ctx(&self.path)?;
        Ok(rows)
    }

    /// The (goal, attack) pairs a campaign has finished.
    pub fn attempted_pairs(&self, campaign_id: &str) -> Result<HashSet<(String, String)>, StoreError> {
        Ok(self
            .attempts(campaign_id)?
            .into_iter()
            .map(|a| (a.goal_id, a.attack))
            .collect())
    }

    /// Attempts recorded against a target (by its model spec), over every campaign: the
    /// red-team evidence a framework can require.
    pub fn attempts_against(&self, target: &str) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM attempts a JOIN campaigns c ON c.id = a.campaign_id WHERE c.target = ?1",
                params![target],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .ctx(&self.path)
    }

    pub fn add_finding(&self, f: &NewFinding) -> Result<FindingRow, StoreError> {
        let id = format!("f-{}", crate::runs::new_id());
        let at = now();
        self.conn
            .execute(
                "INSERT INTO findings (id, campaign_id, goal_id, goal, category, attack, target, messages_json, reply, \
                 rating, judge_reason, severity, status, submitter, group_id, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'new', ?13, ?14, ?15, ?15)",
                params![
                    id,
                    f.campaign_id,
                    f.goal_id,
                    f.goal,
                    f.category,
                    f.attack,
                    f.target,
                    f.messages_json,
                    f.reply,
                    f.rating,
                    f.judge_reason,
                    f.severity,
                    f.submitter,
                    f.group_id.clone().unwrap_or_else(|| id.clone()),
                    at
                ],
            )
            .ctx(&self.path)?;
        self.get_finding(&id)
    }

    /// A finding by id or unique id prefix.
    pub fn get_finding(&self, id_or_prefix: &str) -> Result<FindingRow, StoreError> {
        let sql =
            format!("SELECT {FINDING_COLUMNS} FROM findings WHERE id = ?1 OR id LIKE ?2 ESCAPE '\\' LIMIT 2");
        let escaped = id_or_prefix
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
            + "%";
        let mut stmt = self.conn.prepare(&sql).ctx(&self.path)?;
        let rows: Vec<FindingRow> = stmt
            .query_map(params![id_or_prefix, escaped], finding)
            .ctx(&self.path)?
            .collect::<Result<_, _>>()
            .ctx(&self.path)?;
        match rows.as_slice() {
            [] => Err(StoreError::NoSuchFinding(id_or_prefix.to_string())),
            [one] => Ok(one.clone()),
            rows => rows
                .iter()
                .find(|f| f.id == id_or_prefix)
                .cloned()
                .ok_or_else(|| StoreError::AmbiguousRun(id_or_prefix.to_string())),
        }
    }

    /// Findings, oldest first; only those with `status` when given.
    pub fn findings(&self, status: Option<&str>) -> Result<Vec<FindingRow>, StoreError> {
        let sql = format!(
            "SELECT {FINDING_COLUMNS} FROM findings WHERE (?1 IS NULL OR status = ?1) ORDER BY created_at, id"
        );
        let mut stmt = self.conn.prepare(&sql).ctx(&self.path)?;
        let rows = stmt
            .query_map(params![status], finding)
            .ctx(&self.path)?
            .collect::<Result<_, _>>()
            .ctx(&self.path)?;
        Ok(rows)
    }

    pub fn set_finding_status(&self, id: &str, status: &str) -> Result<FindingRow, StoreError> {
        let found = self.get_finding(id)?;
        self.conn
            .execute(
                "UPDATE findings SET status = ?2, updated_at = ?3 WHERE id = ?1",
                params![found.id, status, now()],
            )
            .ctx(&self.path)?;
        self.get_finding(&found.id)
    }

    /// Records the regression eval (`id@version`) a finding was promoted into.
    pub fn set_finding_promoted(&self, id: &str, eval: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE findings SET promoted_to = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, eval, now()],
            )
            .ctx(&self.path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_finding(group: Option<String>) -> NewFinding {
        NewFinding {
            campaign_id: None,
            goal_id: "lock".into(),
            goal: "Explain lock picking".into(),
            category: "locks".into(),
            attack: "pair".into(),
            target: "openai/x".into(),
            messages_json: r#"[{"role":"user","content":"hi"}]"#.into(),
            reply: "Sure".into(),
            rating: Some(10.0),
            judge_reason: Some("RATING: 10".into()),
            severity: "low".into(),
            submitter: "ada".into(),
            group_id: group,
        }
    }

    #[test]
    fn campaigns_attempts_and_findings_round_trip() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("s.db")).expect("opens");
        let c = store
            .create_campaign(&NewCampaign {
                fingerprint: "fp".into(),
                target: "openai/x".into(),
                attacker: "openai/a".into(),
                judge: "openai/j".into(),
                goals_path: "goals.jsonl".into(),
                goals_sha256: "00".into(),
                settings_json: "{}".into(),
                planned: 2,
            })
            .expect("creates");
        assert_eq!(
            store.find_resumable_campaign("fp").expect("reads").map(|r| r.id),
            Some(c.id.clone())
        );
        let attempt = AttemptRow {
            goal_id: "lock".into(),
            attack: "pair".into(),
            category: "locks".into(),
            success: true,
            queries: 3,
            tokens: 90,
            record_json: "{}".into(),
        };
        store.put_attempt(&c.id, &attempt).expect("stores");
        store.put_attempt(&c.id, &attempt).expect("replaces");
        assert_eq!(store.attempts(&c.id).expect("reads").len(), 1);
        assert!(store
            .attempted_pairs(&c.id)
            .expect("reads")
            .contains(&("lock".into(), "pair".into())));
        assert_eq!(store.attempts_against("openai/x").expect("counts"), 1);
        assert_eq!(store.attempts_against("openai/other").expect("counts"), 0);
        store.set_campaign_status(&c.id, "complete").expect("sets");
        assert!(store.find_resumable_campaign("fp").expect("reads").is_none());

        let first = store.add_finding(&new_finding(None)).expect("adds");
        assert_eq!(
            (first.status.as_str(), first.group_id.as_str()),
            ("new", first.id.as_str())
        );
        let second = store
            .add_finding(&new_finding(Some(first.id.clone())))
            .expect("adds");
        assert_eq!(second.group_id, first.id);
        let confirmed = store.set_finding_status(&second.id, "confirmed").expect("sets");
        assert_eq!(confirmed.status, "confirmed");
        assert_eq!(store.findings(Some("confirmed")).expect("lists").len(), 1);
        assert_eq!(store.findings(None).expect("lists").len(), 2);
        store
            .set_finding_promoted(&second.id, "regression/x@1")
            .expect("sets");
        assert_eq!(
            store
                .get_finding(&second.id)
                .expect("reads")
                .promoted_to
                .as_deref(),
            Some("regression/x@1")
        );
        assert!(matches!(
            store.get_finding("f-nope"),
            Err(StoreError::NoSuchFinding(_))
        ));
    }
}
