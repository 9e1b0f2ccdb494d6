//! Scalar microkernels in plain Rust, generic over their element types: the ABI by example
//! (every contract of `qnn_ir::backend`, written as simply as it can be), what
//! `backend-portable` registers (any CPU), and the frame's own test subjects ([`KERNELS`]).
//!
//! Nothing here is registered. The `const fn`s ([`gemm_entry`], [`depthwise_entry`],
//! [`pool_max_entry`], [`qlinear_add_entry`], [`transpose_entry`], …) fill in a
//! [`KernelEntry`] for a backend's name and a kernel's parameters; a backend declares it with
//! `qnn_kernels::kernel!`, which sets the name. The entries of [`KERNELS`] and
//! [`DATA_KERNELS`] belong to no backend ([`TEST_BACKEND`]).

pub mod conv;
pub mod elementwise;
pub mod pool;
pub mod transpose;

use qnn_ir::DType;
use qnn_ir::backend::{
    BACKEND_ABI_VERSION, DepthwiseMicrokernel, ElementwiseArgs, ElementwiseKind,
    ElementwiseMicrokernel, GemmMicrokernel, IndirectGemmMicrokernel, KernelClass, KernelEntry,
    KernelImpl, PanelLayout, PoolArgs, PoolKind, PoolMicrokernel, TransposeArgs,
    TransposeConvertKind, TransposeMicrokernel, WeightConstraint,
};

pub use conv::{depthwise, gemm, panel_gemm_u8s8};

