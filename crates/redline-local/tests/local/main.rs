//! The local models: GGUF chat model, its tokenizer and template, constrained choices, load
//! errors, the MiniLM sentence encoder, and (ignored) the speed benchmark. One test binary, since
//! each links candle.

mod embed_reference;
mod gguf_bench;
mod gguf_chat;
mod gguf_choices;
mod gguf_errors;
mod gguf_tokenizer;
