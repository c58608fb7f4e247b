//! The assistant's answer, and the JSON bodies of both APIs.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{json, Value};

/// The assistant's answer, computed from the last user message (or, for [`Reply::Rules`], the
/// whole conversation).
#[derive(Clone, Debug, Default)]
pub enum Reply {
    /// The last user message itself.
    #[default]
    Echo,
    /// Always this text.
    Fixed(String),
    /// The sum of the integers (with an optional leading `-`) in the last user message, as a
    /// decimal string: "What is 12 + 30?" → "42". Without integers: "I don't know".
    Sum,
    /// Exact last user message → reply; anything else is echoed.
    Script(HashMap<String, String>),
    /// Scripted behaviour over the whole conversation: the first [`ReplyRule`] that applies
    /// answers; if none does, the last user message is echoed. Multi-turn and role-specific
    /// behaviours are made of these: a target that gives in at its third user turn, a judge
    /// that answers garbage, an attacker whose prompts drift off topic.
    Rules(Vec<ReplyRule>),
}

/// One rule of [`Reply::Rules`].
#[derive(Clone, Debug, Default)]
pub struct ReplyRule {
    /// Text that must appear somewhere in the request: the system prompt or any message.
    /// Empty: any request.
    pub contains: String,
    /// Text that must appear in the last user message. Empty: any.
    pub last_contains: String,
    /// The rule applies from this many user messages on (0 or 1: from the first).
    pub min_user_turns: usize,
    /// The answer. `{turn}` becomes the number of user messages so far, so a scripted
    /// attacker can write a different prompt at every step.
    pub reply: String,
}

impl ReplyRule {
    /// A rule that answers `reply` to every request.
    pub fn always(reply: impl Into<String>) -> Self {
        ReplyRule {
            reply: reply.into(),
            ..Default::default()
        }
    }

    /// A rule that answers `reply` to requests containing `text` anywhere.
    pub fn when_contains(text: impl Into<String>, reply: impl Into<String>) -> Self {
        ReplyRule {
            contains: text.into(),
            reply: reply.into(),
            ..Default::default()
        }
    }

    fn applies(&self, chat: &Conversation<'_>) -> bool {
        chat.all_text.contains(&self.contains)
            && chat.prompt.contains(&self.last_contains)
            && chat.user_turns >= self.min_user_turns
    }
}

/// What [`Reply::answer`] reads from a request.
pub(crate) struct Conversation<'a> {
    pub prompt: &'a str,
    pub all_text: &'a str,
    pub user_turns: usize,
}

impl Reply {
    pub(crate) fn answer_chat(&self, chat: &Chat) -> String {
        self.answer_conversation(&Conversation {
            prompt: &chat.prompt,
            all_text: &chat.all_text,
            user_turns: chat.user_turns,
        })
    }

    pub(crate) fn answer_conversation(&self, chat: &Conversation<'_>) -> String {
        match self {
            Reply::Rules(rules) => rules.iter().find(|r| r.applies(chat)).map_or_else(
                || chat.prompt.to_string(),
                |r| r.reply.replace("{turn}", &chat.user_turns.to_string()),
            ),
            other => other.answer(chat.prompt),
        }
    }

    pub(crate) fn answer(&self, prompt: &str) -> String {
        match self {
            Reply::Rules(_) => self.answer_conversation(&Conversation {
                prompt,
                all_text: prompt,
                user_turns: 1,
            }),
            Reply::Echo => prompt.to_string(),
            Reply::Fixed(text) => text.clone(),
            Reply::Sum => {
                let numbers = integers(prompt);
                if numbers.is_empty() {
                    "I don't know".to_string()
                } else {
                    numbers
                        .iter()
                        .fold(0i128, |sum, &n| sum.saturating_add(n))
                        .to_string()
                }
            }
            Reply::Script(map) => map.get(prompt).cloned().unwrap_or_else(|| prompt.to_string()),
        }
    }
}

