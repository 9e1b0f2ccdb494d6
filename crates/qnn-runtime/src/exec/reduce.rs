//! Running the reduction steps. Each computes what the reference computes (integer sums
//! exact, with the same overflow errors; f32 sums in the reference's order).

use qnn_ir::{DType, DataLayout, IrError, PoolKind};

use super::elementwise::eval::{decode_int, encode_int};
use crate::program::reduce::{Pool, SumBlock};

impl SumBlock {
    /// Integers: exact into i32 (overflow is the reference's error). f32: accumulated per
    /// output in input order from +0.
    pub(crate) fn run(&self, op: &str, input: &[u8], out: &mut [u8]) -> Result<(), IrError> {
        let (r, inner) = (self.reduced, self.inner);
        let size = self.dtype.size_bytes();
        if self.dtype == DType::F32 {
            let mut acc = vec![0f32; inner];
            for o in 0..self.outer {
                acc.fill(0.0);
                for k in 0..r {
                    let at = ((o * r + k) * inner) * 4;
                    for (a, b) in acc.iter_mut().zip(input[at..at + inner * 4].chunks_exact(4)) {
                        *a += f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    }
                }
                for (d, a) in out[o * inner * 4..(o + 1) * inner * 4].chunks_exact_mut(4).zip(&acc)
                {
                    d.copy_from_slice(&a.to_le_bytes());
                }
            }
            return Ok(());
        }
        let mut acc = vec![0i64; inner];
        let mut row = vec![0i32; inner];
        let mut res = vec![0i32; inner];
        for o in 0..self.outer {
            acc.fill(0);
            for k in 0..r {
                let at = (o * r + k) * inner * size;
                decode_int(self.dtype, &input[at..at + inner * size], &mut row);
                acc.iter_mut().zip(&row).for_each(|(a, &v)| *a += i64::from(v));
            }
            if let Some(&value) = acc.iter().find(|&&v| i32::try_from(v).is_err()) {
                return Err(IrError::AccumulatorOverflow { op: op.into(), value });
            }
            res.iter_mut().zip(&acc).for_each(|(d, &a)| *d = a as i32);
            encode_int(DType::I32, &res, &mut out[o * inner * 4..(o + 1) * inner * 4]);
        }
        Ok(())
    }
}

impl Pool {
    /// Element strides of (n, c, y, x) in a tensor of `[n, c, h, w]` stored in `layout`.
    fn strides(layout: DataLayout, [_, c, h, w]: [usize; 4]) -> [usize; 4] {
        match layout {
            DataLayout::Nhwc => [h * w * c, 1, w * c, c],
            DataLayout::Nchw => [c * h * w, h * w, w, 1],
        }
    }

