//! The eval runner over real HTTP, and the refusal classifier against its labelled set. One test
//! binary, since each links candle (through the embedding option).

mod agent;
mod common;
mod games;
mod refusal_head;
mod refusal_labelled;
mod runner;
mod xstest_human;
