//! Float and data-movement ops around the quantized ones: `Reshape`, `Flatten`,
//! `Transpose`, `Squeeze`/`Unsqueeze`, `Concat`, `Pad`, `MaxPool`, `Relu`, `Clip`, `Softmax`,
//! `Gemm`/`MatMul` in float, element-wise arithmetic, and the constant folding of shape
//! arithmetic (`Constant`, `Shape`, `Gather`, `Cast`, …).

use qnn_ir::{DType, DataLayout, Op, Pool2dAttrs, PoolKind, Tensor, ValueId};

use super::context::Importer;
use super::folding;
use super::node::{Form, Node};
use super::quantize::axis;
use super::window::{spatial, window};
use crate::error::OnnxError;

pub(super) fn import(im: &mut Importer<'_>, n: &Node<'_>) -> Result<Form, OnnxError> {
    if let Some(form) = folding::fold(im, n)? {
        return Ok(form);
    }
    match n.op() {
        "Identity" | "Dropout" => {
            n.arity(1, 3, 1)?;
            let _ = n.attrs.int("seed")?;
            let _ = n.attrs.float("ratio")?;
            let src = n.input(0).unwrap_or_default();
            im.alias(src, n.output(0)?);
            Ok(Form::Shape)
        }
        "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" => {
            let x = im.value(n, 0)?;
            let shape = folding::reshaped(im, n, &im.ty(x).shape)?;
            let y = im.emit(n, n.output(0)?, Op::Reshape { shape }, &[x])?;
            im.bind(n.output(0)?, y);
            Ok(Form::Shape)
        }
        "Transpose" => {
            n.arity(1, 1, 1)?;
            let x = im.value(n, 0)?;
            let rank = im.ty(x).rank();
            let perm = match n.attrs.ints("perm")? {
                None => (0..rank).rev().collect(),
                Some(p) => p.iter().map(|&a| axis(n, "perm", a, rank)).collect::<Result<_, _>>()?,
            };
            unary(im, n, Op::Transpose { perm }, x)
        }
        "Concat" => {
            let rank = im.input_type(n, 0)?.rank();
            let ax = axis(
                n,
                "axis",
                n.attrs.int("axis")?.ok_or_else(|| n.attrs.error("axis", "is required"))?,
                rank,
            )?;
            let xs = (0..n.p.input.len()).map(|i| im.value(n, i)).collect::<Result<Vec<_>, _>>()?;
            let y = im.emit(n, n.output(0)?, Op::Concatenate { axis: ax }, &xs)?;
            im.bind(n.output(0)?, y);
            Ok(Form::Shape)
        }
        "Pad" => pad(im, n),
        "MaxPool" => max_pool(im, n),
        "Relu" => {
            n.arity(1, 1, 1)?;
            let x = im.value(n, 0)?;
            let max = match im.ty(x).dtype.int_range() {
                Some((_, hi)) => hi as f64,
                None => f64::INFINITY,
            };
            unary(im, n, Op::Clip { min: 0.0, max }, x).map(|_| Form::Float)
        }
        "Clip" => clip(im, n),
        "Softmax" => softmax(im, n),
        "MatMul" => matmul(im, n),
        "Gemm" => gemm(im, n),
        "Add" | "Sub" | "Mul" | "Div" => {
            n.arity(2, 2, 1)?;
            let (a, b) = (im.value(n, 0)?, im.value(n, 1)?);
            let op = match n.op() {
                "Add" => Op::Add,
                "Sub" => Op::Subtract,
                "Mul" => Op::Multiply,
                _ => Op::Divide,
            };
            let y = im.emit(n, n.output(0)?, op, &[a, b])?;
            im.bind(n.output(0)?, y);
            Ok(Form::Float)
        }
        "Cast" => {
            n.arity(1, 1, 1)?;
            let to = crate::onnx_type::OnnxType(n.attrs.int("to")?.unwrap_or(0) as i32);
            let _ = n.attrs.int("saturate")?;
            let x = im.value(n, 0)?;
            let from = im.ty(x).dtype;
            let dtype =
                to.dtype().ok_or_else(|| n.attrs.error("to", format!("{to} is not supported")))?;
            // ONNX truncates float → int and wraps narrowing ints; qnn's cast rounds and
            // saturates: only the casts where both agree are imported.
            let exact = from == dtype
                || dtype == DType::F32
                || (from.is_integer()
                    && dtype
                        .int_range()
                        .zip(from.int_range())
                        .is_some_and(|((l, h), (fl, fh))| l <= fl && fh <= h));
            if !exact {
                return Err(n.attrs.error("to", format!("a {from} → {to} cast of a run-time value is not supported (ONNX truncates or wraps)")));
            }
            unary(im, n, Op::Cast { to: dtype }, x).map(|_| Form::Float)
        }
        "Conv" | "AveragePool" | "GlobalMaxPool" | "ConvTranspose" => Err(n.unsupported(
            "float convolution and average pooling are not supported: only their quantized forms \
             (QLinearConv / QLinearAveragePool, or DequantizeLinear → op → QuantizeLinear groups)",
        )),
        op => Err(n.unsupported(format!("op `{op}` is not supported"))),
    }
}

