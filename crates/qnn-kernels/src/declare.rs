//! One declaration per kernel: [`kernel!`](crate::kernel) defines a backend's kernel entry,
//! registers it and instantiates its conformance suite, so adding a kernel touches one place
//! (tract's `MMMRustKernel!`).
//!
//! ```text
//! qnn_kernels::kernel!(conv avx2_gemm_i16_6x16 = gemm_i16!(Int16Gemm, I16, 6, 2, 16));
//! ```
//!
//! expands to
//!
//! * `pub const avx2_gemm_i16_6x16: KernelEntry = KernelEntry { name: "avx2_gemm_i16_6x16",
//!   ..gemm_i16!(…) }`: the identifier is the kernel's name, written once (the expression
//!   fills every other field; its own `name`, whatever it is, is replaced);
//! * `inventory::submit!` of that entry (the `inventory` that `qnn_ir::backend` re-exports);
//! * a compile-time check that the entry's `imp` is of the declared kind (`conv`: a GEMM,
//!   indirect GEMM or depthwise microkernel; `pool`, `elementwise`, `transpose`: the
//!   kernels around convolutions);
//! * in the declaring crate's `#[cfg(test)]` build, a module `avx2_gemm_i16_6x16` holding
//!   the conformance suite of that kind, which looks the kernel up through the registry
//!   (`testing::conformance::registered`, feature `testing`), so a kernel whose
//!   registration went missing fails its own tests. The crate needs `qnn-kernels` with the
//!   `testing` feature among its dev-dependencies.

/// Declares one kernel of a backend: a `pub const` entry named by the identifier, its
/// registration, a check of its kind, and (in the crate's test build) its conformance suite.
/// See the [module documentation](crate::declare).
///
/// ```text
/// qnn_kernels::kernel!(conv avx2_dw_i16_16 = depthwise_i16!(Int16Depthwise, I16));
/// qnn_kernels::kernel!(pool portable_pool_max_u8 = KernelEntry { … });
/// ```
///
/// Kinds: `conv` (GEMM, indirect GEMM, depthwise), `pool`, `elementwise`, `transpose`.
/// Attributes (doc comments) before the kind go on the constant.
#[macro_export]
macro_rules! kernel {
    ($(#[$meta:meta])* $kind:ident $name:ident = $entry:expr $(,)?) => {
        $(#[$meta])*
        #[allow(non_upper_case_globals)]
        pub const $name: $crate::__private::KernelEntry =
            $crate::__private::KernelEntry { name: ::core::stringify!($name), ..$entry };

        $crate::__private::inventory::submit! { $name }

        const _: () = ::core::assert!(
            $crate::__kernel_kind!($kind, $name.imp),
            ::core::concat!(
                "kernel `",
                ::core::stringify!($name),
                "` is not a `",
                ::core::stringify!($kind),
                "` kernel"
            )
        );

        #[cfg(test)]
        $crate::__kernel_suite!($kind, $name);
    };
}

/// Whether a `KernelImpl` is of a kind of [`kernel!`](crate::kernel) (a `const` expression).
#[doc(hidden)]
#[macro_export]
macro_rules! __kernel_kind {
    (conv, $imp:expr) => {
        ::core::matches!(
            $imp,
            $crate::__private::KernelImpl::Gemm(_)
                | $crate::__private::KernelImpl::IndirectGemm(_)
                | $crate::__private::KernelImpl::Depthwise(_)
        )
    };
    (pool, $imp:expr) => {
        ::core::matches!($imp, $crate::__private::KernelImpl::Pool(_))
    };
    (elementwise, $imp:expr) => {
        ::core::matches!($imp, $crate::__private::KernelImpl::Elementwise(_))
    };
    (transpose, $imp:expr) => {
        ::core::matches!($imp, $crate::__private::KernelImpl::Transpose(_))
    };
    ($other:ident, $imp:expr) => {
        ::core::compile_error!(::core::concat!(
            "unknown kernel kind `",
            ::core::stringify!($other),
            "`: conv, pool, elementwise or transpose"
        ))
    };
}

/// The conformance suite of a kernel of a kind of [`kernel!`](crate::kernel), on the
/// registered entry.
#[doc(hidden)]
#[macro_export]
macro_rules! __kernel_suite {
    (conv, $name:ident) => {
        $crate::conformance_tests!(
            $name,
            $crate::testing::conformance::registered(
                super::$name.backend,
                ::core::stringify!($name)
            )
        );
    };
    (pool, $name:ident) => {
        $crate::pool_conformance_tests!(
            $name,
            $crate::testing::conformance::registered(
                super::$name.backend,
                ::core::stringify!($name)
            )
        );
    };
    (elementwise, $name:ident) => {
        $crate::elementwise_conformance_tests!(
            $name,
            $crate::testing::conformance::registered(
                super::$name.backend,
                ::core::stringify!($name)
            )
        );
    };
    (transpose, $name:ident) => {
        $crate::transpose_conformance_tests!(
            $name,
            $crate::testing::conformance::registered(
                super::$name.backend,
                ::core::stringify!($name)
            )
        );
    };
}
