//! OpenAI Chat Completions, as served by OpenAI and by vLLM, llama.cpp, Ollama, OpenRouter...

use serde::Deserialize;
use serde_json::json;

use crate::error::ModelError;
use crate::http::{build_client, endpoint, send, ProviderSettings};
use crate::types::{ChatRequest, ChatResponse, Message, ModelId, ToolCall, ToolSpec, Usage};
use crate::Model;

pub struct OpenAiCompatible {
    id: ModelId,
    settings: ProviderSettings,
    url: String,
    client: reqwest::Client,
}

impl OpenAiCompatible {
    pub fn new(settings: ProviderSettings) -> Result<Self, ModelError> {
        Ok(OpenAiCompatible {
            id: ModelId(format!("openai-compatible/{}", settings.model)),
            url: endpoint(&settings.base_url, "chat/completions"),
            client: build_client(&settings)?,
            settings,
        })
    }

    /// Overrides the recorded id (e.g. `openai/gpt-4o` for the OpenAI preset).
    pub fn with_id(mut self, id: ModelId) -> Self {
        self.id = id;
        self
    }
}

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    model: Option<String>,
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<CompletionUsage>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<WireToolCall>,
}

#[derive(Deserialize)]
struct WireToolCall {
    id: String,
    function: WireFunction,
}

#[derive(Deserialize)]
struct WireFunction {
    name: String,
    /// A JSON text per the API; some servers send an object instead, which is kept as its text.
    #[serde(default)]
    arguments: serde_json::Value,
}

/// One message as Chat Completions takes it: tool calls on assistant turns, `tool_call_id` on
/// tool results.
fn wire_message(m: &Message) -> serde_json::Value {
    let mut out = json!({"role": m.role.as_str(), "content": m.content});
    if !m.tool_calls.is_empty() {
        out["tool_calls"] = m
            .tool_calls
            .iter()
            .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
            .collect();
        if m.content.is_empty() {
            out["content"] = serde_json::Value::Null;
        }
    }
    if let Some(id) = &m.tool_call_id {
        out["tool_call_id"] = json!(id);
    }
    out
}

fn wire_tool(t: &ToolSpec) -> serde_json::Value {
    json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}})
}

#[derive(Deserialize)]
struct CompletionUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

#[async_trait::async_trait]
impl Model for OpenAiCompatible {
    fn id(&self) -> &ModelId {
        &self.id
    }

    async fn generate(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let c = &request.config;
        let mut body = json!({
            "model": self.settings.model,
            "messages": request.messages.iter().map(wire_message).collect::<Vec<_>>(),
        });
        let obj = body.as_object_mut().expect("literal object");
        if !request.tools.is_empty() {
            obj.insert("tools".into(), request.tools.iter().map(wire_tool).collect());
        }
        if let Some(t) = c.temperature {
            obj.insert("temperature".into(), json!(t));
        }
        if let Some(t) = c.max_tokens {
            obj.insert("max_tokens".into(), json!(t));
        }
        if let Some(p) = c.top_p {
            obj.insert("top_p".into(), json!(p));
        }
        if let Some(s) = c.seed {
            obj.insert("seed".into(), json!(s));
        }
        if !c.stop.is_empty() {
            obj.insert("stop".into(), json!(c.stop));
        }
        let mut http = self.client.post(&self.url).json(&body);
        if let Some(key) = &self.settings.api_key {
            http = http.bearer_auth(key.expose());
        }
        let bytes = send(
            http,
            self.settings.api_key.as_ref(),
            self.settings.request_timeout,
        )
        .await?;
        let parsed: Completion = serde_json::from_slice(&bytes)
            .map_err(|e| ModelError::Malformed(format!("not a chat completion: {e}")))?;
        let choice = parsed
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| ModelError::Malformed("the completion has no choices".into()))?;
        let usage = parsed.usage.map_or(Usage::default(), |u| Usage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
        });
        let tool_calls = choice
            .message
            .tool_calls
            .into_iter()
            .map(|c| ToolCall {
                id: c.id,
                name: c.function.name,
                arguments: match c.function.arguments {
                    serde_json::Value::String(text) => text,
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                },
            })
            .collect();
        Ok(ChatResponse {
            tool_calls,
            content: choice.message.content.unwrap_or_default(),
            finish_reason: choice.finish_reason,
            usage,
            served_model: parsed.model,
            moderation: Vec::new(),
        })
    }
}
