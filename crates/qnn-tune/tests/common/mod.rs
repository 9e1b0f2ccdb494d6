//! Small ops and fast settings for the policy tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use qnn_ir::Graph;
use qnn_legalize::{OpKind, OpSignature};
use qnn_tune::MeasureSettings;
use qnn_tune::single_op::single_op_model;

/// One warm run per candidate: enough to test the plumbing, not to rank kernels.
pub const FAST: MeasureSettings = MeasureSettings {
    threads: 1,
    warmup: 1,
    min_runs: 1,
    max_runs: 1,
    min_time: Duration::ZERO,
    slow_factor: 4.0,
};

/// A 3×3 conv, 10×10×16 → 24, stride 1, padding 1, u8 data (zero point `zp`), s8 weights.
pub fn conv_sig(node: &str, zp: i32) -> OpSignature {
    OpSignature {
        node: node.into(),
        kind: OpKind::Conv2d,
        n: 1,
        h: 10,
        w: 10,
        c: 16,
        o: 24,
        r: 3,
        s: 3,
        oh: 10,
        ow: 10,
        strides: [1, 1],
        padding: [1; 4],
        dilation: [1, 1],
        groups: 1,
        data_layout: Some("NHWC".into()),
        kernel_layout: Some("OHWI".into()),
        data_dtype: "u8".into(),
        weight_dtype: "i8".into(),
        input_zero_point: zp,
        weight_zero_points: vec![0],
        weight_zero_point_nonzero: false,
        has_bias: true,
        k: 16 * 9,
        macs: 10 * 10 * 24 * 16 * 9,
    }
}

/// The single-op model of [`conv_sig`].
pub fn conv_graph(node: &str, zp: i32) -> Graph {
    single_op_model(&conv_sig(node, zp), 3).expect("the test conv builds").0
}

/// A fresh path in the temporary directory (removed first if it exists).
pub fn temp_file(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("qnn-tune-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}
