//! What legalization needs to know about one `qnn.conv2d` / `qnn.dense`: dimensions, zero
//! points, the constant weights (at their own element type, in the graph's layout and per
//! output channel in the K order), the folded bias.
//!
//! Weights are never widened as a whole: a 100 MB u8 weight is held as the graph's constant
//! and, where the graph's order is not already OHWI, one OHWI copy of 100 MB; sums and range
//! bounds widen one element at a time.

use std::sync::Arc;

use ndarray::ArrayD;
use qnn_ir::backend::ConvGeometry;
use qnn_ir::{
    Conv2dAttrs, DType, Element, Graph, IntSlice, Node, Op, Tensor, ValueId, with_array, with_ints,
};

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
    /// The graph's constant weights, in their own layout and element type (shared, not
    /// copied).
    pub weights: Arc<Tensor>,
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
    /// The weights in OHWI order (dense: `[N, K]`), i.e. per output channel its `K`
    /// weights in the order (r, s, c), c fastest; at their own element type, and the same
    /// tensor as [`weights`](Self::weights) when the graph's layout is already in that order.
    pub ohwi: Arc<Tensor>,
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
        if wt.dtype() == DType::F32 {
            unreachable!("inference checked 8-bit weights");
        }
        let weights = standard(wt);
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
        let ohwi = ohwi_weights(&form, &weights).expect("inference checked the kernel's shape");
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
            ohwi,
            weight_out_axis,
            a: i64::from(input.zero_point_at(0)),
            wzp,
            bias: bias.unwrap_or_else(|| vec![0; dims.o]),
            has_bias,
            dims,
            out_shape,
            channel_axis,
        })
    }

    /// Output channel `k`'s `K` weights in (r, s, c) order.
    pub fn row(&self, k: usize) -> IntSlice<'_> {
        let kl = self.dims.k();
        int_slice(&self.ohwi).slice(k * kl, (k + 1) * kl)
    }

    /// Every output channel's weights, in channel order.
    pub fn rows(&self) -> impl Iterator<Item = IntSlice<'_>> {
        (0..self.dims.o).map(|k| self.row(k))
    }

    /// True when the graph's weight tensor is already in OHWI order (dense, OHWI, or OIHW
    /// with a 1×1 window): a folded weight tensor then serves both the graph and the record.
    pub fn ohwi_is_graph_order(&self) -> bool {
        Arc::ptr_eq(&self.weights, &self.ohwi)
    }

    /// The weights in the graph's layout as `dtype`, with `f(k, w)` applied to every
    /// element of output channel `k` (the caller proved the results fit `dtype`).
    pub fn map_weights(
        &self,
        op: &str,
        dtype: DType,
        f: impl Fn(usize, i32) -> i32,
    ) -> Result<Arc<Tensor>, LegalizeError> {
        // Flat, in memory order: the output channel of element `i` is `(i / inner) % o`.
        let shape = self.weights.shape();
        let inner = shape[self.weight_out_axis + 1..].iter().product::<usize>().max(1);
        let o = shape[self.weight_out_axis].max(1);
        mapped(op, int_slice(&self.weights), dtype, shape, |i, v| f((i / inner) % o, v))
    }

    /// The OHWI weights as `dtype` with `f(k, w)` applied to output channel `k`'s weights;
    /// `graph`, the result of [`map_weights`](Self::map_weights) with the same `f`, when the
    /// graph's order is OHWI already.
    pub fn map_ohwi(
        &self,
        op: &str,
        dtype: DType,
        graph: &Arc<Tensor>,
        f: impl Fn(usize, i32) -> i32,
    ) -> Result<Arc<Tensor>, LegalizeError> {
        if self.ohwi_is_graph_order() {
            return Ok(graph.clone());
        }
        let kl = self.dims.k().max(1);
        mapped(op, int_slice(&self.ohwi), dtype, self.ohwi.shape(), |i, v| f(i / kl, v))
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

/// The elements of an integer tensor in standard layout (see [`standard`]).
fn int_slice(t: &Tensor) -> IntSlice<'_> {
    t.int_slice().expect("an integer tensor in standard layout")
}

/// `t` itself when its array is in standard layout (constants read from a file are), else a
/// standard-layout copy at its own element type.
fn standard(t: &Arc<Tensor>) -> Arc<Tensor> {
    if t.int_slice().is_some() {
        return t.clone();
    }
    Arc::new(with_array!(&**t, a => Element::wrap(a.as_standard_layout().into_owned())))
}

/// `Tensor::map_ints` with a failed proof reported, not wrapped.
fn mapped(
    op: &str,
    src: IntSlice<'_>,
    dtype: DType,
    shape: &[usize],
    f: impl FnMut(usize, i32) -> i32,
) -> Result<Arc<Tensor>, LegalizeError> {
    match Tensor::map_ints(src, dtype, shape, f) {
        Some(t) => Ok(Arc::new(t)),
        None => Err(LegalizeError::Ir(qnn_ir::IrError::Shape {
            op: op.into(),
            msg: format!("folded weights do not fit {dtype}"),
        })),
    }
}

/// Conv/dense weights `w` (an integer tensor in standard layout) in OHWI order (dense:
/// `[N, K]`) at their own element type: `w` itself when its layout is in that order
/// already, else one copy of shape `[O, K]` read through the strides of the standard layout
/// (per-element `IxDyn` indexing was most of the compile time of a network). `None` for
/// `f32` weights or a shape that is not a conv kernel.
pub fn ohwi_weights(form: &ConvForm, w: &Arc<Tensor>) -> Option<Arc<Tensor>> {
    let flat = w.int_slice()?;
    let ConvForm::Conv2d(conv) = form else { return Some(w.clone()) };
    let shape = w.shape();
    if shape.len() != 4 {
        return None;
    }
    let [o, cpg, r, s] = conv.kernel_layout.oihw(shape);
    let k = cpg * r * s;
    let strides: Vec<usize> = (0..4).map(|a| shape[a + 1..].iter().product()).collect();
    let axes = conv.kernel_layout.axes();
    let st = [0, 1, 2, 3].map(|i| strides[axes[i]]);
    let [so, sc, sr, ss] = st;
    // Element (k, r, s, c) sits at k·K + (r·S + s)·C + c already?
    let in_order =
        so == k && (sc == 1 || cpg == 1) && (ss == cpg || s == 1) && (sr == s * cpg || r == 1);
    if in_order {
        return Some(w.clone());
    }
    fn gather<T: Copy>(
        f: &[T],
        [o, cpg, r, s]: [usize; 4],
        [so, sc, sr, ss]: [usize; 4],
    ) -> Vec<T> {
        let mut out = Vec::with_capacity(o * cpg * r * s);
        for ko in 0..o {
            for ri in 0..r {
                for si in 0..s {
                    let base = ko * so + ri * sr + si * ss;
                    out.extend((0..cpg).map(|c| f[base + c * sc]));
                }
            }
        }
        out
    }
    let t = with_ints!(flat, f => Tensor::from_vec(&[o, k], gather(f, [o, cpg, r, s], st)));
    Some(Arc::new(t.expect("o·K elements")))
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
