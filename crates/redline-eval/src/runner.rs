//! The async runner: streams samples × epochs through a model with bounded concurrency,
//! retries, per-sample timeouts and an optional response cache, and hands each finished sample
//! to a sink as soon as it completes.
//!
//! The runner knows nothing about storage: the caller passes the set of samples already
//! committed (for resume) and a channel that receives each [`SampleRecord`].

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redline_core::sequential::{SequentialDecision, SprtSpec, SprtState};
use redline_model::{
    call_with_retry, request_cache_key, ChatRequest, ChatResponse, ErrorKind, GenerateConfig, Model,
    ModelError, ModelId, RetryPolicy,
};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use crate::dataset::Sample;
use crate::error::DatasetError;
use crate::record::{SampleError, SampleRecord};
use crate::spec::Eval;

/// A response cache keyed by [`request_cache_key`]. Implemented by the store (SQLite) and by
/// in-memory maps in tests.
pub trait ResponseCache: Send + Sync {
    fn get(&self, key: &str) -> Option<ChatResponse>;
    fn put(&self, key: &str, model: &ModelId, response: &ChatResponse);
}

/// When too many samples error, the run stops and is marked failed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ErrorThreshold {
    /// More than this share of the planned samples (0 < p < 1).
    Proportion(f64),
    /// More than this many samples.
    Count(u64),
}

impl std::str::FromStr for ErrorThreshold {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let v: f64 = s.trim().parse().map_err(|_| format!("`{s}` is not a number"))?;
        if v.is_nan() || v < 0.0 {
            Err(format!("`{s}` must be a proportion in [0, 1) or a count ≥ 1"))
        } else if v < 1.0 {
            Ok(ErrorThreshold::Proportion(v))
        } else {
            Ok(ErrorThreshold::Count(v as u64))
        }
    }
}

/// How to run. Eval-level settings (epochs, generation) are resolved by the caller.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Requests in flight at once, at most.
    pub max_connections: usize,
    pub epochs: u32,
    /// Run only the first `limit` dataset rows.
    pub limit: Option<u64>,
    /// Limit for one sample including all its retries.
    pub sample_timeout: Option<Duration>,
    pub retry: RetryPolicy,
    pub generation: GenerateConfig,
    pub fail_on_error: Option<ErrorThreshold>,
    /// Stop sampling once sequential tests on one scorer's outcomes are all settled.
    pub early_stop: Option<EarlyStop>,
}

/// Sequential stopping: SPRTs on the pass/fail outcomes (score ≥ 1) of one scorer, in the
/// order samples complete. Meant for single-epoch runs, where outcomes are independent.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlyStop {
    pub scorer: String,
    /// (label, test), e.g. ("ctf-professional:high", spec).
    pub tests: Vec<(String, SprtSpec)>,
    /// Outcomes already committed by an earlier invocation of the same run, replayed first.
    pub prior: Vec<bool>,
}

/// What the sequential tests concluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequentialReport {
    /// True when sampling stopped because every test was settled.
    pub stopped: bool,
    pub tests: Vec<SequentialTest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequentialTest {
    pub label: String,
    pub threshold: f64,
    pub decision: Option<SequentialDecision>,
    /// Outcomes the test needed (up to its decision).
    pub used: usize,
}

struct Sequential {
    scorer: String,
    tests: Vec<(String, SprtSpec, SprtState)>,
}

impl Sequential {
    fn new(e: &EarlyStop) -> Result<Sequential, RunError> {
        let mut tests = Vec::new();
        for (label, spec) in &e.tests {
            let state =
                SprtState::new(spec).map_err(|err| RunError::Sequential(format!("{label}: {err}")))?;
            tests.push((label.clone(), *spec, state));
        }
        let mut s = Sequential {
            scorer: e.scorer.clone(),
            tests,
        };
        for &pass in &e.prior {
            s.push(pass);
        }
        Ok(s)
    }

    /// Adds one outcome; true once every test is settled.
    fn push(&mut self, pass: bool) -> bool {
        for (_, _, state) in &mut self.tests {
            state.push(pass);
        }
        self.settled()
    }

    fn settled(&self) -> bool {
        self.tests.iter().all(|(_, _, s)| s.decision().is_some())
    }

