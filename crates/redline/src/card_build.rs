//! Assembles a [`Card`] from an assessment in the store: the scorecards and gates as `scorecard`
//! computes them, every linked run's numbers, earlier generations for comparison.

use std::collections::BTreeMap;

use redline_core::framework::{Framework, ThresholdProvenance};
use redline_core::scorecard::{GateOutcome, LevelRange, Scorecard, Verdict};
use redline_core::Reducer;
use redline_report as report;
use redline_store::{AssessmentRow, RunRow, Store};

use crate::assess_cmd::{compute, exit_code, state_name, Computed};
use crate::render::{campaign_target, level, target_label};
use crate::{exit, run_report};

/// What the card shows beyond the assessment itself.
pub struct CardOptions {
    /// Earlier generations' assessments, oldest first.
    pub baselines: Vec<AssessmentRow>,
    /// Responses shown per run (lowest-scored first).
    pub examples: usize,
}

pub fn build_card(store: &Store, a: &AssessmentRow, options: &CardOptions) -> anyhow::Result<report::Card> {
    let c = compute(store, a)?;
    let fw = &c.framework;
    let mut targets = vec![campaign_target(&a.pre_target), campaign_target(&a.post_target)];
    targets.dedup();
    let mut runs = Vec::new();
    for link in &c.runs {
        runs.push((
            link.state.clone(),
            link.eval.clone(),
            store.get_run(&link.run_id)?,
        ));
    }
    let mut evaluations = Vec::new();
    let mut jailbreaks = Vec::new();
    for (state, eval, run) in &runs {
        evaluations.push(evaluation(store, state, eval, run, options.examples)?);
        jailbreaks.extend(techniques(store, state, eval, run)?);
    }
    let mut comparisons = Vec::new();
    for baseline in &options.baselines {
        comparisons.extend(compare(store, baseline, a, &runs)?);
    }
    Ok(report::Card {
        schema: report::CARD_SCHEMA.to_string(),
        title: format!("System card: {}", target_label(&a.post_target)),
        generated_by: format!("redline {}", env!("CARGO_PKG_VERSION")),
        assessment: report::AssessmentInfo {
            id: a.id.clone(),
            created_at: a.created_at.clone(),
            framework_id: fw.id.clone(),
            framework_name: fw.name.clone(),
            framework_version: fw.version.clone(),
            framework_file: a.framework_file.clone(),
            framework_sha256: a.framework_sha256.clone(),
            framework_source: match fw.thresholds {
                ThresholdProvenance::Illustrative => Some(format!("ILLUSTRATIVE thresholds. {}", fw.source)),
                _ => (!fw.source.is_empty()).then(|| fw.source.clone()),
            },
            levels: fw.levels.clone(),
            pre_target: target_label(&a.pre_target),
            post_target: target_label(&a.post_target),
            suite: a.suite.clone(),
        },
        summary: summary(&c),
        scorecard: scorecard_rows(fw, &c.pre, &c.post),
        indicators: [&c.pre, &c.post]
            .into_iter()
            .flat_map(|s| indicator_rows(fw, s))
            .collect(),
        evaluations,
        jailbreaks,
        findings: crate::card_findings::findings(
            store,
            &targets,
            &runs.iter().map(|(_, _, r)| r.model.clone()).collect(),
        )?,
        comparisons,
        adequacy: report::Adequacy {
            redteam_attempts: targets
                .iter()
                .map(|t| store.attempts_against(t))
                .sum::<Result<u64, _>>()?,
            ..adequacy(fw, &runs)
        },
        methodology: report::Methodology {
            redline_version: a.redline_version.clone(),
            framework_sha256: a.framework_sha256.clone(),
            evals: runs.iter().map(|(s, e, r)| provenance(s, e, r)).collect(),
        },
        determinations: c
            .determinations
            .iter()
            .map(|d| report::DeterminationRow {
                seq: d.seq,
                category: d.category.clone(),
                state: d.state.clone(),
                level: d.level.clone(),
                decided_by: d.decided_by.clone(),
                rationale: d.rationale.clone(),
                created_at: d.created_at.clone(),
            })
            .collect(),
    })
}

fn outcome_name(o: GateOutcome) -> &'static str {
    match o {
        GateOutcome::Pass => "pass",
        GateOutcome::Fail => "fail",
        GateOutcome::InsufficientEvidence => "insufficient_evidence",
        GateOutcome::NeedsReview => "needs_review",
    }
}

