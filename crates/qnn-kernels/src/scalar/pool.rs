//! The pooling contract ([`PoolMicrokernel`](qnn_ir::backend::PoolMicrokernel)) in plain
//! Rust: per output pixel, a block of channels accumulated over the taps in window order.

use qnn_ir::backend::{PoolArgs, PoolOp};

use super::Elem;

/// Channels accumulated together (a stack array; the taps stream through it).
const CHUNK: usize = 64;

/// [`PoolOp::Max`]: the maximum over the cells.
///
/// # Safety
/// See [`PoolMicrokernel::run`](qnn_ir::backend::PoolMicrokernel): `E` is the input and
/// output element type.
pub unsafe fn pool_max<E: Elem>(args: &PoolArgs<'_>) {
    for p in 0..args.pixels {
        // SAFETY: `cells` holds `pixels × taps` pointers.
        let cells = unsafe { args.cells.add(p * args.taps) };
        for c0 in (0..args.channels).step_by(CHUNK) {
            let n = CHUNK.min(args.channels - c0);
            let mut acc = [i32::MIN; CHUNK];
            for t in 0..args.taps {
                // SAFETY: every cell is valid for `channels` elements.
                let cell = unsafe { *cells.add(t) };
                for (i, a) in acc[..n].iter_mut().enumerate() {
                    // SAFETY: as above.
                    *a = (*a).max(unsafe { E::read(cell, c0 + i) });
                }
            }
            for (i, &a) in acc[..n].iter().enumerate() {
                // SAFETY: output pixel `p` holds `channels` elements at `p · out_stride`.
                unsafe { E::write(args.out, p * args.out_stride + c0 + i, a) };
            }
        }
    }
}

/// [`PoolOp::AverageF32`]: the f32 average of ONNX Runtime's `QLinearAveragePool`, input
/// elements `E`, output elements `O`.
///
/// # Safety
/// See [`PoolMicrokernel::run`](qnn_ir::backend::PoolMicrokernel); `counts` holds `pixels`
/// entries.
pub unsafe fn pool_average_f32<E: Elem, O: Elem>(args: &PoolArgs<'_>) {
    let PoolOp::AverageF32 { zp_in, scale_in, scale_out, zp_out, lo, hi } = *args.op else {
        debug_assert!(false, "pool_average_f32 called with {:?}", args.op);
        return;
    };
    for p in 0..args.pixels {
        // SAFETY: `cells` holds `pixels × taps` pointers.
        let cells = unsafe { args.cells.add(p * args.taps) };
        let count = args.counts[p];
        for c0 in (0..args.channels).step_by(CHUNK) {
            let n = CHUNK.min(args.channels - c0);
            let mut sum = [0f32; CHUNK];
            for t in 0..args.taps {
                // SAFETY: every cell is valid for `channels` elements.
                let cell = unsafe { *cells.add(t) };
                for (i, s) in sum[..n].iter_mut().enumerate() {
                    // SAFETY: as above.
                    let x = unsafe { E::read(cell, c0 + i) };
                    // The frame checks that `x − zp_in` fits i32 for every x of the dtype.
                    *s += x.wrapping_sub(zp_in) as f32 * scale_in;
                }
            }
            for (i, &s) in sum[..n].iter().enumerate() {
                let y = (s / count / scale_out + zp_out).round_ties_even().max(lo).min(hi);
                // SAFETY: output pixel `p` holds `channels` elements at `p · out_stride`.
                unsafe { O::write(args.out, p * args.out_stride + c0 + i, y as i32) };
            }
        }
    }
}

/// [`PoolOp::SumI32`]: the exact sum over the cells, i32 output.
///
/// # Safety
/// See [`PoolMicrokernel::run`](qnn_ir::backend::PoolMicrokernel).
pub unsafe fn pool_sum_i32<E: Elem>(args: &PoolArgs<'_>) {
    for p in 0..args.pixels {
        // SAFETY: `cells` holds `pixels × taps` pointers.
        let cells = unsafe { args.cells.add(p * args.taps) };
        for c0 in (0..args.channels).step_by(CHUNK) {
            let n = CHUNK.min(args.channels - c0);
            let mut acc = [0i32; CHUNK];
            for t in 0..args.taps {
                // SAFETY: every cell is valid for `channels` elements.
                let cell = unsafe { *cells.add(t) };
                for (i, a) in acc[..n].iter_mut().enumerate() {
                    // SAFETY: as above. The frame proves the sum fits i32.
                    *a = a.wrapping_add(unsafe { E::read(cell, c0 + i) });
                }
            }
            for (i, &a) in acc[..n].iter().enumerate() {
                // SAFETY: output pixel `p` holds `channels` i32 elements at `p · out_stride`.
                unsafe { super::I32::write(args.out, p * args.out_stride + c0 + i, a) };
            }
        }
    }
}
