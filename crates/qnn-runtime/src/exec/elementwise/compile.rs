//! Which steps join an element-wise group, and their compilation to instructions.

use std::collections::HashMap;

use ndarray::IxDyn;
use qnn_ir::{DType, Op, RequantScale, Tensor};

use super::numeric::FixedStages;
use super::{
    Arg, ElementwiseGroup, FloatBin, Instr, IntBin, Mults, Operand, Pattern, Reg, Requant, Source,
};
use crate::program::{Program, Step, StepKind, Vid};

/// The pattern by which the elements of `out` read a tensor of shape `src` broadcast to it
/// (numpy rules, `src` aligned right), or `None` when the broadcast axes are not one
/// contiguous block.
pub(crate) fn broadcast_pattern(src: &[usize], out: &[usize]) -> Option<Pattern> {
    if src.len() > out.len() {
        return None;
    }
    if src == out {
        return Some(Pattern::Full);
    }
    let pad = out.len() - src.len();
    // Axes of extent > 1 in the output, each read (`true`) or broadcast (`false`).
    let mut read = Vec::new();
    for (a, &d) in out.iter().enumerate() {
        let s = if a < pad { 1 } else { src[a - pad] };
        if s != d && s != 1 {
            return None;
        }
        if d > 1 {
            read.push((a, s == d));
        }
    }
    let first = read.iter().position(|r| r.1);
    let Some(first) = first else {
        return Some(Pattern::Block { inner: 1, len: 1 });
    };
    let last = read.iter().rposition(|r| r.1).unwrap_or(first);
    if read[first..=last].iter().any(|r| !r.1) {
        return None;
    }
    let inner = out[read[last].0 + 1..].iter().product();
    let len = read[first..=last].iter().map(|r| out[r.0]).product();
    Some(Pattern::Block { inner, len })
}

/// The multiplier pattern of a requantize over `axes` of `shape`: one contiguous block.
fn axes_pattern(axes: &[usize], count: usize, shape: &[usize]) -> Option<Pattern> {
    if count == 1 {
        return Some(Pattern::Block { inner: 1, len: 1 });
    }
    let mut mult_shape = vec![1; shape.len()];
    for &a in axes {
        mult_shape[a] = shape[a];
    }
    broadcast_pattern(&mult_shape, shape)
}

fn int_range(d: DType) -> Option<(i64, i64)> {
    d.int_range()
}

/// The integer bounds of an integer `clip`, as the reference computes them; `None` when no
/// value lies inside (the reference then refuses the op at run time).
fn clip_bounds(min: f64, max: f64, d: DType) -> Option<(i32, i32)> {
    let (lo_d, hi_d) = int_range(d)?;
    if min.is_nan() || max.is_nan() || min > max {
        return None;
    }
    let lo = (min.ceil() as i64).max(lo_d);
    let hi = (max.floor() as i64).min(hi_d);
    (lo <= hi).then_some((lo as i32, hi as i32))
}

/// True when `step` can run in an element-wise group: a supported op on supported dtypes,
/// every operand readable through a [`Pattern`] (constants can always be expanded).
pub(crate) fn groupable(p: &Program, step: &Step) -> bool {
    let StepKind::Op(op) = &step.kind else { return false };
    let op: &Op = op;
    let out = &p.values[step.output].ty;
    let ins: Vec<&qnn_ir::TensorType> = step.inputs.iter().map(|&v| &p.values[v].ty).collect();
    let operands_ok = step.inputs.iter().all(|&v| {
        p.constant(v).is_some() || broadcast_pattern(&p.values[v].ty.shape, &out.shape).is_some()
    });
    let same = |d: DType| ins.iter().all(|t| t.dtype == d);
    let kind_ok = match op {
        Op::Add | Op::Subtract | Op::Multiply => ins.len() == 2 && same(ins[0].dtype),
        Op::Divide | Op::Round => same(DType::F32),
        Op::Fma => ins.len() == 3 && same(DType::F32),
        Op::Cast { .. } => ins.len() == 1,
        Op::Clip { min, max } => match ins.first().map(|t| t.dtype) {
            Some(DType::F32) => !(min.is_nan() || max.is_nan() || min > max),
            Some(d) => clip_bounds(*min, *max, d).is_some(),
            None => false,
        },
        Op::Requantize { scale, axes, out_dtype, .. } => {
            ins.len() == 1
                && ins[0].dtype.is_integer()
                && out_dtype.is_integer()
                && axes_pattern(axes, scale.len(), &out.shape).is_some()
                && match scale {
                    RequantScale::Float { mults } => mults.iter().all(|m| m.is_finite()),
                    RequantScale::Fixed { .. } => true,
                }
        }
        _ => false,
    };
    kind_ok && operands_ok
}

