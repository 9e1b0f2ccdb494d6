//! Device layouts, computed on the host at prepare time (pure functions, unit-tested and
//! emulated on the CPU): the packed input, the GEMM's tap-offset table and weight words,
//! the depthwise weight words, and the tile/split-K choice.
//!
//! **Why NHWC with word-aligned channel groups, not NCHW4c.** dp4a multiplies 4 bytes of one
//! 32-bit word; in NHWC the channels of a pixel are contiguous, so 4 channels of one tap are
//! one word — the same thing NCHW4c (cuDNN's `NCHW_VECT_C`) provides — without changing the
//! layout the runtime keeps activations in (ARCHITECTURE.md §6): layers whose groups hold
//! a multiple of 4 channels read the input in place (a window cell outside the image reads
//! the pad word instead). Other layers (the 3-channel first layer, odd groups) get one
//! packing pass ([`InputPack`]): padding filled with the zero point, each group's channels
//! rounded up to whole words with zero slots, so every load is an aligned word. The pass
//! costs one read and write of the input and one launch.

use qnn_kernels::ConvGeometry;

/// How the conv kernels read the input: in place when each group's channels fill whole
/// words (padding is then a bounds check that yields the pad word), else from a packed copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InputPack {
    /// Bytes per pixel of the buffer read, a multiple of 4.
    pub slots: usize,
    /// Source channel of each slot; −1 for a zero slot.
    pub src: Vec<i32>,
    /// Padded image dimensions (of the packed copy).
    pub hp: usize,
    pub wp: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    /// True when the kernels read the input itself (slots are the channels).
    pub direct: bool,
}

/// The buffer a conv kernel reads: `h × w` pixels, a window at output `(y, x)` starts at
/// `(y · sh − pad_top, x · sw − pad_left)`, positions outside read the pad word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadDims {
    pub h: usize,
    pub w: usize,
    pub pad_top: usize,
    pub pad_left: usize,
}

impl InputPack {
    fn new(g: &ConvGeometry, src: Vec<i32>) -> Self {
        let [pt, pl, pb, pr] = g.padding;
        let direct = src.len() == g.in_c && src.iter().enumerate().all(|(i, &c)| c == i as i32);
        InputPack {
            slots: src.len(),
            src,
            hp: g.in_h + pt + pb,
            wp: g.in_w + pl + pr,
            pad_top: pt,
            pad_left: pl,
            direct,
        }
    }

    /// GEMM: group `g`'s channels at slots `g · cg4 ..`, `cg4` = channels per group rounded
    /// up to 4.
    pub fn gemm(g: &ConvGeometry) -> Self {
        let cg = g.channels_per_group();
        let cg4 = cg.div_ceil(4) * 4;
        let src = (0..g.groups * cg4)
            .map(|s| {
                let (grp, c) = (s / cg4, s % cg4);
                if c < cg { (grp * cg + c) as i32 } else { -1 }
            })
            .collect();
        Self::new(g, src)
    }

    /// Depthwise: slot `k` (an output channel) holds input channel `k / multiplier`;
    /// `out_c` rounded up to 4 slots.
    pub fn depthwise(g: &ConvGeometry) -> Self {
        let mult = g.out_c / g.in_c;
        let c4 = g.out_c.div_ceil(4) * 4;
        let src = (0..c4).map(|k| if k < g.out_c { (k / mult) as i32 } else { -1 }).collect();
        Self::new(g, src)
    }

    /// Bytes of the packed copy (0 when the input is read in place).
    pub fn len(&self, batch: usize) -> usize {
        if self.direct { 0 } else { batch * self.hp * self.wp * self.slots }
    }

    /// Words per pixel.
    pub fn words_per_pixel(&self) -> usize {
        self.slots / 4
    }

    /// What the conv kernels read.
    pub fn read_dims(&self, g: &ConvGeometry) -> ReadDims {
        if self.direct {
            ReadDims { h: g.in_h, w: g.in_w, pad_top: self.pad_top, pad_left: self.pad_left }
        } else {
            ReadDims { h: self.hp, w: self.wp, pad_top: 0, pad_left: 0 }
        }
    }

