#!/usr/bin/env python3
"""Generate full-size quantized ImageNet CNNs and ONNX Runtime's outputs for them.

    python3 benches/networks/generate.py [--out DIR] [--nets a,b] [--force]

For every network of architectures.REGISTRY: build the float model at 224×224 with seeded,
BatchNorm-folded weights, calibrate it on a few seeded image-like inputs (MinMax), quantize it with
onnxruntime.quantization.quantize_static (QUInt8 activations, QInt8 per-channel weights) in
QOperator and QDQ form, and store ORT's output (1 thread, CPUExecutionProvider, default
optimizations) for one more seeded input, twice: as ORT computes by default, and with
`session.x64quantprecision` (exact on every x86; the default is not on x86 without VNNI, see
ort_session). Writes into DIR (default <repo>/target/qnn-networks):

    <net>_f32.onnx  <net>_qop.onnx  <net>_qdq.onnx  <net>_input.npy
    <net>_{qop,qdq}_output.npy  <net>_{qop,qdq}_output_u8u8.npy  networks.json

A network whose files exist and whose networks.json entry has this generator version, seed and
package versions is skipped (--force rebuilds it). Run with any python3: when the pinned packages
of requirements.txt are not importable, the script sets up its venv with setup.sh and re-runs
itself there.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


from pinned_env import ensure_pinned_env  # noqa: E402

ensure_pinned_env(__file__)

import collections  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402
import zlib  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,  # noqa: E402
                                      QuantType, quantize_static)

sys.path.insert(0, str(HERE))
from architectures import REGISTRY  # noqa: E402
from builder import GraphBuilder  # noqa: E402

# Bump when a change here or in builder.py / architectures.py changes what is generated.
GENERATOR_VERSION = 1
SEED = 20240601
IR_VERSION = 8  # ONNX 1.10's IR; every opset used here (13, 14) is valid in it and ORT 1.32 loads it
CALIBRATION_INPUTS = 8
FORMATS = {"qop": QuantFormat.QOperator, "qdq": QuantFormat.QDQ}
VERSIONS = {"numpy": np.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__}
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406]).reshape(3, 1, 1)
IMAGENET_STD = np.array([0.229, 0.224, 0.225]).reshape(3, 1, 1)


def net_seed(name):
    """A seed per network that does not move when networks are added to or reordered in REGISTRY."""
    return (SEED + zlib.crc32(name.encode())) % 2**32


# -- inputs ---------------------------------------------------------------------------------------

def _upsample(field, h, w):
    """Bilinear resize of [C, a, b] to [C, h, w] (corners aligned)."""
    ys, xs = np.linspace(0, field.shape[1] - 1, h), np.linspace(0, field.shape[2] - 1, w)
    y0, x0 = np.minimum(ys.astype(int), field.shape[1] - 2), np.minimum(xs.astype(int), field.shape[2] - 2)
    fy, fx = (ys - y0)[None, :, None], (xs - x0)[None, None, :]
    f00, f01 = field[:, y0][:, :, x0], field[:, y0][:, :, x0 + 1]
    f10, f11 = field[:, y0 + 1][:, :, x0], field[:, y0 + 1][:, :, x0 + 1]
    return (f00 * (1 - fx) + f01 * fx) * (1 - fy) + (f10 * (1 - fx) + f11 * fx) * fy


def image_like(rng, shape):
    """A normalized 'photo': smooth multi-scale random fields (amplitude falling with frequency,
    channels correlated like colour), squashed into [0, 1] pixels, then normalized with the
    ImageNet mean and std as a torchvision model's input is (values in about [-2.1, 2.6])."""
    _, c, h, w = shape
    field = np.zeros((c, h, w))
    for cells, amplitude in ((3, 1.0), (7, 0.6), (14, 0.35), (28, 0.2), (56, 0.12), (h - 1, 0.06)):
        luma = rng.standard_normal((1, cells + 1, cells + 1))
        chroma = rng.standard_normal((c, cells + 1, cells + 1))
        field += amplitude * _upsample(0.8 * luma + 0.45 * chroma, h, w)
    pixels = 1.0 / (1.0 + np.exp(-2.0 * (field - field.mean()) / field.std() - rng.normal(0, 0.3)))
    return ((pixels - IMAGENET_MEAN) / IMAGENET_STD)[None].astype(np.float32)


