//! `redline eval`: plan, resume, run, commit, summarise.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use clap::Args;
use redline_core::Reducer;
use redline_eval::{
    run_eval, Counters, EarlyStop, ErrorThreshold, Eval, RunError, RunSettings, RunSummary, SequentialReport,
    Suite,
};
use redline_model::{check_reachable, ModelError, ModelSpec, RetryPolicy};
use redline_store::{MetricRow, NewRun, RunRow, RunStatus, SampleWriter, SqliteCache, Store};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::exit;
use crate::progress::Progress;
use crate::run_report::ByGroup;
use crate::target::{build_endpoint, judge_endpoint, Defaults, Endpoint, Target};
use crate::text;

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    redline eval suites/examples/arithmetic.toml --model openai-compatible/my-model --base-url http://127.0.0.1:8000/v1\n  \
    redline eval suites/examples/arithmetic.toml --model anthropic/claude-sonnet-4-5 --limit 100 --epochs 3\n  \
    redline eval --resume 3k2j4h5g6f7d suites/examples/arithmetic.toml --model openai-compatible/my-model --base-url ...\n\n\
    Re-running the same command (same eval file, dataset, model, epochs, limit and generation settings) resumes\n\
    the newest unfinished run: samples already committed are skipped and never sent to the model again.")]
pub struct EvalArgs {
    /// The eval file (TOML), or a suite (a suite.toml, or a folder holding one) to run every
    /// eval of, one after the other (with --json, one JSON document per line).
    pub eval: PathBuf,
    /// The target: provider/name (openai-compatible/NAME, openai/NAME, anthropic/NAME), optionally
    /// with mitigations (+safety-prompt, +moderation with --judge), or a target file (*.toml).
    #[arg(long, short = 'm', env = "REDLINE_MODEL")]
    pub model: String,
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    #[command(flatten)]
    pub options: RunOptions,
    /// Continue this run (id or unique prefix), retrying its errored samples.
    #[arg(long, value_name = "RUN_ID", conflicts_with = "new")]
    pub resume: Option<String>,
    /// Print one JSON document on stdout instead of text (no progress bar).
    #[arg(long)]
    pub json: bool,
    /// No progress bar, and only the final line on stdout.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// How to reach the model(s) named inline.
#[derive(Args, Clone)]
pub struct EndpointArgs {
    /// The API's base URL, up to the version (e.g. http://127.0.0.1:8000/v1).
    #[arg(long, env = "REDLINE_BASE_URL")]
    pub base_url: Option<String>,
    /// The environment variable holding the API key (default: OPENAI_API_KEY or ANTHROPIC_API_KEY).
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// The judge model for the +moderation mitigation, as provider/name.
    #[arg(long)]
    pub judge: Option<String>,
    /// The judge's base URL (default: --base-url).
    #[arg(long)]
    pub judge_base_url: Option<String>,
}

impl EndpointArgs {
    pub fn defaults(&self) -> Defaults<'_> {
        Defaults {
            base_url: self.base_url.as_deref(),
            api_key_env: self.api_key_env.as_deref(),
            judge: self.judge.as_deref(),
            judge_base_url: self.judge_base_url.as_deref(),
        }
    }
}

/// Settings for running evals, shared by `eval` and `assess`.
#[derive(Args, Clone)]
pub struct RunOptions {
    /// Run only the first N dataset rows.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Repetitions of each sample (overrides the eval's [run].epochs).
    #[arg(long)]
    pub epochs: Option<u32>,
    /// Requests in flight at once, at most.
    #[arg(long, default_value_t = 32)]
    pub max_connections: usize,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 120.0, value_name = "SECS")]
    pub timeout: f64,
    /// Per-sample time limit in seconds, retries included (default: none).
    #[arg(long, value_name = "SECS")]
    pub sample_timeout: Option<f64>,
    /// Retries per request for rate limits, 5xx, timeouts and dropped connections.
    #[arg(long, default_value_t = 6)]
    pub max_retries: u32,
    /// First backoff ceiling in milliseconds; doubles each retry (full jitter), capped at 60 s.
    #[arg(long, default_value_t = 500, value_name = "MS")]
    pub retry_base_ms: u64,
    /// Stop and fail when errored samples exceed this share (0 < x < 1) or count (x ≥ 1).
    #[arg(long, value_name = "X")]
    pub fail_on_error: Option<ErrorThreshold>,
    /// Reuse and fill the response cache in the store (keyed by model, messages and settings).
    #[arg(long)]
    pub cache: bool,
    /// Start new runs even if unfinished ones match.
    #[arg(long)]
    pub new: bool,
    /// Sampling temperature (overrides the eval's [generation]).
    #[arg(long)]
    pub temperature: Option<f64>,
    /// Maximum tokens to generate (overrides the eval's [generation]).
    #[arg(long)]
    pub max_tokens: Option<u32>,
    /// Sampling seed passed to providers that accept one.
    #[arg(long)]
    pub seed: Option<u64>,
}

