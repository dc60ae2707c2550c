#!/usr/bin/env bash
# check.sh — issue 19's GPU check, in two halves, because the GPU machine has no LLVM (it cannot build netc):
#
#   tests/gpu/check.sh prepare DIR [MODEL...]   here, with a build (BUILD=build folder, default build/):
#     - forward: each model (a name of models/, tests/codegen/ or tests/cuda/; default: fmnist_resnet and
#       efficientnet_b0 at batch 2 with 10 classes, and the zoos conv_zoo, op_zoo, dw_zoo, cuda_zoo, which
#       reach every rule of the GPU lowering, at 37x29 batch 2; deterministic weights) compiled
#       `--target cuda:sm_90` into DIR/MODEL/prog with the interpreter's input and output (x.npy, ref.npy);
#       TF32_MODELS (default fmnist_resnet cuda_zoo) again with --precision tf32 as DIR/MODEL-tf32, and
#       BF16_MODELS (the same default) with --precision bf16 as DIR/MODEL-bf16;
#     - training steps: TRAIN_MODELS (MODEL:RES:BATCH[:SET], default fmnist_resnet with drop-path, op_zoo,
#       conv_zoo, dw_zoo, resnet18 and regnetx_016 — the last two are 70-90 MB: leave them out for the device
#       tool — and fmnist_resnet with --precision bf16: MODEL:RES:BATCH:SET:bf16) compiled --train into
#       DIR/train_MODEL[-bf16] with the reference kernels' f32 step (ref.safetensors);
#     - the benchmark (unless NO_BENCH=1): BENCH_MODELS (default resnet50 resnest50d regnety_032
#       efficientnet_b4) at 224,448, batch 1 and 64 (and 64 with --precision tf32, resnet50's with bf16 too;
#       its training step at batch 128 in f32, TF32 and bf16), with bench_weights.py's weights, which compress
#       (DIR/bench/*.weights.xz; the programs too, DIR/bench/*.xz);
#     the shared libraries the programs need that a bare GPU machine may lack in DIR/lib, and
#     tests/cuda/test_cuda_gemm_epi.c built with cc (the device layer alone: GEMMs with a fused epilogue).
#   tests/gpu/check.sh run DIR                 there: each forward program on the GPU (--device cuda) against
#       ref.npy (1e-4 relative; tf32 5e-3, bf16 2e-2), again with its convs as cuDNN's (NETC_CONV_TACTIC=cudnn),
#       its bench, `classify` of tests/photos (its convs as cuDNN's; runs issued, captured as a
#       CUDA graph and replayed) against the emulator's, and every node against the emulator
#       (NETC_DEV_BISECT); test_cuda_gemm_epi (96 GEMMs with a bias (+ relu) through cuBLASLt against the
#       host's product); each training step against ref.safetensors (tests/cuda/compare_st.py), again with its
#       convs and their gradients as cuDNN's (NETC_CONV_TACTIC=cudnn); `train` of
#       fmnist_resnet with the optimizer on the device against the host's, and its overlapped feed against
#       NETC_DEV_OVERLAP=0, byte for byte; then the
#       benchmark: netc's programs (batch 1 with and without graphs), resnet50's first run from cubins and
#       from PTX (JIT), resnet50 at batch 64 with its convs as GEMMs, as cuDNN's and each conv's faster (auto,
#       f32, TF32, bf16; the other bench programs with NETC_CONV_TACTIC=gemm), resnet50 with its GEMMs' bias (+ relu)
#       fused through cuBLASLt and unfused (NETC_GEMM_EPILOGUE=1 / 0: batch 1 against the interpreter, batch 64
#       f32 and bf16 timed; about 30 s, not yet timed on a GPU), resnet50's per-kernel profile and
#       training step (its convs as GEMMs, then each conv's and gradient's faster form: auto), its `train`
#       loop at batch 128 with the optimizer on the device and on the host, and on
#       the device with each batch's upload not overlapped (NETC_DEV_OVERLAP=0),
#       resnet50's bench at batch 64 with and without --overlap and its classify and eval throughput with
#       the uploads overlapped and not (NETC_DEV_OVERLAP=0: 1280 images, 8 runs; an estimated 25-35 s for
#       all, not yet timed on a GPU), and
#       PyTorch (bench/gpu_peers.py: eager, and torch.compile for resnet50 at 224).  The log
#       goes to stdout and to $OUT/gpu_check.log (or DIR/gpu_check.log).  Exit status 0 when every check passed.
#       NO_BENCH=1 runs the checks alone, ONLY_BENCH=1 the benchmark alone: two device calls where one would
#       outrun the tool's per-call limit (the whole took about 5.5 minutes on an H200 before the session-15
#       and 16 additions, an estimated 2 more now).
#
# With the device tool: `echo /gpu_prep/ >> .git/info/exclude; BUILD=build TRAIN_MODELS="..." tests/gpu/check.sh
# prepare gpu_prep` here (about 53 MB without resnet18 and regnetx_016; the tool carries 64 MiB in all,
# the repository included), copy check.sh into gpu_prep, then run(command="bash gpu_prep/check.sh run
# gpu_prep", carry=["gpu_prep"], timeout_s=540): about 5.5 minutes on an H200 before the cuDNN checks (these
# add an estimated minute, and the runs left out for them take about as much off: not yet timed), the log back
# as $OUT/gpu_check.log.  DEVICE=emulate runs the same check through the emulator (a dry run without a GPU), or
# put tests/cuda's stand-in driver (build/tests/fake_cuda) first in DIR/lib to dry-run the CUDA path.
# tests/gpu/timm_check.py checks the benchmark's programs against timm itself where torch and timm exist.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
mode=${1:-}
dir=${2:-}
[ -n "$mode" ] && [ -n "$dir" ] || { sed -n '2,51p' "$0"; exit 2; }
shift 2

