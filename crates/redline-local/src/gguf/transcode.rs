//! Re-encoding weights whose quantisation candle has no SIMD kernel for.
//!
//! candle 0.11's CPU `vec_dot` for Q4_1, Q5_0 and Q5_1 is the scalar reference loop, while Q4_0,
//! Q8_0 and the K-quants have AVX2 kernels (picked at run time). The default model is Q4_1, so
//! its matmuls run several times slower than they need to. Re-encoding those tensors as Q8_0
//! at load makes them use the AVX2 kernel. Q8_0 has 255 levels per 32-value block against Q4_1's
//! 16, so the re-encoded weights are within a small fraction of one Q4_1 step of the file's
//! values; it costs about twice the memory of Q4_1 (still about 1.06 bytes per weight).

use std::collections::HashMap;
use std::io::{Cursor, Read, Seek};

use candle_core::quantized::gguf_file::{Content, TensorInfo};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Result};

/// How a model's weights are held in memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum WeightEncoding {
    /// Tensors in a quantisation with only a scalar kernel (Q4_1, Q5_0, Q5_1) are re-encoded at
    /// load, as f32 for small models and Q8_0 for larger ones (see `F32_BUDGET_BYTES`): several
    /// times faster on AVX2 CPUs. Answers stay deterministic but may
    /// differ from [`AsStored`](Self::AsStored) in later tokens: a tiny change in the logits
    /// flips a near-tie in greedy decoding, and the two continue differently from there.
    #[default]
    Fast,
    /// The file's quantisation, unchanged: the same arithmetic as the file's format prescribes,
    /// at the speed of candle's scalar kernels.
    AsStored,
}

/// Quantisations with only a scalar CPU kernel in candle 0.11.
const SLOW: [GgmlDType; 3] = [GgmlDType::Q4_1, GgmlDType::Q5_0, GgmlDType::Q5_1];

/// Models whose weights fit in this many bytes as f32 are held as f32: the matrix multiplies
/// then go through candle's gemm, which processes a prompt about 3x faster than the Q8_0 kernel
/// (SmolLM2-135M on 2 cores, one thread: prefill 270 vs 90 tokens/s; decode 31 vs 53 tokens/s,
/// a trade that favours evals, whose prompts — and moderation judges' — outweigh their answers).
/// Larger models use Q8_0.
const F32_BUDGET_BYTES: u64 = 1 << 30;

/// The encoding [`WeightEncoding::Fast`] re-encodes slow tensors to.
pub(crate) fn fast_encoding(content: &Content) -> GgmlDType {
    let elements: u64 = content
        .tensor_infos
        .values()
        .map(|t| t.shape.elem_count() as u64)
        .sum();
    if elements * 4 <= F32_BUDGET_BYTES {
        GgmlDType::F32
    } else {
        GgmlDType::Q8_0
    }
}

/// GGUF's default tensor alignment.
const ALIGNMENT: usize = 32;

/// Whether any tensor of `content` would run on a scalar kernel.
pub(crate) fn has_slow_tensors(content: &Content) -> bool {
    content
        .tensor_infos
        .values()
        .any(|t| SLOW.contains(&t.ggml_dtype))
}

/// A copy of the file's header and tensors, in memory, with every slow tensor re-encoded as
/// `target`; `ModelWeights::from_gguf` reads it like the file.
pub(crate) fn transcode<R: Read + Seek>(
    content: Content,
    reader: &mut R,
    target: GgmlDType,
) -> Result<(Content, Cursor<Vec<u8>>)> {
    let device = Device::Cpu;
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    let mut data = Vec::new();
    let mut infos = HashMap::with_capacity(names.len());
    for name in names {
        let mut tensor = content.tensor(reader, name, &device)?;
        if SLOW.contains(&tensor.dtype())
            && tensor
                .shape()
                .dims()
                .last()
                .is_some_and(|d| d % target.block_size() == 0)
        {
            tensor = QTensor::quantize(&tensor.dequantize(&device)?, target)?;
        }
        data.resize(data.len().div_ceil(ALIGNMENT) * ALIGNMENT, 0);
        let offset = data.len() as u64;
        data.extend_from_slice(&tensor.data()?);
        infos.insert(
            name.clone(),
            TensorInfo {
                ggml_dtype: tensor.dtype(),
                shape: tensor.shape().clone(),
                offset,
            },
        );
    }
    let content = Content {
        tensor_infos: infos,
        tensor_data_offset: 0,
        ..content
    };
    Ok((content, Cursor::new(data)))
}
