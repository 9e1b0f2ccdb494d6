//! Device kernels: what an accelerator backend (a GPU) contributes to the runtime.
//!
//! A CPU backend hands the shared frame microkernels ([`KernelEntry`](super::KernelEntry));
//! a device backend owns everything from weight packing to the launch, because its memory
//! is elsewhere. The runtime therefore describes a whole fused conv/dense as plain data — a
//! [`DeviceConvSpec`], the same quantities the CPU frame gets — and the backend turns it
//! into a [`PreparedDeviceOp`] once per plan (weights uploaded and prepacked on the device)
//! that moves one input in and one output out per call:
//!
//! ```text
//! let entry = registry::device_kernels().into_iter()
//!     .find(|k| (k.applicable)(&spec).is_ok())?;      // plan time, no device touched
//! let op = (entry.prepare)(&spec)?;                       // plan time: compile, upload
//! op.run(input_bytes, output_bytes)?;                     // run time, any thread
//! ```
//!
//! The fused layer (ARCHITECTURE.md §4, int8 lowering):
//!
//! ```text
//! acc[n,y,x,k] = Σ_{c<Cg, r<kh, s<kw} P[n, y·sh + r·dh, x·sw + s·dw, g(k)·Cg + c] · W[k,r,s,c]
//! v            = acc + channel_constant[k] − t3_zero_point[k] · Σ_{c,r,s} P[…] − input_zero_point
//! out          = clamp(output_zero_point + requantize(v, k), clamp)   (or clamp(v) for i32)
//! ```
//!
//! with `P` the data padded with `pad_value`, `channel_constant = bias − T2 + T4` and the
//! window sum over the group's channels (depthwise: over the taps only). Dense
//! `[rows, K] × [N, K]ᵀ` is the 1×1 case over `rows` images of 1×1 ([`DeviceConvGeometry::dense`]).

use std::fmt;

use crate::dtype::DType;
use crate::ops::{RequantScale, window_output};

use super::descriptor::KernelClass;

/// Shape and window of a conv2d: activations NHWC, weights OHWI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceConvGeometry {
    /// Images in the batch.
    pub batch: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Input channels, all groups.
    pub in_c: usize,
    /// Output channels, all groups.
    pub out_c: usize,
    /// Kernel (height, width).
    pub kernel: [usize; 2],
    /// (height, width) strides.
    pub strides: [usize; 2],
    /// (top, left, bottom, right) padding.
    pub padding: [usize; 4],
    /// (height, width) dilation.
    pub dilation: [usize; 2],
    /// Groups; `in_c / groups` input channels each. Depthwise: `groups == in_c` (channel
    /// multiplier `out_c / in_c`).
    pub groups: usize,
}

impl DeviceConvGeometry {
    /// A dense layer `[rows, k] × [n, k]ᵀ` as a 1×1 convolution over `rows` images of 1×1.
    pub fn dense(rows: usize, k: usize, n: usize) -> Self {
        DeviceConvGeometry {
            batch: rows,
            in_h: 1,
            in_w: 1,
            in_c: k,
            out_c: n,
            kernel: [1, 1],
            strides: [1, 1],
            padding: [0; 4],
            dilation: [1, 1],
            groups: 1,
        }
    }

    /// Output (height, width), `None` when the window does not fit or a dimension is 0.
    pub fn out_hw(&self) -> Option<[usize; 2]> {
        let [pt, pl, pb, pr] = self.padding;
        let oh =
            window_output(self.in_h, pt, pb, self.kernel[0], self.strides[0], self.dilation[0]);
        let ow =
            window_output(self.in_w, pl, pr, self.kernel[1], self.strides[1], self.dilation[1]);
        Some([oh?, ow?])
    }

    /// Input channels per group (0 when `groups` is 0).
    pub fn channels_per_group(&self) -> usize {
        self.in_c.checked_div(self.groups).unwrap_or(0)
    }

    /// True for one input channel per group.
    pub fn is_depthwise(&self) -> bool {
        self.channels_per_group() == 1
    }

    /// Elements of the NHWC input.
    pub fn input_len(&self) -> usize {
        self.batch * self.in_h * self.in_w * self.in_c
    }