prepare() {
  local build=${BUILD:-$root/build} netc models py
  netc=$build/netc
  py=$root/.venv/bin/python3
  [ -x "$py" ] || py=python3
  [ -x "$netc" ] || { echo "no netc at $netc (BUILD=...)"; exit 2; }
  models=${*:-fmnist_resnet efficientnet_b0 conv_zoo op_zoo dw_zoo cuda_zoo}
  mkdir -p "$dir/lib"
  libs() { # the libraries a program links that are not the C library's own
    ldd "$1" | awk '/=> \// {print $3}' | grep -vE '/(libc|libm|libdl|libpthread|librt|ld-linux[^/]*)\.so' |
      while read -r so; do cp -L "$so" "$dir/lib/"; done
  }
  src_of() { # a name of models/, tests/codegen/ or tests/cuda/
    if [ -f "$root/models/$1.nn" ]; then echo "$root/models/$1.nn"; else
      ls "$root"/tests/codegen/"$1".nn "$root"/tests/cuda/"$1".nn 2>/dev/null | head -1
    fi
  }
  local tf32_models=${TF32_MODELS-fmnist_resnet cuda_zoo} # again with --precision tf32 (a looser check)
  local bf16_models=${BF16_MODELS-fmnist_resnet cuda_zoo} # with --precision bf16 (bf16 GEMM operands)
  for m in $models $(for t in $tf32_models; do echo "$t-tf32"; done) $(for t in $bf16_models; do echo "$t-bf16"; done)
  do
    local src opts prec=()
    case $m in *-tf32) prec=(--precision tf32) ;; *-bf16) prec=(--precision bf16) ;; esac
    src=${m%-tf32}
    src=$(src_of "${src%-bf16}")
    [ -n "$src" ] || { echo "$m: no such model"; exit 2; }
    case $src in
      */models/fmnist_resnet.nn) opts=(--init det --res 32 --batch 2) ;;
      */models/*) opts=(--init det --res 64 --batch 2 --set classes=10) ;;
      *) opts=(--init det --res 37x29 --batch 2) ;;
    esac
    mkdir -p "$dir/$m"
    if ! "$netc" compile "$src" "${opts[@]}" "${prec[@]}" --target cuda:sm_90 -o "$dir/$m/prog" \
      2>"$dir/$m/compile.err"; then
      echo "$m: not compiled for the GPU: $(tail -1 "$dir/$m/compile.err")"
      rm -rf "${dir:?}/$m"
      continue
    fi
    "$netc" run "$src" "${opts[@]}" --save-input "$dir/$m/x.npy" --output "$dir/$m/ref.npy" --top 0 \
      >/dev/null || { echo "$m: netc run failed"; exit 1; }
    rm -f "$dir/$m/compile.err"
    echo "$m: prepared ($(du -sh "$dir/$m" | cut -f1))"
    libs "$dir/$m/prog"
  done
  # training steps: compiled for the GPU, with the reference kernels' step (--no-codegen, run here) to compare
  local spec
  local train_default="fmnist_resnet:28:2:drop_path_rate=0.3 resnet18:64:2 op_zoo:37x29:2 conv_zoo:37x29:2"
  train_default+=" dw_zoo:37x29:2 regnetx_016:64:2 fmnist_resnet:28:2::bf16"
  for spec in ${TRAIN_MODELS-$train_default}; do
    local m res batch set prec src d
    IFS=: read -r m res batch set prec <<<"$spec"
    src=$(src_of "$m")
    d=$dir/train_$m${prec:+-$prec}
    mkdir -p "$d"
    local topts=(--train --init det --res "$res" --batch "$batch" ${set:+--set "$set"})
    if ! "$netc" compile "$src" "${topts[@]}" --target cuda:sm_90 ${prec:+--precision "$prec"} -o "$d/prog" \
      2>"$d/compile.err" ||
      ! "$netc" compile "$src" "${topts[@]}" --no-codegen -o "$d/ref" 2>>"$d/compile.err"; then
      echo "train_$m: not compiled: $(tail -1 "$d/compile.err")"
      rm -rf "${d:?}"
      continue
    fi
    "$py" -c "
import numpy as np, sys
h, w = ('$res'.split('x') + ['$res'])[:2]
rng = np.random.default_rng(7)
np.save(sys.argv[1], rng.standard_normal(($batch, 3, int(h), int(w))).astype(np.float32))
print(','.join(str(int(v)) for v in rng.integers(0, 10, $batch)))" "$d/x.npy" >"$d/labels" || exit 1
    "$d/ref" run --train --input "$d/x.npy" --labels "$(cat "$d/labels")" --output "$d/ref.safetensors" >/dev/null ||
      { echo "train_$m: the reference step failed"; exit 1; }
    rm -f "$d/ref" "$d/compile.err"
    echo "train_$m: prepared ($(du -sh "$d" | cut -f1))"
    libs "$d/prog"
  done
  cp "$root/tests/cuda/compare_st.py" "$dir/"
  # nc_dev_gemm_epi alone through device_cublaslt.c, 96 shapes (runtime/device and base.c only: no LLVM there)
  cc -O2 -std=c17 -D_POSIX_C_SOURCE=200809L -I"$root" -o "$dir/test_cuda_gemm_epi" \
    "$root/tests/cuda/test_cuda_gemm_epi.c" "$root"/runtime/device/*.c "$root/runtime/support/base.c" -ldl -lm \
    2>/dev/null || echo "test_cuda_gemm_epi: not built"
  # the benchmark: the issue's models at 224 and 448, batch 1 and 64; weights that compress (bench_weights.py)
  if [ -z "${NO_BENCH:-}" ]; then
    mkdir -p "$dir/bench"
    for m in ${BENCH_MODELS:-resnet50 resnest50d regnety_032 efficientnet_b4}; do
      "$netc" weights "$root/models/$m.nn" --init det -o "$dir/bench/det.safetensors" >/dev/null &&
        "$py" "$root/tests/gpu/bench_weights.py" "$dir/bench/det.safetensors" "$dir/bench/w.safetensors" || exit 1
      local v name variants="b1:1 b64:64 b64-tf32:64:tf32" # NAME:BATCH[:train][:tf32]
      [ "$m" = resnet50 ] &&
        variants+=" train128:128:train train128-tf32:128:train:tf32 train128-bf16:128:train:bf16 b64-bf16:64:bf16"
      for v in $variants; do
        name=${m}_${v%%:*}
        local args=(--res 224,448 --batch "$(cut -d: -f2 <<<"$v")")
        case $v in *:train*) args=(--res 224 --batch 128 --train) ;; esac
        case $v in *:tf32) args+=(--precision tf32) ;; *:bf16) args+=(--precision bf16) ;; esac
        "$netc" compile "$root/models/$m.nn" --weights "$dir/bench/w.safetensors" "${args[@]}" --target cuda:sm_90 \
          --weights-external -o "$dir/bench/$name" >/dev/null || exit 1
        # the program (its PTX, cubins and CPU lowerings compress about 10x) and its weights, decompressed by run
        for f in "$dir/bench/$name" "$dir/bench/$name.weights"; do
          "$py" -c "import lzma, sys; a=sys.argv[1]; open(a + '.xz', 'wb').write(lzma.compress(open(a, 'rb').read()))" \
            "$f" && rm "$f"
        done
      done
      # resnet50 at 224, batch 1, through the interpreter with the same weights: the GEMM epilogues' check
      [ "$m" = resnet50 ] && { "$netc" run "$root/models/$m.nn" --weights "$dir/bench/w.safetensors" --res 224 \
        --save-input "$dir/bench/resnet50_x.npy" --output "$dir/bench/resnet50_ref.npy" --top 0 >/dev/null || exit 1; }
      rm -f "$dir/bench/det.safetensors" "$dir/bench/w.safetensors"
      echo "bench $m: prepared"
    done
    cp "$root/bench/gpu_peers.py" "$dir/bench/"
  fi
  cat >"$dir/compare_cls.py" <<'PY'
# compare_cls.py A.jsonl B.jsonl RTOL: two `classify --logits --json` outputs, the same classes in order and
# scores within RTOL of the largest |score|
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
big = max(abs(t["score"]) for r in a for t in r.get("top", [])) or 1.0
worst = 0.0
ok = len(a) == len(b) and len(a) > 0
for r, s in zip(a, b):
    ok &= [t["class"] for t in r.get("top", [])] == [t["class"] for t in s.get("top", [])]
    for t, u in zip(r.get("top", []), s.get("top", [])):
        worst = max(worst, abs(t["score"] - u["score"]) / big)
print(f"{len(a)} images, classes {'equal' if ok else 'DIFFER'}, max |difference| / max |score| = {worst:.3g}")
sys.exit(0 if ok and worst <= float(sys.argv[3]) else 1)
PY
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
  # and cuDNN (dlopen'd at the first conv question: libcudnn.so.9), the toolkit's or pip's nvidia-cudnn-cu12
  local pip_blas pip_dnn
  pip_blas=$(python3 -c 'import nvidia.cublas as c, os; print(os.path.join(list(c.__path__)[0], "lib"))' 2>/dev/null)
  pip_dnn=$(python3 -c 'import nvidia.cudnn as c, os; print(os.path.join(list(c.__path__)[0], "lib"))' 2>/dev/null)
  LD_LIBRARY_PATH=$dir/lib:/usr/local/cuda/lib64${pip_blas:+:$pip_blas}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export LD_LIBRARY_PATH=${pip_dnn:+$pip_dnn:}$LD_LIBRARY_PATH
  local T=${STEP_TIMEOUT:-60}
  {
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 ||
      echo "nvidia-smi: not found"
    if [ -z "${ONLY_BENCH:-}" ]; then # ONLY_BENCH=1: the benchmark alone (a second device call)
      echo "#### forward: each model on $device against the interpreter (1e-4 relative)"
      for p in "$dir"/*/prog; do
        local m
        m=$(basename "$(dirname "$p")")
        case $m in train_*) continue ;; esac
        n=$((n + 1))
        echo "== $m"
        "$p" info | sed -n '1,3p'
        local tol=1e-4
        case $m in *-tf32) tol=5e-3 ;; *-bf16) tol=2e-2 ;; esac # TF32, bf16: the GEMMs' operands to 10, 7 bits
        if timeout "$T" "$p" --device "$device" run --input "$dir/$m/x.npy" --output "$dir/$m/y.npy" \
          --top 0 >/dev/null && python3 "$dir/compare.py" "$dir/$m/ref.npy" "$dir/$m/y.npy" $tol; then
          echo "$m: forward on $device matches the interpreter"
          timeout "$T" "$p" --device "$device" bench --iters 20 --warmup 3
          # five photographs at batch 2: runs issued, captured as a CUDA graph, replayed; against the emulator, both
          # with every conv that has a cuDNN form in it (graphs of the GEMM forms: checked on 2026-12-04)
          if NETC_CONV_TACTIC=cudnn timeout "$T" "$p" --device "$device" classify "$dir/../tests/photos" --logits \
            --top 3 --json >"$dir/$m/cls.json" && NETC_CONV_TACTIC=cudnn timeout "$T" "$p" --device emulate classify \
            "$dir/../tests/photos" --logits --top 3 --json >"$dir/$m/cls_emu.json" &&
            python3 "$dir/compare_cls.py" "$dir/$m/cls_emu.json" "$dir/$m/cls.json" "$tol"; then
            echo "$m: classify (graphs) on $device matches the emulator"
          else
            echo "$m: classify FAILED"
            failed=$((failed + 1))
          fi
        else
          echo "$m: FAILED"
          failed=$((failed + 1))
        fi
        # every conv that has a cuDNN form run as cuDNN's (runtime/device/dev_conv_tactic.h), against the
        # interpreter: cuDNN opened (pip's nvidia-cudnn or the toolkit's) and no conv refused by it
        # (dev_conv_tactic.c's notices: "every conv runs on netc's kernels", "conv K ... keeps netc's kernels")
        n=$((n + 1))
        if NETC_CONV_TACTIC=cudnn timeout "$T" "$p" --device "$device" run --input "$dir/$m/x.npy" \
          --output "$dir/$m/y_cudnn.npy" --top 0 >/dev/null 2>"$dir/$m/cudnn.err" &&
          ! grep -q "netc's kernels" "$dir/$m/cudnn.err" &&
          python3 "$dir/compare.py" "$dir/$m/ref.npy" "$dir/$m/y_cudnn.npy" $tol; then
          echo "$m: convs as cuDNN's on $device match the interpreter"
        else
          echo "$m: cuDNN convs FAILED: $(head -3 "$dir/$m/cudnn.err")"
          failed=$((failed + 1))
        fi
        # every node against the emulator (a failing kernel named; repaired so that all are found)
        [ "$device" = cuda ] && [ "$tol" = 1e-4 ] && NETC_DEV_BISECT=1e-5 timeout "$T" "$p" --device cuda run \
          --input "$dir/$m/x.npy" --output "$dir/$m/y2.npy" --top 0 2>&1 >/dev/null | tail -25
      done
      if [ -x "$dir/test_cuda_gemm_epi" ] && [ "$device" = cuda ]; then
        n=$((n + 1))
        echo "== GEMMs with a bias (+ relu) epilogue through cuBLASLt (tests/cuda/test_cuda_gemm_epi.c: 96 shapes)"
        if timeout "$T" "$dir/test_cuda_gemm_epi" >"$dir/gemm_epi.txt" 2>&1; then
          echo "gemm_epi: every fused GEMM matches the host's product (1e-5)"
        else
          echo "gemm_epi: FAILED"
          failed=$((failed + 1))
        fi
        grep -v "^FAIL" "$dir/gemm_epi.txt" | tail -5
        grep "^FAIL" "$dir/gemm_epi.txt" | head -8
      fi
      echo "#### training steps: run --train on $device against the reference kernels' step (1e-4 of each tensor's max)"
      for d in "$dir"/train_*; do
        [ -x "$d/prog" ] || continue
        local m=${d##*/}
        n=$((n + 1))
        echo "== $m"
        local stol=(1e-4)
        case $m in *-bf16) stol=(2e-2 0.6) ;; esac # bf16 against the f32 step: tests/cuda.cmake says why
        if timeout "$T" "$d/prog" --device "$device" run --train --input "$d/x.npy" --labels "$(cat "$d/labels")" \
          --output "$d/got.safetensors" >/dev/null && python3 "$dir/compare_st.py" "$d/ref.safetensors" \
          "$d/got.safetensors" "${stol[@]}"; then
          echo "$m: training step on $device matches the reference"
        else
          echo "$m: FAILED"
          failed=$((failed + 1))
          [ "$device" = cuda ] && NETC_DEV_BISECT=1e-5 timeout "$T" "$d/prog" --device cuda run --train --input \
            "$d/x.npy" --labels "$(cat "$d/labels")" --output "$d/got2.safetensors" 2>&1 >/dev/null | tail -25
        fi
        # again with every conv, input gradient and weight gradient cuDNN can take as cuDNN's (forward,
        # backward-data, backward-filter: its deterministic algorithms), none of them refused by it
        n=$((n + 1))
        if NETC_CONV_TACTIC=cudnn timeout "$T" "$d/prog" --device "$device" run --train --input "$d/x.npy" \
          --labels "$(cat "$d/labels")" --output "$d/got_dnn.safetensors" 2>"$d/dnn.err" >/dev/null &&
          ! grep -q "netc's kernels" "$d/dnn.err" &&
          python3 "$dir/compare_st.py" "$d/ref.safetensors" "$d/got_dnn.safetensors" "${stol[@]}"; then
          echo "$m: training step with cuDNN's convs on $device matches the reference"
        else
          echo "$m with cuDNN's convs: FAILED: $(head -3 "$d/dnn.err")"
          failed=$((failed + 1))
        fi
      done
      # `train` with the optimizer on the device (runtime/program/train_devopt.c) against the same program with
      # its optimizer on the host: byte for byte, as in the emulator (every operation of the kernels is correctly
      # rounded, as optim.c's, and both runs compute the same gradients), 6 updates, validating on the device
      local photos d=$dir/train_fmnist_resnet
      photos=$(cd "$dir/../tests/photos" 2>/dev/null && pwd) # absolute: a list's paths are relative to its folder
      if [ -x "$d/prog" ] && [ -n "$photos" ]; then
        n=$((n + 1))
        echo "== train_fmnist_resnet: train with the optimizer on $device against the host's"
        local i=0 f h
        for f in astronaut.jpg camera.png chelsea.png coffee.jpg rocket.jpg coffee.jpg; do
          echo "$photos/$f $((i % 5 + 1))"
          i=$((i + 1))
        done >"$d/list.txt"
        for h in 0 1 0s; do # (0s: the device's optimizer, each batch uploaded in turn: NETC_DEV_OVERLAP=0)
          rm -rf "$d/run_$h"
          NETC_DEV_HOST_OPTIM=${h%s} NETC_DEV_OVERLAP=$([ $h = 0s ] && echo 0 || echo 1) timeout "$T" "$d/prog" \
            --device "$device" train --data "$d/list.txt" --out "$d/run_$h" \
            --epochs 2 --workers 1 --quiet --nesterov --wd 1e-4 --clip-grad 5 --val "$d/list.txt" 2>&1 | tail -2
        done
        same_run() { cmp "$d/run_0/ckpt-00000006.safetensors" "$d/run_$1/ckpt-00000006.safetensors" &&
          cmp "$d/run_0/state-00000006.bin" "$d/run_$1/state-00000006.bin"; }
        if same_run 1; then
          echo "train_fmnist_resnet: the device's optimizer byte for byte the host's after 6 updates"
        else
          echo "train_fmnist_resnet: optimizer on the device: FAILED"
          failed=$((failed + 1))
        fi
        # train's overlapped feed (each batch uploaded on the copy stream while the step before runs) against
        # NETC_DEV_OVERLAP=0: the same bytes
        n=$((n + 1))
        if same_run 0s; then
          echo "train_fmnist_resnet: the overlapped feed byte for byte the sequential one after 6 updates"
        else
          echo "train_fmnist_resnet: overlapped feed: FAILED"
          failed=$((failed + 1))
        fi
      fi
      echo "$((n - failed)) of $n checks passed on $device"
    fi
    if [ -d "$dir/bench" ] && [ -z "${NO_BENCH:-}" ]; then
      echo "#### benchmark: netc programs (input uploaded in each run), then PyTorch in the same run"
      for w in "$dir"/bench/*.xz; do # the programs and their weights
        python3 -c "import lzma, sys; a=sys.argv[1]; open(a[:-3], 'wb').write(lzma.decompress(open(a, 'rb').read()))" \
          "$w" && case $w in *.weights.xz) ;; *) chmod +x "${w%.xz}" ;; esac
      done
      local p res
      # the convs as im2col + GEMM here (comparable with the earlier sessions' figures, and no tactic timing at
      # each program's first run); resnet50 at batch 64 with each tactic below
      for p in "$dir"/bench/*_b1 "$dir"/bench/*_b64 "$dir"/bench/*_b64-tf32 "$dir"/bench/*_b64-bf16; do
        [ -x "$p" ] || continue
        for res in 224 448; do
          NETC_CONV_TACTIC=gemm timeout "$T" "$p" --device "$device" bench --res $res --iters 20 --warmup 3 --json ||
            echo "${p##*/} $res: FAILED"
          case $p:$res in *_b1:224) # the same without CUDA graphs: each kernel submitted on its own (224 only)
            echo -n "no graphs: "
            NETC_CONV_TACTIC=gemm NETC_NO_GRAPHS=1 timeout "$T" "$p" --device "$device" bench --res $res --iters 20 \
              --warmup 3 --json ;;
          esac
        done
      done
      # resnet50 at batch 64, 224: every conv as im2col + GEMM, as cuDNN's, and each conv's faster (auto: both
      # timed at the first run — the wall time of that run said —, the choices cached beside the program; the
      # second auto reads them), f32, TF32 and bf16
      for p in "$dir"/bench/resnet50_b64 "$dir"/bench/resnet50_b64-tf32 "$dir"/bench/resnet50_b64-bf16; do
        [ -x "$p" ] || continue
        rm -f "$p.tactics"
        for t in gemm cudnn auto auto; do
          echo -n "${p##*/} NETC_CONV_TACTIC=$t: "
          local t0 t1
          t0=$(date +%s.%N)
          NETC_CONV_TACTIC=$t timeout "$T" "$p" --device "$device" bench --res 224 --iters 10 --warmup 2 --json \
            2>"$p.$t.err" || echo "${p##*/} NETC_CONV_TACTIC=$t: FAILED: $(head -3 "$p.$t.err")"
          t1=$(date +%s.%N)
          echo "  (wall $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s, $(grep -c . "$p.$t.err")" \
            "lines on stderr)"
        done
        [ -f "$p.tactics" ] && echo "${p##*/}: tactics (g: im2col + GEMM, c: cuDNN): $(sed -n 3p "$p.tactics")" ||
          echo "${p##*/}: no tactic cache written"
      done
      # GEMMs with their bias (+ relu) fused through cuBLASLt (the default), and unfused (NETC_GEMM_EPILOGUE=0:
      # cuBLAS, then netc's elementwise kernel), the convs as im2col + GEMM: resnet50 batch 1 at 224 against the
      # interpreter (f32, 1e-4) with how many GEMMs cuBLASLt ran and refused, then batch 64 f32 and bf16 timed
      p="$dir/bench/resnet50_b1"
      if [ -x "$p" ] && [ -f "$dir/bench/resnet50_ref.npy" ]; then
        local epi lt
        for epi in 1 0; do
          n=$((n + 1))
          if NETC_GEMM_EPILOGUE=$epi NETC_CONV_TACTIC=gemm NETC_CUDA_VERBOSE=1 timeout "$T" "$p" --device "$device" \
            run --input "$dir/bench/resnet50_x.npy" --output "$dir/bench/resnet50_y$epi.npy" --top 0 \
            2>"$p.epi$epi.err" >/dev/null && python3 "$dir/compare.py" "$dir/bench/resnet50_ref.npy" \
            "$dir/bench/resnet50_y$epi.npy" 1e-4; then
            lt=$(grep -h 'cuBLASLt' "$p.epi$epi.err" | tr '\n' ' ')
            echo "resnet50_b1 NETC_GEMM_EPILOGUE=$epi: matches the interpreter (${lt:-no GEMM through cuBLASLt})"
          else
            echo "resnet50_b1 NETC_GEMM_EPILOGUE=$epi: FAILED: $(grep -v 'kernels loaded' "$p.epi$epi.err" | head -3)"
            failed=$((failed + 1))
          fi
        done
      fi
      for p in "$dir"/bench/resnet50_b64 "$dir"/bench/resnet50_b64-bf16; do
        [ -x "$p" ] || continue
        for epi in 1 0; do
          echo -n "${p##*/} NETC_GEMM_EPILOGUE=$epi: "
          NETC_GEMM_EPILOGUE=$epi NETC_CONV_TACTIC=gemm timeout "$T" "$p" --device "$device" bench --res 224 \
            --iters 10 --warmup 2 --json 2>"$p.epi$epi.err" || echo "FAILED: $(head -3 "$p.epi$epi.err")"
        done
      done
      for p in "$dir"/bench/resnet50_b64-tf32 "$dir"/bench/resnet50_b64; do # auto: the tactics cached above
        [ -x "$p" ] && timeout "$T" "$p" --device "$device" bench --res 224 --iters 3 --warmup 1 --per-kernel
      done
      # a program's first run, start to finish: the kernels from their cubins, then JIT-compiled from their PTX
      p="$dir/bench/resnet50_b1"
      if [ -x "$p" ]; then
        local t0 t1 jit
        for jit in 0 1; do
          t0=$(date +%s.%N)
          NETC_CUDA_JIT=$jit NETC_CUDA_VERBOSE=1 timeout "$T" "$p" --device "$device" bench --res 224 --iters 1 \
            --warmup 0 >/dev/null || echo "first run (NETC_CUDA_JIT=$jit): FAILED"
          t1=$(date +%s.%N)
          echo "resnet50_b1 first run, NETC_CUDA_JIT=$jit: $(awk -v a="$t0" -v b="$t1" \
            'BEGIN { printf "%.2f", b - a }') s"
        done
      fi
      # the training step: every conv (and its gradients) as im2col + GEMM, then each one's faster form (auto:
      # timed at the first run, forward, backward-data and backward-filter convs each, the choices cached)
      for p in "$dir"/bench/resnet50_train128{,-tf32,-bf16}; do
        [ -x "$p" ] || continue
        rm -f "$p.tactics"
        for t in gemm auto; do
          echo -n "${p##*/} NETC_CONV_TACTIC=$t: "
          NETC_CONV_TACTIC=$t timeout "$T" "$p" --device "$device" bench --train --iters 5 --warmup 2 --json \
            2>"$p.$t.err" || echo "FAILED: $(head -3 "$p.$t.err")"
        done
        [ -f "$p.tactics" ] && echo "${p##*/}: tactics: $(sed -n 3p "$p.tactics")"
      done
      # resnet50's whole `train` loop at batch 128 (the photographs decoded by 12 workers), the optimizer on the
      # device and then on the host (gradients down, weights up each step), each batch uploaded on the copy stream
      # while the step before runs; then the optimizer on the device with each batch uploaded in turn
      # (NETC_DEV_OVERLAP=0): the median wall time of updates 4-10 (three runs of 10 steps, an estimated 15-25 s in
      # all, not yet timed on a GPU)
      p="$dir/bench/resnet50_train128"
      if [ -x "$p" ] && [ -n "$photos" ] && [ "$device" = cuda ]; then
        local k h pics=(astronaut.jpg camera.png chelsea.png coffee.jpg rocket.jpg)
        for k in $(seq 0 255); do echo "$photos/${pics[k % 5]} $((k % 10))"; done >"$dir/bench/list128.txt"
        for h in 0 1 0s; do
          rm -rf "$dir/bench/train_$h"
          NETC_DEV_HOST_OPTIM=${h%s} NETC_DEV_OVERLAP=$([ $h = 0s ] && echo 0 || echo 1) timeout 180 "$p" \
            --device "$device" train --data "$dir/bench/list128.txt" \
            --out "$dir/bench/train_$h" --max-steps 10 --workers 12 --quiet --sched constant --lr 0.01 2>&1 | tail -1
          python3 - "$dir/bench/train_$h/metrics.jsonl" "$h" <<'PY' || echo "resnet50 train loop: FAILED"
