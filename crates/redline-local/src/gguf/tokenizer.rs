//! The tokenizer a GGUF file describes in its metadata (`tokenizer.ggml.*`), rebuilt with the
//! `tokenizers` crate: GPT-2 style byte-level BPE from the vocabulary and the merge list, with the
//! file's control tokens (`<|im_start|>`, ...) as special tokens so a rendered chat prompt
//! tokenizes the way the model was trained.

use std::path::Path;

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

use super::meta::{read_header, Meta};
use super::LocalModelError;

/// GGUF token types (llama.cpp's `llama_token_type`).
const TOKEN_TYPE_CONTROL: i64 = 3;
const TOKEN_TYPE_USER_DEFINED: i64 = 4;

/// Llama 3's split regex (llama.cpp `LLAMA_VOCAB_PRE_TYPE_LLAMA3`), for `tokenizer.ggml.pre` =
/// `llama-bpe`; the GPT-2 regex built into `ByteLevel` would split numbers and newlines differently.
const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// A GGUF file's byte-level BPE tokenizer.
pub struct GgufTokenizer {
    inner: Tokenizer,
    bos: Option<(u32, String)>,
    eos: (u32, String),
    add_bos: bool,
}

impl GgufTokenizer {
    /// Reads only the file's header: cheap, and enough to count a prompt's tokens.
    pub fn load(path: &Path) -> Result<Self, LocalModelError> {
        let (_, content) = read_header(path)?;
        Self::from_meta(&Meta::new(&content, path))
    }

    pub(crate) fn from_meta(meta: &Meta<'_>) -> Result<Self, LocalModelError> {
        let bad = |reason: String| LocalModelError::Tokenizer {
            path: meta.path_buf(),
            reason,
        };
        let model = meta.str("tokenizer.ggml.model")?;
        if model != "gpt2" {
            return Err(LocalModelError::UnsupportedTokenizer {
                path: meta.path_buf(),
                model: model.into(),
            });
        }
        let tokens = meta.strings("tokenizer.ggml.tokens")?;
        let merges = meta
            .strings("tokenizer.ggml.merges")?
            .into_iter()
            .map(|m| {
                // Byte-level tokens never contain a literal space (it is `Ġ`), so one space
                // separates the pair.
                m.split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| bad(format!("merge `{m}` is not two tokens separated by a space")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let vocab: Vocab = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.to_string(), i as u32))
            .collect();
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| bad(format!("building the BPE model: {e}")))?;
        let mut inner = Tokenizer::new(bpe);
        let pre = meta.opt_str("tokenizer.ggml.pre")?.unwrap_or("default");
        inner.with_pre_tokenizer(Some(pre_tokenizer(pre).map_err(bad)?));
        inner.with_decoder(Some(ByteLevelDecoder::default()));

        // Control tokens are special (matched whole in a prompt, dropped when decoding an
        // answer); user-defined ones are matched whole but kept in the text.
        let types = meta.opt_ints("tokenizer.ggml.token_type")?.unwrap_or_default();
        let (mut special, mut added) = (Vec::new(), Vec::new());
        for (token, kind) in tokens.iter().zip(&types) {
            match *kind {
                TOKEN_TYPE_CONTROL => special.push(AddedToken::from(token.to_string(), true)),
                TOKEN_TYPE_USER_DEFINED => added.push(AddedToken::from(token.to_string(), false)),
                _ => {}
            }
        }
        inner.add_special_tokens(&special);
        inner.add_tokens(&added);

        let named = |key: &str| -> Result<Option<(u32, String)>, LocalModelError> {
            let Some(id) = meta.opt_u64(key)? else {
                return Ok(None);
            };
            let text = usize::try_from(id).ok().and_then(|i| tokens.get(i));
            match (u32::try_from(id), text) {
                (Ok(id), Some(text)) => Ok(Some((id, text.to_string()))),
                _ => Err(bad(format!(
                    "`{key}` = {id} is outside the vocabulary of {}",
                    tokens.len()
                ))),
            }
        };
        let eos_key = "tokenizer.ggml.eos_token_id";
        Ok(GgufTokenizer {
            bos: named("tokenizer.ggml.bos_token_id")?,
            eos: named(eos_key)?.ok_or_else(|| meta.missing(eos_key))?,
            add_bos: meta.opt_bool("tokenizer.ggml.add_bos_token").unwrap_or(false),
            inner,
        })
    }

    /// Token ids of `text`; special tokens written in the text (`<|im_start|>`) become their id.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, tokenizers::Error> {
        Ok(self.inner.encode_fast(text, false)?.get_ids().to_vec())
    }

    /// Token ids of a rendered chat prompt, with the BOS token in front when the file asks for
    /// it and the template did not already write it.
    pub fn encode_prompt(&self, prompt: &str) -> Result<Vec<u32>, tokenizers::Error> {
        let mut ids = self.encode(prompt)?;
        if let Some((bos, _)) = &self.bos {
            if self.add_bos && ids.first() != Some(bos) {
                ids.insert(0, *bos);
            }
        }
        Ok(ids)
    }

    /// Text of `ids`; special tokens are dropped, so an answer never shows `<|im_end|>`.
    pub fn decode(&self, ids: &[u32]) -> Result<String, tokenizers::Error> {
        self.inner.decode(ids, true)
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The beginning-of-sequence token (id, text), if the file names one.
    pub fn bos(&self) -> Option<(u32, &str)> {
        self.bos.as_ref().map(|(id, t)| (*id, t.as_str()))
    }

    /// The end-of-sequence token (id, text); for chat models, usually the end of a turn.
    pub fn eos(&self) -> (u32, &str) {
        (self.eos.0, self.eos.1.as_str())
    }

    /// The underlying `tokenizers` tokenizer, for offsets and anything else this doesn't wrap.
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }
}

/// The pre-tokenizer for llama.cpp's `tokenizer.ggml.pre` name (see `llama-vocab.cpp`).
fn pre_tokenizer(pre: &str) -> Result<PreTokenizerWrapper, String> {
    let gpt2 = || ByteLevel::new(false, true, true).into();
    Ok(match pre {
        // SmolLM: every digit alone, then the GPT-2 regex.
        "smollm" | "starcoder" | "refact" => Sequence::new(vec![Digits::new(true).into(), gpt2()]).into(),
        "llama-bpe" | "llama3" => {
            let split = Split::new(
                SplitPattern::Regex(LLAMA3_SPLIT.into()),
                SplitDelimiterBehavior::Isolated,
                false,
            )
            .map_err(|e| format!("the llama-bpe split regex: {e}"))?;
            Sequence::new(vec![split.into(), ByteLevel::new(false, true, false).into()]).into()
        }
        "default" | "gpt2" => gpt2(),
        other => {
            // Other schemes differ only in how numbers, CJK and punctuation are split first;
            // GPT-2's split still round-trips, so warn rather than refuse the model.
            tracing::warn!(pre = other, "unknown GGUF pre-tokenizer; using the GPT-2 split");
            gpt2()
        }
    })
}
