//! `redline card`, `redline keygen`, `redline verify`: the system card, and signed bundles that
//! anyone can check.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use redline_report::{self as report, Format};
use redline_store::Store;

use crate::card_build::{build_card, CardOptions};
use crate::exit;

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    redline card 3f2a --out card.html\n  \
    redline card 3f2a --format html,md,json --out card/ --compare 9c1e\n  \
    redline keygen --out signing.key && redline card 3f2a --format html,md,json --out bundle/ --sign signing.key\n  \
    redline verify bundle/ --key signing.key.pub\n\n\
    With one format and no --sign, --out is the file to write. With several formats or --sign, --out is\n\
    a folder: the cards, each linked run's raw samples and scores (runs/RUN.jsonl), and with --sign a\n\
    manifest of SHA-256 hashes and its ed25519 signature.")]
pub struct CardArgs {
    /// The assessment id (or a unique prefix).
    pub assessment: String,
    /// Renderings to write, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "html")]
    pub format: Vec<FormatArg>,
    /// Output file, or folder for several formats or a signed bundle [default: card-ID.html or card-ID/].
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Sign the bundle with this secret key (from `redline keygen`).
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
    /// An earlier generation's assessment to compare with (repeat, oldest first).
    #[arg(long, value_name = "ASSESSMENT")]
    pub compare: Vec<String>,
    /// Responses shown per run, lowest-scored first.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub examples: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Html,
    Md,
    Json,
}

impl FormatArg {
    fn format(self) -> Format {
        match self {
            FormatArg::Html => Format::Html,
            FormatArg::Md => Format::Markdown,
            FormatArg::Json => Format::Json,
        }
    }
}

#[derive(Args)]
pub struct KeygenArgs {
    /// Where to write the secret key; the public key goes to PATH.pub. Never overwrites.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
}

#[derive(Args)]
#[command(
    after_help = "Exit codes: 0 the signature and every file check out; 7 the bundle was changed \
    (the message names the file), is signed by another key, or is not a bundle; 1 error."
)]
pub struct VerifyArgs {
    /// The bundle folder (holding manifest.json and manifest.sig).
    pub bundle: PathBuf,
    /// The signer's public key file; without it, the key inside the manifest is used and printed,
    /// which proves integrity but not who signed.
    #[arg(long, value_name = "PUB")]
    pub key: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

pub fn card(args: CardArgs, store_path: &Path) -> anyhow::Result<u8> {
    let store = Store::open(store_path)?;
    let assessment = store.get_assessment(&args.assessment)?;
    let baselines = args
        .compare
        .iter()
        .map(|id| {
            store
                .get_assessment(id)
                .with_context(|| format!("--compare {id}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let signing_key = args.sign.as_deref().map(report::read_signing_key).transpose()?;
    let mut formats: Vec<Format> = args.format.iter().map(|f| f.format()).collect();
    formats.dedup();
    let card = build_card(
        &store,
        &assessment,
        &CardOptions {
            baselines,
            examples: args.examples,
        },
    )?;
    let short = &assessment.id[..assessment.id.len().min(8)];
    let bundle = formats.len() > 1 || signing_key.is_some();
    if !bundle {
        let format = formats[0];
        let out = args
            .out
            .unwrap_or_else(|| PathBuf::from(format!("card-{short}.{}", format.extension())));
        if out.is_dir() {
            bail!(
                "--out {}: is a folder; give a file name for a single card",
                out.display()
            );
        }
        std::fs::write(&out, report::render(&card, format)?)
            .with_context(|| format!("cannot write {}", out.display()))?;
        println!("{}", out.display());
        return Ok(exit::OK);
    }
    let dir = args.out.unwrap_or_else(|| PathBuf::from(format!("card-{short}")));
    if dir.is_file() {
        bail!(
            "--out {}: is a file; a bundle (several formats or --sign) is written to a folder",
            dir.display()
        );
    }
    if dir.join(report::MANIFEST).exists() {
        bail!(
            "--out {}: already holds a signed bundle; choose a new folder",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir.join("runs")).with_context(|| format!("cannot create {}", dir.display()))?;
    for format in &formats {
        let path = dir.join(format!("card.{}", format.extension()));
        std::fs::write(&path, report::render(&card, *format)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    for e in &card.evaluations {
        let path = dir.join("runs").join(format!("{}.jsonl", e.run_id));
        crate::runs_cmd::export(&store, &e.run_id, Some(&path))?;
    }
    if let Some(key) = signing_key {
        let manifest = report::sign_bundle(&dir, &key)?;
        eprintln!(
            "signed {} files with key {} (manifest.json, manifest.sig)",
            manifest.files.len(),
            manifest.public_key
        );
    }
    println!("{}", dir.display());
    Ok(exit::OK)
}

pub fn keygen(args: KeygenArgs) -> anyhow::Result<u8> {
    let key = report::generate_key();
    let public = report::write_key_pair(&key, &args.out)?;
    eprintln!(
        "secret key {} (keep it private), public key {}",
        args.out.display(),
        public.display()
    );
    println!("{}", hex::encode(key.verifying_key().to_bytes()));
    Ok(exit::OK)
}

pub fn verify(args: VerifyArgs) -> anyhow::Result<u8> {
    let expected = args.key.as_deref().map(report::read_verifying_key).transpose()?;
    match report::verify_bundle(&args.bundle, expected.as_ref()) {
        Ok(manifest) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"ok": true, "signer": manifest.public_key, "files": manifest.files, "key_pinned": expected.is_some()})
                );
            } else {
                println!(
                    "OK: signature valid, {} files unchanged, signed by {}{}",
                    manifest.files.len(),
                    manifest.public_key,
                    if expected.is_some() {
                        " (the expected key)"
                    } else {
                        " (pass --key to check who signed)"
                    }
                );
            }
            Ok(exit::OK)
        }
        Err(report::BundleError::Io { path, source }) if !path.starts_with(&args.bundle) => {
            Err(anyhow::anyhow!("{}: {source}", path.display()))
        }
        Err(e) => {
            if args.json {
                println!("{}", serde_json::json!({"ok": false, "error": e.to_string()}));
            }
            eprintln!("verification FAILED: {e}");
            Ok(exit::VERIFY_FAILED)
        }
    }
}
