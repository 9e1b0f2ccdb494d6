//! Range analysis: prove, before lowering, that every int32 value a lowering emits stays in
//! int32, and record which 16-bit-intermediate kernels the op's weights make safe.
//!
//! Bounds use the actual constant weights: for data in `[lo, hi]`,
//! `Σ_i W_i·x_i ∈ [Σ_i min(W_i·lo, W_i·hi), Σ_i max(W_i·lo, W_i·hi)]`, which is exact (each
//! x_i is free) and much tighter than `255·255·K`. Padded cells hold the zero point, a value
//! of the data type, so they are covered. Arithmetic is in `i128` (or in `i64` where no sum
//! can reach 2^63); the weights are read at their element type with the lowering's shift
//! applied per element, so no shifted copy of a weight tensor is made.

use qnn_ir::{DType, IntSlice, with_ints};
use serde::{Deserialize, Serialize};

use crate::analysis::QConv;
use crate::fold::{Int8Fold, Int16Fold};

/// A closed integer interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interval {
    pub lo: i64,
    pub hi: i64,
}

impl Interval {
    pub const I32: Interval = Interval { lo: i32::MIN as i64, hi: i32::MAX as i64 };
    pub const I16: Interval = Interval { lo: i16::MIN as i64, hi: i16::MAX as i64 };
    pub const U16: Interval = Interval { lo: 0, hi: u16::MAX as i64 };

    pub fn new(lo: i128, hi: i128) -> Interval {
        let sat = |v: i128| v.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
        Interval { lo: sat(lo), hi: sat(hi) }
    }
    pub fn point(v: i64) -> Interval {
        Interval { lo: v, hi: v }
    }
    /// The values of an integer dtype.
    pub fn of(dtype: DType) -> Interval {
        let (lo, hi) = dtype.int_range().expect("integer dtype");
        Interval { lo, hi }
    }
    pub fn within(&self, outer: Interval) -> bool {
        outer.lo <= self.lo && self.hi <= outer.hi
    }
    pub fn fits_i32(&self) -> bool {
        self.within(Interval::I32)
    }
    pub fn scale(self, m: i64) -> Interval {
        let (a, b) = (self.lo as i128 * m as i128, self.hi as i128 * m as i128);
        Interval::new(a.min(b), a.max(b))
    }
    pub fn shift(self, d: i64) -> Interval {
        self + Interval::point(d)
    }
    pub fn hull(self, o: Interval) -> Interval {
        Interval { lo: self.lo.min(o.lo), hi: self.hi.max(o.hi) }
    }
}

impl std::ops::Add for Interval {
    type Output = Interval;
    fn add(self, o: Interval) -> Interval {
        Interval::new(self.lo as i128 + o.lo as i128, self.hi as i128 + o.hi as i128)
    }
}

impl std::ops::Sub for Interval {
    type Output = Interval;
    fn sub(self, o: Interval) -> Interval {
        Interval::new(self.lo as i128 - o.hi as i128, self.hi as i128 - o.lo as i128)
    }
}

impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}, {}]", self.lo, self.hi)
    }
}

/// Exact bound of `Σ_i w_i·x_i` over `x_i ∈ data`.
pub fn dot_bound(weights: IntSlice<'_>, data: Interval) -> Interval {
    dot_bound_shifted(weights, 0, data)
}

/// Weights are summed in chunks of this many, in i64 when the shift's magnitude is below
/// [`SMALL`] (weights are at most 2^31, so no chunk sum reaches 2^53), else in i128.
const CHUNK: usize = 4096;
const SMALL: u64 = 1 << 40;

