//! The fused epilogue of a conv/dense: per-channel constant, the T3 window-sum term,
//! requantization (fixed point or ONNX Runtime's f32) and clamp.
//!
//! [`EpilogueSpec`] is what the runtime describes; [`PreparedEpilogue`] holds it as padded
//! per-channel arrays in the order a kernel reads them, with the fixed-point multipliers
//! turned into shift/round stages (see [`RequantLanes::Fixed`]). The arithmetic itself is
//! in [`lanes`]: generic `#[inline(always)]` code that each backend instantiates in its own
//! `#[target_feature]` functions, so it vectorizes for that ISA.

pub mod lanes;
mod range;

pub use range::check_accumulator_range;

use qnn_ir::backend::{Epilogue, RequantLanes};
use qnn_ir::{DType, FixedPointMultiplier, FixedRounding, RequantScale};

use crate::error::KernelError;

/// What follows the accumulation, per output channel `k`:
///
/// ```text
/// v   = acc + bias[k] − t3_zero_point[k] · window_sum − input_zero_point
/// out = clamp(zero_point + requantize(v, k), clamp)            (out_dtype u8 / i8 / i32)
/// out = clamp(v, clamp)                                        (no requant: i32 output)
/// ```
///
/// `bias` is the legalizer's folded constant (bias − T2 + T4 for the int8 lowering, bias for
/// the int16 one); `window_sum` is the sum of the data values (offset applied, padding
/// included) a window reads, over its group's channels; `input_zero_point` is the
/// requantize op's input zero point. Per-channel vectors hold `out_c` entries or one that
/// broadcasts.
#[derive(Debug, Clone, PartialEq)]
pub struct EpilogueSpec {
    /// Per-channel i32 constant added to the accumulator.
    pub bias: Vec<i32>,
    /// Weight zero points of the T3 term; `None` (or all zero) when it vanishes.
    pub t3_zero_point: Option<Vec<i32>>,
    /// The requantize multipliers; `None` for raw i32 output.
    pub requant: Option<RequantScale>,
    /// Input zero point of the requantize.
    pub input_zero_point: i32,
    /// Output element type: u8, i8, or i32.
    pub out_dtype: DType,
    /// Output zero point (0 without requantize).
    pub zero_point: i32,
    /// Fused ReLU/Clip bounds in the output's integer domain; `None`: the dtype's range.
    pub clamp: Option<(i32, i32)>,
}

impl EpilogueSpec {
    /// Raw i32 output: `acc + bias`.
    pub fn raw(bias: Vec<i32>) -> Self {
        EpilogueSpec {
            bias,
            t3_zero_point: None,
            requant: None,
            input_zero_point: 0,
            out_dtype: DType::I32,
            zero_point: 0,
            clamp: None,
        }
    }
}

/// Fixed-point stages of one multiplier (see [`RequantLanes::Fixed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FixedStages {
    mult: i64,
    shift1: i64,
    round1: i64,
    shift2: i64,
    round2: i64,
}

/// `2^(s − 1)`, or 0 for `s = 0`.
fn half(s: i64) -> i64 {
    if s == 0 { 0 } else { 1 << (s - 1) }
}

impl FixedStages {
    /// Range argument: `|v| ≤ 2^31` and `0 ≤ q < 2^31` give `|p| = |v · q| < 2^62`, so
    /// `p + round1 < 2^63`. A right shift ≥ 63 leaves `|p| / 2^s < 1/2`, which every mode
    /// rounds to 0, exactly what a shift by 63 with `round1 = 2^62` gives: shifts clamp to 63.
    fn new(m: FixedPointMultiplier, rounding: FixedRounding) -> Result<Self, KernelError> {
        if m.multiplier < 0 || m.shift > 31 {
            return Err(KernelError::Epilogue(format!(
                "fixed-point multiplier {} · 2^({} − 31) is outside [0, 2^31)",
                m.multiplier, m.shift
            )));
        }
        let mult = i64::from(m.multiplier);
        let single = |s: i64| {
            let s = s.min(63);
            FixedStages { mult, shift1: s, round1: half(s), shift2: 0, round2: 0 }
        };
        Ok(match rounding {
            FixedRounding::Upward | FixedRounding::ToNearest => single(31 - i64::from(m.shift)),
            // TFLite: SaturatingRoundingDoublingHighMul(v · 2^L, q) with L = max(shift, 0) is
            // round_half_up(v · q / 2^(31 − L)) (the 2^L divides out), then
            // RoundingDivideByPOT by max(−shift, 0), ties away from zero.
            FixedRounding::Tflite if m.shift >= 0 => single(31 - i64::from(m.shift)),
            FixedRounding::Tflite => {
                let e = (-i64::from(m.shift)).min(63);
                FixedStages { mult, shift1: 31, round1: 1 << 30, shift2: e, round2: half(e) }
            }
        })
    }
}