/// Builds the program of one group, step by step.
#[derive(Debug)]
pub(crate) struct GroupCompiler<'p> {
    p: &'p Program,
    shape: Vec<usize>,
    regs: HashMap<Vid, Reg>,
    operands: Vec<Operand>,
    /// Runtime values read, in the order of `Source::Input::index`.
    pub inputs: Vec<Vid>,
    instrs: Vec<Instr>,
    int_regs: usize,
    f32_regs: usize,
    op_names: Vec<String>,
    /// f32 registers known to hold only integers (or NaN, ±∞): rounding them is the
    /// identity. Sums, differences and products of such values are such values again
    /// (an integer result rounds to an integer in f32).
    integral: Vec<bool>,
}

impl<'p> GroupCompiler<'p> {
    pub(crate) fn new(p: &'p Program, shape: Vec<usize>) -> Self {
        GroupCompiler {
            p,
            shape,
            regs: HashMap::new(),
            operands: Vec::new(),
            inputs: Vec::new(),
            instrs: Vec::new(),
            int_regs: 0,
            f32_regs: 0,
            op_names: Vec::new(),
            integral: Vec::new(),
        }
    }

    fn fresh(&mut self, float: bool) -> Reg {
        if float {
            self.integral.push(false);
            self.f32_regs += 1;
            Reg::F(self.f32_regs - 1)
        } else {
            self.int_regs += 1;
            Reg::I(self.int_regs - 1)
        }
    }

    /// The register holding `v`, loading it on first use.
    fn operand(&mut self, v: Vid) -> Reg {
        if let Some(&r) = self.regs.get(&v) {
            return r;
        }
        let ty = &self.p.values[v].ty;
        let float = ty.dtype == DType::F32;
        let (source, pattern) = match self.p.constant(v) {
            Some(t) => constant_operand(t, &self.shape),
            None => {
                self.inputs.push(v);
                let pattern = broadcast_pattern(&ty.shape, &self.shape).unwrap_or(Pattern::Full);
                (Source::Input { index: self.inputs.len() - 1, dtype: ty.dtype }, pattern)
            }
        };
        self.operands.push(Operand { source, pattern });
        let dst = self.fresh(float);
        self.instrs.push(Instr::Load { dst, operand: self.operands.len() - 1 });
        self.regs.insert(v, dst);
        dst
    }

    /// `v` as an instruction argument: a scalar constant inline, else a register.
    fn int_arg(&mut self, v: Vid) -> Arg<i32> {
        match self.scalar(v) {
            Some(Source::IntConst(c)) => Arg::Imm(c[0]),
            _ => match self.operand(v) {
                Reg::I(k) | Reg::F(k) => Arg::Reg(k),
            },
        }
    }

    fn f32_arg(&mut self, v: Vid) -> Arg<f32> {
        match self.scalar(v) {
            Some(Source::F32Const(c)) => Arg::Imm(c[0]),
            _ => match self.operand(v) {
                Reg::I(k) | Reg::F(k) => Arg::Reg(k),
            },
        }
    }

    /// The decoded constant of `v` when it is one element broadcast everywhere.
    fn scalar(&self, v: Vid) -> Option<Source> {
        let t = self.p.constant(v)?;
        if self.regs.contains_key(&v) || t.len() != 1 {
            return None;
        }
        Some(constant_operand(t, &self.shape).0)
    }

