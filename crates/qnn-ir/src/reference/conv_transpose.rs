//! `qnn.conv2d_transpose` by its defining scatter formula, and the core `dilate`.

use ndarray::{ArrayD, Dimension, IxDyn};

use super::conv::minus_zero_points;
use super::support::{check_i32, ints, shape_error};
use crate::error::IrError;
use crate::ops::{ConvTranspose2dAttrs, DilateAttrs};
use crate::quant::QuantParams;
use crate::tensor::Tensor;

/// `qnn.conv2d_transpose`: every input pixel `(i, j)` of channel `c` adds
/// `(X − a) · (W[c, m', r, s] − w_m)` to output `(m, i·sh + r·dh − pt, j·sw + s·dw − pl)` for
/// each output channel `m = g·M/G + m'` of `c`'s group `g`; contributions that land outside
/// the output are dropped. Exact, the result checked to fit `i32`.
pub(super) fn qnn_conv2d_transpose(
    op: &str,
    data: &Tensor,
    kernel: &Tensor,
    conv: &ConvTranspose2dAttrs,
    input: &QuantParams,
    kernel_q: &QuantParams,
) -> Result<Tensor, IrError> {
    let x = minus_zero_points(op, "input", ints(op, data, 0)?, input)?;
    let w = ints(op, kernel, 1)?;
    let (&[n, c, h, wd], &[kc, mg, kh, kw]) = (x.shape(), w.shape()) else {
        return Err(shape_error(op, "data and kernel must be 4-D"));
    };
    let g = conv.groups;
    if g == 0 || c % g != 0 || kc != c {
        return Err(shape_error(
            op,
            format!("groups {g} do not split data channels {c} and kernel {kc}×{mg}"),
        ));
    }
    let (Some(oh), Some(ow)) = (conv.output_extent(0, h, kh), conv.output_extent(1, wd, kw)) else {
        return Err(shape_error(op, "the attributes leave no output"));
    };
    let (cg, m) = (c / g, mg * g);
    // Signed output coordinates: padding shifts contributions out of the front.
    let at = |i: usize, r: usize, axis: usize| -> i64 {
        (i * conv.strides[axis] + r * conv.dilation[axis]) as i64 - conv.padding[axis] as i64
    };
    let mut y = ArrayD::<i64>::zeros(IxDyn(&[n, m, oh, ow]));
    for b in 0..n {
        for ci in 0..c {
            let group = ci / cg;
            for mo in 0..mg {
                let k = group * mg + mo;
                let wzp = i64::from(kernel_q.zero_point_at(k));
                for r in 0..kh {
                    for s in 0..kw {
                        let wv = w[[ci, mo, r, s]] - wzp;
                        for i in 0..h {
                            let yy = at(i, r, 0);
                            if !(0..oh as i64).contains(&yy) {
                                continue;
                            }
                            for j in 0..wd {
                                let xx = at(j, s, 1);
                                if (0..ow as i64).contains(&xx) {
                                    y[[b, k, yy as usize, xx as usize]] += x[[b, ci, i, j]] * wv;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    check_i32(op, &y)?;
    Tensor::from_i64(op, crate::DType::I32, y)
}

/// Core `dilate`: zero insertion with `value`, then the crop.
pub(super) fn dilate(op: &str, x: &Tensor, d: &DilateAttrs) -> Result<Tensor, IrError> {
    if let Tensor::F32(a) = x {
        return Ok(Tensor::F32(dilate_typed(op, a, d, d.value as f32)?));
    }
    let a = ints(op, x, 0)?;
    Tensor::from_i64(op, x.dtype(), dilate_typed(op, &a, d, i64::from(d.value))?)
}

fn dilate_typed<T: Copy>(
    op: &str,
    a: &ArrayD<T>,
    d: &DilateAttrs,
    value: T,
) -> Result<ArrayD<T>, IrError> {
    if a.ndim() != 4 {
        return Err(shape_error(op, format!("data must be 4-D, got {:?}", a.shape())));
    }
    let ax = d.layout.axes();
    let (h, w) = (a.shape()[ax[2]], a.shape()[ax[3]]);
    let (Some(oh), Some(ow)) = (d.output_extent(0, h), d.output_extent(1, w)) else {
        return Err(shape_error(op, format!("crop {:?} leaves no output of {h}×{w}", d.crop)));
    };
    let mut shape = a.shape().to_vec();
    shape[ax[2]] = oh;
    shape[ax[3]] = ow;
    let mut y = ArrayD::from_elem(IxDyn(&shape), value);
    for (idx, v) in y.indexed_iter_mut() {
        let mut src = idx.slice().to_vec();
        let (i, j) = (src[ax[2]] + d.crop[0], src[ax[3]] + d.crop[1]);
        let [sh, sw] = d.strides;
        if i.is_multiple_of(sh) && j.is_multiple_of(sw) {
            src[ax[2]] = i / sh;
            src[ax[3]] = j / sw;
            *v = a[src.as_slice()];
        }
    }
    Ok(y)
}
