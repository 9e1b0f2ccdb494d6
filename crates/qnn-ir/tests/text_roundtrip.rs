//! Round trips of the text form over graphs that use every op and every attribute.

mod text_common;

use std::sync::Arc;

use qnn_ir::text::{op_signatures, parse, parse_unverified, print};
use qnn_ir::{
    DType, DataLayout, FixedPointMultiplier, FixedRounding, Graph, KernelLayout, Op, QuantParams,
    RequantScale, Tensor, TensorType, ValueDef, ValueId,
};
use text_common::*;

/// `parse(print(g)) == g`, and printing the result gives the same text.
fn assert_round_trip(g: &Graph) {
    let text = print(g);
    let back = parse_unverified(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(&back, g, "{text}");
    assert_eq!(print(&back), text);
    assert_eq!(g.to_string(), text, "Display prints the text form");
}

#[test]
fn every_family_round_trips() {
    for g in families() {
        assert_round_trip(&g);
    }
}

#[test]
fn every_family_is_valid_and_parses_verified() {
    for g in families() {
        g.verify().unwrap_or_else(|e| panic!("{}: {e}", g.name));
        let back = parse(&print(&g)).unwrap_or_else(|e| panic!("{}: {e}", g.name));
        assert_eq!(back, g);
    }
}

#[test]
fn families_cover_every_op_and_the_op_table() {
    let mut seen: Vec<&str> = families()
        .iter()
        .flat_map(|g| g.nodes.iter().map(|n| n.op.name()).collect::<Vec<_>>())
        .collect();
    seen.sort();
    seen.dedup();
    let mut known: Vec<&str> = op_signatures().map(|(n, _)| n).collect();
    known.sort();
    // With every op covered, the round trips also show that each op prints all of its
    // attributes and nothing else: the parser rejects missing and unknown attributes.
    assert_eq!(seen, known, "the family graphs use every op of the text form");
}

#[test]
fn text_means_what_it_says() {
    // Round trips cannot catch a printer and parser that agree on swapping two fields; this
    // text is written by hand and checked against the structure.
    let text = r#"
graph "hand written" {
  input %x: u8[1,2,5,5]   // NCHW
  const %"w/0": i8[2,1,3,3] = [1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -2, -3, -4, -5, -6, -7, -8, -128]
  %acc: i32[1,2,2,3] = qnn.conv2d(%x, %"w/0") {kernel_layout = OIHW, strides = [2, 1], padding = [1, 0, 0, 2], dilation = [1, 2], groups = 2, data_layout = NCHW, input = q(0.5, 3), kernel = q([0.25, 0.125], [0, -1], axis=0)}
  %y: u8[1,2,2,3] = requantize(%acc) {scale = fixed(upward, [(1073741824, -2), (1518500250, 1)]), axes = [1], input_zero_point = 0, output_zero_point = 3, out_dtype = u8} @requant_node
  %z: f32[1,2,2,3] = qnn.dequantize(%y) {input = q(nan(0x7fc00001), 3)}
  return %z, %acc
}
"#;
    let g = parse_unverified(text).unwrap();
    assert_eq!(g.name, "hand written");
    assert_eq!(g.values.len(), 5);
    assert_eq!(g.inputs, [ValueId(0)]);
    assert_eq!(g.outputs, [ValueId(4), ValueId(2)]);
    assert_eq!(g.value(ValueId(1)).name, "w/0");
    let w = g.constant(ValueId(1)).unwrap();
    let w = w.as_array::<i8>().unwrap();
    assert_eq!(
        (w[[0, 0, 0, 0]], w[[0, 0, 2, 2]], w[[1, 0, 0, 1]], w[[1, 0, 2, 2]]),
        (1, 9, -2, -128)
    );
    let Op::QnnConv2d { conv, input, kernel } = &g.nodes[0].op else { panic!("{:?}", g.nodes[0]) };
    assert_eq!(conv.strides, [2, 1]);
    assert_eq!(conv.padding, [1, 0, 0, 2]);
    assert_eq!(conv.dilation, [1, 2]);
    assert_eq!(conv.groups, 2);
    assert_eq!((conv.data_layout, conv.kernel_layout), (DataLayout::Nchw, KernelLayout::Oihw));
    assert_eq!(input, &QuantParams::per_tensor(0.5, 3));
    assert_eq!(kernel, &QuantParams::per_axis(vec![0.25, 0.125], vec![0, -1], 0));
    assert_eq!(g.nodes[0].inputs, [ValueId(0), ValueId(1)]);
    assert_eq!(g.value(ValueId(2)).ty, TensorType::new(DType::I32, [1, 2, 2, 3]));
    let mult = |multiplier, shift| FixedPointMultiplier { multiplier, shift };
    assert_eq!(
        g.nodes[1].op,
        Op::Requantize {
            scale: RequantScale::Fixed {
                mults: vec![mult(1073741824, -2), mult(1518500250, 1)],
                rounding: FixedRounding::Upward
            },
            axes: vec![1],
            input_zero_point: 0,
            output_zero_point: 3,
            out_dtype: DType::U8,
        }
    );
    assert_eq!(
        (g.nodes[1].name.as_str(), g.value(ValueId(3)).name.as_str()),
        ("requant_node", "y")
    );
    let Op::QnnDequantize { input } = &g.nodes[2].op else { panic!() };
    assert_eq!(input.scale[0].to_bits(), 0x7fc0_0001);
    assert_eq!(g.value(ValueId(4)).def, ValueDef::Node(2));
}

#[test]
fn special_floats_survive_bit_for_bit() {
    let specials: Vec<f32> = [
        0x7fc0_0000, // nan
        0x7fc0_0001, // nan with payload
        0xffc0_0000, // negative nan
        0x7f80_0001, // signalling nan
        0x7f80_0000, // inf
        0xff80_0000, // -inf
        0x8000_0000, // -0.0
        0x0000_0001, // smallest subnormal
        0x7f7f_ffff, // f32::MAX
        0x3dcc_cccd, // 0.1
    ]
    .map(f32::from_bits)
    .to_vec();
    let mut g = G::new("specials");
    let x = g.input("x", DType::U8, &[specials.len()]);
    g.constant("c", Tensor::from_vec(&[2, 5], specials.clone()).unwrap());
    let q = QuantParams {
        scale: specials.clone(),
        zero_point: vec![i32::MIN, i32::MAX],
        axis: Some(7),
    };
    let rq = RequantScale::Float { mults: specials.clone() };
    let d = g.node("d", Op::QnnDequantize { input: q }, &[x], DType::F32, &[10]);
    let op = Op::Requantize {
        scale: rq,
        axes: vec![0],
        input_zero_point: 0,
        output_zero_point: 0,
        out_dtype: DType::I8,
    };
    g.node("r", op, &[d], DType::I8, &[10]);
    let op = Op::Clip { min: f64::NAN, max: f64::from_bits(0xfff0_0000_0000_0001) };
    g.node("c2", op, &[d], DType::F32, &[10]);
    let g = g.finish(&[]);
    let text = print(&g);
    let back = parse_unverified(&text).unwrap();
    assert_eq!(print(&back), text);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let c = back.constant(ValueId(1)).unwrap();
    assert_eq!(bits(c.as_array::<f32>().unwrap().as_slice().unwrap()), bits(&specials));
    let Op::QnnDequantize { input } = &back.nodes[0].op else { panic!() };
    assert_eq!(bits(&input.scale), bits(&specials));
    let Op::Requantize { scale: RequantScale::Float { mults }, .. } = &back.nodes[1].op else {
        panic!()
    };
    assert_eq!(bits(mults), bits(&specials));
    let Op::Clip { min, max } = back.nodes[2].op else { panic!() };
    assert_eq!((min.to_bits(), max.to_bits()), (f64::NAN.to_bits(), 0xfff0_0000_0000_0001));
}

#[test]
fn names_that_need_quotes_survive() {
    let names =
        ["", "0", "a b", "conv1/W:0", "q\"uote", "back\\slash", "tab\tnl\n", "π", "%x", "@"];
    let mut g = G::new("weird \"graph\" name\n");
    let mut last = g.input(names[0], DType::I32, &[2]);
    for (i, n) in names.iter().enumerate().skip(1) {
        last = g.node(n, Op::Add, &[last, last], DType::I32, &[2]);
        if i % 3 == 0 {
            g.0.nodes.last_mut().unwrap().name = format!("node {n}");
        }
    }
    assert_round_trip(&g.finish(&[last, ValueId(0)]));
}

#[test]
fn input_order_other_than_definition_order_is_kept() {
    let mut g = G::new("swapped");
    let a = g.input("a", DType::I32, &[3]);
    let b = g.input("b", DType::I32, &[3]);
    let s = g.node("s", Op::Subtract, &[a, b], DType::I32, &[3]);
    let mut g = g.finish(&[s]);
    g.inputs = vec![b, a];
    assert!(print(&g).starts_with("graph swapped(%b, %a) {"), "{g}");
    assert_round_trip(&g);
    g.inputs = vec![];
    assert_round_trip(&g);
}

#[test]
fn empty_and_degenerate_graphs_round_trip() {
    assert_round_trip(&Graph::default());
    let mut g = G::new("consts");
    g.constant("scalar", Tensor::from_vec(&[], vec![-5i16]).unwrap());
    g.constant("empty", Tensor::from_vec::<u8>(&[0, 3], vec![]).unwrap());
    g.constant("long_row", ramp(DType::F32, &[2, 40]));
    g.constant("rows", ramp(DType::I32, &[3, 3, 3]));
    let c = g.constant("big", ramp(DType::U8, &[64, 3, 3]));
    assert_round_trip(&g.finish(&[c, c]));
}

#[test]
fn non_standard_array_layouts_print_in_logical_order() {
    let a = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[2, 3]), (0..6).collect()).unwrap();
    let mut g = G::new("transposed");
    let t = g.constant("t", Tensor::I32(a.reversed_axes()));
    let g = g.finish(&[]);
    assert_round_trip(&g);
    let back = parse_unverified(&print(&g)).unwrap();
    let t = back.constant(t).unwrap();
    assert_eq!(t.as_array::<i32>().unwrap().as_slice(), Some(&[0, 3, 1, 4, 2, 5][..]));
}

