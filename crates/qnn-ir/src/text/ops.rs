//! The attributes of every op: their names, how they print, how they parse back.

use super::attr::{Ctx, Spanned, fmt_list, fmt_quant, fmt_requant_scale, fmt_usizes};
use super::lexer::Pos;
use super::literal::{fmt_f32, fmt_f64};
use crate::dtype::DType;
use crate::error::IrError;
use crate::ops::{Conv2dAttrs, Op, Pool2dAttrs};

const CONV: [&str; 6] =
    ["strides", "padding", "dilation", "groups", "data_layout", "kernel_layout"];
const POOL: [&str; 5] = ["kernel", "strides", "padding", "dilation", "layout"];

/// Every op name of the text form with its attributes, in printing order.
pub(crate) const OPS: &[(&str, &[&str])] = &[
    ("qnn.quantize", &["output", "out_dtype"]),
    ("qnn.dequantize", &["input"]),
    ("qnn.requantize", &["input", "output", "rounding", "out_dtype"]),
    ("qnn.conv2d", &[CONV[0], CONV[1], CONV[2], CONV[3], CONV[4], CONV[5], "input", "kernel"]),
    (
        "qnn.conv2d_transpose",
        &["strides", "padding", "output_padding", "dilation", "groups", "input", "kernel"],
    ),
    ("qnn.dense", &["input", "kernel"]),
    ("qnn.add", &["lhs", "rhs", "output", "rounding", "out_dtype"]),
    ("qnn.mul", &["lhs", "rhs", "output", "rounding", "out_dtype"]),
    ("qnn.concatenate", &["inputs", "output", "axis", "rounding", "out_dtype"]),
    (
        "qnn.avg_pool2d",
        &[
            POOL[0],
            POOL[1],
            POOL[2],
            POOL[3],
            POOL[4],
            "count_include_pad",
            "input",
            "output",
            "rounding",
            "out_dtype",
        ],
    ),
    ("qnn.global_avg_pool2d", &["layout", "input", "output", "rounding", "out_dtype"]),
    ("qnn.max_pool2d", &POOL),
    ("qnn.clip", &["min", "max", "q"]),
    ("qnn.relu", &["q"]),
    ("conv2d", &[CONV[0], CONV[1], CONV[2], CONV[3], CONV[4], CONV[5], "pad_value"]),
    ("dense", &[]),
    ("matmul", &[]),
    ("softmax", &["axis"]),
    ("lookup", &[]),
    ("cast", &["to"]),
    ("add", &[]),
    ("subtract", &[]),
    ("multiply", &[]),
    ("divide", &[]),
    ("round", &[]),
    ("fma", &[]),
    ("sum", &["axes", "keepdims"]),
    ("pool2d", &["kind", POOL[0], POOL[1], POOL[2], POOL[3], POOL[4], "pad_value"]),
    ("pad", &["pads", "value"]),
    ("clip", &["min", "max"]),
    ("requantize", &["scale", "axes", "input_zero_point", "output_zero_point", "out_dtype"]),
    ("reshape", &["shape"]),
    ("dilate", &["strides", "crop", "value", "layout"]),
    ("transpose", &["perm"]),
    ("slice", &["starts", "steps", "sizes"]),
    ("concatenate", &["axis"]),
    (
        "resize",
        &[
            "mode",
            "coordinate",
            "nearest_mode",
            "sizes",
            "scales",
            "roi",
            "axes",
            "cubic_coeff_a",
            "exclude_outside",
            "extrapolation_value",
        ],
    ),
];

fn conv_attrs(c: &Conv2dAttrs) -> Vec<(&'static str, String)> {
    vec![
        ("strides", fmt_usizes(&c.strides)),
        ("padding", fmt_usizes(&c.padding)),
        ("dilation", fmt_usizes(&c.dilation)),
        ("groups", c.groups.to_string()),
        ("data_layout", c.data_layout.to_string()),
        ("kernel_layout", c.kernel_layout.to_string()),
    ]
}

