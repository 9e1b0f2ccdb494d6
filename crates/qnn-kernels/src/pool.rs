//! The pooling driver: max, ONNX Runtime's f32 average and the exact i32 window sum over
//! NHWC data on a [`PoolMicrokernel`].
//!
//! The geometry is `qnn_ir`'s (`Pool2dAttrs`, [`qnn_ir::window_output`]): output `(y, x)`
//! reads input `(y·sh + r·dh − pt, x·sw + s·dw − pl)` for the taps `(r, s)` in window order
//! (rows, then columns); a ceil-mode window is already resolved into the bottom/right padding.
//! The frame points each padded cell at a pixel of the pad value (the dtype's minimum for
//! max, `zp_in` for the average, the given value for the sum), so the kernel never tests
//! bounds, and gives the average its divisor per output pixel.
//!
//! A thread takes a contiguous range of output rows (or, when there are fewer rows than
//! threads, of (row, channel block) pieces: global pooling has one row per image), builds
//! the cell pointers of a run of pixels of a row and calls the kernel on them. Every output
//! element is computed by one call, over the same cells in the same order, whatever the
//! partition.

use qnn_ir::DType;
use qnn_ir::backend::{KernelEntry, KernelImpl, PoolArgs, PoolMicrokernel, PoolOp};

use crate::aligned::AlignedBytes;
use crate::convert::fill_run;
use crate::error::KernelError;
use crate::select::{choose_in_order, other_dtypes, other_kind, probes};
use crate::threads::{ThreadPool, split};
use crate::{SyncPtr, check_len};

/// Below this many cell reads a layer runs on the calling thread.
const SMALL_WORK: usize = 32 * 1024;
/// Cell pointers built per kernel call, at most (a few pixels' windows; one pixel always).
const POINTERS_PER_CALL: usize = 4096;
/// Channels of a piece when a row is split over threads.
const CHANNEL_BLOCK: usize = 64;

/// The shape and window of a 2-D pooling over NHWC `[batch, in_h, in_w, channels]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolGeometry {
    pub batch: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub channels: usize,
    /// (height, width) of the window.
    pub kernel: [usize; 2],
    pub strides: [usize; 2],
    /// (top, left, bottom, right); ceil mode is extra bottom/right padding.
    pub padding: [usize; 4],
    pub dilation: [usize; 2],
}

impl PoolGeometry {
    /// A window over the whole image: one output pixel per image and channel.
    pub fn global(batch: usize, in_h: usize, in_w: usize, channels: usize) -> Self {
        PoolGeometry {
            batch,
            in_h,
            in_w,
            channels,
            kernel: [in_h, in_w],
            strides: [1, 1],
            padding: [0; 4],
            dilation: [1, 1],
        }
    }

