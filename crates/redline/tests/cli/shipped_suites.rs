//! Every eval shipped under suites/ loads, validates and runs end to end.

use crate::common::{json, shipped, stderr, Scratch};
use redline_testserver::{Reply, ServerConfig, TestServer};

/// A model that refuses everything.
fn refusing_server() -> TestServer {
    TestServer::start_background(ServerConfig {
        reply: Reply::Fixed("I'm sorry, but I can't help with that.".into()),
        ..Default::default()
    })
    .unwrap()
}

fn shipped_evals() -> Vec<std::path::PathBuf> {
    let root = shipped("");
    let mut found = vec![];
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|e| e == "toml")
                && !p.ends_with("suite.toml")
                && !p.ends_with("task.toml")
            {
                found.push(p);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_shipped_eval_runs() {
    let evals = shipped_evals();
    assert!(evals.len() >= 3, "{evals:?}");
    let srv = TestServer::start_background(ServerConfig {
        reply: Reply::Sum,
        ..Default::default()
    })
    .unwrap();
    // Model-graded evals get a judge that always grades CORRECT and rates every answer a refusal.
    let judge = TestServer::start_background(ServerConfig {
        reply: Reply::Fixed("GRADE: CORRECT\nREFUSED: 1\nCONVINCING: 1\nSPECIFIC: 1".into()),
        ..Default::default()
    })
    .unwrap();
    for eval in evals {
        let s = Scratch::new();
        let out = s.run(&[
            "eval",
            eval.to_str().unwrap(),
            "-m",
            "openai-compatible/t",
            "--base-url",
            &srv.base_url(),
            "--judge",
            "openai-compatible/judge",
            "--judge-base-url",
            &judge.base_url(),
            "--json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}: {}", eval.display(), stderr(&out));
        let doc = json(&out);
        assert_eq!(doc["run"]["errored"], 0, "{}", eval.display());
        assert!(doc["run"]["completed"].as_u64().unwrap() > 0);
        assert!(
            !doc["metrics"].as_array().unwrap().is_empty(),
            "{}",
            eval.display()
        );
    }
}

#[test]
fn arithmetic_example_scores_a_correct_model_as_correct() {
    let s = Scratch::new();
    let srv = TestServer::start_background(ServerConfig {
        reply: Reply::Sum,
        ..Default::default()
    })
    .unwrap();
    let eval = shipped("examples/arithmetic.toml");
    let out = s.run(&[
        "eval",
        eval.to_str().unwrap(),
        "-m",
        "openai-compatible/t",
        "--base-url",
        &srv.base_url(),
        "--limit",
        "50",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    for m in doc["metrics"].as_array().unwrap() {
        assert_eq!(m["value"], 1.0, "{m}");
        assert_eq!(m["n"], 50);
    }
}

#[test]
fn jailbreak_placeholder_reports_refusal_per_technique() {
    let s = Scratch::new();
    let srv = refusing_server();
    let eval = shipped("safety/jailbreak-placeholder.toml");
    let out = s.run(&[
        "eval",
        eval.to_str().unwrap(),
        "-m",
        "openai-compatible/t",
        "--base-url",
        &srv.base_url(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["run"]["completed"], 8 * 11, "8 seeds × 11 techniques");
    let groups = doc["metrics_by_group"]["technique"].as_array().unwrap();
    assert_eq!(groups.len(), 11);
    for g in groups {
        assert_eq!(g["metrics"][0]["scorer"], "refusal");
        assert_eq!(g["metrics"][0]["value"], 1.0, "{g}");
        assert_eq!(g["metrics"][0]["n"], 8);
    }
    // The server saw the transformed prompts, not the seeds: base64 of a seed is among them.
    let run = doc["run"]["id"].as_str().unwrap().to_string();
    let export = crate::common::stdout(&s.run(&["runs", "export", &run]));
    assert!(
        export.contains("encoded in base64") && export.contains("\"sample_id\":\"diary-lock/rot13\""),
        "{}",
        &export[..400]
    );
}

#[test]
fn xstest_placeholder_reports_rates_by_label() {
    let s = Scratch::new();
    // A model that refuses everything: over-refusal 1.0 on safe prompts, compliance 0 on unsafe.
    let srv = refusing_server();
    let eval = shipped("safety/xstest-placeholder.toml");
    let out = s.run(&[
        "eval",
        eval.to_str().unwrap(),
        "-m",
        "openai-compatible/t",
        "--base-url",
        &srv.base_url(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    let by_label = doc["metrics_by_group"]["label"].as_array().unwrap();
    let rate = |l: &str| by_label.iter().find(|g| g["group"] == l).unwrap()["metrics"][0].clone();
    assert_eq!(
        (rate("safe")["value"].as_f64(), rate("safe")["n"].as_u64()),
        (Some(1.0), Some(8))
    );
    assert_eq!(
        (rate("unsafe")["value"].as_f64(), rate("unsafe")["n"].as_u64()),
        (Some(1.0), Some(4))
    );
    assert!(doc["metrics_by_group"]["type"].as_array().unwrap().len() >= 5);
    assert_eq!(doc["labels"]["refusal"]["shares"][0]["label"], "refusal");
    // XSTest's three classes, by label: all full refusals here.
    let by_label = doc["labels"]["refusal"]["by_group"]["label"].as_array().unwrap();
    let safe = by_label.iter().find(|g| g["group"] == "safe").unwrap();
    assert_eq!(
        (
            safe["shares"][0]["label"].as_str(),
            safe["shares"][0]["count"].as_u64()
        ),
        (Some("refusal"), Some(8))
    );
}

#[test]
fn strongreject_placeholder_reports_goodness() {
    let s = Scratch::new();
    let srv = TestServer::start_background(ServerConfig {
        reply: Reply::Echo,
        ..Default::default()
    })
    .unwrap();
    // The judge rates every answer fully harmful, so every prompt's worst technique scores 1 and
    // goodness@0.1 is 0 (the formula itself is checked by hand in redline-core).
    let judge = TestServer::start_background(ServerConfig {
        reply: Reply::Fixed("REFUSED: 0\nCONVINCING: 5\nSPECIFIC: 5".into()),
        ..Default::default()
    })
    .unwrap();
    let eval = shipped("safety/strongreject-placeholder.toml");
    let out = s.run(&[
        "eval",
        eval.to_str().unwrap(),
        "-m",
        "openai-compatible/t",
        "--base-url",
        &srv.base_url(),
        "--judge",
        "openai-compatible/j",
        "--judge-base-url",
        &judge.base_url(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["run"]["completed"], 6 * 4);
    assert_eq!(doc["metrics"][0]["value"], 1.0);
    let sr = &doc["labels"]["strongreject"]["strongreject"];
    assert_eq!(sr["prompts"], 6);
    assert_eq!(sr["goodness_at_0_1"], 0.0);
    assert_eq!(doc["metrics_by_group"]["technique"].as_array().unwrap().len(), 4);
}

#[test]
fn disallowed_and_benign_twins_measure_both_sides_of_refusing() {
    let refuser = refusing_server();
    let dir = shipped("safety");
    for (file, metric, value) in [
        ("disallowed-placeholder.toml", "not_unsafe", 1.0),
        ("benign-twins-placeholder.toml", "not_overrefuse", 0.0),
    ] {
        let s = Scratch::new();
        let eval = dir.join(file);
        let out = s.run(&[
            "eval",
            eval.to_str().unwrap(),
            "-m",
            "openai-compatible/t",
            "--base-url",
            &refuser.base_url(),
            "--json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let doc = json(&out);
        assert_eq!(doc["metrics"][0]["scorer"], metric);
        assert_eq!(doc["metrics"][0]["value"], value, "{file}");
        assert_eq!(doc["metrics"][0]["n"], 30);
    }
}

#[test]
fn bbq_placeholder_reports_accuracy_and_bias_scores() {
    let s = Scratch::new();
    // Always picks B, the stereotyped group ("the night owl"). By hand: ambiguous items are
    // both wrong (unknown was right): one biased (negative question), one counter-biased;
    // disambiguated: the negative one is biased and wrong, the non-negative one counter-biased
    // and right. So accuracy 0 / 0.5, s_DIS = 2·(1/2) − 1 = 0, s_AMB = (1 − 0)·0 = 0, and the
    // stereotyped share when "unknown" is right is 1/2.
    let srv = TestServer::start_background(ServerConfig {
        reply: Reply::Fixed("ANSWER: B".into()),
        ..Default::default()
    })
    .unwrap();
    let eval = shipped("safety/bbq-placeholder.toml");
    let out = s.run(&[
        "eval",
        eval.to_str().unwrap(),
        "-m",
        "openai-compatible/t",
        "--base-url",
        &srv.base_url(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    let b = &doc["labels"]["bbq"]["bbq"];
    assert_eq!(b["ambiguous_accuracy"], 0.0);
    assert_eq!(b["disambiguated_accuracy"], 0.5);
    assert_eq!(b["bias_disambiguated"], 0.0);
    assert_eq!(b["bias_ambiguous"], 0.0);
    assert_eq!(b["stereotyped_share_when_unknown"], 0.5);
    let classes: Vec<String> = doc["labels"]["bbq"]["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| format!("{}={}", x["label"].as_str().unwrap(), x["count"]))
        .collect();
    assert_eq!(classes, ["biased=2", "counter_biased=2"]);
}

#[test]
fn the_safety_suite_runs_with_one_command() {
    let s = Scratch::new();
    let srv = TestServer::start_background(ServerConfig {
        reply: Reply::Sum,
        ..Default::default()
    })
    .unwrap();
    let judge = TestServer::start_background(ServerConfig {
        reply: Reply::Fixed("GRADE: CORRECT\nREFUSED: 1\nCONVINCING: 1\nSPECIFIC: 1".into()),
        ..Default::default()
    })
    .unwrap();
    let suite = shipped("safety");
    let out = s.run(&[
        "eval",
        suite.to_str().unwrap(),
        "-m",
        "openai-compatible/t",
        "--base-url",
        &srv.base_url(),
        "--judge",
        "openai-compatible/j",
        "--judge-base-url",
        &judge.base_url(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let docs: Vec<serde_json::Value> = crate::common::stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let evals: Vec<&str> = docs
        .iter()
        .map(|d| d["run"]["eval_id"].as_str().unwrap())
        .collect();
    assert_eq!(evals.len(), 7, "{evals:?}");
    assert!(evals.contains(&"safety/bbq-placeholder") && evals.contains(&"safety/strongreject-placeholder"));
    assert!(docs.iter().all(|d| d["run"]["status"] == "complete"));
}
