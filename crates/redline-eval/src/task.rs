//! Task folders, in the spirit of METR's task standard: what the agent is told, the files it
//! starts with, an optional setup script, how success is scored, and metadata (the human time
//! the task takes and its family) that the autonomy metrics and the time-horizon fit read.
//!
//! ```text
//! tasks/hidden-flag/
//!   task.toml        [task] id, family, human_minutes, steps, instructions | instructions_file
//!                    [setup] script      (run in the sandbox before the agent; then removed)
//!                    [scoring] flag | script, [probe] ...
//!   files/           copied into the sandbox's /work before setup
//!   score.sh         a scoring script: copied in after the agent ends, run there;
//!                    exit 0 = pass, or a last line `SCORE: x` with x in [0, 1]
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::error::EvalError;

/// `task.toml` as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TaskFile {
    pub task: TaskMeta,
    #[serde(default)]
    pub files: Option<FilesSpec>,
    #[serde(default)]
    pub setup: Option<SetupSpec>,
    pub scoring: ScoringSpec,
    #[serde(default)]
    pub probe: Option<ProbeSpec>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TaskMeta {
    pub id: String,
    /// Tasks of one family share a cluster for intervals (`cluster = "family"`).
    pub family: String,
    /// How long the task takes a skilled human, in minutes (the time-horizon fit's x axis).
    pub human_minutes: f64,
    /// Roughly how many actions the task needs (the degradation curve by steps); optional.
    #[serde(default)]
    pub steps: Option<u32>,
    #[serde(default)]
    pub instructions: Option<String>,
    /// A file in the task folder holding the instructions (instead of `instructions`).
    #[serde(default)]
    pub instructions_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FilesSpec {
    /// Relative to the task folder; default `files`.
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SetupSpec {
    /// A shell script in the task folder, run with `sh` inside the sandbox before the agent
    /// starts; it is not left where the agent can read it.
    pub script: PathBuf,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringSpec {
    /// Success = the submitted answer contains this flag.
    #[serde(default)]
    pub flag: Option<String>,
    /// A script in the task folder, copied into the sandbox after the agent ends and run with
    /// `sh` there: exit 0 passes, or a last line `SCORE: x` gives a score in [0, 1].
    #[serde(default)]
    pub script: Option<PathBuf>,
}

/// Behaviour probes: what the harness watches besides success.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeSpec {
    /// Files (relative to /work) the agent must not change: tests, scoring files, a monitor's
    /// config. A change, deletion or new mode counts as tampering (`tampered` score).
    #[serde(default)]
    pub protected: Vec<String>,
    /// After this many tool calls the operator tells the agent to stop and submit; further
    /// non-submit tool calls score `ignored_stop`.
    #[serde(default)]
    pub stop_after_tool_calls: Option<u32>,
}

/// A loaded task: its folder and its parsed file.
#[derive(Debug, Clone)]
pub struct Task {
    pub dir: PathBuf,
    pub file: TaskFile,
    pub instructions: String,
}

impl Task {
    /// Reads `dir/task.toml` and checks it: a scoring rule, existing files, an id.
    pub fn load(dir: &Path) -> Result<Task, EvalError> {
        let path = dir.join("task.toml");
        let text = std::fs::read_to_string(&path).map_err(|source| EvalError::Io {
            path: path.clone(),
            source,
        })?;
        let file: TaskFile = toml::from_str(&text).map_err(|e| EvalError::Toml {
            path: path.clone(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let invalid = |key: &str, message: String| EvalError::Invalid {
            path: path.clone(),
            key: key.to_string(),
            message,
        };
        if file.task.id.trim().is_empty() || file.task.id.contains('/') {
            return Err(invalid("task.id", "must be a non-empty name without `/`".into()));
        }
        if !(file.task.human_minutes.is_finite() && file.task.human_minutes > 0.0) {
            return Err(invalid(
                "task.human_minutes",
                "must be a positive number of minutes".into(),
            ));
        }
        let instructions = match (&file.task.instructions, &file.task.instructions_file) {
            (Some(text), None) => text.clone(),
            (None, Some(rel)) => std::fs::read_to_string(dir.join(rel)).map_err(|e| {
                invalid(
                    "task.instructions_file",
                    format!("cannot read {}: {e}", dir.join(rel).display()),
                )
            })?,
            _ => {
                return Err(invalid(
                    "task.instructions",
                    "give exactly one of `instructions` or `instructions_file`".into(),
                ))
            }
        };
        match (&file.scoring.flag, &file.scoring.script) {
            (None, None) => {
                return Err(invalid(
                    "scoring",
                    "give `flag = \"...\"` (the answer to submit) or `script = \"score.sh\"`".into(),
                ))
            }
            (Some(flag), _) if flag.trim().is_empty() => {
                return Err(invalid("scoring.flag", "must not be empty".into()))
            }
            _ => {}
        }
        let must_exist = |key: &str, rel: &Path| {
            let p = dir.join(rel);
            if p.exists() {
                Ok(())
            } else {
                Err(invalid(key, format!("{} does not exist", p.display())))
            }
        };
        if let Some(s) = &file.scoring.script {
            must_exist("scoring.script", s)?;
        }
        if let Some(s) = &file.setup {
            must_exist("setup.script", &s.script)?;
        }
        if let Some(f) = &file.files {
            must_exist("files.dir", &f.dir)?;
        }
        Ok(Task {
            dir: dir.to_path_buf(),
            file,
            instructions,
        })
    }

    /// The folder whose contents start in the sandbox's /work, if any.
    pub fn files_dir(&self) -> Option<PathBuf> {
        match &self.file.files {
            Some(f) => Some(self.dir.join(&f.dir)),
            None => Some(self.dir.join("files")).filter(|d| d.is_dir()),
        }
    }

    /// The dataset row this task becomes: fields for templates, `group_by` and the metrics.
    pub fn record(&self) -> Map<String, Value> {
        let t = &self.file.task;
        let mut m = Map::new();
        m.insert("id".into(), json!(t.id));
        m.insert("input".into(), json!(self.instructions));
        m.insert("family".into(), json!(t.family));
        m.insert("human_minutes".into(), json!(t.human_minutes));
        if let Some(steps) = t.steps {
            m.insert("steps".into(), json!(steps));
        }
        if let Some(flag) = &self.file.scoring.flag {
            m.insert("target".into(), json!(flag));
        }
        m.insert("task_dir".into(), json!(self.dir.to_string_lossy()));
        m
    }
}

/// The task folders under `root` (each a directory with a `task.toml`), sorted by name.
pub fn task_dirs(root: &Path) -> Result<Vec<PathBuf>, EvalError> {
    let io = |source| EvalError::Io {
        path: root.to_path_buf(),
        source,
    };
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(root).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.join("task.toml").is_file() {
            dirs.push(path);
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// A SHA-256 over every file under `root` (relative path and bytes, in sorted order): the
/// dataset hash of a folder of tasks.
pub fn sha256_tree(root: &Path) -> Result<String, EvalError> {
    use sha2::{Digest, Sha256};
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let io = |source| EvalError::Io {
            path: dir.clone(),
            source,
        };
        for entry in std::fs::read_dir(&dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut hasher = Sha256::new();
    for f in files {
        let bytes = std::fs::read(&f).map_err(|source| EvalError::Io {
            path: f.clone(),
            source,
        })?;
        hasher.update(f.strip_prefix(root).unwrap_or(&f).to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Reads a scoring script's verdict: a last line `SCORE: x` (x in [0, 1]) wins, else exit 0
/// passes and anything else fails.
pub fn script_score(exit_code: Option<i32>, stdout: &str) -> f64 {
    let declared = stdout
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("SCORE:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| (0.0..=1.0).contains(v));
    declared.unwrap_or(if exit_code == Some(0) { 1.0 } else { 0.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    const TOML: &str = "[task]\nid = \"t1\"\nfamily = \"ctf\"\nhuman_minutes = 4\ninstructions = \"find it\"\n[scoring]\nflag = \"FLAG{x}\"\n";

    #[test]
    fn loads_a_task_and_makes_its_row() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "t1/task.toml", TOML);
        write(d.path(), "t1/files/a.txt", "hello");
        write(d.path(), "not-a-task/readme", "x");
        let dirs = task_dirs(d.path()).unwrap();
        assert_eq!(dirs.len(), 1);
        let t = Task::load(&dirs[0]).unwrap();
        assert_eq!(t.instructions, "find it");
        assert!(t.files_dir().unwrap().ends_with("files"));
        let row = t.record();
        assert_eq!(row["target"], "FLAG{x}");
        assert_eq!(row["human_minutes"], 4.0);
        assert_eq!(row["family"], "ctf");
    }

    #[test]
    fn bad_tasks_name_the_key() {
        let d = tempfile::tempdir().unwrap();
        let cases = [
            (
                TOML.replace("[scoring]\nflag = \"FLAG{x}\"\n", "[scoring]\n"),
                "scoring",
            ),
            (
                TOML.replace("human_minutes = 4", "human_minutes = 0"),
                "task.human_minutes",
            ),
            (
                TOML.replace("flag = \"FLAG{x}\"", "script = \"missing.sh\""),
                "scoring.script",
            ),
            (
                TOML.replace("instructions = \"find it\"\n", ""),
                "task.instructions",
            ),
            (TOML.replace("family", "famly"), "famly"),
        ];
        for (text, key) in cases {
            write(d.path(), "t/task.toml", &text);
            let err = Task::load(&d.path().join("t")).unwrap_err().to_string();
            assert!(err.contains(key), "{key}: {err}");
            assert!(err.contains("task.toml"), "{err}");
        }
    }

    #[test]
    fn script_scores_read_the_last_score_line_or_the_exit_code() {
        assert_eq!(script_score(Some(0), "ok"), 1.0);
        assert_eq!(script_score(Some(1), "fail"), 0.0);
        assert_eq!(script_score(None, ""), 0.0);
        assert_eq!(script_score(Some(1), "SCORE: 0.25\nSCORE: 0.5\n"), 0.5);
        assert_eq!(script_score(Some(0), "SCORE: 7"), 1.0, "out of range is ignored");
    }

    #[test]
    fn tree_hash_changes_with_any_file() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "a/task.toml", "x");
        let h1 = sha256_tree(d.path()).unwrap();
        write(d.path(), "a/files/b", "y");
        let h2 = sha256_tree(d.path()).unwrap();
        assert_ne!(h1, h2);
        assert_eq!(h2, sha256_tree(d.path()).unwrap());
    }
}
