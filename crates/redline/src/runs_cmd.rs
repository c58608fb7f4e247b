//! `redline runs`: list, show, export.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use redline_core::Reducer;
use redline_store::{RunRow, Store};
use serde_json::json;

use crate::exit;
use crate::text;

#[derive(Subcommand)]
pub enum RunsCommand {
    /// The newest runs first.
    List {
        /// How many runs to show.
        #[arg(long, default_value_t = 20)]
        limit: u64,
        #[arg(long)]
        json: bool,
    },
    /// One run: settings, hashes, metrics with intervals, usage, errors.
    Show {
        /// Run id or a unique prefix of it.
        run_id: String,
        /// Also list every sample (id, epoch, scores, output preview, error).
        #[arg(long)]
        samples: bool,
        #[arg(long)]
        json: bool,
    },
    /// Write every sample of a run (full transcripts and scores) for other tools.
    Export {
        run_id: String,
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
        /// Output file (default: stdout).
        #[arg(long, short = 'o')]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per sample × epoch, in dataset order.
    Jsonl,
}

pub fn run(cmd: RunsCommand, store_path: &Path) -> anyhow::Result<u8> {
    let store = Store::open(store_path)?;
    match cmd {
        RunsCommand::List { limit, json } => list(&store, limit, json)?,
        RunsCommand::Show {
            run_id,
            samples,
            json,
        } => show(&store, &run_id, samples, json)?,
        RunsCommand::Export {
            run_id,
            format: ExportFormat::Jsonl,
            out,
        } => export(&store, &run_id, out.as_deref())?,
    }
    Ok(exit::OK)
}

fn headline(run: &RunRow) -> String {
    run.metrics
        .as_ref()
        .and_then(|m| m.as_array())
        .and_then(|m| m.first())
        .map(|m| {
            format!(
                "{} {} {:.3} [{:.3}, {:.3}] n={}",
                m["scorer"].as_str().unwrap_or("?"),
                m["reducer"].as_str().unwrap_or("?"),
                m["value"].as_f64().unwrap_or(f64::NAN),
                m["ci_low"].as_f64().unwrap_or(f64::NAN),
                m["ci_high"].as_f64().unwrap_or(f64::NAN),
                m["n"].as_u64().unwrap_or(0)
            )
        })
        .unwrap_or_default()
}

fn list(store: &Store, limit: u64, json: bool) -> anyhow::Result<()> {
    let runs = store.list_runs(limit)?;
    if json {
        println!("{}", serde_json::to_string(&runs)?);
        return Ok(());
    }
    if runs.is_empty() {
        println!(
            "no runs yet in {} (start one with `redline eval`)",
            store.path().display()
        );
        return Ok(());
    }
    println!(
        "{:<12}  {:<20}  {:<24}  {:<28}  {:<11}  {:>13}  {:>6}  HEADLINE",
        "ID", "CREATED", "EVAL", "MODEL", "STATUS", "DONE", "ERRORS"
    );
    for r in runs {
        println!(
            "{:<12}  {:<20}  {:<24}  {:<28}  {:<11}  {:>13}  {:>6}  {}",
            r.id,
            r.created_at.get(..19).unwrap_or(&r.created_at).replace('T', " "),
            format!("{}@{}", r.eval_id, r.eval_version),
            r.model,
            r.status.as_str(),
            format!("{}/{}", r.completed, r.planned),
            r.errored,
            headline(&r)
        );
    }
    Ok(())
}

fn reducers_of(run: &RunRow) -> Vec<Reducer> {
    serde_json::from_value(run.settings["reducers"].clone()).unwrap_or_else(|_| vec![Reducer::Mean])
}

fn show(store: &Store, run_id: &str, samples: bool, json: bool) -> anyhow::Result<()> {
    let run = store.get_run(run_id)?;
    let metrics = store.run_metrics(&run.id, &reducers_of(&run), 0.95)?;
    let group_fields: Vec<String> =
        serde_json::from_value(run.settings["group_by"].clone()).unwrap_or_default();
    let by_group = crate::run_report::grouped_metrics(store, &run.id, &reducers_of(&run), &group_fields)?;
    let usage = store.usage_totals(&run.id)?;
    let errors = store.error_counts(&run.id)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if json {
        // Streamed by hand so that --samples never holds a whole run in memory.
        let head = json!({
            "run": run, "metrics": metrics, "usage": usage,
            "metrics_by_group": crate::run_report::by_group_json(&by_group),
            "labels": crate::run_report::label_report(store, &run)?,
            "errors": errors.iter().map(|(k, n)| json!({"kind": k, "count": n})).collect::<Vec<_>>(),
        });
        let head = head.to_string();
        if !samples {
            writeln!(out, "{head}")?;
            return Ok(out.flush()?);
        }
        write!(out, "{},\"samples\":[", &head[..head.len() - 1])?;
        let mut first = true;
        store.for_each_sample(&run.id, |s| {
            let sep = if first { "" } else { "," };
            first = false;
            write!(out, "{sep}{}", serde_json::to_string(&s).unwrap_or_default()).map_err(io_to_store)
        })?;
        writeln!(out, "]}}")?;
        return Ok(out.flush()?);
    }
    writeln!(out, "run          {}", run.id)?;
    writeln!(
        out,
        "eval         {}@{}  ({}, sha256 {})",
        run.eval_id,
        run.eval_version,
        run.eval_path,
        &run.eval_sha256[..12]
    )?;
    writeln!(
        out,
        "dataset      {}  (sha256 {})",
        run.dataset_path,
        &run.dataset_sha256[..12]
    )?;
    writeln!(
        out,
        "model        {}  {}",
        run.model,
        run.base_url.as_deref().unwrap_or("")
    )?;
    writeln!(
        out,
        "status       {}{}",
        run.status,
        run.message
            .as_deref()
            .map(|m| format!(" ({m})"))
            .unwrap_or_default()
    )?;
    writeln!(out, "settings     {}", run.settings)?;
    writeln!(
        out,
        "created      {}   wall {}   redline {}",
        run.created_at,
        text::duration_ms(run.wall_ms),
        run.redline_version
    )?;
    writeln!(
        out,
        "samples      {}/{} done, {} errored",
        run.completed, run.planned, run.errored
    )?;
    writeln!(
        out,
        "usage        {} tokens in, {} out · {} retries · {} cache hits · mean latency {:.0} ms",
        usage.input_tokens, usage.output_tokens, usage.retries, usage.cache_hits, usage.mean_latency_ms
    )?;
    if usage.unscored > 0 {
        writeln!(
            out,
            "unscored     {} scorer verdicts could not be read (counted, not scored as 0; see --samples)",
            usage.unscored
        )?;
    }
    for (kind, n) in &errors {
        writeln!(out, "errors       {n} × {kind}")?;
    }
    writeln!(out, "metrics")?;
    for m in &metrics {
        writeln!(
            out,
            "  {:<12} {:<8} {}",
            m.scorer,
            m.reducer,
            text::estimate(&m.estimate)
        )?;
    }
    write!(out, "{}", crate::run_report::by_group_text(&by_group))?;
    write!(
        out,
        "{}",
        crate::run_report::label_report_text(&crate::run_report::label_report(store, &run)?)
    )?;
    if samples {
        writeln!(out, "samples")?;
        store.for_each_sample(&run.id, |s| {
            let scores: Vec<String> = s
                .scores
                .iter()
                .map(|x| format!("{}={}", x.scorer, x.value))
                .collect();
            let body = match (&s.error, s.output()) {
                (Some(e), _) => format!(
                    "ERROR {}: {}",
                    e.kind.as_str(),
                    text::safe_preview(&e.message, 100)
                ),
                (None, Some(o)) => text::safe_preview(o, 80),
                (None, None) => String::new(),
            };
            // Agent samples: how the loop ended, before the submission.
            let body = match &s.agent {
                Some(a) => format!(
                    "[{} tool calls, {}] {body}",
                    a.tool_calls,
                    a.limit
                        .map_or(if a.submitted { "submitted" } else { "ended" }, |l| l.as_str())
                ),
                None => body,
            };
            writeln!(
                out,
                "  {:<10} e{:<2} {:<16} {}",
                text::safe_preview(&s.sample_id, 10),
                s.epoch,
                scores.join(" "),
                body
            )
            .map_err(io_to_store)
        })?;
    }
    Ok(out.flush()?)
}

pub fn export(store: &Store, run_id: &str, out: Option<&Path>) -> anyhow::Result<()> {
    let run = store.get_run(run_id)?;
    let sink: Box<dyn Write> = match out {
        Some(p) => {
            Box::new(std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut sink = BufWriter::new(sink);
    store.for_each_sample(&run.id, |s| {
        let mut v =
            serde_json::to_value(&s).map_err(|e| redline_store::StoreError::Corrupt(e.to_string()))?;
        v["run_id"] = json!(run.id);
        writeln!(sink, "{v}").map_err(io_to_store)
    })?;
    sink.flush()?;
    Ok(())
}

fn io_to_store(e: std::io::Error) -> redline_store::StoreError {
    redline_store::StoreError::Io {
        path: PathBuf::from("<output>"),
        source: e,
    }
}