pub fn run(args: EvalArgs, store_path: &Path) -> anyhow::Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let json_mode = args.json;
    let outcome = runtime.block_on(async {
        let target = Target::parse(&args.model, &args.endpoint.defaults())?;
        let visible = !(args.quiet || args.json);
        let ctx = ExecEnv {
            store_path,
            visible,
            judge: judge_endpoint(&args.endpoint.defaults()),
        };
        // A suite (a suite.toml, or a folder holding one) runs each of its evals in turn.
        let suite = is_suite(&args.eval)
            .then(|| Suite::load(&args.eval))
            .transpose()?;
        if suite.is_some() && args.resume.is_some() {
            bail!("--resume names one run; resume a suite by re-running the same command");
        }
        let evals = suite
            .as_ref()
            .map_or_else(|| vec![args.eval.clone()], |s| s.evals.clone());
        let mut worst = exit::OK;
        for eval in &evals {
            let done = execute(eval, &target, &args.options, args.resume.as_deref(), &ctx, None).await?;
            report(&args, &done);
            if let Some(m) = &done.message {
                let kind = match done.code {
                    exit::OK => "note",
                    exit::INTERRUPTED => "stopped",
                    _ => "error",
                };
                eprintln!("{kind}: {m}");
                if done.run.status != RunStatus::Complete {
                    eprintln!("resume with: the same command, or --resume {}", done.run.id);
                }
            }
            worst = worst.max(done.code);
            if done.code == exit::INTERRUPTED {
                break;
            }
        }
        Ok::<u8, anyhow::Error>(worst)
    });
    match outcome {
        Err(e) if json_mode => {
            println!("{}", json!({ "error": format!("{e:#}") }));
            Err(e)
        }
        other => other,
    }
}

/// What one eval on one target left behind.
pub struct Executed {
    pub run: RunRow,
    pub metrics: Vec<MetricRow>,
    /// For each `[run].group_by` field: each value's metrics.
    pub by_group: ByGroup,
    /// Label shares of labelled scorers (see [`label_report`]).
    pub labels: serde_json::Value,
    pub code: u8,
    pub message: Option<String>,
    pub wall_ms: u64,
    pub counters: Arc<Counters>,
    pub finished: bool,
}

struct Plan {
    eval: Eval,
    spec: ModelSpec,
    base_url: String,
    settings: RunSettings,
    reducers: Vec<Reducer>,
    new_run: NewRun,
}

