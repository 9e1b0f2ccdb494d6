//! The three Arm dispatch tiers (ARCHITECTURE.md §7), checked on the CPU running the tests:
//! under qemu, `QEMU_CPU` names the model and fixes what must be found —
//!
//! | `QEMU_CPU`    | features          | conv 3×3 (12 px)        | dense (1 row)         | depthwise      |
//! |---------------|-------------------|-------------------------|-----------------------|----------------|
//! | `cortex-a53`  | neon              | int16 · `neon_gemm_i16_4x16` | `neon_gemm_i16_1x32` | `neon_dw_i16_16` |
//! | `neoverse-n1` | + dotprod         | int8 · `dotprod_gemm_s8s8_4x16c4` | `dotprod_gemm_s8s8_1x32c4` | `dotprod_dw_s8s8_16` |
//! | `max`         | + dotprod + i8mm  | int8 · `i8mm_gemm_s8s8_6x16c8` | `dotprod_gemm_s8s8_1x32c4` | `dotprod_dw_s8s8_16` |
//!
//! The plan is made as the runtime makes it: the legalizer decides lowering and backend for
//! the host target, then the frame chooses the cheapest applicable kernel of that backend.
//! Without `QEMU_CPU` (a real board) the tier is what the CPU reports.
#![cfg(target_arch = "aarch64")]

use backend_arm_dotprod as _;
use backend_arm_neon as _;
use qnn_ir::backend::{KernelClass, registry};
use qnn_ir::{
    Conv2dAttrs, DType, DataLayout, GraphBuilder, KernelLayout, Op, QuantParams, Tensor, TensorType,
};
use qnn_kernels::{ConvGeometry, ConvProblem, choose};
use qnn_legalize::{Capability, Lowering, Target, legalize};

/// What a CPU offers the Arm backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tier {
    dotprod: bool,
    i8mm: bool,
}

fn detected() -> Tier {
    Tier {
        dotprod: std::arch::is_aarch64_feature_detected!("dotprod"),
        i8mm: std::arch::is_aarch64_feature_detected!("i8mm"),
    }
}

/// The tier of the CPU: the one `QEMU_CPU` names (asserted against the probes), else the
/// detected one.
fn tier() -> Tier {
    let cpu = std::env::var("QEMU_CPU").unwrap_or_default();
    let expected = match cpu.as_str() {
        "cortex-a53" => Tier { dotprod: false, i8mm: false },
        "neoverse-n1" => Tier { dotprod: true, i8mm: false },
        "max" => Tier { dotprod: true, i8mm: true },
        _ => {
            eprintln!(
                "QEMU_CPU={cpu:?} is not one of the three tiers: using the detected features"
            );
            return detected();
        }
    };
    assert_eq!(detected(), expected, "QEMU_CPU={cpu} must probe as {expected:?}");
    expected
}

#[test]
fn the_cpu_model_has_its_tier() {
    let t = tier();
    eprintln!("dispatch tier: {t:?}");
}

/// Exactly the kernels of the tier are usable: every `neon_*` kernel, `dotprod_*` with
/// dotprod, `i8mm_*` with i8mm.
#[test]
fn usable_kernels_are_those_of_the_tier() {
    let t = tier();
    let (mut conv, mut data) = (0, 0);
    for k in registry::kernels() {
        let expected = match k.name.split('_').next() {
            Some("neon") => true,
            Some("dotprod") => t.dotprod,
            Some("i8mm") => t.i8mm && t.dotprod,
            _ => continue,
        };
        let backend = registry::backend(k.backend).expect("registered backend");
        let usable = backend.probe().and_then(|()| k.probe());
        assert_eq!(usable.is_ok(), expected, "{} on {t:?}: {usable:?}", k.name);
        eprintln!("{:<28} {}", k.name, if expected { "usable" } else { "skipped" });
        match k.class {
            KernelClass::Pool | KernelClass::Elementwise | KernelClass::Layout => data += 1,
            _ => conv += 1,
        }
    }
    assert_eq!(conv, 16, "8 arm-neon + 8 arm-dotprod conv kernels");
    assert_eq!(data, 18, "18 arm-neon kernels around convolutions");
}

