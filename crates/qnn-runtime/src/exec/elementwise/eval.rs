//! Running a compiled group over a range of elements, chunk by chunk.

use std::ops::Range;

use qnn_ir::DType;

use super::numeric::{f32_to_int, round_half_even};
use super::{
    CHUNK, ElementwiseGroup, FloatBin, Instr, IntBin, Mults, Operand, Overflow, Pattern, Reg,
    Requant, Source,
};

/// Registers of one task.
#[derive(Debug)]
pub(crate) struct Registers {
    ints: Vec<[i32; CHUNK]>,
    floats: Vec<[f32; CHUNK]>,
    /// Multiplier indices of a chunk (patterned requantize).
    index: Vec<usize>,
}

impl ElementwiseGroup {
    pub(crate) fn registers(&self) -> Registers {
        Registers {
            ints: vec![[0; CHUNK]; self.int_regs],
            floats: vec![[0.0; CHUNK]; self.f32_regs],
            index: vec![0; CHUNK],
        }
    }

    /// Computes elements `range`: `inputs[k]` are the step's runtime inputs (whole
    /// tensors), `outputs[k]` the bytes of elements `range` of output `k`.
    pub(crate) fn run(
        &self,
        inputs: &[&[u8]],
        outputs: &mut [&mut [u8]],
        range: Range<usize>,
        regs: &mut Registers,
    ) -> Result<(), Overflow> {
        let mut start = range.start;
        while start < range.end {
            let n = CHUNK.min(range.end - start);
            self.chunk(inputs, start, n, regs)?;
            for (out, &(reg, dtype)) in outputs.iter_mut().zip(&self.stores) {
                let size = dtype.size_bytes();
                let at = (start - range.start) * size;
                let dst = &mut out[at..at + n * size];
                match reg {
                    Reg::I(k) => encode_int(dtype, &regs.ints[k][..n], dst),
                    Reg::F(k) => encode_f32(&regs.floats[k][..n], dst),
                }
            }
            start += n;
        }
        Ok(())
    }

    fn chunk(
        &self,
        inputs: &[&[u8]],
        start: usize,
        n: usize,
        regs: &mut Registers,
    ) -> Result<(), Overflow> {
        for ins in &self.instrs {
            match ins {
                Instr::Load { dst, operand } => {
                    load(&self.operands[*operand], inputs, start, n, *dst, regs)
                }
                Instr::IntBin { kind, dst, a, b, dtype, op } => {
                    let (lo, hi) = dtype.int_range().unwrap_or((0, 0));
                    let (x, y) = (regs.ints[*a], regs.ints[*b]);
                    let d = &mut regs.ints[*dst];
                    let mut bad = false;
                    for l in 0..n {
                        let (p, q) = (i64::from(x[l]), i64::from(y[l]));
                        let v = match kind {
                            IntBin::Add => p + q,
                            IntBin::Sub => p - q,
                            IntBin::Mul => p * q,
                        };
                        bad |= v < lo || v > hi;
                        d[l] = v as i32;
                    }
                    if bad {
                        let value = (0..n)
                            .map(|l| {
                                let (p, q) = (i64::from(x[l]), i64::from(y[l]));
                                match kind {
                                    IntBin::Add => p + q,
                                    IntBin::Sub => p - q,
                                    IntBin::Mul => p * q,
                                }
                            })
                            .find(|&v| v < lo || v > hi)
                            .unwrap_or(0);
                        return Err(Overflow {
                            op: self.op_names[*op].clone(),
                            value,
                            dtype: *dtype,
                        });
                    }
                }
                Instr::FloatBin { kind, dst, a, b } => {
                    let (x, y) = (regs.floats[*a], regs.floats[*b]);
                    let d = &mut regs.floats[*dst];
                    match kind {
                        FloatBin::Add => (0..n).for_each(|l| d[l] = x[l] + y[l]),
                        FloatBin::Sub => (0..n).for_each(|l| d[l] = x[l] - y[l]),
                        FloatBin::Mul => (0..n).for_each(|l| d[l] = x[l] * y[l]),
                        FloatBin::Div => (0..n).for_each(|l| d[l] = x[l] / y[l]),
                    }
                }
                Instr::IntClamp { dst, a, lo, hi } => {
                    let x = regs.ints[*a];
                    let d = &mut regs.ints[*dst];
                    (0..n).for_each(|l| d[l] = x[l].max(*lo).min(*hi));
                }
                Instr::IntToF32 { dst, a } => {
                    let x = &regs.ints[*a];
                    let d = &mut regs.floats[*dst];
                    (0..n).for_each(|l| d[l] = x[l] as f32);
                }
                Instr::F32ToInt { dst, a, lo, hi } => {
                    let x = &regs.floats[*a];
                    let d = &mut regs.ints[*dst];
                    (0..n).for_each(|l| d[l] = f32_to_int(x[l], *lo, *hi));
                }
                Instr::Round { dst, a } => {
                    let x = regs.floats[*a];
                    let d = &mut regs.floats[*dst];
                    (0..n).for_each(|l| d[l] = round_half_even(x[l]));
                }
                Instr::ClipF32 { dst, a, lo, hi } => {
                    let x = regs.floats[*a];
                    let d = &mut regs.floats[*dst];
                    for l in 0..n {
                        let v = x[l];
                        d[l] = if v.is_nan() { v } else { f64::from(v).max(*lo).min(*hi) as f32 };
                    }
                }
                Instr::Requantize { dst, a, r } => requantize(r, start, n, *a, *dst, regs),
            }
        }
        Ok(())
    }
}

