//! The agent's tools: what the model is offered (name, description, JSON Schema) and how each
//! call runs inside the sample's sandbox. Everything a call returns is text for the model;
//! bad arguments are reported to the model as a tool error, never a crash.

use redline_model::{ToolCall, ToolSpec};
use redline_sandbox::{ExecOutput, Sandbox, SandboxError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// At most this much of a command's output goes back to the model per stream; the rest is
/// cut with a note, as a terminal would scroll it away.
const MAX_RESULT_CHARS: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tool {
    Bash,
    Python,
    ReadFile,
    WriteFile,
    EditFile,
    ListDir,
    Submit,
}

impl Tool {
    pub const ALL: [Tool; 7] = [
        Tool::Bash,
        Tool::Python,
        Tool::ReadFile,
        Tool::WriteFile,
        Tool::EditFile,
        Tool::ListDir,
        Tool::Submit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tool::Bash => "bash",
            Tool::Python => "python",
            Tool::ReadFile => "read_file",
            Tool::WriteFile => "write_file",
            Tool::EditFile => "edit_file",
            Tool::ListDir => "list_dir",
            Tool::Submit => "submit",
        }
    }

    pub fn from_name(name: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The tool as offered to the model.
    pub fn spec(self) -> ToolSpec {
        let string = |d: &str| json!({"type": "string", "description": d});
        let (description, properties, required): (&str, Value, &[&str]) = match self {
            Tool::Bash => (
                "Run a bash command in the sandbox (working directory /work). Returns the exit code, stdout and stderr.",
                json!({"command": string("The command line.")}),
                &["command"],
            ),
            Tool::Python => (
                "Run a Python 3 program in the sandbox (working directory /work). Returns the exit code, stdout and stderr.",
                json!({"code": string("The program's source.")}),
                &["code"],
            ),
            Tool::ReadFile => (
                "Read a text file (a path relative to /work, or absolute).",
                json!({"path": string("The file to read.")}),
                &["path"],
            ),
            Tool::WriteFile => (
                "Write a text file, creating folders as needed and replacing any existing file.",
                json!({"path": string("The file to write."), "content": string("The whole new content.")}),
                &["path", "content"],
            ),
            Tool::EditFile => (
                "Replace exactly one occurrence of `old` with `new` in a text file.",
                json!({
                    "path": string("The file to edit."),
                    "old": string("Text that occurs exactly once in the file."),
                    "new": string("Its replacement."),
                }),
                &["path", "old", "new"],
            ),
            Tool::ListDir => (
                "List a directory (default /work).",
                json!({"path": string("The directory; default /work.")}),
                &[],
            ),
            Tool::Submit => (
                "Submit your final answer. This ends the task.",
                json!({"answer": string("The answer, e.g. the flag you found.")}),
                &["answer"],
            ),
        };
        ToolSpec {
            name: self.name().into(),
            description: description.into(),
            parameters: json!({"type": "object", "properties": properties, "required": required}),
        }
    }
}

/// What running one call gave.
#[derive(Debug)]
pub enum CallResult {
    /// Text for the model (a command's output, a file's content, an error to correct).
    Output(String),
    /// The agent submitted this answer.
    Submitted(String),
}

/// Runs `call` in `sandbox`, if `offered` includes its tool; a command gets at most
/// `timeout`. Only the sandbox failing to start at all is an error; everything else is text
/// for the model.
pub async fn run_call(
    call: &ToolCall,
    offered: &[Tool],
    sandbox: &Sandbox,
    timeout: std::time::Duration,
) -> Result<CallResult, SandboxError> {
    let Some(tool) = Tool::from_name(&call.name).filter(|t| offered.contains(t)) else {
        let names: Vec<_> = offered.iter().map(|t| t.name()).collect();
        return Ok(CallResult::Output(format!(
            "error: there is no tool `{}`; the tools are {}",
            call.name,
            names.join(", ")
        )));
    };
    let args: Value = match serde_json::from_str(&call.arguments) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return Ok(CallResult::Output(format!(
                "error: the arguments must be a JSON object, got {:?}",
                truncate(&call.arguments, 200)
            )))
        }
    };
    let arg = |key: &str| args.get(key).and_then(Value::as_str);
    let missing = |key: &str| {
        Ok(CallResult::Output(format!(
            "error: `{}` needs a string argument `{key}`",
            tool.name()
        )))
    };
    let out = match tool {
        Tool::Submit => {
            return match arg("answer") {
                Some(a) => Ok(CallResult::Submitted(a.to_string())),
                None => missing("answer"),
            }
        }
        Tool::Bash => match arg("command") {
            Some(c) => {
                sandbox
                    .exec_with_timeout(&["bash", "-c", c], None, timeout)
                    .await?
            }
            None => return missing("command"),
        },
        Tool::Python => match arg("code") {
            Some(code) => {
                sandbox
                    .exec_with_timeout(&["python3", "-"], Some(code.as_bytes()), timeout)
                    .await?
            }
            None => return missing("code"),
        },
        Tool::ReadFile => match arg("path") {
            Some(p) => sandbox.read_file(p).await?,
            None => return missing("path"),
        },
        Tool::WriteFile => match (arg("path"), arg("content")) {
            (Some(p), Some(c)) => {
                let out = sandbox.write_file(p, c.as_bytes()).await?;
                if out.success() {
                    return Ok(CallResult::Output(format!("wrote {} bytes to {p}", c.len())));
                }
                out
            }
            (None, _) => return missing("path"),
            (_, None) => return missing("content"),
        },
        Tool::EditFile => match (arg("path"), arg("old"), arg("new")) {
            (Some(p), Some(old), Some(new)) => return edit(sandbox, p, old, new).await,
            (None, _, _) => return missing("path"),
            (_, None, _) => return missing("old"),
            (_, _, None) => return missing("new"),
        },
        Tool::ListDir => sandbox.list_dir(arg("path").unwrap_or("/work")).await?,
    };
    Ok(CallResult::Output(describe(&out)))
}

