//! What legalization needs to know about one `qnn.conv2d` / `qnn.dense`: dimensions, zero
//! points, the constant weights (as `i64`, per output channel in the K order), the folded bias.

use std::sync::Arc;

use ndarray::{ArrayD, IxDyn};
use qnn_ir::backend::ConvGeometry;
use qnn_ir::{Conv2dAttrs, DType, Graph, Node, Op, Tensor, ValueId};

use crate::error::LegalizeError;

/// conv2d or dense.
#[derive(Debug, Clone, PartialEq)]
pub enum ConvForm {
    Conv2d(Conv2dAttrs),
    Dense,
}

/// Dimensions of a conv, with dense as a 1×1 conv over `n` rows: `n` = product of the leading
/// data dims, `c` = K, `o` = N, all spatial extents 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub o: usize,
    pub r: usize,
    pub s: usize,
    pub oh: usize,
    pub ow: usize,
    pub groups: usize,
}

impl Dims {
    /// Input channels per group.
    pub fn cpg(&self) -> usize {
        self.c / self.groups
    }
    /// Output channels per group.
    pub fn opg(&self) -> usize {
        self.o / self.groups
    }
    /// Reduction length per output: `C/G · R · S` (dense: K).
    pub fn k(&self) -> usize {
        self.cpg() * self.r * self.s
    }
    /// Multiply-accumulates of the whole op.
    pub fn macs(&self) -> u64 {
        (self.n * self.oh * self.ow * self.o) as u64 * self.k() as u64
    }
}

/// A quantized conv/dense with constant weights, ready to lower.
#[derive(Debug, Clone)]
pub struct QConv {
    pub op: &'static str,
    pub node: String,
    pub form: ConvForm,
    pub data: ValueId,
    pub data_dtype: DType,
    pub data_shape: Vec<usize>,
    pub weight_dtype: DType,
    pub weight_shape: Vec<usize>,
    /// The weights as `i64`, in their own layout.
    pub weights: ArrayD<i64>,
    /// Axis of `weights` that indexes output channels.
    pub weight_out_axis: usize,
    /// Input zero point `a`.
    pub a: i64,
    /// Weight zero point `w_k` per output channel (length `o`).
    pub wzp: Vec<i64>,
    /// Bias per output channel (zeros when there is none).
    pub bias: Vec<i64>,
    pub has_bias: bool,
    pub dims: Dims,
    /// Per output channel, its `K` weights in the order (r, s, c), c fastest.
    pub kvec: Vec<Vec<i64>>,
    pub out_shape: Vec<usize>,
    pub channel_axis: usize,
}

impl QConv {
    /// Reads a `qnn.conv2d`/`qnn.dense` node; `bias` is a folded per-channel bias.
    pub fn from_node(
        graph: &Graph,
        node: &Node,
        bias: Option<Vec<i64>>,
    ) -> Result<QConv, LegalizeError> {
        let (form, input, kernel) = match &node.op {
            Op::QnnConv2d { conv, input, kernel } => {
                (ConvForm::Conv2d(conv.clone()), input, kernel)
            }
            Op::QnnDense { input, kernel } => (ConvForm::Dense, input, kernel),
            other => unreachable!("QConv::from_node on {}", other.name()),
        };
        let op = node.op.name();
        let (data, wv) = (node.inputs[0], node.inputs[1]);
        let Some(wt) = graph.constant(wv) else {
            return Err(LegalizeError::NonConstantWeights {
                op: op.into(),
                node: node.name.clone(),
                value: graph.value(wv).name.clone(),
            });
        };
        let weights: ArrayD<i64> = wt.to_i64().expect("inference checked 8-bit weights");
        let data_ty = graph.ty(data);
        let out_shape = graph.ty(node.output).shape.clone();
        let (dims, weight_out_axis, channel_axis) = match &form {
            ConvForm::Conv2d(conv) => {
                let [n, c, h, w] = conv.data_layout.nchw(&data_ty.shape);
                let [o, _, r, s] = conv.kernel_layout.oihw(wt.shape());
                let [_, _, oh, ow] = conv.data_layout.nchw(&out_shape);
                let dims = Dims { n, c, h, w, o, r, s, oh, ow, groups: conv.groups };
                (dims, conv.kernel_layout.output_axis(), conv.data_layout.channel_axis())
            }
            ConvForm::Dense => {
                let rank = data_ty.shape.len();
                let n = data_ty.shape[..rank - 1].iter().product();
                let (o, c) = (wt.shape()[0], wt.shape()[1]);
                let dims = Dims { n, c, h: 1, w: 1, o, r: 1, s: 1, oh: 1, ow: 1, groups: 1 };
                (dims, 0, out_shape.len() - 1)
            }
        };
        let kvec = k_vectors(&form, &weights, &dims);
        let wzp = (0..dims.o).map(|k| i64::from(kernel.zero_point_at(k))).collect();
        let has_bias = bias.is_some();
        Ok(QConv {
            op,
            node: node.name.clone(),
            form,
            data,
            data_dtype: data_ty.dtype,
            data_shape: data_ty.shape.clone(),
            weight_dtype: wt.dtype(),
            weight_shape: wt.shape().to_vec(),
            weights,
            weight_out_axis,
            a: i64::from(input.zero_point_at(0)),
            wzp,
            bias: bias.unwrap_or_else(|| vec![0; dims.o]),
            has_bias,
            dims,
            kvec,
            out_shape,
            channel_axis,
        })
    }

