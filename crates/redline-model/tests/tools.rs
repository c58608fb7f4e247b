//! Native function calling on both wire protocols, against the project's test server: the
//! tools go out, the model's calls come back, and results answer them in the next request.

use std::time::Duration;

use redline_model::{
    Anthropic, ChatRequest, ErrorKind, Message, Model, OpenAiCompatible, ProviderSettings, ToolCall, ToolSpec,
};
use redline_testserver::{tool_call, Reply, ReplyRule, ServerConfig, TestServer};
use serde_json::json;

fn settings(server: &TestServer) -> ProviderSettings {
    ProviderSettings {
        model: "test-model".into(),
        base_url: server.base_url(),
        api_key: None,
        request_timeout: Duration::from_secs(10),
        max_connections: 4,
    }
}

fn bash_tool() -> ToolSpec {
    ToolSpec {
        name: "bash".into(),
        description: "Run a shell command.".into(),
        parameters: json!({"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}),
    }
}

/// Calls `bash` first; once the tool result (which contains "flag.txt") is back, answers text.
async fn scripted_server() -> TestServer {
    TestServer::start(ServerConfig {
        reply: Reply::Rules(vec![
            ReplyRule::when_contains("flag.txt", "The listing shows flag.txt."),
            ReplyRule::always(tool_call("bash", json!({"command": "ls"}))),
        ]),
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn round_trip(model: &dyn Model) {
    let mut messages = vec![
        Message::system("You are an agent."),
        Message::user("List the files."),
    ];
    let mut request = ChatRequest::new(messages.clone());
    request.tools = vec![bash_tool()];
    let first = model.generate(&request).await.unwrap();
    assert_eq!(first.tool_calls.len(), 1, "{first:?}");
    let call: &ToolCall = &first.tool_calls[0];
    assert_eq!(call.name, "bash");
    let args: serde_json::Value = serde_json::from_str(&call.arguments).unwrap();
    assert_eq!(args, json!({"command": "ls"}));
    assert!(!call.id.is_empty());

    messages.push(Message::assistant_calls(
        first.content.clone(),
        first.tool_calls.clone(),
    ));
    messages.push(Message::tool_result(call.id.clone(), "flag.txt\nnotes.md"));
    request.messages = messages;
    let second = model.generate(&request).await.unwrap();
    assert!(second.tool_calls.is_empty());
    assert_eq!(second.content, "The listing shows flag.txt.");
}

#[tokio::test]
async fn openai_tool_calls_round_trip() {
    let server = scripted_server().await;
    let model = OpenAiCompatible::new(settings(&server)).unwrap();
    round_trip(&model).await;
}

#[tokio::test]
async fn anthropic_tool_use_round_trip() {
    let server = scripted_server().await;
    let model = Anthropic::new(settings(&server)).unwrap();
    round_trip(&model).await;
}

#[tokio::test]
async fn a_result_for_no_call_and_an_unoffered_tool_are_rejected_like_the_real_apis() {
    let server = scripted_server().await;
    for model in [
        Box::new(OpenAiCompatible::new(settings(&server)).unwrap()) as Box<dyn Model>,
        Box::new(Anthropic::new(settings(&server)).unwrap()),
    ] {
        // No tools offered: the scripted call to `bash` cannot be made.
        let err = model
            .generate(&ChatRequest::new(vec![Message::user("List the files.")]))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Request, "{err}");
        assert!(err.to_string().contains("does not offer"), "{err}");

        let mut request = ChatRequest::new(vec![
            Message::user("List the files."),
            Message::tool_result("call_nowhere", "flag.txt"),
        ]);
        request.tools = vec![bash_tool()];
        let err = model.generate(&request).await.unwrap_err();
        assert!(err.to_string().contains("call_nowhere"), "{err}");
    }
}
