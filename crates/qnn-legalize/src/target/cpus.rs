//! Known CPUs and CPU features of the named targets, by architecture.
//!
//! A named target is for a machine the user is not sitting at, so it cannot be probed: its
//! CPU features come from this table instead, together with the
//! [`TargetDescriptor`]s that backend crates register (an architecture of their own, more
//! CPUs or features for a known one). Names follow LLVM/rustc (`-C target-cpu`,
//! `-C target-feature`) so that a user can paste what they would give the compiler.

use qnn_ir::backend::{Arch, TargetDescriptor, registry};

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

/// The built-in table. The first CPU of an arch is its generic baseline.
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

/// Architectures of the built-in table: the first components of their triples, and whether
/// the architecture is a device driven from the host.
const ARCHES: &[(Arch, &[&str], bool)] = &[
    (Arch::X86_64, &["x86_64"], false),
    (Arch::Aarch64, &["aarch64", "arm64"], false),
    (Arch::Cuda, &["cuda", "nvptx64"], true),
];

fn registered(arch: Arch) -> impl Iterator<Item = &'static TargetDescriptor> {
    registry::targets().into_iter().filter(move |t| t.arch == arch)
}

/// Every known CPU: the built-in table, then the registered descriptors' (each arch's first
/// is its baseline). Features include those added through [`TargetFeature::implied_by`].
///
/// [`TargetFeature::implied_by`]: qnn_ir::backend::TargetFeature::implied_by
pub fn known_cpus() -> Vec<KnownCpu> {
    let mut out: Vec<KnownCpu> = KNOWN_CPUS.to_vec();
    for t in registry::targets() {
        out.extend(t.cpus.iter().map(|c| KnownCpu {
            arch: t.arch,
            name: c.name,
            features: c.features,
        }));
    }
    out
}

/// The CPU named `name` for `arch`.
pub fn cpu(arch: Arch, name: &str) -> Option<KnownCpu> {
    known_cpus().into_iter().find(|c| c.arch == arch && c.name == name)
}

/// The generic baseline CPU of `arch`.
pub fn baseline(arch: Arch) -> Option<KnownCpu> {
    known_cpus().into_iter().find(|c| c.arch == arch)
}

/// The feature `name` with what it implies, for `arch`.
pub fn feature(arch: Arch, name: &str) -> Option<&'static [&'static str]> {
    FEATURES.iter().find(|(a, n, _)| *a == arch && *n == name).map(|(_, _, imp)| *imp).or_else(
        || registered(arch).flat_map(|t| t.features).find(|f| f.name == name).map(|f| f.implies),
    )
}

/// `features` with every registered feature whose `implied_by` one of them is (and what
/// that implies), sorted, without duplicates.
pub fn expand(arch: Arch, features: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = features.iter().map(|s| s.to_string()).collect();
    loop {
        let before = out.len();
        for f in registered(arch).flat_map(|t| t.features) {
            if !out.iter().any(|o| o == f.name)
                && f.implied_by.iter().any(|i| out.iter().any(|o| o == i))
            {
                out.extend(f.implies.iter().map(|s| s.to_string()));
            }
        }
        out.sort();
        out.dedup();
        if out.len() == before {
            return out;
        }
    }
}

/// The architecture a triple names (its first component), built-in or registered.
pub fn arch_of_triple(triple: &str) -> Option<Arch> {
    let first = triple.split('-').next()?;
    ARCHES.iter().find(|(_, names, _)| names.contains(&first)).map(|(a, _, _)| *a).or_else(|| {
        registry::targets().into_iter().find(|t| t.triples.contains(&first)).map(|t| t.arch)
    })
}

/// Whether `arch` is a device driven from the host (the portable CPU kernels do not apply).
pub fn is_device(arch: Arch) -> bool {
    ARCHES.iter().any(|(a, _, d)| *a == arch && *d) || registered(arch).any(|t| t.device)
}

/// The architectures named targets accept, each with the triple `qnn targets` shows (the
/// first component plus `-unknown-linux-gnu` for CPUs), built-in first.
pub fn triples() -> Vec<(Arch, String)> {
    let show = |first: &str, device: bool| {
        if device { first.to_string() } else { format!("{first}-unknown-linux-gnu") }
    };
    let mut out: Vec<(Arch, String)> =
        ARCHES.iter().map(|(a, names, d)| (*a, show(names[0], *d))).collect();
    for t in registry::targets() {
        if let Some(first) = t.triples.first()
            && !out.iter().any(|(a, _)| *a == t.arch)
        {
            out.push((t.arch, show(first, t.device)));
        }
    }
    out
}

/// The architectures that registered target descriptors add (the tail of [`triples`]).
pub fn registered_triples() -> Vec<(Arch, String)> {
    triples().split_off(ARCHES.len())
}

/// Features of this machine that registered descriptors of `arch` detect.
pub fn registered_host_features(arch: Arch) -> Vec<&'static str> {
    registered(arch).flat_map(|t| (t.host_features)()).collect()
}

/// Names of the known CPUs of `arch`, comma separated.
pub fn cpu_names(arch: Arch) -> String {
    known_cpus().iter().filter(|c| c.arch == arch).map(|c| c.name).collect::<Vec<_>>().join(", ")
}

/// Names of the known features of `arch`, comma separated.
pub fn feature_names(arch: Arch) -> String {
    FEATURES
        .iter()
        .filter(|f| f.0 == arch)
        .map(|f| f.1)
        .chain(registered(arch).flat_map(|t| t.features).map(|f| f.name))
        .collect::<Vec<_>>()
        .join(", ")
}
