//! Detection / segmentation op cases (`fixtures/ops`, made by `fixtures/gen_ops.py`): `Resize`
//! on u8 / i8 data in every mode, nearest mode, coordinate transform, scales or sizes, axes,
//! aspect-ratio policy and opset ONNX Runtime runs, in QOperator form and folded from QDQ
//! (cubic only in float: ORT's cubic kernel fails on 8-bit tensors). Imported and run on the
//! reference interpreter, each output must equal ONNX Runtime's bit for bit.

mod common;

use common::{Outcome, check_npy_case, report, subdirs};

#[test]
#[cfg_attr(miri, ignore = "runs the reference interpreter on a corpus of models")]
fn op_cases_equal_onnx_runtime() {
    let mut outcomes = Vec::new();
    for dir in subdirs("ops") {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let family = name.split('_').take(2).collect::<Vec<_>>().join("_");
        outcomes.push(Outcome { family, name, error: check_npy_case(&dir).err() });
    }
    assert!(outcomes.len() >= 150, "{} op cases", outcomes.len());
    report("Detection op cases vs ONNX Runtime (default session)", &outcomes);
}
