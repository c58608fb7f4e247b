//! `redline tasks RUN`: an agent run over task folders, by task length: success per band of
//! human minutes and of steps (the degradation curves), the limits that ended samples, and the
//! 50% / 80% time horizons fitted as METR does.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::bail;
use clap::Args;
use redline_core::agentic::{by_minutes, by_steps, Bucket, TaskAttempt};
use redline_core::time_horizon::{bootstrap_horizon, fit_horizon, HorizonRun, Weighting};
use redline_store::Store;
use serde_json::json;

use crate::exit;

#[derive(Args)]
#[command(
    after_help = "Example: redline eval suites/autonomy --model M --epochs 3 && redline tasks <RUN> --bootstrap 1000\n\
A task counts as solved when its `task` score is at least 0.5."
)]
pub struct TasksArgs {
    /// The run (an id or a unique prefix) of an eval with `[solver] kind = "agent"` over task folders.
    pub run: String,
    /// L2 penalty on the horizon fit's slope.
    #[arg(long, default_value_t = 0.1)]
    pub lambda: f64,
    /// Bootstrap replicates for the horizons' 95% intervals (0: none).
    #[arg(long, default_value_t = 0)]
    pub bootstrap: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: TasksArgs, store_path: &Path) -> anyhow::Result<u8> {
    let store = Store::open(store_path)?;
    let run = store.get_run(&args.run)?;
    let mut attempts = Vec::new();
    let mut horizon_runs = Vec::new();
    let mut limits: BTreeMap<String, u64> = BTreeMap::new();
    let (mut errored, mut tool_calls, mut submitted) = (0u64, 0u64, 0u64);
    store.for_each_sample(&run.id, |r| {
        let Some(trace) = &r.agent else {
            errored += 1;
            return Ok(());
        };
        let Some(task) = &trace.task else { return Ok(()) };
        let Some(score) = r.scores.iter().find(|s| s.scorer == "task") else {
            return Ok(());
        };
        let success = score.value >= 0.5;
        *limits
            .entry(trace.limit.map_or("none".into(), |l| l.as_str().to_string()))
            .or_default() += 1;
        tool_calls += u64::from(trace.tool_calls);
        submitted += u64::from(trace.submitted);
        attempts.push(TaskAttempt {
            human_minutes: task.human_minutes,
            steps: task.steps,
            success,
        });
        horizon_runs.push(HorizonRun {
            task_id: r.sample_id.clone(),
            task_family: task.family.clone(),
            human_minutes: task.human_minutes,
            success,
            weight: None,
        });
        Ok(())
    })?;
    if attempts.is_empty() {
        bail!(
            "run {} has no scored agent task samples: `redline tasks` reads runs of an eval with [solver] kind = \"agent\" over task folders and a `task` scorer",
            run.id
        );
    }
    let minutes = by_minutes(&attempts, 0.95);
    let steps = by_steps(&attempts, 0.95);
    let horizon = fit_horizon(&horizon_runs, Weighting::InvSqrtFamily, args.lambda);
    let interval = match (&horizon, args.bootstrap) {
        (Ok(_), b) if b > 0 => Some(bootstrap_horizon(
            &horizon_runs,
            Weighting::InvSqrtFamily,
            args.lambda,
            b,
            0.95,
            args.seed,
        )?),
        _ => None,
    };
    let n = attempts.len() as u64;
    let solved = attempts.iter().filter(|a| a.success).count() as u64;
    if args.json {
        let out = json!({
            "run": run.id,
            "eval": format!("{}@{}", run.eval_id, run.eval_version),
            "model": run.model,
            "attempts": n,
            "solved": solved,
            "success_rate": solved as f64 / n as f64,
            "success_interval": redline_core::stats::wilson(solved as f64, n, 0.95),
            "errored": errored,
            "submitted": submitted,
            "mean_tool_calls": tool_calls as f64 / n as f64,
            "ended_by_limit": limits,
            "by_human_minutes": minutes,
            "by_steps": steps,
            "horizon": horizon.as_ref().ok(),
            "horizon_error": horizon.as_ref().err().map(|e| e.to_string()),
            "horizon_interval": interval,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(exit::OK);
    }
    let (lo, hi) = redline_core::stats::wilson(solved as f64, n, 0.95);
    println!(
        "run {}  {}@{}  model {}",
        run.id, run.eval_id, run.eval_version, run.model
    );
    println!(
        "solved {solved}/{n} = {:.1}% [95% CI {:.1}, {:.1}]; submitted {submitted}; errored {errored}; mean tool calls {:.1}",
        100.0 * solved as f64 / n as f64,
        100.0 * lo,
        100.0 * hi,
        tool_calls as f64 / n as f64
    );
    let ended: Vec<String> = limits.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!("ended by limit: {}", ended.join(", "));
    print_bands("human time", &minutes);
    print_bands("steps", &steps);
    match &horizon {
        Ok(h) => {
            let ci = |p: Option<(f64, f64)>| {
                p.map(|(a, b)| format!(" [95% CI {a:.1}, {b:.1}]"))
                    .unwrap_or_default()
            };
            println!(
                "time horizon: 50% at {:.1} min{}, 80% at {:.1} min{} ({} tasks)",
                h.p50_minutes,
                ci(interval.as_ref().map(|i| i.p50)),
                h.p80_minutes,
                ci(interval.as_ref().map(|i| i.p80)),
                h.n_tasks
            );
        }
        Err(e) => println!("time horizon: none ({e})"),
    }
    if n < 30 {
        println!("note: {n} attempts; bands and horizons this small are indicative only");
    }
    Ok(exit::OK)
}

fn print_bands(title: &str, bands: &[Bucket]) {
    if bands.is_empty() {
        return;
    }
    println!("\nsuccess by {title}:");
    println!("  {:<14} {:>5} {:>8}  95% CI", "BAND", "N", "SUCCESS");
    for b in bands {
        println!(
            "  {:<14} {:>5} {:>7.1}%  [{:.1}, {:.1}]",
            b.label,
            b.n,
            100.0 * b.rate,
            100.0 * b.interval.0,
            100.0 * b.interval.1
        );
    }
}