    fn report(&self, stopped: bool) -> SequentialReport {
        SequentialReport {
            stopped,
            tests: self
                .tests
                .iter()
                .map(|(label, spec, s)| SequentialTest {
                    label: label.clone(),
                    threshold: spec.threshold,
                    decision: s.decision(),
                    used: s.used(),
                })
                .collect(),
        }
    }
}

/// Live counters, read by progress displays while the run goes on.
#[derive(Debug, Default)]
pub struct Counters {
    /// Samples × epochs finished in this invocation (errored ones included).
    pub done: AtomicU64,
    pub errors: AtomicU64,
    pub retries: AtomicU64,
    pub cache_hits: AtomicU64,
    /// Already committed before this invocation (resume).
    pub skipped: AtomicU64,
    pub in_flight: AtomicU64,
    pub max_in_flight: AtomicU64,
}

impl Counters {
    fn get(v: &AtomicU64) -> u64 {
        v.load(Ordering::Relaxed)
    }
    pub(crate) fn bump(v: &AtomicU64) -> u64 {
        v.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// What one invocation did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub done: u64,
    pub errors: u64,
    pub retries: u64,
    pub skipped: u64,
    pub cache_hits: u64,
    pub max_in_flight: u64,
    pub sequential: Option<SequentialReport>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// An error every sample would hit (bad key, unknown model): the run stops at once.
    #[error("{0}")]
    Fatal(ModelError),
    /// No request has ever succeeded and the endpoint refuses connections.
    #[error("the endpoint is unreachable: {0}")]
    Unreachable(ModelError),
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error("{errors} samples errored, more than --fail-on-error allows ({threshold})")]
    TooManyErrors { errors: u64, threshold: String },
    #[error("the record sink closed before the run finished")]
    SinkClosed,
    #[error("sequential test: {0}")]
    Sequential(String),
    #[error("scorer `{0}` needs a judge model (model-graded scorers) or a counterpart (persuasion games): pass --judge provider/name")]
    NoJudge(String),
}

pub(crate) struct Shared {
    pub(crate) model: Arc<dyn Model>,
    pub(crate) judge: Option<Arc<dyn Model>>,
    pub(crate) cache: Option<Arc<dyn ResponseCache>>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) retry: RetryPolicy,
    pub(crate) generation: GenerateConfig,
    pub(crate) sample_timeout: Option<Duration>,
    pub(crate) any_success: AtomicBool,
}

pub(crate) enum Outcome {
    Record(Box<SampleRecord>),
    Fatal(ModelError),
}