    /// The buffer the kernels read, on the host (the input, or what `dp4a_pack_input`
    /// computes), for the emulation tests.
    #[cfg(test)]
    pub fn read_buffer(&self, g: &ConvGeometry, x: &[u8], pad: i32) -> Vec<u8> {
        if self.direct {
            return x.to_vec();
        }
        let mut out = vec![0u8; self.len(g.batch)];
        for (i, o) in out.iter_mut().enumerate() {
            let s = i % self.slots;
            let pix = i / self.slots;
            let (xw, t) = (pix % self.wp, pix / self.wp);
            let (yh, img) = (t % self.hp, t / self.hp);
            let c = self.src[s];
            if c < 0 {
                continue;
            }
            let (y, xx) =
                (yh as isize - self.pad_top as isize, xw as isize - self.pad_left as isize);
            *o = if (0..g.in_h as isize).contains(&y) && (0..g.in_w as isize).contains(&xx) {
                x[((img * g.in_h + y as usize) * g.in_w + xx as usize) * g.in_c + c as usize]
            } else {
                pad as u8
            };
        }
        out
    }
}

/// A word of 4 little-endian bytes.
pub(crate) fn word(b: [i32; 4]) -> i32 {
    i32::from_le_bytes(b.map(|v| v as u8))
}

/// A GEMM block tile (one `dp4a_conv_BMxBN` kernel of gemm.cu).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    pub bm: usize,
    pub bn: usize,
    /// Words of the reduction per step (4 channels each).
    pub bk: usize,
    pub threads: u32,
    pub kernel: &'static str,
}

/// The tiles, largest first. Smaller tiles take longer steps: each step waits for its
/// global loads once, and small layers are bound by that latency, not by dp4a.
pub const TILES: [Tile; 3] = [
    Tile { bm: 128, bn: 128, bk: 8, threads: 256, kernel: "dp4a_conv_128x128" },
    Tile { bm: 64, bn: 64, bk: 16, threads: 256, kernel: "dp4a_conv_64x64" },
    Tile { bm: 32, bn: 32, bk: 32, threads: 64, kernel: "dp4a_conv_32x32" },
];

/// Warps per SM the choice aims at, enough to hide the load latency of the other warps.
const WARPS_PER_SM: usize = 8;

/// The tile and number of reduction splits for a layer on `sms` multiprocessors. Tiles
/// that would waste more than 31 rows or columns are not considered (the 32×32 tile
/// always is). Then: the largest tile that gives [`WARPS_PER_SM`] warps per SM; else,
/// splitting the reduction (each split at least 2 steps), the tile that gets there with the
/// fewest splits (the least partial-sum traffic; ties: the larger tile); else the one that
/// comes closest. Batch-1 layers are too small to fill a GPU with large tiles alone.
pub(crate) fn choose_tile(
    m: usize,
    og: usize,
    groups: usize,
    k4: usize,
    sms: usize,
) -> (Tile, usize) {
    let target = sms * WARPS_PER_SM;
    let fits = |t: &&Tile| t.bm <= m.next_multiple_of(32) && t.bn <= og.next_multiple_of(32);
    let warps =
        |t: &Tile| m.div_ceil(t.bm) * og.div_ceil(t.bn) * groups * (t.threads as usize / 32);
    let most = |t: &Tile| (k4 / (2 * t.bk)).max(1);
    if let Some(t) = TILES.iter().filter(fits).find(|t| warps(t) >= target) {
        return (*t, 1);
    }
    let splits = |t: &Tile| target.div_ceil(warps(t));
    let reaching = TILES.iter().filter(fits).filter(|t| splits(t) <= most(t));
    if let Some(t) = reaching.min_by_key(|t| splits(t)) {
        return (*t, splits(t));
    }
    let best = TILES.iter().filter(fits).rev().max_by_key(|t| warps(t) * most(t));
    let best = best.copied().unwrap_or(TILES[TILES.len() - 1]);
    (best, most(&best))
}

