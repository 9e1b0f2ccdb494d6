//! The conformance suite of pooling kernels ([`pool_conformance_tests!`](crate::pool_conformance_tests)):
//! random layers through [`PoolPlan`] against the reference interpreter of `qnn-ir` on the
//! core ops the legalizer emits:
//!
//! * max: `pool2d` max (padding never wins);
//! * ONNX Runtime's f32 average (`qnn-legalize`'s `float_avg_pool`): `cast(f32) → subtract
//!   zp_in → multiply s_in → pool2d sum (f32, window order, padded cells +0) → divide count
//!   → divide s_out → add zp_out → round → cast`, then `clip` to the fused bounds;
//! * the window sum: `pool2d` sum into i32 with the pad value.
//!
//! The output is a channel slice of a wider tensor now and then: bytes outside the slice
//! must keep their sentinel.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use qnn_ir::backend::{KernelEntry, KernelImpl, PoolKind, PoolOp};
use qnn_ir::reference::eval_op;
use qnn_ir::{DType, DataLayout, Op, Pool2dAttrs, Tensor};

use super::conformance::{case_count, runnable};
use super::strategies::SplitMix;
use super::{tensor, to_bytes};
use crate::pool::{PoolGeometry, PoolPlan, PoolProblem};
use crate::threads::ThreadPool;

/// Channels up to two 64-byte vectors and one: every channel tail of any vector width.
pub const MAX_TAIL_CHANNELS: usize = 129;

/// The byte every output element outside the layer's slice holds before and after a run.
const SENTINEL: u8 = 0xA5;

/// A pooling layer, its input and where its output goes.
#[derive(Debug, Clone)]
pub struct PoolCase {
    /// The layer as the frame gets it.
    pub problem: PoolProblem,
    /// NHWC input values of the input dtype.
    pub input: Vec<i32>,
}

fn f32_scalar(v: f32) -> Tensor {
    Tensor::from_vec(&[], vec![v]).expect("a scalar")
}

impl PoolCase {
    fn attrs(&self) -> Pool2dAttrs {
        let g = &self.problem.geometry;
        Pool2dAttrs {
            kernel: g.kernel,
            strides: g.strides,
            padding: g.padding,
            dilation: g.dilation,
            layout: DataLayout::Nhwc,
        }
    }

    /// Cells of the window of output `(oy, ox)` inside the image, counted one by one.
    fn inside(&self, oy: usize, ox: usize) -> usize {
        let g = &self.problem.geometry;
        let [pt, pl, _, _] = g.padding;
        let mut n = 0;
        for r in 0..g.kernel[0] {
            for s in 0..g.kernel[1] {
                let y = (oy * g.strides[0] + r * g.dilation[0]) as isize - pt as isize;
                let x = (ox * g.strides[1] + s * g.dilation[1]) as isize - pl as isize;
                if (0..g.in_h as isize).contains(&y) && (0..g.in_w as isize).contains(&x) {
                    n += 1;
                }
            }
        }
        n
    }