/// Runs `eval` on `model`. Samples in `already_done` (sample id, epoch) are skipped. Each
/// finished sample is sent to `sink` as soon as it completes; the channel's bound gives
/// back-pressure, so a slow store slows the runner rather than growing memory.
#[allow(clippy::too_many_arguments)]
pub async fn run_eval(
    eval: &Eval,
    model: Arc<dyn Model>,
    judge: Option<Arc<dyn Model>>,
    settings: &RunSettings,
    already_done: &HashSet<(String, u32)>,
    cache: Option<Arc<dyn ResponseCache>>,
    counters: Arc<Counters>,
    sink: mpsc::Sender<SampleRecord>,
) -> Result<RunSummary, RunError> {
    if let Some(s) = eval.scorers.iter().find(|s| s.needs_judge() || s.is_game()) {
        if judge.is_none() {
            return Err(RunError::NoJudge(s.name.clone()));
        }
    }
    let shared = Arc::new(Shared {
        model,
        judge,
        cache,
        counters: counters.clone(),
        retry: settings.retry.clone(),
        generation: settings.generation.clone(),
        sample_timeout: settings.sample_timeout,
        any_success: AtomicBool::new(false),
    });
    let permits = Arc::new(Semaphore::new(settings.max_connections.max(1)));
    let mut tasks: JoinSet<Outcome> = JoinSet::new();
    let planned_rows = settings.limit;
    let mut verdict: Result<(), RunError> = Ok(());
    let mut sequential = settings.early_stop.as_ref().map(Sequential::new).transpose()?;
    let mut stopped_early = sequential.as_ref().is_some_and(Sequential::settled);

    'rows: for (row, sample) in eval
        .open_dataset()
        .map_err(|e| match e {
            crate::EvalError::Dataset(d) => RunError::Dataset(d),
            other => RunError::Dataset(DatasetError {
                path: eval.dataset_path.clone(),
                line: 0,
                message: other.to_string(),
            }),
        })?
        .enumerate()
    {
        if planned_rows.is_some_and(|l| row as u64 >= l) {
            break;
        }
        if stopped_early {
            break;
        }
        let sample = Arc::new(sample?);
        for epoch in 1..=settings.epochs {
            if already_done.contains(&(sample.id.clone(), epoch)) {
                Counters::bump(&counters.skipped);
                continue;
            }
            let permit = permits
                .clone()
                .acquire_owned()
                .await
                .expect("semaphore never closed");
            while let Some(joined) = tasks.try_join_next() {
                match handle(joined, &sink, &counters, settings, sequential.as_mut()).await {
                    Err(e) => {
                        verdict = Err(e);
                        break 'rows;
                    }
                    Ok(true) => stopped_early = true,
                    Ok(false) => {}
                }
            }
            if stopped_early {
                // Every sequential test is settled: the samples in flight finish, no new ones start.
                drop(permit);
                break 'rows;
            }
            let (shared, sample) = (shared.clone(), sample.clone());
            let messages = eval.messages_for(&sample);
            let scorers = eval.scorers.clone();
            // Validated by the dataset scan; kept on every record for metrics by group.
            let groups = sample.groups(&eval.spec.run.group_by).unwrap_or_default();
            let agent = (eval.spec.solver.kind == crate::SolverKind::Agent)
                .then(|| eval.spec.agent.clone().unwrap_or_default());
            let solver = eval.spec.solver.kind;
            let game = eval.spec.game.clone().unwrap_or_default();
            tasks.spawn(async move {
                let _permit = permit;
                let mut outcome = match (messages, agent) {
                    (Ok(messages), Some(agent)) => {
                        crate::agent_sample::run(&shared, &sample, epoch, messages, &scorers, &agent).await
                    }
                    (Ok(_), None) if solver.is_game() => {
                        crate::games_sample::run(&shared, &sample, epoch, solver, &game).await
                    }
                    (Ok(messages), None) => run_sample(&shared, &sample, epoch, messages, &scorers).await,
                    // The dataset scan rendered every prompt already; this is belt and braces.
                    (Err(m), _) => record(errored(
                        &sample,
                        epoch,
                        Vec::new(),
                        ErrorKind::Request,
                        m,
                        Instant::now(),
                    )),
                };
                if let Outcome::Record(r) = &mut outcome {
                    r.groups = groups;
                }
                outcome
            });
        }
    }
    if verdict.is_err() {
        tasks.abort_all();
    }
    while let Some(joined) = tasks.join_next().await {
        if verdict.is_err() {
            // Keep what finished cleanly; nothing else is recorded once the run is stopping.
            if let Ok(Outcome::Record(r)) = joined {
                if sink.send(*r).await.is_err() {
                    break;
                }
            }
            continue;
        }
        match handle(joined, &sink, &counters, settings, sequential.as_mut()).await {
            Err(e) => {
                verdict = Err(e);
                tasks.abort_all();
            }
            Ok(true) => stopped_early = true,
            Ok(false) => {}
        }
    }
    verdict?;
    Ok(RunSummary {
        done: Counters::get(&counters.done),
        errors: Counters::get(&counters.errors),
        retries: Counters::get(&counters.retries),
        skipped: Counters::get(&counters.skipped),
        cache_hits: Counters::get(&counters.cache_hits),
        max_in_flight: Counters::get(&counters.max_in_flight),
        sequential: sequential.map(|s| s.report(stopped_early)),
    })
}

