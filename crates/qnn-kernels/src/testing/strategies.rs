//! Random cases for the conformance suite: shapes that hit every tail of a kernel's tile,
//! every epilogue variant, edge zero points, and value patterns that stress ranges.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use qnn_ir::backend::{KernelEntry, KernelImpl, WeightConstraint};
use qnn_ir::{DType, FixedPointMultiplier, FixedRounding, RequantScale};

use super::{Case, Lowering, QnnLayer};
use crate::problem::ConvGeometry;

/// What a test concentrates on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Any geometry: groups, strides, dilation, asymmetric padding, batch.
    Random,
    /// Dense layers (GEMM) or channel counts (depthwise) around every tile boundary.
    Tails,
    /// Few-channel first layers (C = 1..=4), large kernels, stride 2.
    FirstLayer,
    /// Tiny layers, every requantize mode and dtype, exact ties, edge zero points.
    Epilogues,
    /// A long reduction (3×3×128) or a wide depthwise layer.
    Deep,
    /// Extreme data and weights (all minimum / all maximum) with edge zero points.
    Extremes,
}

/// A small deterministic generator for the bulk values of a case.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }
    pub fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.next_u64() as usize % v.len()]
    }
}

fn range_of(d: DType) -> (i64, i64) {
    d.int_range().unwrap_or((0, 0))
}

/// A value of `d`: an edge value one time in four.
fn value(rng: &mut SplitMix, d: DType) -> i32 {
    let (lo, hi) = range_of(d);
    if rng.next_u64().is_multiple_of(4) {
        rng.pick(&[lo, hi, 0.max(lo), (lo + hi) / 2]) as i32
    } else {
        rng.range(lo, hi) as i32
    }
}

/// How the bulk data and weights are drawn.
#[derive(Debug, Clone, Copy)]
enum Fill {
    Uniform,
    Min,
    Max,
    /// Alternating extremes.
    Checker,
}

fn fill(rng: &mut SplitMix, d: DType, n: usize, how: Fill) -> Vec<i32> {
    let (lo, hi) = range_of(d);
    (0..n)
        .map(|i| match how {
            Fill::Uniform => value(rng, d),
            Fill::Min => lo as i32,
            Fill::Max => hi as i32,
            Fill::Checker => (if i % 2 == 0 { lo } else { hi }) as i32,
        })
        .collect()
}

/// Parameters of one geometry.
#[derive(Debug, Clone, Copy)]
struct Shape {
    batch: usize,
    h: usize,
    w: usize,
    cg: usize,
    groups: usize,
    ng: usize,
    k: [usize; 2],
    s: [usize; 2],
    d: [usize; 2],
    pad: [usize; 4],
}

impl Shape {
    /// The geometry, with the input enlarged until the window fits.
    fn geometry(self) -> ConvGeometry {
        let span = |k: usize, d: usize| d * (k - 1) + 1;
        let [pt, pl, pb, pr] = self.pad;
        let h = self.h.max(span(self.k[0], self.d[0]).saturating_sub(pt + pb)).max(1);
        let w = self.w.max(span(self.k[1], self.d[1]).saturating_sub(pl + pr)).max(1);
        ConvGeometry {
            batch: self.batch,
            in_h: h,
            in_w: w,
            in_c: self.cg * self.groups,
            out_c: self.ng * self.groups,
            kernel: self.k,
            strides: self.s,
            padding: self.pad,
            dilation: self.d,
            groups: self.groups,
        }
    }
}

fn pads(max: usize) -> impl Strategy<Value = [usize; 4]> {
    [0..=max, 0..=max, 0..=max, 0..=max]
}

/// Output channels per group around the tile width `nr`: small, just below/at/above one
/// tile, and two tiles plus one.
fn columns(nr: usize) -> impl Strategy<Value = usize> {
    prop_oneof![1..=4usize, (nr.max(2) - 1)..=(nr + 1), Just(2 * nr + 1)]
}

