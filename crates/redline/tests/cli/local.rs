//! The local model through the CLI: `local/smollm2` as an eval target, and `redline demo` end to
//! end on a few rows (the full demo is the README's main job). Without the model file these
//! skip, unless REDLINE_REQUIRE_MODELS is set (scripts/test.sh sets it after fetching).

use std::path::Path;

use crate::common::{stderr, stdout, Scratch};

fn model_present() -> bool {
    let dir = std::env::var_os("REDLINE_MODEL_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| Path::new(&d).join("redline/models")))
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/redline/models")));
    let present = dir.is_some_and(|d| d.join("SmolLM2-135M-Instruct.Q4_1.gguf").is_file());
    if !present {
        assert!(
            std::env::var_os("REDLINE_REQUIRE_MODELS").is_none(),
            "REDLINE_REQUIRE_MODELS is set but the local model is missing: run scripts/fetch-models.sh"
        );
        eprintln!("skipped: local model not fetched (scripts/fetch-models.sh)");
    }
    present
}

fn repo(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
        .display()
        .to_string()
}

#[test]
fn a_local_model_is_an_eval_target_with_no_server_and_no_key() {
    if !model_present() {
        return;
    }
    let s = Scratch::new();
    let out = s.run(&[
        "eval",
        &repo("suites/safety/benign-twins-placeholder.toml"),
        "--model",
        "local/smollm2",
        "--limit",
        "2",
        "--max-tokens",
        "8",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = crate::common::json(&out);
    assert_eq!(doc["run"]["model"], "local/SmolLM2-135M-Instruct.Q4_1");
    assert_eq!(doc["metrics"][0]["n"], 2);
}

#[test]
fn unknown_local_file_is_named() {
    let s = Scratch::new();
    let out = s.run(&[
        "eval",
        &repo("suites/safety/benign-twins-placeholder.toml"),
        "--model",
        "local/nowhere/model.gguf",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nowhere/model.gguf"), "{}", stderr(&out));
}

#[test]
fn demo_runs_the_whole_pipeline_and_writes_a_verifiable_card() {
    if !model_present() {
        return;
    }
    let s = Scratch::new();
    let out_dir = s.path("demo");
    let out = s
        .redline()
        .current_dir(repo(""))
        .args([
            "demo",
            "--limit",
            "2",
            "--max-tokens",
            "6",
            "--out",
            out_dir.to_str().unwrap(),
            "-q",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("system card"), "{text}");
    let bundle = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .expect("a card bundle folder");
    for f in [
        "card.html",
        "card.md",
        "card.json",
        "manifest.json",
        "manifest.sig",
    ] {
        assert!(bundle.join(f).is_file(), "{f}");
    }
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("card.json")).unwrap()).unwrap();
    assert_eq!(card["assessment"]["framework_id"], "redline-safety-v1");
    assert!(
        !card["comparisons"].as_array().unwrap().is_empty(),
        "the two generations are compared"
    );
    let key = format!("{}.pub", out_dir.join("demo-signing.key").display());
    let verify = s.run(&["verify", bundle.to_str().unwrap(), "--key", &key]);
    assert_eq!(verify.status.code(), Some(0), "{}", stderr(&verify));
}