/// Records one finished task; `Ok(true)` when the sequential tests are now all settled.
async fn handle(
    joined: Result<Outcome, tokio::task::JoinError>,
    sink: &mpsc::Sender<SampleRecord>,
    counters: &Counters,
    settings: &RunSettings,
    sequential: Option<&mut Sequential>,
) -> Result<bool, RunError> {
    let outcome = match joined {
        Ok(o) => o,
        Err(e) if e.is_cancelled() => return Ok(false),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    };
    match outcome {
        Outcome::Fatal(e) if e.kind() == ErrorKind::Connect => Err(RunError::Unreachable(e)),
        Outcome::Fatal(e) => Err(RunError::Fatal(e)),
        Outcome::Record(record) => {
            let errored = record.error.is_some();
            let outcome = sequential
                .as_ref()
                .and_then(|s| record.scores.iter().find(|x| x.scorer == s.scorer))
                .map(|x| x.value >= 1.0);
            sink.send(*record).await.map_err(|_| RunError::SinkClosed)?;
            let settled = match (sequential, outcome) {
                (Some(s), Some(pass)) => s.push(pass),
                _ => false,
            };
            Counters::bump(&counters.done);
            if errored {
                let errors = Counters::bump(&counters.errors);
                if let Some(threshold) = settings.fail_on_error {
                    let exceeded = match threshold {
                        ErrorThreshold::Count(n) => errors > n,
                        // Judged against what this invocation has finished so far, once enough
                        // samples are in to make a share meaningful.
                        ErrorThreshold::Proportion(p) => {
                            let done = Counters::get(&counters.done);
                            done >= 20 && errors as f64 > p * done as f64
                        }
                    };
                    if exceeded {
                        return Err(RunError::TooManyErrors {
                            errors,
                            threshold: match threshold {
                                ErrorThreshold::Count(n) => n.to_string(),
                                ErrorThreshold::Proportion(p) => format!("{p}"),
                            },
                        });
                    }
                }
            }
            Ok(settled)
        }
    }
}

async fn run_sample(
    shared: &Shared,
    sample: &Sample,
    epoch: u32,
    messages: Vec<redline_model::Message>,
    scorers: &[crate::Scorer],
) -> Outcome {
    let started = Instant::now();
    let request = ChatRequest {
        messages,
        config: shared.generation.clone(),
        tools: Vec::new(),
    };
    let cache_key = shared.cache.as_ref().map(|_| {
        let key = request_cache_key(shared.model.id(), &request);
        // Epochs are meant to be independent draws, so each has its own cache entry.
        if epoch > 1 {
            format!("{key}:e{epoch}")
        } else {
            key
        }
    });
    if let (Some(cache), Some(key)) = (&shared.cache, &cache_key) {
        if let Some(response) = cache.get(key) {
            Counters::bump(&shared.counters.cache_hits);
            shared.any_success.store(true, Ordering::Relaxed);
            return match score_all(shared, scorers, sample, &request.messages, &response.content).await {
                Ok(scored) => record(finished(
                    sample,
                    epoch,
                    request,
                    response,
                    Vec::new(),
                    true,
                    scored,
                    started,
                )),
                Err(fatal) => Outcome::Fatal(fatal),
            };
        }
    }

    let counters = &shared.counters;
    let in_flight = Counters::bump(&counters.in_flight);
    counters.max_in_flight.fetch_max(in_flight, Ordering::Relaxed);
    let call = call_with_retry(shared.model.as_ref(), &request, &shared.retry, |_| {
        Counters::bump(&counters.retries);
    });
    let result = match shared.sample_timeout {
        Some(limit) => tokio::time::timeout(limit, call).await.ok(),
        None => Some(call.await),
    };
    counters.in_flight.fetch_sub(1, Ordering::Relaxed);

    match result {
        None => {
            let limit = shared.sample_timeout.unwrap_or_default();
            record(errored(
                sample,
                epoch,
                request.messages,
                ErrorKind::SampleTimeout,
                format!("the sample did not finish within {limit:?}"),
                started,
            ))
        }
        Some((Ok(response), attempts)) => {
            shared.any_success.store(true, Ordering::Relaxed);
            if let (Some(cache), Some(key)) = (&shared.cache, &cache_key) {
                cache.put(key, shared.model.id(), &response);
            }
            match score_all(shared, scorers, sample, &request.messages, &response.content).await {
                Ok(scored) => record(finished(
                    sample, epoch, request, response, attempts, false, scored, started,
                )),
                Err(fatal) => Outcome::Fatal(fatal),
            }
        }
        Some((Err(error), attempts)) => {
            if error.is_fatal()
                || (error.kind() == ErrorKind::Connect && !shared.any_success.load(Ordering::Relaxed))
            {
                return Outcome::Fatal(error);
            }
            let mut record = errored(
                sample,
                epoch,
                request.messages,
                error.kind(),
                error.to_string(),
                started,
            );
            record.attempts = attempts;
            Outcome::Record(Box::new(record))
        }
    }
}

