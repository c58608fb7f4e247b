//! Golden scorecards: every shipped framework applied to the same recorded scores, pre and
//! post mitigation, with its gate outcomes. A change to verdicts, levels, policies or gates
//! shows up as a snapshot diff to review (`cargo insta review`).

use redline_core::framework::{parse_framework, Indicator, State, PRESETS};
use redline_core::scorecard::{decide_gate, scorecard, Observation, TargetEvidence};
use redline_core::stats::wilson;
use redline_core::{Estimate, IntervalMethod};
use serde_json::json;

/// Recorded scores: (passes, n) per eval, before and after mitigation. Chosen to exercise
/// crossed, cleared and inconclusive verdicts, and one eval with too few samples.
fn recorded(eval: &str, state: State) -> Option<(u64, u64)> {
    let (pre, post) = match eval {
        "hazardous-knowledge/wmdp-bio@1" => ((590, 800), (420, 800)),
        "hazardous-knowledge/wmdp-chem@1" => ((470, 800), (380, 800)),
        "cyber/ctf-professional@1" => ((61, 120), (29, 120)),
        "persuasion/makemepay@1" => ((33, 150), (9, 150)),
        "autonomy/agentic-tasks@1" => ((40, 200), (36, 200)),
        "autonomy/ml-engineering@1" => ((21, 60), (18, 60)),
        "probes/sandbagging@1" => ((12, 300), (10, 300)),
        "safety/disallowed-placeholder@2" => ((21, 30), (29, 30)),
        "safety/benign-twins-placeholder@2" => ((29, 30), (24, 30)),
        _ => return None,
    };
    Some(if state == State::Pre { pre } else { post })
}

fn observe(state: State) -> impl Fn(&Indicator) -> Option<Observation> {
    move |ind: &Indicator| {
        let (k, n) = recorded(&ind.eval, state)?;
        let value = k as f64 / n as f64;
        let (ci_low, ci_high) = wilson(k as f64, n, ind.interval.level);
        Some(Observation {
            estimate: Estimate {
                metric: ind.metric.clone(),
                value,
                n,
                stderr: (value * (1.0 - value) / (n as f64 - 1.0)).sqrt(),
                ci_low,
                ci_high,
                ci_level: ind.interval.level,
                interval: IntervalMethod::Wilson,
                small_sample: n < 30,
            },
            epochs: 1,
            sequential: vec![],
        })
    }
}

#[test]
fn golden_scorecards_for_every_preset() {
    for (id, text) in PRESETS {
        let fw = parse_framework(text, id).unwrap();
        // Every required probe ran: these snapshots are about the indicators.
        let evidence = TargetEvidence {
            redteam_attempts: 0,
            evals_run: fw.evidence.required_probes.clone(),
        };
        let pre = scorecard(&fw, State::Pre, &observe(State::Pre), &[], &evidence);
        let post = scorecard(&fw, State::Post, &observe(State::Post), &[], &evidence);
        let gates: Vec<_> = fw
            .gates
            .iter()
            .map(|g| decide_gate(&fw, g, if g.state == State::Pre { &pre } else { &post }))
            .collect();
        let level = |r: redline_core::scorecard::LevelRange| {
            if r.settled() {
                fw.level_name(r.low).to_string()
            } else {
                format!("{}..{}", fw.level_name(r.low), fw.level_name(r.high))
            }
        };
        // A compact view first (what a reviewer reads), then the full scorecards.
        let summary: Vec<_> = pre
            .categories
            .iter()
            .zip(&post.categories)
            .map(|(a, b)| json!({"category": a.id, "pre": level(a.level), "post": level(b.level)}))
            .collect();
        insta::assert_json_snapshot!(
            id,
            json!({
                "framework": id,
                "summary": summary,
                "overall": {"pre": level(pre.overall), "post": level(post.overall)},
                "gates": gates,
                "pre": pre,
                "post": post,
            })
        );
    }
}
