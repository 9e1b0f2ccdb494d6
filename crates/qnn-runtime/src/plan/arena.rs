//! Buffer planning: every runtime value gets a range of one arena, values whose lifetimes
//! do not overlap share memory (greedy by size, first fit), and the executor borrows the
//! ranges of a step safely (disjoint outputs, shared inputs).

use std::ops::Range;

use crate::error::RuntimeError;

/// Offsets are multiples of this (a cache line, and every element type's alignment).
const ALIGN: usize = 64;

/// A value to place: its size and the steps between which it lives (inclusive).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Interval {
    pub bytes: usize,
    pub first: usize,
    pub last: usize,
}

/// Offsets for `intervals` (same order) and the arena size. Two values get overlapping
/// ranges only when their intervals are disjoint.
pub(crate) fn allocate(intervals: &[Interval]) -> (Vec<Range<usize>>, usize) {
    let mut order: Vec<usize> = (0..intervals.len()).collect();
    order.sort_by(|&a, &b| intervals[b].bytes.cmp(&intervals[a].bytes).then(a.cmp(&b)));
    let mut placed: Vec<(usize, Range<usize>)> = Vec::new();
    let mut out = vec![0..0; intervals.len()];
    let mut total = 0;
    for i in order {
        let v = intervals[i];
        let size = v.bytes.next_multiple_of(ALIGN);
        let mut busy: Vec<Range<usize>> = placed
            .iter()
            .filter(|(j, _)| {
                let u = intervals[*j];
                u.first <= v.last && v.first <= u.last
            })
            .map(|(_, r)| r.clone())
            .collect();
        busy.sort_by_key(|r| r.start);
        let mut at = 0;
        for r in &busy {
            if at + size <= r.start {
                break;
            }
            at = at.max(r.end.next_multiple_of(ALIGN));
        }
        out[i] = at..at + v.bytes;
        total = total.max(at + size);
        placed.push((i, at..at + size));
    }
    (out, total)
}

/// Splits `arena` into the mutable `outputs` ranges (pairwise disjoint) and the shared rest,
/// from which the inputs are read.
pub(crate) fn split<'a>(
    arena: &'a mut [u8],
    outputs: &[Range<usize>],
) -> Result<(Vec<&'a mut [u8]>, Shared<'a>), RuntimeError> {
    let mut order: Vec<usize> = (0..outputs.len()).collect();
    order.sort_by_key(|&k| outputs[k].start);
    let mut outs: Vec<Option<&'a mut [u8]>> = (0..outputs.len()).map(|_| None).collect();
    let mut gaps = Vec::new();
    let mut rest = arena;
    let mut pos = 0;
    for k in order {
        let r = outputs[k].clone();
        if r.start < pos || r.end > pos + rest.len() {
            return Err(RuntimeError::Internal(format!("output ranges overlap at {r:?}")));
        }
        let (gap, tail) = rest.split_at_mut(r.start - pos);
        let (out, tail) = tail.split_at_mut(r.len());
        gaps.push((pos, &*gap));
        outs[k] = Some(out);
        pos = r.end;
        rest = tail;
    }
    gaps.push((pos, &*rest));
    let outs = outs.into_iter().map(|o| o.unwrap_or_default()).collect();
    Ok((outs, Shared { gaps }))
}

/// The parts of the arena that no output of the current step covers.
#[derive(Debug)]
pub(crate) struct Shared<'a> {
    gaps: Vec<(usize, &'a [u8])>,
}

impl<'a> Shared<'a> {
    /// The bytes of `r`, which must lie outside every output range.
    pub(crate) fn get(&self, r: &Range<usize>) -> Result<&'a [u8], RuntimeError> {
        self.gaps
            .iter()
            .find(|(start, g)| *start <= r.start && r.end <= start + g.len())
            .map(|(start, g)| &g[r.start - start..r.end - start])
            .ok_or_else(|| RuntimeError::Internal(format!("input {r:?} overlaps an output")))
    }
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

    #[test]
    fn split_borrows_outputs_and_inputs() {
        let mut arena: Vec<u8> = (0..=255).collect();
        let (mut outs, shared) = split(&mut arena, &[100..110, 10..20]).unwrap();
        outs[0].fill(0);
        assert_eq!(outs[1][0], 10);
        assert_eq!(shared.get(&(30..40)).unwrap()[0], 30);
        assert!(shared.get(&(95..105)).is_err());
        assert!(split(&mut arena, &[10..20, 15..25]).is_err());
    }
}