class _Calibration(CalibrationDataReader):
    def __init__(self, name, arrays):
        self.feeds = iter([{name: a} for a in arrays])

    def get_next(self):
        return next(self.feeds, None)


# -- model facts ----------------------------------------------------------------------------------

def _shapes(model):
    model = onnx.shape_inference.infer_shapes(model)
    g = model.graph
    shapes = {t.name: list(t.dims) for t in g.initializer}
    for v in [*g.input, *g.value_info, *g.output]:
        shapes[v.name] = [d.dim_value for d in v.type.tensor_type.shape.dim]
    return shapes


def macs(model):
    """Multiply-accumulates of Conv, Gemm and MatMul, per op type, from inferred shapes.
    A Conv's weight is [Cout, Cin/group, kh, kw], so group convs count Cin/group per output."""
    shapes, per_op = _shapes(model), collections.Counter()
    for n in model.graph.node:
        out = shapes[n.output[0]]
        if n.op_type == "Conv":
            per_op["Conv"] += int(np.prod(out)) * int(np.prod(shapes[n.input[1]][1:]))
        elif n.op_type == "Gemm":
            a = shapes[n.input[0]]
            k = a[0] if any(at.name == "transA" and at.i for at in n.attribute) else a[1]
            per_op["Gemm"] += int(np.prod(out)) * k
        elif n.op_type == "MatMul":
            per_op["MatMul"] += int(np.prod(out)) * shapes[n.input[0]][-1]
    return dict(per_op)


def op_histogram(path):
    return dict(sorted(collections.Counter(n.op_type for n in onnx.load(path).graph.node).items()))


def io_info(path):
    def one(v):
        dims = [d.dim_value or d.dim_param for d in v.type.tensor_type.shape.dim]
        return {"name": v.name, "shape": dims, "dtype": onnx.helper.tensor_dtype_to_np_dtype(
            v.type.tensor_type.elem_type).name}
    m = onnx.load(path, load_external_data=False)
    opsets = {o.domain or "ai.onnx": o.version for o in m.opset_import}
    return {"inputs": [one(v) for v in m.graph.input], "outputs": [one(v) for v in m.graph.output],
            "ir_version": m.ir_version, "opsets": opsets}


def ort_session(path, u8u8=False, optimize=True):
    """ORT at 1 thread on the CPU. u8u8: ORT's `session.x64quantprecision`, which runs u8×s8
    products through its u8×u8 kernels: on x86 without VNNI the default u8×s8 kernels add pairs
    of products with vpmaddubsw, which saturates at int16, so the default result depends on the
    CPU; with u8u8 every x86 computes the exact sums."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                   else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    if u8u8:
        so.add_session_config_entry("session.x64quantprecision", "1")
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def ort_run(path, feed, u8u8=False):
    return ort_session(path, u8u8).run(None, feed)[0]


def cpu_flags():
    """The x86 features ORT's quantized kernels choose by (its default outputs depend on them)."""
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return []
    wanted = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8")
    return sorted(f for f in flags if f in wanted)


# -- one network ----------------------------------------------------------------------------------

def files_of(name):
    files = {"f32": f"{name}_f32.onnx", "input": f"{name}_input.npy"}
    for fmt in FORMATS:
        files.update({fmt: f"{name}_{fmt}.onnx", f"{fmt}_output": f"{name}_{fmt}_output.npy",
                      f"{fmt}_output_u8u8": f"{name}_{fmt}_output_u8u8.npy"})
    return files


