#!/usr/bin/env bash
# check_compiled.sh NETC MODEL.nn RES BATCH [COMPILE OPTIONS...] — compile,
# run the program (on 2 and 3 threads) and the reference interpreter (unfused)
# on the same input, compare within 1e-5.
set -u
netc=$1 model=$2 res=$3 batch=$4
shift 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$netc" compile "$model" --init det --res "$res" --batch "$batch" "$@" -o "$tmp/prog" ||
  { echo "0 passed, 1 failed"; exit 1; }
"$netc" run "$model" --init det --res "$res" --batch "$batch" --save-input "$tmp/x.npy" --output "$tmp/ref.npy" \
  --top 0 >/dev/null
# twice: on 2 threads, and on 3 (more interleavings: a race between tiles
# shows as a difference)
for threads in 2 3; do
  OMP_NUM_THREADS=$threads "$tmp/prog" run --input "$tmp/x.npy" --output "$tmp/y.npy" --top 0 >/dev/null ||
    { echo "0 passed, 1 failed"; exit 1; }
  "$netc" compare "$tmp/ref.npy" "$tmp/y.npy" --rtol 1e-5 || { echo "0 passed, 1 failed ($threads threads)"; exit 1; }
done
echo "1 passed, 0 failed"
