//! Whole-group forms: the element-wise programs of the two most common chains of quantized
//! ONNX models, recognized from the compiled instructions and run as one loop per element
//! instead of one pass per instruction (each pass reads and writes a chunk; one loop keeps
//! every intermediate in a vector register):
//!
//! * [`FastForm::QLinearAdd`]: the float `qnn.add` lowering (ONNX Runtime's QLinearAdd),
//!   `clamp(rne(fma(a, m_a, fma(b, m_b, c))))` on two 8-bit operands;
//! * [`FastForm::Quantize`]: the `qnn.quantize` lowering to u8 (QuantizeLinear),
//!   `clamp(rne(x / s) + z)` from f32.
//!
//! Each performs exactly the IEEE operations of the instructions it replaces, in the same
//! order, so the bits are the same. Recognized here; run by `exec::elementwise::fast`.

use qnn_ir::DType;

use super::{Arg, FloatBin, Instr, Operand, Reg, Source};
use crate::broadcast::Pattern;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FastForm {
    QLinearAdd { a: (usize, DType), b: (usize, DType), ma: f32, mb: f32, c: f32, lo: f32, hi: f32 },
    Quantize { x: usize, s: f32, z: f32, lo: f32, hi: f32 },
}

/// What a register holds, as an expression over the group's inputs.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Input(usize, DType),
    ToF32(Box<Expr>),
    Fma(Box<Expr>, f32, Box<Expr>),
    Imm(f32),
    Div(Box<Expr>, f32),
    AddImm(Box<Expr>, f32),
    Round(Box<Expr>),
    /// f32 → integer, the operand known integral.
    ToInt(Box<Expr>, f32, f32),
    Other,
}

fn arg(a: Arg<f32>, f: &[Expr]) -> Expr {
    match a {
        Arg::Reg(k) => f[k].clone(),
        Arg::Imm(v) => Expr::Imm(v),
    }
}

/// The fast form of a group computing one integer output from `instrs`, if it is one.
pub(crate) fn recognize(
    instrs: &[Instr],
    operands: &[Operand],
    stores: &[(Reg, DType)],
    int_regs: usize,
    f32_regs: usize,
) -> Option<FastForm> {
    let &[(Reg::I(out), _)] = stores else { return None };
    let mut ints = vec![Expr::Other; int_regs];
    let mut floats = vec![Expr::Other; f32_regs];
    for ins in instrs {
        match *ins {
            Instr::Load { dst, operand } => {
                let op = &operands[operand];
                let e = match (&op.source, op.pattern) {
                    (&Source::Input { index, dtype }, Pattern::Full) => Expr::Input(index, dtype),
                    _ => Expr::Other,
                };
                match dst {
                    Reg::I(k) => ints[k] = e,
                    Reg::F(k) => floats[k] = e,
                }
            }
            Instr::IntToF32 { dst, a } => floats[dst] = Expr::ToF32(Box::new(ints[a].clone())),
            Instr::Fma { dst, a, b: Arg::Imm(m), c } => {
                floats[dst] = Expr::Fma(Box::new(arg(a, &floats)), m, Box::new(arg(c, &floats)))
            }
            Instr::FloatBin { kind: FloatBin::Div, dst, a, b: Arg::Imm(s) } => {
                floats[dst] = Expr::Div(Box::new(arg(a, &floats)), s)
            }
            Instr::FloatBin { kind: FloatBin::Add, dst, a, b: Arg::Imm(z) } => {
                floats[dst] = Expr::AddImm(Box::new(arg(a, &floats)), z)
            }
            Instr::Round { dst, a } => floats[dst] = Expr::Round(Box::new(floats[a].clone())),
            Instr::F32ToInt { dst, a, lo, hi, integral: true } => {
                ints[dst] = Expr::ToInt(Box::new(floats[a].clone()), lo, hi)
            }
            Instr::Fma { dst, .. } | Instr::FloatBin { dst, .. } | Instr::ClipF32 { dst, .. } => {
                floats[dst] = Expr::Other
            }
            Instr::IntBin { dst, .. }
            | Instr::IntClamp { dst, .. }
            | Instr::F32ToInt { dst, .. }
            | Instr::Requantize { dst, .. } => ints[dst] = Expr::Other,
        }
    }
    // Narrow outputs only: the clamped value then converts exactly through i32.
    let byte = |d: DType| matches!(d, DType::U8 | DType::I8);
    if let Some(q) = quantize(&ints[out]) {
        return Some(q);
    }
    let Expr::ToInt(e, lo, hi) = &ints[out] else { return None };
    let Expr::Round(e) = e.as_ref() else { return None };
    let Expr::Fma(x, ma, rest) = e.as_ref() else { return None };
    let (Expr::ToF32(x), Expr::Fma(y, mb, c)) = (x.as_ref(), rest.as_ref()) else { return None };
    let (Expr::ToF32(y), Expr::Imm(c)) = (y.as_ref(), c.as_ref()) else { return None };
    let (&Expr::Input(a, da), &Expr::Input(b, db)) = (x.as_ref(), y.as_ref()) else {
        return None;
    };
    (byte(da) && byte(db) && *lo >= -128.0 && *hi <= 255.0).then_some(FastForm::QLinearAdd {
        a: (a, da),
        b: (b, db),
        ma: *ma,
        mb: *mb,
        c: *c,
        lo: *lo,
        hi: *hi,
    })
}

/// `ToInt(AddImm(Round(Div(Input f32, s)), z))`.
fn quantize(e: &Expr) -> Option<FastForm> {
    let Expr::ToInt(e, lo, hi) = e else { return None };
    let Expr::AddImm(e, z) = e.as_ref() else { return None };
    let Expr::Round(e) = e.as_ref() else { return None };
    let Expr::Div(e, s) = e.as_ref() else { return None };
    let &Expr::Input(x, DType::F32) = e.as_ref() else { return None };
    (*lo >= -128.0 && *hi <= 255.0).then_some(FastForm::Quantize {
        x,
        s: *s,
        z: *z,
        lo: *lo,
        hi: *hi,
    })
}

impl FastForm {
    /// The form's name in the plan report.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            FastForm::QLinearAdd { .. } => "qlinear-add",
            FastForm::Quantize { .. } => "quantize",
        }
    }
}