/// Exact bound of `Σ_i (w_i − shift)·x_i` over `x_i ∈ data`.
///
/// Each term is smallest at `x = lo` where its weight is positive and at `x = hi` where it
/// is negative (largest the other way round), so the bound is `lo·P + hi·N … hi·P + lo·N`
/// with `P` and `N` the sums of the positive and negative weights: one pass of additions,
/// then four products, all exact in i128.
pub fn dot_bound_shifted(weights: IntSlice<'_>, shift: i64, data: Interval) -> Interval {
    let (p, n) = with_ints!(weights, w => signed_sums(w, shift));
    let (lo, hi) = (data.lo as i128, data.hi as i128);
    Interval::new(lo * p + hi * n, hi * p + lo * n)
}

/// `(Σ max(w − shift, 0), Σ min(w − shift, 0))`, exact.
fn signed_sums<T: Copy + Into<i64>>(weights: &[T], shift: i64) -> (i128, i128) {
    let (mut p, mut n) = (0i128, 0i128);
    for chunk in weights.chunks(CHUNK) {
        if shift.unsigned_abs() < SMALL {
            // No i64 sum of a chunk can overflow: vectorized.
            let (mut cp, mut cn) = (0i64, 0i64);
            for &w in chunk {
                let w = w.into() - shift;
                cp += w.max(0);
                cn += w.min(0);
            }
            p += cp as i128;
            n += cn as i128;
        } else {
            for &w in chunk {
                let w = w.into() as i128 - shift as i128;
                p += w.max(0);
                n += w.min(0);
            }
        }
    }
    (p, n)
}

/// Bounds of every int32 value of the int8-terms lowering (hulls over output channels).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Int8TermsRange {
    /// `T1 = conv(P', W')`.
    pub t1: Interval,
    /// The folded constant `−T2 + T4 + bias`.
    pub constant: Interval,
    pub t1_plus_constant: Interval,
    /// Window sums `Σ P'` over one output's reduction, when T3 is emitted.
    pub window_sum: Option<Interval>,
    /// `T3 = w'_k · Σ P'`, when emitted.
    pub t3: Option<Interval>,
    /// The result `Y + bias` (the same for every lowering).
    pub result: Interval,
    /// Why it is not safe: the first value that may leave int32 (`None`: proven safe).
    pub overflow: Option<String>,
}

/// Bounds of the int16 lowering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Int16Range {
    /// `int16(A) − a`.
    pub data: Interval,
    /// `conv(P − a, W − w)` in int32.
    pub accumulator: Interval,
    pub result: Interval,
    pub overflow: Option<String>,
}

/// Whether a kernel that sums pairs of 8-bit products in a 16-bit register is exact for
/// this op's weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairSumFact {
    /// The instruction sequence (`vpmaddubsw`, `smull+smlal`, `umull+umlal`).
    pub instruction: String,
    /// What happens out of range: `saturates` or `wraps`.
    pub on_overflow: String,
    pub data: Interval,
    /// Hull of `x_{2i}·w_{2i} + x_{2i+1}·w_{2i+1}` over every pair of every channel.
    pub pair_sums: Interval,
    /// The 16-bit range the pair sums must stay in.
    pub limit: Interval,
    pub safe: bool,
    /// The pairing: K in (r, s, c) order, c fastest (NHWC im2col), pairs `(2i, 2i+1)` per
    /// output channel, an odd tail paired with 0.
    pub k_order: String,
}

fn first_overflow(checks: &[(&str, usize, Interval)]) -> Option<String> {
    checks
        .iter()
        .find(|(_, _, iv)| !iv.fits_i32())
        .map(|(what, k, iv)| format!("{what} ∈ {iv} at output channel {k} leaves int32"))
}