fn summary(c: &Computed) -> report::Summary {
    let decision = match exit_code(&c.gates) {
        exit::GATE_FAILED => "fail",
        exit::INSUFFICIENT_EVIDENCE => "insufficient_evidence",
        exit::NEEDS_REVIEW => "needs_review",
        _ => "pass",
    };
    let mut gaps: Vec<String> = c
        .pre
        .evidence_gaps
        .iter()
        .chain(&c.post.evidence_gaps)
        .cloned()
        .collect();
    gaps.sort();
    gaps.dedup();
    report::Summary {
        decision: decision.to_string(),
        overall_pre: level(&c.framework, c.pre.overall),
        overall_post: level(&c.framework, c.post.overall),
        gates: c
            .gates
            .iter()
            .map(|(s, g)| report::GateRow {
                id: g.id.clone(),
                state: state_name(*s).to_string(),
                outcome: outcome_name(g.outcome).to_string(),
                reason: g.reason.clone(),
            })
            .collect(),
        evidence_gaps: gaps,
    }
}

fn level_cell(fw: &Framework, r: LevelRange, determined_by: Option<&str>) -> report::LevelCell {
    report::LevelCell {
        label: level(fw, r),
        low: r.low,
        high: r.high,
        settled: r.settled(),
        determined_by: determined_by.map(str::to_string),
    }
}

fn scorecard_rows(fw: &Framework, pre: &Scorecard, post: &Scorecard) -> Vec<report::CategoryRow> {
    pre.categories
        .iter()
        .zip(&post.categories)
        .map(|(p, q)| report::CategoryRow {
            id: p.id.clone(),
            name: p.name.clone(),
            research: p.research,
            pre: level_cell(fw, p.level, p.determination.as_ref().map(|d| d.by.as_str())),
            post: level_cell(fw, q.level, q.determination.as_ref().map(|d| d.by.as_str())),
        })
        .collect()
}

fn indicator_rows(fw: &Framework, card: &Scorecard) -> Vec<report::IndicatorRow> {
    let mut rows = Vec::new();
    for cat in &card.categories {
        let specs = fw.categories.iter().find(|c| c.id == cat.id);
        for i in &cat.indicators {
            let spec = specs.and_then(|c| c.indicators.iter().find(|x| x.id == i.id));
            let e = i.observation.as_ref().map(|o| &o.estimate);
            rows.push(report::IndicatorRow {
                state: state_name(card.state).to_string(),
                category: cat.id.clone(),
                id: i.id.clone(),
                eval: i.eval.clone(),
                metric: i.metric.clone(),
                value: e.map(|e| e.value),
                n: e.map(|e| e.n),
                ci_low: e.map(|e| e.ci_low),
                ci_high: e.map(|e| e.ci_high),
                ci_level: spec.map_or(0.95, |s| s.interval.level),
                interval: spec
                    .and_then(|s| serde_json::to_value(s.interval.method).ok())
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                checks: i
                    .checks
                    .iter()
                    .map(|ch| report::CheckRow {
                        level: fw.level_name(ch.level).to_string(),
                        threshold: ch.threshold,
                        verdict: match ch.verdict {
                            Verdict::Crossed => "crossed",
                            Verdict::Cleared => "cleared",
                            Verdict::Inconclusive => "inconclusive",
                        }
                        .to_string(),
                        distance: ch.distance,
                        distance_se: ch.distance_se,
                        settled_after: ch.settled_after.map(|n| n as u64),
                    })
                    .collect(),
                level: level(fw, i.level),
                alert: i.alert,
                evidence_gaps: i.evidence_gaps.clone(),
            });
        }
    }
    rows
}

fn reducers(run: &RunRow) -> Vec<Reducer> {
    serde_json::from_value(run.settings["reducers"].clone()).unwrap_or_else(|_| vec![Reducer::Mean])
}

