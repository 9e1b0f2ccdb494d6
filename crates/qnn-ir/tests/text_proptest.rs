//! Property tests of the text form over random graphs: random structure (any op, any
//! attribute values, any names, constants of every dtype) must round-trip exactly, and
//! random *valid* graphs built through inference must round-trip through the verified parse.

mod text_common;

use std::collections::HashSet;
use std::sync::Arc;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use qnn_ir::text::{parse, parse_unverified, print};
use qnn_ir::{
    Conv2dAttrs, DType, DataLayout, FixedPointMultiplier, FixedRounding, Graph, GraphBuilder,
    KernelLayout, Node, Op, Pool2dAttrs, PoolKind, QuantParams, RequantScale, Rounding, Tensor,
    TensorType, Value, ValueDef, ValueId,
};
use text_common::cases;

/// Any f32 but NaN (NaNs are not equal to themselves; `text_roundtrip` checks their bits).
fn float() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => any::<u32>().prop_map(f32::from_bits).prop_filter("NaN", |x| !x.is_nan()),
        2 => select(vec![0.0, -0.0, 0.1, 0.5, 1.0, 1e-7, f32::INFINITY, f32::NEG_INFINITY, f32::MAX]),
        2 => (-1000i32..1000).prop_map(|i| i as f32 / 64.0),
    ]
}

fn double() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits).prop_filter("NaN", |x| !x.is_nan()),
        (-1000i32..1000).prop_map(f64::from),
        select(vec![-0.0, f64::INFINITY, 0.1]),
    ]
}

fn usize_any() -> impl Strategy<Value = usize> {
    prop_oneof![8 => 0usize..8, 1 => any::<usize>()]
}

fn quant() -> impl Strategy<Value = QuantParams> {
    (vec(float(), 0..4), vec(any::<i32>(), 0..4), proptest::option::of(usize_any()))
        .prop_map(|(scale, zero_point, axis)| QuantParams { scale, zero_point, axis })
}

/// The raw material of one op's attributes.
#[derive(Debug, Clone)]
struct Material {
    u: Vec<usize>,
    i: Vec<i32>,
    f: [f32; 2],
    d: [f64; 2],
    q: Vec<QuantParams>,
    qs: Vec<QuantParams>,
    flag: bool,
    dtype: DType,
    list: Vec<usize>,
    pads: Vec<[usize; 2]>,
    mults: (Vec<FixedPointMultiplier>, Vec<f32>),
    pick: Vec<usize>,
}

fn material() -> impl Strategy<Value = Material> {
    (
        vec(usize_any(), 18),
        vec(any::<i32>(), 3),
        [float(), float()],
        [double(), double()],
        vec(quant(), 3),
        vec(quant(), 0..4),
        any::<bool>(),
        select(DType::ALL.to_vec()),
        vec(usize_any(), 0..5),
        vec([usize_any(), usize_any()], 0..5),
        (
            vec((any::<i32>(), any::<i32>()), 0..5).prop_map(|v| {
                v.into_iter()
                    .map(|(multiplier, shift)| FixedPointMultiplier { multiplier, shift })
                    .collect()
            }),
            vec(float(), 0..5),
        ),
        vec(0usize..12, 6),
    )
        .prop_map(|(u, i, f, d, q, qs, flag, dtype, list, pads, mults, pick)| Material {
            u,
            i,
            f,
            d,
            q,
            qs,
            flag,
            dtype,
            list,
            pads,
            mults,
            pick,
        })
}

const OP_COUNT: usize = 33;

