//! Structure-aware mutation of ONNX models: a valid seed model is decoded, the fuzzer's bytes
//! choose edits of its fields (attributes, dimensions, element types, tensor data, wiring,
//! op types, opsets, declared shapes), and the result is encoded again. Byte-level mutation
//! almost never gets past the protobuf decoder with a model the importer reads this deeply.

use arbitrary::{Result, Unstructured};
use qnn_onnx::proto::{
    AttributeProto, Dimension, GraphProto, ModelProto, NodeProto, TensorProto, TensorShapeProto,
    TypeProto, TypeProtoTensor, ValueInfoProto,
};

/// Integers that sit on the edges of what the importer checks.
const EDGE_INTS: &[i64] = &[
    i64::MIN,
    i64::MIN + 1,
    -(1 << 32),
    -(1 << 31) - 1,
    -129,
    -128,
    -2,
    -1,
    0,
    1,
    2,
    3,
    4,
    127,
    128,
    255,
    256,
    32767,
    65535,
    65536,
    (1 << 31) - 1,
    1 << 31,
    1 << 32,
    1 << 40,
    (1 << 62) + 1,
    i64::MAX,
];

const EDGE_FLOATS: &[f32] = &[
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    1e-30,
    1e30,
    f32::MIN_POSITIVE,
    f32::MAX,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
];

/// Op types the importer knows (and a few it does not), to turn one op into another.
const OP_TYPES: &[&str] = &[
    "QuantizeLinear",
    "DequantizeLinear",
    "QLinearConv",
    "ConvInteger",
    "QLinearMatMul",
    "MatMulInteger",
    "QLinearAdd",
    "QLinearMul",
    "QLinearConcat",
    "QGemm",
    "QLinearGlobalAveragePool",
    "QLinearAveragePool",
    "QLinearLeakyRelu",
    "QLinearSigmoid",
    "Conv",
    "MatMul",
    "Gemm",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Relu",
    "Clip",
    "LeakyRelu",
    "Sigmoid",
    "Softmax",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "Pad",
    "Reshape",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
    "Transpose",
    "Concat",
    "Gather",
    "Shape",
    "Cast",
    "Identity",
    "Dropout",
    "Constant",
    "Expand",
    "Tile",
    "ConvTranspose",
    "LRN",
];

const DOMAINS: &[&str] = &["", "ai.onnx", "com.microsoft", "com.example"];

const ATTR_NAMES: &[&str] = &[
    "axis",
    "axes",
    "pads",
    "strides",
    "dilations",
    "group",
    "kernel_shape",
    "auto_pad",
    "perm",
    "transA",
    "transB",
    "alpha",
    "beta",
    "to",
    "allowzero",
    "ceil_mode",
    "count_include_pad",
    "channels_last",
    "mode",
    "start",
    "end",
    "value",
    "value_int",
    "value_ints",
    "value_float",
    "value_floats",
    "min",
    "max",
    "block_size",
    "saturate",
    "output_dtype",
    "storage_order",
];

const STRINGS: &[&[u8]] =
    &[b"NOTSET", b"SAME_UPPER", b"SAME_LOWER", b"VALID", b"constant", b"reflect", b"edge", b""];

/// ONNX element types: the supported ones, unsupported ones and invalid numbers.
const ELEM_TYPES: &[i32] = &[1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 16, 17, 21, 22, 0, -1, 99];

fn int(u: &mut Unstructured<'_>) -> Result<i64> {
    if u.ratio(3, 4)? { Ok(*u.choose(EDGE_INTS)?) } else { u.arbitrary() }
}

fn small_int(u: &mut Unstructured<'_>) -> Result<i64> {
    if u.ratio(1, 5)? { int(u) } else { u.int_in_range(-3..=9) }
}

fn float(u: &mut Unstructured<'_>) -> Result<f32> {
    if u.ratio(3, 4)? { Ok(*u.choose(EDGE_FLOATS)?) } else { u.arbitrary() }
}

fn ints(u: &mut Unstructured<'_>) -> Result<Vec<i64>> {
    let n = u.int_in_range(0..=6)?;
    (0..n).map(|_| small_int(u)).collect()
}

