//! The entries of the kernels around convolutions (pooling, element-wise, the quantizing
//! transpose of the input edge): the NEON microkernels of [`data`](crate::data), each declared
//! once with `kernel!` (defined, registered, and conformance-tested in this crate's test
//! build). `arm-dotprod` machines have NEON too: these serve them as well.

use qnn_ir::DType;
use qnn_ir::backend::{
    BACKEND_ABI_VERSION, ElementwiseKind, ElementwiseMicrokernel, KernelClass, KernelEntry,
    KernelImpl, PoolKind, PoolMicrokernel, TransposeConvertKind, TransposeMicrokernel,
};
use qnn_kernels::kernel;

use crate::data;
use crate::descriptor::{NAME, probe};

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

/// An element-wise entry: `(a, b, out)` dtypes, the op family, the microkernel.
macro_rules! elementwise_entry {
    ($a:ident, $b:ident, $out:ident, $kind:ident, $run:expr) => {
        KernelEntry {
            abi_version: BACKEND_ABI_VERSION,
            backend: NAME,
            name: "",
            class: KernelClass::Elementwise,
            operands: (DType::$a, DType::$out),
            imp: KernelImpl::Elementwise(ElementwiseMicrokernel {
                kind: ElementwiseKind::$kind,
                dtypes: (DType::$a, DType::$b, DType::$out),
                probe,
                run: $run,
            }),
        }
    };
}

/// A quantizing transpose entry (f32 → `output`).
macro_rules! transpose_quantize {
    ($output:ident) => {
        KernelEntry {
            abi_version: BACKEND_ABI_VERSION,
            backend: NAME,
            name: "",
            class: KernelClass::Layout,
            operands: (DType::F32, DType::$output),
            imp: KernelImpl::Transpose(TransposeMicrokernel {
                dtypes: (DType::F32, DType::$output),
                converts: TransposeConvertKind::Quantize,
                probe,
                run: data::transpose_quantize_f32_to_8bit,
            }),
        }
    };
}

kernel!(pool neon_pool_max_u8 = pool_entry!(U8, U8, Max, data::max_8bit::<false>));
kernel!(pool neon_pool_max_s8 = pool_entry!(I8, I8, Max, data::max_8bit::<true>));
kernel!(pool neon_pool_avg_u8 = pool_entry!(U8, U8, AverageF32, data::average_f32_8bit::<false>));
kernel!(pool neon_pool_avg_s8 = pool_entry!(I8, I8, AverageF32, data::average_f32_8bit::<true>));
kernel!(pool neon_pool_sum_u8 = pool_entry!(U8, I32, SumI32, data::sum_i32_8bit::<false>));
kernel!(pool neon_pool_sum_s8 = pool_entry!(I8, I32, SumI32, data::sum_i32_8bit::<true>));

kernel!(elementwise neon_add_u8 = elementwise_entry!(U8, U8, U8, QLinearAdd, data::qlinear_add::<false>));
kernel!(elementwise neon_add_s8 = elementwise_entry!(I8, I8, I8, QLinearAdd, data::qlinear_add::<true>));
kernel!(elementwise neon_lookup_u8u8 = elementwise_entry!(U8, U8, U8, Lookup, data::lookup));
kernel!(elementwise neon_lookup_s8s8 = elementwise_entry!(I8, I8, I8, Lookup, data::lookup));
kernel!(elementwise neon_lookup_u8s8 = elementwise_entry!(U8, U8, I8, Lookup, data::lookup));
kernel!(elementwise neon_lookup_s8u8 = elementwise_entry!(I8, I8, U8, Lookup, data::lookup));
kernel!(elementwise neon_quantize_u8 = elementwise_entry!(F32, F32, U8, Quantize, data::quantize::<false>));
kernel!(elementwise neon_quantize_s8 = elementwise_entry!(F32, F32, I8, Quantize, data::quantize::<true>));
kernel!(
    elementwise neon_dequantize_u8 =
        elementwise_entry!(U8, U8, F32, Dequantize, data::dequantize::<false>)
);
kernel!(
    elementwise neon_dequantize_s8 =
        elementwise_entry!(I8, I8, F32, Dequantize, data::dequantize::<true>)
);

kernel!(transpose neon_transpose_quantize_u8 = transpose_quantize!(U8));
kernel!(transpose neon_transpose_quantize_s8 = transpose_quantize!(I8));