fn pool_attrs(p: &Pool2dAttrs) -> Vec<(&'static str, String)> {
    vec![
        ("kernel", fmt_usizes(&p.kernel)),
        ("strides", fmt_usizes(&p.strides)),
        ("padding", fmt_usizes(&p.padding)),
        ("dilation", fmt_usizes(&p.dilation)),
        ("layout", p.layout.to_string()),
    ]
}

/// The attributes of `op` as `(name, printed value)`, in the order of [`OPS`].
pub(crate) fn op_attrs(op: &Op) -> Vec<(&'static str, String)> {
    let q = fmt_quant;
    let dt = |d: &DType| d.to_string();
    match op {
        Op::QnnQuantize { output, out_dtype } => {
            vec![("output", q(output)), ("out_dtype", dt(out_dtype))]
        }
        Op::QnnDequantize { input } => vec![("input", q(input))],
        Op::QnnRequantize { input, output, rounding, out_dtype } => vec![
            ("input", q(input)),
            ("output", q(output)),
            ("rounding", rounding.to_string()),
            ("out_dtype", dt(out_dtype)),
        ],
        Op::QnnConv2d { conv, input, kernel } => {
            let mut v = conv_attrs(conv);
            v.extend([("input", q(input)), ("kernel", q(kernel))]);
            v
        }
        Op::QnnConv2dTranspose { conv, input, kernel } => vec![
            ("strides", fmt_usizes(&conv.strides)),
            ("padding", fmt_usizes(&conv.padding)),
            ("output_padding", fmt_usizes(&conv.output_padding)),
            ("dilation", fmt_usizes(&conv.dilation)),
            ("groups", conv.groups.to_string()),
            ("input", q(input)),
            ("kernel", q(kernel)),
        ],
        Op::QnnDense { input, kernel } => vec![("input", q(input)), ("kernel", q(kernel))],
        Op::QnnAdd { lhs, rhs, output, rounding, out_dtype }
        | Op::QnnMul { lhs, rhs, output, rounding, out_dtype } => vec![
            ("lhs", q(lhs)),
            ("rhs", q(rhs)),
            ("output", q(output)),
            ("rounding", rounding.to_string()),
            ("out_dtype", dt(out_dtype)),
        ],
        Op::QnnConcatenate { inputs, output, axis, rounding, out_dtype } => vec![
            ("inputs", fmt_list(inputs, q)),
            ("output", q(output)),
            ("axis", axis.to_string()),
            ("rounding", rounding.to_string()),
            ("out_dtype", dt(out_dtype)),
        ],
        Op::QnnAvgPool2d { pool, count_include_pad, input, output, rounding, out_dtype } => {
            let mut v = pool_attrs(pool);
            v.extend([
                ("count_include_pad", count_include_pad.to_string()),
                ("input", q(input)),
                ("output", q(output)),
                ("rounding", rounding.to_string()),
                ("out_dtype", dt(out_dtype)),
            ]);
            v
        }
        Op::QnnGlobalAvgPool2d { layout, input, output, rounding, out_dtype } => vec![
            ("layout", layout.to_string()),
            ("input", q(input)),
            ("output", q(output)),
            ("rounding", rounding.to_string()),
            ("out_dtype", dt(out_dtype)),
        ],
        Op::QnnMaxPool2d { pool } => pool_attrs(pool),
        Op::QnnClip { min, max, q: params } => {
            vec![("min", fmt_f32(*min)), ("max", fmt_f32(*max)), ("q", q(params))]
        }
        Op::QnnRelu { q: params } => vec![("q", q(params))],
        Op::Conv2d { conv, pad_value } => {
            let mut v = conv_attrs(conv);
            v.push(("pad_value", pad_value.to_string()));
            v
        }
        Op::Dense
        | Op::MatMul
        | Op::Lookup
        | Op::Add
        | Op::Subtract
        | Op::Multiply
        | Op::Divide
        | Op::Round
        | Op::Fma => vec![],
        Op::Softmax { axis } => vec![("axis", axis.to_string())],
        Op::Cast { to } => vec![("to", dt(to))],
        Op::Sum { axes, keepdims } => {
            vec![("axes", fmt_usizes(axes)), ("keepdims", keepdims.to_string())]
        }
        Op::Pool2d { kind, pool, pad_value } => {
            let mut v = vec![("kind", kind.to_string())];
            v.extend(pool_attrs(pool));
            v.push(("pad_value", pad_value.to_string()));
            v
        }
        Op::Dilate { dilate: d } => vec![
            ("strides", fmt_usizes(&d.strides)),
            ("crop", fmt_usizes(&d.crop)),
            ("value", d.value.to_string()),
            ("layout", d.layout.to_string()),
        ],
        Op::Pad { pads, value } => {
            vec![("pads", fmt_list(pads, |p| fmt_usizes(p))), ("value", fmt_f64(*value))]
        }
        Op::Clip { min, max } => vec![("min", fmt_f64(*min)), ("max", fmt_f64(*max))],
        Op::Requantize { scale, axes, input_zero_point, output_zero_point, out_dtype } => vec![
            ("scale", fmt_requant_scale(scale)),
            ("axes", fmt_usizes(axes)),
            ("input_zero_point", input_zero_point.to_string()),
            ("output_zero_point", output_zero_point.to_string()),
            ("out_dtype", dt(out_dtype)),
        ],
        Op::Reshape { shape } => vec![("shape", fmt_usizes(shape))],
        Op::Transpose { perm } => vec![("perm", fmt_usizes(perm))],
        Op::Slice { starts, steps, sizes } => vec![
            ("starts", fmt_usizes(starts)),
            ("steps", fmt_list(steps, i64::to_string)),
            ("sizes", fmt_usizes(sizes)),
        ],
        Op::Concatenate { axis } => vec![("axis", axis.to_string())],
        Op::Resize { resize: r } => {
            let floats = |v: &[f32]| fmt_list(v, |x| fmt_f32(*x));
            vec![
                ("mode", r.mode.to_string()),
                ("coordinate", r.coordinate.to_string()),
                ("nearest_mode", r.nearest.to_string()),
                ("sizes", fmt_usizes(&r.sizes)),
                ("scales", floats(&r.scales)),
                ("roi", floats(&r.roi)),
                ("axes", fmt_usizes(&r.axes)),
                ("cubic_coeff_a", fmt_f32(r.cubic_coeff_a)),
                ("exclude_outside", r.exclude_outside.to_string()),
                ("extrapolation_value", fmt_f32(r.extrapolation_value)),
            ]
        }
    }
}

