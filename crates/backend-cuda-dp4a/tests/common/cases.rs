//! Conformance cases for the dp4a kernels, from the shared generators of `qnn-kernels`
//! (random shapes and parameters, tails, edge zero points 0/±127/−128, per-channel
//! requantize and weight zero points, depthwise multipliers, groups, dilation, padding,
//! every requantize mode, extreme values), and their expected bytes from the reference
//! interpreter of `qnn-ir`. Used by the GPU tests and by the crate's CPU emulation tests.
#![allow(dead_code)]

use proptest::test_runner::{Config, TestCaseError, TestRunner};
use qnn_ir::DType;
use qnn_ir::backend::{
    BACKEND_ABI_VERSION, DepthwiseMicrokernel, DeviceConvSpec, IndirectGemmMicrokernel,
    KernelClass, KernelEntry, KernelImpl, PanelLayout, WeightConstraint,
};
use qnn_kernels::scalar::{self, I8};
use qnn_kernels::testing::Case;
use qnn_kernels::testing::conformance::case_count;
use qnn_kernels::testing::strategies::{Topic, cases, tail_sweep};

use backend_cuda_dp4a::{Family, Options, TILES, spec_from_frame};

fn ok() -> Result<(), String> {
    Ok(())
}

/// The generators are written for CPU kernel entries: these stand-ins give them the shapes
/// to aim at (the 32×32 tile, 4-channel words, s8×s8 operands). Their microkernels are
/// never called here.
const GEMM_SHAPES: KernelEntry = KernelEntry {
    abi_version: BACKEND_ABI_VERSION,
    backend: "cuda-dp4a (case shapes)",
    name: "dp4a_conv_s8s8",
    class: KernelClass::Int8Gemm,
    operands: (DType::I8, DType::I8),
    imp: KernelImpl::IndirectGemm(IndirectGemmMicrokernel {
        mr: 32,
        nr: 32,
        kr: 4,
        packed: (DType::I8, DType::I8),
        layout: PanelLayout::Interleaved,
        fused_epilogue: true,
        strip: false,
        constraint: WeightConstraint::None,
        probe: ok,
        run: scalar::gemm::<I8, I8, 1, 1, 1>,
    }),
};

const DEPTHWISE_SHAPES: KernelEntry = KernelEntry {
    abi_version: BACKEND_ABI_VERSION,
    backend: "cuda-dp4a (case shapes)",
    name: "dp4a_dw_s8s8",
    class: KernelClass::Int8Depthwise,
    operands: (DType::I8, DType::I8),
    imp: KernelImpl::Depthwise(DepthwiseMicrokernel {
        block: 16,
        kr: 4,
        packed: (DType::I8, DType::I8),
        probe: ok,
        run: scalar::depthwise::<I8, I8, 16, 4>,
    }),
};

/// The stand-in of the deterministic tail sweep for the GEMM kernel: a 64×64 "tile", so that
/// the sweep's rows and columns `1..=129` reach every tail of the 32, 64 and 128 tiles.
const GEMM_SWEEP_SHAPES: KernelEntry = KernelEntry {
    imp: KernelImpl::IndirectGemm(IndirectGemmMicrokernel {
        mr: 64,
        nr: 64,
        kr: 4,
        packed: (DType::I8, DType::I8),
        layout: PanelLayout::Interleaved,
        fused_epilogue: true,
        strip: false,
        constraint: WeightConstraint::None,
        probe: ok,
        run: scalar::gemm::<I8, I8, 1, 1, 1>,
    }),
    ..GEMM_SHAPES
};

