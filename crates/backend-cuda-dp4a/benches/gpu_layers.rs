//! The layer suite on the GPU (the workspace's `benches/fixtures/layers.json`, the standard
//! int8 layers, batch 1) against the dp4a peak of the same device.
//!
//! For each layer: prepare (s8×s8 operands, the u8 activation shifted as the legalizer
//! does, symmetric s8 weights, ONNX Runtime's f32 requantize to u8, as the suite's ORT
//! models), check the output against the reference interpreter bit for bit, then time it:
//! device time with CUDA events over back-to-back launches with the input resident
//! (median of 7 batches), and the end-to-end `run` (host → device → host, median of 11).
//! GMAC/s = MACs / device seconds; "of peak" divides by the measured dp4a peak.
//!
//! Not criterion: the numbers come from CUDA events, not host clocks, and the one-shot GPU
//! check needs a fixed, short time budget. Results go to stdout and to `$QNN_BENCH_OUT`
//! (`gpu_layers.txt`, `gpu_layers.json`; default: the current folder). Without a GPU it
//! prints SKIPPED (exit 0), or fails with `QNN_REQUIRE_CUDA=1`. Exit 1 when a layer is not
//! bit-exact.

#[path = "../tests/common/cases.rs"]
mod cases;

use std::fmt::Write as _;
use std::time::Instant;

use backend_cuda_dp4a::{CudaConvOp, device, dp4a_peak, probe};
use cases::DeviceCase;
use qnn_ir::backend::PreparedDeviceOp;
use qnn_ir::{DType, RequantScale};
use qnn_kernels::ConvGeometry;
use qnn_kernels::testing::strategies::SplitMix;
use qnn_kernels::testing::{Case, Lowering, QnnLayer};
use serde_json::{Value, json};

// The suite fixture of the workspace (`benches/fixtures/layers.json`), built into the binary
// so that it travels with it.
const LAYERS: &str = include_str!("../../../benches/fixtures/layers.json");

fn geometry(l: &Value) -> Option<ConvGeometry> {
    let u = |k: &str| l.get(k).and_then(Value::as_u64).map(|v| v as usize);
    let pair = |k: &str| -> Option<[usize; 2]> {
        let a = l.get(k)?.as_array()?;
        Some([a.first()?.as_u64()? as usize, a.get(1)?.as_u64()? as usize])
    };
    if l["op"] == "QLinearMatMul" {
        return Some(ConvGeometry::dense(u("M_rows")?, u("K")?, u("N_cols")?));
    }
    let p = l.get("pads")?.as_array()?;
    let pad = |i: usize| p.get(i).and_then(Value::as_u64).map(|v| v as usize);
    // ONNX pads: (top, left, bottom, right).
    Some(ConvGeometry {
        batch: u("N")?,
        in_h: u("H")?,
        in_w: u("W")?,
        in_c: u("C")?,
        out_c: u("M")?,
        kernel: [u("kh")?, u("kw")?],
        strides: pair("stride")?,
        padding: [pad(0)?, pad(1)?, pad(2)?, pad(3)?],
        dilation: pair("dilations")?,
        groups: u("group")?,
    })
}

