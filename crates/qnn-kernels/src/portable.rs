//! Portable scalar microkernels: the ABI by example, the frame's own test subjects, and a
//! fallback any CPU can run. Not registered: a backend that wants them submits its own
//! entries.

use qnn_ir::DType;
use qnn_ir::backend::{
    BACKEND_ABI_VERSION, DepthwiseArgs, DepthwiseMicrokernel, GemmMicrokernel, GemmTile,
    IndirectGemmArgs, IndirectGemmMicrokernel, KernelClass, KernelEntry, KernelImpl, PanelLayout,
    WeightConstraint,
};

use crate::epilogue::lanes;

/// An element type a scalar kernel reads.
pub trait Elem {
    const DTYPE: DType;
    /// Element `i` at `p`.
    ///
    /// # Safety
    /// `p` must be valid for `i + 1` elements.
    unsafe fn read(p: *const u8, i: usize) -> i32;
}

/// u8 elements.
#[derive(Debug)]
pub struct U8;
/// i8 elements.
#[derive(Debug)]
pub struct I8;
/// Little-endian i16 elements.
#[derive(Debug)]
pub struct I16;

impl Elem for U8 {
    const DTYPE: DType = DType::U8;
    #[inline(always)]
    unsafe fn read(p: *const u8, i: usize) -> i32 {
        // SAFETY: the caller guarantees element `i` is readable.
        i32::from(unsafe { *p.add(i) })
    }
}

impl Elem for I8 {
    const DTYPE: DType = DType::I8;
    #[inline(always)]
    unsafe fn read(p: *const u8, i: usize) -> i32 {
        // SAFETY: the caller guarantees element `i` is readable.
        i32::from(unsafe { *p.add(i) } as i8)
    }
}

impl Elem for I16 {
    const DTYPE: DType = DType::I16;
    #[inline(always)]
    unsafe fn read(p: *const u8, i: usize) -> i32 {
        // SAFETY: the caller guarantees element `i` (2 bytes) is readable; unaligned read.
        i32::from(unsafe { p.cast::<i16>().add(i).read_unaligned() })
    }
}

/// The GEMM microkernel contract in plain Rust (wrapping i32 accumulation: exact under the
/// frame's range argument).
///
/// # Safety
/// See [`IndirectGemmMicrokernel::run`].
pub unsafe fn gemm<D: Elem, W: Elem, const MR: usize, const NR: usize, const KR: usize>(
    args: &IndirectGemmArgs<'_>,
) {
    let mut acc = [[0i32; NR]; MR];
    let mut b = args.b;
    let wsize = W::DTYPE.size_bytes();
    for t in 0..args.taps {
        for kb in 0..args.kc / KR {
            for (i, row) in acc.iter_mut().enumerate() {
                // SAFETY: `a` holds taps × MR valid row pointers.
                let a = unsafe { *args.a.add(t * MR + i) };
                for (j, c) in row.iter_mut().enumerate() {
                    for kk in 0..KR {
                        // SAFETY: rows hold kc elements; the block holds NR × KR weights.
                        let (d, w) = unsafe { (D::read(a, kb * KR + kk), W::read(b, j * KR + kk)) };
                        *c = c.wrapping_add(d.wrapping_mul(w));
                    }
                }
            }
            // SAFETY: the panel holds taps · kc / KR blocks.
            b = unsafe { b.add(NR * KR * wsize) };
        }
    }
    // SAFETY: the output pointers follow the contract.
    unsafe { lanes::gemm_tile::<MR, NR>(&acc, args.m, args.n, &args.out) };
}

/// The depthwise microkernel contract in plain Rust.
///
/// # Safety
/// See [`DepthwiseMicrokernel::run`].
pub unsafe fn depthwise<D: Elem, W: Elem, const BLOCK: usize, const KR: usize>(
    args: &DepthwiseArgs<'_>,
) {
    let c = args.channels;
    let blocks = c.div_ceil(BLOCK);
    let per = BLOCK / KR;
    let e = args.epilogue;
    let size = e.out_dtype.size_bytes();
    for x in 0..args.ow {
        for b in 0..blocks {
            let mut acc = [0i32; BLOCK];
            let mut sums = [0i32; BLOCK];
            for r in 0..args.kh {
                // SAFETY: `rows` holds kh row pointers.
                let row = unsafe { *args.rows.add(r) };
                for s in 0..args.kw {
                    let t = r * args.kw + s;
                    let base = (x * args.stride_w + s * args.dilation_w) * c + b * BLOCK;
                    for j in 0..KR {
                        for i in 0..per {
                            let pos = KR * i + j;
                            let w_at = ((t * blocks + b) * KR + j) * BLOCK + pos;
                            // SAFETY: padded rows hold a block of slack; weights are packed
                            // for every tap and block.
                            let (d, w) =
                                unsafe { (D::read(row, base + pos), W::read(args.weights, w_at)) };
                            let lane = j * per + i;
                            acc[lane] = acc[lane].wrapping_add(d.wrapping_mul(w));
                            sums[lane] = sums[lane].wrapping_add(d);
                        }
                    }
                }
            }
            let mut v = lanes::add_bias(&acc, e, b * BLOCK);
            if let Some(t3) = e.t3_zero_point {
                lanes::sub_t3_lanes(&mut v, t3, b * BLOCK, &sums);
            }
            let o = lanes::requantize(&v, e, b * BLOCK);
            for (lane, val) in o.iter().enumerate() {
                let ch = b * BLOCK + KR * (lane % per) + lane / per;
                if ch < c {
                    // SAFETY: pixel x < ow, channel < channels of the output row.
                    unsafe {
                        lanes::store(&[*val], 1, e.out_dtype, args.out.add((x * c + ch) * size))
                    };
                }
            }
        }
    }
}