def build(name, out):
    t0 = time.time()
    net, seed = REGISTRY[name], net_seed(name)
    g = GraphBuilder(name, seed, net.opset, IR_VERSION, net.input_shape)
    model = g.model(net.build(g))
    files = {k: out / v for k, v in files_of(name).items()}
    onnx.save(model, files["f32"])

    rng = np.random.default_rng([seed, 1])
    shape = g.input_shape
    calibration = [image_like(rng, shape) for _ in range(CALIBRATION_INPUTS)]
    x = image_like(np.random.default_rng([seed, 2]), shape)
    np.save(files["input"], x)
    feed = {g.input_name: x}
    reference = ort_run(files["f32"], feed)

    entry = {"description": net.description, "seed": seed, "generator_version": GENERATOR_VERSION,
             "versions": VERSIONS, "calibration": f"{CALIBRATION_INPUTS} image-like inputs, MinMax",
             "quantization": "quantize_static, QUInt8 activations, QInt8 per-channel weights",
             "ort_cpu_flags": cpu_flags(), "ort_default_equals_u8u8": {},
             "files": {}, "op_types": {}, "io": {}, "float_vs_quantized": {}}
    for fmt, quant_format in FORMATS.items():
        quantize_static(str(files["f32"]), str(files[fmt]), _Calibration(g.input_name, calibration),
                        quant_format=quant_format, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
        y = ort_run(files[fmt], feed)
        np.save(files[f"{fmt}_output"], y)
        y_u8u8 = ort_run(files[fmt], feed, u8u8=True)
        np.save(files[f"{fmt}_output_u8u8"], y_u8u8)
        entry["ort_default_equals_u8u8"][fmt] = bool(np.array_equal(y, y_u8u8))
        entry["op_types"][fmt] = op_histogram(files[fmt])
        entry["io"][fmt] = io_info(files[fmt])
        cos = float(np.dot(y.ravel(), reference.ravel()) / (np.linalg.norm(y) * np.linalg.norm(reference)))
        entry["float_vs_quantized"][fmt] = {"cosine": round(cos, 5),
                                           "top1_agrees": bool(y.argmax() == reference.argmax())}
    entry["op_types"]["f32"] = op_histogram(files["f32"])
    entry["io"]["f32"] = io_info(files["f32"])
    per_op = macs(model)
    entry["gmac"] = round(sum(per_op.values()) / 1e9, 4)
    entry["macs_by_op"] = per_op
    entry["params"] = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    entry["files"] = {k: {"file": p.name, "bytes": p.stat().st_size} for k, p in files.items()}
    entry["build_seconds"] = round(time.time() - t0, 1)
    return entry


def up_to_date(entry, name, out):
    return (entry is not None and entry.get("generator_version") == GENERATOR_VERSION
            and entry.get("seed") == net_seed(name) and entry.get("versions") == VERSIONS
            and all((out / f).is_file() for f in files_of(name).values()))


def main():
    logging.getLogger().setLevel(logging.ERROR)  # quantize_static's advice to run its pre-processing
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "target" / "qnn-networks",
                    help="output folder (default: <repo>/target/qnn-networks)")
    ap.add_argument("--nets", default=",".join(REGISTRY),
                    help=f"comma-separated networks (default: all: {','.join(REGISTRY)})")
    ap.add_argument("--force", action="store_true", help="rebuild networks that are up to date")
    args = ap.parse_args()
    names = [n for n in args.nets.split(",") if n]
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        ap.error(f"unknown network(s) {', '.join(unknown)}; known: {', '.join(REGISTRY)}")

    args.out.mkdir(parents=True, exist_ok=True)
    manifest_path = args.out / "networks.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    networks = manifest.get("networks", {})
    for name in names:
        if not args.force and up_to_date(networks.get(name), name, args.out):
            print(f"{name}: up to date", file=sys.stderr)
            continue
        print(f"{name}: building ...", file=sys.stderr, flush=True)
        networks[name] = build(name, args.out)
        e = networks[name]
        cosine = {fmt: e["float_vs_quantized"][fmt]["cosine"] for fmt in FORMATS}
        print(f"{name}: {e['gmac']:.3f} GMAC, {e['build_seconds']} s, float vs quantized cosine {cosine}",
              file=sys.stderr, flush=True)
        manifest = {"generator_version": GENERATOR_VERSION, "seed": SEED, "versions": VERSIONS,
                    "networks": dict(sorted(networks.items()))}
        manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    print(args.out)


if __name__ == "__main__":
    main()
