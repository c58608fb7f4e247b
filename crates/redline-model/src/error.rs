use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What went wrong with one model call. The message never contains an API key: providers scrub
/// the key out of anything a server sends back.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("the endpoint rejected the credentials (HTTP {status}): {message}")]
    Auth { status: u16, message: String },
    #[error("rate limited (HTTP 429): {message}")]
    RateLimited {
        retry_after: Option<Duration>,
        message: String,
    },
    #[error("server error (HTTP {status}): {message}")]
    Server {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("request refused (HTTP {status}): {message}")]
    Request { status: u16, message: String },
    #[error("model or endpoint not found (HTTP 404): {message}")]
    NotFound { message: String },
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("connection failed: {0}")]
    Transport(String),
    #[error("malformed response: {0}")]
    Malformed(String),
}

/// A stable, storable name for each error class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Auth,
    RateLimited,
    Server,
    Request,
    NotFound,
    Timeout,
    Connect,
    Transport,
    Malformed,
    /// Not a model error: the whole sample ran out of time (recorded by the runner).
    SampleTimeout,
    /// Not a model error: an agent sample's sandbox or task setup failed.
    Sandbox,
}

impl ErrorKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorKind::Auth => "auth",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Server => "server",
            ErrorKind::Request => "request",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connect => "connect",
            ErrorKind::Transport => "transport",
            ErrorKind::Malformed => "malformed",
            ErrorKind::SampleTimeout => "sample_timeout",
            ErrorKind::Sandbox => "sandbox",
        }
    }
}

impl ModelError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ModelError::Auth { .. } => ErrorKind::Auth,
            ModelError::RateLimited { .. } => ErrorKind::RateLimited,
            ModelError::Server { .. } => ErrorKind::Server,
            ModelError::Request { .. } => ErrorKind::Request,
            ModelError::NotFound { .. } => ErrorKind::NotFound,
            ModelError::Timeout(_) => ErrorKind::Timeout,
            ModelError::Connect(_) => ErrorKind::Connect,
            ModelError::Transport(_) => ErrorKind::Transport,
            ModelError::Malformed(_) => ErrorKind::Malformed,
        }
    }

    /// Worth another attempt: rate limits, 5xx, timeouts, dropped or truncated connections,
    /// unparseable bodies, and refused connections (a server restarting).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ModelError::RateLimited { .. }
                | ModelError::Server { .. }
                | ModelError::Timeout(_)
                | ModelError::Connect(_)
                | ModelError::Transport(_)
                | ModelError::Malformed(_)
        )
    }

    /// An error no other sample will escape either (bad key, wrong model or URL): the run
    /// should stop rather than record it against every sample.
    pub fn is_fatal(&self) -> bool {
        matches!(self, ModelError::Auth { .. } | ModelError::NotFound { .. })
    }

    /// The wait the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ModelError::RateLimited { retry_after, .. } | ModelError::Server { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }
}