/// Range analysis of the int8-terms lowering with folded operands `f`.
pub fn int8_terms(q: &QConv, f: &Int8Fold) -> Int8TermsRange {
    let data = Interval::of(f.plan.data_dtype);
    let orig = Interval::of(q.data_dtype).shift(-q.a);
    let t3 = f.needs_t3();
    let window = data.scale(q.dims.k() as i64);
    let mut acc: Option<Int8TermsRange> = None;
    let mut overflow = None;
    for k in 0..q.dims.o {
        let t1 = dot_bound_shifted(q.row(k), -f.plan.weight_shift, data);
        let c = Interval::point(f.constant[k]);
        let t1c = t1 + c;
        let t3k = window.scale(f.wzp[k]);
        // The int16 lowering's weights `W_k − w_k`, without building its fold.
        let result = dot_bound_shifted(q.row(k), q.wzp[k], orig).shift(q.bias[k]);
        let mut checks =
            vec![("T1", k, t1), ("the folded constant", k, c), ("T1 + constant", k, t1c)];
        if t3 {
            checks.push(("the window sum", k, window));
            checks.push(("T3", k, t3k));
        }
        checks.push(("the result", k, result));
        if overflow.is_none() {
            overflow = first_overflow(&checks);
        }
        let this = Int8TermsRange {
            t1,
            constant: c,
            t1_plus_constant: t1c,
            window_sum: t3.then_some(window),
            t3: t3.then_some(t3k),
            result,
            overflow: None,
        };
        acc = Some(match acc {
            None => this,
            Some(a) => Int8TermsRange {
                t1: a.t1.hull(this.t1),
                constant: a.constant.hull(this.constant),
                t1_plus_constant: a.t1_plus_constant.hull(this.t1_plus_constant),
                window_sum: a.window_sum,
                t3: a.t3.zip(this.t3).map(|(x, y)| x.hull(y)),
                result: a.result.hull(this.result),
                overflow: None,
            },
        });
    }
    let mut r = acc.expect("a conv has at least one output channel");
    r.overflow = overflow;
    r
}

/// Range analysis of the int16 lowering.
pub fn int16(q: &QConv, _f: &Int16Fold) -> Int16Range {
    let data = Interval::of(q.data_dtype).shift(-q.a);
    let mut out: Option<(Interval, Interval)> = None;
    let mut overflow = None;
    for k in 0..q.dims.o {
        // `W_k − w_k`, without building the fold.
        let acc = dot_bound_shifted(q.row(k), q.wzp[k], data);
        let result = acc.shift(q.bias[k]);
        if overflow.is_none() {
            overflow =
                first_overflow(&[("the int16 accumulator", k, acc), ("the result", k, result)]);
        }
        out = Some(match out {
            None => (acc, result),
            Some((a, r)) => (a.hull(acc), r.hull(result)),
        });
    }
    let (accumulator, result) = out.expect("a conv has at least one output channel");
    Int16Range { data, accumulator, result, overflow }
}

/// Hull of the pair sums `x_{2i}·w_{2i} + x_{2i+1}·w_{2i+1}` over every channel, with
/// `w` the weights of `rows` plus `shift`.
pub fn pair_sums<'a>(
    rows: impl IntoIterator<Item = IntSlice<'a>>,
    shift: i64,
    data: Interval,
) -> Interval {
    let mut hull: Option<(i128, i128)> = None;
    for row in rows {
        if let Some((a, b)) = with_ints!(row, r => row_pair_sums(r, shift, data)) {
            hull = Some(hull.map_or((a, b), |(x, y)| (x.min(a), y.max(b))));
        }
    }
    hull.map_or(Interval::point(0), |(a, b)| Interval::new(a, b))
}

