//! The template seen from outside, the way a user's binary sees it: through the registry only.

// The rule: without this line the linker drops the crate and its registrations, and the
// registry below would not list `template-scalar`.
use backend_template as _;

use proptest::prelude::*;
use qnn_ir::DType;
use qnn_ir::backend::{
    Arch, BACKEND_ABI_VERSION, GemmMicrokernel, GemmTile, KernelClass, KernelEntry, KernelImpl,
    registry,
};

const BACKEND: &str = "template-scalar";
const KERNEL: &str = "template_gemm_u8i8_4x4";

/// A second backend with two kernels, registered by this test binary so that the registry has
/// something to sort: it sorts before `template-scalar`, its kernels are submitted in reverse
/// name order, and none of them is ever run.
mod double {
    use qnn_ir::DType;
    use qnn_ir::backend::{
        Arch, BACKEND_ABI_VERSION, BackendDescriptor, Capabilities, GemmMicrokernel, GemmTile,
        KernelClass, KernelEntry, KernelImpl,
    };

    pub const NAME: &str = "registry-test-double";

    /// Never called: the registry tests only list this kernel.
    unsafe fn never_run(_: &GemmTile) {
        unreachable!("the registry test double is listed, never run")
    }

    const fn entry(name: &'static str) -> KernelEntry {
        KernelEntry {
            abi_version: BACKEND_ABI_VERSION,
            backend: NAME,
            name,
            class: KernelClass::Int8Gemm,
            operands: (DType::U8, DType::I8),
            imp: KernelImpl::Gemm(GemmMicrokernel { mr: 1, nr: 1, kr: 1, run: never_run }),
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

fn gemm(entry: &KernelEntry) -> GemmMicrokernel {
    // KernelImpl is expected to grow variants (direct conv, depthwise).
    #[allow(irrefutable_let_patterns)]
    let KernelImpl::Gemm(g) = entry.imp else { panic!("{} is not a GEMM microkernel", entry.name) };
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
}

#[test]
fn the_registry_has_no_problems() {
    assert_eq!(registry::problems(), Vec::<String>::new());
}

/// Packs row-major `a` (mr × k) and `b` (k × nr) as `GemmTile` says: `k / kr` blocks; in a
/// block, `mr` rows (resp. `nr` columns) of `kr` consecutive k values.
fn pack(g: &GemmMicrokernel, k: usize, a: &[u8], b: &[i8]) -> (Vec<u8>, Vec<u8>) {
    let mut pa = Vec::with_capacity(k * g.mr);
    let mut pb = Vec::with_capacity(k * g.nr);
    for block in 0..k / g.kr {
        for i in 0..g.mr {
            pa.extend((0..g.kr).map(|t| a[i * k + block * g.kr + t]));
        }
        for j in 0..g.nr {
            pb.extend((0..g.kr).map(|t| b[(block * g.kr + t) * g.nr + j] as u8));
        }
    }
    (pa, pb)
}

/// Runs the registered kernel on one tile placed at column `offset` of a C with `stride`
/// columns, every other cell holding a sentinel. Returns the whole C.
fn run_tile(
    a: &[u8],
    b: &[i8],
    k: usize,
    c0: &[i32],
    stride: usize,
    offset: usize,
    accumulate: bool,
) -> Vec<i32> {
    let g = gemm(template_kernel());
    let (pa, pb) = pack(&g, k, a, b);
    const SENTINEL: i32 = 0x5EED_5EED;
    let mut c = vec![SENTINEL; g.mr * stride];
    for i in 0..g.mr {
        c[i * stride + offset..][..g.nr].copy_from_slice(&c0[i * g.nr..][..g.nr]);
    }
    let tile = GemmTile {
        k,
        a: pa.as_ptr(),
        b: pb.as_ptr(),
        c: c[offset..].as_mut_ptr(),
        c_row_stride: stride,
        accumulate,
    };
    // SAFETY: `pa`/`pb` hold k·mr and k·nr packed bytes; the tile's mr rows of nr i32 at
    // offset + i·stride lie inside `c` (offset + nr ≤ stride); this thread owns all of it, and
    // the template's probe is always Ok.
    unsafe { (g.run)(&tile) };
    for i in 0..g.mr {
        for j in 0..stride {
            if j < offset || j >= offset + g.nr {
                assert_eq!(c[i * stride + j], SENTINEL, "wrote outside the tile at ({i}, {j})");
            }
        }
    }
    (0..g.mr).flat_map(|i| c[i * stride + offset..][..g.nr].to_vec()).collect()
}

/// The defining formula, in i64 so it cannot wrap: C0 (when accumulating) + Σ_p A[i][p]·B[p][j].
fn naive(a: &[u8], b: &[i8], k: usize, c0: &[i32], accumulate: bool) -> Vec<i32> {
    let (mr, nr) = (4, 4);
    let mut out = Vec::with_capacity(mr * nr);
    for i in 0..mr {
        for j in 0..nr {
            let mut s: i64 = if accumulate { i64::from(c0[i * nr + j]) } else { 0 };
            for p in 0..k {
                s += i64::from(a[i * k + p]) * i64::from(b[p * nr + j]);
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

/// A tile problem: k, A (4 × k), B (k × 4), C's initial values, the row stride and the tile's
/// column offset in C.
type Problem = (usize, Vec<u8>, Vec<i8>, Vec<i32>, usize, usize);

fn problem() -> impl Strategy<Value = Problem> {
    (0usize..=96, 4usize..=9).prop_flat_map(|(k, stride)| {
        (
            Just(k),
            proptest::collection::vec(data(), 4 * k),
            proptest::collection::vec(weight(), k * 4),
            proptest::collection::vec(-(1i32 << 24)..(1 << 24), 16),
            Just(stride),
            0..=stride - 4,
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn kernel_equals_naive_product(
        (k, a, b, c0, stride, offset) in problem(),
        accumulate in any::<bool>(),
    ) {
        let got = run_tile(&a, &b, k, &c0, stride, offset, accumulate);
        prop_assert_eq!(got, naive(&a, &b, k, &c0, accumulate));
    }
}

#[test]
fn extreme_operands_over_a_long_reduction() {
    // 255 · (−128) and 255 · 127 at every step of the longest reduction the legalizer lets
    // through (255·255·K < 2³¹), on top of large accumulators of the opposite sign.
    let k = 33_025;
    let a = vec![255u8; 4 * k];
    let b: Vec<i8> = (0..k * 4).map(|i| if i % 4 < 2 { -128 } else { 127 }).collect();
    let c0: Vec<i32> = (0..16).map(|i| if i % 4 < 2 { 1 << 30 } else { -(1 << 30) }).collect();
    for accumulate in [false, true] {
        let got = run_tile(&a, &b, k, &c0, 4, 0, accumulate);
        assert_eq!(got, naive(&a, &b, k, &c0, accumulate), "accumulate={accumulate}");
    }
}