fn plan(
    eval: Eval,
    target: &Target,
    args: &RunOptions,
    model_id: &str,
    early_stop: Option<EarlyStop>,
    judge_id: Option<String>,
) -> anyhow::Result<Plan> {
    let spec: ModelSpec = target.spec().context("--model")?;
    let base_url = target.base_url().context("--base-url")?;
    let epochs = args.epochs.unwrap_or(eval.spec.run.epochs);
    if epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    if args.max_connections == 0 {
        bail!("--max-connections must be at least 1");
    }
    if args.timeout.is_nan() || args.timeout <= 0.0 {
        bail!("--timeout must be a positive number of seconds");
    }
    let mut generation = eval.spec.generation.clone();
    if args.temperature.is_some() {
        generation.temperature = args.temperature;
    }
    if args.max_tokens.is_some() {
        generation.max_tokens = args.max_tokens;
    }
    if args.seed.is_some() {
        generation.seed = args.seed;
    }
    let reducers = eval.spec.run.reducers.clone();
    if let Some(Reducer::PassAtK(k)) = reducers
        .iter()
        .find(|r| matches!(r, Reducer::PassAtK(k) if *k > epochs))
    {
        bail!(
            "{}: [run].reducers has pass@{k}, which needs at least {k} epochs (running {epochs})",
            eval.path.display()
        );
    }
    // Validate every row up front: bad input must never leave a half-made run behind.
    let scan = eval.scan_dataset(args.limit)?;
    let model_id = model_id.to_string();
    let settings_json = json!({
        "epochs": epochs,
        "limit": args.limit,
        "generation": generation,
        "reducers": reducers,
        "scorers": eval.scorers.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        "solver": eval.spec.solver.kind,
        "rows": scan.samples,
        "group_by": eval.spec.run.group_by,
        "bbq_scorers": eval.scorers.iter().filter(|s| s.is_bbq()).map(|s| s.name.clone()).collect::<Vec<_>>(),
        "strongreject_scorers": eval.scorers.iter().filter(|s| s.is_strongreject()).map(|s| s.name.clone()).collect::<Vec<_>>(),
        "labelled_scorers": eval.scorers.iter().filter(|s| s.labels_answers()).map(|s| s.name.clone()).collect::<Vec<_>>(),
        "judge": judge_id,
        "sequential": early_stop.as_ref().map(|e| json!({
            "scorer": e.scorer,
            "tests": e.tests.iter().map(|(label, t)| json!({
                "label": label, "threshold": t.threshold, "delta": t.delta, "alpha": t.alpha, "beta": t.beta,
                "direction": t.direction,
            })).collect::<Vec<_>>(),
        })),
    });
    // What makes two invocations "the same command": everything that changes the answers.
    let fingerprint = hex_sha256(
        &json!({
            "eval": eval.qualified_id(), "eval_sha256": eval.sha256, "dataset_sha256": scan.sha256,
            "model": model_id, "base_url": base_url, "settings": settings_json, "target": target,
        })
        .to_string(),
    );
    let new_run = NewRun {
        fingerprint,
        eval_id: eval.spec.eval.id.clone(),
        eval_version: eval.spec.eval.version.clone(),
        eval_path: eval.path.display().to_string(),
        eval_sha256: eval.sha256.clone(),
        dataset_path: eval.dataset_path.display().to_string(),
        dataset_sha256: scan.sha256,
        model: model_id,
        base_url: Some(base_url.clone()),
        settings_json: settings_json.to_string(),
        planned: scan.samples * u64::from(epochs),
    };
    let settings = RunSettings {
        max_connections: args.max_connections,
        epochs,
        limit: args.limit,
        sample_timeout: args.sample_timeout.map(Duration::from_secs_f64),
        retry: RetryPolicy {
            max_retries: args.max_retries,
            base_delay: Duration::from_millis(args.retry_base_ms),
            ..RetryPolicy::default()
        },
        generation,
        fail_on_error: args.fail_on_error,
        early_stop,
    };
    Ok(Plan {
        eval,
        spec,
        base_url,
        settings,
        reducers,
        new_run,
    })
}

fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `path` names a suite rather than an eval: a folder, or a TOML file whose top table
/// is `[suite]`.
fn is_suite(path: &Path) -> bool {
    path.is_dir()
        || std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.parse::<toml::Table>().ok())
            .is_some_and(|t| t.contains_key("suite"))
}

/// Where and how `execute` runs: the store, whether to draw progress, the judge model for
/// model-graded scorers.
pub struct ExecEnv<'a> {
    pub store_path: &'a Path,
    pub visible: bool,
    pub judge: Option<Endpoint>,
}

