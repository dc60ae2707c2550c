#!/usr/bin/env bash
# check.sh — issue 19's GPU check, in two halves, because the GPU machine has no LLVM (it cannot build netc):
#
#   tests/gpu/check.sh prepare DIR [MODEL...]   here, with a build (BUILD=build folder, default build/):
#       compiles each model (default: resnet18 efficientnet_b0 regnety_016 resnest26d; 10 classes, 64x64,
#       batch 2, deterministic weights) with `netc compile --target cuda:sm_90` into DIR/MODEL/prog, with the
#       interpreter's input and output beside it (x.npy, ref.npy: `netc run`), the shared libraries the
#       programs need that a bare GPU machine may lack in DIR/lib, and netc compare's job done by
#       DIR/compare.py (numpy).  A model netc cannot lower for the GPU yet is reported and left out.
#   tests/gpu/check.sh run DIR                 there: each DIR/MODEL/prog run on the GPU (--device cuda)
#       against ref.npy (1e-4 relative), then its bench (batch 2, and --per-kernel); the log goes to stdout
#       and to $OUT/gpu_check.log (or DIR/gpu_check.log).  Exit status 0 when every model matched.
#
# With the device tool: keep DIR inside the repository under an ignored folder (64 MiB in all travels),
# name it in `carry`, and run `bash tests/gpu/check.sh run DIR` there.  Nothing here needs a GPU.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
mode=${1:-}
dir=${2:-}
[ -n "$mode" ] && [ -n "$dir" ] || { sed -n '2,17p' "$0"; exit 2; }
shift 2

prepare() {
  local build=${BUILD:-$root/build} netc models
  netc=$build/netc
  [ -x "$netc" ] || { echo "no netc at $netc (BUILD=...)"; exit 2; }
  models=${*:-resnet18 efficientnet_b0 regnety_016 resnest26d}
  mkdir -p "$dir/lib"
  local opts=(--init det --res 64 --batch 2 --set classes=10)
  for m in $models; do
    mkdir -p "$dir/$m"
    if ! "$netc" compile "$root/models/$m.nn" "${opts[@]}" --target cuda:sm_90 -o "$dir/$m/prog" \
      2>"$dir/$m/compile.err"; then
      echo "$m: not compiled for the GPU: $(tail -1 "$dir/$m/compile.err")"
      rm -rf "${dir:?}/$m"
      continue
    fi
    "$netc" run "$root/models/$m.nn" "${opts[@]}" --save-input "$dir/$m/x.npy" --output "$dir/$m/ref.npy" --top 0 \
      >/dev/null || { echo "$m: netc run failed"; exit 1; }
    rm -f "$dir/$m/compile.err"
    echo "$m: prepared ($(du -sh "$dir/$m" | cut -f1))"
    # the libraries the program links that are not the C library's own
    ldd "$dir/$m/prog" | awk '/=> \// {print $3}' | grep -vE '/(libc|libm|libdl|libpthread|librt|ld-linux[^/]*)\.so' |
      while read -r so; do cp -L "$so" "$dir/lib/"; done
  done
  cat >"$dir/compare.py" <<'PY'
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
err = float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(a))), 1e-30)) if a.shape == b.shape else float("inf")
print(f"max |difference| / max |reference| = {err:.3g}")
sys.exit(0 if err <= float(sys.argv[3]) else 1)
PY
  echo "prepared in $dir: $(du -sh "$dir" | cut -f1) (the device tool carries 64 MiB in all)"
}

run() {
  local log=${OUT:-$dir}/gpu_check.log failed=0 n=0
  export LD_LIBRARY_PATH=$dir/lib:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  {
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || echo "nvidia-smi: not found"
    for p in "$dir"/*/prog; do
      local m
      m=$(basename "$(dirname "$p")")
      n=$((n + 1))
      echo "== $m"
      "$p" info | sed -n '1,3p'
      if "$p" --device cuda run --input "$dir/$m/x.npy" --output "$dir/$m/y.npy" --top 0 >/dev/null &&
        python3 "$dir/compare.py" "$dir/$m/ref.npy" "$dir/$m/y.npy" 1e-4; then
        echo "$m: forward on the GPU matches the interpreter"
        "$p" --device cuda bench --iters 20 --warmup 3
        "$p" --device cuda bench --iters 3 --warmup 1 --per-kernel
      else
        echo "$m: FAILED"
        failed=$((failed + 1))
      fi
    done
    echo "$((n - failed)) of $n models passed on the GPU"
    [ "$n" -gt 0 ] && [ "$failed" = 0 ]
  } 2>&1 | tee "$log"
  return "${PIPESTATUS[0]}"
}

case $mode in
  prepare) prepare "$@" ;;
  run) run ;;
  *) echo "check.sh: unknown mode '$mode' (prepare or run)"; exit 2 ;;
esac