    /// The cells of the window of output `(oy, ox)`, in window order (rows, then columns):
    /// `Some((y, x))` inside the image, `None` in the padding.
    fn window(&self, oy: usize, ox: usize) -> impl Iterator<Item = Option<(usize, usize)>> + '_ {
        let p = &self.pool;
        let [_, _, h, w] = self.in_shape;
        (0..p.kernel[0]).flat_map(move |r| {
            (0..p.kernel[1]).map(move |s| {
                let py = (oy * p.strides[0] + r * p.dilation[0]).checked_sub(p.padding[0]);
                let px = (ox * p.strides[1] + s * p.dilation[1]).checked_sub(p.padding[1]);
                py.filter(|&y| y < h).zip(px.filter(|&x| x < w))
            })
        })
    }

    /// f32: sums from +0 in window order, padding counted as `pad_value`; maxima by
    /// `f32::max` in window order over the cells inside (NaN never wins), as the reference.
    fn run_f32(&self, op: &str, input: &[u8], out: &mut [u8]) -> Result<(), IrError> {
        let [n, c, _, _] = self.in_shape;
        let [oh, ow] = self.out_hw;
        let si = Self::strides(self.pool.layout, self.in_shape);
        let so = Self::strides(self.pool.layout, [n, c, oh, ow]);
        let x: Vec<f32> =
            input.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let pad = self.pad_value as f32;
        let mut acc: Vec<Option<f32>> = vec![None; c];
        for b in 0..n {
            for oy in 0..oh {
                for ox in 0..ow {
                    let sum = self.kind == PoolKind::Sum;
                    acc.fill(if sum { Some(0.0) } else { None });
                    for cell in self.window(oy, ox) {
                        match cell {
                            Some((y, xx)) => {
                                let at = b * si[0] + y * si[2] + xx * si[3];
                                for (ch, a) in acc.iter_mut().enumerate() {
                                    let v = x[at + ch * si[1]];
                                    *a = Some(match (*a, sum) {
                                        (Some(a), true) => a + v,
                                        (Some(a), false) => a.max(v),
                                        (None, _) => v,
                                    });
                                }
                            }
                            None if sum => acc.iter_mut().for_each(|a| *a = a.map(|a| a + pad)),
                            None => {}
                        }
                    }
                    let at = b * so[0] + oy * so[2] + ox * so[3];
                    for (ch, a) in acc.iter().enumerate() {
                        let v = a.ok_or_else(|| IrError::Attribute {
                            op: op.into(),
                            attr: "padding".into(),
                            value: format!("{:?}", self.pool.padding),
                            msg: "a window covers only padding: it has no maximum".into(),
                        })?;
                        let o = (at + ch * so[1]) * 4;
                        out[o..o + 4].copy_from_slice(&v.to_le_bytes());
                    }
                }
            }
        }
        Ok(())
    }

    pub(crate) fn run(&self, op: &str, input: &[u8], out: &mut [u8]) -> Result<(), IrError> {
        if self.dtype == DType::F32 {
            return self.run_f32(op, input, out);
        }
        let [n, c, h, w] = self.in_shape;
        let [oh, ow] = self.out_hw;
        let p = &self.pool;
        let si = Self::strides(p.layout, self.in_shape);
        let so = Self::strides(p.layout, [n, c, oh, ow]);
        let mut x = vec![0i32; n * h * w * c];
        decode_int(self.dtype, input, &mut x);
        let (out_dtype, init) = match self.kind {
            PoolKind::Sum => (DType::I32, 0),
            PoolKind::Max => (self.dtype, i64::MIN),
        };
        let mut acc = vec![0i64; c];
        let mut res = vec![0i32; n * c * oh * ow];
        for b in 0..n {
            for oy in 0..oh {
                for ox in 0..ow {
                    acc.fill(init);
                    for r in 0..p.kernel[0] {
                        for s in 0..p.kernel[1] {
                            let py =
                                (oy * p.strides[0] + r * p.dilation[0]).checked_sub(p.padding[0]);
                            let px =
                                (ox * p.strides[1] + s * p.dilation[1]).checked_sub(p.padding[1]);
                            match (py.filter(|&y| y < h), px.filter(|&x| x < w)) {
                                (Some(y), Some(xx)) => {
                                    let at = b * si[0] + y * si[2] + xx * si[3];
                                    for (ch, a) in acc.iter_mut().enumerate() {
                                        let v = i64::from(x[at + ch * si[1]]);
                                        *a = if self.kind == PoolKind::Sum {
                                            *a + v
                                        } else {
                                            (*a).max(v)
                                        };
                                    }
                                }
                                _ if self.kind == PoolKind::Sum => {
                                    acc.iter_mut().for_each(|a| *a += i64::from(self.pad_value))
                                }
                                _ => {}
                            }
                        }
                    }
                    if let Some(&value) = acc.iter().find(|&&v| i32::try_from(v).is_err()) {
                        return Err(if self.kind == PoolKind::Sum {
                            IrError::AccumulatorOverflow { op: op.into(), value }
                        } else {
                            IrError::Attribute {
                                op: op.into(),
                                attr: "padding".into(),
                                value: format!("{:?}", p.padding),
                                msg: "a window covers only padding: it has no maximum".into(),
                            }
                        });
                    }
                    let at = b * so[0] + oy * so[2] + ox * so[3];
                    for (ch, &a) in acc.iter().enumerate() {
                        res[at + ch * so[1]] = a as i32;
                    }
                }
            }
        }
        encode_int(out_dtype, &res, out);
        Ok(())
    }
}