/// The GEMM's reduction layout and packed weights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GemmLayout {
    pub tile: Tile,
    pub splits: usize,
    /// Words of one window (kh · kw · cg4 / 4).
    pub k4: usize,
    /// Words per split (a multiple of the tile's `bk`); `k4p = k_per_split · splits ≥ k4`.
    pub k_per_split: usize,
    pub k4p: usize,
    /// Output channels per group, and padded to the tile.
    pub og: usize,
    pub np: usize,
    /// Words of one group in a packed pixel.
    pub group_words: usize,
    /// Per reduction word: (word offset in the window, tap row offset `r · dh`, tap column
    /// offset `s · dw`, 0); all 0 beyond `k4`.
    pub ktab: Vec<[i32; 4]>,
    /// `[groups][k4p][np]` weight words.
    pub weights: Vec<i32>,
}

impl GemmLayout {
    /// Lays out OHWI `weights` of `g` for `tile` with (at most) `splits` splits.
    pub fn new(
        g: &ConvGeometry,
        pack: &InputPack,
        weights: &[i32],
        tile: Tile,
        splits: usize,
    ) -> Self {
        let cg = g.channels_per_group();
        let group_words = cg.div_ceil(4);
        let [kh, kw] = g.kernel;
        let k4 = kh * kw * group_words;
        let k_per_split = k4.div_ceil(splits.max(1)).div_ceil(tile.bk) * tile.bk;
        let splits = k4.div_ceil(k_per_split);
        let k4p = k_per_split * splits;
        let og = g.outputs_per_group();
        let np = og.div_ceil(tile.bn) * tile.bn;
        let wpp = pack.words_per_pixel();
        let w_read = pack.read_dims(g).w;
        let mut ktab = vec![[0i32; 4]; k4p];
        for (k, t) in ktab.iter_mut().enumerate().take(k4) {
            let (r, s, j) = (k / (kw * group_words), (k / group_words) % kw, k % group_words);
            let (dy, dx) = (r * g.dilation[0], s * g.dilation[1]);
            *t = [((dy * w_read + dx) * wpp + j) as i32, dy as i32, dx as i32, 0];
        }
        let mut packed = vec![0i32; g.groups * k4p * np];
        for grp in 0..g.groups {
            for n in 0..og {
                let oc = grp * og + n;
                for k in 0..k4 {
                    let (r, s, j) =
                        (k / (kw * group_words), (k / group_words) % kw, k % group_words);
                    let bytes = std::array::from_fn(|b| {
                        let c = 4 * j + b;
                        if c < cg { weights[((oc * kh + r) * kw + s) * cg + c] } else { 0 }
                    });
                    packed[(grp * k4p + k) * np + n] = word(bytes);
                }
            }
        }
        GemmLayout {
            tile,
            splits,
            k4,
            k_per_split,
            k4p,
            og,
            np,
            group_words,
            ktab,
            weights: packed,
        }
    }
}

