//! The element-wise driver: an [`ElementwiseOp`] over `n` contiguous elements on an
//! [`ElementwiseMicrokernel`], in chunks over threads (a small input on the calling thread
//! only), and the lookup table of any function of one 8-bit value.
//!
//! Every element is computed by one call with the same formula wherever it falls in a
//! chunk, so the thread count never changes a bit.

use qnn_ir::DType;
use qnn_ir::backend::{
    ElementwiseArgs, ElementwiseKind, ElementwiseMicrokernel, ElementwiseOp, KernelEntry,
    KernelImpl,
};

use crate::error::KernelError;
use crate::pool::check_bounds;
use crate::select::{choose_in_order, other_dtypes, other_kind, probes};
use crate::threads::{ThreadPool, split};
use crate::{SyncPtr, check_len};

/// Below this many elements an op runs on the calling thread: waking workers costs more
/// than the work.
pub const SMALL_ELEMENTS: usize = 32 * 1024;
/// Chunks start at multiples of this many elements (whole cache lines of 8-bit data).
const CHUNK_ALIGN: usize = 64;

/// An [`ElementwiseOp`] that owns its lookup table, so a plan can hold it.
#[derive(Debug, Clone, PartialEq)]
pub enum ElementwiseSpec {
    /// See [`ElementwiseOp::QLinearAdd`].
    QLinearAdd { ma: f32, mb: f32, c: f32, lo: f32, hi: f32 },
    /// See [`ElementwiseOp::Lookup`] (build the table with [`lookup_table`]).
    Lookup { table: Box<[u8; 256]> },
    /// See [`ElementwiseOp::Quantize`].
    Quantize { scale: f32, zero_point: f32, lo: f32, hi: f32 },
    /// See [`ElementwiseOp::Dequantize`].
    Dequantize { zero_point: i32, scale: f32 },
}

impl ElementwiseSpec {
    /// The op, borrowing the table.
    pub fn op(&self) -> ElementwiseOp<'_> {
        match self {
            &ElementwiseSpec::QLinearAdd { ma, mb, c, lo, hi } => {
                ElementwiseOp::QLinearAdd { ma, mb, c, lo, hi }
            }
            ElementwiseSpec::Lookup { table } => ElementwiseOp::Lookup { table },
            &ElementwiseSpec::Quantize { scale, zero_point, lo, hi } => {
                ElementwiseOp::Quantize { scale, zero_point, lo, hi }
            }
            &ElementwiseSpec::Dequantize { zero_point, scale } => {
                ElementwiseOp::Dequantize { zero_point, scale }
            }
        }
    }

    /// The op's family.
    pub fn kind(&self) -> ElementwiseKind {
        self.op().kind()
    }
}

/// An element-wise op on `n` elements as the frame gets it.
#[derive(Debug, Clone, PartialEq)]
pub struct ElementwiseProblem {
    pub spec: ElementwiseSpec,
    /// Element types of `a`, `b` (the same as `a` for unary ops) and the output.
    pub dtypes: (DType, DType, DType),
    /// Elements.
    pub n: usize,
}

impl ElementwiseProblem {
    /// Checks the dtypes and parameters of the op.
    pub fn validate(&self) -> Result<(), KernelError> {
        let (a, b, out) = self.dtypes;
        let dtype = |what, dtype, why| Err(KernelError::DType { what, dtype, why });
        let parameter = |what: &str, value: String, why: &str| {
            KernelError::parameter("elementwise", what, value, why)
        };
        match &self.spec {
            ElementwiseSpec::QLinearAdd { ma, mb, c, lo, hi } => {
                for (what, d) in [("add operand a", a), ("add operand b", b), ("add output", out)] {
                    if !d.is_8bit() {
                        return dtype(what, d, "u8 or i8");
                    }
                }
                for (what, v) in [("multiplier a", *ma), ("multiplier b", *mb), ("constant", *c)] {
                    if !v.is_finite() {
                        return Err(parameter(what, v.to_string(), "not finite"));
                    }
                }
                check_bounds("elementwise add", out, *lo, *hi)?;
            }
            ElementwiseSpec::Lookup { .. } => {
                for (what, d) in [("lookup input", a), ("lookup output", out)] {
                    if !d.is_8bit() {
                        return dtype(what, d, "u8 or i8");
                    }
                }
            }
            // Any scale: x / 0 and NaN saturate as the reference's chain does.
            ElementwiseSpec::Quantize { zero_point, lo, hi, .. } => {
                if a != DType::F32 {
                    return dtype("quantize input", a, "f32");
                }
                if !out.is_8bit() {
                    return dtype("quantize output", out, "u8 or i8");
                }
                let (dlo, dhi) = out.int_range().unwrap_or((0, 0));
                if (*lo, *hi) != (dlo as f32, dhi as f32) {
                    return Err(parameter(
                        "bounds",
                        format!("[{lo}, {hi}]"),
                        "QuantizeLinear saturates to the output dtype's bounds",
                    ));
                }
                if !zero_point.is_finite() || zero_point.fract() != 0.0 {
                    return Err(parameter("zero point", zero_point.to_string(), "not an integer"));
                }
            }
            ElementwiseSpec::Dequantize { zero_point, .. } => {
                if !a.is_8bit() {
                    return dtype("dequantize input", a, "u8 or i8");
                }
                if out != DType::F32 {
                    return dtype("dequantize output", out, "f32");
                }
                check_difference(*zero_point, a)?;
            }
        }
        Ok(())
    }
}

