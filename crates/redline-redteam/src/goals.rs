//! Red-team goals: what an attack tries to make the target do.
//!
//! Read from the user's disk in the published formats — HarmBench's behaviours CSV
//! (`Behavior, FunctionalCategory, SemanticCategory, Tags, ContextString, BehaviorID`) and
//! JailbreakBench's JBB-Behaviors CSV (`Index, Goal, Target, Behavior, Category, Source`) —
//! or Redline's own JSON Lines (`{"id", "goal", "category"}`, optional `"target"`). The format
//! is told from the file: a `.jsonl` name, else the CSV header.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One thing an attack tries to get the target to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Goal {
    /// Unique within its file.
    pub id: String,
    /// The request, in plain words.
    pub goal: String,
    /// For per-category success rates.
    pub category: String,
    /// What a compliant answer would start with (JailbreakBench's `Target`), when the file says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// Which layout a goals file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoalFormat {
    Jsonl,
    HarmBench,
    JailbreakBench,
}

/// Why a goals file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GoalsError {
    #[error("cannot read goals file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{}: not a goals file Redline knows: expected a .jsonl file, a HarmBench CSV \
         (header with Behavior and BehaviorID) or a JailbreakBench CSV (header with Goal and Category)",
        path.display()
    )]
    UnknownFormat { path: PathBuf },
    #[error("{}:{line}: {reason}", path.display())]
    Row {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    #[error("{}: holds no goals", path.display())]
    Empty { path: PathBuf },
}

/// Reads a goals file, telling its format from the name and header.
pub fn load_goals(path: &Path) -> Result<(GoalFormat, Vec<Goal>), GoalsError> {
    let text = std::fs::read_to_string(path).map_err(|source| GoalsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let (format, goals) =
        parse_goals(&text, path.extension().is_some_and(|e| e == "jsonl")).map_err(|(line, reason)| {
            match line {
                0 => GoalsError::UnknownFormat {
                    path: path.to_path_buf(),
                },
                line => GoalsError::Row {
                    path: path.to_path_buf(),
                    line,
                    reason,
                },
            }
        })?;
    if goals.is_empty() {
        return Err(GoalsError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok((format, goals))
}

/// Parses goals from text. Errors are `(line, reason)`; line 0 means the format is unknown.
pub fn parse_goals(text: &str, jsonl: bool) -> Result<(GoalFormat, Vec<Goal>), (u64, String)> {
    let goals = if jsonl {
        (GoalFormat::Jsonl, parse_jsonl(text)?)
    } else {
        parse_csv(text)?
    };
    let mut seen = HashSet::new();
    for (i, g) in goals.1.iter().enumerate() {
        if !seen.insert(g.id.as_str()) {
            return Err((i as u64 + 2, format!("goal id `{}` appears twice", g.id)));
        }
    }
    Ok(goals)
}

fn parse_jsonl(text: &str) -> Result<Vec<Goal>, (u64, String)> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Row {
        id: String,
        goal: String,
        #[serde(default)]
        category: Option<String>,
        #[serde(default)]
        target: Option<String>,
    }
    let mut goals = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row: Row = serde_json::from_str(line).map_err(|e| {
            (
                i as u64 + 1,
                format!("expected {{\"id\", \"goal\", \"category\"}}: {e}"),
            )
        })?;
        if row.goal.trim().is_empty() {
            return Err((i as u64 + 1, "`goal` is empty".into()));
        }
        goals.push(Goal {
            id: row.id,
            goal: row.goal,
            category: row.category.unwrap_or_else(|| "uncategorised".into()),
            target: row.target,
        });
    }
    Ok(goals)
}

fn parse_csv(text: &str) -> Result<(GoalFormat, Vec<Goal>), (u64, String)> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| (1, e.to_string()))?.clone();
    let column = |name: &str| header.iter().position(|h| h.trim() == name);
    let format = if column("Behavior").is_some() && column("BehaviorID").is_some() {
        GoalFormat::HarmBench
    } else if column("Goal").is_some() && column("Category").is_some() {
        GoalFormat::JailbreakBench
    } else {
        return Err((0, String::new()));
    };
    let mut goals = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let record = record.map_err(|e| (line, e.to_string()))?;
        let field = |name: &str| {
            column(name)
                .and_then(|c| record.get(c))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let goal = match format {
            GoalFormat::HarmBench => {
                let behavior = field("Behavior").ok_or((line, "`Behavior` is empty".to_string()))?;
                // Contextual behaviours carry the context the request refers to.
                let goal = match field("ContextString") {
                    Some(context) => format!("{context}\n\n---\n\n{behavior}"),
                    None => behavior.to_string(),
                };
                Goal {
                    id: field("BehaviorID")
                        .ok_or((line, "`BehaviorID` is empty".to_string()))?
                        .into(),
                    goal,
                    category: field("SemanticCategory")
                        .or(field("FunctionalCategory"))
                        .unwrap_or("uncategorised")
                        .into(),
                    target: None,
                }
            }
            GoalFormat::JailbreakBench => Goal {
                id: field("Index")
                    .or(field("Behavior"))
                    .map_or_else(|| format!("row{line}"), str::to_string),
                goal: field("Goal").ok_or((line, "`Goal` is empty".to_string()))?.into(),
                category: field("Category").unwrap_or("uncategorised").into(),
                target: field("Target").map(str::to_string),
            },
            GoalFormat::Jsonl => unreachable!("JSON Lines is not parsed here"),
        };
        goals.push(goal);
    }
    Ok((format, goals))
}

