//! `redline redteam`: a campaign of attacks on a target, stored as it goes (re-running the same
//! command resumes it), every success recorded as a finding, and the campaign report.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use clap::Args;
use redline_local::embed::{cosine, SentenceEncoder};
use redline_model::RetryPolicy;
use redline_redteam::dedup::{
    finding_text, join_group, text_similarity, EMBEDDING_THRESHOLD, TEXT_THRESHOLD,
};
use redline_redteam::goals::file_sha256;
use redline_redteam::{
    load_goals, parse_attacks, report, run_campaign, Attempt, Budget, Campaign, CampaignReport, Goal,
    LoopSettings, Roles,
};
use redline_store::{AttemptRow, NewCampaign, NewFinding, Store};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::eval_cmd::EndpointArgs;
use crate::exit;
use crate::target::{build_endpoint, Endpoint, Target};

#[derive(Args)]
#[command(
    after_help = "Attacks: pair, tap, crescendo (need --attacker), encodings, templates, direct, or a stack \
    of techniques such as role_play+base64.\n\
    Goals: a JSONL file ({\"id\", \"goal\", \"category\"}), HarmBench's behaviours CSV or JailbreakBench's CSV.\n\
    Every success is stored as a finding (see `redline findings`). Re-running the same command resumes.\n\
    Exit codes: 0 done, 4 attack success rate above --max-success-rate, 130 interrupted, 1 error.\n\
    Example: redline redteam --target openai/gpt-4o-mini --attacker openai/gpt-4o --judge openai/gpt-4o \\\n\
    \x20        --goals suites/redteam/goals-placeholder.jsonl --attacks pair,crescendo,encodings"
)]
pub struct RedteamArgs {
    /// The model under test: provider/name[+safety-prompt][+moderation] or a target file.
    #[arg(long)]
    pub target: String,
    /// The attacker model for pair, tap and crescendo (provider/name).
    #[arg(long)]
    pub attacker: Option<String>,
    /// The attacker's base URL (default: --base-url).
    #[arg(long)]
    pub attacker_base_url: Option<String>,
    /// Goals file.
    #[arg(long)]
    pub goals: PathBuf,
    /// Comma-separated attacks.
    #[arg(long, default_value = "pair,encodings")]
    pub attacks: String,
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// Only the first N goals.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Attempts in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Per attempt: most target queries.
    #[arg(long, default_value_t = 60)]
    pub max_queries: u32,
    /// Per attempt: most tokens over target, attacker and judge.
    #[arg(long, default_value_t = 200_000)]
    pub max_tokens: u64,
    /// Per attempt: most wall time, in seconds.
    #[arg(long, default_value_t = 600.0, value_name = "SECS")]
    pub max_wall: f64,
    /// Judge rating (1–10) that counts as a success.
    #[arg(long, default_value_t = 10.0)]
    pub success_rating: f64,
    /// PAIR streams and refinements per stream.
    #[arg(long, default_value_t = 3)]
    pub pair_streams: usize,
    #[arg(long, default_value_t = 5)]
    pub pair_depth: usize,
    /// Crescendo turns.
    #[arg(long, default_value_t = 6)]
    pub crescendo_turns: usize,
    /// Severity given to findings from this campaign.
    #[arg(long, default_value = "medium")]
    pub severity: String,
    /// Exit 4 when the overall attack success rate is above this.
    #[arg(long, value_name = "RATE")]
    pub max_success_rate: Option<f64>,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 120.0, value_name = "SECS")]
    pub timeout: f64,
    /// Replies people labelled jailbroken or safe (JSONL: goal, response, label): the judge is
    /// checked on them first and the report states its agreement (accuracy, Cohen's kappa).
    #[arg(long, value_name = "FILE")]
    pub judge_labels: Option<PathBuf>,
    /// The report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn redteam(args: RedteamArgs, store_path: &Path) -> anyhow::Result<u8> {
    let (_, mut goals) = load_goals(&args.goals)?;
    if let Some(n) = args.limit {
        goals.truncate(n);
    }
    let attacks = parse_attacks(&args.attacks)?;
    if attacks.is_empty() {
        bail!("--attacks names no attack");
    }
    let defaults = args.endpoint.defaults();
    let target = Target::parse(&args.target, &defaults).context("--target")?;
    let judge = crate::target::judge_endpoint(&defaults)
        .ok_or_else(|| anyhow!("pass the judge that rates replies with --judge provider/name"))?;
    let needs_attacker = attacks.iter().any(|a| a.needs_attacker());
    let attacker = match (&args.attacker, needs_attacker) {
        (Some(a), _) => Endpoint {
            model: a.clone(),
            base_url: args.attacker_base_url.clone().or(args.endpoint.base_url.clone()),
            api_key_env: None,
        },
        (None, true) => {
            bail!("pair, tap and crescendo need an attacker model: pass --attacker provider/name")
        }
        // Converter attacks never call it; the judge stands in so the roles are complete.
        (None, false) => judge.clone(),
    };
    let timeout = Duration::from_secs_f64(args.timeout);
    let conns = args.concurrency.max(1) * 2;
    let roles = Roles {
        target: target.build(timeout, conns).context("--target")?,
        attacker: build_endpoint(&attacker, timeout, conns).context("--attacker")?,
        judge: build_endpoint(&judge, timeout, conns).context("--judge")?,
        retry: RetryPolicy::default(),
    };
    let campaign = Campaign {
        goals,
        attacks,
        budget: Budget {
            max_queries: args.max_queries,
            max_tokens: args.max_tokens,
            max_wall: Duration::from_secs_f64(args.max_wall),
        },
        settings: LoopSettings {
            success_rating: args.success_rating,
            pair_streams: args.pair_streams,
            pair_depth: args.pair_depth,
            crescendo_turns: args.crescendo_turns,
            ..Default::default()
        },
        concurrency: args.concurrency.max(1),
    };
    let target_name = crate::render::campaign_target(&serde_json::to_value(&target)?);
    let settings_json = json!({
        "attacks": campaign.attacks.iter().map(|a| a.name()).collect::<Vec<_>>(),
        "goals": campaign.goals.len(),
        "budget": campaign.budget,
        "settings": campaign.settings,
        "target": target,
        "attacker": attacker,
        "judge": judge,
    });
    let labelled = args
        .judge_labels
        .as_deref()
        .map(redline_redteam::judge_check::load_labelled)
        .transpose()?;
    let goals_sha256 = file_sha256(&args.goals)?;
    let fingerprint = hex::encode(Sha256::digest(format!("{settings_json}|{goals_sha256}")));
    let store = Store::open(store_path)?;
    let row = match store.find_resumable_campaign(&fingerprint)? {
        Some(row) => row,
        None => store.create_campaign(&NewCampaign {
            fingerprint,
            target: target_name.clone(),
            attacker: attacker.model.clone(),
            judge: judge.model.clone(),
            goals_path: args.goals.display().to_string(),
            goals_sha256,
            settings_json: settings_json.to_string(),
            planned: campaign.planned() as u64,
        })?,
    };
    let done = store.attempted_pairs(&row.id)?;
    if !done.is_empty() && !args.quiet {
        eprintln!(
            "resuming campaign {}: {} of {} attempts already done",
            row.id,
            done.len(),
            campaign.planned()
        );
    }
    let bar = progress_bar(campaign.planned() as u64, done.len() as u64, args.quiet);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let judge_agreement = match (&labelled, &args.judge_labels) {
        (Some(rows), Some(path)) => Some(
            runtime
                .block_on(redline_redteam::judge_check::check_judge(
                    roles.judge.as_ref(),
                    rows,
                    &path.display().to_string(),
                    args.success_rating,
                    &roles.retry,
                    args.concurrency.max(1) * 2,
                ))
                .context("checking the judge on --judge-labels")?,
        ),
        _ => None,
    };
    let mut failure: Option<anyhow::Error> = None;
    let finished = runtime.block_on(async {
        let work = run_campaign(&campaign, &roles, &done, |goal, attempt| {
            if let Err(e) = record(&store, &row.id, &target_name, &args.severity, goal, &attempt) {
                failure = Some(e);
                return false;
            }
            bar.inc(1);
            true
        });
        tokio::select! {
            () = work => true,
            _ = tokio::signal::ctrl_c() => false,
        }
    });
    bar.finish_and_clear();
    if let Some(e) = failure {
        return Err(e);
    }
    if !finished {
        eprintln!(
            "interrupted: campaign {} keeps its finished attempts; re-run the same command to resume",
            row.id
        );
        return Ok(exit::INTERRUPTED);
    }
    store.set_campaign_status(&row.id, "complete")?;
    let attempts: Vec<Attempt> = store
        .attempts(&row.id)?
        .iter()
        .map(|a| serde_json::from_str(&a.record_json).context("a stored attempt"))
        .collect::<anyhow::Result<_>>()?;
    let summary = report(&attempts, &campaign.goals, 0.95);
    let findings = attempts.iter().filter(|a| a.success).count();
    if args.json {
        let out = json!({
            "campaign": row.id,
            "target": target_name,
            "attacker": attacker.model,
            "judge": judge.model,
            "judge_agreement": judge_agreement,
            "report": summary,
            "findings": findings,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!(
            "{}",
            render_report(&row.id, &target_name, &judge.model, &summary, findings)
        );
        println!("{}", judge_line(&judge.model, judge_agreement.as_ref()));
    }
    Ok(match args.max_success_rate {
        Some(max) if summary.overall.rate > max => exit::GATE_FAILED,
        _ => exit::OK,
    })
}

/// Stores an attempt, and a finding when it succeeded (grouped with near-duplicates).
fn record(
    store: &Store,
    campaign_id: &str,
    target: &str,
    severity: &str,
    goal: &Goal,
    attempt: &Attempt,
) -> anyhow::Result<()> {
    store.put_attempt(
        campaign_id,
        &AttemptRow {
            goal_id: attempt.goal_id.clone(),
            attack: attempt.attack.clone(),
            category: goal.category.clone(),
            success: attempt.success,
            queries: u64::from(attempt.queries),
            tokens: attempt.tokens,
            record_json: serde_json::to_string(attempt)?,
        },
    )?;
    let Some(success) = &attempt.succeeded_with else {
        return Ok(());
    };
    let prompt = success
        .messages
        .last()
        .map(|m| m.content.as_str())
        .unwrap_or_default();
    let group_id = group_for(store, &finding_text(&goal.goal, prompt, &success.reply))?;
    store.add_finding(&NewFinding {
        campaign_id: Some(campaign_id.to_string()),
        goal_id: goal.id.clone(),
        goal: goal.goal.clone(),
        category: goal.category.clone(),
        attack: attempt.attack.clone(),
        target: target.to_string(),
        messages_json: serde_json::to_string(&success.messages)?,
        reply: success.reply.clone(),
        rating: Some(success.rating),
        judge_reason: Some(success.judge_reason.clone()),
        severity: severity.to_string(),
        submitter: format!("campaign {campaign_id}"),
        group_id,
    })?;
    Ok(())
}

/// The group of the most similar earlier finding, if near enough: by the cosine of MiniLM
/// sentence embeddings when the encoder is present (`scripts/fetch-models.sh`), else by
/// word-trigram overlap.
pub fn group_for(store: &Store, text: &str) -> anyhow::Result<Option<String>> {
    let earlier = store.findings(None)?;
    let texts: Vec<(String, String)> = earlier
        .iter()
        .map(|f| {
            let prompt = f
                .messages
                .as_array()
                .and_then(|m| m.last())
                .and_then(|m| m.get("content"))
                .and_then(|c| c.as_str())
                .unwrap_or_default();
            (f.id.clone(), finding_text(&f.goal, prompt, &f.reply))
        })
        .collect();
    if let Some(encoder) = encoder() {
        let similarities = embedding_similarities(encoder, text, &texts)?;
        tracing::debug!(?similarities, "finding similarity (MiniLM cosine)");
        let scored = earlier
            .iter()
            .zip(similarities)
            .map(|(f, s)| (f.group_id.as_str(), f64::from(s)));
        return Ok(join_group(scored, f64::from(EMBEDDING_THRESHOLD)).map(str::to_string));
    }
    let scored = earlier
        .iter()
        .zip(&texts)
        .map(|(f, (_, t))| (f.group_id.as_str(), text_similarity(text, t)));
    Ok(join_group(scored, TEXT_THRESHOLD).map(str::to_string))
}

/// The MiniLM encoder, loaded once per process; `None` when its files are absent (or
/// `REDLINE_DEDUP=text` asks for text similarity).
fn encoder() -> Option<&'static SentenceEncoder> {
    static ENCODER: OnceLock<Option<SentenceEncoder>> = OnceLock::new();
    ENCODER
        .get_or_init(|| {
            if std::env::var("REDLINE_DEDUP").is_ok_and(|v| v == "text") {
                return None;
            }
            SentenceEncoder::load(&redline_local::default_encoder_dir()).ok()
        })
        .as_ref()
}