    /// Appends a [`groupable`] step.
    pub(crate) fn add(&mut self, step: &Step) {
        let StepKind::Op(op) = &step.kind else { return };
        let op: &Op = op;
        let binary = matches!(op, Op::Add | Op::Subtract | Op::Multiply | Op::Divide);
        let in_dtype = self.p.values[step.inputs[0]].ty.dtype;
        let out_dtype = self.p.values[step.output].ty.dtype;
        self.op_names.push(format!("{} `{}`", op.name(), step.name));
        let op_index = self.op_names.len() - 1;
        let i = |r: Reg| match r {
            Reg::I(k) | Reg::F(k) => k,
        };
        if binary && in_dtype == DType::F32 {
            let kind = match op {
                Op::Add => FloatBin::Add,
                Op::Subtract => FloatBin::Sub,
                Op::Multiply => FloatBin::Mul,
                _ => FloatBin::Div,
            };
            let (a, b) = (self.f32_arg(step.inputs[0]), self.f32_arg(step.inputs[1]));
            let dst = self.fresh(true);
            let whole = |x: Arg<f32>, ints: &[bool]| match x {
                Arg::Reg(k) => ints[k],
                Arg::Imm(v) => !v.is_finite() || v.fract() == 0.0,
            };
            self.integral[i(dst)] =
                kind != FloatBin::Div && whole(a, &self.integral) && whole(b, &self.integral);
            self.instrs.push(Instr::FloatBin { kind, dst: i(dst), a, b });
            self.regs.insert(step.output, dst);
            return;
        }
        if *op == Op::Fma {
            let a = self.f32_arg(step.inputs[0]);
            let b = self.f32_arg(step.inputs[1]);
            let c = self.f32_arg(step.inputs[2]);
            let dst = self.fresh(true);
            self.instrs.push(Instr::Fma { dst: i(dst), a, b, c });
            self.regs.insert(step.output, dst);
            return;
        }
        if binary {
            let kind = match op {
                Op::Add => IntBin::Add,
                Op::Subtract => IntBin::Sub,
                _ => IntBin::Mul,
            };
            let (a, b) = (self.int_arg(step.inputs[0]), self.int_arg(step.inputs[1]));
            let dst = self.fresh(false);
            self.instrs.push(Instr::IntBin {
                kind,
                dst: i(dst),
                a,
                b,
                dtype: in_dtype,
                op: op_index,
            });
            self.regs.insert(step.output, dst);
            return;
        }
        let ins: Vec<Reg> = step.inputs.iter().map(|&v| self.operand(v)).collect();
        let out = match op {
            Op::Cast { to } => match (in_dtype, *to) {
                (DType::F32, DType::F32) => ins[0],
                (DType::F32, to) => {
                    let (lo, hi) = int_range(to).unwrap_or((0, 0));
                    let dst = self.fresh(false);
                    self.instrs.push(Instr::F32ToInt {
                        dst: i(dst),
                        a: i(ins[0]),
                        lo: lo as f32,
                        hi: hi as f32,
                        integral: self.integral[i(ins[0])],
                    });
                    dst
                }
                (_, DType::F32) => {
                    let dst = self.fresh(true);
                    self.integral[i(dst)] = true;
                    self.instrs.push(Instr::IntToF32 { dst: i(dst), a: i(ins[0]) });
                    dst
                }
                (from, to) if from == to => ins[0],
                (_, to) => {
                    let (lo, hi) = int_range(to).unwrap_or((0, 0));
                    let dst = self.fresh(false);
                    self.instrs.push(Instr::IntClamp {
                        dst: i(dst),
                        a: i(ins[0]),
                        lo: lo as i32,
                        hi: hi as i32,
                    });
                    dst
                }
            },
            Op::Round => {
                let dst = self.fresh(true);
                self.integral[i(dst)] = true;
                self.instrs.push(Instr::Round { dst: i(dst), a: i(ins[0]) });
                dst
            }
            Op::Clip { min, max } if in_dtype == DType::F32 => {
                let dst = self.fresh(true);
                self.instrs.push(Instr::ClipF32 { dst: i(dst), a: i(ins[0]), lo: *min, hi: *max });
                dst
            }
            Op::Clip { min, max } => {
                let (lo, hi) = clip_bounds(*min, *max, in_dtype).unwrap_or((0, 0));
                let dst = self.fresh(false);
                self.instrs.push(Instr::IntClamp { dst: i(dst), a: i(ins[0]), lo, hi });
                dst
            }
            Op::Requantize { scale, axes, input_zero_point, output_zero_point, .. } => {
                let (lo, hi) = int_range(out_dtype).unwrap_or((0, 0));
                let (lo_in, hi_in) = int_range(in_dtype).unwrap_or((0, 0));
                let zp_in = i64::from(*input_zero_point);
                // The two-stage form is exact for |x − zp_in| ≤ 2^31.
                let span = (lo_in - zp_in).abs().max((hi_in - zp_in).abs());
                let narrow = span <= 1 << 31;
                let mults = match scale {
                    RequantScale::Float { mults } => Mults::Float(mults.clone()),
                    RequantScale::Fixed { mults, rounding } if narrow => Mults::Stages(
                        mults.iter().map(|&m| FixedStages::new(m, *rounding)).collect(),
                    ),
                    RequantScale::Fixed { mults, rounding } => {
                        Mults::Exact(mults.clone(), *rounding)
                    }
                };
                let pattern = axes_pattern(axes, scale.len(), &self.shape)
                    .unwrap_or(Pattern::Block { inner: 1, len: 1 });
                let dst = self.fresh(false);
                self.instrs.push(Instr::Requantize {
                    dst: i(dst),
                    a: i(ins[0]),
                    r: Box::new(Requant {
                        zp_in,
                        zp_out: i64::from(*output_zero_point),
                        lo,
                        hi,
                        mults,
                        pattern,
                        x_fits_i32: span <= i64::from(i32::MAX),
                    }),
                });
                dst
            }
            _ => return,
        };
        self.regs.insert(step.output, out);
    }