/// An element type a scalar kernel reads and writes, as i32 values.
pub trait Elem {
    const DTYPE: DType;
    /// Element `i` at `p`.
    ///
    /// # Safety
    /// `p` must be valid for `i + 1` elements.
    unsafe fn read(p: *const u8, i: usize) -> i32;
    /// Stores `v` (a value of the type: the caller clamped it) as element `i` at `p`.
    ///
    /// # Safety
    /// `p` must be valid for writing `i + 1` elements.
    unsafe fn write(p: *mut u8, i: usize, v: i32);
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
/// Little-endian i32 elements.
#[derive(Debug)]
pub struct I32;
/// Little-endian f32 elements (not an [`Elem`]: its values are floats).
#[derive(Debug)]
pub struct F32;

impl Elem for U8 {
    const DTYPE: DType = DType::U8;
    #[inline(always)]
    unsafe fn read(p: *const u8, i: usize) -> i32 {
        // SAFETY: the caller guarantees element `i` is readable.
        i32::from(unsafe { *p.add(i) })
    }
    #[inline(always)]
    unsafe fn write(p: *mut u8, i: usize, v: i32) {
        // SAFETY: the caller guarantees element `i` is writable.
        unsafe { *p.add(i) = v as u8 };
    }
}

impl Elem for I8 {
    const DTYPE: DType = DType::I8;
    #[inline(always)]
    unsafe fn read(p: *const u8, i: usize) -> i32 {
        // SAFETY: the caller guarantees element `i` is readable.
        i32::from(unsafe { *p.add(i) } as i8)
    }
    #[inline(always)]
    unsafe fn write(p: *mut u8, i: usize, v: i32) {
        // SAFETY: the caller guarantees element `i` is writable.
        unsafe { *p.add(i) = v as i8 as u8 };
    }
}

impl Elem for I16 {
    const DTYPE: DType = DType::I16;
    #[inline(always)]
    unsafe fn read(p: *const u8, i: usize) -> i32 {
        // SAFETY: the caller guarantees element `i` (2 bytes) is readable; unaligned read.
        i32::from(unsafe { p.cast::<i16>().add(i).read_unaligned() })
    }
    #[inline(always)]
    unsafe fn write(p: *mut u8, i: usize, v: i32) {
        // SAFETY: the caller guarantees element `i` (2 bytes) is writable; unaligned write.
        unsafe { p.cast::<i16>().add(i).write_unaligned(v as i16) };
    }
}

impl Elem for I32 {
    const DTYPE: DType = DType::I32;
    #[inline(always)]
    unsafe fn read(p: *const u8, i: usize) -> i32 {
        // SAFETY: the caller guarantees element `i` (4 bytes) is readable; unaligned read.
        i32::from_le(unsafe { p.cast::<i32>().add(i).read_unaligned() })
    }
    #[inline(always)]
    unsafe fn write(p: *mut u8, i: usize, v: i32) {
        // SAFETY: the caller guarantees element `i` (4 bytes) is writable; unaligned write.
        unsafe { p.cast::<i32>().add(i).write_unaligned(v.to_le()) };
    }
}

impl F32 {
    /// Element `i` at `p`.
    ///
    /// # Safety
    /// `p` must be valid for `i + 1` elements.
    #[inline(always)]
    pub unsafe fn read(p: *const u8, i: usize) -> f32 {
        // SAFETY: the caller guarantees element `i` (4 bytes) is readable; unaligned read.
        f32::from_bits(u32::from_le(unsafe { p.cast::<u32>().add(i).read_unaligned() }))
    }
    /// Stores `v` as element `i` at `p`.
    ///
    /// # Safety
    /// `p` must be valid for writing `i + 1` elements.
    #[inline(always)]
    pub unsafe fn write(p: *mut u8, i: usize, v: f32) {
        // SAFETY: the caller guarantees element `i` (4 bytes) is writable; unaligned write.
        unsafe { p.cast::<u32>().add(i).write_unaligned(v.to_bits().to_le()) };
    }
}

/// The probe of a scalar kernel: plain Rust runs everywhere.
pub fn always() -> Result<(), String> {
    Ok(())
}

/// The entry of the scalar indirect GEMM tile `MR × NR`, `KR` deep, reading `D` data and `W`
/// weights (`name` empty: `kernel!` sets it), with the fused epilogue or raw output.
pub const fn gemm_entry<D: Elem, W: Elem, const MR: usize, const NR: usize, const KR: usize>(
    backend: &'static str,
    class: KernelClass,
    fused_epilogue: bool,
) -> KernelEntry {
    KernelEntry {
        abi_version: BACKEND_ABI_VERSION,
        backend,
        name: "",
        class,
        operands: (D::DTYPE, W::DTYPE),
        imp: KernelImpl::IndirectGemm(IndirectGemmMicrokernel {
            mr: MR,
            nr: NR,
            kr: KR,
            packed: (D::DTYPE, W::DTYPE),
            layout: PanelLayout::Interleaved,
            fused_epilogue,
            strip: false,
            constraint: WeightConstraint::None,
            probe: always,
            run: gemm::<D, W, MR, NR, KR>,
        }),
    }
}

/// The entry of the scalar depthwise kernel, blocks of `BLOCK` channels in `KR` sub-vectors.
pub const fn depthwise_entry<D: Elem, W: Elem, const BLOCK: usize, const KR: usize>(
    backend: &'static str,
    class: KernelClass,
) -> KernelEntry {
    KernelEntry {
        abi_version: BACKEND_ABI_VERSION,
        backend,
        name: "",
        class,
        operands: (D::DTYPE, W::DTYPE),
        imp: KernelImpl::Depthwise(DepthwiseMicrokernel {
            block: BLOCK,
            kr: KR,
            packed: (D::DTYPE, W::DTYPE),
            probe: always,
            run: depthwise::<D, W, BLOCK, KR>,
        }),
    }
}

/// The backend the test entries of [`KERNELS`] name: no registered backend has it.
pub const TEST_BACKEND: &str = "qnn-kernels-scalar (unregistered)";

const fn named(entry: KernelEntry, name: &'static str) -> KernelEntry {
    KernelEntry { name, ..entry }
}

const fn test_gemm<D: Elem, W: Elem, const MR: usize, const NR: usize, const KR: usize>(
    name: &'static str,
    class: KernelClass,
    fused: bool,
) -> KernelEntry {
    named(gemm_entry::<D, W, MR, NR, KR>(TEST_BACKEND, class, fused), name)
}

const fn test_depthwise<D: Elem, W: Elem, const BLOCK: usize, const KR: usize>(
    name: &'static str,
    class: KernelClass,
) -> KernelEntry {
    named(depthwise_entry::<D, W, BLOCK, KR>(TEST_BACKEND, class), name)
}

use KernelClass::{Int8Depthwise, Int8Gemm, Int16Depthwise, Int16Gemm};

/// The frame's test subjects, unregistered: GEMM tiles with every packing factor, fused and
/// raw epilogues, the packed-panel tile, and depthwise kernels in natural and split lane
/// order.
pub const KERNELS: &[KernelEntry] = &[
    test_gemm::<U8, I8, 4, 4, 1>("scalar_gemm_u8s8_4x4_raw", Int8Gemm, false),
    KernelEntry {
        abi_version: BACKEND_ABI_VERSION,
        backend: TEST_BACKEND,
        name: "scalar_panel_gemm_u8s8_3x5",
        class: KernelClass::Int8Gemm,
        operands: (DType::U8, DType::I8),
        imp: KernelImpl::Gemm(GemmMicrokernel {
            mr: 3,
            nr: 5,
            kr: 1,
            run: panel_gemm_u8s8::<3, 5>,
        }),
    },
    test_gemm::<U8, I8, 3, 8, 4>("scalar_gemm_u8s8_3x8_k4", Int8Gemm, true),
    test_gemm::<I8, I8, 4, 4, 1>("scalar_gemm_s8s8_4x4", Int8Gemm, true),
    test_gemm::<U8, U8, 2, 4, 4>("scalar_gemm_u8u8_2x4_k4", Int8Gemm, true),
    test_gemm::<I16, I16, 4, 4, 2>("scalar_gemm_i16_4x4_k2", Int16Gemm, true),
    test_gemm::<I16, I16, 1, 8, 1>("scalar_gemm_i16_1x8_raw", Int16Gemm, false),
    test_depthwise::<U8, I8, 8, 1>("scalar_dw_u8s8_8", Int8Depthwise),
    test_depthwise::<U8, I8, 8, 4>("scalar_dw_u8s8_8_k4", Int8Depthwise),
    test_depthwise::<I16, I16, 8, 2>("scalar_dw_i16_8_k2", Int16Depthwise),
];

/// The test entry named `name`.
pub fn kernel(name: &str) -> Option<&'static KernelEntry> {
    KERNELS.iter().find(|k| k.name == name)
}

