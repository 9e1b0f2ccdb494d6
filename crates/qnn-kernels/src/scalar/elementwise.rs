//! The element-wise contract ([`ElementwiseMicrokernel`](qnn_ir::backend::ElementwiseMicrokernel))
//! in plain Rust, and the per-element formulas the transposes with a conversion share.

use qnn_ir::backend::{ElementwiseArgs, ElementwiseOp};

use super::{Elem, F32};

/// ONNX Runtime's `QuantizeLinear` of one value: `clamp(rne(x / scale) + zero_point, lo,
/// hi)`, NaN → `lo` (`f32::max` returns the other operand of a NaN).
#[inline(always)]
pub fn quantize(x: f32, scale: f32, zero_point: f32, lo: f32, hi: f32) -> i32 {
    ((x / scale).round_ties_even() + zero_point).max(lo).min(hi) as i32
}

/// `DequantizeLinear` of one value: `f32(x − zero_point) · scale` (the frame checks that the
/// difference fits i32).
#[inline(always)]
pub fn dequantize(x: i32, zero_point: i32, scale: f32) -> f32 {
    x.wrapping_sub(zero_point) as f32 * scale
}

/// [`ElementwiseOp::QLinearAdd`]: `clamp(rne(fma(a, ma, fma(b, mb, c))), lo, hi)`, operands
/// `A` and `B`, output `O`.
///
/// # Safety
/// See [`ElementwiseMicrokernel::run`](qnn_ir::backend::ElementwiseMicrokernel).
pub unsafe fn qlinear_add<A: Elem, B: Elem, O: Elem>(args: &ElementwiseArgs<'_>) {
    let ElementwiseOp::QLinearAdd { ma, mb, c, lo, hi } = *args.op else {
        debug_assert!(false, "qlinear_add called with {:?}", args.op);
        return;
    };
    for i in 0..args.n {
        // SAFETY: `a`, `b` and `out` hold `n` elements.
        let (a, b) = unsafe { (A::read(args.a, i), B::read(args.b, i)) };
        let v = (a as f32).mul_add(ma, (b as f32).mul_add(mb, c));
        // SAFETY: as above.
        unsafe { O::write(args.out, i, v.round_ties_even().max(lo).min(hi) as i32) };
    }
}

/// [`ElementwiseOp::Lookup`]: `out[i] = table[a[i] as u8]`, any pair of 8-bit dtypes.
///
/// # Safety
/// See [`ElementwiseMicrokernel::run`](qnn_ir::backend::ElementwiseMicrokernel).
pub unsafe fn lookup(args: &ElementwiseArgs<'_>) {
    let ElementwiseOp::Lookup { table } = *args.op else {
        debug_assert!(false, "lookup called with {:?}", args.op);
        return;
    };
    for i in 0..args.n {
        // SAFETY: `a` and `out` hold `n` bytes.
        unsafe { *args.out.add(i) = table[usize::from(*args.a.add(i))] };
    }
}

/// [`ElementwiseOp::Quantize`]: f32 to `O`.
///
/// # Safety
/// See [`ElementwiseMicrokernel::run`](qnn_ir::backend::ElementwiseMicrokernel).
pub unsafe fn quantize_f32<O: Elem>(args: &ElementwiseArgs<'_>) {
    let ElementwiseOp::Quantize { scale, zero_point, lo, hi } = *args.op else {
        debug_assert!(false, "quantize_f32 called with {:?}", args.op);
        return;
    };
    for i in 0..args.n {
        // SAFETY: `a` holds `n` f32, `out` `n` elements of `O`.
        unsafe {
            let x = F32::read(args.a, i);
            O::write(args.out, i, quantize(x, scale, zero_point, lo, hi));
        }
    }
}

/// [`ElementwiseOp::Dequantize`]: `E` to f32.
///
/// # Safety
/// See [`ElementwiseMicrokernel::run`](qnn_ir::backend::ElementwiseMicrokernel).
pub unsafe fn dequantize_f32<E: Elem>(args: &ElementwiseArgs<'_>) {
    let ElementwiseOp::Dequantize { zero_point, scale } = *args.op else {
        debug_assert!(false, "dequantize_f32 called with {:?}", args.op);
        return;
    };
    for i in 0..args.n {
        // SAFETY: `a` holds `n` elements of `E`, `out` `n` f32.
        unsafe { F32::write(args.out, i, dequantize(E::read(args.a, i), zero_point, scale)) };
    }
}
