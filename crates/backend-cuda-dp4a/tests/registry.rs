//! The descriptor and the device kernels as the legalizer, the runtime and `qnn targets` see
//! them, and the probe's behavior on a machine without CUDA (this test passes on both kinds
//! of machine; `QNN_REQUIRE_CUDA=1` demands a GPU).

mod common;

use backend_cuda_dp4a::{CONV_KERNEL, DEPTHWISE_KERNEL, Family, NAME, applicable, probe};
use qnn_ir::backend::{
    Arch, ConvGeometry, DeviceConvSpec, DeviceRequantize, Int8Dot, KernelClass, registry,
};
use qnn_ir::{DType, RequantScale};

#[test]
fn descriptor_says_dp4a_s8s8() {
    let d = registry::backend(NAME).expect("cuda-dp4a is registered");
    assert_eq!(d.arch, Arch::Cuda);
    assert_eq!(d.capabilities.int8_dot, &[Int8Dot::S8S8]);
    assert!(!d.capabilities.int16_mac);
    for class in [KernelClass::Int8Gemm, KernelClass::Int8Depthwise, KernelClass::WindowSum] {
        assert!(d.capabilities.cost(class).is_some_and(|c| c > 0.0), "{class:?}");
    }
    assert!(d.runs_on(&["dp4a"]));
    assert!(!d.runs_on(&["avx2"]));
    assert!(registry::problems().is_empty(), "{:?}", registry::problems());
}

#[test]
fn device_kernels_are_registered() {
    let names: Vec<&str> = registry::device_kernels_of(NAME).iter().map(|k| k.name).collect();
    assert_eq!(names, [CONV_KERNEL, DEPTHWISE_KERNEL]);
    for k in registry::device_kernels_of(NAME) {
        assert_eq!(k.operands, (DType::I8, DType::I8));
    }
}

/// The probe returns a reason instead of panicking; on a machine without the driver the
/// reason names what is missing.
#[test]
fn probe_says_why_cuda_is_unavailable_without_panicking() {
    let first = std::panic::catch_unwind(probe).expect("the probe must not panic");
    assert_eq!(first, probe(), "the probe is stable");
    match first {
        Ok(()) => eprintln!(
            "CUDA is available: {:?}",
            backend_cuda_dp4a::device::device(0).map(|d| d.describe())
        ),
        Err(why) => {
            assert!(!common::required(), "QNN_REQUIRE_CUDA=1 but the probe says: {why}");
            let named = ["libcuda", "NVRTC", "device", "cuInit", "sm_"];
            assert!(named.iter().any(|w| why.contains(w)), "an unreadable reason: {why}");
            eprintln!("probe (as expected without a GPU): {why}");
        }
    }
}

fn spec(geometry: ConvGeometry, data: DType) -> DeviceConvSpec {
    let k = geometry.channels_per_group() * geometry.kernel[0] * geometry.kernel[1];
    DeviceConvSpec {
        weights: vec![1; geometry.out_c * k],
        channel_constant: vec![0],
        t3_zero_point: None,
        requantize: Some(DeviceRequantize {
            scale: RequantScale::Float { mults: vec![0.5] },
            input_zero_point: 0,
            output_zero_point: 3,
        }),
        out_dtype: DType::U8,
        clamp: None,
        data,
        weight: DType::I8,
        pad_value: 0,
        geometry,
    }
}

fn depthwise() -> ConvGeometry {
    ConvGeometry {
        groups: 8,
        kernel: [3, 3],
        padding: [1; 4],
        in_h: 4,
        in_w: 4,
        ..ConvGeometry::dense(1, 8, 8)
    }
}

/// `applicable` needs no device: the kernel for each family, refusals that say why.
#[test]
fn applicability_is_decided_without_a_device() {
    let dense = spec(ConvGeometry::dense(2, 16, 5), DType::I8);
    applicable(&dense, Family::Gemm).unwrap();
    let e = applicable(&dense, Family::Depthwise).unwrap_err().to_string();
    assert!(e.contains(CONV_KERNEL), "{e}");
    applicable(&spec(depthwise(), DType::I8), Family::Depthwise).unwrap();
    let e = applicable(&spec(depthwise(), DType::I8), Family::Gemm).unwrap_err().to_string();
    assert!(e.contains(DEPTHWISE_KERNEL), "{e}");
    let e = applicable(&spec(ConvGeometry::dense(2, 16, 5), DType::U8), Family::Gemm).unwrap_err();
    assert!(e.to_string().contains("s8×s8"), "{e}");
    let mut bad = dense.clone();
    bad.weights.pop();
    assert!(applicable(&bad, Family::Gemm).unwrap_err().to_string().contains("weights"));
    let mut bad = dense.clone();
    bad.channel_constant = vec![0, 1];
    assert!(applicable(&bad, Family::Gemm).is_err());
    // An accumulator that could leave i32 is refused (ARCHITECTURE.md §4).
    let mut deep = spec(ConvGeometry::dense(1, 140_000, 1), DType::I8);
    deep.weights.fill(-128);
    let e = applicable(&deep, Family::Gemm).unwrap_err().to_string();
    assert!(e.contains("i32"), "{e}");
}

/// Through the registry: prepare fails with the probe's reason when there is no GPU, and
/// never panics.
#[test]
fn prepare_through_the_registry() {
    let conv =
        registry::device_kernels_of(NAME).into_iter().find(|k| k.name == CONV_KERNEL).unwrap();
    let dense = spec(ConvGeometry::dense(2, 16, 5), DType::I8);
    (conv.applicable)(&dense).unwrap();
    let prepared = std::panic::catch_unwind(|| (conv.prepare)(&dense)).expect("no panic");
    match (probe(), prepared) {
        (Err(why), Err(e)) => assert!(e.contains(&why), "{e}"),
        (Ok(()), Ok(op)) => {
            // x = 1 everywhere, w = 1: acc = 16, y = 3 + round(16 · 0.5) = 11.
            let mut out = vec![0u8; 10];
            op.run(&[1u8; 32], &mut out).unwrap();
            assert_eq!(out, vec![11u8; 10], "{}", op.describe());
            assert!(op.run(&[1u8; 31], &mut out).unwrap_err().contains("input"));
        }
        (p, r) => panic!("probe {p:?} but prepare {:?}", r.map(|op| op.describe())),
    }
}
