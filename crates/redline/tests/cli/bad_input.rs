//! Bad input gets one clear error naming the file and line or the setting, and leaves nothing
//! half-made in the store.

use crate::common::{stderr, Scratch};
use redline_testserver::{Reply, ServerConfig, TestServer};

fn server() -> TestServer {
    TestServer::start_background(ServerConfig {
        reply: Reply::Sum,
        ..Default::default()
    })
    .unwrap()
}

fn eval_fails(s: &Scratch, eval: &std::path::Path, base_url: &str) -> String {
    let out = s.run(&[
        "eval",
        eval.to_str().unwrap(),
        "-m",
        "openai-compatible/t",
        "--base-url",
        base_url,
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let runs = s.run(&["runs", "list", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(
        runs.as_array().unwrap().len(),
        0,
        "a failed start leaves no run in the store"
    );
    stderr(&out)
}

#[test]
fn malformed_jsonl_line_is_named() {
    let s = Scratch::new();
    std::fs::write(
        s.path("d.jsonl"),
        "{\"input\": \"a\", \"target\": \"b\"}\n{\"input\": \"c\", \"target\": \"d\"}\n{\"input\": \"e\" \"target\": 1}\n",
    )
    .unwrap();
    let eval = s.write_eval("e.toml", "d.jsonl", "[[scorer]]\nkind = \"includes\"\n");
    let srv = server();
    let err = eval_fails(&s, &eval, &srv.base_url());
    assert!(err.contains("d.jsonl:3: invalid JSON"), "{err}");
    assert_eq!(
        srv.stats().requests,
        0,
        "nothing was sent before the input was checked"
    );
}

#[test]
fn missing_field_names_line_and_mapping() {
    let s = Scratch::new();
    std::fs::write(
        s.path("d.jsonl"),
        "{\"question\": \"a\", \"answer\": \"b\"}\n{\"question\": \"c\"}\n",
    )
    .unwrap();
    let eval = s.write_eval(
        "e.toml",
        "d.jsonl",
        "fields = { input = \"question\", target = \"answer\" }\n[[scorer]]\nkind = \"includes\"\n",
    );
    let err = eval_fails(&s, &eval, &server().base_url());
    assert!(err.contains("d.jsonl:2: missing field `answer`"), "{err}");
}

#[test]
fn unknown_scorer_names_file_and_line() {
    let s = Scratch::new();
    s.sums_eval(3);
    let eval = s.write_eval("e.toml", "sums.jsonl", "[[scorer]]\nkind = \"fuzzy\"\n");
    let err = eval_fails(&s, &eval, &server().base_url());
    assert!(
        err.contains("e.toml") && err.contains("line 7") && err.contains("unknown variant `fuzzy`"),
        "{err}"
    );
}

#[test]
fn unreachable_endpoint_names_the_setting() {
    let s = Scratch::new();
    let eval = s.sums_eval(3);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = eval_fails(&s, &eval, &format!("http://127.0.0.1:{port}/v1"));
    assert!(
        err.contains("--base-url") && err.contains(&port.to_string()),
        "{err}"
    );
}

#[test]
fn bad_model_spec_and_missing_base_url_are_explained() {
    let s = Scratch::new();
    let eval = s.sums_eval(3);
    let out = s.run(&["eval", eval.to_str().unwrap(), "-m", "gpt-4o"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("provider/name"), "{}", stderr(&out));
    let out = s.run(&["eval", eval.to_str().unwrap(), "-m", "openai-compatible/x"]);
    assert!(stderr(&out).contains("--base-url"), "{}", stderr(&out));
    let out = s.run(&["eval", eval.to_str().unwrap(), "-m", "anthropic/claude"]);
    assert!(stderr(&out).contains("ANTHROPIC_API_KEY"), "{}", stderr(&out));
    let out = s.run(&[
        "eval",
        s.path("missing.toml").to_str().unwrap(),
        "-m",
        "openai-compatible/x",
    ]);
    assert!(stderr(&out).contains("missing.toml"), "{}", stderr(&out));
}

#[test]
fn usage_errors_exit_2_and_help_teaches() {
    let s = Scratch::new();
    let out = s.run(&["eval"]);
    assert_eq!(out.status.code(), Some(2));
    let help = s.run(&["eval", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("--max-connections") && text.contains("Examples") && text.contains("resume"),
        "{text}"
    );
}