    /// The layer's own output (NHWC, its channels only) from the reference interpreter.
    pub fn reference(&self) -> Result<Tensor, String> {
        let p = &self.problem;
        let g = &p.geometry;
        let e = |r: Result<Tensor, qnn_ir::IrError>| r.map_err(|e| format!("reference: {e}"));
        let x = tensor(&[g.batch, g.in_h, g.in_w, g.channels], p.input, &self.input);
        let pool = self.attrs();
        match p.op {
            PoolOp::Max => {
                e(eval_op(&Op::Pool2d { kind: qnn_ir::PoolKind::Max, pool, pad_value: 0 }, &[&x]))
            }
            PoolOp::SumI32 => e(eval_op(
                &Op::Pool2d { kind: qnn_ir::PoolKind::Sum, pool, pad_value: p.pad_value },
                &[&x],
            )),
            PoolOp::AverageF32 { zp_in, scale_in, scale_out, zp_out, lo, hi } => {
                let [oh, ow] = g.check().map_err(|e| e.to_string())?;
                let mut v = e(eval_op(&Op::Cast { to: DType::F32 }, &[&x]))?;
                if zp_in != 0 {
                    v = e(eval_op(&Op::Subtract, &[&v, &f32_scalar(zp_in as f32)]))?;
                }
                v = e(eval_op(&Op::Multiply, &[&v, &f32_scalar(scale_in)]))?;
                let sum = Op::Pool2d { kind: qnn_ir::PoolKind::Sum, pool, pad_value: 0 };
                v = e(eval_op(&sum, &[&v]))?;
                let counts: Vec<f32> = (0..oh)
                    .flat_map(|y| (0..ow).map(move |x| (y, x)))
                    .map(|(y, x)| {
                        (if p.count_include_pad { g.taps() } else { self.inside(y, x) }) as f32
                    })
                    .collect();
                let counts = if counts.iter().all(|&c| c == counts[0]) {
                    f32_scalar(counts[0])
                } else {
                    Tensor::from_vec(&[1, oh, ow, 1], counts).expect("one count per position")
                };
                v = e(eval_op(&Op::Divide, &[&v, &counts]))?;
                v = e(eval_op(&Op::Divide, &[&v, &f32_scalar(scale_out)]))?;
                v = e(eval_op(&Op::Add, &[&v, &f32_scalar(zp_out)]))?;
                v = e(eval_op(&Op::Round, &[&v]))?;
                v = e(eval_op(&Op::Cast { to: p.output }, &[&v]))?;
                let (dlo, dhi) = p.output.int_range().expect("8-bit output");
                if (lo, hi) != (dlo as f32, dhi as f32) {
                    v = e(eval_op(&Op::Clip { min: f64::from(lo), max: f64::from(hi) }, &[&v]))?;
                }
                Ok(v)
            }
        }
    }

    /// The whole output buffer: the reference in the layer's channels, the sentinel elsewhere.
    pub fn expected(&self) -> Result<Vec<u8>, String> {
        let p = &self.problem;
        let y = self.reference()?;
        let values: Vec<i32> =
            y.to_i64().ok_or("integer output")?.iter().map(|&v| v as i32).collect();
        let own = to_bytes(&values, p.output);
        let size = p.output.size_bytes();
        let c = p.geometry.channels;
        let mut out = vec![SENTINEL; p.output_bytes().map_err(|e| e.to_string())?];
        for (px, chunk) in own.chunks(c * size).enumerate() {
            let at = (px * p.out_pixel_stride + p.out_channel_offset) * size;
            out[at..at + c * size].copy_from_slice(chunk);
        }
        Ok(out)
    }

    /// One line for failure messages.
    pub fn describe(&self) -> String {
        let p = &self.problem;
        format!(
            "{:?}, {} → {}, {:?}, count_include_pad {}, pad value {}, output pixels of {} from channel {}",
            p.geometry,
            p.input,
            p.output,
            p.op,
            p.count_include_pad,
            p.pad_value,
            p.out_pixel_stride,
            p.out_channel_offset
        )
    }
}

/// Plans `case` on `entry`, runs it with each pool and compares every byte with the
/// reference.
pub fn check_pool_case(
    entry: &KernelEntry,
    case: &PoolCase,
    pools: &[&ThreadPool],
) -> Result<(), String> {
    let expected = case.expected()?;
    let plan = PoolPlan::new(&case.problem, entry).map_err(|e| {
        format!("planning on `{}` failed: {e}\n  case: {}", entry.name, case.describe())
    })?;
    let input = to_bytes(&case.input, case.problem.input);
    let size = case.problem.output.size_bytes();
    for pool in pools {
        let mut out = vec![SENTINEL; expected.len()];
        plan.run(&input, &mut out, pool).map_err(|e| {
            format!("running `{}` failed: {e}\n  case: {}", entry.name, case.describe())
        })?;
        if out != expected {
            let i = out.iter().zip(&expected).position(|(a, b)| a != b).unwrap_or(0) / size;
            let wrong = out.chunks(size).zip(expected.chunks(size)).filter(|(a, b)| a != b).count();
            return Err(format!(
                "`{}` with {} thread(s): output element {i} (pixel {}, channel {}) is {:?}, the reference says {:?} ({wrong} of {} elements differ)\n  case: {}",
                entry.name,
                pool.threads(),
                i / case.problem.out_pixel_stride,
                i % case.problem.out_pixel_stride,
                &out[i * size..(i + 1) * size],
                &expected[i * size..(i + 1) * size],
                expected.len() / size,
                case.describe()
            ));
        }
    }
    Ok(())
}

