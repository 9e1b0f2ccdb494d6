//! Compiling the kernel source with NVRTC: CUBIN for the device's own architecture when this
//! NVRTC knows it (no JIT at load time), else PTX for the newest virtual architecture it
//! knows at or below the device's (the driver JIT-compiles it).
//!
//! Options: `--fmad=false` (ONNX Runtime's f32 requantize must not be contracted into an
//! FMA; the kernels also use `__fmul_rn`/`__fadd_rn`, which are never contracted),
//! `--ftz=false` (subnormal multipliers stay subnormal, as on the CPU), precise division and
//! square root (not used, stated so that no option changes f32 results).

use std::ffi::{CStr, CString, c_char};

use cudarc::nvrtc::{result, sys};

use crate::error::CudaError;
use crate::loader::{guarded, nvrtc_available};

/// The CUDA C of every kernel, in compilation order (one translation unit).
pub const SOURCES: &[(&str, &str)] = &[
    ("common.cuh", include_str!("cuda/common.cuh")),
    ("pack.cu", include_str!("cuda/pack.cu")),
    ("gemm.cu", include_str!("cuda/gemm.cu")),
    ("depthwise.cu", include_str!("cuda/depthwise.cu")),
    ("peak.cu", include_str!("cuda/peak.cu")),
];

/// Options that keep f32 arithmetic exactly as written.
pub const EXACT_FLOAT_OPTIONS: &[&str] =
    &["--fmad=false", "--ftz=false", "--prec-div=true", "--prec-sqrt=true", "--std=c++17"];

/// The whole source as one translation unit.
pub fn source() -> String {
    let mut s = String::new();
    for (name, text) in SOURCES {
        s.push_str(&format!("// ---- {name} ----\n"));
        s.push_str(text);
        s.push('\n');
    }
    s
}

/// What NVRTC produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Image {
    /// Machine code for `sm_XY`.
    Cubin(Vec<u8>),
    /// PTX text (NUL-terminated) for `compute_XY`.
    Ptx(Vec<u8>),
}

/// NVRTC's version, `(major, minor)`.
pub fn version() -> Result<(i32, i32), CudaError> {
    nvrtc_available()?;
    guarded("nvrtcVersion", || {
        let (mut major, mut minor) = (0, 0);
        // SAFETY: two valid out-pointers.
        unsafe { sys::nvrtcVersion(&mut major, &mut minor) }
            .result()
            .map_err(|e| CudaError::driver("nvrtcVersion", e))?;
        Ok((major, minor))
    })
}

/// The real architectures this NVRTC compiles for (`[75, 80, 86, 89, 90, …]`).
pub fn supported_archs() -> Result<Vec<i32>, CudaError> {
    nvrtc_available()?;
    guarded("nvrtcGetSupportedArchs", || {
        let mut n = 0;
        // SAFETY: a valid out-pointer.
        unsafe { sys::nvrtcGetNumSupportedArchs(&mut n) }
            .result()
            .map_err(|e| CudaError::driver("nvrtcGetNumSupportedArchs", e))?;
        let mut archs = vec![0i32; usize::try_from(n).unwrap_or(0)];
        // SAFETY: `archs` holds the `n` entries NVRTC writes.
        unsafe { sys::nvrtcGetSupportedArchs(archs.as_mut_ptr()) }
            .result()
            .map_err(|e| CudaError::driver("nvrtcGetSupportedArchs", e))?;
        Ok(archs)
    })
}

/// A program, destroyed on drop.
struct Program(sys::nvrtcProgram);

impl Drop for Program {
    fn drop(&mut self) {
        // SAFETY: created by `create_program`, destroyed once. A failure leaks it, no more.
        let _ = unsafe { result::destroy_program(self.0) };
    }
}

/// A C `char` as a byte: `c_char` is `i8` on x86-64 and `u8` on aarch64, where the cast is
/// the identity.
#[allow(clippy::unnecessary_cast)]
fn byte(c: std::ffi::c_char) -> u8 {
    c as u8
}

fn log_of(prog: &Program) -> String {
    // SAFETY: a live program.
    match unsafe { result::get_program_log(prog.0) } {
        Ok(log) => {
            let bytes: Vec<u8> = log.iter().take_while(|&&c| c != 0).map(|&c| byte(c)).collect();
            String::from_utf8_lossy(&bytes).trim().to_string()
        }
        Err(e) => format!("(no log: {e:?})"),
    }
}

/// Compiles `src` for `arch` (`sm_90` gives a CUBIN, `compute_90` PTX).
pub fn compile(src: &str, arch: &str) -> Result<Image, CudaError> {
    nvrtc_available()?;
    let fail = |log: String| CudaError::Compile { arch: arch.to_string(), log };
    let c_src = CString::new(src).map_err(|_| fail("the source holds a NUL byte".into()))?;
    guarded("NVRTC compilation", || {
        let name: &CStr = c"qnn_dp4a.cu";
        let prog = Program(
            result::create_program(&c_src, Some(name))
                .map_err(|e| fail(format!("nvrtcCreateProgram: {e:?}")))?,
        );
        let mut options: Vec<String> = vec![format!("--gpu-architecture={arch}")];
        options.extend(EXACT_FLOAT_OPTIONS.iter().map(|s| s.to_string()));
        // SAFETY: a live program; the options hold no NUL byte.
        if let Err(e) = unsafe { result::compile_program(prog.0, &options) } {
            return Err(fail(format!("{e:?}\n{}", log_of(&prog))));
        }
        if arch.starts_with("sm_") {
            let mut size = 0usize;
            // SAFETY: a compiled program and a valid out-pointer.
            unsafe { sys::nvrtcGetCUBINSize(prog.0, &mut size) }
                .result()
                .map_err(|e| fail(format!("nvrtcGetCUBINSize: {e:?}")))?;
            let mut cubin = vec![0u8; size];
            // SAFETY: `cubin` holds the `size` bytes NVRTC writes.
            unsafe { sys::nvrtcGetCUBIN(prog.0, cubin.as_mut_ptr().cast::<c_char>()) }
                .result()
                .map_err(|e| fail(format!("nvrtcGetCUBIN: {e:?}")))?;
            Ok(Image::Cubin(cubin))
        } else {
            // SAFETY: a compiled program.
            let ptx = unsafe { result::get_ptx(prog.0) }
                .map_err(|e| fail(format!("nvrtcGetPTX: {e:?}")))?;
            Ok(Image::Ptx(ptx.into_iter().map(byte).collect()))
        }
    })
}

/// The architecture to compile for on a device of compute capability `cc` (`90` for 9.0):
/// `sm_cc` when this NVRTC supports it, else `compute_X` for the newest supported `X < cc`.
pub fn arch_for(cc: i32, supported: &[i32]) -> Result<String, CudaError> {
    if supported.contains(&cc) {
        return Ok(format!("sm_{cc}"));
    }
    supported.iter().filter(|&&a| a <= cc).max().map(|a| format!("compute_{a}")).ok_or_else(|| {
        CudaError::Unavailable(format!(
            "this NVRTC supports {supported:?}, nothing at or below the device's sm_{cc}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_choice() {
        assert_eq!(arch_for(90, &[75, 80, 90, 100]).unwrap(), "sm_90");
        assert_eq!(arch_for(91, &[75, 80, 90, 100]).unwrap(), "compute_90");
        assert!(arch_for(61, &[75, 80]).is_err());
    }

    #[test]
    fn the_source_is_one_unit_without_nul() {
        let s = source();
        assert!(!s.contains('\0'));
        for (name, _) in SOURCES {
            assert!(s.contains(name));
        }
    }
}
