//! The runtime with the `cuda-dp4a` backend: fused int8 conv/dense ops that a device
//! kernel's `applicable` check accepts run on the GPU (prepared once at compile time, input
//! and output moved per run), everything else on the CPU, and the report says which and why.
//!
//! * Without a GPU: the plan for the `cuda` target (placement by `applicable`, no device
//!   touched), the reason when an op stays on the CPU, and the error of compiling for a GPU
//!   that is not here.
//! * With a GPU (SKIPPED loudly without one; `QNN_REQUIRE_CUDA=1` makes a skip a failure):
//!   peer models compiled for `cuda` equal ONNX Runtime bit for bit, random graphs equal the
//!   reference, one model run from several threads agrees.
//!
//! This binary travels in `cargo xtask gpu-check`'s folder, so its peer models are embedded.

mod common;

use common::nets::{small_convnet, small_convnet_input};
use common::random_graph::{build, net};
use common::{config, cuda_unavailable, gpu_or_skip};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use qnn_ir::{Graph, Tensor, reference};
use qnn_legalize::{CostModel, Forced, Lowering, Target};
use qnn_onnx::{ImportOptions, Model};
use qnn_runtime::{CompileOptions, Compiler, Exec, PlanReport, RuntimeError};

/// A peer model with ONNX Runtime's output for its input.
struct Peer {
    name: &'static str,
    onnx: &'static [u8],
    input: &'static [u8],
    output: &'static [u8],
}

macro_rules! fixture {
    ($($file:tt)+) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../qnn-onnx/tests/fixtures/models/",
            $($file)+
        ))
    };
}

macro_rules! peer {
    ($name:literal, $net:literal) => {
        Peer {
            name: $name,
            onnx: fixture!(concat!($name, ".onnx")),
            input: fixture!(concat!($net, "_input.npy")),
            output: fixture!(concat!($name, "_output.npy")),
        }
    };
}

/// One of each import form (QOperator, QDQ) and quantization (per tensor, per channel),
/// over both networks (ResNet-style: 3×3 and 1×1 convs, residual adds; MobileNetV2-style:
/// depthwise layers).
const PEERS: [Peer; 4] = [
    peer!("resnet_qop_pc", "resnet"),
    peer!("resnet_qdq_pt", "resnet"),
    peer!("mobilenetv2_qop_pt", "mobilenetv2"),
    peer!("mobilenetv2_qdq_pc", "mobilenetv2"),
];

impl Peer {
    fn graph(&self) -> Graph {
        let model = Model::from_bytes(self.onnx).unwrap_or_else(|e| panic!("{}: {e}", self.name));
        model.import(&ImportOptions::default()).unwrap().graph
    }
    fn input(&self) -> Tensor {
        qnn_npy::from_bytes(self.input).unwrap()
    }
    fn output(&self) -> Tensor {
        qnn_npy::from_bytes(self.output).unwrap()
    }
}

fn cuda() -> Target {
    "cuda".parse().unwrap()
}

fn for_cuda() -> Compiler {
    Compiler::new(CompileOptions::new().target(cuda()).threads(2))
}

fn bits(t: &Tensor) -> Vec<u64> {
    t.to_f64_vec().iter().map(|v| v.to_bits()).collect()
}

/// The device kernel of a fused step: depthwise layers have their own.
fn device_kernel(op: &str) -> &'static str {
    if op.starts_with("depthwise") { "dp4a_dw_s8s8" } else { "dp4a_conv_s8s8" }
}

/// Every fused conv/dense of `r` runs on the device, int8, on its family's kernel; nothing
/// on the reference. Returns the number of device steps.
fn all_fused_on_the_device(name: &str, r: &PlanReport) -> usize {
    assert_eq!(r.count(Exec::Kernel), 0, "{name}: no fused op stays on the CPU\n{r}");
    assert_eq!(r.count(Exec::Reference), 0, "{name}\n{r}");
    for s in r.steps.iter().filter(|s| s.lowering.is_some()) {
        assert_eq!(s.exec, Exec::Device, "{name}: {}", s.step);
        assert_eq!(s.backend.as_deref(), Some("cuda-dp4a"), "{name}: {}", s.step);
        assert_eq!(
            s.kernel.as_deref(),
            Some(device_kernel(&s.op)),
            "{name}: {} ({})",
            s.step,
            s.op
        );
        assert_eq!(s.lowering.as_deref(), Some("int8-terms"), "{name}: {}", s.step);
    }
    r.count(Exec::Device)
}

