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
//! `[rows, K] × [N, K]ᵀ` is the 1×1 case over `rows` images of 1×1 ([`ConvGeometry::dense`]).

use std::fmt;

use crate::dtype::DType;
use crate::ops::RequantScale;

use super::descriptor::KernelClass;
use super::geometry::ConvGeometry;

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
    pub geometry: ConvGeometry,
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
