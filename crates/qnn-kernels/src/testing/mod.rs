//! The conformance suite's machinery (feature `testing`): a QNN-level layer, the problem the
//! frame gets from it under either lowering, and the expected output from the reference
//! interpreter of `qnn-ir` — the oracle of record:
//!
//! ```text
//! qnn.conv2d(data, weights; a, w_k)  →  add(bias)  →  requantize  →  clip
//! ```
//!
//! evaluated op by op with [`qnn_ir::reference::eval_op`]. The kernel side gets what the
//! legalizer would produce: for the int8 lowering the raw operands, padding `a`, the
//! constant `bias − a·Σ_k W + a·w_k·K` (T2, T4) and the T3 zero points; for the int16 one the
//! shifted weights `W − w_k`, and the data with `a` subtracted in the packing (or before it).

pub mod conformance;
pub mod elementwise;
pub mod pool;
pub mod strategies;
pub mod transpose;

use qnn_ir::reference::eval_op;
use qnn_ir::{Conv2dAttrs, DType, DataLayout, KernelLayout, Op, QuantParams, RequantScale, Tensor};

use crate::epilogue::EpilogueSpec;
use crate::layer::{ConvPlan, Scratch};
use crate::pack::column_sums;
use crate::problem::{ConvGeometry, ConvProblem};
use crate::threads::ThreadPool;

/// How the case is lowered before the kernel sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lowering {
    /// Raw 8-bit operands and zero-point terms in the epilogue.
    Int8,
    /// Shifted int16 weights, the data offset fused into the packing (8-bit data in memory).
    Int16Fused,
    /// Shifted int16 weights and data already shifted to i16 in memory.
    Int16Preshifted,
}

/// A quantized conv/dense layer as the QNN dialect states it, with its input.
#[derive(Debug, Clone)]
pub struct QnnLayer {
    /// Shapes and window.
    pub geometry: ConvGeometry,
    /// u8 or i8.
    pub data_dtype: DType,
    /// Data zero point `a`.
    pub data_zero_point: i32,
    /// u8 or i8.
    pub weight_dtype: DType,
    /// OHWI.
    pub weights: Vec<i32>,
    /// One, or one per output channel.
    pub weight_zero_point: Vec<i32>,
    /// One per output channel.
    pub bias: Vec<i32>,
    /// `None`: i32 output.
    pub requant: Option<RequantScale>,
    /// Input zero point of the requantize.
    pub requant_input_zero_point: i32,
    /// u8, i8 or i32.
    pub out_dtype: DType,
    /// Output zero point.
    pub out_zero_point: i32,
    /// Fused clamp in the output domain.
    pub clamp: Option<(i32, i32)>,
    /// NHWC.
    pub input: Vec<i32>,
}

/// A layer and its lowering.
#[derive(Clone)]
pub struct Case {
    /// The QNN-level layer.
    pub layer: QnnLayer,
    /// How the frame gets it.
    pub lowering: Lowering,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Case {{ {} }}", self.describe())
    }
}

/// What the frame gets for a case.
#[derive(Debug, Clone)]
pub struct Lowered {
    /// The problem.
    pub problem: ConvProblem,
    /// OHWI weights as the kernel gets them.
    pub weights: Vec<i32>,
    /// Input bytes.
    pub input: Vec<u8>,
    /// The epilogue with the folded constants.
    pub epilogue: EpilogueSpec,
}

/// Little-endian bytes of `values` as `dtype` elements.
pub fn to_bytes(values: &[i32], dtype: DType) -> Vec<u8> {
    if dtype == DType::I32 {
        return values.iter().flat_map(|v| v.to_le_bytes()).collect();
    }
    let mut out = vec![0u8; values.len() * dtype.size_bytes()];
    for (i, &v) in values.iter().enumerate() {
        crate::pack::put(&mut out, dtype, i, v);
    }
    out
}

