//! `resize`: ONNX `Resize` / `Upsample` as ONNX Runtime's CPU kernel (`Upsample<T>`)
//! computes it on u8, i8 and f32 data.
//!
//! * An output of the input's shape is a copy.
//! * `nearest`, any rank: per axis, output index `o` reads input index
//!   `clamp(pick(original(o)), 0, in − 1)`; an axis of scale 1 (rank ≥ 2) reads `o`; under
//!   `tf_crop_and_resize` a coordinate outside `[0, in − 1]` gives the extrapolation value.
//! * `linear` over axes (h, w): per axis `v = clamp(original(o), 0, in − 1)` (`o` itself at
//!   scale 1), `i1 = trunc(v)`, `i2 = min(i1 + 1, in − 1)`, `d1 = |v − i1|`, `d2 = |v − i2|`
//!   (both 0.5 when `i1 == i2`); the output is, in f32 and in this order,
//!   `dx2·dy2·X11 + dx1·dy2·X21 + dx2·dy1·X12 + dx1·dy1·X22`.
//! * `cubic` over axes (h, w): Keys coefficients of `s = v − floor(v)` (f32, `a` =
//!   `cubic_coeff_a`), renormalized over the cells inside when `exclude_outside`; rows first:
//!   `r_j = Σ_i (cx_i / sx) · X[y+j−1, x+i−1]` (indices clamped), then `Σ_j r_j · cy_j / sy`.
//! * An f32 result stored into u8 / i8 is C++'s `static_cast`: truncation toward zero to a
//!   32-bit integer, of which the low byte is kept (cubic overshoot wraps, as in ORT).

use ndarray::{ArrayD, IxDyn};

use super::support::{attr_error, shape_error};
use crate::error::IrError;
use crate::ops::{CoordinateMode, ResizeAttrs, ResizeMode};
use crate::tensor::{Element, Tensor};

/// An element type `resize` computes on.
trait Cell: Element {
    fn to_f32(self) -> f32;
    /// C++'s `static_cast<T>(float)` on x86-64.
    fn from_f32(v: f32) -> Self;
}

impl Cell for u8 {
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
    fn from_f32(v: f32) -> Self {
        v as i32 as u8
    }
}

impl Cell for i8 {
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
    fn from_f32(v: f32) -> Self {
        v as i32 as i8
    }
}

impl Cell for f32 {
    fn to_f32(self) -> f32 {
        self
    }
    fn from_f32(v: f32) -> Self {
        v
    }
}

pub(super) fn resize(op: &str, x: &Tensor, r: &ResizeAttrs) -> Result<Tensor, IrError> {
    check(op, x.shape(), r)?;
    Ok(match x {
        Tensor::U8(a) => Tensor::U8(run(a, r)),
        Tensor::I8(a) => Tensor::I8(run(a, r)),
        Tensor::F32(a) => Tensor::F32(run(a, r)),
        _ => {
            return Err(IrError::DType {
                op: op.into(),
                index: 0,
                got: x.dtype(),
                expected: "u8, i8 or f32".into(),
            });
        }
    })
}

/// The output shape of `resize` on `input`, or the attribute that does not fit.
pub(crate) fn check(op: &str, input: &[usize], r: &ResizeAttrs) -> Result<(), IrError> {
    let rank = input.len();
    if rank == 0 {
        return Err(shape_error(op, "resize needs rank ≥ 1"));
    }
    if r.sizes.len() != rank || r.scales.len() != rank {
        return Err(attr_error(op, "sizes", format!("{:?}", r.sizes), "needs one entry per axis"));
    }
    if !(r.roi.is_empty() || r.roi.len() == 2 * rank) {
        return Err(attr_error(op, "roi", format!("{:?}", r.roi), "needs 2 × rank entries"));
    }
    if r.scales.iter().any(|s| !(*s > 0.0 && s.is_finite())) {
        return Err(attr_error(op, "scales", format!("{:?}", r.scales), "scales must be > 0"));
    }
    if input.iter().zip(&r.sizes).any(|(&i, &o)| (i == 0) != (o == 0)) {
        return Err(shape_error(op, format!("cannot resize {input:?} to {:?}", r.sizes)));
    }
    match r.mode {
        ResizeMode::Nearest => {
            if !r.axes.is_empty() {
                return Err(attr_error(
                    op,
                    "axes",
                    format!("{:?}", r.axes),
                    "nearest takes no axes",
                ));
            }
        }
        ResizeMode::Linear | ResizeMode::Cubic => {
            let ok = r.axes.len() == 2
                && r.axes[0] < r.axes[1]
                && r.axes[1] < rank
                && (0..rank).all(|a| r.axes.contains(&a) || input[a] == r.sizes[a]);
            if !ok {
                return Err(attr_error(
                    op,
                    "axes",
                    format!("{:?}", r.axes),
                    "needs two interpolated axes (height < width); the others keep their size",
                ));
            }
        }
    }
    Ok(())
}

