//! `redline assess`, `redline scorecard`, `redline determine`: a framework applied to a pre-
//! and a post-mitigation target, scorecards, gates and human determinations.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use redline_core::framework::{parse_framework, Framework, Indicator, State, PRESETS};
use redline_core::scorecard::{
    decide_gate, scorecard, Determination, GateOutcome, GateResult, Observation, Scorecard, SettledThreshold,
    TargetEvidence,
};
use redline_core::Reducer;
use redline_eval::{EarlyStop, Eval, SequentialReport, Suite};
use redline_store::{AssessmentRow, NewAssessment, Store};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::eval_cmd::{execute, EndpointArgs, ExecEnv, RunOptions};
use crate::exit;
use crate::render;
use crate::target::{judge_endpoint, Target};

#[derive(Args)]
#[command(after_help = "Example:\n  \
    redline assess --framework openai-preparedness-v1 --suite suites/examples \\\n    \
    --pre openai-compatible/my-model --post openai-compatible/my-model+safety-prompt+moderation \\\n    \
    --judge openai-compatible/my-judge --base-url http://127.0.0.1:8000/v1\n\n\
    Exit codes: 0 every gate passes; 4 a gate fails; 5 insufficient evidence (a required eval is missing\n\
    or too small); 6 a verdict is inconclusive and needs review; 1 error.")]
