//! Running a compiled group over a range of elements, chunk by chunk.

use std::ops::Range;

use qnn_ir::DType;

use super::Overflow;
use crate::broadcast::Pattern;
use crate::program::elementwise::numeric::{f32_to_int, round_half_even};
use crate::program::elementwise::{
    Arg, CHUNK, ElementwiseGroup, FloatBin, Instr, IntBin, Mults, Operand, Reg, Requant, Scatter,
    Source,
};

/// Registers of one task: `int_regs` (resp. `f32_regs`) chunks, one after the other.
#[derive(Debug)]
pub(crate) struct Registers {
    ints: Vec<i32>,
    floats: Vec<f32>,
    /// Scratch of the whole-group forms.
    fast_ints: Vec<i32>,
    fast_floats: Vec<f32>,
    /// Multiplier indices of a chunk (patterned requantize).
    index: Vec<usize>,
}

/// Register `k` of a flat register file.
fn reg<T>(file: &[T], k: usize, n: usize) -> &[T] {
    &file[k * CHUNK..k * CHUNK + n]
}

/// Register `dst` for writing and the file below it for reading: `dst` comes after every
/// register an instruction reads (SSA order).
fn split<T>(file: &mut [T], dst: usize, n: usize) -> (&mut [T], &[T]) {
    let (below, rest) = file.split_at_mut(dst * CHUNK);
    (&mut rest[..n], below)
}

/// `d[l] = f(x[l], y[l])` over registers or immediates.
#[inline(always)]
fn binary<T: Copy>(d: &mut [T], below: &[T], a: Arg<T>, b: Arg<T>, f: impl Fn(T, T) -> T) {
    let n = d.len();
    match (a, b) {
        (Arg::Reg(a), Arg::Reg(b)) => {
            let (x, y) = (reg(below, a, n), reg(below, b, n));
            d.iter_mut().zip(x.iter().zip(y)).for_each(|(d, (&x, &y))| *d = f(x, y));
        }
        (Arg::Reg(a), Arg::Imm(k)) => {
            d.iter_mut().zip(reg(below, a, n)).for_each(|(d, &x)| *d = f(x, k));
        }
        (Arg::Imm(k), Arg::Reg(b)) => {
            d.iter_mut().zip(reg(below, b, n)).for_each(|(d, &y)| *d = f(k, y));
        }
        (Arg::Imm(j), Arg::Imm(k)) => d.fill(f(j, k)),
    }
}

/// `d[l] = a[l] · b[l] + c[l]` (one rounding) over registers or immediates; the common
/// forms as plain zipped loops, so that they vectorize.
#[inline(always)]
fn fma(d: &mut [f32], below: &[f32], a: Arg<f32>, b: Arg<f32>, c: Arg<f32>) {
    let n = d.len();
    match (a, b, c) {
        (Arg::Reg(a), Arg::Imm(m), Arg::Reg(c)) => {
            let (x, z) = (reg(below, a, n), reg(below, c, n));
            d.iter_mut().zip(x.iter().zip(z)).for_each(|(d, (&x, &z))| *d = x.mul_add(m, z));
        }
        (Arg::Reg(a), Arg::Imm(m), Arg::Imm(k)) => {
            d.iter_mut().zip(reg(below, a, n)).for_each(|(d, &x)| *d = x.mul_add(m, k));
        }
        (Arg::Reg(a), Arg::Reg(b), Arg::Reg(c)) => {
            let (x, y, z) = (reg(below, a, n), reg(below, b, n), reg(below, c, n));
            for (d, ((&x, &y), &z)) in d.iter_mut().zip(x.iter().zip(y).zip(z)) {
                *d = x.mul_add(y, z);
            }
        }
        _ => {
            let at = |x: Arg<f32>, l: usize| match x {
                Arg::Reg(k) => below[k * CHUNK + l],
                Arg::Imm(v) => v,
            };
            for (l, d) in d.iter_mut().enumerate() {
                *d = at(a, l).mul_add(at(b, l), at(c, l));
            }
        }
    }
}

/// `c` (an integer value inside `[-2^22, 2^22]`) as i32, without a saturating conversion:
/// `c + 1.5·2^23` has exponent 23, so its low mantissa bits are `c` plus a constant.
#[inline(always)]
fn small_f32_to_i32(c: f32) -> i32 {
    (c + 12_582_912.0).to_bits() as i32 - 0x4B40_0000
}

/// Whether every integer of `[lo, hi]` converts through [`small_f32_to_i32`].
fn small_range(lo: i64, hi: i64) -> bool {
    lo >= -(1 << 22) && hi <= 1 << 22
}