/// A quantized conv in NHWC/OHWI with u8 data (zero point 3) and s8 weights (zero point 0).
fn conv_graph(g: &ConvGeometry) -> qnn_ir::Graph {
    let [kh, kw] = g.kernel;
    let cg = g.channels_per_group();
    let mut b = GraphBuilder::new("dispatch");
    let x = b.input("x", TensorType::new(DType::U8, [g.batch, g.in_h, g.in_w, g.in_c])).unwrap();
    let values: Vec<i8> = (0..g.weight_len()).map(|i| (i * 7 % 23) as i8 - 11).collect();
    let w = b.constant("w", Tensor::from_vec(&[g.out_c, kh, kw, cg], values).unwrap()).unwrap();
    let conv = Conv2dAttrs {
        strides: g.strides,
        padding: g.padding,
        dilation: g.dilation,
        groups: g.groups,
        data_layout: DataLayout::Nhwc,
        kernel_layout: KernelLayout::Ohwi,
    };
    let op = Op::QnnConv2d {
        conv,
        input: QuantParams::per_tensor(0.5, 3),
        kernel: QuantParams::per_tensor(0.25, 0),
    };
    let y = b.node("conv", op, &[x, w]).unwrap();
    b.output(y);
    b.finish().unwrap()
}

/// Lowering, backend and kernel the plan chooses for `g` on this CPU.
fn plan(g: &ConvGeometry) -> (Lowering, String, &'static str) {
    let l = legalize(&conv_graph(g), &Target::host(), &Capability).expect("legalizes");
    let op = &l.explanation.ops[0];
    let dtype = |s: &str| s.parse::<DType>().expect("dtype name");
    let problem = match op.lowering {
        Lowering::Int16Upcast => ConvProblem::int16(g.clone(), DType::U8, 3),
        Lowering::Int8ZeroPointTerms => ConvProblem::int8(
            g.clone(),
            dtype(&op.operands[0]),
            dtype(&op.operands[1]),
            3 + op.data_shift as i32,
        ),
    };
    let kernel = choose(registry::kernels_of(&op.backend), &problem)
        .unwrap_or_else(|| panic!("no kernel of {} for {problem:?}", op.backend));
    (op.lowering, op.backend.clone(), kernel.name)
}

fn geometry(hw: [usize; 2], c: usize, out_c: usize, kernel: usize, groups: usize) -> ConvGeometry {
    ConvGeometry {
        batch: 1,
        in_h: hw[0],
        in_w: hw[1],
        in_c: c,
        out_c,
        kernel: [kernel, kernel],
        strides: [1, 1],
        padding: [0; 4],
        dilation: [1, 1],
        groups,
    }
}

#[test]
fn plans_choose_the_tier_backend_lowering_and_kernel() {
    let t = tier();
    // 3×3 over 16 channels, 12 output pixels (a multiple of both 4 and 6), 32 outputs.
    let conv = geometry([5, 6], 16, 32, 3, 1);
    // A dense layer with one row: 1×1 over a 1×1 image.
    let dense = geometry([1, 1], 64, 40, 1, 1);
    let depthwise = geometry([6, 6], 24, 24, 3, 24);
    let int8 = |k: &'static str| (Lowering::Int8ZeroPointTerms, "arm-dotprod".to_string(), k);
    let expected = match (t.dotprod, t.i8mm) {
        (false, _) => {
            let int16 = |k: &'static str| (Lowering::Int16Upcast, "arm-neon".to_string(), k);
            [int16("neon_gemm_i16_4x16"), int16("neon_gemm_i16_1x32"), int16("neon_dw_i16_16")]
        }
        (true, false) => [
            int8("dotprod_gemm_s8s8_4x16c4"),
            int8("dotprod_gemm_s8s8_1x32c4"),
            int8("dotprod_dw_s8s8_16"),
        ],
        (true, true) => [
            int8("i8mm_gemm_s8s8_6x16c8"),
            int8("dotprod_gemm_s8s8_1x32c4"),
            int8("dotprod_dw_s8s8_16"),
        ],
    };
    for ((name, g), want) in
        [("conv", conv), ("dense", dense), ("depthwise", depthwise)].into_iter().zip(expected)
    {
        let got = plan(&g);
        eprintln!("{t:?} {name}: {:?} on {} with {}", got.0, got.1, got.2);
        assert_eq!(got, want, "{name} on {t:?}");
    }
}
