//! Frameworks as data: a policy file of ordered levels, risk categories, indicators with
//! thresholds, evidence rules and gates, parsed and validated with errors that name the key
//! and the line.

mod file;
mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use validate::{parse_framework, FrameworkError};

/// A validated framework.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Framework {
    pub id: String,
    pub name: String,
    pub version: String,
    /// Ordered, least risky first.
    pub levels: Vec<String>,
    pub inconclusive: InconclusivePolicy,
    /// Whether the threshold numbers are the publisher's own or illustrative stand-ins.
    pub thresholds: ThresholdProvenance,
    /// Where the level definitions (and any numbers) came from.
    pub source: String,
    pub categories: Vec<Category>,
    pub evidence: EvidenceRules,
    pub gates: Vec<Gate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InconclusivePolicy {
    /// An inconclusive verdict leaves the level open and any gate it decides needs review.
    NeedsReview,
    /// Treat an inconclusive threshold as crossed (the precautionary reading).
    AssumeCrossed,
    /// Treat an inconclusive threshold as cleared.
    AssumeCleared,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdProvenance {
    Published,
    Illustrative,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Category {
    pub id: String,
    pub name: String,
    pub derive: Derive,
    /// Research categories are reported but do not count towards the overall level.
    pub research: bool,
    pub indicators: Vec<Indicator>,
}

/// How a category's level follows from its indicators' levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Derive {
    /// The highest indicator level.
    MaxOverIndicators,
    /// The lowest indicator level: a level counts only when every indicator reaches it.
    AllOf,
    /// The level that at least `k` indicators reach.
    KOfN(usize),
    /// Only a recorded human determination sets the level.
    HumanJudgement,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    HigherIsRiskier,
    LowerIsRiskier,
}

pub use crate::metric::IntervalMethod;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalSpec {
    pub method: IntervalMethod,
    pub level: f64,
    /// The sampling unit (e.g. `task`): attempts of one unit are not independent.
    pub cluster: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicator {
    pub id: String,
    /// `eval-id@version`.
    pub eval: String,
    pub metric: String,
    pub direction: Direction,
    /// Level index → threshold, for the levels above the lowest that the indicator can reach.
    pub thresholds: BTreeMap<usize, f64>,
    pub interval: IntervalSpec,
    /// Early warning: flag when the interval comes within this distance of the next threshold.
    pub alert_margin: Option<f64>,
    /// Sequential sampling: the half-width δ of the indifference zone around each threshold.
    /// Sampling stops once an SPRT has settled every threshold.
    pub sequential: Option<f64>,
}

impl Indicator {
    /// One SPRT per threshold, with error rates α = β = (1 − level)/2: the same per-side risk
    /// as the indicator's two-sided interval.
    pub fn sprt_specs(&self) -> Vec<(usize, crate::sequential::SprtSpec)> {
        let Some(delta) = self.sequential else {
            return Vec::new();
        };
        let rate = (1.0 - self.interval.level) / 2.0;
        self.thresholds
            .iter()
            .map(|(&level, &threshold)| {
                (
                    level,
                    crate::sequential::SprtSpec {
                        threshold,
                        delta,
                        alpha: rate,
                        beta: rate,
                        direction: self.direction,
                    },
                )
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceRules {
    pub min_samples_per_indicator: u64,
    pub min_epochs: u32,
    pub min_redteam_attempts: u64,
    /// Behaviour probes (eval ids) that must be re-run for every generation.
    pub required_probes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Pre,
    Post,
}

/// A gate passes when its predicate holds on the chosen scorecard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gate {
    pub id: String,
    pub description: String,
    pub state: State,
    /// `None`: the overall level; `Some(id)`: one category's level.
    pub category: Option<String>,
    /// The level must be at most this level index.
    pub at_most: usize,
    /// What failing means, in the framework's words.
    pub on_fail: String,
}

impl Framework {
    pub fn level_name(&self, index: usize) -> &str {
        self.levels.get(index).map(String::as_str).unwrap_or("?")
    }

    pub fn level_index(&self, name: &str) -> Option<usize> {
        self.levels.iter().position(|l| l == name)
    }

    /// Every `eval@version` an indicator reads, once each, in framework order.
    pub fn required_evals(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for i in self.categories.iter().flat_map(|c| &c.indicators) {
            if !out.contains(&i.eval) {
                out.push(i.eval.clone());
            }
        }
        out
    }
}

/// The framework presets shipped in `frameworks/`, embedded so they work from any folder:
/// `(id, TOML text)`.
pub const PRESETS: [(&str, &str); 5] = [
    (
        "openai-preparedness-v1",
        include_str!("../../../../frameworks/openai-preparedness-v1.toml"),
    ),
    (
        "openai-preparedness-v2",
        include_str!("../../../../frameworks/openai-preparedness-v2.toml"),
    ),
    (
        "anthropic-rsp",
        include_str!("../../../../frameworks/anthropic-rsp.toml"),
    ),
    (
        "deepmind-fsf",
        include_str!("../../../../frameworks/deepmind-fsf.toml"),
    ),
    (
        "redline-safety-v1",
        include_str!("../../../../frameworks/redline-safety-v1.toml"),
    ),
];

/// A shipped preset by id.
pub fn preset(id: &str) -> Option<Framework> {
    PRESETS
        .iter()
        .find(|(pid, _)| *pid == id)
        .and_then(|(pid, text)| parse_framework(text, &format!("frameworks/{pid}.toml")).ok())
}
