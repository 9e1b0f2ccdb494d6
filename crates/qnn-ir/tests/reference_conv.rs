//! The reference `conv2d` and `qnn.conv2d` against an independently written naive
//! convolution: explicit layout index formulas into NCHW/OIHW, then per group an im2col matrix
//! (one row per output pixel, one column per (c, r, s)) times the weight matrix.

mod reference_common;

use proptest::prelude::*;
use qnn_ir::reference::eval_op;
use qnn_ir::{Conv2dAttrs, DType, DataLayout, IrError, KernelLayout, Op, QuantParams, Tensor};
use reference_common::{config, value_of, zero_point_of};

#[derive(Debug, Clone)]
struct Geometry {
    n: usize,
    groups: usize,
    c_group: usize,
    o_group: usize,
    h: usize,
    w: usize,
    r: usize,
    s: usize,
    strides: [usize; 2],
    dilation: [usize; 2],
    padding: [usize; 4],
    data_layout: DataLayout,
    kernel_layout: KernelLayout,
}

impl Geometry {
    fn c(&self) -> usize {
        self.groups * self.c_group
    }
    fn o(&self) -> usize {
        self.groups * self.o_group
    }
    fn out_hw(&self) -> (usize, usize) {
        let [pt, pl, pb, pr] = self.padding;
        let oh = (self.h + pt + pb - (self.dilation[0] * (self.r - 1) + 1)) / self.strides[0] + 1;
        let ow = (self.w + pl + pr - (self.dilation[1] * (self.s - 1) + 1)) / self.strides[1] + 1;
        (oh, ow)
    }
    fn data_shape(&self) -> Vec<usize> {
        match self.data_layout {
            DataLayout::Nchw => vec![self.n, self.c(), self.h, self.w],
            DataLayout::Nhwc => vec![self.n, self.h, self.w, self.c()],
        }
    }
    fn kernel_shape(&self) -> Vec<usize> {
        let (o, i, r, s) = (self.o(), self.c_group, self.r, self.s);
        match self.kernel_layout {
            KernelLayout::Oihw => vec![o, i, r, s],
            KernelLayout::Ohwi => vec![o, r, s, i],
            KernelLayout::Hwio => vec![r, s, i, o],
        }
    }
    /// Flat offset of data element (n, c, y, x) in the data layout.
    fn data_offset(&self, n: usize, c: usize, y: usize, x: usize) -> usize {
        let (cc, h, w) = (self.c(), self.h, self.w);
        match self.data_layout {
            DataLayout::Nchw => ((n * cc + c) * h + y) * w + x,
            DataLayout::Nhwc => ((n * h + y) * w + x) * cc + c,
        }
    }
    /// Flat offset of kernel element (o, i, r, s) in the kernel layout.
    fn kernel_offset(&self, o: usize, i: usize, r: usize, s: usize) -> usize {
        let (oo, ii, rr, ss) = (self.o(), self.c_group, self.r, self.s);
        match self.kernel_layout {
            KernelLayout::Oihw => ((o * ii + i) * rr + r) * ss + s,
            KernelLayout::Ohwi => ((o * rr + r) * ss + s) * ii + i,
            KernelLayout::Hwio => ((r * ss + s) * ii + i) * oo + o,
        }
    }
    /// Flat offset of output element (n, k, y, x) in the data layout.
    fn out_offset(&self, n: usize, k: usize, y: usize, x: usize) -> usize {
        let (oh, ow) = self.out_hw();
        match self.data_layout {
            DataLayout::Nchw => ((n * self.o() + k) * oh + y) * ow + x,
            DataLayout::Nhwc => ((n * oh + y) * ow + x) * self.o() + k,
        }
    }
    fn attrs(&self) -> Conv2dAttrs {
        Conv2dAttrs {
            strides: self.strides,
            padding: self.padding,
            dilation: self.dilation,
            groups: self.groups,
            data_layout: self.data_layout,
            kernel_layout: self.kernel_layout,
        }
    }
}