/// The attribute block of one node, as parsed: `(name, position of the name, value)`.
#[derive(Debug)]
pub(crate) struct Attrs<'a> {
    /// The op and node, as errors name them: "qnn.conv2d `conv1`".
    pub op: &'a str,
    /// Position of the op name, where a missing attribute is reported.
    pub pos: Pos,
    pub entries: &'a [(String, Pos, Spanned)],
}

impl Attrs<'_> {
    fn with<T>(
        &self,
        key: &'static str,
        f: impl Fn(&Spanned, Ctx<'_>) -> Result<T, IrError>,
    ) -> Result<T, IrError> {
        let (_, _, v) = self
            .entries
            .iter()
            .find(|(k, _, _)| k == key)
            .ok_or_else(|| self.pos.error(format!("{}: missing attribute `{key}`", self.op)))?;
        f(v, Ctx { op: self.op, attr: key })
    }

    fn conv(&self) -> Result<Conv2dAttrs, IrError> {
        Ok(Conv2dAttrs {
            strides: self.with("strides", Spanned::usizes)?,
            padding: self.with("padding", Spanned::usizes)?,
            dilation: self.with("dilation", Spanned::usizes)?,
            groups: self.with("groups", Spanned::usize)?,
            data_layout: self.with("data_layout", Spanned::named)?,
            kernel_layout: self.with("kernel_layout", Spanned::named)?,
        })
    }

    fn pool(&self) -> Result<Pool2dAttrs, IrError> {
        Ok(Pool2dAttrs {
            kernel: self.with("kernel", Spanned::usizes)?,
            strides: self.with("strides", Spanned::usizes)?,
            padding: self.with("padding", Spanned::usizes)?,
            dilation: self.with("dilation", Spanned::usizes)?,
            layout: self.with("layout", Spanned::named)?,
        })
    }
}

