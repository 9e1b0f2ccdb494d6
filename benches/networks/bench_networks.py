#!/usr/bin/env python3
"""Whole networks end to end: qnn, ONNX Runtime and OpenVINO timed alternately in one run.

    python bench_networks.py --qnn target/release/qnn [--dir target/qnn-networks]
        [--nets resnet50,mobilenetv2] [--forms qop,qdq] [--threads 1,2] [--rounds 3]
        [--runs 20] [--peaks peaks.json] [--out target/qnn-bench/networks]

`cargo xtask bench --networks` runs it after generating the networks (generate.py) and
measuring this CPU's instruction peaks (the `peaks` binary of qnn-benches).

Per network, form (QOperator `qop`, QDQ `qdq`) and thread count, each engine runs in its own
process, taking turns `--rounds` times: qnn as `qnn run --repeat RUNS --threads T --json`,
ONNX Runtime (IOBinding, intra_op = T, inter_op = 1, sequential, ORT_ENABLE_ALL) and
OpenVINO (INFERENCE_NUM_THREADS = T, LATENCY hint, one stream) in Python workers. OpenVINO
cannot read the com.microsoft QOperator ops, so it runs the QDQ twin of each network, and the
QOperator row is compared with it too. Every process reports the median of its timed runs
(after warm-up), the time it took to load the model (qnn: import + compile; ORT: session
creation; OpenVINO: read + compile) and its peak resident memory (the process's own, from
`wait4`); the figure per engine is the median over rounds, the ratio to a peer is taken per
round before its median. The machine is shared: the load average is printed before and after.

Exactness: qnn's output is compared bit for bit with ONNX Runtime's on this machine and with
ONNX Runtime's exact answer. ORT's u8×s8 kernels on CPUs without VNNI (AVX2: `vpmaddubsw`)
saturate int16 pair sums, so ORT here may differ from ORT on a VNNI machine; the exact answer
is ORT with `session.x64quantprecision=1` (its u8×u8 kernels, exact on every x86 CPU; equal to
the default answer on VNNI machines). `--ort-exact` also times that mode, as a third peer.

Writes results.json, results.md and speedup.svg to --out, and the table to stdout.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, HERE)
from pinned_env import ensure_pinned_env  # noqa: E402

ensure_pinned_env(__file__)

WORKER = r"""
import json, os, resource, sys, time
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np
engine, model, inp, threads, runs, warmup, out = sys.argv[1:8]
threads, runs, warmup = int(threads), int(runs), int(warmup)
x = np.load(inp)
t0 = time.perf_counter()
if engine in ("ort", "ort-exact"):
    import onnxruntime as ort
    so = ort.SessionOptions()
    if engine == "ort-exact":
        # u8×u8 kernels instead of the saturating u8×s8 ones on CPUs without VNNI.
        so.add_session_config_entry("session.x64quantprecision", "1")
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    b = s.io_binding()
    b.bind_ortvalue_input(s.get_inputs()[0].name, ort.OrtValue.ortvalue_from_numpy(x))
    for o in s.get_outputs():
        b.bind_output(o.name, "cpu")
    run = lambda: s.run_with_iobinding(b)
    result = lambda: b.get_outputs()[0].numpy()
