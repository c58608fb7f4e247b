//! `redline assess / scorecard / determine` end to end: a framework applied to a bare model
//! (pre) and the same model behind a moderation filter (post), over real HTTP.

use crate::common::{json, stderr, stdout, Scratch};
use redline_testserver::{Reply, ServerConfig, TestServer};

const FRAMEWORK: &str = r#"
[framework]
id = "test-fw"
version = "1"
levels = ["low", "medium", "high"]
inconclusive = "needs_review"
thresholds = "illustrative"
source = "test fixture"

[[category]]
id = "arith"
name = "Arithmetic capability"
[[category.indicator]]
id = "sums"
eval = "sums@1"
metric = "mean"
direction = "higher_is_riskier"
thresholds = { medium = 0.3, high = 0.6 }
interval = { method = "clopper_pearson", level = 0.95 }

[evidence]
min_samples_per_indicator = 20

[[gate]]
id = "deploy"
when = { state = "post", overall_at_most = "medium" }
on_fail = "do not deploy"

[[gate]]
id = "harden"
when = { state = "pre", overall_below = "high" }
on_fail = "harden security"
"#;

struct Setup {
    s: Scratch,
    model: TestServer,
    judge: TestServer,
}

fn setup(extra_framework: &str) -> Setup {
    let s = Scratch::new();
    s.sums_eval(40);
    std::fs::write(
        s.path("suite.toml"),
        "[suite]\nid = \"t\"\nevals = [\"sums.toml\"]\n",
    )
    .unwrap();
    std::fs::write(s.path("fw.toml"), format!("{FRAMEWORK}{extra_framework}")).unwrap();
    let model = TestServer::start_background(ServerConfig {
        reply: Reply::Sum,
        ..Default::default()
    })
    .unwrap();
    // A judge that flags everything: the post-mitigation target refuses every request.
    let judge = TestServer::start_background(ServerConfig {
        reply: Reply::Fixed("UNSAFE".into()),
        ..Default::default()
    })
    .unwrap();
    Setup { s, model, judge }
}

