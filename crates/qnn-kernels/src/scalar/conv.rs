//! The convolution contracts in plain Rust: the indirect GEMM tile
//! ([`IndirectGemmMicrokernel`]), the depthwise row ([`DepthwiseMicrokernel`]) and the draft
//! packed-panel tile ([`GemmMicrokernel`]).

use qnn_ir::backend::{DepthwiseArgs, GemmTile, IndirectGemmArgs};
#[cfg(doc)]
use qnn_ir::backend::{DepthwiseMicrokernel, GemmMicrokernel, IndirectGemmMicrokernel};

use super::{Elem, I8, U8};
use crate::epilogue::lanes;

/// The GEMM microkernel contract in plain Rust (wrapping i32 accumulation: exact under the
/// frame's range argument).
///
/// # Safety
/// See [`IndirectGemmMicrokernel::run`].
pub unsafe fn gemm<D: Elem, W: Elem, const MR: usize, const NR: usize, const KR: usize>(
    args: &IndirectGemmArgs<'_>,
) {
    let mut acc = [[0i32; NR]; MR];
    let mut b = args.b;
    let wsize = W::DTYPE.size_bytes();
    for t in 0..args.taps {
        for kb in 0..args.kc / KR {
            for (i, row) in acc.iter_mut().enumerate() {
                // SAFETY: `a` holds taps × MR valid row pointers.
                let a = unsafe { *args.a.add(t * MR + i) };
                for (j, c) in row.iter_mut().enumerate() {
                    for kk in 0..KR {
                        // SAFETY: rows hold kc elements; the block holds NR × KR weights.
                        let (d, w) = unsafe { (D::read(a, kb * KR + kk), W::read(b, j * KR + kk)) };
                        *c = c.wrapping_add(d.wrapping_mul(w));
                    }
                }
            }
            // SAFETY: the panel holds taps · kc / KR blocks.
            b = unsafe { b.add(NR * KR * wsize) };
        }
    }
    // SAFETY: the output pointers follow the contract.
    unsafe { lanes::gemm_tile::<MR, NR>(&acc, args.m, args.n, &args.out) };
}

/// The depthwise microkernel contract in plain Rust.
///
/// # Safety
/// See [`DepthwiseMicrokernel::run`].
pub unsafe fn depthwise<D: Elem, W: Elem, const BLOCK: usize, const KR: usize>(
    args: &DepthwiseArgs<'_>,
) {
    let c = args.channels;
    let blocks = c.div_ceil(BLOCK);
    let per = BLOCK / KR;
    let e = args.epilogue;
    let size = e.out_dtype.size_bytes();
    for x in 0..args.ow {
        for b in 0..blocks {
            let mut acc = [0i32; BLOCK];
            let mut sums = [0i32; BLOCK];
            for r in 0..args.kh {
                // SAFETY: `rows` holds kh row pointers.
                let row = unsafe { *args.rows.add(r) };
                for s in 0..args.kw {
                    let t = r * args.kw + s;
                    let base = (x * args.stride_w + s * args.dilation_w) * c + b * BLOCK;
                    for j in 0..KR {
                        for i in 0..per {
                            let pos = KR * i + j;
                            let w_at = ((t * blocks + b) * KR + j) * BLOCK + pos;
                            // SAFETY: padded rows hold a block of slack; weights are packed
                            // for every tap and block.
                            let (d, w) =
                                unsafe { (D::read(row, base + pos), W::read(args.weights, w_at)) };
                            let lane = j * per + i;
                            acc[lane] = acc[lane].wrapping_add(d.wrapping_mul(w));
                            sums[lane] = sums[lane].wrapping_add(d);
                        }
                    }
                }
            }
            let mut v = lanes::add_bias(&acc, e, b * BLOCK);
            if let Some(t3) = e.t3_zero_point {
                lanes::sub_t3_lanes(&mut v, t3, b * BLOCK, &sums);
            }
            let o = lanes::requantize(&v, e, b * BLOCK);
            for (lane, val) in o.iter().enumerate() {
                let ch = b * BLOCK + KR * (lane % per) + lane / per;
                if ch < c {
                    // SAFETY: pixel x < ow, channel < channels of the output row.
                    unsafe {
                        lanes::store(&[*val], 1, e.out_dtype, args.out.add((x * c + ch) * size))
                    };
                }
            }
        }
    }
}

/// The draft packed-panel contract ([`GemmTile`]) in plain Rust, u8 × i8, `kr = 1`.
///
/// # Safety
/// See [`GemmMicrokernel::run`].
pub unsafe fn panel_gemm_u8s8<const MR: usize, const NR: usize>(tile: &GemmTile) {
    for i in 0..MR {
        for j in 0..NR {
            let mut acc = 0i32;
            for p in 0..tile.k {
                // SAFETY: the panels hold k blocks of MR (resp. NR) elements.
                let (d, w) =
                    unsafe { (U8::read(tile.a, p * MR + i), I8::read(tile.b, p * NR + j)) };
                acc = acc.wrapping_add(d.wrapping_mul(w));
            }
            // SAFETY: the tile of `c` is valid for MR rows of NR elements.
            let c = unsafe { &mut *tile.c.add(i * tile.c_row_stride + j) };
            *c = if tile.accumulate { c.wrapping_add(acc) } else { acc };
        }
    }
}
