//! Attribute types shared by several operators.

use std::fmt;
use std::str::FromStr;

/// Activation layout of a 4-D tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataLayout {
    Nchw,
    Nhwc,
}

impl DataLayout {
    /// Axis index of (batch, channel, height, width).
    pub const fn axes(self) -> [usize; 4] {
        match self {
            DataLayout::Nchw => [0, 1, 2, 3],
            DataLayout::Nhwc => [0, 3, 1, 2],
        }
    }
    pub const fn channel_axis(self) -> usize {
        self.axes()[1]
    }
    /// Shape from (n, c, h, w).
    pub fn shape(self, n: usize, c: usize, h: usize, w: usize) -> Vec<usize> {
        match self {
            DataLayout::Nchw => vec![n, c, h, w],
            DataLayout::Nhwc => vec![n, h, w, c],
        }
    }
    /// (n, c, h, w) of a shape in this layout.
    pub fn nchw(self, shape: &[usize]) -> [usize; 4] {
        let a = self.axes();
        [shape[a[0]], shape[a[1]], shape[a[2]], shape[a[3]]]
    }
}

/// Layout of a 4-D convolution kernel: O = output channels, I = input channels per group,
/// H, W = kernel height and width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KernelLayout {
    Oihw,
    Ohwi,
    Hwio,
}

impl KernelLayout {
    /// Axis index of (o, i, h, w).
    pub const fn axes(self) -> [usize; 4] {
        match self {
            KernelLayout::Oihw => [0, 1, 2, 3],
            KernelLayout::Ohwi => [0, 3, 1, 2],
            KernelLayout::Hwio => [3, 2, 0, 1],
        }
    }
    pub const fn output_axis(self) -> usize {
        self.axes()[0]
    }
    /// Shape from (o, i, h, w).
    pub fn shape(self, o: usize, i: usize, h: usize, w: usize) -> Vec<usize> {
        match self {
            KernelLayout::Oihw => vec![o, i, h, w],
            KernelLayout::Ohwi => vec![o, h, w, i],
            KernelLayout::Hwio => vec![h, w, i, o],
        }
    }
    /// (o, i, h, w) of a shape in this layout.
    pub fn oihw(self, shape: &[usize]) -> [usize; 4] {
        let a = self.axes();
        [shape[a[0]], shape[a[1]], shape[a[2]], shape[a[3]]]
    }
}

/// Attributes of a 2-D convolution (core `conv2d` and `qnn.conv2d`).
///
/// Grouped convolution: input channels split into `groups` groups of `C / groups`; output
/// channel `k` reads group `k / (O / groups)`. Depthwise is `groups == C` with channel
/// multiplier `O / C`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Conv2dAttrs {
    /// (height, width) strides, ≥ 1.
    pub strides: [usize; 2],
    /// (top, left, bottom, right) padding.
    pub padding: [usize; 4],
    /// (height, width) dilation, ≥ 1.
    pub dilation: [usize; 2],
    pub groups: usize,
    pub data_layout: DataLayout,
    pub kernel_layout: KernelLayout,
}

impl Default for Conv2dAttrs {
    fn default() -> Self {
        Conv2dAttrs {
            strides: [1, 1],
            padding: [0; 4],
            dilation: [1, 1],
            groups: 1,
            data_layout: DataLayout::Nchw,
            kernel_layout: KernelLayout::Oihw,
        }
    }
}

/// Attributes of a 2-D pooling window.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pool2dAttrs {
    /// (height, width) of the window.
    pub kernel: [usize; 2],
    pub strides: [usize; 2],
    /// (top, left, bottom, right).
    pub padding: [usize; 4],
    pub dilation: [usize; 2],
    pub layout: DataLayout,
}

/// Output extent of a sliding window: `(in + pads − dilation·(k − 1) − 1) / stride + 1`,
/// or `None` when the window does not fit or an attribute is zero.
pub fn window_output(
    input: usize,
    pad_before: usize,
    pad_after: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
) -> Option<usize> {
    if kernel == 0 || stride == 0 || dilation == 0 {
        return None;
    }
    let padded = input.checked_add(pad_before)?.checked_add(pad_after)?;
    let span = dilation.checked_mul(kernel - 1)?.checked_add(1)?;
    if padded < span {
        return None;
    }
    Some((padded - span) / stride + 1)
}

