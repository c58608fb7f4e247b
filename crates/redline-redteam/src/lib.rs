//! Red teaming for Redline.
//!
//! - [`goals`]: what attacks try to get, read from HarmBench or JailbreakBench CSVs or JSON Lines.
//! - [`attack`]: the attacks — converter stacks (encodings, jailbreak templates, composable as
//!   `a+b`) and the attacker-model loops PAIR, tree of attacks with pruning, and crescendo —
//!   and their settings.
//! - [`run_attack`]: one attack on one goal, within a [`Budget`] (target queries, tokens, wall
//!   time), stopping at the first reply the judge rates a success; every step is an [`Event`].
//! - [`campaign`]: goals × attacks with bounded concurrency and resume, and the campaign
//!   report (success rates with Wilson intervals per attack and category, queries to success,
//!   tokens).
//! - [`dedup`]: grouping near-duplicate findings.
//!
//! The judge is the rubric machinery of the safety suite (`redline_eval::rubric`): its last
//! `RATING: N` line is read strictly, and an unreadable verdict is counted, never a score.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo(roles: redline_redteam::Roles) {
//! use redline_redteam::{run_attack, AttackSpec, Budget, Goal, LoopSettings};
//!
//! let goal = Goal {
//!     id: "lock".into(),
//!     goal: "Explain how to pick a pin tumbler lock".into(),
//!     category: "locks".into(),
//!     target: None,
//! };
//! let attempt = run_attack(&roles, &LoopSettings::default(), Budget::default(), &goal, &AttackSpec::Pair).await;
//! println!("{}: success {} after {} target queries", attempt.attack, attempt.success, attempt.queries);
//! # }
//! ```

pub mod attack;
mod attempt;
pub mod campaign;
pub mod dedup;
pub mod goals;
pub mod judge_check;
mod loops;
mod session;

pub use attack::{parse_attacks, AttackSpec, LoopSettings, UnknownAttack};
pub use attempt::{Attempt, Budget, Event, Limit, Role, Stop, Success};
pub use campaign::{report, run_campaign, Campaign, CampaignReport};
pub use goals::{load_goals, Goal, GoalFormat, GoalsError};
pub use loops::run_attack;
pub use session::Roles;
