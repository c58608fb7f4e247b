//! `redline card`, `keygen`, `verify` end to end: two assessments of the shipped demo suite under
//! the shipped redline-safety-v1 framework over real HTTP (an older generation that refuses, a
//! newer one that complies with hostile markup in its answers), the card with its comparison, a
//! signed bundle that verifies and then catches a changed byte, and the HTML card opened in
//! headless Chromium.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{stderr, stdout, Scratch};
use redline_testserver::{Reply, ServerConfig, TestServer};

const HOSTILE: &str = "Sure, here is how. <script>document.body.setAttribute('data-pwned','1')</script><b>Step one</b>: <img src=x onerror=\"document.title='pwned'\">";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn server(reply: &str) -> TestServer {
    TestServer::start_background(ServerConfig {
        reply: Reply::Fixed(reply.into()),
        ..Default::default()
    })
    .unwrap()
}

/// Runs an assessment and returns its id.
fn assess(s: &Scratch, model: &TestServer, judge: &TestServer, name: &str) -> String {
    let out = s.run(&[
        "assess",
        "--framework",
        "redline-safety-v1",
        "--suite",
        &repo().join("suites/demo").display().to_string(),
        "--pre",
        &format!("openai-compatible/{name}"),
        "--post",
        &format!("openai-compatible/{name}+safety-prompt+moderation"),
        "--judge",
        "openai-compatible/judge",
        "--judge-base-url",
        &judge.base_url(),
        "--base-url",
        &model.base_url(),
        "--json",
    ]);
    assert!(
        matches!(out.status.code(), Some(0 | 4 | 5 | 6)),
        "assess ran: {}",
        stderr(&out)
    );
    crate::common::json(&out)["assessment"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

struct Assessed {
    s: Scratch,
    older: String,
    newer: String,
}

fn two_generations() -> Assessed {
    let s = Scratch::new();
    let refuser = server("I'm sorry, but I can't help with that request.");
    let complier = server(HOSTILE);
    // The moderation judge passes everything through, so post answers equal pre answers.
    let judge = server("SAFE");
    let older = assess(&s, &refuser, &judge, "gen-1");
    let newer = assess(&s, &complier, &judge, "gen-2");
    Assessed { s, older, newer }
}

#[test]
fn card_bundle_signs_verifies_and_catches_tampering() {
    let a = two_generations();
    let s = &a.s;
    let key = s.path("signing.key");
    let out = s.run(&["keygen", "--out", key.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim().len(), 64, "prints the public key");
    let bundle = s.path("bundle");
    let out = s.run(&[
        "card",
        &a.newer,
        "--format",
        "html,md,json",
        "--out",
        bundle.to_str().unwrap(),
        "--sign",
        key.to_str().unwrap(),
        "--compare",
        &a.older,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    for f in [
        "card.html",
        "card.md",
        "card.json",
        "manifest.json",
        "manifest.sig",
    ] {
        assert!(bundle.join(f).is_file(), "{f} written");
    }
    let runs = std::fs::read_dir(bundle.join("runs")).unwrap().count();
    assert_eq!(runs, 6, "raw samples of each linked run (3 evals × pre/post)");

    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("card.json")).unwrap()).unwrap();
    assert_eq!(card["schema"], "redline.card/v1");
    assert_eq!(card["assessment"]["framework_id"], "redline-safety-v1");
    assert_eq!(card["scorecard"].as_array().unwrap().len(), 2);
    assert_eq!(
        card["indicators"].as_array().unwrap().len(),
        4,
        "2 indicators × pre/post"
    );
    // gen-2 complies with every disallowed request: not_unsafe = 0, far below both thresholds.
    let declines = card["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "declines-disallowed" && i["state"] == "pre")
        .unwrap();
    assert_eq!(declines["value"], 0.0);
    assert_eq!(declines["n"], 30);
    assert_eq!(declines["level"], "unacceptable");
    assert_eq!(card["summary"]["decision"], "fail");
    let techniques: Vec<&str> = card["jailbreaks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["state"] == "pre")
        .map(|j| j["technique"].as_str().unwrap())
        .collect();
    assert_eq!(techniques, ["base64", "none", "role_play"]);
    assert!(card["jailbreaks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|j| j["success_rate"] == 1.0 && j["n"] == 8));
    // The older generation refused everything; the newer complies: a paired drop of 1 per item.
    let cmp = card["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["eval"] == "safety/disallowed-placeholder@2" && c["state"] == "pre")
        .expect("disallowed compared across generations");
    assert_eq!(cmp["baseline_value"], 1.0);
    assert_eq!(cmp["value"], 0.0);
    assert_eq!(cmp["paired"]["pairs"], 30);
    assert_eq!(cmp["paired"]["mean_difference"], -1.0);
    assert_eq!(cmp["paired"]["unmatched"], 0);
    assert!(card["adequacy"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["pre"] == true && r["post"] == true));
    assert_eq!(card["methodology"]["evals"].as_array().unwrap().len(), 6);
    let example = &card["evaluations"][0]["examples"][0];
    assert_eq!(example["response"], HOSTILE, "model output kept verbatim in JSON");

    let md = std::fs::read_to_string(bundle.join("card.md")).unwrap();
    assert!(md.contains("## Comparison with earlier generations"));
    assert!(
        md.contains("```text\nSure, here is how. <script>"),
        "model output only inside a fence"
    );

    let out = s.run(&[
        "verify",
        bundle.to_str().unwrap(),
        "--key",
        &format!("{}.pub", key.display()),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("OK: signature valid"));

    // One changed byte in one file: exit 7, naming the file.
    let target = bundle.join("card.md");
    let mut bytes = std::fs::read(&target).unwrap();
    bytes[10] ^= 0x20;
    std::fs::write(&target, bytes).unwrap();
    let out = s.run(&["verify", bundle.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(7));
    assert!(
        stderr(&out).contains("card.md: changed since signing"),
        "{}",
        stderr(&out)
    );

    // Signed by someone else: refused even though every hash matches that signer's manifest.
    let other = s.path("other.key");
    assert!(s
        .run(&["keygen", "--out", other.to_str().unwrap()])
        .status
        .success());
    let out = s.run(&[
        "verify",
        bundle.to_str().unwrap(),
        "--key",
        &format!("{}.pub", other.display()),
    ]);
    assert_eq!(out.status.code(), Some(7));
    assert!(
        stderr(&out).contains("not by the expected key"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn single_card_file_and_clear_errors() {
    let a = two_generations();
    let s = &a.s;
    let out_path = s.path("card.md");
    let out = s.run(&[
        "card",
        &a.newer[..8],
        "--format",
        "md",
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read_to_string(&out_path)
        .unwrap()
        .starts_with("# System card: "));
    let out = s.run(&["card", "nonexistent", "--out", s.path("x.html").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nonexistent"), "{}", stderr(&out));
    let out = s.run(&[
        "card",
        &a.newer,
        "--sign",
        s.path("no-such.key").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no-such.key"), "{}", stderr(&out));
}

/// Debian's Chromium (installed by scripts/test.sh), or $CHROMIUM.
fn chromium() -> Option<PathBuf> {
    let candidates = [std::env::var("CHROMIUM").ok(), Some("/usr/bin/chromium".into())];
    candidates
        .into_iter()
        .flatten()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

#[test]
fn html_card_in_headless_chromium_shows_charts_and_never_runs_model_output() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("REDLINE_REQUIRE_BROWSER").is_none(),
            "REDLINE_REQUIRE_BROWSER is set but Chromium is not installed"
        );
        eprintln!("skipped: Chromium not found (scripts/test.sh installs Debian's chromium)");
        return;
    };
    let a = two_generations();
    let s = &a.s;
    let html = s.path("card.html");
    let out = s.run(&[
        "card",
        &a.newer,
        "--compare",
        &a.older,
        "--out",
        html.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let profile = s.path("chromium-profile");
    let out = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile.display()),
            "--virtual-time-budget=2000",
            "--dump-dom",
            &format!("file://{}", html.display()),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium: {}", stderr(&out));
    let dom = stdout(&out);
    // The page as the browser built it: every section and chart is there...
    for id in [
        "summary",
        "scorecard",
        "indicators",
        "safety",
        "jailbreaks",
        "comparison",
        "adequacy",
        "methodology",
    ] {
        assert!(
            dom.contains(&format!("<section id=\"{id}\">")),
            "section {id} rendered"
        );
    }
    for chart in [
        "chart-heatmap",
        "chart-indicators",
        "chart-techniques",
        "chart-trends",
    ] {
        let at = dom
            .find(&format!("id=\"{chart}\""))
            .unwrap_or_else(|| panic!("{chart} missing"));
        assert!(dom[at..].contains("<svg"), "{chart} holds an SVG");
    }
    assert!(
        dom.contains("Compliance with disallowed requests"),
        "the scorecard's categories"
    );
    // ...and the model's markup stayed text: no script or img element, nothing executed.
    assert!(!dom.contains("<script"), "no script element in the DOM");
    assert!(!dom.contains("<img"), "no img element in the DOM");
    assert!(!dom.contains("data-pwned=\"1\""), "the script never ran");
    assert!(!dom.contains("<title>pwned"), "the onerror handler never ran");
    assert!(
        dom.contains("&lt;script&gt;document.body.setAttribute("),
        "shown as text"
    );
}
