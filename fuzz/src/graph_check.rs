//! What every fuzz target does with a graph it obtained (imported or parsed): print it and
//! parse it back (the text form must round-trip any graph), and run the reference interpreter
//! on it when that is cheap — a graph that verified must run to a result or an error, never a
//! panic.

use qnn_ir::reference;
use qnn_ir::text::{parse_unverified, print};
use qnn_ir::{DType, Graph, Op, Tensor, TensorType};

/// Reference work (multiply-adds and element visits, roughly) above which a graph is not run:
/// the fuzzer needs thousands of executions a second, and a large graph tests nothing a small
/// one does not.
pub const MAX_REFERENCE_COST: u64 = 1 << 20;

/// Printing then parsing gives a graph that prints the same (the text form's contract for
/// graphs numbered in definition order, which `GraphBuilder` and the parser produce).
pub fn check_text_round_trip(g: &Graph) {
    let text = print(g);
    let again = parse_unverified(&text)
        .unwrap_or_else(|e| panic!("printed graph does not parse back: {e}\n{text}"));
    let text_again = print(&again);
    assert_eq!(text, text_again, "printed graph does not print the same after parsing");
}

/// An estimate of the reference interpreter's work on `g`, `None` when it overflows.
pub fn reference_cost(g: &Graph) -> Option<u64> {
    let len = |t: &TensorType| t.checked_len().map(|n| n as u64);
    let mut total: u64 = 0;
    for v in &g.values {
        total = total.checked_add(len(&v.ty)?)?;
    }
    for n in &g.nodes {
        let out = &g.value(n.output).ty;
        let input = |i: usize| n.inputs.get(i).map(|&v| &g.value(v).ty);
        // Work per output element.
        let per: u64 = match &n.op {
            Op::QnnConv2d { conv, .. } | Op::Conv2d { conv, .. } => {
                let w = input(1)?;
                let o = *w.shape.get(conv.kernel_layout.output_axis())?;
                len(w)? / (o as u64).max(1)
            }
            Op::QnnDense { .. } | Op::Dense | Op::MatMul | Op::Softmax { .. } => {
                input(0)?.shape.iter().copied().max().unwrap_or(1) as u64
            }
            Op::QnnAvgPool2d { pool, .. } | Op::QnnMaxPool2d { pool } | Op::Pool2d { pool, .. } => {
                (pool.kernel[0] as u64).checked_mul(pool.kernel[1] as u64)?
            }
            Op::QnnGlobalAvgPool2d { .. } | Op::Sum { .. } => len(input(0)?)? / len(out)?.max(1),
            _ => 1,
        };
        total = total.checked_add(len(out)?.checked_mul(per.max(1))?)?;
    }
    Some(total)
}

/// A deterministic tensor of type `ty` whose values cover the dtype's range (both ends).
pub fn pattern(ty: &TensorType, salt: u64) -> Tensor {
    let n = ty.checked_len().unwrap_or(0);
    let mix = |i: usize| (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(salt) >> 24;
    match ty.dtype {
        DType::F32 => {
            let v = (0..n).map(|i| ((mix(i) % 512) as f32 - 256.0) * 0.0625).collect();
            Tensor::from_vec(&ty.shape, v)
        }
        dtype => {
            let (lo, hi) = dtype.int_range().unwrap_or((0, 0));
            let span = (hi - lo + 1) as u64;
            let v = (0..n).map(|i| match i % 7 {
                0 => lo,
                1 => hi,
                _ => lo + (mix(i) % span) as i64,
            });
            match dtype {
                DType::U8 => Tensor::from_vec(&ty.shape, v.map(|x| x as u8).collect()),
                DType::I8 => Tensor::from_vec(&ty.shape, v.map(|x| x as i8).collect()),
                DType::I16 => Tensor::from_vec(&ty.shape, v.map(|x| x as i16).collect()),
                _ => Tensor::from_vec(&ty.shape, v.map(|x| x as i32).collect()),
            }
        }
    }
    .expect("the pattern fills its own shape")
}

/// Runs the reference interpreter on `g` with patterned inputs when the graph verifies and
/// is cheap enough. Errors are fine (an accumulator overflow, a value out of range are
/// answers); a panic is a bug. Returns the outputs when it ran.
pub fn run_reference_if_cheap(g: &Graph, salt: u64) -> Option<Vec<Tensor>> {
    g.verify_with(&crate::LIMITS).ok()?;
    if reference_cost(g)? > MAX_REFERENCE_COST {
        return None;
    }
    let inputs: Vec<Tensor> = g.inputs.iter().map(|&i| pattern(&g.value(i).ty, salt)).collect();
    reference::run(g, &inputs).ok()
}
