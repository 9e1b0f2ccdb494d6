//! Import-time evaluation: `Constant` nodes, `Shape` (static shapes make it a constant), and
//! shape-like ops whose inputs are all constants (`Reshape`, `Flatten`, `Squeeze`,
//! `Unsqueeze`, `Concat`, `Gather`, `Cast`, `Identity`) — the shape arithmetic that exporters
//! such as PyTorch's emit around `Reshape`. The target shapes of the reshaping ops are
//! computed here too.

use super::context::Importer;
use super::node::{Form, Node};
use super::quantize::axis;
use std::borrow::Cow;

use crate::constant::{ConstData, Constant};
use crate::error::OnnxError;
use crate::onnx_type::OnnxType;

/// Folds `n` when it can be evaluated at import time.
pub(super) fn fold(im: &mut Importer<'_>, n: &Node<'_>) -> Result<Option<Form>, OnnxError> {
    let out = match n.op() {
        "Constant" => constant_node(n)?,
        "Shape" => {
            n.arity(1, 1, 1)?;
            let shape = im.input_type(n, 0)?.shape;
            let rank = shape.len() as i64;
            let clamp = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
            let start = clamp(n.attrs.int_or("start", 0)?);
            let end = clamp(n.attrs.int_or("end", rank)?);
            let dims = shape.get(start..end.max(start)).unwrap_or(&[]);
            Constant::i64s(dims.iter().map(|&d| d as i64).collect())
        }
        op => {
            let foldable = matches!(
                op,
                "Identity"
                    | "Reshape"
                    | "Flatten"
                    | "Squeeze"
                    | "Unsqueeze"
                    | "Concat"
                    | "Gather"
                    | "Cast"
            );
            let all_const = (0..n.p.input.len()).all(|i| n.input(i).is_none_or(|s| im.is_const(s)));
            if !foldable || !all_const || n.input(0).is_none() {
                return Ok(None);
            }
            let x = im.constant(n, 0)?;
            match op {
                "Identity" => (*x).clone(),
                "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" => {
                    let shape = reshaped(im, n, &x.shape)?;
                    Constant { ty: x.ty, shape, data: x.data.clone() }
                }
                "Concat" => concat(im, n)?,
                "Gather" => gather(im, n, &x)?,
                _ => cast(n, &x)?,
            }
        }
    };
    im.bind_const(n.output(0)?, out)?;
    Ok(Some(Form::Folded))
}

fn constant_node(n: &Node<'_>) -> Result<Constant, OnnxError> {
    let a = &n.attrs;
    if let Some(t) = a.tensor("value")? {
        return Ok(t);
    }
    if let Some(f) = a.float("value_float")? {
        return Ok(Constant {
            ty: OnnxType::FLOAT,
            shape: vec![],
            data: ConstData::Float(vec![f]),
        });
    }
    if let Some(i) = a.int("value_int")? {
        return Ok(Constant { ty: OnnxType::INT64, shape: vec![], data: ConstData::Int(vec![i]) });
    }
    if let Some(v) = a.floats("value_floats")? {
        return Ok(Constant {
            ty: OnnxType::FLOAT,
            shape: vec![v.len()],
            data: ConstData::Float(v),
        });
    }
    if let Some(v) = a.ints("value_ints")? {
        return Ok(Constant::i64s(v));
    }
    Err(n.unsupported("a Constant needs `value`, `value_float(s)` or `value_int(s)` (strings and sparse tensors are not supported)"))
}

