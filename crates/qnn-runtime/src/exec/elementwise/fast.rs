//! The whole-group loops of [`FastForm`] (recognized by the program builder): exactly the
//! IEEE operations of the instructions they replace, in the same order.

use super::eval::{decode_f32, decode_int};
use crate::program::elementwise::fast::FastForm;
use crate::program::elementwise::numeric::round_half_even;

/// `c` (an integer value of an 8-bit range) as i32 without a saturating conversion (see
/// `eval::small_f32_to_i32`).
#[inline(always)]
fn to_i32(c: f32) -> i32 {
    (c + 12_582_912.0).to_bits() as i32 - 0x4B40_0000
}

impl FastForm {
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
