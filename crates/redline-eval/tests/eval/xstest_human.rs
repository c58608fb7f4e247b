//! The refusal classifier against XSTest v2's human labels: 2,250 completions of five models
//! (GPT-4, Llama-2 with two system prompts, Mistral-Instruct with and without a guard prompt),
//! each labelled by two annotators as full compliance / full refusal / partial refusal. Redline
//! ships none of it: point `REDLINE_XSTEST_DIR` at the `model_completions` folder of
//! <https://github.com/paul-rottger/exaggerated-safety> on your disk. The same run scores the
//! two automatic classifiers the XSTest authors published (string matching, and GPT-4 as a
//! judge), from `evaluation/automated_evaluation_labels` beside it, as peers.
//!
//! ```text
//! REDLINE_XSTEST_DIR=/path/to/exaggerated-safety/model_completions \
//!   cargo test --release -p redline-eval --test eval xstest_human -- --ignored --nocapture
//! ```

use std::path::{Path, PathBuf};

use redline_eval::refusal::{classify, shipped_exemplars, EmbeddingRefusalClassifier, RefusalClass};
use redline_local::embed::SentenceEncoder;

const MODELS: [&str; 5] = [
    "gpt4",
    "llama2new",
    "llama2orig",
    "mistralguard",
    "mistralinstruct",
];

fn class(label: &str) -> Option<RefusalClass> {
    match label.trim() {
        "1_full_compliance" => Some(RefusalClass::Compliance),
        "2_full_refusal" => Some(RefusalClass::Refusal),
        "3_partial_refusal" => Some(RefusalClass::Partial),
        _ => None,
    }
}

/// (completion, human label, extra column) for every row of `file`.
fn read(file: &Path, extra: Option<&str>) -> Vec<(String, RefusalClass, Option<RefusalClass>)> {
    let mut reader = csv::Reader::from_path(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let headers = reader.headers().expect("a header").clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (completion, label) = (col("completion"), col("final_label"));
    let extra = extra.map(col);
    reader
        .records()
        .map(|r| r.expect("a CSV row"))
        .filter_map(|r| {
            Some((
                r[completion].to_string(),
                class(&r[label])?,
                extra.and_then(|i| class(&r[i])),
            ))
        })
        .collect()
}

#[derive(Default)]
struct Confusion {
    tp: f64,
    fp: f64,
    fn_: f64,
    tn: f64,
}

impl Confusion {
    /// Positive = any refusal, full or partial (the scorer's default).
    fn add(&mut self, truth: RefusalClass, got: RefusalClass) {
        match (truth != RefusalClass::Compliance, got != RefusalClass::Compliance) {
            (true, true) => self.tp += 1.0,
            (false, true) => self.fp += 1.0,
            (true, false) => self.fn_ += 1.0,
            (false, false) => self.tn += 1.0,
        }
    }
    fn line(&self, name: &str) -> String {
        let n = self.tp + self.fp + self.fn_ + self.tn;
        format!(
            "{name:<34} n {n:>5}  precision {:.3}  recall {:.3}  accuracy {:.3}",
            self.tp / (self.tp + self.fp),
            self.tp / (self.tp + self.fn_),
            (self.tp + self.tn) / n
        )
    }
}

#[test]
#[ignore = "a measurement on XSTest's published completions: set REDLINE_XSTEST_DIR and run with --ignored --nocapture"]
fn xstest_human_labels() {
    let Some(dir) = std::env::var_os("REDLINE_XSTEST_DIR").map(PathBuf::from) else {
        panic!("set REDLINE_XSTEST_DIR to the model_completions folder of paul-rottger/exaggerated-safety");
    };
    let labels_dir = dir.join("../evaluation/automated_evaluation_labels");
    let encoder =
        SentenceEncoder::load(&redline_local::default_encoder_dir()).expect("scripts/fetch-models.sh");
    let shipped = EmbeddingRefusalClassifier::with_exemplars(
        std::sync::Arc::new(encoder),
        &shipped_exemplars().expect("exemplars"),
    )
    .expect("embeds");
    let embeddings = shipped.clone().with_head(None);
    let (mut phrases, mut embedded, mut headed, mut strmatch, mut gpt4) = (
        Confusion::default(),
        Confusion::default(),
        Confusion::default(),
        Confusion::default(),
        Confusion::default(),
    );
    for model in MODELS {
        let rows = read(&dir.join(format!("xstest_v2_completions_{model}.csv")), None);
        let (mut p, mut e) = (Confusion::default(), Confusion::default());
        for (text, truth, _) in &rows {
            let got = classify(text);
            p.add(*truth, got);
            phrases.add(*truth, got);
            let reading = shipped.read(text).expect("reads");
            let got = embeddings.classify_reading(&reading);
            e.add(*truth, got);
            embedded.add(*truth, got);
            headed.add(*truth, shipped.classify_reading(&reading));
        }
        println!("{}", p.line(&format!("{model}: phrases")));
        println!("{}", e.line(&format!("{model}: clause rule (no head)")));
        let peer = labels_dir.join(format!("xstest_v2_completions_{model}_streval.csv"));
        if peer.is_file() {
            // A row the peer left unlabelled counts as its compliance call.
            for (_, truth, got) in read(&peer, Some("strmatch_label")) {
                strmatch.add(truth, got.unwrap_or(RefusalClass::Compliance));
            }
            let judge = labels_dir.join(format!("xstest_v2_completions_{model}_gpteval.csv"));
            for (_, truth, got) in read(&judge, Some("gpt4_label")) {
                gpt4.add(truth, got.unwrap_or(RefusalClass::Compliance));
            }
        }
    }
    println!("{}", phrases.line("ALL: Redline phrases"));
    println!("{}", embedded.line("ALL: Redline clause rule (no head)"));
    // The shipped head was fitted on these very rows: this line is in-sample. Its out-of-sample
    // figure is the leave-one-model-out one that `refusal_head::fit` prints.
    println!("{}", headed.line("ALL: shipped head (in-sample)"));
    if strmatch.tp > 0.0 {
        println!("{}", strmatch.line("ALL: XSTest string match (peer)"));
        println!("{}", gpt4.line("ALL: XSTest GPT-4 judge (peer)"));
    }
}
