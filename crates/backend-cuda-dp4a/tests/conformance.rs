//! The shared conformance cases on the GPU, bit for bit against the reference interpreter:
//! every topic of the generators (random shapes with groups, stride, dilation and
//! asymmetric padding; tails; first layers; every requantize mode with ties and edge zero
//! points; long reductions; extreme values), each GEMM case in every tile and with a forced
//! split of the reduction. Without a usable GPU each test prints SKIPPED and why;
//! `QNN_REQUIRE_CUDA=1` makes that a failure.

mod common;

use backend_cuda_dp4a::{CudaConvOp, Family, Options};
use common::cases::{DeviceCase, TOPICS, configurations, for_cases};
use common::gpu_or_skip;

fn run_case(case: &DeviceCase, options: &Options) -> Result<(), String> {
    let op = CudaConvOp::prepare_with(&case.spec, options)
        .map_err(|e| format!("prepare {options:?}: {e}\n  case: {}", case.describe))?;
    let mut out = vec![0xA5u8; case.expected.len()];
    op.execute(&case.input, &mut out)
        .map_err(|e| format!("run: {e}\n  case: {}", case.describe))?;
    case.compare(&out, &qnn_ir::backend::PreparedDeviceOp::describe(&op))
}

fn conformance(family: Family, topic_index: usize) {
    let (topic, default) = TOPICS[topic_index];
    if !gpu_or_skip(&format!("GPU conformance {family:?} / {topic:?}")) {
        return;
    }
    for_cases(family, topic, default, |case| {
        configurations(family).iter().try_for_each(|o| run_case(case, o))
    });
}

macro_rules! on_gpu {
    ($($name:ident: $family:expr, $topic:expr;)*) => {
        $(#[test] fn $name() { conformance($family, $topic); })*
    };
}

on_gpu! {
    gemm_random: Family::Gemm, 0;
    gemm_tails: Family::Gemm, 1;
    gemm_first_layers: Family::Gemm, 2;
    gemm_epilogues_and_ties: Family::Gemm, 3;
    gemm_long_reductions: Family::Gemm, 4;
    gemm_extreme_values: Family::Gemm, 5;
    depthwise_random: Family::Depthwise, 0;
    depthwise_tails: Family::Depthwise, 1;
    depthwise_first_layers: Family::Depthwise, 2;
    depthwise_epilogues_and_ties: Family::Depthwise, 3;
    depthwise_long_reductions: Family::Depthwise, 4;
    depthwise_extreme_values: Family::Depthwise, 5;
}

/// One prepared op run from several threads at once gives the same bytes every time.
#[test]
fn concurrent_runs_agree() {
    if !gpu_or_skip("GPU concurrent runs") {
        return;
    }
    for_cases(Family::Gemm, TOPICS[0].0, 4, |case| {
        let op = CudaConvOp::prepare(&case.spec).map_err(|e| e.to_string())?;
        std::thread::scope(|s| {
            let runs: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let mut out = vec![0u8; case.expected.len()];
                        (0..3).try_for_each(|_| {
                            op.execute(&case.input, &mut out).map_err(|e| e.to_string())?;
                            case.compare(&out, "concurrent run")
                        })
                    })
                })
                .collect();
            runs.into_iter()
                .try_for_each(|h| h.join().map_err(|_| "a thread panicked".to_string())?)
        })
    });
}
