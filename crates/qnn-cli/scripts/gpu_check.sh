#!/usr/bin/env bash
# `qnn run --target cuda` on the eight peer models on a machine with an NVIDIA GPU: each
# output compared byte for byte with ONNX Runtime's (the fixtures), the plan's device steps
# counted, and the latency (median of 50 runs) next to the CPU's.
#   bash crates/qnn-cli/scripts/gpu_check.sh [path/to/qnn] [outdir]
set -u
B=${1:-target/release/qnn}
OUT=${2:-/tmp/qnn-gpu-check}
F=crates/qnn-onnx/tests/fixtures/models
mkdir -p "$OUT"
nvidia-smi -L 2>&1 | head -2
"$B" targets | sed -n 3,10p
for m in mobilenetv2_qop_pt mobilenetv2_qop_pc mobilenetv2_qdq_pt mobilenetv2_qdq_pc \
         resnet_qop_pt resnet_qop_pc resnet_qdq_pt resnet_qdq_pc; do
  n=${m%%_*}
  for t in cuda host; do
    "$B" run "$F/$m.onnx" -i "$F/${n}_input.npy" -o "$OUT/$m-$t" --target "$t" --repeat 50 \
      --warmup 5 --report > "$OUT/$m-$t.txt" 2>&1
    rc=$?
    if cmp -s "$OUT/$m-$t/output_0.npy" "$F/${m}_output.npy"; then same=exact; else same=DIFFERS; fi
    dev=$(grep -o "[0-9]* on a device" "$OUT/$m-$t.txt" | head -1)
    lat=$(grep -o "latency median [0-9.]* ms" "$OUT/$m-$t.txt")
    echo "$m $t rc=$rc $same ($dev) $lat"
    [ $rc -ne 0 ] && tail -3 "$OUT/$m-$t.txt"
  done
done
