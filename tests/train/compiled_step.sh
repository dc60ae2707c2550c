#!/usr/bin/env bash
# compiled_step.sh NETC GRAD_CHECK MODEL.nn FIXTURE — the compiled training
# step (netc compile --train, then PROGRAM run --train) against the PyTorch
# fixture, as grad_main.c checks the interpreter's: the same weights (the
# deterministic initialiser with the fixture's BN scales, saved by
# netc_grad_check --save-inputs), the same input and labels; bound 1e-3.
set -euo pipefail
netc=$1 check=$2 model=$3 fixture=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
read -r res batch classes labels smoothing < <("$check" --save-inputs "$tmp" "$model" "$fixture")
"$netc" compile "$model" --train --weights "$tmp/weights.safetensors" --res "$res" --batch "$batch" \
    --set "classes=$classes" -o "$tmp/step"
"$tmp/step" run --train --input "$tmp/input.npy" --labels "$labels" --label-smoothing "$smoothing" \
    --output "$tmp/g.safetensors"
"$check" --compare "$tmp/g.safetensors" "$model" "$fixture" 1e-3