    /// Cells per window.
    pub fn taps(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    /// `(out_h, out_w)`, or why the window does not fit.
    pub fn check(&self) -> Result<[usize; 2], KernelError> {
        let g = self;
        if [g.batch, g.in_h, g.in_w, g.channels].contains(&0) {
            return Err(KernelError::Geometry(format!(
                "pool: input {}×{}×{}×{} has an empty dimension",
                g.batch, g.in_h, g.in_w, g.channels
            )));
        }
        let [pt, pl, pb, pr] = g.padding;
        // As `qnn_ir`'s type inference: a side padded by a whole window gives windows of
        // padding only.
        if pt >= g.kernel[0] || pb >= g.kernel[0] || pl >= g.kernel[1] || pr >= g.kernel[1] {
            return Err(KernelError::Geometry(format!(
                "pool: padding {:?} is not smaller than the {}×{} window",
                g.padding, g.kernel[0], g.kernel[1]
            )));
        }
        let oh = qnn_ir::window_output(g.in_h, pt, pb, g.kernel[0], g.strides[0], g.dilation[0]);
        let ow = qnn_ir::window_output(g.in_w, pl, pr, g.kernel[1], g.strides[1], g.dilation[1]);
        match (oh, ow) {
            (Some(oh), Some(ow)) => Ok([oh, ow]),
            _ => Err(KernelError::Geometry(format!(
                "pool: the {}×{} window (strides {:?}, dilation {:?}, padding {:?}) does not fit {}×{}",
                g.kernel[0], g.kernel[1], g.strides, g.dilation, g.padding, g.in_h, g.in_w
            ))),
        }
    }

    /// Taps of each output row (or column, `axis` 1) that fall inside the image.
    fn inside(&self, axis: usize, out: usize) -> Vec<usize> {
        let (input, pad) = ([self.in_h, self.in_w][axis], self.padding[axis]);
        (0..out)
            .map(|o| {
                (0..self.kernel[axis])
                    .filter(|&r| {
                        let p = o * self.strides[axis] + r * self.dilation[axis];
                        p >= pad && p - pad < input
                    })
                    .count()
            })
            .collect()
    }
}

/// A pooling layer as the frame gets it.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolProblem {
    pub geometry: PoolGeometry,
    /// Input element type: u8 or i8.
    pub input: DType,
    /// Output element type: the input's for [`PoolOp::Max`], u8 or i8 for
    /// [`PoolOp::AverageF32`], i32 for [`PoolOp::SumI32`].
    pub output: DType,
    pub op: PoolOp,
    /// [`PoolOp::AverageF32`]: divide by the whole window (true) or by the cells inside the
    /// image (false).
    pub count_include_pad: bool,
    /// [`PoolOp::SumI32`]: the value of a padded cell (a value of the input dtype).
    pub pad_value: i32,
    /// Output elements between consecutive pixels (≥ `out_channel_offset + channels`): the
    /// output may be a channel slice of a wider tensor, such as a concatenation.
    pub out_pixel_stride: usize,
    /// First channel of the slice in each output pixel.
    pub out_channel_offset: usize,
}

impl PoolProblem {
    /// Max pooling, output of the input dtype, a tensor of its own.
    pub fn max(geometry: PoolGeometry, dtype: DType) -> Self {
        let stride = geometry.channels;
        PoolProblem {
            geometry,
            input: dtype,
            output: dtype,
            op: PoolOp::Max,
            count_include_pad: false,
            pad_value: 0,
            out_pixel_stride: stride,
            out_channel_offset: 0,
        }
    }

    /// ONNX Runtime's f32 average (`op` is a [`PoolOp::AverageF32`]).
    pub fn average_f32(
        geometry: PoolGeometry,
        input: DType,
        output: DType,
        op: PoolOp,
        count_include_pad: bool,
    ) -> Self {
        PoolProblem { output, op, count_include_pad, ..PoolProblem::max(geometry, input) }
    }

    /// The exact window sum into i32, padded cells holding `pad_value`.
    pub fn sum_i32(geometry: PoolGeometry, input: DType, pad_value: i32) -> Self {
        PoolProblem {
            output: DType::I32,
            op: PoolOp::SumI32,
            pad_value,
            ..PoolProblem::max(geometry, input)
        }
    }

    /// The same layer writing channels `offset ..` of pixels `pixel_stride` elements apart.
    pub fn into_channel_slice(mut self, pixel_stride: usize, offset: usize) -> Self {
        self.out_pixel_stride = pixel_stride;
        self.out_channel_offset = offset;
        self
    }

    /// Output bytes: every pixel of the (wider) output tensor.
    pub fn output_bytes(&self) -> Result<usize, KernelError> {
        let [oh, ow] = self.geometry.check()?;
        Ok(self.geometry.batch * oh * ow * self.out_pixel_stride * self.output.size_bytes())
    }

