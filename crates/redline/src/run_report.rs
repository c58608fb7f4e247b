//! What a run's scores say beyond the headline metrics, shared by `eval` and `runs show`:
//! metrics by group, label shares, SimpleQA's metrics, StrongREJECT's goodness@0.1.

use redline_core::Reducer;
use redline_store::{GroupMetrics, RunRow, Store};
use serde_json::json;

use crate::text;

/// For each `[run].group_by` field, its values' metrics.
pub type ByGroup = Vec<(String, GroupMetrics)>;

/// Metrics for every `[run].group_by` field.
pub fn grouped_metrics(
    store: &Store,
    run_id: &str,
    reducers: &[Reducer],
    fields: &[String],
) -> anyhow::Result<ByGroup> {
    fields
        .iter()
        .map(|f| Ok((f.clone(), store.run_metrics_by_group(run_id, reducers, 0.95, f)?)))
        .collect()
}

/// `{field: [{"group": value, "metrics": [...]}, ...]}`
pub fn by_group_json(groups: &[(String, GroupMetrics)]) -> serde_json::Value {
    groups
        .iter()
        .map(|(field, values)| {
            let rows: Vec<_> = values
                .iter()
                .map(|(v, m)| json!({"group": v, "metrics": m}))
                .collect();
            (field.clone(), serde_json::Value::Array(rows))
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

pub fn by_group_text(groups: &[(String, GroupMetrics)]) -> String {
    let mut s = String::new();
    for (field, values) in groups {
        for (value, metrics) in values {
            for m in metrics {
                s.push_str(&format!(
                    "  {field} = {:<14} {:<12} {:<8} {}\n",
                    text::safe_preview(value, 14),
                    m.scorer,
                    m.reducer,
                    text::estimate(&m.estimate)
                ));
            }
        }
    }
    s
}

/// Label shares of every labelled scorer of the run, plus SimpleQA's metrics for a scorer whose
/// labels are SimpleQA's grades.
pub fn label_report(store: &Store, run: &RunRow) -> anyhow::Result<serde_json::Value> {
    let names: Vec<String> =
        serde_json::from_value(run.settings["labelled_scorers"].clone()).unwrap_or_default();
    let mut out = serde_json::Map::new();
    for name in names {
        let shares = store.label_shares(&run.id, &name)?;
        let count = |l: &str| {
            shares
                .iter()
                .find(|s| s.label.eq_ignore_ascii_case(l))
                .map_or(0, |s| s.count)
        };
        let simpleqa = ["CORRECT", "INCORRECT", "NOT_ATTEMPTED"];
        let simpleqa = (!shares.is_empty()
            && shares
                .iter()
                .all(|s| simpleqa.iter().any(|l| s.label.eq_ignore_ascii_case(l))))
        .then(|| {
            use redline_core::safety::{simpleqa_metrics, SimpleQaGrade};
            let mut grades = vec![SimpleQaGrade::Correct; count("CORRECT") as usize];
            grades.extend(vec![SimpleQaGrade::Incorrect; count("INCORRECT") as usize]);
            grades.extend(vec![SimpleQaGrade::NotAttempted; count("NOT_ATTEMPTED") as usize]);
            simpleqa_metrics(&grades).ok()
        })
        .flatten();
        let fields: Vec<String> =
            serde_json::from_value(run.settings["group_by"].clone()).unwrap_or_default();
        let mut by_group = serde_json::Map::new();
        for field in fields {
            let groups: Vec<_> = store
                .label_shares_by_group(&run.id, &name, &field)?
                .into_iter()
                .map(|(group, shares)| json!({"group": group, "shares": shares}))
                .collect();
            by_group.insert(field, groups.into());
        }
        out.insert(
            name,
            json!({"shares": shares, "simpleqa": simpleqa, "by_group": by_group}),
        );
    }
    // StrongREJECT: goodness@0.1 over each prompt's techniques (sample ids are prompt/technique).
    let strongreject: Vec<String> =
        serde_json::from_value(run.settings["strongreject_scorers"].clone()).unwrap_or_default();
    for name in strongreject {
        let mut per_prompt: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
        for (id, v) in store.sample_means(&run.id, &name)? {
            let prompt = id.rsplit_once('/').map_or(id.as_str(), |(p, _)| p).to_string();
            per_prompt.entry(prompt).or_default().push(v);
        }
        let scores: Vec<Vec<f64>> = per_prompt.into_values().collect();
        let goodness = redline_core::safety::goodness_at(&scores, 0.1).ok();
        out.entry(name).or_insert_with(|| json!({}))["strongreject"] =
            json!({"prompts": scores.len(), "goodness_at_0_1": goodness});
    }
    // BBQ: accuracies and bias scores from each answer's class and the context condition.
    let bbq: Vec<String> = serde_json::from_value(run.settings["bbq_scorers"].clone()).unwrap_or_default();
    for name in bbq {
        use redline_core::safety::{bbq_metrics, BbqAnswer, BbqResponse};
        let responses: Vec<BbqResponse> = store
            .scores_with_group(&run.id, &name, "context_condition")?
            .into_iter()
            .filter_map(|g| {
                let (condition, value) = (g.group, g.value);
                let answer = match g.answer.as_deref()? {
                    "unknown" => BbqAnswer::Unknown,
                    "biased" => BbqAnswer::Biased,
                    "counter_biased" => BbqAnswer::CounterBiased,
                    _ => return None,
                };
                Some(BbqResponse {
                    ambiguous: condition.as_deref()? == "ambig",
                    answer,
                    correct: value >= 1.0,
                })
            })
            .collect();
        out.entry(name).or_insert_with(|| json!({}))["bbq"] = json!(bbq_metrics(&responses));
    }
    for (name, rows) in crate::contrasts::technique_contrasts(store, run)? {
        out.entry(name).or_insert_with(|| json!({}))["contrasts_vs_none"] = json!(rows);
    }
    Ok(out.into())
}

pub fn label_report_text(report: &serde_json::Value) -> String {
    let mut s = String::new();
    for (scorer, r) in report.as_object().into_iter().flatten() {
        for share in r["shares"].as_array().into_iter().flatten() {
            s.push_str(&format!(
                "  {scorer:<12} {:<14} {:.3}  95% CI [{:.3}, {:.3}]  {}/{}\n",
                text::safe_preview(share["label"].as_str().unwrap_or(""), 14),
                share["share"].as_f64().unwrap_or(0.0),
                share["ci_low"].as_f64().unwrap_or(0.0),
                share["ci_high"].as_f64().unwrap_or(0.0),
                share["count"],
                share["n"]
            ));
        }
        if let Some(g) = r["strongreject"]["goodness_at_0_1"].as_f64() {
            s.push_str(&format!(
                "  {scorer:<12} goodness@0.1 {g:.3} (safety against each prompt's worst 10% of techniques, over {} prompts)\n",
                r["strongreject"]["prompts"]
            ));
        }
        for (field, groups) in r["by_group"].as_object().into_iter().flatten() {
            for g in groups.as_array().into_iter().flatten() {
                let parts: Vec<String> = g["shares"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|x| {
                        format!(
                            "{} {:.3}",
                            x["label"].as_str().unwrap_or(""),
                            x["share"].as_f64().unwrap_or(0.0)
                        )
                    })
                    .collect();
                s.push_str(&format!(
                    "  {scorer:<12} {field} = {:<12} {}\n",
                    text::safe_preview(g["group"].as_str().unwrap_or(""), 12),
                    parts.join(", ")
                ));
            }
        }
        if let Some(b) = r["bbq"].as_object() {
            let f = |k: &str| {
                b.get(k)
                    .and_then(|v| v.as_f64())
                    .map_or("n/a".to_string(), |v| format!("{v:.3}"))
            };
            s.push_str(&format!(
                "  {scorer:<12} BBQ: accuracy ambiguous {} / disambiguated {}, bias ambiguous {} / disambiguated {}, stereotyped when unknown is right {}\n",
                f("ambiguous_accuracy"),
                f("disambiguated_accuracy"),
                f("bias_ambiguous"),
                f("bias_disambiguated"),
                f("stereotyped_share_when_unknown")
            ));
        }
        if let Some(rows) = r["contrasts_vs_none"].as_array() {
            s.push_str(&crate::contrasts::contrasts_text(scorer, rows));
        }
        if let Some(q) = r["simpleqa"].as_object() {
            let f = |k: &str| {
                q.get(k)
                    .and_then(|v| v.as_f64())
                    .map_or("n/a".to_string(), |v| format!("{v:.3}"))
            };
            s.push_str(&format!(
                "  {scorer:<12} SimpleQA: accuracy {}, hallucination rate {}, not attempted {}, correct given attempted {}, F {}\n",
                f("accuracy"),
                f("hallucination_rate"),
                f("not_attempted_rate"),
                f("correct_given_attempted"),
                f("f_score")
            ));
        }
    }
    s
}
