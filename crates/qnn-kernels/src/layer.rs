//! A layer on a kernel, the entry point of the frame: check a registered kernel against a
//! layer ([`applicable`]), choose one ([`choose`]), prepack its weights once ([`ConvPlan`]), then
//! run it any number of times.

use qnn_ir::DType;
use qnn_ir::backend::{KernelEntry, KernelImpl};

use crate::aligned::AlignedBytes;
use crate::depthwise::DepthwisePlan;
use crate::epilogue::{EpilogueSpec, PreparedEpilogue, check_accumulator_range};
use crate::error::KernelError;
use crate::gemm::{GemmPlan, Micro};
use crate::problem::{ConvProblem, check_weights};
use crate::threads::ThreadPool;

/// A conv/dense layer ready to run: weights prepacked for its kernel, epilogue laid out.
/// Immutable and `Send + Sync`: run it from any number of threads, each with its own
/// [`Scratch`].
#[derive(Debug)]
pub enum ConvPlan {
    Gemm(GemmPlan),
    Depthwise(DepthwisePlan),
}

/// Reusable scratch memory for [`ConvPlan::run`] (one per concurrent caller), aligned to
/// cache lines.
#[derive(Debug, Default)]
pub struct Scratch(AlignedBytes);

impl Scratch {
    pub fn new() -> Self {
        Scratch(AlignedBytes::default())
    }

    /// At least `n` bytes (grown once, then reused).
    pub fn bytes(&mut self, n: usize) -> &mut [u8] {
        self.0.reserve_len(n);
        &mut self.0.as_mut_slice()[..n]
    }
}

/// Why `entry` cannot compute `problem`, without packing anything; `Ok` when it can.
pub fn applicable(entry: &KernelEntry, problem: &ConvProblem) -> Result<(), KernelError> {
    problem.validate()?;
    let (d, w) = entry.operands;
    let widened = d == DType::I16 && matches!(problem.data, DType::U8 | DType::I8);
    if w != problem.weight || (d != problem.data && !widened) {
        return Err(KernelError::NotApplicable {
            kernel: entry.name,
            why: format!(
                "it computes {}×{} layers, not {}×{}",
                entry.operands.0, entry.operands.1, problem.data, problem.weight
            ),
        });
    }
    if matches!(
        entry.imp,
        KernelImpl::Pool(_) | KernelImpl::Elementwise(_) | KernelImpl::Transpose(_)
    ) {
        return Err(KernelError::NotApplicable {
            kernel: entry.name,
            why: "it is not a convolution kernel".into(),
        });
    }
    if matches!(entry.imp, KernelImpl::Depthwise(_)) && !problem.geometry.is_depthwise() {
        return Err(KernelError::NotApplicable {
            kernel: entry.name,
            why: "the layer is not depthwise".into(),
        });
    }
    let unavailable = |why| KernelError::Unavailable { kernel: entry.name, why };
    if let Some(backend) = qnn_ir::backend::registry::backend(entry.backend) {
        backend.probe().map_err(unavailable)?;
    }
    entry.probe().map_err(unavailable)
}

/// Estimated relative cost of `entry` on `problem` (lower is better): the padded MACs its
/// tiles compute, with a small penalty for narrow tiles (more loads per MAC). Depthwise
/// kernels beat GEMM kernels on depthwise layers.
pub fn estimated_cost(entry: &KernelEntry, problem: &ConvProblem) -> f64 {
    let g = &problem.geometry;
    let k = g.reduction_len() as f64;
    let gemm = |mr: usize, nr: usize, kr: usize| {
        let m = g.out_pixels().div_ceil(mr) * mr;
        let n = g.groups * g.outputs_per_group().div_ceil(nr) * nr;
        let k = (k / kr as f64).ceil() * kr as f64;
        let narrow = 1.0 + 0.5 / mr as f64 + 8.0 / nr as f64;
        let depthwise_penalty = if g.is_depthwise() { 8.0 } else { 1.0 };
        m as f64 * n as f64 * k * narrow * depthwise_penalty
    };
    match &entry.imp {
        // The per-tile copy of the packed-panel contract costs about one more pass.
        KernelImpl::Gemm(mk) => 2.0 * gemm(mk.mr, mk.nr, mk.kr),
        KernelImpl::IndirectGemm(mk) => gemm(mk.mr, mk.nr, mk.kr),
        KernelImpl::Depthwise(dk) => {
            let c = g.out_c.div_ceil(dk.block) * dk.block;
            g.out_pixels() as f64 * c as f64 * k
        }
        KernelImpl::Pool(_) | KernelImpl::Elementwise(_) | KernelImpl::Transpose(_) => {
            f64::INFINITY
        }
    }
}

