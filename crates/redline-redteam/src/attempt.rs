//! One attack on one goal: its budget, what happened step by step, and how it ended.

use std::time::{Duration, Instant};

use redline_model::{ChatResponse, Message};
use serde::{Deserialize, Serialize};

/// Limits on one attempt. Every loop checks them before each call and stops with the limit
/// it hit recorded; a success stops it earlier.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Calls to the target.
    pub max_queries: u32,
    /// Tokens over every role (target, attacker, judge), input and output.
    pub max_tokens: u64,
    /// Wall time for the attempt.
    #[serde(with = "millis")]
    pub max_wall: Duration,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_queries: 60,
            max_tokens: 200_000,
            max_wall: Duration::from_secs(600),
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// Which limit ended an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    Queries,
    Tokens,
    WallTime,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Stop {
    /// The judge rated a reply at or above the success rating.
    Success,
    /// Every stream, branch or turn was tried.
    Exhausted,
    /// A limit was reached first.
    Budget { limit: Limit },
    /// A model call failed after its retries.
    Error { message: String },
}

/// Who said something in an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Attacker,
    Target,
    Judge,
}

/// One step of an attempt, in order. `stream` and `depth` place it in the search: PAIR's
/// stream and iteration, a tree's branch and depth, crescendo's turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The attacker proposed a prompt (with its stated reasoning, when it gave one).
    Proposed {
        stream: usize,
        depth: usize,
        prompt: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        improvement: Option<String>,
    },
    /// The attacker's answer could not be read as a prompt.
    AttackerUnreadable {
        stream: usize,
        depth: usize,
        raw: String,
    },
    /// A branch the judge found off topic, pruned before the target saw it.
    Pruned {
        stream: usize,
        depth: usize,
        prompt: String,
    },
    /// The target was asked (the last user message) and answered.
    Target {
        stream: usize,
        depth: usize,
        prompt: String,
        reply: String,
    },
    /// The judge's rating of a reply (1–10), or why it could not be read.
    Judged {
        stream: usize,
        depth: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rating: Option<f64>,
        raw: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// Crescendo took back a refused turn.
    Backtracked {
        depth: usize,
        prompt: String,
        reply: String,
    },
}

/// Everything about one attack on one goal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub goal_id: String,
    pub attack: String,
    pub success: bool,
    pub stop: Stop,
    /// Calls to the target.
    pub queries: u32,
    /// Calls to the attacker and the judge.
    pub attacker_queries: u32,
    pub judge_queries: u32,
    /// Tokens over every role.
    pub tokens: u64,
    /// The target call that succeeded (1-based), when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queries_to_success: Option<u32>,
    /// The best rating the judge gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_rating: Option<f64>,
    /// Judge answers that could not be read (never counted as a rating).
    pub unreadable_verdicts: u32,
    /// The conversation the target saw when it gave in, its reply, and the judge's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succeeded_with: Option<Success>,
    pub events: Vec<Event>,
    pub wall_ms: u64,
}

/// The successful exchange of an attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Success {
    pub messages: Vec<Message>,
    pub reply: String,
    pub rating: f64,
    pub judge_reason: String,
}

/// Counts an attempt's calls and tokens against its budget.
#[derive(Debug)]
pub(crate) struct Meter {
    budget: Budget,
    started: Instant,
    pub queries: u32,
    pub attacker_queries: u32,
    pub judge_queries: u32,
    pub tokens: u64,
}

impl Meter {
    pub fn new(budget: Budget) -> Self {
        Meter {
            budget,
            started: Instant::now(),
            queries: 0,
            attacker_queries: 0,
            judge_queries: 0,
            tokens: 0,
        }
    }

    /// The limit that forbids another target query, if any.
    pub fn exceeded(&self) -> Option<Limit> {
        if self.queries >= self.budget.max_queries {
            Some(Limit::Queries)
        } else if self.tokens >= self.budget.max_tokens {
            Some(Limit::Tokens)
        } else if self.started.elapsed() >= self.budget.max_wall {
            Some(Limit::WallTime)
        } else {
            None
        }
    }

    pub fn count(&mut self, role: Role, response: &ChatResponse) {
        self.tokens += response.usage.input_tokens + response.usage.output_tokens;
        match role {
            Role::Target => self.queries += 1,
            Role::Attacker => self.attacker_queries += 1,
            Role::Judge => self.judge_queries += 1,
        }
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }
}
