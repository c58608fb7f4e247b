//! One chat completion: render, tokenize, prefill the prompt, then decode token by token until
//! an end-of-turn token, a stop string, `max_tokens` or the end of the context.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use candle_core::{Device, Tensor};
use candle_transformers::generation::LogitsProcessor;
use candle_transformers::models::quantized_llama::ModelWeights;
use redline_model::{ChatRequest, ChatResponse, ModelError, Usage};

use super::{ChatTemplate, GgufTokenizer};

/// Answers are this long at most unless the request says otherwise.
pub(crate) const DEFAULT_MAX_TOKENS: u32 = 256;

/// How long one generation took, split the way CPU inference cost splits: the prompt is
/// processed in one batched pass (prefill), the answer one token at a time (decode).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenerationStats {
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub prefill: Duration,
    pub decode: Duration,
}

impl GenerationStats {
    pub fn prefill_tokens_per_sec(&self) -> f64 {
        per_sec(self.prompt_tokens, self.prefill)
    }

    /// Decode steps run after the prefill: one per generated token but the first, which the
    /// prefill's logits already give.
    pub fn decode_tokens_per_sec(&self) -> f64 {
        per_sec(self.generated_tokens.saturating_sub(1), self.decode)
    }
}

fn per_sec(tokens: usize, time: Duration) -> f64 {
    if time.is_zero() {
        0.0
    } else {
        tokens as f64 / time.as_secs_f64()
    }
}

/// Everything a generation needs; shared by every clone of the model through an `Arc`.
pub(crate) struct Engine {
    pub served_model: String,
    pub tokenizer: GgufTokenizer,
    pub template: ChatTemplate,
    /// Token ids that end the assistant's turn.
    pub stop_ids: Vec<u32>,
    pub context_length: usize,
    pub device: Device,
    /// `ModelWeights` keeps the key/value cache of the sequence being decoded inside itself, so
    /// two generations cannot share one. A mutex serialises them: on a 2-core machine one
    /// generation already keeps every core busy (candle parallelises each matmul), so a pool of
    /// caches would add memory but little throughput. (`ModelWeights::clone` shares the weight
    /// tensors, so a pool is cheap to add if larger machines need it.)
    pub weights: Mutex<ModelWeights>,
}

fn refused(message: String) -> ModelError {
    ModelError::Request { status: 400, message }
}

/// A failure inside the local runtime; not retryable, like an HTTP 500 that will repeat.
pub(crate) fn internal(message: String) -> ModelError {
    ModelError::Request {
        status: 500,
        message: format!("local inference: {message}"),
    }
}

impl Engine {
    /// Greedy decoding constrained to `choices`: at each step only tokens that continue some
    /// remaining choice are allowed, and the likeliest of them is taken, until one choice is
    /// complete. One prompt pass, then a step per token of the chosen answer: the classifier
    /// reading of a generative model (what it would say if it could say only these).
    fn choose(
        &self,
        choices: &[String],
        first: Tensor,
        mut position: usize,
        forward: &mut impl FnMut(&[u32], usize) -> candle_core::Result<Tensor>,
    ) -> Result<(usize, usize), ModelError> {
        let ids: Vec<Vec<u32>> = choices
            .iter()
            .map(|c| self.tokenizer.encode(c))
            .collect::<Result<_, _>>()
            .map_err(|e| internal(format!("tokenizing a choice: {e}")))?;
        let mut alive: Vec<usize> = (0..ids.len()).filter(|&i| !ids[i].is_empty()).collect();
        if alive.is_empty() {
            return Err(refused("every choice is empty".into()));
        }
        let mut logits = first;
        let mut depth = 0;
        loop {
            let values: Vec<f32> = logits
                .to_dtype(candle_core::DType::F32)
                .and_then(|l| l.to_vec1())
                .map_err(|e| internal(e.to_string()))?;
            let score = |t: u32| values.get(t as usize).copied().unwrap_or(f32::NEG_INFINITY);
            let best = alive
                .iter()
                .map(|&i| ids[i][depth])
                .max_by(|a, b| score(*a).total_cmp(&score(*b)))
                .ok_or_else(|| internal("no choice left".into()))?;
            alive.retain(|&i| ids[i][depth] == best);
            depth += 1;
            // The shortest choice spelled out so far wins (one that is a prefix of another).
            if let Some(&done) = alive.iter().find(|&&i| ids[i].len() == depth) {
                return Ok((done, depth));
            }
            logits = forward(&[best], position).map_err(|e| internal(e.to_string()))?;
            position += 1;
        }
    }

