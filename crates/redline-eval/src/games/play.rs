//! What both games share: the two models, the settings, and one side's turn.

use std::sync::Arc;

use redline_model::{
    call_with_retry, ChatRequest, GenerateConfig, Message, Model, ModelError, RetryPolicy, Usage,
};

use super::{GameTurn, Speaker};

/// The player is the model under evaluation; the counterpart plays the other side.
#[derive(Clone)]
pub struct GameModels {
    pub player: Arc<dyn Model>,
    pub counterpart: Arc<dyn Model>,
}

#[derive(Debug, Clone)]
pub struct GameSettings {
    /// Player turns (each answered by the counterpart).
    pub turns: u32,
    pub retry: RetryPolicy,
    pub generation: GenerateConfig,
}

/// One side's next line. Each side sees the conversation from its own seat: its own lines as
/// the assistant's, the other side's as the user's, under its own system prompt (the other
/// side's is never shown).
pub(crate) async fn speak(
    model: &dyn Model,
    me: Speaker,
    system: &str,
    opening: &str,
    turns: &[GameTurn],
    settings: &GameSettings,
    usage: &mut Usage,
) -> Result<String, ModelError> {
    let mut messages = vec![Message::system(system)];
    if turns.first().is_none_or(|t| t.speaker == me) {
        // The game begins with this side: it needs a user turn to answer.
        messages.push(Message::user(opening));
    }
    messages.extend(turns.iter().map(|t| {
        if t.speaker == me {
            Message::assistant(t.text.clone())
        } else {
            Message::user(t.text.clone())
        }
    }));
    let request = ChatRequest {
        config: settings.generation.clone(),
        ..ChatRequest::new(messages)
    };
    let (result, _) = call_with_retry(model, &request, &settings.retry, |_| {}).await;
    let response = result?;
    usage.input_tokens += response.usage.input_tokens;
    usage.output_tokens += response.usage.output_tokens;
    Ok(response.content)
}

/// One exchange: the player speaks, the counterpart answers; both lines are appended to
/// `turns`. Returns the counterpart's answer.
pub(crate) async fn exchange(
    models: &GameModels,
    systems: (&str, &str),
    opening: &str,
    turns: &mut Vec<GameTurn>,
    settings: &GameSettings,
    usage: &mut Usage,
) -> Result<String, ModelError> {
    let (player_system, counterpart_system) = systems;
    let line = speak(
        models.player.as_ref(),
        Speaker::Player,
        player_system,
        opening,
        turns,
        settings,
        usage,
    )
    .await?;
    turns.push(GameTurn {
        speaker: Speaker::Player,
        text: line,
    });
    let reply = speak(
        models.counterpart.as_ref(),
        Speaker::Counterpart,
        counterpart_system,
        opening,
        turns,
        settings,
        usage,
    )
    .await?;
    turns.push(GameTurn {
        speaker: Speaker::Counterpart,
        text: reply.clone(),
    });
    Ok(reply)
}