pub(crate) fn record(r: SampleRecord) -> Outcome {
    Outcome::Record(Box::new(r))
}

#[allow(clippy::too_many_arguments)]
fn finished(
    sample: &Sample,
    epoch: u32,
    request: ChatRequest,
    response: ChatResponse,
    attempts: Vec<redline_model::Attempt>,
    cache_hit: bool,
    (scores, unscored): (Vec<crate::ScoreRecord>, Vec<crate::Unscored>),
    started: Instant,
) -> SampleRecord {
    SampleRecord {
        sample_id: sample.id.clone(),
        epoch,
        ordinal: sample.ordinal,
        messages: request.messages,
        target: sample.target.clone(),
        usage: response.usage,
        response: Some(response),
        attempts,
        cache_hit,
        latency_ms: started.elapsed().as_millis() as u64,
        error: None,
        scores,
        unscored,
        groups: Default::default(),
        agent: None,
    }
}

/// Scores one answer with every scorer; model-graded ones ask the judge (cached, retried).
/// A judge answer that cannot be read leaves that scorer's score out and says why; an error
/// no sample would escape (the judge's key rejected) is returned to stop the run.
pub(crate) async fn score_all(
    shared: &Shared,
    scorers: &[crate::Scorer],
    sample: &Sample,
    sent: &[redline_model::Message],
    output: &str,
) -> Result<(Vec<crate::ScoreRecord>, Vec<crate::Unscored>), ModelError> {
    let (mut scores, mut unscored) = (Vec::new(), Vec::new());
    for scorer in scorers {
        if let Some(score) = scorer.score(output, sample) {
            scores.push(score);
            continue;
        }
        let Some(judge) = &shared.judge else { continue };
        let mut skip = |reason: String| {
            unscored.push(crate::Unscored {
                scorer: scorer.name.clone(),
                reason,
            })
        };
        let request = match scorer.judge_request(sample, sent, output) {
            Ok(r) => r,
            Err(e) => {
                skip(e);
                continue;
            }
        };
        let key = shared
            .cache
            .as_ref()
            .map(|_| format!("judge:{}", request_cache_key(judge.id(), &request)));
        let cached = match (&shared.cache, &key) {
            (Some(cache), Some(key)) => cache.get(key),
            _ => None,
        };
        let answer = match cached {
            Some(hit) => hit,
            None => {
                let (result, _) = call_with_retry(judge.as_ref(), &request, &shared.retry, |_| {
                    Counters::bump(&shared.counters.retries);
                })
                .await;
                match result {
                    Ok(answer) => {
                        if let (Some(cache), Some(key)) = (&shared.cache, &key) {
                            cache.put(key, judge.id(), &answer);
                        }
                        answer
                    }
                    Err(e) if e.is_fatal() => return Err(e),
                    Err(e) => {
                        skip(format!("the judge call failed: {e}"));
                        continue;
                    }
                }
            }
        };
        match scorer.judge_score(&answer.content) {
            Ok(score) => scores.push(score),
            Err(e) => skip(e.to_string()),
        }
    }
    Ok((scores, unscored))
}

pub(crate) fn errored(
    sample: &Sample,
    epoch: u32,
    messages: Vec<redline_model::Message>,
    kind: ErrorKind,
    message: String,
    started: Instant,
) -> SampleRecord {
    SampleRecord {
        sample_id: sample.id.clone(),
        epoch,
        ordinal: sample.ordinal,
        messages,
        target: sample.target.clone(),
        response: None,
        attempts: Vec::new(),
        cache_hit: false,
        latency_ms: started.elapsed().as_millis() as u64,
        usage: Default::default(),
        error: Some(SampleError { kind, message }),
        scores: Vec::new(),
        unscored: Vec::new(),
        groups: Default::default(),
        agent: None,
    }
}
