//! Scorecards and gates: from indicator observations to verdicts, levels and gate outcomes.
//!
//! Levels are carried as ranges: `low` is the level the evidence proves (every crossed
//! threshold), `high` the level it cannot rule out (every threshold not cleared). The
//! framework's inconclusive policy collapses the range or, under `needs_review`, keeps it open
//! so that a gate it decides is reported as needing review, never silently passed.

use serde::Serialize;

use crate::framework::{Category, Derive, Direction, Framework, Gate, InconclusivePolicy, Indicator, State};
use crate::metric::Estimate;

/// What was measured for one indicator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    pub estimate: Estimate,
    /// Epochs per sample behind the estimate.
    pub epochs: u32,
    /// Thresholds a sequential test settled while sampling (empty when sampling was fixed).
    pub sequential: Vec<SettledThreshold>,
}

/// A threshold decided by a sequential test (SPRT) at the framework's error rates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SettledThreshold {
    pub level: usize,
    pub decision: crate::sequential::SequentialDecision,
    /// Outcomes the test needed.
    pub used: usize,
}

/// A human determination of a category's level, with its rationale.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Determination {
    pub category: String,
    pub state: State,
    pub level: usize,
    pub by: String,
    pub rationale: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Crossed,
    Cleared,
    Inconclusive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LevelRange {
    pub low: usize,
    pub high: usize,
}

impl LevelRange {
    pub fn settled(&self) -> bool {
        self.low == self.high
    }
    fn exact(level: usize) -> LevelRange {
        LevelRange {
            low: level,
            high: level,
        }
    }
}