    pub fn generate(&self, request: &ChatRequest) -> Result<(ChatResponse, GenerationStats), ModelError> {
        let config = &request.config;
        if let Some(t) = config.temperature.filter(|t| !(t.is_finite() && *t >= 0.0)) {
            return Err(refused(format!(
                "temperature must be a finite number >= 0, got {t}"
            )));
        }
        if let Some(p) = config.top_p.filter(|p| !(*p > 0.0 && *p <= 1.0)) {
            return Err(refused(format!("top_p must be in (0, 1], got {p}")));
        }
        let prompt = self
            .template
            .render(&request.messages)
            .map_err(|e| refused(format!("chat template: {e:#}")))?;
        let prompt_ids = self
            .tokenizer
            .encode_prompt(&prompt)
            .map_err(|e| internal(format!("tokenizing: {e}")))?;
        if prompt_ids.is_empty() {
            return Err(refused("the prompt is empty".into()));
        }
        // Refuse rather than truncate: cutting the conversation would silently change what is
        // being evaluated. One free position is needed for the first answer token.
        if prompt_ids.len() >= self.context_length {
            return Err(refused(format!(
                "the prompt is {} tokens but {}'s context holds {}; shorten the conversation",
                prompt_ids.len(),
                self.served_model,
                self.context_length
            )));
        }
        let max_tokens = config.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS) as usize;
        let stops: Vec<&str> = config
            .stop
            .iter()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        // Temperature `None` or 0 is greedy (argmax); otherwise seeded sampling, seed 0 unless
        // the request gives one, so a run can be repeated token for token.
        let mut sampler = LogitsProcessor::new(config.seed.unwrap_or(0), config.temperature, config.top_p);
        let step = |e: candle_core::Error| internal(e.to_string());

        // A panic in an earlier generation poisons the mutex but leaves the weights intact, and
        // the cache is cleared below, so the lock is taken back rather than failing forever.
        let mut weights = self.weights.lock().unwrap_or_else(PoisonError::into_inner);
        weights.clear_kv_cache();
        let mut forward = |ids: &[u32], position: usize| -> candle_core::Result<Tensor> {
            let input = Tensor::new(ids, &self.device)?.unsqueeze(0)?;
            weights.forward(&input, position)?.squeeze(0)
        };

        let started = Instant::now();
        let mut logits = if max_tokens == 0 {
            None
        } else {
            Some(forward(&prompt_ids, 0).map_err(step)?)
        };
        let prefill = started.elapsed();
        if !config.choices.is_empty() {
            let first = logits
                .take()
                .ok_or_else(|| refused("choices need max_tokens of at least 1".into()))?;
            let (index, steps) = self.choose(&config.choices, first, prompt_ids.len(), &mut forward)?;
            let response = ChatResponse {
                content: config.choices[index].clone(),
                finish_reason: Some("stop".into()),
                usage: Usage {
                    input_tokens: prompt_ids.len() as u64,
                    output_tokens: steps as u64,
                },
                served_model: Some(self.served_model.clone()),
                moderation: Vec::new(),
                tool_calls: Vec::new(),
            };
            let stats = GenerationStats {
                prompt_tokens: prompt_ids.len(),
                generated_tokens: steps,
                prefill,
                decode: started.elapsed() - prefill,
            };
            return Ok((response, stats));
        }
        let decode_started = Instant::now();
        let mut position = prompt_ids.len();
        let mut generated: Vec<u32> = Vec::new();
        let mut cut_at = None;
        let finish = loop {
            let Some(current) = logits.take() else {
                break "length";
            };
            let next = sampler.sample(&current).map_err(step)?;
            if self.stop_ids.contains(&next) {
                break "stop";
            }
            generated.push(next);
            if !stops.is_empty() {
                // Decode the whole answer each step: a stop string can span tokens, and a
                // multi-byte character only decodes once all its tokens are in.
                let text = self
                    .tokenizer
                    .decode(&generated)
                    .map_err(|e| internal(format!("decoding: {e}")))?;
                if let Some(cut) = stops.iter().filter_map(|s| text.find(s)).min() {
                    cut_at = Some(cut);
                    break "stop";
                }
            }
            if generated.len() >= max_tokens || position >= self.context_length {
                break "length";
            }
            logits = Some(forward(&[next], position).map_err(step)?);
            position += 1;
        };
        let decode = decode_started.elapsed();

        let mut content = self
            .tokenizer
            .decode(&generated)
            .map_err(|e| internal(format!("decoding: {e}")))?;
        if let Some(cut) = cut_at {
            content.truncate(cut);
        }
        let stats = GenerationStats {
            prompt_tokens: prompt_ids.len(),
            generated_tokens: generated.len(),
            prefill,
            decode,
        };
        tracing::debug!(
            model = %self.served_model,
            prompt_tokens = stats.prompt_tokens,
            generated_tokens = stats.generated_tokens,
            prefill_tok_s = stats.prefill_tokens_per_sec(),
            decode_tok_s = stats.decode_tokens_per_sec(),
            "local generation"
        );
        let response = ChatResponse {
            content,
            finish_reason: Some(finish.to_string()),
            // The end-of-turn token is not counted: output tokens are the answer's tokens.
            usage: Usage {
                input_tokens: prompt_ids.len() as u64,
                output_tokens: generated.len() as u64,
            },
            served_model: Some(self.served_model.clone()),
            moderation: Vec::new(),
            tool_calls: Vec::new(),
        };
        Ok((response, stats))
    }
}