/// The smallest and largest pair-sum bound of one row (`None` when it is empty).
fn row_pair_sums<T: Copy + Into<i64>>(
    row: &[T],
    shift: i64,
    data: Interval,
) -> Option<(i128, i128)> {
    if row.is_empty() {
        return None;
    }
    // The bound of one pair is the sum of its two terms' bounds; the hull needs only the
    // smallest and largest such sums.
    let small = |v: i64| v.unsigned_abs() < 1 << 20;
    if small(data.lo) && small(data.hi) && small(shift) {
        // Weights below 2^31 shifted by less than 2^20, times data below 2^20: products
        // below 2^52, pair sums below 2^53: i64, vectorized.
        let (mut a, mut b) = (i64::MAX, i64::MIN);
        for pair in row.chunks(2) {
            let (mut pl, mut ph) = (0i64, 0i64);
            for &w in pair {
                let w = w.into() + shift;
                let (x, y) = (w * data.lo, w * data.hi);
                pl += x.min(y);
                ph += x.max(y);
            }
            a = a.min(pl);
            b = b.max(ph);
        }
        return Some((a as i128, b as i128));
    }
    let (lo, hi) = (data.lo as i128, data.hi as i128);
    let mut hull: Option<(i128, i128)> = None;
    for pair in row.chunks(2) {
        let (mut a, mut b) = (0i128, 0i128);
        for &w in pair {
            let w = w.into() as i128 + shift as i128;
            let (x, y) = (w * lo, w * hi);
            a += x.min(y);
            b += x.max(y);
        }
        hull = Some(hull.map_or((a, b), |(x, y)| (x.min(a), y.max(b))));
    }
    hull
}

/// The 16-bit pair-sum fact of the kernels that would run the int8 operands
/// (`data`, `weight`): u8×s8 `vpmaddubsw` (saturates), s8×s8 `smull+smlal` (wraps), u8×u8
/// `umull+umlal` (wraps in u16). `None` for s8×u8, which no such kernel takes.
pub fn pair_sum_fact<'a>(
    data: DType,
    weight: DType,
    rows: impl IntoIterator<Item = IntSlice<'a>>,
    shift: i64,
) -> Option<PairSumFact> {
    let (instruction, on_overflow, limit) = match (data, weight) {
        (DType::U8, DType::I8) => ("vpmaddubsw", "saturates", Interval::I16),
        (DType::I8, DType::I8) => ("smull+smlal", "wraps", Interval::I16),
        (DType::U8, DType::U8) => ("umull+umlal", "wraps", Interval::U16),
        _ => return None,
    };
    let d = Interval::of(data);
    let sums = pair_sums(rows, shift, d);
    Some(PairSumFact {
        instruction: instruction.into(),
        on_overflow: on_overflow.into(),
        data: d,
        pair_sums: sums,
        limit,
        safe: sums.within(limit),
        k_order: "(r, s, c), c fastest; pairs (2i, 2i+1) per output channel".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_bounds_are_exact_corners() {
        let u8r = Interval::of(DType::U8);
        let w = |v: &'static [i8]| [IntSlice::I8(v)];
        assert_eq!(dot_bound(IntSlice::I8(&[3, -2]), u8r), Interval { lo: -510, hi: 765 });
        // The classic vpmaddubsw overflow: 255·127·2 = 64770 > 32767.
        assert!(!pair_sums(w(&[127, 127]), 0, u8r).within(Interval::I16));
        assert!(pair_sums(w(&[64, 64]), 0, u8r).within(Interval::I16));
        // smlal: (−128)·(−128)·2 = 32768 wraps.
        let s8 = Interval::of(DType::I8);
        assert_eq!(pair_sums(w(&[-128, -128]), 0, s8).hi, 32768);
        assert!(pair_sums(w(&[-128, 127]), 0, s8).within(Interval::I16));
        // The shift applies per element: u8 weights 0 and 255 shifted by −128.
        let u = [IntSlice::U8(&[0, 255])];
        assert_eq!(
            pair_sums(u, -128, s8),
            Interval { lo: -127 * 128 - 128 * 127, hi: 128 * 128 + 127 * 127 }
        );
        // Shifted bounds equal the bounds of the shifted values, also on the i128 path.
        let big = Interval { lo: -(1 << 40), hi: 1 << 40 };
        assert_eq!(
            dot_bound_shifted(IntSlice::U8(&[0, 255]), 128, big),
            dot_bound(IntSlice::I16(&[-128, 127]), big)
        );
        assert_eq!(
            pair_sums([IntSlice::U8(&[0, 255])], -128, big),
            pair_sums([IntSlice::I16(&[-128, 127])], 0, big)
        );
    }
}
