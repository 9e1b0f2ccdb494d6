//! Attributes of `resize`: ONNX `Resize` (opsets 10–19) and the deprecated `Upsample`, as
//! ONNX Runtime's CPU kernel computes them (`reference::resize` states the equations).

use std::fmt;
use std::str::FromStr;

/// How an output cell gets its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResizeMode {
    /// The input cell chosen per axis by the coordinate transform and the nearest mode.
    Nearest,
    /// Bilinear over the two axes of [`ResizeAttrs::axes`], weights in f32.
    Linear,
    /// Bicubic (Keys) over the two axes of [`ResizeAttrs::axes`], weights in f32.
    Cubic,
}

/// ONNX's `coordinate_transformation_mode`: output coordinate → input coordinate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CoordinateMode {
    HalfPixel,
    HalfPixelSymmetric,
    PytorchHalfPixel,
    AlignCorners,
    Asymmetric,
    TfHalfPixelForNn,
    TfCropAndResize,
}

/// ONNX's `nearest_mode`; `Simple` is Resize-10's and Upsample's rule (truncation when
/// upsampling, ceiling when downsampling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NearestMode {
    Simple,
    RoundPreferFloor,
    RoundPreferCeil,
    Floor,
    Ceil,
}

/// Attributes of the core `resize` op (any rank; u8, i8 or f32 data).
#[derive(Debug, Clone, PartialEq)]
pub struct ResizeAttrs {
    pub mode: ResizeMode,
    pub coordinate: CoordinateMode,
    pub nearest: NearestMode,
    /// The output shape.
    pub sizes: Vec<usize>,
    /// The per-axis scale the coordinate transform divides by (ONNX Runtime's: the given
    /// scale, or `f32(out) / f32(in)` when sizes were given).
    pub scales: Vec<f32>,
    /// `[starts…, ends…]` per axis (normalized), read by `tf_crop_and_resize` only.
    pub roi: Vec<f32>,
    /// The (height, width) axes that `linear` and `cubic` interpolate; the other axes keep
    /// their size. Empty for `nearest`.
    pub axes: Vec<usize>,
    pub cubic_coeff_a: f32,
    pub exclude_outside: bool,
    /// The value of cells outside the input under `tf_crop_and_resize`.
    pub extrapolation_value: f32,
}

macro_rules! names {
    ($t:ty, $what:literal, $($v:ident = $s:literal),+ $(,)?) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self { $(<$t>::$v => $s),+ })
            }
        }
        impl FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($s => Ok(<$t>::$v),)+
                    _ => Err(format!(concat!("`{}` is not a ", $what, " (", $($s, " "),+, ")"), s)),
                }
            }
        }
    };
}

names!(ResizeMode, "resize mode", Nearest = "nearest", Linear = "linear", Cubic = "cubic");
names!(
    CoordinateMode,
    "coordinate transformation mode",
    HalfPixel = "half_pixel",
    HalfPixelSymmetric = "half_pixel_symmetric",
    PytorchHalfPixel = "pytorch_half_pixel",
    AlignCorners = "align_corners",
    Asymmetric = "asymmetric",
    TfHalfPixelForNn = "tf_half_pixel_for_nn",
    TfCropAndResize = "tf_crop_and_resize",
);
names!(
    NearestMode,
    "nearest mode",
    Simple = "simple",
    RoundPreferFloor = "round_prefer_floor",
    RoundPreferCeil = "round_prefer_ceil",
    Floor = "floor",
    Ceil = "ceil",
);

impl CoordinateMode {
    /// The input coordinate of output coordinate `x` on an axis of `len_in` → `len_out`
    /// cells with `scale` and the axis's roi `[start, end]`, in ONNX Runtime's f32 (f64
    /// where its C++ mixes in double literals).
    pub fn original(self, x: f32, scale: f32, len_out: f32, len_in: f32, roi: [f32; 2]) -> f32 {
        match self {
            CoordinateMode::Asymmetric => x / scale,
            CoordinateMode::PytorchHalfPixel => {
                if len_out > 1.0 {
                    (x + 0.5) / scale - 0.5
                } else {
                    0.0
                }
            }
            CoordinateMode::TfHalfPixelForNn => (x + 0.5) / scale,
            CoordinateMode::AlignCorners => {
                if len_out == 1.0 {
                    0.0
                } else {
                    x * (len_in - 1.0) / (len_out - 1.0)
                }
            }
            CoordinateMode::TfCropAndResize => {
                let [start, end] = roi;
                if len_out > 1.0 {
                    start * (len_in - 1.0) + (x * (end - start) * (len_in - 1.0)) / (len_out - 1.0)
                } else {
                    (0.5 * f64::from(start + end) * f64::from(len_in - 1.0)) as f32
                }
            }
            CoordinateMode::HalfPixelSymmetric => {
                let out_width = scale * len_in;
                let adjustment = len_out / out_width;
                let center = len_in / 2.0;
                let offset = center * (1.0 - adjustment);
                (f64::from(offset) + (f64::from(x) + 0.5) / f64::from(scale) - 0.5) as f32
            }
            CoordinateMode::HalfPixel => ((x + 0.5) / scale) - 0.5,
        }
    }
}

impl NearestMode {
    /// The input index nearest to coordinate `x` (before clamping to the axis).
    pub fn pick(self, x: f32, downsampling: bool) -> i64 {
        match self {
            NearestMode::Simple => {
                if downsampling {
                    x.ceil() as i64
                } else {
                    x as i64
                }
            }
            NearestMode::RoundPreferCeil => x.round() as i64,
            NearestMode::Floor => x.floor() as i64,
            NearestMode::Ceil => x.ceil() as i64,
            NearestMode::RoundPreferFloor => {
                if x == (x as i64) as f32 + 0.5 {
                    x.floor() as i64
                } else {
                    x.round() as i64
                }
            }
        }
    }
}

impl ResizeAttrs {
    /// The `[start, end]` of the roi on `axis` (`[0, 1]` without a roi).
    pub fn roi_of(&self, axis: usize) -> [f32; 2] {
        let rank = self.sizes.len();
        if self.roi.is_empty() { [0.0, 1.0] } else { [self.roi[axis], self.roi[rank + axis]] }
    }

    /// The input coordinate of output index `o` on `axis` of an `input`-shaped tensor,
    /// unclamped.
    pub fn original(&self, input: &[usize], axis: usize, o: usize) -> f32 {
        self.coordinate.original(
            o as f32,
            self.scales[axis],
            self.sizes[axis] as f32,
            input[axis] as f32,
            self.roi_of(axis),
        )
    }

    /// For `nearest`: per axis, the input index each output index copies, or `None` where
    /// `tf_crop_and_resize` puts the extrapolation value. An axis of scale 1 (rank ≥ 2)
    /// reads `o` itself, as ONNX Runtime's kernel does. The runtime's copy kernel and the
    /// reference both read these maps.
    pub fn nearest_maps(&self, input: &[usize]) -> Vec<Vec<Option<usize>>> {
        let rank = input.len();
        let crop = self.coordinate == CoordinateMode::TfCropAndResize;
        (0..rank)
            .map(|a| {
                (0..self.sizes[a])
                    .map(|o| {
                        if rank > 1 && self.scales[a] == 1.0 {
                            return Some(o);
                        }
                        let v = self.original(input, a, o);
                        if crop && (v < 0.0 || v > (input[a] - 1) as f32) {
                            return None;
                        }
                        let i = self.nearest.pick(v, self.scales[a] < 1.0);
                        Some(i.clamp(0, input[a] as i64 - 1) as usize)
                    })
                    .collect()
            })
            .collect()
    }
}
