//! How an element-wise loop reads an operand broadcast to its output: one index pattern
//! `src[(i / inner) % len]` ([`Pattern`]), when the broadcast axes form one contiguous block.
//! Shared by the planner (which steps can join an element-wise group), the program builder
//! (compiling the group) and the executor (reading operands).

/// Which element of a broadcast source an output element reads: `(i / inner) % len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pattern {
    /// Element `i` (same shape as the output).
    Full,
    /// `(i / inner) % len`.
    Block { inner: usize, len: usize },
}

/// The pattern by which the elements of `out` read a tensor of shape `src` broadcast to it
/// (numpy rules, `src` aligned right), or `None` when the broadcast axes are not one
/// contiguous block.
pub(crate) fn broadcast_pattern(src: &[usize], out: &[usize]) -> Option<Pattern> {
    if src.len() > out.len() {
        return None;
    }
    if src == out {
        return Some(Pattern::Full);
    }
    let pad = out.len() - src.len();
    // Axes of extent > 1 in the output, each read (`true`) or broadcast (`false`).
    let mut read = Vec::new();
    for (a, &d) in out.iter().enumerate() {
        let s = if a < pad { 1 } else { src[a - pad] };
        if s != d && s != 1 {
            return None;
        }
        if d > 1 {
            read.push((a, s == d));
        }
    }
    let first = read.iter().position(|r| r.1);
    let Some(first) = first else {
        return Some(Pattern::Block { inner: 1, len: 1 });
    };
    let last = read.iter().rposition(|r| r.1).unwrap_or(first);
    if read[first..=last].iter().any(|r| !r.1) {
        return None;
    }
    let inner = out[read[last].0 + 1..].iter().product();
    let len = read[first..=last].iter().map(|r| out[r.0]).product();
    Some(Pattern::Block { inner, len })
}

/// The multiplier pattern of a requantize over `axes` of `shape`: one contiguous block.
pub(crate) fn axes_pattern(axes: &[usize], count: usize, shape: &[usize]) -> Option<Pattern> {
    if count == 1 {
        return Some(Pattern::Block { inner: 1, len: 1 });
    }
    let mut mult_shape = vec![1; shape.len()];
    for &a in axes {
        mult_shape[a] = shape[a];
    }
    broadcast_pattern(&mult_shape, shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let out = [1, 4, 5, 3];
        assert_eq!(broadcast_pattern(&out, &out), Some(Pattern::Full));
        assert_eq!(broadcast_pattern(&[3], &out), Some(Pattern::Block { inner: 1, len: 3 }));
        assert_eq!(broadcast_pattern(&[], &out), Some(Pattern::Block { inner: 1, len: 1 }));
        assert_eq!(broadcast_pattern(&[4, 1, 1], &out), Some(Pattern::Block { inner: 15, len: 4 }));
        assert_eq!(
            broadcast_pattern(&[1, 4, 5, 1], &out),
            Some(Pattern::Block { inner: 3, len: 20 })
        );
        assert_eq!(broadcast_pattern(&[4, 1, 3], &out), None);
        assert_eq!(broadcast_pattern(&[2], &out), None);
        // Unit output axes never break a block.
        assert_eq!(
            broadcast_pattern(&[1, 1, 4, 1, 3], &[2, 1, 4, 1, 3]),
            Some(Pattern::Block { inner: 1, len: 12 })
        );
    }
}