    /// Checks everything but the kernel; `(out_h, out_w)`.
    pub fn validate(&self) -> Result<[usize; 2], KernelError> {
        let g = &self.geometry;
        let hw = g.check()?;
        if !self.input.is_8bit() {
            return Err(KernelError::DType {
                what: "pool input",
                dtype: self.input,
                why: "u8 or i8",
            });
        }
        let output_ok = match self.op {
            PoolOp::Max => self.output == self.input,
            PoolOp::AverageF32 { .. } => self.output.is_8bit(),
            PoolOp::SumI32 => self.output == DType::I32,
        };
        if !output_ok {
            return Err(KernelError::DType {
                what: "pool output",
                dtype: self.output,
                why: "max keeps the input dtype, the f32 average gives u8 or i8, the sum i32",
            });
        }
        if self.out_channel_offset + g.channels > self.out_pixel_stride {
            return Err(KernelError::Geometry(format!(
                "pool: channels {}..{} do not fit output pixels of {} elements",
                self.out_channel_offset,
                self.out_channel_offset + g.channels,
                self.out_pixel_stride
            )));
        }
        let parameter =
            |what: &str, value: String, why: &str| KernelError::parameter("pool", what, value, why);
        let every_window_has_a_cell = || {
            g.inside(0, hw[0]).iter().all(|&n| n > 0) && g.inside(1, hw[1]).iter().all(|&n| n > 0)
        };
        match self.op {
            PoolOp::Max if !every_window_has_a_cell() => {
                return Err(parameter(
                    "padding",
                    format!("{:?}", g.padding),
                    "a window covers only padding: it has no maximum",
                ));
            }
            PoolOp::Max => {}
            PoolOp::AverageF32 { zp_in, scale_in, scale_out, zp_out, lo, hi } => {
                if !self.count_include_pad && !every_window_has_a_cell() {
                    return Err(parameter(
                        "padding",
                        format!("{:?}", g.padding),
                        "a window covers only padding: its average is undefined",
                    ));
                }
                if !self.input.contains(i64::from(zp_in)) {
                    return Err(KernelError::ValueRange {
                        what: "pool input zero point",
                        value: i64::from(zp_in),
                        dtype: self.input,
                    });
                }
                for (what, s) in [("input scale", scale_in), ("output scale", scale_out)] {
                    if !(s.is_finite() && s > 0.0) {
                        return Err(parameter(what, s.to_string(), "must be finite and positive"));
                    }
                }
                if !zp_out.is_finite() {
                    return Err(parameter("output zero point", zp_out.to_string(), "not finite"));
                }
                check_bounds("pool", self.output, lo, hi)?;
            }
            PoolOp::SumI32 => {
                if !self.input.contains(i64::from(self.pad_value)) {
                    return Err(KernelError::ValueRange {
                        what: "pool pad value",
                        value: i64::from(self.pad_value),
                        dtype: self.input,
                    });
                }
                // |cell| ≤ 255 for u8 and i8 data: the sum stays in i32.
                if g.taps() as u64 * 255 >= 1 << 31 {
                    return Err(parameter(
                        "window",
                        format!("{}×{}", g.kernel[0], g.kernel[1]),
                        "its sum of 8-bit cells can leave i32",
                    ));
                }
            }
        }
        Ok(hw)
    }
}

/// `lo ≤ hi`, both integers of `dtype`: the clamp bounds of an 8-bit result.
pub(crate) fn check_bounds(
    op: &'static str,
    dtype: DType,
    lo: f32,
    hi: f32,
) -> Result<(), KernelError> {
    let (dlo, dhi) = dtype.int_range().unwrap_or((0, 0));
    let ok = |v: f32| v.fract() == 0.0 && (dlo as f32..=dhi as f32).contains(&v);
    if ok(lo) && ok(hi) && lo <= hi {
        Ok(())
    } else {
        Err(KernelError::parameter(
            op,
            "clamp bounds",
            format!("[{lo}, {hi}]"),
            format!("must be integers of {dtype} with lo ≤ hi"),
        ))
    }
}

