//! Anthropic Messages API.

use serde::Deserialize;
use serde_json::json;

use crate::error::ModelError;
use crate::http::{build_client, endpoint, send, ProviderSettings};
use crate::types::{ChatRequest, ChatResponse, Message, ModelId, Role, ToolCall, Usage};
use crate::Model;

/// The API version header Redline speaks.
const ANTHROPIC_VERSION: &str = "2023-06-01";
/// The Messages API requires `max_tokens`; used when the eval does not set one.
const DEFAULT_MAX_TOKENS: u32 = 1024;

pub struct Anthropic {
    id: ModelId,
    settings: ProviderSettings,
    url: String,
    client: reqwest::Client,
}

impl Anthropic {
    pub fn new(settings: ProviderSettings) -> Result<Self, ModelError> {
        Ok(Anthropic {
            id: ModelId(format!("anthropic/{}", settings.model)),
            url: endpoint(&settings.base_url, "messages"),
            client: build_client(&settings)?,
            settings,
        })
    }
}

#[derive(Deserialize)]
struct MessageResponse {
    #[serde(default)]
    model: Option<String>,
    content: Vec<ContentBlock>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<MessageUsage>,
}

#[derive(Deserialize)]
struct ContentBlock {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    input: Option<serde_json::Value>,
}

/// The turns as the Messages API takes them: tool calls become `tool_use` blocks, tool results
/// `tool_result` blocks in a user turn, and consecutive user-side turns are merged, since the
/// API wants every result of one assistant turn in the next user message.
fn wire_turns(messages: &[Message]) -> Vec<serde_json::Value> {
    let mut turns: Vec<(&'static str, Vec<serde_json::Value>)> = Vec::new();
    for m in messages {
        let (role, blocks) = match m.role {
            Role::System => continue,
            Role::User => ("user", vec![json!({"type": "text", "text": m.content})]),
            Role::Tool => (
                "user",
                vec![json!({
                    "type": "tool_result",
                    "tool_use_id": m.tool_call_id.as_deref().unwrap_or_default(),
                    "content": m.content,
                })],
            ),
            Role::Assistant => {
                let mut blocks = Vec::new();
                if !m.content.is_empty() || m.tool_calls.is_empty() {
                    blocks.push(json!({"type": "text", "text": m.content}));
                }
                for c in &m.tool_calls {
                    // The API wants an object; arguments that are not one (a model's broken
                    // JSON replayed from another provider) go as an empty object.
                    let input = serde_json::from_str::<serde_json::Value>(&c.arguments)
                        .ok()
                        .filter(serde_json::Value::is_object)
                        .unwrap_or_else(|| json!({}));
                    blocks.push(json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}));
                }
                ("assistant", blocks)
            }
        };
        match turns.last_mut() {
            Some((last, existing)) if *last == role && role == "user" => existing.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    turns
        .into_iter()
        .map(|(role, blocks)| {
            // A lone text block goes as a plain string, the form every server accepts.
            match blocks.as_slice() {
                [single] if single["type"] == "text" => json!({"role": role, "content": single["text"]}),
                _ => json!({"role": role, "content": blocks}),
            }
        })
        .collect()
}

#[derive(Deserialize)]
struct MessageUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
}

#[async_trait::async_trait]
impl Model for Anthropic {
    fn id(&self) -> &ModelId {
        &self.id
    }

    async fn generate(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let c = &request.config;
        // The Messages API takes the system prompt apart from the turns.
        let system: Vec<&str> = request
            .messages
            .iter()
            .filter(|m| m.role == Role::System)
            .map(|m| m.content.as_str())
            .collect();
        let turns = wire_turns(&request.messages);
        let mut body = json!({
            "model": self.settings.model,
            "messages": turns,
            "max_tokens": c.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        });
        let obj = body.as_object_mut().expect("literal object");
        if !system.is_empty() {
            obj.insert("system".into(), json!(system.join("\n\n")));
        }
        if !request.tools.is_empty() {
            let tools: Vec<_> = request
                .tools
                .iter()
                .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
                .collect();
            obj.insert("tools".into(), json!(tools));
        }
        if let Some(t) = c.temperature {
            obj.insert("temperature".into(), json!(t));
        }
        if let Some(p) = c.top_p {
            obj.insert("top_p".into(), json!(p));
        }
        if !c.stop.is_empty() {
            obj.insert("stop_sequences".into(), json!(c.stop));
        }
        let mut http = self
            .client
            .post(&self.url)
            .header("anthropic-version", ANTHROPIC_VERSION)
            .json(&body);
        if let Some(key) = &self.settings.api_key {
            http = http.header("x-api-key", key.expose());
        }
        let bytes = send(
            http,
            self.settings.api_key.as_ref(),
            self.settings.request_timeout,
        )
        .await?;
        let parsed: MessageResponse = serde_json::from_slice(&bytes)
            .map_err(|e| ModelError::Malformed(format!("not a Messages API response: {e}")))?;
        let content: String = parsed
            .content
            .iter()
            .filter(|b| b.kind == "text")
            .filter_map(|b| b.text.as_deref())
            .collect();
        let tool_calls = parsed
            .content
            .iter()
            .filter(|b| b.kind == "tool_use")
            .map(|b| ToolCall {
                id: b.id.clone().unwrap_or_default(),
                name: b.name.clone().unwrap_or_default(),
                arguments: b
                    .input
                    .as_ref()
                    .map_or_else(|| "{}".to_string(), |v| v.to_string()),
            })
            .collect();
        let usage = parsed.usage.map_or(Usage::default(), |u| Usage {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
        });
        Ok(ChatResponse {
            tool_calls,
            content,
            finish_reason: parsed.stop_reason,
            usage,
            served_model: parsed.model,
            moderation: Vec::new(),
        })
    }
}
