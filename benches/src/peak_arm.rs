//! Instruction-throughput peaks of one Arm core, measured with inline assembly: 12
//! independent accumulators (more than latency × issue width on every core from the A53 to
//! the Neoverse V2), 24 instructions per loop iteration. The MACs per instruction are the
//! peers' figures: `smlal`/`smlal2` 4 (int16), `sdot` 16, `smmla` 32 (int8).
//!
//! `sdot` and `smmla` are unstable as intrinsics on Rust 1.95, hence `asm!` inside
//! `#[target_feature]` functions (as in `backend-arm-dotprod`); each loop is called only
//! after its feature is detected.

use std::time::Instant;

/// A peak loop: name, the function running `n` iterations, MACs per iteration.
pub type PeakLoop = (&'static str, unsafe fn(u64), f64);

macro_rules! loop24 {
    ($(#[$doc:meta])* $name:ident, $feat:literal, $insn:literal, $tail:literal) => {
        $(#[$doc])*
        #[target_feature(enable = $feat)]
        unsafe fn $name(iters: u64) {
            // SAFETY: only the vector registers named as clobbers and the counter are
            // touched; the caller checked the CPU feature.
            unsafe {
                std::arch::asm!(
                    "movi v24.16b, #3",
                    "movi v25.16b, #5",
                    "2:",
                    concat!($insn, " v0", $tail), concat!($insn, " v1", $tail),
                    concat!($insn, " v2", $tail), concat!($insn, " v3", $tail),
                    concat!($insn, " v4", $tail), concat!($insn, " v5", $tail),
                    concat!($insn, " v6", $tail), concat!($insn, " v7", $tail),
                    concat!($insn, " v8", $tail), concat!($insn, " v9", $tail),
                    concat!($insn, " v10", $tail), concat!($insn, " v11", $tail),
                    concat!($insn, " v0", $tail), concat!($insn, " v1", $tail),
                    concat!($insn, " v2", $tail), concat!($insn, " v3", $tail),
                    concat!($insn, " v4", $tail), concat!($insn, " v5", $tail),
                    concat!($insn, " v6", $tail), concat!($insn, " v7", $tail),
                    concat!($insn, " v8", $tail), concat!($insn, " v9", $tail),
                    concat!($insn, " v10", $tail), concat!($insn, " v11", $tail),
                    "subs {n}, {n}, #1",
                    "b.ne 2b",
                    n = inout(reg) iters => _,
                    out("v0") _, out("v1") _, out("v2") _, out("v3") _,
                    out("v4") _, out("v5") _, out("v6") _, out("v7") _,
                    out("v8") _, out("v9") _, out("v10") _, out("v11") _,
                    out("v24") _, out("v25") _,
                    options(nostack),
                )
            }
        }
    };
}

loop24!(
    /// `smlal` (low halves, 4 × i16·i16 → i32): the int16 lowering's inner loop.
    smlal_loop,
    "neon",
    "smlal",
    ".4s, v24.4h, v25.4h"
);
loop24!(
    /// `sdot` (4 lanes × 4 s8·s8): the dotprod int8 inner loop.
    sdot_loop,
    "neon,dotprod",
    "sdot",
    ".4s, v24.16b, v25.16b"
);
loop24!(
    /// `smmla` (2×8 · 8×2 s8 → 2×2 i32): the i8mm int8 inner loop.
    smmla_loop,
    "neon,i8mm",
    "smmla",
    ".4s, v24.16b, v25.16b"
);

/// The peak loops this CPU can run. Each function requires the CPU features checked here.
pub fn loops() -> Vec<PeakLoop> {
    use std::arch::is_aarch64_feature_detected as has;
    let mut v: Vec<PeakLoop> = Vec::new();
    if has!("neon") {
        v.push(("smlal", smlal_loop, 24.0 * 4.0));
    }
    if has!("dotprod") {
        v.push(("sdot", sdot_loop, 24.0 * 16.0));
    }
    if has!("i8mm") {
        v.push(("smmla", smmla_loop, 24.0 * 32.0));
    }
    v
}

/// GMAC/s of each loop this CPU runs: the best of 5 runs of `iters` iterations.
pub fn measure_peaks(iters: u64) -> Vec<(&'static str, f64)> {
    loops()
        .into_iter()
        .map(|(name, f, macs)| {
            let mut best = 0f64;
            for _ in 0..5 {
                let t = Instant::now();
                // SAFETY: `loops` returned `f` only because its CPU feature is present.
                unsafe { f(iters) };
                best = best.max(iters as f64 * macs / t.elapsed().as_secs_f64() / 1e9);
            }
            (name, best)
        })
        .collect()
}
