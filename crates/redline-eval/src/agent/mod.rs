//! The agent harness: a tool-calling loop over the providers' native function calling, each
//! sample in its own throwaway sandbox ([`redline_sandbox`]), with limits on messages, tokens,
//! wall time and tool calls. Every call and result is in the transcript; a limit reached ends
//! the sample with the limit recorded, and the task is still scored on what the agent left.
//!
//! An eval turns it on with `[solver] kind = "agent"` and tunes it in `[agent]`:
//!
//! ```toml
//! [solver]
//! kind = "agent"
//!
//! [agent]
//! tools = ["bash", "python", "read_file", "write_file", "edit_file", "list_dir", "submit"]
//! max_messages = 60
//! max_tool_calls = 40
//! max_tokens = 400000
//! max_seconds = 900
//!
//! [agent.sandbox]
//! max_processes = 64
//! memory_mb = 1024
//! cpu_seconds = 60
//! command_seconds = 60
//! ```

mod run;
mod tools;

use serde::{Deserialize, Serialize};

pub use run::{run_agent, AgentError, AgentRun, TaskScoring};
pub use tools::{describe, run_call, CallResult, Tool};

/// The `[agent]` table.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSpec {
    #[serde(default = "all_tools")]
    pub tools: Vec<Tool>,
    /// The system prompt; the default tells the agent where it is and to call `submit`.
    #[serde(default)]
    pub system: Option<String>,
    #[serde(default = "default_max_messages")]
    pub max_messages: u32,
    #[serde(default = "default_max_tool_calls")]
    pub max_tool_calls: u32,
    /// Input plus output tokens over every model call of the sample.
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u64,
    #[serde(default = "default_max_seconds")]
    pub max_seconds: u64,
    #[serde(default)]
    pub sandbox: SandboxSettings,
}

/// `[agent.sandbox]`: the limits of each sample's sandbox.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxSettings {
    #[serde(default = "default_processes")]
    pub max_processes: u32,
    #[serde(default = "default_memory_mb")]
    pub memory_mb: u64,
    /// CPU seconds per process.
    #[serde(default = "default_cpu_seconds")]
    pub cpu_seconds: u64,
    /// Wall time of one command (a bash or python call).
    #[serde(default = "default_command_seconds")]
    pub command_seconds: u64,
    /// Off by default; some tasks need none and a model's code should not reach anything.
    #[serde(default)]
    pub network: bool,
}

fn all_tools() -> Vec<Tool> {
    Tool::ALL.to_vec()
}
fn default_max_messages() -> u32 {
    60
}
fn default_max_tool_calls() -> u32 {
    40
}
fn default_max_tokens() -> u64 {
    400_000
}
fn default_max_seconds() -> u64 {
    900
}
fn default_processes() -> u32 {
    64
}
fn default_memory_mb() -> u64 {
    1024
}
fn default_cpu_seconds() -> u64 {
    60
}
fn default_command_seconds() -> u64 {
    60
}

impl Default for SandboxSettings {
    fn default() -> Self {
        SandboxSettings {
            max_processes: default_processes(),
            memory_mb: default_memory_mb(),
            cpu_seconds: default_cpu_seconds(),
            command_seconds: default_command_seconds(),
            network: false,
        }
    }
}

impl Default for AgentSpec {
    fn default() -> Self {
        AgentSpec {
            tools: all_tools(),
            system: None,
            max_messages: default_max_messages(),
            max_tool_calls: default_max_tool_calls(),
            max_tokens: default_max_tokens(),
            max_seconds: default_max_seconds(),
            sandbox: SandboxSettings::default(),
        }
    }
}

impl SandboxSettings {
    /// The sandbox crate's limits from these settings.
    pub fn limits(&self) -> redline_sandbox::Limits {
        redline_sandbox::Limits {
            max_processes: self.max_processes,
            memory_bytes: self.memory_mb.saturating_mul(1024 * 1024),
            cpu_seconds: self.cpu_seconds,
            exec_timeout: std::time::Duration::from_secs(self.command_seconds),
            ..Default::default()
        }
    }
}

/// Which limit ended a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitHit {
    Messages,
    ToolCalls,
    Tokens,
    Time,
}

impl LimitHit {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitHit::Messages => "messages",
            LimitHit::ToolCalls => "tool_calls",
            LimitHit::Tokens => "tokens",
            LimitHit::Time => "time",
        }
    }
}

/// The task's metadata, kept on each sample for the length-based metrics (success by human
/// minutes and by steps, the time horizon).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct TaskInfo {
    pub family: String,
    pub human_minutes: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<u32>,
}

/// What the harness records about an agent sample besides its transcript.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct AgentTrace {
    /// The task it ran, for task-folder datasets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskInfo>,
    /// The limit that ended the sample; `None` when the agent submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<LimitHit>,
    pub model_calls: u32,
    pub tool_calls: u32,
    pub submitted: bool,
    pub seconds: f64,
    /// The scoring script's result, as the model would read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scoring_output: Option<String>,
    /// Protected files the agent changed, removed or replaced (behaviour probe).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tampered: Vec<String>,
    /// Tool calls (other than `submit`) after the operator said to stop (behaviour probe);
    /// `None` when no stop was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls_after_stop: Option<u32>,
}
