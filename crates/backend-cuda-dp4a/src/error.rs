//! The one error type of `backend-cuda-dp4a`.

use qnn_kernels::KernelError;

/// Why a layer cannot be prepared or run on the GPU. The registry's string interface
/// (`DeviceKernelEntry`) receives these as their `Display` text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CudaError {
    /// No usable CUDA here: driver, NVRTC or device missing (the probe's reason).
    #[error("CUDA is unavailable: {0}")]
    Unavailable(String),

    /// The layer is not one this kernel computes (the reason names the value).
    #[error("kernel `{kernel}` does not apply: {why}")]
    NotApplicable { kernel: &'static str, why: String },

    /// The layer itself is malformed (geometry, weights, epilogue, accumulator range).
    #[error("{0}")]
    Layer(#[from] KernelError),

    /// NVRTC refused the kernel source (the log says where).
    #[error("NVRTC could not compile the kernels for {arch}: {log}")]
    Compile { arch: String, log: String },

    /// A CUDA driver call failed.
    #[error("CUDA driver: {what}: {error}")]
    Driver { what: &'static str, error: String },

    /// A buffer of the wrong size was passed to `run`.
    #[error("{what}: expected {expected} bytes, got {got}")]
    Length { what: &'static str, expected: usize, got: usize },

    /// The CUDA bindings panicked (a missing symbol in an old driver, …): caught, reported.
    #[error("the CUDA bindings panicked during {what}: {message}")]
    Panicked { what: &'static str, message: String },
}

impl CudaError {
    /// A driver error from `cudarc`.
    pub(crate) fn driver(what: &'static str, e: impl std::fmt::Debug) -> Self {
        CudaError::Driver { what, error: format!("{e:?}") }
    }
}