/// The input coordinate of output index `o` on `axis`, unclamped.
fn original(r: &ResizeAttrs, input: &[usize], axis: usize, o: usize) -> f32 {
    r.original(input, axis, o)
}

fn extrapolates(r: &ResizeAttrs) -> bool {
    r.coordinate == CoordinateMode::TfCropAndResize
}

fn run<T: Cell>(x: &ArrayD<T>, r: &ResizeAttrs) -> ArrayD<T> {
    let input = x.shape().to_vec();
    if input == r.sizes {
        return x.clone();
    }
    let x = x.as_standard_layout();
    let data = x.as_slice().expect("standard layout");
    let out = match r.mode {
        ResizeMode::Nearest => nearest(data, &input, r),
        ResizeMode::Linear => planes(data, &input, r, linear_plane),
        ResizeMode::Cubic => planes(data, &input, r, cubic_plane),
    };
    ArrayD::from_shape_vec(IxDyn(&r.sizes), out).expect("output shape")
}

fn nearest<T: Cell>(data: &[T], input: &[usize], r: &ResizeAttrs) -> Vec<T> {
    let maps = r.nearest_maps(input);
    let rank = input.len();
    let mut strides = vec![1usize; rank];
    for a in (0..rank.saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * input[a + 1];
    }
    let extra = T::from_f32(r.extrapolation_value);
    let total: usize = r.sizes.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut idx = vec![0usize; rank];
    for _ in 0..total {
        let mut flat = Some(0usize);
        for a in 0..rank {
            flat = match (flat, maps[a][idx[a]]) {
                (Some(f), Some(i)) => Some(f + i * strides[a]),
                _ => None,
            };
        }
        out.push(flat.map_or(extra, |f| data[f]));
        for a in (0..rank).rev() {
            idx[a] += 1;
            if idx[a] < r.sizes[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    out
}

/// One 2-D plane: input `h × w` (row stride `w`), output `oh × ow`.
struct Plane<'a, T> {
    x: &'a [T],
    h: usize,
    w: usize,
}

/// Runs `f` on every (h, w) plane of the interpolated axes, the other axes looped over.
fn planes<T: Cell>(
    data: &[T],
    input: &[usize],
    r: &ResizeAttrs,
    f: fn(&Plane<'_, T>, &ResizeAttrs, [usize; 2], &mut Vec<T>),
) -> Vec<T> {
    let [ha, wa] = [r.axes[0], r.axes[1]];
    let (h, w) = (input[ha], input[wa]);
    // The plane is contiguous when the interpolated axes are the last two; otherwise the
    // cells are gathered into one (the other axes keep their size).
    let outer: Vec<usize> = (0..input.len()).filter(|a| *a != ha && *a != wa).collect();
    let mut strides = vec![1usize; input.len()];
    for a in (0..input.len().saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * input[a + 1];
    }
    let count: usize = outer.iter().map(|&a| input[a]).product();
    let (oh, ow) = (r.sizes[ha], r.sizes[wa]);
    let mut planes_out: Vec<Vec<T>> = Vec::with_capacity(count);
    let mut idx = vec![0usize; outer.len()];
    let mut buf = Vec::with_capacity(h * w);
    for _ in 0..count {
        let base: usize = outer.iter().zip(&idx).map(|(&a, &i)| i * strides[a]).sum();
        buf.clear();
        for y in 0..h {
            for x in 0..w {
                buf.push(data[base + y * strides[ha] + x * strides[wa]]);
            }
        }
        let mut plane_out = Vec::with_capacity(oh * ow);
        f(&Plane { x: &buf, h, w }, r, [ha, wa], &mut plane_out);
        planes_out.push(plane_out);
        for k in (0..outer.len()).rev() {
            idx[k] += 1;
            if idx[k] < input[outer[k]] {
                break;
            }
            idx[k] = 0;
        }
    }
    // Scatter back in the output's row-major order.
    let rank = input.len();
    let total: usize = r.sizes.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut oidx = vec![0usize; rank];
    for _ in 0..total {
        let mut p = 0;
        for &a in &outer {
            p = p * input[a] + oidx[a];
        }
        out.push(planes_out[p][oidx[ha] * ow + oidx[wa]]);
        for a in (0..rank).rev() {
            oidx[a] += 1;
            if oidx[a] < r.sizes[a] {
                break;
            }
            oidx[a] = 0;
        }
    }
    out
}

/// The coordinate of output index `o` on `axis` (`o` at scale 1), unclamped.
fn coordinate(r: &ResizeAttrs, input: &[usize], axis: usize, o: usize) -> f32 {
    if r.scales[axis] == 1.0 { o as f32 } else { original(r, input, axis, o) }
}

/// Bilinear taps of one axis: (original, i1, i2, d1, d2).
fn linear_taps(
    r: &ResizeAttrs,
    input: &[usize],
    axis: usize,
) -> Vec<(f32, usize, usize, f32, f32)> {
    let n = input[axis];
    (0..r.sizes[axis])
        .map(|o| {
            let orig = coordinate(r, input, axis, o);
            let v = orig.min((n - 1) as f32).max(0.0);
            let i1 = (v as usize).min(n - 1);
            let i2 = (i1 + 1).min(n - 1);
            let (d1, d2) =
                if i1 == i2 { (0.5, 0.5) } else { ((v - i1 as f32).abs(), (v - i2 as f32).abs()) };
            (orig, i1, i2, d1, d2)
        })
        .collect()
}

fn full_shape(p: &Plane<'_, impl Cell>, r: &ResizeAttrs, [ha, wa]: [usize; 2]) -> Vec<usize> {
    let mut s = r.sizes.clone();
    s[ha] = p.h;
    s[wa] = p.w;
    s
}

fn outside(v: f32, n: usize) -> bool {
    v < 0.0 || v > (n - 1) as f32
}

fn linear_plane<T: Cell>(p: &Plane<'_, T>, r: &ResizeAttrs, axes: [usize; 2], out: &mut Vec<T>) {
    let input = full_shape(p, r, axes);
    let ys = linear_taps(r, &input, axes[0]);
    let xs = linear_taps(r, &input, axes[1]);
    let at = |y: usize, x: usize| p.x[y * p.w + x].to_f32();
    for &(yo, y1, y2, dy1, dy2) in &ys {
        for &(xo, x1, x2, dx1, dx2) in &xs {
            if extrapolates(r) && (outside(yo, p.h) || outside(xo, p.w)) {
                out.push(T::from_f32(r.extrapolation_value));
                continue;
            }
            let v = dx2 * dy2 * at(y1, x1)
                + dx1 * dy2 * at(y1, x2)
                + dx2 * dy1 * at(y2, x1)
                + dx1 * dy1 * at(y2, x2);
            out.push(T::from_f32(v));
        }
    }
}

/// Keys' cubic convolution coefficients for the fractional offset `s`.
fn cubic_coeffs(s: f32, a: f32) -> [f32; 4] {
    let s = s.abs();
    let far = |t: f32| ((a * t - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a;
    let near = |t: f32| ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0;
    [far(s + 1.0), near(s), near(1.0 - s), far(2.0 - s)]
}

/// Per output index of one axis: (original, floor, coefficients, their sum).
fn cubic_taps(r: &ResizeAttrs, input: &[usize], axis: usize) -> Vec<(f32, i64, [f32; 4], f32)> {
    let n = input[axis] as i64;
    (0..r.sizes[axis])
        .map(|o| {
            let v = coordinate(r, input, axis, o);
            let base = v.floor() as i64;
            let mut c = cubic_coeffs(v - base as f32, r.cubic_coeff_a);
            let mut sum = 1.0f32;
            if r.exclude_outside {
                sum = 0.0;
                for (i, ci) in c.iter_mut().enumerate() {
                    let k = base - 1 + i as i64;
                    if k < 0 || k >= n {
                        *ci = 0.0;
                    }
                    sum += *ci;
                }
            }
            (v, base, c, sum)
        })
        .collect()
}

fn cubic_plane<T: Cell>(p: &Plane<'_, T>, r: &ResizeAttrs, axes: [usize; 2], out: &mut Vec<T>) {
    let input = full_shape(p, r, axes);
    let ys = cubic_taps(r, &input, axes[0]);
    let xs = cubic_taps(r, &input, axes[1]);
    let at = |y: i64, x: i64| {
        let y = y.clamp(0, p.h as i64 - 1) as usize;
        let x = x.clamp(0, p.w as i64 - 1) as usize;
        p.x[y * p.w + x].to_f32()
    };
    for &(yo, yb, cy, sy) in &ys {
        for &(xo, xb, cx, sx) in &xs {
            if extrapolates(r) && (outside(yo, p.h) || outside(xo, p.w)) {
                out.push(T::from_f32(r.extrapolation_value));
                continue;
            }
            let mut result = 0.0f32;
            for (j, &cyj) in cy.iter().enumerate() {
                let row = yb - 1 + j as i64;
                let mut rx = 0.0f32;
                for (i, &cxi) in cx.iter().enumerate() {
                    rx += cxi / sx * at(row, xb - 1 + i as i64);
                }
                result += rx * cyj / sy;
            }
            out.push(T::from_f32(result));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::NearestMode;

    fn attrs(mode: ResizeMode, input: &[usize], sizes: &[usize]) -> ResizeAttrs {
        ResizeAttrs {
            mode,
            coordinate: CoordinateMode::Asymmetric,
            nearest: NearestMode::Floor,
            sizes: sizes.to_vec(),
            scales: input.iter().zip(sizes).map(|(&i, &o)| o as f32 / i as f32).collect(),
            roi: vec![],
            axes: if mode == ResizeMode::Nearest { vec![] } else { vec![2, 3] },
            cubic_coeff_a: -0.75,
            exclude_outside: false,
            extrapolation_value: 0.0,
        }
    }

    #[test]
    fn nearest_twice_repeats_cells() {
        let x = Tensor::U8(ArrayD::from_shape_vec(IxDyn(&[1, 1, 2, 2]), vec![1, 2, 3, 4]).unwrap());
        let r = attrs(ResizeMode::Nearest, &[1, 1, 2, 2], &[1, 1, 4, 4]);
        let y = resize("r", &x, &r).unwrap();
        let v: Vec<u8> = y.as_array::<u8>().unwrap().iter().copied().collect();
        assert_eq!(v, [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    }

    #[test]
    fn linear_truncates_u8() {
        // asymmetric ×2: the middle column is (10 + 15) / 2 = 12.5 → 12.
        let x = Tensor::U8(ArrayD::from_shape_vec(IxDyn(&[1, 1, 1, 2]), vec![10, 15]).unwrap());
        let r = attrs(ResizeMode::Linear, &[1, 1, 1, 2], &[1, 1, 1, 4]);
        let y = resize("r", &x, &r).unwrap();
        let v: Vec<u8> = y.as_array::<u8>().unwrap().iter().copied().collect();
        assert_eq!(v, [10, 12, 15, 15]);
    }

    #[test]
    fn cubic_coefficients_sum_to_one() {
        for s in [0.0f32, 0.25, 0.5, 0.75] {
            let c = cubic_coeffs(s, -0.75);
            assert!((c.iter().sum::<f32>() - 1.0).abs() < 1e-6, "{s}: {c:?}");
        }
    }
}