/// Fills `index[..n]` with `(i / inner) % len` for `i = start..start + n`.
fn pattern_indices(pattern: Pattern, start: usize, n: usize, index: &mut [usize]) {
    match pattern {
        Pattern::Full => (0..n).for_each(|l| index[l] = start + l),
        Pattern::Block { inner, len } => {
            let (mut q, mut r) = ((start / inner) % len, start % inner);
            for slot in index.iter_mut().take(n) {
                *slot = q;
                r += 1;
                if r == inner {
                    r = 0;
                    q += 1;
                    if q == len {
                        q = 0;
                    }
                }
            }
        }
    }
}

fn load(op: &Operand, inputs: &[&[u8]], start: usize, n: usize, dst: Reg, regs: &mut Registers) {
    let scalar = op.pattern == Pattern::Block { inner: 1, len: 1 };
    match (&op.source, dst) {
        (Source::IntConst(c), Reg::I(k)) => {
            let d = &mut regs.ints[k];
            if scalar {
                d[..n].fill(c[0]);
            } else {
                pattern_indices(op.pattern, start, n, &mut regs.index);
                (0..n).for_each(|l| d[l] = c[regs.index[l]]);
            }
        }
        (Source::F32Const(c), Reg::F(k)) => {
            let d = &mut regs.floats[k];
            if scalar {
                d[..n].fill(c[0]);
            } else {
                pattern_indices(op.pattern, start, n, &mut regs.index);
                (0..n).for_each(|l| d[l] = c[regs.index[l]]);
            }
        }
        (&Source::Input { index, dtype }, reg) => {
            let src = inputs[index];
            let size = dtype.size_bytes();
            if op.pattern == Pattern::Full {
                let bytes = &src[start * size..(start + n) * size];
                match reg {
                    Reg::I(k) => decode_int(dtype, bytes, &mut regs.ints[k][..n]),
                    Reg::F(k) => decode_f32(bytes, &mut regs.floats[k][..n]),
                }
            } else {
                pattern_indices(op.pattern, start, n, &mut regs.index);
                for l in 0..n {
                    let at = regs.index[l] * size;
                    let bytes = &src[at..at + size];
                    match reg {
                        Reg::I(k) => decode_int(dtype, bytes, &mut regs.ints[k][l..l + 1]),
                        Reg::F(k) => decode_f32(bytes, &mut regs.floats[k][l..l + 1]),
                    }
                }
            }
        }
        // The compiler gives constants registers of their own kind.
        _ => {}
    }
}