/// The tensor of `shape` holding `values` as `dtype`.
pub(crate) fn tensor(shape: &[usize], dtype: DType, values: &[i32]) -> Tensor {
    let t = match dtype {
        DType::U8 => Tensor::from_vec(shape, values.iter().map(|&v| v as u8).collect()),
        DType::I8 => Tensor::from_vec(shape, values.iter().map(|&v| v as i8).collect()),
        DType::I16 => Tensor::from_vec(shape, values.iter().map(|&v| v as i16).collect()),
        _ => Tensor::from_vec(shape, values.to_vec()),
    };
    t.expect("case tensors have consistent shapes")
}

impl Case {
    /// The weight zero point of output channel `k`.
    fn wzp(&self, k: usize) -> i32 {
        let z = &self.layer.weight_zero_point;
        if z.len() == 1 { z[0] } else { z[k] }
    }

    /// The problem, weights, input bytes and epilogue the frame gets.
    pub fn lowered(&self) -> Lowered {
        let l = &self.layer;
        let g = &l.geometry;
        let k_len = g.reduction_len();
        let a = l.data_zero_point;
        let mut epilogue = EpilogueSpec {
            bias: l.bias.clone(),
            t3_zero_point: None,
            requant: l.requant.clone(),
            input_zero_point: l.requant_input_zero_point,
            out_dtype: l.out_dtype,
            zero_point: l.out_zero_point,
            clamp: l.clamp,
        };
        let shifted_weights = || -> Vec<i32> {
            l.weights.iter().enumerate().map(|(i, &w)| w - self.wzp(i / k_len)).collect()
        };
        match self.lowering {
            Lowering::Int8 => {
                let sums = column_sums(g, &l.weights);
                epilogue.bias = (0..g.out_c)
                    .map(|k| {
                        let (a, wk) = (i64::from(a), i64::from(self.wzp(k)));
                        let c = i64::from(l.bias[k]) - a * sums[k] + a * wk * k_len as i64;
                        i32::try_from(c).expect("generated constants fit i32")
                    })
                    .collect();
                epilogue.t3_zero_point = Some((0..g.out_c).map(|k| self.wzp(k)).collect());
                Lowered {
                    problem: ConvProblem::int8(g.clone(), l.data_dtype, l.weight_dtype, a),
                    weights: l.weights.clone(),
                    input: to_bytes(&l.input, l.data_dtype),
                    epilogue,
                }
            }
            Lowering::Int16Fused => Lowered {
                problem: ConvProblem::int16(g.clone(), l.data_dtype, a),
                weights: shifted_weights(),
                input: to_bytes(&l.input, l.data_dtype),
                epilogue,
            },
            Lowering::Int16Preshifted => {
                let data: Vec<i32> = l.input.iter().map(|&v| v - a).collect();
                Lowered {
                    problem: ConvProblem::int16(g.clone(), DType::I16, 0),
                    weights: shifted_weights(),
                    input: to_bytes(&data, DType::I16),
                    epilogue,
                }
            }
        }
    }

