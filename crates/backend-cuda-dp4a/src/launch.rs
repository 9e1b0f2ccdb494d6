//! The kernels' argument structs, `#[repr(C)]` mirrors of the structs in `cuda/*.cu`
//! (field for field; device pointers as `u64`, 0 for null).

use cudarc::driver::DeviceRepr;

/// `Epilogue` of common.cuh.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EpilogueArgs {
    pub bias: u64,
    pub t3: u64,
    pub fmult: u64,
    pub qmult: u64,
    pub shift1: u64,
    pub round1: u64,
    pub shift2: u64,
    pub round2: u64,
    pub mode: i32,
    pub out_dtype: i32,
    pub zero_point: i32,
    pub lo: i32,
    pub hi: i32,
}

/// `PackArgs` of pack.cu.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PackArgs {
    pub x: u64,
    pub xp: u64,
    pub src: u64,
    pub n: i32,
    pub h: i32,
    pub w: i32,
    pub c: i32,
    pub hp: i32,
    pub wp: i32,
    pub slots: i32,
    pub pad_top: i32,
    pub pad_left: i32,
    pub pad_value: i32,
}

/// `ConvArgs` of gemm.cu.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ConvArgs {
    pub x: u64,
    pub w: u64,
    pub ktab: u64,
    pub wsums: u64,
    pub wsums_out: u64,
    pub out: u64,
    pub partial: u64,
    pub m: i32,
    pub ohw: i32,
    pub ow: i32,
    pub hp: i32,
    pub wp: i32,
    pub words_per_pixel: i32,
    pub sh: i32,
    pub sw: i32,
    pub groups: i32,
    pub og: i32,
    pub group_words: i32,
    pub k4: i32,
    pub k4p: i32,
    pub np: i32,
    pub out_c: i32,
    pub k_per_split: i32,
    pub splits: i32,
    pub pad_top: i32,
    pub pad_left: i32,
    pub pad_word: i32,
}

/// `DwArgs` of depthwise.cu.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DwArgs {
    pub x: u64,
    pub w: u64,
    pub out: u64,
    pub m: i32,
    pub ohw: i32,
    pub ow: i32,
    pub hp: i32,
    pub wp: i32,
    pub words_per_pixel: i32,
    pub sh: i32,
    pub sw: i32,
    pub kw: i32,
    pub dh: i32,
    pub dw: i32,
    pub taps: i32,
    pub out_c: i32,
    pub pad_top: i32,
    pub pad_left: i32,
    pub pad_word: i32,
}

// SAFETY: plain `#[repr(C)]` structs of integers whose layout matches the CUDA structs field
// for field (8-byte pointers first, then 4-byte ints; same padding rules): the driver copies
// their bytes as the kernel parameter.
unsafe impl DeviceRepr for EpilogueArgs {}
// SAFETY: as above.
unsafe impl DeviceRepr for PackArgs {}
// SAFETY: as above.
unsafe impl DeviceRepr for ConvArgs {}
// SAFETY: as above.
unsafe impl DeviceRepr for DwArgs {}

/// An `i32` kernel argument from a size, or an error naming it (the kernels index in i32).
pub(crate) fn int(what: &'static str, v: usize) -> Result<i32, crate::CudaError> {
    i32::try_from(v).map_err(|_| crate::CudaError::NotApplicable {
        kernel: "cuda-dp4a",
        why: format!("{what} = {v} does not fit the kernels' 32-bit indices"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sizes the CUDA structs have (8-byte pointers, 4-byte ints, 8-byte alignment).
    #[test]
    fn argument_structs_have_the_cuda_layout() {
        assert_eq!(std::mem::size_of::<EpilogueArgs>(), 8 * 8 + 5 * 4 + 4);
        assert_eq!(std::mem::size_of::<PackArgs>(), 3 * 8 + 10 * 4);
        assert_eq!(std::mem::size_of::<ConvArgs>(), 7 * 8 + 20 * 4);
        assert_eq!(std::mem::size_of::<DwArgs>(), 3 * 8 + 16 * 4);
    }
}