/// Cosines between `text` and each earlier finding's text. Earlier findings' embeddings are
/// kept per finding id for the life of the process: a campaign compares every success with
/// all findings so far.
fn embedding_similarities(
    encoder: &SentenceEncoder,
    text: &str,
    earlier: &[(String, String)],
) -> anyhow::Result<Vec<f32>> {
    static CACHE: Mutex<Option<HashMap<String, Vec<f32>>>> = Mutex::new(None);
    let mut guard = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    let cache = guard.get_or_insert_with(HashMap::new);
    let missing: Vec<&(String, String)> = earlier.iter().filter(|(id, _)| !cache.contains_key(id)).collect();
    for chunk in missing.chunks(32) {
        let vectors = encoder.embed(&chunk.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>())?;
        for ((id, _), v) in chunk.iter().zip(vectors) {
            cache.insert(id.clone(), v);
        }
    }
    let new = encoder.embed(&[text])?.pop().unwrap_or_default();
    Ok(earlier.iter().map(|(id, _)| cosine(&new, &cache[id])).collect())
}

fn progress_bar(total: u64, done: u64, quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} attempts {elapsed}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix("redteam");
    bar.set_position(done);
    bar
}

/// What the report says of its judge: measured agreement, or that it was not measured.
fn judge_line(judge: &str, agreement: Option<&redline_redteam::judge_check::JudgeAgreement>) -> String {
    match agreement {
        Some(a) => format!(
            "judge {judge}: agreement {:.1}% (Cohen's kappa {:.2}) with {} labelled replies in {}{}",
            100.0 * a.agreement.accuracy,
            a.agreement.kappa,
            a.n,
            a.labels_file,
            if a.unreadable > 0 {
                format!(", {} verdicts unreadable", a.unreadable)
            } else {
                String::new()
            }
        ),
        None => format!("judge {judge}: agreement not measured (pass --judge-labels FILE to measure it)"),
    }
}

