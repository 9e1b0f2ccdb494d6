//! `qnn.avg_pool2d`, `qnn.global_avg_pool2d`, `qnn.max_pool2d` → core ops, bit-exact with the
//! reference.
//!
//! The reference averages `Σ_inside (x − zp)` with `M = s_in / (s_out · count)`. A window sum
//! padded with `zp` is `S = Σ_inside x + (K − inside)·zp` over the `K` cells of the window,
//! so `Σ_inside (x − zp) = S − K·zp`: a `pool2d` sum padded with `zp` followed by a
//! `requantize` whose input zero point is `K·zp`. When `count` is the number of unpadded
//! cells it varies with the output position, and the requantize carries one multiplier per
//! (OH, OW) position.
//!
//! Float mode follows ONNX Runtime. Global average pooling keeps the integer sum and
//! requantizes with `M = s_in / f32(s_out · f32(H·W))`; average pooling is computed in f32
//! throughout: `cast(f32) → subtract zp → multiply s_in → pool2d sum (f32, window order) →
//! divide count → divide s_out → add zp_out → round → cast`.

use qnn_ir::{DType, DataLayout, Node, Op, Pool2dAttrs, PoolKind, Rounding, ValueId};

use super::elementwise::float_operand;
use super::requantize::{requant_scale, requantize_op};
use super::{Rewriter, unsupported};
use crate::error::LegalizeError;
use crate::record::{PoolForm, PoolRecord, RecordKind, RequantizeParams, SumForm};

/// Cells of a window along one axis that fall inside the input, per output position.
fn inside_counts(
    input: usize,
    pad_before: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    out: usize,
) -> Vec<usize> {
    (0..out)
        .map(|o| {
            (0..kernel)
                .filter(|&r| {
                    let p = o * stride + r * dilation;
                    p >= pad_before && p - pad_before < input
                })
                .count()
        })
        .collect()
}

/// `qnn.avg_pool2d` (and, with one H×W window, `qnn.global_avg_pool2d`).
pub(crate) fn lower_avg_pool(
    rw: &mut Rewriter<'_>,
    node: &Node,
    out: &str,
) -> Result<(ValueId, RecordKind), LegalizeError> {
    let (pool, count_include_pad, input, output, rounding, out_dtype, global) = match &node.op {
        Op::QnnAvgPool2d { pool, count_include_pad, input, output, rounding, out_dtype } => {
            (pool.clone(), *count_include_pad, input, output, *rounding, *out_dtype, false)
        }
        Op::QnnGlobalAvgPool2d { layout, input, output, rounding, out_dtype } => {
            let shape = &rw.src().ty(node.inputs[0]).shape;
            let [_, _, h, w] = layout.nchw(shape);
            let pool = Pool2dAttrs {
                kernel: [h, w],
                strides: [1, 1],
                padding: [0; 4],
                dilation: [1, 1],
                layout: *layout,
            };
            (pool, true, input, output, *rounding, *out_dtype, true)
        }
        _ => unreachable!(),
    };
    let n = &node.name;
    let in_shape = rw.src().ty(node.inputs[0]).shape.clone();
    let out_shape = rw.src().ty(node.output).shape.clone();
    let [_, _, h, w] = pool.layout.nchw(&in_shape);
    let [_, _, oh, ow] = pool.layout.nchw(&out_shape);
    let (s_in, zp) = (input.scale[0], input.zero_point[0]);
    let s_out = output.scale[0];
    let window = pool.kernel[0] * pool.kernel[1];
    let counts: Vec<usize> = if count_include_pad {
        vec![window]
    } else {
        let [pt, pl, _, _] = pool.padding;
        let ch = inside_counts(h, pt, pool.kernel[0], pool.strides[0], pool.dilation[0], oh);
        let cw = inside_counts(w, pl, pool.kernel[1], pool.strides[1], pool.dilation[1], ow);
        let all: Vec<usize> = ch.iter().flat_map(|a| cw.iter().map(move |b| a * b)).collect();
        if all.contains(&0) {
            return Err(unsupported(
                node,
                "a window covers only padding: its average is undefined",
            ));
        }
        if all.iter().all(|&c| c == all[0]) { vec![all[0]] } else { all }
    };
    let x = rw.value(node.inputs[0])?;
    if rounding == Rounding::Float && !global {
        let y = float_avg_pool(rw, node, out, x, &pool, &counts, [oh, ow], out_dtype)?;
        let form = PoolForm::AverageF32 {
            zp_in: zp,
            s_in,
            counts,
            s_out,
            zp_out: output.zero_point[0],
            out_dtype,
        };
        return Ok((y, RecordKind::Pool(PoolRecord { input: x, pool, form })));
    }
    let ratios: Vec<(f64, f32)> = counts
        .iter()
        .map(|&c| {
            let float = if global { s_in / (s_out * c as f32) } else { (s_in / s_out) / c as f32 };
            (f64::from(s_in) / (f64::from(s_out) * c as f64), float)
        })
        .collect();
    let scale = requant_scale(node, rounding, &ratios)?;
    let zp_window = window as i64 * i64::from(zp);
    if i32::try_from(zp_window).is_err() {
        return Err(unsupported(node, format!("window {window} × zero point {zp} leaves i32")));
    }
    let sum_form = if global { SumForm::Global } else { SumForm::Window { pad_value: zp } };
    let sum = if global {
        let ax = pool.layout.axes();
        let axes = if ax[2] < ax[3] { vec![ax[2], ax[3]] } else { vec![ax[3], ax[2]] };
        rw.node(&format!("{n}.sum"), None, Op::Sum { axes, keepdims: true }, &[x])?
    } else {
        rw.node(
            &format!("{n}.sum"),
            None,
            Op::Pool2d { kind: PoolKind::Sum, pool: pool.clone(), pad_value: zp },
            &[x],
        )?
    };
    let axes = if scale.len() > 1 {
        match pool.layout {
            DataLayout::Nchw => vec![2, 3],
            DataLayout::Nhwc => vec![1, 2],
        }
    } else {
        vec![]
    };
    let requantize = RequantizeParams {
        scale,
        axes,
        input_zero_point: zp_window as i32,
        output_zero_point: output.zero_point[0],
        out_dtype,
    };
    let y = rw.node(out, Some(out), requantize_op(&requantize), &[sum])?;
    let form = PoolForm::AverageFixed { sum: sum_form, requantize };
    Ok((y, RecordKind::Pool(PoolRecord { input: x, pool, form })))
}

