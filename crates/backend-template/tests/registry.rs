//! The template seen from outside, the way a user's binary sees it: through the registry only.

// The rule: without this line the linker drops the crate and its registrations, and the
// registry below would not list `template-scalar`.
use backend_template as _;

use proptest::prelude::*;
use qnn_ir::DType;
use qnn_ir::backend::{
    Arch, BACKEND_ABI_VERSION, IndirectGemmArgs, IndirectGemmMicrokernel, KernelClass, KernelEntry,
    KernelImpl, TileOutput, registry,
};

const BACKEND: &str = "template-scalar";
const KERNEL: &str = "template_gemm_u8i8_4x4";

/// A second backend with two kernels, registered by this test binary so that the registry has
/// something to sort: it sorts before `template-scalar`, its kernels are submitted in reverse
/// name order, and none of them is ever run.
mod double {
    use qnn_ir::DType;
    use qnn_ir::backend::{
        Arch, BACKEND_ABI_VERSION, BackendDescriptor, Capabilities, IndirectGemmArgs,
        IndirectGemmMicrokernel, KernelClass, KernelEntry, KernelImpl, PanelLayout,
        WeightConstraint,
    };

    pub const NAME: &str = "registry-test-double";

    /// Never called: the registry tests only list this kernel.
    unsafe fn never_run(_: &IndirectGemmArgs<'_>) {
        unreachable!("the registry test double is listed, never run")
    }

    const fn entry(name: &'static str) -> KernelEntry {
        KernelEntry {
            abi_version: BACKEND_ABI_VERSION,
            backend: NAME,
            name,
            class: KernelClass::Int8Gemm,
            operands: (DType::U8, DType::I8),
            imp: KernelImpl::IndirectGemm(IndirectGemmMicrokernel {
                mr: 1,
                nr: 1,
                kr: 1,
                packed: (DType::U8, DType::I8),
                layout: PanelLayout::Interleaved,
                fused_epilogue: false,
                strip: false,
                constraint: WeightConstraint::None,
                probe: || Err("a test double, never run".to_string()),
                run: never_run,
            }),
        }
    }

    inventory::submit! { entry("z_double_gemm_1x1") }
    inventory::submit! { entry("a_double_gemm_1x1") }
    inventory::submit! {
        BackendDescriptor {
            abi_version: BACKEND_ABI_VERSION,
            name: NAME,
            arch: Arch::Portable,
            features: &[],
            probe: || Err("a test double, never selected".to_string()),
            priority: i32::MIN,
            capabilities: Capabilities {
                int8_dot: &[],
                int16_mac: false,
                vector_bits: 0,
                bytes_per_cycle: 1.0,
                costs: &[],
            },
            summary: "registry test double",
        }
    }
}

fn template_kernel() -> &'static KernelEntry {
    let kernels = registry::kernels_of(BACKEND);
    assert_eq!(kernels.len(), 1, "template-scalar registers exactly one kernel");
    kernels[0]
}

fn gemm(entry: &KernelEntry) -> IndirectGemmMicrokernel {
    let KernelImpl::IndirectGemm(g) = entry.imp else {
        panic!("{} is not an indirect GEMM microkernel", entry.name)
    };
    g
}

#[test]
fn the_descriptor_is_registered() {
    let names: Vec<_> = registry::backends().iter().map(|b| b.name).collect();
    assert_eq!(names, [double::NAME, BACKEND], "sorted by name");

    let d = registry::backend(BACKEND).expect("template-scalar is registered");
    assert_eq!(d.abi_version, BACKEND_ABI_VERSION);
    assert_eq!(d.arch, Arch::Portable);
    assert!(d.features.is_empty());
    assert_eq!(d.probe(), Ok(()));
    assert!(d.runs_on(&[]), "needs no CPU feature");
    assert!(!d.capabilities.has_int8_dot());
    assert_eq!(d.capabilities.cost(KernelClass::Int8Gemm), Some(1.0));
    assert_eq!(d.capabilities.cost(KernelClass::Int16Gemm), None);
    assert!(d.priority < 0, "any real backend wins over the template");
}

#[test]
fn the_kernel_is_registered() {
    let listed: Vec<_> = registry::kernels().iter().map(|k| (k.backend, k.name)).collect();
    assert_eq!(
        listed,
        [
            (double::NAME, "a_double_gemm_1x1"),
            (double::NAME, "z_double_gemm_1x1"),
            (BACKEND, KERNEL),
        ],
        "sorted by (backend, name)"
    );

    let k = template_kernel();
    assert_eq!(k.name, KERNEL);
    assert_eq!(k.abi_version, BACKEND_ABI_VERSION);
    assert_eq!(k.class, KernelClass::Int8Gemm);
    assert_eq!(k.operands, (DType::U8, DType::I8));
    let g = gemm(k);
    assert_eq!((g.mr, g.nr, g.kr), (4, 4, 1));
    assert_eq!(g.packed, (DType::U8, DType::I8));
    assert!(g.fused_epilogue);
}