fn render_report(id: &str, target: &str, judge: &str, r: &CampaignReport, findings: usize) -> String {
    let pct = |x: f64| format!("{:.1}%", 100.0 * x);
    let mut out = format!("campaign {id}: target {target}, judge {judge}\n\n");
    out.push_str(&format!(
        "{:<22} {:>9} {:>9} {:>8}  {:<17} {:>8} {:>10}\n",
        "attack", "attempts", "successes", "ASR", "95% CI", "queries", "tokens"
    ));
    let rows = r.by_attack.iter().chain(std::iter::once(&r.overall));
    for row in rows {
        out.push_str(&format!(
            "{:<22} {:>9} {:>9} {:>8}  [{:>6}, {:>6}] {:>8} {:>10}{}\n",
            row.name,
            row.attempts,
            row.successes,
            pct(row.rate),
            pct(row.low),
            pct(row.high),
            row.target_queries,
            row.tokens,
            if row.errored > 0 {
                format!("  ({} errored)", row.errored)
            } else {
                String::new()
            }
        ));
    }
    out.push_str("\nby category\n");
    for row in &r.by_category {
        out.push_str(&format!(
            "  {:<20} {:>3}/{:<3} {:>8}  [{}, {}]\n",
            row.name,
            row.successes,
            row.attempts,
            pct(row.rate),
            pct(row.low),
            pct(row.high)
        ));
    }
    if !r.queries_to_success.is_empty() {
        out.push_str("\nqueries to success\n");
        for q in &r.queries_to_success {
            let hist: Vec<String> = q
                .histogram
                .iter()
                .filter(|(_, c)| *c > 0)
                .map(|(b, c)| format!("{b}: {c}"))
                .collect();
            out.push_str(&format!(
                "  {:<20} median {:.1}, p90 {:.1}, max {} ({})\n",
                q.attack,
                q.median,
                q.p90,
                q.max,
                hist.join(", ")
            ));
        }
    }
    if r.unreadable_verdicts > 0 {
        out.push_str(&format!(
            "\n{} judge verdicts could not be read (never counted as ratings)\n",
            r.unreadable_verdicts
        ));
    }
    out.push_str(&format!(
        "\n{findings} findings stored (see `redline findings list`)\n"
    ));
    out
}