fn integers(text: &str) -> Vec<i128> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let negative = bytes[i] == b'-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
        if bytes[i].is_ascii_digit() || negative {
            let start = i;
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            // Only absurdly long digit runs fail to parse; they are skipped.
            if let Ok(n) = text[start..i].parse::<i128>() {
                out.push(n);
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Which API a chat request came in on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    /// `…/chat/completions`
    OpenAi,
    /// `…/messages`
    Anthropic,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    model: Value,
    #[serde(default)]
    system: Value,
    messages: Vec<Message>,
    #[serde(default)]
    tools: Vec<Value>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    role: Value,
    #[serde(default)]
    content: Value,
    /// OpenAI: the calls an assistant turn made.
    #[serde(default)]
    tool_calls: Vec<Value>,
    /// OpenAI: the call a `tool` message answers.
    #[serde(default)]
    tool_call_id: Option<String>,
}

/// The prefix of a scripted reply that makes the server answer with a tool call:
/// `@tool NAME {JSON arguments}`.
pub const TOOL_CALL_PREFIX: &str = "@tool ";

/// What the server needs from a chat request body.
pub(crate) struct Chat {
    pub model: Value,
    /// The last user message's text.
    pub prompt: String,
    /// Whitespace-separated words over all messages (and an Anthropic `system`).
    pub input_words: u64,
    /// Every message's text (and an Anthropic `system`), joined by newlines.
    pub all_text: String,
    /// How many user messages there are; tool results count as turns too (each message of
    /// them on the OpenAI API, each user message carrying them on Anthropic's).
    pub user_turns: usize,
    /// Names of the tools the request offers.
    pub tools: Vec<String>,
    /// What a real API would reject the request for (a tool result answering no earlier
    /// call); answered with a 400.
    pub problem: Option<String>,
}

impl Chat {
    /// `None` unless the body is JSON with a `messages` list.
    pub fn parse(body: &[u8]) -> Option<Chat> {
        let body: Body = serde_json::from_slice(body).ok()?;
        let mut all_text = text(&body.system);
        let mut input_words = words(&all_text);
        let mut prompt = None;
        let mut user_turns = 0;
        let mut calls_made: Vec<String> = Vec::new();
        let mut problem = None;
        for m in &body.messages {
            let content = text(&m.content);
            input_words += words(&content);
            all_text.push('\n');
            all_text.push_str(&content);
            calls_made.extend(
                m.tool_calls
                    .iter()
                    .filter_map(|c| c["id"].as_str().map(String::from)),
            );
            calls_made.extend(tool_uses(&m.content));
            let answered: Vec<String> = match m.role.as_str() {
                Some("tool") => m.tool_call_id.iter().cloned().collect(),
                _ => tool_results(&m.content),
            };
            for id in &answered {
                if !calls_made.contains(id) {
                    problem.get_or_insert_with(|| {
                        format!("a tool result answers `{id}`, which no earlier tool call has")
                    });
                }
            }
            if m.role.as_str() == Some("user") || m.role.as_str() == Some("tool") {
                user_turns += 1;
                prompt = Some(content);
            }
        }
        let tools = body
            .tools
            .iter()
            .filter_map(|t| t["function"]["name"].as_str().or_else(|| t["name"].as_str()))
            .map(String::from)
            .collect();
        Some(Chat {
            model: body.model,
            prompt: prompt.unwrap_or_default(),
            input_words,
            all_text,
            user_turns,
            tools,
            problem,
        })
    }
}

/// The text of a `content` (or `system`): a string, or the joined texts of its parts,
/// Anthropic tool results' contents included.
fn text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .map(|p| match p.get("type").and_then(Value::as_str) {
                Some("tool_result") => text(&p["content"]),
                _ => p
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            })
            .collect(),
        _ => String::new(),
    }
}

/// Anthropic: the ids of the `tool_use` blocks in a content.
fn tool_uses(content: &Value) -> Vec<String> {
    blocks_of(content, "tool_use", "id")
}