/// Op number `index` (0..OP_COUNT) with attributes taken from `m`.
fn make_op(index: usize, m: &Material) -> Op {
    let u = &m.u;
    let conv = |o: usize| Conv2dAttrs {
        strides: [u[o], u[o + 1]],
        padding: [u[o + 2], u[o + 3], u[o + 4], u[o + 5]],
        dilation: [u[o + 6], u[o + 7]],
        groups: u[o + 8],
        data_layout: [DataLayout::Nchw, DataLayout::Nhwc][m.pick[0] % 2],
        kernel_layout: [KernelLayout::Oihw, KernelLayout::Ohwi, KernelLayout::Hwio][m.pick[1] % 3],
    };
    let pool = |o: usize| Pool2dAttrs {
        kernel: [u[o], u[o + 1]],
        strides: [u[o + 2], u[o + 3]],
        padding: [u[o + 4], u[o + 5], u[o + 6], u[o + 7]],
        dilation: [u[o + 8], u[o + 9]],
        layout: [DataLayout::Nchw, DataLayout::Nhwc][m.pick[2] % 2],
    };
    let rounding = Rounding::ALL[m.pick[3] % 4];
    let (q0, q1, q2) = (m.q[0].clone(), m.q[1].clone(), m.q[2].clone());
    let out_dtype = m.dtype;
    match index {
        0 => Op::QnnQuantize { output: q0, out_dtype },
        1 => Op::QnnDequantize { input: q0 },
        2 => Op::QnnRequantize { input: q0, output: q1, rounding, out_dtype },
        3 => Op::QnnConv2d { conv: conv(0), input: q0, kernel: q1 },
        4 => Op::QnnDense { input: q0, kernel: q1 },
        5 => Op::QnnAdd { lhs: q0, rhs: q1, output: q2, rounding, out_dtype },
        6 => Op::QnnMul { lhs: q0, rhs: q1, output: q2, rounding, out_dtype },
        7 => {
            Op::QnnConcatenate { inputs: m.qs.clone(), output: q0, axis: u[0], rounding, out_dtype }
        }
        8 => Op::QnnAvgPool2d {
            pool: pool(1),
            count_include_pad: m.flag,
            input: q0,
            output: q1,
            rounding,
            out_dtype,
        },
        9 => Op::QnnGlobalAvgPool2d {
            layout: [DataLayout::Nchw, DataLayout::Nhwc][m.pick[4] % 2],
            input: q0,
            output: q1,
            rounding,
            out_dtype,
        },
        10 => Op::QnnMaxPool2d { pool: pool(3) },
        11 => Op::QnnClip { min: m.f[0], max: m.f[1], q: q0 },
        12 => Op::QnnRelu { q: q0 },
        13 => Op::Conv2d { conv: conv(5), pad_value: m.i[0] },
        14 => Op::Dense,
        15 => Op::Cast { to: out_dtype },
        16 => Op::Add,
        17 => Op::Subtract,
        18 => Op::Multiply,
        19 => Op::Divide,
        20 => Op::Round,
        21 => Op::Sum { axes: m.list.clone(), keepdims: m.flag },
        22 => Op::Pool2d {
            kind: [PoolKind::Sum, PoolKind::Max][m.pick[5] % 2],
            pool: pool(7),
            pad_value: m.i[1],
        },
        23 => Op::Pad { pads: m.pads.clone(), value: m.d[0] },
        24 => Op::Clip { min: m.d[0], max: m.d[1] },
        25 => Op::Requantize {
            scale: if m.flag {
                let rounding =
                    [FixedRounding::Upward, FixedRounding::ToNearest, FixedRounding::Tflite]
                        [m.pick[3] % 3];
                RequantScale::Fixed { mults: m.mults.0.clone(), rounding }
            } else {
                RequantScale::Float { mults: m.mults.1.clone() }
            },
            axes: m.list.clone(),
            input_zero_point: m.i[1],
            output_zero_point: m.i[2],
            out_dtype,
        },
        26 => Op::Reshape { shape: m.list.clone() },
        27 => Op::Transpose { perm: m.list.clone() },
        28 => Op::Concatenate { axis: u[17] },
        29 => Op::MatMul,
        30 => Op::Softmax { axis: u[17] },
        31 => Op::Lookup,
        _ => Op::Fma,
    }
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z_][a-z0-9_.]{0,6}",
        1 => "\\PC{0,4}",
        1 => any::<String>(),
        1 => select(vec!["", "0", "%x", "a b", "\"", "\\", "graph", "return"]).prop_map(String::from),
    ]
}

fn ty() -> impl Strategy<Value = TensorType> {
    (select(DType::ALL.to_vec()), vec(usize_any(), 0..4)).prop_map(|(d, s)| TensorType::new(d, s))
}