/// Kind of pooling reduction of the core `pool2d` op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoolKind {
    /// Window sum into int32; padded cells hold `pad_value`.
    Sum,
    /// Window maximum; padded cells never win.
    Max,
}

/// Rounding of a QNN requantizing op (`qnn.requantize`, `qnn.add`, …): one of the fixed-point
/// modes (TFLite/TVM) or ONNX Runtime's float mode. See ARCHITECTURE.md §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// Fixed point, ties towards +∞ (TVM `UPWARD`).
    Upward,
    /// Fixed point, ties away from zero (TVM `TONEAREST`).
    ToNearest,
    /// Fixed point with TFLite's double rounding (SaturatingRoundingDoublingHighMul then
    /// RoundingDivideByPOT), for bit-exactness with TFLite.
    Tflite,
    /// ONNX Runtime: every step in f32, round half to even.
    Float,
}

impl Rounding {
    pub const ALL: [Rounding; 4] =
        [Rounding::Upward, Rounding::ToNearest, Rounding::Tflite, Rounding::Float];

    /// The fixed-point mode, or `None` for the float mode.
    pub const fn fixed(self) -> Option<FixedRounding> {
        match self {
            Rounding::Upward => Some(FixedRounding::Upward),
            Rounding::ToNearest => Some(FixedRounding::ToNearest),
            Rounding::Tflite => Some(FixedRounding::Tflite),
            Rounding::Float => None,
        }
    }
}

/// Rounding of the fixed-point multiplication `round(x · m · 2^(shift − 31))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FixedRounding {
    Upward,
    ToNearest,
    Tflite,
}

macro_rules! named_enum {
    ($t:ty, $($v:path => $s:literal),+ $(,)?) => {
        impl $t {
            pub const NAMES: &'static [&'static str] = &[$($s),+];
            pub const fn as_str(self) -> &'static str {
                match self { $($v => $s),+ }
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($s => Ok($v),)+
                    _ => Err(format!("unknown {} `{s}` (known: {})", stringify!($t), <$t>::NAMES.join(", "))),
                }
            }
        }
    };
}
named_enum!(DataLayout, DataLayout::Nchw => "NCHW", DataLayout::Nhwc => "NHWC");
named_enum!(KernelLayout, KernelLayout::Oihw => "OIHW", KernelLayout::Ohwi => "OHWI", KernelLayout::Hwio => "HWIO");
named_enum!(PoolKind, PoolKind::Sum => "sum", PoolKind::Max => "max");
named_enum!(Rounding, Rounding::Upward => "upward", Rounding::ToNearest => "tonearest", Rounding::Tflite => "tflite", Rounding::Float => "float");
named_enum!(FixedRounding, FixedRounding::Upward => "upward", FixedRounding::ToNearest => "tonearest", FixedRounding::Tflite => "tflite");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_agree_with_their_shapes() {
        for l in [KernelLayout::Oihw, KernelLayout::Ohwi, KernelLayout::Hwio] {
            assert_eq!(l.oihw(&l.shape(8, 3, 5, 7)), [8, 3, 5, 7]);
        }
        for l in [DataLayout::Nchw, DataLayout::Nhwc] {
            assert_eq!(l.nchw(&l.shape(2, 3, 5, 7)), [2, 3, 5, 7]);
        }
    }

    #[test]
    fn window_arithmetic() {
        assert_eq!(window_output(224, 3, 3, 7, 2, 1), Some(112));
        assert_eq!(window_output(5, 0, 0, 3, 1, 2), Some(1));
        assert_eq!(window_output(4, 0, 0, 3, 1, 2), None);
        assert_eq!(window_output(4, 0, 0, 3, 0, 1), None);
    }

    #[test]
    fn names_parse() {
        assert_eq!("NHWC".parse::<DataLayout>(), Ok(DataLayout::Nhwc));
        assert_eq!("tonearest".parse::<Rounding>(), Ok(Rounding::ToNearest));
        assert!("nearest".parse::<Rounding>().unwrap_err().contains("upward"));
    }
}
