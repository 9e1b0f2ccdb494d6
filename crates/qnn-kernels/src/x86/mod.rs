//! Helpers that x86 backends share: writing epilogue results from ymm registers (AVX2).
//! Each function is `#[inline(always)]` without target features of its own: it is meant to
//! be inlined into a backend's `#[target_feature]` kernel, which provides them.

pub mod ymm;