fn gemm_shape(topic: Topic, mr: usize, nr: usize) -> BoxedStrategy<Shape> {
    match topic {
        Topic::Random | Topic::Extremes => (
            (1..=2usize, 1..=7usize, 1..=9usize, 1..=17usize, 1..=3usize, columns(nr)),
            ([1..=3usize, 1..=4usize], [1..=2usize, 1..=3usize], [1..=2usize, 1..=2usize]),
            pads(2),
        )
            .prop_map(|((batch, h, w, cg, groups, ng), (k, s, d), pad)| Shape {
                batch,
                h,
                w,
                cg,
                groups,
                ng,
                k,
                s,
                d,
                pad,
            })
            .boxed(),
        // Dense: rows over the batch, K = 1..=70 (every K tail and C = 1..=17).
        Topic::Tails => (1..=3 * mr + 1, 1..=70usize, prop_oneof![1..=3 * nr + 1, columns(nr)])
            .prop_map(|(rows, k, n)| Shape {
                batch: rows,
                h: 1,
                w: 1,
                cg: k,
                groups: 1,
                ng: n,
                k: [1, 1],
                s: [1, 1],
                d: [1, 1],
                pad: [0; 4],
            })
            .boxed(),
        Topic::FirstLayer => {
            (1..=4usize, 3..=7usize, 5..=14usize, 5..=14usize, columns(nr), pads(3))
                .prop_map(|(c, k, h, w, ng, pad)| Shape {
                    batch: 1,
                    h,
                    w,
                    cg: c,
                    groups: 1,
                    ng,
                    k: [k, k],
                    s: [2, 2],
                    d: [1, 1],
                    pad,
                })
                .boxed()
        }
        Topic::Epilogues => (1..=3usize, 1..=5usize, 1..=nr + 2)
            .prop_map(|(w, cg, ng)| Shape {
                batch: 1,
                h: 2,
                w,
                cg,
                groups: 1,
                ng,
                k: [1, 2],
                s: [1, 1],
                d: [1, 1],
                pad: [1, 0, 0, 1],
            })
            .boxed(),
        Topic::Deep => (1..=2 * mr + 1, prop_oneof![Just(128usize), 60..=70usize], columns(nr))
            .prop_map(|(w, cg, ng)| Shape {
                batch: 1,
                h: 3,
                w,
                cg,
                groups: 1,
                ng,
                k: [3, 3],
                s: [1, 1],
                d: [1, 1],
                pad: [1, 1, 1, 1],
            })
            .boxed(),
    }
}

fn depthwise_shape(topic: Topic, block: usize) -> BoxedStrategy<Shape> {
    let channels = prop_oneof![1..=17usize, (block.max(2) - 1)..=(block + 1), Just(2 * block + 3)];
    match topic {
        Topic::Random | Topic::Extremes | Topic::Tails => (
            (1..=2usize, 1..=8usize, 1..=12usize, channels, 1..=3usize),
            ([1..=5usize, 1..=5usize], [1..=2usize, 1..=3usize], [1..=2usize, 1..=2usize]),
            pads(2),
        )
            .prop_map(|((batch, h, w, c, cm), (k, s, d), pad)| Shape {
                batch,
                h,
                w,
                cg: 1,
                groups: c,
                ng: cm,
                k,
                s,
                d,
                pad,
            })
            .boxed(),
        Topic::FirstLayer => (1..=3usize, prop_oneof![Just(5usize), Just(7)], 7..=16usize, pads(3))
            .prop_map(|(c, k, w, pad)| Shape {
                batch: 1,
                h: 8,
                w,
                cg: 1,
                groups: c * 8,
                ng: 1,
                k: [k, k],
                s: [2, 2],
                d: [1, 1],
                pad,
            })
            .boxed(),
        Topic::Epilogues => (1..=4usize, 1..=block + 2)
            .prop_map(|(w, c)| Shape {
                batch: 1,
                h: 2,
                w,
                cg: 1,
                groups: c,
                ng: 1,
                k: [2, 2],
                s: [1, 1],
                d: [1, 1],
                pad: [1, 1, 0, 0],
            })
            .boxed(),
        // Wide rows (≥ 8 KiB of input per output row at stride 2) take the frame's direct
        // path, which reads the input in place and pads only the edges.
        Topic::Deep => {
            (prop_oneof![Just(144usize), Just(3 * block + 5)], 40..=64usize, 1..=2usize, 1..=2usize)
                .prop_map(|(c, w, s, batch)| Shape {
                    batch,
                    h: 6,
                    w,
                    cg: 1,
                    groups: c,
                    ng: 1,
                    k: [3, 3],
                    s: [s, s],
                    d: [1, 1],
                    pad: [1, 1, 1, 1],
                })
                .boxed()
        }
    }
}

