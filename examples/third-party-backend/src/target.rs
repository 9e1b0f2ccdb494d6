//! The named CPUs this backend is for, registered with the named targets: qnn's built-in
//! table starts its x86-64 CPUs at Haswell (AVX2) and does not know SSE4.1 as a feature.
//!
//! `implied_by: ["avx"]` adds SSE4.1 (and SSSE3) to every CPU the table already knows with
//! AVX (all of them from Sandy Bridge on), so `x86_64-unknown-linux-gnu:haswell` also lists
//! this backend, below `x86-avx2`.

use qnn_ir::backend::{Arch, BACKEND_ABI_VERSION, NamedCpu, TargetDescriptor, TargetFeature};

const NHM: &[&str] = &["sse2", "ssse3", "sse4.1"];
const SNB: &[&str] = &["sse2", "ssse3", "sse4.1", "avx"];

/// Of this descriptor's features, those this machine has.
fn host_features() -> Vec<&'static str> {
    let mut out = Vec::new();
    if std::arch::is_x86_feature_detected!("ssse3") {
        out.push("ssse3");
    }
    if std::arch::is_x86_feature_detected!("sse4.1") {
        out.push("sse4.1");
    }
    out
}

/// Pre-AVX2 x86-64 CPUs by their LLVM names, and the SSSE3 / SSE4.1 features.
pub const TARGET: TargetDescriptor = TargetDescriptor {
    abi_version: BACKEND_ABI_VERSION,
    arch: Arch::X86_64,
    // x86_64 is known already: this descriptor only adds CPUs and features.
    triples: &[],
    device: false,
    cpus: &[
        NamedCpu { name: "nehalem", features: NHM },
        NamedCpu { name: "westmere", features: NHM },
        NamedCpu { name: "silvermont", features: NHM },
        NamedCpu { name: "goldmont", features: NHM },
        NamedCpu { name: "sandybridge", features: SNB },
        NamedCpu { name: "ivybridge", features: SNB },
    ],
    features: &[
        TargetFeature { name: "ssse3", implies: &["ssse3", "sse2"], implied_by: &["avx"] },
        TargetFeature {
            name: "sse4.1",
            implies: &["sse4.1", "ssse3", "sse2"],
            implied_by: &["avx"],
        },
    ],
    host_features,
};

inventory::submit! { TARGET }
