//! How far the campaign's judge can be trusted: its verdicts on replies people have labelled
//! jailbroken or safe, as accuracy, Cohen's kappa and a confusion matrix. A campaign report
//! states this next to the judge's name when a labelled file is given.

use std::path::Path;

use futures::StreamExt;
use redline_core::safety::{agreement, Agreement};
use redline_model::{call_with_retry, ChatRequest, Model, ModelError, RetryPolicy};
use serde::Serialize;
use serde_json::Value;

use crate::session::{judge_config, judge_messages, read_rating};

/// The predicted class of a verdict that could not be read.
pub const UNREADABLE: &str = "(unreadable)";

/// One labelled reply.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledReply {
    pub goal: String,
    pub response: String,
    pub jailbroken: bool,
}

/// The judge's agreement with the labels.
#[derive(Debug, Clone, Serialize)]
pub struct JudgeAgreement {
    pub labels_file: String,
    pub n: usize,
    pub unreadable: usize,
    /// The success rating the campaign uses: a rating at or above it predicts `jailbroken`.
    pub success_rating: f64,
    #[serde(flatten)]
    pub agreement: Agreement,
}

/// Why a labels file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LabelsError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Line {
        path: String,
        line: usize,
        message: String,
    },
    #[error("{0}: no labelled replies")]
    Empty(String),
}

/// Reads JSON Lines of labelled replies: the goal (`goal` or HarmBench's `behavior`), the reply
/// (`response`, `target_response` as in JailbreakBench's judge comparison, or `generation`) and
/// the label (`label` as `jailbroken`/`safe`, or `human_majority` / `label` as 1/0 or
/// true/false).
pub fn load_labelled(path: &Path) -> Result<Vec<LabelledReply>, LabelsError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| LabelsError::Io {
        path: shown.clone(),
        source,
    })?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| LabelsError::Line {
            path: shown.clone(),
            line: i + 1,
            message,
        };
        let v: Value = serde_json::from_str(line).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        let text_of = |keys: &[&str]| {
            keys.iter()
                .find_map(|k| v.get(*k).and_then(Value::as_str))
                .map(String::from)
        };
        let goal =
            text_of(&["goal", "behavior"]).ok_or_else(|| bad("missing `goal` (or `behavior`)".into()))?;
        let response = text_of(&["response", "target_response", "generation"])
            .ok_or_else(|| bad("missing `response` (or `target_response`, `generation`)".into()))?;
        let label = ["label", "human_majority"].iter().find_map(|k| v.get(*k));
        let jailbroken = match label {
            Some(Value::String(s)) if s.eq_ignore_ascii_case("jailbroken") || s == "1" => true,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("safe") || s == "0" => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) if n.as_f64() == Some(1.0) => true,
            Some(Value::Number(n)) if n.as_f64() == Some(0.0) => false,
            other => {
                return Err(bad(format!(
                    "`label` must be \"jailbroken\" or \"safe\" (or 1/0, true/false), not {}",
                    other.map_or("nothing".to_string(), Value::to_string)
                )))
            }
        };
        rows.push(LabelledReply {
            goal,
            response,
            jailbroken,
        });
    }
    if rows.is_empty() {
        return Err(LabelsError::Empty(shown));
    }
    Ok(rows)
}

/// Asks `judge` about every labelled reply (`concurrency` at once) with the campaign's judge
/// prompt, and compares its calls (rating ≥ `success_rating` → jailbroken) with the labels.
/// Unreadable verdicts are their own class, so they count against agreement.
pub async fn check_judge(
    judge: &dyn Model,
    rows: &[LabelledReply],
    labels_file: &str,
    success_rating: f64,
    retry: &RetryPolicy,
    concurrency: usize,
) -> Result<JudgeAgreement, ModelError> {
    let verdicts: Vec<Result<Option<f64>, ModelError>> = futures::stream::iter(rows)
        .map(|row| async move {
            let request = ChatRequest {
                config: judge_config(),
                ..ChatRequest::new(judge_messages(&row.goal, &row.response))
            };
            let (answer, _) = call_with_retry(judge, &request, retry, |_| {}).await;
            answer.map(|a| read_rating(&a.content).ok())
        })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    let class = |jailbroken: bool| if jailbroken { "jailbroken" } else { "safe" }.to_string();
    let labels: Vec<String> = rows.iter().map(|r| class(r.jailbroken)).collect();
    let mut predictions = Vec::with_capacity(rows.len());
    let mut unreadable = 0;
    for v in verdicts {
        predictions.push(match v? {
            Some(rating) => class(rating >= success_rating),
            None => {
                unreadable += 1;
                UNREADABLE.to_string()
            }
        });
    }
    let agreement = agreement(&labels, &predictions).map_err(|e| ModelError::Malformed(e.to_string()))?;
    Ok(JudgeAgreement {
        labels_file: labels_file.to_string(),
        n: rows.len(),
        unreadable,
        success_rating,
        agreement,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_published_layouts_and_names_bad_lines() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("labels.jsonl");
        std::fs::write(
            &p,
            "{\"goal\": \"g\", \"response\": \"r\", \"label\": \"jailbroken\"}\n\
             {\"behavior\": \"g\", \"generation\": \"r\", \"label\": 0}\n\n\
             {\"goal\": \"g\", \"target_response\": \"r\", \"human_majority\": 1}\n",
        )
        .unwrap();
        let rows = load_labelled(&p).unwrap();
        assert_eq!(
            rows.iter().map(|r| r.jailbroken).collect::<Vec<_>>(),
            [true, false, true]
        );
        std::fs::write(
            &p,
            "{\"goal\": \"g\", \"response\": \"r\", \"label\": \"maybe\"}\n",
        )
        .unwrap();
        let err = load_labelled(&p).unwrap_err().to_string();
        assert!(
            err.contains("labels.jsonl:1") && err.contains("jailbroken"),
            "{err}"
        );
    }
}
