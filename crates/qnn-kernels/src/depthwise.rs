//! The depthwise driver: one input channel per group, `cm = out_c / in_c` outputs each.
//!
//! A thread takes a contiguous range of output rows. It converts the input rows they read
//! into padded rows (offset applied, horizontal padding stored, each channel repeated `cm`
//! times so the kernel sees multiplier 1), then calls the microkernel once per output row
//! with `kh` row pointers; rows above or below the image point at one shared row of the pad
//! value.

use qnn_ir::IntSlice;
use qnn_ir::backend::{DepthwiseArgs, DepthwiseMicrokernel};

use crate::aligned::AlignedBytes;
use crate::convert::{convert_run, fill_run};
use crate::epilogue::PreparedEpilogue;
use crate::error::KernelError;
use crate::pack::{get, pack_depthwise, put};
use crate::problem::ConvProblem;
use crate::threads::{ThreadPool, split};
use crate::{SyncPtr, check_len};

/// A depthwise layer planned on a [`DepthwiseMicrokernel`].
#[derive(Debug)]
pub struct DepthwisePlan {
    problem: ConvProblem,
    out_hw: [usize; 2],
    name: &'static str,
    kernel: DepthwiseMicrokernel,
    weights: AlignedBytes,
    epilogue: PreparedEpilogue,
    /// A padded row of the pad value (rows outside the image).
    pad_row: AlignedBytes,
    /// Elements of one padded row, slack included.
    row_elems: usize,
}

impl DepthwisePlan {
    pub(crate) fn new(
        problem: &ConvProblem,
        weights: IntSlice<'_>,
        epilogue: PreparedEpilogue,
        name: &'static str,
        kernel: DepthwiseMicrokernel,
    ) -> Result<Self, KernelError> {
        let out_hw = problem.validate()?;
        let g = &problem.geometry;
        if !g.is_depthwise() {
            return Err(KernelError::NotApplicable {
                kernel: name,
                why: format!(
                    "{} input channels per group is not depthwise",
                    g.channels_per_group()
                ),
            });
        }
        let (elem, welem) = kernel.packed;
        let (lo, hi) = problem.shifted_data_range();
        let (wlo, whi) = weights.min_max().map_or((0, 0), |(a, b)| (a.min(0), b.max(0)));
        if !elem.contains(lo) || !elem.contains(hi) {
            return Err(KernelError::NotApplicable {
                kernel: name,
                why: format!("data spans {lo}..={hi}, outside its element type {elem}"),
            });
        }
        if !welem.contains(i64::from(wlo)) || !welem.contains(i64::from(whi)) {
            return Err(KernelError::NotApplicable {
                kernel: name,
                why: format!("weights span {wlo}..={whi}, outside its element type {welem}"),
            });
        }
        let taps = g.kernel[0] * g.kernel[1];
        let packed = pack_depthwise(weights, g.out_c, taps, kernel.block, kernel.kr, welem);
        let [_, pl, _, pr] = g.padding;
        // Rows are whole cache lines (slack included), so every row starts aligned.
        let size = elem.size_bytes();
        let row_elems = ((pl + g.in_w + pr) * g.out_c + kernel.block).next_multiple_of(64 / size);
        let mut pad_row = AlignedBytes::zeroed(row_elems * size);
        let real = (pl + g.in_w + pr) * g.out_c;
        fill_run(pad_row.as_mut_slice(), elem, real, problem.pad_value - problem.data_offset);
        Ok(DepthwisePlan {
            problem: problem.clone(),
            out_hw,
            name,
            kernel,
            weights: packed,
            epilogue,
            pad_row,
            row_elems,
        })
    }

