#!/usr/bin/env bash
# check_train_step.sh NETC PYTHON MODEL.nn RES BATCH [COMPILE OPTIONS...] — a training step compiled
# `--train --target cuda --emulate` (every kernel's PTX assembled by `ptxas -arch=sm_90` when the CUDA
# toolkit is present) against the same step compiled --no-codegen (the reference kernels of ir/, the
# interpreter's): the same deterministic weights, input and labels through `run --train`; the loss, the
# logits, every gradient (by timm name) and the BN running statistics must agree within 1e-4 of each
# tensor's largest magnitude (tests/cuda/compare_st.py).  Then the device's `train` loop against the reference
# kernels' over two epochs of the photographs.
# GPU_OPTS: options for the device's compile only (--precision bf16), STEP_TOL and LOOP_TOL the step's and
# the loop's tolerances (1e-4 and 2e-3 by default), GRAD_L2 the step's gradients' by their L2 norm instead
# (compare_st.py).
# FAKE_DIR: the device's program compiled without --emulate and run through runtime/device/device_cuda.c on
# tests/cuda/fake_cuda.c's stand-in driver, cuBLAS and cuDNN in that folder (skipped where a real driver is
# installed).  STRATEGY=NAME: every conv input and weight gradient must run so (bench --train --per-kernel),
# e.g. NETC_CONV_TACTIC=cudnn STRATEGY="cuda cudnn" for cuDNN's backward-data and backward-filter forms, except
# those of the layers in STRATEGY_SKIP (names, spaces between: convs cuDNN cannot take, asymmetric padding).
set -u
netc=$1 py=$2 model=$3 res=$4 batch=$5
shift 5
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] && cp -r "$tmp" "$KEEP"; rm -rf "$tmp"' EXIT
fail() { echo "$*"; echo "0 passed, 1 failed"; exit 1; }
mkdir "$tmp/ptx"
common=(--train --init det --res "$res" --batch "$batch" "$@")
emulate=--emulate
if [ -n "${FAKE_DIR:-}" ]; then
  if ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
    echo "a CUDA driver is installed here: the stand-in is not used (skipped)"
    echo "1 passed, 0 failed"
    exit 0
  fi
  emulate= # the program opens the "cuda" device: the stand-ins in FAKE_DIR
  export LD_LIBRARY_PATH=$FAKE_DIR
fi
"$netc" compile "$model" "${common[@]}" --target cuda $emulate --ptx "$tmp/ptx" ${GPU_OPTS:-} -o "$tmp/gpu" ||
  fail "compile --target cuda failed"
"$netc" compile "$model" "${common[@]}" --no-codegen -o "$tmp/ref" || fail "compile --no-codegen failed"
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
h=${res%x*} w=${res#*x}
"$py" -c "
import numpy as np, sys
rng = np.random.default_rng(7)
np.save(sys.argv[1], rng.standard_normal(($batch, 3, $h, $w)).astype(np.float32))
print(','.join(str(int(v)) for v in rng.integers(0, 10, $batch)))" "$tmp/x.npy" >"$tmp/labels" ||
  fail "making the input failed"
labels=$(cat "$tmp/labels")
for t in ref gpu; do
  "$tmp/$t" run --train --input "$tmp/x.npy" --labels "$labels" --output "$tmp/$t.safetensors" ||
    fail "$t: run --train failed"
done
"$py" "$here/compare_st.py" "$tmp/ref.safetensors" "$tmp/gpu.safetensors" "${STEP_TOL:-1e-4}" ${GRAD_L2:-} ||
  fail "the device's step differs"
if [ -n "${STRATEGY:-}" ]; then
  "$tmp/gpu" bench --train --per-kernel --iters 2 --warmup 1 >"$tmp/pk.txt" 2>&1 ||
    fail "bench --train --per-kernel failed"
  [ -z "${FAKE_DIR:-}" ] || "$tmp/gpu" --device cuda info | grep -q "running on fake GPU" ||
    fail "the program does not run on the stand-in driver"
  for layer in ${STRATEGY_SKIP:-}; do # the per-kernel rows without the skipped layers' (its name is a column)
    grep -v " $layer  " "$tmp/pk.txt" >"$tmp/pk1.txt" && mv "$tmp/pk1.txt" "$tmp/pk.txt"
  done
  for op in conv2d_grad_input conv2d_grad_weight; do
    all=$(grep -c "^[0-9][0-9]* *$op " "$tmp/pk.txt")
    so=$(grep -c "^[0-9][0-9]* *$op *$STRATEGY " "$tmp/pk.txt")
    [ "$all" -gt 0 ] && [ "$so" = "$all" ] || fail "$so of $all ${op} nodes run as $STRATEGY"
    echo "$so of $all $op nodes run as $STRATEGY"
  done
fi
# the training loop on the device: two epochs over the photographs (6 steps, the optimizer on the device too:
# runtime/program/train_devopt.c) against the same loop on the reference kernels; after 6 SGD steps at batch 2
# the checkpoints agree within 2e-3 (the rounding of the steps compounds)
if [ "${TRAIN_LOOP:-1}" = 0 ]; then # (a model whose steps are too ill-conditioned to compare after several)
  echo "the training loop: not compared for this model (TRAIN_LOOP=0)"
  echo "1 passed, 0 failed"
  exit 0
fi
photos=$(cd "$here/../photos" && pwd)
i=0
for f in astronaut.jpg camera.png chelsea.png coffee.jpg rocket.jpg coffee.jpg; do
  echo "$photos/$f $((i % 5 + 1))"
  i=$((i + 1))
done >"$tmp/list.txt"
for t in ref gpu; do
  "$tmp/$t" train --data "$tmp/list.txt" --out "$tmp/run_$t" --epochs 2 --workers 1 >"$tmp/train_$t.txt" 2>&1 ||
    fail "$t: train failed: $(tail -3 "$tmp/train_$t.txt")"
done
[ -f "$tmp/run_gpu/ckpt-00000006.safetensors" ] || fail "the device's train wrote no checkpoint after 6 steps"
"$py" "$here/compare_st.py" "$tmp/run_ref/ckpt-00000006.safetensors" "$tmp/run_gpu/ckpt-00000006.safetensors" \
  "${LOOP_TOL:-2e-3}" ||
  fail "the device's training loop differs from the reference kernels'"
echo "1 passed, 0 failed"
