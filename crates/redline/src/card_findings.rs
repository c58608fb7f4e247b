//! The card's red-team findings: those against its targets, and every promoted finding whose
//! regression eval has run on this generation's models, with whether it still reproduces.

use std::collections::BTreeSet;

use redline_report as report;
use redline_store::{RunStatus, Store};

/// The regression eval's scorer: 1 when the replayed finding no longer gets an answer.
const NOT_REPRODUCED: &str = "not_reproduced";

/// `targets` are the assessment's targets as campaigns name them; `models` the model ids its
/// runs were made with (the exact target, mitigations included).
pub fn findings(
    store: &Store,
    targets: &[String],
    models: &BTreeSet<String>,
) -> anyhow::Result<Vec<report::Finding>> {
    // Newest first: the latest replay on this generation is the one that counts.
    let regression_runs: Vec<_> = store
        .list_runs(100_000)?
        .into_iter()
        .filter(|r| r.status == RunStatus::Complete && models.contains(&r.model))
        .collect();
    let mut out = Vec::new();
    for f in store.findings(None)? {
        let mut regression = None;
        if let Some(promoted) = &f.promoted_to {
            let eval_id = promoted.rsplit_once('@').map_or(promoted.as_str(), |(id, _)| id);
            for run in regression_runs.iter().filter(|r| r.eval_id == eval_id) {
                if let Some(reproduces) = replay(store, &run.id, &f.id)? {
                    regression = Some(report::Regression {
                        reproduces,
                        eval: format!("{}@{}", run.eval_id, run.eval_version),
                        run_id: run.id.clone(),
                        model: run.model.clone(),
                    });
                    break;
                }
            }
        }
        if !targets.contains(&f.target) && regression.is_none() {
            continue;
        }
        out.push(report::Finding {
            title: format!("{} ({}, on {})", f.goal, f.attack, f.target),
            id: f.id,
            category: f.category,
            severity: f.severity,
            status: f.status,
            regression,
        });
    }
    Ok(out)
}

/// Whether the finding `finding_id` reproduced in `run` (any epoch scored 0 on
/// `not_reproduced`); `None` when the run has no scored sample for it.
fn replay(store: &Store, run: &str, finding_id: &str) -> anyhow::Result<Option<bool>> {
    let mut seen: Option<bool> = None;
    store.for_each_sample(run, |r| {
        if r.sample_id == finding_id {
            if let Some(s) = r.scores.iter().find(|s| s.scorer == NOT_REPRODUCED) {
                seen = Some(seen.unwrap_or(false) || s.value < 1.0);
            }
        }
        Ok(())
    })?;
    Ok(seen)
}
