//! Data movement steps: `transpose` (the layout conversions at the edges) with its
//! parameters; `reshape` and `concatenate` need none beyond their shapes. Run by
//! `exec::movement`.

/// A transpose of a tensor of `shape` (elements of `elem` bytes) by `perm`.
#[derive(Debug, Clone)]
pub(crate) struct Transpose {
    pub shape: Vec<usize>,
    pub perm: Vec<usize>,
    pub elem: usize,
    /// Only unit axes move: the bytes do not change.
    pub trivial: bool,
}

impl Transpose {
    pub(crate) fn new(shape: &[usize], perm: &[usize], elem: usize) -> Self {
        let moved: Vec<usize> = perm.iter().copied().filter(|&a| shape[a] > 1).collect();
        let trivial = moved.windows(2).all(|w| w[0] < w[1]);
        Transpose { shape: shape.to_vec(), perm: perm.to_vec(), elem, trivial }
    }
}
