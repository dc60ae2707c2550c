#!/usr/bin/env bash
# check_train_devopt.sh NETC PYTHON [FAKE_DIR] — `train` with the optimizer on the device
# (runtime/program/train_devopt.c, codegen/cuda/cu_optim.c): fmnist_resnet compiled --train --target cuda
# --emulate at 28x28, batch 2, two epochs of six photographs (6 updates) with
#  - SGD (Nesterov, weight decay, gradient clipping that scales) and AdamW (decoupled weight decay): the final
#    checkpoint and optimizer state byte for byte those of the same program with its optimizer on the host
#    (NETC_DEV_HOST_OPTIM=1: the gradients downloaded, runtime/train/optim.c, the weights uploaded each step);
#  - the CPU program (netc compile without --target) within 2e-3, as check_train_step.sh compares loops: its
#    gradients come from other kernels (another summation order), so its weights cannot have the same bits;
#  - a run stopped after 4 updates (its checkpoint written from the device's weights mid-epoch) and resumed to
#    the end: byte for byte the uninterrupted run;
#  - a resume with the other optimizer: refused with a clear message (exit 2);
#  - --lr 1000: the losses overflow and the device skips the same updates (non-finite loss or norm) as the host,
#    its checkpoints byte for byte the host's;
#  - validation (--val) on the device after each epoch: the same metrics as with the host's optimizer, and with
#    --lr 0 (only the running statistics change) the CPU program's validation loss within 1e-4: the inference
#    program's batch norms read the weights and running statistics of that moment (cu_lower.c folds them when
#    the program runs in a bundle that trains), and its logits come back to the host;
#  - with FAKE_DIR (tests/cuda/fake_cuda.c's stand-in driver, where no real one is installed): the program
#    compiled without --emulate, through runtime/device/device_cuda.c, the device's optimizer byte for byte the
#    host's there too.
set -u
netc=$1 py=$2 fake=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] && cp -r "$tmp" "$KEEP"; rm -rf "$tmp"' EXIT
fail() { echo "$*"; echo "0 passed, 1 failed"; exit 1; }
model=$here/../../models/fmnist_resnet.nn
common=(--train --init det --res 28 --batch 2)
"$netc" compile "$model" "${common[@]}" --target cuda --emulate -o "$tmp/gpu" || fail "compile --target cuda failed"
"$netc" compile "$model" "${common[@]}" -o "$tmp/cpu" || fail "compile (CPU) failed"
photos=$(cd "$here/../photos" && pwd)
i=0
for f in astronaut.jpg camera.png chelsea.png coffee.jpg rocket.jpg coffee.jpg; do
  echo "$photos/$f $((i % 5 + 1))"
  i=$((i + 1))
done >"$tmp/list.txt"
# run NAME PROGRAM [ENV=...] -- TRAIN OPTIONS: a run into $tmp/NAME, its stderr in $tmp/NAME.txt
run() {
  local name=$1 prog=$2
  shift 2
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" "$tmp/$prog" train --data "$tmp/list.txt" --out "$tmp/$name" --workers 1 --quiet "$@" \
    >"$tmp/$name.txt" 2>&1 || fail "$name: train failed: $(tail -3 "$tmp/$name.txt")"
}
same() { # same RUN_A RUN_B STEP: checkpoint and optimizer state byte for byte
  cmp "$tmp/$1/ckpt-0000000$3.safetensors" "$tmp/$2/ckpt-0000000$3.safetensors" &&
    cmp "$tmp/$1/state-0000000$3.bin" "$tmp/$2/state-0000000$3.bin" ||
    fail "$1 and $2 differ after $3 updates"
  echo "$1 = $2 after $3 updates: checkpoint and optimizer state bit-identical"
}
sgd=(--epochs 2 --opt sgd --nesterov --wd 1e-4 --clip-grad 5 --val "$tmp/list.txt")
adamw=(--epochs 2 --opt adamw --lr 0.002 --wd 0.05)
run sgd_dev gpu -- "${sgd[@]}"
grep -q "the optimizer runs on the device" "$tmp/sgd_dev.txt" || fail "sgd_dev: the optimizer did not run on the device"
grep "the optimizer runs on the device" "$tmp/sgd_dev.txt"
run sgd_host gpu NETC_DEV_HOST_OPTIM=1 -- "${sgd[@]}"
grep -q "the optimizer runs on the device" "$tmp/sgd_host.txt" && fail "NETC_DEV_HOST_OPTIM=1 ran it on the device"
grep -q '"grad_norm": 9.79' "$tmp/sgd_dev/metrics.jsonl" ||
  fail "the first step's gradient norm is not over 5: no clipping tested"
