//! The descriptor: what the legalizer and cost models know about this backend.

use qnn_ir::backend::{
    Arch, BACKEND_ABI_VERSION, BackendDescriptor, Capabilities, KernelClass, KernelCost,
};

/// The backend's stable name. Kernel entries repeat it in their `backend` field.
pub const NAME: &str = "template-scalar";

/// The descriptor this crate registers. Field by field:
///
/// * `abi_version`: [`BACKEND_ABI_VERSION`] of the `qnn-ir` this crate was built against; the
///   registry reports a mismatch instead of calling kernels whose signature may have changed.
/// * `name`: [`NAME`], stable across releases; users select a backend by it (`QNN_BACKEND`) and
///   reports print it.
/// * `arch`: [`Arch::Portable`]: plain Rust, so it is usable on every host and in every named
///   target. A SIMD backend says `X86_64` or `Aarch64`.
/// * `features`: none. A SIMD backend lists the CPU features its kernels are compiled for
///   (`"avx512vnni"`, `"dotprod"`); a target named for another machine includes the backend when
///   that machine has all of them.
/// * `probe`: always `Ok` here. A SIMD backend checks its features at run time
///   (`is_x86_feature_detected!`, `std::arch::is_aarch64_feature_detected!`) and returns `Err`
///   saying which one is missing; it must not panic.
/// * `priority`: −100, so that any real backend offering the same kernel wins over this one.
/// * `capabilities`:
///   * `int8_dot`: empty: no int8 dot-product instruction. This is what makes a legalizer prefer
///     the int16 lowering on a target whose only backend is this one;
///   * `int16_mac`: false: no 16-bit multiply-accumulate instruction; the scalar loop widens
///     to i32 before multiplying;
///   * `vector_bits`: 0: no vector registers;
///   * `bytes_per_cycle`: 8, one scalar 64-bit load per cycle;
///   * `costs`: one MAC per cycle for [`KernelClass::Int8Gemm`], the only class it has a
///     kernel for. Figures are for one core; a cost model only compares them.
/// * `summary`: the line `qnn targets` prints.
pub const DESCRIPTOR: BackendDescriptor = BackendDescriptor {
    abi_version: BACKEND_ABI_VERSION,
    name: NAME,
    arch: Arch::Portable,
    features: &[],
    probe: probe_scalar,
    priority: -100,
    capabilities: Capabilities {
        int8_dot: &[],
        int16_mac: false,
        vector_bits: 0,
        bytes_per_cycle: 8.0,
        costs: &[KernelCost { class: KernelClass::Int8Gemm, macs_per_cycle: 1.0 }],
    },
    summary: "template: scalar u8×i8 GEMM in plain Rust (a backend to copy, not a fast one)",
};

/// Plain Rust runs on every CPU.
pub fn probe_scalar() -> Result<(), String> {
    Ok(())
}

inventory::submit! { DESCRIPTOR }