impl ElementwiseGroup {
    pub(crate) fn registers(&self) -> Registers {
        Registers {
            ints: vec![0; self.int_regs * CHUNK],
            floats: vec![0.0; self.f32_regs * CHUNK],
            fast_ints: vec![0; if self.fast.is_some() { 2 * CHUNK } else { 0 }],
            fast_floats: vec![0.0; if self.fast.is_some() { CHUNK } else { 0 }],
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
        self.run_chunks(inputs, outputs, range, regs)
    }

    #[inline(always)]
    fn run_chunks(
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
            for ((out, &(r, dtype)), sc) in outputs.iter_mut().zip(&self.stores).zip(&self.scatter)
            {
                let size = dtype.size_bytes();
                match sc {
                    None => {
                        let at = (start - range.start) * size;
                        let dst = &mut out[at..at + n * size];
                        match r {
                            Reg::I(k) => encode_int(dtype, reg(&regs.ints, k, n), dst),
                            Reg::F(k) => encode_f32(reg(&regs.floats, k, n), dst),
                        }
                    }
                    Some(sc) => {
                        let mut bytes = [0u8; 4 * CHUNK];
                        let b = &mut bytes[..n * size];
                        match r {
                            Reg::I(k) => encode_int(dtype, reg(&regs.ints, k, n), b),
                            Reg::F(k) => encode_f32(reg(&regs.floats, k, n), b),
                        }
                        match size {
                            1 => scatter::<1>(sc, start, b, out),
                            2 => scatter::<2>(sc, start, b, out),
                            _ => scatter::<4>(sc, start, b, out),
                        }
                    }
                }
            }
            start += n;
        }
        Ok(())
    }

    #[inline(always)]
    fn chunk(
        &self,
        inputs: &[&[u8]],
        start: usize,
        n: usize,
        regs: &mut Registers,
    ) -> Result<(), Overflow> {
        if let (Some(f), [(Reg::I(k), _)]) = (&self.fast, &self.stores[..]) {
            let out = &mut regs.ints[k * CHUNK..k * CHUNK + n];
            f.eval(inputs, start, out, (&mut regs.fast_ints, &mut regs.fast_floats));
            return Ok(());
        }
        for ins in &self.instrs {
            match *ins {
                Instr::Load { dst, operand } => {
                    load(&self.operands[operand], inputs, start, n, dst, regs)
                }
                Instr::IntBin { kind, dst, a, b, dtype, op } => {
                    let (lo, hi) = dtype.int_range().unwrap_or((0, 0));
                    let (d, below) = split(&mut regs.ints, dst, n);
                    // Exact in i64; the result must fit the dtype, as in the reference.
                    let f = |p: i32, q: i32| -> i64 {
                        let (p, q) = (i64::from(p), i64::from(q));
                        match kind {
                            IntBin::Add => p + q,
                            IntBin::Sub => p - q,
                            IntBin::Mul => p * q,
                        }
                    };
                    let at = |x: Arg<i32>, l: usize| match x {
                        Arg::Reg(k) => below[k * CHUNK + l],
                        Arg::Imm(k) => k,
                    };
                    let bad = if dtype == DType::I32 {
                        let mut bad = false;
                        for (l, d) in d.iter_mut().enumerate() {
                            let w = f(at(a, l), at(b, l));
                            bad |= w < lo || w > hi;
                            *d = w as i32;
                        }
                        bad
                    } else {
                        // 8/16-bit operands: the exact result fits i32.
                        binary(d, below, a, b, |p, q| f(p, q) as i32);
                        d.iter().any(|&v| i64::from(v) < lo || i64::from(v) > hi)
                    };
                    if bad {
                        let value = (0..n)
                            .map(|l| f(at(a, l), at(b, l)))
                            .find(|&v| v < lo || v > hi)
                            .unwrap_or(0);
                        return Err(Overflow { op: self.op_names[op].clone(), value, dtype });
                    }
                }
                Instr::FloatBin { kind, dst, a, b } => {
                    let (d, below) = split(&mut regs.floats, dst, n);
                    match kind {
                        FloatBin::Add => binary(d, below, a, b, |x, y| x + y),
                        FloatBin::Sub => binary(d, below, a, b, |x, y| x - y),
                        FloatBin::Mul => binary(d, below, a, b, |x, y| x * y),
                        FloatBin::Div => binary(d, below, a, b, |x, y| x / y),
                    }
                }
                Instr::Fma { dst, a, b, c } => {
                    let (d, below) = split(&mut regs.floats, dst, n);
                    fma(d, below, a, b, c);
                }
                Instr::IntClamp { dst, a, lo, hi } => {
                    let (d, below) = split(&mut regs.ints, dst, n);
                    d.iter_mut().zip(reg(below, a, n)).for_each(|(d, &x)| *d = x.max(lo).min(hi));
                }
                Instr::IntToF32 { dst, a } => {
                    let x = reg(&regs.ints, a, n);
                    let d = &mut regs.floats[dst * CHUNK..dst * CHUNK + n];
                    d.iter_mut().zip(x).for_each(|(d, &x)| *d = x as f32);
                }
                Instr::F32ToInt { dst, a, lo, hi, integral } => {
                    let x = reg(&regs.floats, a, n);
                    let d = &mut regs.ints[dst * CHUNK..dst * CHUNK + n];
                    // NaN → 0 (inside the range), else round and clamp: an integer value
                    // the bit trick converts exactly.
                    let conv = |r: f32| {
                        let c = if r.is_nan() { 0.0 } else { r.max(lo).min(hi) };
                        small_f32_to_i32(c)
                    };
                    if small_range(lo as i64, hi as i64) && integral {
                        d.iter_mut().zip(x).for_each(|(d, &v)| *d = conv(v));
                    } else if small_range(lo as i64, hi as i64) {
                        d.iter_mut().zip(x).for_each(|(d, &v)| *d = conv(round_half_even(v)));
                    } else {
                        d.iter_mut().zip(x).for_each(|(d, &v)| *d = f32_to_int(v, lo, hi));
                    }
                }
                Instr::Round { dst, a } => {
                    let (d, below) = split(&mut regs.floats, dst, n);
                    d.iter_mut().zip(reg(below, a, n)).for_each(|(d, &x)| *d = round_half_even(x));
                }
                Instr::ClipF32 { dst, a, lo, hi } => {
                    let (d, below) = split(&mut regs.floats, dst, n);
                    d.iter_mut().zip(reg(below, a, n)).for_each(|(d, &v)| {
                        *d = if v.is_nan() { v } else { f64::from(v).max(lo).min(hi) as f32 }
                    });
                }
                Instr::Requantize { dst, a, ref r } => requantize(r, start, n, a, dst, regs),
            }
        }
        Ok(())
    }
}

