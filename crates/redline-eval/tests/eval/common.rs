//! Helpers the async tests share: a scripted test server and a model pointed at it.

use std::sync::Arc;
use std::time::Duration;

use redline_model::{build_model, Model, ModelSpec};
use redline_testserver::{Reply, ReplyRule, ServerConfig, TestServer};

/// A test server answering by `rules`.
pub async fn server(rules: Vec<ReplyRule>) -> TestServer {
    TestServer::start(ServerConfig {
        reply: Reply::Rules(rules),
        ..Default::default()
    })
    .await
    .expect("test server starts")
}

/// An OpenAI-compatible model at `server`.
pub fn model(server: &TestServer) -> Arc<dyn Model> {
    let spec: ModelSpec = "openai-compatible/test-model".parse().expect("a model spec");
    build_model(&spec, Some(&server.base_url()), None, Duration::from_secs(10), 8).expect("builds")
}
