//! `slice`: a strided window of every axis (ONNX `Slice`, `Split`), steps of either sign.

use ndarray::{ArrayD, IxDyn};

use super::support::attr_error;
use crate::error::IrError;
use crate::tensor::{Element, Tensor};
use crate::with_array;

/// Checks that `starts`, `steps`, `sizes` have one entry per axis of `shape`, that no step is
/// zero and that every index the window reads lies inside `shape`.
pub(crate) fn check(
    op: &str,
    shape: &[usize],
    starts: &[usize],
    steps: &[i64],
    sizes: &[usize],
) -> Result<(), IrError> {
    let rank = shape.len();
    for (attr, len) in [("starts", starts.len()), ("steps", steps.len()), ("sizes", sizes.len())] {
        if len != rank {
            return Err(attr_error(op, attr, len, &format!("needs one entry per axis ({rank})")));
        }
    }
    for a in 0..rank {
        let (start, step, size, dim) = (starts[a], steps[a], sizes[a], shape[a]);
        if step == 0 {
            return Err(attr_error(op, "steps", format!("{steps:?}"), "a step is zero"));
        }
        if size == 0 {
            continue;
        }
        // The last index read, in i128 so no product of a size and a step can overflow.
        let last = start as i128 + (size as i128 - 1) * i128::from(step);
        if start >= dim || last < 0 || last >= dim as i128 {
            return Err(attr_error(
                op,
                "sizes",
                format!("{sizes:?}"),
                &format!(
                    "axis {a}: {size} elements from {start} in steps of {step} leave the input's {dim}"
                ),
            ));
        }
    }
    Ok(())
}

/// `y[i] = x[starts[a] + i[a] · steps[a]]` along every axis `a`.
pub(super) fn slice(
    op: &str,
    x: &Tensor,
    starts: &[usize],
    steps: &[i64],
    sizes: &[usize],
) -> Result<Tensor, IrError> {
    check(op, x.shape(), starts, steps, sizes)?;
    Ok(with_array!(x, a => Element::wrap(window(a, starts, steps, sizes))))
}

fn window<T: Copy>(a: &ArrayD<T>, starts: &[usize], steps: &[i64], sizes: &[usize]) -> ArrayD<T> {
    let mut src = vec![0usize; starts.len()];
    ArrayD::from_shape_fn(IxDyn(sizes), |idx| {
        for (k, s) in src.iter_mut().enumerate() {
            // In range by `check`.
            *s = (starts[k] as i64 + idx[k] as i64 * steps[k]) as usize;
        }
        a[src.as_slice()]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_backward_and_empty() {
        let x = Tensor::from_vec(&[2, 5], (0..10u8).collect()).unwrap();
        let y = slice("s", &x, &[0, 1], &[1, 2], &[2, 2]).unwrap();
        assert_eq!(y, Tensor::from_vec(&[2, 2], vec![1u8, 3, 6, 8]).unwrap());
        let y = slice("s", &x, &[1, 4], &[-1, -3], &[2, 2]).unwrap();
        assert_eq!(y, Tensor::from_vec(&[2, 2], vec![9u8, 6, 4, 1]).unwrap());
        let y = slice("s", &x, &[7, 0], &[1, 1], &[0, 5]).unwrap();
        assert_eq!(y.shape(), &[0, 5]);
    }

    #[test]
    fn reads_outside_are_errors() {
        let x = Tensor::from_vec(&[5], (0..5i8).collect()).unwrap();
        assert!(slice("s", &x, &[4], &[1], &[2]).is_err());
        assert!(slice("s", &x, &[1], &[-1], &[3]).is_err());
        assert!(slice("s", &x, &[0], &[0], &[1]).is_err());
        assert!(slice("s", &x, &[0], &[1, 1], &[1]).is_err());
        assert!(slice("s", &x, &[2], &[i64::MAX], &[2]).is_err());
    }
}