    /// The weights with `f(k, w)` applied to every element of output channel `k`.
    pub fn map_weights(&self, f: impl Fn(usize, i64) -> i64) -> ArrayD<i64> {
        // Flat, in memory order: the output channel of element `i` is `(i / inner) % o`
        // (indexing an `IxDyn` array per element was most of the compile time of a network).
        let w = self.weights.as_standard_layout();
        let shape = w.shape();
        let inner: usize = shape[self.weight_out_axis + 1..].iter().product();
        let o = shape[self.weight_out_axis];
        let src = w.as_slice().expect("standard layout");
        let mut flat: Vec<i64> = Vec::with_capacity(src.len());
        for (j, run) in src.chunks(inner.max(1)).enumerate() {
            let k = j % o.max(1);
            flat.extend(run.iter().map(|&v| f(k, v)));
        }
        ArrayD::from_shape_vec(IxDyn(shape), flat).expect("same shape")
    }

    /// Shape and window in the frame's terms (NHWC; dense: `n` rows of K → N).
    pub fn geometry(&self) -> ConvGeometry {
        let d = self.dims;
        match &self.form {
            ConvForm::Dense => ConvGeometry::dense(d.n, d.c, d.o),
            ConvForm::Conv2d(conv) => ConvGeometry {
                batch: d.n,
                in_h: d.h,
                in_w: d.w,
                in_c: d.c,
                out_c: d.o,
                kernel: [d.r, d.s],
                strides: conv.strides,
                padding: conv.padding,
                dilation: conv.dilation,
                groups: d.groups,
            },
        }
    }

    /// True for depthwise convolution (one input channel per group, groups > 1).
    pub fn is_depthwise(&self) -> bool {
        matches!(self.form, ConvForm::Conv2d(_)) && self.dims.groups > 1 && self.dims.cpg() == 1
    }

    /// Shape of a per-output-channel constant that broadcasts against the output: `[O, 1, 1]`
    /// (NCHW) or `[O]` (NHWC, dense).
    pub fn channel_const_shape(&self) -> Vec<usize> {
        let trailing = self.out_shape.len() - 1 - self.channel_axis;
        let mut s = vec![self.dims.o];
        s.extend(std::iter::repeat_n(1, trailing));
        s
    }
}

/// Every channel's weights in (r, s, c) order, read through the strides of the standard
/// layout (per-element `IxDyn` indexing was most of the compile time of a network).
fn k_vectors(form: &ConvForm, w: &ArrayD<i64>, d: &Dims) -> Vec<Vec<i64>> {
    let w = w.as_standard_layout();
    let flat = w.as_slice().expect("standard layout");
    let shape = w.shape();
    let strides: Vec<usize> = (0..shape.len()).map(|a| shape[a + 1..].iter().product()).collect();
    match form {
        ConvForm::Dense => (0..d.o).map(|k| flat[k * d.c..(k + 1) * d.c].to_vec()).collect(),
        ConvForm::Conv2d(conv) => {
            let axes = conv.kernel_layout.axes();
            let [so, sc, sr, ss] = [0, 1, 2, 3].map(|i| strides[axes[i]]);
            (0..d.o)
                .map(|k| {
                    let mut out = Vec::with_capacity(d.k());
                    for r in 0..d.r {
                        for s in 0..d.s {
                            let base = k * so + r * sr + s * ss;
                            out.extend((0..d.cpg()).map(|c| flat[base + c * sc]));
                        }
                    }
                    out
                })
                .collect()
        }
    }
}

/// The per-channel values of a constant `t` that, added to an output of shape `out` with
/// channels on `channel_axis`, adds one value per channel without changing the shape:
/// right-aligned, every dimension of `t` is 1 except, optionally, the channel axis.
pub fn per_channel_values(t: &Tensor, out: &[usize], channel_axis: usize) -> Option<Vec<i64>> {
    let shape = t.shape();
    if shape.len() > out.len() {
        return None;
    }
    let offset = out.len() - shape.len();
    let channels = out[channel_axis];
    let mut per_channel = false;
    for (i, &d) in shape.iter().enumerate() {
        if offset + i == channel_axis && d == channels {
            per_channel = true;
        } else if d != 1 {
            return None;
        }
    }
    let vals = t.to_i64()?;
    let flat: Vec<i64> = vals.iter().copied().collect();
    Some(if per_channel && channels > 1 { flat } else { vec![flat[0]; channels] })
}

/// `Arc<Tensor>` of `i64` values narrowed into `dtype` (the caller proved they fit).
pub fn tensor_of(op: &str, dtype: DType, a: ArrayD<i64>) -> Result<Arc<Tensor>, LegalizeError> {
    Ok(Arc::new(Tensor::from_i64(op, dtype, a)?))
}
