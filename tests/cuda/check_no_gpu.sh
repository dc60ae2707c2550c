#!/usr/bin/env bash
# check_no_gpu.sh NETC MODEL.nn PHOTOS — a `netc ensemble --target cuda` program (no --emulate; the model at
# two resolutions, two programs) on a machine without a GPU fails with the device layer's "cannot use a
# GPU: ..." (exit 1) and runs with --device emulate, where classify and features answer as the same
# ensemble compiled for the CPU does (same top classes, features within 1e-4); a CPU program refuses
# --device (exit 2); without ptxas (NETC_PTXAS=none) the program carries PTX alone, and a ptxas that fails
# fails the compile.  Where a GPU is present, the first part runs on it instead.
set -u
netc=$1 model=$2 photos=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "$*"; echo "0 passed, 1 failed"; exit 1; }
"$netc" ensemble "$model:det@32,40" --merge mean --target cuda -o "$tmp/gpu" || fail "ensemble --target cuda failed"
"$netc" run "$model" --init det --res 32 --save-input "$tmp/x.npy" --output "$tmp/ref.npy" --top 0 >/dev/null ||
  fail "netc run failed"
"$tmp/gpu" info | grep -q "PTX.* for sm_90" || fail "info does not say the program is for a GPU"
"$tmp/gpu" run --input "$tmp/x.npy" --output "$tmp/y.npy" --top 0 >/dev/null 2>"$tmp/err"
rc=$?
if grep -q "cannot use a GPU: " "$tmp/err"; then
  [ $rc = 1 ] || fail "exit status $rc without a GPU, expected 1"
  echo "no GPU here: $(cat "$tmp/err")"
else
  [ $rc = 0 ] || fail "run failed: $(cat "$tmp/err")"
  "$netc" compare "$tmp/ref.npy" "$tmp/y.npy" --rtol 1e-4 || fail "the GPU's forward differs from the interpreter"
  echo "a GPU is here: the forward pass ran on it and matched"
fi
"$tmp/gpu" --device emulate run --input "$tmp/x.npy" --output "$tmp/y2.npy" --top 0 >/dev/null ||
  fail "--device emulate failed"
"$netc" compare "$tmp/ref.npy" "$tmp/y2.npy" --rtol 1e-4 || fail "--device emulate differs from the interpreter"
"$tmp/gpu" --device tpu info >/dev/null 2>"$tmp/err"
rc=$?
[ $rc = 2 ] && grep -q "expected emulate" "$tmp/err" || fail "--device tpu: exit $rc: $(cat "$tmp/err")"
"$netc" ensemble "$model:det@32,40" --merge mean -o "$tmp/cpu" || fail "CPU ensemble failed"
for p in gpu cpu; do
  dev=(); [ $p = gpu ] && dev=(--device emulate)
  "$tmp/$p" "${dev[@]}" features "$photos" -o "$tmp/f_$p.npy" 2>/dev/null || fail "$p features failed"
  "$tmp/$p" "${dev[@]}" classify "$photos" --top 1 --json | grep -o '"class": [0-9]*' >"$tmp/c_$p.txt" ||
    fail "$p classify failed"
done
"$netc" compare "$tmp/f_cpu.npy" "$tmp/f_gpu.npy" --rtol 1e-4 || fail "features differ from the CPU program's"
cmp -s "$tmp/c_cpu.txt" "$tmp/c_gpu.txt" || fail "classify's top classes differ from the CPU program's"
[ -s "$tmp/c_gpu.txt" ] || fail "classify answered nothing"
"$tmp/cpu" --device emulate info >/dev/null 2>"$tmp/err"
rc=$?
[ $rc = 2 ] && grep -q "runs on the CPU" "$tmp/err" || fail "--device on a CPU program: exit $rc: $(cat "$tmp/err")"
# ptxas (cubins) is optional: NETC_PTXAS=none leaves the PTX alone; a ptxas that rejects a kernel fails the
# compile (exit 1, a netc bug: invalid PTX) and leaves no program behind
NETC_PTXAS=none "$netc" compile "$model" --init det --res 32 --target cuda -o "$tmp/ptx_only" 2>"$tmp/err" ||
  fail "compile with NETC_PTXAS=none failed: $(cat "$tmp/err")"
grep -q "no cubins (NETC_PTXAS=none)" "$tmp/err" || fail "no word of the missing cubins: $(cat "$tmp/err")"
"$tmp/ptx_only" info | grep -q "PTX for sm_90, no cubins" || fail "info does not say there are no cubins"
NETC_PTXAS=/bin/false "$netc" compile "$model" --init det --res 32 --target cuda -o "$tmp/bad" 2>"$tmp/err"
rc=$?
[ $rc = 1 ] && grep -q "rejected the PTX of kernel" "$tmp/err" || fail "a failing ptxas: exit $rc: $(cat "$tmp/err")"
[ ! -e "$tmp/bad" ] || fail "a failing ptxas left a program behind"
echo "1 passed, 0 failed"