/// What a pooling test concentrates on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolTopic {
    /// Any window: kernel, stride, dilation, asymmetric (ceil-mode-like) padding, batch.
    Random,
    /// Windows over the whole image (`taps = H·W`), also large ones.
    Global,
    /// 1×1 windows (a strided copy for max, a requantize-like average).
    PointWindows,
    /// Edge zero points and values, scales that hit rounding ties, narrow clamps.
    Edges,
    /// Output into a channel slice of a wider tensor.
    Slices,
    /// Layers big enough to be split over threads.
    Large,
}

/// The kernel's pooling family and dtypes.
fn signature(entry: &KernelEntry) -> (PoolKind, DType, DType) {
    match &entry.imp {
        KernelImpl::Pool(k) => (k.kind, k.input, entry.operands.1),
        _ => panic!("`{}` is not a pooling kernel", entry.name),
    }
}

fn edge(rng: &mut SplitMix, d: DType) -> i32 {
    let (lo, hi) = d.int_range().expect("8-bit");
    rng.pick(&[lo, hi, 0.max(lo), lo + 1, hi - 1]) as i32
}

fn value(rng: &mut SplitMix, d: DType) -> i32 {
    let (lo, hi) = d.int_range().expect("8-bit");
    if rng.next_u64().is_multiple_of(4) { edge(rng, d) } else { rng.range(lo, hi) as i32 }
}

/// Builds a case of `entry`'s family on `geometry` from `seed`.
fn build(entry: &KernelEntry, geometry: PoolGeometry, seed: u64, topic: PoolTopic) -> PoolCase {
    let (kind, input, output) = signature(entry);
    let mut rng = SplitMix::new(seed);
    let n = geometry.batch * geometry.in_h * geometry.in_w * geometry.channels;
    let (lo, hi) = input.int_range().expect("8-bit");
    let fill = rng.range(0, if topic == PoolTopic::Edges { 3 } else { 7 });
    let data: Vec<i32> = (0..n)
        .map(|i| match fill {
            0 => lo as i32,
            1 => hi as i32,
            2 => (if i % 2 == 0 { lo } else { hi }) as i32,
            _ => value(&mut rng, input),
        })
        .collect();
    let channels = geometry.channels;
    let mut problem = match kind {
        PoolKind::Max => PoolProblem::max(geometry, input),
        PoolKind::SumI32 => PoolProblem::sum_i32(geometry, input, value(&mut rng, input)),
        PoolKind::AverageF32 => {
            let ties = topic == PoolTopic::Edges || rng.next_u64().is_multiple_of(2);
            let scale = |rng: &mut SplitMix| {
                if ties {
                    rng.pick(&[1.0f32, 0.5, 0.25, 2.0, 0.125, 4.0])
                } else {
                    rng.pick(&[0.3f32, 0.2, 0.1, 0.0237, 1.7, 0.007_812_5])
                        * (1.0 + rng.range(0, 1000) as f32 / 1000.0)
                }
            };
            let (olo, ohi) = output.int_range().expect("8-bit");
            let (clo, chi) = if rng.next_u64().is_multiple_of(4) {
                let a = rng.range(olo, ohi);
                let b = rng.range(olo, ohi);
                (a.min(b), a.max(b))
            } else {
                (olo, ohi)
            };
            let op = PoolOp::AverageF32 {
                zp_in: if topic == PoolTopic::Edges {
                    edge(&mut rng, input)
                } else {
                    value(&mut rng, input)
                },
                scale_in: scale(&mut rng),
                scale_out: scale(&mut rng),
                zp_out: edge(&mut rng, output) as f32,
                lo: clo as f32,
                hi: chi as f32,
            };
            PoolProblem::average_f32(geometry, input, output, op, rng.next_u64().is_multiple_of(2))
        }
    };
    if topic == PoolTopic::Slices || rng.next_u64().is_multiple_of(8) {
        let offset = rng.range(0, 5) as usize;
        let stride = channels + offset + rng.range(0, 7) as usize;
        problem = problem.into_channel_slice(stride, offset);
    }
    PoolCase { problem, input: data }
}

