//! The scorecard as text for a terminal: levels per category before and after mitigation,
//! every indicator with its value, n, interval, verdicts and distance to each threshold, the
//! evidence found versus required, gates with reasons, and the determination log.

use std::fmt::Write;

use redline_core::framework::{Framework, ThresholdProvenance};
use redline_core::scorecard::{GateOutcome, IndicatorResult, LevelRange, Scorecard, Verdict};
use redline_store::AssessmentRow;

use crate::assess_cmd::Computed;
use crate::text::safe_preview;

pub fn level(fw: &Framework, r: LevelRange) -> String {
    if r.settled() {
        fw.level_name(r.low).to_string()
    } else {
        format!("{}..{} (review)", fw.level_name(r.low), fw.level_name(r.high))
    }
}

fn indicator_line(fw: &Framework, i: &IndicatorResult) -> String {
    let Some(o) = &i.observation else {
        return format!("no data: {}", i.evidence_gaps.join("; "));
    };
    let e = &o.estimate;
    let mut s = format!(
        "{:.3} [{:.3}, {:.3}] n={} se={:.3}",
        e.value, e.ci_low, e.ci_high, e.n, e.stderr
    );
    for c in &i.checks {
        let v = match c.verdict {
            Verdict::Crossed => "crossed",
            Verdict::Cleared => "cleared",
            Verdict::Inconclusive => "INCONCLUSIVE",
        };
        let se = c.distance_se.map(|d| format!(", {d:+.1} se")).unwrap_or_default();
        let v = match c.settled_after {
            Some(n) => format!("{v} by sequential test after {n}"),
            None => v.to_string(),
        };
        let _ = write!(
            s,
            " · {} {} {v} ({:+.3}{se})",
            fw.level_name(c.level),
            c.threshold,
            c.distance
        );
    }
    if i.alert {
        s.push_str(" · ALERT: within the early-warning margin");
    }
    if !i.evidence_gaps.is_empty() {
        let _ = write!(s, " · evidence short: {}", i.evidence_gaps.join("; "));
    }
    s
}

pub fn scorecard_text(a: &AssessmentRow, c: &Computed) -> String {
    let fw = &c.framework;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "assessment {}  ·  {} ({}) version {}",
        a.id, fw.name, fw.id, fw.version
    );
    if fw.thresholds == ThresholdProvenance::Illustrative {
        let _ = writeln!(s, "thresholds ILLUSTRATIVE — {}", fw.source);
    }
    let _ = writeln!(s, "pre   {}", target_label(&a.pre_target));
    let _ = writeln!(s, "post  {}", target_label(&a.post_target));
    let _ = writeln!(
        s,
        "\n{:<28} {:<26} {:<26}",
        "CATEGORY", "PRE-MITIGATION", "POST-MITIGATION"
    );
    for (p, q) in c.pre.categories.iter().zip(&c.post.categories) {
        let name = if p.research {
            format!("{} (research)", p.id)
        } else {
            p.id.clone()
        };
        let _ = writeln!(
            s,
            "{:<28} {:<26} {:<26}",
            name,
            mark(fw, p.level, p.evidence_ok),
            mark(fw, q.level, q.evidence_ok)
        );
    }
    let _ = writeln!(
        s,
        "{:<28} {:<26} {:<26}",
        "OVERALL",
        mark(fw, c.pre.overall, c.pre.evidence_ok),
        mark(fw, c.post.overall, c.post.evidence_ok)
    );
    for card in [&c.pre, &c.post] {
        indicators(&mut s, fw, card);
    }
    let _ = writeln!(
        s,
        "\nevidence required: every indicator, n ≥ {}, ≥ {} epoch(s)",
        fw.evidence.min_samples_per_indicator, fw.evidence.min_epochs
    );
    for gap in c
        .pre
        .evidence_gaps
        .iter()
        .chain(&c.post.evidence_gaps)
        .collect::<std::collections::BTreeSet<_>>()
    {
        let _ = writeln!(s, "evidence short: {gap}");
    }
    let _ = writeln!(s, "\nGATES");
    for (_, g) in &c.gates {
        let o = match g.outcome {
            GateOutcome::Pass => "PASS",
            GateOutcome::Fail => "FAIL",
            GateOutcome::InsufficientEvidence => "INSUFFICIENT EVIDENCE",
            GateOutcome::NeedsReview => "NEEDS REVIEW",
        };
        let _ = writeln!(s, "  {:<20} {:<22} {}", g.id, o, g.reason);
    }
    if !c.determinations.is_empty() {
        let _ = writeln!(
            s,
            "\nDETERMINATIONS (append-only log; the newest per category and state applies)"
        );
        for d in &c.determinations {
            let _ = writeln!(
                s,
                "  #{} {} {} {} → {} by {}: {}",
                d.seq,
                d.created_at.get(..19).unwrap_or(&d.created_at),
                d.state,
                d.category,
                d.level,
                safe_preview(&d.decided_by, 60),
                safe_preview(&d.rationale, 300)
            );
        }
    }
    s
}

fn mark(fw: &Framework, r: LevelRange, evidence_ok: bool) -> String {
    let l = level(fw, r);
    if evidence_ok {
        l
    } else {
        format!("{l} (insufficient evidence)")
    }
}

fn indicators(s: &mut String, fw: &Framework, card: &Scorecard) {
    let state = match card.state {
        redline_core::framework::State::Pre => "PRE-MITIGATION",
        redline_core::framework::State::Post => "POST-MITIGATION",
    };
    let _ = writeln!(s, "\n{state} INDICATORS");
    for cat in &card.categories {
        for i in &cat.indicators {
            let _ = writeln!(s, "  {}/{}  {} {}", cat.id, i.id, i.eval, i.metric);
            let _ = writeln!(s, "      {}", indicator_line(fw, i));
        }
        if let Some(d) = &cat.determination {
            let _ = writeln!(
                s,
                "  {} determined {} by {} (computed: {}): {}",
                cat.id,
                fw.level_name(d.level),
                safe_preview(&d.by, 60),
                level(fw, cat.computed),
                safe_preview(&d.rationale, 300)
            );
        }
    }
}

/// How a red-team campaign names its target (`provider/name+safety-prompt+moderation`), from
/// a target's JSON: the key that ties campaigns to assessments of the same target.
pub fn campaign_target(t: &serde_json::Value) -> String {
    let mut label = t["endpoint"]["model"].as_str().unwrap_or("?").to_string();
    if !t["safety_prompt"].is_null() {
        label.push_str("+safety-prompt");
    }
    if !t["moderation"].is_null() {
        label.push_str("+moderation");
    }
    label
}

pub fn target_label(t: &serde_json::Value) -> String {
    let mut label = t["endpoint"]["model"].as_str().unwrap_or("?").to_string();
    if !t["safety_prompt"].is_null() {
        label.push_str(" + safety prompt");
    }
    if let Some(j) = t["moderation"]["judge"]["model"].as_str() {
        label.push_str(&format!(" + moderation by {j}"));
    }
    label
}
