//! Shared helpers of the CLI tests: the built `qnn` binary, the repository's fixtures (never
//! `/work/shared`), scratch folders, and `.pb` → `.npy` conversion for ONNX's node tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use qnn_onnx::{ConstData, Constant, OnnxType};

/// The fixtures of qnn-onnx (cases, node tests, models).
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../qnn-onnx/tests/fixtures")
}

pub fn model(name: &str) -> PathBuf {
    fixtures().join("models").join(format!("{name}.onnx"))
}

/// The input of a peer model (`mobilenetv2_…` or `resnet_…`).
pub fn model_input(name: &str) -> PathBuf {
    let net = name.split('_').next().unwrap();
    fixtures().join("models").join(format!("{net}_input.npy"))
}

pub fn model_output(name: &str) -> PathBuf {
    fixtures().join("models").join(format!("{name}_output.npy"))
}

/// A fresh, empty scratch folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("qnn-cli-{}-{name}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `qnn ARGS` (with `QNN_BACKEND` cleared unless given).
pub fn qnn(args: &[&str]) -> Output {
    qnn_env(args, &[])
}

pub fn qnn_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_qnn"));
    c.args(args).env_remove("QNN_BACKEND");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("the qnn binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns stdout.
#[track_caller]
pub fn ok(o: &Output) -> String {
    assert!(o.status.success(), "qnn failed ({}):\n{}\n{}", o.status, stdout(o), stderr(o));
    stdout(o)
}

/// Asserts failure (exit status 1, a message on stderr, no panic) and returns stderr.
#[track_caller]
pub fn fails(o: &Output) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "expected exit status 1:\n{}\n{err}", stdout(o));
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The `k`-numbered files `stem_<k>.ext` of a folder, in order.
pub fn numbered(dir: &Path, stem: &str, ext: &str) -> Vec<PathBuf> {
    (0..).map(|k| dir.join(format!("{stem}_{k}.{ext}"))).take_while(|p| p.exists()).collect()
}

/// Two `.npy` files hold the same array: same header fields, same data bytes.
pub fn same_npy(a: &Path, b: &Path) -> Result<(), String> {
    let (x, y) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    let (hx, dx) = qnn_npy::split(&x).map_err(|e| e.to_string())?;
    let (hy, dy) = qnn_npy::split(&y).map_err(|e| e.to_string())?;
    let descr = |d: &str| d.replace('|', "<");
    if descr(&hx.descr) != descr(&hy.descr) || hx.shape != hy.shape {
        return Err(format!("{} {:?} vs {} {:?}", hx.descr, hx.shape, hy.descr, hy.shape));
    }
    let n = dx.len().min(dy.len());
    if dx[..n] != dy[..n] {
        let size = dx.len() / hx.shape.iter().product::<usize>().max(1);
        let differ = dx[..n]
            .chunks(size.max(1))
            .zip(dy[..n].chunks(size.max(1)))
            .filter(|(p, q)| p != q)
            .count();
        return Err(format!("{differ} elements differ"));
    }
    Ok(())
}

/// IEEE half bits of an f32 that holds a half value (node-test scales).
pub fn f32_to_f16(v: f32) -> u16 {
    let b = v.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let exp = ((b >> 23) & 0xff) as i32;
    let frac = b & 0x7f_ffff;
    if exp == 255 {
        return sign | 0x7c00 | if frac != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 1 {
        sign | ((e as u16) << 10) | (frac >> 13) as u16
    } else if exp == 0 {
        sign
    } else {
        // Subnormal half: (1.frac) · 2^(exp − 127) = m · 2^−24.
        sign | (((frac | 0x80_0000) >> (14 - e)) as u16)
    }
}

/// A constant (decoded from a node test's `.pb`) as a `.npy` image of its ONNX type.
pub fn constant_npy(c: &Constant) -> Vec<u8> {
    let (descr, size) = match c.ty {
        OnnxType::FLOAT => ("<f4", 4),
        OnnxType::FLOAT16 => ("<f2", 2),
        OnnxType::UINT8 => ("|u1", 1),
        OnnxType::INT8 => ("|i1", 1),
        OnnxType::UINT16 => ("<u2", 2),
        OnnxType::INT16 => ("<i2", 2),
        OnnxType::INT32 => ("<i4", 4),
        OnnxType::INT64 => ("<i8", 8),
        t => panic!("no .npy for {t}"),
    };
    let shape = match c.shape.as_slice() {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        s => format!("({})", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n");
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    match c.data.widened().as_ref() {
        ConstData::Float(v) if size == 2 => {
            v.iter().for_each(|&x| out.extend_from_slice(&f32_to_f16(x).to_le_bytes()))
        }
        ConstData::Float(v) => v.iter().for_each(|&x| out.extend_from_slice(&x.to_le_bytes())),
        ConstData::Double(_) => panic!("no doubles in the node tests"),
        ConstData::Int(v) => {
            v.iter().for_each(|&x| out.extend_from_slice(&x.to_le_bytes()[..size]))
        }
        ConstData::Typed(_) => unreachable!("widened"),
    }
    out
}

/// Converts `dir/name_k.pb` files into `out/name_k.npy`; returns the new paths.
pub fn pb_to_npy(dir: &Path, name: &str, out: &Path) -> Vec<PathBuf> {
    numbered(dir, name, "pb")
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let c = qnn_onnx::tensor_from_pb(&std::fs::read(p).unwrap()).unwrap();
            let dst = out.join(format!("{name}_{k}.npy"));
            std::fs::write(&dst, constant_npy(&c)).unwrap();
            dst
        })
        .collect()
}