    /// Elements of the NHWC output (0 when the window does not fit).
    pub fn output_len(&self) -> usize {
        self.out_hw().map_or(0, |[oh, ow]| self.batch * oh * ow * self.out_c)
    }

    /// Multiply-accumulates of the layer.
    pub fn macs(&self) -> u64 {
        let k = self.channels_per_group() * self.kernel[0] * self.kernel[1];
        (self.output_len() as u64) * k as u64
    }
}

/// The requantize step fused after the accumulation.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRequantize {
    /// Per-tensor (1 entry) or per-output-channel multipliers, fixed point or ORT's f32.
    pub scale: RequantScale,
    /// The requantize op's input zero point (subtracted from `v`).
    pub input_zero_point: i32,
    /// Output zero point, inside the output dtype.
    pub output_zero_point: i32,
}

/// Everything a device backend needs to compute one fused conv2d/dense, owned, plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceConvSpec {
    pub geometry: DeviceConvGeometry,
    /// Element type of the input (after dtype legalization: i8 for dp4a).
    pub data: DType,
    /// Element type of the weights.
    pub weight: DType,
    /// Value of padded cells, in the data's domain (the data zero point).
    pub pad_value: i32,
    /// OHWI weights, `out_c × kh × kw × (in_c / groups)` values of `weight`.
    pub weights: Vec<i32>,
    /// Per-channel constant `bias − T2 + T4` (1 entry broadcasts, or `out_c`).
    pub channel_constant: Vec<i32>,
    /// Weight zero points `w_k` of the T3 term (1 or `out_c` entries); `None` or all zero
    /// when the weights are symmetric.
    pub t3_zero_point: Option<Vec<i32>>,
    /// `None`: raw i32 output `clamp(acc + constant − T3)`.
    pub requantize: Option<DeviceRequantize>,
    /// u8, i8 (with requantize) or i32.
    pub out_dtype: DType,
    /// Fused ReLU/Clip bounds in the output's integer domain; `None`: the dtype's range.
    pub clamp: Option<(i32, i32)>,
}

impl DeviceConvSpec {
    /// Bytes of one input (`geometry.input_len()` elements of `data`, NHWC).
    pub fn input_bytes(&self) -> usize {
        self.geometry.input_len() * self.data.size_bytes()
    }

    /// Bytes of one output (NHWC, `out_dtype` elements, little-endian).
    pub fn output_bytes(&self) -> usize {
        self.geometry.output_len() * self.out_dtype.size_bytes()
    }
}

/// A layer prepared on a device: weights resident and prepacked, kernels compiled.
/// `run` may be called from any thread; a backend serializes calls on one op if it must.
pub trait PreparedDeviceOp: Send + Sync + fmt::Debug {
    /// The registered kernel that prepared it.
    fn kernel_name(&self) -> &'static str;

    /// One line for plans and reports (device, tiling, …).
    fn describe(&self) -> String {
        self.kernel_name().to_string()
    }

    /// Copies `input` ([`DeviceConvSpec::input_bytes`] bytes) to the device, computes the
    /// layer and copies the result into `output` ([`DeviceConvSpec::output_bytes`] bytes).
    fn run(&self, input: &[u8], output: &mut [u8]) -> Result<(), String>;
}

/// A device kernel a backend registers with `inventory::submit!`.
#[derive(Debug, Clone, Copy)]
pub struct DeviceKernelEntry {
    /// Must equal [`BACKEND_ABI_VERSION`](super::BACKEND_ABI_VERSION).
    pub abi_version: u32,
    /// Name of the backend descriptor it belongs to (whose probe says if a device is here).
    pub backend: &'static str,
    /// Device, op, dtypes: `dp4a_conv_s8s8`.
    pub name: &'static str,
    /// The class a cost model files it under.
    pub class: KernelClass,
    /// Operand dtypes (data, weight) of the layers it computes.
    pub operands: (DType, DType),
    /// Can it compute this layer? Checks the spec only, touches no device: usable when
    /// planning for a machine one is not on.
    pub applicable: fn(&DeviceConvSpec) -> Result<(), String>,
    /// Prepares the layer on the device (the backend's probe must succeed first).
    pub prepare: fn(&DeviceConvSpec) -> Result<Box<dyn PreparedDeviceOp>, String>,
}

inventory::collect!(DeviceKernelEntry);