fn requantize(r: &Requant, start: usize, n: usize, a: usize, dst: usize, regs: &mut Registers) {
    let x = regs.ints[a];
    let uniform = r.pattern == Pattern::Block { inner: 1, len: 1 };
    if !uniform {
        pattern_indices(r.pattern, start, n, &mut regs.index);
    }
    let index = &regs.index;
    let d = &mut regs.ints[dst];
    let (zi, zo, lo, hi) = (r.zp_in, r.zp_out, r.lo, r.hi);
    match &r.mults {
        Mults::Stages(st) if uniform => {
            let s = st[0];
            (0..n).for_each(|l| d[l] = (zo + s.apply(i64::from(x[l]) - zi)).clamp(lo, hi) as i32);
        }
        Mults::Stages(st) => (0..n).for_each(|l| {
            d[l] = (zo + st[index[l]].apply(i64::from(x[l]) - zi)).clamp(lo, hi) as i32
        }),
        Mults::Exact(ms, rounding) => (0..n).for_each(|l| {
            let m = ms[if uniform { 0 } else { index[l] }];
            d[l] = zo.saturating_add(m.apply(i64::from(x[l]) - zi, *rounding)).clamp(lo, hi) as i32
        }),
        Mults::Float(ms) => {
            // The reference: clamp_f32(round_half_even(f32(x) · m) + f32(zp_out)).
            let (zf, lof, hif) = (zo as f32, lo as f32, hi as f32);
            let narrow = r.x_fits_i32;
            let one = |v: i32, m: f32| {
                // The same value converted either way; the i32 form vectorizes.
                let xf = if narrow { (v - zi as i32) as f32 } else { (i64::from(v) - zi) as f32 };
                let y = round_half_even(xf * m) + zf;
                let c = if y < lof {
                    lof
                } else if y > hif {
                    hif
                } else {
                    y
                };
                (c as i64).clamp(lo, hi) as i32
            };
            if uniform {
                (0..n).for_each(|l| d[l] = one(x[l], ms[0]));
            } else {
                (0..n).for_each(|l| d[l] = one(x[l], ms[index[l]]));
            }
        }
    }
}

pub(crate) fn decode_int(dtype: DType, bytes: &[u8], dst: &mut [i32]) {
    match dtype {
        DType::U8 => dst.iter_mut().zip(bytes).for_each(|(d, &b)| *d = i32::from(b)),
        DType::I8 => dst.iter_mut().zip(bytes).for_each(|(d, &b)| *d = i32::from(b as i8)),
        DType::I16 => dst
            .iter_mut()
            .zip(bytes.chunks_exact(2))
            .for_each(|(d, b)| *d = i32::from(i16::from_le_bytes([b[0], b[1]]))),
        _ => dst
            .iter_mut()
            .zip(bytes.chunks_exact(4))
            .for_each(|(d, b)| *d = i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
    }
}

pub(crate) fn decode_f32(bytes: &[u8], dst: &mut [f32]) {
    dst.iter_mut()
        .zip(bytes.chunks_exact(4))
        .for_each(|(d, b)| *d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
}

/// Values already inside `dtype`.
pub(crate) fn encode_int(dtype: DType, src: &[i32], out: &mut [u8]) {
    match dtype {
        DType::U8 | DType::I8 => out.iter_mut().zip(src).for_each(|(o, &v)| *o = v as u8),
        DType::I16 => out
            .chunks_exact_mut(2)
            .zip(src)
            .for_each(|(o, &v)| o.copy_from_slice(&(v as i16).to_le_bytes())),
        _ => {
            out.chunks_exact_mut(4).zip(src).for_each(|(o, &v)| o.copy_from_slice(&v.to_le_bytes()))
        }
    }
}

pub(crate) fn encode_f32(src: &[f32], out: &mut [u8]) {
    out.chunks_exact_mut(4).zip(src).for_each(|(o, &v)| o.copy_from_slice(&v.to_le_bytes()));
}