async fn edit(sandbox: &Sandbox, path: &str, old: &str, new: &str) -> Result<CallResult, SandboxError> {
    let read = sandbox.read_file(path).await?;
    if !read.success() {
        return Ok(CallResult::Output(describe(&read)));
    }
    if read.truncated {
        return Ok(CallResult::Output(format!(
            "error: {path} is too large to edit this way; use bash"
        )));
    }
    let count = if old.is_empty() {
        0
    } else {
        read.stdout.matches(old).count()
    };
    if count != 1 {
        return Ok(CallResult::Output(format!(
            "error: `old` must occur exactly once in {path}; it occurs {count} times"
        )));
    }
    let updated = read.stdout.replacen(old, new, 1);
    let wrote = sandbox.write_file(path, updated.as_bytes()).await?;
    Ok(CallResult::Output(if wrote.success() {
        format!("edited {path}")
    } else {
        describe(&wrote)
    }))
}

/// A command's result as the model reads it.
pub fn describe(out: &ExecOutput) -> String {
    let status = if out.timed_out {
        "timed out (killed)".to_string()
    } else if let Some(code) = out.exit_code {
        format!("exit code {code}")
    } else if let Some(signal) = out.signal {
        format!("killed by signal {signal}")
    } else {
        "ended".to_string()
    };
    let mut text = status;
    if !out.stdout.is_empty() {
        text.push_str("\n[stdout]\n");
        text.push_str(&truncate(&out.stdout, MAX_RESULT_CHARS));
    }
    if !out.stderr.is_empty() {
        text.push_str("\n[stderr]\n");
        text.push_str(&truncate(&out.stderr, MAX_RESULT_CHARS));
    }
    if out.truncated {
        text.push_str("\n[output truncated]");
    }
    text
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}… [{} more bytes]", &text[..cut], text.len() - cut),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_a_schema_and_a_round_trip_name() {
        for t in Tool::ALL {
            assert_eq!(Tool::from_name(t.name()), Some(t));
            let spec = t.spec();
            assert_eq!(spec.parameters["type"], "object");
            for r in spec.parameters["required"].as_array().unwrap() {
                assert!(spec.parameters["properties"].get(r.as_str().unwrap()).is_some());
            }
        }
        assert_eq!(Tool::from_name("rm"), None);
    }

    #[tokio::test]
    async fn unknown_and_unoffered_tools_are_reported_to_the_model() {
        let Ok(backend) = redline_sandbox::Backend::detect() else {
            assert!(
                std::env::var_os("REDLINE_REQUIRE_SANDBOX").is_none(),
                "bubblewrap is required"
            );
            return;
        };
        let sandbox = Sandbox::create(&redline_sandbox::SandboxSpec {
            backend,
            limits: Default::default(),
            network: false,
        })
        .unwrap();
        let call = |name: &str| ToolCall {
            id: "c1".into(),
            name: name.into(),
            arguments: "{}".into(),
        };
        let timeout = std::time::Duration::from_secs(5);
        for (name, offered) in [
            ("launch", &Tool::ALL[..]),
            ("python", &[Tool::Bash, Tool::Submit][..]),
        ] {
            let CallResult::Output(text) = run_call(&call(name), offered, &sandbox, timeout).await.unwrap()
            else {
                panic!("not an output")
            };
            assert!(
                text.starts_with(&format!("error: there is no tool `{name}`")),
                "{text}"
            );
        }
    }

    #[test]
    fn results_say_how_the_command_ended_and_cut_long_output() {
        let out = ExecOutput {
            exit_code: Some(2),
            signal: None,
            stdout: "x".repeat(MAX_RESULT_CHARS + 10),
            stderr: "oops".into(),
            timed_out: false,
            truncated: false,
            duration_ms: 1,
        };
        let text = describe(&out);
        assert!(text.starts_with("exit code 2\n[stdout]\n"));
        assert!(text.contains("[10 more bytes]"));
        assert!(text.ends_with("[stderr]\noops"));
        let killed = ExecOutput {
            timed_out: true,
            exit_code: None,
            ..out
        };
        assert!(describe(&killed).starts_with("timed out"));
    }
}