pub struct AssessArgs {
    /// A shipped framework id (see `redline frameworks list`) or a framework file.
    #[arg(long)]
    pub framework: String,
    /// The pre-mitigation target: provider/name, optionally +safety-prompt / +moderation, or a target file.
    #[arg(long)]
    pub pre: String,
    /// The post-mitigation target, in the same forms.
    #[arg(long)]
    pub post: String,
    /// The suite to run on both targets: a suite file or a folder holding suite.toml.
    #[arg(long)]
    pub suite: PathBuf,
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    #[command(flatten)]
    pub options: RunOptions,
    /// Print the scorecard as JSON.
    #[arg(long)]
    pub json: bool,
    /// No progress output.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Args)]
pub struct ScorecardArgs {
    /// The assessment id (or a unique prefix).
    pub assessment: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct DetermineArgs {
    /// The assessment id (or a unique prefix).
    pub assessment: String,
    /// The category whose level is determined.
    #[arg(long)]
    pub category: String,
    /// The level decided, one of the framework's levels.
    #[arg(long)]
    pub level: String,
    /// Which scorecard the determination applies to.
    #[arg(long, value_enum, default_value_t = StateArg::Post)]
    pub state: StateArg,
    /// Who decided.
    #[arg(long)]
    pub by: String,
    /// Why: required, and shown on every scorecard from now on.
    #[arg(long)]
    pub rationale: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum StateArg {
    Pre,
    Post,
}

impl StateArg {
    fn state(self) -> State {
        match self {
            StateArg::Pre => State::Pre,
            StateArg::Post => State::Post,
        }
    }
}

pub fn state_name(s: State) -> &'static str {
    match s {
        State::Pre => "pre",
        State::Post => "post",
    }
}

/// The framework text and the name to show for it.
fn framework_source(spec: &str) -> anyhow::Result<(String, String)> {
    if let Some((id, text)) = PRESETS.iter().find(|(id, _)| *id == spec) {
        return Ok((text.to_string(), format!("frameworks/{id}.toml")));
    }
    let text = std::fs::read_to_string(spec).with_context(|| {
        let ids: Vec<&str> = PRESETS.iter().map(|(id, _)| *id).collect();
        format!(
            "`{spec}` is neither a shipped framework ({}) nor a readable file",
            ids.join(", ")
        )
    })?;
    Ok((text, spec.to_string()))
}

pub fn assess(args: AssessArgs, store_path: &Path) -> anyhow::Result<u8> {
    match run_assessment(&args, store_path)? {
        Ran::Done(assessment) => show(&Store::open(store_path)?, &assessment, args.json),
        Ran::Interrupted => Ok(exit::INTERRUPTED),
    }
}

/// How an assessment's runs ended.
pub enum Ran {
    Done(Box<AssessmentRow>),
    Interrupted,
}

/// Creates the assessment and runs the suite on the pre- then the post-mitigation target.
pub fn run_assessment(args: &AssessArgs, store_path: &Path) -> anyhow::Result<Ran> {
    let (text, file) = framework_source(&args.framework)?;
    let fw = parse_framework(&text, &file)?;
    let suite = Suite::load(&args.suite)?;
    let defaults = args.endpoint.defaults();
    let pre = Target::parse(&args.pre, &defaults).context("--pre")?;
    let post = Target::parse(&args.post, &defaults).context("--post")?;
    // Every eval file must load before any model is called.
    for e in &suite.evals {
        Eval::load(e)?;
    }
    let store = Store::open(store_path)?;
    let assessment = store.create_assessment(&NewAssessment {
        framework_id: fw.id.clone(),
        framework_version: fw.version.clone(),
        framework_sha256: Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        framework_text: text.clone(),
        framework_file: file,
        pre_target_json: serde_json::to_string(&pre)?,
        post_target_json: serde_json::to_string(&post)?,
        suite: suite.path.display().to_string(),
    })?;
    let visible = !(args.quiet || args.json);
    if visible {
        eprintln!(
            "assessment {} · {} {} · suite {} ({} evals)",
            assessment.id,
            fw.id,
            fw.version,
            suite.id,
            suite.evals.len()
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let ctx = ExecEnv {
        store_path,
        visible,
        judge: judge_endpoint(&defaults),
    };
    for (state, target) in [(State::Pre, &pre), (State::Post, &post)] {
        for eval_path in &suite.evals {
            let done = runtime.block_on(execute(
                eval_path,
                target,
                &args.options,
                None,
                &ctx,
                early_stop(&fw, eval_path, &args.options)?,
            ))?;
            let eval = format!("{}@{}", done.run.eval_id, done.run.eval_version);
            store.link_run(&assessment.id, state_name(state), &eval, &done.run.id)?;
            if visible {
                eprintln!(
                    "  {:<4} {:<28} run {} {}",
                    state_name(state),
                    eval,
                    done.run.id,
                    done.run.status
                );
            }
            if done.code == exit::INTERRUPTED {
                eprintln!("stopped: resume with the same command");
                return Ok(Ran::Interrupted);
            }
        }
    }
    Ok(Ran::Done(Box::new(assessment)))
}

/// The sequential tests of every indicator that reads `eval_path` and asks for sequential
/// sampling. Only for single-epoch runs: repeated epochs of one sample are not independent.
fn early_stop(fw: &Framework, eval_path: &Path, options: &RunOptions) -> anyhow::Result<Option<EarlyStop>> {
    let eval = Eval::load(eval_path)?;
    let qualified = eval.qualified_id();
    let indicators: Vec<&Indicator> = fw
        .categories
        .iter()
        .flat_map(|c| &c.indicators)
        .filter(|i| i.eval == qualified && i.sequential.is_some())
        .collect();
    if indicators.is_empty() {
        return Ok(None);
    }
    if options.epochs.unwrap_or(eval.spec.run.epochs) != 1 {
        eprintln!("note: {qualified}: sequential sampling needs one epoch per sample; sampling everything");
        return Ok(None);
    }
    let scorer = eval.scorers.first().map(|s| s.name.clone()).unwrap_or_default();
    let tests = indicators
        .iter()
        .flat_map(|i| {
            i.sprt_specs()
                .into_iter()
                .map(move |(level, spec)| (format!("{}:{}", i.id, fw.level_name(level)), spec))
        })
        .collect();
    Ok(Some(EarlyStop {
        scorer,
        tests,
        prior: Vec::new(),
    }))
}

pub fn scorecard_cmd(args: ScorecardArgs, store_path: &Path) -> anyhow::Result<u8> {
    let store = Store::open(store_path)?;
    let assessment = store.get_assessment(&args.assessment)?;
    show(&store, &assessment, args.json)
}

pub fn determine(args: DetermineArgs, store_path: &Path) -> anyhow::Result<u8> {
    let store = Store::open(store_path)?;
    let assessment = store.get_assessment(&args.assessment)?;
    let fw = parse_framework(&assessment.framework_text, &assessment.framework_file)?;
    if !fw.categories.iter().any(|c| c.id == args.category) {
        let ids: Vec<&str> = fw.categories.iter().map(|c| c.id.as_str()).collect();
        bail!(
            "--category: `{}` is not a category of {} (categories: {})",
            args.category,
            fw.id,
            ids.join(", ")
        );
    }
    if fw.level_index(&args.level).is_none() {
        bail!(
            "--level: `{}` is not a level of {} (levels: {})",
            args.level,
            fw.id,
            fw.levels.join(", ")
        );
    }
    if args.by.trim().is_empty() || args.rationale.trim().is_empty() {
        bail!("a determination needs who decided (--by) and why (--rationale)");
    }
    let state = state_name(args.state.state());
    store.add_determination(
        &assessment.id,
        &args.category,
        state,
        &args.level,
        args.by.trim(),
        args.rationale.trim(),
    )?;
    show(&store, &assessment, args.json)
}

/// Everything a scorecard shows, computed afresh from the stored runs and determinations.
pub struct Computed {
    pub framework: Framework,
    pub pre: Scorecard,
    pub post: Scorecard,
    pub gates: Vec<(State, GateResult)>,
    pub determinations: Vec<redline_store::DeterminationRow>,
    pub runs: Vec<redline_store::AssessmentRun>,
}

pub fn compute(store: &Store, assessment: &AssessmentRow) -> anyhow::Result<Computed> {
    let fw = parse_framework(&assessment.framework_text, &assessment.framework_file)?;
    let runs = store.assessment_runs(&assessment.id)?;
    let log = store.determinations(&assessment.id)?;
    let determinations: Vec<Determination> = log
        .iter()
        .filter_map(|d| {
            Some(Determination {
                category: d.category.clone(),
                state: if d.state == "pre" { State::Pre } else { State::Post },
                level: fw.level_index(&d.level)?,
                by: d.decided_by.clone(),
                rationale: d.rationale.clone(),
            })
        })
        .collect();
    let observe = |state: State| {
        let runs = &runs;
        move |ind: &Indicator| -> Option<Observation> { observation(store, runs, state, ind) }
    };
    // Red-team evidence: attempts of every campaign against the same target (model and mitigations).
    let evidence = |t: &serde_json::Value, state: State| -> anyhow::Result<TargetEvidence> {
        Ok(TargetEvidence {
            redteam_attempts: store.attempts_against(&crate::render::campaign_target(t))?,
            evals_run: runs
                .iter()
                .filter(|r| r.state == state_name(state))
                .map(|r| r.eval.clone())
                .collect(),
        })
    };
    let pre = scorecard(
        &fw,
        State::Pre,
        &observe(State::Pre),
        &determinations,
        &evidence(&assessment.pre_target, State::Pre)?,
    );
    let post = scorecard(
        &fw,
        State::Post,
        &observe(State::Post),
        &determinations,
        &evidence(&assessment.post_target, State::Post)?,
    );
    let gates = fw
        .gates
        .iter()
        .map(|g| {
            (
                g.state,
                decide_gate(&fw, g, if g.state == State::Pre { &pre } else { &post }),
            )
        })
        .collect();
    Ok(Computed {
        framework: fw,
        pre,
        post,
        gates,
        determinations: log,
        runs,
    })
}

/// The indicator's metric from the run the assessment used for its eval, with the interval at
/// the indicator's confidence level. `metric` is `NAME` (first scorer reporting it) or
/// `SCORER/NAME`.
fn observation(
    store: &Store,
    runs: &[redline_store::AssessmentRun],
    state: State,
    ind: &Indicator,
) -> Option<Observation> {
    let link = runs
        .iter()
        .find(|r| r.state == state_name(state) && r.eval == ind.eval)?;
    let run = store.get_run(&link.run_id).ok()?;
    let reducers: Vec<Reducer> =
        serde_json::from_value(run.settings["reducers"].clone()).unwrap_or_else(|_| vec![Reducer::Mean]);
    let metrics = store
        .run_metrics_with(&run.id, &reducers, ind.interval.method, ind.interval.level)
        .ok()?;
    let (scorer, name) = match ind.metric.split_once('/') {
        Some((s, n)) => (Some(s), n),
        None => (None, ind.metric.as_str()),
    };
    let row = metrics
        .into_iter()
        .find(|m| m.estimate.metric == name && scorer.is_none_or(|s| m.scorer == s))?;
    let epochs = run.settings["epochs"].as_u64().unwrap_or(1) as u32;
    Some(Observation {
        estimate: row.estimate,
        epochs,
        sequential: settled(run.sequential.as_ref(), ind),
    })
}

/// The thresholds of `ind` that the run's sequential tests settled (tests are labelled
/// `indicator:level`).
fn settled(report: Option<&serde_json::Value>, ind: &Indicator) -> Vec<SettledThreshold> {
    let Some(report) = report.and_then(|r| serde_json::from_value::<SequentialReport>(r.clone()).ok()) else {
        return Vec::new();
    };
    report
        .tests
        .iter()
        .filter_map(|t| {
            let (id, _) = t.label.split_once(':')?;
            let level = *ind
                .thresholds
                .iter()
                .find(|(_, th)| (**th - t.threshold).abs() < 1e-12)?
                .0;
            Some(SettledThreshold {
                level,
                decision: t.decision?,
                used: t.used,
            })
            .filter(|_| id == ind.id)
        })
        .collect()
}

/// Exit code from the gate outcomes: a failed gate outranks missing evidence, which outranks
/// an open review.
pub fn exit_code(gates: &[(State, GateResult)]) -> u8 {
    let has = |o: GateOutcome| gates.iter().any(|(_, g)| g.outcome == o);
    if has(GateOutcome::Fail) {
        exit::GATE_FAILED
    } else if has(GateOutcome::InsufficientEvidence) {
        exit::INSUFFICIENT_EVIDENCE
    } else if has(GateOutcome::NeedsReview) {
        exit::NEEDS_REVIEW
    } else {
        exit::OK
    }
}

fn show(store: &Store, assessment: &AssessmentRow, json_out: bool) -> anyhow::Result<u8> {
    let c = compute(store, assessment)?;
    let code = exit_code(&c.gates);
    if json_out {
        let doc = json!({
            "assessment": assessment,
            "framework": {
                "id": c.framework.id, "version": c.framework.version, "name": c.framework.name,
                "levels": c.framework.levels, "thresholds": c.framework.thresholds, "source": c.framework.source,
                "inconclusive": c.framework.inconclusive,
            },
            "pre": c.pre,
            "post": c.post,
            "gates": c.gates.iter().map(|(s, g)| json!({"state": state_name(*s), "id": g.id, "outcome": g.outcome, "reason": g.reason})).collect::<Vec<_>>(),
            "determinations": c.determinations,
            "runs": c.runs,
            "exit_code": code,
        });
        println!("{doc}");
    } else {
        print!("{}", render::scorecard_text(assessment, &c));
    }
    Ok(code)
}
