//! One layout conversion at the graph edges (ARCHITECTURE.md §6).
//!
//! Fused convs and pooling kernels compute in NHWC. A 4-D value of the NCHW world that a
//! conv or a pool step reads or writes is stored NHWC (`PValue::nhwc`), and the layout
//! propagates through every op that does not care about axis order once its attributes are
//! rewritten: element-wise ops (constants are transposed at compile time) and the typed
//! element-wise steps, `requantize` (axes renumbered), integer `sum` with `keepdims`,
//! `pool2d` (layout attribute), `concatenate` and the typed concatenation (axis), `pad` and
//! `resize` (its per-axis attributes renumbered).
//! A transpose (a typed [`DataOp::Transpose`] step) is inserted only where a value changes
//! hands between the two worlds: at graph inputs and outputs, and before an op that needs
//! the NCHW order (`reshape`, `transpose`, dense, …).
//!
//! Element-wise ops whose results only NHWC steps read are run NHWC as well (found walking
//! backwards), so that the transpose moves up to the graph input's quantize, where
//! `edges.rs` makes the two one quantizing transpose — e.g. the u8 → s8 shift an s8 × s8
//! kernel wants sits between the two, and would otherwise take the transpose for itself.

use std::collections::{HashMap, HashSet};

use qnn_ir::{DataLayout, Op, Tensor, TensorType};

use crate::error::RuntimeError;
use qnn_ir::backend::TransposeConvert;
use qnn_kernels::ElementwiseSpec;

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
    /// Element-wise steps (by index) that run NHWC because only NHWC steps read them.
    pulled: HashSet<usize>,
}

