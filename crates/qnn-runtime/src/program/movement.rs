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

/// A `nearest` resize as a copy of contiguous runs: the trailing axes after the last one that
/// changes are copied whole (in NHWC the channels, so a ×2 upsampling copies each input pixel's
/// `C` bytes to four places). Built once from the op's index maps (`ResizeAttrs::nearest_maps`,
/// which the reference reads too). A `slice` is the same gather ([`ResizeNearest::slice`]).
#[derive(Debug, Clone)]
pub(crate) struct ResizeNearest {
    /// Per output row (the output's axes before the last changed axis, row-major), the byte
    /// offset of its input row, or `None` where the extrapolation value fills it.
    pub rows: Vec<Option<usize>>,
    /// Per index of the last changed axis, the byte offset of its run within the input row.
    pub cols: Vec<Option<usize>>,
    /// Bytes of one run (the trailing axes that keep their size).
    pub run: usize,
    /// One run of the extrapolation value.
    pub fill: Vec<u8>,
}

impl ResizeNearest {
    /// The copy plan of a nearest resize of `input` by `r` (elements of `elem` bytes, `fill`
    /// the bytes of one extrapolated element); `None` when the op is not `nearest`.
    pub(crate) fn new(
        input: &[usize],
        r: &qnn_ir::ResizeAttrs,
        elem: usize,
        fill: &[u8],
    ) -> Option<Self> {
        if r.mode != qnn_ir::ResizeMode::Nearest || input.is_empty() || r.sizes == input {
            return None;
        }
        Some(Self::from_maps(input, &r.sizes, &r.nearest_maps(input), elem, fill))
    }

    /// The copy plan of a `slice` of `input` (see [`qnn_ir::Op::Slice`]): the same gather of
    /// runs, its index maps `start + i · step`.
    pub(crate) fn slice(
        input: &[usize],
        starts: &[usize],
        steps: &[i64],
        sizes: &[usize],
        elem: usize,
    ) -> Self {
        let maps: Vec<Vec<Option<usize>>> = (0..input.len())
            .map(|a| {
                // In range: type inference checked every index the window reads.
                (0..sizes[a])
                    .map(|o| Some((starts[a] as i64 + o as i64 * steps[a]) as usize))
                    .collect()
            })
            .collect();
        Self::from_maps(input, sizes, &maps, elem, &[])
    }

    /// The plan that gathers, along every axis `a`, input index `maps[a][o]` (`None`: `fill`)
    /// into output index `o` of an output of shape `sizes`.
    fn from_maps(
        input: &[usize],
        sizes: &[usize],
        maps: &[Vec<Option<usize>>],
        elem: usize,
        fill: &[u8],
    ) -> Self {
        let identity = |a: usize| {
            sizes[a] == input[a] && maps[a].iter().enumerate().all(|(o, i)| *i == Some(o))
        };
        // The last axis that changes (axis 0 when none does: one row, copied whole).
        let last = (0..input.len()).rev().find(|&a| !identity(a)).unwrap_or(0);
        let run: usize = input[last + 1..].iter().product::<usize>() * elem;
        let in_row = input[last] * run;
        let cols = maps[last].iter().map(|i| i.map(|i| i * run)).collect();
        // Byte strides of the input's leading axes.
        let mut strides = vec![in_row; last];
        for a in (0..last.saturating_sub(1)).rev() {
            strides[a] = strides[a + 1] * input[a + 1];
        }
        let mut rows: Vec<Option<usize>> = vec![Some(0)];
        for (map, &stride) in maps.iter().zip(&strides) {
            rows = rows
                .iter()
                .flat_map(|&base| map.iter().map(move |&i| Some(base? + i? * stride)))
                .collect();
        }
        let fill = fill.iter().copied().cycle().take(run).collect();
        ResizeNearest { rows, cols, run, fill }
    }

    /// A `dilate` (zero insertion of a transposed conv's input) as the same copy of runs:
    /// along W every `s_w`-th output run is an input pixel (all its channels in NHWC), the
    /// others and every row between input rows hold the inserted value.
    pub(crate) fn dilate(
        input: &[usize],
        d: &qnn_ir::DilateAttrs,
        elem: usize,
        fill: &[u8],
    ) -> Option<Self> {
        let [_, _, h_axis, last] = d.layout.axes();
        if input.len() != 4 || h_axis > last {
            return None;
        }
        let (oh, ow) = (d.output_extent(0, input[h_axis])?, d.output_extent(1, input[last])?);
        let run: usize = input[last + 1..].iter().product::<usize>() * elem;
        let in_row = input[last] * run;
        let every = |out: usize, crop: usize, s: usize| -> Vec<Option<usize>> {
            (0..out).map(|o| (o + crop).is_multiple_of(s).then_some((o + crop) / s)).collect()
        };
        let cols = every(ow, d.crop[1], d.strides[1]).iter().map(|j| j.map(|j| j * run)).collect();
        let mut strides = vec![in_row; last];
        for a in (0..last.saturating_sub(1)).rev() {
            strides[a] = strides[a + 1] * input[a + 1];
        }
        let mut rows: Vec<Option<usize>> = vec![Some(0)];
        for (a, &stride) in strides.iter().enumerate() {
            let map = if a == h_axis {
                every(oh, d.crop[0], d.strides[0])
            } else {
                (0..input[a]).map(Some).collect()
            };
            rows = rows
                .iter()
                .flat_map(|&base| map.iter().map(move |&i| Some(base? + i? * stride)))
                .collect();
        }
        let fill = fill.iter().copied().cycle().take(run).collect();
        Some(ResizeNearest { rows, cols, run, fill })
    }

    /// Bytes of one output row.
    pub(crate) fn row_bytes(&self) -> usize {
        self.cols.len() * self.run
    }
}