    /// The kernel's name.
    pub fn kernel_name(&self) -> &'static str {
        self.name
    }

    /// Bytes of packed weights.
    pub fn packed_bytes(&self) -> usize {
        self.weights.len()
    }

    /// Input rows a task of `rows` output rows converts, at most.
    fn rows_per_task(&self, out_rows: usize) -> usize {
        let g = &self.problem.geometry;
        let span = (out_rows.max(1) - 1) * g.strides[0] + (g.kernel[0] - 1) * g.dilation[0] + 1;
        span.min(g.in_h)
    }

    /// Scratch bytes [`run`](Self::run) needs with `threads` threads.
    pub fn scratch_bytes(&self, threads: usize) -> usize {
        let g = &self.problem.geometry;
        let [oh, _] = self.out_hw;
        let tasks = threads.clamp(1, (g.batch * oh).max(1));
        let rows = if self.direct() {
            g.kernel[0]
        } else {
            self.rows_per_task((g.batch * oh).div_ceil(tasks))
        };
        let per_task = rows * self.row_elems * self.kernel.packed.0.size_bytes();
        // Each task's part starts on a 64-byte boundary.
        tasks * per_task.next_multiple_of(64) + 64
    }

    /// Computes the layer (see [`GemmPlan::run`](crate::GemmPlan::run)).
    pub fn run(
        &self,
        input: &[u8],
        output: &mut [u8],
        scratch: &mut [u8],
        pool: &ThreadPool,
    ) -> Result<(), KernelError> {
        let g = &self.problem.geometry;
        let [oh, _] = self.out_hw;
        check_len("input", input.len(), g.input_len() * self.problem.data.size_bytes())?;
        let out_size = self.epilogue.out_dtype().size_bytes();
        check_len("output", output.len(), g.output_len() * out_size)?;
        let need = self.scratch_bytes(pool.threads());
        if scratch.len() < need {
            return Err(KernelError::Scratch(format!(
                "{} bytes given, {need} needed",
                scratch.len()
            )));
        }
        let out_rows = g.batch * oh;
        let tasks = pool.threads().clamp(1, out_rows.max(1));
        let rows_per_task =
            if self.direct() { g.kernel[0] } else { self.rows_per_task(out_rows.div_ceil(tasks)) };
        let part = (rows_per_task * self.row_elems * self.kernel.packed.0.size_bytes())
            .next_multiple_of(64);
        let parts: Vec<std::sync::Mutex<&mut [u8]>> =
            scratch[..tasks * part].chunks_mut(part.max(1)).map(std::sync::Mutex::new).collect();
        let out = SyncPtr(output.as_mut_ptr());
        pool.run(tasks, &|task| {
            let mut buf = parts[task].lock().unwrap_or_else(|e| e.into_inner());
            let rows = split(out_rows, tasks, task);
            // SAFETY: tasks write disjoint output rows.
            unsafe {
                if self.direct() {
                    self.rows_direct(input, &mut buf, out.get(), rows);
                } else {
                    self.rows(input, &mut buf, out.get(), rows);
                }
            }
        })
    }

    /// True when the kernel reads the input rows as they are (same element type, no offset,
    /// multiplier 1), copying only the few edge pixels whose windows reach into the padding
    /// into small padded rows. That costs two more kernel calls per output row (about 500
    /// cycles) instead of copying the `stride_h` input rows per output row: measured on
    /// the suite, direct wins from about 8 KiB of input per output row (56×144 at stride 2:
    /// 0.059 → 0.049 ms) and loses below (112×32 at stride 1: 0.122 → 0.141 ms).
    fn direct(&self) -> bool {
        let p = &self.problem;
        let g = &p.geometry;
        let bytes_per_out_row = g.strides[0] * g.in_w * g.in_c * p.data.size_bytes();
        p.data == self.kernel.packed.0
            && p.data_offset == 0
            && g.out_c == g.in_c
            && bytes_per_out_row >= 8 * 1024
    }

    /// Computes output rows `rows` reading the input in place: per output row, one kernel
    /// call for the pixels whose windows lie inside the image horizontally, and calls on
    /// small padded copies for the pixels at the left and right edges.
    ///
    /// # Safety
    /// `out` must be valid for the whole output; no other task writes these rows.
    unsafe fn rows_direct(
        &self,
        input: &[u8],
        buf: &mut [u8],
        out: *mut u8,
        rows: std::ops::Range<usize>,
    ) {
        let g = &self.problem.geometry;
        let [oh, ow] = self.out_hw;
        let [kh, kw] = g.kernel;
        let [sh, sw] = g.strides;
        let [dh, dw] = g.dilation;
        let [pt, pl, _, _] = g.padding;
        let c = g.out_c;
        let size = self.kernel.packed.0.size_bytes();
        let out_size = self.epilogue.out_dtype().size_bytes();
        let row_bytes = self.row_elems * size;
        let span = (kw - 1) * dw;
        // Interior: x·sw ≥ pl and x·sw − pl + span ≤ W − 1.
        let xa = pl.div_ceil(sw).min(ow);
        let xb =
            if g.in_w + pl > span { ((g.in_w - 1 + pl - span) / sw + 1).clamp(xa, ow) } else { xa };
        let mut ptrs = vec![std::ptr::null::<u8>(); kh];
        for r in rows {
            let (n, y) = (r / oh, r % oh);
            // SAFETY: the first element of output row (n, y), in bounds.
            let out_row = unsafe { out.add(((n * oh + y) * ow) * c * out_size) };
            let iy = |rr: usize| (y * sh + rr * dh).checked_sub(pt).filter(|&iy| iy < g.in_h);
            // The interior reads up to a block past the end of its last window (pixel
            // `(xb − 1)·sw − pl + span`): that must stay inside `input`, else the row goes
            // through the padded copies entirely.
            let last_read =
                ((xb.max(1) - 1) * sw + span + 1).saturating_sub(pl) * c + self.kernel.block;
            let fits = (0..kh)
                .filter_map(iy)
                .all(|iy| ((n * g.in_h + iy) * g.in_w * c + last_read) * size <= input.len());
            let (xa, xb) = if fits && xb > xa { (xa, xb) } else { (0, 0) };
            if xb > xa {
                let first = xa * sw - pl;
                for (rr, p) in ptrs.iter_mut().enumerate() {
                    *p = match iy(rr) {
                        Some(iy) => {
                            input[((n * g.in_h + iy) * g.in_w + first) * c * size..].as_ptr()
                        }
                        // The pad row holds the padded row: pixel `first` is at `first + pl`.
                        None => self.pad_row.as_slice()[(first + pl) * c * size..].as_ptr(),
                    };
                }
                // SAFETY: in-image rows are read from `first` up to `last_read` elements,
                // inside `input` (checked above); the pad row has the slack.
                unsafe { self.call(&ptrs, xb - xa, out_row.add(xa * c * out_size)) };
            }
            for (x0, x1) in [(0, xa), (xb, ow)] {
                if x1 <= x0 {
                    continue;
                }
                // Input columns [x0·sw − pl, (x1 − 1)·sw − pl + span], padded.
                let cols = (x1 - 1 - x0) * sw + span + 1;
                for (rr, p) in ptrs.iter_mut().enumerate() {
                    let mini = &mut buf[rr * row_bytes..(rr + 1) * row_bytes];
                    for j in 0..cols {
                        let col = (x0 * sw + j).checked_sub(pl).filter(|&ix| ix < g.in_w);
                        let dst = &mut mini[j * c * size..(j + 1) * c * size];
                        match (iy(rr), col) {
                            (Some(iy), Some(ix)) => {
                                let at = ((n * g.in_h + iy) * g.in_w + ix) * c * size;
                                dst.copy_from_slice(&input[at..at + c * size]);
                            }
                            _ => fill_run(dst, self.kernel.packed.0, c, self.problem.pad_value),
                        }
                    }
                    *p = mini.as_ptr();
                }
                // SAFETY: the mini rows hold `cols` pixels plus a block of slack.
                unsafe { self.call(&ptrs, x1 - x0, out_row.add(x0 * c * out_size)) };
            }
        }
    }

    /// One kernel call on `ow` output pixels from row pointers `ptrs`.
    ///
    /// # Safety
    /// Rows readable as [`DepthwiseArgs`] requires; `out` valid for the pixels.
    unsafe fn call(&self, ptrs: &[*const u8], ow: usize, out: *mut u8) {
        let g = &self.problem.geometry;
        let epi = self.epilogue.view(0);
        let args = DepthwiseArgs {
            rows: ptrs.as_ptr(),
            kh: g.kernel[0],
            kw: g.kernel[1],
            stride_w: g.strides[1],
            dilation_w: g.dilation[1],
            ow,
            channels: g.out_c,
            weights: self.weights.as_slice().as_ptr(),
            epilogue: &epi,
            out,
        };
        // SAFETY: the caller's guarantees; weights and epilogue are laid out for this
        // kernel, whose probe passed.
        unsafe { (self.kernel.run)(&args) };
    }

    /// Computes output rows `rows` (over the batch), converting input rows into `buf`.
    ///
    /// # Safety
    /// `out` must be valid for the whole output; no other task writes these rows.
    unsafe fn rows(
        &self,
        input: &[u8],
        buf: &mut [u8],
        out: *mut u8,
        rows: std::ops::Range<usize>,
    ) {
        let g = &self.problem.geometry;
        let [oh, ow] = self.out_hw;
        let [kh, kw] = g.kernel;
        let [sh, sw] = g.strides;
        let [dh, dw] = g.dilation;
        let pt = g.padding[0];
        let elem = self.kernel.packed.0;
        let row_bytes = self.row_elems * elem.size_bytes();
        let out_size = self.epilogue.out_dtype().size_bytes();
        let epi = self.epilogue.view(0);
        let mut ptrs = vec![std::ptr::null::<u8>(); kh];
        let mut r = rows.start;
        while r < rows.end {
            // The rows of one image: y0..y1.
            let n = r / oh;
            let y0 = r % oh;
            let y1 = oh.min(y0 + rows.end - r);
            // Input rows [iy0, iy1) read by them.
            let iy0 = (y0 * sh).saturating_sub(pt).min(g.in_h);
            let iy1 = ((y1 - 1) * sh + (kh - 1) * dh + 1).saturating_sub(pt).min(g.in_h);
            for iy in iy0..iy1.max(iy0) {
                self.pad_input_row(input, n, iy, &mut buf[(iy - iy0) * row_bytes..][..row_bytes]);
            }
            for y in y0..y1 {
                for (rr, p) in ptrs.iter_mut().enumerate() {
                    *p = match (y * sh + rr * dh).checked_sub(pt).filter(|&iy| iy < g.in_h) {
                        Some(iy) => buf[(iy - iy0) * row_bytes..].as_ptr(),
                        None => self.pad_row.as_slice().as_ptr(),
                    };
                }
                let args = DepthwiseArgs {
                    rows: ptrs.as_ptr(),
                    kh,
                    kw,
                    stride_w: sw,
                    dilation_w: dw,
                    ow,
                    channels: g.out_c,
                    weights: self.weights.as_slice().as_ptr(),
                    epilogue: &epi,
                    // SAFETY: the first element of output row (n, y), in bounds.
                    out: unsafe { out.add(((n * oh + y) * ow) * g.out_c * out_size) },
                };
                // SAFETY: rows are padded with `block` elements of slack, weights and
                // epilogue are laid out for this kernel, whose probe passed.
                unsafe { (self.kernel.run)(&args) };
            }
            r += y1 - y0;
        }
    }

    /// Writes input row `iy` of image `n` as a padded row: offset applied, channels repeated
    /// `cm` times, `pl`/`pr` pixels of the pad value, zero slack.
    fn pad_input_row(&self, input: &[u8], n: usize, iy: usize, dst: &mut [u8]) {
        let p = &self.problem;
        let g = &p.geometry;
        let elem = self.kernel.packed.0;
        let cm = g.out_c / g.in_c;
        let [_, pl, _, pr] = g.padding;
        let pad = p.pad_value - p.data_offset;
        let c = g.out_c;
        let src = (n * g.in_h + iy) * g.in_w * g.in_c;
        let (dsize, esize) = (p.data.size_bytes(), elem.size_bytes());
        if cm == 1 {
            let n = g.in_w * c;
            convert_run(
                &input[src * dsize..],
                p.data,
                &mut dst[pl * c * esize..],
                elem,
                n,
                p.data_offset,
            );
        } else {
            for x in 0..g.in_w {
                for k in 0..c {
                    let v = get(input, p.data, src + x * g.in_c + k / cm);
                    put(dst, elem, (pl + x) * c + k, v - p.data_offset);
                }
            }
        }
        fill_run(dst, elem, pl * c, pad);
        fill_run(&mut dst[(pl + g.in_w) * c * esize..], elem, pr * c, pad);
        let end = (pl + g.in_w + pr) * c;
        fill_run(&mut dst[end * esize..], elem, self.row_elems - end, 0);
    }
}
