#!/usr/bin/env python3
"""Run every generated quantized network with the qnn binary and compare with ONNX Runtime.

    python3 benches/networks/check.py [--out DIR] [--nets a,b] [--qnn PATH] [--time] [--repeat N]

Per model: `qnn run MODEL -i <net>_input.npy -o TMP` and output_0.npy against both stored ORT
outputs, bit for bit (np.array_equal): ORT's default and its exact u8u8 one (see generate.py), and
where the latter differs, against ORT u8u8 with graph optimizations off (ORT_DISABLE_ALL: QDQ then
runs as float ops between DequantizeLinear and QuantizeLinear, not as fused integer kernels).
With --time, also (median, min) latency in ms of `qnn run --threads 1 --repeat N --json` and of
ORT at 1 thread, default and u8u8 (rough numbers; the benchmark proper is `cargo xtask bench`).
Writes DIR/check.json. Runs in the venv of
setup.sh like generate.py.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from generate import REPO, ort_session  # noqa: E402  (importing it re-runs this script in the pinned venv)

import numpy as np  # noqa: E402


def compare(got, want):
    if got.shape != want.shape or got.dtype != want.dtype:
        return f"shape/dtype {got.shape} {got.dtype} vs {want.shape} {want.dtype}"
    if np.array_equal(got, want):
        return "ok"
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    return f"mismatch: {int((diff > 0).sum())}/{diff.size} differ, max abs diff {diff.max():.4g}"


def ort_times_ms(path, feed, repeat, u8u8=False):
    """(median, min) of `repeat` runs after one warm-up run."""
    sess = ort_session(path, u8u8=u8u8)
    sess.run(None, feed)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append((time.perf_counter() - t0) * 1e3)
    return round(float(np.median(times)), 2), round(min(times), 2)


def qnn_run(qnn, model, x_path, extra=()):
    with tempfile.TemporaryDirectory() as tmp:
        p = subprocess.run([qnn, "run", str(model), "-i", str(x_path), "-o", tmp, *extra],
                           capture_output=True, text=True)
        if p.returncode != 0:
            return None, (p.stderr.strip() or p.stdout.strip()).splitlines()[-1], p.stdout
        return np.load(Path(tmp) / "output_0.npy"), None, p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "target" / "qnn-networks",
                    help="the folder generate.py wrote (default: <repo>/target/qnn-networks)")
    ap.add_argument("--nets", default="", help="comma-separated networks (default: all in networks.json)")
    ap.add_argument("--qnn", default=str(REPO / "target" / "release" / "qnn"), help="the qnn binary")
    ap.add_argument("--time", action="store_true", help="also time qnn and ORT at 1 thread")
    ap.add_argument("--repeat", type=int, default=20, help="timed runs with --time (default 20)")
    args = ap.parse_args()
    networks = json.loads((args.out / "networks.json").read_text())["networks"]
    names = [n for n in args.nets.split(",") if n] or list(networks)
    results = {}
    for name in names:
        files = {k: args.out / v["file"] for k, v in networks[name]["files"].items()}
        x = np.load(files["input"])
        input_name = networks[name]["io"]["qop"]["inputs"][0]["name"]
        for fmt in ("qop", "qdq"):
            key = f"{name}_{fmt}"
            got, err, _ = qnn_run(args.qnn, files[fmt], files["input"])
            r = {"gmac": networks[name]["gmac"]}
            if err:
                r["qnn_error"] = err
            else:
                r["vs_ort"] = compare(got, np.load(files[f"{fmt}_output"]))
                r["vs_ort_u8u8"] = compare(got, np.load(files[f"{fmt}_output_u8u8"]))
                if r["vs_ort_u8u8"] != "ok":
                    plain = ort_session(files[fmt], u8u8=True, optimize=False).run(None, {input_name: x})[0]
                    r["vs_ort_u8u8_disable_all"] = compare(got, plain)
            if args.time:
                feed = {input_name: x}
                r["ort_ms"] = ort_times_ms(files[fmt], feed, args.repeat)
                r["ort_u8u8_ms"] = ort_times_ms(files[fmt], feed, args.repeat, u8u8=True)
                if not err:
                    _, terr, out = qnn_run(args.qnn, files[fmt], files["input"],
                                           ["--threads", "1", "--repeat", str(args.repeat), "--json"])
                    t = {} if terr else json.loads(out.strip().splitlines()[-1])
                    r["qnn_ms"] = terr or (round(t["median_ms"], 2), round(t["min_ms"], 2))
            results[key] = r
            print(key, json.dumps(r), flush=True)
    (args.out / "check.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
