//! Each transformation against the plain request, item by item: for a run whose rows ran once
//! per `[attack]` technique (sample ids `row/technique`), every technique's paired difference
//! from `none` on every scorer, with its interval and, for pass/fail scores, McNemar's exact
//! test. Jailbreaks read as "how much did this technique move the refusal rate"; the
//! sandbagging probe as "how much worse with the consequence notice".

use std::collections::BTreeMap;

use redline_core::paired::{mcnemar, paired_difference};
use redline_store::{RunRow, Store};
use serde_json::{json, Value};

const BASELINE: &str = "none";

/// Per scorer: one row per technique other than `none`; empty when the run has no baseline.
pub fn technique_contrasts(store: &Store, run: &RunRow) -> anyhow::Result<BTreeMap<String, Vec<Value>>> {
    let group_by: Vec<String> = serde_json::from_value(run.settings["group_by"].clone()).unwrap_or_default();
    let mut out = BTreeMap::new();
    if !group_by.iter().any(|g| g == "technique") {
        return Ok(out);
    }
    let scorers: Vec<String> = serde_json::from_value(run.settings["scorers"].clone()).unwrap_or_default();
    for scorer in scorers {
        let mut by_technique: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
        for (id, mean) in store.sample_means(&run.id, &scorer)? {
            if let Some((row, technique)) = id.rsplit_once('/') {
                by_technique
                    .entry(technique.to_string())
                    .or_default()
                    .insert(row.to_string(), mean);
            }
        }
        let Some(base) = by_technique.get(BASELINE) else {
            continue;
        };
        let rows: Vec<Value> = by_technique
            .iter()
            .filter(|(t, _)| t.as_str() != BASELINE)
            .filter_map(|(technique, values)| {
                let d = paired_difference(values, base, 0.95)?;
                let binary = values
                    .values()
                    .chain(base.values())
                    .all(|v| *v == 0.0 || *v == 1.0);
                let exact = binary.then(|| {
                    let pass =
                        |m: &BTreeMap<String, f64>| m.iter().map(|(k, v)| (k.clone(), *v >= 1.0)).collect();
                    mcnemar(&pass(values), &pass(base)).p_exact
                });
                let mean = |m: &BTreeMap<String, f64>| m.values().sum::<f64>() / m.len() as f64;
                Some(json!({
                    "technique": technique,
                    "baseline_mean": mean(base),
                    "mean": mean(values),
                    "difference": d.mean,
                    "ci_low": d.ci_low,
                    "ci_high": d.ci_high,
                    "pairs": d.matched,
                    "mcnemar_p": exact,
                }))
            })
            .collect();
        if !rows.is_empty() {
            out.insert(scorer, rows);
        }
    }
    Ok(out)
}

pub fn contrasts_text(scorer: &str, rows: &[Value]) -> String {
    let mut s = String::new();
    for r in rows {
        let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
        s.push_str(&format!(
            "  {scorer:<12} {} vs none: {:.3} vs {:.3}, difference {:+.3} [95% CI {:+.3}, {:+.3}] over {} pairs{}\n",
            crate::text::safe_preview(r["technique"].as_str().unwrap_or(""), 24),
            f("mean"),
            f("baseline_mean"),
            f("difference"),
            f("ci_low"),
            f("ci_high"),
            r["pairs"],
            r["mcnemar_p"]
                .as_f64()
                .map_or(String::new(), |p| format!(", McNemar exact p {p:.3}"))
        ));
    }
    s
}
