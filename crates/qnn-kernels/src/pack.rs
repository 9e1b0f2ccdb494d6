//! Weight prepacking, done once at plan time, in the panel format a microkernel reads.
//!
//! GEMM panels (see [`IndirectGemmArgs`](qnn_ir::backend::IndirectGemmArgs)): per group and per tile of `nr`
//! output channels, `taps · kc / kr` blocks of `nr × kr` elements. The reduction order is
//! the OHWI order `(r, s, c)` split into taps: either one tap per kernel position
//! (`kc` = the group's channels, rounded up to `kr`) or one tap per kernel row
//! (`kc` = `kw · C` rounded up: [`TapMode::Rows`], for few-channel first layers). Padding
//! slots hold zero weights, so the data they meet never contributes. Within a block the
//! weights follow the kernel's [`PanelLayout`]: column by column, or the even k values of
//! every column before the odd ones.

use qnn_ir::backend::{PanelLayout, WeightConstraint};
use qnn_ir::{DType, IntSlice, with_ints};

use crate::aligned::AlignedBytes;
use crate::error::KernelError;
use crate::problem::ConvGeometry;

/// How the reduction `(r, s, c)` splits into taps of contiguous data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapMode {
    /// One tap per kernel position `(r, s)`: `Cg` contiguous channels.
    Positions,
    /// One tap per kernel row `r`: the `kw · C` contiguous elements of a horizontally
    /// padded input row (groups = 1, horizontal dilation 1).
    Rows,
}

/// The tap structure of a GEMM convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapLayout {
    /// How the reduction splits into taps.
    pub mode: TapMode,
    /// Taps per output (kh·kw or kh).
    pub taps: usize,
    /// Real elements per tap (Cg or kw·C).
    pub kc_real: usize,
    /// Elements per tap as packed: `kc_real` rounded up to `kr`.
    pub kc: usize,
}

impl TapLayout {
    pub fn new(g: &ConvGeometry, mode: TapMode, kr: usize) -> Self {
        let [kh, kw] = g.kernel;
        let (taps, kc_real) = match mode {
            TapMode::Positions => (kh * kw, g.channels_per_group()),
            TapMode::Rows => (kh, kw * g.channels_per_group()),
        };
        TapLayout { mode, taps, kc_real, kc: kc_real.div_ceil(kr) * kr }
    }
}

/// Reads element `i` of a little-endian `dtype` buffer (u8, i8 or i16).
#[inline]
pub(crate) fn get(buf: &[u8], dtype: DType, i: usize) -> i32 {
    match dtype {
        DType::U8 => i32::from(buf[i]),
        DType::I8 => i32::from(buf[i] as i8),
        _ => i32::from(i16::from_le_bytes([buf[2 * i], buf[2 * i + 1]])),
    }
}

/// Writes `v` as one element of `dtype` (u8, i8 or i16, little-endian) at `out[i]`.
pub(crate) fn put(out: &mut [u8], dtype: DType, i: usize, v: i32) {
    match dtype {
        DType::I16 => out[2 * i..2 * i + 2].copy_from_slice(&(v as i16).to_le_bytes()),
        _ => out[i] = v as u8,
    }
}

/// Weights packed into GEMM panels.
#[derive(Debug, Clone)]
pub struct PackedGemmWeights {
    data: AlignedBytes,
    /// Bytes per panel (one group, one tile of `nr` columns).
    panel_bytes: usize,
    tiles_per_group: usize,
}