#[test]
fn the_registry_has_no_problems() {
    assert_eq!(registry::problems(), Vec::<String>::new());
}

/// Runs the registered kernel on one tile, raw i32 output: `taps` taps of `kc` values, data
/// `a[t][i]` (row `i` at tap `t`), weights `w[t][k][j]`, writing `m × n` of a C with `stride`
/// columns whose other cells hold a sentinel. Returns the tile (`m × n`).
fn run_tile(a: &[Vec<u8>], w: &[i8], taps: usize, kc: usize, m: usize, n: usize) -> Vec<i32> {
    let g = gemm(template_kernel());
    let rows: Vec<*const u8> = a.iter().map(|r| r.as_ptr()).collect();
    const SENTINEL: i32 = 0x5EED_5EED;
    let stride = g.nr + 3;
    let mut c = vec![SENTINEL; g.mr * stride];
    let args = IndirectGemmArgs {
        taps,
        kc,
        a: rows.as_ptr(),
        b: w.as_ptr().cast(),
        tiles: 1,
        panel_stride: 0,
        m,
        n,
        out: TileOutput::Raw { c: c.as_mut_ptr(), row_stride: stride },
    };
    // SAFETY: `rows` holds taps × MR pointers to kc bytes each; `w` holds taps · kc blocks of
    // NR weights; the raw output has MR rows of `stride ≥ NR` i32, ours alone; the
    // template's probe is always Ok.
    unsafe { (g.run)(&args) };
    for i in 0..g.mr {
        for j in 0..stride {
            if i >= m || j >= n {
                assert_eq!(c[i * stride + j], SENTINEL, "wrote outside the tile at ({i}, {j})");
            }
        }
    }
    (0..m).flat_map(|i| c[i * stride..][..n].to_vec()).collect()
}

/// The defining formula, in i64 so it cannot wrap: Σ_t Σ_k A(t, i)[k] · W[t][k][j].
fn naive(a: &[Vec<u8>], w: &[i8], taps: usize, kc: usize, m: usize, n: usize) -> Vec<i32> {
    let (mr, nr) = (4, 4);
    let mut out = Vec::with_capacity(m * n);
    for i in 0..m {
        for j in 0..n {
            let mut s = 0i64;
            for t in 0..taps {
                for k in 0..kc {
                    s += i64::from(a[t * mr + i][k]) * i64::from(w[(t * kc + k) * nr + j]);
                }
            }
            out.push(i32::try_from(s).expect("test sizes keep sums in i32"));
        }
    }
    out
}

fn cases() -> u32 {
    std::env::var("QNN_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
}

fn data() -> impl Strategy<Value = u8> {
    prop_oneof![Just(0u8), Just(255u8), any::<u8>()]
}

fn weight() -> impl Strategy<Value = i8> {
    prop_oneof![Just(-128i8), Just(127i8), Just(0i8), any::<i8>()]
}

/// A tile problem: taps, kc, rows written, columns written, the data rows (taps × 4, kc
/// values each) and the packed weights (taps · kc × 4).
type Problem = (usize, usize, usize, usize, Vec<Vec<u8>>, Vec<i8>);

fn problem() -> impl Strategy<Value = Problem> {
    (1usize..=3, 1usize..=40, 1usize..=4, 1usize..=4).prop_flat_map(|(taps, kc, m, n)| {
        (
            Just(taps),
            Just(kc),
            Just(m),
            Just(n),
            proptest::collection::vec(proptest::collection::vec(data(), kc), taps * 4),
            proptest::collection::vec(weight(), taps * kc * 4),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn kernel_equals_naive_product((taps, kc, m, n, a, w) in problem()) {
        prop_assert_eq!(run_tile(&a, &w, taps, kc, m, n), naive(&a, &w, taps, kc, m, n));
    }
}

#[test]
fn extreme_operands_over_a_long_reduction() {
    // 255 · (−128) and 255 · 127 at every step of the longest reduction the legalizer lets
    // through (255·255·K < 2³¹), split over 3 taps.
    let (taps, kc) = (3, 11_008);
    let a = vec![vec![255u8; kc]; taps * 4];
    let w: Vec<i8> = (0..taps * kc * 4).map(|i| if i % 4 < 2 { -128 } else { 127 }).collect();
    assert_eq!(run_tile(&a, &w, taps, kc, 4, 4), naive(&a, &w, taps, kc, 4, 4));
}