/// Padded per-channel arrays of the requantize step.
#[derive(Debug, Clone, PartialEq)]
enum RequantArrays {
    None,
    Float(Vec<f32>),
    Fixed {
        mult: Vec<i64>,
        shift1: Vec<i64>,
        round1: Vec<i64>,
        shift2: Vec<i64>,
        round2: Vec<i64>,
        rounding: FixedRounding,
    },
}

/// An [`EpilogueSpec`] checked and laid out for kernels: one entry per channel slot, padded
/// with neutral entries, in natural order (GEMM) or block-lane order (depthwise).
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedEpilogue {
    bias: Vec<i32>,
    t3: Option<Vec<i32>>,
    requant: RequantArrays,
    zero_point: i32,
    min: i32,
    max: i32,
    out_dtype: DType,
}

/// Per-channel values of a spec, broadcast to `out_c`, checked.
struct Channels {
    bias: Vec<i32>,
    t3: Option<Vec<i32>>,
    requant: Option<(Vec<FixedStages>, FixedRounding)>,
    float: Option<Vec<f32>>,
}

fn broadcast<T: Copy>(what: &str, v: &[T], out_c: usize) -> Result<Vec<T>, KernelError> {
    match v.len() {
        1 => Ok(vec![v[0]; out_c]),
        n if n == out_c => Ok(v.to_vec()),
        n => Err(KernelError::Epilogue(format!(
            "{what} has {n} entries; expected 1 or {out_c} (one per output channel)"
        ))),
    }
}

impl PreparedEpilogue {
    /// Checks `spec` for `out_c` channels and lays it out in natural channel order, padded
    /// with `pad` neutral slots (a kernel reads whole tiles past the last channel).
    pub fn new(spec: &EpilogueSpec, out_c: usize, pad: usize) -> Result<Self, KernelError> {
        let slots: Vec<Option<usize>> =
            (0..out_c).map(Some).chain(std::iter::repeat_n(None, pad)).collect();
        Self::with_order(spec, out_c, &slots)
    }

    /// The same in depthwise block-lane order: `channels` rounded up to whole blocks of
    /// `block`, slot `j · block/kr + i` of block `b` holding channel `block·b + kr·i + j`;
    /// when `block` is a multiple of `out_c`, slot channels `c ≥ out_c` repeat channel
    /// `c mod out_c` (see [`DepthwiseMicrokernel`](qnn_ir::backend::DepthwiseMicrokernel)).
    pub fn new_block_lanes(
        spec: &EpilogueSpec,
        out_c: usize,
        block: usize,
        kr: usize,
    ) -> Result<Self, KernelError> {
        let blocks = out_c.div_ceil(block);
        let lanes = block / kr;
        let mut slots = vec![None; blocks * block];
        for (b, chunk) in slots.chunks_mut(block).enumerate() {
            for (p, slot) in chunk.iter_mut().enumerate() {
                let (j, i) = (p / lanes, p % lanes);
                let c = block * b + kr * i + j;
                *slot = if c < out_c {
                    Some(c)
                } else {
                    // Periodic: lets a kernel run a row of pixels as one flat array.
                    block.is_multiple_of(out_c).then_some(c % out_c)
                };
            }
        }
        Self::with_order(spec, out_c, &slots)
    }

    fn channels(spec: &EpilogueSpec, out_c: usize) -> Result<Channels, KernelError> {
        let bias = broadcast("bias", &spec.bias, out_c)?;
        let bias = bias
            .iter()
            .enumerate()
            .map(|(k, &b)| {
                let v = i64::from(b) - i64::from(spec.input_zero_point);
                i32::try_from(v).map_err(|_| KernelError::AccumulatorRange { channel: k, value: v })
            })
            .collect::<Result<Vec<i32>, _>>()?;
        let t3 = match &spec.t3_zero_point {
            Some(z) if z.iter().any(|&z| z != 0) => Some(broadcast("t3 zero point", z, out_c)?),
            _ => None,
        };
        let (requant, float) = match &spec.requant {
            None => (None, None),
            Some(RequantScale::Float { mults }) => {
                let m = broadcast("requantize multiplier", mults, out_c)?;
                if let Some(bad) = m.iter().find(|m| !m.is_finite()) {
                    return Err(KernelError::Epilogue(format!(
                        "the f32 requantize multiplier {bad} is not finite"
                    )));
                }
                (None, Some(m))
            }
            Some(RequantScale::Fixed { mults, rounding }) => {
                let m = broadcast("requantize multiplier", mults, out_c)?;
                let stages = m
                    .iter()
                    .map(|&m| FixedStages::new(m, *rounding))
                    .collect::<Result<Vec<_>, _>>()?;
                (Some((stages, *rounding)), None)
            }
        };
        Ok(Channels { bias, t3, requant, float })
    }