#[test]
fn graphs_numbered_out_of_definition_order_come_back_renumbered() {
    // Node 0 defines value 2 and node 1 value 1: printed in node order, parsed renumbered.
    let mut g = G::new("renumbered");
    let a = g.input("a", DType::I32, &[3]);
    let p = g.node("p", Op::Add, &[a, a], DType::I32, &[3]);
    let q = g.node("q", Op::Multiply, &[p, a], DType::I32, &[3]);
    let mut g = g.finish(&[q]);
    g.values.swap(p.index(), q.index());
    g.nodes[0].output = q;
    g.nodes[1].output = p;
    g.nodes[1].inputs = vec![q, a];
    g.outputs = vec![p];
    g.verify().unwrap();
    let text = print(&g);
    let back = parse(&text).unwrap();
    assert_ne!(back, g);
    assert_eq!(back.values.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), ["a", "p", "q"]);
    assert_eq!(print(&back), text);
    let ops =
        |g: &Graph| g.nodes.iter().map(|n| (n.name.clone(), n.op.clone())).collect::<Vec<_>>();
    assert_eq!(ops(&back), ops(&g));
    assert_eq!(back.value(back.outputs[0]).name, "q");
}

#[test]
fn invalid_graphs_print_without_panicking() {
    let mut g = conv_family();
    g.nodes[0].inputs.push(ValueId(999));
    g.nodes[1].output = ValueId(998);
    g.outputs.push(ValueId(997));
    g.inputs.push(ValueId(996));
    g.values[0].def = ValueDef::Node(12345);
    if let ValueDef::Const(t) = &g.values[1].def {
        g.values[2].def = ValueDef::Const(Arc::clone(t));
    }
    let text = print(&g);
    assert!(text.contains("%<invalid #999>") && text.contains("// invalid:"), "{text}");
    assert!(parse_unverified(&text).is_err());
}
