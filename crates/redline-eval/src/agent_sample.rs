//! The runner's side of an agent sample: run the harness, then score the submission with the
//! eval's other scorers, and turn the outcome into the same [`SampleRecord`] every run stores.

use std::sync::atomic::Ordering;
use std::time::Instant;

use redline_model::{ChatResponse, ErrorKind, Message};

use crate::agent::{run_agent, AgentError, AgentSpec, TaskScoring};
use crate::dataset::Sample;
use crate::runner::{errored, record, score_all, Counters, Outcome, Shared};
use crate::task::Task;

pub(crate) async fn run(
    shared: &Shared,
    sample: &Sample,
    epoch: u32,
    messages: Vec<Message>,
    scorers: &[crate::Scorer],
    spec: &AgentSpec,
) -> Outcome {
    let started = Instant::now();
    let task = match sample.record.get("task_dir").and_then(|v| v.as_str()) {
        None => None,
        Some(dir) => match Task::load(dir.as_ref()) {
            Ok(t) => Some(t),
            Err(e) => {
                return record(errored(
                    sample,
                    epoch,
                    messages,
                    ErrorKind::Sandbox,
                    e.to_string(),
                    started,
                ))
            }
        },
    };
    let counters = &shared.counters;
    let result = run_agent(
        shared.model.as_ref(),
        messages,
        spec,
        TaskScoring { task: task.as_ref() },
        &shared.generation,
        &shared.retry,
        |_| {
            Counters::bump(&counters.retries);
        },
    )
    .await;
    let mut run = match result {
        Ok(run) => run,
        Err((error, messages, attempts)) => {
            let message = error.to_string();
            let kind = match error {
                AgentError::Model(e) => {
                    if e.is_fatal()
                        || (e.kind() == ErrorKind::Connect && !shared.any_success.load(Ordering::Relaxed))
                    {
                        return Outcome::Fatal(e);
                    }
                    e.kind()
                }
                _ => ErrorKind::Sandbox,
            };
            let mut r = errored(sample, epoch, messages, kind, message, started);
            r.attempts = attempts;
            return record(r);
        }
    };
    shared.any_success.store(true, Ordering::Relaxed);
    run.trace.task = task.as_ref().map(|t| crate::agent::TaskInfo {
        family: t.file.task.family.clone(),
        human_minutes: t.file.task.human_minutes,
        steps: t.file.task.steps,
    });
    let answer = run.answer.clone().unwrap_or_default();
    let others: Vec<crate::Scorer> = scorers.iter().filter(|s| !s.is_task()).cloned().collect();
    let (mut scores, unscored) = match score_all(shared, &others, sample, &run.messages, &answer).await {
        Ok(s) => s,
        Err(fatal) => return Outcome::Fatal(fatal),
    };
    if scorers.iter().any(|s| s.is_task()) {
        scores.splice(0..0, run.scores);
    }
    let response = ChatResponse {
        content: answer,
        finish_reason: Some(match run.trace.limit {
            Some(limit) => format!("limit:{}", limit.as_str()),
            None if run.trace.submitted => "submitted".into(),
            None => "ended".into(),
        }),
        usage: run.usage,
        served_model: None,
        moderation: Vec::new(),
        tool_calls: Vec::new(),
    };
    record(crate::SampleRecord {
        sample_id: sample.id.clone(),
        epoch,
        ordinal: sample.ordinal,
        messages: run.messages,
        target: sample.target.clone(),
        usage: run.usage,
        response: Some(response),
        attempts: run.attempts,
        cache_hit: false,
        latency_ms: started.elapsed().as_millis() as u64,
        error: None,
        scores,
        unscored,
        groups: Default::default(),
        agent: Some(run.trace),
    })
}
