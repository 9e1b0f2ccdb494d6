//! Attributes of the transposed convolution (`qnn.conv2d_transpose`) and of the zero
//! insertion (`dilate`) that turns it into an ordinary convolution.

use super::attrs::DataLayout;

/// Attributes of a 2-D transposed convolution: NCHW data, weights `[C, M/G, kh, kw]` (ONNX
/// `ConvTranspose`: input channels first). Input pixel `(i, j)` scatters into output pixel
/// `(i·sh + r·dh − pt, j·sw + s·dw − pl)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConvTranspose2dAttrs {
    /// (height, width) strides, ≥ 1.
    pub strides: [usize; 2],
    /// (top, left, bottom, right): rows and columns removed from the full output.
    pub padding: [usize; 4],
    /// (height, width): rows and columns added at the bottom and right of the output.
    pub output_padding: [usize; 2],
    /// (height, width) dilation, ≥ 1.
    pub dilation: [usize; 2],
    pub groups: usize,
}

impl Default for ConvTranspose2dAttrs {
    fn default() -> Self {
        ConvTranspose2dAttrs {
            strides: [1, 1],
            padding: [0; 4],
            output_padding: [0; 2],
            dilation: [1, 1],
            groups: 1,
        }
    }
}

impl ConvTranspose2dAttrs {
    /// Output extent along spatial axis `axis` (0 = height, 1 = width) for an input extent
    /// `input` and kernel extent `kernel`:
    /// `s·(in − 1) + out_pad + d·(k − 1) + 1 − pad_begin − pad_end`, or `None` when it is not
    /// positive, an attribute is zero or the arithmetic overflows.
    pub fn output_extent(&self, axis: usize, input: usize, kernel: usize) -> Option<usize> {
        let (s, d) = (self.strides[axis], self.dilation[axis]);
        if s == 0 || d == 0 || input == 0 || kernel == 0 {
            return None;
        }
        let full = s
            .checked_mul(input - 1)?
            .checked_add(self.output_padding[axis])?
            .checked_add(d.checked_mul(kernel - 1)?)?
            .checked_add(1)?;
        let pads = self.padding[axis].checked_add(self.padding[axis + 2])?;
        full.checked_sub(pads).filter(|&o| o > 0)
    }
}

/// Attributes of `dilate`: stride-`s` zero insertion along H and W (cells between input
/// pixels hold `value`), then `crop` rows/columns removed (top, left, bottom, right).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DilateAttrs {
    pub strides: [usize; 2],
    pub crop: [usize; 4],
    /// The value of the inserted cells (a transposed conv's input zero point).
    pub value: i32,
    pub layout: DataLayout,
}

impl DilateAttrs {
    /// Output extent along spatial axis `axis` for input extent `input`:
    /// `s·(in − 1) + 1 − crop_begin − crop_end`, `None` when not positive.
    pub fn output_extent(&self, axis: usize, input: usize) -> Option<usize> {
        let s = self.strides[axis];
        if s == 0 || input == 0 {
            return None;
        }
        let full = s.checked_mul(input - 1)?.checked_add(1)?;
        full.checked_sub(self.crop[axis].checked_add(self.crop[axis + 2])?).filter(|&o| o > 0)
    }
}