impl PackedGemmWeights {
    /// Packs OHWI `weights` (already checked against the geometry; read at their own
    /// element type) as `dtype` elements for tiles `nr × kr` in `order`, rejecting weights
    /// that break `constraint`.
    #[allow(clippy::too_many_arguments)]
    pub fn pack(
        g: &ConvGeometry,
        weights: IntSlice<'_>,
        layout: &TapLayout,
        nr: usize,
        kr: usize,
        order: PanelLayout,
        dtype: DType,
        constraint: WeightConstraint,
        kernel: &'static str,
    ) -> Result<Self, KernelError> {
        if order == PanelLayout::EvenOdd && !kr.is_multiple_of(2) {
            return Err(KernelError::NotApplicable {
                kernel,
                why: format!("the even/odd panel layout needs an even kr, not {kr}"),
            });
        }
        if order != PanelLayout::Interleaved && constraint != WeightConstraint::None {
            return Err(KernelError::NotApplicable {
                kernel,
                why: "a pair-sum weight constraint needs the interleaved panel layout".into(),
            });
        }
        let (lo, hi) = weights.min_max().unwrap_or((0, 0));
        if !dtype.contains(i64::from(lo)) || !dtype.contains(i64::from(hi)) {
            return Err(KernelError::NotApplicable {
                kernel,
                why: format!("its packed weight dtype {dtype} cannot hold the weights"),
            });
        }
        let ng = g.outputs_per_group();
        let k_len = g.reduction_len();
        let tiles_per_group = ng.div_ceil(nr);
        let blocks = layout.taps * layout.kc / kr;
        let elems_per_panel = blocks * nr * kr;
        let size = dtype.size_bytes();
        // Panels start on cache lines, so the kernels' vector loads never split.
        let panel_bytes = (elems_per_panel * size).next_multiple_of(64);
        let mut bytes = AlignedBytes::zeroed(g.groups * tiles_per_group * panel_bytes);
        let shape =
            PanelShape { groups: g.groups, ng, k_len, tiles_per_group, panel_bytes, nr, kr };
        // One loop per weight element type (no per-element dispatch).
        with_ints!(weights, w => fill_panels(bytes.as_mut_slice(), w, &shape, layout, order, dtype));
        let packed = PackedGemmWeights { data: bytes, panel_bytes, tiles_per_group };
        packed.check(constraint, dtype, kr, kernel)?;
        Ok(packed)
    }

    fn check(
        &self,
        constraint: WeightConstraint,
        dtype: DType,
        kr: usize,
        kernel: &'static str,
    ) -> Result<(), KernelError> {
        match constraint {
            WeightConstraint::None => Ok(()),
            WeightConstraint::U8S8PairSumFitsI16 => {
                if dtype != DType::I8 || !kr.is_multiple_of(2) {
                    return Err(KernelError::NotApplicable {
                        kernel,
                        why: "the pair-sum constraint needs s8 weights packed in pairs".into(),
                    });
                }
                // Pairs are adjacent k slots (2i, 2i+1) of one column: consecutive bytes.
                for (p, pair) in self.data.as_slice().chunks_exact(2).enumerate() {
                    let (w0, w1) = (i64::from(pair[0] as i8), i64::from(pair[1] as i8));
                    let hi = 255 * (w0.max(0) + w1.max(0));
                    let lo = 255 * (w0.min(0) + w1.min(0));
                    if hi > 32767 || lo < -32768 {
                        return Err(KernelError::NotApplicable {
                            kernel,
                            why: format!(
                                "weights ({w0}, {w1}) at packed pair {p} could saturate an int16 pair sum ({lo} ..= {hi})"
                            ),
                        });
                    }
                }
                Ok(())
            }
            WeightConstraint::S8S8PairSumFitsI16 => {
                if dtype != DType::I8 {
                    return Err(KernelError::NotApplicable {
                        kernel,
                        why: "the s8 pair-sum constraint needs s8 weights".into(),
                    });
                }
                match self.data.as_slice().iter().position(|&w| w as i8 == i8::MIN) {
                    None => Ok(()),
                    Some(p) => Err(KernelError::NotApplicable {
                        kernel,
                        why: format!(
                            "weight −128 at packed position {p} could wrap an int16 pair sum ((−128)·(−128)·2 = 32768)"
                        ),
                    }),
                }
            }
        }
    }

    /// The panel of group `g`, tile `tile`.
    pub fn panel(&self, g: usize, tile: usize) -> &[u8] {
        &self.data.as_slice()[(g * self.tiles_per_group + tile) * self.panel_bytes..]
            [..self.panel_bytes]
    }

    /// Tiles of `nr` columns per group.
    pub fn tiles_per_group(&self) -> usize {
        self.tiles_per_group
    }

    /// Bytes of one panel.
    pub fn panel_bytes(&self) -> usize {
        self.panel_bytes
    }