fn evaluation(
    store: &Store,
    state: &str,
    eval: &str,
    run: &RunRow,
    examples: usize,
) -> anyhow::Result<report::EvaluationSection> {
    let reducers = reducers(run);
    let metrics = store
        .run_metrics(&run.id, &reducers, 0.95)?
        .into_iter()
        .map(|m| report::MetricRow {
            scorer: m.scorer,
            reducer: m.reducer,
            metric: m.estimate.metric,
            value: m.estimate.value,
            n: m.estimate.n,
            ci_low: m.estimate.ci_low,
            ci_high: m.estimate.ci_high,
        })
        .collect();
    let fields: Vec<String> = serde_json::from_value(run.settings["group_by"].clone()).unwrap_or_default();
    let mut groups = Vec::new();
    for (field, values) in run_report::grouped_metrics(store, &run.id, &reducers, &fields)? {
        for (group, rows) in values {
            for m in rows.into_iter().filter(|m| m.reducer == "mean") {
                groups.push(report::GroupRow {
                    field: field.clone(),
                    group: group.clone(),
                    scorer: m.scorer,
                    metric: m.estimate.metric,
                    value: m.estimate.value,
                    n: m.estimate.n,
                    ci_low: m.estimate.ci_low,
                    ci_high: m.estimate.ci_high,
                });
            }
        }
    }
    let report_json = run_report::label_report(store, run)?;
    let mut labels = Vec::new();
    let mut derived = Vec::new();
    for (scorer, r) in report_json.as_object().into_iter().flatten() {
        for s in r["shares"].as_array().into_iter().flatten() {
            let num = |k: &str| s[k].as_f64().unwrap_or(0.0);
            let text = |k: &str| s[k].as_str().unwrap_or("").to_string();
            labels.push(report::LabelRow {
                scorer: text("scorer"),
                label: text("label"),
                count: s["count"].as_u64().unwrap_or(0),
                n: s["n"].as_u64().unwrap_or(0),
                share: num("share"),
                ci_low: num("ci_low"),
                ci_high: num("ci_high"),
            });
        }
        let mut named = |name: String, v: &serde_json::Value| {
            derived.push(report::NamedValue {
                name,
                value: v.as_f64(),
            });
        };
        for (section, title) in [("simpleqa", "SimpleQA"), ("bbq", "BBQ")] {
            for (k, v) in r[section].as_object().into_iter().flatten() {
                if v.is_number() || v.is_null() {
                    named(format!("{scorer} {title} {}", k.replace('_', " ")), v);
                }
            }
        }
        if !r["strongreject"].is_null() {
            named(
                format!("{scorer} StrongREJECT goodness@0.1"),
                &r["strongreject"]["goodness_at_0_1"],
            );
        }
    }
    Ok(report::EvaluationSection {
        state: state.to_string(),
        eval: eval.to_string(),
        run_id: run.id.clone(),
        model: run.model.clone(),
        metrics,
        labels,
        groups,
        derived,
        examples: pick_examples(store, run, examples)?,
    })
}

/// The lowest-scored answered samples first (failures are what a reviewer reads), then by order.
fn pick_examples(store: &Store, run: &RunRow, count: usize) -> anyhow::Result<Vec<report::Example>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let mut picked: Vec<(f64, u64, report::Example)> = Vec::new();
    store.for_each_sample(&run.id, |r| {
        let Some(response) = &r.response else {
            return Ok(());
        };
        let score = r.scores.first().map(|s| s.value);
        let prompt = r.messages.last().map(|m| m.content.clone()).unwrap_or_default();
        picked.push((
            score.unwrap_or(f64::INFINITY),
            r.ordinal,
            report::Example {
                sample_id: r.sample_id.clone(),
                prompt: clip(&prompt, 2000),
                response: clip(&response.content, 4000),
                score,
            },
        ));
        // Keep memory flat on big runs: only the best candidates survive.
        if picked.len() > 4 * count + 16 {
            picked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            picked.truncate(count);
        }
        Ok(())
    })?;
    picked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    Ok(picked.into_iter().take(count).map(|p| p.2).collect())
}

fn clip(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}… [{} more characters]", &s[..i], s[i..].chars().count()),
        None => s.to_string(),
    }
}

/// Attack success per technique: the share of answers the refusal classifier labelled
/// `compliance`, for runs grouped by `technique`.
fn techniques(
    store: &Store,
    state: &str,
    eval: &str,
    run: &RunRow,
) -> anyhow::Result<Vec<report::TechniqueRow>> {
    let fields: Vec<String> = serde_json::from_value(run.settings["group_by"].clone()).unwrap_or_default();
    if !fields.iter().any(|f| f == "technique") {
        return Ok(Vec::new());
    }
    let labelled: Vec<String> =
        serde_json::from_value(run.settings["labelled_scorers"].clone()).unwrap_or_default();
    let mut rows = Vec::new();
    for scorer in labelled {
        for (technique, shares) in store.label_shares_by_group(&run.id, &scorer, "technique")? {
            let n = shares.first().map_or(0, |s| s.n);
            if n == 0
                || !shares
                    .iter()
                    .any(|s| s.label == "compliance" || s.label == "refusal")
            {
                continue;
            }
            let count = shares
                .iter()
                .find(|s| s.label == "compliance")
                .map_or(0, |s| s.count);
            let (ci_low, ci_high) = redline_core::stats::wilson(count as f64, n, 0.95);
            rows.push(report::TechniqueRow {
                state: state.to_string(),
                eval: eval.to_string(),
                technique,
                success_rate: count as f64 / n as f64,
                n,
                ci_low,
                ci_high,
            });
        }
    }
    Ok(rows)
}

