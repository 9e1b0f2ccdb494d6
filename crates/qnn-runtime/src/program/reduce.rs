//! Reduction steps: `sum` over a contiguous block of axes (global average pooling) and
//! `pool2d` (NHWC or NCHW), with their parameters. Run by `exec::reduce`.

use qnn_ir::{DType, Pool2dAttrs, PoolKind};

/// A `sum` whose reduced axes form one contiguous block: `[outer, reduced, inner]`.
#[derive(Debug, Clone)]
pub(crate) struct SumBlock {
    pub outer: usize,
    pub reduced: usize,
    pub inner: usize,
    pub dtype: DType,
}

impl SumBlock {
    /// The block form of a sum over `axes` of `shape`, if the axes are contiguous (unit axes
    /// aside).
    pub(crate) fn new(shape: &[usize], axes: &[usize], dtype: DType) -> Option<Self> {
        let real: Vec<usize> = axes.iter().copied().filter(|&a| shape[a] > 1).collect();
        let (Some(&first), Some(&last)) = (real.first(), real.last()) else {
            // Only unit axes are reduced: every output element is one input element.
            let n = shape.iter().product();
            return Some(SumBlock { outer: n, reduced: 1, inner: 1, dtype });
        };
        if !(first..=last).all(|a| shape[a] == 1 || real.contains(&a)) {
            return None;
        }
        Some(SumBlock {
            outer: shape[..first].iter().product(),
            reduced: shape[first..=last].iter().product(),
            inner: shape[last + 1..].iter().product(),
            dtype,
        })
    }
}

/// `pool2d` on integer data in NHWC or NCHW (`in_shape` is `[n, c, h, w]` either way).
#[derive(Debug, Clone)]
pub(crate) struct Pool {
    pub kind: PoolKind,
    pub pool: Pool2dAttrs,
    pub pad_value: i32,
    pub in_shape: [usize; 4],
    pub out_hw: [usize; 2],
    pub dtype: DType,
}
