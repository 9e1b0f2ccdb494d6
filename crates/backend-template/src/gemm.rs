//! `template_gemm_u8i8_4x4`: one `4 × 4` tile of an indirect GEMM, u8 data times i8 weights,
//! in plain Rust, with the fused epilogue — the [`IndirectGemmMicrokernel`] contract every
//! CPU backend of qnn implements.
//!
//! The frame (`qnn-kernels`) turns a convolution or dense layer into tiles: for each of
//! `taps` kernel positions it hands `MR` row pointers (`a`: the input pixel each output row
//! reads at that tap, or a row of the pad value), and the packed weight panel `b`: `taps · kc
//! / KR` blocks of `NR` columns × `KR` k values. The kernel computes
//!
//! ```text
//! acc[i][j] = Σ_t Σ_{k < kc} A(t, i)[k] · B(t, k, j)
//! ```
//!
//! and hands `acc` to the epilogue of [`qnn_kernels::epilogue::lanes`] (bias, the T3 term,
//! requantize, clamp, store), which writes rows `< m` and columns `< n`. With `KR = 1` each
//! k step reads 4 data bytes and 4 weight bytes and does 16 multiply-accumulates: an outer
//! product, the shape of every SIMD microkernel (a SIMD kernel is the same loop on vectors:
//! `examples/third-party-backend/src/gemm.rs` does it on SSE `pmaddwd`).

use qnn_ir::DType;
use qnn_ir::backend::{
    BACKEND_ABI_VERSION, IndirectGemmArgs, IndirectGemmMicrokernel, KernelClass, KernelEntry,
    KernelImpl, PanelLayout, WeightConstraint,
};
use qnn_kernels::epilogue::lanes;

use crate::descriptor::{NAME, probe_scalar};

/// Rows of the tile (output pixels).
pub const MR: usize = 4;
/// Columns of the tile (output channels).
pub const NR: usize = 4;
/// k values packed together per column.
pub const KR: usize = 1;

/// The microkernel.
///
/// Range: |u8 · i8| ≤ 255 · 128 = 32 640. The frame proves before planning that the
/// accumulator and the epilogue stay within i32 for the layer's real values (ARCHITECTURE.md
/// §4: a reduction with 255 · 255 · K ≥ 2³¹ is refused or split); the adds are
/// `wrapping_add` so that a caller breaking that contract gets the same two's-complement
/// bits as the SIMD kernels, not a panic in debug builds only.
///
/// # Safety
/// The contract of [`IndirectGemmMicrokernel::run`]: `a` holds `taps × MR` row pointers,
/// each valid for `kc` bytes; `b` holds `taps · kc` blocks of `NR` i8 weights; the output of
/// `args.out` is valid for `m ≤ MR` rows and `n ≤ NR` columns and ours alone for the call.
pub unsafe fn gemm_u8i8_4x4(args: &IndirectGemmArgs<'_>) {
    let mut acc = [[0i32; NR]; MR];
    let mut b = args.b.cast::<i8>();
    for t in 0..args.taps {
        // SAFETY: `a` holds taps × MR row pointers.
        let rows: [*const u8; MR] = std::array::from_fn(|i| unsafe { *args.a.add(t * MR + i) });
        for k in 0..args.kc {
            // SAFETY: the panel holds taps · kc blocks of NR weights (KR = 1).
            let w: [i8; NR] = unsafe { b.cast::<[i8; NR]>().read() };
            for (row, acc_row) in rows.iter().zip(acc.iter_mut()) {
                // SAFETY: each row pointer is valid for kc bytes.
                let x = i32::from(unsafe { *row.add(k) });
                for (c, &wj) in acc_row.iter_mut().zip(&w) {
                    *c = c.wrapping_add(x * i32::from(wj));
                }
            }
            // SAFETY: the next block (or one past the last).
            b = unsafe { b.add(NR * KR) };
        }
    }
    // SAFETY: the output pointers follow the contract for m ≤ MR rows and n ≤ NR columns.
    unsafe { lanes::gemm_tile::<MR, NR>(&acc, args.m, args.n, &args.out) };
}

qnn_kernels::kernel!(
    /// The kernel this crate registers, declared once: `kernel!` defines the `pub const` entry
    /// named by the identifier (its `name` field), registers it with `inventory`, checks that it
    /// is a `conv` kernel and, in this crate's test build, runs the shared conformance suite of
    /// `qnn-kernels` on the registered entry (random layers through the frame's packing, every
    /// tile tail, edge zero points and values, rounding ties, thread counts, against the
    /// reference interpreter). Field by field:
    ///
    /// * `abi_version`: as in the descriptor;
    /// * `backend`: the descriptor's [`NAME`]: a kernel whose backend is not registered is
    ///   reported by `registry::problems`;
    /// * `name`: set by `kernel!` from the identifier: ISA, op, operand dtypes, tile
    ///   (`template_gemm_u8i8_4x4`), unique within the backend;
    /// * `class`: [`KernelClass::Int8Gemm`]: 8-bit operands, i32 accumulation; cost models look
    ///   up the descriptor's figure for this class;
    /// * `operands`: (data, weight) = (u8, i8): the layers it computes;
    /// * `imp`: an [`IndirectGemmMicrokernel`]: its tile (`mr × nr`) and `kr`, which the
    ///   frame's packing reads; `packed`, the dtypes it reads (a kernel for i16 gets 8-bit
    ///   data widened by the frame); `fused_epilogue: true`, it applies the epilogue itself
    ///   (with `false` the frame passes raw i32 output and runs the epilogue after); no weight
    ///   constraint; its own `probe` (the same as the descriptor's here); the function.
    conv template_gemm_u8i8_4x4 = KernelEntry {
        abi_version: BACKEND_ABI_VERSION,
        backend: NAME,
        name: "",
        class: KernelClass::Int8Gemm,
        operands: (DType::U8, DType::I8),
        imp: KernelImpl::IndirectGemm(IndirectGemmMicrokernel {
            mr: MR,
            nr: NR,
            kr: KR,
            packed: (DType::U8, DType::I8),
            layout: PanelLayout::Interleaved,
            fused_epilogue: true,
            strip: false,
            constraint: WeightConstraint::None,
            probe: probe_scalar,
            run: gemm_u8i8_4x4,
        }),
    }
);
