//! The conformance suite of transpose kernels
//! ([`transpose_conformance_tests!`](crate::transpose_conformance_tests)): random batches of
//! `rows × cols` blocks through [`TransposePlan`] against the reference interpreter of
//! `qnn-ir`: core `transpose` with `perm = [0, 2, 1]` on `[images, rows, cols]`, then the
//! quantize or dequantize chain of the element-wise suite (`lower_quantize`,
//! `lower_dequantize`).

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use qnn_ir::backend::{KernelEntry, KernelImpl, TransposeConvert, TransposeConvertKind};
use qnn_ir::reference::eval_op;
use qnn_ir::{DType, Op};

use super::conformance::{case_count, runnable};
use super::elementwise::{Chain, from_bytes, tensor_bytes};
use super::strategies::SplitMix;
use crate::threads::ThreadPool;
use crate::transpose::{TILE, TransposePlan, TransposeProblem};

/// A batch of blocks and the conversion.
#[derive(Debug, Clone)]
pub struct TransposeCase {
    /// The transpose as the frame gets it.
    pub problem: TransposeProblem,
    /// Input bytes, `images × rows × cols` elements.
    pub input: Vec<u8>,
}

impl TransposeCase {
    /// The expected output bytes: the reference transpose, then the conversion's chain.
    pub fn expected(&self) -> Result<Vec<u8>, String> {
        let p = &self.problem;
        let (din, dout) = p.dtypes;
        let x = from_bytes(&[p.images, p.rows, p.cols], &self.input, din);
        let t = eval_op(&Op::Transpose { perm: vec![0, 2, 1] }, &[&x])
            .map_err(|e| format!("reference transpose: {e}"))?;
        let chain = match p.convert {
            TransposeConvert::None => return Ok(tensor_bytes(&t)),
            TransposeConvert::Quantize { scale, zero_point, .. } => {
                Chain::Quantize { scale, zero_point: zero_point as i32, out: dout }
            }
            TransposeConvert::Dequantize { zero_point, scale } => {
                Chain::Dequantize { scale, zero_point }
            }
        };
        let n = p.images * p.rows * p.cols;
        let g = chain.graph((din, din), n)?;
        let flat = from_bytes(&[n], &tensor_bytes(&t), din);
        let mut y = qnn_ir::reference::run(&g, &[flat]).map_err(|e| format!("reference: {e}"))?;
        Ok(tensor_bytes(&y.remove(0)))
    }

    /// One line for failure messages.
    pub fn describe(&self) -> String {
        let p = &self.problem;
        format!("{} × {}×{} blocks, {:?}, {:?}", p.images, p.rows, p.cols, p.dtypes, p.convert)
    }
}

/// Plans `case` on `entry`, runs it with each pool and compares every byte.
pub fn check_transpose_case(
    entry: &KernelEntry,
    case: &TransposeCase,
    pools: &[&ThreadPool],
) -> Result<(), String> {
    let expected = case.expected()?;
    let plan = TransposePlan::new(&case.problem, entry).map_err(|e| {
        format!("planning on `{}` failed: {e}\n  case: {}", entry.name, case.describe())
    })?;
    let size = case.problem.dtypes.1.size_bytes();
    let p = &case.problem;
    for pool in pools {
        let mut out = vec![0xA5u8; expected.len()];
        plan.run(&case.input, &mut out, pool).map_err(|e| {
            format!("running `{}` failed: {e}\n  case: {}", entry.name, case.describe())
        })?;
        if out != expected {
            let i = out.iter().zip(&expected).position(|(a, b)| a != b).unwrap_or(0) / size;
            let (img, rest) = (i / (p.rows * p.cols), i % (p.rows * p.cols));
            return Err(format!(
                "`{}` with {} thread(s): output element {i} (image {img}, column {}, row {}) is {:?}, the reference says {:?}\n  case: {}",
                entry.name,
                pool.threads(),
                rest / p.rows,
                rest % p.rows,
                &out[i * size..(i + 1) * size],
                &expected[i * size..(i + 1) * size],
                case.describe()
            ));
        }
    }
    Ok(())
}

fn signature(entry: &KernelEntry) -> (TransposeConvertKind, (DType, DType)) {
    match &entry.imp {
        KernelImpl::Transpose(k) => (k.converts, k.dtypes),
        _ => panic!("`{}` is not a transpose kernel", entry.name),
    }
}

fn edge(rng: &mut SplitMix, d: DType) -> i32 {
    let (lo, hi) = d.int_range().expect("integer dtype");
    rng.pick(&[lo, hi, 0.max(lo), lo + 1, hi - 1]) as i32
}