/// Why `entry` cannot compute `problem`; `Ok` when it can (the probes included).
pub fn pool_applicable(entry: &KernelEntry, problem: &PoolProblem) -> Result<(), KernelError> {
    let KernelImpl::Pool(k) = &entry.imp else {
        return Err(other_kind(entry, "pooling"));
    };
    if k.kind != problem.op.kind() {
        return Err(KernelError::NotApplicable {
            kernel: entry.name,
            why: format!("it computes {:?} pooling, not {:?}", k.kind, problem.op.kind()),
        });
    }
    if k.input != problem.input || entry.operands != (problem.input, problem.output) {
        return Err(other_dtypes(
            entry,
            format!("{} → {}", entry.operands.0, entry.operands.1),
            format!("{} → {}", problem.input, problem.output),
        ));
    }
    probes(entry)
}

/// The pooling kernel for `problem` of the first backend of `order` that has one (see
/// [`choose_in_order`]).
pub fn choose_pool(
    order: &[&str],
    problem: &PoolProblem,
) -> Result<&'static KernelEntry, KernelError> {
    choose_in_order(order, "pooling", |e| pool_applicable(e, problem))
}

/// A pooling layer planned on a [`PoolMicrokernel`]: pad pixel and divisors laid out.
/// Immutable and `Send + Sync`.
#[derive(Debug)]
pub struct PoolPlan {
    problem: PoolProblem,
    out_hw: [usize; 2],
    name: &'static str,
    kernel: PoolMicrokernel,
    /// One pixel (`channels` elements) of the pad value.
    pad_pixel: AlignedBytes,
    /// The divisor of each output position (`out_h × out_w`), for the average.
    counts: Vec<f32>,
}

impl PoolPlan {
    /// Plans `problem` on `entry`.
    pub fn new(problem: &PoolProblem, entry: &KernelEntry) -> Result<Self, KernelError> {
        let out_hw = problem.validate()?;
        pool_applicable(entry, problem)?;
        let KernelImpl::Pool(kernel) = entry.imp else {
            return Err(other_kind(entry, "pooling"));
        };
        let g = &problem.geometry;
        let pad = match problem.op {
            PoolOp::Max => problem.input.int_range().map_or(0, |(lo, _)| lo as i32),
            PoolOp::AverageF32 { zp_in, .. } => zp_in,
            PoolOp::SumI32 => problem.pad_value,
        };
        let mut pad_pixel = AlignedBytes::zeroed(g.channels * problem.input.size_bytes());
        fill_run(pad_pixel.as_mut_slice(), problem.input, g.channels, pad);
        let counts = match problem.op {
            PoolOp::AverageF32 { .. } if problem.count_include_pad => {
                vec![g.taps() as f32; out_hw[0] * out_hw[1]]
            }
            PoolOp::AverageF32 { .. } => {
                let (rows, cols) = (g.inside(0, out_hw[0]), g.inside(1, out_hw[1]));
                rows.iter().flat_map(|r| cols.iter().map(move |c| (r * c) as f32)).collect()
            }
            _ => Vec::new(),
        };
        Ok(PoolPlan {
            problem: problem.clone(),
            out_hw,
            name: entry.name,
            kernel,
            pad_pixel,
            counts,
        })
    }

