//! The legalizer plans for the named `cuda` target from any host, with this backend's real
//! descriptor: every conv/dense takes the int8 lowering with s8×s8 operands (u8 data and u8
//! weights shifted by −128), and the lowered graph equals the QNN graph under the reference.

use backend_cuda_dp4a as _;
use qnn_ir::*;
use qnn_legalize::{
    Capability, CostModel, Lowering, LoweringPolicy, Target, legalize, match_fused_conv,
};

fn t(dtype: DType, shape: &[usize], seed: u64, lo: i64, hi: i64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut s = seed;
    let v: Vec<i64> = (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            lo + ((s >> 33) % (hi - lo + 1) as u64) as i64
        })
        .collect();
    Tensor::from_i64(
        "cuda-plan",
        dtype,
        ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), v).unwrap(),
    )
    .unwrap()
}

/// `x: u8[1,3,12,12]` → conv 3→8 (3×3, s8 weights, bias, requantize) → depthwise 3×3 on u8
/// weights with zero point 128 → dense 8·6·6 → 10 on per-channel asymmetric s8 weights.
fn small_net() -> Graph {
    let mut b = GraphBuilder::new("cuda_plan_net");
    let x = b.input("x", TensorType::new(DType::U8, [1, 3, 12, 12])).unwrap();
    let act = QuantParams::per_tensor(0.05, 3);
    let conv = |groups, stride| Conv2dAttrs {
        strides: [stride, stride],
        padding: [1; 4],
        groups,
        ..Conv2dAttrs::default()
    };
    let rq = |b: &mut GraphBuilder, name: &str, y, scale: f32, rounding| {
        let op = Op::QnnRequantize {
            input: QuantParams::per_tensor(scale, 0),
            output: QuantParams::per_tensor(0.05, 3),
            rounding,
            out_dtype: DType::U8,
        };
        b.node(name, op, &[y]).unwrap()
    };
    let w1 = b.constant("conv.w", t(DType::I8, &[8, 3, 3, 3], 1, -127, 127)).unwrap();
    let op = Op::QnnConv2d {
        conv: conv(1, 2),
        input: QuantParams::per_tensor(0.02, 128),
        kernel: QuantParams::per_tensor(0.01, 0),
    };
    let y = b.node("conv", op, &[x, w1]).unwrap();
    let b1 = b.constant("conv.b", t(DType::I32, &[8, 1, 1], 2, -500, 500)).unwrap();
    let y = b.node("conv.biased", Op::Add, &[y, b1]).unwrap();
    let y = rq(&mut b, "conv.rq", y, 2e-4, Rounding::Upward);
    let w2 = b.constant("dw.w", t(DType::U8, &[8, 1, 3, 3], 3, 0, 255)).unwrap();
    let op = Op::QnnConv2d {
        conv: conv(8, 1),
        input: act.clone(),
        kernel: QuantParams::per_tensor(0.02, 128),
    };
    let y = b.node("dw", op, &[y, w2]).unwrap();
    let y = rq(&mut b, "dw.rq", y, 1e-3, Rounding::Float);
    let y = b.node("flatten", Op::Reshape { shape: vec![1, 288] }, &[y]).unwrap();
    let w3 = b.constant("fc.w", t(DType::I8, &[10, 288], 4, -128, 127)).unwrap();
    let zps: Vec<i32> = (0..10).map(|k| k % 3 - 1).collect();
    let op = Op::QnnDense { input: act, kernel: QuantParams::per_axis(vec![0.01; 10], zps, 0) };
    let y = b.node("fc", op, &[y, w3]).unwrap();
    let y = rq(&mut b, "fc.rq", y, 5e-4, Rounding::Float);
    b.output(y);
    b.finish().unwrap()
}

fn check(policy: &dyn LoweringPolicy) {
    let target: Target = "cuda".parse().unwrap();
    assert_eq!(target.arch(), qnn_ir::backend::Arch::Cuda);
    assert_eq!(
        target.backend_names(),
        "cuda-dp4a",
        "the real descriptor is the cuda target's backend"
    );
    let g = small_net();
    let l = legalize(&g, &target, policy).unwrap_or_else(|e| panic!("{e}"));
    let convs: Vec<usize> = (0..l.graph.nodes.len())
        .filter(|&i| matches!(l.graph.nodes[i].op, Op::Conv2d { .. } | Op::Dense))
        .collect();
    assert_eq!(convs.len(), 3, "conv, depthwise, dense");
    let mut t3 = Vec::new();
    for i in convs {
        let n = &l.graph.nodes[i];
        let operands = (l.graph.ty(n.inputs[0]).dtype, l.graph.ty(n.inputs[1]).dtype);
        assert_eq!(operands, (DType::I8, DType::I8), "node {} ({})", n.name, policy.name());
        let f = match_fused_conv(&l.graph, i).expect("the canonical fused form");
        assert_eq!(f.lowering, Lowering::Int8ZeroPointTerms);
        assert_eq!(f.input_offset, -128, "u8 data shifted to s8 for {}", n.name);
        assert!(f.requantize.is_some());
        t3.push(f.weight_zero_points.is_some_and(|z| z.iter().any(|&z| z != 0)));
    }
    // dw: u8 weights with zero point 128 → s8 with zero point 0 (no T3); fc: per-channel
    // zero points −1, 0, 1 stay (T3).
    assert_eq!(t3, [false, false, true]);
    assert!(l.graph.nodes.iter().all(|n| !n.op.is_qnn()));
    let x = [t(DType::U8, &[1, 3, 12, 12], 9, 0, 255)];
    assert_eq!(reference::run(&l.graph, &x).unwrap(), reference::run(&g, &x).unwrap());
}

#[test]
fn cuda_plan_is_int8_s8s8_under_the_capability_rule() {
    check(&Capability);
}

#[test]
fn cuda_plan_is_int8_s8s8_under_the_cost_model() {
    check(&CostModel::new());
}
