//! The store against a real SQLite file: batches, replacement of errored samples, resume keys,
//! metrics over epochs, streaming read-back and the response cache.

use redline_core::Reducer;
use redline_eval::{ResponseCache, SampleError, SampleRecord, ScoreRecord};
use redline_model::{ChatResponse, ErrorKind, Message, ModelId, Usage};
use redline_store::{NewRun, RunStatus, SampleWriter, SqliteCache, Store};

fn new_run(fingerprint: &str) -> NewRun {
    NewRun {
        fingerprint: fingerprint.into(),
        eval_id: "t".into(),
        eval_version: "1".into(),
        eval_path: "t.toml".into(),
        eval_sha256: "e".repeat(64),
        dataset_path: "t.jsonl".into(),
        dataset_sha256: "d".repeat(64),
        model: "openai-compatible/m".into(),
        base_url: Some("http://127.0.0.1:1/v1".into()),
        settings_json: r#"{"epochs":2,"reducers":["mean"]}"#.into(),
        planned: 6,
    }
}

fn record(id: &str, ordinal: u64, epoch: u32, score: Option<f64>) -> SampleRecord {
    SampleRecord {
        sample_id: id.into(),
        epoch,
        ordinal,
        messages: vec![Message::user(format!("question {id}"))],
        target: vec!["4".into()],
        response: score.map(|_| ChatResponse {
            content: "4".into(),
            finish_reason: Some("stop".into()),
            usage: Usage {
                input_tokens: 3,
                output_tokens: 1,
            },
            served_model: None,
            moderation: vec![],
            tool_calls: Vec::new(),
        }),
        attempts: vec![],
        cache_hit: false,
        latency_ms: 5,
        usage: Usage {
            input_tokens: 3,
            output_tokens: 1,
        },
        error: match score {
            Some(_) => None,
            None => Some(SampleError {
                kind: ErrorKind::Server,
                message: "HTTP 500".into(),
            }),
        },
        scores: score
            .map(|v| {
                vec![ScoreRecord {
                    scorer: "includes".into(),
                    value: v,
                    answer: None,
                    explanation: None,
                }]
            })
            .unwrap_or_default(),
        unscored: vec![],
        groups: Default::default(),
        agent: None,
    }
}

#[test]
fn write_resume_replace_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/store.db");
    let store = Store::open(&path).unwrap();
    let run = store.create_run(&new_run("fp")).unwrap();
    assert_eq!(run.status, RunStatus::Running);
    assert_eq!(store.find_resumable("fp").unwrap().unwrap().id, run.id);
    assert!(store.find_resumable("other").unwrap().is_none());

    let mut w = SampleWriter::open(&path, &run.id).unwrap();
    w.write_batch(&[
        record("a", 0, 1, Some(1.0)),
        record("a", 0, 2, Some(0.0)),
        record("b", 1, 1, None),
    ])
    .unwrap();
    let keys = store.completed_keys(&run.id).unwrap();
    assert_eq!(
        keys.len(),
        2,
        "errored samples are not 'done': resume retries them"
    );
    assert!(keys.contains(&("a".to_string(), 1)));

    // The retry of the errored sample replaces it: no duplicate rows.
    w.write_batch(&[record("b", 1, 1, Some(1.0)), record("b", 1, 2, Some(1.0))])
        .unwrap();
    let got = store.get_run(&run.id).unwrap();
    assert_eq!((got.completed, got.errored), (4, 0));

    let mut seen = vec![];
    store
        .for_each_sample(&run.id, |s| {
            seen.push((s.sample_id.clone(), s.epoch, s.scores.len()));
            Ok(())
        })
        .unwrap();
    assert_eq!(
        seen,
        vec![
            ("a".into(), 1, 1),
            ("a".into(), 2, 1),
            ("b".into(), 1, 1),
            ("b".into(), 2, 1)
        ]
    );

    // a: epochs (1, 0) → mean 0.5, max 1; b: (1, 1) → 1, 1.
    let m = store
        .run_metrics(&run.id, &[Reducer::Mean, Reducer::Max], 0.95)
        .unwrap();
    assert_eq!(m.len(), 2);
    assert!((m[0].estimate.value - 0.75).abs() < 1e-12);
    assert_eq!(m[0].estimate.n, 2);
    assert!((m[1].estimate.value - 1.0).abs() < 1e-12);

    store
        .finish_invocation(&run.id, RunStatus::Complete, None, Some("[]"), 1234)
        .unwrap();
    let done = store.get_run(&run.id[..5]).unwrap();
    assert_eq!(done.status, RunStatus::Complete);
    assert_eq!(done.wall_ms, 1234);
    assert!(done.finished_at.is_some());
    assert!(
        store.find_resumable("fp").unwrap().is_none(),
        "complete runs are not resumed"
    );

    store.delete_run(&run.id).unwrap();
    assert!(store.get_run(&run.id).is_err());
    let mut count = 0;
    store
        .for_each_sample(&run.id, |_| {
            count += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(count, 0, "deleting a run deletes its samples");
}

#[test]
fn unknown_run_ids_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).unwrap();
    let err = store.get_run("nope").unwrap_err().to_string();
    assert!(err.contains("no run `nope`"), "{err}");
}