/// The plan for `cuda`, made on any machine: every fused op of every peer model is placed on
/// the device by the kernels' `applicable` checks and marked as planned only.
#[test]
fn the_cuda_plan_places_every_fused_op_on_the_device() {
    for p in &PEERS {
        let r = for_cuda().plan(&p.graph()).unwrap_or_else(|e| panic!("{}: {e}", p.name));
        let n = all_fused_on_the_device(p.name, &r);
        assert!(n >= 10, "{}: {n} device steps\n{r}", p.name);
        let dw = r.steps.iter().filter(|s| s.kernel.as_deref() == Some("dp4a_dw_s8s8")).count();
        assert_eq!(dw > 0, p.name.starts_with("mobilenet"), "{}: depthwise steps\n{r}", p.name);
        for s in r.steps.iter().filter(|s| s.exec == Exec::Device) {
            assert!(s.note.contains("planned only"), "{}: {s:?}", p.name);
        }
        let text = r.to_string();
        assert!(text.contains("cuda-dp4a dp4a_conv_s8s8 (device)"), "{text}");
        assert!(text.contains(&format!("{n} on a device")), "{text}");
    }
}

/// An op no device kernel takes stays on the CPU, and the report says why: the small net
/// lowered with int8 forced for a Cortex-A53 (no dot product: the operands stay u8×s8 and
/// u8×u8; dp4a computes s8×s8 only) and then planned for `cuda` runs its convs on
/// `portable`, each with the device kernels' refusal naming its operands.
#[test]
fn what_the_device_refuses_runs_on_the_cpu_with_the_reason() {
    let a53: Target = "aarch64-unknown-linux-gnu:cortex-a53".parse().unwrap();
    let int8 = Forced::new(CostModel::new()).all(Lowering::Int8ZeroPointTerms);
    let lowered = qnn_legalize::legalize(&small_convnet(), &a53, &int8).unwrap().graph;
    let r = for_cuda().plan(&lowered).unwrap();
    let fused: Vec<&qnn_runtime::StepReport> =
        r.steps.iter().filter(|s| s.lowering.is_some()).collect();
    assert_eq!(fused.len(), 4, "{r}");
    for (s, operands) in fused.into_iter().zip(["u8×i8", "u8×u8", "u8×i8", "u8×i8"]) {
        assert_eq!((s.exec, s.backend.as_deref()), (Exec::Kernel, Some("portable")), "{r}");
        assert!(s.note.starts_with("fallback; cuda-dp4a has no kernel for it"), "{}", s.note);
        assert!(
            s.note.contains(&format!(
                "s8×s8 operands (dtype legalization shifts u8 by −128), not {operands}"
            )),
            "{}",
            s.note
        );
    }
    // The same net lowered for `cuda` goes to the device whole.
    let lowered =
        qnn_legalize::legalize(&small_convnet(), &cuda(), &CostModel::new()).unwrap().graph;
    assert_eq!(all_fused_on_the_device("small_convnet", &for_cuda().plan(&lowered).unwrap()), 4);
}

/// Compiling for a GPU this machine lacks is an error that names the backend and the
/// probe's reason, never a panic and never a quiet CPU fallback; so is forcing the backend.
#[test]
fn compiling_for_a_missing_gpu_is_an_error() {
    let Some(why) = cuda_unavailable() else {
        eprintln!("not applicable: a CUDA device is usable here");
        return;
    };
    let g = small_convnet();
    match for_cuda().compile(&g) {
        Err(RuntimeError::DeviceUnavailable { target, backend, why: got }) => {
            assert_eq!((target.as_str(), backend.as_str()), ("cuda", "cuda-dp4a"));
            assert_eq!(got, why);
        }
        other => panic!("expected DeviceUnavailable, got {other:?}"),
    }
    let e = for_cuda().compile(&g).unwrap_err().to_string();
    assert!(e.contains("cuda-dp4a") && e.contains(&why) && e.contains("Compiler::plan"), "{e}");
    let lowered = qnn_legalize::legalize(&g, &cuda(), &CostModel::new()).unwrap().graph;
    assert!(matches!(
        for_cuda().compile_lowered(&lowered),
        Err(RuntimeError::DeviceUnavailable { .. })
    ));
    let forced =
        CompileOptions::from_env_with(|k| (k == "QNN_BACKEND").then(|| "cuda-dp4a".into()));
    match Compiler::new(forced).compile(&g) {
        Err(RuntimeError::BackendUnavailable { name, why: got }) => {
            assert_eq!((name.as_str(), got.as_str()), ("cuda-dp4a", why.as_str()));
        }
        other => panic!("expected BackendUnavailable, got {other:?}"),
    }
}

