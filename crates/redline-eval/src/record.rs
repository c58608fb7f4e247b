//! What the runner records about each sample: the data the store keeps and reports read.

use redline_model::{Attempt, ChatResponse, ErrorKind, Message, Usage};
use serde::{Deserialize, Serialize};

/// One sample × epoch, complete: the transcript, usage, timing, retries and scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleRecord {
    pub sample_id: String,
    /// 1-based.
    pub epoch: u32,
    /// 0-based row index in the dataset, for stable ordering.
    pub ordinal: u64,
    /// The messages sent to the model.
    pub messages: Vec<Message>,
    pub target: Vec<String>,
    /// The model's answer, or `None` when the sample errored.
    pub response: Option<ChatResponse>,
    /// Every failed attempt before the final one (and the final one when it failed).
    pub attempts: Vec<Attempt>,
    pub cache_hit: bool,
    /// Wall time of the sample, including retries and waits.
    pub latency_ms: u64,
    pub usage: Usage,
    pub error: Option<SampleError>,
    pub scores: Vec<ScoreRecord>,
    /// Scorers that could not score this answer (e.g. a judge verdict that could not be read):
    /// counted, never scored as zero.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unscored: Vec<Unscored>,
    /// The sample's `[run].group_by` fields, for metrics by group.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub groups: std::collections::BTreeMap<String, String>,
    /// Agent samples: the limit that ended it, tool calls, probes (see [`crate::agent`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<crate::agent::AgentTrace>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unscored {
    pub scorer: String,
    pub reason: String,
}

impl SampleRecord {
    pub fn output(&self) -> Option<&str> {
        self.response.as_ref().map(|r| r.content.as_str())
    }
    /// Retries made: failed attempts that were followed by another one.
    pub fn retries(&self) -> u32 {
        let failed = self.attempts.len() as u32;
        if self.error.is_some() {
            failed.saturating_sub(1)
        } else {
            failed
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleError {
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreRecord {
    pub scorer: String,
    /// In [0, 1]; the built-in scorers give 0 or 1.
    pub value: f64,
    /// What the scorer extracted from the output (e.g. the chosen letter).
    pub answer: Option<String>,
    pub explanation: Option<String>,
}
