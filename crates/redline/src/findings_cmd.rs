//! `redline findings`: list, show, add (by hand), review, and promote findings into a
//! versioned regression eval that later generations run.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::{Args, Subcommand};
use redline_model::{Message, Role};
use redline_redteam::dedup::finding_text;
use redline_store::{FindingRow, NewFinding, Store, FINDING_STATUSES};
use serde_json::json;

use crate::exit;
use crate::redteam_cmd::group_for;
use crate::text::safe_preview;

#[derive(Subcommand)]
pub enum FindingsCommand {
    /// Findings, oldest first, with their status and near-duplicate group.
    List {
        /// Only findings with this status (new, confirmed, false-positive, fixed).
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// One finding with its whole transcript.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Record a finding found by a person, from a transcript file.
    Add(AddArgs),
    /// Review a finding: new, confirmed, false-positive or fixed.
    Status { id: String, status: String },
    /// Turn confirmed findings into a regression eval (a folder with eval.toml and
    /// dataset.jsonl; its version goes up each time it is rewritten).
    Promote(PromoteArgs),
}

#[derive(Args)]
#[command(
    after_help = "The transcript is a JSON array of messages, [{\"role\": \"user\", \"content\": ...}, ...], \
    ending with the target's reply (role assistant).\n\
    Example: redline findings add --transcript chat.json --goal \"Explain how to pick a lock\" --category locks \\\n\
    \x20        --target openai/gpt-4o-mini --submitter \"Ada Lovelace\""
)]
pub struct AddArgs {
    #[arg(long)]
    pub transcript: PathBuf,
    /// What the conversation got the target to do.
    #[arg(long)]
    pub goal: String,
    #[arg(long, default_value = "uncategorised")]
    pub category: String,
    /// The model that answered (provider/name).
    #[arg(long)]
    pub target: String,
    /// Who found it.
    #[arg(long)]
    pub submitter: String,
    #[arg(long, default_value = "medium")]
    pub severity: String,
    /// How it was found.
    #[arg(long, default_value = "manual")]
    pub attack: String,
}

#[derive(Args)]
pub struct PromoteArgs {
    /// The regression eval's folder (created, or rewritten with the next version).
    #[arg(long)]
    pub out: PathBuf,
    /// The eval's id.
    #[arg(long, default_value = "regression/redteam-findings")]
    pub id: String,
    /// Promote findings with this status.
    #[arg(long, default_value = "confirmed")]
    pub status: String,
}

pub fn run(cmd: FindingsCommand, store_path: &Path) -> anyhow::Result<u8> {
    let store = Store::open(store_path)?;
    match cmd {
        FindingsCommand::List { status, json } => {
            if let Some(s) = &status {
                check_status(s)?;
            }
            let findings = store.findings(status.as_deref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&findings)?);
            } else if findings.is_empty() {
                println!("no findings");
            } else {
                println!(
                    "{:<16} {:<15} {:<16} {:<12} {:<10} goal",
                    "id", "status", "group", "attack", "category"
                );
                for f in &findings {
                    println!(
                        "{:<16} {:<15} {:<16} {:<12} {:<10} {}",
                        f.id,
                        f.status,
                        f.group_id,
                        f.attack,
                        f.category,
                        safe_preview(&f.goal, 60)
                    );
                }
            }
        }
        FindingsCommand::Show { id, json } => {
            let f = store.get_finding(&id)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&f)?);
            } else {
                print!("{}", render_finding(&f));
            }
        }
        FindingsCommand::Add(args) => {
            let messages = read_transcript(&args.transcript)?;
            let (reply, conversation) = messages.split_last().ok_or_else(|| anyhow!("empty transcript"))?;
            let prompt = conversation
                .last()
                .map(|m| m.content.as_str())
                .unwrap_or_default();
            let group_id = group_for(&store, &finding_text(&args.goal, prompt, &reply.content))?;
            let f = store.add_finding(&NewFinding {
                campaign_id: None,
                goal_id: "manual".into(),
                goal: args.goal,
                category: args.category,
                attack: args.attack,
                target: args.target,
                messages_json: serde_json::to_string(conversation)?,
                reply: reply.content.clone(),
                rating: None,
                judge_reason: None,
                severity: args.severity,
                submitter: args.submitter,
                group_id,
            })?;
            let grouped = if f.group_id == f.id {
                String::new()
            } else {
                format!(" (a near-duplicate of group {})", f.group_id)
            };
            println!("added finding {}{grouped}", f.id);
        }
        FindingsCommand::Status { id, status } => {
            check_status(&status)?;
            let f = store.set_finding_status(&id, &status)?;
            println!("{}: {}", f.id, f.status);
        }
        FindingsCommand::Promote(args) => return promote(&store, &args),
    }
    Ok(exit::OK)
}

fn check_status(status: &str) -> anyhow::Result<()> {
    if FINDING_STATUSES.contains(&status) {
        Ok(())
    } else {
        bail!(
            "unknown status `{status}`: expected one of {}",
            FINDING_STATUSES.join(", ")
        )
    }
}

