//! The CUDA kernels transcribed to Rust, index for index, over the same host-computed
//! layouts, and run through the conformance cases on the CPU: the packing, tap tables,
//! weight words, tiles, split-K, byte transposes and epilogue are checked here on every
//! machine; the GPU tests then check the CUDA C and the launches.

#[path = "../tests/common/cases.rs"]
mod cases;

use qnn_ir::FixedRounding;
use qnn_ir::backend::{DeviceConvSpec, Epilogue, RequantLanes};

use crate::layout::{GemmLayout, InputPack, Tile, choose_tile, depthwise_weights};
use crate::spec::{Family, check};
use crate::{CudaError, Options};

fn bytes(w: i32) -> [i32; 4] {
    w.to_le_bytes().map(|b| i32::from(b as i8))
}

/// `__dp4a(a, b, c)` (signed).
fn dp4a(a: i32, b: i32, c: i32) -> i32 {
    let (a, b) = (bytes(a), bytes(b));
    (0..4).fold(c, |acc, i| acc.wrapping_add(a[i] * b[i]))
}

/// `__byte_perm(x, y, s)`: byte `n` of the result is byte `(s >> 4n) & 7` of `y:x`.
fn byte_perm(x: i32, y: i32, s: u32) -> i32 {
    let all = [x.to_le_bytes(), y.to_le_bytes()].concat();
    i32::from_le_bytes(std::array::from_fn(|n| all[((s >> (4 * n)) & 7) as usize]))
}

/// common.cuh `epilogue`.
fn epilogue(acc: i32, k: usize, window_sum: i32, e: &Epilogue<'_>) -> i32 {
    let mut v = acc.wrapping_add(e.bias[k]);
    if let Some(t3) = e.t3_zero_point {
        v = v.wrapping_sub(t3[k].wrapping_mul(window_sum));
    }
    match e.requant {
        RequantLanes::None => v.max(e.min).min(e.max),
        RequantLanes::Float { mult } => {
            let mut y = (v as f32 * mult[k]).round_ties_even() + e.zero_point as f32;
            let (lo, hi) = (e.min as f32, e.max as f32);
            y = if y < lo { lo } else { y };
            y = if y > hi { hi } else { y };
            (y as i32).max(e.min).min(e.max)
        }
        RequantLanes::Fixed { mult, shift1, round1, shift2, round2, rounding } => {
            let p = i64::from(v) * mult[k];
            let mut t = p + round1[k];
            if rounding == FixedRounding::ToNearest && p < 0 && round1[k] != 0 {
                t -= 1;
            }
            t >>= shift1[k];
            if rounding == FixedRounding::Tflite {
                let mut w = t + round2[k];
                if t < 0 && round2[k] != 0 {
                    w -= 1;
                }
                t = w >> shift2[k];
            }
            (t + i64::from(e.zero_point)).clamp(i64::from(e.min), i64::from(e.max)) as i32
        }
    }
}