/// A constant of `dtype` and `shape` filled from `words` (NaNs replaced).
fn constant(dtype: DType, shape: &[usize], words: &[u32]) -> Tensor {
    let n: usize = shape.iter().product();
    let w = |k: usize| words.get(k % words.len().max(1)).copied().unwrap_or(0);
    let t = match dtype {
        DType::U8 => Tensor::from_vec(shape, (0..n).map(|k| w(k) as u8).collect()),
        DType::I8 => Tensor::from_vec(shape, (0..n).map(|k| w(k) as i8).collect()),
        DType::I16 => Tensor::from_vec(shape, (0..n).map(|k| w(k) as i16).collect()),
        DType::I32 => Tensor::from_vec(shape, (0..n).map(|k| w(k) as i32).collect()),
        DType::F32 => {
            let f = |k| Some(f32::from_bits(w(k))).filter(|x| !x.is_nan()).unwrap_or(0.5);
            Tensor::from_vec(shape, (0..n).map(f).collect())
        }
    };
    t.expect("shape and data agree")
}

#[derive(Debug, Clone)]
struct ValueSpec {
    kind: u8,
    name: String,
    node_name: Option<String>,
    ty: TensorType,
    op: (usize, Material),
    operands: Vec<Index>,
    const_shape: Vec<usize>,
    words: Vec<u32>,
}

fn value_spec() -> impl Strategy<Value = ValueSpec> {
    (
        0u8..3,
        name(),
        proptest::option::weighted(0.2, name()),
        ty(),
        (0..OP_COUNT, material()),
        vec(any::<Index>(), 0..4),
        prop_oneof![vec(0usize..4, 0..4), vec(1usize..40, 1..=2)],
        vec(any::<u32>(), 0..6),
    )
        .prop_map(|(kind, name, node_name, ty, op, operands, const_shape, words)| ValueSpec {
            kind,
            name,
            node_name,
            ty,
            op,
            operands,
            const_shape,
            words,
        })
}

/// A random graph numbered in definition order, valid or not.
fn random_graph() -> impl Strategy<Value = Graph> {
    (
        name(),
        vec(value_spec(), 1..10),
        proptest::option::of(vec(any::<Index>(), 0..4)),
        vec(any::<Index>(), 0..4),
    )
        .prop_map(|(gname, specs, input_order, outputs)| {
            let n = specs.len();
            let mut g = Graph { name: gname, ..Graph::default() };
            let mut used = HashSet::new();
            for (i, s) in specs.into_iter().enumerate() {
                let mut name = s.name;
                while !used.insert(name.clone()) {
                    name.push('~');
                }
                let id = ValueId(i as u32);
                let (ty, def) = match s.kind {
                    0 => {
                        g.inputs.push(id);
                        (s.ty, ValueDef::Input)
                    }
                    1 => {
                        let t = constant(s.ty.dtype, &s.const_shape, &s.words);
                        (t.ty(), ValueDef::Const(Arc::new(t)))
                    }
                    _ => {
                        g.nodes.push(Node {
                            name: s.node_name.unwrap_or_else(|| name.clone()),
                            op: make_op(s.op.0, &s.op.1),
                            inputs: s.operands.iter().map(|x| ValueId(x.index(n) as u32)).collect(),
                            output: id,
                        });
                        (s.ty, ValueDef::Node(g.nodes.len() - 1))
                    }
                };
                g.values.push(Value { name, ty, def });
            }
            if let Some(order) = input_order {
                g.inputs = order.iter().map(|x| ValueId(x.index(n) as u32)).collect();
            }
            g.outputs = outputs.iter().map(|x| ValueId(x.index(n) as u32)).collect();
            g
        })
}

/// Sane attributes for graphs that should often pass inference.
fn sane_material() -> impl Strategy<Value = Material> {
    let q = (0.001f32..4.0, 0i32..128, proptest::option::weighted(0.2, 0usize..4))
        .prop_map(|(s, z, axis)| QuantParams { scale: vec![s], zero_point: vec![z], axis });
    let dtype = select(vec![DType::U8, DType::I8, DType::I32, DType::F32]);
    (material(), vec(1usize..4, 18), vec(q, 3), vec(0usize..4, 0..4), -128i32..128, dtype).prop_map(
        |(mut m, u, q, list, i, dtype)| {
            m.dtype = dtype;
            m.u = u;
            m.q = q.clone();
            m.qs = q;
            m.list = list;
            m.i = vec![i, i, 0];
            m.f = [-1.0, 1.0];
            m.d = [-100.0, 100.0];
            m.pads = vec![[0, 1]; m.pads.len()];
            m.mults = (vec![FixedPointMultiplier { multiplier: 1 << 30, shift: -2 }], vec![0.25]);
            m
        },
    )
}