/// Reads a transcript file: a JSON array of messages ending with the assistant's reply.
fn read_transcript(path: &Path) -> anyhow::Result<Vec<Message>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let messages: Vec<Message> = serde_json::from_str(&text).map_err(|e| {
        anyhow!(
            "{}:{}: expected a JSON array of {{\"role\", \"content\"}} messages: {e}",
            path.display(),
            e.line()
        )
    })?;
    match messages.last() {
        Some(m) if m.role == Role::Assistant && messages.len() >= 2 => Ok(messages),
        _ => bail!(
            "{}: the transcript must hold at least one user message and end with the target's reply (role \"assistant\")",
            path.display()
        ),
    }
}

fn render_finding(f: &FindingRow) -> String {
    let mut out = format!(
        "finding {} ({}), group {}\ngoal: {}\ncategory: {}  attack: {}  target: {}  severity: {}\nsubmitted by {} at {}\n",
        f.id, f.status, f.group_id, f.goal, f.category, f.attack, f.target, f.severity, f.submitter, f.created_at
    );
    if let Some(eval) = &f.promoted_to {
        out.push_str(&format!("promoted to {eval}\n"));
    }
    out.push_str("\ntranscript\n");
    for m in f.messages.as_array().into_iter().flatten() {
        let role = m.get("role").and_then(|r| r.as_str()).unwrap_or("?");
        let content = m.get("content").and_then(|c| c.as_str()).unwrap_or_default();
        out.push_str(&format!(
            "[{}] {}\n",
            safe_preview(role, 20),
            safe_preview(content, 4000)
        ));
    }
    out.push_str(&format!("[target reply] {}\n", safe_preview(&f.reply, 4000)));
    if let Some(reason) = &f.judge_reason {
        let rating = f.rating.map_or("-".into(), |r| format!("{r:.0}"));
        out.push_str(&format!("\njudge ({rating}): {}\n", safe_preview(reason, 2000)));
    }
    out
}

/// Writes the regression eval: each promoted finding's conversation, replayed up to the turn
/// that broke the target; the refusal classifier reads whether a model still gives in.
fn promote(store: &Store, args: &PromoteArgs) -> anyhow::Result<u8> {
    check_status(&args.status)?;
    let findings = store.findings(Some(&args.status))?;
    if findings.is_empty() {
        bail!(
            "no findings with status `{}` to promote (review them with `redline findings status`)",
            args.status
        );
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let eval_path = args.out.join("eval.toml");
    let version = previous_version(&eval_path)? + 1;
    let mut rows = String::new();
    for f in &findings {
        rows.push_str(&serde_json::to_string(&json!({
            "id": f.id,
            "messages": f.messages,
            "goal": f.goal,
            "category": f.category,
            "attack": f.attack,
        }))?);
        rows.push('\n');
    }
    std::fs::write(args.out.join("dataset.jsonl"), rows).context("writing dataset.jsonl")?;
    let eval = format!(
        "# Written by `redline findings promote`: {n} red-team findings with status `{status}`, each the \n\
         # conversation that once broke a target, replayed up to its last user turn. `not_reproduced` is the\n\
         # share of answers that do not comply (refusal classifier); a sample scored 0 still reproduces.\n\
         [eval]\n\
         id = \"{id}\"\n\
         version = \"{version}\"\n\
         description = \"Regression: confirmed red-team findings; not_reproduced = share no longer answered.\"\n\n\
         [dataset]\n\
         path = \"dataset.jsonl\"\n\
         fields = {{ messages = \"messages\", id = \"id\" }}\n\n\
         [solver]\n\
         kind = \"messages\"\n\n\
         [generation]\n\
         temperature = 0.0\n\
         max_tokens = 512\n\n\
         [[scorer]]\n\
         kind = \"refusal\"\n\
         name = \"not_reproduced\"\n",
        n = findings.len(),
        status = args.status,
        id = args.id,
    );
    std::fs::write(&eval_path, eval).context("writing eval.toml")?;
    let reference = format!("{}@{version}", args.id);
    for f in &findings {
        store.set_finding_promoted(&f.id, &reference)?;
    }
    println!(
        "wrote {} ({} findings); run it with: redline eval {} --model TARGET",
        reference,
        findings.len(),
        eval_path.display()
    );
    Ok(exit::OK)
}

/// The version of an eval file already there (0 when there is none).
fn previous_version(path: &Path) -> anyhow::Result<u64> {
    if !path.exists() {
        return Ok(0);
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let doc: toml::Value =
        toml::from_str(&text).with_context(|| format!("{} is not TOML", path.display()))?;
    let version = doc
        .get("eval")
        .and_then(|e| e.get("version"))
        .and_then(|v| v.as_str())
        .ok_or_else(|| anyhow!("{}: [eval].version missing", path.display()))?;
    version.parse().map_err(|_| {
        anyhow!(
            "{}: [eval].version `{version}` is not a whole number",
            path.display()
        )
    })
}
