//! The GEMM driver: convolution (any groups, stride, dilation, padding) and dense layers on
//! a [`IndirectGemmMicrokernel`], through indirection buffers and prepacked weight panels.
//!
//! Output pixels are the GEMM's rows (M), output channels its columns (N). Work is split
//! into tiles `mr × nr`; a thread takes a contiguous range of row tiles (or of column tiles
//! when there are fewer row tiles than threads, as in a dense layer with one row) and, per
//! row tile, builds the `taps × mr` pointers once and sweeps the column tiles of a chunk of
//! weight panels small enough to stay in L2.

use qnn_ir::backend::{
    GemmMicrokernel, GemmTile, IndirectGemmArgs, IndirectGemmMicrokernel, PanelLayout, TileOutput,
    WeightConstraint,
};
use qnn_ir::{DType, IntSlice};

use crate::epilogue::{PreparedEpilogue, lanes};
use crate::error::KernelError;
use crate::indirect::Source;
use crate::pack::{PackedGemmWeights, TapLayout, TapMode};
use crate::problem::ConvProblem;
use crate::threads::{ThreadPool, split};
use crate::{SyncPtr, check_len};

/// Weight panels swept per row tile: about this many bytes, to stay in a core's L2.
const PANEL_CHUNK_BYTES: usize = 512 * 1024;

/// The longest reduction (`taps · kc`) for which a strip kernel gets a row tile's column
/// tiles in one call. Measured on `x86-avx2` (Zen 3, 1 thread): strips save 10–25 % on 1×1
/// layers with 16 to 64 input channels (112²×16 → 96: 0.72 → 0.56 ms; 56²×64 → 256: 0.95 →
/// 0.87), nothing from about 500 on, where the per-tile work is a few per cent of a tile's
/// (one kernel's strip loop even ran 6 % slower on 3×3 layers, 0.38 → 0.41 ms).
const STRIP_MAX_K: usize = 256;

/// The microkernel of a [`GemmPlan`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Micro {
    /// Indirect rows, fused epilogue (or raw).
    Indirect(IndirectGemmMicrokernel),
    /// Packed panels (the draft contract): A is copied per tile, the epilogue is portable.
    /// With the kernel entry's operand dtypes, which it reads.
    Panel(GemmMicrokernel, (DType, DType)),
}

impl Micro {
    fn mr(&self) -> usize {
        match self {
            Micro::Indirect(k) => k.mr,
            Micro::Panel(k, _) => k.mr,
        }
    }
    fn nr(&self) -> usize {
        match self {
            Micro::Indirect(k) => k.nr,
            Micro::Panel(k, _) => k.nr,
        }
    }
    fn kr(&self) -> usize {
        match self {
            Micro::Indirect(k) => k.kr,
            Micro::Panel(k, _) => k.kr,
        }
    }
    fn packed(&self) -> (DType, DType) {
        match self {
            Micro::Indirect(k) => k.packed,
            Micro::Panel(_, d) => *d,
        }
    }
    fn fused(&self) -> bool {
        matches!(self, Micro::Indirect(k) if k.fused_epilogue)
    }
    fn constraint(&self) -> WeightConstraint {
        match self {
            Micro::Indirect(k) => k.constraint,
            Micro::Panel(..) => WeightConstraint::None,
        }
    }
    fn layout(&self) -> PanelLayout {
        match self {
            Micro::Indirect(k) => k.layout,
            Micro::Panel(..) => PanelLayout::Interleaved,
        }
    }
}

/// A conv/dense layer planned on a GEMM microkernel: weights packed, epilogue laid out.
#[derive(Debug)]
pub struct GemmPlan {
    problem: ConvProblem,
    out_hw: [usize; 2],
    name: &'static str,
    kernel: Micro,
    source: Source,
    weights: PackedGemmWeights,
    epilogue: PreparedEpilogue,
}

/// Chooses the tap mode: rows for few-channel layers whose kernel rows are contiguous
/// (first layers: C = 3, a 7×7 kernel gives taps of 21 elements instead of 3).
fn tap_mode(problem: &ConvProblem) -> TapMode {
    let g = &problem.geometry;
    if g.groups == 1 && g.dilation[1] == 1 && g.kernel[1] > 1 && g.in_c < 16 {
        TapMode::Rows
    } else {
        TapMode::Positions
    }
}

