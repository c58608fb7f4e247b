//! A fault-injecting OpenAI- and Anthropic-compatible HTTP server for Redline's integration
//! tests and benchmarks. It listens on 127.0.0.1 only.
//!
//! It answers
//! * `POST …/chat/completions` (OpenAI Chat Completions) and `POST …/messages` (Anthropic
//!   Messages) with a [`Reply`] computed from the last user message, after a configurable
//!   latency; token usage counts whitespace-separated words;
//! * tool calls on both APIs when a scripted reply says so ([`tool_call`]), checking like the
//!   real APIs that the tool is offered and that every tool result answers an earlier call;
//! * `GET …/models` with a single `test-model`, and `GET /stats` with [`Stats`] as JSON;
//!
//! and injects [`Fault`]s on demand: HTTP errors with `Retry-After`, 401s that echo the
//! presented key, hangs, malformed JSON, truncated bodies and dropped connections, for every
//! request, for prompts containing some text, for the first *n* attempts of each prompt, or
//! at a seeded random rate (see [`FaultRule`], and [`FaultRule::parse`] for the compact form
//! the `redline-testserver` binary takes with `--fault`).
//!
//! Connections are HTTP/1.1 keep-alive, served by one tokio task each.
//!
//! # Example
//!
//! A server whose every prompt fails once with a 429, then succeeds:
//!
//! ```
//! use std::io::{Read, Write};
//! use std::time::Duration;
//! use redline_testserver::{Fault, FaultRule, Match, Reply, ServerConfig, TestServer};
//!
//! let server = TestServer::start_background(ServerConfig {
//!     reply: Reply::Sum,
//!     faults: vec![FaultRule {
//!         when: Match::All,
//!         fault: Fault::Status { code: 429, retry_after: Some("1".into()) },
//!         first_attempts: Some(1),
//!         rate: None,
//!     }],
//!     latency: Duration::from_millis(5),
//!     ..Default::default()
//! })?;
//! assert!(server.base_url().starts_with("http://127.0.0.1:"));
//!
//! // Any HTTP client pointed at `server.base_url()` works; here, a raw one.
//! let ask = || -> std::io::Result<String> {
//!     let body = r#"{"model":"m","messages":[{"role":"user","content":"What is 12 + 30?"}]}"#;
//!     let mut s = std::net::TcpStream::connect(server.addr())?;
//!     write!(s, "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\
//!                content-length: {}\r\n\r\n{body}", body.len())?;
//!     let mut response = String::new();
//!     s.read_to_string(&mut response)?;
//!     Ok(response)
//! };
//! let first = ask()?;
//! assert!(first.starts_with("HTTP/1.1 429") && first.contains("retry-after: 1"));
//! let second = ask()?;
//! assert!(second.starts_with("HTTP/1.1 200") && second.contains(r#""content":"42""#));
//!
//! assert_eq!(server.requests_for("What is 12 + 30?"), 2);
//! let stats = server.stats();
//! assert_eq!((stats.requests, stats.ok, stats.faults), (2, 1, 1));
//! server.shutdown();
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! From async code, [`TestServer::start`] serves on the current runtime instead:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use redline_testserver::{Reply, ServerConfig, TestServer};
//! let server = TestServer::start(ServerConfig {
//!     reply: Reply::Fixed("Paris".into()),
//!     ..Default::default()
//! })
//! .await?;
//! let base_url = server.base_url(); // "http://127.0.0.1:PORT/v1"
//! # assert!(base_url.ends_with("/v1"));
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod chat;
mod config;
mod http;
mod reply;
mod server;
mod stats;

pub use config::{Fault, FaultRule, Match, ServerConfig};
pub use reply::{tool_call, Reply, ReplyRule, TOOL_CALL_PREFIX};
pub use server::TestServer;
pub use stats::Stats;
