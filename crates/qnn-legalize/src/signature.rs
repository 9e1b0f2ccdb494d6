//! The signature of one conv/dense: what a policy (including `qnn_tune::Measured`, which times
//! kernels per signature) needs to know about the op, without the graph.

use serde::{Deserialize, Serialize};

use crate::analysis::{ConvForm, QConv};

/// Kind of a conv-like op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OpKind {
    Conv2d,
    /// A conv2d with one input channel per group (groups > 1), any channel multiplier.
    DepthwiseConv2d,
    Dense,
}

/// Shape, attributes, dtypes and zero points of a `qnn.conv2d` / `qnn.dense`. Dense is
/// described as a 1×1 conv: `n` rows, `c` = K input features, `o` = N units.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OpSignature {
    pub node: String,
    pub kind: OpKind,
    pub n: usize,
    pub h: usize,
    pub w: usize,
    /// Input channels (all groups).
    pub c: usize,
    /// Output channels.
    pub o: usize,
    pub r: usize,
    pub s: usize,
    pub oh: usize,
    pub ow: usize,
    pub strides: [usize; 2],
    /// (top, left, bottom, right).
    pub padding: [usize; 4],
    pub dilation: [usize; 2],
    pub groups: usize,
    /// `NCHW`/`NHWC`; `None` for dense.
    pub data_layout: Option<String>,
    /// `OIHW`/`OHWI`/`HWIO`; `None` for dense.
    pub kernel_layout: Option<String>,
    pub data_dtype: String,
    pub weight_dtype: String,
    pub input_zero_point: i32,
    /// One per output channel when per channel, else one.
    pub weight_zero_points: Vec<i32>,
    pub weight_zero_point_nonzero: bool,
    pub has_bias: bool,
    /// Reduction length per output, `C/G·R·S`.
    pub k: usize,
    pub macs: u64,
}

impl OpSignature {
    pub(crate) fn of(q: &QConv) -> OpSignature {
        let d = q.dims;
        let (kind, strides, padding, dilation, dl, kl) = match &q.form {
            ConvForm::Conv2d(c) => (
                if q.is_depthwise() { OpKind::DepthwiseConv2d } else { OpKind::Conv2d },
                c.strides,
                c.padding,
                c.dilation,
                Some(c.data_layout.to_string()),
                Some(c.kernel_layout.to_string()),
            ),
            ConvForm::Dense => (OpKind::Dense, [1, 1], [0; 4], [1, 1], None, None),
        };
        let mut zps: Vec<i32> = q.wzp.iter().map(|&z| z as i32).collect();
        if zps.windows(2).all(|w| w[0] == w[1]) {
            zps.truncate(1);
        }
        OpSignature {
            node: q.node.clone(),
            kind,
            n: d.n,
            h: d.h,
            w: d.w,
            c: d.c,
            o: d.o,
            r: d.r,
            s: d.s,
            oh: d.oh,
            ow: d.ow,
            strides,
            padding,
            dilation,
            groups: d.groups,
            data_layout: dl,
            kernel_layout: kl,
            data_dtype: q.data_dtype.to_string(),
            weight_dtype: q.weight_dtype.to_string(),
            input_zero_point: q.a as i32,
            weight_zero_point_nonzero: q.wzp.iter().any(|&z| z != 0),
            weight_zero_points: zps,
            has_bias: q.has_bias,
            k: d.k(),
            macs: d.macs(),
        }
    }

    /// Number of weights (`O · C/G · R · S`).
    pub fn weight_count(&self) -> u64 {
        self.o as u64 * self.k as u64
    }

    /// Input elements (`N·H·W·C`).
    pub fn input_elements(&self) -> u64 {
        (self.n * self.h * self.w * self.c) as u64
    }

    /// Output elements (`N·OH·OW·O`).
    pub fn output_elements(&self) -> u64 {
        (self.n * self.oh * self.ow * self.o) as u64
    }

    /// Elements summed by the T3 window-sum pass: every output position sums its window over
    /// all input channels once (`N·OH·OW·C·R·S`).
    pub fn window_sum_elements(&self) -> u64 {
        (self.n * self.oh * self.ow * self.c) as u64 * (self.r * self.s) as u64
    }
}