/// With a GPU: each peer model compiled for `cuda` (every fused op on the device, the rest
/// on the CPU) equals ONNX Runtime's output bit for bit, run twice from one compilation.
#[test]
fn peer_models_on_the_gpu_equal_onnx_runtime() {
    if !gpu_or_skip("peer_models_on_the_gpu_equal_onnx_runtime") {
        return;
    }
    for p in &PEERS {
        let m = for_cuda().compile(&p.graph()).unwrap_or_else(|e| panic!("{}: {e}", p.name));
        let n = all_fused_on_the_device(p.name, m.report());
        let (x, want) = (p.input(), p.output());
        for run in 0..2 {
            let got = m.run(std::slice::from_ref(&x)).unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert_eq!(got[0].ty(), want.ty(), "{}", p.name);
            let (g, w) = (bits(&got[0]), bits(&want));
            let differ = g.iter().zip(&w).filter(|(a, b)| a != b).count();
            assert_eq!(differ, 0, "{} run {run}: {differ} of {} outputs differ", p.name, w.len());
        }
        eprintln!("{}: {n} ops on the GPU, equal to ONNX Runtime", p.name);
    }
}

/// With a GPU: one compiled model run from four threads at once gives ORT's output each time.
#[test]
fn one_gpu_model_from_several_threads() {
    if !gpu_or_skip("one_gpu_model_from_several_threads") {
        return;
    }
    let p = &PEERS[0];
    let m = for_cuda().compile(&p.graph()).unwrap();
    let (x, want) = (p.input(), bits(&p.output()));
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..3 {
                    let got = m.run(std::slice::from_ref(&x)).unwrap();
                    assert!(bits(&got[0]) == want, "{}", p.name);
                }
            });
        }
    });
}

/// With a GPU: `QNN_BACKEND=cuda-dp4a` on the host puts the small net's fused ops on the
/// device, and the result equals the reference.
#[test]
fn forcing_cuda_on_the_host() {
    if !gpu_or_skip("forcing_cuda_on_the_host") {
        return;
    }
    let g = small_convnet();
    let opts = CompileOptions::from_env_with(|k| (k == "QNN_BACKEND").then(|| "cuda-dp4a".into()));
    let m = Compiler::new(opts).compile(&g).unwrap();
    assert_eq!(all_fused_on_the_device("small_convnet", m.report()), 4, "{}", m.report());
    let x = [small_convnet_input(7)];
    assert_eq!(m.run(&x).unwrap(), reference::run(&g, &x).unwrap(), "{}", m.report());
}

/// With a GPU: random graphs (grouped, depthwise, strided, dilated, padded convs, dense,
/// edge zero points, per-channel weights, every rounding) compiled for `cuda` equal the
/// reference interpretation of the QNN graph bit for bit.
#[test]
fn random_graphs_on_the_gpu_equal_the_reference() {
    if !gpu_or_skip("random_graphs_on_the_gpu_equal_the_reference") {
        return;
    }
    let mut runner = TestRunner::new(config(48));
    let result = runner.run(&net(), |n| {
        let (g, x) = build(&n);
        let want = reference::run(&g, std::slice::from_ref(&x));
        let m = match for_cuda().compile(&g) {
            Ok(m) => m,
            Err(RuntimeError::Legalize(_)) => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(format!("compile: {e}"))),
        };
        prop_assert_eq!(m.report().count(Exec::Kernel), 0, "{}", m.report());
        match (want, m.run(std::slice::from_ref(&x))) {
            (Ok(w), Ok(o)) => prop_assert_eq!(w, o, "{}", m.report()),
            (Err(_), Err(_)) => {}
            (w, o) => prop_assert!(false, "reference {:?}, compiled {:?}\n{}", w, o, m.report()),
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