/// Runs (or resumes) one eval on one target, committing samples as they finish.
pub async fn execute(
    eval_path: &Path,
    target: &Target,
    args: &RunOptions,
    resume: Option<&str>,
    ctx: &ExecEnv<'_>,
    early_stop: Option<EarlyStop>,
) -> anyhow::Result<Executed> {
    let (store_path, visible) = (ctx.store_path, ctx.visible);
    if args.timeout.is_nan() || args.timeout <= 0.0 {
        bail!("--timeout must be a positive number of seconds");
    }
    // Input files first: a bad eval is reported before anything about the endpoint.
    let eval = Eval::load(eval_path)?;
    let timeout = Duration::from_secs_f64(args.timeout);
    let judge = match (eval.scorers.iter().find(|s| s.needs_judge() || s.is_game()), &ctx.judge) {
        (Some(s), None) if s.is_game() => bail!(
            "{}: a persuasion game needs a counterpart model to play the other side: pass --judge provider/name",
            eval.path.display()
        ),
        (Some(s), None) => bail!(
            "{}: scorer `{}` is model-graded and needs a judge model: pass --judge provider/name",
            eval.path.display(),
            s.name
        ),
        (Some(_), Some(j)) => Some(build_endpoint(j, timeout, args.max_connections).context("--judge")?),
        (None, _) => None,
    };
    let model = target.build(timeout, args.max_connections)?;
    let judge_id = judge.as_ref().map(|j| j.id().0.clone());
    let mut plan = plan(eval, target, args, &model.id().0, early_stop, judge_id)?;
    let key_var = target.key_env()?;
    if plan.base_url != redline_model::IN_PROCESS {
        check_reachable(&plan.base_url, Duration::from_secs(10))
            .await
            .map_err(|e| anyhow!("cannot reach --base-url {}: {e}", plan.base_url))?;
    }

    let store = Store::open(store_path)?;
    let (run, created) = pick_run(&store, resume, args.new, &plan)?;
    let done_keys = store.completed_keys(&run.id)?;
    if let Some(e) = plan.settings.early_stop.as_mut() {
        e.prior = store.scorer_outcomes(&run.id, &e.scorer)?;
    }
    if !created {
        store.mark_running(&run.id)?;
    }
    if visible {
        let verb = if created { "starting run" } else { "resuming run" };
        eprintln!(
            "{verb} {} · {} on {} · {} samples × {} epochs{}",
            run.id,
            plan.eval.qualified_id(),
            run.model,
            plan.new_run.planned / u64::from(plan.settings.epochs),
            plan.settings.epochs,
            if done_keys.is_empty() {
                String::new()
            } else {
                format!(" · {} already done", done_keys.len())
            }
        );
    }

    let counters = Arc::new(Counters::default());
    let progress = Progress::start(plan.eval.qualified_id(), run.planned, counters.clone(), visible);
    let (tx, rx) = tokio::sync::mpsc::channel(1024);
    let mut writer = SampleWriter::open(store_path, &run.id)?;
    let writer_task = tokio::task::spawn_blocking(move || redline_store::drain_into(rx, &mut writer));
    let cache = if args.cache {
        Some(Arc::new(SqliteCache::open(store_path)?) as Arc<dyn redline_eval::ResponseCache>)
    } else {
        None
    };

    let started = Instant::now();
    let run_future = run_eval(
        &plan.eval,
        model,
        judge,
        &plan.settings,
        &done_keys,
        cache,
        counters.clone(),
        tx,
    );
    let result = tokio::select! {
        r = run_future => Some(r),
        _ = tokio::signal::ctrl_c() => None,
    };
    // The runner (and its sender) is gone: the writer commits what it still holds, then ends.
    let written = writer_task
        .await
        .context("the store writer stopped unexpectedly")?;
    progress.finish();
    let wall_ms = started.elapsed().as_millis() as u64;
    written?;

    let (status, message, code) = outcome(&result, &plan, &key_var);
    let message = match result
        .as_ref()
        .and_then(|r| r.as_ref().ok())
        .and_then(|s| s.sequential.as_ref())
    {
        Some(report) => {
            store.set_sequential(&run.id, &serde_json::to_string(report)?)?;
            sequential_note(report, run.planned, store.get_run(&run.id)?.completed).or(message)
        }
        None => message,
    };
    let metrics = store.run_metrics(&run.id, &plan.reducers, 0.95)?;
    let after = store.get_run(&run.id)?;
    if code == exit::ERROR && created && after.completed == 0 {
        // Nothing was learnt: leave no empty run behind.
        store.delete_run(&run.id)?;
        bail!("{}", message.unwrap_or_default());
    }
    store.finish_invocation(
        &run.id,
        status,
        message.as_deref(),
        Some(&serde_json::to_string(&metrics)?),
        wall_ms,
    )?;
    let run = store.get_run(&run.id)?;
    Ok(Executed {
        labels: crate::run_report::label_report(&store, &run)?,
        by_group: crate::run_report::grouped_metrics(
            &store,
            &run.id,
            &plan.reducers,
            &plan.eval.spec.run.group_by,
        )?,
        run,
        metrics,
        code,
        message,
        wall_ms,
        counters,
        finished: matches!(result, Some(Ok(_))),
    })
}

/// The run's status, a message for the user, and the exit code.
fn outcome(
    result: &Option<Result<RunSummary, RunError>>,
    plan: &Plan,
    key_var: &str,
) -> (RunStatus, Option<String>, u8) {
    match result {
        None => (
            RunStatus::Interrupted,
            Some("interrupted by the user".to_string()),
            exit::INTERRUPTED,
        ),
        Some(Ok(_)) => (RunStatus::Complete, None, exit::OK),
        Some(Err(e @ RunError::TooManyErrors { .. })) => {
            (RunStatus::Failed, Some(e.to_string()), exit::TOO_MANY_ERRORS)
        }
        Some(Err(e)) => (
            RunStatus::Failed,
            Some(describe_run_error(e, plan, key_var)),
            exit::ERROR,
        ),
    }
}

