//! Prefill and decode speed of the default local model. Ignored by default; run in release:
//!
//! ```text
//! cargo test --release -p redline-local --test local gguf_bench -- --ignored --nocapture
//! ```

use std::time::Instant;

use redline_local::gguf::{GgufChatModel, WeightEncoding};
use redline_model::{ChatRequest, GenerateConfig, Message};

#[test]
#[ignore = "a benchmark: run in release with --ignored --nocapture"]
fn tokens_per_second() {
    let path = redline_local::default_chat_model_path();
    if !path.is_file() {
        eprintln!(
            "skipped: {} not fetched (scripts/fetch-models.sh)",
            path.display()
        );
        return;
    }
    for encoding in [WeightEncoding::Fast, WeightEncoding::AsStored] {
        let started = Instant::now();
        let model = GgufChatModel::load_with(&path, encoding).expect("loads");
        eprintln!("{encoding:?}: load {:.2} s", started.elapsed().as_secs_f64());
        run(&model);
    }
}

fn run(model: &GgufChatModel) {
    let long_context = "The quick brown fox jumps over the lazy dog. ".repeat(40);
    let prompts = [
        (
            "short",
            "What is the capital of France? Answer in one word.".to_string(),
            16,
        ),
        (
            "long answer",
            "Write a short story about a lighthouse keeper.".to_string(),
            128,
        ),
        (
            "long prompt",
            format!("{long_context}\nHow many times does the word fox appear above?"),
            32,
        ),
    ];
    // A first call warms caches and the thread pool.
    let warm = ChatRequest::new(vec![Message::user("Hi")]);
    model.generate_blocking(&warm).expect("generates");
    for (label, prompt, max_tokens) in prompts {
        let request = ChatRequest {
            messages: vec![Message::user(prompt)],
            config: GenerateConfig {
                temperature: Some(0.0),
                max_tokens: Some(max_tokens),
                ..Default::default()
            },
            tools: Vec::new(),
        };
        let (_, stats) = model.generate_blocking(&request).expect("generates");
        eprintln!(
            "{label:>12}: prefill {:>4} tokens in {:>6.3} s = {:>7.1} tok/s; decode {:>4} tokens in {:>6.3} s = {:>6.1} tok/s",
            stats.prompt_tokens,
            stats.prefill.as_secs_f64(),
            stats.prefill_tokens_per_sec(),
            stats.generated_tokens,
            stats.decode.as_secs_f64(),
            stats.decode_tokens_per_sec(),
        );
    }
}
