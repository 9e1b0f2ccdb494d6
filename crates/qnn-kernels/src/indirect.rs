//! Indirect convolution: where each tap of each output pixel reads its data.
//!
//! Instead of an im2col copy, a microkernel gets one pointer per (tap, row) into the input
//! (or into a converted copy of it), or into a buffer of the pad value for taps outside the
//! image (Maratos/Dukhan's indirect GEMM). A converted copy is made only when the kernel's
//! element type differs from the input's (int16 widening, the fused data offset), when the
//! channels of a group must be padded to the kernel's `kr`, or for [`TapMode::Rows`], whose
//! taps run over a horizontally padded row.

use qnn_ir::DType;

use crate::convert::{convert_run, fill_run};
use crate::pack::{TapLayout, TapMode, get, put};
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

/// Per-tap offsets, precomputed once per run: tap `t` reads pixel `(iy0 + dy[t], ix0 +
/// dx[t])`, `delta_bytes[t]` bytes after the window's first pixel.
#[derive(Debug, Clone)]
pub struct TapTable {
    dy: Vec<isize>,
    dx: Vec<isize>,
    /// Byte offset of each tap from the window's first pixel.
    delta_bytes: Vec<isize>,
    stride: [usize; 2],
    pad: [isize; 2],
    /// Extent of the window beyond its first pixel (rows, columns).
    span: [isize; 2],
    in_h: usize,
    limit_x: isize,
    /// Bytes between the windows of two neighbouring output columns.
    pub step_bytes: isize,
}