/// Builds op `name` from its attributes. `name_pos` is where the op name stands.
/// Unknown ops and unknown attributes are errors that list what is known.
pub(crate) fn build_op(name: &str, a: &Attrs<'_>) -> Result<Op, IrError> {
    let Some((_, known)) = OPS.iter().find(|(n, _)| *n == name) else {
        let names: Vec<&str> = OPS.iter().map(|(n, _)| *n).collect();
        return Err(a.pos.error(format!("unknown op `{name}` (known: {})", names.join(", "))));
    };
    for (key, pos, _) in a.entries {
        if !known.contains(&key.as_str()) {
            let list = if known.is_empty() { "none".to_string() } else { known.join(", ") };
            return Err(
                pos.error(format!("{}: unknown attribute `{key}` (its attributes: {list})", a.op))
            );
        }
    }
    let q = Spanned::quant;
    let dtype = Spanned::named::<DType>;
    Ok(match name {
        "qnn.quantize" => {
            Op::QnnQuantize { output: a.with("output", q)?, out_dtype: a.with("out_dtype", dtype)? }
        }
        "qnn.dequantize" => Op::QnnDequantize { input: a.with("input", q)? },
        "qnn.requantize" => Op::QnnRequantize {
            input: a.with("input", q)?,
            output: a.with("output", q)?,
            rounding: a.with("rounding", Spanned::named)?,
            out_dtype: a.with("out_dtype", dtype)?,
        },
        "qnn.conv2d" => Op::QnnConv2d {
            conv: a.conv()?,
            input: a.with("input", q)?,
            kernel: a.with("kernel", q)?,
        },
        "qnn.conv2d_transpose" => Op::QnnConv2dTranspose {
            conv: crate::ops::ConvTranspose2dAttrs {
                strides: a.with("strides", Spanned::usizes)?,
                padding: a.with("padding", Spanned::usizes)?,
                output_padding: a.with("output_padding", Spanned::usizes)?,
                dilation: a.with("dilation", Spanned::usizes)?,
                groups: a.with("groups", Spanned::usize)?,
            },
            input: a.with("input", q)?,
            kernel: a.with("kernel", q)?,
        },
        "dilate" => Op::Dilate {
            dilate: crate::ops::DilateAttrs {
                strides: a.with("strides", Spanned::usizes)?,
                crop: a.with("crop", Spanned::usizes)?,
                value: a.with("value", Spanned::i32)?,
                layout: a.with("layout", Spanned::named)?,
            },
        },
        "qnn.dense" => Op::QnnDense { input: a.with("input", q)?, kernel: a.with("kernel", q)? },
        "qnn.add" | "qnn.mul" => {
            let (lhs, rhs, output) = (a.with("lhs", q)?, a.with("rhs", q)?, a.with("output", q)?);
            let rounding = a.with("rounding", Spanned::named)?;
            let out_dtype = a.with("out_dtype", dtype)?;
            if name == "qnn.add" {
                Op::QnnAdd { lhs, rhs, output, rounding, out_dtype }
            } else {
                Op::QnnMul { lhs, rhs, output, rounding, out_dtype }
            }
        }
        "qnn.concatenate" => Op::QnnConcatenate {
            inputs: a.with("inputs", |s, cx| s.list(cx, Spanned::quant))?,
            output: a.with("output", q)?,
            axis: a.with("axis", Spanned::usize)?,
            rounding: a.with("rounding", Spanned::named)?,
            out_dtype: a.with("out_dtype", dtype)?,
        },
        "qnn.avg_pool2d" => Op::QnnAvgPool2d {
            pool: a.pool()?,
            count_include_pad: a.with("count_include_pad", Spanned::bool)?,
            input: a.with("input", q)?,
            output: a.with("output", q)?,
            rounding: a.with("rounding", Spanned::named)?,
            out_dtype: a.with("out_dtype", dtype)?,
        },
        "qnn.global_avg_pool2d" => Op::QnnGlobalAvgPool2d {
            layout: a.with("layout", Spanned::named)?,
            input: a.with("input", q)?,
            output: a.with("output", q)?,
            rounding: a.with("rounding", Spanned::named)?,
            out_dtype: a.with("out_dtype", dtype)?,
        },
        "qnn.max_pool2d" => Op::QnnMaxPool2d { pool: a.pool()? },
        "qnn.clip" => Op::QnnClip {
            min: a.with("min", Spanned::f32)?,
            max: a.with("max", Spanned::f32)?,
            q: a.with("q", q)?,
        },
        "qnn.relu" => Op::QnnRelu { q: a.with("q", q)? },
        "conv2d" => Op::Conv2d { conv: a.conv()?, pad_value: a.with("pad_value", Spanned::i32)? },
        "dense" => Op::Dense,
        "matmul" => Op::MatMul,
        "softmax" => Op::Softmax { axis: a.with("axis", Spanned::usize)? },
        "lookup" => Op::Lookup,
        "cast" => Op::Cast { to: a.with("to", dtype)? },
        "add" => Op::Add,
        "subtract" => Op::Subtract,
        "multiply" => Op::Multiply,
        "divide" => Op::Divide,
        "round" => Op::Round,
        "fma" => Op::Fma,
        "sum" => Op::Sum {
            axes: a.with("axes", |s, cx| s.list(cx, Spanned::usize))?,
            keepdims: a.with("keepdims", Spanned::bool)?,
        },
        "pool2d" => Op::Pool2d {
            kind: a.with("kind", Spanned::named)?,
            pool: a.pool()?,
            pad_value: a.with("pad_value", Spanned::i32)?,
        },
        "pad" => Op::Pad {
            pads: a.with("pads", |s, cx| s.list(cx, Spanned::usizes))?,
            value: a.with("value", Spanned::f64)?,
        },
        "clip" => Op::Clip { min: a.with("min", Spanned::f64)?, max: a.with("max", Spanned::f64)? },
        "requantize" => Op::Requantize {
            scale: a.with("scale", Spanned::requant_scale)?,
            axes: a.with("axes", |s, cx| s.list(cx, Spanned::usize))?,
            input_zero_point: a.with("input_zero_point", Spanned::i32)?,
            output_zero_point: a.with("output_zero_point", Spanned::i32)?,
            out_dtype: a.with("out_dtype", dtype)?,
        },
        "reshape" => Op::Reshape { shape: a.with("shape", |s, cx| s.list(cx, Spanned::usize))? },
        "transpose" => Op::Transpose { perm: a.with("perm", |s, cx| s.list(cx, Spanned::usize))? },
        "slice" => Op::Slice {
            starts: a.with("starts", |s, cx| s.list(cx, Spanned::usize))?,
            steps: a.with("steps", |s, cx| s.list(cx, Spanned::i64))?,
            sizes: a.with("sizes", |s, cx| s.list(cx, Spanned::usize))?,
        },
        "concatenate" => Op::Concatenate { axis: a.with("axis", Spanned::usize)? },
        "resize" => Op::Resize {
            resize: crate::ops::ResizeAttrs {
                mode: a.with("mode", Spanned::named)?,
                coordinate: a.with("coordinate", Spanned::named)?,
                nearest: a.with("nearest_mode", Spanned::named)?,
                sizes: a.with("sizes", |s, cx| s.list(cx, Spanned::usize))?,
                scales: a.with("scales", |s, cx| s.list(cx, Spanned::f32))?,
                roi: a.with("roi", |s, cx| s.list(cx, Spanned::f32))?,
                axes: a.with("axes", |s, cx| s.list(cx, Spanned::usize))?,
                cubic_coeff_a: a.with("cubic_coeff_a", Spanned::f32)?,
                exclude_outside: a.with("exclude_outside", Spanned::bool)?,
                extrapolation_value: a.with("extrapolation_value", Spanned::f32)?,
            },
        },
        other => {
            // OPS and this match list the same names; a test checks it.
            return Err(a.pos.error(format!("unknown op `{other}`")));
        }
    })
}
