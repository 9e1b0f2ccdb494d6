//! The layout driver: a batch of `rows × cols` blocks transposed on a
//! [`TransposeMicrokernel`], with the optional quantize/dequantize of the graph's edges —
//! NCHW → NHWC is `rows = C`, `cols = H·W` per image, NHWC → NCHW the reverse.
//!
//! Each image is cut into tiles of [`TILE`] × [`TILE`] elements (a tile of f32 input and its
//! output, 16 KiB each, stay in L1); threads take contiguous ranges of tiles. Every element
//! is moved and converted by one call, so the thread count never changes a bit.

use qnn_ir::DType;
use qnn_ir::backend::{
    KernelEntry, KernelImpl, TransposeArgs, TransposeConvert, TransposeConvertKind,
    TransposeMicrokernel,
};

use crate::elementwise::check_difference;
use crate::error::KernelError;
use crate::select::{choose_in_order, other_dtypes, other_kind, probes};
use crate::threads::{ThreadPool, split};
use crate::{SyncPtr, check_len};

/// Rows and columns of a tile.
pub const TILE: usize = 64;
/// Below this many elements a transpose runs on the calling thread.
const SMALL_ELEMENTS: usize = 32 * 1024;

/// A batch of transposes as the frame gets it.
#[derive(Debug, Clone, PartialEq)]
pub struct TransposeProblem {
    /// The conversion of each element.
    pub convert: TransposeConvert,
    /// Input and output element types (equal sizes of 1, 2 or 4 bytes for
    /// [`TransposeConvert::None`]; f32 → u8/i8 to quantize; u8/i8 → f32 to dequantize).
    pub dtypes: (DType, DType),
    /// Blocks (images), one after the other in input and output.
    pub images: usize,
    /// Rows of an input block (the output block's columns).
    pub rows: usize,
    /// Columns of an input block (the output block's rows).
    pub cols: usize,
}

impl TransposeProblem {
    /// NCHW `[n, c, h, w]` → NHWC.
    pub fn nchw_to_nhwc(
        [n, c, h, w]: [usize; 4],
        dtypes: (DType, DType),
        convert: TransposeConvert,
    ) -> Self {
        TransposeProblem { convert, dtypes, images: n, rows: c, cols: h * w }
    }

    /// NHWC `[n, h, w, c]` → NCHW.
    pub fn nhwc_to_nchw(
        [n, h, w, c]: [usize; 4],
        dtypes: (DType, DType),
        convert: TransposeConvert,
    ) -> Self {
        TransposeProblem { convert, dtypes, images: n, rows: h * w, cols: c }
    }

    /// Elements of the input (and of the output).
    pub fn elements(&self) -> usize {
        self.images * self.rows * self.cols
    }

    /// Checks the dtypes and the conversion's parameters.
    pub fn validate(&self) -> Result<(), KernelError> {
        let (din, dout) = self.dtypes;
        let dtype = |what, dtype, why| Err(KernelError::DType { what, dtype, why });
        match self.convert {
            TransposeConvert::None => {
                if din.size_bytes() != dout.size_bytes() {
                    return dtype("transpose output", dout, "the input's size (no conversion)");
                }
            }
            TransposeConvert::Quantize { zero_point, lo, hi, .. } => {
                if din != DType::F32 {
                    return dtype("quantizing transpose input", din, "f32");
                }
                if !dout.is_8bit() {
                    return dtype("quantizing transpose output", dout, "u8 or i8");
                }
                let (dlo, dhi) = dout.int_range().unwrap_or((0, 0));
                if (lo, hi) != (dlo as f32, dhi as f32) {
                    return Err(KernelError::parameter(
                        "quantizing transpose",
                        "bounds",
                        format!("[{lo}, {hi}]"),
                        "QuantizeLinear saturates to the output dtype's bounds",
                    ));
                }
                if !zero_point.is_finite() || zero_point.fract() != 0.0 {
                    return Err(KernelError::parameter(
                        "quantizing transpose",
                        "zero point",
                        zero_point.to_string(),
                        "not an integer",
                    ));
                }
            }
            TransposeConvert::Dequantize { zero_point, .. } => {
                if !din.is_8bit() {
                    return dtype("dequantizing transpose input", din, "u8 or i8");
                }
                if dout != DType::F32 {
                    return dtype("dequantizing transpose output", dout, "f32");
                }
                check_difference(zero_point, din)?;
            }
        }
        Ok(())
    }
}

