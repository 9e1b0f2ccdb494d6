//! The conformance suite of element-wise kernels
//! ([`elementwise_conformance_tests!`](crate::elementwise_conformance_tests)): random runs
//! through [`ElementwisePlan`] against the reference interpreter of `qnn-ir` on a graph of the
//! core ops the legalizer emits:
//!
//! * `QLinearAdd` (float mode of `qnn.add`, `qnn-legalize`'s `lower_add`): `cast(f32)` of both
//!   operands, `fma(b, mb, c)`, `fma(a, ma, ·)`, `round`, saturating `cast`, then `clip` to
//!   the fused bounds; `ma`, `mb` and `c` folded from scales and zero points as `lower_add`
//!   folds them;
//! * `Lookup`: a chain of one 8-bit input (a core `lookup` table, a `requantize`, a
//!   saturating `cast`, a `clip`); the kernel's table comes from [`lookup_table`] running the
//!   chain on each of the 256 inputs, the expected output from the chain on the whole input;
//! * `Quantize` (`lower_quantize`): `divide → round → add zp → cast` for u8; for i8 the add
//!   shifted by −lo, then `cast(i32) → clip → add lo → cast`;
//! * `Dequantize` (`lower_dequantize`): `cast(i32) → subtract zp → cast(f32) → multiply`.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use qnn_ir::backend::{ElementwiseKind, KernelEntry, KernelImpl};
use qnn_ir::{
    DType, FixedPointMultiplier, FixedRounding, Graph, GraphBuilder, Op, RequantScale, Tensor,
    TensorType, ValueId,
};

use super::conformance::{case_count, runnable};
use super::strategies::SplitMix;
use super::{tensor, to_bytes};
use crate::elementwise::{
    ElementwisePlan, ElementwiseProblem, ElementwiseSpec, SMALL_ELEMENTS, lookup_table,
};
use crate::threads::ThreadPool;

/// A core-op chain on one or two inputs of a given length, as the legalizer would emit it.
#[derive(Debug, Clone)]
pub enum Chain {
    /// `lower_add`'s float form with these folded constants and clip bounds.
    QLinearAdd { ma: f32, mb: f32, c: f32, out: DType, clip: (i64, i64) },
    /// Any function of one 8-bit value: these ops in order.
    Unary(Vec<Op>, Option<Tensor>),
    /// `lower_quantize` (per tensor).
    Quantize { scale: f32, zero_point: i32, out: DType },
    /// `lower_dequantize` (per tensor).
    Dequantize { scale: f32, zero_point: i32 },
}

fn f32_scalar(v: f32) -> Tensor {
    Tensor::from_vec(&[], vec![v]).expect("a scalar")
}

fn i32_scalar(v: i32) -> Tensor {
    Tensor::from_vec(&[], vec![v]).expect("a scalar")
}

