//! One chat request's fate: counted, authenticated, maybe faulted, delayed, answered.

use std::io;

use tokio::net::TcpStream;

use crate::config::Fault;
use crate::http::{wait_closed, Request, Response};
use crate::reply::{self, Api, Chat};
use crate::stats::{Counters, State};

/// What to do with the connection after a request.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    KeepAlive,
    /// Close gracefully (flush, then FIN).
    Close,
    /// Drop the socket at once (the `Drop` fault, or a client that went away).
    Abort,
}

/// Serves one chat request. In order: count it (overall and per prompt, so that
/// `first_attempts` counts this attempt), check the API key, pick a fault, sleep the
/// latency (except for `Drop` and `Hang`), answer.
pub(crate) async fn chat(
    stream: &mut TcpStream,
    state: &State,
    request: &Request,
    api: Api,
) -> io::Result<Next> {
    let counters = &state.counters;
    Counters::bump(&counters.requests);
    let _inflight = counters.enter();
    let keep = request.keep_alive;
    let done = if keep { Next::KeepAlive } else { Next::Close };

    let Some(chat) = Chat::parse(&request.body) else {
        let body = reply::error(
            Some(api),
            400,
            "the request body must be JSON with a `messages` list",
        );
        Response::json(400, &body, keep).write(stream).await?;
        return Ok(done);
    };
    if let Some(problem) = &chat.problem {
        let body = reply::error(Some(api), 400, problem);
        Response::json(400, &body, keep).write(stream).await?;
        return Ok(done);
    }
    let attempt = state.count_prompt(&chat.prompt);

    let presented = presented_key(request, api);
    if let Some(required) = &state.cfg.require_api_key {
        if presented != Some(required.as_str()) {
            Counters::bump(&counters.unauthorized);
            let body = reply::error(Some(api), 401, &reply::unauthorized_message(presented));
            Response::json(401, &body, keep).write(stream).await?;
            return Ok(done);
        }
    }

    let fault = state.pick_fault(&chat.prompt, attempt);
    if fault.is_some() {
        Counters::bump(&counters.faults);
    }
    match fault {
        Some(Fault::Drop) => return Ok(Next::Abort),
        Some(Fault::Hang) => {
            // Held until the client gives up; server shutdown cancels this task.
            wait_closed(stream).await;
            return Ok(Next::Abort);
        }
        _ => {}
    }
    if !state.cfg.latency.is_zero() {
        tokio::time::sleep(state.cfg.latency).await;
    }
    match fault {
        None => {
            let answer = state.cfg.reply.answer_chat(&chat);
            if let Some((name, _)) = reply::as_tool_call(&answer) {
                if !chat.tools.iter().any(|t| t == name) {
                    // As the real APIs do: a model only calls tools the request offers.
                    let message = format!(
                        "scripted a call to `{name}`, which the request does not offer (tools: {:?})",
                        chat.tools
                    );
                    let body = reply::error(Some(api), 400, &message);
                    Response::json(400, &body, keep).write(stream).await?;
                    return Ok(done);
                }
            }
            let body = reply::completion(api, state.next_id(), &chat, &answer);
            // Counted before the write, so a client that has read the answer sees it counted.
            Counters::bump(&counters.ok);
            Response::json(200, &body, keep).write(stream).await?;
            Ok(done)
        }
        Some(Fault::Status { code, retry_after }) => {
            let body = reply::error(Some(api), code, &format!("injected HTTP {code} error"));
            let header = retry_after.as_deref().map(|r| [("retry-after", r)]);
            let response = Response {
                headers: header.as_ref().map_or(&[], |h| h.as_slice()),
                ..Response::json(code, &body, keep)
            };
            response.write(stream).await?;
            Ok(done)
        }
        Some(Fault::Unauthorized) => {
            let body = reply::error(Some(api), 401, &reply::unauthorized_message(presented));
            Response::json(401, &body, keep).write(stream).await?;
            Ok(done)
        }
        Some(Fault::MalformedJson) => {
            let body = match api {
                Api::OpenAi => &br#"{"choices": [{"message": "#[..],
                Api::Anthropic => &br#"{"content": [{"type": "text", "text": "#[..],
            };
            Response::json(200, body, keep).write(stream).await?;
            Ok(done)
        }
        Some(Fault::TruncatedBody) => {
            let answer = state.cfg.reply.answer_chat(&chat);
            let full = reply::completion(api, state.next_id(), &chat, &answer);
            let response = Response {
                body: &full[..full.len() / 2],
                ..Response::json(200, &full, false)
            };
            response.write(stream).await?;
            Ok(Next::Close)
        }
        Some(Fault::Drop | Fault::Hang) => Ok(Next::Abort),
    }
}

/// The API key a request presents: `x-api-key` on the Anthropic path, a bearer token on the
/// OpenAI path.
fn presented_key(request: &Request, api: Api) -> Option<&str> {
    match api {
        Api::Anthropic => request.api_key.as_deref(),
        Api::OpenAi => request
            .authorization
            .as_deref()
            .and_then(|a| a.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, key)| key.trim()),
    }
}
