//! Stand-ins for the `core::arch::aarch64` dot-product and matrix-multiply intrinsics, which
//! are unstable on Rust 1.95 (`stdarch_neon_dotprod`, `stdarch_neon_i8mm`).
//!
//! Each function has the name, signature and semantics of the intrinsic it replaces and
//! wraps its single instruction in `asm!` inside a `#[target_feature]` function, so the
//! compiler allocates registers and inlines it like an intrinsic. When the intrinsics
//! stabilize, replace `use crate::intrinsics::*` by `use core::arch::aarch64::*` and delete
//! this file; the tests below state the semantics both must have.

use core::arch::aarch64::*;
use core::arch::asm;

/// `sdot`: lane `i` of `a` plus `Σ_{k<4} b[4i+k] · c[4i+k]` (s8 × s8 → i32).
///
/// # Safety
/// Callable without `unsafe` only from code compiled with `dotprod`; elsewhere the caller
/// must have probed the CPU for it (`is_aarch64_feature_detected!("dotprod")`).
#[inline]
#[target_feature(enable = "neon,dotprod")]
pub fn vdotq_s32(a: int32x4_t, b: int8x16_t, c: int8x16_t) -> int32x4_t {
    let mut acc = a;
    // SAFETY: one register-only instruction; the enclosing target feature guarantees it.
    unsafe {
        asm!(
            "sdot {acc:v}.4s, {b:v}.16b, {c:v}.16b",
            acc = inout(vreg) acc, b = in(vreg) b, c = in(vreg) c,
            options(pure, nomem, nostack, preserves_flags)
        )
    };
    acc
}

/// `udot`: lane `i` of `a` plus `Σ_{k<4} b[4i+k] · c[4i+k]` (u8 × u8 → u32).
///
/// # Safety
/// Callable without `unsafe` only from code compiled with `dotprod`; elsewhere the caller
/// must have probed the CPU for it (`is_aarch64_feature_detected!("dotprod")`).
#[inline]
#[target_feature(enable = "neon,dotprod")]
pub fn vdotq_u32(a: uint32x4_t, b: uint8x16_t, c: uint8x16_t) -> uint32x4_t {
    let mut acc = a;
    // SAFETY: one register-only instruction; the enclosing target feature guarantees it.
    unsafe {
        asm!(
            "udot {acc:v}.4s, {b:v}.16b, {c:v}.16b",
            acc = inout(vreg) acc, b = in(vreg) b, c = in(vreg) c,
            options(pure, nomem, nostack, preserves_flags)
        )
    };
    acc
}

/// `sdot` by element: lane `i` of `a` plus `Σ_{k<4} b[4i+k] · c[4·LANE+k]` (s8 × s8).
///
/// # Safety
/// Callable without `unsafe` only from code compiled with `dotprod`; elsewhere the caller
/// must have probed the CPU for it (`is_aarch64_feature_detected!("dotprod")`).
#[inline]
#[target_feature(enable = "neon,dotprod")]
pub fn vdotq_laneq_s32<const LANE: i32>(a: int32x4_t, b: int8x16_t, c: int8x16_t) -> int32x4_t {
    const { assert!(LANE >= 0 && LANE < 4) };
    let mut acc = a;
    // SAFETY: one register-only instruction; the enclosing target feature guarantees it.
    unsafe {
        asm!(
            "sdot {acc:v}.4s, {b:v}.16b, {c:v}.4b[{lane}]",
            acc = inout(vreg) acc, b = in(vreg) b, c = in(vreg) c, lane = const LANE,
            options(pure, nomem, nostack, preserves_flags)
        )
    };
    acc
}

/// `udot` by element: lane `i` of `a` plus `Σ_{k<4} b[4i+k] · c[4·LANE+k]` (u8 × u8).
///
/// # Safety
/// Callable without `unsafe` only from code compiled with `dotprod`; elsewhere the caller
/// must have probed the CPU for it (`is_aarch64_feature_detected!("dotprod")`).
#[inline]
#[target_feature(enable = "neon,dotprod")]
pub fn vdotq_laneq_u32<const LANE: i32>(a: uint32x4_t, b: uint8x16_t, c: uint8x16_t) -> uint32x4_t {
    const { assert!(LANE >= 0 && LANE < 4) };
    let mut acc = a;
    // SAFETY: one register-only instruction; the enclosing target feature guarantees it.
    unsafe {
        asm!(
            "udot {acc:v}.4s, {b:v}.16b, {c:v}.4b[{lane}]",
            acc = inout(vreg) acc, b = in(vreg) b, c = in(vreg) c, lane = const LANE,
            options(pure, nomem, nostack, preserves_flags)
        )
    };
    acc
}

/// `smmla`: `a` (2×2 i32, row-major) plus `b · cᵀ`, `b` and `c` 2×8 s8 matrices
/// (row-major): lane `2r + s` gains `Σ_{k<8} b[8r+k] · c[8s+k]`.
///
/// # Safety
/// Callable without `unsafe` only from code compiled with `i8mm`; elsewhere the caller
/// must have probed the CPU for it (`is_aarch64_feature_detected!("i8mm")`).
#[inline]
#[target_feature(enable = "neon,i8mm")]
pub fn vmmlaq_s32(a: int32x4_t, b: int8x16_t, c: int8x16_t) -> int32x4_t {
    let mut acc = a;
    // SAFETY: one register-only instruction; the enclosing target feature guarantees it.
    unsafe {
        asm!(
            "smmla {acc:v}.4s, {b:v}.16b, {c:v}.16b",
            acc = inout(vreg) acc, b = in(vreg) b, c = in(vreg) c,
            options(pure, nomem, nostack, preserves_flags)
        )
    };
    acc
}

/// `ummla`: as [`vmmlaq_s32`] with u8 × u8 → u32.
///
/// # Safety
/// Callable without `unsafe` only from code compiled with `i8mm`; elsewhere the caller
/// must have probed the CPU for it (`is_aarch64_feature_detected!("i8mm")`).
#[inline]
#[target_feature(enable = "neon,i8mm")]
pub fn vmmlaq_u32(a: uint32x4_t, b: uint8x16_t, c: uint8x16_t) -> uint32x4_t {
    let mut acc = a;
    // SAFETY: one register-only instruction; the enclosing target feature guarantees it.
    unsafe {
        asm!(
            "ummla {acc:v}.4s, {b:v}.16b, {c:v}.16b",
            acc = inout(vreg) acc, b = in(vreg) b, c = in(vreg) c,
            options(pure, nomem, nostack, preserves_flags)
        )
    };
    acc
}

#[cfg(test)]
mod tests;
