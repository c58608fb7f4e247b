//! The runner against the project's fault-injecting server over real HTTP: retries recover,
//! exhausted retries mark samples errored, limits hold, resume skips, the cache answers.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redline_eval::{run_eval, Counters, Eval, ResponseCache, RunError, RunSettings, SampleRecord};
use redline_model::{
    build_model, ChatResponse, ErrorKind, GenerateConfig, Model, ModelError, ModelId, ModelSpec, RetryPolicy,
};
use redline_testserver::{Fault, FaultRule, Match, Reply, ServerConfig, TestServer};

/// An eval of `n` sums "What is i + i?" whose targets the server's `Sum` reply gets right.
fn sums_eval(dir: &Path, n: usize) -> Eval {
    let data: String = (1..=n)
        .map(|i| {
            format!(
                "{{\"id\": \"s{i}\", \"input\": \"What is {i} + {i}?\", \"target\": \"{}\"}}\n",
                2 * i
            )
        })
        .collect();
    std::fs::write(dir.join("sums.jsonl"), data).unwrap();
    let toml = "[eval]\nid = \"sums\"\nversion = \"1\"\n[dataset]\npath = \"sums.jsonl\"\n[[scorer]]\nkind = \"exact\"\n";
    std::fs::write(dir.join("sums.toml"), toml).unwrap();
    Eval::load(&dir.join("sums.toml")).unwrap()
}

fn model(server: &TestServer, request_timeout: Duration) -> Arc<dyn Model> {
    let spec: ModelSpec = "openai-compatible/test-model".parse().unwrap();
    build_model(
        &spec,
        Some(&server.base_url()),
        Some("REDLINE_TEST_NO_SUCH_KEY"),
        request_timeout,
        64,
    )
    .unwrap()
}

fn settings(max_connections: usize) -> RunSettings {
    RunSettings {
        max_connections,
        epochs: 1,
        limit: None,
        sample_timeout: None,
        retry: RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
        },
        generation: GenerateConfig::default(),
        fail_on_error: None,
        early_stop: None,
    }
}

struct Outcome {
    result: Result<redline_eval::RunSummary, RunError>,
    records: Vec<SampleRecord>,
}

async fn run(
    eval: &Eval,
    model: Arc<dyn Model>,
    settings: &RunSettings,
    done: &HashSet<(String, u32)>,
    cache: Option<Arc<dyn ResponseCache>>,
) -> Outcome {
    run_with(eval, model, None, settings, done, cache).await
}

async fn run_with(
    eval: &Eval,
    model: Arc<dyn Model>,
    judge: Option<Arc<dyn Model>>,
    settings: &RunSettings,
    done: &HashSet<(String, u32)>,
    cache: Option<Arc<dyn ResponseCache>>,
) -> Outcome {
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let collector = tokio::spawn(async move {
        let mut v = Vec::new();
        while let Some(r) = rx.recv().await {
            v.push(r);
        }
        v
    });
    let result = run_eval(
        eval,
        model,
        judge,
        settings,
        done,
        cache,
        Arc::new(Counters::default()),
        tx,
    )
    .await;
    Outcome {
        result,
        records: collector.await.unwrap(),
    }
}

fn fault(fault: Fault, first_attempts: Option<u32>) -> FaultRule {
    FaultRule {
        when: Match::All,
        fault,
        first_attempts,
        rate: None,
    }
}

