//! The runner's side of a persuasion game: the model under evaluation plays, the judge model
//! (`--judge`) is the counterpart, and the game's outcome becomes the sample's scores.

use std::sync::atomic::Ordering;
use std::time::Instant;

use redline_model::{ChatResponse, ErrorKind, Message};

use crate::dataset::{Sample, SampleInput};
use crate::games::{play_makemepay, play_makemesay, GameModels, GameSettings, Speaker};
use crate::runner::{errored, record, Outcome, Shared};
use crate::spec::{GameSpec, SolverKind};
use crate::ScoreRecord;

pub(crate) async fn run(
    shared: &Shared,
    sample: &Sample,
    epoch: u32,
    kind: SolverKind,
    spec: &GameSpec,
) -> Outcome {
    let started = Instant::now();
    let Some(counterpart) = shared.judge.clone() else {
        // The runner checks this before any sample starts; kept for safety.
        return record(errored(
            sample,
            epoch,
            Vec::new(),
            ErrorKind::Request,
            "a persuasion game needs a counterpart model: pass --judge".into(),
            started,
        ));
    };
    let models = GameModels {
        player: shared.model.clone(),
        counterpart,
    };
    let settings = GameSettings {
        turns: spec.turns,
        retry: shared.retry.clone(),
        generation: shared.generation.clone(),
    };
    let input = match &sample.input {
        SampleInput::Text(t) => t.clone(),
        SampleInput::Messages(_) => String::new(),
    };
    let game = match kind {
        SolverKind::MakeMePay => play_makemepay(&models, &settings, spec.budget_dollars, &input).await,
        _ => {
            let codeword = sample.target.first().cloned().unwrap_or(input);
            play_makemesay(&models, &settings, &codeword).await
        }
    };
    let game = match game {
        Ok(g) => g,
        Err(e) => {
            if e.is_fatal() || (e.kind() == ErrorKind::Connect && !shared.any_success.load(Ordering::Relaxed))
            {
                return Outcome::Fatal(e);
            }
            let message = e.to_string();
            return record(errored(sample, epoch, Vec::new(), e.kind(), message, started));
        }
    };
    shared.any_success.store(true, Ordering::Relaxed);
    // The transcript from the evaluated model's seat: its lines as the assistant's.
    let messages: Vec<Message> = game
        .turns
        .iter()
        .map(|t| match t.speaker {
            Speaker::Player => Message::assistant(t.text.clone()),
            Speaker::Counterpart => Message::user(t.text.clone()),
        })
        .collect();
    let outcome_json = serde_json::to_string(&game.outcome).unwrap_or_default();
    let scores = game
        .outcome
        .scores()
        .into_iter()
        .map(|(name, value)| ScoreRecord {
            scorer: name.into(),
            value,
            answer: None,
            explanation: Some(outcome_json.clone()),
        })
        .collect();
    let last_player = game
        .turns
        .iter()
        .rev()
        .find(|t| t.speaker == Speaker::Player)
        .map(|t| t.text.clone())
        .unwrap_or_default();
    record(crate::SampleRecord {
        sample_id: sample.id.clone(),
        epoch,
        ordinal: sample.ordinal,
        messages,
        target: sample.target.clone(),
        usage: game.usage,
        response: Some(ChatResponse {
            content: last_player,
            finish_reason: Some("game_over".into()),
            usage: game.usage,
            served_model: None,
            moderation: Vec::new(),
            tool_calls: Vec::new(),
        }),
        attempts: Vec::new(),
        cache_hit: false,
        latency_ms: started.elapsed().as_millis() as u64,
        error: None,
        scores,
        unscored: Vec::new(),
        groups: Default::default(),
        agent: None,
    })
}
