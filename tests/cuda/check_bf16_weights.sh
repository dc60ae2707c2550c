#!/usr/bin/env bash
# check_bf16_weights.sh NETC MODEL.nn RES BATCH [FAKE_DIR] — --target cuda --precision bf16 stores an inference
# program's GEMM weights (and the cuDNN form's filters) in bf16 once, converted on the device when the program
# loads (codegen/cuda/cu_lower.c's bf16_operand), instead of converting them before every GEMM of every run.
# Against the same program compiled with NETC_CUDA_BF16_WEIGHTS=each-run (the weights converted at each use, as
# before): the emulator's logits byte for byte equal (the GEMM forms and, NETC_CONV_TACTIC=cudnn, the cuDNN
# forms); bench --per-kernel's device steps: fewer per run, some at load (none for each-run); a --train bundle
# (its weights change at every optimizer step) converts at each use either way: nothing at load, the same
# steps (TRAIN_MODEL=M.nn: that model's, where MODEL has no gradient rules; none: not checked).  With FAKE_DIR
# (tests/cuda/fake_cuda.c's stand-in driver) classify through captured graphs (the conversion at load, outside
# the graph) equals each-run's and the emulator's (the convs' forms as NETC_CONV_TACTIC says, GEMM by default).
set -u
netc=$1 model=$2 res=$3 batch=$4 fake=${5:-}
train_model=${TRAIN_MODEL:-$model}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "$*"; echo "0 passed, 1 failed"; exit 1; }
common=(--init det --res "$res" --batch "$batch" --precision bf16)
"$netc" compile "$model" "${common[@]}" --target cuda --emulate -o "$tmp/once" || fail "compile failed"
NETC_CUDA_BF16_WEIGHTS=each-run "$netc" compile "$model" "${common[@]}" --target cuda --emulate -o "$tmp/each" ||
  fail "compile (each-run) failed"
"$netc" run "$model" --init det --res "$res" --batch "$batch" --save-input "$tmp/x.npy" --output "$tmp/ref.npy" \
  --top 0 >/dev/null || fail "netc run failed"
for form in gemm cudnn; do
  for t in once each; do
    NETC_CONV_TACTIC=$form "$tmp/$t" run --input "$tmp/x.npy" --output "$tmp/$t-$form.npy" --top 0 >/dev/null ||
      fail "$t: the run ($form) failed"
  done
  cmp -s "$tmp/once-$form.npy" "$tmp/each-$form.npy" ||
    fail "the logits ($form forms) differ from those with the weights converted each run"
  "$netc" compare "$tmp/ref.npy" "$tmp/once-$form.npy" --rtol 2e-2 || fail "the forward ($form) differs"
done
echo "logits byte for byte those of NETC_CUDA_BF16_WEIGHTS=each-run (GEMM and cuDNN forms)"
# "device steps: S per run (...), L at load (...)"
steps() {
  "$@" --per-kernel --iters 1 --warmup 0 >"$tmp/bench.txt" 2>&1 || fail "bench failed: $(tail -3 "$tmp/bench.txt")"
  sed -n 's/^device steps: \([0-9]*\) per run.*, \([0-9]*\) at load.*/\1 \2/p' "$tmp/bench.txt"
}
read -r run_once load_once <<<"$(steps "$tmp/once" bench)"
read -r run_each load_each <<<"$(steps "$tmp/each" bench)"
echo "device steps per run: $run_each -> $run_once; at load: $load_each -> $load_once"
[ "${load_once:-0}" -gt 0 ] || fail "no weight converted at load"
[ "${load_each:-1}" = 0 ] || fail "each-run converted weights at load"
[ $((run_each - run_once)) -ge "$load_once" ] || fail "fewer than $load_once conversions left the runs"
# a training bundle: its weights change at every step, so converted at each use, with or without the switch
[ "$train_model" = none ] || {
"$netc" compile "$train_model" "${common[@]}" --train --target cuda --emulate -o "$tmp/train" ||
  fail "compile --train failed"
NETC_CUDA_BF16_WEIGHTS=each-run "$netc" compile "$train_model" "${common[@]}" --train --target cuda --emulate \
  -o "$tmp/train_each" || fail "compile --train (each-run) failed"
cmp -s "$tmp/train" "$tmp/train_each" || fail "the switch changed a training bundle"
read -r run_train load_train <<<"$(steps "$tmp/train" bench --train)"
[ "${load_train:-1}" = 0 ] || fail "a training step converts weights at load"
read -r run_inf load_inf <<<"$(steps "$tmp/train" bench)"
[ "${load_inf:-1}" = 0 ] || fail "a training bundle's inference program converts weights at load"
echo "--train: $run_train steps per run (the step), $run_inf (its inference program), none at load"
}
if [ -n "$fake" ] && ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
  photos=$(dirname "$0")/../photos
  "$netc" compile "$model" "${common[@]}" --target cuda -o "$tmp/gpu" || fail "compile (GPU) failed"
  NETC_CUDA_BF16_WEIGHTS=each-run "$netc" compile "$model" "${common[@]}" --target cuda -o "$tmp/gpu_each" ||
    fail "compile (GPU, each-run) failed"
  tactic=${NETC_CONV_TACTIC:-gemm}
  for t in gpu gpu_each; do # five photographs at batch 2: issued, captured as a graph, replayed
    NETC_CONV_TACTIC=$tactic LD_LIBRARY_PATH=$fake "$tmp/$t" classify "$photos" --logits --top 3 --json \
      >"$tmp/$t.json" || fail "$t: classify failed on the stand-in driver"
  done
  NETC_CONV_TACTIC=$tactic "$tmp/once" classify "$photos" --logits --top 3 --json >"$tmp/emu.json" || fail "classify"
  [ "$(grep -c '"ok": true' "$tmp/emu.json")" -ge 3 ] || fail "fewer than 3 photographs classified"
  cmp -s "$tmp/gpu.json" "$tmp/gpu_each.json" || fail "classify through graphs differs from each-run's"
  cmp -s "$tmp/gpu.json" "$tmp/emu.json" || fail "classify through graphs differs from the emulator's"
  echo "the stand-in driver's graphs: classify equal to each-run's and the emulator's"
fi
echo "1 passed, 0 failed"
