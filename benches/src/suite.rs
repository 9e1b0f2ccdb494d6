//! The speed layer suite (`fixtures/layers.json`, a copy of the peers' `layers.json`):
//! conv2d/dense layers at batch 1, u8 activations × s8 weights (zero point 0), planned on a
//! backend under one lowering, ready to time; and each layer's [`OpSignature`], from which
//! `qnn_tune` builds the single-op QNN model the legalizer and runtime benches use.

use anyhow::{Context, bail};
use qnn_ir::backend::{KernelClass, KernelEntry, registry};
use qnn_ir::{DType, RequantScale};
use qnn_kernels::{ConvGeometry, ConvPlan, ConvProblem, EpilogueSpec, Scratch, ThreadPool};
use qnn_legalize::{OpKind, OpSignature};

/// The suite file, compiled in.
const LAYERS_JSON: &str = include_str!("../fixtures/layers.json");

/// One layer of the suite.
#[derive(Debug, Clone)]
pub struct Layer {
    pub name: String,
    pub geometry: ConvGeometry,
    pub macs: u64,
    /// A `QLinearMatMul` (dense) rather than a convolution.
    pub dense: bool,
}

impl Layer {
    /// The layer as the legalizer sees it: u8 data with zero point 128 (the suite's inputs
    /// are uniform bytes), s8 weights with zero point 0, a bias, NHWC.
    pub fn signature(&self) -> OpSignature {
        self.signature_with_data(DType::U8)
    }

    /// [`signature`](Self::signature) with `data` activations: u8 (zero point 128) or s8
    /// (zero point 0, the same real values), as TFLite-style models have them.
    pub fn signature_with_data(&self, data: DType) -> OpSignature {
        let g = &self.geometry;
        let [oh, ow] = g.out_hw();
        let kind = if self.dense {
            OpKind::Dense
        } else if g.groups > 1 && g.is_depthwise() {
            OpKind::DepthwiseConv2d
        } else {
            OpKind::Conv2d
        };
        let conv = !self.dense;
        OpSignature {
            node: self.name.clone(),
            kind,
            n: g.batch,
            h: g.in_h,
            w: g.in_w,
            c: g.in_c,
            o: g.out_c,
            r: g.kernel[0],
            s: g.kernel[1],
            oh,
            ow,
            strides: g.strides,
            padding: g.padding,
            dilation: g.dilation,
            groups: g.groups,
            data_layout: conv.then(|| "NHWC".into()),
            kernel_layout: conv.then(|| "OHWI".into()),
            data_dtype: data.to_string(),
            weight_dtype: "i8".into(),
            input_zero_point: if data == DType::I8 { 0 } else { 128 },
            weight_zero_points: vec![0],
            weight_zero_point_nonzero: false,
            has_bias: true,
            k: g.reduction_len(),
            macs: self.macs,
        }
    }
}

fn int(v: &serde_json::Value, key: &str) -> anyhow::Result<usize> {
    v[key].as_u64().map(|x| x as usize).with_context(|| format!("layer field `{key}`"))
}

fn pair(v: &serde_json::Value, key: &str) -> anyhow::Result<[usize; 2]> {
    let a = v[key].as_array().with_context(|| format!("layer field `{key}`"))?;
    Ok([a[0].as_u64().unwrap_or(1) as usize, a[1].as_u64().unwrap_or(1) as usize])
}

/// The layers, in file order.
pub fn layers() -> anyhow::Result<Vec<Layer>> {
    let doc: serde_json::Value = serde_json::from_str(LAYERS_JSON)?;
    let mut out = Vec::new();
    for l in doc["layers"].as_array().context("`layers`")? {
        let name = l["name"].as_str().context("`name`")?.to_string();
        let dense = l["op"] == "QLinearMatMul";
        let geometry = if dense {
            ConvGeometry::dense(int(l, "M_rows")?, int(l, "K")?, int(l, "N_cols")?)
        } else {
            let p = l["pads"].as_array().context("`pads`")?;
            let p: Vec<usize> = p.iter().map(|v| v.as_u64().unwrap_or(0) as usize).collect();
            ConvGeometry {
                batch: int(l, "N")?,
                in_h: int(l, "H")?,
                in_w: int(l, "W")?,
                in_c: int(l, "C")?,
                out_c: int(l, "M")?,
                kernel: [int(l, "kh")?, int(l, "kw")?],
                strides: pair(l, "stride")?,
                // ONNX pads are (top, left, bottom, right) for 2-D: begins then ends.
                padding: [p[0], p[1], p[2], p[3]],
                dilation: pair(l, "dilations")?,
                groups: int(l, "group")?,
            }
        };
        let macs = l["macs"].as_u64().context("`macs`")?;
        if geometry.macs() != macs {
            bail!("layer {name}: {} MACs computed, {macs} in the file", geometry.macs());
        }
        out.push(Layer { name, geometry, macs, dense });
    }
    Ok(out)
}

