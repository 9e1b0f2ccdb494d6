//! Instruction-throughput peaks of one core, measured with inline assembly: 12 independent
//! accumulators (more than latency × ports), 24 instructions per loop iteration.

use std::time::Instant;

/// GMAC/s of `f(iters)` doing `macs_per_iter` multiply-accumulates per iteration: the best
/// of 5 runs of about 50 ms.
fn measure(f: unsafe fn(u64), macs_per_iter: f64) -> f64 {
    let iters = 2_000_000u64;
    let mut best = 0f64;
    for _ in 0..5 {
        let t = Instant::now();
        // SAFETY: the caller checked the CPU features of `f`.
        unsafe { f(iters) };
        let s = t.elapsed().as_secs_f64();
        best = best.max(iters as f64 * macs_per_iter / s / 1e9);
    }
    best
}

macro_rules! loop24 {
    ($name:ident, $feat:literal, $insn:literal, $($reg:literal),*) => {
        #[target_feature(enable = $feat)]
        unsafe fn $name(iters: u64) {
            // SAFETY: only vector registers named as clobbers and the counter are touched.
            unsafe {
                std::arch::asm!(
                    "2:",
                    $(concat!($insn, " ", $reg, ", ", "{a}, {b}"),)*
                    $(concat!($insn, " ", $reg, ", ", "{a}, {b}"),)*
                    "dec {n}",
                    "jnz 2b",
                    n = inout(reg) iters => _,
                    a = in(zmm_reg) std::arch::x86_64::_mm512_set1_epi8(3),
                    b = in(zmm_reg) std::arch::x86_64::_mm512_set1_epi8(5),
                    out("zmm0") _, out("zmm1") _, out("zmm2") _, out("zmm3") _,
                    out("zmm4") _, out("zmm5") _, out("zmm6") _, out("zmm7") _,
                    out("zmm8") _, out("zmm9") _, out("zmm10") _, out("zmm11") _,
                    options(nostack),
                )
            }
        }
    };
}

loop24!(
    vpdpbusd_zmm,
    "avx512f,avx512vnni",
    "vpdpbusd",
    "zmm0",
    "zmm1",
    "zmm2",
    "zmm3",
    "zmm4",
    "zmm5",
    "zmm6",
    "zmm7",
    "zmm8",
    "zmm9",
    "zmm10",
    "zmm11"
);

#[target_feature(enable = "avx2,avxvnni")]
unsafe fn vpdpbusd_ymm(iters: u64) {
    // SAFETY: only the named vector registers and the counter are touched.
    unsafe {
        std::arch::asm!(
            "vpxor ymm12, ymm12, ymm12",
            "vpxor ymm13, ymm13, ymm13",
            "2:",
            "{{vex}} vpdpbusd ymm0, ymm12, ymm13", "{{vex}} vpdpbusd ymm1, ymm12, ymm13",
            "{{vex}} vpdpbusd ymm2, ymm12, ymm13", "{{vex}} vpdpbusd ymm3, ymm12, ymm13",
            "{{vex}} vpdpbusd ymm4, ymm12, ymm13", "{{vex}} vpdpbusd ymm5, ymm12, ymm13",
            "{{vex}} vpdpbusd ymm6, ymm12, ymm13", "{{vex}} vpdpbusd ymm7, ymm12, ymm13",
            "{{vex}} vpdpbusd ymm8, ymm12, ymm13", "{{vex}} vpdpbusd ymm9, ymm12, ymm13",
            "{{vex}} vpdpbusd ymm10, ymm12, ymm13", "{{vex}} vpdpbusd ymm11, ymm12, ymm13",
            "{{vex}} vpdpbusd ymm0, ymm12, ymm13", "{{vex}} vpdpbusd ymm1, ymm12, ymm13",
            "{{vex}} vpdpbusd ymm2, ymm12, ymm13", "{{vex}} vpdpbusd ymm3, ymm12, ymm13",
            "{{vex}} vpdpbusd ymm4, ymm12, ymm13", "{{vex}} vpdpbusd ymm5, ymm12, ymm13",
            "{{vex}} vpdpbusd ymm6, ymm12, ymm13", "{{vex}} vpdpbusd ymm7, ymm12, ymm13",
            "{{vex}} vpdpbusd ymm8, ymm12, ymm13", "{{vex}} vpdpbusd ymm9, ymm12, ymm13",
            "{{vex}} vpdpbusd ymm10, ymm12, ymm13", "{{vex}} vpdpbusd ymm11, ymm12, ymm13",
            "dec {n}",
            "jnz 2b",
            n = inout(reg) iters => _,
            out("ymm0") _, out("ymm1") _, out("ymm2") _, out("ymm3") _,
            out("ymm4") _, out("ymm5") _, out("ymm6") _, out("ymm7") _,
            out("ymm8") _, out("ymm9") _, out("ymm10") _, out("ymm11") _,
            out("ymm12") _, out("ymm13") _,
            options(nostack),
        )
    }
}

