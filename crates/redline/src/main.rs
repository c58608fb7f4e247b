//! `redline`: the command-line face of the preparedness engine. Thin by design: it parses
//! arguments, wires the crates together and prints.

mod assess_cmd;
mod card_build;
mod card_cmd;
mod card_findings;
mod contrasts;
mod demo_cmd;
mod eval_cmd;
mod findings_cmd;
mod frameworks_cmd;
mod horizon_cmd;
mod judge_cmd;
mod local;
mod progress;
mod redteam_cmd;
mod render;
mod run_report;
mod runs_cmd;
mod target;
mod tasks_cmd;
mod text;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit codes CI can gate on.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// An error: bad input, an unreachable or refusing endpoint, a store problem.
    pub const ERROR: u8 = 1;
    /// Command-line usage error (from clap).
    pub const USAGE: u8 = 2;
    /// The run finished or stopped with more errored samples than `--fail-on-error` allows.
    pub const TOO_MANY_ERRORS: u8 = 3;
    /// `assess` / `scorecard`: a gate failed.
    pub const GATE_FAILED: u8 = 4;
    /// `assess` / `scorecard`: evidence the framework requires is missing or too small (never a pass).
    pub const INSUFFICIENT_EVIDENCE: u8 = 5;
    /// `assess` / `scorecard`: an inconclusive verdict decides a gate; a reviewer must determine it.
    pub const NEEDS_REVIEW: u8 = 6;
    /// `verify`: a bundle's signature or a file's hash does not check out.
    pub const VERIFY_FAILED: u8 = 7;
    /// Interrupted (Ctrl-C); the run can be resumed.
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Parser)]
#[command(
    name = "redline",
    version,
    about = "Run safety and capability evaluations against model endpoints, and keep every number checkable.",
    after_help = "Exit codes: 0 success, 1 error, 2 usage error, 3 too many errored samples (--fail-on-error), 4 a gate failed, 5 insufficient evidence, 6 needs review, 7 a signed bundle failed verification, 130 interrupted.\n\
                  The store defaults to $XDG_DATA_HOME/redline/redline.db (else ~/.local/share/redline/redline.db); set --store or REDLINE_STORE to use another file.\n\
                  Logging: REDLINE_LOG=debug (tracing filter syntax). API keys are never logged or stored."
)]
struct Cli {
    /// The SQLite store file.
    #[arg(long, global = true, env = "REDLINE_STORE", value_name = "PATH")]
    store: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an eval file against a model; re-running the same command resumes an unfinished run.
    Eval(eval_cmd::EvalArgs),
    /// List, inspect and export runs.
    #[command(subcommand)]
    Runs(runs_cmd::RunsCommand),
    /// Apply a framework: run a suite on the pre- and post-mitigation targets, score, gate.
    Assess(assess_cmd::AssessArgs),
    /// Show an assessment's scorecard (recomputed with every determination so far).
    Scorecard(assess_cmd::ScorecardArgs),
    /// Record a human determination of a category's level, with its rationale (append-only).
    Determine(assess_cmd::DetermineArgs),
    /// The whole pipeline on the local model, no API key: two generations assessed pre and post
    /// mitigation, then a signed system card comparing them.
    Demo(demo_cmd::DemoArgs),
    /// Write an assessment's system card (HTML, Markdown, JSON), optionally as a signed bundle.
    Card(card_cmd::CardArgs),
    /// Create an ed25519 key pair for signing card bundles.
    Keygen(card_cmd::KeygenArgs),
    /// Check a signed card bundle: the signature and every file's SHA-256.
    Verify(card_cmd::VerifyArgs),
    /// Red-team a target: goals × attacks (PAIR, tree of attacks, crescendo, encodings, ...),
    /// every success stored as a finding; re-running the same command resumes.
    Redteam(redteam_cmd::RedteamArgs),
    /// List, show, add, review and promote red-team findings.
    #[command(subcommand)]
    Findings(findings_cmd::FindingsCommand),
    /// Check a judge against labelled answers: accuracy, Cohen's kappa, confusion matrix.
    JudgeCheck(judge_cmd::JudgeCheckArgs),
    /// Task-completion time horizons (METR's method) per model from per-run records.
    Horizon(horizon_cmd::HorizonArgs),
    /// An agent run over task folders by task length: success per band of human minutes and
    /// steps, limits hit, and its 50% / 80% time horizons.
    Tasks(tasks_cmd::TasksArgs),
    /// List, show and check framework policies (levels, categories, indicators, gates).
    #[command(subcommand)]
    Frameworks(frameworks_cmd::FrameworksCommand),
}

fn main() -> ExitCode {
    // Local models: candle splits each matrix multiply across a spin-barrier thread pool, which
    // collapses when anything else competes for the cores (measured on 2 cores with a busy
    // neighbour: 3 decode tokens/s with two threads, 53 with one). One thread is the robust
    // default; CANDLE_NUM_THREADS overrides it. Set here, before any thread exists.
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { exit::OK });
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("REDLINE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let store_path = cli.store.unwrap_or_else(redline_store::default_path);
    let outcome = match cli.command {
        Command::Eval(args) => eval_cmd::run(args, &store_path),
        Command::Runs(cmd) => runs_cmd::run(cmd, &store_path),
        Command::Frameworks(cmd) => frameworks_cmd::run(cmd),
        Command::Horizon(args) => horizon_cmd::run(args),
        Command::Tasks(args) => tasks_cmd::run(args, &store_path),
        Command::JudgeCheck(args) => judge_cmd::run(args),
        Command::Assess(args) => assess_cmd::assess(args, &store_path),
        Command::Scorecard(args) => assess_cmd::scorecard_cmd(args, &store_path),
        Command::Determine(args) => assess_cmd::determine(args, &store_path),
        Command::Demo(args) => demo_cmd::demo(args, &store_path),
        Command::Card(args) => card_cmd::card(args, &store_path),
        Command::Keygen(args) => card_cmd::keygen(args),
        Command::Verify(args) => card_cmd::verify(args),
        Command::Redteam(args) => redteam_cmd::redteam(args, &store_path),
        Command::Findings(cmd) => findings_cmd::run(cmd, &store_path),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}