/// `x − zero_point` fits i32 for every `x` of `dtype`.
pub(crate) fn check_difference(zero_point: i32, dtype: DType) -> Result<(), KernelError> {
    let (lo, hi) = dtype.int_range().unwrap_or((0, 0));
    let z = i64::from(zero_point);
    if i32::try_from(lo - z).is_ok() && i32::try_from(hi - z).is_ok() {
        Ok(())
    } else {
        Err(KernelError::parameter(
            "dequantize",
            "zero point",
            zero_point.to_string(),
            format!("x − zero point leaves i32 for {dtype} data"),
        ))
    }
}

/// Why `entry` cannot compute `problem`; `Ok` when it can (the probes included).
pub fn elementwise_applicable(
    entry: &KernelEntry,
    problem: &ElementwiseProblem,
) -> Result<(), KernelError> {
    let KernelImpl::Elementwise(k) = &entry.imp else {
        return Err(other_kind(entry, "element-wise"));
    };
    if k.kind != problem.spec.kind() {
        return Err(KernelError::NotApplicable {
            kernel: entry.name,
            why: format!("it computes {:?}, not {:?}", k.kind, problem.spec.kind()),
        });
    }
    if k.dtypes != problem.dtypes {
        let (a, b, o) = k.dtypes;
        let (pa, pb, po) = problem.dtypes;
        return Err(other_dtypes(entry, format!("{a}, {b} → {o}"), format!("{pa}, {pb} → {po}")));
    }
    probes(entry)
}

/// The element-wise kernel for `problem` of the first backend of `order` that has one (see
/// [`choose_in_order`]).
pub fn choose_elementwise(
    order: &[&str],
    problem: &ElementwiseProblem,
) -> Result<&'static KernelEntry, KernelError> {
    choose_in_order(order, "element-wise", |e| elementwise_applicable(e, problem))
}

/// The 256 output bytes of `f` over every value of the 8-bit `input` dtype, indexed as
/// [`ElementwiseOp::Lookup`] reads them (the element's byte: an i8 value `v` at `v as u8`).
/// A result outside the 8-bit `output` dtype is an error naming the input and the value.
pub fn lookup_table(
    input: DType,
    output: DType,
    f: impl Fn(i32) -> i32,
) -> Result<[u8; 256], KernelError> {
    for (what, d) in [("lookup input", input), ("lookup output", output)] {
        if !d.is_8bit() {
            return Err(KernelError::DType { what, dtype: d, why: "u8 or i8" });
        }
    }
    let mut table = [0u8; 256];
    for (byte, slot) in table.iter_mut().enumerate() {
        let x = if input == DType::I8 { i32::from(byte as u8 as i8) } else { byte as i32 };
        let y = f(x);
        if !output.contains(i64::from(y)) {
            return Err(KernelError::parameter(
                "lookup",
                "table entry",
                format!("f({x}) = {y}"),
                format!("outside {output}"),
            ));
        }
        *slot = y as u8;
    }
    Ok(table)
}

/// An element-wise op planned on an [`ElementwiseMicrokernel`]. Immutable and
/// `Send + Sync`.
#[derive(Debug)]
pub struct ElementwisePlan {
    problem: ElementwiseProblem,
    name: &'static str,
    kernel: ElementwiseMicrokernel,
}

impl ElementwisePlan {
    /// Plans `problem` on `entry`.
    pub fn new(problem: &ElementwiseProblem, entry: &KernelEntry) -> Result<Self, KernelError> {
        problem.validate()?;
        elementwise_applicable(entry, problem)?;
        let KernelImpl::Elementwise(kernel) = entry.imp else {
            return Err(other_kind(entry, "element-wise"));
        };
        Ok(ElementwisePlan { problem: problem.clone(), name: entry.name, kernel })
    }

