//! Load errors name the file and say what is wrong with it. The GGUF files here are tiny
//! headers written with candle's own GGUF writer, so these tests need no model download.

use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{self, Value};
use redline_local::gguf::{ChatTemplate, GgufChatModel, GgufTokenizer, LocalModelError};

fn strings(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| Value::String(s.to_string())).collect())
}

/// A llama-architecture header with a three-token byte-level BPE vocabulary and no tensors;
/// `edit` changes or removes entries first.
fn write_header(dir: &Path, name: &str, edit: impl FnOnce(&mut Vec<(&'static str, Value)>)) -> PathBuf {
    let mut metadata: Vec<(&'static str, Value)> = vec![
        ("general.architecture", Value::String("llama".into())),
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.tokens", strings(&["<|im_end|>", "a", "b", "ab"])),
        (
            "tokenizer.ggml.token_type",
            Value::Array(vec![Value::I32(3), Value::I32(1), Value::I32(1), Value::I32(1)]),
        ),
        ("tokenizer.ggml.merges", strings(&["a b"])),
        ("tokenizer.ggml.eos_token_id", Value::U32(0)),
    ];
    edit(&mut metadata);
    let path = dir.join(name);
    let mut file = std::fs::File::create(&path).expect("create");
    let refs: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    gguf_file::write(&mut file, &refs, &[]).expect("write a GGUF header");
    path
}

fn set(metadata: &mut Vec<(&'static str, Value)>, key: &'static str, value: Value) {
    metadata.retain(|(k, _)| *k != key);
    metadata.push((key, value));
}

fn load_err(path: &Path) -> LocalModelError {
    match GgufChatModel::load(path) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(e) => {
            let name = path.file_name().and_then(|n| n.to_str()).expect("a file name");
            assert!(e.to_string().contains(name), "the message names the file: {e}");
            e
        }
    }
}

#[test]
fn a_missing_file_says_how_to_fetch_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = load_err(&dir.path().join("nope.gguf"));
    assert!(matches!(e, LocalModelError::Missing { .. }), "{e:?}");
    assert!(e.to_string().contains("fetch-models.sh"), "{e}");
}

#[test]
fn files_that_are_not_gguf_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in [
        ("notes.gguf", b"this is not a model".as_slice()),
        ("empty.gguf", b"".as_slice()),
        ("truncated.gguf", b"GGUF\x03\x00\x00\x00\xff".as_slice()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        let e = load_err(&path);
        assert!(matches!(e, LocalModelError::NotGguf { .. }), "{name}: {e:?}");
    }
}

#[test]
fn another_architecture_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_header(dir.path(), "phi.gguf", |m| {
        set(m, "general.architecture", Value::String("phi3".into()))
    });
    let e = load_err(&path);
    assert!(
        matches!(&e, LocalModelError::UnsupportedArchitecture { architecture, .. } if architecture == "phi3")
    );
}

#[test]
fn a_sentencepiece_tokenizer_is_unsupported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_header(dir.path(), "spm.gguf", |m| {
        set(m, "tokenizer.ggml.model", Value::String("llama".into()))
    });
    let e = load_err(&path);
    assert!(
        matches!(&e, LocalModelError::UnsupportedTokenizer { model, .. } if model == "llama"),
        "{e:?}"
    );
    assert!(matches!(
        GgufTokenizer::load(&path),
        Err(LocalModelError::UnsupportedTokenizer { .. })
    ));
}

#[test]
fn missing_tokenizer_metadata_names_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    for key in [
        "tokenizer.ggml.merges",
        "tokenizer.ggml.tokens",
        "tokenizer.ggml.eos_token_id",
    ] {
        let path = write_header(dir.path(), "partial.gguf", |m| m.retain(|(k, _)| *k != key));
        match load_err(&path) {
            LocalModelError::MissingMetadata { key: missing, .. } => assert_eq!(missing, key),
            other => panic!("{key}: {other:?}"),
        }
    }
    let path = write_header(dir.path(), "bad-eos.gguf", |m| {
        set(m, "tokenizer.ggml.eos_token_id", Value::U32(99))
    });
    assert!(matches!(load_err(&path), LocalModelError::Tokenizer { .. }));
}

#[test]
fn a_broken_chat_template_is_reported_at_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = Value::String("{% for message in messages %}{{ message.content }".into());
    let path = write_header(dir.path(), "template.gguf", |m| {
        set(m, "tokenizer.chat_template", broken)
    });
    assert!(matches!(load_err(&path), LocalModelError::ChatTemplate { .. }));
    assert!(matches!(
        ChatTemplate::load(&path),
        Err(LocalModelError::ChatTemplate { .. })
    ));
}

#[test]
fn a_header_without_weights_fails_at_the_weights() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_header(dir.path(), "hollow.gguf", |_| {});
    // The header alone is enough for the tokenizer and the (ChatML) template.
    let tok = GgufTokenizer::load(&path).expect("tokenizer");
    assert_eq!(tok.encode("ab<|im_end|>").expect("encodes"), vec![3, 0]);
    let template = ChatTemplate::load(&path).expect("template");
    assert!(template
        .render(&[redline_model::Message::user("a")])
        .expect("renders")
        .starts_with("<|im_start|>user"));
    assert!(matches!(load_err(&path), LocalModelError::Weights { .. }));
}