/// `vpmaddwd` + `vpaddd` on ymm (the AVX2 int16 inner loop): 16 MACs per pair.
#[target_feature(enable = "avx2")]
unsafe fn vpmaddwd_ymm(iters: u64) {
    // SAFETY: only the named vector registers and the counter are touched.
    unsafe {
        std::arch::asm!(
            "vpxor ymm12, ymm12, ymm12",
            "vpxor ymm13, ymm13, ymm13",
            "2:",
            "vpmaddwd ymm6, ymm12, ymm13", "vpaddd ymm0, ymm0, ymm6",
            "vpmaddwd ymm7, ymm12, ymm13", "vpaddd ymm1, ymm1, ymm7",
            "vpmaddwd ymm8, ymm12, ymm13", "vpaddd ymm2, ymm2, ymm8",
            "vpmaddwd ymm9, ymm12, ymm13", "vpaddd ymm3, ymm3, ymm9",
            "vpmaddwd ymm10, ymm12, ymm13", "vpaddd ymm4, ymm4, ymm10",
            "vpmaddwd ymm11, ymm12, ymm13", "vpaddd ymm5, ymm5, ymm11",
            "vpmaddwd ymm6, ymm12, ymm13", "vpaddd ymm0, ymm0, ymm6",
            "vpmaddwd ymm7, ymm12, ymm13", "vpaddd ymm1, ymm1, ymm7",
            "vpmaddwd ymm8, ymm12, ymm13", "vpaddd ymm2, ymm2, ymm8",
            "vpmaddwd ymm9, ymm12, ymm13", "vpaddd ymm3, ymm3, ymm9",
            "vpmaddwd ymm10, ymm12, ymm13", "vpaddd ymm4, ymm4, ymm10",
            "vpmaddwd ymm11, ymm12, ymm13", "vpaddd ymm5, ymm5, ymm11",
            "dec {n}",
            "jnz 2b",
            n = inout(reg) iters => _,
            out("ymm0") _, out("ymm1") _, out("ymm2") _, out("ymm3") _,
            out("ymm4") _, out("ymm5") _, out("ymm6") _, out("ymm7") _,
            out("ymm8") _, out("ymm9") _, out("ymm10") _, out("ymm11") _,
            out("ymm12") _, out("ymm13") _,
            options(nostack),
        )
    }
}

