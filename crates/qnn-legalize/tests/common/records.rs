//! The hand-off to the runtime: the records of a legalization describe the lowered graph
//! exactly (each lowered node in one record; every conv/dense record what the lowered-form
//! matcher finds around its core op, so the runtime fusing from records fuses what it used to
//! rediscover).

use qnn_ir::{Conv2dAttrs, Graph, Op, ValueId};
use qnn_legalize::analysis::ConvForm;
use qnn_legalize::record::{ClipRecord, ConvWeights, RequantizeRecord};
use qnn_legalize::{ConvRecord, Legalized, RecordKind, match_fused_conv};

/// Checks every record of `l` against its lowered graph.
pub fn check(l: &Legalized) {
    let g = &l.graph;
    let mut owner: Vec<Option<usize>> = vec![None; g.nodes.len()];
    for (k, r) in l.records.iter().enumerate() {
        for &n in &r.nodes {
            assert!(n < g.nodes.len(), "record `{}`: node {n} out of range", r.source);
            assert!(owner[n].is_none(), "node {n} is in two records");
            owner[n] = Some(k);
        }
        if let Some(&last) = r.nodes.last() {
            assert_eq!(g.nodes[last].output, r.output, "record `{}`: output", r.source);
        }
    }
    assert!(owner.iter().all(Option::is_some), "a lowered node belongs to no record");
    for r in &l.records {
        match &r.kind {
            RecordKind::Conv(c) => check_conv(l, r.output, &r.nodes, c),
            RecordKind::Requantize(q) => check_requantize(g, &r.nodes, q),
            RecordKind::Clip(c) => check_clip(g, &r.nodes, c),
            RecordKind::Core => assert_eq!(r.nodes.len(), 1, "a copied core op is one node"),
            _ => {}
        }
    }
}

fn check_conv(l: &Legalized, output: ValueId, nodes: &[usize], c: &ConvRecord) {
    let g = &l.graph;
    let core = &g.nodes[c.core];
    assert!(matches!(core.op, Op::Conv2d { .. } | Op::Dense), "core op {:?}", core.op);
    assert_eq!(core.inputs[0], c.operand, "the core op reads the recorded operand");
    assert_eq!(g.ty(c.operand).dtype, c.operands.0);
    assert_eq!(g.ty(core.inputs[1]).dtype, c.operands.1);
    assert!(nodes.contains(&c.core) && c.prologue.iter().all(|n| nodes.contains(n)));
    let Some(f) = match_fused_conv(g, c.core) else {
        assert!(matches!(c.weights, ConvWeights::RunTime(_)), "constant weights not matched");
        assert_eq!(c.backend, None);
        return;
    };
    let ConvWeights::Folded(w) = &c.weights else { panic!("run-time weights matched") };
    assert_eq!(f.lowering, c.lowering);
    assert_eq!((f.input, f.input_offset), (c.input, c.input_offset), "prologue");
    assert_eq!(f.pad_value, c.pad_value);
    assert_eq!((f.operand_dtype, f.weight_dtype), c.operands);
    assert_eq!(f.channel_constant, c.channel_constant);
    assert_eq!(f.weight_zero_points, c.t3_zero_points);
    // Held at the operand dtype, values equal to the graph's constant in OHWI order.
    assert_eq!(w.dtype(), c.operands.1, "weights at the operand dtype");
    assert_eq!(ohwi(g, f.weights, &c.form), w.int_slice().unwrap().to_i32_vec(), "weights");
    assert!(c.backend.is_some(), "a decision names its backend");
    // The matcher's nodes are the record's, then the requantize and clip that follow it.
    assert!(nodes.iter().all(|n| f.nodes.contains(n)), "{nodes:?} ⊄ {:?}", f.nodes);
    let mut after: Vec<usize> = f.nodes.iter().copied().filter(|n| !nodes.contains(n)).collect();
    after.sort_unstable();
    let mut end = output;
    for n in after {
        assert_eq!(g.nodes[n].inputs[0], end, "the epilogue continues the conv's output");
        assert!(matches!(g.nodes[n].op, Op::Requantize { .. } | Op::Clip { .. }));
        end = g.nodes[n].output;
    }
    assert_eq!(f.output, end);
}

fn check_requantize(g: &Graph, nodes: &[usize], q: &RequantizeRecord) {
    assert!(nodes.contains(&q.node));
    let Op::Requantize { scale, axes, input_zero_point, output_zero_point, out_dtype } =
        &g.nodes[q.node].op
    else {
        panic!("requantize record on {:?}", g.nodes[q.node].op)
    };
    let p = &q.params;
    assert_eq!(
        (scale, axes, *input_zero_point, *output_zero_point, *out_dtype),
        (&p.scale, &p.axes, p.input_zero_point, p.output_zero_point, p.out_dtype)
    );
    if q.single {
        assert_eq!(nodes, [q.node]);
        assert_eq!(g.nodes[q.node].inputs[0], q.input);
    }
}

fn check_clip(g: &Graph, nodes: &[usize], c: &ClipRecord) {
    let [n] = nodes else { panic!("a clip is one node: {nodes:?}") };
    assert_eq!(g.nodes[*n].op, Op::Clip { min: c.min as f64, max: c.max as f64 });
    assert_eq!(g.nodes[*n].inputs[0], c.input);
}

/// A constant conv/dense weight tensor in OHWI order (dense: as it is, `[N, K]`).
fn ohwi(g: &Graph, w: ValueId, form: &ConvForm) -> Vec<i32> {
    let a = g.constant(w).expect("constant weights").to_i64().expect("integer weights");
    let ConvForm::Conv2d(Conv2dAttrs { kernel_layout: l, .. }) = form else {
        return a.iter().map(|&v| v as i32).collect();
    };
    let [o, i, kh, kw] = l.oihw(a.shape());
    let ax = l.axes();
    let mut out = Vec::with_capacity(o * i * kh * kw);
    let mut idx = [0usize; 4];
    for ko in 0..o {
        for r in 0..kh {
            for s in 0..kw {
                for c in 0..i {
                    idx[ax[0]] = ko;
                    idx[ax[1]] = c;
                    idx[ax[2]] = r;
                    idx[ax[3]] = s;
                    out.push(a[&idx[..]] as i32);
                }
            }
        }
    }
    out
}