/// The epilogue kinds a case can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Requant {
    Raw,
    Float,
    Fixed(FixedRounding),
}

fn requant_kind() -> impl Strategy<Value = Requant> {
    prop_oneof![
        Just(Requant::Raw),
        Just(Requant::Float),
        Just(Requant::Fixed(FixedRounding::Upward)),
        Just(Requant::Fixed(FixedRounding::ToNearest)),
        Just(Requant::Fixed(FixedRounding::Tflite)),
    ]
}

/// Everything about a case but its shape.
#[derive(Debug, Clone, Copy)]
struct Knobs {
    data: DType,
    weight: DType,
    lowering: Lowering,
    requant: Requant,
    per_channel_requant: bool,
    per_channel_wzp: bool,
    u8_out: bool,
    clamp: bool,
    seed: u64,
    /// Largest |weight| the kernel accepts (its weight constraint), if it has a bound.
    weight_bound: Option<i32>,
    /// Weight zero points are 0 (a kernel that packs shifted int16 weights as s8).
    symmetric: bool,
}

fn knobs(entry: &KernelEntry, topic: Topic) -> BoxedStrategy<Knobs> {
    // 255 · (64 + 64) = 32 640: pairs of such weights never saturate an int16 pair sum.
    let weight_bound = match &entry.imp {
        KernelImpl::IndirectGemm(k) if k.constraint == WeightConstraint::U8S8PairSumFitsI16 => {
            Some(64)
        }
        // No −128: s8 pairs then fit an int16 lane.
        KernelImpl::IndirectGemm(k) if k.constraint == WeightConstraint::S8S8PairSumFitsI16 => {
            Some(127)
        }
        _ => None,
    };
    let int16 = entry.operands == (DType::I16, DType::I16);
    // A kernel of the int16 lowering that reads 8-bit data in place: that data type, the
    // offset fused (the frame folds it into the per-channel constant).
    let int16_on_8bit = entry.operands.1 == DType::I16 && entry.operands.0 != DType::I16;
    // A kernel that packs the int16 lowering's shifted weights as s8 takes them only when
    // they fit: symmetric s8 weights (zero point 0).
    let packed_weight = match &entry.imp {
        KernelImpl::IndirectGemm(k) => k.packed.1,
        KernelImpl::Gemm(_) => entry.operands.1,
        KernelImpl::Depthwise(k) => k.packed.1,
        _ => entry.operands.1,
    };
    let symmetric = entry.operands.1 == DType::I16 && packed_weight != DType::I16;
    let dtypes: BoxedStrategy<(DType, DType, Lowering)> = if int16_on_8bit {
        let weight = if symmetric {
            Just(DType::I8).boxed()
        } else {
            prop_oneof![Just(DType::U8), Just(DType::I8)].boxed()
        };
        (Just(entry.operands.0), weight, Just(Lowering::Int16Fused)).boxed()
    } else if int16 {
        (
            prop_oneof![Just(DType::U8), Just(DType::I8)],
            prop_oneof![Just(DType::U8), Just(DType::I8)],
            // Pre-shifted i16 data has the whole i16 range as far as the frame can tell, so a
            // long reduction is refused (correctly): only the fused form goes deep.
            if topic == Topic::Deep {
                Just(Lowering::Int16Fused).boxed()
            } else {
                prop_oneof![Just(Lowering::Int16Fused), Just(Lowering::Int16Preshifted)].boxed()
            },
        )
            .boxed()
    } else {
        let (d, w) = entry.operands;
        Just((d, w, Lowering::Int8)).boxed()
    };
    (dtypes, requant_kind(), any::<[bool; 4]>(), any::<bool>(), any::<u64>())
        .prop_map(move |((data, weight, lowering), requant, [pcr, pcw, u8_out, clamp], _, seed)| {
            Knobs {
                data,
                weight,
                lowering,
                requant,
                per_channel_requant: pcr,
                per_channel_wzp: pcw,
                u8_out,
                clamp,
                seed,
                weight_bound,
                symmetric,
            }
        })
        .boxed()
}