/// Depthwise weights: `[ceil(taps / 4)][slots]` words, word `(q, c)` holding the weights of
/// channel `c` for taps `4q .. 4q + 3` (zero beyond the taps and beyond `out_c`).
pub(crate) fn depthwise_weights(g: &ConvGeometry, pack: &InputPack, weights: &[i32]) -> Vec<i32> {
    let taps = g.kernel[0] * g.kernel[1];
    let quads = taps.div_ceil(4);
    let mut out = vec![0i32; quads * pack.slots];
    for q in 0..quads {
        for c in 0..g.out_c {
            let bytes = std::array::from_fn(|b| {
                let t = 4 * q + b;
                // OHWI with one input channel per group: W[c][r][s][0] = weights[c · taps + t].
                if t < taps { weights[c * taps + t] } else { 0 }
            });
            out[q * pack.slots + c] = word(bytes);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(in_c: usize, out_c: usize, groups: usize, k: usize, pad: usize) -> ConvGeometry {
        ConvGeometry {
            batch: 1,
            in_h: 5,
            in_w: 6,
            in_c,
            out_c,
            kernel: [k, k],
            strides: [1, 1],
            padding: [pad; 4],
            dilation: [1, 1],
            groups,
        }
    }

    #[test]
    fn gemm_slots_round_each_group_up_to_a_word() {
        let p = InputPack::gemm(&geometry(6, 4, 2, 3, 1));
        assert_eq!(p.src, vec![0, 1, 2, -1, 3, 4, 5, -1]);
        assert_eq!((p.hp, p.wp, p.direct), (7, 8, false));
        let direct = InputPack::gemm(&geometry(8, 4, 1, 3, 1));
        assert!(direct.direct, "whole words per group: read in place, padding by bounds checks");
        let g = geometry(8, 4, 1, 3, 1);
        assert_eq!(direct.read_dims(&g), ReadDims { h: 5, w: 6, pad_top: 1, pad_left: 1 });
        assert_eq!(direct.len(1), 0);
        assert!(!InputPack::gemm(&geometry(6, 4, 1, 1, 0)).direct);
    }

    #[test]
    fn depthwise_slots_replicate_by_the_multiplier() {
        let p = InputPack::depthwise(&geometry(3, 6, 3, 3, 0));
        assert_eq!(p.src, vec![0, 0, 1, 1, 2, 2, -1, -1]);
    }

    #[test]
    fn tiles_fill_the_sms_then_split() {
        // 1056 warps wanted. 56×56 pixels × 256 outputs: 50 blocks of 128×128 (400 warps);
        // 196 of 64×64 (1568).
        assert_eq!(choose_tile(3136, 256, 1, 16, 132), (TILES[1], 1));
        // 56×56 × 64, 3×3×64: 64×64 gives 392 warps, 3 splits of 48 words.
        assert_eq!(choose_tile(3136, 64, 1, 144, 132), (TILES[1], 3));
        // 7×7 × 512, 3×3×512: 8 blocks of 64×64 (64 warps) → 17 splits.
        assert_eq!(choose_tile(49, 512, 1, 1152, 132), (TILES[1], 17));
        // 14×14 × 256, 3×3×256: 64×64 needs 9 splits, 128×128 would need 33.
        assert_eq!(choose_tile(196, 256, 1, 576, 132), (TILES[1], 9));
        // 14×14 × 512, K = 512: no tile gets there; 64×64 at 4 splits comes closest.
        assert_eq!(choose_tile(196, 512, 1, 128, 132), (TILES[1], 4));
        // A tiny reduction is not split.
        assert_eq!(choose_tile(1, 10, 1, 4, 132).1, 1);
    }

    #[test]
    fn weight_words_and_tap_offsets() {
        let g = geometry(3, 2, 1, 2, 0);
        let pack = InputPack::gemm(&g);
        let w: Vec<i32> = (0..2 * 2 * 2 * 3).map(|v| v - 12).collect();
        let l = GemmLayout::new(&g, &pack, &w, TILES[2], 1);
        assert_eq!((l.k4, l.k_per_split, l.k4p, l.np), (4, 32, 32, 32));
        // Tap (r, s) = (1, 0): one row down = w words (the packed width, no padding here).
        let offsets: Vec<[i32; 4]> = l.ktab[..5].to_vec();
        assert_eq!(offsets, [[0, 0, 0, 0], [1, 0, 1, 0], [6, 1, 0, 0], [7, 1, 1, 0], [0; 4]]);
        // Output 1, tap (0, 1): OHWI elements 15..17 (values 3..5), then a zero slot.
        assert_eq!(l.weights[32 + 1], word([3, 4, 5, 0]));
        let l3 = GemmLayout::new(&g, &pack, &w, TILES[2], 3);
        assert_eq!((l3.splits, l3.k4p), (1, 32), "splits never hold only padding");
    }
}