/// A value name already used by the graph (or a fresh or empty one).
fn some_name(u: &mut Unstructured<'_>, g: &GraphProto) -> Result<String> {
    let mut names: Vec<&str> =
        g.node.iter().flat_map(|n| n.output.iter().map(String::as_str)).collect();
    names.extend(g.initializer.iter().map(|t| t.name.as_str()));
    names.extend(g.input.iter().map(|v| v.name.as_str()));
    if names.is_empty() || u.ratio(1, 10)? {
        return Ok(if u.arbitrary()? { String::new() } else { "fresh".into() });
    }
    Ok(u.choose(&names)?.to_string())
}

fn attribute(u: &mut Unstructured<'_>, name: &str) -> Result<AttributeProto> {
    let mut a = AttributeProto { name: name.into(), ..AttributeProto::default() };
    match u.int_in_range(0..=5)? {
        0 => (a.r#type, a.i) = (2, small_int(u)?),
        1 => (a.r#type, a.ints) = (7, ints(u)?),
        2 => (a.r#type, a.f) = (1, float(u)?),
        3 => (a.r#type, a.s) = (3, u.choose(STRINGS)?.to_vec()),
        4 => (a.r#type, a.t) = (4, Some(tensor(u, "attr")?)),
        _ => {
            a.r#type = 6;
            let n = u.int_in_range(0..=4)?;
            a.floats = (0..n).map(|_| float(u)).collect::<Result<_>>()?;
        }
    }
    if u.ratio(1, 16)? {
        a.r#type = u.int_in_range(-1..=15)?;
    }
    Ok(a)
}

/// A small tensor with a chosen type, shape and data (consistent or not).
fn tensor(u: &mut Unstructured<'_>, name: &str) -> Result<TensorProto> {
    let rank = u.int_in_range(0..=4)?;
    let dims: Vec<i64> = (0..rank).map(|_| small_int(u)).collect::<Result<_>>()?;
    let mut t = TensorProto {
        name: name.into(),
        dims,
        data_type: *u.choose(ELEM_TYPES)?,
        ..TensorProto::default()
    };
    let n = u.int_in_range(0..=64usize)?;
    match u.int_in_range(0..=3)? {
        0 => t.raw_data = u.bytes(n.min(u.len()))?.to_vec(),
        1 => {
            t.int32_data = (0..n).map(|_| small_int(u).map(|v| v as i32)).collect::<Result<_>>()?
        }
        2 => t.int64_data = (0..n).map(|_| small_int(u)).collect::<Result<_>>()?,
        _ => t.float_data = (0..n).map(|_| float(u)).collect::<Result<_>>()?,
    }
    Ok(t)
}

fn tensor_type(u: &mut Unstructured<'_>) -> Result<Option<TypeProto>> {
    if u.ratio(1, 10)? {
        return Ok(None);
    }
    let shape = if u.ratio(1, 10)? {
        None
    } else {
        let rank = u.int_in_range(0..=5)?;
        let dim = (0..rank)
            .map(|_| {
                Ok(match u.int_in_range(0..=5)? {
                    0 => Dimension { dim_value: None, dim_param: Some("N".into()) },
                    1 => Dimension { dim_value: None, dim_param: None },
                    _ => Dimension { dim_value: Some(small_int(u)?), dim_param: None },
                })
            })
            .collect::<Result<_>>()?;
        Some(TensorShapeProto { dim })
    };
    Ok(Some(TypeProto {
        tensor_type: Some(TypeProtoTensor { elem_type: *u.choose(ELEM_TYPES)?, shape }),
    }))
}

/// Edits one declared value (graph input, output or `value_info`).
fn mutate_value(u: &mut Unstructured<'_>, v: &mut ValueInfoProto) -> Result<()> {
    let Some(t) = v.r#type.as_mut().and_then(|t| t.tensor_type.as_mut()) else {
        v.r#type = tensor_type(u)?;
        return Ok(());
    };
    match (u.int_in_range(0..=3)?, t.shape.as_mut()) {
        (0, _) => t.elem_type = *u.choose(ELEM_TYPES)?,
        (1, Some(s)) if !s.dim.is_empty() => {
            let i = u.choose_index(s.dim.len())?;
            s.dim[i] = Dimension { dim_value: Some(int(u)?), dim_param: None };
        }
        (2, Some(s)) => {
            if u.arbitrary()? || s.dim.is_empty() {
                s.dim.push(Dimension { dim_value: Some(small_int(u)?), dim_param: None });
            } else {
                s.dim.pop();
            }
        }
        _ => v.r#type = tensor_type(u)?,
    }
    Ok(())
}

/// Edits one initializer.
fn mutate_initializer(u: &mut Unstructured<'_>, t: &mut TensorProto) -> Result<()> {
    match u.int_in_range(0..=7)? {
        0 => {
            if t.dims.is_empty() || u.ratio(1, 4)? {
                t.dims =
                    (0..u.int_in_range(0..=4)?).map(|_| small_int(u)).collect::<Result<_>>()?;
            } else {
                let i = u.choose_index(t.dims.len())?;
                t.dims[i] = int(u)?;
            }
        }
        1 => t.data_type = *u.choose(ELEM_TYPES)?,
        2 if !t.raw_data.is_empty() => {
            // Overwrite some bytes of the data (a scale becomes NaN or 0, a zero point 255…).
            for _ in 0..u.int_in_range(1..=4)? {
                let i = u.choose_index(t.raw_data.len())?;
                t.raw_data[i] = u.arbitrary()?;
            }
        }
        3 if !t.raw_data.is_empty() => {
            let keep = u.choose_index(t.raw_data.len() + 1)?;
            t.raw_data.truncate(keep);
        }
        4 => {
            // The same values through a typed field instead of raw_data.
            let raw = std::mem::take(&mut t.raw_data);
            match t.data_type {
                1 => {
                    t.float_data = raw
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect()
                }
                7 => {
                    t.int64_data = raw
                        .chunks_exact(8)
                        .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                        .collect()
                }
                _ => t.int32_data = raw.iter().map(|&b| i32::from(b)).collect(),
            }
        }
        5 if t.data_type == 1 && t.raw_data.len() >= 4 => {
            let f = float(u)?;
            t.raw_data[..4].copy_from_slice(&f.to_le_bytes());
        }
        6 if !t.int64_data.is_empty() => {
            // Shape tensors (Reshape, Pad, Squeeze axes…) are INT64 in the typed field.
            let i = u.choose_index(t.int64_data.len())?;
            t.int64_data[i] = small_int(u)?;
        }
        6 if !t.int32_data.is_empty() => {
            let i = u.choose_index(t.int32_data.len())?;
            t.int32_data[i] = small_int(u)? as i32;
        }
        6 => t.data_location = 1,
        _ => *t = TensorProto { name: std::mem::take(&mut t.name), ..tensor(u, "")? },
    }
    Ok(())
}

/// Edits one node.
fn mutate_node(u: &mut Unstructured<'_>, g: &GraphProto, n: &mut NodeProto) -> Result<()> {
    match u.int_in_range(0..=9)? {
        0 | 1 if !n.attribute.is_empty() => {
            // Change the value of an existing attribute, keeping its name.
            let i = u.choose_index(n.attribute.len())?;
            let name = n.attribute[i].name.clone();
            let a = &mut n.attribute[i];
            match a.r#type {
                2 => a.i = int(u)?,
                7 if !a.ints.is_empty() && u.arbitrary()? => {
                    let j = u.choose_index(a.ints.len())?;
                    a.ints[j] = int(u)?;
                }
                7 => a.ints = ints(u)?,
                1 => a.f = float(u)?,
                _ => n.attribute[i] = attribute(u, &name)?,
            }
        }
        2 => {
            let name = *u.choose(ATTR_NAMES)?;
            let a = attribute(u, name)?;
            n.attribute.push(a);
        }
        3 if !n.attribute.is_empty() => {
            let i = u.choose_index(n.attribute.len())?;
            n.attribute.remove(i);
        }
        4 if !n.input.is_empty() => {
            let i = u.choose_index(n.input.len())?;
            n.input[i] = some_name(u, g)?;
        }
        5 => {
            if n.input.is_empty() || u.arbitrary()? {
                n.input.push(some_name(u, g)?);
            } else {
                n.input.pop();
            }
        }
        6 => n.op_type = u.choose(OP_TYPES)?.to_string(),
        7 => n.domain = u.choose(DOMAINS)?.to_string(),
        8 if !n.output.is_empty() => {
            let i = u.choose_index(n.output.len())?;
            n.output[i] = some_name(u, g)?;
        }
        _ => {
            if u.arbitrary()? {
                n.output.push(format!("extra{}", n.output.len()));
            } else {
                n.output.pop();
            }
        }
    }
    Ok(())
}

/// One edit anywhere in the model.
fn mutate_once(u: &mut Unstructured<'_>, m: &mut ModelProto) -> Result<()> {
    let choice = u.int_in_range(0..=13)?;
    if choice == 0 {
        if let Some(o) = m.opset_import.first_mut() {
            o.version = u.int_in_range(8..=23)?;
        }
        return Ok(());
    }
    let Some(g) = m.graph.as_mut() else { return Ok(()) };
    match choice {
        1..=4 if !g.node.is_empty() => {
            let i = u.choose_index(g.node.len())?;
            let mut n = std::mem::take(&mut g.node[i]);
            mutate_node(u, g, &mut n)?;
            g.node[i] = n;
        }
        5 | 6 if !g.initializer.is_empty() => {
            let i = u.choose_index(g.initializer.len())?;
            mutate_initializer(u, &mut g.initializer[i])?;
        }
        7 if !g.input.is_empty() => {
            let i = u.choose_index(g.input.len())?;
            mutate_value(u, &mut g.input[i])?;
        }
        8 if !g.output.is_empty() => {
            let i = u.choose_index(g.output.len())?;
            mutate_value(u, &mut g.output[i])?;
        }
        9 if !g.node.is_empty() => {
            let i = u.choose_index(g.node.len())?;
            if u.arbitrary()? {
                g.node.remove(i);
            } else {
                let n = g.node[i].clone();
                g.node.insert(u.choose_index(g.node.len() + 1)?, n);
            }
        }
        10 => {
            // A `Constant` node feeding a new name, then some input rewired to it.
            let name = format!("c{}", g.node.len());
            let attr = *u.choose(&["value", "value_ints", "value_int", "value_floats"])?;
            let value = attribute(u, attr)?;
            let c = NodeProto {
                output: vec![name.clone()],
                op_type: "Constant".into(),
                attribute: vec![value],
                ..NodeProto::default()
            };
            g.node.insert(0, c);
            if g.node.len() > 1 {
                let i = 1 + u.choose_index(g.node.len() - 1)?;
                let n = &mut g.node[i];
                if !n.input.is_empty() {
                    let j = u.choose_index(n.input.len())?;
                    n.input[j] = name;
                }
            }
        }
        11 => {
            let name = some_name(u, g)?;
            let t = tensor(u, &name)?;
            g.initializer.push(t);
        }
        12 => {
            // A new node of any op on existing values, read by some node after it: chains of
            // shape arithmetic the importer folds, ops in unusual places.
            let inputs =
                (0..u.int_in_range(1..=3)?).map(|_| some_name(u, g)).collect::<Result<_>>()?;
            let output = format!("n{}", g.node.len());
            let mut n = NodeProto {
                input: inputs,
                output: vec![output.clone()],
                op_type: u.choose(OP_TYPES)?.to_string(),
                ..NodeProto::default()
            };
            for _ in 0..u.int_in_range(0..=2)? {
                let name = *u.choose(ATTR_NAMES)?;
                n.attribute.push(attribute(u, name)?);
            }
            let at = u.choose_index(g.node.len() + 1)?;
            g.node.insert(at, n);
            if at + 1 < g.node.len() {
                let r = at + 1 + u.choose_index(g.node.len() - at - 1)?;
                let reader = &mut g.node[r];
                if !reader.input.is_empty() {
                    let j = u.choose_index(reader.input.len())?;
                    reader.input[j] = output;
                }
            }
        }
        _ if !g.value_info.is_empty() => {
            let i = u.choose_index(g.value_info.len())?;
            mutate_value(u, &mut g.value_info[i])?;
        }
        _ => {
            let name = some_name(u, g)?;
            g.value_info.push(ValueInfoProto { name, r#type: tensor_type(u)? });
        }
    }
    Ok(())
}

/// Applies between one and eight edits chosen by `u` to `m`. Stops early (keeping the edits
/// made) when the fuzzer's bytes run out.
pub fn mutate(u: &mut Unstructured<'_>, m: &mut ModelProto) {
    let count = u.int_in_range(1..=8u8).unwrap_or(1);
    for _ in 0..count {
        if mutate_once(u, m).is_err() {
            return;
        }
    }
}
