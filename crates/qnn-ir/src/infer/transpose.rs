//! Inference of `qnn.conv2d_transpose` and of the `dilate` it is lowered through.

use crate::dtype::DType;
use crate::error::IrError;
use crate::ops::{ConvTranspose2dAttrs, DilateAttrs};
use crate::quant::QuantParams;
use crate::tensor::TensorType;

use super::{arity, attr_err, dtype_in, rank_is};

const Q8: &[DType] = &[DType::U8, DType::I8];

/// `qnn.conv2d_transpose`: data `[N, C, H, W]`, kernel `[C, M/G, kh, kw]` → i32 `[N, M, OH, OW]`.
pub(super) fn conv_transpose(
    op: &str,
    conv: &ConvTranspose2dAttrs,
    input: &QuantParams,
    kernel: &QuantParams,
    inputs: &[&TensorType],
) -> Result<TensorType, IrError> {
    arity(op, inputs, 2)?;
    dtype_in(op, 0, inputs[0], Q8)?;
    dtype_in(op, 1, inputs[1], Q8)?;
    rank_is(op, 0, inputs[0], 4)?;
    rank_is(op, 1, inputs[1], 4)?;
    for (attr, v) in [("strides", conv.strides), ("dilation", conv.dilation)] {
        if v.contains(&0) {
            return Err(attr_err(op, attr, v, "must be ≥ 1"));
        }
    }
    let [n, c, h, w] = inputs[0].shape[..] else { unreachable!("rank checked") };
    let [kc, mg, kh, kw] = inputs[1].shape[..] else { unreachable!("rank checked") };
    let g = conv.groups;
    if g == 0 || c % g != 0 {
        return Err(attr_err(op, "groups", g, &format!("must divide the input channels ({c})")));
    }
    if kc != c {
        return Err(IrError::Shape {
            op: op.into(),
            msg: format!(
                "kernel {:?} ([C, M/G, kh, kw]) must have the data's {c} input channels first",
                inputs[1].shape
            ),
        });
    }
    for axis in 0..2 {
        let (s, d) = (conv.strides[axis], conv.dilation[axis]);
        if conv.output_padding[axis] >= s.max(d) {
            return Err(attr_err(
                op,
                "output_padding",
                conv.output_padding,
                "each must be smaller than its stride or its dilation",
            ));
        }
    }
    let oh = conv.output_extent(0, h, kh);
    let ow = conv.output_extent(1, w, kw);
    let (Some(oh), Some(ow)) = (oh, ow) else {
        return Err(IrError::Shape {
            op: op.into(),
            msg: format!(
                "input {h}×{w}, kernel {kh}×{kw}, strides {:?}, dilation {:?}, output padding {:?} and padding {:?} leave no output",
                conv.strides, conv.dilation, conv.output_padding, conv.padding
            ),
        });
    };
    let m =
        mg.checked_mul(g).ok_or_else(|| attr_err(op, "groups", g, "output channels overflow"))?;
    if input.axis.is_some() || input.channels() != 1 {
        return Err(attr_err(
            op,
            "input",
            input.axis,
            "must be per tensor (no axis, one scale and zero point)",
        ));
    }
    input.validate(op, "input", inputs[0].dtype, None)?;
    match kernel.axis {
        Some(0) => kernel.validate(op, "kernel", inputs[1].dtype, Some(&[m]))?,
        Some(a) => {
            return Err(attr_err(
                op,
                "kernel.axis",
                a,
                "per-channel kernel parameters are along axis 0: one per output channel",
            ));
        }
        None => kernel.validate(op, "kernel", inputs[1].dtype, None)?,
    }
    Ok(TensorType::new(DType::I32, vec![n, m, oh, ow]))
}

/// `dilate`: any dtype, rank 4, spatial axes by `layout`.
pub(super) fn dilate(
    op: &str,
    d: &DilateAttrs,
    inputs: &[&TensorType],
) -> Result<TensorType, IrError> {
    arity(op, inputs, 1)?;
    rank_is(op, 0, inputs[0], 4)?;
    let t = inputs[0];
    if let Some((lo, hi)) = t.dtype.int_range()
        && !(lo..=hi).contains(&i64::from(d.value))
    {
        return Err(attr_err(op, "value", d.value, &format!("does not fit {}", t.dtype)));
    }
    let [n, c, h, w] = d.layout.nchw(&t.shape);
    let (Some(oh), Some(ow)) = (d.output_extent(0, h), d.output_extent(1, w)) else {
        return Err(attr_err(
            op,
            "crop",
            d.crop,
            &format!("leaves no output of the {h}×{w} input dilated by {:?}", d.strides),
        ));
    };
    let shape = match d.layout {
        crate::ops::DataLayout::Nchw => vec![n, c, oh, ow],
        crate::ops::DataLayout::Nhwc => vec![n, oh, ow, c],
    };
    Ok(TensorType::new(t.dtype, shape))
}