/// Writes the elements `start ..` of a scattered output (`b`: their bytes, `E` each): runs
/// along the last axis are contiguous in the source and strided in the destination.
#[inline(always)]
fn scatter<const E: usize>(sc: &Scatter, start: usize, b: &[u8], out: &mut [u8]) {
    let rank = sc.shape.len();
    let n = b.len() / E;
    if rank == 0 {
        out[..b.len()].copy_from_slice(b);
        return;
    }
    let mut idx = [0usize; 8];
    let mut rest = start;
    for a in (0..rank).rev() {
        idx[a] = rest % sc.shape[a];
        rest /= sc.shape[a];
    }
    let (last, step) = (sc.shape[rank - 1], sc.strides[rank - 1] * E);
    let mut done = 0;
    while done < n {
        let run = (last - idx[rank - 1]).min(n - done);
        let base = idx[..rank].iter().zip(&sc.strides).map(|(i, s)| i * s).sum::<usize>() * E;
        let src = &b[done * E..(done + run) * E];
        for (k, v) in src.chunks_exact(E).enumerate() {
            let at = base + k * step;
            let dst: &mut [u8; E] = (&mut out[at..at + E]).try_into().expect("E bytes");
            *dst = v.try_into().expect("E bytes");
        }
        done += run;
        idx[rank - 1] += run;
        for a in (1..rank).rev() {
            if idx[a] < sc.shape[a] {
                break;
            }
            idx[a] = 0;
            idx[a - 1] += 1;
        }
    }
}

/// Fills `index[..n]` with `(i / inner) % len` for `i = start..start + n`.
#[inline(always)]
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

