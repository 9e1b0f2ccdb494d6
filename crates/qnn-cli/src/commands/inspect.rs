//! `qnn inspect`: what a model is made of — inputs and outputs, and per ONNX node the QNN ops
//! it became with their shapes, dtypes, quantization parameters and MACs.

use std::collections::HashMap;

use anyhow::Result;
use qnn_ir::{Graph, Node, Op, QuantParams};
use qnn_onnx::{Form, NodeSummary};
use serde_json::{Value, json};

use crate::cli::InspectArgs;
use crate::load::{self, Loaded, Source, describe};
use crate::out::outln;

fn form_name(f: Form) -> &'static str {
    match f {
        Form::QOperator => "qoperator",
        Form::Qdq => "qdq",
        Form::Conversion => "conversion",
        Form::Float => "float",
        Form::Shape => "shape",
        Form::Folded => "folded",
    }
}

/// The quantization parameters an op carries, by role.
fn quant_of(op: &Op) -> Vec<(String, &QuantParams)> {
    match op {
        Op::QnnQuantize { output, .. } => vec![("output".into(), output)],
        Op::QnnDequantize { input } => vec![("input".into(), input)],
        Op::QnnRequantize { input, output, .. } => {
            vec![("input".into(), input), ("output".into(), output)]
        }
        Op::QnnConv2d { input, kernel, .. } | Op::QnnDense { input, kernel } => {
            vec![("data".into(), input), ("weights".into(), kernel)]
        }
        Op::QnnAdd { lhs, rhs, output, .. } | Op::QnnMul { lhs, rhs, output, .. } => {
            vec![("a".into(), lhs), ("b".into(), rhs), ("output".into(), output)]
        }
        Op::QnnConcatenate { inputs, output, .. } => {
            let mut v: Vec<(String, &QuantParams)> =
                inputs.iter().enumerate().map(|(i, q)| (format!("input {i}"), q)).collect();
            v.push(("output".into(), output));
            v
        }
        Op::QnnAvgPool2d { input, output, .. } | Op::QnnGlobalAvgPool2d { input, output, .. } => {
            vec![("input".into(), input), ("output".into(), output)]
        }
        Op::QnnClip { q, .. } | Op::QnnRelu { q } => vec![("q".into(), q)],
        _ => Vec::new(),
    }
}

fn window(
    kernel: [usize; 2],
    strides: [usize; 2],
    padding: [usize; 4],
    dilation: [usize; 2],
) -> String {
    let mut s = format!("{}×{}", kernel[0], kernel[1]);
    if strides != [1, 1] {
        s.push_str(&format!(" stride {}×{}", strides[0], strides[1]));
    }
    if padding != [0; 4] {
        s.push_str(&format!(" pad {padding:?}"));
    }
    if dilation != [1, 1] {
        s.push_str(&format!(" dilation {}×{}", dilation[0], dilation[1]));
    }
    s
}

/// The op's attributes in a few words (window, groups, axis, target dtype).
fn attrs_of(g: &Graph, n: &Node) -> String {
    match &n.op {
        Op::QnnConv2d { conv, .. } | Op::Conv2d { conv, .. } => {
            let w = n.inputs.get(1).map(|&v| g.ty(v).shape.clone()).unwrap_or_default();
            let [_, _, kh, kw] = conv.kernel_layout.oihw(&w);
            let mut s = window([kh, kw], conv.strides, conv.padding, conv.dilation);
            if conv.groups > 1 {
                let c = n.inputs.first().map(|&v| conv.data_layout.nchw(&g.ty(v).shape)[1]);
                let dw = if c == Some(conv.groups) { ", depthwise" } else { "" };
                s.push_str(&format!(" groups {}{dw}", conv.groups));
            }
            s
        }
        Op::QnnAvgPool2d { pool, count_include_pad, .. } => {
            let w = window(pool.kernel, pool.strides, pool.padding, pool.dilation);
            if *count_include_pad { format!("{w} (padding counted)") } else { w }
        }
        Op::QnnMaxPool2d { pool } | Op::Pool2d { pool, .. } => {
            window(pool.kernel, pool.strides, pool.padding, pool.dilation)
        }
        Op::QnnConcatenate { axis, .. } | Op::Concatenate { axis } => format!("axis {axis}"),
        Op::QnnClip { min, max, .. } => format!("[{min}, {max}]"),
        Op::Cast { to } => format!("to {to}"),
        Op::Transpose { perm } => format!("perm {perm:?}"),
        Op::Softmax { axis } => format!("axis {axis}"),
        _ => String::new(),
    }
}

/// `s=0.0235 zp=128`, or a per-axis summary (every value with `all`).
fn quant_text(q: &QuantParams, all: bool) -> String {
    if q.is_per_tensor() {
        return format!("s={} zp={}", q.scale[0], q.zero_point[0]);
    }
    let axis = q.axis.map_or(String::new(), |a| format!(" axis {a}"));
    if all {
        return format!("per-axis{axis}: s={:?} zp={:?}", q.scale, q.zero_point);
    }
    let (lo, hi) = q.scale.iter().fold((f32::MAX, f32::MIN), |(l, h), &s| (l.min(s), h.max(s)));
    let zp = match (q.zero_point.iter().min(), q.zero_point.iter().max()) {
        (Some(a), Some(b)) if a == b => format!("zp={a}"),
        (Some(a), Some(b)) => format!("zp∈[{a}, {b}]"),
        _ => "zp=?".into(),
    };
    format!("per-axis{axis} ({}): s∈[{lo}, {hi}] {zp}", q.channels())
}

