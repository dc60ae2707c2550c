#!/usr/bin/env bash
# check_program.sh NETC MODEL.nn RES BATCH [COMPILE OPTIONS...] — a `--target cuda --emulate` program:
# compile it (every kernel's PTX written beside), assemble every PTX with `ptxas -arch=sm_90` (skipped
# with a message when the CUDA toolkit is absent), run its forward pass through the device emulator
# (the kernels' CPU lowerings, GEMMs in double) against the reference interpreter (`netc run`) within
# 1e-4 relative (RTOL sets it: 2e-2 for --precision bf16), and run its bench --per-kernel (every node
# names its device strategy).
# NETC_CONV_TACTIC=cudnn in the environment runs the convs that have both forms as the device's conv step
# (runtime/device/dev_conv_tactic.h); STRATEGY=NAME then requires bench --per-kernel to show a node run so.
# With KEEP=DIR the program, its input and the interpreter's output are kept there (tests/gpu/check.sh
# runs them on a GPU).
set -u
netc=$1 model=$2 res=$3 batch=$4
shift 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "$*"; echo "0 passed, 1 failed"; exit 1; }
mkdir "$tmp/ptx"
"$netc" compile "$model" --init det --res "$res" --batch "$batch" --target cuda --emulate --ptx "$tmp/ptx" \
  "$@" -o "$tmp/prog" || fail "compile failed"
ptxas=${PTXAS:-$(command -v ptxas || echo /usr/local/cuda/bin/ptxas)}
n=$(ls "$tmp/ptx" | wc -l)
[ "$n" -gt 0 ] || fail "no PTX written"
if [ -x "$ptxas" ]; then
  for f in "$tmp"/ptx/*.ptx; do
    "$ptxas" -arch=sm_90 -o /dev/null "$f" || fail "ptxas rejected $(basename "$f")"
  done
  echo "ptxas -arch=sm_90: all $n kernels assembled"
else
  echo "ptxas not found (no CUDA toolkit): the $n kernels' PTX was not assembled (skipped)"
fi
"$netc" run "$model" --init det --res "$res" --batch "$batch" --save-input "$tmp/x.npy" --output "$tmp/ref.npy" \
  --top 0 >/dev/null || fail "netc run failed"
"$tmp/prog" run --input "$tmp/x.npy" --output "$tmp/y.npy" --top 0 >/dev/null || fail "the program's run failed"
"$netc" compare "$tmp/ref.npy" "$tmp/y.npy" --rtol "${RTOL:-1e-4}" ||
  fail "emulated forward differs from the interpreter"
"$tmp/prog" bench --per-kernel --iters 1 --warmup 0 >"$tmp/bench.txt" 2>"$tmp/bench.err" ||
  fail "bench --per-kernel failed"
grep -q "cuda " "$tmp/bench.txt" || fail "bench --per-kernel names no device strategy: $(head -5 "$tmp/bench.txt")"
# STRATEGY=NAME: some node must run by it (NETC_CONV_TACTIC=cudnn: "cuda cudnn", not a silent fallback)
[ -z "${STRATEGY:-}" ] || grep -q "$STRATEGY" "$tmp/bench.txt" || fail "no node runs as '$STRATEGY'"
! grep -q "keeps netc's kernels" "$tmp/bench.err" || fail "a conv's cuDNN form was refused: $(cat "$tmp/bench.err")"
# GEMMs with a fused bias (+ relu) epilogue: unfused at run time (NETC_GEMM_EPILOGUE=0: each GEMM, then netc's
# elementwise kernel) the emulator rounds the same, so the output is the same bits
if grep -q "gemm+epi" "$tmp/bench.txt"; then
  NETC_GEMM_EPILOGUE=0 "$tmp/prog" run --input "$tmp/x.npy" --output "$tmp/y0.npy" --top 0 >/dev/null ||
    fail "the run with NETC_GEMM_EPILOGUE=0 failed"
  cmp -s "$tmp/y.npy" "$tmp/y0.npy" || fail "the fused GEMM epilogues differ from the unfused form's"
  echo "fused GEMM epilogues: the same bits as the unfused form's"
fi
if [ -n "${KEEP:-}" ]; then
  mkdir -p "$KEEP"
  cp "$tmp/prog" "$tmp/x.npy" "$tmp/ref.npy" "$KEEP/"
fi
echo "1 passed, 0 failed"
