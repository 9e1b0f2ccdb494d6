//! Choosing the kernels around convolutions from the registry, in a backend preference
//! order, and running them through the frame's plans: what the runtime does with them.

use backend_portable as _;
use qnn_ir::DType;
use qnn_ir::backend::{
    Arch, BACKEND_ABI_VERSION, BackendDescriptor, Capabilities, KernelClass, KernelEntry,
    KernelImpl, PoolArgs, PoolKind, PoolMicrokernel, PoolOp, TransposeConvert,
};
use qnn_kernels::{
    ElementwisePlan, ElementwiseProblem, ElementwiseSpec, KernelError, PoolGeometry, PoolPlan,
    PoolProblem, ThreadPool, TransposePlan, TransposeProblem, choose_elementwise, choose_pool,
    choose_transpose, lookup_table,
};

/// Two backends with one u8 max-pooling kernel each: `double-usable` (its probe passes) and
/// `double-absent` (its CPU is missing). Their kernel writes 7 everywhere.
mod double {
    use super::*;

    unsafe fn sevens(args: &PoolArgs<'_>) {
        for p in 0..args.pixels {
            for c in 0..args.channels {
                // SAFETY: the frame's contract: pixel `p` holds `channels` outputs.
                unsafe { *args.out.add(p * args.out_stride + c) = 7 };
            }
        }
    }

    const fn entry(backend: &'static str, probe: fn() -> Result<(), String>) -> KernelEntry {
        KernelEntry {
            abi_version: BACKEND_ABI_VERSION,
            backend,
            name: "double_pool_max_u8",
            class: KernelClass::Pool,
            operands: (DType::U8, DType::U8),
            imp: KernelImpl::Pool(PoolMicrokernel {
                kind: PoolKind::Max,
                input: DType::U8,
                probe,
                run: sevens,
            }),
        }
    }

    const fn descriptor(name: &'static str) -> BackendDescriptor {
        BackendDescriptor {
            abi_version: BACKEND_ABI_VERSION,
            name,
            arch: Arch::Portable,
            features: &[],
            probe: || Ok(()),
            priority: 0,
            capabilities: Capabilities {
                int8_dot: &[],
                int16_mac: false,
                vector_bits: 0,
                bytes_per_cycle: 1.0,
                costs: &[],
            },
            summary: "a test double",
        }
    }

    inventory::submit! { descriptor("double-usable") }
    inventory::submit! { descriptor("double-absent") }
    inventory::submit! { entry("double-usable", || Ok(())) }
    inventory::submit! { entry("double-absent", || Err("no such CPU".into())) }
}

fn max_pool() -> PoolProblem {
    let g = PoolGeometry {
        batch: 1,
        in_h: 4,
        in_w: 4,
        channels: 2,
        kernel: [2, 2],
        strides: [2, 2],
        padding: [0; 4],
        dilation: [1, 1],
    };
    PoolProblem::max(g, DType::U8)
}

#[test]
fn the_first_backend_in_the_order_with_a_usable_kernel_wins() {
    let p = max_pool();
    let k = choose_pool(&["double-absent", "portable"], &p).unwrap();
    assert_eq!((k.backend, k.name), ("portable", "portable_pool_max_u8"));
    let k = choose_pool(&["double-absent", "double-usable", "portable"], &p).unwrap();
    assert_eq!((k.backend, k.name), ("double-usable", "double_pool_max_u8"));
    let k = choose_pool(&["portable", "double-usable"], &p).unwrap();
    assert_eq!(k.backend, "portable");
    // The chosen kernel is what runs.
    let plan = PoolPlan::new(&p, choose_pool(&["double-usable"], &p).unwrap()).unwrap();
    let mut out = [0u8; 8];
    plan.run(&[1; 32], &mut out, &ThreadPool::new(1)).unwrap();
    assert_eq!(out, [7; 8]);
}

#[test]
fn no_kernel_says_why_per_backend() {
    let e = choose_pool(&["double-absent", "x86-nothing"], &max_pool()).unwrap_err();
    let KernelError::NoKernel(why) = &e else { panic!("{e}") };
    assert!(why.contains("no such CPU"), "{why}");
    assert!(why.contains("x86-nothing has no pooling kernel"), "{why}");
    let avg = PoolOp::AverageF32 {
        zp_in: 0,
        scale_in: 1.0,
        scale_out: 1.0,
        zp_out: 0.0,
        lo: 0.0,
        hi: 255.0,
    };
    let p = PoolProblem::average_f32(max_pool().geometry, DType::U8, DType::I8, avg, true);
    let e = choose_pool(&["portable"], &p).unwrap_err();
    assert!(e.to_string().contains("u8 → i8"), "{e}");
}

#[test]
fn an_nchw_f32_input_is_quantized_into_nhwc() {
    // 1×2×2×3 f32 in NCHW, quantized with scale 0.5 and zero point 10 into u8 NHWC.
    let convert = TransposeConvert::Quantize { scale: 0.5, zero_point: 10.0, lo: 0.0, hi: 255.0 };
    let p = TransposeProblem::nchw_to_nhwc([1, 2, 2, 3], (DType::F32, DType::U8), convert);
    let k = choose_transpose(&["portable"], &p).unwrap();
    assert_eq!(k.name, "portable_transpose_quantize_u8");
    let x: Vec<f32> = vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5, -1.0, -0.25, 200.0, f32::NAN, 0.75, -6.0];
    let input: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut out = [0u8; 12];
    TransposePlan::new(&p, k).unwrap().run(&input, &mut out, &ThreadPool::new(2)).unwrap();
    // NHWC pixel (y, x): channel 0 from x[0..6], channel 1 from x[6..12]; −0.25/0.5 = −0.5
    // rounds to −0 (half even), 0.75/0.5 = 1.5 to 2.
    assert_eq!(out, [10, 8, 11, 10, 12, 255, 13, 0, 14, 12, 15, 0]);
}

#[test]
fn a_transpose_without_conversion_moves_any_dtype_of_its_size() {
    let p = TransposeProblem::nhwc_to_nchw(
        [1, 1, 2, 2],
        (DType::F32, DType::F32),
        TransposeConvert::None,
    );
    let k = choose_transpose(&["portable"], &p).unwrap();
    assert_eq!(k.name, "portable_transpose_x32");
    let input: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut out = vec![0u8; 16];
    TransposePlan::new(&p, k).unwrap().run(&input, &mut out, &ThreadPool::new(1)).unwrap();
    let got: Vec<f32> =
        out.chunks(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    assert_eq!(got, [1.0, 3.0, 2.0, 4.0]);
}

#[test]
fn a_lookup_table_runs_any_function_of_one_value() {
    // A ReLU with zero point −5 on i8, then +128 into u8.
    let table = lookup_table(DType::I8, DType::U8, |v| v.max(-5) + 128).unwrap();
    let p = ElementwiseProblem {
        spec: ElementwiseSpec::Lookup { table: Box::new(table) },
        dtypes: (DType::I8, DType::I8, DType::U8),
        n: 5,
    };
    let k = choose_elementwise(&["portable"], &p).unwrap();
    assert_eq!(k.name, "portable_lookup_s8u8");
    let mut out = [0u8; 5];
    let input = [-128i8, -6, -5, 0, 127].map(|v| v as u8);
    ElementwisePlan::new(&p, k).unwrap().run(&input, None, &mut out, &ThreadPool::new(1)).unwrap();
    assert_eq!(out, [123, 123, 123, 128, 255]);
}
