//! The shape and window of a conv2d/dense layer as the backends see it: activations NHWC,
//! weights OHWI. One description for the CPU frame (`qnn-kernels`) and for device kernels.

use crate::ops::window_output;

/// Shape and window of a conv2d: activations NHWC, weights OHWI. Dense `[rows, K] × [N, K]ᵀ`
/// is the 1×1 case over `rows` images of 1×1 ([`ConvGeometry::dense`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConvGeometry {
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

impl ConvGeometry {
    /// A dense layer `[rows, k] × [n, k]ᵀ` as a 1×1 convolution over `rows` images of 1×1.
    pub fn dense(rows: usize, k: usize, n: usize) -> Self {
        ConvGeometry {
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

    /// Checks every dimension and returns the output (height, width), or what is wrong.
    pub fn check(&self) -> Result<[usize; 2], String> {
        let dims = [
            ("batch", self.batch),
            ("in_h", self.in_h),
            ("in_w", self.in_w),
            ("in_c", self.in_c),
            ("out_c", self.out_c),
            ("kernel height", self.kernel[0]),
            ("kernel width", self.kernel[1]),
            ("stride height", self.strides[0]),
            ("stride width", self.strides[1]),
            ("dilation height", self.dilation[0]),
            ("dilation width", self.dilation[1]),
            ("groups", self.groups),
        ];
        if let Some((name, _)) = dims.iter().find(|(_, v)| *v == 0) {
            return Err(format!("{name} is 0"));
        }
        if !self.in_c.is_multiple_of(self.groups) || !self.out_c.is_multiple_of(self.groups) {
            return Err(format!(
                "groups {} do not divide in_c {} and out_c {}",
                self.groups, self.in_c, self.out_c
            ));
        }
        let Some([oh, ow]) = self.window_out_hw() else {
            return Err(format!(
                "the {}×{} window (dilation {:?}) does not fit the padded {}×{} input",
                self.kernel[0], self.kernel[1], self.dilation, self.in_h, self.in_w
            ));
        };
        // Every element count must fit comfortably in usize (and pointer offsets in isize).
        let checked = [
            self.batch.checked_mul(self.in_h * self.in_w).and_then(|v| v.checked_mul(self.in_c)),
            self.batch.checked_mul(oh * ow).and_then(|v| v.checked_mul(self.out_c)),
            self.out_c.checked_mul(self.reduction_len()),
        ];
        if checked.iter().any(|v| v.is_none_or(|v| v > isize::MAX as usize / 8)) {
            return Err("the tensors are too large to address".into());
        }
        Ok([oh, ow])
    }

    /// Output (height, width), `None` when the window does not fit or a dimension is 0.
    fn window_out_hw(&self) -> Option<[usize; 2]> {
        let [pt, pl, pb, pr] = self.padding;
        let oh =
            window_output(self.in_h, pt, pb, self.kernel[0], self.strides[0], self.dilation[0]);
        let ow =
            window_output(self.in_w, pl, pr, self.kernel[1], self.strides[1], self.dilation[1]);
        Some([oh?, ow?])
    }

    /// Output (height, width); `[0, 0]` when [`check`](Self::check) fails.
    pub fn out_hw(&self) -> [usize; 2] {
        self.check().unwrap_or([0, 0])
    }

    /// Input channels per group (0 when `groups` is 0).
    pub fn channels_per_group(&self) -> usize {
        self.in_c.checked_div(self.groups).unwrap_or(0)
    }

    /// Output channels per group (0 when `groups` is 0).
    pub fn outputs_per_group(&self) -> usize {
        self.out_c.checked_div(self.groups).unwrap_or(0)
    }

    /// Reduction length of one output: `Cg · kh · kw`.
    pub fn reduction_len(&self) -> usize {
        self.channels_per_group() * self.kernel[0] * self.kernel[1]
    }

    /// One input channel per group: a depthwise convolution (channel multiplier
    /// `out_c / in_c`).
    pub fn is_depthwise(&self) -> bool {
        self.channels_per_group() == 1
    }

    /// Output pixels over the batch (the GEMM's M).
    pub fn out_pixels(&self) -> usize {
        let [oh, ow] = self.out_hw();
        self.batch * oh * ow
    }

    /// Multiply-accumulates of the layer.
    pub fn macs(&self) -> u64 {
        self.out_pixels() as u64 * self.out_c as u64 * self.reduction_len() as u64
    }

    /// Elements of the NHWC input.
    pub fn input_len(&self) -> usize {
        self.batch * self.in_h * self.in_w * self.in_c
    }

    /// Elements of the NHWC output (0 when the geometry is invalid).
    pub fn output_len(&self) -> usize {
        self.out_pixels() * self.out_c
    }

    /// Elements of the OHWI weight tensor.
    pub fn weight_len(&self) -> usize {
        self.out_c * self.reduction_len()
    }
}