same sgd_dev sgd_host 6
metrics() { grep epoch_end "$tmp/$1/metrics.jsonl" | sed 's/, "images_per_s.*//'; }
[ "$(metrics sgd_dev)" = "$(metrics sgd_host)" ] && [ -n "$(metrics sgd_dev)" ] ||
  fail "validation differs: $(metrics sgd_dev) / $(metrics sgd_host)"
metrics sgd_dev
run adamw_dev gpu -- "${adamw[@]}"
run adamw_host gpu NETC_DEV_HOST_OPTIM=1 -- "${adamw[@]}"
same adamw_dev adamw_host 6
run sgd_cpu cpu -- "${sgd[@]}"
"$py" "$here/compare_st.py" "$tmp/sgd_cpu/ckpt-00000006.safetensors" "$tmp/sgd_dev/ckpt-00000006.safetensors" 2e-3 ||
  fail "the device's run differs from the CPU program's"
run lr0_dev gpu -- --epochs 1 --lr 0 --sched constant --val "$tmp/list.txt"
run lr0_cpu cpu -- --epochs 1 --lr 0 --sched constant --val "$tmp/list.txt"
"$py" - "$tmp/lr0_dev/metrics.jsonl" "$tmp/lr0_cpu/metrics.jsonl" <<'PY' || fail "validation differs from the CPU's"
import json, sys
dev, cpu = ([json.loads(l)["val_loss"] for l in open(p) if "epoch_end" in l] for p in sys.argv[1:])
assert dev and len(dev) == len(cpu) and all(abs(a - b) <= 1e-4 * abs(b) for a, b in zip(dev, cpu)), (dev, cpu)
print("validation with the running statistics of the moment: device", dev, "CPU", cpu)
PY
blowup=(--epochs 3 --lr 1000 --momentum 0 --sched constant --nan-limit 20)
run nan_dev gpu -- "${blowup[@]}"
run nan_host gpu NETC_DEV_HOST_OPTIM=1 -- "${blowup[@]}"
[ "$(grep -c skipped_step "$tmp/nan_dev/metrics.jsonl")" -gt 0 ] || fail "--lr 1000: no update was skipped"
[ "$(grep skipped_step "$tmp/nan_dev/metrics.jsonl")" = "$(grep skipped_step "$tmp/nan_host/metrics.jsonl")" ] ||
  fail "--lr 1000: the device skipped other updates than the host"
same nan_dev nan_host 5
run stop gpu -- "${sgd[@]}" --max-steps 4
[ -f "$tmp/stop/ckpt-00000004.safetensors" ] || fail "no checkpoint after the 4th update"
run stop gpu -- "${sgd[@]}" --resume "$tmp/stop"
same stop sgd_dev 6
"$tmp/gpu" train --data "$tmp/list.txt" --out "$tmp/sgd_dev" --resume "$tmp/sgd_dev" --epochs 3 --opt adamw --quiet \
  >"$tmp/bad.txt" 2>&1
rc=$?
[ $rc = 2 ] && grep -q "from another model or optimizer" "$tmp/bad.txt" ||
  fail "resuming an SGD run with AdamW: exit $rc, $(cat "$tmp/bad.txt")"
echo "resuming an SGD run with AdamW: $(tail -1 "$tmp/bad.txt")"
if [ -n "$fake" ] && ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
  "$netc" compile "$model" "${common[@]}" --target cuda -o "$tmp/gpuf" || fail "compile --target cuda failed"
  run f_dev gpuf LD_LIBRARY_PATH="$fake" -- "${sgd[@]}"
  run f_host gpuf LD_LIBRARY_PATH="$fake" NETC_DEV_HOST_OPTIM=1 -- "${sgd[@]}"
  same f_dev f_host 6
else
  echo "the stand-in driver: not run (no FAKE_DIR, or a real driver is installed)"
fi
echo "1 passed, 0 failed"