fn windows(topic: PoolTopic) -> BoxedStrategy<PoolGeometry> {
    let channels = prop_oneof![1..=17usize, 30..=34usize, 62..=66usize, 126..=MAX_TAIL_CHANNELS];
    match topic {
        PoolTopic::Random | PoolTopic::Edges | PoolTopic::Slices => (
            (1..=2usize, 1..=9usize, 1..=9usize, channels),
            ([1..=4usize, 1..=4usize], [1..=3usize, 1..=3usize], [1..=2usize, 1..=2usize]),
            [0..=3usize, 0..=3usize, 0..=3usize, 0..=3usize],
        )
            .prop_map(|((batch, h, w, c), (k, s, d), pad)| {
                // Pads below the window (what `qnn-ir` allows), the input at least as large
                // as the window.
                let span = |k: usize, d: usize| d * (k - 1) + 1;
                let pad = [
                    pad[0].min(k[0] - 1),
                    pad[1].min(k[1] - 1),
                    pad[2].min(k[0] - 1),
                    pad[3].min(k[1] - 1),
                ];
                PoolGeometry {
                    batch,
                    in_h: h.max(span(k[0], d[0])),
                    in_w: w.max(span(k[1], d[1])),
                    channels: c,
                    kernel: k,
                    strides: s,
                    padding: pad,
                    dilation: d,
                }
            })
            .boxed(),
        PoolTopic::Global => {
            (1..=2usize, prop_oneof![1..=9usize, Just(14usize)], 1..=9usize, channels)
                .prop_map(|(batch, h, w, c)| PoolGeometry::global(batch, h, w, c))
                .boxed()
        }
        PoolTopic::PointWindows => (1..=2usize, 1..=8usize, 1..=8usize, channels, 1..=3usize)
            .prop_map(|(batch, h, w, c, s)| PoolGeometry {
                batch,
                in_h: h,
                in_w: w,
                channels: c,
                kernel: [1, 1],
                strides: [s, s],
                padding: [0; 4],
                dilation: [1, 1],
            })
            .boxed(),
        PoolTopic::Large => prop_oneof![
            // ResNet's 3×3 stride-2 max pool (ceil-mode padding on one side sometimes).
            (1..=2usize, 0..=1usize).prop_map(|(batch, ceil)| PoolGeometry {
                batch,
                in_h: 24,
                in_w: 23,
                channels: 64,
                kernel: [3, 3],
                strides: [2, 2],
                padding: [1, 1, 1 + ceil, 1 + ceil],
                dilation: [1, 1],
            }),
            // Global pooling of one image: rows alone cannot feed the threads.
            (7..=14usize, prop_oneof![Just(256usize), Just(321usize)])
                .prop_map(|(hw, c)| PoolGeometry::global(1, hw, hw, c)),
        ]
        .boxed(),
    }
}

/// Cases of `topic` for `entry`: geometries whose every window sees a pixel.
pub fn pool_cases(entry: &'static KernelEntry, topic: PoolTopic) -> BoxedStrategy<PoolCase> {
    (windows(topic), any::<u64>())
        .prop_map(move |(g, seed)| build(entry, g, seed, topic))
        .prop_filter("a window of padding only", |c| c.problem.validate().is_ok())
        .boxed()
}

