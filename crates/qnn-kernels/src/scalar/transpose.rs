//! The transpose contract ([`TransposeMicrokernel`](qnn_ir::backend::TransposeMicrokernel))
//! in plain Rust: input `(r, c)` to output `(c, r)`, column by column so that the writes are
//! contiguous.

use qnn_ir::backend::{TransposeArgs, TransposeConvert};

use super::elementwise::{dequantize, quantize};
use super::{Elem, F32};

/// [`TransposeConvert::None`] on elements of `N` bytes (1, 2 or 4).
///
/// # Safety
/// See [`TransposeMicrokernel::run`](qnn_ir::backend::TransposeMicrokernel).
pub unsafe fn transpose_bytes<const N: usize>(args: &TransposeArgs<'_>) {
    for c in 0..args.cols {
        for r in 0..args.rows {
            // SAFETY: input (r, c) and output (c, r) lie inside the block the caller
            // guarantees; the regions do not overlap.
            unsafe {
                let src = args.src.add((r * args.src_stride + c) * N);
                let dst = args.dst.add((c * args.dst_stride + r) * N);
                std::ptr::copy_nonoverlapping(src, dst, N);
            }
        }
    }
}

/// [`TransposeConvert::Quantize`]: f32 input, `O` output.
///
/// # Safety
/// See [`TransposeMicrokernel::run`](qnn_ir::backend::TransposeMicrokernel).
pub unsafe fn transpose_quantize<O: Elem>(args: &TransposeArgs<'_>) {
    let TransposeConvert::Quantize { scale, zero_point, lo, hi } = *args.convert else {
        debug_assert!(false, "transpose_quantize called with {:?}", args.convert);
        return;
    };
    for c in 0..args.cols {
        for r in 0..args.rows {
            // SAFETY: as in `transpose_bytes`.
            unsafe {
                let x = F32::read(args.src, r * args.src_stride + c);
                let q = quantize(x, scale, zero_point, lo, hi);
                O::write(args.dst, c * args.dst_stride + r, q);
            }
        }
    }
}

/// [`TransposeConvert::Dequantize`]: `E` input, f32 output.
///
/// # Safety
/// See [`TransposeMicrokernel::run`](qnn_ir::backend::TransposeMicrokernel).
pub unsafe fn transpose_dequantize<E: Elem>(args: &TransposeArgs<'_>) {
    let TransposeConvert::Dequantize { zero_point, scale } = *args.convert else {
        debug_assert!(false, "transpose_dequantize called with {:?}", args.convert);
        return;
    };
    for c in 0..args.cols {
        for r in 0..args.rows {
            // SAFETY: as in `transpose_bytes`.
            unsafe {
                let x = E::read(args.src, r * args.src_stride + c);
                F32::write(args.dst, c * args.dst_stride + r, dequantize(x, zero_point, scale));
            }
        }
    }
}