impl Chain {
    /// The graph of the chain on inputs of `dtypes` and length `n`.
    pub fn graph(&self, dtypes: (DType, DType), n: usize) -> Result<Graph, String> {
        let e = |r: Result<ValueId, qnn_ir::IrError>| r.map_err(|e| format!("chain: {e}"));
        let mut g = GraphBuilder::new("chain");
        let a = e(g.input("a", TensorType::new(dtypes.0, [n])))?;
        let mut k = 0;
        let mut constant = |g: &mut GraphBuilder, t: Tensor| {
            k += 1;
            e(g.constant(format!("k{k}"), t))
        };
        let node = |g: &mut GraphBuilder, op: Op, ins: &[ValueId]| {
            let name = g.fresh_name("n");
            e(g.node(name, op, ins))
        };
        let y = match self {
            Chain::QLinearAdd { ma, mb, c, out, clip } => {
                let b = e(g.input("b", TensorType::new(dtypes.1, [n])))?;
                let fa = node(&mut g, Op::Cast { to: DType::F32 }, &[a])?;
                let fb = node(&mut g, Op::Cast { to: DType::F32 }, &[b])?;
                let (ra, rb, rc) = (
                    constant(&mut g, f32_scalar(*ma))?,
                    constant(&mut g, f32_scalar(*mb))?,
                    constant(&mut g, f32_scalar(*c))?,
                );
                let t = node(&mut g, Op::Fma, &[fb, rb, rc])?;
                let v = node(&mut g, Op::Fma, &[fa, ra, t])?;
                let r = node(&mut g, Op::Round, &[v])?;
                let y = node(&mut g, Op::Cast { to: *out }, &[r])?;
                if Some(*clip) == out.int_range() {
                    y
                } else {
                    node(&mut g, Op::Clip { min: clip.0 as f64, max: clip.1 as f64 }, &[y])?
                }
            }
            Chain::Unary(ops, table) => {
                let mut v = a;
                for op in ops {
                    v = if matches!(op, Op::Lookup) {
                        let t = constant(&mut g, table.clone().ok_or("lookup without a table")?)?;
                        node(&mut g, op.clone(), &[v, t])?
                    } else {
                        node(&mut g, op.clone(), &[v])?
                    };
                }
                v
            }
            Chain::Quantize { scale, zero_point, out } => {
                let (lo, hi) = out.int_range().ok_or("integer output")?;
                let s = constant(&mut g, f32_scalar(*scale))?;
                let q = node(&mut g, Op::Divide, &[a, s])?;
                let q = node(&mut g, Op::Round, &[q])?;
                let z = constant(&mut g, f32_scalar((i64::from(*zero_point) - lo) as f32))?;
                let q = node(&mut g, Op::Add, &[q, z])?;
                if lo == 0 {
                    node(&mut g, Op::Cast { to: *out }, &[q])?
                } else {
                    let q = node(&mut g, Op::Cast { to: DType::I32 }, &[q])?;
                    let q = node(&mut g, Op::Clip { min: 0.0, max: (hi - lo) as f64 }, &[q])?;
                    let l = constant(&mut g, i32_scalar(lo as i32))?;
                    let q = node(&mut g, Op::Add, &[q, l])?;
                    node(&mut g, Op::Cast { to: *out }, &[q])?
                }
            }
            Chain::Dequantize { scale, zero_point } => {
                let mut x = node(&mut g, Op::Cast { to: DType::I32 }, &[a])?;
                if *zero_point != 0 {
                    let z = constant(&mut g, i32_scalar(*zero_point))?;
                    x = node(&mut g, Op::Subtract, &[x, z])?;
                }
                let f = node(&mut g, Op::Cast { to: DType::F32 }, &[x])?;
                let s = constant(&mut g, f32_scalar(*scale))?;
                node(&mut g, Op::Multiply, &[f, s])?
            }
        };
        g.output(y);
        g.finish().map_err(|e| format!("chain: {e}"))
    }
}

/// A run of elements, the op the kernel gets and the chain that defines it.
#[derive(Debug, Clone)]
pub struct ElementwiseCase {
    /// The op as the frame gets it.
    pub problem: ElementwiseProblem,
    /// The first operand's bytes.
    pub a: Vec<u8>,
    /// The second operand's bytes (binary ops).
    pub b: Option<Vec<u8>>,
    /// The core ops that define the result.
    pub chain: Chain,
}

/// Little-endian bytes of a reference output.
pub(crate) fn tensor_bytes(t: &Tensor) -> Vec<u8> {
    match t {
        Tensor::F32(a) => a.iter().flat_map(|v| v.to_le_bytes()).collect(),
        _ => {
            let values: Vec<i32> = t.to_i64().expect("integer").iter().map(|&v| v as i32).collect();
            to_bytes(&values, t.dtype())
        }
    }
}

/// The tensor `[n]` of `dtype` whose little-endian bytes are `bytes`.
pub(crate) fn from_bytes(shape: &[usize], bytes: &[u8], dtype: DType) -> Tensor {
    let t = match dtype {
        DType::F32 => Tensor::from_vec(
            shape,
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect::<Vec<f32>>(),
        ),
        DType::U8 => Tensor::from_vec(shape, bytes.to_vec()),
        DType::I8 => Tensor::from_vec(shape, bytes.iter().map(|&b| b as i8).collect::<Vec<_>>()),
        DType::I16 => Tensor::from_vec(
            shape,
            bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect::<Vec<_>>(),
        ),
        DType::I32 => Tensor::from_vec(
            shape,
            bytes
                .chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect::<Vec<_>>(),
        ),
    };
    t.expect("bytes of whole elements")
}

