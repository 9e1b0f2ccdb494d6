//! The 256-entry table of an element-wise chain of one 8-bit value: the chain's ops
//! evaluated by the reference interpreter on every value of the input dtype at once. Any
//! such chain — a requantize or clip of 8-bit data, a concatenation part's requantization,
//! `DequantizeLinear → f(x) → QuantizeLinear` — is then one lookup, exact by construction
//! (an element's result depends on its value only, and the reference computed it for every
//! value). Shared by the optimizer (concatenation parts) and the planner (element-wise
//! groups).

use std::collections::HashMap;

use qnn_ir::reference::eval_op;
use qnn_ir::{DType, Op, RequantScale, Tensor};
use qnn_kernels::lookup_table;

/// An operand of a [`ChainOp`]: a value of the chain (by key) or a constant.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ChainArg<'a> {
    Value(usize),
    Const(&'a Tensor),
}

/// One op of a chain: `output = op(inputs)`, values named by keys.
#[derive(Debug, Clone)]
pub(crate) struct ChainOp<'a> {
    pub op: &'a Op,
    pub inputs: Vec<ChainArg<'a>>,
    pub output: usize,
}

/// Whether `op` computes each output element from the same element of its operands alone
/// when every constant operand is one element (`Lookup`: its table aside).
fn pointwise(op: &Op) -> bool {
    match op {
        Op::Cast { .. }
        | Op::Add
        | Op::Subtract
        | Op::Multiply
        | Op::Divide
        | Op::Fma
        | Op::Round
        | Op::Clip { .. }
        | Op::Lookup => true,
        Op::Requantize { scale, .. } => match scale {
            RequantScale::Fixed { mults, .. } => mults.len() == 1,
            RequantScale::Float { mults } => mults.len() == 1,
        },
        _ => false,
    }
}

/// The kernel table (indexed by the element's byte, see `qnn_kernels::lookup_table`) of the
/// chain `ops` (in order) from the value keyed `input`, of the 8-bit `in_dtype`, to the
/// value keyed `output`, of the 8-bit `out_dtype`. `None` when the chain is not a function
/// of one element (an op of another kind, a constant of more than one element), or when
/// the reference refuses some input value (an integer overflow: the chain must keep
/// reporting it).
pub(crate) fn byte_table(
    input: usize,
    in_dtype: DType,
    ops: &[ChainOp<'_>],
    output: usize,
    out_dtype: DType,
) -> Option<[u8; 256]> {
    if !in_dtype.is_8bit() || !out_dtype.is_8bit() {
        return None;
    }
    let all: Vec<i64> = (0..256)
        .map(|b: i64| if in_dtype == DType::I8 { i64::from(b as u8 as i8) } else { b })
        .collect();
    let all = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[256]), all).ok()?;
    let x = Tensor::from_i64("lookup", in_dtype, all).ok()?;
    let mut values: HashMap<usize, Tensor> = HashMap::from([(input, x)]);
    for c in ops {
        if !pointwise(c.op) {
            return None;
        }
        let mut args = Vec::with_capacity(c.inputs.len());
        for (k, a) in c.inputs.iter().enumerate() {
            match *a {
                ChainArg::Value(v) => args.push(values.get(&v)?),
                // A lookup's table is its second operand; any other constant is one value.
                ChainArg::Const(t) if t.len() == 1 || (*c.op == Op::Lookup && k == 1) => {
                    args.push(t)
                }
                ChainArg::Const(_) => return None,
            }
        }
        let y = eval_op(c.op, &args).ok()?;
        values.insert(c.output, y);
    }
    let y = values.get(&output)?;
    if y.dtype() != out_dtype || y.len() != 256 {
        return None;
    }
    // Broadcasting against constants of a higher rank keeps the 256 elements in order.
    let ys: Vec<i64> = y.to_i64()?.iter().copied().collect();
    lookup_table(in_dtype, out_dtype, |v| ys[usize::from(v as u8)] as i32).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clip_of_i8_is_a_table_by_byte() {
        let clip = Op::Clip { min: -3.0, max: 5.0 };
        let ops = [ChainOp { op: &clip, inputs: vec![ChainArg::Value(0)], output: 1 }];
        let t = byte_table(0, DType::I8, &ops, 1, DType::I8).unwrap();
        assert_eq!(t[0], 0);
        assert_eq!(t[7] as i8, 5);
        assert_eq!(t[0xFF] as i8, -1); // −1
        assert_eq!(t[0x80] as i8, -3); // −128
    }

    #[test]
    fn overflow_and_wide_constants_are_not_tables() {
        let k = Tensor::from_vec(&[1], vec![100i8]).unwrap();
        let add = Op::Add;
        let ops = [ChainOp {
            op: &add,
            inputs: vec![ChainArg::Value(0), ChainArg::Const(&k)],
            output: 1,
        }];
        // 100 + 100 leaves i8: the reference reports it, a table would hide it.
        assert!(byte_table(0, DType::I8, &ops, 1, DType::I8).is_none());
        let k2 = Tensor::from_vec(&[2], vec![1i8, 2]).unwrap();
        let ops = [ChainOp {
            op: &add,
            inputs: vec![ChainArg::Value(0), ChainArg::Const(&k2)],
            output: 1,
        }];
        assert!(byte_table(0, DType::I8, &ops, 1, DType::I8).is_none());
    }
}