/// The entry of the scalar max pooling of `E` (output `E`).
pub const fn pool_max_entry<E: Elem>(backend: &'static str) -> KernelEntry {
    pool(backend, PoolKind::Max, E::DTYPE, E::DTYPE, pool::pool_max::<E>)
}

/// The entry of the scalar f32 average pooling of `E` into `O`.
pub const fn pool_average_entry<E: Elem, O: Elem>(backend: &'static str) -> KernelEntry {
    pool(backend, PoolKind::AverageF32, E::DTYPE, O::DTYPE, pool::pool_average_f32::<E, O>)
}

/// The entry of the scalar window sum of `E` into i32.
pub const fn pool_sum_entry<E: Elem>(backend: &'static str) -> KernelEntry {
    pool(backend, PoolKind::SumI32, E::DTYPE, DType::I32, pool::pool_sum_i32::<E>)
}

const fn pool(
    backend: &'static str,
    kind: PoolKind,
    input: DType,
    output: DType,
    run: unsafe fn(&PoolArgs<'_>),
) -> KernelEntry {
    KernelEntry {
        abi_version: BACKEND_ABI_VERSION,
        backend,
        name: "",
        class: KernelClass::Pool,
        operands: (input, output),
        imp: KernelImpl::Pool(PoolMicrokernel { kind, input, probe: always, run }),
    }
}

/// The entry of the scalar `QLinearAdd` of `A` and `B` into `O`.
pub const fn qlinear_add_entry<A: Elem, B: Elem, O: Elem>(backend: &'static str) -> KernelEntry {
    let dtypes = (A::DTYPE, B::DTYPE, O::DTYPE);
    elementwise(backend, ElementwiseKind::QLinearAdd, dtypes, elementwise::qlinear_add::<A, B, O>)
}

/// The entry of the scalar table lookup from `I` to `O` (8-bit types).
pub const fn lookup_entry<I: Elem, O: Elem>(backend: &'static str) -> KernelEntry {
    let dtypes = (I::DTYPE, I::DTYPE, O::DTYPE);
    elementwise(backend, ElementwiseKind::Lookup, dtypes, elementwise::lookup)
}

/// The entry of the scalar `QuantizeLinear` of f32 into `O`.
pub const fn quantize_entry<O: Elem>(backend: &'static str) -> KernelEntry {
    let dtypes = (DType::F32, DType::F32, O::DTYPE);
    elementwise(backend, ElementwiseKind::Quantize, dtypes, elementwise::quantize_f32::<O>)
}

/// The entry of the scalar `DequantizeLinear` of `E` into f32.
pub const fn dequantize_entry<E: Elem>(backend: &'static str) -> KernelEntry {
    let dtypes = (E::DTYPE, E::DTYPE, DType::F32);
    elementwise(backend, ElementwiseKind::Dequantize, dtypes, elementwise::dequantize_f32::<E>)
}

const fn elementwise(
    backend: &'static str,
    kind: ElementwiseKind,
    dtypes: (DType, DType, DType),
    run: unsafe fn(&ElementwiseArgs<'_>),
) -> KernelEntry {
    KernelEntry {
        abi_version: BACKEND_ABI_VERSION,
        backend,
        name: "",
        class: KernelClass::Elementwise,
        operands: (dtypes.0, dtypes.2),
        imp: KernelImpl::Elementwise(ElementwiseMicrokernel { kind, dtypes, probe: always, run }),
    }
}

/// The entry of the scalar transpose of `dtype` elements (1, 2 or 4 bytes), no conversion.
pub const fn transpose_entry(backend: &'static str, dtype: DType) -> KernelEntry {
    let run: unsafe fn(&TransposeArgs<'_>) = match dtype.size_bytes() {
        1 => transpose::transpose_bytes::<1>,
        2 => transpose::transpose_bytes::<2>,
        _ => transpose::transpose_bytes::<4>,
    };
    transposing(backend, TransposeConvertKind::None, (dtype, dtype), run)
}

/// The entry of the scalar transpose quantizing f32 into `O`.
pub const fn transpose_quantize_entry<O: Elem>(backend: &'static str) -> KernelEntry {
    let dtypes = (DType::F32, O::DTYPE);
    transposing(backend, TransposeConvertKind::Quantize, dtypes, transpose::transpose_quantize::<O>)
}

/// The entry of the scalar transpose dequantizing `E` into f32.
pub const fn transpose_dequantize_entry<E: Elem>(backend: &'static str) -> KernelEntry {
    let dtypes = (E::DTYPE, DType::F32);
    let run = transpose::transpose_dequantize::<E>;
    transposing(backend, TransposeConvertKind::Dequantize, dtypes, run)
}

const fn transposing(
    backend: &'static str,
    converts: TransposeConvertKind,
    dtypes: (DType, DType),
    run: unsafe fn(&TransposeArgs<'_>),
) -> KernelEntry {
    KernelEntry {
        abi_version: BACKEND_ABI_VERSION,
        backend,
        name: "",
        class: KernelClass::Layout,
        operands: dtypes,
        imp: KernelImpl::Transpose(TransposeMicrokernel { dtypes, converts, probe: always, run }),
    }
}

const fn test_entry(entry: KernelEntry, name: &'static str) -> KernelEntry {
    KernelEntry { backend: TEST_BACKEND, ..named(entry, name) }
}

/// The frame's test subjects of the kernels around convolutions, unregistered: one per kind
/// and family, on both 8-bit types between them.
pub const DATA_KERNELS: &[KernelEntry] = &[
    test_entry(pool_max_entry::<I8>(TEST_BACKEND), "scalar_pool_max_i8"),
    test_entry(pool_average_entry::<U8, U8>(TEST_BACKEND), "scalar_pool_avg_u8"),
    test_entry(pool_sum_entry::<I8>(TEST_BACKEND), "scalar_pool_sum_i8"),
    test_entry(qlinear_add_entry::<U8, U8, U8>(TEST_BACKEND), "scalar_add_u8"),
    test_entry(lookup_entry::<I8, U8>(TEST_BACKEND), "scalar_lookup_s8u8"),
    test_entry(quantize_entry::<I8>(TEST_BACKEND), "scalar_quantize_s8"),
    test_entry(dequantize_entry::<U8>(TEST_BACKEND), "scalar_dequantize_u8"),
    test_entry(transpose_entry(TEST_BACKEND, DType::I16), "scalar_transpose_x16"),
    test_entry(transpose_quantize_entry::<U8>(TEST_BACKEND), "scalar_transpose_quantize_u8"),
    test_entry(transpose_dequantize_entry::<I8>(TEST_BACKEND), "scalar_transpose_dequantize_s8"),
];

/// The data-kernel test entry named `name`.
pub fn data_kernel(name: &str) -> Option<&'static KernelEntry> {
    DATA_KERNELS.iter().find(|k| k.name == name)
}