    /// The kernel's name.
    pub fn kernel_name(&self) -> &'static str {
        self.name
    }

    /// Computes `out` from `a` (and `b` for a binary op, `None` otherwise), `n` elements of
    /// their dtypes each.
    pub fn run(
        &self,
        a: &[u8],
        b: Option<&[u8]>,
        out: &mut [u8],
        pool: &ThreadPool,
    ) -> Result<(), KernelError> {
        let (da, db, dout) = self.problem.dtypes;
        let n = self.problem.n;
        check_len("elementwise operand a", a.len(), n * da.size_bytes())?;
        check_len("elementwise output", out.len(), n * dout.size_bytes())?;
        let binary = self.problem.spec.kind() == ElementwiseKind::QLinearAdd;
        match (binary, b) {
            (true, Some(b)) => {
                check_len("elementwise operand b", b.len(), n * db.size_bytes())?;
            }
            (false, None) => {}
            (true, None) => {
                return Err(KernelError::Length {
                    what: "elementwise operand b",
                    expected: n * db.size_bytes(),
                    got: 0,
                });
            }
            (false, Some(b)) => {
                return Err(KernelError::Length {
                    what: "operand b of a unary element-wise op",
                    expected: 0,
                    got: b.len(),
                });
            }
        }
        if n == 0 {
            return Ok(());
        }
        let op = self.problem.spec.op();
        let blocks = n.div_ceil(CHUNK_ALIGN);
        let tasks = if n < SMALL_ELEMENTS { 1 } else { pool.threads().min(blocks) };
        let out = SyncPtr(out.as_mut_ptr());
        let run_task = |task: usize| {
            let bs = split(blocks, tasks, task);
            let (i0, i1) = (bs.start * CHUNK_ALIGN, (bs.end * CHUNK_ALIGN).min(n));
            if i1 <= i0 {
                return;
            }
            let args = ElementwiseArgs {
                n: i1 - i0,
                a: a[i0 * da.size_bytes()..].as_ptr(),
                b: b.map_or(std::ptr::null(), |b| b[i0 * db.size_bytes()..].as_ptr()),
                out: out.get().wrapping_add(i0 * dout.size_bytes()),
                op: &op,
            };
            // SAFETY: the operands hold `n` elements (checked above), this chunk is
            // `i0..i1` of them and no other task writes it; the probes passed at planning.
            unsafe { (self.kernel.run)(&args) };
        };
        // One task runs on the calling thread (a panic is still an error).
        pool.run(tasks, &run_task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_tables_are_indexed_by_the_elements_byte() {
        let t = lookup_table(DType::I8, DType::U8, |v| v + 128).unwrap();
        assert_eq!(t[0], 128); // 0 → 128
        assert_eq!(t[0x80], 0); // −128 → 0
        assert_eq!(t[0xFF], 127); // −1 → 127
        let t = lookup_table(DType::U8, DType::I8, |v| v - 128).unwrap();
        assert_eq!(t[255] as i8, 127);
        let e = lookup_table(DType::U8, DType::U8, |v| v + 1).unwrap_err();
        assert!(e.to_string().contains("f(255) = 256"), "{e}");
        assert!(lookup_table(DType::F32, DType::U8, |v| v).is_err());
    }

    #[test]
    fn parameters_are_checked() {
        let p = |spec, dtypes| ElementwiseProblem { spec, dtypes, n: 4 };
        let q = |lo, hi| ElementwiseSpec::Quantize { scale: 0.5, zero_point: 3.0, lo, hi };
        let f8 = (DType::F32, DType::F32, DType::I8);
        assert!(p(q(-128.0, 127.0), f8).validate().is_ok());
        assert!(p(q(-127.0, 127.0), f8).validate().is_err());
        let d = ElementwiseSpec::Dequantize { zero_point: i32::MIN, scale: 1.0 };
        let e = p(d, (DType::U8, DType::U8, DType::F32)).validate().unwrap_err();
        assert!(e.to_string().contains(&i32::MIN.to_string()), "{e}");
        let add =
            ElementwiseSpec::QLinearAdd { ma: f32::INFINITY, mb: 1.0, c: 0.0, lo: 0.0, hi: 255.0 };
        assert!(p(add, (DType::U8, DType::U8, DType::U8)).validate().is_err());
    }
}