impl GemmPlan {
    /// Plans `problem` (checked by the caller) on `kernel`.
    pub(crate) fn new(
        problem: &ConvProblem,
        weights: IntSlice<'_>,
        epilogue: PreparedEpilogue,
        name: &'static str,
        kernel: Micro,
    ) -> Result<Self, KernelError> {
        let out_hw = problem.validate()?;
        let (elem, welem) = kernel.packed();
        let (lo, hi) = problem.shifted_data_range();
        if !elem.contains(lo) || !elem.contains(hi) {
            return Err(KernelError::NotApplicable {
                kernel: name,
                why: format!(
                    "data {} with offset {} spans {lo}..={hi}, outside its element type {elem}",
                    problem.data, problem.data_offset
                ),
            });
        }
        let taps = TapLayout::new(&problem.geometry, tap_mode(problem), kernel.kr());
        let source = Source::new(problem, elem, taps);
        let weights = PackedGemmWeights::pack(
            &problem.geometry,
            weights,
            &taps,
            kernel.nr(),
            kernel.kr(),
            kernel.layout(),
            welem,
            kernel.constraint(),
            name,
        )?;
        Ok(GemmPlan { problem: problem.clone(), out_hw, name, kernel, source, weights, epilogue })
    }

    /// The kernel's name.
    pub fn kernel_name(&self) -> &'static str {
        self.name
    }

    /// Scratch bytes [`run`](Self::run) needs (the converted copy of the input, if any).
    pub fn scratch_bytes(&self) -> usize {
        self.source.copy_bytes(&self.problem)
    }

    /// Bytes of packed weights.
    pub fn packed_bytes(&self) -> usize {
        self.weights.len()
    }

    /// Computes the layer: `input` holds `problem.data` elements (NHWC), `output` the
    /// epilogue's dtype (NHWC), `scratch` at least [`scratch_bytes`](Self::scratch_bytes).
    pub fn run(
        &self,
        input: &[u8],
        output: &mut [u8],
        scratch: &mut [u8],
        pool: &ThreadPool,
    ) -> Result<(), KernelError> {
        let g = &self.problem.geometry;
        check_len("input", input.len(), g.input_len() * self.problem.data.size_bytes())?;
        let out_size = self.epilogue.out_dtype().size_bytes();
        check_len("output", output.len(), g.output_len() * out_size)?;
        let src: &[u8] = if self.source.copy {
            let need = self.scratch_bytes();
            let Some(copy) = scratch.get_mut(..need) else {
                return Err(KernelError::Scratch(format!(
                    "{} bytes given, {need} needed",
                    scratch.len()
                )));
            };
            // The copy is a pass over the input: split by rows over the pool, like the GEMM.
            let rows = g.batch * g.in_h;
            let row_bytes = self.source.copy_row_bytes();
            let tasks = pool.threads().min(rows).max(1);
            let parts: Vec<std::sync::Mutex<&mut [u8]>> = {
                let mut rest = &mut copy[..rows * row_bytes];
                (0..tasks)
                    .map(|t| {
                        let (part, tail) = std::mem::take(&mut rest)
                            .split_at_mut(split(rows, tasks, t).len() * row_bytes);
                        rest = tail;
                        std::sync::Mutex::new(part)
                    })
                    .collect()
            };
            pool.run(tasks, &|t| {
                let mut part = parts[t].lock().unwrap_or_else(|e| e.into_inner());
                self.source.fill_copy_rows(&self.problem, input, &mut part, split(rows, tasks, t));
            })?;
            copy
        } else {
            input
        };
        let mr = self.kernel.mr();
        let m_tiles = g.out_pixels().div_ceil(mr);
        let n_tiles = self.weights.tiles_per_group();
        let threads = pool.threads();
        // Split the dimension whose tiles divide more evenly over the threads (rows on a
        // tie: each thread then streams all weight panels but only its rows of the input).
        // Time with `threads` threads over the ideal: ⌈tiles / threads⌉ · threads / tiles.
        let imbalance =
            |tiles: usize| tiles.div_ceil(threads) as f64 * threads as f64 / tiles.max(1) as f64;
        let by_rows = threads == 1 || imbalance(m_tiles) <= imbalance(n_tiles);
        let tasks = if by_rows { threads.min(m_tiles) } else { threads.min(n_tiles) };
        let out = SyncPtr(output.as_mut_ptr());
        pool.run(tasks, &|task| {
            let (rows, cols) = if by_rows {
                (split(m_tiles, tasks, task), 0..n_tiles)
            } else {
                (0..m_tiles, split(n_tiles, tasks, task))
            };
            // SAFETY: tasks write disjoint tiles of `output` (disjoint row or column ranges);
            // `src` and the packed weights are valid for every pointer the tiles build.
            unsafe { self.tiles(src, out.get(), rows, cols) };
        })
    }

    /// Computes the row tiles `rows` × column tiles `cols` of every group.
    ///
    /// # Safety
    /// `out` must be valid for the whole output and not written by anyone else in these
    /// tiles; `src` must be the (converted) input.
    unsafe fn tiles(
        &self,
        src: &[u8],
        out: *mut u8,
        rows: std::ops::Range<usize>,
        cols: std::ops::Range<usize>,
    ) {
        let g = &self.problem.geometry;
        let (mr, nr) = (self.kernel.mr(), self.kernel.nr());
        let taps = self.source.taps.taps;
        let pixels = g.out_pixels();
        let ng = g.outputs_per_group();
        let out_size = self.epilogue.out_dtype().size_bytes();
        let mut ptrs: Vec<*const u8> = vec![std::ptr::null(); taps * mr];
        let table = self.source.tap_table(&self.problem);
        // The epilogue view of every column tile, made once per call rather than per tile.
        let n_tiles = self.weights.tiles_per_group();
        let views: Vec<_> = (0..g.groups * n_tiles)
            .map(|i| self.epilogue.view((i / n_tiles) * ng + (i % n_tiles) * nr))
            .collect();
        let mut sums = vec![0i32; mr];
        let fused = self.kernel.fused();
        let mut raw = vec![0i32; if fused { 0 } else { mr * nr }];
        let kc = self.source.taps.kc;
        let elem_size = self.source.elem.size_bytes();
        let mut a_panel =
            vec![
                0u8;
                if let Micro::Panel(..) = self.kernel { taps * kc * mr * elem_size } else { 0 }
            ];
        // Pointwise layers (1×1, stride 1, no padding, the input read in place): output pixel
        // p reads input pixel p, so a row's pointer is the input plus p pixels — no tap
        // table, no bounds tests (the general fill costs ~10 cycles a row, a tenth of a
        // small-K tile).
        let pointwise = taps == 1
            && !self.source.copy
            && g.kernel == [1, 1]
            && g.strides == [1, 1]
            && g.padding == [0; 4]
            && g.batch * g.in_h * g.in_w == pixels;
        let pixel_bytes = self.source.pixel_stride * elem_size;
        let group_bytes = self.source.group_stride * elem_size;
        let chunk = (PANEL_CHUNK_BYTES / self.weights.panel_bytes().max(1)).max(1);
        let col_chunks: Vec<_> =
            cols.clone().step_by(chunk).map(|c| c..(c + chunk).min(cols.end)).collect();
        for chunk in col_chunks {
            for mt in rows.clone() {
                let m0 = mt * mr;
                let m = mr.min(pixels - m0);
                for grp in 0..g.groups {
                    if pointwise {
                        for (i, p) in ptrs.iter_mut().enumerate() {
                            // Rows beyond `m` repeat the last real row (valid, unused).
                            let at = (m0 + i.min(m - 1)) * pixel_bytes + grp * group_bytes;
                            *p = src[at..].as_ptr();
                        }
                    } else {
                        self.fill_tile(&table, src, &mut ptrs, m0, m, grp);
                    }
                    if self.epilogue.has_t3() {
                        for (i, sum) in sums.iter_mut().enumerate().take(m) {
                            let row = (0..taps).map(|t| ptrs[t * mr + i]);
                            // SAFETY: every pointer is valid for `kc ≥ kc_real` elements.
                            *sum = unsafe { self.source.window_sum(row) };
                        }
                    }
                    // A strip kernel takes the chunk's column tiles in one call where the
                    // reduction is short enough for the per-tile work to matter.
                    let strip = match self.kernel {
                        Micro::Indirect(k) if k.strip && fused && taps * kc <= STRIP_MAX_K => {
                            chunk.len()
                        }
                        _ => 1,
                    };
                    for nt in chunk.clone().step_by(strip) {
                        let tiles = strip.min(chunk.end - nt);
                        let n0 = nt * nr;
                        let n = (tiles * nr).min(ng - n0);
                        let col = grp * ng + n0;
                        let epi = &views[grp * n_tiles + nt];
                        // SAFETY: the tile's first output element; in bounds (m0 < pixels,
                        // col < out_c).
                        let tile_out = unsafe { out.add((m0 * g.out_c + col) * out_size) };
                        match self.kernel {
                            Micro::Indirect(k) => {
                                let args = IndirectGemmArgs {
                                    taps,
                                    kc,
                                    a: ptrs.as_ptr(),
                                    b: self.weights.panel(grp, nt).as_ptr(),
                                    tiles,
                                    panel_stride: self.weights.panel_bytes(),
                                    m,
                                    n,
                                    out: if fused {
                                        TileOutput::Fused {
                                            epilogue: epi,
                                            row_sums: self.epilogue.has_t3().then_some(&sums[..m]),
                                            out: tile_out,
                                            row_stride: g.out_c,
                                        }
                                    } else {
                                        TileOutput::Raw { c: raw.as_mut_ptr(), row_stride: nr }
                                    },
                                };
                                // SAFETY: pointers, panel and output follow the
                                // IndirectGemmArgs contract; the plan was made for a kernel
                                // whose probes passed.
                                unsafe { (k.run)(&args) };
                            }
                            Micro::Panel(k, _) => {
                                if nt == chunk.start {
                                    // SAFETY: every pointer is valid for `kc` elements.
                                    unsafe {
                                        pack_a(&ptrs, &mut a_panel, mr, taps, kc, k.kr, elem_size)
                                    };
                                }
                                let tile = GemmTile {
                                    k: taps * kc,
                                    a: a_panel.as_ptr(),
                                    b: self.weights.panel(grp, nt).as_ptr(),
                                    c: raw.as_mut_ptr(),
                                    c_row_stride: nr,
                                    accumulate: false,
                                };
                                // SAFETY: the panels and the mr × nr tile follow the GemmTile
                                // contract; the backend's probe passed.
                                unsafe { (k.run)(&tile) };
                            }
                        }
                        if !fused {
                            // SAFETY: as above, for the m × n tile at `tile_out`.
                            unsafe {
                                portable_epilogue(&raw, nr, m, n, epi, &sums, tile_out, g.out_c)
                            };
                        }
                    }
                }
            }
        }
    }

    /// The `taps × mr` pointers of row tile `m0` (`m` real rows), group `grp`: per row, the
    /// tap table's offsets, or the previous row's pointers one stride further when both
    /// windows lie inside the image. Rows beyond `m` repeat the last real row (valid
    /// pointers, unused).
    fn fill_tile(
        &self,
        table: &crate::indirect::TapTable,
        src: &[u8],
        ptrs: &mut [*const u8],
        m0: usize,
        m: usize,
        grp: usize,
    ) {
        let [oh, ow] = self.out_hw;
        let (mr, taps) = (self.kernel.mr(), self.source.taps.taps);
        let (mut y, mut x) = ((m0 / ow) % oh, m0 % ow);
        let mut n_img = m0 / (oh * ow);
        let mut inside = false;
        for i in 0..mr {
            if i < m {
                // The next pixel of a row whose window stays inside: the same
                // pointers, one stride further.
                if i > 0 && inside && x > 0 && self.source.next_inside(table, x) {
                    for t in 0..taps {
                        let prev = ptrs[t * mr + i - 1];
                        ptrs[t * mr + i] = prev.wrapping_offset(table.step_bytes);
                    }
                } else {
                    inside =
                        self.source.fill_row(table, (n_img, y, x), grp, src, &mut ptrs[i..], mr);
                }
                x += 1;
                if x == ow {
                    x = 0;
                    y += 1;
                    if y == oh {
                        y = 0;
                        n_img += 1;
                    }
                }
            } else {
                for t in 0..taps {
                    ptrs[t * mr + i] = ptrs[t * mr + m - 1];
                }
            }
        }
    }
}

