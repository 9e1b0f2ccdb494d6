//! The entries of the kernels around convolutions (pooling, element-wise, transposes): the
//! AVX2 microkernels of [`pool`](crate::pool), [`elementwise`](crate::elementwise) and
//! [`transpose`](crate::transpose), each declared once with `kernel!` (defined, registered,
//! and conformance-tested in this crate's test build).

use qnn_ir::DType;
use qnn_ir::backend::{
    BACKEND_ABI_VERSION, ElementwiseKind, ElementwiseMicrokernel, KernelClass, KernelEntry,
    KernelImpl, PoolKind, PoolMicrokernel, TransposeConvertKind, TransposeMicrokernel,
};
use qnn_kernels::kernel;

use crate::descriptor::{NAME, probe};
use crate::{elementwise, pool, transpose};

/// AVX2 and FMA (the fused multiply-add of `QLinearAdd`).
fn probe_fma() -> Result<(), String> {
    qnn_kernels::cpu_probe!(x86_64, "x86-avx2", "AVX2 FMA kernels": "avx2", "fma")
}

/// A pooling entry: `(input, output)` dtypes, the op family, the microkernel.
macro_rules! pool_entry {
    ($input:ident, $output:ident, $kind:ident, $run:expr) => {
        KernelEntry {
            abi_version: BACKEND_ABI_VERSION,
            backend: NAME,
            name: "",
            class: KernelClass::Pool,
            operands: (DType::$input, DType::$output),
            imp: KernelImpl::Pool(PoolMicrokernel {
                kind: PoolKind::$kind,
                input: DType::$input,
                probe,
                run: $run,
            }),
        }
    };
}

/// An element-wise entry: `(a, b, out)` dtypes, the op family, the probe, the microkernel.
macro_rules! elementwise_entry {
    ($a:ident, $b:ident, $out:ident, $kind:ident, $probe:expr, $run:expr) => {
        KernelEntry {
            abi_version: BACKEND_ABI_VERSION,
            backend: NAME,
            name: "",
            class: KernelClass::Elementwise,
            operands: (DType::$a, DType::$out),
            imp: KernelImpl::Elementwise(ElementwiseMicrokernel {
                kind: ElementwiseKind::$kind,
                dtypes: (DType::$a, DType::$b, DType::$out),
                probe: $probe,
                run: $run,
            }),
        }
    };
}

/// A transpose entry: `(input, output)` dtypes, the conversion, the microkernel.
macro_rules! transpose_entry {
    ($input:ident, $output:ident, $converts:ident, $run:expr) => {
        KernelEntry {
            abi_version: BACKEND_ABI_VERSION,
            backend: NAME,
            name: "",
            class: KernelClass::Layout,
            operands: (DType::$input, DType::$output),
            imp: KernelImpl::Transpose(TransposeMicrokernel {
                dtypes: (DType::$input, DType::$output),
                converts: TransposeConvertKind::$converts,
                probe,
                run: $run,
            }),
        }
    };
}

kernel!(pool avx2_pool_max_u8 = pool_entry!(U8, U8, Max, pool::max_8bit::<false>));
kernel!(pool avx2_pool_max_s8 = pool_entry!(I8, I8, Max, pool::max_8bit::<true>));
kernel!(pool avx2_pool_avg_u8 = pool_entry!(U8, U8, AverageF32, pool::average_f32_8bit::<false>));
kernel!(pool avx2_pool_avg_s8 = pool_entry!(I8, I8, AverageF32, pool::average_f32_8bit::<true>));
kernel!(pool avx2_pool_sum_u8 = pool_entry!(U8, I32, SumI32, pool::sum_i32_8bit::<false>));
kernel!(pool avx2_pool_sum_s8 = pool_entry!(I8, I32, SumI32, pool::sum_i32_8bit::<true>));

kernel!(
    elementwise avx2_add_u8 =
        elementwise_entry!(U8, U8, U8, QLinearAdd, probe_fma, elementwise::qlinear_add::<false>)
);
kernel!(
    elementwise avx2_add_s8 =
        elementwise_entry!(I8, I8, I8, QLinearAdd, probe_fma, elementwise::qlinear_add::<true>)
);
kernel!(elementwise avx2_lookup_u8u8 = elementwise_entry!(U8, U8, U8, Lookup, probe, elementwise::lookup));
kernel!(elementwise avx2_lookup_s8s8 = elementwise_entry!(I8, I8, I8, Lookup, probe, elementwise::lookup));
kernel!(elementwise avx2_lookup_u8s8 = elementwise_entry!(U8, U8, I8, Lookup, probe, elementwise::lookup));
kernel!(elementwise avx2_lookup_s8u8 = elementwise_entry!(I8, I8, U8, Lookup, probe, elementwise::lookup));
kernel!(
    elementwise avx2_quantize_u8 =
        elementwise_entry!(F32, F32, U8, Quantize, probe, elementwise::quantize::<false>)
);
kernel!(
    elementwise avx2_quantize_s8 =
        elementwise_entry!(F32, F32, I8, Quantize, probe, elementwise::quantize::<true>)
);
kernel!(
    elementwise avx2_dequantize_u8 =
        elementwise_entry!(U8, U8, F32, Dequantize, probe, elementwise::dequantize::<false>)
);
kernel!(
    elementwise avx2_dequantize_s8 =
        elementwise_entry!(I8, I8, F32, Dequantize, probe, elementwise::dequantize::<true>)
);

// Without a conversion a transpose moves any dtype of its element size.
kernel!(transpose avx2_transpose_x8 = transpose_entry!(U8, U8, None, transpose::transpose_byte));
kernel!(transpose avx2_transpose_x32 = transpose_entry!(I32, I32, None, transpose::transpose_4byte));
kernel!(
    transpose avx2_transpose_quantize_u8 =
        transpose_entry!(F32, U8, Quantize, transpose::quantize_f32_to_8bit)
);
kernel!(
    transpose avx2_transpose_quantize_s8 =
        transpose_entry!(F32, I8, Quantize, transpose::quantize_f32_to_8bit)
);
kernel!(
    transpose avx2_transpose_dequantize_u8 =
        transpose_entry!(U8, F32, Dequantize, transpose::dequantize_8bit_to_f32::<false>)
);
kernel!(
    transpose avx2_transpose_dequantize_s8 =
        transpose_entry!(I8, F32, Dequantize, transpose::dequantize_8bit_to_f32::<true>)
);