fn quant_json(q: &QuantParams) -> Value {
    json!({ "scale": q.scale, "zero_point": q.zero_point, "axis": q.axis })
}

fn human(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.2}M", n as f64 / 1e6),
        _ => format!("{:.3}G", n as f64 / 1e9),
    }
}

/// The qnn nodes of one ONNX node summary.
fn qnn_nodes<'g>(g: &'g Graph, by_name: &HashMap<&str, usize>, s: &NodeSummary) -> Vec<&'g Node> {
    s.qnn_nodes.iter().filter_map(|v| by_name.get(v.as_str())).map(|&i| &g.nodes[i]).collect()
}

pub fn run(args: &InspectArgs) -> Result<()> {
    let l = load::load(&args.model, false)?;
    let g = &l.imported.graph;
    let by_name: HashMap<&str, usize> =
        g.nodes.iter().enumerate().map(|(i, n)| (g.value(n.output).name.as_str(), i)).collect();
    let total: u64 = l.imported.nodes.iter().map(|s| s.macs).sum();
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&as_json(&l, &by_name, total)?)?);
        return Ok(());
    }
    let source = l.model()?;
    outln!("model    {}", l.path.display());
    match source {
        Source::Onnx(m) => {
            let ms = m.ms_opset.map(|v| format!(", com.microsoft {v}")).unwrap_or_default();
            let producer = m.producer();
            outln!(
                "format   ONNX ir {}, opset {}{ms}{}",
                m.ir_version,
                m.opset,
                if producer.is_empty() { String::new() } else { format!(", producer {producer}") }
            );
            outln!(
                "graph    `{}`: {} ONNX nodes → {} qnn nodes, {} MACs",
                m.graph_name(),
                m.node_count(),
                g.nodes.len(),
                human(total)
            );
        }
        Source::Tflite(m) => {
            let by = m.description().map(|d| format!(", {d}")).unwrap_or_default();
            outln!("format   TensorFlow Lite (schema 3{by}), LiteRT's builtin kernels' arithmetic");
            outln!(
                "graph    `{}`: {} TFLite operators → {} qnn nodes, {} MACs",
                g.name,
                l.imported.nodes.len(),
                g.nodes.len(),
                human(total)
            );
        }
    }
    outln!("inputs");
    for i in &l.imported.inputs {
        outln!("  {}", describe(i));
    }
    outln!("outputs");
    for o in &l.imported.outputs {
        outln!("  {}", describe(o));
    }
    let kind = match source {
        Source::Onnx(_) => "ONNX node",
        Source::Tflite(_) => "TFLite operator",
    };
    outln!("nodes ({kind}: how it was imported → the qnn ops it became)");
    for (k, s) in l.imported.nodes.iter().enumerate() {
        let fused =
            if s.fused.is_empty() { String::new() } else { format!(" + {}", s.fused.join(", ")) };
        let macs = if s.macs > 0 { format!("  {} MACs", human(s.macs)) } else { String::new() };
        outln!("  [{k}] {} {}{fused} ({}){macs}", s.op_type, s.name, form_name(s.form));
        for n in qnn_nodes(g, &by_name, s) {
            let input = n.inputs.first().map(|&v| g.ty(v).to_string()).unwrap_or_default();
            let attrs = attrs_of(g, n);
            let attrs = if attrs.is_empty() { String::new() } else { format!("  {attrs}") };
            outln!("      {:<22} {input} → {}{attrs}", n.op.name(), g.ty(n.output));
            for (role, q) in quant_of(&n.op) {
                outln!("      {:<22}   {role}: {}", "", quant_text(q, args.all_params));
            }
        }
    }
    outln!("total    {total} MACs ({})", human(total));
    Ok(())
}

fn as_json(l: &Loaded, by_name: &HashMap<&str, usize>, total: u64) -> Result<Value> {
    let g = &l.imported.graph;
    let io = |v: &[qnn_onnx::IoInfo]| -> Vec<Value> {
        v.iter()
            .map(|i| {
                json!({ "name": i.name, "type": i.elem_type.name(),
                        "shape": i.fixed_shape() })
            })
            .collect()
    };
    let nodes: Vec<Value> = l
        .imported
        .nodes
        .iter()
        .map(|s| {
            let qnn: Vec<Value> = qnn_nodes(g, by_name, s)
                .into_iter()
                .map(|n| {
                    let quant: serde_json::Map<String, Value> =
                        quant_of(&n.op).into_iter().map(|(r, q)| (r, quant_json(q))).collect();
                    json!({
                        "name": g.value(n.output).name,
                        "op": n.op.name(),
                        "attrs": attrs_of(g, n),
                        "inputs": n.inputs.iter().map(|&v| g.ty(v).to_string()).collect::<Vec<_>>(),
                        "output": g.ty(n.output).to_string(),
                        "quant": quant,
                    })
                })
                .collect();
            json!({ "name": s.name, "op_type": s.op_type, "form": form_name(s.form),
                    "fused": s.fused, "macs": s.macs, "qnn": qnn })
        })
        .collect();
    let (format, opset, ms_opset, producer) = match l.model()? {
        Source::Onnx(m) => ("onnx", Some(m.opset), m.ms_opset, m.producer()),
        Source::Tflite(_) => ("tflite", None, None, String::new()),
    };
    Ok(json!({
        "model": l.path.display().to_string(),
        "format": format,
        "opset": opset,
        "ms_opset": ms_opset,
        "producer": producer,
        "inputs": io(&l.imported.inputs),
        "outputs": io(&l.imported.outputs),
        "nodes": nodes,
        "macs": total,
    }))
}
