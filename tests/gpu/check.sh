#!/usr/bin/env bash
# check.sh — issue 19's GPU check, in two halves, because the GPU machine has no LLVM (it cannot build netc):
#
#   tests/gpu/check.sh prepare DIR [MODEL...]   here, with a build (BUILD=build folder, default build/):
#       compiles each model (a name of models/, tests/codegen/ or tests/cuda/; default: fmnist_resnet and
#       efficientnet_b0 at batch 2 with 10 classes, and the zoos conv_zoo, op_zoo, dw_zoo, cuda_zoo, which
#       reach every rule of the GPU lowering, at 37x29 batch 2; deterministic weights; small enough for the
#       device tool's 64 MiB) with `netc compile --target cuda:sm_90` into DIR/MODEL/prog, with the
#       interpreter's input and output beside it (x.npy, ref.npy: `netc run`), the shared libraries the
#       programs need that a bare GPU machine may lack in DIR/lib, and netc compare's job done by
#       DIR/compare.py (numpy).  A model netc cannot lower for the GPU yet is reported and left out.
#   tests/gpu/check.sh run DIR                 there: each DIR/MODEL/prog run on the GPU (--device cuda)
#       against ref.npy (1e-4 relative), then its bench (batch 2, and --per-kernel); the log goes to stdout
#       and to $OUT/gpu_check.log (or DIR/gpu_check.log).  Exit status 0 when every model matched.
#
# With the device tool: `echo /gpu_prep/ >> .git/info/exclude; BUILD=build tests/gpu/check.sh prepare gpu_prep`
# here (about 33 MB with the default models; the tool carries 64 MiB in all), then run(command="bash
# tests/gpu/check.sh run gpu_prep", carry=["gpu_prep"], timeout_s=300): the log comes back as
# $OUT/gpu_check.log.  DEVICE=emulate runs the same check through the emulator (a dry run without a GPU).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
mode=${1:-}
dir=${2:-}
[ -n "$mode" ] && [ -n "$dir" ] || { sed -n '2,21p' "$0"; exit 2; }
shift 2

prepare() {
  local build=${BUILD:-$root/build} netc models
  netc=$build/netc
  [ -x "$netc" ] || { echo "no netc at $netc (BUILD=...)"; exit 2; }
  models=${*:-fmnist_resnet efficientnet_b0 conv_zoo op_zoo dw_zoo cuda_zoo}
  mkdir -p "$dir/lib"
  for m in $models; do
    local src opts
    if [ -f "$root/models/$m.nn" ]; then
      src=$root/models/$m.nn opts=(--init det --res 64 --batch 2 --set classes=10)
      [ "$m" = fmnist_resnet ] && opts=(--init det --res 32 --batch 2)
    else
      src=$(ls "$root"/tests/codegen/"$m".nn "$root"/tests/cuda/"$m".nn 2>/dev/null | head -1)
      [ -n "$src" ] || { echo "$m: no such model"; exit 2; }
      opts=(--init det --res 37x29 --batch 2)
    fi
    mkdir -p "$dir/$m"
    if ! "$netc" compile "$src" "${opts[@]}" --target cuda:sm_90 -o "$dir/$m/prog" 2>"$dir/$m/compile.err"; then
      echo "$m: not compiled for the GPU: $(tail -1 "$dir/$m/compile.err")"
      rm -rf "${dir:?}/$m"
      continue
    fi
    "$netc" run "$src" "${opts[@]}" --save-input "$dir/$m/x.npy" --output "$dir/$m/ref.npy" --top 0 \
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
  local log=${OUT:-$dir}/gpu_check.log failed=0 n=0 device=${DEVICE:-cuda} # DEVICE=emulate: a dry run here
  # cuBLAS (opened by the programs at their first GEMM): the toolkit's, or the one pip's nvidia-cublas brings
  local pip_blas
  pip_blas=$(python3 -c 'import nvidia.cublas as c, os; print(os.path.join(list(c.__path__)[0], "lib"))' 2>/dev/null)
  export LD_LIBRARY_PATH=$dir/lib:/usr/local/cuda/lib64${pip_blas:+:$pip_blas}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  {
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || echo "nvidia-smi: not found"
    for p in "$dir"/*/prog; do
      local m
      m=$(basename "$(dirname "$p")")
      n=$((n + 1))
      echo "== $m"
      "$p" info | sed -n '1,3p'
      if "$p" --device "$device" run --input "$dir/$m/x.npy" --output "$dir/$m/y.npy" --top 0 >/dev/null &&
        python3 "$dir/compare.py" "$dir/$m/ref.npy" "$dir/$m/y.npy" 1e-4; then
        echo "$m: forward on $device matches the interpreter"
        "$p" --device "$device" bench --iters 20 --warmup 3
        "$p" --device "$device" bench --iters 3 --warmup 1 --per-kernel
      else
        echo "$m: FAILED"
        failed=$((failed + 1))
      fi
    done
    echo "$((n - failed)) of $n models passed on $device"
    [ "$n" -gt 0 ] && [ "$failed" = 0 ]
  } 2>&1 | tee "$log"
  return "${PIPESTATUS[0]}"
}

case $mode in
  prepare) prepare "$@" ;;
  run) run ;;
  *) echo "check.sh: unknown mode '$mode' (prepare or run)"; exit 2 ;;
esac
