//! `redline demo`: the whole pipeline on a fresh machine with no API key. Two "generations" of the
//! local model (sampled, then greedy) are each assessed under the shipped redline-safety-v1
//! framework, bare (pre-mitigation) and behind the safety prompt and a moderation filter judged
//! by the same local model (post-mitigation), on the compact demo suite; then a signed system
//! card compares the two.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use redline_store::Store;

use crate::assess_cmd::{exit_code, run_assessment, AssessArgs, Ran};
use crate::card_cmd::{card, CardArgs, FormatArg, KeygenArgs};
use crate::eval_cmd::{EndpointArgs, RunOptions};
use crate::exit;

#[derive(Args)]
#[command(
    after_help = "Example:\n  scripts/fetch-models.sh && redline demo --out redline-demo\n\n\
    Writes DIR/card (card.html, card.md, card.json, the raw runs, manifest.json, manifest.sig) signed\n\
    with a new key DIR/demo-signing.key; check it with `redline verify DIR/card --key DIR/demo-signing.key.pub`.\n\
    Runs are kept in the store: `redline runs list`. Re-running resumes unfinished runs."
)]
pub struct DemoArgs {
    /// The local model: local/smollm2 (the default, fetched by scripts/fetch-models.sh) or
    /// local/PATH.gguf.
    #[arg(long, default_value = "local/smollm2")]
    pub model: String,
    /// Folder for the signed card bundle and its key.
    #[arg(long, default_value = "redline-demo", value_name = "DIR")]
    pub out: PathBuf,
    /// Tokens per answer: small keeps the demo within minutes on two cores.
    #[arg(long, default_value_t = 24)]
    pub max_tokens: u32,
    /// Only the first N rows of each dataset: a quick look (the framework will then report
    /// insufficient evidence, which the card shows).
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// The suite to run (the shipped demo suite by default).
    #[arg(long, value_name = "PATH")]
    pub suite: Option<PathBuf>,
    /// No progress output.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// The shipped demo suite, found beside the binary's source tree or the working directory.
fn default_suite() -> anyhow::Result<PathBuf> {
    let candidates = [
        PathBuf::from("suites/demo"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../suites/demo"),
    ];
    candidates
        .into_iter()
        .find(|p| p.join("suite.toml").is_file())
        .context("cannot find the shipped demo suite (suites/demo): run from the repository or pass --suite")
}

pub fn demo(args: DemoArgs, store_path: &Path) -> anyhow::Result<u8> {
    if !args.model.starts_with("local/") {
        bail!(
            "--model: the demo runs a local model (local/smollm2 or local/PATH.gguf), got `{}`",
            args.model
        );
    }
    let name = &args.model["local/".len()..];
    // Fail now, with the fetch instructions, rather than after the first eval starts.
    crate::local::local_model(name)?;
    let suite = match &args.suite {
        Some(s) => s.clone(),
        None => default_suite()?,
    };
    let started = Instant::now();
    let say = |msg: String| {
        if !args.quiet {
            eprintln!("{msg}");
        }
    };
    // Generation 1 samples at temperature 0.8; generation 2 decodes greedily. Same weights, two
    // decoding policies: a stand-in for comparing model versions when only one file is at hand.
    let generations = [
        ("generation 1 (sampled, temperature 0.8)", Some(0.8), Some(1)),
        ("generation 2 (greedy)", Some(0.0), None),
    ];
    let mut ids = Vec::new();
    for (label, temperature, seed) in generations {
        say(format!(
            "\n== {label}: pre-mitigation {0}, post-mitigation {0}+safety-prompt+moderation",
            args.model
        ));
        let assess = AssessArgs {
            framework: "redline-safety-v1".into(),
            pre: args.model.clone(),
            post: format!("{}+safety-prompt+moderation", args.model),
            suite: suite.clone(),
            endpoint: EndpointArgs {
                base_url: None,
                api_key_env: None,
                judge: Some(args.model.clone()),
                judge_base_url: None,
            },
            options: RunOptions {
                limit: args.limit,
                epochs: None,
                // One in-process model: requests queue on it, so a few in flight are plenty.
                max_connections: 4,
                timeout: 600.0,
                sample_timeout: None,
                max_retries: 2,
                retry_base_ms: 100,
                fail_on_error: None,
                cache: true,
                new: false,
                temperature,
                max_tokens: Some(args.max_tokens),
                seed,
            },
            json: false,
            quiet: args.quiet,
        };
        match run_assessment(&assess, store_path)? {
            Ran::Done(a) => ids.push(*a),
            Ran::Interrupted => return Ok(exit::INTERRUPTED),
        }
    }
    let (older, newer) = (&ids[0], &ids[1]);
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let key = args.out.join("demo-signing.key");
    if !key.exists() {
        crate::card_cmd::keygen(KeygenArgs { out: key.clone() })?;
    }
    let bundle = args
        .out
        .join(format!("card-{}", &newer.id[..newer.id.len().min(8)]));
    card(
        CardArgs {
            assessment: newer.id.clone(),
            format: vec![FormatArg::Html, FormatArg::Md, FormatArg::Json],
            out: Some(bundle.clone()),
            sign: Some(key.clone()),
            compare: vec![older.id.clone()],
            examples: 2,
        },
        store_path,
    )?;
    let store = Store::open(store_path)?;
    let computed = crate::assess_cmd::compute(&store, newer)?;
    print!("{}", crate::render::scorecard_text(newer, &computed));
    println!(
        "\ndemo finished in {:.0} s\n  system card  {}\n  markdown     {}\n  verify with  redline verify {} --key {}.pub",
        started.elapsed().as_secs_f64(),
        bundle.join("card.html").display(),
        bundle.join("card.md").display(),
        bundle.display(),
        key.display()
    );
    // The demo's job is to show the pipeline; its gate outcomes are in the card, not the exit code.
    let _ = exit_code(&computed.gates);
    Ok(exit::OK)
}