/// The draft packed-panel contract ([`GemmTile`]) in plain Rust, u8 × i8, `kr = 1`.
///
/// # Safety
/// See [`GemmMicrokernel::run`].
pub unsafe fn panel_gemm_u8s8<const MR: usize, const NR: usize>(tile: &GemmTile) {
    for i in 0..MR {
        for j in 0..NR {
            let mut acc = 0i32;
            for p in 0..tile.k {
                // SAFETY: the panels hold k blocks of MR (resp. NR) elements.
                let (d, w) =
                    unsafe { (U8::read(tile.a, p * MR + i), I8::read(tile.b, p * NR + j)) };
                acc = acc.wrapping_add(d.wrapping_mul(w));
            }
            // SAFETY: the tile of `c` is valid for MR rows of NR elements.
            let c = unsafe { &mut *tile.c.add(i * tile.c_row_stride + j) };
            *c = if tile.accumulate { c.wrapping_add(acc) } else { acc };
        }
    }
}

fn always() -> Result<(), String> {
    Ok(())
}

macro_rules! portable_gemm {
    ($name:literal, $d:ty, $w:ty, $mr:literal, $nr:literal, $kr:literal, $fused:expr, $class:ident) => {
        KernelEntry {
            abi_version: BACKEND_ABI_VERSION,
            backend: "portable",
            name: $name,
            class: KernelClass::$class,
            operands: (<$d>::DTYPE, <$w>::DTYPE),
            imp: KernelImpl::IndirectGemm(IndirectGemmMicrokernel {
                mr: $mr,
                nr: $nr,
                kr: $kr,
                packed: (<$d>::DTYPE, <$w>::DTYPE),
                layout: PanelLayout::Interleaved,
                fused_epilogue: $fused,
                strip: false,
                constraint: WeightConstraint::None,
                probe: always,
                run: gemm::<$d, $w, $mr, $nr, $kr>,
            }),
        }
    };
}

macro_rules! portable_depthwise {
    ($name:literal, $d:ty, $w:ty, $block:literal, $kr:literal, $class:ident) => {
        KernelEntry {
            abi_version: BACKEND_ABI_VERSION,
            backend: "portable",
            name: $name,
            class: KernelClass::$class,
            operands: (<$d>::DTYPE, <$w>::DTYPE),
            imp: KernelImpl::Depthwise(DepthwiseMicrokernel {
                block: $block,
                kr: $kr,
                packed: (<$d>::DTYPE, <$w>::DTYPE),
                probe: always,
                run: depthwise::<$d, $w, $block, $kr>,
            }),
        }
    };
}

/// The portable kernels: GEMM tiles with every packing factor, fused and raw epilogues,
/// and depthwise kernels in natural and split lane order.
pub const KERNELS: &[KernelEntry] = &[
    portable_gemm!("portable_gemm_u8s8_4x4_raw", U8, I8, 4, 4, 1, false, Int8Gemm),
    KernelEntry {
        abi_version: BACKEND_ABI_VERSION,
        backend: "portable",
        name: "portable_panel_gemm_u8s8_3x5",
        class: KernelClass::Int8Gemm,
        operands: (DType::U8, DType::I8),
        imp: KernelImpl::Gemm(GemmMicrokernel {
            mr: 3,
            nr: 5,
            kr: 1,
            run: panel_gemm_u8s8::<3, 5>,
        }),
    },
    portable_gemm!("portable_gemm_u8s8_3x8_k4", U8, I8, 3, 8, 4, true, Int8Gemm),
    portable_gemm!("portable_gemm_s8s8_4x4", I8, I8, 4, 4, 1, true, Int8Gemm),
    portable_gemm!("portable_gemm_u8u8_2x4_k4", U8, U8, 2, 4, 4, true, Int8Gemm),
    portable_gemm!("portable_gemm_i16_4x4_k2", I16, I16, 4, 4, 2, true, Int16Gemm),
    portable_gemm!("portable_gemm_i16_1x8_raw", I16, I16, 1, 8, 1, false, Int16Gemm),
    portable_depthwise!("portable_dw_u8s8_8", U8, I8, 8, 1, Int8Depthwise),
    portable_depthwise!("portable_dw_u8s8_8_k4", U8, I8, 8, 4, Int8Depthwise),
    portable_depthwise!("portable_dw_i16_8_k2", I16, I16, 8, 2, Int16Depthwise),
];

/// The portable kernel named `name`.
pub fn kernel(name: &str) -> Option<&'static KernelEntry> {
    KERNELS.iter().find(|k| k.name == name)
}