/// How a sequential stop is described on the run.
fn sequential_note(report: &SequentialReport, planned: u64, completed: u64) -> Option<String> {
    report.stopped.then(|| {
        let used = report.tests.iter().map(|t| t.used).max().unwrap_or(0);
        format!(
            "sequential stop: every threshold settled after {used} outcomes; {} of {planned} planned samples not needed",
            planned.saturating_sub(completed)
        )
    })
}

/// Resume, continue the matching unfinished run, or create a new one.
fn pick_run(store: &Store, resume: Option<&str>, new: bool, plan: &Plan) -> anyhow::Result<(RunRow, bool)> {
    if let Some(id) = resume {
        let run = store.get_run(id)?;
        if run.fingerprint != plan.new_run.fingerprint {
            bail!(
                "run {} was made with a different eval file, dataset, model or settings ({} on {}); \
                 resume it with exactly the arguments that started it, or drop --resume to start a new run",
                run.id,
                run.eval_id,
                run.model
            );
        }
        return Ok((run, false));
    }
    if !new {
        if let Some(run) = store.find_resumable(&plan.new_run.fingerprint)? {
            return Ok((run, false));
        }
    }
    Ok((store.create_run(&plan.new_run)?, true))
}

fn describe_run_error(e: &RunError, plan: &Plan, key_var: &str) -> String {
    match e {
        RunError::Fatal(ModelError::Auth { status, message }) => format!(
            "{} rejected the API key from ${key_var} (HTTP {status}): {message}. Check the key, or pass --api-key-env",
            plan.base_url
        ),
        RunError::Fatal(ModelError::NotFound { message }) => format!(
            "{} answered 404 for model `{}`: {message}. Check --model and --base-url",
            plan.base_url, plan.spec.name
        ),
        RunError::Unreachable(err) => format!("cannot reach --base-url {}: {err}", plan.base_url),
        other => other.to_string(),
    }
}

fn report(args: &EvalArgs, done: &Executed) {
    let (run, metrics, counters, wall_ms) = (&done.run, &done.metrics, &done.counters, done.wall_ms);
    use std::sync::atomic::Ordering::Relaxed;
    if args.json {
        let doc = json!({
            "run": run,
            "metrics": metrics,
            "metrics_by_group": crate::run_report::by_group_json(&done.by_group),
            "labels": done.labels,
            "invocation": {
                "wall_ms": wall_ms,
                "done": counters.done.load(Relaxed),
                "skipped": counters.skipped.load(Relaxed),
                "errors": counters.errors.load(Relaxed),
                "retries": counters.retries.load(Relaxed),
                "cache_hits": counters.cache_hits.load(Relaxed),
                "max_in_flight": counters.max_in_flight.load(Relaxed),
                "finished": done.finished,
            },
        });
        println!("{doc}");
        return;
    }
    let headline = metrics
        .first()
        .map(|m| format!("{} {}: {}", m.scorer, m.reducer, text::estimate(&m.estimate)))
        .unwrap_or_else(|| "no scored samples".into());
    if args.quiet {
        println!("{} {} {}", run.id, run.status, headline);
        return;
    }
    println!(
        "run {}  {}@{}  {}  {}",
        run.id, run.eval_id, run.eval_version, run.model, run.status
    );
    println!(
        "  samples {}/{} done ({} errored) · this invocation: {} done, {} skipped, {} retries, {} cache hits, {}",
        run.completed,
        run.planned,
        run.errored,
        counters.done.load(Relaxed),
        counters.skipped.load(Relaxed),
        counters.retries.load(Relaxed),
        counters.cache_hits.load(Relaxed),
        text::duration_ms(wall_ms)
    );
    for m in metrics {
        println!(
            "  {:<12} {:<8} {}",
            m.scorer,
            m.reducer,
            text::estimate(&m.estimate)
        );
    }
    if metrics.is_empty() {
        println!("  no scored samples");
    }
    print!("{}", crate::run_report::by_group_text(&done.by_group));
    print!("{}", crate::run_report::label_report_text(&done.labels));
}
