//! Indirect convolution: where each tap of each output pixel reads its data.
//!
//! Instead of an im2col copy, a microkernel gets one pointer per (tap, row) into the input
//! (or into a converted copy of it), or into a buffer of the pad value for taps outside the
//! image (Maratos/Dukhan's indirect GEMM). A converted copy is made only when the kernel's
//! element type differs from the input's (int16 widening, the fused data offset), when the
//! channels of a group must be padded to the kernel's `kr`, or for [`TapMode::Rows`], whose
//! taps run over a horizontally padded row.

use qnn_ir::DType;

use crate::pack::{TapLayout, TapMode, put};
use crate::problem::ConvProblem;

/// Where the data of the GEMM rows lives, and how to find a tap.
#[derive(Debug, Clone)]
pub struct Source {
    /// Element type the kernel reads.
    pub elem: DType,
    /// Whether the kernel reads a converted copy (else the input itself).
    pub copy: bool,
    /// Elements per stored pixel.
    pub pixel_stride: usize,
    /// Elements between the first channels of consecutive groups in a pixel.
    pub group_stride: usize,
    /// Pixels per stored row (the input width, plus the horizontal padding in `Rows` mode).
    pub row_pixels: usize,
    /// Horizontal padding stored in the copy (`Rows` mode), (left, right).
    pub stored_pad: [usize; 2],
    /// The tap structure.
    pub taps: TapLayout,
    /// `kc` elements of the pad value (offset applied), as the kernel's element type.
    pub pad_run: Vec<u8>,
}

/// Converts a data value to the kernel's element domain.
#[inline]
fn shifted(v: i32, offset: i32) -> i32 {
    v - offset
}

/// Reads element `i` of a little-endian `dtype` buffer.
#[inline]
pub(crate) fn get(buf: &[u8], dtype: DType, i: usize) -> i32 {
    match dtype {
        DType::U8 => i32::from(buf[i]),
        DType::I8 => i32::from(buf[i] as i8),
        _ => i32::from(i16::from_le_bytes([buf[2 * i], buf[2 * i + 1]])),
    }
}

impl Source {
    /// The source for `problem` read as `elem` with taps `taps`. The caller checked that the
    /// shifted data range fits `elem`.
    pub fn new(problem: &ConvProblem, elem: DType, taps: TapLayout) -> Self {
        let g = &problem.geometry;
        let cg = g.channels_per_group();
        let direct = elem == problem.data
            && problem.data_offset == 0
            && taps.mode == TapMode::Positions
            && taps.kc == cg;
        let (pixel_stride, group_stride, row_pixels, stored_pad) = match taps.mode {
            TapMode::Positions if direct => (g.in_c, cg, g.in_w, [0, 0]),
            TapMode::Positions => (g.groups * taps.kc, taps.kc, g.in_w, [0, 0]),
            TapMode::Rows => {
                let [_, pl, _, pr] = g.padding;
                (g.in_c, 0, pl + g.in_w + pr, [pl, pr])
            }
        };
        let mut pad_run = vec![0u8; taps.kc * elem.size_bytes()];
        for i in 0..taps.kc_real {
            put(&mut pad_run, elem, i, shifted(problem.pad_value, problem.data_offset));
        }
        Source {
            elem,
            copy: !direct,
            pixel_stride,
            group_stride,
            row_pixels,
            stored_pad,
            taps,
            pad_run,
        }
    }

    /// Bytes of the converted copy (0 when the input is read directly). `Rows` mode adds
    /// `kc` elements of slack: the last tap of the last row may read past its real
    /// elements.
    pub fn copy_bytes(&self, problem: &ConvProblem) -> usize {
        if !self.copy {
            return 0;
        }
        let g = &problem.geometry;
        let elems = g.batch * g.in_h * self.row_pixels * self.pixel_stride + self.taps.kc;
        elems * self.elem.size_bytes()
    }

    /// Fills the converted copy from `input` (elements of `problem.data`).
    pub fn fill_copy(&self, problem: &ConvProblem, input: &[u8], copy: &mut [u8]) {
        let g = &problem.geometry;
        let cg = g.channels_per_group();
        let (data, off) = (problem.data, problem.data_offset);
        let pad = shifted(problem.pad_value, off);
        copy.fill(0);
        let rows = g.batch * g.in_h;
        for row in 0..rows {
            let [pl, pr] = self.stored_pad;
            let dst_row = row * self.row_pixels * self.pixel_stride;
            for x in 0..pl {
                for c in 0..self.pixel_stride {
                    put(copy, self.elem, dst_row + x * self.pixel_stride + c, pad);
                }
            }
            for x in pl + g.in_w..pl + g.in_w + pr {
                for c in 0..self.pixel_stride {
                    put(copy, self.elem, dst_row + x * self.pixel_stride + c, pad);
                }
            }
            for x in 0..g.in_w {
                let src = (row * g.in_w + x) * g.in_c;
                let dst = dst_row + (pl + x) * self.pixel_stride;
                for grp in 0..g.groups {
                    for c in 0..cg {
                        let v = get(input, data, src + grp * cg + c);
                        put(copy, self.elem, dst + grp * self.group_stride + c, shifted(v, off));
                    }
                }
            }
        }
    }

    /// Byte offset in the source of tap `t` of output pixel `(n, y, x)`, group `grp`, or
    /// `None` when the tap reads padding.
    #[inline]
    pub fn tap_offset(
        &self,
        problem: &ConvProblem,
        (n, y, x): (usize, usize, usize),
        t: usize,
        grp: usize,
    ) -> Option<usize> {
        let g = &problem.geometry;
        let [sh, sw] = g.strides;
        let [dh, dw] = g.dilation;
        let [pt, pl, _, _] = g.padding;
        let (r, s) = match self.taps.mode {
            TapMode::Positions => (t / g.kernel[1], t % g.kernel[1]),
            TapMode::Rows => (t, 0),
        };
        let iy = (y * sh + r * dh).checked_sub(pt).filter(|&iy| iy < g.in_h)?;
        let col = match self.taps.mode {
            // The stored row starts `pl` pixels left of the image.
            TapMode::Rows => x * sw,
            TapMode::Positions => (x * sw + s * dw).checked_sub(pl).filter(|&ix| ix < g.in_w)?,
        };
        let pixel = (n * g.in_h + iy) * self.row_pixels + col;
        Some((pixel * self.pixel_stride + grp * self.group_stride) * self.elem.size_bytes())
    }

    /// The window sum of one row: Σ over taps of the first `kc_real` elements each reads.
    ///
    /// # Safety
    /// Every pointer must be valid for `kc_real` elements of `self.elem`.
    pub unsafe fn window_sum(&self, ptrs: impl Iterator<Item = *const u8>) -> i32 {
        let mut sum = 0i32;
        for p in ptrs {
            let n = self.taps.kc_real;
            // SAFETY: the caller guarantees `n` readable elements at `p`.
            let bytes = unsafe { std::slice::from_raw_parts(p, n * self.elem.size_bytes()) };
            sum = sum.wrapping_add(match self.elem {
                DType::U8 => bytes.iter().map(|&b| i32::from(b)).sum(),
                DType::I8 => bytes.iter().map(|&b| i32::from(b as i8)).sum(),
                _ => (0..n).map(|i| get(bytes, DType::I16, i)).sum(),
            });
        }
        sum
    }
}