#[test]
fn cache_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    Store::open(&path).unwrap();
    let cache = SqliteCache::open(&path).unwrap();
    assert!(cache.get("k").is_none());
    let r = ChatResponse {
        content: "hi".into(),
        finish_reason: None,
        usage: Usage::default(),
        served_model: None,
        moderation: vec![],
        tool_calls: Vec::new(),
    };
    cache.put("k", &ModelId("a/b".into()), &r);
    assert_eq!(cache.get("k"), Some(r));
}

#[test]
fn many_processes_opening_a_new_store_at_once_all_succeed() {
    // Threads stand in for processes: each has its own connection, as separate CLIs would.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.db");
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let p = path.clone();
            std::thread::spawn(move || Store::open(&p).map(|s| s.list_runs(1).map(|r| r.len())))
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().unwrap().unwrap(), 0);
    }
}

#[test]
fn assessments_link_runs_and_keep_an_append_only_determination_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = Store::open(&path).unwrap();
    let run = store.create_run(&new_run("fp")).unwrap();
    let a = store
        .create_assessment(&redline_store::NewAssessment {
            framework_id: "f".into(),
            framework_version: "1".into(),
            framework_sha256: "0".repeat(64),
            framework_text: "[framework]".into(),
            framework_file: "f.toml".into(),
            pre_target_json: r#"{"endpoint":{"model":"a/b"}}"#.into(),
            post_target_json: r#"{"endpoint":{"model":"a/b"}}"#.into(),
            suite: "s".into(),
        })
        .unwrap();
    store.link_run(&a.id, "pre", "t@1", &run.id).unwrap();
    store.link_run(&a.id, "pre", "t@1", &run.id).unwrap();
    assert_eq!(store.assessment_runs(&a.id).unwrap().len(), 1);
    assert_eq!(store.get_assessment(&a.id[..4]).unwrap().id, a.id);

    let seq = store
        .add_determination(&a.id, "cyber", "post", "medium", "Ada", "CTF set contaminated")
        .unwrap();
    store
        .add_determination(&a.id, "cyber", "post", "high", "Grace", "second look")
        .unwrap();
    let log = store.determinations(&a.id).unwrap();
    assert_eq!(
        log.iter().map(|d| d.decided_by.as_str()).collect::<Vec<_>>(),
        ["Ada", "Grace"]
    );

    let raw = rusqlite::Connection::open(&path).unwrap();
    let update = raw.execute(
        "UPDATE determinations SET rationale = 'edited' WHERE seq = ?1",
        [seq],
    );
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = raw.execute("DELETE FROM determinations", []);
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    assert_eq!(
        store.determinations(&a.id).unwrap()[0].rationale,
        "CTF set contaminated"
    );
}