fn unary(im: &mut Importer<'_>, n: &Node<'_>, op: Op, x: ValueId) -> Result<Form, OnnxError> {
    let y = im.emit(n, n.output(0)?, op, &[x])?;
    im.bind(n.output(0)?, y);
    Ok(Form::Shape)
}

fn pad(im: &mut Importer<'_>, n: &Node<'_>) -> Result<Form, OnnxError> {
    n.arity(1, 4, 1)?;
    let mode = n.attrs.string("mode")?.unwrap_or_else(|| "constant".into());
    if !matches!(mode.as_str(), "constant" | "edge" | "reflect" | "wrap") {
        return Err(n
            .attrs
            .error("mode", format!("`{mode}`: expected constant, edge, reflect or wrap")));
    }
    let x = im.value(n, 0)?;
    let t = im.ty(x);
    let rank = t.rank();
    let (pads, value) = if im.m.opset < 11 {
        let p = n.attrs.ints("pads")?.ok_or_else(|| n.attrs.error("pads", "is required"))?;
        (p, f64::from(n.attrs.float_or("value", 0.0)?))
    } else {
        let p = im
            .constant(n, 1)?
            .ints()
            .map(std::borrow::Cow::into_owned)
            .ok_or_else(|| n.input_error(1, "pads must be INT64"))?;
        let value = match im.opt_constant(n, 2)? {
            None => 0.0,
            Some(c) => match (c.data.widened().as_ref(), c.len()) {
                (crate::constant::ConstData::Float(v), 1) => f64::from(v[0]),
                (crate::constant::ConstData::Int(v), 1) => v[0] as f64,
                _ => return Err(n.input_error(2, "constant_value must be one number")),
            },
        };
        (p, value)
    };
    let axes: Vec<usize> = match im.opt_constant(n, 3)? {
        None => (0..rank).collect(),
        Some(c) => c
            .ints()
            .unwrap_or_default()
            .iter()
            .map(|&a| axis(n, "axes", a, rank))
            .collect::<Result<_, _>>()?,
    };
    if pads.len() != 2 * axes.len() {
        return Err(n.input_error(1, format!("pads {pads:?}: expected {} values", 2 * axes.len())));
    }
    let mut per_axis = vec![[0i64; 2]; rank];
    for (k, &a) in axes.iter().enumerate() {
        per_axis[a] = [pads[k], pads[k + axes.len()]];
    }
    if mode != "constant" || pads.iter().any(|&p| p < 0) {
        // Edge / reflect / wrap and cropping: slices and concatenations.
        let y = super::pad_modes::build(im, n, x, &mode, &per_axis, value)?;
        im.bind(n.output(0)?, y);
        return Ok(Form::Shape);
    }
    let per_axis = per_axis.iter().map(|&[b, e]| [b as usize, e as usize]).collect();
    unary(im, n, Op::Pad { pads: per_axis, value }, x)
}

fn max_pool(im: &mut Importer<'_>, n: &Node<'_>) -> Result<Form, OnnxError> {
    n.arity(1, 1, 1)?;
    if n.attrs.int_or("storage_order", 0)? != 0 {
        return Err(n.attrs.error("storage_order", "only 0 (row major) is supported"));
    }
    let x = im.value(n, 0)?;
    let t = im.ty(x);
    let w = window(n, spatial(n, &t.shape, false)?, None, true)?;
    let pool = Pool2dAttrs {
        kernel: w.kernel,
        strides: w.strides,
        padding: w.padding,
        dilation: w.dilation,
        layout: DataLayout::Nchw,
    };
    let op = if t.dtype.is_8bit() {
        Op::QnnMaxPool2d { pool }
    } else {
        Op::Pool2d { kind: PoolKind::Max, pool, pad_value: 0 }
    };
    unary(im, n, op, x).map(|_| Form::Float)
}

fn clip(im: &mut Importer<'_>, n: &Node<'_>) -> Result<Form, OnnxError> {
    n.arity(1, 3, 1)?;
    let (min, max) = clip_bounds(im, n)?;
    let x = im.value(n, 0)?;
    unary(im, n, Op::Clip { min, max }, x).map(|_| Form::Float)
}

/// Clip's bounds: attributes before opset 11, optional constant inputs since.
pub(crate) fn clip_bounds(im: &Importer<'_>, n: &Node<'_>) -> Result<(f64, f64), OnnxError> {
    if im.m.opset < 11 {
        let min = n.attrs.float_or("min", f32::MIN)?;
        let max = n.attrs.float_or("max", f32::MAX)?;
        return Ok((f64::from(min), f64::from(max)));
    }
    let bound = |i: usize, default: f64| -> Result<f64, OnnxError> {
        match im.opt_constant(n, i)? {
            None => Ok(default),
            Some(c) => match (c.data.widened().as_ref(), c.len()) {
                (crate::constant::ConstData::Float(v), 1) => Ok(f64::from(v[0])),
                (crate::constant::ConstData::Int(v), 1) => Ok(v[0] as f64),
                _ => Err(n.input_error(i, "a Clip bound must be one number")),
            },
        }
    };
    Ok((bound(1, f64::NEG_INFINITY)?, bound(2, f64::INFINITY)?))
}

