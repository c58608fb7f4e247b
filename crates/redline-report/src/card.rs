//! The system card as plain data. The JSON rendering is exactly this structure; the HTML and
//! Markdown renderings show the same content. Everything is already formatted for people where
//! formatting is a judgement (level names, verdict words), and kept as numbers where a reader
//! may want to re-check (values, intervals, distances).

use serde::{Deserialize, Serialize};

/// Identifies this structure's version in the JSON card.
pub const CARD_SCHEMA: &str = "redline.card/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    pub schema: String,
    pub title: String,
    /// `redline X.Y.Z` that rendered the card.
    pub generated_by: String,
    pub assessment: AssessmentInfo,
    pub summary: Summary,
    /// One row per category: its level before and after mitigation.
    pub scorecard: Vec<CategoryRow>,
    /// Every indicator on both scorecards.
    pub indicators: Vec<IndicatorRow>,
    /// Every run's metrics, label shares and per-group breakdowns.
    pub evaluations: Vec<EvaluationSection>,
    /// Attack success by jailbreak technique, from runs grouped by `technique`.
    pub jailbreaks: Vec<TechniqueRow>,
    pub findings: Vec<Finding>,
    /// Earlier generations of the model family on the same eval versions.
    pub comparisons: Vec<Comparison>,
    pub adequacy: Adequacy,
    pub methodology: Methodology,
    pub determinations: Vec<DeterminationRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssessmentInfo {
    pub id: String,
    pub created_at: String,
    pub framework_id: String,
    pub framework_name: String,
    pub framework_version: String,
    pub framework_file: String,
    pub framework_sha256: String,
    /// Where the framework's numbers come from; "illustrative" ones say so.
    pub framework_source: Option<String>,
    pub levels: Vec<String>,
    pub pre_target: String,
    pub post_target: String,
    pub suite: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// `pass`, `fail`, `insufficient_evidence` or `needs_review`: the worst gate outcome.
    pub decision: String,
    pub overall_pre: String,
    pub overall_post: String,
    pub gates: Vec<GateRow>,
    /// Evidence the framework asks for that the runs did not provide.
    pub evidence_gaps: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateRow {
    pub id: String,
    pub state: String,
    pub outcome: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryRow {
    pub id: String,
    pub name: String,
    pub research: bool,
    pub pre: LevelCell,
    pub post: LevelCell,
}

/// A category's level on one scorecard: settled, or a range still open for review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelCell {
    pub label: String,
    /// Index of the lowest and highest level still possible (0 = the framework's first level).
    pub low: usize,
    pub high: usize,
    pub settled: bool,
    pub determined_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorRow {
    pub state: String,
    pub category: String,
    pub id: String,
    pub eval: String,
    pub metric: String,
    /// `None` when no run produced the metric.
    pub value: Option<f64>,
    pub n: Option<u64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub ci_level: f64,
    pub interval: String,
    pub checks: Vec<CheckRow>,
    pub level: String,
    pub alert: bool,
    pub evidence_gaps: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRow {
    pub level: String,
    pub threshold: f64,
    /// `crossed`, `cleared` or `inconclusive`.
    pub verdict: String,
    /// Value minus threshold, signed so that positive means towards crossing.
    pub distance: f64,
    /// The distance in standard errors, when the estimate has one.
    pub distance_se: Option<f64>,
    /// Outcomes a sequential test needed to settle this threshold, when one did.
    pub settled_after: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationSection {
    pub state: String,
    pub eval: String,
    pub run_id: String,
    pub model: String,
    pub metrics: Vec<MetricRow>,
    pub labels: Vec<LabelRow>,
    pub groups: Vec<GroupRow>,
    /// Headline safety numbers derived from labels (SimpleQA, BBQ, StrongREJECT), as name → value.
    pub derived: Vec<NamedValue>,
    /// A few responses, shown as untrusted text.
    pub examples: Vec<Example>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    pub scorer: String,
    pub reducer: String,
    pub metric: String,
    pub value: f64,
    pub n: u64,
    pub ci_low: f64,
    pub ci_high: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelRow {
    pub scorer: String,
    pub label: String,
    pub count: u64,
    pub n: u64,
    pub share: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRow {
    pub field: String,
    pub group: String,
    pub scorer: String,
    pub metric: String,
    pub value: f64,
    pub n: u64,
    pub ci_low: f64,
    pub ci_high: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedValue {
    pub name: String,
    pub value: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    pub sample_id: String,
    pub prompt: String,
    pub response: String,
    pub score: Option<f64>,
}

/// Attack success rate of one jailbreak technique on one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TechniqueRow {
    pub state: String,
    pub eval: String,
    pub technique: String,
    pub success_rate: f64,
    pub n: u64,
    pub ci_low: f64,
    pub ci_high: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub title: String,
    pub category: String,
    pub severity: String,
    pub status: String,
    /// Whether the finding still reproduces on this card's model: its promoted regression eval
    /// run there. `None`: not re-run on this generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regression: Option<Regression>,
}

/// A finding's replay on this generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Regression {
    pub reproduces: bool,
    /// `id@version` of the regression eval.
    pub eval: String,
    pub run_id: String,
    pub model: String,
}

/// One metric of one eval, this generation against an earlier one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub baseline_assessment: String,
    pub baseline_model: String,
    pub model: String,
    pub state: String,
    pub eval: String,
    pub scorer: String,
    pub baseline_value: f64,
    pub value: f64,
    /// Over items present in both runs, when any are.
    pub paired: Option<PairedRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedRow {
    pub pairs: u64,
    pub mean_difference: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub p_value: f64,
    /// Items in only one of the runs.
    pub unmatched: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adequacy {
    pub runs: Vec<RunAdequacy>,
    /// `eval@version` the framework's indicators read, and whether each was run pre and post.
    pub required: Vec<RequiredEval>,
    pub redteam_attempts: u64,
    pub total_wall_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunAdequacy {
    pub state: String,
    pub eval: String,
    pub run_id: String,
    pub status: String,
    pub planned: u64,
    pub completed: u64,
    pub errored: u64,
    pub epochs: u64,
    pub wall_seconds: f64,
    /// "stopped after N of M: ..." when a sequential test ended sampling early.
    pub sequential_stop: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequiredEval {
    pub eval: String,
    pub pre: bool,
    pub post: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Methodology {
    pub redline_version: String,
    pub framework_sha256: String,
    pub evals: Vec<EvalProvenance>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalProvenance {
    pub state: String,
    pub eval: String,
    pub eval_sha256: String,
    pub dataset: String,
    pub dataset_sha256: String,
    pub model: String,
    /// The run's effective generation settings as `key=value` pairs.
    pub generation: String,
    pub redline_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeterminationRow {
    pub seq: i64,
    pub category: String,
    pub state: String,
    pub level: String,
    pub decided_by: String,
    pub rationale: String,
    pub created_at: String,
}