/// A zero point of `d`: an edge value half the time.
fn zero_point(rng: &mut SplitMix, d: DType) -> i32 {
    let (lo, hi) = range_of(d);
    if rng.next_u64().is_multiple_of(2) {
        rng.pick(&[lo, hi, 0.max(lo)]) as i32
    } else {
        rng.range(lo, hi) as i32
    }
}

/// A real multiplier that maps the typical accumulator of a `k`-long reduction to a few
/// hundred output steps, times a random power of two (so some outputs saturate), or an
/// exact tie maker (0.5, 0.25, 1) for tiny reductions.
fn multiplier(rng: &mut SplitMix, k: usize, topic: Topic) -> f64 {
    if topic == Topic::Epilogues && rng.next_u64().is_multiple_of(3) {
        return rng.pick(&[0.5, 0.25, 1.0, 2.0, 0.125]);
    }
    let typical = (k as f64).sqrt() * 100.0 * 60.0;
    let e = rng.range(-3, 5) as i32;
    (1.0 + rng.next_u64() as f64 / u64::MAX as f64) * 2f64.powi(e) * 100.0 / typical
}

fn build(shape: Shape, kn: Knobs, topic: Topic) -> Case {
    let g = shape.geometry();
    let mut rng = SplitMix::new(kn.seed);
    let k_len = g.reduction_len();
    let fills = match topic {
        Topic::Extremes => [Fill::Min, Fill::Max, Fill::Checker],
        _ => [Fill::Uniform; 3],
    };
    let data_fill = rng.pick(&fills);
    let weight_fill = rng.pick(&fills);
    let input = fill(&mut rng, kn.data, g.input_len(), data_fill);
    let mut weights = fill(&mut rng, kn.weight, g.weight_len(), weight_fill);
    if let Some(bound) = kn.weight_bound {
        weights.iter_mut().for_each(|w| *w = (*w).clamp(-bound, bound));
    }
    if topic == Topic::Epilogues {
        // Small weights keep tiny accumulators near the rounding ties.
        weights.iter_mut().for_each(|w| {
            *w = rng.range(-3, 3) as i32 + if kn.weight == DType::U8 { 3 } else { 0 }
        });
    }
    let data_zero_point = zero_point(&mut rng, kn.data);
    let weight_zero_point: Vec<i32> = if kn.symmetric {
        vec![0]
    } else if kn.per_channel_wzp {
        (0..g.out_c).map(|_| zero_point(&mut rng, kn.weight)).collect()
    } else {
        vec![zero_point(&mut rng, kn.weight)]
    };
    let bias_span = if topic == Topic::Epilogues { 8 } else { 1 << 20 };
    let bias = (0..g.out_c).map(|_| rng.range(-bias_span, bias_span) as i32).collect();
    let n_mult = if kn.per_channel_requant { g.out_c } else { 1 };
    let out_dtype = match kn.requant {
        Requant::Raw => DType::I32,
        _ if kn.u8_out => DType::U8,
        _ => DType::I8,
    };
    let requant = match kn.requant {
        Requant::Raw => None,
        Requant::Float => Some(RequantScale::Float {
            mults: (0..n_mult)
                .map(|_| {
                    // Now and then a multiplier whose products leave the i32 range (f32
                    // conversions that overflow must still clamp to the right bound).
                    if matches!(topic, Topic::Epilogues | Topic::Extremes)
                        && rng.next_u64().is_multiple_of(6)
                    {
                        rng.pick(&[65_536.0f32, 1.0e9, 3.0e38])
                    } else {
                        multiplier(&mut rng, k_len, topic) as f32
                    }
                })
                .collect(),
        }),
        Requant::Fixed(rounding) => Some(RequantScale::Fixed {
            mults: (0..n_mult)
                .map(|_| {
                    FixedPointMultiplier::from_real(multiplier(&mut rng, k_len, topic))
                        .expect("multipliers are small and positive")
                })
                .collect(),
            rounding,
        }),
    };
    let (out_zero_point, requant_input_zero_point) = match kn.requant {
        Requant::Raw => (0, 0),
        _ => (zero_point(&mut rng, out_dtype), rng.pick(&[0, 0, 1, -1, 100, -1000])),
    };
    let clamp = kn.clamp.then(|| {
        let (lo, hi) = range_of(out_dtype);
        let (lo, hi) = if out_dtype == DType::I32 { (-(1 << 24), 1 << 24) } else { (lo, hi) };
        let a = rng.range(lo, hi) as i32;
        let b = rng.range(lo, hi) as i32;
        (a.min(b), a.max(b))
    });
    Case {
        layer: QnnLayer {
            geometry: g,
            data_dtype: kn.data,
            data_zero_point,
            weight_dtype: kn.weight,
            weights,
            weight_zero_point,
            bias,
            requant,
            requant_input_zero_point,
            out_dtype,
            out_zero_point,
            clamp,
            input,
        },
        lowering: kn.lowering,
    }
}