fn geometry() -> impl Strategy<Value = Geometry> {
    let layouts = (
        prop::sample::select(vec![DataLayout::Nchw, DataLayout::Nhwc]),
        prop::sample::select(vec![KernelLayout::Oihw, KernelLayout::Ohwi, KernelLayout::Hwio]),
    );
    (
        1..=2usize,
        // (groups, input channels per group, output channels per group); depthwise is
        // c_group = 1 with groups = C and channel multiplier o_group.
        prop_oneof![(1..=3usize, 1..=3usize, 1..=3usize), (1..=5usize, Just(1usize), 1..=3usize),],
        (1..=3usize, 1..=3usize),
        (1..=3usize, 1..=3usize),
        (1..=2usize, 1..=2usize),
        (0..=2usize, 0..=2usize, 0..=2usize, 0..=2usize),
        (0..=3usize, 0..=3usize),
        layouts,
    )
        .prop_map(
            |(n, (groups, c_group, o_group), (r, s), (sh, sw), (dh, dw), pads, extra, layouts)| {
                let (pt, pl, pb, pr) = pads;
                // Smallest input the dilated window fits, plus some.
                let fit = |k: usize, d: usize, p: usize| (d * (k - 1) + 1).saturating_sub(p).max(1);
                Geometry {
                    n,
                    groups,
                    c_group,
                    o_group,
                    h: fit(r, dh, pt + pb) + extra.0,
                    w: fit(s, dw, pl + pr) + extra.1,
                    r,
                    s,
                    strides: [sh, sw],
                    dilation: [dh, dw],
                    padding: [pt, pl, pb, pr],
                    data_layout: layouts.0,
                    kernel_layout: layouts.1,
                }
            },
        )
}

/// The convolution by im2col: for group g, rows = (n, y, x), columns = (c, r, s);
/// `A[row][col]` the padded data at that window cell (`pad` in the padding), minus `a`;
/// `B[col][k]` the kernel minus `w_k`; the output is `A · B`.
fn naive_conv(
    g: &Geometry,
    data: &[i64],
    kernel: &[i64],
    pad: i64,
    a: i64,
    w_zp: &dyn Fn(usize) -> i64,
) -> Vec<i64> {
    let (oh, ow) = g.out_hw();
    let [sh, sw] = g.strides;
    let [dh, dw] = g.dilation;
    let [pt, pl, _, _] = g.padding;
    let mut out = vec![0i64; g.n * g.o() * oh * ow];
    for grp in 0..g.groups {
        let rows: Vec<(usize, usize, usize)> = (0..g.n)
            .flat_map(|n| (0..oh).flat_map(move |y| (0..ow).map(move |x| (n, y, x))))
            .collect();
        let cols: Vec<(usize, usize, usize)> = (0..g.c_group)
            .flat_map(|c| (0..g.r).flat_map(move |r| (0..g.s).map(move |s| (c, r, s))))
            .collect();
        let im2col: Vec<Vec<i64>> = rows
            .iter()
            .map(|&(n, y, x)| {
                cols.iter()
                    .map(|&(c, r, s)| {
                        let py = (y * sh + r * dh) as isize - pt as isize;
                        let px = (x * sw + s * dw) as isize - pl as isize;
                        let inside =
                            py >= 0 && px >= 0 && (py as usize) < g.h && (px as usize) < g.w;
                        let v = if inside {
                            data[g.data_offset(n, grp * g.c_group + c, py as usize, px as usize)]
                        } else {
                            pad
                        };
                        v - a
                    })
                    .collect()
            })
            .collect();
        for kk in 0..g.o_group {
            let k = grp * g.o_group + kk;
            let column: Vec<i64> = cols
                .iter()
                .map(|&(c, r, s)| kernel[g.kernel_offset(k, c, r, s)] - w_zp(k))
                .collect();
            for (row, &(n, y, x)) in im2col.iter().zip(&rows) {
                out[g.out_offset(n, k, y, x)] = row.iter().zip(&column).map(|(p, q)| p * q).sum();
            }
        }
    }
    out
}

fn tensor(dtype: DType, shape: &[usize], v: &[i64]) -> Tensor {
    let a = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), v.to_vec()).unwrap();
    Tensor::from_i64("test", dtype, a).unwrap()
}

/// Compares the reference result with the naive one: equal when every value fits i32, an
/// accumulator overflow otherwise.
fn check(result: Result<Tensor, IrError>, naive: &[i64]) -> Result<(), TestCaseError> {
    if naive.iter().all(|&v| DType::I32.contains(v)) {
        let y = result.map_err(|e| TestCaseError::fail(e.to_string()))?;
        let got: Vec<i64> = y.to_i64().unwrap().iter().copied().collect();
        prop_assert_eq!(got, naive.to_vec());
    } else {
        prop_assert!(matches!(result, Err(IrError::AccumulatorOverflow { .. })), "{:?}", result);
    }
    Ok(())
}