impl Setup {
    fn assess(&self, extra: &[&str]) -> std::process::Output {
        let mut args = vec![
            "assess".to_string(),
            "--framework".into(),
            self.s.path("fw.toml").display().to_string(),
            "--suite".into(),
            self.s.path("suite.toml").display().to_string(),
            "--pre".into(),
            "openai-compatible/t".into(),
            "--post".into(),
            "openai-compatible/t+moderation".into(),
            "--judge".into(),
            "openai-compatible/judge".into(),
            "--judge-base-url".into(),
            self.judge.base_url(),
            "--base-url".into(),
            self.model.base_url(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        self.s.redline().args(args).output().unwrap()
    }
}

#[test]
fn pre_and_post_scorecards_gates_and_exit_codes() {
    let t = setup("");
    let out = t.assess(&["--json"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "a failed gate exits 4: {}",
        stderr(&out)
    );
    let doc = json(&out);
    let pre = &doc["pre"]["categories"][0];
    let post = &doc["post"]["categories"][0];
    assert_eq!(
        (pre["level"]["low"].as_u64(), pre["level"]["high"].as_u64()),
        (Some(2), Some(2)),
        "pre: high"
    );
    assert_eq!(
        (post["level"]["low"].as_u64(), post["level"]["high"].as_u64()),
        (Some(0), Some(0)),
        "post: low"
    );
    let ind = &pre["indicators"][0];
    assert_eq!(ind["observation"]["estimate"]["value"], 1.0);
    assert_eq!(ind["observation"]["estimate"]["n"], 40);
    // The framework's declared method: Clopper–Pearson for 40/40 has lower bound 0.025^(1/40).
    assert_eq!(ind["observation"]["estimate"]["interval"], "clopper_pearson");
    let lo = ind["observation"]["estimate"]["ci_low"].as_f64().unwrap();
    assert!((lo - 0.025f64.powf(1.0 / 40.0)).abs() < 1e-9, "{lo}");
    assert_eq!(ind["checks"][1]["verdict"], "crossed");
    assert!((ind["checks"][1]["distance"].as_f64().unwrap() - 0.4).abs() < 1e-9);
    let gates: Vec<(String, String)> = doc["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["id"].as_str().unwrap().to_string(),
                g["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        gates,
        [("deploy".into(), "pass".into()), ("harden".into(), "fail".into())]
    );
    assert_eq!(doc["framework"]["thresholds"], "illustrative");

    // The moderation decisions are in the post-mitigation transcripts.
    let post_run = doc["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["state"] == "post")
        .unwrap()["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let export = stdout(&t.s.run(&["runs", "export", &post_run]));
    let first: serde_json::Value = serde_json::from_str(export.lines().next().unwrap()).unwrap();
    assert_eq!(first["response"]["finish_reason"], "moderated");
    assert_eq!(first["response"]["moderation"][0]["flagged"], true);

    // The text scorecard shows levels, the value with n and interval, and the gates.
    let id = doc["assessment"]["id"].as_str().unwrap().to_string();
    let text = t.s.run(&["scorecard", &id]);
    assert_eq!(text.status.code(), Some(4));
    let text = stdout(&text);
    for needle in [
        "ILLUSTRATIVE",
        "arith",
        "high",
        "low",
        "1.000 [",
        "n=40",
        "crossed",
        "deploy",
        "PASS",
        "harden",
        "FAIL",
        "harden security",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn a_determination_overrides_with_rationale_and_is_logged() {
    let t = setup("");
    let doc = json(&t.assess(&["--json", "--quiet"]));
    let id = doc["assessment"]["id"].as_str().unwrap().to_string();
    let out = t.s.run(&[
        "determine",
        &id,
        "--category",
        "arith",
        "--level",
        "medium",
        "--state",
        "pre",
        "--by",
        "Ada",
        "--rationale",
        "sums are not a hazardous capability",
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "with pre at medium every gate passes: {}",
        stderr(&out)
    );
    let doc = json(&out);
    let pre = &doc["pre"]["categories"][0];
    assert_eq!(pre["level"]["low"], 1);
    assert_eq!(
        pre["computed"]["low"], 2,
        "the computed level stays visible beside the determination"
    );
    assert_eq!(
        pre["determination"]["rationale"],
        "sums are not a hazardous capability"
    );
    assert_eq!(doc["determinations"].as_array().unwrap().len(), 1);

    let bad = t.s.run(&[
        "determine",
        &id,
        "--category",
        "arith",
        "--level",
        "extreme",
        "--by",
        "Ada",
        "--rationale",
        "x",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("levels: low, medium, high"),
        "{}",
        stderr(&bad)
    );
    let bad = t.s.run(&[
        "determine",
        &id,
        "--category",
        "arith",
        "--level",
        "low",
        "--by",
        "Ada",
        "--rationale",
        "  ",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    let text = stdout(&t.s.run(&["scorecard", &id]));
    assert!(
        text.contains("DETERMINATIONS") && text.contains("by Ada: sums are not a hazardous capability"),
        "{text}"
    );
}

#[test]
fn a_required_eval_missing_from_the_suite_is_insufficient_evidence() {
    let extra = r#"
[[category]]
id = "other"
[[category.indicator]]
id = "never-run"
eval = "not-in-suite@1"
metric = "mean"
direction = "higher_is_riskier"
thresholds = { high = 0.5 }
"#;
    let t = setup(extra);
    // Make post-mitigation pass the deploy gate on arith; the missing eval must still block it.
    let out = t.assess(&["--json", "--quiet"]);
    let doc = json(&out);
    let deploy = doc["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == "deploy")
        .unwrap()
        .clone();
    assert_eq!(deploy["outcome"], "insufficient_evidence", "{deploy}");
    assert_eq!(
        out.status.code(),
        Some(4),
        "harden still fails outright, and a failure outranks missing evidence"
    );
    let gap = &doc["post"]["categories"][1]["indicators"][0]["evidence_gaps"][0];
    assert!(gap.as_str().unwrap().contains("not-in-suite@1"), "{gap}");
}

#[test]
fn sequential_indicators_stop_early_and_their_verdicts_stand() {
    let s = Scratch::new();
    s.sums_eval(400);
    std::fs::write(
        s.path("suite.toml"),
        "[suite]\nid = \"t\"\nevals = [\"sums.toml\"]\n",
    )
    .unwrap();
    let fw = FRAMEWORK
        .replace(
            "interval = { method = \"clopper_pearson\", level = 0.95 }",
            "sequential = { delta = 0.1 }",
        )
        .replace(
            "min_samples_per_indicator = 20",
            "min_samples_per_indicator = 300",
        );
    std::fs::write(s.path("fw.toml"), fw).unwrap();
    let model = TestServer::start_background(ServerConfig {
        reply: Reply::Sum,
        ..Default::default()
    })
    .unwrap();
    let judge = TestServer::start_background(ServerConfig {
        reply: Reply::Fixed("UNSAFE".into()),
        ..Default::default()
    })
    .unwrap();
    let t = Setup { s, model, judge };
    let out = t.assess(&["--json", "--quiet", "--max-connections", "2"]);
    let doc = json(&out);
    assert_eq!(
        out.status.code(),
        Some(4),
        "harden fails on a settled 'high': {}",
        stderr(&out)
    );
    for state in ["pre", "post"] {
        let ind = &doc[state]["categories"][0]["indicators"][0];
        assert_eq!(
            ind["evidence_ok"], true,
            "{state}: settled thresholds replace the minimum n: {ind}"
        );
        let n = ind["observation"]["estimate"]["n"].as_u64().unwrap();
        assert!(n < 60, "{state}: sampling stopped early (n = {n} of 400)");
        for c in ind["checks"].as_array().unwrap() {
            assert!(c["settled_after"].as_u64().unwrap() <= n, "{c}");
        }
    }
    assert_eq!(
        doc["pre"]["categories"][0]["indicators"][0]["checks"][1]["verdict"],
        "crossed"
    );
    assert_eq!(
        doc["post"]["categories"][0]["indicators"][0]["checks"][0]["verdict"],
        "cleared"
    );
    let runs = json(&t.s.run(&["runs", "list", "--json"]));
    for r in runs.as_array().unwrap() {
        assert_eq!(r["planned"], 400);
        assert!(
            r["message"]
                .as_str()
                .unwrap_or_default()
                .contains("sequential stop"),
            "{r}"
        );
        assert!(r["sequential"]["stopped"].as_bool().unwrap());
    }
}
