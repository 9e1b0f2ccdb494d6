//! The compilation of a group of element-wise steps (which steps form one is the
//! planner's decision, `plan::units`) to instructions.

use std::collections::HashMap;

use ndarray::IxDyn;
use qnn_ir::{DType, Op, RequantScale, Tensor};

use super::numeric::FixedStages;
use super::{Arg, ElementwiseGroup, FloatBin, Instr, IntBin, Mults, Operand, Reg, Requant, Source};
use crate::broadcast::{Pattern, axes_pattern, broadcast_pattern};
use crate::optimize::dataflow::{Dataflow, Step, StepKind, Vid, clip_bounds};

fn int_range(d: DType) -> Option<(i64, i64)> {
    d.int_range()
}

/// Builds the program of one group, step by step.
#[derive(Debug)]
pub(crate) struct GroupCompiler<'p> {
    p: &'p Dataflow,
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
    pub(crate) fn new(p: &'p Dataflow, shape: Vec<usize>) -> Self {
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

    /// Appends a step the planner grouped (`plan::units::groupable`).
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
