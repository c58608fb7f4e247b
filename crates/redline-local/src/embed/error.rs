//! Why the sentence encoder could not load or run. Loading errors name the file, so the message
//! says which model file to fetch or fix.

use std::path::PathBuf;

/// Loading the MiniLM sentence encoder, or embedding with it, failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmbedError {
    #[error("{}: no such model file (scripts/fetch-models.sh fetches the sentence encoder)", path.display())]
    Missing { path: PathBuf },
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a BERT config: {source}", path.display())]
    Config {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}: cannot load the tokenizer: {reason}", path.display())]
    Tokenizer { path: PathBuf, reason: String },
    #[error("{}: cannot load the weights: {reason}", path.display())]
    Weights { path: PathBuf, reason: String },
    #[error("cannot tokenize the input: {reason}")]
    Encode { reason: String },
    #[error("the encoder failed: {0}")]
    Forward(#[from] candle_core::Error),
}