/// Cases for `entry` on `topic`.
pub fn cases(entry: &KernelEntry, topic: Topic) -> BoxedStrategy<Case> {
    let shapes = match &entry.imp {
        KernelImpl::IndirectGemm(k) => gemm_shape(topic, k.mr, k.nr),
        KernelImpl::Gemm(k) => gemm_shape(topic, k.mr, k.nr),
        KernelImpl::Depthwise(k) => depthwise_shape(topic, k.block),
        KernelImpl::Pool(_) | KernelImpl::Elementwise(_) | KernelImpl::Transpose(_) => {
            panic!("`{}` is not a conv kernel: it has a conformance suite of its own", entry.name)
        }
    };
    (shapes, knobs(entry, topic)).prop_map(move |(s, k)| build(s, k, topic)).boxed()
}

/// Deterministic cases that reach every tail of `entry`'s tile, whatever the random topics
/// drew: for a GEMM tile `mr × nr` (`kr` deep), dense layers with every row count `1..=2·mr+1`,
/// every column count `1..=2·nr+1` and every reduction length `1..=4·kr+2` (the other two
/// dimensions one past a full tile); for a depthwise block, every channel count
/// `1..=2·block+1` and widths `1..=9`. The epilogue, dtypes, zero points and lowering cycle
/// through their variants from case to case.
pub fn tail_sweep(entry: &KernelEntry) -> Vec<Case> {
    let dense = |rows: usize, k: usize, n: usize| Shape {
        batch: rows,
        h: 1,
        w: 1,
        cg: k,
        groups: 1,
        ng: n,
        k: [1, 1],
        s: [1, 1],
        d: [1, 1],
        pad: [0; 4],
    };
    let shapes: Vec<Shape> = match &entry.imp {
        KernelImpl::IndirectGemm(k) => gemm_sweep(k.mr, k.nr, k.kr, dense),
        KernelImpl::Gemm(k) => gemm_sweep(k.mr, k.nr, k.kr, dense),
        KernelImpl::Depthwise(k) => {
            let dw = |c: usize, w: usize| Shape {
                batch: 1,
                h: 3,
                w,
                cg: 1,
                groups: c,
                ng: 1,
                k: [3, 3],
                s: [1, 1],
                d: [1, 1],
                pad: [1, 1, 1, 1],
            };
            let channels = (1..=2 * k.block + 1).map(|c| dw(c, 2));
            channels.chain((1..=9).map(|w| dw(k.block + 1, w))).collect()
        }
        KernelImpl::Pool(_) | KernelImpl::Elementwise(_) | KernelImpl::Transpose(_) => {
            panic!("`{}` is not a conv kernel: it has a conformance suite of its own", entry.name)
        }
    };
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let knobs = knobs(entry, Topic::Tails);
    shapes
        .into_iter()
        .map(|shape| {
            let kn = knobs.new_tree(&mut runner).expect("knobs always generate").current();
            build(shape, kn, Topic::Tails)
        })
        .collect()
}

fn gemm_sweep(
    mr: usize,
    nr: usize,
    kr: usize,
    dense: impl Fn(usize, usize, usize) -> Shape,
) -> Vec<Shape> {
    let (m1, n1, k1) = (mr + 1, nr + 1, 2 * kr + 1);
    let rows = (1..=2 * mr + 1).map(|m| dense(m, k1, n1));
    let cols = (1..=2 * nr + 1).map(|n| dense(m1, k1, n));
    let depth = (1..=4 * kr.max(1) + 2).map(|k| dense(m1, k, n1));
    rows.chain(cols).chain(depth).collect()
}