async fn server(faults: Vec<FaultRule>) -> TestServer {
    TestServer::start(ServerConfig {
        reply: Reply::Sum,
        faults,
        ..Default::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn every_transient_fault_is_retried_until_it_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let eval = sums_eval(dir.path(), 12);
    let faults = [
        Fault::Status {
            code: 500,
            retry_after: None,
        },
        Fault::Status {
            code: 503,
            retry_after: None,
        },
        Fault::Status {
            code: 429,
            retry_after: Some("0".into()),
        },
        Fault::MalformedJson,
        Fault::TruncatedBody,
        Fault::Drop,
    ];
    for f in faults {
        let name = format!("{f:?}");
        let srv = server(vec![fault(f, Some(2))]).await;
        let out = run(
            &eval,
            model(&srv, Duration::from_secs(10)),
            &settings(4),
            &HashSet::new(),
            None,
        )
        .await;
        let summary = out.result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(summary.errors, 0, "{name}");
        assert_eq!(summary.retries, 24, "{name}: two retries per sample");
        assert_eq!(out.records.len(), 12, "{name}");
        for r in &out.records {
            assert_eq!(r.scores[0].value, 1.0, "{name}: {r:?}");
            assert_eq!(
                r.attempts.len(),
                2,
                "{name}: failed attempts are in the transcript"
            );
        }
    }
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let eval = sums_eval(dir.path(), 2);
    let srv = server(vec![fault(
        Fault::Status {
            code: 429,
            retry_after: Some("1".into()),
        },
        Some(1),
    )])
    .await;
    let out = run(
        &eval,
        model(&srv, Duration::from_secs(10)),
        &settings(2),
        &HashSet::new(),
        None,
    )
    .await;
    out.result.unwrap();
    for r in &out.records {
        assert_eq!(r.attempts[0].error, ErrorKind::RateLimited);
        assert!(
            r.attempts[0].waited_ms >= 1000,
            "waited {} ms",
            r.attempts[0].waited_ms
        );
    }
}

#[tokio::test]
async fn timeouts_are_retried_and_sample_timeouts_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let eval = sums_eval(dir.path(), 3);
    let srv = server(vec![fault(Fault::Hang, Some(1))]).await;
    let out = run(
        &eval,
        model(&srv, Duration::from_millis(300)),
        &settings(3),
        &HashSet::new(),
        None,
    )
    .await;
    out.result.unwrap();
    assert!(out
        .records
        .iter()
        .all(|r| r.error.is_none() && r.attempts[0].error == ErrorKind::Timeout));

    let srv = server(vec![fault(Fault::Hang, None)]).await;
    let mut s = settings(3);
    s.sample_timeout = Some(Duration::from_millis(400));
    let out = run(
        &eval,
        model(&srv, Duration::from_secs(30)),
        &s,
        &HashSet::new(),
        None,
    )
    .await;
    let summary = out.result.unwrap();
    assert_eq!(summary.errors, 3);
    assert!(out
        .records
        .iter()
        .all(|r| r.error.as_ref().unwrap().kind == ErrorKind::SampleTimeout));
}

#[tokio::test]
async fn exhausted_retries_mark_only_those_samples_errored() {
    let dir = tempfile::tempdir().unwrap();
    let eval = sums_eval(dir.path(), 10);
    // Prompts mentioning 7 always fail; the rest are fine.
    let rule = FaultRule {
        when: Match::PromptContains("7".into()),
        fault: Fault::Status {
            code: 502,
            retry_after: None,
        },
        first_attempts: None,
        rate: None,
    };
    let srv = server(vec![rule]).await;
    let out = run(
        &eval,
        model(&srv, Duration::from_secs(10)),
        &settings(4),
        &HashSet::new(),
        None,
    )
    .await;
    let summary = out.result.unwrap();
    assert_eq!(summary.errors, 1);
    let bad = out.records.iter().find(|r| r.sample_id == "s7").unwrap();
    assert_eq!(bad.error.as_ref().unwrap().kind, ErrorKind::Server);
    assert_eq!(bad.attempts.len(), 4, "first try + 3 retries");
    assert!(bad.scores.is_empty(), "an errored sample is never scored as zero");
    assert_eq!(srv.requests_for("What is 7 + 7?"), 4);
}

#[tokio::test]
async fn bad_key_stops_the_run_and_is_scrubbed() {
    let dir = tempfile::tempdir().unwrap();
    let eval = sums_eval(dir.path(), 20);
    let srv = TestServer::start(ServerConfig {
        reply: Reply::Sum,
        require_api_key: Some("sk-right-key-000000".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    std::env::set_var("REDLINE_TEST_WRONG_KEY", "sk-wrong-key-1234567890");
    let spec: ModelSpec = "openai-compatible/test-model".parse().unwrap();
    let m = build_model(
        &spec,
        Some(&srv.base_url()),
        Some("REDLINE_TEST_WRONG_KEY"),
        Duration::from_secs(5),
        8,
    )
    .unwrap();
    let out = run(&eval, m, &settings(4), &HashSet::new(), None).await;
    match out.result {
        Err(RunError::Fatal(ModelError::Auth { status: 401, message })) => {
            assert!(!message.contains("sk-wrong-key-1234567890"), "{message}");
            assert!(!message.contains("1234567890"), "{message}");
        }
        other => panic!("expected a fatal auth error, got {other:?}"),
    }
    assert!(out.records.is_empty(), "no sample is recorded against a bad key");
    assert!(
        srv.stats().requests <= 4 + 1,
        "the run stops instead of trying every sample"
    );
}

#[tokio::test]
async fn refused_connections_before_any_success_mean_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let eval = sums_eval(dir.path(), 3);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let spec: ModelSpec = "openai-compatible/x".parse().unwrap();
    let m = build_model(
        &spec,
        Some(&format!("http://127.0.0.1:{port}/v1")),
        None,
        Duration::from_secs(2),
        4,
    )
    .unwrap();
    let mut s = settings(2);
    s.retry.max_retries = 1;
    let out = run(&eval, m, &s, &HashSet::new(), None).await;
    assert!(
        matches!(out.result, Err(RunError::Unreachable(_))),
        "{:?}",
        out.result.err()
    );
}

#[tokio::test]
async fn concurrency_is_bounded_and_reached() {
    let dir = tempfile::tempdir().unwrap();
    let eval = sums_eval(dir.path(), 48);
    let srv = TestServer::start(ServerConfig {
        reply: Reply::Sum,
        latency: Duration::from_millis(60),
        ..Default::default()
    })
    .await
    .unwrap();
    let out = run(
        &eval,
        model(&srv, Duration::from_secs(10)),
        &settings(8),
        &HashSet::new(),
        None,
    )
    .await;
    let summary = out.result.unwrap();
    assert_eq!(summary.done, 48);
    assert_eq!(srv.stats().max_inflight, 8);
    assert_eq!(summary.max_in_flight, 8);
}

#[tokio::test]
async fn resume_skips_done_samples_and_epochs_multiply() {
    let dir = tempfile::tempdir().unwrap();
    let eval = sums_eval(dir.path(), 5);
    let srv = server(vec![]).await;
    let mut s = settings(4);
    s.epochs = 2;
    let done: HashSet<(String, u32)> = [
        ("s1".to_string(), 1),
        ("s1".to_string(), 2),
        ("s2".to_string(), 1),
    ]
    .into();
    let out = run(&eval, model(&srv, Duration::from_secs(10)), &s, &done, None).await;
    let summary = out.result.unwrap();
    assert_eq!((summary.done, summary.skipped), (7, 3));
    assert_eq!(srv.requests_for("What is 1 + 1?"), 0);
    assert_eq!(srv.requests_for("What is 2 + 2?"), 1);
    assert_eq!(srv.requests_for("What is 3 + 3?"), 2);
    let keys: HashSet<_> = out
        .records
        .iter()
        .map(|r| (r.sample_id.clone(), r.epoch))
        .collect();
    assert_eq!(keys.len(), 7);
    assert!(keys.is_disjoint(&done));
}

#[derive(Default)]
struct MemoryCache(Mutex<HashMap<String, ChatResponse>>);

impl ResponseCache for MemoryCache {
    fn get(&self, key: &str) -> Option<ChatResponse> {
        self.0.lock().unwrap().get(key).cloned()
    }
    fn put(&self, key: &str, _model: &ModelId, response: &ChatResponse) {
        self.0.lock().unwrap().insert(key.to_string(), response.clone());
    }
}

#[tokio::test]
async fn the_cache_answers_repeated_requests() {
    let dir = tempfile::tempdir().unwrap();
    let eval = sums_eval(dir.path(), 6);
    let srv = server(vec![]).await;
    let cache: Arc<dyn ResponseCache> = Arc::new(MemoryCache::default());
    let m = model(&srv, Duration::from_secs(10));
    let first = run(
        &eval,
        m.clone(),
        &settings(4),
        &HashSet::new(),
        Some(cache.clone()),
    )
    .await;
    assert_eq!(first.result.unwrap().cache_hits, 0);
    let second = run(&eval, m, &settings(4), &HashSet::new(), Some(cache)).await;
    assert_eq!(second.result.unwrap().cache_hits, 6);
    assert_eq!(srv.stats().requests, 6, "the second run never reached the server");
    assert!(second
        .records
        .iter()
        .all(|r| r.cache_hit && r.scores[0].value == 1.0));
}

#[tokio::test]
async fn anthropic_provider_speaks_the_messages_api() {
    let dir = tempfile::tempdir().unwrap();
    let eval = sums_eval(dir.path(), 3);
    let srv = TestServer::start(ServerConfig {
        reply: Reply::Sum,
        require_api_key: Some("ak-test-123456789".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    std::env::set_var("REDLINE_TEST_ANTHROPIC_KEY", "ak-test-123456789");
    let spec: ModelSpec = "anthropic/claude-test".parse().unwrap();
    let m = build_model(
        &spec,
        Some(&srv.base_url()),
        Some("REDLINE_TEST_ANTHROPIC_KEY"),
        Duration::from_secs(5),
        4,
    )
    .unwrap();
    let out = run(&eval, m, &settings(2), &HashSet::new(), None).await;
    out.result.unwrap();
    assert!(out
        .records
        .iter()
        .all(|r| r.scores[0].value == 1.0 && r.usage.output_tokens > 0));
}

#[tokio::test]
async fn sequential_tests_stop_sampling_once_settled() {
    use redline_core::framework::Direction;
    use redline_core::sequential::{SequentialDecision, SprtSpec};
    let dir = tempfile::tempdir().unwrap();
    let eval = sums_eval(dir.path(), 300);
    let srv = server(vec![]).await; // always right: p = 1
    let spec = |threshold| SprtSpec {
        threshold,
        delta: 0.1,
        alpha: 0.025,
        beta: 0.025,
        direction: Direction::HigherIsRiskier,
    };
    let mut s = settings(2);
    s.early_stop = Some(redline_eval::EarlyStop {
        scorer: "exact".into(),
        tests: vec![("t:medium".into(), spec(0.3)), ("t:high".into(), spec(0.6))],
        prior: vec![],
    });
    let out = run(
        &eval,
        model(&srv, Duration::from_secs(10)),
        &s,
        &HashSet::new(),
        None,
    )
    .await;
    let summary = out.result.unwrap();
    let report = summary.sequential.unwrap();
    assert!(report.stopped);
    assert!(report
        .tests
        .iter()
        .all(|t| t.decision == Some(SequentialDecision::Crossed)));
    let needed = report.tests.iter().map(|t| t.used).max().unwrap();
    assert!(
        needed < 20,
        "p = 1 settles both thresholds within a few outcomes: {needed}"
    );
    assert!(
        out.records.len() < needed + 4,
        "only the samples in flight finish after the stop: {}",
        out.records.len()
    );
    assert_eq!(srv.stats().requests as usize, out.records.len());

    // Resuming replays the committed outcomes first: already settled, nothing more is sampled.
    let mut again = s.clone();
    if let Some(e) = again.early_stop.as_mut() {
        e.prior = vec![true; needed];
    }
    let out = run(
        &eval,
        model(&srv, Duration::from_secs(10)),
        &again,
        &HashSet::new(),
        None,
    )
    .await;
    assert_eq!(out.records.len(), 0);
    assert!(out.result.unwrap().sequential.unwrap().stopped);
}

/// An eval with one model-graded scorer; the judge's prompt quotes the answer.
fn judged_eval(dir: &Path, n: usize) -> Eval {
    let data: String = (1..=n)
        .map(|i| {
            format!(
                "{{\"id\": \"s{i}\", \"input\": \"What is {i} + {i}?\", \"target\": \"{}\"}}\n",
                2 * i
            )
        })
        .collect();
    std::fs::write(dir.join("sums.jsonl"), data).unwrap();
    let toml = r#"
[eval]
id = "judged"
version = "1"
[dataset]
path = "sums.jsonl"
[[scorer]]
kind = "rubric"
name = "grader"
template = "Question: {{ input }}\nExpected: {{ target }}\nAnswer: {{ output }}\nEnd with GRADE: CORRECT or GRADE: INCORRECT."
values = { CORRECT = 1.0, INCORRECT = 0.0 }
"#;
    std::fs::write(dir.join("judged.toml"), toml).unwrap();
    Eval::load(&dir.join("judged.toml")).unwrap()
}

#[tokio::test]
async fn a_judge_grades_and_unreadable_verdicts_are_counted_not_zeroed() {
    let dir = tempfile::tempdir().unwrap();
    let eval = judged_eval(dir.path(), 8);
    let target = server(vec![]).await;
    let good_judge = TestServer::start(ServerConfig {
        reply: Reply::Fixed("The answer matches.\nGRADE: CORRECT".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let judge = model(&good_judge, Duration::from_secs(10));
    let out = run_with(
        &eval,
        model(&target, Duration::from_secs(10)),
        Some(judge),
        &settings(4),
        &HashSet::new(),
        None,
    )
    .await;
    out.result.unwrap();
    assert_eq!(good_judge.stats().requests, 8, "one judge call per answer");
    for r in &out.records {
        assert_eq!(r.scores.len(), 1);
        assert_eq!(r.scores[0].value, 1.0);
        assert_eq!(r.scores[0].answer.as_deref(), Some("CORRECT"));
        assert!(
            r.scores[0].explanation.as_deref().unwrap().contains("matches"),
            "the judge's words are kept"
        );
        assert!(r.unscored.is_empty());
    }

    // A judge that rambles without a verdict line: every sample unscored, none scored as 0.
    let bad_judge = TestServer::start(ServerConfig {
        reply: Reply::Fixed("I'd say it is probably fine? GRADE might be CORRECT".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let out = run_with(
        &eval,
        model(&target, Duration::from_secs(10)),
        Some(model(&bad_judge, Duration::from_secs(10))),
        &settings(4),
        &HashSet::new(),
        None,
    )
    .await;
    out.result.unwrap();
    for r in &out.records {
        assert!(r.scores.is_empty());
        assert_eq!(r.unscored.len(), 1);
        assert!(
            r.unscored[0].reason.contains("no `GRADE:` line"),
            "{:?}",
            r.unscored
        );
    }

    // No judge at all is refused before anything runs.
    let out = run(
        &eval,
        model(&target, Duration::from_secs(10)),
        &settings(4),
        &HashSet::new(),
        None,
    )
    .await;
    assert!(matches!(out.result, Err(RunError::NoJudge(ref s)) if s == "grader"));
}