fn store(out: &mut [u8], i: usize, v: i32, e: &Epilogue<'_>) {
    if e.out_dtype.size_bytes() == 4 {
        out[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
    } else {
        out[i] = v as u8;
    }
}

/// The whole run of a prepared layer (pack, window sums, tile kernel, reduce / depthwise).
fn run(
    spec: &DeviceConvSpec,
    input: &[u8],
    options: &Options,
    sms: usize,
) -> Result<Vec<u8>, CudaError> {
    let family = Family::of(&spec.geometry);
    let c = check(spec, family)?;
    let g = &c.problem.geometry;
    let [oh, ow] = c.out_hw;
    let m = g.batch * oh * ow;
    let e = c.epilogue.view(0);
    let pack = match family {
        Family::Gemm => InputPack::gemm(g),
        Family::Depthwise => InputPack::depthwise(g),
    };
    let xp = pack.read_buffer(g, input, c.problem.pad_value);
    let x: Vec<i32> = xp.chunks(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let wpp = pack.words_per_pixel() as isize;
    let rd = pack.read_dims(g);
    let (h, w) = (rd.h as isize, rd.w as isize);
    let pad_word = i32::from_le_bytes([c.problem.pad_value as u8; 4]);
    // gemm.cu `window_of`: (image, y0, x0) of output pixel m's window.
    let window = |m: usize| {
        let (img, rem) = ((m / (oh * ow)) as isize, m % (oh * ow));
        let (oy, ox) = (rem / ow, rem % ow);
        let y0 = (oy * g.strides[0]) as isize - rd.pad_top as isize;
        let x0 = (ox * g.strides[1]) as isize - rd.pad_left as isize;
        (img, y0, x0)
    };
    // gemm.cu `data_word`: the word at `base + off` when (y, x) lies in the buffer.
    let data_word = |base: isize, y: isize, xx: isize, off: isize| {
        if (0..h).contains(&y) && (0..w).contains(&xx) {
            x[(base + off) as usize]
        } else {
            pad_word
        }
    };
    let mut out = vec![0u8; g.output_len() * spec.out_dtype.size_bytes()];
    match family {
        Family::Gemm => {
            let og = g.outputs_per_group();
            let k4 = g.kernel[0] * g.kernel[1] * g.channels_per_group().div_ceil(4);
            let (tile, splits) = choose_tile(m, og, g.groups, k4, sms);
            let tile: Tile = options.tile.unwrap_or(tile);
            let l =
                GemmLayout::new(g, &pack, &spec.weights, tile, options.splits.unwrap_or(splits));
            for mm in 0..m {
                let (img, y0, x0) = window(mm);
                for grp in 0..g.groups {
                    let base = ((img * h + y0) * w + x0) * wpp + (grp * l.group_words) as isize;
                    let xw = |k: usize| {
                        let [off, dy, dx, _] = l.ktab[k].map(|v| v as isize);
                        data_word(base, y0 + dy, x0 + dx, off)
                    };
                    let wsum = (0..l.k4).fold(0, |s, k| dp4a(xw(k), 0x0101_0101, s));
                    for n in 0..og {
                        let mut total = 0i32;
                        for split in 0..l.splits {
                            let ks = split * l.k_per_split..(split + 1) * l.k_per_split;
                            let acc = ks.fold(0, |acc, k| {
                                dp4a(xw(k), l.weights[(grp * l.k4p + k) * l.np + n], acc)
                            });
                            total = total.wrapping_add(acc);
                        }
                        let k = grp * og + n;
                        store(&mut out, mm * g.out_c + k, epilogue(total, k, wsum, &e), &e);
                    }
                }
            }
        }
        Family::Depthwise => {
            let wts = depthwise_weights(g, &pack, &spec.weights);
            let taps = g.kernel[0] * g.kernel[1];
            for mm in 0..m {
                let (img, y0, x0) = window(mm);
                for cw in 0..wpp as usize {
                    let (mut acc, mut sum) = ([0i32; 4], [0i32; 4]);
                    for q in 0..taps.div_ceil(4) {
                        let xs: [i32; 4] = std::array::from_fn(|b| {
                            let t = 4 * q + b;
                            if t >= taps {
                                return 0;
                            }
                            let (r, s) = (t / g.kernel[1], t % g.kernel[1]);
                            let y = y0 + (r * g.dilation[0]) as isize;
                            let xx = x0 + (s * g.dilation[1]) as isize;
                            data_word((img * h * w) * wpp + cw as isize, y, xx, (y * w + xx) * wpp)
                        });
                        let lo01 = byte_perm(xs[0], xs[1], 0x5140);
                        let hi01 = byte_perm(xs[0], xs[1], 0x7362);
                        let lo23 = byte_perm(xs[2], xs[3], 0x5140);
                        let hi23 = byte_perm(xs[2], xs[3], 0x7362);
                        let cs = [
                            byte_perm(lo01, lo23, 0x5410),
                            byte_perm(lo01, lo23, 0x7632),
                            byte_perm(hi01, hi23, 0x5410),
                            byte_perm(hi01, hi23, 0x7632),
                        ];
                        for j in 0..4 {
                            acc[j] = dp4a(cs[j], wts[q * pack.slots + 4 * cw + j], acc[j]);
                            sum[j] = dp4a(cs[j], 0x0101_0101, sum[j]);
                        }
                    }
                    for j in 0..4 {
                        let k = 4 * cw + j;
                        if k < g.out_c {
                            store(&mut out, mm * g.out_c + k, epilogue(acc[j], k, sum[j], &e), &e);
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

fn conformance(family: Family, topic_index: usize) {
    let (topic, default) = cases::TOPICS[topic_index];
    cases::for_cases(family, topic, default / 2, |case| {
        for (i, o) in cases::configurations(family).iter().enumerate() {
            for sms in [1, 132] {
                let got = run(&case.spec, &case.input, o, sms)
                    .map_err(|e| format!("{e}\n  case: {}", case.describe))?;
                case.compare(&got, &format!("emulated configuration {i} ({o:?}, {sms} SMs)"))?;
            }
        }
        Ok(())
    });
}

#[test]
fn byte_transpose() {
    let xs = [0x0302_0100, 0x1312_1110, 0x2322_2120, 0x3332_3130];
    let lo01 = byte_perm(xs[0], xs[1], 0x5140);
    let lo23 = byte_perm(xs[2], xs[3], 0x5140);
    let hi01 = byte_perm(xs[0], xs[1], 0x7362);
    let hi23 = byte_perm(xs[2], xs[3], 0x7362);
    assert_eq!(byte_perm(lo01, lo23, 0x5410), 0x3020_1000);
    assert_eq!(byte_perm(lo01, lo23, 0x7632), 0x3121_1101);
    assert_eq!(byte_perm(hi01, hi23, 0x5410), 0x3222_1202);
    assert_eq!(byte_perm(hi01, hi23, 0x7632), 0x3323_1303);
}

macro_rules! emulated {
    ($($name:ident: $family:expr, $topic:expr;)*) => {
        $(#[test] fn $name() { conformance($family, $topic); })*
    };
}

emulated! {
    gemm_random: Family::Gemm, 0;
    gemm_tails: Family::Gemm, 1;
    gemm_first_layers: Family::Gemm, 2;
    gemm_epilogues: Family::Gemm, 3;
    gemm_deep: Family::Gemm, 4;
    gemm_extremes: Family::Gemm, 5;
    depthwise_random: Family::Depthwise, 0;
    depthwise_tails: Family::Depthwise, 1;
    depthwise_first_layers: Family::Depthwise, 2;
    depthwise_epilogues: Family::Depthwise, 3;
    depthwise_deep: Family::Depthwise, 4;
    depthwise_extremes: Family::Depthwise, 5;
}