import json, statistics, sys
t = [json.loads(l) for l in open(sys.argv[1]) if '"step"' in l and "epoch_end" not in l]
d = [b["time_s"] - a["time_s"] for a, b in zip(t, t[1:])][2:]
w = [b["wait_s"] - a["wait_s"] for a, b in zip(t, t[1:])][2:]
where = "host" if sys.argv[2] == "1" else "device"
feed = ", NETC_DEV_OVERLAP=0" if sys.argv[2] == "0s" else ", uploads overlapped"
print(f"resnet50 train loop b128, optimizer on the {where}{feed}: {1e3 * statistics.median(d):.1f} ms an update "
      f"(median of {len(d)}), data wait {1e3 * statistics.median(w):.1f} ms")
PY
        done
      fi
      # resnet50 at batch 64, 224 (its tactics cached above): bench's runs one at a time (the input uploaded from
      # pageable memory in each) and back to back with each upload from pinned memory on the copy stream behind
      # the run before (--overlap); then classify and eval throughput, the photographs 256 times over (1280
      # images, decoded by the program's threads), each batch's upload overlapped with the batch before's compute
      # (pinned memory, the copy stream: the default) and not (NETC_DEV_OVERLAP=0), twice each
      p="$dir/bench/resnet50_b64"
      for k in "" --overlap; do
        [ -x "$p" ] || break
        echo -n "resnet50_b64 bench${k:+ $k}: "
        timeout "$T" "$p" --device "$device" bench --res 224 --iters 20 --warmup 3 --json $k || echo "FAILED"
      done
      if [ -x "$p" ] && [ -n "$photos" ]; then
        local k ov cmd pics=(astronaut.jpg camera.png chelsea.png coffee.jpg rocket.jpg)
        for k in $(seq 0 1279); do echo "$photos/${pics[k % 5]} $((k % 10))"; done >"$dir/bench/list1280.txt"
        cut -d' ' -f1 "$dir/bench/list1280.txt" >"$dir/bench/paths1280.txt"
        for cmd in classify eval; do
          for ov in 1 0 1 0; do
            local what=(--list "$dir/bench/paths1280.txt" --top 1)
            [ $cmd = eval ] && what=(--list "$dir/bench/list1280.txt")
            echo -n "resnet50_b64 $cmd 1280 images, NETC_DEV_OVERLAP=$ov: "
            NETC_DEV_OVERLAP=$ov timeout 120 "$p" --device "$device" $cmd "${what[@]}" --res 224 --timing 2>&1 \
              >/dev/null | grep '^timing:' || echo "FAILED"
          done
        done
      fi
      if [ "$device" = cuda ]; then
        timeout 120 python3 "$dir/bench/gpu_peers.py" --iters 10 ${PEER_ARGS:-}
        timeout 150 python3 "$dir/bench/gpu_peers.py" --iters 10 --models resnet50 --res 224 --batches 64 \
          --modes compile-f32,compile-bf16-cl --no-train
        # (resnet50 batch 1 under torch.compile: measured 2026-12-04, bench/RESULTS.md; left out for time)
      fi
    fi
    { [ "$n" -gt 0 ] || [ -n "${ONLY_BENCH:-}" ]; } && [ "$failed" = 0 ]
  } 2>&1 | tee "$log"
  return "${PIPESTATUS[0]}"
}

case $mode in
  prepare) prepare "$@" ;;
  run) run ;;
  *) echo "check.sh: unknown mode '$mode' (prepare or run)"; exit 2 ;;
esac