/// The output shape of `Reshape`, `Flatten`, `Squeeze` or `Unsqueeze` on `input`.
pub(super) fn reshaped(
    im: &Importer<'_>,
    n: &Node<'_>,
    input: &[usize],
) -> Result<Vec<usize>, OnnxError> {
    let rank = input.len();
    let product = |dims: &[usize]| -> Result<usize, OnnxError> {
        dims.iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| n.unsupported(format!("shape {dims:?} has too many elements")))
    };
    let total = product(input)?;
    let axes_of = |im: &Importer<'_>,
                   n: &Node<'_>,
                   out_rank: usize|
     -> Result<Option<Vec<usize>>, OnnxError> {
        let raw = if im.m.opset >= 13 {
            im.opt_constant(n, 1)?.map(|c| c.ints().map(Cow::into_owned).unwrap_or_default())
        } else {
            n.attrs.ints("axes")?
        };
        raw.map(|v| v.iter().map(|&a| axis(n, "axes", a, out_rank)).collect()).transpose()
    };
    match n.op() {
        "Reshape" => {
            n.arity(2, 2, 1)?;
            let allow_zero = n.attrs.flag("allowzero", false)?;
            let spec = im.constant(n, 1)?;
            let spec = spec.ints().ok_or_else(|| n.input_error(1, "shape must be INT64"))?;
            let mut shape = Vec::with_capacity(spec.len());
            let mut infer = None;
            for (i, &d) in spec.iter().enumerate() {
                match d {
                    -1 if infer.is_none() => {
                        infer = Some(i);
                        shape.push(1);
                    }
                    0 if !allow_zero => shape.push(*input.get(i).ok_or_else(|| {
                        n.input_error(1, format!("0 at {i} copies a dimension the input lacks"))
                    })?),
                    d if d >= 0 => shape.push(d as usize),
                    _ => return Err(n.input_error(1, format!("shape {spec:?} is invalid"))),
                }
            }
            if let Some(i) = infer {
                let known = product(&shape)?;
                if known == 0 || !total.is_multiple_of(known) {
                    return Err(n.input_error(1, format!("shape {spec:?} does not fit {input:?}")));
                }
                shape[i] = total / known;
            }
            // A folded constant keeps its data: a shape of another element count would make
            // later folding index past it.
            if product(&shape).ok() != Some(total) {
                return Err(n.input_error(1, format!("shape {spec:?} does not fit {input:?}")));
            }
            Ok(shape)
        }
        "Flatten" => {
            n.arity(1, 1, 1)?;
            let ax = axis(n, "axis", n.attrs.int_or("axis", 1)?, rank + 1)?;
            Ok(vec![product(&input[..ax])?, product(&input[ax..])?])
        }
        "Squeeze" => {
            n.arity(1, 2, 1)?;
            let axes = axes_of(im, n, rank)?;
            let keep = |i: usize| match &axes {
                Some(a) => !a.contains(&i),
                None => input[i] != 1,
            };
            if let Some(bad) = axes.iter().flatten().find(|&&a| input[a] != 1) {
                return Err(n.unsupported(format!("axis {bad} of {input:?} is not 1")));
            }
            Ok((0..rank).filter(|&i| keep(i)).map(|i| input[i]).collect())
        }
        _ => {
            n.arity(1, 2, 1)?;
            let mut axes =
                axes_of(im, n, usize::MAX)?.ok_or_else(|| n.attrs.error("axes", "is required"))?;
            let out_rank = rank + axes.len();
            // Negative axes count from the end of the output.
            let raw = if im.m.opset >= 13 {
                im.opt_constant(n, 1)?
                    .map(|c| c.ints().map(Cow::into_owned).unwrap_or_default())
                    .unwrap_or_default()
            } else {
                n.attrs.ints("axes")?.unwrap_or_default()
            };
            axes = raw.iter().map(|&a| axis(n, "axes", a, out_rank)).collect::<Result<_, _>>()?;
            let mut shape = Vec::with_capacity(out_rank);
            let mut rest = input.iter();
            for i in 0..out_rank {
                if axes.contains(&i) {
                    shape.push(1);
                } else {
                    shape.push(*rest.next().ok_or_else(|| n.unsupported("repeated axes"))?);
                }
            }
            Ok(shape)
        }
    }
}