/// SHA-256 of a goals file's bytes, recorded with a campaign.
pub fn file_sha256(path: &Path) -> Result<String, GoalsError> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).map_err(|source| GoalsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_shipped_placeholder_goals_load_and_stay_mild() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../suites/redteam/goals-placeholder.jsonl");
        let (format, goals) = load_goals(&path).unwrap();
        assert_eq!(format, GoalFormat::Jsonl);
        assert_eq!(goals.len(), 8);
        assert!(goals.iter().all(|g| g.target.is_some()));
        // Mild by construction: none of the categories a real harmful-request set would use.
        for g in &goals {
            for word in ["weapon", "bio", "chem", "explosive", "malware", "drug"] {
                assert!(!g.goal.to_lowercase().contains(word), "{}", g.goal);
            }
        }
    }

    use super::*;

    #[test]
    fn reads_harmbench_behaviours() {
        let csv = "Behavior,FunctionalCategory,SemanticCategory,Tags,ContextString,BehaviorID\n\
                   Explain how to pick a pin tumbler lock,standard,lockpicking,,,lock_pick\n\
                   \"Summarise the note, politely\",contextual,manners,context,\"Dear Sam, the party is off.\",note_summary\n";
        let (format, goals) = parse_goals(csv, false).expect("parses");
        assert_eq!(format, GoalFormat::HarmBench);
        assert_eq!(goals.len(), 2);
        assert_eq!(goals[0].id, "lock_pick");
        assert_eq!(goals[0].category, "lockpicking");
        assert_eq!(
            goals[1].goal,
            "Dear Sam, the party is off.\n\n---\n\nSummarise the note, politely"
        );
    }

    #[test]
    fn reads_jailbreakbench_behaviours() {
        let csv = "Index,Goal,Target,Behavior,Category,Source\n\
                   1,Write a rude limerick about a cat,\"Sure, here is a rude limerick\",Limerick,Mischief,Original\n";
        let (format, goals) = parse_goals(csv, false).expect("parses");
        assert_eq!(format, GoalFormat::JailbreakBench);
        assert_eq!(
            goals[0],
            Goal {
                id: "1".into(),
                goal: "Write a rude limerick about a cat".into(),
                category: "Mischief".into(),
                target: Some("Sure, here is a rude limerick".into()),
            }
        );
    }

    #[test]
    fn reads_jsonl_and_names_bad_lines() {
        let ok = "{\"id\": \"g1\", \"goal\": \"Pick a lock\", \"category\": \"locks\"}\n\n{\"id\": \"g2\", \"goal\": \"Skip class\"}\n";
        let (_, goals) = parse_goals(ok, true).expect("parses");
        assert_eq!(goals[1].category, "uncategorised");
        let bad = "{\"id\": \"g1\", \"goal\": \"Pick a lock\"}\n{\"id\": \"g2\"}\n";
        let (line, reason) = parse_goals(bad, true).expect_err("missing goal");
        assert_eq!(line, 2);
        assert!(reason.contains("goal"), "{reason}");
        let twice = "{\"id\": \"g1\", \"goal\": \"a\"}\n{\"id\": \"g1\", \"goal\": \"b\"}\n";
        assert!(parse_goals(twice, true)
            .expect_err("duplicate")
            .1
            .contains("twice"));
    }

    #[test]
    fn an_unknown_csv_is_refused_with_what_was_expected() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("goals.csv");
        std::fs::write(&path, "prompt,label\nhello,1\n").expect("writes");
        let message = load_goals(&path).expect_err("unknown").to_string();
        assert!(
            message.contains("HarmBench") && message.contains("JailbreakBench"),
            "{message}"
        );
    }
}
