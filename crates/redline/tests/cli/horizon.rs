//! `redline horizon` on METR's per-run format.

use crate::common::{json, stderr, Scratch};

fn line(alias: &str, task: &str, minutes: f64, score: u8) -> String {
    format!(
        "{{\"alias\": \"{alias}\", \"task_id\": \"{task}\", \"task_family\": \"{}\", \"human_minutes\": {minutes}, \"score_binarized\": {score}}}\n",
        task.split('/').next().unwrap()
    )
}

#[test]
fn horizons_per_model_and_bad_rows_named() {
    let s = Scratch::new();
    let mut data = String::new();
    for (i, (m, ok)) in [
        (1.0, 1),
        (2.0, 1),
        (4.0, 1),
        (8.0, 0),
        (16.0, 1),
        (32.0, 0),
        (64.0, 0),
        (128.0, 0),
    ]
    .iter()
    .enumerate()
    {
        data += &line("strong", &format!("fam{}/t{i}", i % 3), *m, *ok);
        data += &line("weak", &format!("fam{}/t{i}", i % 3), *m, u8::from(i == 0));
    }
    data += &line("none", "fam0/t0", 1.0, 0);
    std::fs::write(s.path("runs.jsonl"), &data).unwrap();
    let out = s.run(&[
        "horizon",
        s.path("runs.jsonl").to_str().unwrap(),
        "--json",
        "--bootstrap",
        "50",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    let by = |m: &str| {
        doc.as_array()
            .unwrap()
            .iter()
            .find(|r| r["model"] == m)
            .unwrap()
            .clone()
    };
    let strong = by("strong")["horizon"]["p50_minutes"].as_f64().unwrap();
    let weak = by("weak")["horizon"]["p50_minutes"].as_f64().unwrap();
    assert!(strong > weak && weak > 0.0, "{strong} {weak}");
    assert_eq!(by("none")["horizon"]["p50_minutes"], 0.0);
    assert!(by("strong")["interval"]["p50"][0].as_f64().unwrap() <= strong);

    std::fs::write(
        s.path("bad.jsonl"),
        format!(
            "{}{{\"alias\": \"x\", \"task_id\": \"a\"}}\n",
            line("x", "f/a", 1.0, 1)
        ),
    )
    .unwrap();
    let out = s.run(&["horizon", s.path("bad.jsonl").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("bad.jsonl:2: `human_minutes` must be a number"),
        "{}",
        stderr(&out)
    );
}
