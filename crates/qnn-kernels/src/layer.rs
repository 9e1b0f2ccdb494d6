//! A layer on a kernel, the entry point of the frame: check a registered kernel against a
//! layer ([`applicable`]), choose one ([`choose`]), prepack its weights once ([`ConvPlan`]), then
//! run it any number of times.

use qnn_ir::backend::{KernelEntry, KernelImpl, PanelLayout};
use qnn_ir::{DType, IntSlice};

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

/// Whether `entry` is a convolution kernel of `problem`'s operand types and kind: the first
/// checks of [`applicable`], without making its refusal (a planner that tries every kernel
/// on every layer of a deep model asks this first and words a refusal only to report it).
pub fn fits_operands(entry: &KernelEntry, problem: &ConvProblem) -> bool {
    let conv_kernel = !matches!(
        entry.imp,
        KernelImpl::Pool(_) | KernelImpl::Elementwise(_) | KernelImpl::Transpose(_)
    );
    let shape_ok =
        !matches!(entry.imp, KernelImpl::Depthwise(_)) || problem.geometry.is_depthwise();
    operands_fit(entry, problem) && conv_kernel && shape_ok
}

/// The kernel's operand types are the layer's (its data type widened from 8 bits counts).
fn operands_fit(entry: &KernelEntry, problem: &ConvProblem) -> bool {
    let (d, w) = entry.operands;
    let widened = d == DType::I16 && matches!(problem.data, DType::U8 | DType::I8);
    w == problem.weight && (d == problem.data || widened)
}

