//! The CLI end to end: real `redline` processes, real HTTP to the project's test server, real
//! SQLite stores. One test binary (each binary links the whole workspace, candle included, so one
//! per file cost CI gigabytes of disk); run one part with `cargo test -p redline --test cli assess::`.

mod common;

mod agentic;
mod assess;
mod bad_input;
mod card;
mod eval;
mod horizon;
mod judge_check;
mod local;
mod redteam;
mod shipped_suites;
