//! Buffer planning: every runtime value gets a range of one arena, values whose lifetimes
//! do not overlap share memory (greedy by size, first fit). The executor borrows the ranges
//! of a step apart (`exec::arena`).

use std::collections::HashMap;
use std::ops::Range;

use qnn_ir::IrError;
use qnn_ir::limits::Limits;

use super::units::Unit;
use crate::error::RuntimeError;
use crate::optimize::dataflow::{Dataflow, Vid};

/// Offsets are multiples of this (a cache line, and every element type's alignment).
const ALIGN: usize = 64;

/// A value to place: its size and the steps between which it lives (inclusive).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Interval {
    pub bytes: usize,
    pub first: usize,
    pub last: usize,
}

/// Where every runtime value lives in the arena of a run.
#[derive(Debug, Clone)]
pub(crate) struct Buffers {
    pub ranges: HashMap<Vid, Range<usize>>,
    pub arena_bytes: usize,
}

/// Buffers for every runtime value a unit reads or writes, and the graph inputs and outputs:
/// a value lives from the first unit that touches it to the last (inputs from before the
/// first, outputs past the last). Each buffer is checked against `limits.max_tensor_bytes`,
/// the arena against `limits.max_graph_bytes`.
pub(crate) fn assign(
    p: &Dataflow,
    units: &[Unit],
    limits: &Limits,
) -> Result<Buffers, RuntimeError> {
    let n = units.len();
    let mut life: HashMap<Vid, (usize, usize)> = HashMap::new();
    let mut touch = |v: Vid, t: usize| {
        let e = life.entry(v).or_insert((t, t));
        e.0 = e.0.min(t);
        e.1 = e.1.max(t);
    };
    for &v in &p.inputs {
        touch(v, 0);
    }
    for (u, unit) in units.iter().enumerate() {
        for &v in unit.inputs.iter().chain(&unit.outputs) {
            if p.constant(v).is_none() {
                touch(v, u);
            }
        }
    }
    for &v in &p.outputs {
        if p.constant(v).is_none() {
            touch(v, n);
        }
    }
    let mut vids: Vec<Vid> = life.keys().copied().collect();
    vids.sort_unstable();
    let intervals: Vec<Interval> = vids
        .iter()
        .map(|v| {
            let (first, last) = life[v];
            let value = &p.values[*v];
            limits.check_type_of(|| format!("buffer of `{}`", value.name), &value.ty)?;
            let bytes = value
                .ty
                .checked_bytes()
                .ok_or_else(|| RuntimeError::Internal("buffer size".into()))?;
            Ok(Interval { bytes, first, last })
        })
        .collect::<Result<_, RuntimeError>>()?;
    let (ranges, arena_bytes) = allocate(&intervals);
    if arena_bytes as u64 > limits.max_graph_bytes {
        return Err(RuntimeError::Ir(IrError::LimitExceeded {
            what: "the activation arena of a run".into(),
            bytes: Some(arena_bytes as u64),
            limit: limits.max_graph_bytes,
        }));
    }
    Ok(Buffers { ranges: vids.into_iter().zip(ranges).collect(), arena_bytes })
}

/// Offsets for `intervals` (same order) and the arena size. Two values get overlapping
/// ranges only when their intervals are disjoint.
pub(crate) fn allocate(intervals: &[Interval]) -> (Vec<Range<usize>>, usize) {
    let mut order: Vec<usize> = (0..intervals.len()).collect();
    order.sort_by(|&a, &b| intervals[b].bytes.cmp(&intervals[a].bytes).then(a.cmp(&b)));
    // The placed values by the span of steps they live in, in buckets of `SPAN` steps: a
    // value meets only the values of its own buckets, so a deep chain costs linear time
    // (scanning every placed value was quadratic in the node count).
    const SPAN: usize = 64;
    let buckets_of = |v: &Interval| v.first / SPAN..=v.last / SPAN;
    let buckets = intervals.iter().map(|v| v.last / SPAN + 1).max().unwrap_or(0);
    let mut by_time: Vec<Vec<usize>> = vec![Vec::new(); buckets];
    let mut placed: Vec<Range<usize>> = vec![0..0; intervals.len()];
    // Which value a candidate was last collected for (a value in several buckets once).
    let mut seen = vec![usize::MAX; intervals.len()];
    let mut out = vec![0..0; intervals.len()];
    let mut total = 0;
    let mut busy: Vec<Range<usize>> = Vec::new();
    for i in order {
        let v = intervals[i];
        let size = v.bytes.next_multiple_of(ALIGN);
        busy.clear();
        for b in buckets_of(&v) {
            for &j in &by_time[b] {
                let u = intervals[j];
                if seen[j] != i && u.first <= v.last && v.first <= u.last {
                    seen[j] = i;
                    busy.push(placed[j].clone());
                }
            }
        }
        // Equal starts in any order give the same offset (the scan takes the largest end).
        busy.sort_unstable_by_key(|r| r.start);
        let mut at = 0;
        for r in &busy {
            if at + size <= r.start {
                break;
            }
            at = at.max(r.end.next_multiple_of(ALIGN));
        }
        out[i] = at..at + v.bytes;
        total = total.max(at + size);
        placed[i] = at..at + size;
        for b in buckets_of(&v) {
            by_time[b].push(i);
        }
    }
    (out, total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn overlapping_lifetimes_never_share(
            vals in prop::collection::vec((1usize..5000, 0usize..20, 0usize..6), 1..30)
        ) {
            let iv: Vec<Interval> =
                vals.iter().map(|&(b, f, l)| Interval { bytes: b, first: f, last: f + l }).collect();
            let (r, total) = allocate(&iv);
            for i in 0..iv.len() {
                prop_assert!(r[i].end <= total);
                prop_assert_eq!(r[i].start % ALIGN, 0);
                for j in 0..i {
                    let live = iv[i].first <= iv[j].last && iv[j].first <= iv[i].last;
                    let overlap = r[i].start < r[j].end && r[j].start < r[i].end;
                    prop_assert!(!(live && overlap), "{:?} {:?}", iv[i], iv[j]);
                }
            }
        }
    }

    #[test]
    fn disjoint_lifetimes_share() {
        let iv = [
            Interval { bytes: 100, first: 0, last: 1 },
            Interval { bytes: 100, first: 1, last: 2 },
            Interval { bytes: 100, first: 2, last: 3 },
        ];
        let (r, total) = allocate(&iv);
        assert_eq!(r[0], r[2]);
        assert_eq!(total, 256);
    }
}
