//! The arena of a run, borrowed per step: the step's outputs mutably (pairwise disjoint, as
//! the planner placed them), everything else shared for reading its inputs.

use std::ops::Range;

use crate::error::RuntimeError;

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
