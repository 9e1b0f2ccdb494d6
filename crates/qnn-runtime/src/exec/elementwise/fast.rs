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
//! order, so the bits are the same.

use qnn_ir::DType;

use super::eval::{decode_f32, decode_int};
use super::numeric::round_half_even;
use super::{Arg, FloatBin, Instr, Operand, Pattern, Reg, Source};

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

/// `c` (an integer value of an 8-bit range) as i32 without a saturating conversion (see
/// `eval::small_f32_to_i32`).
#[inline(always)]
fn to_i32(c: f32) -> i32 {
    (c + 12_582_912.0).to_bits() as i32 - 0x4B40_0000
}

impl FastForm {
    /// The form's name in the plan report.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            FastForm::QLinearAdd { .. } => "qlinear-add",
            FastForm::Quantize { .. } => "quantize",
        }
    }

    /// Elements `start .. start + n` into `out` (the chunk of the store's register).
    #[inline(always)]
    pub(crate) fn eval(
        &self,
        inputs: &[&[u8]],
        start: usize,
        out: &mut [i32],
        scratch: (&mut [i32], &mut [f32]),
    ) {
        let n = out.len();
        match *self {
            FastForm::QLinearAdd { a: (a, da), b: (b, db), ma, mb, c, lo, hi } => {
                let (xa, xb) = scratch.0.split_at_mut(n);
                decode_int(da, &inputs[a][start..start + n], xa);
                decode_int(db, &inputs[b][start..start + n], &mut xb[..n]);
                for (o, (&p, &q)) in out.iter_mut().zip(xa.iter().zip(&xb[..n])) {
                    let t = (q as f32).mul_add(mb, c);
                    let r = round_half_even((p as f32).mul_add(ma, t));
                    // `r` is integral (or NaN, impossible here: finite operands).
                    let v = if r.is_nan() { 0.0 } else { r.max(lo).min(hi) };
                    *o = to_i32(v);
                }
            }
            FastForm::Quantize { x, s, z, lo, hi } => {
                let xf = &mut scratch.1[..n];
                decode_f32(&inputs[x][start * 4..(start + n) * 4], xf);
                for (o, &v) in out.iter_mut().zip(xf.iter()) {
                    let r = round_half_even(v / s) + z;
                    let c = if r.is_nan() { 0.0 } else { r.max(lo).min(hi) };
                    *o = to_i32(c);
                }
            }
        }
    }
}