fn concat(im: &Importer<'_>, n: &Node<'_>) -> Result<Constant, OnnxError> {
    let parts: Vec<_> =
        (0..n.p.input.len()).map(|i| im.constant(n, i)).collect::<Result<_, _>>()?;
    let first = &parts[0];
    let rank = first.shape.len();
    let ax = axis(
        n,
        "axis",
        n.attrs.int("axis")?.ok_or_else(|| n.attrs.error("axis", "is required"))?,
        rank,
    )?;
    let same = |p: &Constant| {
        p.ty == first.ty
            && p.shape.len() == rank
            && p.shape.iter().zip(&first.shape).enumerate().all(|(d, (a, b))| d == ax || a == b)
    };
    if !parts.iter().all(|p| same(p)) {
        return Err(n.unsupported("constant inputs of different types or shapes"));
    }
    let outer: usize = first.shape[..ax].iter().product();
    let mut shape = first.shape.clone();
    shape[ax] = parts.iter().map(|p| p.shape[ax]).sum();
    let chunk = |p: &Constant| p.shape[ax..].iter().product::<usize>();
    macro_rules! join {
        ($variant:ident) => {{
            let mut v = Vec::new();
            for o in 0..outer {
                for p in &parts {
                    let ConstData::$variant(d) = &p.data.widened().into_owned() else {
                        return Err(n.unsupported("mixed constant data"));
                    };
                    let c = chunk(p);
                    v.extend_from_slice(&d[o * c..(o + 1) * c]);
                }
            }
            ConstData::$variant(v)
        }};
    }
    let data = match first.data.widened().as_ref() {
        ConstData::Int(_) => join!(Int),
        ConstData::Float(_) => join!(Float),
        ConstData::Double(_) => join!(Double),
        ConstData::Typed(_) => return Err(n.unsupported("a typed constant")),
    };
    Ok(Constant { ty: first.ty, shape, data })
}

/// `Gather` along axis 0 of a constant (the `Shape → Gather` idiom).
fn gather(im: &Importer<'_>, n: &Node<'_>, x: &Constant) -> Result<Constant, OnnxError> {
    let idx = im.constant(n, 1)?;
    if n.attrs.int_or("axis", 0)? != 0 || x.shape.len() != 1 {
        return Err(n.unsupported("only Gather along axis 0 of 1-D constants is folded"));
    }
    let len = x.shape[0] as i64;
    let picks: Vec<usize> = idx
        .ints()
        .unwrap_or_default()
        .iter()
        .map(|&i| {
            let j = if i < 0 { i.saturating_add(len) } else { i };
            usize::try_from(j)
                .ok()
                .filter(|&j| (j as i64) < len)
                .ok_or_else(|| n.input_error(1, format!("index {i} outside {len}")))
        })
        .collect::<Result<_, _>>()?;
    let data = match x.data.widened().as_ref() {
        ConstData::Int(v) => ConstData::Int(picks.iter().map(|&i| v[i]).collect()),
        ConstData::Float(v) => ConstData::Float(picks.iter().map(|&i| v[i]).collect()),
        ConstData::Double(v) => ConstData::Double(picks.iter().map(|&i| v[i]).collect()),
        ConstData::Typed(_) => return Err(n.unsupported("a typed constant")),
    };
    Ok(Constant { ty: x.ty, shape: idx.shape.clone(), data })
}

fn cast(n: &Node<'_>, x: &Constant) -> Result<Constant, OnnxError> {
    let to = OnnxType(n.attrs.int("to")?.ok_or_else(|| n.attrs.error("to", "is required"))? as i32);
    let _ = n.attrs.int("saturate")?;
    let data = match (x.data.widened().as_ref(), to) {
        (_, t) if t == x.ty => x.data.clone(),
        (ConstData::Int(v), OnnxType::FLOAT) => {
            ConstData::Float(v.iter().map(|&i| i as f32).collect())
        }
        (ConstData::Int(v), t) if t.is_integer() => ConstData::Int(v.clone()),
        (ConstData::Float(v), OnnxType::INT64 | OnnxType::INT32) => {
            ConstData::Int(v.iter().map(|&f| f as i64).collect())
        }
        _ => {
            return Err(n
                .attrs
                .error("to", format!("casting a {} constant to {to} is not supported", x.ty)));
        }
    };
    Ok(Constant { ty: to, shape: x.shape.clone(), data })
}