    /// The kernel's name.
    pub fn kernel_name(&self) -> &'static str {
        self.name
    }

    /// `(out_h, out_w)`.
    pub fn out_hw(&self) -> [usize; 2] {
        self.out_hw
    }

    /// Pools `input` (NHWC, the input dtype) into `output` (every pixel of the output tensor,
    /// `out_pixel_stride` elements each; only this layer's channel slice is written).
    pub fn run(
        &self,
        input: &[u8],
        output: &mut [u8],
        pool: &ThreadPool,
    ) -> Result<(), KernelError> {
        let p = &self.problem;
        let g = &p.geometry;
        let [oh, ow] = self.out_hw;
        let size = p.input.size_bytes();
        check_len("pool input", input.len(), g.batch * g.in_h * g.in_w * g.channels * size)?;
        let out_len = g.batch * oh * ow * p.out_pixel_stride * p.output.size_bytes();
        check_len("pool output", output.len(), out_len)?;
        let rows = g.batch * oh;
        let work = rows * ow * g.taps() * g.channels;
        let threads = if work < SMALL_WORK { 1 } else { pool.threads() };
        // Pieces: whole rows, or rows × channel blocks when rows alone cannot feed the threads.
        let blocks = g.channels.div_ceil(CHANNEL_BLOCK);
        let cparts = if rows >= threads { 1 } else { threads.div_ceil(rows).min(blocks) };
        let pieces = rows * cparts;
        let tasks = threads.min(pieces);
        let out = SyncPtr(output.as_mut_ptr());
        let run_task = |task: usize| {
            let mut cells = Vec::new();
            for piece in split(pieces, tasks, task) {
                let (row, part) = (piece / cparts, piece % cparts);
                let bs = split(blocks, cparts, part);
                let c0 = bs.start * CHANNEL_BLOCK;
                let c1 = (bs.end * CHANNEL_BLOCK).min(g.channels);
                // SAFETY: pieces are disjoint (row, channel range) parts of the output.
                unsafe { self.row(input, out.get(), row, c0..c1, &mut cells) };
            }
        };
        // One task runs on the calling thread (a panic is still an error).
        pool.run(tasks, &run_task)
    }

    /// Computes channels `chans` of output row `row` (over the batch).
    ///
    /// # Safety
    /// `out` must be valid for the whole output; no other task writes these elements.
    unsafe fn row(
        &self,
        input: &[u8],
        out: *mut u8,
        row: usize,
        chans: std::ops::Range<usize>,
        cells: &mut Vec<*const u8>,
    ) {
        let p = &self.problem;
        let g = &p.geometry;
        let [oh, ow] = self.out_hw;
        let (n, y) = (row / oh, row % oh);
        let [kh, kw] = g.kernel;
        let [pt, pl, _, _] = g.padding;
        let size = p.input.size_bytes();
        let out_size = p.output.size_bytes();
        let taps = g.taps();
        let per_call = (POINTERS_PER_CALL / taps).clamp(1, ow);
        // Pointers at the slice's first channel: in-image pixels, or the pad pixel.
        let pad = self.pad_pixel.as_slice().as_ptr().wrapping_add(chans.start * size);
        let image =
            input.as_ptr().wrapping_add((n * g.in_h * g.in_w * g.channels + chans.start) * size);
        let mut x0 = 0;
        while x0 < ow {
            let x1 = ow.min(x0 + per_call);
            cells.clear();
            for x in x0..x1 {
                for r in 0..kh {
                    let iy = (y * g.strides[0] + r * g.dilation[0])
                        .checked_sub(pt)
                        .filter(|&v| v < g.in_h);
                    for s in 0..kw {
                        let ix = (x * g.strides[1] + s * g.dilation[1])
                            .checked_sub(pl)
                            .filter(|&v| v < g.in_w);
                        cells.push(match (iy, ix) {
                            (Some(iy), Some(ix)) => {
                                image.wrapping_add((iy * g.in_w + ix) * g.channels * size)
                            }
                            _ => pad,
                        });
                    }
                }
            }
            let first = (row * ow + x0) * p.out_pixel_stride + p.out_channel_offset + chans.start;
            let counts = if self.counts.is_empty() {
                &[][..]
            } else {
                &self.counts[y * ow + x0..y * ow + x1]
            };
            let args = PoolArgs {
                cells: cells.as_ptr(),
                taps,
                pixels: x1 - x0,
                channels: chans.len(),
                // SAFETY: element `first` and the pixels after it lie in the output.
                out: unsafe { out.add(first * out_size) },
                out_stride: p.out_pixel_stride,
                counts,
                op: &p.op,
            };
            // SAFETY: every cell points at a pixel (of the input, checked to hold the whole
            // tensor, or the pad pixel) with `chans.len()` elements from the slice's first
            // channel; the output pixels are ours; the probes passed at planning.
            unsafe { (self.kernel.run)(&args) };
            x0 = x1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(h: usize, w: usize, k: usize, s: usize, pad: [usize; 4]) -> PoolGeometry {
        PoolGeometry {
            batch: 1,
            in_h: h,
            in_w: w,
            channels: 3,
            kernel: [k, k],
            strides: [s, s],
            padding: pad,
            dilation: [1, 1],
        }
    }

    #[test]
    fn output_sizes_are_those_of_the_reference() {
        // 112 → 56 with 3×3, stride 2, padding 1 (ResNet's max pool); ceil mode as padding.
        assert_eq!(geometry(112, 112, 3, 2, [1, 1, 1, 1]).check(), Ok([56, 56]));
        assert_eq!(geometry(5, 5, 2, 2, [0, 0, 1, 1]).check(), Ok([3, 3]));
        assert_eq!(PoolGeometry::global(2, 7, 7, 8).check(), Ok([1, 1]));
        assert!(matches!(geometry(2, 2, 3, 1, [0; 4]).check(), Err(KernelError::Geometry(_))));
    }

    #[test]
    fn windows_of_padding_only_are_refused_where_the_reference_refuses_them() {
        // As the reference's type inference: padding of a whole window.
        let e = PoolProblem::max(geometry(2, 2, 1, 1, [1, 0, 0, 0]), DType::U8).validate();
        assert!(matches!(e, Err(KernelError::Geometry(m)) if m.contains("not smaller")));
        // A dilated 2×1 window over one row padded above and below: its cells are rows −1
        // and 1, neither in the image.
        let g = PoolGeometry { dilation: [2, 1], in_h: 1, ..geometry(1, 3, 2, 1, [1, 0, 1, 0]) };
        let g = PoolGeometry { kernel: [2, 1], ..g };
        let e = PoolProblem::max(g.clone(), DType::U8).validate().unwrap_err();
        assert!(e.to_string().contains("only padding"), "{e}");
        let avg = PoolOp::AverageF32 {
            zp_in: 0,
            scale_in: 1.0,
            scale_out: 1.0,
            zp_out: 0.0,
            lo: 0.0,
            hi: 255.0,
        };
        let p = PoolProblem::average_f32(g.clone(), DType::U8, DType::U8, avg, false);
        assert!(p.validate().is_err());
        let p = PoolProblem::average_f32(g.clone(), DType::U8, DType::U8, avg, true);
        assert_eq!(p.validate(), Ok([1, 3]));
        assert_eq!(PoolProblem::sum_i32(g, DType::U8, 7).validate(), Ok([1, 3]));
    }

    #[test]
    fn bad_parameters_are_errors_naming_the_value() {
        let g = geometry(4, 4, 2, 2, [0; 4]);
        let op = |scale_in: f32, lo: f32| PoolOp::AverageF32 {
            zp_in: 3,
            scale_in,
            scale_out: 0.5,
            zp_out: 1.0,
            lo,
            hi: 127.0,
        };
        let p = |o| PoolProblem::average_f32(g.clone(), DType::I8, DType::I8, o, true);
        assert!(p(op(0.25, -128.0)).validate().is_ok());
        let e = p(op(f32::NAN, -128.0)).validate().unwrap_err();
        assert!(e.to_string().contains("NaN"), "{e}");
        let e = p(op(0.25, -129.0)).validate().unwrap_err();
        assert!(e.to_string().contains("-129"), "{e}");
        let e = PoolProblem::sum_i32(g.clone(), DType::U8, 256).validate().unwrap_err();
        assert!(matches!(e, KernelError::ValueRange { value: 256, .. }), "{e}");
        let e = PoolProblem::max(g.clone(), DType::I16).validate().unwrap_err();
        assert!(matches!(e, KernelError::DType { .. }), "{e}");
        let e = PoolProblem::max(g, DType::U8).into_channel_slice(4, 2).validate().unwrap_err();
        assert!(matches!(e, KernelError::Geometry(_)), "{e}");
    }
}