/// How the layer is lowered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lowering {
    /// Raw u8 × s8 with zero-point terms (T3 vanishes: weight zero point 0).
    Int8,
    /// `(x − a) · w` in int16, the subtraction fused into the packing.
    Int16,
}

impl Lowering {
    pub fn name(self) -> &'static str {
        match self {
            Lowering::Int8 => "int8",
            Lowering::Int16 => "int16",
        }
    }
}

/// A deterministic pseudo-random stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A layer planned on one kernel, with its buffers.
#[derive(Debug)]
pub struct Prepared {
    pub kernel: &'static str,
    plan: ConvPlan,
    input: Vec<u8>,
    output: Vec<u8>,
    scratch: Scratch,
}

impl Prepared {
    /// One run on `pool`.
    pub fn run(&mut self, pool: &ThreadPool) -> anyhow::Result<()> {
        self.plan.run(&self.input, &mut self.output, &mut self.scratch, pool)?;
        Ok(())
    }

    /// The output bytes (NHWC u8).
    pub fn output(&self) -> &[u8] {
        &self.output
    }
}

/// The data dtype of the int8 lowering on `backend`: u8 where it has a u8 × s8 kernel of the
/// layer's class (VNNI, AVX2), else s8 (Arm `sdot`, `smull`: s8 × s8), as the legalizer's
/// dtype legalization would choose.
fn int8_data_dtype(g: &ConvGeometry, backend: &str) -> DType {
    let class = if g.is_depthwise() { KernelClass::Int8Depthwise } else { KernelClass::Int8Gemm };
    let u8s8 = registry::kernels_of(backend)
        .iter()
        .any(|k| k.class == class && k.operands == (DType::U8, DType::I8));
    if u8s8 { DType::U8 } else { DType::I8 }
}

/// Plans `layer` under `lowering` on the cheapest applicable kernel of `backend`: u8 data
/// (zero point 128), s8 weights in [−127, 127] (zero point 0), an i32 bias, ONNX Runtime's
/// f32 requantize to u8 (zero point 128), as in the peers' layer models. For the int8
/// lowering on a backend without u8 × s8 kernels (Arm) the data is shifted to s8 (zero point
/// 0: `x − 128` has the bits of `x ^ 0x80`), which leaves every product unchanged.
pub fn prepare(layer: &Layer, backend: &str, lowering: Lowering) -> anyhow::Result<Prepared> {
    prepare_on(layer, backend, lowering, registry::kernels_of(backend))
}

/// [`prepare`] on the cheapest of `kernels` (of `backend`) that accepts the layer: one
/// kernel, to time a tile against the others.
pub fn prepare_on(
    layer: &Layer,
    backend: &str,
    lowering: Lowering,
    kernels: Vec<&'static KernelEntry>,
) -> anyhow::Result<Prepared> {
    let g = &layer.geometry;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ layer.macs);
    let data = match lowering {
        Lowering::Int8 => int8_data_dtype(g, backend),
        Lowering::Int16 => DType::U8,
    };
    let a: i64 = if data == DType::I8 { 0 } else { 128 };
    let flip = if data == DType::I8 { 0x80 } else { 0 };
    let weights: Vec<i32> = (0..g.weight_len()).map(|_| (rng.next() % 255) as i32 - 127).collect();
    let input: Vec<u8> = (0..g.input_len()).map(|_| rng.next() as u8 ^ flip).collect();
    let sums = qnn_kernels::column_sums(g, &weights);
    let bias: Vec<i32> = (0..g.out_c).map(|_| (rng.next() % 10_000) as i32 - 5_000).collect();
    // x_s · w_s / y_s with y_s = 4 · σ_acc · x_s · w_s / 128 (layer_models.py).
    let mult = 32.0 / ((g.reduction_len() as f32).sqrt() * 74.0 * 73.0);
    let mut epilogue = EpilogueSpec {
        bias: bias.clone(),
        t3_zero_point: None,
        requant: Some(RequantScale::Float { mults: vec![mult] }),
        input_zero_point: 0,
        out_dtype: DType::U8,
        zero_point: 128,
        clamp: None,
    };
    let problem = match lowering {
        Lowering::Int8 => {
            // T2 folded into the constant (T3 and T4 vanish with w_k = 0).
            epilogue.bias =
                bias.iter().zip(&sums).map(|(&b, &s)| (i64::from(b) - a * s) as i32).collect();
            ConvProblem::int8(g.clone(), data, DType::I8, a as i32)
        }
        Lowering::Int16 => ConvProblem::int16(g.clone(), DType::U8, a as i32),
    };
    let plan = ConvPlan::best(&problem, &weights, &epilogue, kernels)
        .with_context(|| format!("planning {} on {backend} ({lowering:?})", layer.name))?;
    let output = vec![0u8; g.output_len()];
    Ok(Prepared { kernel: plan.kernel_name(), plan, input, output, scratch: Scratch::new() })
}
