//! Model providers behind one trait.
//!
//! A [`Model`] turns a [`ChatRequest`] into a [`ChatResponse`]. Providers speak real wire
//! protocols: [`OpenAiCompatible`] (OpenAI Chat Completions, which also covers vLLM, llama.cpp's
//! server, Ollama and OpenRouter) and [`Anthropic`] (the Messages API). [`call_with_retry`] adds
//! exponential backoff with jitter that honours `Retry-After`.
//!
//! API keys are read from the environment by [`ApiKey::from_env`] and never printed: their
//! `Debug` is redacted, they are not serialisable, and provider errors are scrubbed of them.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use redline_model::{ChatRequest, Message, Model, OpenAiCompatible, ProviderSettings};
//! let model = OpenAiCompatible::new(ProviderSettings {
//!     model: "my-model".into(),
//!     base_url: "http://127.0.0.1:8000/v1".into(),
//!     api_key: None,
//!     request_timeout: std::time::Duration::from_secs(60),
//!     max_connections: 64,
//! })?;
//! let response = model.generate(&ChatRequest::new(vec![Message::user("What is 2 + 2?")])).await?;
//! println!("{}", response.content);
//! # Ok(()) }
//! ```

mod anthropic;
mod cache_key;
mod error;
mod http;
mod mitigation;
mod openai;
mod retry;
mod secret;
mod spec;
mod types;

pub use anthropic::Anthropic;
pub use cache_key::request_cache_key;
pub use error::{ErrorKind, ModelError};
pub use http::{check_reachable, ProviderSettings};
pub use mitigation::{
    parse_verdict, ModerationEvent, ModerationFilter, SafetyPrompt, DEFAULT_REFUSAL, DEFAULT_SAFETY_PROMPT,
};
pub use openai::OpenAiCompatible;
pub use retry::{call_with_retry, Attempt, RetryPolicy};
pub use secret::ApiKey;
pub use spec::{build_model, ModelSpec, ModelSpecError, Provider, IN_PROCESS};
pub use types::{
    ChatRequest, ChatResponse, GenerateConfig, Message, ModelId, Role, ToolCall, ToolSpec, Usage,
};

/// A chat model. Object-safe, so targets (a model wrapped in mitigations) compose at run time.
#[async_trait::async_trait]
pub trait Model: Send + Sync {
    /// The `provider/name` identifier recorded with every run.
    fn id(&self) -> &ModelId;
    /// One call to the model; no retries (see [`call_with_retry`]).
    async fn generate(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError>;
}
