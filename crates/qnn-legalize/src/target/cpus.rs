//! Known CPUs and CPU features of the named targets, by architecture.
//!
//! A named target is for a machine the user is not sitting at, so it cannot be probed: its
//! CPU features come from this table instead. Names follow LLVM/rustc (`-C target-cpu`,
//! `-C target-feature`) so that a user can paste what they would give the compiler.

use qnn_ir::backend::Arch;

/// A CPU model and the features it has (implications already expanded).
#[derive(Debug, Clone, Copy)]
pub struct KnownCpu {
    pub arch: Arch,
    pub name: &'static str,
    pub features: &'static [&'static str],
}

const A64: &[&str] = &["neon"];
const A64_DOT: &[&str] = &["neon", "dotprod"];
const A64_I8MM: &[&str] = &["neon", "dotprod", "i8mm"];
const HASWELL: &[&str] = &["sse2", "avx", "fma", "avx2"];
const SKX: &[&str] = &["sse2", "avx", "fma", "avx2", "avx512f", "avx512bw", "avx512vl"];
const CLX: &[&str] =
    &["sse2", "avx", "fma", "avx2", "avx512f", "avx512bw", "avx512vl", "avx512vnni"];
const SPR: &[&str] =
    &["sse2", "avx", "fma", "avx2", "avx512f", "avx512bw", "avx512vl", "avx512vnni", "avxvnni"];
const ADL: &[&str] = &["sse2", "avx", "fma", "avx2", "avxvnni"];
const X86_BASE: &[&str] = &["sse2"];

/// The table. The first CPU of an arch is its generic baseline.
pub const KNOWN_CPUS: &[KnownCpu] = &[
    KnownCpu { arch: Arch::Aarch64, name: "generic", features: A64 },
    // Raspberry Pi 3: NEON, no dotprod — the case the int16 lowering exists for.
    KnownCpu { arch: Arch::Aarch64, name: "cortex-a53", features: A64 },
    KnownCpu { arch: Arch::Aarch64, name: "cortex-a72", features: A64 },
    KnownCpu { arch: Arch::Aarch64, name: "cortex-a55", features: A64_DOT },
    KnownCpu { arch: Arch::Aarch64, name: "cortex-a76", features: A64_DOT },
    KnownCpu { arch: Arch::Aarch64, name: "neoverse-n1", features: A64_DOT },
    KnownCpu { arch: Arch::Aarch64, name: "neoverse-v1", features: A64_I8MM },
    KnownCpu { arch: Arch::Aarch64, name: "neoverse-n2", features: A64_I8MM },
    KnownCpu { arch: Arch::Aarch64, name: "apple-m1", features: A64_DOT },
    KnownCpu { arch: Arch::X86_64, name: "x86-64", features: X86_BASE },
    KnownCpu { arch: Arch::X86_64, name: "haswell", features: HASWELL },
    KnownCpu { arch: Arch::X86_64, name: "skylake", features: HASWELL },
    KnownCpu { arch: Arch::X86_64, name: "znver2", features: HASWELL },
    KnownCpu { arch: Arch::X86_64, name: "znver3", features: HASWELL },
    KnownCpu { arch: Arch::X86_64, name: "skylake-avx512", features: SKX },
    KnownCpu { arch: Arch::X86_64, name: "cascadelake", features: CLX },
    KnownCpu { arch: Arch::X86_64, name: "icelake-server", features: CLX },
    KnownCpu { arch: Arch::X86_64, name: "znver4", features: CLX },
    KnownCpu { arch: Arch::X86_64, name: "sapphirerapids", features: SPR },
    KnownCpu { arch: Arch::X86_64, name: "alderlake", features: ADL },
    KnownCpu { arch: Arch::Cuda, name: "sm_61", features: &["dp4a"] },
    KnownCpu { arch: Arch::Cuda, name: "sm_75", features: &["dp4a"] },
    KnownCpu { arch: Arch::Cuda, name: "sm_86", features: &["dp4a"] },
    KnownCpu { arch: Arch::Cuda, name: "sm_89", features: &["dp4a"] },
];

/// Features that may be named with `+feature`, each with the features it implies (itself
/// first).
const FEATURES: &[(Arch, &str, &[&str])] = &[
    (Arch::Aarch64, "neon", &["neon"]),
    (Arch::Aarch64, "dotprod", &["dotprod", "neon"]),
    (Arch::Aarch64, "i8mm", &["i8mm", "neon"]),
    (Arch::X86_64, "sse2", &["sse2"]),
    (Arch::X86_64, "avx", &["avx", "sse2"]),
    (Arch::X86_64, "fma", &["fma", "avx", "sse2"]),
    (Arch::X86_64, "avx2", &["avx2", "avx", "sse2"]),
    (Arch::X86_64, "avx512f", &["avx512f", "avx2", "fma", "avx", "sse2"]),
    (Arch::X86_64, "avx512bw", &["avx512bw", "avx512f", "avx2", "fma", "avx", "sse2"]),
    (Arch::X86_64, "avx512vl", &["avx512vl", "avx512f", "avx2", "fma", "avx", "sse2"]),
    (
        Arch::X86_64,
        "avx512vnni",
        &["avx512vnni", "avx512vl", "avx512bw", "avx512f", "avx2", "fma", "avx", "sse2"],
    ),
    (Arch::X86_64, "avxvnni", &["avxvnni", "avx2", "fma", "avx", "sse2"]),
    (Arch::Cuda, "dp4a", &["dp4a"]),
];

/// The CPU named `name` for `arch`.
pub fn cpu(arch: Arch, name: &str) -> Option<&'static KnownCpu> {
    KNOWN_CPUS.iter().find(|c| c.arch == arch && c.name == name)
}

/// The generic baseline CPU of `arch`.
pub fn baseline(arch: Arch) -> Option<&'static KnownCpu> {
    KNOWN_CPUS.iter().find(|c| c.arch == arch)
}

/// The feature `name` with what it implies, for `arch`.
pub fn feature(arch: Arch, name: &str) -> Option<&'static [&'static str]> {
    FEATURES.iter().find(|(a, n, _)| *a == arch && *n == name).map(|(_, _, imp)| *imp)
}

/// Names of the known CPUs of `arch`, comma separated.
pub fn cpu_names(arch: Arch) -> String {
    KNOWN_CPUS.iter().filter(|c| c.arch == arch).map(|c| c.name).collect::<Vec<_>>().join(", ")
}

/// Names of the known features of `arch`, comma separated.
pub fn feature_names(arch: Arch) -> String {
    FEATURES.iter().filter(|f| f.0 == arch).map(|f| f.1).collect::<Vec<_>>().join(", ")
}
