//! Why a GGUF file could not be turned into a chat model. Every variant names the file, so a
//! message in a run log says which model file to fix.

use std::path::PathBuf;

/// Loading a GGUF chat model (or only its tokenizer or chat template) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalModelError {
    #[error("{}: no such model file (scripts/fetch-models.sh fetches the default models)", path.display())]
    Missing { path: PathBuf },
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a GGUF file: {reason}", path.display())]
    NotGguf { path: PathBuf, reason: String },
    #[error(
        "{}: architecture `{architecture}` is not supported (only `llama`, as in SmolLM2, Llama, Mistral)",
        path.display()
    )]
    UnsupportedArchitecture { path: PathBuf, architecture: String },
    #[error(
        "{}: tokenizer `{model}` is not supported (only byte-level BPE, `gpt2`; `llama` is SentencePiece)",
        path.display()
    )]
    UnsupportedTokenizer { path: PathBuf, model: String },
    #[error("{}: metadata `{key}` is missing or has the wrong type", path.display())]
    MissingMetadata { path: PathBuf, key: String },
    #[error("{}: bad tokenizer metadata: {reason}", path.display())]
    Tokenizer { path: PathBuf, reason: String },
    #[error("{}: bad chat template: {reason}", path.display())]
    ChatTemplate { path: PathBuf, reason: String },
    #[error("{}: cannot load the weights: {reason}", path.display())]
    Weights { path: PathBuf, reason: String },
}
