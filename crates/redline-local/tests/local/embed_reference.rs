//! The candle sentence encoder against reference vectors computed independently in numpy
//! (`fixtures/minilm_reference.py`, which also says how to regenerate them). Skipped with a
//! notice when the model has not been fetched (`scripts/fetch-models.sh`).

use redline_local::embed::{cosine, EmbedError, SentenceEncoder};

/// float32 against float64: agreement to this much is the same model computed the same way.
const TOLERANCE: f32 = 1e-4;

fn encoder() -> Option<SentenceEncoder> {
    let dir = redline_local::default_encoder_dir();
    match SentenceEncoder::load(&dir) {
        Ok(encoder) => Some(encoder),
        Err(EmbedError::Missing { path }) => {
            eprintln!(
                "skipped: {} not fetched (scripts/fetch-models.sh)",
                path.display()
            );
            None
        }
        Err(e) => panic!("the encoder in {} does not load: {e}", dir.display()),
    }
}

struct Reference {
    sentences: Vec<String>,
    first_dims: Vec<Vec<f32>>,
    cosine: Vec<Vec<f32>>,
}

fn reference() -> Reference {
    let json: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/minilm_reference.json")).expect("fixture is JSON");
    let floats = |v: &serde_json::Value| -> Vec<f32> {
        v.as_array()
            .expect("an array of numbers")
            .iter()
            .map(|x| x.as_f64().expect("a number") as f32)
            .collect()
    };
    let rows = |key: &str| json[key].as_array().expect(key).iter().map(floats).collect();
    Reference {
        sentences: json["sentences"]
            .as_array()
            .expect("sentences")
            .iter()
            .map(|s| s.as_str().expect("a string").to_string())
            .collect(),
        first_dims: rows("first_dims"),
        cosine: rows("cosine"),
    }
}

fn assert_close(what: &str, got: f32, want: f32) {
    assert!(
        (got - want).abs() <= TOLERANCE,
        "{what}: got {got}, reference {want}"
    );
}

fn check(reference: &Reference, vectors: &[Vec<f32>]) {
    for (i, v) in vectors.iter().enumerate() {
        assert_eq!(v.len(), 384);
        assert_close(&format!("|v{i}|"), cosine(v, v), 1.0);
        for (d, want) in reference.first_dims[i].iter().enumerate() {
            assert_close(&format!("v{i}[{d}]"), v[d], *want);
        }
        for (j, w) in vectors.iter().enumerate() {
            assert_close(&format!("cos(v{i}, v{j})"), cosine(v, w), reference.cosine[i][j]);
        }
    }
}

#[test]
fn embeddings_match_the_python_reference_one_at_a_time() {
    let Some(encoder) = encoder() else { return };
    let reference = reference();
    let vectors: Vec<Vec<f32>> = reference
        .sentences
        .iter()
        .map(|s| encoder.embed(&[s.as_str()]).expect("embeds").remove(0))
        .collect();
    check(&reference, &vectors);
}

/// Padding within a batch must not move any vector: the mean is over real tokens only.
#[test]
fn embeddings_match_the_python_reference_in_one_padded_batch() {
    let Some(encoder) = encoder() else { return };
    let reference = reference();
    let texts: Vec<&str> = reference.sentences.iter().map(String::as_str).collect();
    let vectors = encoder.embed(&texts).expect("embeds");
    assert_eq!(vectors.len(), texts.len());
    check(&reference, &vectors);
    assert!(encoder.embed(&[]).expect("nothing to embed").is_empty());
}

#[test]
fn a_missing_folder_names_the_file_and_the_fetch_script() {
    let dir = tempfile::tempdir().expect("temp dir");
    let err = SentenceEncoder::load(dir.path()).expect_err("nothing to load");
    let message = err.to_string();
    assert!(
        message.contains("config.json") && message.contains("scripts/fetch-models.sh"),
        "{message}"
    );
}