    /// The expected output bytes, from the reference interpreter op by op.
    pub fn expected(&self) -> Result<Vec<u8>, String> {
        let l = &self.layer;
        let g = &l.geometry;
        let [oh, ow] = g.check().map_err(|e| crate::KernelError::Geometry(e).to_string())?;
        let data = tensor(&[g.batch, g.in_h, g.in_w, g.in_c], l.data_dtype, &l.input);
        let cg = g.channels_per_group();
        let [kh, kw] = g.kernel;
        let weights = tensor(&[g.out_c, kh, kw, cg], l.weight_dtype, &l.weights);
        let kernel_q = if l.weight_zero_point.len() == 1 {
            QuantParams::per_tensor(1.0, l.weight_zero_point[0])
        } else {
            QuantParams::per_axis(vec![1.0; g.out_c], l.weight_zero_point.clone(), 0)
        };
        let conv = Op::QnnConv2d {
            conv: Conv2dAttrs {
                strides: g.strides,
                padding: g.padding,
                dilation: g.dilation,
                groups: g.groups,
                data_layout: DataLayout::Nhwc,
                kernel_layout: KernelLayout::Ohwi,
            },
            input: QuantParams::per_tensor(1.0, l.data_zero_point),
            kernel: kernel_q,
        };
        let e = |r: Result<Tensor, qnn_ir::IrError>| r.map_err(|e| format!("reference: {e}"));
        let y = e(eval_op(&conv, &[&data, &weights]))?;
        let bias = tensor(&[g.out_c], DType::I32, &l.bias);
        let mut y = e(eval_op(&Op::Add, &[&y, &bias]))?;
        if let Some(scale) = &l.requant {
            let op = Op::Requantize {
                scale: scale.clone(),
                axes: if scale.len() == 1 { vec![] } else { vec![3] },
                input_zero_point: l.requant_input_zero_point,
                output_zero_point: l.out_zero_point,
                out_dtype: l.out_dtype,
            };
            y = e(eval_op(&op, &[&y]))?;
        }
        if let Some((lo, hi)) = l.clamp {
            y = e(eval_op(&Op::Clip { min: f64::from(lo), max: f64::from(hi) }, &[&y]))?;
        }
        debug_assert_eq!(y.shape(), &[g.batch, oh, ow, g.out_c]);
        let values: Vec<i32> =
            y.to_i64().ok_or("integer output")?.iter().map(|&v| v as i32).collect();
        Ok(to_bytes(&values, l.out_dtype))
    }

    /// One line saying what the case is, for failure messages.
    pub fn describe(&self) -> String {
        let l = &self.layer;
        format!(
            "{:?} lowering, {:?}, data {} zp {}, weights {} zp {:?}, requant {:?} (input zp {}), out {} zp {} clamp {:?}",
            self.lowering,
            l.geometry,
            l.data_dtype,
            l.data_zero_point,
            l.weight_dtype,
            l.weight_zero_point,
            l.requant,
            l.requant_input_zero_point,
            l.out_dtype,
            l.out_zero_point,
            l.clamp,
        )
    }
}

/// Plans and runs `case` on `entry` with each pool of `pools` and compares every result
/// with the reference, bit for bit.
pub fn check_case(
    entry: &qnn_ir::backend::KernelEntry,
    case: &Case,
    pools: &[&ThreadPool],
) -> Result<(), String> {
    let lowered = case.lowered();
    let expected = case.expected()?;
    let plan = ConvPlan::new(&lowered.problem, &lowered.weights, &lowered.epilogue, entry)
        .map_err(|e| {
            format!("planning on `{}` failed: {e}\n  case: {}", entry.name, case.describe())
        })?;
    for pool in pools {
        let mut out = vec![0xA5u8; expected.len()];
        let mut scratch = Scratch::new();
        plan.run(&lowered.input, &mut out, &mut scratch, pool).map_err(|e| {
            format!("running `{}` failed: {e}\n  case: {}", entry.name, case.describe())
        })?;
        if out != expected {
            let size = case.layer.out_dtype.size_bytes();
            let i = out.iter().zip(&expected).position(|(a, b)| a != b).unwrap_or(0) / size;
            let at = |b: &[u8]| -> i64 {
                let e = &b[i * size..(i + 1) * size];
                match case.layer.out_dtype {
                    DType::U8 => i64::from(e[0]),
                    DType::I8 => i64::from(e[0] as i8),
                    _ => i64::from(i32::from_le_bytes([e[0], e[1], e[2], e[3]])),
                }
            };
            let wrong = out.chunks(size).zip(expected.chunks(size)).filter(|(a, b)| a != b).count();
            return Err(format!(
                "`{}` with {} thread(s): element {i} (channel {}) is {}, the reference says {} ({wrong} of {} elements differ)\n  case: {}",
                entry.name,
                pool.threads(),
                i % case.layer.geometry.out_c,
                at(&out),
                at(&expected),
                expected.len() / size,
                case.describe()
            ));
        }
    }
    Ok(())
}