/// The suite's layer as the device gets it after legalization (u8 data with zero point
/// 125 is s8 data with zero point −3), with deterministic random values.
fn case(g: ConvGeometry, seed: u64) -> Case {
    let mut rng = SplitMix::new(seed);
    let k = g.reduction_len();
    let input = (0..g.input_len()).map(|_| rng.range(-128, 127) as i32).collect();
    let weights = (0..g.weight_len()).map(|_| rng.range(-127, 127) as i32).collect();
    let bias = (0..g.out_c).map(|_| rng.range(-2000, 2000) as i32).collect();
    // Maps the typical accumulator (√K · 128 · 73) to about ±100 output steps.
    let mult = (100.0 / ((k as f64).sqrt() * 128.0 * 73.0)) as f32;
    let out_c = g.out_c;
    Case {
        layer: QnnLayer {
            geometry: g,
            data_dtype: DType::I8,
            data_zero_point: -3,
            weight_dtype: DType::I8,
            weights,
            weight_zero_point: vec![0],
            bias,
            requant: Some(RequantScale::Float { mults: vec![mult; out_c] }),
            requant_input_zero_point: 0,
            out_dtype: DType::U8,
            out_zero_point: 128,
            clamp: None,
            input,
        },
        lowering: Lowering::Int8,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let out_dir = std::env::var("QNN_BENCH_OUT").unwrap_or_else(|_| ".".into());
    let require = std::env::var("QNN_REQUIRE_CUDA").is_ok_and(|v| v.trim() == "1");
    if let Err(why) = probe() {
        println!("SKIPPED: GPU layer suite: {why}");
        std::process::exit(if require { 1 } else { 0 });
    }
    let ordinal = device::default_ordinal();
    let mut text = String::new();
    let peak = match dp4a_peak(ordinal) {
        Ok(p) => p,
        Err(e) => {
            println!("FAILED: the dp4a peak micro-benchmark: {e}");
            std::process::exit(1);
        }
    };
    let per_clock =
        peak.dp4a_per_sm_clock.map_or("clock unknown".into(), |c| format!("{c:.1} dp4a/SM/clock"));
    let _ = writeln!(text, "device: {}", peak.device);
    let _ = writeln!(
        text,
        "dp4a peak (micro-benchmark): {:.1} GMAC/s ({per_clock})\n",
        peak.macs_per_second / 1e9
    );
    let _ = writeln!(
        text,
        "{:<28} {:>10} {:>6} {:>11} {:>9} {:>8} {:>12}  kernel",
        "layer", "MMAC", "exact", "device µs", "GMAC/s", "of peak", "run() µs"
    );
    print!("{text}");
    let suite: Value = serde_json::from_str(LAYERS).expect("the fixture is JSON");
    let mut rows = Vec::new();
    let mut all_exact = true;
    for (i, l) in suite["layers"].as_array().into_iter().flatten().enumerate() {
        let name = l["name"].as_str().unwrap_or("?");
        let Some(g) = geometry(l) else {
            println!("{name}: cannot read the layer");
            all_exact = false;
            continue;
        };
        let dc = match DeviceCase::new(&case(g, 1000 + i as u64)) {
            Ok(dc) => dc,
            Err(e) => {
                println!("{name}: reference failed: {e}");
                all_exact = false;
                continue;
            }
        };
        let result = (|| -> Result<_, String> {
            let op = CudaConvOp::prepare(&dc.spec).map_err(|e| e.to_string())?;
            let mut out = vec![0u8; dc.expected.len()];
            op.execute(&dc.input, &mut out).map_err(|e| e.to_string())?;
            let exact = dc.compare(&out, name);
            let once = op.device_seconds(1, 3).map_err(|e| e.to_string())?;
            let iters = ((0.02 / once.max(1e-7)) as usize).clamp(5, 2000);
            let dev = op.device_seconds(iters, 7).map_err(|e| e.to_string())?;
            let walls = (0..11)
                .map(|_| {
                    let t = Instant::now();
                    op.execute(&dc.input, &mut out).map(|_| t.elapsed().as_secs_f64())
                })
                .collect::<Result<Vec<f64>, _>>()
                .map_err(|e| e.to_string())?;
            Ok((op.macs(), exact, dev, median(walls), op.describe()))
        })();
        let line = match result {
            Ok((macs, exact, dev, wall, how)) => {
                let gmacs = macs as f64 / dev / 1e9;
                let frac = macs as f64 / dev / peak.macs_per_second;
                all_exact &= exact.is_ok();
                rows.push(json!({
                    "layer": name, "macs": macs, "exact": exact.is_ok(),
                    "mismatch": exact.as_ref().err(), "device_seconds": dev,
                    "gmac_per_s": gmacs, "fraction_of_peak": frac, "run_seconds": wall, "kernel": how,
                }));
                let mut s = format!(
                    "{name:<28} {:>10.2} {:>6} {:>11.1} {:>9.1} {:>7.1}% {:>12.1}  {how}",
                    macs as f64 / 1e6,
                    if exact.is_ok() { "yes" } else { "NO" },
                    dev * 1e6,
                    gmacs,
                    100.0 * frac,
                    wall * 1e6
                );
                if let Err(e) = exact {
                    s += &format!("\n    MISMATCH: {e}");
                }
                s
            }
            Err(e) => {
                all_exact = false;
                rows.push(json!({ "layer": name, "error": e }));
                format!("{name:<28} FAILED: {e}")
            }
        };
        println!("{line}");
        let _ = writeln!(text, "{line}");
    }
    let verdict = if all_exact { "all layers bit-exact" } else { "SOME LAYERS FAILED OR DIFFER" };
    println!("\n{verdict}");
    let _ = writeln!(text, "\n{verdict}");
    let report = json!({
        "device": peak.device,
        "dp4a_peak_macs_per_s": peak.macs_per_second,
        "dp4a_per_sm_clock": peak.dp4a_per_sm_clock,
        "layers": rows,
        "all_exact": all_exact,
    });
    let dir = std::path::Path::new(&out_dir);
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(dir.join("gpu_layers.txt"), &text))
        .and_then(|()| std::fs::write(dir.join("gpu_layers.json"), format!("{report:#}\n")));
    if let Err(e) = written {
        println!("cannot write the results to {out_dir}: {e}");
    }
    std::process::exit(if all_exact { 0 } else { 1 });
}