/// The cheapest applicable kernel among `entries`, by [`estimated_cost`].
pub fn choose<'a>(
    entries: impl IntoIterator<Item = &'a KernelEntry>,
    problem: &ConvProblem,
) -> Option<&'a KernelEntry> {
    entries
        .into_iter()
        .filter(|e| applicable(e, problem).is_ok())
        .min_by(|a, b| estimated_cost(a, problem).total_cmp(&estimated_cost(b, problem)))
}

impl ConvPlan {
    /// Plans `problem` on the cheapest of `entries` that accepts it: candidates are tried
    /// in [`estimated_cost`] order, so a kernel refused at packing (a weight constraint,
    /// an accumulator range) falls through to the next. The error lists every refusal.
    pub fn best<'a>(
        problem: &ConvProblem,
        weights: &[i32],
        epilogue: &EpilogueSpec,
        entries: impl IntoIterator<Item = &'a KernelEntry>,
    ) -> Result<Self, KernelError> {
        let mut candidates: Vec<&KernelEntry> = entries.into_iter().collect();
        candidates
            .sort_by(|a, b| estimated_cost(a, problem).total_cmp(&estimated_cost(b, problem)));
        let mut refusals = Vec::new();
        for entry in candidates {
            match ConvPlan::new(problem, weights, epilogue, entry) {
                Ok(plan) => return Ok(plan),
                Err(e) => refusals.push(e.to_string()),
            }
        }
        Err(KernelError::NoKernel(if refusals.is_empty() {
            "no kernel offered".into()
        } else {
            refusals.join("; ")
        }))
    }

    /// Plans `problem` with OHWI `weights` (i32 values of the weight dtype) and `epilogue`
    /// on `entry`: checks everything, proves the accumulator range, prepacks the weights.
    pub fn new(
        problem: &ConvProblem,
        weights: &[i32],
        epilogue: &EpilogueSpec,
        entry: &KernelEntry,
    ) -> Result<Self, KernelError> {
        applicable(entry, problem)?;
        check_weights(problem, weights)?;
        check_accumulator_range(problem, weights, epilogue)?;
        let out_c = problem.geometry.out_c;
        match entry.imp {
            KernelImpl::IndirectGemm(mk) => {
                let epi = PreparedEpilogue::new(epilogue, out_c, mk.nr)?;
                let micro = Micro::Indirect(mk);
                Ok(ConvPlan::Gemm(GemmPlan::new(problem, weights, epi, entry.name, micro)?))
            }
            KernelImpl::Gemm(mk) => {
                let epi = PreparedEpilogue::new(epilogue, out_c, mk.nr)?;
                let micro = Micro::Panel(mk, entry.operands);
                Ok(ConvPlan::Gemm(GemmPlan::new(problem, weights, epi, entry.name, micro)?))
            }
            KernelImpl::Depthwise(dk) => {
                if dk.block == 0 || dk.kr == 0 || dk.block % dk.kr != 0 {
                    return Err(KernelError::NotApplicable {
                        kernel: entry.name,
                        why: format!("block {} is not a multiple of kr {}", dk.block, dk.kr),
                    });
                }
                let epi = PreparedEpilogue::new_block_lanes(epilogue, out_c, dk.block, dk.kr)?;
                Ok(ConvPlan::Depthwise(DepthwisePlan::new(problem, weights, epi, entry.name, dk)?))
            }
            // `applicable` refused them above.
            KernelImpl::Pool(_) | KernelImpl::Elementwise(_) | KernelImpl::Transpose(_) => {
                Err(KernelError::NotApplicable {
                    kernel: entry.name,
                    why: "it is not a convolution kernel".into(),
                })
            }
        }
    }

    /// The kernel it runs on.
    pub fn kernel_name(&self) -> &'static str {
        match self {
            ConvPlan::Gemm(p) => p.kernel_name(),
            ConvPlan::Depthwise(p) => p.kernel_name(),
        }
    }

    /// Scratch bytes a run with `threads` threads needs.
    pub fn scratch_bytes(&self, threads: usize) -> usize {
        match self {
            ConvPlan::Gemm(p) => p.scratch_bytes(),
            ConvPlan::Depthwise(p) => p.scratch_bytes(threads),
        }
    }

    /// Computes the layer on `pool`: `input` holds the problem's data elements (NHWC,
    /// little-endian bytes), `output` receives the epilogue's dtype (NHWC).
    pub fn run(
        &self,
        input: &[u8],
        output: &mut [u8],
        scratch: &mut Scratch,
        pool: &ThreadPool,
    ) -> Result<(), KernelError> {
        let buf = scratch.bytes(self.scratch_bytes(pool.threads()));
        match self {
            ConvPlan::Gemm(p) => p.run(input, output, buf, pool),
            ConvPlan::Depthwise(p) => p.run(input, output, buf, pool),
        }
    }
}
