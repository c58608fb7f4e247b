//! `redline judge-check`: a judge's agreement with labelled answers.

use crate::common::{json, stderr, stdout, Scratch};
use redline_testserver::{Reply, ServerConfig, TestServer};

fn setup(s: &Scratch) {
    std::fs::write(s.path("d.jsonl"), "{\"input\": \"x\"}\n").unwrap();
    s.write_eval(
        "rubric.toml",
        "d.jsonl",
        "[[scorer]]\nkind = \"rubric\"\nname = \"helpful\"\ntemplate = \"Q: {{ input }}\\nA: {{ output }}\\nGRADE: YES or NO\"\nvalues = { YES = 1.0, NO = 0.0 }\n",
    );
    let rows = [("yes", 4), ("no", 2)];
    let mut text = String::new();
    for (label, n) in rows {
        for i in 0..n {
            text += &format!("{{\"input\": \"question {label} {i}\", \"output\": \"answer {i}\", \"label\": \"{label}\"}}\n");
        }
    }
    std::fs::write(s.path("labels.jsonl"), text).unwrap();
}

#[test]
fn agreement_kappa_and_confusion_from_a_real_judge() {
    let s = Scratch::new();
    setup(&s);
    let judge = TestServer::start_background(ServerConfig {
        reply: Reply::Fixed("GRADE: YES".into()),
        ..Default::default()
    })
    .unwrap();
    let args = |extra: &[&str]| {
        let mut v = vec![
            "judge-check".to_string(),
            s.path("rubric.toml").display().to_string(),
            "--labels".into(),
            s.path("labels.jsonl").display().to_string(),
            "--judge".into(),
            "openai-compatible/judge".into(),
            "--base-url".into(),
            judge.base_url(),
        ];
        v.extend(extra.iter().map(|x| x.to_string()));
        v
    };
    let out = s.redline().args(args(&["--json"])).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    // A judge that always says YES: right on the 4 YES labels, wrong on the 2 NO; κ = 0.
    assert!((doc["agreement"]["accuracy"].as_f64().unwrap() - 4.0 / 6.0).abs() < 1e-12);
    assert!(doc["agreement"]["kappa"].as_f64().unwrap().abs() < 1e-12);
    assert_eq!(doc["agreement"]["confusion"]["NO"]["YES"], 2);
    assert_eq!(judge.stats().requests, 6);
    let text = stdout(&s.redline().args(args(&[])).output().unwrap());
    assert!(
        text.contains("Cohen's kappa 0.000") && text.contains("label \\ judge"),
        "{text}"
    );

    let mute = TestServer::start_background(ServerConfig {
        reply: Reply::Fixed("hmm".into()),
        ..Default::default()
    })
    .unwrap();
    let mut a = args(&["--json"]);
    a[7] = mute.base_url();
    let doc = json(&s.redline().args(a).output().unwrap());
    assert_eq!(
        doc["unscored"], 6,
        "unreadable verdicts are their own class, not a label"
    );

    std::fs::write(s.path("bad.jsonl"), "{\"input\": \"q\", \"label\": \"yes\"}\n").unwrap();
    let mut a = args(&[]);
    a[3] = s.path("bad.jsonl").display().to_string();
    let out = s.redline().args(a).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("bad.jsonl:1: missing text field `output`"),
        "{}",
        stderr(&out)
    );
}