#[inline(always)]
fn load(op: &Operand, inputs: &[&[u8]], start: usize, n: usize, dst: Reg, regs: &mut Registers) {
    let scalar = op.pattern == Pattern::Block { inner: 1, len: 1 };
    let index = &mut regs.index;
    match (&op.source, dst) {
        (Source::IntConst(c), Reg::I(k)) => {
            let d = &mut regs.ints[k * CHUNK..k * CHUNK + n];
            if scalar {
                d.fill(c[0]);
            } else {
                pattern_indices(op.pattern, start, n, index);
                d.iter_mut().zip(index.iter()).for_each(|(d, &i)| *d = c[i]);
            }
        }
        (Source::F32Const(c), Reg::F(k)) => {
            let d = &mut regs.floats[k * CHUNK..k * CHUNK + n];
            if scalar {
                d.fill(c[0]);
            } else {
                pattern_indices(op.pattern, start, n, index);
                d.iter_mut().zip(index.iter()).for_each(|(d, &i)| *d = c[i]);
            }
        }
        (&Source::Input { index: input, dtype }, r) => {
            let src = inputs[input];
            let size = dtype.size_bytes();
            if op.pattern == Pattern::Full {
                let bytes = &src[start * size..(start + n) * size];
                match r {
                    Reg::I(k) => decode_int(dtype, bytes, &mut regs.ints[k * CHUNK..k * CHUNK + n]),
                    Reg::F(k) => decode_f32(bytes, &mut regs.floats[k * CHUNK..k * CHUNK + n]),
                }
            } else {
                pattern_indices(op.pattern, start, n, index);
                for (l, &i) in index.iter().enumerate().take(n) {
                    let bytes = &src[i * size..(i + 1) * size];
                    match r {
                        Reg::I(k) => decode_int(dtype, bytes, &mut regs.ints[k * CHUNK + l..][..1]),
                        Reg::F(k) => decode_f32(bytes, &mut regs.floats[k * CHUNK + l..][..1]),
                    }
                }
            }
        }
        // The compiler gives constants registers of their own kind.
        _ => {}
    }
}

#[inline(always)]
fn requantize(r: &Requant, start: usize, n: usize, a: usize, dst: usize, regs: &mut Registers) {
    let uniform = r.pattern == Pattern::Block { inner: 1, len: 1 };
    if !uniform {
        pattern_indices(r.pattern, start, n, &mut regs.index);
    }
    let index = &regs.index[..n];
    let (d, below) = split(&mut regs.ints, dst, n);
    let x = reg(below, a, n);
    let (zi, zo, lo, hi) = (r.zp_in, r.zp_out, r.lo, r.hi);
    match &r.mults {
        Mults::Stages(st) if uniform => {
            let s = st[0];
            d.iter_mut()
                .zip(x)
                .for_each(|(d, &x)| *d = (zo + s.apply(i64::from(x) - zi)).clamp(lo, hi) as i32);
        }
        Mults::Stages(st) => d.iter_mut().zip(x).zip(index).for_each(|((d, &x), &i)| {
            *d = (zo + st[i].apply(i64::from(x) - zi)).clamp(lo, hi) as i32
        }),
        Mults::Exact(ms, rounding) => d.iter_mut().zip(x).zip(index).for_each(|((d, &x), &i)| {
            let m = ms[if uniform { 0 } else { i }];
            *d = zo.saturating_add(m.apply(i64::from(x) - zi, *rounding)).clamp(lo, hi) as i32
        }),
        Mults::Float(ms) => {
            // The reference: clamp_f32(round_half_even(f32(x) · m) + f32(zp_out)).
            let (zf, lof, hif) = (zo as f32, lo as f32, hi as f32);
            let (narrow, small) = (r.x_fits_i32, small_range(lo, hi));
            let zi32 = zi as i32;
            let one = |v: i32, m: f32| {
                // The same value converted either way; the i32 form vectorizes.
                let xf = if narrow { (v - zi32) as f32 } else { (i64::from(v) - zi) as f32 };
                let y = round_half_even(xf * m) + zf;
                let c = if y < lof {
                    lof
                } else if y > hif {
                    hif
                } else {
                    y
                };
                if small { small_f32_to_i32(c) } else { (c as i64).clamp(lo, hi) as i32 }
            };
            if uniform {
                let m = ms[0];
                d.iter_mut().zip(x).for_each(|(d, &x)| *d = one(x, m));
            } else {
                d.iter_mut().zip(x).zip(index).for_each(|((d, &x), &i)| *d = one(x, ms[i]));
            }
        }
    }
}

#[inline(always)]
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

#[inline(always)]
pub(crate) fn decode_f32(bytes: &[u8], dst: &mut [f32]) {
    dst.iter_mut()
        .zip(bytes.chunks_exact(4))
        .for_each(|(d, b)| *d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
}

/// Values already inside `dtype`.
#[inline(always)]
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

#[inline(always)]
pub(crate) fn encode_f32(src: &[f32], out: &mut [u8]) {
    out.chunks_exact_mut(4).zip(src).for_each(|(o, &v)| o.copy_from_slice(&v.to_le_bytes()));
}