/// The epilogue of a raw tile, one lane at a time (kernels without a fused epilogue).
///
/// # Safety
/// `out` must be valid for the `m × n` tile with row stride `row_stride` elements.
#[allow(clippy::too_many_arguments)]
unsafe fn portable_epilogue(
    raw: &[i32],
    raw_stride: usize,
    m: usize,
    n: usize,
    epi: &qnn_ir::backend::Epilogue<'_>,
    sums: &[i32],
    out: *mut u8,
    row_stride: usize,
) {
    let size = epi.out_dtype.size_bytes();
    for i in 0..m {
        for j in 0..n {
            let mut v = lanes::add_bias(&[raw[i * raw_stride + j]], epi, j);
            if let Some(t3) = epi.t3_zero_point {
                lanes::sub_t3_row(&mut v, t3, j, sums[i]);
            }
            let o = lanes::requantize(&v, epi, j);
            // SAFETY: element (i, j) of the tile is in bounds.
            unsafe { lanes::store(&o, 1, epi.out_dtype, out.add((i * row_stride + j) * size)) };
        }
    }
}

/// Copies the rows of a tile into the packed-panel layout of [`GemmTile`]: `k / kr` blocks of
/// `mr` rows × `kr` elements, `k` running over the taps' elements in order.
///
/// # Safety
/// Every pointer of `ptrs` (`taps × mr`, tap-major) must be valid for `kc` elements.
unsafe fn pack_a(
    ptrs: &[*const u8],
    panel: &mut [u8],
    mr: usize,
    taps: usize,
    kc: usize,
    kr: usize,
    size: usize,
) {
    for t in 0..taps {
        for i in 0..mr {
            // SAFETY: the caller guarantees `kc` readable elements.
            let row = unsafe { std::slice::from_raw_parts(ptrs[t * mr + i], kc * size) };
            for e in 0..kc {
                let k = t * kc + e;
                let at = ((k / kr) * mr + i) * kr + k % kr;
                panel[at * size..(at + 1) * size].copy_from_slice(&row[e * size..(e + 1) * size]);
            }
        }
    }
}
