//! Targets: a model plus its mitigation stack, from a `provider/name[+safety-prompt][+moderation]`
//! spec or a target file.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use redline_model::{build_model, Model, ModelSpec, ModerationFilter, SafetyPrompt, DEFAULT_SAFETY_PROMPT};
use serde::{Deserialize, Serialize};

/// Where a model lives and how to reach it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub model: String,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub api_key_env: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Moderation {
    pub judge: Endpoint,
    #[serde(default = "yes")]
    pub input: bool,
    #[serde(default = "yes")]
    pub output: bool,
}

fn yes() -> bool {
    true
}

/// A target as recorded with every assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub endpoint: Endpoint,
    /// The safety system prompt, when that mitigation is on.
    pub safety_prompt: Option<String>,
    pub moderation: Option<Moderation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    target: Endpoint,
    #[serde(default)]
    mitigations: MitigationsFile,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MitigationsFile {
    /// `true` for the shipped prompt, or the prompt text.
    #[serde(default)]
    safety_prompt: Option<toml::Value>,
    #[serde(default)]
    moderation: Option<Moderation>,
}

/// Defaults that inline specs take from the command line.
pub struct Defaults<'a> {
    pub base_url: Option<&'a str>,
    pub api_key_env: Option<&'a str>,
    pub judge: Option<&'a str>,
    pub judge_base_url: Option<&'a str>,
}

/// The judge named by `--judge` (and `--judge-base-url`, else `--base-url`), if any.
pub fn judge_endpoint(d: &Defaults<'_>) -> Option<Endpoint> {
    d.judge.map(|j| Endpoint {
        model: j.to_string(),
        base_url: d.judge_base_url.or(d.base_url).map(str::to_string),
        api_key_env: None,
    })
}

impl Target {
    /// A target from a file path (`*.toml`) or an inline spec such as
    /// `openai-compatible/m+safety-prompt+moderation`.
    pub fn parse(spec: &str, d: &Defaults<'_>) -> anyhow::Result<Target> {
        if spec.ends_with(".toml") || Path::new(spec).is_file() {
            return Self::from_file(Path::new(spec));
        }
        let mut parts = spec.split('+');
        let model = parts.next().unwrap_or_default().to_string();
        let mut target = Target {
            endpoint: Endpoint {
                model,
                base_url: d.base_url.map(str::to_string),
                api_key_env: d.api_key_env.map(str::to_string),
            },
            safety_prompt: None,
            moderation: None,
        };
        for m in parts {
            match m {
                "safety-prompt" => target.safety_prompt = Some(DEFAULT_SAFETY_PROMPT.to_string()),
                "moderation" => {
                    let Some(judge) = d.judge else {
                        bail!("target `{spec}`: +moderation needs a judge model: pass --judge provider/name");
                    };
                    target.moderation = Some(Moderation {
                        judge: Endpoint {
                            model: judge.to_string(),
                            base_url: d.judge_base_url.or(d.base_url).map(str::to_string),
                            api_key_env: None,
                        },
                        input: true,
                        output: true,
                    });
                }
                other => {
                    bail!("target `{spec}`: unknown mitigation `{other}` (known: safety-prompt, moderation)")
                }
            }
        }
        Ok(target)
    }

    fn from_file(path: &Path) -> anyhow::Result<Target> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read target file {}", path.display()))?;
        let file: TargetFile = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim_end()))?;
        let safety_prompt = match file.mitigations.safety_prompt {
            None | Some(toml::Value::Boolean(false)) => None,
            Some(toml::Value::Boolean(true)) => Some(DEFAULT_SAFETY_PROMPT.to_string()),
            Some(toml::Value::String(s)) => Some(s),
            Some(_) => bail!(
                "{}: mitigations.safety_prompt: expected true, false or the prompt text",
                path.display()
            ),
        };
        Ok(Target {
            endpoint: file.target,
            safety_prompt,
            moderation: file.mitigations.moderation,
        })
    }

    /// Builds the model stack: provider, then the safety prompt, then moderation outermost.
    pub fn build(&self, request_timeout: Duration, max_connections: usize) -> anyhow::Result<Arc<dyn Model>> {
        let mut model =
            build_endpoint(&self.endpoint, request_timeout, max_connections).context("--model / target")?;
        if let Some(prompt) = &self.safety_prompt {
            model = Arc::new(SafetyPrompt::new(model, prompt.clone()));
        }
        if let Some(m) = &self.moderation {
            let judge =
                build_endpoint(&m.judge, request_timeout, max_connections).context("moderation judge")?;
            model = Arc::new(ModerationFilter::new(model, judge, m.input, m.output));
        }
        Ok(model)
    }

    pub fn spec(&self) -> anyhow::Result<ModelSpec> {
        Ok(self.endpoint.model.parse()?)
    }

    pub fn base_url(&self) -> anyhow::Result<String> {
        Ok(self.spec()?.resolve_base_url(self.endpoint.base_url.as_deref())?)
    }

    /// The environment variable the provider's key is read from.
    pub fn key_env(&self) -> anyhow::Result<String> {
        Ok(self.endpoint.api_key_env.clone().unwrap_or_else(|| {
            self.spec()
                .map(|s| s.provider.default_key_env().to_string())
                .unwrap_or_default()
        }))
    }
}

pub fn build_endpoint(e: &Endpoint, timeout: Duration, conns: usize) -> anyhow::Result<Arc<dyn Model>> {
    let spec: ModelSpec = e.model.parse()?;
    if spec.provider == redline_model::Provider::Local {
        return crate::local::local_model(&spec.name);
    }
    Ok(build_model(
        &spec,
        e.base_url.as_deref(),
        e.api_key_env.as_deref(),
        timeout,
        conns,
    )?)
}