fn case(dtypes: Vec<DType>) -> impl Strategy<Value = (Geometry, DType, DType, Vec<i64>, Vec<i64>)> {
    let pick = prop::sample::select(dtypes);
    (geometry(), pick.clone(), pick).prop_flat_map(|(g, dd, kd)| {
        let nd = g.data_shape().iter().product::<usize>();
        let nk = g.kernel_shape().iter().product::<usize>();
        (
            Just(g),
            Just(dd),
            Just(kd),
            prop::collection::vec(value_of(dd), nd),
            prop::collection::vec(value_of(kd), nk),
        )
    })
}

proptest! {
    #![proptest_config(config(1024))]

    /// Core `conv2d`: u8/i8/i16 operands, padding with a pad value.
    #[test]
    fn core_conv2d_matches_im2col(
        (g, dd, kd, data, kernel) in case(vec![DType::U8, DType::I8, DType::I16]),
        pad_pick in any::<prop::sample::Index>(),
    ) {
        let (lo, hi) = dd.int_range().unwrap();
        let pads = [lo, hi, 0, lo / 2 + hi / 2];
        let pad_value = pads[pad_pick.index(pads.len())];
        let op = Op::Conv2d { conv: g.attrs(), pad_value: pad_value as i32 };
        let x = tensor(dd, &g.data_shape(), &data);
        let w = tensor(kd, &g.kernel_shape(), &kernel);
        let naive = naive_conv(&g, &data, &kernel, pad_value, 0, &|_| 0);
        check(eval_op(&op, &[&x, &w]), &naive)?;
    }

    /// `qnn.conv2d`: u8/i8 operands, padding with the data zero point, kernel zero points per
    /// tensor or per output channel (along the kernel layout's output axis).
    #[test]
    fn qnn_conv2d_matches_im2col(
        (g, dd, kd, data, kernel) in case(vec![DType::U8, DType::I8]),
        zps in (zero_point_of(DType::U8), zero_point_of(DType::I8), prop::collection::vec(zero_point_of(DType::U8), 15), prop::collection::vec(zero_point_of(DType::I8), 15)),
        per_channel in any::<bool>(),
    ) {
        let (a_u8, a_i8, w_u8, w_i8) = zps;
        let a = if dd == DType::U8 { a_u8 } else { a_i8 };
        let w_all = if kd == DType::U8 { w_u8 } else { w_i8 };
        let kernel_q = if per_channel {
            QuantParams::per_axis(vec![0.5; g.o()], w_all[..g.o()].to_vec(), g.kernel_layout.output_axis())
        } else {
            QuantParams::per_tensor(0.5, w_all[0])
        };
        let op = Op::QnnConv2d {
            conv: g.attrs(),
            input: QuantParams::per_tensor(0.25, a),
            kernel: kernel_q.clone(),
        };
        let x = tensor(dd, &g.data_shape(), &data);
        let w = tensor(kd, &g.kernel_shape(), &kernel);
        let w_zp = |k: usize| i64::from(kernel_q.zero_point_at(k));
        let naive = naive_conv(&g, &data, &kernel, i64::from(a), i64::from(a), &w_zp);
        check(eval_op(&op, &[&x, &w]), &naive)?;
    }
}

#[test]
fn all_three_kernel_layouts_agree_by_hand() {
    // O = 2, I = 1, 1×2 kernel: o0 = [1, 2], o1 = [3, 4]; data 1×1×1×3 = [1, 10, 100].
    let x = Tensor::from_vec(&[1, 1, 1, 3], vec![1u8, 10, 100]).unwrap();
    let expected = Tensor::from_vec(&[1, 2, 1, 2], vec![21i32, 210, 43, 430]).unwrap();
    let kernels = [
        (KernelLayout::Oihw, vec![2usize, 1, 1, 2], vec![1i8, 2, 3, 4]),
        (KernelLayout::Ohwi, vec![2, 1, 2, 1], vec![1, 2, 3, 4]),
        (KernelLayout::Hwio, vec![1, 2, 1, 2], vec![1, 3, 2, 4]),
    ];
    for (layout, shape, v) in kernels {
        let w = Tensor::from_vec(&shape, v).unwrap();
        let op = Op::Conv2d {
            conv: Conv2dAttrs { kernel_layout: layout, ..Conv2dAttrs::default() },
            pad_value: 0,
        };
        assert_eq!(eval_op(&op, &[&x, &w]).unwrap(), expected, "{layout}");
    }
}