/// Runs `default_cases` random cases of `topic` on `entry`, each with one and two threads.
pub fn pool_property(entry: &'static KernelEntry, topic: PoolTopic, default_cases: u32) {
    if !runnable(entry) {
        return;
    }
    let pools = [ThreadPool::new(1), ThreadPool::new(2)];
    let refs: Vec<&ThreadPool> = pools.iter().collect();
    let config =
        Config { cases: case_count(default_cases), failure_persistence: None, ..Config::default() };
    let result = TestRunner::new(config).run(&pool_cases(entry, topic), |case| {
        check_pool_case(entry, &case, &refs).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("pooling conformance of `{}` ({topic:?}): {e}", entry.name);
    }
}

/// Deterministic cases: every channel count `1..=129` on a padded 3×3 window and on a global
/// window, every window size `1..=5` (square and not) with every padding below it.
pub fn pool_sweep(entry: &'static KernelEntry) -> Vec<PoolCase> {
    let mut geometries = Vec::new();
    for c in 1..=MAX_TAIL_CHANNELS {
        geometries.push(PoolGeometry {
            batch: 1,
            in_h: 3,
            in_w: 4,
            channels: c,
            kernel: [3, 3],
            strides: [2, 1],
            padding: [1, 1, 1, 0],
            dilation: [1, 1],
        });
        geometries.push(PoolGeometry::global(1, 2, 3, c));
    }
    for kh in 1..=5 {
        for kw in [1, kh, 5] {
            for pad in 0..kh.min(kw) {
                geometries.push(PoolGeometry {
                    batch: 1,
                    in_h: 6,
                    in_w: 7,
                    channels: 3,
                    kernel: [kh, kw],
                    strides: [1, 2],
                    padding: [pad, pad, (pad + 1) % kh.min(kw), pad],
                    dilation: [1, 1],
                });
            }
        }
    }
    geometries
        .into_iter()
        .enumerate()
        .map(|(i, g)| build(entry, g, 0x5EED ^ i as u64, PoolTopic::Random))
        .filter(|c| c.problem.validate().is_ok())
        .collect()
}

/// Every case of [`pool_sweep`], with one and two threads.
pub fn pool_every_tail(entry: &'static KernelEntry) {
    if !runnable(entry) {
        return;
    }
    let pools = [ThreadPool::new(1), ThreadPool::new(2)];
    let refs: Vec<&ThreadPool> = pools.iter().collect();
    let sweep = pool_sweep(entry);
    for (i, case) in sweep.iter().enumerate() {
        if let Err(e) = check_pool_case(entry, case, &refs) {
            panic!("pooling sweep case {i} of {}: {e}", sweep.len());
        }
    }
}

/// Large layers on pools of 1 to 4 threads give identical, correct bytes.
pub fn pool_thread_count_invariance(entry: &'static KernelEntry, default_cases: u32) {
    if !runnable(entry) {
        return;
    }
    let pools: Vec<ThreadPool> = (1..=4).map(ThreadPool::new).collect();
    let refs: Vec<&ThreadPool> = pools.iter().collect();
    let config =
        Config { cases: case_count(default_cases), failure_persistence: None, ..Config::default() };
    let result = TestRunner::new(config).run(&pool_cases(entry, PoolTopic::Large), |case| {
        check_pool_case(entry, &case, &refs).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("thread-count invariance of `{}`: {e}", entry.name);
    }
}

/// One case of `topic` from a fixed seed (for tests of the suite itself).
pub fn pool_example(entry: &'static KernelEntry, topic: PoolTopic) -> PoolCase {
    let mut runner = TestRunner::deterministic();
    pool_cases(entry, topic).new_tree(&mut runner).expect("cases generate").current()
}

/// Generates the conformance suite of one pooling kernel (an expression giving a
/// `&'static KernelEntry`): random windows, global and 1×1 windows, edge values, zero points
/// and ties, channel slices, a sweep of every channel tail and window size, and thread-count
/// invariance, each against the reference interpreter. `kernel!(pool …)` instantiates it.
#[macro_export]
macro_rules! pool_conformance_tests {
    ($name:ident, $entry:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::testing::pool::{
                PoolTopic, pool_every_tail, pool_property, pool_thread_count_invariance,
            };

            fn entry() -> &'static $crate::__private::KernelEntry {
                $entry
            }

            #[test]
            fn random_windows() {
                pool_property(entry(), PoolTopic::Random, 64);
            }

            #[test]
            fn global_windows() {
                pool_property(entry(), PoolTopic::Global, 24);
            }

            #[test]
            fn point_windows() {
                pool_property(entry(), PoolTopic::PointWindows, 16);
            }

            #[test]
            fn edges_and_ties() {
                pool_property(entry(), PoolTopic::Edges, 64);
            }

            #[test]
            fn channel_slices() {
                pool_property(entry(), PoolTopic::Slices, 16);
            }

            #[test]
            fn every_channel_tail_and_window() {
                pool_every_tail(entry());
            }

            #[test]
            fn thread_count_never_changes_a_bit() {
                pool_thread_count_invariance(entry(), 4);
            }
        }
    };
}
