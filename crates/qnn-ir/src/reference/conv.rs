//! `conv2d` and `qnn.conv2d` as direct nested loops over NCHW/OIHW-normalized `i64` arrays.

use ndarray::{Array4, ArrayD, Dimension, Ix4};

use super::support::{check_i32, ints, param_at, shape_error};
use crate::error::IrError;
use crate::ops::{Conv2dAttrs, DataLayout, KernelLayout, window_output};
use crate::quant::QuantParams;
use crate::tensor::Tensor;

/// Core `conv2d`: `Y[n,k,y,x] = Σ_{c,r,s} P[n, g(k)·C + c, y·sh + r·dh, x·sw + s·dw] · W[k,c,r,s]`
/// with `P` the data padded with `pad_value`, exact, the result checked to fit `i32`.
pub(super) fn conv2d(
    op: &str,
    data: &Tensor,
    kernel: &Tensor,
    conv: &Conv2dAttrs,
    pad_value: i32,
) -> Result<Tensor, IrError> {
    let data = ints(op, data, 0)?;
    let kernel = ints(op, kernel, 1)?;
    conv2d_i64(op, data, kernel, conv, i64::from(pad_value))
}

/// `qnn.conv2d` by its defining formula (§4):
/// `Y[n,k,y,x] = Σ_{c,r,s} (P[…] − a) · (W[k,c,r,s] − w_k)`, `P` padded with `a`.
/// Subtracting the zero points first turns it into a core convolution padded with 0.
pub(super) fn qnn_conv2d(
    op: &str,
    data: &Tensor,
    kernel: &Tensor,
    conv: &Conv2dAttrs,
    input: &QuantParams,
    kernel_q: &QuantParams,
) -> Result<Tensor, IrError> {
    let data = minus_zero_points(op, "input", ints(op, data, 0)?, input)?;
    let kernel = minus_zero_points(op, "kernel", ints(op, kernel, 1)?, kernel_q)?;
    conv2d_i64(op, data, kernel, conv, 0)
}

/// `a − zp` with each element's zero point (per tensor or along the parameters' axis).
pub(super) fn minus_zero_points(
    op: &str,
    what: &str,
    mut a: ArrayD<i64>,
    q: &QuantParams,
) -> Result<ArrayD<i64>, IrError> {
    for (idx, v) in a.indexed_iter_mut() {
        let (_, zp) = param_at(op, what, q, idx.slice())?;
        *v -= i64::from(zp);
    }
    Ok(a)
}

fn conv2d_i64(
    op: &str,
    data: ArrayD<i64>,
    kernel: ArrayD<i64>,
    conv: &Conv2dAttrs,
    pad_value: i64,
) -> Result<Tensor, IrError> {
    let data = to_nchw(op, data, conv.data_layout)?;
    let kernel = to_oihw(op, kernel, conv.kernel_layout)?;
    let y = conv2d_nchw_oihw(op, &data, &kernel, conv, pad_value)?;
    let y = from_nchw(y.into_dyn(), conv.data_layout);
    check_i32(op, &y)?;
    Tensor::from_i64(op, crate::DType::I32, y)
}

/// Data in layout `layout` as an NCHW array.
pub(super) fn to_nchw(
    op: &str,
    a: ArrayD<i64>,
    layout: DataLayout,
) -> Result<Array4<i64>, IrError> {
    let a = four_d(op, "data", a)?;
    Ok(a.permuted_axes(layout.axes()).as_standard_layout().into_owned())
}

/// An NCHW result back in layout `layout`.
pub(super) fn from_nchw(a: ArrayD<i64>, layout: DataLayout) -> ArrayD<i64> {
    match layout {
        DataLayout::Nchw => a,
        DataLayout::Nhwc => a.permuted_axes(vec![0, 2, 3, 1]).as_standard_layout().into_owned(),
    }
}

/// Kernel in layout `layout` as an OIHW array.
fn to_oihw(op: &str, a: ArrayD<i64>, layout: KernelLayout) -> Result<Array4<i64>, IrError> {
    let a = four_d(op, "kernel", a)?;
    Ok(a.permuted_axes(layout.axes()).as_standard_layout().into_owned())
}

fn four_d(op: &str, what: &str, a: ArrayD<i64>) -> Result<Array4<i64>, IrError> {
    let shape = a.shape().to_vec();
    a.into_dimensionality::<Ix4>()
        .map_err(|_| shape_error(op, format!("{what} must be 4-D, got shape {shape:?}")))
}