    /// The group, storing `outputs` (values added by [`add`](Self::add)), each one either
    /// as it is or scattered (see [`Scatter`](super::Scatter)).
    pub(crate) fn finish(
        self,
        outputs: &[Vid],
        scatter: Vec<Option<super::Scatter>>,
    ) -> ElementwiseGroup {
        let stores: Vec<(Reg, DType)> =
            outputs.iter().map(|&v| (self.regs[&v], self.p.values[v].ty.dtype)).collect();
        let fast = super::fast::recognize(
            &self.instrs,
            &self.operands,
            &stores,
            self.int_regs,
            self.f32_regs,
        );
        ElementwiseGroup {
            len: self.shape.iter().product(),
            operands: self.operands,
            instrs: self.instrs,
            int_regs: self.int_regs,
            f32_regs: self.f32_regs,
            stores,
            scatter,
            fast,
            op_names: self.op_names,
        }
    }
}

/// A constant as a decoded operand: its own elements through a pattern when it has one,
/// else expanded to the full shape.
fn constant_operand(t: &Tensor, shape: &[usize]) -> (Source, Pattern) {
    let (t, pattern) = match broadcast_pattern(t.shape(), shape) {
        Some(p) => (t.clone(), p),
        None => {
            let full = qnn_ir::with_array!(t, a => qnn_ir::Element::wrap(
                a.broadcast(IxDyn(shape)).map(|b| b.to_owned()).unwrap_or_else(|| a.clone())
            ));
            (full, Pattern::Full)
        }
    };
    let source = match &t {
        Tensor::F32(a) => Source::F32Const(a.iter().copied().collect()),
        other => Source::IntConst(
            other.to_i64().map(|a| a.iter().map(|&v| v as i32).collect()).unwrap_or_default(),
        ),
    };
    (source, pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let out = [1, 4, 5, 3];
        assert_eq!(broadcast_pattern(&out, &out), Some(Pattern::Full));
        assert_eq!(broadcast_pattern(&[3], &out), Some(Pattern::Block { inner: 1, len: 3 }));
        assert_eq!(broadcast_pattern(&[], &out), Some(Pattern::Block { inner: 1, len: 1 }));
        assert_eq!(broadcast_pattern(&[4, 1, 1], &out), Some(Pattern::Block { inner: 15, len: 4 }));
        assert_eq!(
            broadcast_pattern(&[1, 4, 5, 1], &out),
            Some(Pattern::Block { inner: 3, len: 20 })
        );
        assert_eq!(broadcast_pattern(&[4, 1, 3], &out), None);
        assert_eq!(broadcast_pattern(&[2], &out), None);
        // Unit output axes never break a block.
        assert_eq!(
            broadcast_pattern(&[1, 1, 4, 1, 3], &[2, 1, 4, 1, 3]),
            Some(Pattern::Block { inner: 1, len: 12 })
        );
    }
}
