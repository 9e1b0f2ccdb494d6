//! One layout conversion at the graph edges (ARCHITECTURE.md §6).
//!
//! Fused convs and pooling kernels compute in NHWC. A 4-D value of the NCHW world that a
//! conv or a pool step reads or writes is stored NHWC (`PValue::nhwc`), and the layout
//! propagates through every op that does not care about axis order once its attributes are
//! rewritten: element-wise ops (constants are transposed at compile time) and the typed
//! element-wise steps, `requantize` (axes renumbered), integer `sum` with `keepdims`,
//! `pool2d` (layout attribute), `concatenate` and the typed concatenation (axis) and `pad`.
//! A transpose (a typed [`DataOp::Transpose`] step) is inserted only where a value changes
//! hands between the two worlds: at graph inputs and outputs, and before an op that needs
//! the NCHW order (`reshape`, `transpose`, dense, …).

use std::collections::HashMap;

use qnn_ir::{DataLayout, Op, Tensor, TensorType};

use crate::error::RuntimeError;
use qnn_ir::backend::TransposeConvert;

use crate::optimize::dataflow::{ConvKind, DataOp, DataSpec, Dataflow, Step, StepKind, Vid};

/// Physical axis `p` of an NHWC-stored value holds logical (NCHW) axis `TO_NHWC[p]`.
pub(crate) const TO_NHWC: [usize; 4] = [0, 2, 3, 1];
/// The transpose from NHWC storage back to NCHW; also the physical position of a logical
/// axis (`PHYSICAL[a]`).
pub(crate) const PHYSICAL: [usize; 4] = [0, 3, 1, 2];

/// The physical type of a logical NCHW type stored NHWC.
fn nhwc_type(ty: &TensorType) -> TensorType {
    TensorType::new(ty.dtype, TO_NHWC.map(|a| ty.shape[a]).to_vec())
}

struct Pass {
    p: Dataflow,
    steps: Vec<Step>,
    /// (value, NHWC wanted) → the converted value.
    converted: HashMap<(Vid, bool), Vid>,
}

/// Rewrites `p` so that fused convs read and write NHWC, with transposes only at the edges.
pub(crate) fn to_nhwc(mut p: Dataflow) -> Result<Dataflow, RuntimeError> {
    let old = std::mem::take(&mut p.steps);
    let mut pass = Pass { p, steps: Vec::with_capacity(old.len()), converted: HashMap::new() };
    for step in old {
        pass.step(step)?;
    }
    let outputs = pass.p.outputs.clone();
    pass.p.outputs = outputs.into_iter().map(|v| pass.want(v, false)).collect();
    pass.p.steps = pass.steps;
    Ok(pass.p)
}

impl Pass {
    /// `v` in the wanted storage, converting (a transpose step, or a transposed constant)
    /// once per value.
    fn want(&mut self, v: Vid, nhwc: bool) -> Vid {
        if self.p.values[v].nhwc == nhwc {
            return v;
        }
        if let Some(&c) = self.converted.get(&(v, nhwc)) {
            return c;
        }
        let perm = if nhwc { TO_NHWC } else { PHYSICAL };
        let value = self.p.values[v].clone();
        let shape: Vec<usize> = perm.iter().map(|&a| value.ty.shape[a]).collect();
        let suffix = if nhwc { "to_nhwc" } else { "to_nchw" };
        let name = format!("{}.{suffix}", value.name);
        let c = match self.p.constant(v) {
            Some(t) => {
                let t = transpose(t, &perm);
                self.p.add_const(name, t, nhwc)
            }
            None => {
                let out =
                    self.p.add_value(name.clone(), TensorType::new(value.ty.dtype, shape), nhwc);
                let spec = DataSpec {
                    op: DataOp::Transpose { perm: perm.to_vec(), convert: TransposeConvert::None },
                    nodes: vec![],
                    unfused: None,
                };
                self.steps.push(Step {
                    name: name.clone(),
                    kind: StepKind::Data(Box::new(spec)),
                    inputs: vec![v],
                    output: out,
                    nodes: vec![],
                    note: format!(
                        "layout: {} → {} at the edge of the NHWC region",
                        if nhwc { "NCHW" } else { "NHWC" },
                        if nhwc { "NHWC" } else { "NCHW" }
                    ),
                });
                out
            }
        };
        self.converted.insert((v, nhwc), c);
        c
    }

    fn set_output(&mut self, out: Vid, nhwc: bool) {
        let v = &mut self.p.values[out];
        if nhwc && !v.nhwc {
            v.ty = nhwc_type(&v.ty);
            v.nhwc = true;
        }
    }

    /// Whether a runtime input of `inputs` is stored NHWC, or already has an NHWC copy (a
    /// graph input that a conv also reads): an op on it runs NHWC, with no new conversion.
    fn any_nhwc(&self, inputs: &[Vid]) -> bool {
        inputs.iter().any(|&v| {
            self.p.constant(v).is_none()
                && (self.p.values[v].nhwc || self.converted.contains_key(&(v, true)))
        })
    }

