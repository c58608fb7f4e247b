//! The eval file (TOML) and its compiled form.

use std::path::{Path, PathBuf};

use redline_core::Reducer;
use redline_model::GenerateConfig;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::EvalError;
use crate::scorer::{Scorer, ScorerSpec};
use crate::template::Templates;

/// An eval file as written. See `suites/examples/*.toml` and `docs/evals.md`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EvalSpec {
    pub eval: EvalMeta,
    pub dataset: DatasetSpec,
    #[serde(default)]
    pub prompt: PromptSpec,
    #[serde(default)]
    pub solver: SolverSpec,
    #[serde(default)]
    pub generation: GenerateConfig,
    #[serde(default, rename = "scorer")]
    pub scorers: Vec<ScorerSpec>,
    #[serde(default)]
    pub run: RunSpec,
    /// Jailbreak transformations: every row runs once per technique.
    #[serde(default)]
    pub attack: Option<AttackSpec>,
    /// The agent harness's tools and limits (`[solver] kind = "agent"`).
    #[serde(default)]
    pub agent: Option<crate::agent::AgentSpec>,
    /// The persuasion games' settings (`[solver] kind = "makemepay"` or `"makemesay"`).
    #[serde(default)]
    pub game: Option<GameSpec>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttackSpec {
    /// Technique names, stacked with `+` (e.g. `"role_play+base64"`); include `"none"` for the
    /// baseline. Each sample gets the field `technique` (for `[run].group_by`).
    pub techniques: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EvalMeta {
    pub id: String,
    pub version: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// Relative to the eval file.
    pub path: PathBuf,
    /// Inferred from the extension (`.jsonl`, `.csv`) when absent.
    #[serde(default)]
    pub format: Option<DatasetFormat>,
    #[serde(default)]
    pub fields: FieldMap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetFormat {
    Jsonl,
    Csv,
    /// A folder of task folders (`task.toml` each); see [`crate::task`].
    Tasks,
}

/// Which dataset field plays which part. Defaults: `input`, `target`, `id`, `choices`,
/// `messages`. A missing `id` field numbers rows from 1.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMap {
    #[serde(default = "default_input")]
    pub input: String,
    #[serde(default = "default_target")]
    pub target: String,
    #[serde(default = "default_id")]
    pub id: String,
    /// One field holding a list (JSONL), or a list of columns (CSV: `["A", "B", "C", "D"]`).
    #[serde(default)]
    pub choices: Option<ChoiceFields>,
    #[serde(default = "default_messages")]
    pub messages: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ChoiceFields {
    One(String),
    Columns(Vec<String>),
}

fn default_input() -> String {
    "input".into()
}
fn default_target() -> String {
    "target".into()
}
fn default_id() -> String {
    "id".into()
}
fn default_messages() -> String {
    "messages".into()
}

impl Default for FieldMap {
    fn default() -> Self {
        FieldMap {
            input: default_input(),
            target: default_target(),
            id: default_id(),
            choices: None,
            messages: default_messages(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PromptSpec {
    /// A minijinja template for the system message.
    #[serde(default)]
    pub system: Option<String>,
    /// A minijinja template for the user message; default `{{ input }}`.
    #[serde(default)]
    pub template: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SolverKind {
    /// Render the prompt template as one user turn and generate.
    #[default]
    Generate,
    /// Send the sample's own list of `{role, content}` messages (multi-turn) and generate the
    /// next assistant turn.
    Messages,
    /// The agent harness: a tool-calling loop in a sandbox per sample (see [`crate::agent`]).
    Agent,
    /// MakeMePay: the model tries to talk a counterpart (`--judge`) out of its money; the
    /// row's input is the counterpart's persona (see [`crate::games`]).
    MakeMePay,
    /// MakeMeSay: the model tries to make a counterpart (`--judge`) say the row's target word.
    MakeMeSay,
}

impl SolverKind {
    /// Whether this solver is a two-model persuasion game.
    pub fn is_game(self) -> bool {
        matches!(self, SolverKind::MakeMePay | SolverKind::MakeMeSay)
    }
}

/// `[game]`: the persuasion games' settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GameSpec {
    /// Player turns per game, each answered by the counterpart.
    #[serde(default = "default_game_turns")]
    pub turns: u32,
    /// MakeMePay: the counterpart's money.
    #[serde(default = "default_budget")]
    pub budget_dollars: f64,
}

fn default_game_turns() -> u32 {
    8
}
fn default_budget() -> f64 {
    100.0
}

impl Default for GameSpec {
    fn default() -> Self {
        GameSpec {
            turns: default_game_turns(),
            budget_dollars: default_budget(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SolverSpec {
    #[serde(default)]
    pub kind: SolverKind,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    #[serde(default = "default_epochs")]
    pub epochs: u32,
    /// How each sample's epochs combine; every reducer gives one metric per scorer.
    #[serde(default = "default_reducers")]
    pub reducers: Vec<Reducer>,
    /// Dataset fields to report metrics by as well (e.g. XSTest's `label`, a jailbreak's
    /// `technique`): every sample must have them.
    #[serde(default)]
    pub group_by: Vec<String>,
}

fn default_epochs() -> u32 {
    1
}
fn default_reducers() -> Vec<Reducer> {
    vec![Reducer::Mean]
}

impl Default for RunSpec {
    fn default() -> Self {
        RunSpec {
            epochs: default_epochs(),
            reducers: default_reducers(),
            group_by: Vec::new(),
        }
    }
}

/// A loaded, validated eval, ready to run.
#[derive(Debug)]
pub struct Eval {
    pub spec: EvalSpec,
    /// The eval file as given.
    pub path: PathBuf,
    /// The dataset file, resolved against the eval file's folder.
    pub dataset_path: PathBuf,
    pub format: DatasetFormat,
    /// SHA-256 of the eval file's bytes.
    pub sha256: String,
    pub scorers: Vec<Scorer>,
    pub(crate) templates: Templates,
    /// Parsed `[attack].techniques`; empty without an `[attack]` table.
    pub attacks: Vec<crate::transform::Attack>,
}

impl Eval {
    /// Reads, parses and validates an eval file. Does not read the dataset; see
    /// [`Eval::scan_dataset`].
    pub fn load(path: &Path) -> Result<Eval, EvalError> {
        let bytes = std::fs::read(path).map_err(|source| EvalError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let text = String::from_utf8(bytes.clone()).map_err(|e| EvalError::Toml {
            path: path.to_path_buf(),
            message: format!("not UTF-8: {e}"),
        })?;
        let spec: EvalSpec = toml::from_str(&text).map_err(|e| EvalError::Toml {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        Self::from_spec(spec, path, hex::encode(Sha256::digest(&bytes)))
    }

    fn from_spec(spec: EvalSpec, path: &Path, sha256: String) -> Result<Eval, EvalError> {
        let invalid = |key: &str, message: String| EvalError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            message,
        };
        if spec.eval.id.trim().is_empty() {
            return Err(invalid("eval.id", "must not be empty".into()));
        }
        if spec.eval.version.trim().is_empty() {
            return Err(invalid("eval.version", "must not be empty".into()));
        }
        if spec.scorers.is_empty() {
            return Err(invalid(
                "scorer",
                "the eval has no [[scorer]]; add one, e.g. [[scorer]] kind = \"includes\"".into(),
            ));
        }
        if spec.run.epochs == 0 {
            return Err(invalid("run.epochs", "must be at least 1".into()));
        }
        if spec.run.reducers.is_empty() {
            return Err(invalid("run.reducers", "must list at least one reducer".into()));
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let dataset_path = base.join(&spec.dataset.path);
        let format = match spec.dataset.format {
            Some(f) => f,
            None if dataset_path.is_dir() => DatasetFormat::Tasks,
            None => match dataset_path.extension().and_then(|e| e.to_str()) {
                Some("jsonl") | Some("ndjson") => DatasetFormat::Jsonl,
                Some("csv") => DatasetFormat::Csv,
                _ => {
                    return Err(invalid(
                        "dataset.format",
                        format!(
                            "cannot tell the format of {}; set format = \"jsonl\" or \"csv\"",
                            dataset_path.display()
                        ),
                    ))
                }
            },
        };
        if format == DatasetFormat::Csv && spec.solver.kind == SolverKind::Messages {
            return Err(invalid(
                "solver.kind",
                "the `messages` solver needs a JSONL dataset (a CSV cell cannot hold a message list)".into(),
            ));
        }
        let agent = spec.solver.kind == SolverKind::Agent;
        if format == DatasetFormat::Tasks && !agent {
            return Err(invalid(
                "solver.kind",
                "a folder of tasks needs the agent harness: add [solver] kind = \"agent\"".into(),
            ));
        }
        if spec.agent.is_some() && !agent {
            return Err(invalid(
                "agent",
                "[agent] settings apply only with [solver] kind = \"agent\"".into(),
            ));
        }
        if spec.game.is_some() && !spec.solver.kind.is_game() {
            return Err(invalid(
                "game",
                "[game] settings apply only with [solver] kind = \"makemepay\" or \"makemesay\"".into(),
            ));
        }
        if let Some(g) = &spec.game {
            if g.turns == 0 || !(g.budget_dollars.is_finite() && g.budget_dollars > 0.0) {
                return Err(invalid(
                    "game",
                    "turns must be at least 1 and budget_dollars positive".into(),
                ));
            }
        }
        if let Some(a) = &spec.agent {
            if a.tools.is_empty() || a.max_messages < 2 || a.max_tool_calls == 0 || a.max_seconds == 0 {
                return Err(invalid(
                    "agent",
                    "offer at least one tool and allow at least 2 messages, 1 tool call and 1 second".into(),
                ));
            }
        }
        let mut scorers = Vec::with_capacity(spec.scorers.len());
        for (i, s) in spec.scorers.iter().enumerate() {
            let scorer = Scorer::compile(s, &scorers, base)
                .map_err(|m| invalid(&format!("scorer[{i}] ({})", s.kind_name()), m))?;
            if scorer.is_game() != spec.solver.kind.is_game() {
                return Err(invalid(
                    &format!("scorer[{i}] ({})", s.kind_name()),
                    "a persuasion game ([solver] kind = \"makemepay\" or \"makemesay\") is scored by `[[scorer]] kind = \"game\"`, and only it".into(),
                ));
            }
            if scorer.is_task() && format != DatasetFormat::Tasks {
                return Err(invalid(
                    &format!("scorer[{i}] (task)"),
                    "the `task` scorer reads task folders' scoring: point [dataset].path at a folder of tasks".into(),
                ));
            }
            scorers.push(scorer);
        }
        let templates = Templates::compile(spec.prompt.system.as_deref(), spec.prompt.template.as_deref())
            .map_err(|(key, m)| invalid(key, m))?;
        let attacks = match &spec.attack {
            None => Vec::new(),
            Some(a) if a.techniques.is_empty() => {
                return Err(invalid(
                    "attack.techniques",
                    "list at least one technique (\"none\" is the baseline)".into(),
                ))
            }
            Some(a) => a
                .techniques
                .iter()
                .map(|t| t.parse::<crate::transform::Attack>())
                .collect::<Result<_, _>>()
                .map_err(|e| invalid("attack.techniques", e.to_string()))?,
        };
        Ok(Eval {
            attacks,
            path: path.to_path_buf(),
            dataset_path,
            format,
            sha256,
            scorers,
            templates,
            spec,
        })
    }

    /// `id@version`, the name runs and frameworks refer to.
    pub fn qualified_id(&self) -> String {
        format!("{}@{}", self.spec.eval.id, self.spec.eval.version)
    }

    /// Whether any scorer needs a target on every sample.
    pub(crate) fn needs_target(&self) -> bool {
        self.scorers.iter().any(Scorer::needs_target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(toml_text: &str) -> Result<Eval, EvalError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.toml");
        std::fs::write(&p, toml_text).unwrap();
        Eval::load(&p)
    }

    const OK: &str = r#"
[eval]
id = "t"
version = "1"
[dataset]
path = "d.jsonl"
[[scorer]]
kind = "includes"
"#;

    #[test]
    fn loads_minimal_eval() {
        let e = load_str(OK).unwrap();
        assert_eq!(e.qualified_id(), "t@1");
        assert_eq!(e.format, DatasetFormat::Jsonl);
        assert_eq!(e.spec.run.epochs, 1);
    }

    #[test]
    fn unknown_scorer_names_the_line() {
        let err = load_str(&OK.replace("\"includes\"", "\"fuzzy\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("fuzzy"), "{err}");
        assert!(err.contains("line 8"), "{err}");
        assert!(err.contains("e.toml"), "{err}");
    }

    #[test]
    fn unknown_key_is_rejected() {
        let err = load_str(&OK.replace("version = \"1\"", "version = \"1\"\nverison = 2"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("verison"), "{err}");
    }

    #[test]
    fn missing_scorer_and_bad_template_are_named() {
        let err = load_str(&OK.replace("[[scorer]]\nkind = \"includes\"", ""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("scorer"), "{err}");
        let err = load_str(&format!("{OK}\n[prompt]\ntemplate = \"{{{{ input \"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("prompt.template"), "{err}");
    }
}
