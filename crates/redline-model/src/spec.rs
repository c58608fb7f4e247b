//! `provider/name` model specs and the settings that turn them into a [`Model`].

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::anthropic::Anthropic;
use crate::error::ModelError;
use crate::http::ProviderSettings;
use crate::openai::OpenAiCompatible;
use crate::secret::ApiKey;
use crate::types::ModelId;
use crate::Model;

/// What a local model's "base URL" is recorded as: it has none.
pub const IN_PROCESS: &str = "in-process";

/// The providers Redline speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Any server with OpenAI's Chat Completions API; needs a base URL; the key is optional.
    OpenAiCompatible,
    /// OpenAI itself: the Chat Completions API at api.openai.com; needs `OPENAI_API_KEY`.
    OpenAi,
    /// Anthropic's Messages API; needs `ANTHROPIC_API_KEY`.
    Anthropic,
    /// A GGUF model run in-process on the CPU (`local/smollm2` for the default model, or
    /// `local/PATH.gguf`). Built by the CLI with `redline-local`, not by [`build_model`].
    Local,
}

impl Provider {
    pub const NAMES: &'static str = "openai-compatible, openai, anthropic, local";

    pub fn default_key_env(&self) -> &'static str {
        match self {
            Provider::OpenAiCompatible | Provider::OpenAi => "OPENAI_API_KEY",
            Provider::Anthropic => "ANTHROPIC_API_KEY",
            Provider::Local => "",
        }
    }

    fn default_base_url(&self) -> Option<&'static str> {
        match self {
            Provider::OpenAiCompatible => None,
            Provider::OpenAi => Some("https://api.openai.com/v1"),
            Provider::Anthropic => Some("https://api.anthropic.com/v1"),
            Provider::Local => Some(IN_PROCESS),
        }
    }

    fn key_required(&self) -> bool {
        !matches!(self, Provider::OpenAiCompatible | Provider::Local)
    }
}

/// A parsed `--model provider/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    pub provider: Provider,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelSpecError {
    #[error("model `{0}` is not of the form provider/name (providers: {names})", names = Provider::NAMES)]
    Shape(String),
    #[error("unknown provider `{0}` (known: {names})", names = Provider::NAMES)]
    UnknownProvider(String),
    #[error("`{0}` models need a base URL: pass --base-url, e.g. http://127.0.0.1:8000/v1")]
    MissingBaseUrl(String),
    #[error("base URL `{0}` must start with http:// or https://")]
    BadBaseUrl(String),
    #[error("`{provider}` models need an API key in the environment variable {var}, which is not set")]
    MissingKey { provider: String, var: String },
    #[error("`{0}` runs in-process: local models are built by the redline CLI, not over HTTP")]
    InProcess(String),
    #[error(transparent)]
    Client(#[from] ModelError),
}

impl FromStr for ModelSpec {
    type Err = ModelSpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (provider, name) = s
            .split_once('/')
            .filter(|(p, n)| !p.is_empty() && !n.is_empty())
            .ok_or_else(|| ModelSpecError::Shape(s.to_string()))?;
        let provider = match provider {
            "openai-compatible" | "openai-api" => Provider::OpenAiCompatible,
            "openai" => Provider::OpenAi,
            "anthropic" => Provider::Anthropic,
            "local" => Provider::Local,
            other => return Err(ModelSpecError::UnknownProvider(other.to_string())),
        };
        Ok(ModelSpec {
            provider,
            name: name.to_string(),
        })
    }
}

impl ModelSpec {
    pub fn id(&self) -> ModelId {
        let p = match self.provider {
            Provider::OpenAiCompatible => "openai-compatible",
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
            Provider::Local => "local",
        };
        ModelId(format!("{p}/{}", self.name))
    }

    /// The base URL that will be used: the one given, or the provider's default.
    pub fn resolve_base_url(&self, given: Option<&str>) -> Result<String, ModelSpecError> {
        if self.provider == Provider::Local {
            return Ok(IN_PROCESS.to_string());
        }
        let url = given
            .map(str::to_string)
            .or_else(|| self.provider.default_base_url().map(str::to_string))
            .ok_or_else(|| ModelSpecError::MissingBaseUrl(self.id().0))?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ModelSpecError::BadBaseUrl(url));
        }
        Ok(url)
    }
}

/// Builds the model for `spec`, reading its key from `key_env` (or the provider's default
/// variable).
pub fn build_model(
    spec: &ModelSpec,
    base_url: Option<&str>,
    key_env: Option<&str>,
    request_timeout: Duration,
    max_connections: usize,
) -> Result<Arc<dyn Model>, ModelSpecError> {
    let base_url = spec.resolve_base_url(base_url)?;
    let var = key_env.unwrap_or(spec.provider.default_key_env());
    let api_key = ApiKey::from_env(var);
    if api_key.is_none() && spec.provider.key_required() {
        return Err(ModelSpecError::MissingKey {
            provider: spec.id().0,
            var: var.to_string(),
        });
    }
    let settings = ProviderSettings {
        model: spec.name.clone(),
        base_url,
        api_key,
        request_timeout,
        max_connections,
    };
    Ok(match spec.provider {
        Provider::OpenAiCompatible => Arc::new(OpenAiCompatible::new(settings)?),
        Provider::OpenAi => Arc::new(OpenAiCompatible::new(settings)?.with_id(spec.id())),
        Provider::Anthropic => Arc::new(Anthropic::new(settings)?),
        Provider::Local => return Err(ModelSpecError::InProcess(spec.id().0)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        let s: ModelSpec = "openai-compatible/my-model".parse().unwrap();
        assert_eq!(s.provider, Provider::OpenAiCompatible);
        assert_eq!(s.name, "my-model");
        // names may contain slashes (OpenRouter: vendor/model)
        let s: ModelSpec = "openai-compatible/meta-llama/llama-3".parse().unwrap();
        assert_eq!(s.name, "meta-llama/llama-3");
        assert!(matches!(
            "gpt4".parse::<ModelSpec>(),
            Err(ModelSpecError::Shape(_))
        ));
        assert!(matches!(
            "foo/bar".parse::<ModelSpec>(),
            Err(ModelSpecError::UnknownProvider(_))
        ));
    }

    #[test]
    fn base_url_rules() {
        let s: ModelSpec = "openai-compatible/m".parse().unwrap();
        assert!(matches!(
            s.resolve_base_url(None),
            Err(ModelSpecError::MissingBaseUrl(_))
        ));
        assert!(matches!(
            s.resolve_base_url(Some("localhost:8000")),
            Err(ModelSpecError::BadBaseUrl(_))
        ));
        let a: ModelSpec = "anthropic/claude".parse().unwrap();
        assert_eq!(a.resolve_base_url(None).unwrap(), "https://api.anthropic.com/v1");
    }

    #[test]
    fn missing_required_key_names_the_variable() {
        let a: ModelSpec = "anthropic/claude".parse().unwrap();
        let err = build_model(
            &a,
            None,
            Some("REDLINE_TEST_SURELY_UNSET_VAR"),
            Duration::from_secs(5),
            4,
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("REDLINE_TEST_SURELY_UNSET_VAR"));
    }
}