/// `vpmaddubsw` + `vpmaddwd` (by ones) + `vpaddd` on ymm: 32 MACs per triple. The int16 pair
/// sums saturate (255 · 127 · 2 > 32 767), so an exact kernel uses it only where the weights
/// prove they cannot; ONNX Runtime's AVX2 u8×s8 kernels use it anyway. Measured so that a
/// peer's figure on such a CPU can be put next to the peak it runs at.
#[target_feature(enable = "avx2")]
unsafe fn vpmaddubsw_ymm(iters: u64) {
    // SAFETY: only the named vector registers and the counter are touched.
    unsafe {
        std::arch::asm!(
            "vpxor ymm12, ymm12, ymm12",
            "vpxor ymm13, ymm13, ymm13",
            "vpxor ymm14, ymm14, ymm14",
            "2:",
            "vpmaddubsw ymm6, ymm12, ymm13", "vpmaddwd ymm6, ymm6, ymm14", "vpaddd ymm0, ymm0, ymm6",
            "vpmaddubsw ymm7, ymm12, ymm13", "vpmaddwd ymm7, ymm7, ymm14", "vpaddd ymm1, ymm1, ymm7",
            "vpmaddubsw ymm8, ymm12, ymm13", "vpmaddwd ymm8, ymm8, ymm14", "vpaddd ymm2, ymm2, ymm8",
            "vpmaddubsw ymm9, ymm12, ymm13", "vpmaddwd ymm9, ymm9, ymm14", "vpaddd ymm3, ymm3, ymm9",
            "vpmaddubsw ymm10, ymm12, ymm13", "vpmaddwd ymm10, ymm10, ymm14", "vpaddd ymm4, ymm4, ymm10",
            "vpmaddubsw ymm11, ymm12, ymm13", "vpmaddwd ymm11, ymm11, ymm14", "vpaddd ymm5, ymm5, ymm11",
            "vpmaddubsw ymm6, ymm12, ymm13", "vpmaddwd ymm6, ymm6, ymm14", "vpaddd ymm0, ymm0, ymm6",
            "vpmaddubsw ymm7, ymm12, ymm13", "vpmaddwd ymm7, ymm7, ymm14", "vpaddd ymm1, ymm1, ymm7",
            "vpmaddubsw ymm8, ymm12, ymm13", "vpmaddwd ymm8, ymm8, ymm14", "vpaddd ymm2, ymm2, ymm8",
            "vpmaddubsw ymm9, ymm12, ymm13", "vpmaddwd ymm9, ymm9, ymm14", "vpaddd ymm3, ymm3, ymm9",
            "vpmaddubsw ymm10, ymm12, ymm13", "vpmaddwd ymm10, ymm10, ymm14", "vpaddd ymm4, ymm4, ymm10",
            "vpmaddubsw ymm11, ymm12, ymm13", "vpmaddwd ymm11, ymm11, ymm14", "vpaddd ymm5, ymm5, ymm11",
            "dec {n}",
            "jnz 2b",
            n = inout(reg) iters => _,
            out("ymm0") _, out("ymm1") _, out("ymm2") _, out("ymm3") _,
            out("ymm4") _, out("ymm5") _, out("ymm6") _, out("ymm7") _,
            out("ymm8") _, out("ymm9") _, out("ymm10") _, out("ymm11") _,
            out("ymm12") _, out("ymm13") _, out("ymm14") _,
            options(nostack),
        )
    }
}

/// Peaks in GMAC/s on this core (`None` where the CPU lacks the instruction).
#[derive(Debug, Clone, Copy, Default)]
pub struct Peaks {
    /// `vpdpbusd` zmm: 64 MACs per instruction.
    pub vpdpbusd_zmm: Option<f64>,
    /// `vpdpbusd` ymm (AVX-VNNI): 32 MACs per instruction.
    pub vpdpbusd_ymm: Option<f64>,
    /// `vpmaddwd` + `vpaddd` ymm (AVX2): 16 MACs per pair.
    pub vpmaddwd_ymm: Option<f64>,
}

/// A peak loop: name, the function running `n` iterations, MACs per iteration.
pub type PeakLoop = (&'static str, unsafe fn(u64), f64);

/// The peak loops this CPU can run. Each function requires the CPU features checked here.
pub fn loops() -> Vec<PeakLoop> {
    use std::arch::is_x86_feature_detected as has;
    let mut v: Vec<PeakLoop> = Vec::new();
    if has!("avx512f") && has!("avx512vnni") {
        v.push(("vpdpbusd_zmm", vpdpbusd_zmm, 24.0 * 64.0));
    }
    if has!("avx2") && has!("avxvnni") {
        v.push(("vpdpbusd_ymm", vpdpbusd_ymm, 24.0 * 32.0));
    }
    if has!("avx2") {
        v.push(("vpmaddwd_vpaddd_ymm", vpmaddwd_ymm, 12.0 * 16.0));
        v.push(("vpmaddubsw_saturating_ymm", vpmaddubsw_ymm, 12.0 * 32.0));
    }
    v
}

/// GMAC/s of every loop of [`loops`] on this CPU, by name.
pub fn measure_loops() -> Vec<(&'static str, f64)> {
    loops().into_iter().map(|(name, f, macs)| (name, measure(f, macs))).collect()
}

/// Measures every peak the CPU supports.
pub fn measure_peaks() -> Peaks {
    use std::arch::is_x86_feature_detected as has;
    Peaks {
        vpdpbusd_zmm: (has!("avx512f") && has!("avx512vnni"))
            .then(|| measure(vpdpbusd_zmm, 24.0 * 64.0)),
        vpdpbusd_ymm: (has!("avx2") && has!("avxvnni")).then(|| measure(vpdpbusd_ymm, 24.0 * 32.0)),
        vpmaddwd_ymm: has!("avx2").then(|| measure(vpmaddwd_ymm, 12.0 * 16.0)),
    }
}