/// Runs `check` on every case of the shared tail sweep for `family` (every row, column and
/// reduction tail; every channel tail of depthwise); panics with the first failure.
pub fn for_tail_sweep(family: Family, check: impl Fn(&DeviceCase) -> Result<(), String>) {
    let entry = match family {
        Family::Gemm => &GEMM_SWEEP_SHAPES,
        Family::Depthwise => &DEPTHWISE_SHAPES,
    };
    let sweep = tail_sweep(entry);
    for (i, case) in sweep.iter().enumerate() {
        let result = DeviceCase::new(case).and_then(|dc| check(&dc));
        if let Err(e) = result {
            panic!("{family:?} tail case {i} of {}: {e}", sweep.len());
        }
    }
}

/// Every topic of the shared generators, with this suite's default case count.
pub const TOPICS: [(Topic, u32); 6] = [
    (Topic::Random, 64),
    (Topic::Tails, 48),
    (Topic::FirstLayer, 16),
    (Topic::Epilogues, 96),
    (Topic::Deep, 8),
    (Topic::Extremes, 24),
];

/// The configurations each case runs in: the automatic choice (a CUDA graph per run), the
/// same with direct launches, every tile, and a forced split of the reduction (GEMM).
pub fn configurations(family: Family) -> Vec<Options> {
    let direct = Options { direct_launches: true, ..Options::default() };
    match family {
        Family::Depthwise => vec![Options::default(), direct],
        Family::Gemm => {
            let mut v = vec![Options::default(), direct];
            let tile =
                |t, splits| Options { tile: Some(t), splits: Some(splits), ..Options::default() };
            v.extend(TILES.iter().map(|&t| tile(t, 1)));
            v.push(tile(TILES[2], 3));
            v.push(tile(TILES[0], 2));
            v
        }
    }
}

/// A case as the device sees it.
#[derive(Debug, Clone)]
pub struct DeviceCase {
    pub spec: DeviceConvSpec,
    pub input: Vec<u8>,
    pub expected: Vec<u8>,
    pub describe: String,
}

impl DeviceCase {
    pub fn new(case: &Case) -> Result<Self, String> {
        let l = case.lowered();
        Ok(DeviceCase {
            spec: spec_from_frame(&l.problem, &l.weights, &l.epilogue),
            input: l.input,
            expected: case.expected()?,
            describe: case.describe(),
        })
    }

    /// `Ok` when `got` equals the reference bit for bit; else the first difference.
    pub fn compare(&self, got: &[u8], config: &str) -> Result<(), String> {
        if got == self.expected {
            return Ok(());
        }
        let size = self.spec.out_dtype.size_bytes();
        let i = got.iter().zip(&self.expected).position(|(a, b)| a != b).unwrap_or(0) / size;
        let at = |b: &[u8]| -> i64 {
            let e = &b[i * size..(i + 1) * size];
            match self.spec.out_dtype {
                DType::U8 => i64::from(e[0]),
                DType::I8 => i64::from(e[0] as i8),
                _ => i64::from(i32::from_le_bytes([e[0], e[1], e[2], e[3]])),
            }
        };
        let wrong =
            got.chunks(size).zip(self.expected.chunks(size)).filter(|(a, b)| a != b).count();
        Err(format!(
            "{config}: element {i} (channel {}) is {}, the reference says {} ({wrong} of {} differ)\n  case: {}",
            i % self.spec.geometry.out_c,
            at(got),
            at(&self.expected),
            self.expected.len() / size,
            self.describe
        ))
    }
}

/// Runs `check` on random cases of `topic` for `family` (`QNN_PROPTEST_CASES` scales the
/// count); panics with the shrunk failing case.
pub fn for_cases(
    family: Family,
    topic: Topic,
    default: u32,
    check: impl Fn(&DeviceCase) -> Result<(), String>,
) {
    let entry = match family {
        Family::Gemm => &GEMM_SHAPES,
        Family::Depthwise => &DEPTHWISE_SHAPES,
    };
    let config =
        Config { cases: case_count(default), failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&cases(entry, topic), |case| {
        let dc = DeviceCase::new(&case).map_err(TestCaseError::fail)?;
        check(&dc).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{family:?} / {topic:?}: {e}");
    }
}