else:
    import openvino as ov
    core = ov.Core()
    cm = core.compile_model(core.read_model(model), "CPU", {"INFERENCE_NUM_THREADS": threads,
                            "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1})
    r = cm.create_infer_request()
    r.set_input_tensor(ov.Tensor(x))
    run = lambda: r.infer()
    result = lambda: r.get_output_tensor(0).data.copy()
load_ms = (time.perf_counter() - t0) * 1e3
for _ in range(warmup):
    run()
ts = []
for _ in range(runs):
    t = time.perf_counter()
    run()
    ts.append((time.perf_counter() - t) * 1e3)
if out != "-":
    np.save(out, result())
ts.sort()
print(json.dumps({"median_ms": ts[len(ts) // 2], "min_ms": ts[0], "load_ms": load_ms}))
"""


def load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def spawn_measured(cmd):
    """Runs cmd to completion and returns (stdout, stderr, rc, peak_rss_mb) using wait4."""
    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, text=True)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        return fo.read(), fe.read(), p.returncode, ru.ru_maxrss / 1024.0


def py_engine(python, engine, model, inp, threads, runs, warmup, out="-"):
    cmd = [python, "-c", WORKER, engine, model, inp, str(threads), str(runs), str(warmup), out]
    so, se, rc, rss = spawn_measured(cmd)
    if rc != 0:
        return {"error": se.strip().splitlines()[-1] if se.strip() else f"exit {rc}"}
    r = json.loads(so.strip().splitlines()[-1])
    r["rss_mb"] = rss
    return r


def qnn_engine(qnn, model, inp, threads, runs, warmup, outdir):
    cmd = [qnn, "run", model, "-i", inp, "-o", outdir, "--threads", str(threads),
           "--repeat", str(runs), "--warmup", str(max(warmup, 1)), "--json"]
    so, se, rc, rss = spawn_measured(cmd)
    if rc != 0:
        return {"error": se.strip().splitlines()[-1] if se.strip() else f"exit {rc}"}
    r = json.loads(so.strip().splitlines()[-1])
    return {"median_ms": r["median_ms"], "min_ms": r["min_ms"], "load_ms": r["compile_ms"],
            "rss_mb": rss}


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def compare(a, b):
    import numpy as np

    if a.shape != b.shape or a.dtype != b.dtype:
        return {"equal": False, "detail": f"{a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}"}
    diff = a != b
    n = int(diff.sum())
    detail = "bit-exact" if n == 0 else f"{n} of {a.size} elements differ"
    if n:
        d = np.abs(a.astype(np.float64) - b.astype(np.float64))
        detail += f", max |diff| {d.max():.6g}"
    return {"equal": n == 0, "detail": detail}


def peak_of(peaks):
    """The instruction peak (GMAC/s per core) of the int8 path qnn uses on this CPU."""
    if not peaks:
        return None, None
    for key in ("vpdpbusd_zmm", "vpdpbusd_ymm", "vpmaddwd_vpaddd_ymm", "smmla", "sdot", "smlal"):
        if peaks.get(key):
            return key, peaks[key]
    return None, None


def svg_chart(rows, path):
    """Bars: fastest peer's time ÷ qnn's time per (network, form, threads); > 1: qnn wins."""
    items = [r for r in rows if r.get("vs_fastest")]
    if not items:
        return
    h_bar, gap, left, width = 16, 4, 260, 420
    top = 40
    height = top + len(items) * (h_bar + gap) + 40
    vmax = max(2.0, max(r["vs_fastest"] for r in items) * 1.1)
    x = lambda v: left + v / vmax * width
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{height}" '
           'font-family="sans-serif" font-size="11">',
           f'<text x="{left}" y="16" font-size="13">fastest peer time ÷ qnn time (right of the '
           '1.0 line: qnn faster)</text>']
    for i, r in enumerate(items):
        y = top + i * (h_bar + gap)
        v = r["vs_fastest"]
        color = "#2a7" if v >= 1.15 else ("#db3" if v >= 1.0 else "#c44")
        out.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{r["network"]} '
                   f'{r["form"]} {r["threads"]}T</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{x(v) - left:.1f}" height="{h_bar}" '
                   f'fill="{color}"/>')
        out.append(f'<text x="{x(v) + 4:.1f}" y="{y + 12}">{v:.2f}×</text>')
    for v in (1.0, 1.15):
        out.append(f'<line x1="{x(v):.1f}" y1="{top - 6}" x2="{x(v):.1f}" '
                   f'y2="{height - 30}" stroke="#333" stroke-dasharray="3,3"/>')
        out.append(f'<text x="{x(v):.1f}" y="{height - 16}" text-anchor="middle">{v}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out))


def fmt(v, spec=".2f", none="–"):
    return none if v is None else format(v, spec)


def markdown(res):
    lines = []
    m = res["machine"]
    lines.append(f"Machine: {m['cpu']} ({m['cores']} cores); peak {m['peak_name']} "
                 f"{fmt(m['peak_gmacs'], '.0f')} GMAC/s per core; load average "
                 f"{fmt(res['load_before'])} → {fmt(res['load_after'])}; {res['date']}.")
    lines.append("")
    lines.append("| network | form | T | GMAC | qnn ms | GMAC/s | % peak | ORT ms | OpenVINO ms "
                 "| fastest peer ÷ qnn | load ms qnn / ORT / OV | peak RSS MB qnn / ORT / OV "
                 "| exact |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
    for r in res["rows"]:
        e = r["engines"]
        q, o, v = e.get("qnn", {}), e.get("ort", {}), e.get("ov", {})
        if "ort-exact" in e:
            x = e["ort-exact"]
            o = dict(o)
            o["error"] = o.get("error", "–")
            extra = f" (exact mode {fmt(x.get('ms'), '.3f', x.get('error', '–'))})"
        else:
            extra = ""
        ov_note = "" if r["form"] == "qdq" else " (QDQ twin)"
        lines.append(
            f"| {r['network']} | {r['form']} | {r['threads']} | {fmt(r['gmac'])} "
            f"| {fmt(q.get('ms'), '.3f', q.get('error', '–'))} | {fmt(r.get('gmacs'), '.1f')} "
            f"| {fmt(r.get('pct_peak'), '.0f')} "
            f"| {fmt(o.get('ms'), '.3f', o.get('error', '–'))}{extra} "
            f"| {fmt(v.get('ms'), '.3f', v.get('error', '–'))}{ov_note} "
            f"| {fmt(r.get('vs_fastest'), '.2f')}× "
            f"| {fmt(q.get('load_ms'), '.0f')} / {fmt(o.get('load_ms'), '.0f')} / "
            f"{fmt(v.get('load_ms'), '.0f')} "
            f"| {fmt(q.get('rss_mb'), '.0f')} / {fmt(o.get('rss_mb'), '.0f')} / "
            f"{fmt(v.get('rss_mb'), '.0f')} | {r.get('exact', '–')} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--qnn", required=True)
    ap.add_argument("--dir", default=os.path.join(ROOT, "target", "qnn-networks"))
    ap.add_argument("--nets", default="")
    ap.add_argument("--forms", default="qop,qdq")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--peaks", default="", help="a JSON file of this CPU's instruction peaks")
    ap.add_argument("--peaks-bin", default="",
                    help="the `peaks` binary of qnn-benches: measure them now, in this run")
    ap.add_argument("--python-ov", default=sys.executable,
                    help="the Python with openvino (default: this one)")
    ap.add_argument("--no-ov", action="store_true")
    ap.add_argument("--ort-exact", action="store_true",
                    help="also time ORT with its exact u8×u8 kernels (session.x64quantprecision=1)")
    ap.add_argument("--out", default=os.path.join(ROOT, "target", "qnn-bench", "networks"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.dir, "networks.json")) as f:
        manifest = json.load(f)
    nets = manifest.get("networks", manifest)
    names = [n for n in a.nets.split(",") if n] or sorted(nets)
    forms = [f for f in a.forms.split(",") if f]
    threads = [int(t) for t in a.threads.split(",") if t]
    peaks = json.load(open(a.peaks)) if a.peaks else {}
    if a.peaks_bin:
        peaks = json.loads(subprocess.run([a.peaks_bin], capture_output=True, text=True,
                                          check=True).stdout)
    peak_name, peak = peak_of(peaks)
    import numpy as np

    res = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
           "machine": {"cpu": platform.processor() or platform.machine(),
                       "cores": os.cpu_count(), "peaks": peaks, "peak_name": peak_name,
                       "peak_gmacs": peak},
           "load_before": load_average(), "rows": []}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    res["machine"]["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    print(f"load average before: {res['load_before']:.2f}", file=sys.stderr)
    work = tempfile.mkdtemp(prefix="qnn-networks-")
    for net in names:
        info = nets[net]
        gmac = info.get("gmac")
        inp = os.path.join(a.dir, f"{net}_input.npy")
        qdq = os.path.join(a.dir, f"{net}_qdq.onnx")
        for form in forms:
            model = os.path.join(a.dir, f"{net}_{form}.onnx")
            if not os.path.exists(model):
                continue
            # Exactness, once per network and form (1 thread).
            qout = os.path.join(work, f"{net}_{form}_qnn")
            ortout = os.path.join(work, f"{net}_{form}_ort.npy")
            exout = os.path.join(work, f"{net}_{form}_exact.npy")
            q = qnn_engine(a.qnn, model, inp, 1, 1, 0, qout)
            o = py_engine(sys.executable, "ort", model, inp, 1, 1, 0, ortout)
            x = py_engine(sys.executable, "ort-exact", model, inp, 1, 1, 0, exout)
            exact = "qnn failed: " + q["error"] if "error" in q else None
            exact_detail = {}
            if exact is None and "error" not in o and "error" not in x:
                got = np.load(os.path.join(qout, "output_0.npy"))
                vs_exact = compare(got, np.load(exout))
                vs_ort = compare(got, np.load(ortout))
                exact_detail = {"vs_ort_exact": vs_exact, "vs_ort_here": vs_ort}
                if vs_exact["equal"] and vs_ort["equal"]:
                    exact = "yes"
                elif vs_exact["equal"]:
                    exact = f"yes (ORT's default here: {vs_ort['detail']}: its int16 saturation)"
                else:
                    exact = f"NO: {vs_exact['detail']} vs ORT's exact answer"
            print(f"{net} {form}: exact {exact}", file=sys.stderr)
            for t in threads:
                per = {"qnn": [], "ort": [], "ov": []}
                if a.ort_exact:
                    per["ort-exact"] = []
                for _ in range(a.rounds):
                    per["qnn"].append(qnn_engine(a.qnn, model, inp, t, a.runs, a.warmup,
                                                 os.path.join(work, "timing")))
                    per["ort"].append(py_engine(sys.executable, "ort", model, inp, t, a.runs,
                                                a.warmup))
                    if a.ort_exact:
                        per["ort-exact"].append(py_engine(sys.executable, "ort-exact", model, inp,
                                                          t, a.runs, a.warmup))
                    if not a.no_ov and os.path.exists(qdq):
                        per["ov"].append(py_engine(a.python_ov, "ov", qdq, inp, t, a.runs,
                                                   a.warmup))
                engines = {}
                for e, rs in per.items():
                    ok = [r for r in rs if "error" not in r]
                    if not rs:
                        continue
                    if not ok:
                        engines[e] = {"error": rs[0]["error"]}
                        continue
                    engines[e] = {"ms": median([r["median_ms"] for r in ok]),
                                  "load_ms": median([r["load_ms"] for r in ok]),
                                  "rss_mb": max(r["rss_mb"] for r in ok),
                                  "rounds": [r["median_ms"] for r in ok]}
                row = {"network": net, "form": form, "threads": t, "gmac": gmac,
                       "engines": engines, "exact": exact, "exactness": exact_detail}
                qms = engines.get("qnn", {}).get("ms")
                if qms and gmac:
                    row["gmacs"] = gmac / (qms / 1e3)
                    if peak:
                        row["pct_peak"] = 100.0 * row["gmacs"] / (peak * t)
                # Per-round ratio to each peer, then the median; the fastest peer per round.
                ratios = {}
                for peer in ("ort", "ov"):
                    qs, ps = engines.get("qnn", {}).get("rounds"), engines.get(peer, {}).get("rounds")
                    if qs and ps:
                        ratios[peer] = median([p / q for q, p in zip(qs, ps)])
                qs = engines.get("qnn", {}).get("rounds")
                peers = [engines[p]["rounds"] for p in ("ort", "ov") if engines.get(p, {}).get("rounds")]
                if qs and peers:
                    row["vs_fastest"] = median([min(p[i] for p in peers if i < len(p)) / q
                                                for i, q in enumerate(qs)])
                row["ratios"] = ratios
                res["rows"].append(row)
                print(f"{net:20s} {form} T{t} qnn {fmt(engines.get('qnn', {}).get('ms'), '.3f')} "
                      f"ort {fmt(engines.get('ort', {}).get('ms'), '.3f')} "
                      f"ov {fmt(engines.get('ov', {}).get('ms'), '.3f')} "
                      f"fastest/qnn {fmt(row.get('vs_fastest'))}×", file=sys.stderr)
    res["load_after"] = load_average()
    print(f"load average after: {res['load_after']:.2f}", file=sys.stderr)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    md = markdown(res)
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write(md + "\n")
    svg_chart(res["rows"], os.path.join(a.out, "speedup.svg"))
    print(md)
    print(f"\nwrote {a.out}/results.json, results.md, speedup.svg", file=sys.stderr)


if __name__ == "__main__":
    main()