/// A random valid graph: inputs and constants, then ops applied to earlier values, each
/// kept when inference accepts it.
fn valid_graph() -> impl Strategy<Value = Graph> {
    let dtype = select(vec![DType::U8, DType::I8, DType::I32, DType::F32]);
    let leaf = (dtype, vec(1usize..4, 1..5), any::<bool>(), vec(any::<u32>(), 1..4));
    let step = (0..OP_COUNT, sane_material(), vec(any::<Index>(), 1..4));
    (vec(leaf, 1..5), vec(step, 1..24)).prop_map(|(leaves, steps)| {
        let mut b = GraphBuilder::new("valid");
        let mut ids = Vec::new();
        for (k, (dtype, shape, is_const, words)) in leaves.into_iter().enumerate() {
            ids.push(if is_const {
                b.constant(format!("c{k}"), constant(dtype, &shape, &words)).unwrap()
            } else {
                b.input(format!("in{k}"), TensorType::new(dtype, shape)).unwrap()
            });
        }
        for (k, (op, m, picks)) in steps.into_iter().enumerate() {
            let arity = match op {
                3..=6 | 13 | 14 | 16..=19 => 2,
                7 | 28 => picks.len(),
                _ => 1,
            };
            let operands: Vec<ValueId> =
                picks.iter().cycle().take(arity).map(|p| ids[p.index(ids.len())]).collect();
            if let Ok(id) = b.node(format!("n{k}"), make_op(op, &m), &operands) {
                ids.push(id);
            }
        }
        let last = *ids.last().unwrap();
        b.output(last);
        b.finish().expect("a builder graph verifies")
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    #[test]
    fn random_graphs_round_trip_exactly(g in random_graph()) {
        let text = print(&g);
        let back = parse_unverified(&text);
        prop_assert!(back.is_ok(), "{:?}\n{}", back, text);
        let back = back.unwrap();
        prop_assert_eq!(&back, &g, "{}", text);
        prop_assert_eq!(print(&back), text);
        // The verified parse accepts exactly the graphs the verifier accepts.
        prop_assert_eq!(parse(&print(&g)).err(), g.verify().err());
    }

    #[test]
    fn renumbered_graphs_come_back_equivalent(g in random_graph(), seed in any::<u64>()) {
        // Shuffle the value ids (node order stays): the text is the same modulo numbering,
        // so printing the parsed graph reproduces it.
        let n = g.values.len();
        let mut perm: Vec<usize> = (0..n).collect();
        let mut s = seed;
        for i in (1..n).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            perm.swap(i, (s >> 33) as usize % (i + 1));
        }
        let map = |v: ValueId| ValueId(perm[v.index()] as u32);
        let mut h = g.clone();
        for (i, v) in g.values.iter().enumerate() {
            h.values[perm[i]] = v.clone();
        }
        for node in &mut h.nodes {
            node.inputs = node.inputs.iter().map(|&v| map(v)).collect();
            node.output = map(node.output);
        }
        h.inputs = g.inputs.iter().map(|&v| map(v)).collect();
        h.outputs = g.outputs.iter().map(|&v| map(v)).collect();
        let text = print(&h);
        let back = parse_unverified(&text);
        prop_assert!(back.is_ok(), "{:?}\n{}", back, text);
        let back = back.unwrap();
        prop_assert_eq!(print(&back), text.clone());
        let names = |g: &Graph, ids: &[ValueId]| {
            ids.iter().map(|&v| g.value(v).name.clone()).collect::<Vec<_>>()
        };
        prop_assert_eq!(names(&back, &back.inputs), names(&h, &h.inputs));
        prop_assert_eq!(names(&back, &back.outputs), names(&h, &h.outputs));
        prop_assert_eq!(back.nodes.len(), h.nodes.len());
        for (a, b) in back.nodes.iter().zip(&h.nodes) {
            prop_assert_eq!(&a.op, &b.op);
            prop_assert_eq!(names(&back, &a.inputs), names(&h, &b.inputs));
            prop_assert_eq!(back.value(a.output), h.value(b.output));
        }
    }

    #[test]
    fn random_valid_graphs_round_trip_through_the_verified_parse(g in valid_graph()) {
        let text = print(&g);
        let back = parse(&text);
        prop_assert!(back.is_ok(), "{:?}\n{}", back, text);
        prop_assert_eq!(back.unwrap(), g);
    }
}