fn conv2d_nchw_oihw(
    op: &str,
    data: &Array4<i64>,
    kernel: &Array4<i64>,
    conv: &Conv2dAttrs,
    pad_value: i64,
) -> Result<Array4<i64>, IrError> {
    let (n, c_in, h, w) = data.dim();
    let (o, c_group, r_len, s_len) = kernel.dim();
    let [sh, sw] = conv.strides;
    let [dh, dw] = conv.dilation;
    let [pt, pl, pb, pr] = conv.padding;
    let g = conv.groups;
    if g == 0 || o % g != 0 || c_in != c_group * g {
        return Err(shape_error(
            op,
            format!("groups {g} do not split data channels {c_in} and kernel {o}×{c_group}"),
        ));
    }
    let (Some(oh), Some(ow)) =
        (window_output(h, pt, pb, r_len, sh, dh), window_output(w, pl, pr, s_len, sw, dw))
    else {
        return Err(shape_error(op, format!("the {r_len}×{s_len} window does not fit {h}×{w}")));
    };
    let out_per_group = o / g;
    let mut y = Array4::<i64>::zeros((n, o, oh, ow));
    for b in 0..n {
        for k in 0..o {
            let group = k / out_per_group;
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = 0i64;
                    for c in 0..c_group {
                        for r in 0..r_len {
                            for s in 0..s_len {
                                // Position in the padded data; padding sits before index pt/pl.
                                let py = oy * sh + r * dh;
                                let px = ox * sw + s * dw;
                                let inside =
                                    (pt..pt + h).contains(&py) && (pl..pl + w).contains(&px);
                                let v = if inside {
                                    data[[b, group * c_group + c, py - pt, px - pl]]
                                } else {
                                    pad_value
                                };
                                acc += v * kernel[[k, c, r, s]];
                            }
                        }
                    }
                    y[[b, k, oy, ox]] = acc;
                }
            }
        }
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::DataLayout::*;
    use crate::ops::KernelLayout::*;

    fn t_u8(shape: &[usize], v: Vec<u8>) -> Tensor {
        Tensor::from_vec(shape, v).unwrap()
    }

    #[test]
    fn padded_3x3_by_hand() {
        // 1×1×2×2 data [[1, 2], [3, 4]], 3×3 kernel of ones, padding 1, pad value 10:
        // every output sees all four data cells and five pad cells.
        let data = t_u8(&[1, 1, 2, 2], vec![1, 2, 3, 4]);
        let kernel = Tensor::from_vec(&[1, 1, 3, 3], vec![1i8; 9]).unwrap();
        let conv = Conv2dAttrs { padding: [1, 1, 1, 1], ..Conv2dAttrs::default() };
        let y = conv2d("conv2d", &data, &kernel, &conv, 10).unwrap();
        assert_eq!(y, Tensor::from_vec(&[1, 1, 2, 2], vec![60i32; 4]).unwrap());
    }

    #[test]
    fn qnn_depthwise_per_channel_nhwc_hwio() {
        // NHWC 1×1×2×2 (two channels), depthwise (groups 2), 1×2 kernel HWIO [1, 2, 1, 2].
        // Channel 0 data [5, 7], a = 3; channel 1 data [9, 1].
        let data = t_u8(&[1, 1, 2, 2], vec![5, 9, 7, 1]);
        // HWIO [h=1][w=2][i=1][o=2]: w=0: (o0: 2, o1: -1), w=1: (o0: 4, o1: 3)
        let kernel = Tensor::from_vec(&[1, 2, 1, 2], vec![2i8, -1, 4, 3]).unwrap();
        let conv = Conv2dAttrs {
            groups: 2,
            data_layout: Nhwc,
            kernel_layout: Hwio,
            ..Conv2dAttrs::default()
        };
        let input = QuantParams::per_tensor(0.5, 3);
        let kq = QuantParams::per_axis(vec![1.0, 1.0], vec![1, -1], 3);
        let y = qnn_conv2d("qnn.conv2d", &data, &kernel, &conv, &input, &kq).unwrap();
        // k0: (5−3)(2−1) + (7−3)(4−1) = 2 + 12 = 14; k1: (9−3)(−1+1) + (1−3)(3+1) = −8.
        assert_eq!(y, Tensor::from_vec(&[1, 1, 1, 2], vec![14i32, -8]).unwrap());
    }

    #[test]
    fn strided_dilated_grouped_oihw_vs_ohwi() {
        // 1×2×3×3 data, groups 2, 2×2 kernel with dilation 2 → 1×1 output per channel.
        let data = t_u8(&[1, 2, 3, 3], (0..18).collect());
        let oihw = Tensor::from_vec(&[2, 1, 2, 2], vec![1i8, 0, 0, 1, 2, 0, 0, 0]).unwrap();
        let ohwi = Tensor::from_vec(&[2, 2, 2, 1], vec![1i8, 0, 0, 1, 2, 0, 0, 0]).unwrap();
        let conv =
            Conv2dAttrs { groups: 2, dilation: [2, 2], strides: [2, 2], ..Default::default() };
        let a = conv2d("conv2d", &data, &oihw, &conv, 0).unwrap();
        let conv_ohwi = Conv2dAttrs { kernel_layout: Ohwi, ..conv.clone() };
        let b = conv2d("conv2d", &data, &ohwi, &conv_ohwi, 0).unwrap();
        // k0 = data[0,0,0] + data[0,2,2] = 0 + 8; k1 = 2·data[1,0,0] = 18.
        assert_eq!(a, Tensor::from_vec(&[1, 2, 1, 1], vec![8i32, 18]).unwrap());
        assert_eq!(a, b);
    }

    #[test]
    fn accumulator_overflow_is_an_error() {
        // 1 × 40 000 channels of 255·(−128)... use i16: 32767 · 32767 · 3 > 2^31.
        let data = Tensor::from_vec(&[1, 3, 1, 1], vec![i16::MAX; 3]).unwrap();
        let kernel = Tensor::from_vec(&[1, 3, 1, 1], vec![i16::MAX; 3]).unwrap();
        let e = conv2d("conv2d", &data, &kernel, &Conv2dAttrs::default(), 0).unwrap_err();
        assert!(
            matches!(e, IrError::AccumulatorOverflow { value, .. } if value == 3 * 32767 * 32767)
        );
    }

    #[test]
    fn shape_errors() {
        let data = t_u8(&[1, 3, 2, 2], vec![0; 12]);
        let kernel = Tensor::from_vec(&[2, 2, 1, 1], vec![0i8; 4]).unwrap();
        let conv = Conv2dAttrs { groups: 2, ..Default::default() };
        assert!(matches!(conv2d("conv2d", &data, &kernel, &conv, 0), Err(IrError::Shape { .. })));
        let big = Tensor::from_vec(&[1, 3, 3, 3], vec![0i8; 27]).unwrap();
        let e = conv2d("conv2d", &data, &big, &Conv2dAttrs::default(), 0).unwrap_err();
        assert!(e.to_string().contains("does not fit"), "{e}");
    }
}