impl ElementwiseCase {
    /// The expected output bytes: the chain on the whole input.
    pub fn expected(&self) -> Result<Vec<u8>, String> {
        let (da, db, _) = self.problem.dtypes;
        let n = self.problem.n;
        let g = self.chain.graph((da, db), n)?;
        let mut inputs = vec![from_bytes(&[n], &self.a, da)];
        if let Some(b) = &self.b {
            inputs.push(from_bytes(&[n], b, db));
        }
        let mut y = qnn_ir::reference::run(&g, &inputs).map_err(|e| format!("reference: {e}"))?;
        Ok(tensor_bytes(&y.remove(0)))
    }

    /// One line for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "{:?}, {:?}, n {}, chain {:?}",
            self.problem.spec, self.problem.dtypes, self.problem.n, self.chain
        )
    }
}

/// Plans `case` on `entry`, runs it with each pool and compares every byte with the chain.
pub fn check_elementwise_case(
    entry: &KernelEntry,
    case: &ElementwiseCase,
    pools: &[&ThreadPool],
) -> Result<(), String> {
    let expected = case.expected()?;
    let plan = ElementwisePlan::new(&case.problem, entry).map_err(|e| {
        format!("planning on `{}` failed: {e}\n  case: {}", entry.name, case.describe())
    })?;
    let size = case.problem.dtypes.2.size_bytes();
    let in_size = case.problem.dtypes.0.size_bytes();
    for pool in pools {
        let mut out = vec![0xA5u8; expected.len()];
        plan.run(&case.a, case.b.as_deref(), &mut out, pool).map_err(|e| {
            format!("running `{}` failed: {e}\n  case: {}", entry.name, case.describe())
        })?;
        if out != expected {
            let i = out.iter().zip(&expected).position(|(a, b)| a != b).unwrap_or(0) / size;
            let a = &case.a[i * in_size..(i + 1) * in_size];
            let b = case.b.as_ref().map(|b| b[i * in_size..(i + 1) * in_size].to_vec());
            return Err(format!(
                "`{}` with {} thread(s): element {i} (a bytes {a:?}, b bytes {b:?}) is {:?}, the reference says {:?}\n  case: {}",
                entry.name,
                pool.threads(),
                &out[i * size..(i + 1) * size],
                &expected[i * size..(i + 1) * size],
                case.describe()
            ));
        }
    }
    Ok(())
}

/// The kernel's family and dtypes.
fn signature(entry: &KernelEntry) -> (ElementwiseKind, (DType, DType, DType)) {
    match &entry.imp {
        KernelImpl::Elementwise(k) => (k.kind, k.dtypes),
        _ => panic!("`{}` is not an element-wise kernel", entry.name),
    }
}

fn edge(rng: &mut SplitMix, d: DType) -> i32 {
    let (lo, hi) = d.int_range().expect("integer dtype");
    rng.pick(&[lo, hi, 0.max(lo), lo + 1, hi - 1, (lo + hi) / 2]) as i32
}

fn bytes_8bit(rng: &mut SplitMix, n: usize) -> Vec<u8> {
    let fill = rng.range(0, 5);
    (0..n)
        .map(|i| match fill {
            0 => rng.pick(&[0u8, 0x7F, 0x80, 0xFF]),
            1 => i as u8,
            _ => rng.next_u64() as u8,
        })
        .collect()
}

/// A scale: one that makes exact ties, a random one, or an extreme one.
fn scale(rng: &mut SplitMix) -> f32 {
    match rng.range(0, 3) {
        0 => rng.pick(&[1.0f32, 0.5, 0.25, 2.0, 0.125, 4.0, 1.5]),
        1 => {
            rng.pick(&[0.1f32, 0.3, 0.0237, 0.007_843_138, 1.7])
                * (1.0 + rng.range(0, 999) as f32 / 1000.0)
        }
        _ => rng.pick(&[1e-3f32, 3e-5, 64.0, 1e3]),
    }
}

