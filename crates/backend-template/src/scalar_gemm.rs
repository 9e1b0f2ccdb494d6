//! `template_gemm_u8i8_4x4`: `C[4×4] (+)= A·B` over `k`, u8 data times i8 weights, in plain Rust.
//!
//! Packed panels, as [`GemmTile`] defines them, with `kr = 1` (one k value per block):
//! `a[p·4 + i] = A[i][p]` and `b[p·4 + j] = B[p][j]`, so each step of `p` reads 4 data and 4
//! weight bytes and does 16 multiply-accumulates: an outer product, the shape every SIMD
//! microkernel in qnn has too.

use std::slice;

use qnn_ir::DType;
use qnn_ir::backend::{
    BACKEND_ABI_VERSION, GemmMicrokernel, GemmTile, KernelClass, KernelEntry, KernelImpl,
};

use crate::descriptor::NAME;

/// Rows of the tile (data rows: output pixels).
pub const MR: usize = 4;
/// Columns of the tile (weight columns: output channels).
pub const NR: usize = 4;
/// k values per packed block.
pub const KR: usize = 1;

/// The microkernel.
///
/// Range: |u8 · i8| ≤ 255 · 128 = 32 640, so up to 65 793 products fit in i32. The legalizer
/// refuses (or splits) any reduction with 255 · 255 · K ≥ 2³¹, i.e. K > 33 025 (ARCHITECTURE.md
/// §4), before a kernel runs, and a split reduction's partial sums in `c` obey the same bound; so
/// no reachable call wraps. The adds are `wrapping_add` so that a caller breaking that contract
/// gets the same two's-complement bits as the SIMD kernels, not a panic in debug builds only.
///
/// # Safety
/// The contract of [`GemmMicrokernel::run`]: for `k > 0`, `a` covers `k · MR` bytes and `b`
/// covers `k · NR` bytes; `c` is aligned for i32 and rows `0..MR` of the tile, `NR` values each
/// at `c + i · c_row_stride`, are valid for reads and writes and not accessed by anyone else
/// during the call. When `k = 0`, `a` and `b` are not read (they may dangle); the tile of `c`
/// always is (written, and also read when `accumulate`).
pub unsafe fn gemm_u8i8_4x4(tile: &GemmTile) {
    let (a, b): (&[u8], &[i8]) = if tile.k == 0 {
        (&[], &[])
    } else {
        // SAFETY: for k > 0 the caller guarantees `a` points at k/KR blocks of MR × KR u8
        // values and `b` at k/KR blocks of NR × KR weights; the weights are i8, which has the
        // size and alignment of u8.
        unsafe {
            (
                slice::from_raw_parts(tile.a, tile.k * MR),
                slice::from_raw_parts(tile.b.cast::<i8>(), tile.k * NR),
            )
        }
    };

    let mut acc = [[0i32; NR]; MR];
    for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
        for (acc_row, &x) in acc.iter_mut().zip(ap) {
            for (acc_ij, &w) in acc_row.iter_mut().zip(bp) {
                *acc_ij = acc_ij.wrapping_add(i32::from(x) * i32::from(w));
            }
        }
    }

    for (i, acc_row) in acc.iter().enumerate() {
        // SAFETY: row i of the tile is NR i32 values at c + i·c_row_stride, valid and ours
        // alone for this call (see # Safety). One row at a time: a slice spanning several rows
        // would also cover the gap between them, which may belong to a tile another thread is
        // writing.
        let c_row = unsafe { slice::from_raw_parts_mut(tile.c.add(i * tile.c_row_stride), NR) };
        for (c, &v) in c_row.iter_mut().zip(acc_row) {
            *c = if tile.accumulate { c.wrapping_add(v) } else { v };
        }
    }
}

qnn_kernels::kernel!(
    /// The kernel this crate registers, declared once: `kernel!` defines the `pub const` entry
    /// named by the identifier (its `name` field), registers it with `inventory`, checks that it
    /// is a `conv` kernel and, in this crate's test build, runs the shared conformance suite of
    /// `qnn-kernels` on the registered entry (random layers through the frame's packing, against
    /// the reference interpreter). Field by field:
    ///
    /// * `abi_version`: as in the descriptor;
    /// * `backend`: the descriptor's [`NAME`]: a kernel whose backend is not registered is reported
    ///   by `registry::problems`;
    /// * `name`: set by `kernel!` from the identifier: ISA, op, operand dtypes, tile
    ///   (`template_gemm_u8i8_4x4`), unique within the backend;
    /// * `class`: [`KernelClass::Int8Gemm`]: 8-bit operands, i32 accumulation; cost models look up
    ///   the descriptor's figure for this class;
    /// * `operands`: (data, weight) = (u8, i8), what the packed panels hold;
    /// * `imp`: a [`GemmMicrokernel`] with its tile (`mr × nr`), its `kr`, which the packing code
    ///   reads to lay out the panels, and the function pointer.
    conv template_gemm_u8i8_4x4 = KernelEntry {
        abi_version: BACKEND_ABI_VERSION,
        backend: NAME,
        name: "",
        class: KernelClass::Int8Gemm,
        operands: (DType::U8, DType::I8),
        imp: KernelImpl::Gemm(GemmMicrokernel { mr: MR, nr: NR, kr: KR, run: gemm_u8i8_4x4 }),
    }
);