/// Converts a data value to the kernel's element domain.
#[inline]
fn shifted(v: i32, offset: i32) -> i32 {
    v - offset
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

    /// Fills the converted copy from `input` (elements of `problem.data`). Slots that hold
    /// no data (channel padding, slack) are left as they are: they meet zero weights and
    /// are not part of any window sum.
    pub fn fill_copy(&self, problem: &ConvProblem, input: &[u8], copy: &mut [u8]) {
        let rows = problem.geometry.batch * problem.geometry.in_h;
        self.fill_copy_rows(problem, input, copy, 0..rows);
    }

    /// Bytes of one stored row of the converted copy.
    pub fn copy_row_bytes(&self) -> usize {
        self.row_pixels * self.pixel_stride * self.elem.size_bytes()
    }

    /// [`fill_copy`](Self::fill_copy) for the stored rows `rows` (over the batch) only:
    /// `copy` starts at the first of them.
    pub fn fill_copy_rows(
        &self,
        problem: &ConvProblem,
        input: &[u8],
        copy: &mut [u8],
        rows: std::ops::Range<usize>,
    ) {
        let g = &problem.geometry;
        let cg = g.channels_per_group();
        let (data, off) = (problem.data, problem.data_offset);
        let pad = shifted(problem.pad_value, off);
        let (dsize, esize) = (data.size_bytes(), self.elem.size_bytes());
        let [pl, pr] = self.stored_pad;
        let row_elems = self.row_pixels * self.pixel_stride;
        for (i, row) in rows.enumerate() {
            let dst_row = &mut copy[i * row_elems * esize..(i + 1) * row_elems * esize];
            fill_run(dst_row, self.elem, pl * self.pixel_stride, pad);
            let right = (pl + g.in_w) * self.pixel_stride;
            fill_run(&mut dst_row[right * esize..], self.elem, pr * self.pixel_stride, pad);
            let src_row = &input[row * g.in_w * g.in_c * dsize..];
            let dst = &mut dst_row[pl * self.pixel_stride * esize..];
            if self.pixel_stride == g.in_c {
                // Channels are not padded: the row is one run.
                convert_run(src_row, data, dst, self.elem, g.in_w * g.in_c, off);
            } else {
                for x in 0..g.in_w {
                    for grp in 0..g.groups {
                        let s = (x * g.in_c + grp * cg) * dsize;
                        let d = (x * self.pixel_stride + grp * self.group_stride) * esize;
                        convert_run(&src_row[s..], data, &mut dst[d..], self.elem, cg, off);
                    }
                }
            }
        }
    }

    /// Fills the `taps` pointers of one GEMM row (output pixel `(n, y, x)`, group `grp`)
    /// into `out[t · stride]`: into `src`, or the pad run for taps outside the image.
    /// Returns whether the whole window was inside (see [`next_inside`](Self::next_inside)).
    #[inline]
    pub fn fill_row(
        &self,
        table: &TapTable,
        (n, y, x): (usize, usize, usize),
        grp: usize,
        src: &[u8],
        out: &mut [*const u8],
        stride: usize,
    ) -> bool {
        let esize = self.elem.size_bytes() as isize;
        let iy0 = (y * table.stride[0]) as isize - table.pad[0];
        let ix0 = match self.taps.mode {
            // The stored row starts `pl` pixels left of the image: column x·sw.
            TapMode::Rows => (x * table.stride[1]) as isize,
            TapMode::Positions => (x * table.stride[1]) as isize - table.pad[1],
        };
        let base = (((n * table.in_h) as isize + iy0) * self.row_pixels as isize + ix0)
            * self.pixel_stride as isize
            + (grp * self.group_stride) as isize;
        let inside_y = iy0 >= 0 && iy0 + table.span[0] < table.in_h as isize;
        let inside_x = ix0 >= 0 && ix0 + table.span[1] < table.limit_x;
        let pad = self.pad_run.as_ptr();
        let origin = src.as_ptr();
        let base_bytes = base * esize;
        if inside_y && inside_x {
            // The whole window is inside the source: every offset is in bounds (the last tap
            // of the window is the farthest; checked in debug builds).
            debug_assert!(
                base_bytes + table.delta_bytes.last().copied().unwrap_or(0) < src.len() as isize
            );
            for (t, &d) in table.delta_bytes.iter().enumerate() {
                out[t * stride] = origin.wrapping_offset(base_bytes + d);
            }
            true
        } else {
            for (t, &d) in table.delta_bytes.iter().enumerate() {
                let (iy, ix) = (iy0 + table.dy[t], ix0 + table.dx[t]);
                let ok = iy >= 0 && iy < table.in_h as isize && ix >= 0 && ix < table.limit_x;
                out[t * stride] = if ok { origin.wrapping_offset(base_bytes + d) } else { pad };
            }
            false
        }
    }

    /// Whether the window of output column `x` lies inside the source horizontally, given
    /// that the window of column `x − 1` in the same output row was inside: then its
    /// pointers are those of `x − 1` moved by [`TapTable::step_bytes`].
    #[inline]
    pub fn next_inside(&self, table: &TapTable, x: usize) -> bool {
        (x * table.stride[1]) as isize - table.pad[1] + table.span[1] < table.limit_x
            || self.taps.mode == TapMode::Rows
    }

    /// The per-tap offsets of this source for `problem`.
    pub fn tap_table(&self, problem: &ConvProblem) -> TapTable {
        let g = &problem.geometry;
        let [kh, kw] = g.kernel;
        let [dh, dw] = g.dilation;
        let esize = self.elem.size_bytes() as isize;
        let (mut dy, mut dx, mut delta_bytes) = (Vec::new(), Vec::new(), Vec::new());
        for t in 0..self.taps.taps {
            let (r, s) = match self.taps.mode {
                TapMode::Positions => (t / kw, t % kw),
                TapMode::Rows => (t, 0),
            };
            let (y, x) = ((r * dh) as isize, (s * dw) as isize);
            dy.push(y);
            dx.push(x);
            delta_bytes
                .push((y * self.row_pixels as isize + x) * self.pixel_stride as isize * esize);
        }
        let span_x = match self.taps.mode {
            TapMode::Positions => ((kw - 1) * dw) as isize,
            TapMode::Rows => 0,
        };
        TapTable {
            dy,
            dx,
            delta_bytes,
            stride: g.strides,
            pad: [g.padding[0] as isize, g.padding[1] as isize],
            span: [((kh - 1) * dh) as isize, span_x],
            in_h: g.in_h,
            // Columns a tap may start at: the image (or the stored, padded row).
            limit_x: match self.taps.mode {
                TapMode::Positions => g.in_w as isize,
                TapMode::Rows => self.row_pixels as isize,
            },
            step_bytes: (g.strides[1] * self.pixel_stride) as isize * esize,
        }
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