/// Clip bounds: the dtype's, or a narrower pair now and then.
fn bounds(rng: &mut SplitMix, d: DType) -> (i64, i64) {
    let (lo, hi) = d.int_range().expect("integer dtype");
    if rng.next_u64().is_multiple_of(4) {
        let (a, b) = (rng.range(lo, hi), rng.range(lo, hi));
        (a.min(b), a.max(b))
    } else {
        (lo, hi)
    }
}

fn qlinear_add(rng: &mut SplitMix, n: usize, dtypes: (DType, DType, DType)) -> ElementwiseCase {
    let (da, db, out) = dtypes;
    let (za, zb, zo) = (edge(rng, da), edge(rng, db), edge(rng, out));
    let so = scale(rng);
    // Ratios of powers of two make exact .5 ties after the folded zero points.
    let (sa, sb) = if rng.next_u64().is_multiple_of(2) {
        (so * rng.pick(&[0.5f32, 0.25, 1.0, 2.0]), so * rng.pick(&[0.5f32, 0.75, 1.0, 0.125]))
    } else {
        (scale(rng), scale(rng))
    };
    let (mut ma, mut mb) = (sa / so, sb / so);
    let mut c = zo as f32 - ma.mul_add(za as f32, mb * zb as f32);
    if rng.next_u64().is_multiple_of(3) {
        // Near ties whose side only the fused rounding gets right: products a few 2^-24
        // off a half, summed onto a half-integer constant.
        let near = |rng: &mut SplitMix| 0.5 + rng.range(-8, 8) as f32 * f32::EPSILON / 2.0;
        (ma, mb) = (near(rng), near(rng));
        c = rng.range(-300, 300) as f32 * 0.5;
    }
    let clip = bounds(rng, out);
    ElementwiseCase {
        problem: ElementwiseProblem {
            spec: ElementwiseSpec::QLinearAdd { ma, mb, c, lo: clip.0 as f32, hi: clip.1 as f32 },
            dtypes,
            n,
        },
        a: bytes_8bit(rng, n),
        b: Some(bytes_8bit(rng, n)),
        chain: Chain::QLinearAdd { ma, mb, c, out, clip },
    }
}

/// A random function of one 8-bit value into `out`, as core ops.
fn unary_chain(rng: &mut SplitMix, input: DType, out: DType) -> Chain {
    match rng.range(0, 3) {
        // A core lookup table (what the importer builds for QLinearSigmoid and friends).
        0 => {
            let values: Vec<i32> = (0..256).map(|_| edge_or_any(rng, out)).collect();
            Chain::Unary(vec![Op::Lookup], Some(tensor(&[256], out, &values)))
        }
        // A requantize (fixed point or ORT's float) with edge zero points.
        1 => {
            let real = f64::from(scale(rng)) * f64::from(scale(rng));
            let scale = if rng.next_u64().is_multiple_of(2) {
                RequantScale::Float { mults: vec![real as f32] }
            } else {
                let rounding = rng.pick(&[
                    FixedRounding::Upward,
                    FixedRounding::ToNearest,
                    FixedRounding::Tflite,
                ]);
                match FixedPointMultiplier::from_real(real) {
                    Ok(m) => RequantScale::Fixed { mults: vec![m], rounding },
                    Err(_) => RequantScale::Float { mults: vec![real as f32] },
                }
            };
            let mut ops = vec![Op::Requantize {
                scale,
                axes: vec![],
                input_zero_point: edge(rng, input),
                output_zero_point: edge(rng, out),
                out_dtype: out,
            }];
            let (lo, hi) = bounds(rng, out);
            if Some((lo, hi)) != out.int_range() {
                ops.push(Op::Clip { min: lo as f64, max: hi as f64 });
            }
            Chain::Unary(ops, None)
        }
        // A clip and a saturating cast (a fused ReLU, a dtype change).
        _ => {
            let (lo, hi) = bounds(rng, input);
            Chain::Unary(
                vec![Op::Clip { min: lo as f64, max: hi as f64 }, Op::Cast { to: out }],
                None,
            )
        }
    }
}

fn edge_or_any(rng: &mut SplitMix, d: DType) -> i32 {
    let (lo, hi) = d.int_range().expect("integer dtype");
    if rng.next_u64().is_multiple_of(4) { edge(rng, d) } else { rng.range(lo, hi) as i32 }
}