fn softmax(im: &mut Importer<'_>, n: &Node<'_>) -> Result<Form, OnnxError> {
    n.arity(1, 1, 1)?;
    let x = im.value(n, 0)?;
    let shape = im.ty(x).shape;
    let rank = shape.len();
    let out = n.output(0)?;
    if im.m.opset >= 13 {
        let ax = axis(n, "axis", n.attrs.int_or("axis", -1)?, rank)?;
        return unary(im, n, Op::Softmax { axis: ax }, x).map(|_| Form::Float);
    }
    // Before opset 13 the input is coerced to 2-D at `axis` and normalized over the tail.
    let ax = axis(n, "axis", n.attrs.int_or("axis", 1)?, rank + 1)?;
    let (outer, inner) = (shape[..ax].iter().product(), shape[ax..].iter().product());
    let flat = im.emit(n, &format!("{out}/2d"), Op::Reshape { shape: vec![outer, inner] }, &[x])?;
    let s = im.emit(n, &format!("{out}/softmax"), Op::Softmax { axis: 1 }, &[flat])?;
    let y = im.emit(n, out, Op::Reshape { shape }, &[s])?;
    im.bind(out, y);
    Ok(Form::Float)
}

/// `[K] → [1, K]` (`front`) or `[K, 1]`, the numpy promotion of a 1-D matmul operand.
fn promote(
    im: &mut Importer<'_>,
    n: &Node<'_>,
    v: ValueId,
    front: bool,
    name: &str,
) -> Result<ValueId, OnnxError> {
    let s = im.ty(v).shape;
    if s.len() != 1 {
        return Ok(v);
    }
    let shape = if front { vec![1, s[0]] } else { vec![s[0], 1] };
    im.emit(n, name, Op::Reshape { shape }, &[v])
}

fn matmul(im: &mut Importer<'_>, n: &Node<'_>) -> Result<Form, OnnxError> {
    n.arity(2, 2, 1)?;
    let out = n.output(0)?;
    let (a0, b0) = (im.value(n, 0)?, im.value(n, 1)?);
    let (ra, rb) = (im.ty(a0).rank(), im.ty(b0).rank());
    let a = promote(im, n, a0, true, &format!("{out}/a2d"))?;
    let b = promote(im, n, b0, false, &format!("{out}/b2d"))?;
    let squeeze = ra == 1 || rb == 1;
    let y = im.emit(
        n,
        &if squeeze { format!("{out}/2d") } else { out.to_string() },
        Op::MatMul,
        &[a, b],
    )?;
    let y = if squeeze {
        let mut shape = im.ty(y).shape;
        if rb == 1 {
            shape.pop();
        }
        if ra == 1 {
            shape.remove(shape.len() - 1 - usize::from(rb != 1));
        }
        im.emit(n, out, Op::Reshape { shape }, &[y])?
    } else {
        y
    };
    im.bind(out, y);
    Ok(Form::Float)
}

fn gemm(im: &mut Importer<'_>, n: &Node<'_>) -> Result<Form, OnnxError> {
    n.arity(2, 3, 1)?;
    let out = n.output(0)?;
    let alpha = n.attrs.float_or("alpha", 1.0)?;
    let beta = n.attrs.float_or("beta", 1.0)?;
    let mut a = im.value(n, 0)?;
    let mut b = im.value(n, 1)?;
    if n.attrs.flag("transA", false)? {
        a = im.emit(n, &format!("{out}/aT"), Op::Transpose { perm: vec![1, 0] }, &[a])?;
    }
    if n.attrs.flag("transB", false)? {
        b = im.emit(n, &format!("{out}/bT"), Op::Transpose { perm: vec![1, 0] }, &[b])?;
    }
    let has_c = n.input(2).is_some();
    // The last op of the chain is named after the output.
    let name =
        |last: bool, part: &str| if last { out.to_string() } else { format!("{out}/{part}") };
    let scaled = alpha != 1.0;
    let mut y = im.emit(n, &name(!scaled && !has_c, "matmul"), Op::MatMul, &[a, b])?;
    if scaled {
        let c = im.emit_const(
            n,
            &format!("{out}/alpha"),
            Tensor::F32(ndarray::arr0(alpha).into_dyn()),
        )?;
        y = im.emit(n, &name(!has_c, "scaled"), Op::Multiply, &[y, c])?;
    }
    if has_c {
        let mut c = im.value(n, 2)?;
        if beta != 1.0 {
            let bc = im.emit_const(
                n,
                &format!("{out}/beta"),
                Tensor::F32(ndarray::arr0(beta).into_dyn()),
            )?;
            c = im.emit(n, &format!("{out}/betaC"), Op::Multiply, &[c, bc])?;
        }
        y = im.emit(n, out, Op::Add, &[y, c])?;
    }
    im.bind(out, y);
    Ok(Form::Float)
}
