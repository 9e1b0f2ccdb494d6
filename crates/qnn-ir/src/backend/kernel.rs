//! Kernel entries: what a backend contributes to the runtime.

use crate::dtype::DType;

use super::descriptor::KernelClass;

/// One tile of a GEMM microkernel call: `C[mr × nr] (+)= A · B` over `k` (a multiple of the
/// kernel's `kr`).
///
/// Packed layouts (the shared frame in `qnn-kernels` produces them):
/// * `a`: `k / kr` blocks, each `mr` rows × `kr` consecutive k values;
/// * `b`: `k / kr` blocks, each `nr` columns × `kr` consecutive k values;
///
/// elements of the kernel's operand dtypes, stored little-endian.
/// `c` is row-major with `c_row_stride` i32 elements between rows.
#[derive(Debug)]
#[repr(C)]
pub struct GemmTile {
    pub k: usize,
    pub a: *const u8,
    pub b: *const u8,
    pub c: *mut i32,
    pub c_row_stride: usize,
    /// Add to `c` instead of overwriting it.
    pub accumulate: bool,
}

/// A register-tiled GEMM microkernel.
#[derive(Debug, Clone, Copy)]
pub struct GemmMicrokernel {
    pub mr: usize,
    pub nr: usize,
    /// k values packed together (4 for `vpdpbusd`/`sdot`, 2 for `vpmaddwd`, 1 for `smlal`).
    pub kr: usize,
    /// # Safety
    /// The pointers must cover the packed panels and the `mr × nr` tile described above, and
    /// the CPU must have the backend's features (the runtime calls the backend's probe first).
    pub run: unsafe fn(&GemmTile),
}

/// How a kernel is implemented.
#[derive(Debug, Clone, Copy)]
pub enum KernelImpl {
    Gemm(GemmMicrokernel),
}

/// A kernel a backend registers with `inventory::submit!`.
#[derive(Debug, Clone, Copy)]
pub struct KernelEntry {
    /// Must equal [`BACKEND_ABI_VERSION`](super::BACKEND_ABI_VERSION).
    pub abi_version: u32,
    /// Name of the backend descriptor this kernel belongs to.
    pub backend: &'static str,
    /// ISA, op, dtypes, tile: `vnni_gemm_u8s8_16x16`.
    pub name: &'static str,
    pub class: KernelClass,
    /// Operand dtypes (data, weight).
    pub operands: (DType, DType),
    pub imp: KernelImpl,
}

inventory::collect!(KernelEntry);