    /// Total packed bytes.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when nothing is packed.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// The panel arithmetic of [`PackedGemmWeights::pack`].
struct PanelShape {
    groups: usize,
    /// Output channels per group.
    ng: usize,
    /// Reduction length per output channel.
    k_len: usize,
    tiles_per_group: usize,
    panel_bytes: usize,
    nr: usize,
    kr: usize,
}

/// Writes OHWI `weights` into the zeroed panels `data` (see [`PackedGemmWeights::pack`]).
fn fill_panels<T: Copy + Into<i32>>(
    data: &mut [u8],
    weights: &[T],
    p: &PanelShape,
    layout: &TapLayout,
    order: PanelLayout,
    dtype: DType,
) {
    let (nr, kr, ng) = (p.nr, p.kr, p.ng);
    for grp in 0..p.groups {
        for tile in 0..p.tiles_per_group {
            let panel =
                &mut data[(grp * p.tiles_per_group + tile) * p.panel_bytes..][..p.panel_bytes];
            for t in 0..layout.taps {
                for kb in 0..layout.kc / kr {
                    let block = t * layout.kc / kr + kb;
                    for j in 0..nr {
                        let col = tile * nr + j;
                        for kk in 0..kr {
                            let e = kb * kr + kk;
                            let v = if col < ng && e < layout.kc_real {
                                weights[(grp * ng + col) * p.k_len + t * layout.kc_real + e].into()
                            } else {
                                0
                            };
                            let at = match order {
                                PanelLayout::Interleaved => (block * nr + j) * kr + kk,
                                // Half-block kk % 2, then column j, then kk / 2.
                                PanelLayout::EvenOdd => {
                                    let half = kr / 2;
                                    block * nr * kr + (kk % 2) * nr * half + j * half + kk / 2
                                }
                            };
                            put(panel, dtype, at, v);
                        }
                    }
                }
            }
        }
    }
}

/// Depthwise weights: taps × blocks × `kr` sub-vectors × `block` elements; sub-vector `j`
/// holds channel `block·b + p`'s weight at position `p` when `p ≡ j (mod kr)`, else 0.
/// When `block` is a multiple of `out_c`, positions `p ≥ out_c` repeat channel `p mod out_c`.
/// `weights` are OHWI with one input channel per group (`out_c × kh × kw × 1`).
pub fn pack_depthwise(
    weights: IntSlice<'_>,
    out_c: usize,
    taps: usize,
    block: usize,
    kr: usize,
    dtype: DType,
) -> AlignedBytes {
    let blocks = out_c.div_ceil(block);
    let size = dtype.size_bytes();
    let mut bytes = AlignedBytes::zeroed(taps * blocks * kr * block * size);
    let data = bytes.as_mut_slice();
    for t in 0..taps {
        for b in 0..blocks {
            for j in 0..kr {
                let base = ((t * blocks + b) * kr + j) * block;
                for p in (j..block).step_by(kr) {
                    let c = block * b + p;
                    let c = if c < out_c || !block.is_multiple_of(out_c) { c } else { c % out_c };
                    if c < out_c {
                        put(data, dtype, base + p, weights.get(c * taps + t));
                    }
                }
            }
        }
    }
    bytes
}

/// `Σ_k W[n][k]` per output channel: the column sums the legalizer's T2 term needs.
pub fn column_sums(g: &ConvGeometry, weights: &[i32]) -> Vec<i64> {
    let k = g.reduction_len();
    weights.chunks(k.max(1)).take(g.out_c).map(|w| w.iter().map(|&v| i64::from(v)).sum()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(c: usize, m: usize, k: [usize; 2], groups: usize) -> ConvGeometry {
        ConvGeometry {
            batch: 1,
            in_h: 5,
            in_w: 5,
            in_c: c,
            out_c: m,
            kernel: k,
            strides: [1, 1],
            padding: [0; 4],
            dilation: [1, 1],
            groups,
        }
    }

    #[test]
    fn panels_hold_ohwi_in_tap_order_with_zero_padding() {
        // 2 groups, Cg = 3, 3 outputs per group, 2×1 kernel; kr = 2 pads kc 3 → 4.
        let g = geometry(6, 6, [2, 1], 2);
        let w: Vec<i32> = (0..g.weight_len() as i32).map(|v| v + 1).collect();
        let layout = TapLayout::new(&g, TapMode::Positions, 2);
        assert_eq!((layout.taps, layout.kc_real, layout.kc), (2, 3, 4));
        let pack = |order| {
            PackedGemmWeights::pack(
                &g,
                IntSlice::from(&w),
                &layout,
                2,
                2,
                order,
                DType::I8,
                WeightConstraint::None,
                "t",
            )
            .unwrap()
        };
        let p = pack(PanelLayout::Interleaved);
        assert_eq!(p.tiles_per_group(), 2);
        // Group 1, tile 0: columns 3, 4. Block 0 = tap 0, k 0..2: [w(3,0), w(3,1), w(4,0), w(4,1)].
        let k = g.reduction_len();
        let at = |n: usize, e: usize| w[n * k + e] as u8;
        let panel = p.panel(1, 0);
        assert_eq!(&panel[..4], &[at(3, 0), at(3, 1), at(4, 0), at(4, 1)]);
        // Block 1 = tap 0, k 2..4: slot k = 3 is padding.
        assert_eq!(&panel[4..8], &[at(3, 2), 0, at(4, 2), 0]);
        // Group 1, tile 1: column 5 and a padding column.
        assert_eq!(&p.panel(1, 1)[..4], &[at(5, 0), at(5, 1), 0, 0]);
        // Even/odd: k 0 of both columns, then k 1 of both.
        let p = pack(PanelLayout::EvenOdd);
        assert_eq!(
            &p.panel(1, 0)[..8],
            &[at(3, 0), at(4, 0), at(3, 1), at(4, 1), at(3, 2), at(4, 2), 0, 0]
        );
    }

    #[test]
    fn even_odd_blocks_of_four_pair_k_two_apart() {
        // One tap of 4 channels, 3 columns (tile 2), kr = 4, i16.
        let g = geometry(4, 3, [1, 1], 1);
        let w: Vec<i32> = (0..12).map(|v| v * 10 - 50).collect(); // column n, k: 40n + 10k − 50
        let layout = TapLayout::new(&g, TapMode::Positions, 4);
        let p = PackedGemmWeights::pack(
            &g,
            IntSlice::from(&w),
            &layout,
            2,
            4,
            PanelLayout::EvenOdd,
            DType::I16,
            WeightConstraint::None,
            "t",
        )
        .unwrap();
        let vals = |panel: &[u8]| -> Vec<i32> {
            panel[..16].chunks(2).map(|b| i32::from(i16::from_le_bytes([b[0], b[1]]))).collect()
        };
        let at = |n: i32, k: i32| 40 * n + 10 * k - 50;
        // (w0, w2) of columns 0 and 1, then (w1, w3).
        assert_eq!(
            vals(p.panel(0, 0)),
            [at(0, 0), at(0, 2), at(1, 0), at(1, 2), at(0, 1), at(0, 3), at(1, 1), at(1, 3)]
        );
        assert_eq!(vals(p.panel(0, 1)), [at(2, 0), at(2, 2), 0, 0, at(2, 1), at(2, 3), 0, 0]);
    }

    #[test]
    fn pair_sum_constraint_is_checked() {
        let g = geometry(4, 1, [1, 1], 1);
        let layout = TapLayout::new(&g, TapMode::Positions, 4);
        let pack = |w: &[i32]| {
            PackedGemmWeights::pack(
                &g,
                IntSlice::from(w),
                &layout,
                1,
                4,
                PanelLayout::Interleaved,
                DType::I8,
                WeightConstraint::U8S8PairSumFitsI16,
                "t",
            )
        };
        assert!(pack(&[64, 64, -64, -64]).is_ok()); // 255·128 = 32640 ≤ 32767
        assert!(pack(&[64, 65, 0, 0]).is_err()); // 255·129 saturates
        assert!(pack(&[127, -128, -128, -1]).is_err()); // 255·(−129) < −32768
        assert!(pack(&[127, -128, 127, -128]).is_ok());
    }

    #[test]
    fn depthwise_sub_vectors_split_channels() {
        // 5 channels, 2 taps, block 4, kr 2.
        let w: Vec<i32> = (0..10).collect(); // channel c, tap t: 2c + t
        let p = pack_depthwise(IntSlice::from(&w), 5, 2, 4, 2, DType::I8);
        let p = p.as_slice();
        assert_eq!(p.len(), 2 * 2 * 2 * 4);
        // tap 0, block 0, sub-vector 0: channels 0 and 2 at positions 0 and 2.
        assert_eq!(&p[0..4], &[0, 0, 4, 0]);
        // sub-vector 1: channels 1 and 3 at positions 1 and 3.
        assert_eq!(&p[4..8], &[0, 2, 0, 6]);
        // tap 0, block 1: channel 4 only.
        assert_eq!(&p[8..12], &[8, 0, 0, 0]);
        assert_eq!(&p[12..16], &[0, 0, 0, 0]);
    }
}