/// Why `entry` cannot compute `problem`; `Ok` when it can (the probes included). A kernel
/// without conversion moves any dtype of its element size.
pub fn transpose_applicable(
    entry: &KernelEntry,
    problem: &TransposeProblem,
) -> Result<(), KernelError> {
    let KernelImpl::Transpose(k) = &entry.imp else {
        return Err(other_kind(entry, "transpose"));
    };
    if k.converts != problem.convert.kind() {
        return Err(KernelError::NotApplicable {
            kernel: entry.name,
            why: format!("it converts {:?}, not {:?}", k.converts, problem.convert.kind()),
        });
    }
    let fits = match k.converts {
        TransposeConvertKind::None => {
            k.dtypes.0.size_bytes() == problem.dtypes.0.size_bytes()
                && k.dtypes.1.size_bytes() == problem.dtypes.1.size_bytes()
        }
        _ => k.dtypes == problem.dtypes,
    };
    if !fits {
        let ((a, b), (pa, pb)) = (k.dtypes, problem.dtypes);
        return Err(other_dtypes(entry, format!("{a} → {b}"), format!("{pa} → {pb}")));
    }
    probes(entry)
}

/// The transpose kernel for `problem` of the first backend of `order` that has one (see
/// [`choose_in_order`]).
pub fn choose_transpose(
    order: &[&str],
    problem: &TransposeProblem,
) -> Result<&'static KernelEntry, KernelError> {
    choose_in_order(order, "transpose", |e| transpose_applicable(e, problem))
}

/// A batch of transposes planned on a [`TransposeMicrokernel`]. Immutable and
/// `Send + Sync`.
#[derive(Debug)]
pub struct TransposePlan {
    problem: TransposeProblem,
    name: &'static str,
    kernel: TransposeMicrokernel,
}

impl TransposePlan {
    /// Plans `problem` on `entry`.
    pub fn new(problem: &TransposeProblem, entry: &KernelEntry) -> Result<Self, KernelError> {
        problem.validate()?;
        transpose_applicable(entry, problem)?;
        let KernelImpl::Transpose(kernel) = entry.imp else {
            return Err(other_kind(entry, "transpose"));
        };
        Ok(TransposePlan { problem: problem.clone(), name: entry.name, kernel })
    }

    /// The kernel's name.
    pub fn kernel_name(&self) -> &'static str {
        self.name
    }

    /// Transposes (and converts) `input`, `images × rows × cols` elements of the input
    /// dtype, into `output`, `images × cols × rows` elements of the output dtype.
    pub fn run(
        &self,
        input: &[u8],
        output: &mut [u8],
        pool: &ThreadPool,
    ) -> Result<(), KernelError> {
        let p = &self.problem;
        let (sin, sout) = (p.dtypes.0.size_bytes(), p.dtypes.1.size_bytes());
        check_len("transpose input", input.len(), p.elements() * sin)?;
        check_len("transpose output", output.len(), p.elements() * sout)?;
        if p.elements() == 0 {
            return Ok(());
        }
        let (tr, tc) = (p.rows.div_ceil(TILE), p.cols.div_ceil(TILE));
        let tiles = p.images * tr * tc;
        let tasks = if p.elements() < SMALL_ELEMENTS { 1 } else { pool.threads().min(tiles) };
        let out = SyncPtr(output.as_mut_ptr());
        let run_task = |task: usize| {
            for t in split(tiles, tasks, task) {
                let (image, rest) = (t / (tr * tc), t % (tr * tc));
                let (r0, c0) = ((rest / tc) * TILE, (rest % tc) * TILE);
                let (rows, cols) = (TILE.min(p.rows - r0), TILE.min(p.cols - c0));
                let block = image * p.rows * p.cols;
                let args = TransposeArgs {
                    src: input[(block + r0 * p.cols + c0) * sin..].as_ptr(),
                    src_stride: p.cols,
                    dst: out.get().wrapping_add((block + c0 * p.rows + r0) * sout),
                    dst_stride: p.rows,
                    rows,
                    cols,
                    convert: &p.convert,
                };
                // SAFETY: the tile's input rows lie in `input` and its output rows in
                // `output` (both checked above); tiles are disjoint; the probes passed.
                unsafe { (self.kernel.run)(&args) };
            }
        };
        // One task runs on the calling thread (a panic is still an error).
        pool.run(tasks, &run_task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_are_checked() {
        let p = |convert, dtypes| TransposeProblem { convert, dtypes, images: 1, rows: 2, cols: 3 };
        assert!(p(TransposeConvert::None, (DType::I8, DType::U8)).validate().is_ok());
        assert!(p(TransposeConvert::None, (DType::I16, DType::U8)).validate().is_err());
        let q = TransposeConvert::Quantize { scale: 0.5, zero_point: 0.5, lo: 0.0, hi: 255.0 };
        let e = p(q, (DType::F32, DType::U8)).validate().unwrap_err();
        assert!(e.to_string().contains("0.5"), "{e}");
        let d = TransposeConvert::Dequantize { zero_point: 3, scale: 0.5 };
        assert!(p(d, (DType::U8, DType::F32)).validate().is_ok());
        assert!(p(d, (DType::F32, DType::F32)).validate().is_err());
    }
}