/// Why `entry` cannot compute `problem`, without packing anything; `Ok` when it can.
pub fn applicable(entry: &KernelEntry, problem: &ConvProblem) -> Result<(), KernelError> {
    problem.validate()?;
    if !operands_fit(entry, problem) {
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

/// What one element of the frame's converted copy of the input (the int16 widening of 8-bit
/// data) costs, in the multiply-accumulates of [`estimated_cost`]. Measured on `x86-avx2`
/// (Zen 3, 1 thread, the suite's and MobileNetV2's 1×1 layers): the copy of a 112×112×32
/// input costs what about 8 MACs per element cost in its GEMM kernels, so the in-place
/// kernels win on layers with few output channels (32 → 16: 0.18 against 0.22 ms) and lose
/// on wide or deep ones, where the copy is amortized.
const COPY_MACS: f64 = 8.0;

/// A kernel on the [`PanelLayout::EvenOdd`] layout widens its 8-bit data in registers (it
/// exists for that), at a price per MAC: on `x86-avx2` two ALU instructions per row and
/// 4 k, its 4×16 tile at 71 GMAC/s against 79 for the 6×16 tile on pre-widened data (an
/// L1-resident loop on Zen 3). One with 8-bit weights (a one-row tile for dense layers,
/// which streams half the bytes) widens them as well, at the same price again: it wins
/// where no multi-row tile can (one row: dense 1280 → 1000 in 0.026 ms, against 0.046 for
/// i16 weights) and loses where one can (49 rows, 320 → 1280: 0.37 against 0.33 ms).
const WIDEN_IN_REGISTERS: f64 = 1.1;

/// Estimated relative cost of `entry` on `problem` (lower is better): the padded MACs its
/// tiles compute, with a small penalty for narrow tiles (more loads per MAC), plus the
/// widened copy of the input if the kernel reads another data type than the layer's (8 MACs
/// per element, measured on `x86-avx2`), or the price of widening in registers (×1.1 per
/// operand an [`EvenOdd`](PanelLayout::EvenOdd) kernel widens: 71 against 79 GMAC/s on
/// Zen 3). Depthwise kernels beat GEMM kernels on depthwise layers.
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
    let copy = |elem: DType| {
        if elem == problem.data { 0.0 } else { g.input_len() as f64 * COPY_MACS }
    };
    match &entry.imp {
        // The per-tile copy of the packed-panel contract costs about one more pass.
        KernelImpl::Gemm(mk) => 2.0 * gemm(mk.mr, mk.nr, mk.kr),
        KernelImpl::IndirectGemm(mk) => {
            let widening = match mk.layout {
                PanelLayout::Interleaved => 1.0,
                PanelLayout::EvenOdd if mk.packed.1.size_bytes() == 1 => {
                    WIDEN_IN_REGISTERS * WIDEN_IN_REGISTERS
                }
                PanelLayout::EvenOdd => WIDEN_IN_REGISTERS,
            };
            gemm(mk.mr, mk.nr, mk.kr) * widening + copy(mk.packed.0)
        }
        KernelImpl::Depthwise(dk) => {
            let c = g.out_c.div_ceil(dk.block) * dk.block;
            g.out_pixels() as f64 * c as f64 * k + copy(dk.packed.0)
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

/// The layer as a kernel that reads its 8-bit data in place sees it: raw values (the pad
/// value raw too) and the data offset `a` moved into the per-channel constant, with the
/// requantize input zero point (so that every constant is one wrapping i32):
///
/// ```text
/// Σ_k (x_k − a) · w_k − t3 · Σ_k (x_k − a) = Σ_k x_k · w_k − t3 · Σ_k x_k − a · Σ_k w_k + t3 · a · K
/// ```
///
/// Exact: both sides are equal in integers, the kernel and the epilogue add in wrapping i32
/// (mod 2^32), and [`check_accumulator_range`] proved that the final value fits i32. `None`
/// when there is nothing to fold (no offset, or a kernel that reads a converted copy).
fn fold_data_offset(
    problem: &ConvProblem,
    weights: IntSlice<'_>,
    spec: &EpilogueSpec,
    elem: DType,
) -> Option<(ConvProblem, EpilogueSpec)> {
    if problem.data_offset == 0 || elem != problem.data || !matches!(elem, DType::U8 | DType::I8) {
        return None;
    }
    let g = &problem.geometry;
    let k_len = g.reduction_len();
    let off = i64::from(problem.data_offset);
    let at = |v: &[i32], k: usize| i64::from(if v.len() == 1 { v[0] } else { v[k] });
    let t3 = spec.t3_zero_point.as_deref().filter(|z| !z.is_empty());
    let bias = (0..g.out_c)
        .map(|k| {
            // Exact: fewer than 2^32 values of at most 2^31 each.
            let sum = weights.slice(k * k_len, (k + 1) * k_len).sum();
            let b = if spec.bias.is_empty() { 0 } else { at(&spec.bias, k) };
            let t3 = t3.map_or(0, |z| at(z, k));
            let v = b
                .wrapping_sub(i64::from(spec.input_zero_point))
                .wrapping_sub(off.wrapping_mul(sum))
                .wrapping_add(t3.wrapping_mul(off).wrapping_mul(k_len as i64));
            // Truncation is reduction mod 2^32: the wrapping arithmetic the kernels use.
            v as i32
        })
        .collect();
    let spec = EpilogueSpec { bias, input_zero_point: 0, ..spec.clone() };
    Some((ConvProblem { data_offset: 0, ..problem.clone() }, spec))
}

impl ConvPlan {
    /// Plans `problem` on the cheapest of `entries` that accepts it: candidates are tried
    /// in [`estimated_cost`] order, so a kernel refused at packing (a weight constraint,
    /// an accumulator range) falls through to the next. The error lists every refusal.
    pub fn best<'a, 'w>(
        problem: &ConvProblem,
        weights: impl Into<IntSlice<'w>>,
        epilogue: &EpilogueSpec,
        entries: impl IntoIterator<Item = &'a KernelEntry>,
    ) -> Result<Self, KernelError> {
        let weights = weights.into();
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

    /// Plans `problem` with OHWI `weights` (values of the weight dtype, at any integer
    /// element type: u8/i8/i16 weights are read as they are, never widened as a whole) and
    /// `epilogue` on `entry`: checks everything, proves the accumulator range, prepacks the
    /// weights.
    pub fn new<'w>(
        problem: &ConvProblem,
        weights: impl Into<IntSlice<'w>>,
        epilogue: &EpilogueSpec,
        entry: &KernelEntry,
    ) -> Result<Self, KernelError> {
        let weights = weights.into();
        applicable(entry, problem)?;
        check_weights(problem, weights)?;
        check_accumulator_range(problem, weights, epilogue)?;
        let elem = match entry.imp {
            KernelImpl::IndirectGemm(mk) => mk.packed.0,
            KernelImpl::Depthwise(dk) => dk.packed.0,
            _ => entry.operands.0,
        };
        let folded = fold_data_offset(problem, weights, epilogue, elem);
        let (problem, epilogue) = match &folded {
            Some((p, e)) => (p, e),
            None => (problem, epilogue),
        };
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

    /// Bytes of its prepacked weights.
    pub fn packed_bytes(&self) -> usize {
        match self {
            ConvPlan::Gemm(p) => p.packed_bytes(),
            ConvPlan::Depthwise(p) => p.packed_bytes(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ConvGeometry;
    use crate::scalar::kernel;

    /// `Σ (P − a)·w − t3·Σ (P − a) + bias − izp` per output, straight from the definition
    /// (`P` padded with `pad`), raw i32.
    fn naive(p: &ConvProblem, x: &[i32], w: &[i32], e: &EpilogueSpec) -> Vec<i32> {
        let g = &p.geometry;
        let [oh, ow] = g.check().unwrap();
        let [kh, kw] = g.kernel;
        let mut out = Vec::new();
        for y in 0..oh {
            for xo in 0..ow {
                for k in 0..g.out_c {
                    let (mut acc, mut sum) = (0i64, 0i64);
                    for r in 0..kh {
                        for s in 0..kw {
                            let iy = (y * g.strides[0] + r) as isize - g.padding[0] as isize;
                            let ix = (xo * g.strides[1] + s) as isize - g.padding[1] as isize;
                            for c in 0..g.in_c {
                                let inside = iy >= 0
                                    && ix >= 0
                                    && (iy as usize) < g.in_h
                                    && (ix as usize) < g.in_w;
                                let v = if inside {
                                    x[(iy as usize * g.in_w + ix as usize) * g.in_c + c]
                                } else {
                                    p.pad_value
                                };
                                let v = i64::from(v - p.data_offset);
                                acc += v * i64::from(w[((k * kh + r) * kw + s) * g.in_c + c]);
                                sum += v;
                            }
                        }
                    }
                    let t3 = e.t3_zero_point.as_ref().map_or(0, |z| i64::from(z[k]));
                    let v = acc - t3 * sum + i64::from(e.bias[k]) - i64::from(e.input_zero_point);
                    out.push(i32::try_from(v).unwrap());
                }
            }
        }
        out
    }

    /// A kernel that reads the layer's 8-bit data in place gets it raw: the data offset, and
    /// its share of the T3 window sums, move into the per-channel constant, exactly.
    #[test]
    fn a_data_offset_folds_into_the_constant_with_t3() {
        let g = ConvGeometry {
            batch: 1,
            in_h: 4,
            in_w: 5,
            in_c: 3,
            out_c: 2,
            kernel: [3, 3],
            strides: [1, 2],
            padding: [1, 1, 1, 1],
            dilation: [1, 1],
            groups: 1,
        };
        let x: Vec<i32> = (0..g.input_len() as i32).map(|i| (i * 37 + 11) % 256).collect();
        let w: Vec<i32> = (0..g.weight_len() as i32).map(|i| (i * 53 + 7) % 255 - 127).collect();
        let entry = kernel("scalar_gemm_u8s8_3x8_k4").unwrap();
        for (off, pad) in [(200, 17), (-3, 255), (255, 0)] {
            let problem = ConvProblem {
                geometry: g.clone(),
                data: DType::U8,
                weight: DType::I8,
                pad_value: pad,
                data_offset: off,
            };
            let spec = EpilogueSpec {
                t3_zero_point: Some(vec![3, -7]),
                input_zero_point: 5,
                ..EpilogueSpec::raw(vec![1000, -20])
            };
            let plan = ConvPlan::new(&problem, &w, &spec, entry).unwrap();
            let input: Vec<u8> = x.iter().map(|&v| v as u8).collect();
            let mut out = vec![0u8; g.output_len() * 4];
            plan.run(&input, &mut out, &mut Scratch::new(), &ThreadPool::new(1)).unwrap();
            let got: Vec<i32> =
                out.chunks(4).map(|b| i32::from_le_bytes(b.try_into().unwrap())).collect();
            assert_eq!(got, naive(&problem, &x, &w, &spec), "offset {off}, pad {pad}");
        }
    }
}