/// A case of `entry`'s conversion on `images × rows × cols` from `seed`.
pub fn transpose_case(
    entry: &KernelEntry,
    [images, rows, cols]: [usize; 3],
    seed: u64,
) -> TransposeCase {
    let (kind, dtypes) = signature(entry);
    let mut rng = SplitMix::new(seed);
    let n = images * rows * cols;
    let (convert, input) = match kind {
        TransposeConvertKind::None => {
            let bytes = (0..n * dtypes.0.size_bytes()).map(|_| rng.next_u64() as u8).collect();
            (TransposeConvert::None, bytes)
        }
        TransposeConvertKind::Quantize => {
            let out = dtypes.1;
            let (lo, hi) = out.int_range().expect("8-bit");
            let scale = rng.pick(&[1.0f32, 0.5, 0.1, 3e-3, 1e-30, 1e30, 0.0237]);
            let specials = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 1e30, -3.4e38];
            let bytes = (0..n)
                .flat_map(|_| {
                    let v = match rng.range(0, 5) {
                        0 => rng.pick(&specials),
                        1 | 2 => (rng.range(-300, 300) as f32 + 0.5) * scale,
                        _ => (rng.next_u64() as i32 as f32 / i32::MAX as f32) * 300.0 * scale,
                    };
                    v.to_le_bytes()
                })
                .collect();
            let convert = TransposeConvert::Quantize {
                scale,
                zero_point: edge(&mut rng, out) as f32,
                lo: lo as f32,
                hi: hi as f32,
            };
            (convert, bytes)
        }
        TransposeConvertKind::Dequantize => {
            let zero_point = edge(&mut rng, dtypes.0);
            let scale = rng.pick(&[1.0f32, 0.5, 0.1, 0.0237, 3e38, 1e-45]);
            let bytes = (0..n).map(|_| rng.next_u64() as u8).collect();
            (TransposeConvert::Dequantize { zero_point, scale }, bytes)
        }
    };
    TransposeCase { problem: TransposeProblem { convert, dtypes, images, rows, cols }, input }
}

fn shapes(large: bool) -> BoxedStrategy<[usize; 3]> {
    if large {
        // Enough blocks for every thread: NCHW → NHWC of a 3-channel image, and a wide one.
        prop_oneof![
            (1..=2usize, 40..=80usize).prop_map(|(n, hw)| [n, 3, hw * hw]),
            (1..=2usize, 60..=140usize, 60..=140usize).prop_map(|(n, r, c)| [n, r, c]),
        ]
        .boxed()
    } else {
        (1..=3usize, 1..=2 * TILE + 1, 1..=2 * TILE + 1).prop_map(|(n, r, c)| [n, r, c]).boxed()
    }
}

fn run_cases(
    entry: &'static KernelEntry,
    large: bool,
    default_cases: u32,
    pools: &[&ThreadPool],
    what: &str,
) {
    let config =
        Config { cases: case_count(default_cases), failure_persistence: None, ..Config::default() };
    let result = TestRunner::new(config).run(&(shapes(large), any::<u64>()), |(shape, seed)| {
        let case = transpose_case(entry, shape, seed);
        check_transpose_case(entry, &case, pools).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{what} of `{}`: {e}", entry.name);
    }
}

/// Runs `default_cases` random cases on `entry`, each with one and two threads.
pub fn transpose_property(entry: &'static KernelEntry, default_cases: u32) {
    if !runnable(entry) {
        return;
    }
    let pools = [ThreadPool::new(1), ThreadPool::new(2)];
    let refs: Vec<&ThreadPool> = pools.iter().collect();
    run_cases(entry, false, default_cases, &refs, "transpose conformance");
}

/// Every row count and every column count `1..=2·TILE+1` (the other one past a tile), with
/// one and two threads.
pub fn transpose_every_tail(entry: &'static KernelEntry) {
    if !runnable(entry) {
        return;
    }
    let pools = [ThreadPool::new(1), ThreadPool::new(2)];
    let refs: Vec<&ThreadPool> = pools.iter().collect();
    let sizes = 1..=2 * TILE + 1;
    let shapes = sizes.clone().map(|r| [1, r, TILE + 3]).chain(sizes.map(|c| [1, TILE + 3, c]));
    for (i, shape) in shapes.enumerate() {
        let case = transpose_case(entry, shape, 0x7EA5 ^ i as u64);
        if let Err(e) = check_transpose_case(entry, &case, &refs) {
            panic!("tail case {shape:?} of `{}`: {e}", entry.name);
        }
    }
}

/// Large batches on pools of 1 to 4 threads give identical, correct bytes.
pub fn transpose_thread_count_invariance(entry: &'static KernelEntry, default_cases: u32) {
    if !runnable(entry) {
        return;
    }
    let pools: Vec<ThreadPool> = (1..=4).map(ThreadPool::new).collect();
    let refs: Vec<&ThreadPool> = pools.iter().collect();
    run_cases(entry, true, default_cases, &refs, "thread-count invariance");
}

/// Generates the conformance suite of one transpose kernel (an expression giving a
/// `&'static KernelEntry`): random batches of blocks with their conversion (special floats,
/// ties, edge zero points), every row and column tail of the frame's tile, and thread-count
/// invariance, each against the reference interpreter. `kernel!(transpose …)` instantiates
/// it.
#[macro_export]
macro_rules! transpose_conformance_tests {
    ($name:ident, $entry:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::testing::transpose::{
                transpose_every_tail, transpose_property, transpose_thread_count_invariance,
            };

            fn entry() -> &'static $crate::__private::KernelEntry {
                $entry
            }

            #[test]
            fn random_blocks() {
                transpose_property(entry(), 48);
            }

            #[test]
            fn every_row_and_column_tail() {
                transpose_every_tail(entry());
            }

            #[test]
            fn thread_count_never_changes_a_bit() {
                transpose_thread_count_invariance(entry(), 4);
            }
        }
    };
}