/// One threshold of one indicator, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdCheck {
    pub level: usize,
    pub threshold: f64,
    pub verdict: Verdict,
    /// Signed distance from the threshold in metric units, positive when past it (riskier).
    pub distance: f64,
    /// The same in standard errors, when the standard error is positive.
    pub distance_se: Option<f64>,
    /// Outcomes after which a sequential test settled this threshold (its verdict is then the
    /// test's, which controls the error rates even where the interval alone is inconclusive).
    pub settled_after: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorResult {
    pub id: String,
    pub eval: String,
    pub metric: String,
    pub observation: Option<Observation>,
    pub checks: Vec<ThresholdCheck>,
    /// Before the inconclusive policy.
    pub evidence_range: LevelRange,
    pub level: LevelRange,
    pub evidence_ok: bool,
    /// Why the evidence falls short, if it does.
    pub evidence_gaps: Vec<String>,
    /// The interval is within the indicator's alert margin of its next threshold.
    pub alert: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryResult {
    pub id: String,
    pub name: String,
    pub research: bool,
    pub indicators: Vec<IndicatorResult>,
    /// From the indicators, under the framework's policy.
    pub computed: LevelRange,
    pub determination: Option<Determination>,
    /// The determination's level if there is one, else `computed`.
    pub level: LevelRange,
    pub evidence_ok: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scorecard {
    pub state: State,
    pub categories: Vec<CategoryResult>,
    /// The highest tracked (non-research) category level.
    pub overall: LevelRange,
    pub evidence_ok: bool,
    /// Framework-wide evidence that is missing (e.g. too few red-team attempts); any entry
    /// blocks every gate from passing.
    pub evidence_gaps: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateOutcome {
    Pass,
    Fail,
    InsufficientEvidence,
    NeedsReview,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateResult {
    pub id: String,
    pub outcome: GateOutcome,
    pub reason: String,
}

/// Checks one observation against an indicator's thresholds.
pub fn check_thresholds(indicator: &Indicator, e: &Estimate) -> Vec<ThresholdCheck> {
    indicator
        .thresholds
        .iter()
        .map(|(&level, &t)| {
            let (verdict, distance) = match indicator.direction {
                Direction::HigherIsRiskier => (
                    if e.ci_low >= t {
                        Verdict::Crossed
                    } else if e.ci_high < t {
                        Verdict::Cleared
                    } else {
                        Verdict::Inconclusive
                    },
                    e.value - t,
                ),
                Direction::LowerIsRiskier => (
                    if e.ci_high <= t {
                        Verdict::Crossed
                    } else if e.ci_low > t {
                        Verdict::Cleared
                    } else {
                        Verdict::Inconclusive
                    },
                    t - e.value,
                ),
            };
            let distance_se = (e.stderr > 0.0).then(|| distance / e.stderr);
            ThresholdCheck {
                level,
                threshold: t,
                verdict,
                distance,
                distance_se,
                settled_after: None,
            }
        })
        .collect()
}

fn apply_policy(range: LevelRange, policy: InconclusivePolicy) -> LevelRange {
    match policy {
        InconclusivePolicy::NeedsReview => range,
        InconclusivePolicy::AssumeCrossed => LevelRange::exact(range.high),
        InconclusivePolicy::AssumeCleared => LevelRange::exact(range.low),
    }
}

fn indicator_result(fw: &Framework, ind: &Indicator, obs: Option<Observation>) -> IndicatorResult {
    let top = fw.levels.len() - 1;
    let mut gaps = Vec::new();
    let Some(obs) = obs else {
        gaps.push(format!("no run of {} with metric {}", ind.eval, ind.metric));
        let unknown = LevelRange { low: 0, high: top };
        return IndicatorResult {
            id: ind.id.clone(),
            eval: ind.eval.clone(),
            metric: ind.metric.clone(),
            observation: None,
            checks: vec![],
            evidence_range: unknown,
            level: unknown,
            evidence_ok: false,
            evidence_gaps: gaps,
            alert: false,
        };
    };
    let mut checks = check_thresholds(ind, &obs.estimate);
    for c in &mut checks {
        if let Some(s) = obs.sequential.iter().find(|s| s.level == c.level) {
            c.verdict = match s.decision {
                crate::sequential::SequentialDecision::Crossed => Verdict::Crossed,
                crate::sequential::SequentialDecision::Cleared => Verdict::Cleared,
                crate::sequential::SequentialDecision::Undecided => c.verdict,
            };
            c.settled_after = Some(s.used);
        }
    }
    // A sequential test that settled every threshold is the evidence standard it was designed
    // to be; it replaces the fixed minimum sample size.
    let settled = !checks.is_empty() && checks.iter().all(|c| c.settled_after.is_some());
    if obs.estimate.n < fw.evidence.min_samples_per_indicator && !settled {
        gaps.push(format!(
            "n = {} < {} required",
            obs.estimate.n, fw.evidence.min_samples_per_indicator
        ));
    }
    if obs.epochs < fw.evidence.min_epochs {
        gaps.push(format!(
            "{} epoch(s) < {} required",
            obs.epochs, fw.evidence.min_epochs
        ));
    }
    let low = checks
        .iter()
        .filter(|c| c.verdict == Verdict::Crossed)
        .map(|c| c.level)
        .max()
        .unwrap_or(0);
    let high = checks
        .iter()
        .filter(|c| c.verdict != Verdict::Cleared)
        .map(|c| c.level)
        .max()
        .unwrap_or(0)
        .max(low);
    let evidence_range = LevelRange { low, high };
    let alert = match ind.alert_margin {
        None => false,
        Some(m) => checks
            .iter()
            .find(|c| c.verdict != Verdict::Crossed)
            .is_some_and(|next| match ind.direction {
                Direction::HigherIsRiskier => obs.estimate.ci_high >= next.threshold - m,
                Direction::LowerIsRiskier => obs.estimate.ci_low <= next.threshold + m,
            }),
    };
    IndicatorResult {
        id: ind.id.clone(),
        eval: ind.eval.clone(),
        metric: ind.metric.clone(),
        observation: Some(obs),
        checks,
        evidence_range,
        level: apply_policy(evidence_range, fw.inconclusive),
        evidence_ok: gaps.is_empty(),
        evidence_gaps: gaps,
        alert,
    }
}

/// The k-th largest of `values` (k ≥ 1).
fn kth_largest(mut values: Vec<usize>, k: usize) -> usize {
    values.sort_unstable_by(|a, b| b.cmp(a));
    values.get(k.saturating_sub(1)).copied().unwrap_or(0)
}

fn derive(category: &Category, indicators: &[IndicatorResult], top: usize) -> LevelRange {
    let lows: Vec<usize> = indicators.iter().map(|i| i.level.low).collect();
    let highs: Vec<usize> = indicators.iter().map(|i| i.level.high).collect();
    match category.derive {
        Derive::MaxOverIndicators => LevelRange {
            low: lows.iter().copied().max().unwrap_or(0),
            high: highs.iter().copied().max().unwrap_or(0),
        },
        Derive::AllOf => LevelRange {
            low: lows.iter().copied().min().unwrap_or(0),
            high: highs.iter().copied().min().unwrap_or(0),
        },
        Derive::KOfN(k) => LevelRange {
            low: kth_largest(lows, k),
            high: kth_largest(highs, k),
        },
        Derive::HumanJudgement => LevelRange { low: 0, high: top },
    }
}

/// Computes the scorecard for one state. `observe` finds the observation for an indicator;
/// `determinations` are the human determinations recorded so far (the newest per category and
/// state wins).
/// `evidence` is what was done against this target beyond the indicators' runs, checked against
/// the framework's `[evidence]` rules.
pub fn scorecard(
    fw: &Framework,
    state: State,
    observe: &dyn Fn(&Indicator) -> Option<Observation>,
    determinations: &[Determination],
    evidence: &TargetEvidence,
) -> Scorecard {
    let redteam_attempts = evidence.redteam_attempts;
    let top = fw.levels.len() - 1;
    let categories: Vec<CategoryResult> = fw
        .categories
        .iter()
        .map(|c| {
            let indicators: Vec<IndicatorResult> = c
                .indicators
                .iter()
                .map(|i| indicator_result(fw, i, observe(i)))
                .collect();
            let computed = derive(c, &indicators, top);
            let determination = determinations
                .iter()
                .rev()
                .find(|d| d.category == c.id && d.state == state)
                .cloned();
            let level = determination
                .as_ref()
                .map_or(computed, |d| LevelRange::exact(d.level));
            let evidence_ok = determination.is_some()
                || (c.derive != Derive::HumanJudgement && indicators.iter().all(|i| i.evidence_ok));
            CategoryResult {
                id: c.id.clone(),
                name: c.name.clone(),
                research: c.research,
                indicators,
                computed,
                determination,
                level,
                evidence_ok,
            }
        })
        .collect();
    let tracked = categories.iter().filter(|c| !c.research);
    let overall = LevelRange {
        low: tracked.clone().map(|c| c.level.low).max().unwrap_or(0),
        high: tracked.clone().map(|c| c.level.high).max().unwrap_or(0),
    };
    let mut evidence_gaps = Vec::new();
    if redteam_attempts < fw.evidence.min_redteam_attempts {
        evidence_gaps.push(format!(
            "{redteam_attempts} red-team attempts recorded < {} required",
            fw.evidence.min_redteam_attempts
        ));
    }
    for probe in &fw.evidence.required_probes {
        if !evidence.evals_run.iter().any(|e| e == probe) {
            evidence_gaps.push(format!(
                "required behaviour probe {probe} was not run on this target"
            ));
        }
    }
    let evidence_ok = tracked.clone().all(|c| c.evidence_ok) && evidence_gaps.is_empty();
    Scorecard {
        state,
        categories,
        overall,
        evidence_ok,
        evidence_gaps,
    }
}

/// What was done against one target besides its indicators' runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetEvidence {
    /// Red-team attempts recorded against this target (`min_redteam_attempts`).
    pub redteam_attempts: u64,
    /// `id@version` of every eval run on this target in the assessment (`required_probes`:
    /// behaviour probes are re-run for every generation, never carried over).
    pub evals_run: Vec<String>,
}

/// Decides one gate on the scorecard of its state.
pub fn decide_gate(fw: &Framework, gate: &Gate, card: &Scorecard) -> GateResult {
    let (range, scope_evidence_ok, scope) = match &gate.category {
        None => (card.overall, card.evidence_ok, "overall".to_string()),
        Some(id) => match card.categories.iter().find(|c| &c.id == id) {
            Some(c) => (c.level, c.evidence_ok, format!("category {id}")),
            None => (
                LevelRange {
                    low: 0,
                    high: fw.levels.len() - 1,
                },
                false,
                format!("category {id}"),
            ),
        },
    };
    let evidence_ok = scope_evidence_ok && card.evidence_gaps.is_empty();
    let state = match gate.state {
        State::Pre => "pre-mitigation",
        State::Post => "post-mitigation",
    };
    let limit = fw.level_name(gate.at_most);
    let shown = if range.settled() {
        fw.level_name(range.low).to_string()
    } else {
        format!(
            "between {} and {}",
            fw.level_name(range.low),
            fw.level_name(range.high)
        )
    };
    // A level the evidence already proves decides a failure: more evidence could only raise
    // it. Anything that could still pass needs the full evidence first.
    let (outcome, reason) = if range.low > gate.at_most {
        (
            GateOutcome::Fail,
            format!("{state} {scope} is {shown}, above {limit}: {}", gate.on_fail),
        )
    } else if !evidence_ok {
        (
            GateOutcome::InsufficientEvidence,
            format!("{state} {scope}: the evidence the framework requires is incomplete, so it cannot pass"),
        )
    } else if range.high <= gate.at_most {
        (
            GateOutcome::Pass,
            format!("{state} {scope} is {shown}, at most {limit}"),
        )
    } else {
        (
            GateOutcome::NeedsReview,
            format!("{state} {scope} is {shown}: inconclusive around {limit}; a reviewer must decide"),
        )
    };
    GateResult {
        id: gate.id.clone(),
        outcome,
        reason,
    }
}
