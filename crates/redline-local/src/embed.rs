//! The all-MiniLM-L6-v2 sentence encoder, run on the CPU with candle: 384-dimensional unit
//! vectors whose dot product is the cosine similarity of two texts' meanings.
//!
//! It reproduces what `sentence-transformers` does for this model (its `modules.json`):
//! the BERT encoder, then a mean over the real (non-padding) tokens (`1_Pooling/config.json`:
//! `pooling_mode_mean_tokens`), then L2 normalisation (`2_Normalize`), with inputs cut at
//! 256 tokens (`sentence_bert_config.json`: `max_seq_length`). The fixture
//! `tests/local/fixtures/minilm_reference.json` holds reference vectors made independently in Python.

mod error;

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{Tokenizer, TruncationParams};

pub use error::EmbedError;

/// The model's `max_seq_length`: longer texts are cut, as sentence-transformers does. The
/// tokenizer.json shipped with the model says 128, which sentence-transformers overrides.
pub const MAX_TOKENS: usize = 256;

/// Texts run through the model together. Within a batch every text is padded to the longest,
/// so batches are formed from texts sorted by length to keep padding small.
const BATCH: usize = 32;

/// A loaded sentence encoder. Embedding is read-only: share one across threads behind an `Arc`.
///
/// ```no_run
/// use redline_local::embed::SentenceEncoder;
///
/// let encoder = SentenceEncoder::load(&redline_local::default_encoder_dir())?;
/// let v = encoder.embed(&["I can't help with that.", "I won't assist with this."])?;
/// let cosine: f32 = v[0].iter().zip(&v[1]).map(|(a, b)| a * b).sum();
/// assert!(cosine > 0.5);
/// # Ok::<(), redline_local::embed::EmbedError>(())
/// ```
pub struct SentenceEncoder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    dim: usize,
}

impl std::fmt::Debug for SentenceEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentenceEncoder")
            .field("dim", &self.dim)
            .finish_non_exhaustive()
    }
}

fn existing(dir: &Path, name: &str) -> Result<std::path::PathBuf, EmbedError> {
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(EmbedError::Missing { path })
    }
}

impl SentenceEncoder {
    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `dir` (the layout
    /// `scripts/fetch-models.sh` writes; see [`crate::default_encoder_dir`]).
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let config_path = existing(dir, "config.json")?;
        let tokenizer_path = existing(dir, "tokenizer.json")?;
        let weights_path = existing(dir, "model.safetensors")?;

        let text = std::fs::read_to_string(&config_path).map_err(|source| EmbedError::Io {
            path: config_path.clone(),
            source,
        })?;
        let config: Config = serde_json::from_str(&text).map_err(|source| EmbedError::Config {
            path: config_path.clone(),
            source,
        })?;

        let tokenizer_error = |reason: String| EmbedError::Tokenizer {
            path: tokenizer_path.clone(),
            reason,
        };
        let mut tokenizer =
            Tokenizer::from_file(&tokenizer_path).map_err(|e| tokenizer_error(e.to_string()))?;
        // The file pads every input to a fixed 128; padding is done per batch below instead.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| tokenizer_error(e.to_string()))?;

        let device = Device::Cpu;
        let weights_error = |reason: String| EmbedError::Weights {
            path: weights_path.clone(),
            reason,
        };
        // SAFETY: the file is only read, and fetch-models.sh replaces it by rename, never in place.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights_path], DType::F32, &device) }
            .map_err(|e| weights_error(e.to_string()))?;
        let model = BertModel::load(vb, &config).map_err(|e| weights_error(e.to_string()))?;
        Ok(Self {
            model,
            tokenizer,
            device,
            dim: config.hidden_size,
        })
    }

    /// The length of every vector [`embed`](Self::embed) returns (384 for MiniLM-L6).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// One unit vector per text, in the order given.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let encodings =
            self.tokenizer
                .encode_batch(texts.to_vec(), true)
                .map_err(|e| EmbedError::Encode {
                    reason: e.to_string(),
                })?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encodings[i].get_ids().len());
        let mut out = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(BATCH) {
            let batch: Vec<(&[u32], &[u32])> = chunk
                .iter()
                .map(|&i| (encodings[i].get_ids(), encodings[i].get_type_ids()))
                .collect();
            for (&i, vector) in chunk.iter().zip(self.forward(&batch)?) {
                out[i] = vector;
            }
        }
        Ok(out)
    }

    /// Runs one batch of token ids (with their type ids): pad, encode, mean-pool, normalise.
    fn forward(&self, batch: &[(&[u32], &[u32])]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let len = batch.iter().map(|(ids, _)| ids.len()).max().unwrap_or(0).max(1);
        let n = batch.len();
        let (mut ids, mut types, mut mask) = (vec![0u32; n * len], vec![0u32; n * len], vec![0u32; n * len]);
        for (row, (row_ids, row_types)) in batch.iter().enumerate() {
            let at = row * len;
            ids[at..at + row_ids.len()].copy_from_slice(row_ids);
            types[at..at + row_types.len()].copy_from_slice(row_types);
            mask[at..at + row_ids.len()].fill(1);
        }
        let ids = Tensor::from_vec(ids, (n, len), &self.device)?;
        let types = Tensor::from_vec(types, (n, len), &self.device)?;
        let mask = Tensor::from_vec(mask, (n, len), &self.device)?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?;
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        // sentence-transformers clamps the token count at 1e-9; an empty text still has
        // [CLS] and [SEP], so the count is never zero here.
        let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        // F.normalize(p=2, eps=1e-12), as the model's 2_Normalize module.
        let norms = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        Ok(mean.broadcast_div(&norms)?.to_vec2::<f32>()?)
    }
}

/// The dot product of two vectors: the cosine similarity of two [`SentenceEncoder::embed`]
/// outputs, which are unit length.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
