//! Shape arithmetic shared by several ops.

use crate::dtype::DType;
use crate::error::IrError;
use crate::ops::{Conv2dAttrs, Pool2dAttrs, window_output};
use crate::tensor::TensorType;

use super::attr_err;

/// Numpy broadcasting of two shapes.
pub fn broadcast_shapes(op: &str, a: &[usize], b: &[usize]) -> Result<Vec<usize>, IrError> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank { a[i + a.len() - rank] } else { 1 };
        let db = if i + b.len() >= rank { b[i + b.len() - rank] } else { 1 };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(IrError::Shape {
                    op: op.into(),
                    msg: format!("shapes {a:?} and {b:?} do not broadcast"),
                });
            }
        };
    }
    Ok(out)
}

fn check_window_attrs(op: &str, strides: [usize; 2], dilation: [usize; 2]) -> Result<(), IrError> {
    if strides.contains(&0) {
        return Err(attr_err(op, "strides", strides, "strides must be ≥ 1"));
    }
    if dilation.contains(&0) {
        return Err(attr_err(op, "dilation", dilation, "dilation must be ≥ 1"));
    }
    Ok(())
}

/// Output type of a convolution (core or QNN): checks ranks, groups, the kernel's input
/// channels against the data's, and that the window fits the padded input.
pub fn conv2d_output_type(
    op: &str,
    conv: &Conv2dAttrs,
    data: &TensorType,
    kernel: &TensorType,
) -> Result<TensorType, IrError> {
    super::rank_is(op, 0, data, 4)?;
    super::rank_is(op, 1, kernel, 4)?;
    check_window_attrs(op, conv.strides, conv.dilation)?;
    let [n, c, h, w] = conv.data_layout.nchw(&data.shape);
    let [o, i, kh, kw] = conv.kernel_layout.oihw(&kernel.shape);
    let g = conv.groups;
    if g == 0 || c % g != 0 || o % g != 0 {
        return Err(attr_err(
            op,
            "groups",
            g,
            &format!("must divide the input channels ({c}) and the output channels ({o})"),
        ));
    }
    if i != c / g {
        return Err(IrError::Shape {
            op: op.into(),
            msg: format!(
                "kernel {:?} ({}) has {i} input channels per group; the data has {c} channels in {g} group(s), so {} are needed",
                kernel.shape,
                conv.kernel_layout,
                c / g
            ),
        });
    }
    let [pt, pl, pb, pr] = conv.padding;
    let oh = window_output(h, pt, pb, kh, conv.strides[0], conv.dilation[0]);
    let ow = window_output(w, pl, pr, kw, conv.strides[1], conv.dilation[1]);
    let (Some(oh), Some(ow)) = (oh, ow) else {
        return Err(IrError::Shape {
            op: op.into(),
            msg: format!(
                "kernel {kh}×{kw} with dilation {:?} does not fit input {h}×{w} padded by {:?}",
                conv.dilation, conv.padding
            ),
        });
    };
    if oh == 0 || ow == 0 || n == 0 || o == 0 {
        return Err(IrError::Shape {
            op: op.into(),
            msg: format!("empty output (N={n}, O={o}, {oh}×{ow})"),
        });
    }
    Ok(TensorType::new(DType::I32, conv.data_layout.shape(n, o, oh, ow)))
}

/// Output shape of a 2-D pooling window over a 4-D tensor (channels kept).
pub fn pool2d_output_shape(
    op: &str,
    pool: &Pool2dAttrs,
    data: &TensorType,
) -> Result<Vec<usize>, IrError> {
    super::rank_is(op, 0, data, 4)?;
    check_window_attrs(op, pool.strides, pool.dilation)?;
    if pool.kernel.contains(&0) {
        return Err(attr_err(op, "kernel", pool.kernel, "window must be at least 1×1"));
    }
    let [pt, pl, pb, pr] = pool.padding;
    if pt >= pool.kernel[0] || pb >= pool.kernel[0] || pl >= pool.kernel[1] || pr >= pool.kernel[1]
    {
        return Err(attr_err(
            op,
            "padding",
            pool.padding,
            "padding must be smaller than the window, or some windows would see only padding",
        ));
    }
    let [n, c, h, w] = pool.layout.nchw(&data.shape);
    let oh = window_output(h, pt, pb, pool.kernel[0], pool.strides[0], pool.dilation[0]);
    let ow = window_output(w, pl, pr, pool.kernel[1], pool.strides[1], pool.dilation[1]);
    match (oh, ow) {
        (Some(oh), Some(ow)) => Ok(pool.layout.shape(n, c, oh, ow)),
        _ => Err(IrError::Shape {
            op: op.into(),
            msg: format!(
                "window {:?} with dilation {:?} does not fit input {h}×{w} padded by {:?}",
                pool.kernel, pool.dilation, pool.padding
            ),
        }),
    }
}

/// True when every window along one axis covers at least one unpadded cell. With dilation 1
/// and padding smaller than the window this always holds; a dilated window can step over the
/// whole input, and then a max or an average over unpadded cells has nothing to reduce.
fn every_window_sees_data(
    input: usize,
    pad_before: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    out: usize,
) -> bool {
    if dilation == 1 {
        return true;
    }
    // Checked per output position; beyond this many positions the reference still reports an
    // empty window when it meets one.
    const MAX_CHECKED: usize = 1 << 20;
    (0..out.min(MAX_CHECKED)).all(|o| {
        (0..kernel).any(|j| {
            let p = o * stride + j * dilation;
            p >= pad_before && p - pad_before < input
        })
    })
}

/// Errors when some window sees only padding (for reductions that ignore padded cells: max
/// pooling, and average pooling that does not count padding).
pub(crate) fn check_windows_see_data(
    op: &str,
    pool: &Pool2dAttrs,
    data: &TensorType,
    out_shape: &[usize],
) -> Result<(), IrError> {
    let [_, _, h, w] = pool.layout.nchw(&data.shape);
    let [_, _, oh, ow] = pool.layout.nchw(out_shape);
    let ok_h = every_window_sees_data(
        h,
        pool.padding[0],
        pool.kernel[0],
        pool.strides[0],
        pool.dilation[0],
        oh,
    );
    let ok_w = every_window_sees_data(
        w,
        pool.padding[1],
        pool.kernel[1],
        pool.strides[1],
        pool.dilation[1],
        ow,
    );
    if ok_h && ok_w {
        return Ok(());
    }
    Err(attr_err(
        op,
        "dilation",
        pool.dilation,
        "some window covers only padding, so there is nothing to reduce",
    ))
}