/// Float-mode `qnn.avg_pool2d` (ONNX Runtime's QLinearAveragePool, all in f32): the real
/// values summed in window order, divided by the count (one, or one per output position),
/// then quantized with `rne(avg / s_out + zp_out)`.
#[allow(clippy::too_many_arguments)]
fn float_avg_pool(
    rw: &mut Rewriter<'_>,
    node: &Node,
    out: &str,
    x: ValueId,
    pool: &Pool2dAttrs,
    counts: &[usize],
    [oh, ow]: [usize; 2],
    out_dtype: DType,
) -> Result<ValueId, LegalizeError> {
    let Op::QnnAvgPool2d { input, output, .. } = &node.op else { unreachable!() };
    let n = &node.name;
    let real = float_operand(rw, n, "x", x, input.zero_point[0], input.scale[0])?;
    let sum = rw.node(
        &format!("{n}.sum"),
        None,
        Op::Pool2d { kind: PoolKind::Sum, pool: pool.clone(), pad_value: 0 },
        &[real],
    )?;
    let count_shape = match (counts.len(), pool.layout) {
        (1, _) => vec![],
        (_, DataLayout::Nchw) => vec![1, 1, oh, ow],
        (_, DataLayout::Nhwc) => vec![1, oh, ow, 1],
    };
    let counts = counts.iter().map(|&c| c as f32).collect();
    let c = rw.f32_constant(&format!("{n}.count"), &count_shape, counts)?;
    let avg = rw.node(&format!("{n}.avg"), None, Op::Divide, &[sum, c])?;
    let so = rw.f32_constant(&format!("{n}.so"), &[], vec![output.scale[0]])?;
    let q = rw.node(&format!("{n}.q"), None, Op::Divide, &[avg, so])?;
    let zo = rw.f32_constant(&format!("{n}.zo"), &[], vec![output.zero_point[0] as f32])?;
    let q = rw.node(&format!("{n}.addzp"), None, Op::Add, &[q, zo])?;
    let q = rw.node(&format!("{n}.round"), None, Op::Round, &[q])?;
    rw.node(out, Some(out), Op::Cast { to: out_dtype }, &[q])
}

/// `qnn.max_pool2d` → `pool2d` max (padding never wins).
pub(crate) fn lower_max_pool(
    rw: &mut Rewriter<'_>,
    node: &Node,
    out: &str,
) -> Result<(ValueId, RecordKind), LegalizeError> {
    let Op::QnnMaxPool2d { pool } = &node.op else { unreachable!() };
    let x = rw.value(node.inputs[0])?;
    let y = rw.node(
        out,
        Some(out),
        Op::Pool2d { kind: PoolKind::Max, pool: pool.clone(), pad_value: 0 },
        &[x],
    )?;
    let record = PoolRecord { input: x, pool: pool.clone(), form: PoolForm::Max };
    Ok((y, RecordKind::Pool(record)))
}