    fn with_order(
        spec: &EpilogueSpec,
        out_c: usize,
        slots: &[Option<usize>],
    ) -> Result<Self, KernelError> {
        let (min, max) = Self::bounds(spec)?;
        let ch = Self::channels(spec, out_c)?;
        let pick = |f: &dyn Fn(usize) -> i64, neutral: i64| -> Vec<i64> {
            slots.iter().map(|s| s.map_or(neutral, f)).collect()
        };
        let bias = slots.iter().map(|s| s.map_or(0, |k| ch.bias[k])).collect();
        let t3 = ch.t3.as_ref().map(|t| slots.iter().map(|s| s.map_or(0, |k| t[k])).collect());
        let requant = match (&ch.requant, &ch.float) {
            (Some((st, rounding)), _) => RequantArrays::Fixed {
                mult: pick(&|k| st[k].mult, 0),
                shift1: pick(&|k| st[k].shift1, 0),
                round1: pick(&|k| st[k].round1, 0),
                shift2: pick(&|k| st[k].shift2, 0),
                round2: pick(&|k| st[k].round2, 0),
                rounding: *rounding,
            },
            (None, Some(m)) => {
                RequantArrays::Float(slots.iter().map(|s| s.map_or(0.0, |k| m[k])).collect())
            }
            (None, None) => RequantArrays::None,
        };
        Ok(PreparedEpilogue {
            bias,
            t3,
            requant,
            zero_point: spec.zero_point,
            min,
            max,
            out_dtype: spec.out_dtype,
        })
    }

    /// The clamp bounds: the output dtype's range intersected with the fused clamp.
    fn bounds(spec: &EpilogueSpec) -> Result<(i32, i32), KernelError> {
        let dtype = spec.out_dtype;
        if !matches!(dtype, DType::U8 | DType::I8 | DType::I32) {
            return Err(KernelError::DType {
                what: "epilogue output",
                dtype,
                why: "the fused epilogue writes u8, i8 or i32",
            });
        }
        if spec.requant.is_none() && (dtype != DType::I32 || spec.zero_point != 0) {
            return Err(KernelError::Epilogue(format!(
                "without requantize the output is i32 with zero point 0, not {dtype} with zero point {}",
                spec.zero_point
            )));
        }
        if !dtype.contains(i64::from(spec.zero_point)) {
            return Err(KernelError::ValueRange {
                what: "output zero point",
                value: i64::from(spec.zero_point),
                dtype,
            });
        }
        let (lo, hi) = dtype.int_range().unwrap_or((0, 0));
        let (lo, hi) = (lo as i32, hi as i32);
        match spec.clamp {
            None => Ok((lo, hi)),
            Some((a, b)) if lo <= a && a <= b && b <= hi => Ok((a, b)),
            Some((a, b)) => Err(KernelError::Epilogue(format!(
                "clamp bounds [{a}, {b}] must be ordered and inside {dtype} [{lo}, {hi}]"
            ))),
        }
    }

    /// Slots laid out (channels plus padding).
    pub fn len(&self) -> usize {
        self.bias.len()
    }

    /// True when there are no slots.
    pub fn is_empty(&self) -> bool {
        self.bias.is_empty()
    }

    /// True when the T3 term is present.
    pub fn has_t3(&self) -> bool {
        self.t3.is_some()
    }

    /// Output element type.
    pub fn out_dtype(&self) -> DType {
        self.out_dtype
    }

    /// The kernel view starting at slot `at` (`at < len`).
    pub fn view(&self, at: usize) -> Epilogue<'_> {
        let requant = match &self.requant {
            RequantArrays::None => RequantLanes::None,
            RequantArrays::Float(m) => RequantLanes::Float { mult: &m[at..] },
            RequantArrays::Fixed { mult, shift1, round1, shift2, round2, rounding } => {
                RequantLanes::Fixed {
                    mult: &mult[at..],
                    shift1: &shift1[at..],
                    round1: &round1[at..],
                    shift2: &shift2[at..],
                    round2: &round2[at..],
                    rounding: *rounding,
                }
            }
        };
        Epilogue {
            bias: &self.bias[at..],
            t3_zero_point: self.t3.as_deref().map(|t| &t[at..]),
            requant,
            zero_point: self.zero_point,
            min: self.min,
            max: self.max,
            out_dtype: self.out_dtype,
        }
    }
}

#[cfg(test)]
mod tests;
