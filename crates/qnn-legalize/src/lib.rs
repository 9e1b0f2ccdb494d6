//! `qnn-legalize`: QNN dialect → core integer ops, for a target.
//!
//! A quantized `qnn.conv2d` or `qnn.dense` can be computed two ways that are equal in exact
//! integer arithmetic (ARCHITECTURE.md §4); which is faster depends on the hardware.
//! [`legalize`] decides per op, from the target's backend descriptors and a
//! [`LoweringPolicy`], proves the chosen form cannot overflow, lowers every QNN op to core
//! ops, explains each decision, and hands each decision on as a typed [`Record`] (see
//! [`record`]): what the runtime builds its fused kernel calls from.
//!
//! ```no_run
//! use qnn_legalize::{CostModel, LegalizeError, Legalized, Target, legalize};
//!
//! fn lower(qnn_graph: &qnn_ir::Graph) -> Result<qnn_ir::Graph, LegalizeError> {
//!     let target: Target = "aarch64-unknown-linux-gnu:cortex-a53".parse()?;
//!     let Legalized { graph, explanation, .. } = legalize(qnn_graph, &target, &CostModel::new())?;
//!     println!("{explanation}"); // a table; explanation.to_json() for JSON
//!     Ok(graph)
//! }
//! ```
//!
//! # Pipeline of one conv/dense
//!
//! 1. [`analysis`]: dimensions, zero points, the constant weights, a following constant bias
//!    `add` folded in ([`canonicalize`] `bias`). Weights computed at run time (a MatMul of two
//!    activations) leave nothing to fold, pack or choose: they get the int16 upcast with both
//!    operands prepared at run time, the accumulator bounded by the dtypes' ranges (refused
//!    as an overflow beyond i32), listed among the other ops of the explanation; the runtime
//!    runs that core op on the reference interpreter.
//! 2. [`dtype`]: per backend, the operand plan for its int8 dot product — u8×s8 (VNNI),
//!    s8×s8 (sdot, dp4a), u8×u8 (udot) — shifting values and zero points together by 128.
//! 3. [`range`]: for each plan and for the int16 lowering, bounds of every int32 value emitted
//!    (T1, the folded constant, T1 + constant, the window sums, T3, the result), from the
//!    actual weights; a candidate that is not provably safe is rejected with the reason. Also
//!    recorded: whether 16-bit pair-sum kernels (`vpmaddubsw`, `smull+smlal`, `umull+umlal`)
//!    are exact for these weights.
//! 4. [`policy`]: [`Capability`] (TVM's rule), [`CostModel`] (figures from the descriptors,
//!    optional memory budget, figures fitted on a machine: [`policy::Calibration`]), [`Forced`]
//!    (force a lowering globally or per node); the measured policy (`qnn_tune::Measured`)
//!    implements the same trait. [`Target::restrict_to`] forces a backend.
//! 5. [`canonicalize`]: emission in the canonical form below, with the op's [`ConvRecord`]
//!    (lowering, backend, operand dtypes and shifts, folded weights and per-channel constant,
//!    T3 zero points, the values and nodes of the chain); [`explain`]: the report.
//!
//! # Canonical lowered form
//!
//! The runtime fuses each conv/dense chain into one kernel call from its [`ConvRecord`] (and
//! the requantize and clip records that read its output). [`pattern::match_fused_conv`]
//! recognizes the same form in a graph that arrives already lowered (a printed lowered graph
//! parsed back, core ops built by hand), where there are no records. `x` is the data, `a` its zero point, `W` the weights, `w_k` their zero points, `K` the
//! reduction length, all after dtype legalization (primes omitted). Terms that vanish are not
//! emitted. Layouts (NCHW/NHWC, OIHW/OHWI/HWIO), groups, depthwise multipliers, strides,
//! dilation and asymmetric padding are kept as attributes of the core op.
//!
//! **Int8ZeroPointTerms** (`Y = T1 − T2 − T3 + T4 + bias`):
//! ```text
//! [x' = cast(add(cast(x, i16), ±128 : i16[]), u8|i8)]        data shift, when the dot product wants it
//! t1  = conv2d(x', W' : 8-bit const, pad_value = a')         or dense(x', W')
//! [t  = add(t1, C : i32[O,1,1] (NCHW) | i32[O] (NHWC, dense))]   C_k = −a'·ΣW'_k + a'·w'_k·K + bias_k ≠ 0
//! [y  = subtract(t, T3)]                                     when some w'_k ≠ 0, with
//!       conv2d: T3 = reshape(multiply(sum(reshape(pool2d_sum(x', window of the conv,
//!                    pad_value = a'), [N,G,C/G,OH,OW] | [N,OH,OW,G,C/G]), axis 2 | 4, keepdims),
//!                    w' : i32[G,O/G,1,1] | i32[G,O/G]), output shape)
//!               (an explicit `pad` with value a' precedes an unpadded pool2d when the conv's
//!                padding is not smaller than its kernel, which pool2d does not take)
//!       dense:  T3 = multiply(sum(x', last axis, keepdims), w' : i32[N])
//! ```
//! **Int16Upcast** (`Y = conv(P − a, W − w_k) + bias`):
//! ```text
//! x16 = cast(x, i16); [x16 = subtract(x16, a : i16[])]
//! y   = conv2d(x16, W − w_k : i16 const, pad_value = 0)      or dense(x16, W − w_k)
//! [y  = add(y, bias : i32[O,1,1] | i32[O])]
//! ```
//! A following `qnn.requantize` becomes one core `requantize` (fixed-point multipliers from
//! `FixedPointMultiplier::from_real(f64(s_in) / f64(s_out))`, or the f32 ratio in float
//! mode — as the reference computes them), and `qnn.clip`/`qnn.relu` a core `clip`. The last
//! node of every lowering keeps the QNN op's output name (or the folded bias add's).
//!
//! # Other QNN ops
//! `qnn.requantize`, `qnn.quantize`, `qnn.dequantize`, `qnn.add`, `qnn.mul`,
//! `qnn.concatenate`, `qnn.avg_pool2d`, `qnn.global_avg_pool2d`, `qnn.max_pool2d`,
//! `qnn.clip`, `qnn.relu` lower to core ops bit-exactly with the reference, each keeping its
//! rounding mode; the few forms that cannot be expressed exactly (listed at each lowering)
//! are refused with [`LegalizeError::Unsupported`].

pub mod analysis;
pub mod canonicalize;
pub mod decide;
pub mod dtype;
pub mod error;
pub mod explain;
pub mod fold;
mod legalize;
pub mod lowering;
pub mod pattern;
pub mod policy;
pub mod range;
pub mod record;
pub mod signature;
pub mod target;

pub use error::LegalizeError;
pub use explain::{Explanation, OpReport};
pub use legalize::{Legalized, legalize};
pub use lowering::Lowering;
pub use pattern::{FusedConv, match_all, match_fused_conv};
pub use policy::{Capability, CostModel, Forced, LoweringPolicy};
pub use record::{ConvRecord, ConvWeights, Record, RecordKind};
pub use signature::{OpKind, OpSignature};
pub use target::Target;
