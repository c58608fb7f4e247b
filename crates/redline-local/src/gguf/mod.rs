//! A GGUF chat model (llama architecture) run in-process on the CPU with candle, behind the same
//! [`Model`] trait as the remote providers: the default target on a machine with no API key.
//!
//! The file carries everything: quantised weights (read by candle's `quantized_llama`), the
//! tokenizer ([`GgufTokenizer`], rebuilt from `tokenizer.ggml.*`) and the chat template
//! ([`ChatTemplate`], `tokenizer.chat_template`, rendered with minijinja).

mod error;
mod generate;
mod meta;
mod pycompat;
mod template;
mod tokenizer;
mod transcode;

use std::path::Path;
use std::sync::{Arc, Mutex};

use candle_core::Device;
use candle_transformers::models::quantized_llama::{ModelWeights, MAX_SEQ_LEN};
use redline_model::{ChatRequest, ChatResponse, Model, ModelError, ModelId};

pub use error::LocalModelError;
pub use generate::GenerationStats;
pub use template::{ChatTemplate, CHATML};
pub use tokenizer::GgufTokenizer;
pub use transcode::WeightEncoding;

use generate::{internal, Engine};
use meta::{read_header, Meta};

/// Tokens that end an assistant turn in the common chat formats. A file's EOS is often the
/// document end (`<|endoftext|>`) while the model ends its turn with `<|im_end|>` (ChatML) or
/// `<|eot_id|>` (Llama 3), so all that exist in the vocabulary stop generation.
const END_OF_TURN: [&str; 3] = ["<|im_end|>", "<|endoftext|>", "<|eot_id|>"];

/// A chat model from a GGUF file, run on the CPU. Its id is `local/<file stem>`.
///
/// Loading reads the whole file (about 100 MB for the default SmolLM2-135M). Generation runs on a
/// blocking thread, one request at a time; clones share the loaded weights.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use redline_local::gguf::GgufChatModel;
/// use redline_model::{ChatRequest, GenerateConfig, Message, Model};
///
/// let model = GgufChatModel::load(&redline_local::default_chat_model_path())?;
/// assert_eq!(model.id().0, "local/SmolLM2-135M-Instruct.Q4_1");
/// let request = ChatRequest {
///     config: GenerateConfig { temperature: Some(0.0), max_tokens: Some(16), ..Default::default() },
///     ..ChatRequest::new(vec![Message::user("What is the capital of France? Answer in one word.")])
/// };
/// let answer = model.generate(&request).await?;
/// println!("{} ({:?}, {} tokens)", answer.content, answer.finish_reason, answer.usage.output_tokens);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct GgufChatModel {
    id: ModelId,
    engine: Arc<Engine>,
}

impl std::fmt::Debug for GgufChatModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufChatModel")
            .field("id", &self.id)
            .field("context_length", &self.engine.context_length)
            .finish_non_exhaustive()
    }
}

impl GgufChatModel {
    /// Loads a llama-architecture GGUF file with a byte-level BPE tokenizer, with
    /// [`WeightEncoding::Fast`]. The checks that need only the header (architecture, tokenizer,
    /// template) run before the weights are read.
    pub fn load(path: &Path) -> Result<Self, LocalModelError> {
        Self::load_with(path, WeightEncoding::default())
    }

    /// [`load`](Self::load), choosing how the weights are held in memory.
    pub fn load_with(path: &Path, encoding: WeightEncoding) -> Result<Self, LocalModelError> {
        let (mut reader, content) = read_header(path)?;
        let meta = Meta::new(&content, path);
        let architecture = meta.str("general.architecture")?;
        if architecture != "llama" {
            return Err(LocalModelError::UnsupportedArchitecture {
                path: path.to_path_buf(),
                architecture: architecture.into(),
            });
        }
        let tokenizer = GgufTokenizer::from_meta(&meta)?;
        let template = ChatTemplate::from_meta(&meta, &tokenizer)?;
        // candle precomputes rotary embeddings for MAX_SEQ_LEN positions, so that caps the
        // context whatever the file claims (SmolLM2 says 8192).
        let context_length = meta
            .opt_u64("llama.context_length")?
            .and_then(|n| usize::try_from(n).ok())
            .map_or(MAX_SEQ_LEN, |n| n.min(MAX_SEQ_LEN));
        let mut stop_ids = vec![tokenizer.eos().0];
        stop_ids.extend(END_OF_TURN.iter().filter_map(|t| tokenizer.token_to_id(t)));
        stop_ids.sort_unstable();
        stop_ids.dedup();

        let device = Device::Cpu;
        let weights_err = |e: candle_core::Error| LocalModelError::Weights {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let weights = match encoding {
            WeightEncoding::Fast if transcode::has_slow_tensors(&content) => {
                let target = transcode::fast_encoding(&content);
                let (content, mut memory) =
                    transcode::transcode(content, &mut reader, target).map_err(weights_err)?;
                ModelWeights::from_gguf(content, &mut memory, &device)
            }
            _ => ModelWeights::from_gguf(content, &mut reader, &device),
        }
        .map_err(weights_err)?;
        let stem = path
            .file_stem()
            .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
        Ok(GgufChatModel {
            id: ModelId(format!("local/{stem}")),
            engine: Arc::new(Engine {
                served_model: stem,
                tokenizer,
                template,
                stop_ids,
                context_length,
                device,
                weights: Mutex::new(weights),
            }),
        })
    }

    pub fn tokenizer(&self) -> &GgufTokenizer {
        &self.engine.tokenizer
    }

    pub fn chat_template(&self) -> &ChatTemplate {
        &self.engine.template
    }

    /// Prompt plus answer tokens the model can attend to.
    pub fn context_length(&self) -> usize {
        self.engine.context_length
    }

    /// [`Model::generate`] on the calling thread, with timings. It blocks for the whole
    /// generation: call it from a blocking thread, not an async task.
    pub fn generate_blocking(
        &self,
        request: &ChatRequest,
    ) -> Result<(ChatResponse, GenerationStats), ModelError> {
        self.engine.generate(request)
    }
}

#[async_trait::async_trait]
impl Model for GgufChatModel {
    fn id(&self) -> &ModelId {
        &self.id
    }

    async fn generate(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let engine = Arc::clone(&self.engine);
        let request = request.clone();
        // Inference is CPU-bound for seconds: keep it off the async worker threads.
        tokio::task::spawn_blocking(move || engine.generate(&request).map(|(response, _)| response))
            .await
            .map_err(|e| internal(format!("the generation thread failed: {e}")))?
    }
}