    /// The storage of a typed step (its attributes rewritten for NHWC): a pool of NCHW data
    /// always NHWC (the kernels need it); element-wise steps and concatenations of 4-D
    /// values NHWC when an operand is.
    fn data_nhwc(&self, d: &mut DataSpec, inputs: &[Vid], output: Vid) -> bool {
        let four_d = |v: Vid| self.p.values[v].ty.rank() == 4;
        let all_4d = inputs.iter().all(|&v| four_d(v)) && four_d(output);
        match &mut d.op {
            DataOp::Pool { pool, .. } => {
                let nchw = pool.layout == DataLayout::Nchw;
                pool.layout = DataLayout::Nhwc;
                nchw
            }
            DataOp::Elementwise(_) => all_4d && self.any_nhwc(inputs),
            DataOp::Concat { axis } => {
                let nhwc = all_4d && self.any_nhwc(inputs);
                if nhwc {
                    *axis = PHYSICAL[*axis];
                }
                nhwc
            }
            DataOp::Transpose { .. } => false,
        }
    }

    fn step(&mut self, mut step: Step) -> Result<(), RuntimeError> {
        let nhwc = match &mut step.kind {
            StepKind::Conv(c) => matches!(c.kind, ConvKind::Conv2d(DataLayout::Nchw)),
            StepKind::Data(d) => {
                let (inputs, output) = (step.inputs.clone(), step.output);
                self.data_nhwc(d, &inputs, output)
            }
            StepKind::Op(op) => {
                let any = self.any_nhwc(&step.inputs);
                match any.then(|| self.nhwc_op(op, &step.inputs, step.output)).flatten() {
                    Some((op, inputs)) => {
                        step.kind = StepKind::Op(Box::new(op));
                        step.inputs = inputs;
                        true
                    }
                    None => false,
                }
            }
        };
        if !nhwc || !matches!(step.kind, StepKind::Op(_)) {
            step.inputs = step.inputs.iter().map(|&v| self.want(v, nhwc)).collect();
        }
        self.set_output(step.output, nhwc);
        self.steps.push(step);
        Ok(())
    }

    /// The NHWC form of `op` and its NHWC inputs, or `None` when it needs NCHW.
    fn nhwc_op(&mut self, op: &Op, inputs: &[Vid], output: Vid) -> Option<(Op, Vec<Vid>)> {
        let out_rank = self.p.values[output].ty.rank();
        if out_rank != 4 {
            return None;
        }
        let new_op = match op {
            Op::Add
            | Op::Subtract
            | Op::Multiply
            | Op::Divide
            | Op::Fma
            | Op::Cast { .. }
            | Op::Round
            | Op::Clip { .. } => op.clone(),
            Op::Requantize { scale, axes, input_zero_point, output_zero_point, out_dtype } => {
                let axes: Vec<usize> = axes.iter().map(|&a| PHYSICAL[a]).collect();
                if axes.windows(2).any(|w| w[0] >= w[1]) {
                    return None;
                }
                Op::Requantize {
                    scale: scale.clone(),
                    axes,
                    input_zero_point: *input_zero_point,
                    output_zero_point: *output_zero_point,
                    out_dtype: *out_dtype,
                }
            }
            Op::Sum { axes, keepdims: true } if self.p.values[inputs[0]].ty.dtype.is_integer() => {
                let mut axes: Vec<usize> = axes.iter().map(|&a| PHYSICAL[a]).collect();
                axes.sort_unstable();
                Op::Sum { axes, keepdims: true }
            }
            Op::Pool2d { kind, pool, pad_value } if pool.layout == DataLayout::Nchw => {
                let mut pool = pool.clone();
                pool.layout = DataLayout::Nhwc;
                Op::Pool2d { kind: *kind, pool, pad_value: *pad_value }
            }
            Op::Concatenate { axis } => Op::Concatenate { axis: PHYSICAL[*axis] },
            Op::Pad { pads, value } if pads.len() == 4 => {
                Op::Pad { pads: TO_NHWC.map(|a| pads[a]).to_vec(), value: *value }
            }
            _ => return None,
        };
        // Every runtime operand must be 4-D (constants of lower rank broadcast from the
        // right, so they are expanded to 4-D first).
        let mut new_inputs = Vec::with_capacity(inputs.len());
        for &v in inputs {
            let rank = self.p.values[v].ty.rank();
            match self.p.constant(v).cloned() {
                Some(t) if rank <= 4 && !self.p.values[v].nhwc => {
                    let mut shape = vec![1; 4 - rank];
                    shape.extend_from_slice(t.shape());
                    let t4 = reshape(&t, &shape);
                    let name = format!("{}.nhwc", self.p.values[v].name);
                    new_inputs.push(self.p.add_const(name, transpose(&t4, &TO_NHWC), true));
                }
                Some(_) => new_inputs.push(v),
                None if rank == 4 => new_inputs.push(v),
                None => return None,
            }
        }
        let inputs = new_inputs.into_iter().map(|v| self.want(v, true)).collect();
        Some((new_op, inputs))
    }
}

/// `t` with its axes permuted (output axis `i` is axis `perm[i]` of `t`).
pub(crate) fn transpose(t: &Tensor, perm: &[usize]) -> Tensor {
    qnn_ir::with_array!(t, a => qnn_ir::Element::wrap(
        a.view().permuted_axes(ndarray::IxDyn(perm)).as_standard_layout().into_owned()
    ))
}

fn reshape(t: &Tensor, shape: &[usize]) -> Tensor {
    qnn_ir::with_array!(t, a => qnn_ir::Element::wrap(
        a.as_standard_layout()
            .into_owned()
            .into_shape_with_order(ndarray::IxDyn(shape))
            .expect("adding unit axes keeps the element count")
    ))
}
