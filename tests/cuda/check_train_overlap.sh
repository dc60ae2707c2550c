#!/usr/bin/env bash
# check_train_overlap.sh NETC PYTHON [FAKE_DIR] — train's overlapped feed on a device (issue 19;
# runtime/program/train.c's prepare_batch, dev_exec.c's NcDevTrainPipe): while step i runs, batch i + 1 is
# prepared (decoded, a failed image replaced, mixed) in pinned memory and goes up on the copy stream, the step
# waiting for that upload's event.  fmnist_resnet compiled --train --target cuda --emulate at 28x28, batch 2,
# every run overlapped and again with NETC_DEV_OVERLAP=0 (each batch uploaded from pageable memory in turn):
#  - the losses, learning rates, gradient norms and skipped images of every step, the epochs' lines with
#    validation (--val: its metrics; on a device with streams each validation batch decoded into pinned memory
#    and uploaded while the one before runs, NcDevPipe), the final checkpoint and optimizer state: the same
#    bytes (the timings left out); the training set is 8 files, one of them not an image (its place in its batch
#    taken by a copy of another), seven images: each epoch drops a partial batch at batch 2 (the trainer drops
#    it); the validation set those 8 and one more: its last batch partial, one image failing;
#  - with --aug and --mixup (the batch mixed on the host before its upload), and with the optimizer on the host
#    (NETC_DEV_HOST_OPTIM=1: the weights uploaded before each step);
#  - a run stopped after 3 updates and resumed: byte for byte the uninterrupted overlapped run;
#  - with FAKE_DIR (tests/cuda/fake_cuda.c's stand-in driver, where no real one is installed): the program
#    compiled without --emulate, through device_cuda.c (the steps captured and replayed as CUDA graphs, the
#    stand-in refusing an async copy inside a capture): the same comparison.
set -u
netc=$1 py=$2 fake=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] && cp -r "$tmp" "$KEEP"; rm -rf "$tmp"' EXIT
fail() { echo "$*"; echo "0 passed, 1 failed"; exit 1; }
model=$here/../../models/fmnist_resnet.nn
common=(--train --init det --res 28 --batch 2)
"$netc" compile "$model" "${common[@]}" --target cuda --emulate -o "$tmp/gpu" || fail "compile --target cuda failed"
photos=$(cd "$here/../photos" && pwd)
echo "not an image" >"$tmp/broken.jpg"
i=0
for f in astronaut.jpg camera.png chelsea.png coffee.jpg rocket.jpg coffee.jpg camera.png; do
  echo "$photos/$f $((i % 5 + 1))"
  i=$((i + 1))
done >"$tmp/list.txt"
echo "$tmp/broken.jpg 2" >>"$tmp/list.txt"
cp "$tmp/list.txt" "$tmp/val.txt"
echo "$photos/chelsea.png 3" >>"$tmp/val.txt" # 9: the last validation batch partial, one image failing
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
metrics() { # the metrics without their timings
  "$py" - "$tmp/$1/metrics.jsonl" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    for k in ("images_per_s", "data_wait", "time_s", "wait_s"):
        d.pop(k, None)
    print(json.dumps(d, sort_keys=True))
PY
}
same() { # same RUN_A RUN_B STEP: metrics, checkpoint and optimizer state byte for byte
  [ "$(metrics "$1")" = "$(metrics "$2")" ] && [ -n "$(metrics "$1")" ] ||
    fail "$1 and $2: the metrics differ: $(diff <(metrics "$1") <(metrics "$2") | head -6)"
  cmp "$tmp/$1/ckpt-0000000$3.safetensors" "$tmp/$2/ckpt-0000000$3.safetensors" &&
    cmp "$tmp/$1/state-0000000$3.bin" "$tmp/$2/state-0000000$3.bin" ||
    fail "$1 and $2 differ after $3 updates"
  echo "$1 = $2 after $3 updates: $(metrics "$1" | wc -l) metrics lines, checkpoint and optimizer state bit-identical"
}
# pair NAME PROGRAM [ENV=...] -- OPTIONS: overlapped (NAME) and not (NAME_seq)
pair() {
  local name=$1
  shift
  run "$name" "$@"
  grep -q "each batch's upload overlaps the step before" "$tmp/$name.txt" || fail "$name: not overlapped"
  local prog=$1
  shift
  run "${name}_seq" "$prog" NETC_DEV_OVERLAP=0 "$@"
  grep -q "each batch's upload overlaps" "$tmp/${name}_seq.txt" && fail "NETC_DEV_OVERLAP=0 overlapped"
}
sgd=(--epochs 2 --opt sgd --nesterov --wd 1e-4 --clip-grad 5 --val "$tmp/val.txt")
pair sgd gpu -- "${sgd[@]}"
grep -q "warning: skipped" "$tmp/sgd.txt" || fail "the broken file was not skipped: no failed image tested"
[ "$(grep -c '^{"step"' "$tmp/sgd/metrics.jsonl")" = 8 ] || fail "sgd: expected 8 steps (4 a epoch)"
same sgd sgd_seq 8
grep epoch_end "$tmp/sgd/metrics.jsonl" | sed 's/, "images_per_s.*//'
pair mix gpu -- --epochs 2 --aug hflip --mixup 0.8 --opt adamw --lr 0.002
same mix mix_seq 8
pair host gpu NETC_DEV_HOST_OPTIM=1 -- "${sgd[@]}"
same host host_seq 8
same host sgd 8
run stop gpu -- "${sgd[@]}" --max-steps 3
[ -f "$tmp/stop/ckpt-00000003.safetensors" ] || fail "no checkpoint after the 3rd update"
run stop gpu -- "${sgd[@]}" --resume "$tmp/stop"
cmp "$tmp/stop/ckpt-00000008.safetensors" "$tmp/sgd/ckpt-00000008.safetensors" &&
  cmp "$tmp/stop/state-00000008.bin" "$tmp/sgd/state-00000008.bin" || fail "the resumed run differs"
echo "stopped after 3 updates and resumed: the uninterrupted run's checkpoint and state"
if [ -n "$fake" ] && ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
  "$netc" compile "$model" "${common[@]}" --target cuda -o "$tmp/gpuf" || fail "compile --target cuda failed"
  pair f_sgd gpuf LD_LIBRARY_PATH="$fake" -- "${sgd[@]}"
  same f_sgd f_sgd_seq 8
  pair f_mix gpuf LD_LIBRARY_PATH="$fake" -- --epochs 2 --aug hflip --mixup 0.8 --opt adamw --lr 0.002
  same f_mix f_mix_seq 8
else
  echo "the stand-in driver: not run (no FAKE_DIR, or a real driver is installed)"
fi
echo "1 passed, 0 failed"