/// Rewrites `p` so that fused convs read and write NHWC, with transposes only at the edges.
pub(crate) fn to_nhwc(mut p: Dataflow) -> Result<Dataflow, RuntimeError> {
    let pulled = pulled_into_nhwc(&p);
    let old = std::mem::take(&mut p.steps);
    let steps = Vec::with_capacity(old.len());
    let mut pass = Pass { p, steps, converted: HashMap::new(), pulled };
    for (i, step) in old.into_iter().enumerate() {
        pass.step(i, step)?;
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
    /// values NHWC when an operand is (or when `pulled`).
    fn data_nhwc(&self, d: &mut DataSpec, inputs: &[Vid], output: Vid, pulled: bool) -> bool {
        let four_d = |v: Vid| self.p.values[v].ty.rank() == 4;
        let all_4d = inputs.iter().all(|&v| four_d(v)) && four_d(output);
        match &mut d.op {
            DataOp::Pool { pool, .. } => {
                let nchw = pool.layout == DataLayout::Nchw;
                pool.layout = DataLayout::Nhwc;
                nchw
            }
            DataOp::Elementwise(_) => all_4d && (pulled || self.any_nhwc(inputs)),
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

    fn step(&mut self, index: usize, mut step: Step) -> Result<(), RuntimeError> {
        let pulled = self.pulled.contains(&index);
        let nhwc = match &mut step.kind {
            StepKind::Conv(c) => matches!(c.kind, ConvKind::Conv2d(DataLayout::Nchw)),
            StepKind::Data(d) => {
                let (inputs, output) = (step.inputs.clone(), step.output);
                self.data_nhwc(d, &inputs, output, pulled)
            }
            StepKind::Op(op) => {
                let any = pulled || self.any_nhwc(&step.inputs);
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
            Op::Dilate { dilate } if dilate.layout == DataLayout::Nchw => Op::Dilate {
                dilate: qnn_ir::DilateAttrs { layout: DataLayout::Nhwc, ..dilate.clone() },
            },
            Op::Pad { pads, value } if pads.len() == 4 => {
                Op::Pad { pads: TO_NHWC.map(|a| pads[a]).to_vec(), value: *value }
            }
            // Every axis is resized on its own (linear and cubic over two named axes), so
            // the attributes are renumbered; a nearest ×2 becomes a copy of channel runs.
            Op::Resize { resize } => {
                let r = resize;
                let mut axes: Vec<usize> = r.axes.iter().map(|&a| PHYSICAL[a]).collect();
                axes.sort_unstable();
                let roi = if r.roi.is_empty() {
                    vec![]
                } else {
                    TO_NHWC
                        .map(|a| r.roi[a])
                        .into_iter()
                        .chain(TO_NHWC.map(|a| r.roi[4 + a]))
                        .collect()
                };
                Op::Resize {
                    resize: qnn_ir::ResizeAttrs {
                        sizes: TO_NHWC.map(|a| r.sizes[a]).to_vec(),
                        scales: TO_NHWC.map(|a| r.scales[a]).to_vec(),
                        roi,
                        axes,
                        ..r.clone()
                    },
                }
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

/// Whether step `s` computes in NHWC whatever its operands: a conv on NCHW data, a pool.
fn needs_nhwc(s: &Step) -> bool {
    match &s.kind {
        StepKind::Conv(c) => matches!(c.kind, ConvKind::Conv2d(DataLayout::Nchw)),
        StepKind::Data(d) => {
            matches!(&d.op, DataOp::Pool { pool, .. } if pool.layout == DataLayout::Nchw)
        }
        StepKind::Op(_) => false,
    }
}

/// Whether `s` is an element-wise step on 4-D values that may run in either layout and is
/// worth running NHWC early: not the quantize or dequantize that the edge transposes fuse.
fn movable(p: &Dataflow, s: &Step) -> bool {
    let four_d = |v: Vid| p.values[v].ty.rank() == 4;
    let runtime_4d = s.inputs.iter().all(|&v| p.constant(v).is_some() || four_d(v));
    let elementwise = match &s.kind {
        StepKind::Op(op) => matches!(
            **op,
            Op::Add
                | Op::Subtract
                | Op::Multiply
                | Op::Divide
                | Op::Fma
                | Op::Cast { .. }
                | Op::Round
                | Op::Clip { .. }
        ),
        StepKind::Data(d) => matches!(
            d.op,
            DataOp::Elementwise(
                ElementwiseSpec::QLinearAdd { .. } | ElementwiseSpec::Lookup { .. }
            )
        ),
        StepKind::Conv(_) => false,
    };
    elementwise && runtime_4d && four_d(s.output)
}

/// The element-wise steps to run NHWC although no operand is NHWC yet, found from the last
/// step back: one whose every reader computes NHWC (a conv, a pool, a step with an NHWC
/// operand, or another pulled step; a graph output is read in NCHW), with one run-time
/// operand that every other reader also reads NHWC — so the conversion it takes over
/// replaces one, never adds one.
fn pulled_into_nhwc(p: &Dataflow) -> HashSet<usize> {
    let mut readers: HashMap<Vid, Vec<usize>> = HashMap::new();
    for (i, s) in p.steps.iter().enumerate() {
        s.inputs.iter().for_each(|&v| readers.entry(v).or_default().push(i));
    }
    // Steps NHWC in any case: convs and pools, and element-wise steps downstream of them.
    let mut nhwc_values: HashSet<Vid> = HashSet::new();
    let mut nhwc: HashSet<usize> = HashSet::new();
    for (i, s) in p.steps.iter().enumerate() {
        let downstream = movable(p, s) && s.inputs.iter().any(|v| nhwc_values.contains(v));
        if needs_nhwc(s) || downstream {
            nhwc.insert(i);
            nhwc_values.insert(s.output);
        }
    }
    let outputs: HashSet<Vid> = p.outputs.iter().copied().collect();
    let mut pulled = HashSet::new();
    for (i, s) in p.steps.iter().enumerate().rev() {
        if nhwc.contains(&i) || !movable(p, s) || outputs.contains(&s.output) {
            continue;
        }
        let mut operands = s.inputs.iter().filter(|&&v| p.constant(v).is_none());
        let (Some(&v), None) = (operands.next(), operands.next()) else { continue };
        let reads_nhwc = |j: &usize| *j == i || nhwc.contains(j) || pulled.contains(j);
        let all_out = readers.get(&s.output).is_some_and(|r| r.iter().all(reads_nhwc));
        let all_in = readers.get(&v).is_some_and(|r| r.iter().all(reads_nhwc));
        if all_out && all_in && !outputs.contains(&v) {
            pulled.insert(i);
        }
    }
    pulled
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
