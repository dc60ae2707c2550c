#!/usr/bin/env bash
# check_multires.sh NETC MODEL.nn RES1,RES2 [COMPILE OPTIONS...] — one program
# per resolution sharing one copy of the weights (and of the filters the
# program transforms as it loads, kernels.h wprep); each resolution compared
# with the reference interpreter within 1e-5.
set -u
netc=$1 model=$2 list=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$netc" compile "$model" --init det --res "$list" "$@" -o "$tmp/prog" || { echo "0 passed, 1 failed"; exit 1; }
failed=0
for r in ${list//,/ }; do
    "$netc" run "$model" --init det --res "$r" --save-input "$tmp/x.npy" --output "$tmp/ref.npy" --top 0 >/dev/null
    "$tmp/prog" run --input "$tmp/x.npy" --output "$tmp/y.npy" --top 0 >/dev/null &&
        "$netc" compare "$tmp/ref.npy" "$tmp/y.npy" --rtol 1e-5 ||
        failed=$((failed + 1))
done
echo "passed with $failed failed"
[ "$failed" = 0 ]
