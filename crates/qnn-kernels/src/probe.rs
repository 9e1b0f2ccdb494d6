//! Run-time CPU feature probes for descriptors and kernel entries, written once for every
//! backend: [`cpu_probe!`](crate::cpu_probe) checks a list of features with the standard
//! library's detection macros and says which are missing, never panics.
//!
//! ```text
//! pub fn probe() -> Result<(), String> {
//!     qnn_kernels::cpu_probe!(aarch64, "arm-neon", "Advanced SIMD": "neon")
//! }
//! ```
//!
//! gives `Err("the CPU lacks neon (Advanced SIMD)")` on an aarch64 CPU without it and
//! `Err("arm-neon kernels run on aarch64; this binary is for x86_64")` in a build for another
//! architecture.

/// `Ok` when every feature of `detected` (name, present) is present, else an error naming
/// the missing ones and `what` needs them.
pub fn require(detected: &[(&str, bool)], what: &str) -> Result<(), String> {
    let missing: Vec<&str> = detected.iter().filter(|(_, ok)| !ok).map(|(f, _)| *f).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("the CPU lacks {} ({what})", missing.join(", ")))
    }
}

/// The error of a probe compiled for another architecture than `arch`.
pub fn other_arch(backend: &str, arch: &str) -> Result<(), String> {
    Err(format!("{backend} kernels run on {arch}; this binary is for {}", std::env::consts::ARCH))
}

/// Probes CPU features at run time: `cpu_probe!(ARCH, "backend", "what needs them": "f1",
/// "f2", …)` with `ARCH` `x86_64` or `aarch64`. See [`probe`](crate::probe).
#[macro_export]
macro_rules! cpu_probe {
    (x86_64, $backend:literal, $what:literal: $($feature:tt),+ $(,)?) => {{
        #[cfg(target_arch = "x86_64")]
        {
            $crate::probe::require(
                &[$(($feature, ::std::arch::is_x86_feature_detected!($feature))),+],
                $what,
            )
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            $crate::probe::other_arch($backend, "x86_64")
        }
    }};
    (aarch64, $backend:literal, $what:literal: $($feature:tt),+ $(,)?) => {{
        #[cfg(target_arch = "aarch64")]
        {
            $crate::probe::require(
                &[$(($feature, ::std::arch::is_aarch64_feature_detected!($feature))),+],
                $what,
            )
        }
        #[cfg(not(target_arch = "aarch64"))]
        {
            $crate::probe::other_arch($backend, "aarch64")
        }
    }};
}

/// Defines an `unsafe fn $name(&DepthwiseArgs)` (a `#[target_feature]` kernel entry point)
/// that runs one of two monomorphizations of a generic depthwise kernel, each its own
/// `#[inline(never)]` symbol (so profiles and `cargo xtask asm-report` see them apart):
/// `$plain` with the last const parameter `false` (no window sums: every `w_k` is 0) and
/// `$t3` with `true` (window sums for the T3 term). The generic is named with its leading
/// parameters: `depthwise::<I16>` calls `depthwise::<I16, false>` and `depthwise::<I16, true>`.
///
/// ```text
/// qnn_kernels::t3_variants!(
///     "neon",
///     /// `neon_dw_i16_16`: int16 lowering, `smlal`/`smlal2`.
///     neon_dw_i16_16, neon_dw_i16_16_plain, neon_dw_i16_16_t3, depthwise::<I16>
/// );
/// ```
#[macro_export]
macro_rules! t3_variants {
    (
        $features:literal,
        $(#[$doc:meta])*
        $name:ident, $plain:ident, $t3:ident, $generic:ident::<$($param:tt),*>
    ) => {
        $(#[$doc])*
        ///
        /// # Safety
        #[doc = ::core::concat!("See [`", ::core::stringify!($generic), "`].")]
        #[target_feature(enable = $features)]
        pub unsafe fn $name(args: &$crate::__private::DepthwiseArgs<'_>) {
            // SAFETY: forwarded contract.
            unsafe {
                if args.epilogue.t3_zero_point.is_some() { $t3(args) } else { $plain(args) }
            }
        }

        /// Without window sums (every `w_k` is 0).
        ///
        /// # Safety
        #[doc = ::core::concat!("See [`", ::core::stringify!($generic), "`].")]
        #[inline(never)]
        #[target_feature(enable = $features)]
        unsafe fn $plain(args: &$crate::__private::DepthwiseArgs<'_>) {
            // SAFETY: forwarded contract.
            unsafe { $generic::<$($param,)* false>(args) }
        }

        /// With window sums for the T3 term.
        ///
        /// # Safety
        #[doc = ::core::concat!("See [`", ::core::stringify!($generic), "`].")]
        #[inline(never)]
        #[target_feature(enable = $features)]
        unsafe fn $t3(args: &$crate::__private::DepthwiseArgs<'_>) {
            // SAFETY: forwarded contract.
            unsafe { $generic::<$($param,)* true>(args) }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_features_are_named() {
        assert_eq!(require(&[("a", true), ("b", true)], "x"), Ok(()));
        assert_eq!(
            require(&[("a", false), ("b", true), ("c", false)], "the c kernels"),
            Err("the CPU lacks a, c (the c kernels)".into())
        );
    }

    #[test]
    fn a_probe_for_another_architecture_says_so() {
        #[cfg(target_arch = "x86_64")]
        let r = crate::cpu_probe!(aarch64, "arm-neon", "Advanced SIMD": "neon");
        #[cfg(not(target_arch = "x86_64"))]
        let r = crate::cpu_probe!(x86_64, "x86-avx2", "AVX2": "avx2");
        let why = r.unwrap_err();
        assert!(why.contains("kernels run on") && why.contains(std::env::consts::ARCH), "{why}");
    }
}
