#!/usr/bin/env python3
"""Whole-model latency of qnn next to ONNX Runtime, measured alternately in one run.

    ~/.cache/qnn-peers/venv/bin/python crates/qnn-cli/scripts/bench_models.py
    ... bench_models.py --threads 1,2 --rounds 7 --runs 40 --models mobilenetv2_qop_pc,resnet_qop_pc

The models are the quantized MobileNetV2-style and ResNet-style fixtures of qnn-onnx
(QOperator `qop` / QDQ `qdq`, per-tensor `pt` / per-channel `pc`). For every model and thread
count the two engines take turns, `--rounds` times: ONNX Runtime runs `--runs` timed runs in
this process (IOBinding, intra_op_num_threads = T, inter_op_num_threads = 1, sequential,
ORT_ENABLE_ALL: the settings of the peers' bench_ort.py), then `qnn run --repeat RUNS --threads T
--json` does the same in its own process (after its warm-up runs). Each engine's median is over
all its timed runs; the load average before and after is printed, since the machine is shared.
qnn's outputs are checked against ORT's bit for bit once per model.

Needs the peers' venv (numpy, onnxruntime 1.32) and a release build of the `qnn` binary
(`cargo build --release -p qnn-cli`). Writes a markdown table to stdout and JSON to --out.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
FIXTURES = os.path.join(ROOT, "crates", "qnn-onnx", "tests", "fixtures", "models")
MODELS = ["mobilenetv2_qop_pt", "mobilenetv2_qop_pc", "mobilenetv2_qdq_pt", "mobilenetv2_qdq_pc",
          "resnet_qop_pt", "resnet_qop_pc", "resnet_qdq_pt", "resnet_qdq_pc"]


def ort_session(path, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


class OrtRunner:
    def __init__(self, path, x, threads):
        self.sess = ort_session(path, threads)
        self.b = self.sess.io_binding()
        self.b.bind_ortvalue_input(self.sess.get_inputs()[0].name, ort.OrtValue.ortvalue_from_numpy(x))
        for o in self.sess.get_outputs():
            self.b.bind_output(o.name, "cpu")
        for _ in range(5):
            self.sess.run_with_iobinding(self.b)

    def output(self):
        self.sess.run_with_iobinding(self.b)
        return self.b.get_outputs()[0].numpy()

    def time(self, runs):
        out = []
        for _ in range(runs):
            t0 = time.perf_counter()
            self.sess.run_with_iobinding(self.b)
            out.append((time.perf_counter() - t0) * 1e3)
        return out


def qnn_time(qnn, model, inp, outdir, threads, runs, warmup):
    cmd = [qnn, "run", model, "-i", inp, "-o", outdir, "--threads", str(threads),
           "--repeat", str(runs), "--warmup", str(warmup), "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"qnn failed: {' '.join(cmd)}\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--qnn", default=os.path.join(ROOT, "target", "release", "qnn"))
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=40, help="timed runs per engine and round")
    ap.add_argument("--warmup", type=int, default=5, help="qnn warm-up runs per round")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    if not os.path.exists(a.qnn):
        sys.exit(f"{a.qnn} not found: cargo build --release -p qnn-cli")
    threads = [int(t) for t in a.threads.split(",")]
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.models.split(","):
            net = name.split("_")[0]
            model = os.path.join(FIXTURES, f"{name}.onnx")
            inp = os.path.join(FIXTURES, f"{net}_input.npy")
            x = np.load(inp)
            for t in threads:
                runner = OrtRunner(model, x, t)
                ort_ms, qnn_ms = [], []
                for r in range(a.rounds):
                    ort_ms += runner.time(a.runs)
                    res = qnn_time(a.qnn, model, inp, tmp, t, a.runs, a.warmup)
                    qnn_ms += res["times_ms"]
                    if r == 0:
                        got = np.load(os.path.join(tmp, "output_0.npy"))
                        want = runner.output()
                        exact = got.dtype == want.dtype and got.tobytes() == want.tobytes()
                row = dict(model=name, threads=t, ort_median_ms=statistics.median(ort_ms),
                           qnn_median_ms=statistics.median(qnn_ms), ort_min_ms=min(ort_ms),
                           qnn_min_ms=min(qnn_ms), runs=len(qnn_ms), exact_vs_ort=exact)
                row["speedup"] = row["ort_median_ms"] / row["qnn_median_ms"]
                rows.append(row)
                print(f"{name:20s} t={t}  ORT {row['ort_median_ms']:7.3f} ms  qnn {row['qnn_median_ms']:7.3f} ms"
                      f"  ×{row['speedup']:.2f}  (min {row['ort_min_ms']:.3f} / {row['qnn_min_ms']:.3f})"
                      f"  {'exact' if exact else 'OUTPUT DIFFERS'}", file=sys.stderr, flush=True)
    load_after = os.getloadavg()
    print(f"\nonnxruntime {ort.__version__}; {a.rounds} alternating rounds × {a.runs} runs per engine; "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after\n")
    print("| model | threads | ORT median ms | qnn median ms | ORT / qnn | ORT min | qnn min | qnn = ORT |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['threads']} | {r['ort_median_ms']:.3f} | {r['qnn_median_ms']:.3f} | "
              f"{r['speedup']:.2f}× | {r['ort_min_ms']:.3f} | {r['qnn_min_ms']:.3f} | "
              f"{'exact' if r['exact_vs_ort'] else 'DIFFERS'} |")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(dict(onnxruntime=ort.__version__, load_before=load_before, load_after=load_after,
                           rounds=a.rounds, runs=a.runs, rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