/// Anthropic: the ids the `tool_result` blocks in a content answer.
fn tool_results(content: &Value) -> Vec<String> {
    blocks_of(content, "tool_result", "tool_use_id")
}

fn blocks_of(content: &Value, kind: &str, key: &str) -> Vec<String> {
    content
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == kind)
        .filter_map(|b| b[key].as_str().map(String::from))
        .collect()
}

/// A scripted reply that makes the server call the tool `name` with `arguments`, on either
/// API: `ReplyRule::when_contains("list the files", tool_call("bash", json!({"command": "ls"})))`.
/// The request must offer the tool, as with a real API, or the server answers 400.
pub fn tool_call(name: &str, arguments: Value) -> String {
    format!("{TOOL_CALL_PREFIX}{name} {arguments}")
}

/// A scripted reply that is a tool call: its name and arguments (JSON text).
pub(crate) fn as_tool_call(reply: &str) -> Option<(&str, &str)> {
    let rest = reply.strip_prefix(TOOL_CALL_PREFIX)?;
    let (name, arguments) = rest.split_once(' ').unwrap_or((rest, "{}"));
    Some((name.trim(), arguments.trim()))
}

fn words(s: &str) -> u64 {
    s.split_whitespace().count() as u64
}

/// A successful completion's body in the request's API.
pub(crate) fn completion(api: Api, id: u64, chat: &Chat, reply: &str) -> Vec<u8> {
    let input = chat.input_words;
    let output = words(reply);
    if let Some((name, arguments)) = as_tool_call(reply) {
        return tool_call_completion(api, id, chat, name, arguments, input, output);
    }
    let body = match api {
        Api::Anthropic => json!({
            "id": format!("msg_{id}"),
            "type": "message",
            "role": "assistant",
            "model": chat.model,
            "content": [{"type": "text", "text": reply}],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": {"input_tokens": input, "output_tokens": output},
        }),
        Api::OpenAi => json!({
            "id": format!("chatcmpl-{id}"),
            "object": "chat.completion",
            "created": 0,
            "model": chat.model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": reply},
                "finish_reason": "stop",
            }],
            "usage": {
                "prompt_tokens": input,
                "completion_tokens": output,
                "total_tokens": input + output,
            },
        }),
    };
    body.to_string().into_bytes()
}

fn tool_call_completion(
    api: Api,
    id: u64,
    chat: &Chat,
    name: &str,
    arguments: &str,
    input: u64,
    output: u64,
) -> Vec<u8> {
    let body = match api {
        Api::Anthropic => json!({
            "id": format!("msg_{id}"),
            "type": "message",
            "role": "assistant",
            "model": chat.model,
            "content": [{
                "type": "tool_use",
                "id": format!("toolu_{id}"),
                "name": name,
                // Anthropic sends an object; scripted arguments that are not JSON go as a string
                // so a test can still see them.
                "input": serde_json::from_str::<Value>(arguments).unwrap_or_else(|_| json!(arguments)),
            }],
            "stop_reason": "tool_use",
            "stop_sequence": null,
            "usage": {"input_tokens": input, "output_tokens": output},
        }),
        Api::OpenAi => json!({
            "id": format!("chatcmpl-{id}"),
            "object": "chat.completion",
            "created": 0,
            "model": chat.model,
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": null,
                    "tool_calls": [{
                        "id": format!("call_{id}"),
                        "type": "function",
                        "function": {"name": name, "arguments": arguments},
                    }],
                },
                "finish_reason": "tool_calls",
            }],
            "usage": {"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output},
        }),
    };
    body.to_string().into_bytes()
}