fn lookup(
    rng: &mut SplitMix,
    n: usize,
    dtypes: (DType, DType, DType),
) -> Result<ElementwiseCase, String> {
    let (input, _, out) = dtypes;
    let chain = unary_chain(rng, input, out);
    let one = chain.graph((input, input), 1)?;
    let failure = std::cell::RefCell::new(None);
    let table = lookup_table(input, out, |v| {
        let x = tensor(&[1], input, &[v]);
        match qnn_ir::reference::run(&one, &[x]) {
            Ok(y) => y[0].to_i64().map_or(0, |a| a[0] as i32),
            Err(e) => {
                failure.replace(Some(format!("reference on {v}: {e}")));
                0
            }
        }
    })
    .map_err(|e| e.to_string())?;
    if let Some(e) = failure.into_inner() {
        return Err(e);
    }
    Ok(ElementwiseCase {
        problem: ElementwiseProblem {
            spec: ElementwiseSpec::Lookup { table: Box::new(table) },
            dtypes,
            n,
        },
        a: bytes_8bit(rng, n),
        b: None,
        chain,
    })
}

/// f32 inputs: ties of the scale, both zeros, infinities, NaN, huge and tiny values.
fn floats(rng: &mut SplitMix, n: usize, scale: f32) -> Vec<u8> {
    (0..n)
        .flat_map(|_| {
            let v = match rng.range(0, 9) {
                0 => rng.pick(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0]),
                1 => rng.pick(&[1e30f32, -1e30, 3.4e38, -3.4e38, 1e-40, -1e-40, 16_777_217.0]),
                // Exact ties: (k + ½)·scale, and values around the saturation bounds.
                2..=4 => (rng.range(-300, 300) as f32 + 0.5) * scale,
                5 => rng.range(-300, 300) as f32 * scale,
                _ => (rng.next_u64() as i32 as f32 / i32::MAX as f32) * 300.0 * scale,
            };
            v.to_le_bytes()
        })
        .collect()
}

fn quantize(rng: &mut SplitMix, n: usize, dtypes: (DType, DType, DType)) -> ElementwiseCase {
    let out = dtypes.2;
    let (lo, hi) = out.int_range().expect("8-bit");
    let scale = match rng.range(0, 4) {
        0 => rng.pick(&[1.0f32, 0.5, 0.25, 2.0]),
        1 => rng.pick(&[1e-30f32, 1e30, 3e-3, 0.1]),
        _ => scale(rng),
    };
    let zero_point = edge(rng, out);
    ElementwiseCase {
        problem: ElementwiseProblem {
            spec: ElementwiseSpec::Quantize {
                scale,
                zero_point: zero_point as f32,
                lo: lo as f32,
                hi: hi as f32,
            },
            dtypes,
            n,
        },
        a: floats(rng, n, scale),
        b: None,
        chain: Chain::Quantize { scale, zero_point, out },
    }
}

fn dequantize(rng: &mut SplitMix, n: usize, dtypes: (DType, DType, DType)) -> ElementwiseCase {
    let input = dtypes.0;
    let zero_point = match rng.range(0, 3) {
        0 => rng.pick(&[-1000, 1000, 300, -300]),
        _ => edge(rng, input),
    };
    let scale = match rng.range(0, 4) {
        0 => rng.pick(&[1e-30f32, 3e38, 1e-45]),
        _ => scale(rng),
    };
    ElementwiseCase {
        problem: ElementwiseProblem {
            spec: ElementwiseSpec::Dequantize { zero_point, scale },
            dtypes,
            n,
        },
        a: bytes_8bit(rng, n),
        b: None,
        chain: Chain::Dequantize { scale, zero_point },
    }
}

/// A case of `entry`'s op on `n` elements from `seed`.
pub fn elementwise_case(
    entry: &KernelEntry,
    n: usize,
    seed: u64,
) -> Result<ElementwiseCase, String> {
    let (kind, dtypes) = signature(entry);
    let mut rng = SplitMix::new(seed);
    Ok(match kind {
        ElementwiseKind::QLinearAdd => qlinear_add(&mut rng, n, dtypes),
        ElementwiseKind::Lookup => lookup(&mut rng, n, dtypes)?,
        ElementwiseKind::Quantize => quantize(&mut rng, n, dtypes),
        ElementwiseKind::Dequantize => dequantize(&mut rng, n, dtypes),
    })
}

