//! The default local model (SmolLM2-135M-Instruct Q4_1, fetched by scripts/fetch-models.sh)
//! answering real prompts: deterministic greedy decoding, seeded sampling, stop strings, length
//! limits, the context limit, concurrent calls. Without the model file these tests skip with a
//! notice, unless REDLINE_REQUIRE_MODELS is set (CI fetches the file first).

use std::sync::OnceLock;

use redline_local::gguf::GgufChatModel;
use redline_model::{ChatRequest, GenerateConfig, Message, Model, ModelError};

/// Loaded once per test binary: loading is the slow part in a debug build.
fn model() -> Option<&'static GgufChatModel> {
    static MODEL: OnceLock<Option<GgufChatModel>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let path = redline_local::default_chat_model_path();
            if !path.is_file() {
                assert!(
                    std::env::var_os("REDLINE_REQUIRE_MODELS").is_none(),
                    "REDLINE_REQUIRE_MODELS is set but {} is missing: run scripts/fetch-models.sh",
                    path.display()
                );
                eprintln!(
                    "skipped: {} not fetched (scripts/fetch-models.sh)",
                    path.display()
                );
                return None;
            }
            Some(GgufChatModel::load(&path).expect("the default model loads"))
        })
        .as_ref()
}

fn greedy(text: &str, max_tokens: u32, stop: &[&str]) -> ChatRequest {
    ChatRequest {
        messages: vec![Message::user(text)],
        config: GenerateConfig {
            temperature: Some(0.0),
            max_tokens: Some(max_tokens),
            stop: stop.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        },
        tools: Vec::new(),
    }
}

#[tokio::test]
async fn answers_deterministically_when_greedy() {
    let Some(m) = model() else { return };
    assert_eq!(m.id().0, "local/SmolLM2-135M-Instruct.Q4_1");
    let req = greedy("What is the capital of France? Answer in one word.", 16, &[]);
    let a = m.generate(&req).await.expect("generates");
    let b = m.generate(&req).await.expect("generates");
    eprintln!(
        "answer {:?} ({:?}, usage {:?})",
        a.content, a.finish_reason, a.usage
    );
    // SmolLM2-135M answers "Paris".
    assert!(!a.content.trim().is_empty());
    assert_eq!(a, b, "greedy decoding is deterministic");
    assert!(a.content.contains("Paris"), "{:?}", a.content);
    assert_eq!(
        a.finish_reason.as_deref(),
        Some("stop"),
        "ended its turn with <|im_end|>"
    );
    assert!(
        a.usage.input_tokens > 10 && a.usage.output_tokens >= 1,
        "{:?}",
        a.usage
    );
    assert_eq!(a.served_model.as_deref(), Some("SmolLM2-135M-Instruct.Q4_1"));
}

#[tokio::test]
async fn max_tokens_ends_the_answer_with_length() {
    let Some(m) = model() else { return };
    let r = m
        .generate(&greedy("Count from 1 to 50, separated by commas.", 8, &[]))
        .await
        .expect("generates");
    assert_eq!(r.finish_reason.as_deref(), Some("length"), "{:?}", r.content);
    assert_eq!(r.usage.output_tokens, 8);
    let none = m.generate(&greedy("Hello", 0, &[])).await.expect("generates");
    assert_eq!((none.content.as_str(), none.usage.output_tokens), ("", 0));
    assert_eq!(none.finish_reason.as_deref(), Some("length"));
}

#[tokio::test]
async fn stop_strings_cut_the_answer() {
    let Some(m) = model() else { return };
    let prompt = "Count from 1 to 50, separated by commas.";
    let full = m.generate(&greedy(prompt, 40, &[])).await.expect("generates");
    assert!(
        full.content.contains('5'),
        "the uncut answer reaches 5: {:?}",
        full.content
    );
    let cut = m.generate(&greedy(prompt, 40, &["5"])).await.expect("generates");
    assert_eq!(cut.finish_reason.as_deref(), Some("stop"), "{:?}", cut.content);
    let expected = &full.content[..full.content.find('5').expect("has a 5")];
    assert_eq!(cut.content, expected, "cut just before the first stop string");
    assert!(cut.usage.output_tokens < full.usage.output_tokens);
}

#[tokio::test]
async fn seeded_sampling_is_reproducible() {
    let Some(m) = model() else { return };
    let req = |seed| ChatRequest {
        messages: vec![Message::user("Write one sentence about the sea.")],
        config: GenerateConfig {
            temperature: Some(0.9),
            top_p: Some(0.95),
            max_tokens: Some(20),
            seed: Some(seed),
            ..Default::default()
        },
        tools: Vec::new(),
    };
    let a = m.generate(&req(7)).await.expect("generates");
    let b = m.generate(&req(7)).await.expect("generates");
    assert!(!a.content.is_empty());
    assert_eq!(a.content, b.content, "same seed, same answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_do_not_share_the_cache() {
    let Some(m) = model() else { return };
    let a = greedy("What is the capital of France? Answer in one word.", 12, &[]);
    let b = greedy("Name a colour of the sky.", 12, &[]);
    let alone_a = m.generate(&a).await.expect("generates");
    let alone_b = m.generate(&b).await.expect("generates");
    let (together_a, together_b) = tokio::join!(m.generate(&a), m.generate(&b));
    assert_eq!(together_a.expect("generates"), alone_a);
    assert_eq!(together_b.expect("generates"), alone_b);
}

#[tokio::test]
async fn a_prompt_longer_than_the_context_is_refused() {
    let Some(m) = model() else { return };
    let long = "word ".repeat(m.context_length() + 10);
    match m.generate(&greedy(&long, 4, &[])).await {
        Err(ModelError::Request { status: 400, message }) => {
            assert!(message.contains("context"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let bad = ChatRequest {
        messages: vec![Message::user("hi")],
        config: GenerateConfig {
            temperature: Some(f64::NAN),
            ..Default::default()
        },
        tools: Vec::new(),
    };
    assert!(matches!(
        m.generate(&bad).await,
        Err(ModelError::Request { status: 400, .. })
    ));
}