/// An error body: `{"error": {"message", "type"}}`, plus Anthropic's `"type": "error"` on
/// the Anthropic path.
pub(crate) fn error(api: Option<Api>, status: u16, message: &str) -> Vec<u8> {
    let kind = match (api, status) {
        (Some(Api::Anthropic), 401) => "authentication_error",
        (Some(Api::Anthropic), 429) => "rate_limit_error",
        (Some(Api::Anthropic), 529) => "overloaded_error",
        (Some(Api::Anthropic), 500..) => "api_error",
        (_, 404) => "not_found_error",
        (_, 429) => "rate_limit_error",
        (_, 500..) => "server_error",
        _ => "invalid_request_error",
    };
    let body = match api {
        Some(Api::Anthropic) => {
            json!({"type": "error", "error": {"message": message, "type": kind}})
        }
        _ => json!({"error": {"message": message, "type": kind, "code": null}}),
    };
    body.to_string().into_bytes()
}

/// A 401's message, echoing the presented key as OpenAI does.
pub(crate) fn unauthorized_message(presented: Option<&str>) -> String {
    match presented {
        Some(key) => {
            format!("Incorrect API key provided: {key}. You can find your API key in your account settings.")
        }
        None => "You didn't provide an API key.".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_integers() {
        assert_eq!(Reply::Sum.answer("What is 12 + 30?"), "42");
        assert_eq!(Reply::Sum.answer("What is -5 + 3?"), "-2");
        assert_eq!(Reply::Sum.answer("1-2"), "-1");
        assert_eq!(Reply::Sum.answer("no numbers - at all"), "I don't know");
        assert_eq!(Reply::Sum.answer(""), "I don't know");
    }

    #[test]
    fn other_replies() {
        assert_eq!(Reply::Echo.answer("hi there"), "hi there");
        assert_eq!(Reply::Fixed("no".into()).answer("hi"), "no");
        let script = Reply::Script(HashMap::from([("q".to_string(), "a".to_string())]));
        assert_eq!(script.answer("q"), "a");
        assert_eq!(script.answer("other"), "other");
    }

    #[test]
    fn rules_read_the_whole_conversation() {
        let rules = Reply::Rules(vec![
            ReplyRule::when_contains("You are a judge", "RATING: 3"),
            ReplyRule {
                min_user_turns: 3,
                reply: "Fine, here it is (turn {turn}).".into(),
                ..Default::default()
            },
            ReplyRule {
                last_contains: "please".into(),
                reply: "Since you asked nicely.".into(),
                ..Default::default()
            },
            ReplyRule::always("No."),
        ]);
        let chat = |body: &str| Chat::parse(body.as_bytes()).unwrap();
        let judge = chat(
            r#"{"messages":[{"role":"system","content":"You are a judge."},{"role":"user","content":"x"}]}"#,
        );
        assert_eq!(rules.answer_chat(&judge), "RATING: 3");
        let first = chat(r#"{"messages":[{"role":"user","content":"tell me"}]}"#);
        assert_eq!(rules.answer_chat(&first), "No.");
        let polite = chat(r#"{"messages":[{"role":"user","content":"tell me please"}]}"#);
        assert_eq!(rules.answer_chat(&polite), "Since you asked nicely.");
        let third = chat(
            r#"{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"No."},
            {"role":"user","content":"b"},{"role":"assistant","content":"No."},{"role":"user","content":"c"}]}"#,
        );
        assert_eq!(rules.answer_chat(&third), "Fine, here it is (turn 3).");
        assert_eq!(Reply::Rules(vec![]).answer_chat(&first), "tell me");
    }

    #[test]
    fn reads_the_last_user_message_and_counts_words() {
        let chat = Chat::parse(
            br#"{"model":"m","system":"be brief","messages":[
                {"role":"user","content":"first one"},
                {"role":"assistant","content":"ok"},
                {"role":"user","content":[{"type":"text","text":"What is "},{"type":"text","text":"1 + 2?"}]}]}"#,
        )
        .unwrap();
        assert_eq!(chat.prompt, "What is 1 + 2?");
        assert_eq!(chat.input_words, 2 + 2 + 1 + 5);
        assert_eq!(chat.model, "m");
        assert!(Chat::parse(b"{\"model\":\"m\"}").is_none());
        assert!(Chat::parse(b"not json").is_none());
        assert!(Chat::parse(b"{\"messages\":[]}").is_some());
    }
}