/// Lengths: short runs (every tail of a 64-byte vector and a few), or runs long enough to
/// be split over threads.
fn lengths(large: bool) -> BoxedStrategy<usize> {
    if large {
        (SMALL_ELEMENTS..=SMALL_ELEMENTS + 3 * 64 + 7).boxed()
    } else {
        prop_oneof![1..=2 * 64 + 1usize, 130..=1000usize].boxed()
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
    let result = TestRunner::new(config).run(&(lengths(large), any::<u64>()), |(n, seed)| {
        let case = elementwise_case(entry, n, seed).map_err(TestCaseError::fail)?;
        check_elementwise_case(entry, &case, pools).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{what} of `{}`: {e}", entry.name);
    }
}

/// Runs `default_cases` random cases on `entry`, each with one and two threads.
pub fn elementwise_property(entry: &'static KernelEntry, default_cases: u32) {
    if !runnable(entry) {
        return;
    }
    let pools = [ThreadPool::new(1), ThreadPool::new(2)];
    let refs: Vec<&ThreadPool> = pools.iter().collect();
    run_cases(entry, false, default_cases, &refs, "element-wise conformance");
}

/// Every length `1..=2·64+1` (each tail of any vector width) and every 8-bit input value,
/// with one and two threads.
pub fn elementwise_every_tail(entry: &'static KernelEntry) {
    if !runnable(entry) {
        return;
    }
    let pools = [ThreadPool::new(1), ThreadPool::new(2)];
    let refs: Vec<&ThreadPool> = pools.iter().collect();
    for n in 1..=2 * 64 + 1 {
        let case = elementwise_case(entry, n, 0x7A11 ^ n as u64)
            .unwrap_or_else(|e| panic!("tail case {n} of `{}`: {e}", entry.name));
        if let Err(e) = check_elementwise_case(entry, &case, &refs) {
            panic!("tail case n = {n} of `{}`: {e}", entry.name);
        }
    }
    // Every byte value in every lane position.
    if signature(entry).1.0.is_8bit() {
        for seed in 0..4u64 {
            let mut case = elementwise_case(entry, 256 + 7, seed)
                .unwrap_or_else(|e| panic!("byte case of `{}`: {e}", entry.name));
            case.a.iter_mut().enumerate().for_each(|(i, b)| *b = (i as u64 * 7 + seed) as u8);
            if let Err(e) = check_elementwise_case(entry, &case, &refs) {
                panic!("every byte value ({seed}) of `{}`: {e}", entry.name);
            }
        }
    }
}

/// Long runs on pools of 1 to 4 threads give identical, correct bytes.
pub fn elementwise_thread_count_invariance(entry: &'static KernelEntry, default_cases: u32) {
    if !runnable(entry) {
        return;
    }
    let pools: Vec<ThreadPool> = (1..=4).map(ThreadPool::new).collect();
    let refs: Vec<&ThreadPool> = pools.iter().collect();
    run_cases(entry, true, default_cases, &refs, "thread-count invariance");
}

/// Generates the conformance suite of one element-wise kernel (an expression giving a
/// `&'static KernelEntry`): random runs with edge zero points, ties, special floats and
/// every lookup chain, every length tail and byte value, and thread-count invariance, each
/// against the reference interpreter. `kernel!(elementwise …)` instantiates it.
#[macro_export]
macro_rules! elementwise_conformance_tests {
    ($name:ident, $entry:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::testing::elementwise::{
                elementwise_every_tail, elementwise_property, elementwise_thread_count_invariance,
            };

            fn entry() -> &'static $crate::__private::KernelEntry {
                $entry
            }

            #[test]
            fn random_runs() {
                elementwise_property(entry(), 128);
            }

            #[test]
            fn every_tail_and_byte() {
                elementwise_every_tail(entry());
            }

            #[test]
            fn thread_count_never_changes_a_bit() {
                elementwise_thread_count_invariance(entry(), 4);
            }
        }
    };
}