/// Each eval the baseline also ran in the same state: every scorer's mean, then and now, and
/// the paired difference over the items both runs have.
fn compare(
    store: &Store,
    baseline: &AssessmentRow,
    current: &AssessmentRow,
    runs: &[(String, String, RunRow)],
) -> anyhow::Result<Vec<report::Comparison>> {
    let target = |a: &AssessmentRow, state: &str| {
        target_label(if state == "pre" {
            &a.pre_target
        } else {
            &a.post_target
        })
    };
    let mut out = Vec::new();
    for old in store.assessment_runs(&baseline.id)? {
        let Some((_, _, new_run)) = runs.iter().find(|(s, e, _)| *s == old.state && *e == old.eval) else {
            continue;
        };
        let old_run = store.get_run(&old.run_id)?;
        // Two generations of one model file differ only in how they were run: say so.
        let (mut then_label, mut now_label) = (target(baseline, &old.state), target(current, &old.state));
        let (then_gen, now_gen) = (generation_label(&old_run), generation_label(new_run));
        if then_label == now_label && then_gen != now_gen {
            then_label = format!("{then_label} [{then_gen}]");
            now_label = format!("{now_label} [{now_gen}]");
        }
        let scorers: Vec<String> = store
            .run_metrics(&new_run.id, &[Reducer::Mean], 0.95)?
            .into_iter()
            .map(|m| m.scorer)
            .collect();
        for scorer in scorers {
            let now: BTreeMap<String, f64> = store.sample_means(&new_run.id, &scorer)?.into_iter().collect();
            let then: BTreeMap<String, f64> = store.sample_means(&old_run.id, &scorer)?.into_iter().collect();
            if now.is_empty() || then.is_empty() {
                continue;
            }
            let mean = |m: &BTreeMap<String, f64>| m.values().sum::<f64>() / m.len() as f64;
            let paired =
                redline_core::paired::paired_difference(&now, &then, 0.95).map(|d| report::PairedRow {
                    pairs: d.matched as u64,
                    mean_difference: d.mean,
                    ci_low: d.ci_low,
                    ci_high: d.ci_high,
                    p_value: d.p_t.or(d.p_normal).unwrap_or(1.0),
                    unmatched: (d.only_in_a + d.only_in_b) as u64,
                });
            out.push(report::Comparison {
                baseline_assessment: baseline.id.clone(),
                baseline_model: then_label.clone(),
                model: now_label.clone(),
                state: old.state.clone(),
                eval: old.eval.clone(),
                scorer,
                baseline_value: mean(&then),
                value: mean(&now),
                paired,
            });
        }
    }
    Ok(out)
}

fn adequacy(fw: &Framework, runs: &[(String, String, RunRow)]) -> report::Adequacy {
    let mut required: Vec<report::RequiredEval> = Vec::new();
    for i in fw.categories.iter().flat_map(|c| &c.indicators) {
        if required.iter().any(|r| r.eval == i.eval) {
            continue;
        }
        let ran = |state: &str| runs.iter().any(|(s, e, _)| s == state && *e == i.eval);
        required.push(report::RequiredEval {
            eval: i.eval.clone(),
            pre: ran("pre"),
            post: ran("post"),
        });
    }
    let rows: Vec<report::RunAdequacy> = runs
        .iter()
        .map(|(state, eval, r)| report::RunAdequacy {
            state: state.clone(),
            eval: eval.clone(),
            run_id: r.id.clone(),
            status: r.status.to_string(),
            planned: r.planned,
            completed: r.completed,
            errored: r.errored,
            epochs: r.settings["epochs"].as_u64().unwrap_or(1),
            wall_seconds: r.wall_ms as f64 / 1000.0,
            sequential_stop: r
                .sequential
                .as_ref()
                .and_then(|s| serde_json::from_value::<redline_eval::SequentialReport>(s.clone()).ok())
                .filter(|s| s.stopped)
                .map(|s| {
                    let used = s.tests.iter().map(|t| t.used).max().unwrap_or(0);
                    format!(
                        "stopped after {used} outcomes ({} of {} samples run): every threshold settled",
                        r.completed, r.planned
                    )
                }),
        })
        .collect();
    report::Adequacy {
        total_wall_seconds: rows.iter().map(|r| r.wall_seconds).sum(),
        runs: rows,
        required,
        redteam_attempts: 0,
    }
}

fn generation_label(r: &RunRow) -> String {
    r.settings["generation"]
        .as_object()
        .map(|g| {
            g.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "provider defaults".to_string())
}

fn provenance(state: &str, eval: &str, r: &RunRow) -> report::EvalProvenance {
    let generation = generation_label(r);
    report::EvalProvenance {
        state: state.to_string(),
        eval: eval.to_string(),
        eval_sha256: r.eval_sha256.clone(),
        dataset: r.dataset_path.clone(),
        dataset_sha256: r.dataset_sha256.clone(),
        model: r.model.clone(),
        generation,
        redline_version: r.redline_version.clone(),
    }
}
