//! Byte buffers aligned to a cache line.
//!
//! Kernels load whole vectors (64 bytes on AVX-512) from packed weights, parameter arrays
//! and scratch rows; a buffer that starts mid-line makes most of those loads split across
//! two cache lines, which halves the load throughput the inner loops depend on.

/// One cache line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

/// A zero-initialized byte buffer whose first byte is 64-byte aligned.
#[derive(Clone, Default)]
pub struct AlignedBytes {
    lines: Vec<Line>,
    len: usize,
}

impl std::fmt::Debug for AlignedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AlignedBytes({} bytes)", self.len)
    }
}

impl AlignedBytes {
    /// `len` zero bytes.
    pub fn zeroed(len: usize) -> Self {
        AlignedBytes { lines: vec![Line([0; 64]); len.div_ceil(64)], len }
    }

    /// Grows to at least `len` bytes (new bytes are zero); never shrinks.
    pub fn reserve_len(&mut self, len: usize) {
        if len > self.len {
            self.lines.resize(len.div_ceil(64), Line([0; 64]));
            self.len = len;
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `Line` is `repr(C)` over `[u8; 64]` with no padding, so the lines are
        // `64 · lines.len() ≥ len` contiguous initialized bytes.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<u8>(), self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, uniquely borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast::<u8>(), self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_zeroed() {
        let mut b = AlignedBytes::zeroed(100);
        assert_eq!(b.as_slice().as_ptr() as usize % 64, 0);
        assert_eq!(b.len(), 100);
        assert!(b.as_slice().iter().all(|&x| x == 0));
        b.as_mut_slice()[99] = 7;
        b.reserve_len(1000);
        assert_eq!((b.len(), b.as_slice()[99], b.as_slice()[999]), (1000, 7, 0));
    }
}
