//! The tokenizer and chat template a GGUF file carries. The template tests with SmolLM2's
//! template text always run; the tests that read the default model file's header skip with a
//! notice when it is absent (scripts/fetch-models.sh fetches it).

use std::path::PathBuf;

use redline_local::gguf::{ChatTemplate, GgufTokenizer};
use redline_model::Message;

/// `tokenizer.chat_template` of SmolLM2-135M-Instruct.Q4_1.gguf, verbatim.
const SMOLLM2_TEMPLATE: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

const SYSTEM_AND_USER: &str = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\n";

fn model_file() -> Option<PathBuf> {
    let path = redline_local::default_chat_model_path();
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "skipped: {} not fetched (scripts/fetch-models.sh)",
            path.display()
        );
        None
    }
}

fn system_and_user() -> Vec<Message> {
    vec![Message::system("Be brief."), Message::user("What is 2 + 2?")]
}

#[test]
fn smollm2_template_renders_chatml() {
    let t = ChatTemplate::new(Some(SMOLLM2_TEMPLATE), "<|im_start|>", "<|im_end|>").expect("compiles");
    assert_eq!(t.render(&system_and_user()).expect("renders"), SYSTEM_AND_USER);
    // Without a system turn the template adds SmolLM's own.
    assert_eq!(
        t.render(&[Message::user("Hi")]).expect("renders"),
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
         <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
    // A multi-turn conversation keeps every turn in order.
    let turns = [Message::user("a"), Message::assistant("b"), Message::user("c")];
    let text = t.render(&turns).expect("renders");
    assert!(text.ends_with(
        "<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\nb<|im_end|>\n<|im_start|>user\nc<|im_end|>\n<|im_start|>assistant\n"
    ));
}

#[test]
fn chatml_is_the_fallback_and_a_syntax_error_is_reported() {
    let t = ChatTemplate::new(None, "", "<|im_end|>").expect("ChatML compiles");
    assert_eq!(t.render(&system_and_user()).expect("renders"), SYSTEM_AND_USER);
    let err = ChatTemplate::new(Some("{% for m in messages %}unclosed"), "", "")
        .err()
        .expect("a syntax error");
    assert!(err.to_string().contains("syntax"), "{err}");
}

#[test]
fn bos_and_eos_tokens_are_available_to_templates() {
    let t = ChatTemplate::new(
        Some("{{ bos_token }}[{{ messages[0].content }}]{{ eos_token }}"),
        "<s>",
        "</s>",
    )
    .expect("compiles");
    assert_eq!(t.render(&[Message::user("x")]).expect("renders"), "<s>[x]</s>");
}

#[test]
fn the_files_template_is_smollm2s() {
    let Some(path) = model_file() else { return };
    let t = ChatTemplate::load(&path).expect("loads");
    assert_eq!(t.render(&system_and_user()).expect("renders"), SYSTEM_AND_USER);
}

#[test]
fn text_round_trips_through_the_tokenizer() {
    let Some(path) = model_file() else { return };
    let tok = GgufTokenizer::load(&path).expect("loads");
    for text in [
        "Hello, world!",
        "What is the capital of France? Answer in one word.",
        "  two leading spaces,\ttabs\nand\n\nnewlines  ",
        "The year 2024 had 366 days; pi ≈ 3.14159.",
        "naïve café — 東京 🚀 Ελληνικά",
        "fn main() { println!(\"{}\", 1 + 1); }",
    ] {
        let ids = tok.encode(text).expect("encodes");
        assert!(!ids.is_empty());
        assert_eq!(tok.decode(&ids).expect("decodes"), text, "ids {ids:?}");
    }
}

#[test]
fn special_tokens_and_digits_tokenize_like_smollm2() {
    let Some(path) = model_file() else { return };
    let tok = GgufTokenizer::load(&path).expect("loads");
    assert_eq!(tok.eos(), (2, "<|im_end|>"));
    assert_eq!(tok.bos(), Some((1, "<|im_start|>")));
    // Control tokens in a rendered prompt are single tokens, and decoding drops them.
    let ids = tok.encode("<|im_start|>user\nHi<|im_end|>\n").expect("encodes");
    assert_eq!(ids.first(), Some(&1));
    assert!(ids.contains(&2), "{ids:?}");
    assert_eq!(tok.decode(&ids).expect("decodes"), "user\nHi\n");
    // SmolLM's pre-tokenizer splits numbers into single digits.
    let digits = tok.encode("2024").expect("encodes");
    assert_eq!(digits.len(), 4, "{digits:?}");
    // Common words are single tokens, with the leading space folded in (`Ġ`).
    assert_eq!(tok.encode(" Paris").expect("encodes").len(), 1);
    assert_eq!(
        tok.token_to_id("ĠParis"),
        tok.encode(" Paris").expect("encodes").first().copied()
    );
    // SmolLM2's default system turn, pinned: a change here means prompts tokenize differently.
    let system = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n";
    assert_eq!(
        tok.encode(system).expect("encodes"),
        [
            1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018, 411, 407,
            19712, 8182, 2, 198
        ]
    );
    // add_bos_token is false for SmolLM2: a prompt is encoded as written.
    assert_eq!(
        tok.encode_prompt("Hi").expect("encodes"),
        tok.encode("Hi").expect("encodes")
    );
}
