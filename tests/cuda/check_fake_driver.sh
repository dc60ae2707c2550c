#!/usr/bin/env bash
# check_fake_driver.sh NETC MODEL.nn RES BATCH FAKE_DIR — a `--target cuda` program (no --emulate) run through
# the CUDA device layer on the stand-in driver and cuBLAS of tests/cuda/fake_cuda.c (FAKE_DIR holds its
# libcuda.so.1 and libcublas.so.13): the forward pass against the interpreter within 1e-4, and the device's
# name in bench --per-kernel's run.  Skipped (passes with a message) where a real driver is installed.
# FAKE_DIR's libcudnn.so.9 (tests/cuda/fake_cudnn.c) serves the convs' cuDNN form (NETC_CONV_TACTIC=cudnn;
# STRATEGY=NAME: bench --per-kernel must show a node run so).
# OVERLAP=1: classify (--tta flip) and eval of the photographs four times over (20 images: chunks of 16 and 4,
# a partial last batch) with the overlapped runs (the default: uploads from pinned memory on the copy stream
# behind compute) and the sequential ones (NETC_DEV_OVERLAP=0), on the stand-in and in the emulator, byte for byte.
# Options after FAKE_DIR go to the compile (--precision bf16: cublasGemmEx's path; RTOL 2e-2 then).
# GEMMs with a fused bias (+ relu) go through FAKE_DIR's libcublasLt.so.13 (none may be refused), and again
# unfused (NETC_GEMM_EPILOGUE=0) with the same logits; FAKE_CUBLASLT_BREAK=bias-columns (the stand-in broadcasts
# the bias the wrong way) instead requires the forward to differ from the interpreter's.
set -u
# every run here with the same conv forms (the classify checks compare byte for byte with the emulator's, and
# auto's choice depends on timing): the GEMM forms unless the caller asks for cuDNN's (auto on the stand-in:
# tests/cuda/check_conv_tactics.sh)
export NETC_CONV_TACTIC=${NETC_CONV_TACTIC:-gemm}
netc=$1 model=$2 res=$3 batch=$4 fake=$5
shift 5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "$*"; echo "0 passed, 1 failed"; exit 1; }
if ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
  echo "a CUDA driver is installed here: the stand-in is not used (skipped)"
  echo "1 passed, 0 failed"
  exit 0
fi
"$netc" compile "$model" --init det --res "$res" --batch "$batch" --target cuda "$@" -o "$tmp/prog" ||
  fail "compile failed"
"$netc" run "$model" --init det --res "$res" --batch "$batch" --save-input "$tmp/x.npy" --output "$tmp/ref.npy" \
  --top 0 >/dev/null || fail "netc run failed"
LD_LIBRARY_PATH=$fake "$tmp/prog" run --input "$tmp/x.npy" --output "$tmp/y.npy" --top 0 >/dev/null ||
  fail "the program failed on the stand-in driver"
if [ -n "${FAKE_CUBLASLT_BREAK:-}" ]; then # a deliberately broken cuBLASLt stand-in: the forward must differ
  ! "$netc" compare "$tmp/ref.npy" "$tmp/y.npy" --rtol "${RTOL:-1e-4}" ||
    fail "FAKE_CUBLASLT_BREAK=$FAKE_CUBLASLT_BREAK went unnoticed: the fused GEMM epilogues are not checked"
  echo "FAKE_CUBLASLT_BREAK=$FAKE_CUBLASLT_BREAK: the forward differs, as it must"
  echo "1 passed, 0 failed"
  exit 0
fi
"$netc" compare "$tmp/ref.npy" "$tmp/y.npy" --rtol "${RTOL:-1e-4}" ||
  fail "the forward through the CUDA device layer differs"
LD_LIBRARY_PATH=$fake "$tmp/prog" --device cuda info >"$tmp/info.txt" || fail "info failed"
grep -q "running on fake GPU" "$tmp/info.txt" || fail "info does not name the stand-in GPU"
# the kernels' cubins (ptxas at compile time) are what a GPU of the program's architecture loads; another
# architecture's GPU refuses them and gets every kernel's PTX instead, with the same results
LD_LIBRARY_PATH=$fake NETC_CUDA_VERBOSE=1 "$tmp/prog" run --input "$tmp/x.npy" --output "$tmp/y1.npy" --top 0 \
  >"$tmp/verbose.txt" 2>&1 || fail "the verbose run failed"
n=$(sed -n 's/^cuda: \([0-9]*\) kernels loaded from cubins, 0 compiled from PTX.*/\1/p' "$tmp/verbose.txt")
# the GEMMs with a bias (+ relu) epilogue (cu_lower.c's fused steps) through cuBLASLt's stand-in, none refused
lt=$(sed -n 's/^cuda: \([0-9]*\) GEMMs with their epilogue through cuBLASLt, 0 refused by it$/\1/p' "$tmp/verbose.txt")
if LD_LIBRARY_PATH=$fake "$tmp/prog" --device cuda info | grep -q "gemm+epi"; then
  [ "${lt:-0}" -gt 0 ] || fail "no GEMM epilogue ran through cuBLASLt: $(grep -i 'cublas\|epilogue' "$tmp/verbose.txt")"
  echo "$lt GEMMs with their epilogue through cuBLASLt"
fi
if grep -q "PTX and cubins for" "$tmp/info.txt"; then
  [ "${n:-0}" -gt 0 ] || fail "the kernels were not loaded from their cubins"
  LD_LIBRARY_PATH=$fake NETC_CUDA_VERBOSE=1 FAKE_CUDA_ARCH=other "$tmp/prog" run --input "$tmp/x.npy" \
    --output "$tmp/y2.npy" --top 0 2>"$tmp/jit.txt" >/dev/null || fail "the PTX fallback failed"
  grep -q "^cuda: 0 kernels loaded from cubins, $n compiled from PTX" "$tmp/jit.txt" ||
    fail "another architecture's GPU did not get the PTX: $(cat "$tmp/jit.txt")"
  "$netc" compare "$tmp/ref.npy" "$tmp/y2.npy" --rtol "${RTOL:-1e-4}" || fail "the forward from the PTX differs"
  echo "$n kernels from their cubins; from their PTX on another architecture"
else
  echo "no cubins in the program (no ptxas where it was compiled): the PTX alone was run"
fi
LD_LIBRARY_PATH=$fake "$tmp/prog" bench --per-kernel --iters 1 --warmup 0 >"$tmp/bench.txt" 2>"$tmp/bench.err" ||
  fail "bench failed"
grep -q "cuda " "$tmp/bench.txt" || fail "bench --per-kernel names no device strategy"
[ -z "${STRATEGY:-}" ] || grep -q "$STRATEGY" "$tmp/bench.txt" || fail "no node runs as '$STRATEGY'"
! grep -q "keeps netc's kernels" "$tmp/bench.err" || fail "a conv's cuDNN form was refused: $(cat "$tmp/bench.err")"
# five photographs at batch 2: three runs, the first issued step by step, the second captured as a graph, the
# third a replay; their logits must equal the emulator's and those of a run with NETC_NO_GRAPHS
photos=$(dirname "$0")/../photos
LD_LIBRARY_PATH=$fake "$tmp/prog" classify "$photos" --logits --top 3 --json >"$tmp/graph.json" ||
  fail "classify failed on the stand-in driver"
LD_LIBRARY_PATH=$fake NETC_NO_GRAPHS=1 "$tmp/prog" classify "$photos" --logits --top 3 --json >"$tmp/steps.json" ||
  fail "classify failed on the stand-in driver without graphs"
"$tmp/prog" --device emulate classify "$photos" --logits --top 3 --json >"$tmp/emu.json" || fail "classify failed"
[ "$(grep -c '"ok": true' "$tmp/emu.json")" -ge 3 ] || fail "fewer than 3 photographs classified"
cmp -s "$tmp/graph.json" "$tmp/emu.json" || fail "classify through graphs differs from the emulator's"
cmp -s "$tmp/steps.json" "$tmp/emu.json" || fail "classify without graphs differs from the emulator's"
if [ -n "${OVERLAP:-}" ]; then
  for k in 1 2 3 4; do for f in "$photos"/*.jpg "$photos"/*.png; do echo "$f $k"; done; done >"$tmp/list.txt"
  cut -d' ' -f1 "$tmp/list.txt" >"$tmp/paths.txt"
  for dev in cuda emulate; do
    for ov in 1 0; do
      LD_LIBRARY_PATH=$fake NETC_DEV_OVERLAP=$ov "$tmp/prog" --device $dev classify --list "$tmp/paths.txt" --tta flip \
        --logits --top 3 --json --timing >"$tmp/c_${dev}_$ov.json" 2>"$tmp/c_${dev}_$ov.err" ||
        fail "classify --device $dev with NETC_DEV_OVERLAP=$ov failed: $(cat "$tmp/c_${dev}_$ov.err")"
      LD_LIBRARY_PATH=$fake NETC_DEV_OVERLAP=$ov "$tmp/prog" --device $dev eval --list "$tmp/list.txt" --json |
        sed 's/"seconds": [0-9.]*//' >"$tmp/e_${dev}_$ov.json" || fail "eval --device $dev NETC_DEV_OVERLAP=$ov failed"
    done
    grep -q "uploads overlapped" "$tmp/c_${dev}_1.err" || fail "classify --device $dev did not overlap its uploads"
    ! grep -q "uploads overlapped" "$tmp/c_${dev}_0.err" || fail "NETC_DEV_OVERLAP=0 overlapped on $dev"
  done
  [ "$(grep -c '"ok": true' "$tmp/c_cuda_1.json")" = 20 ] || fail "fewer than 20 photographs classified"
  for f in c_cuda_0.json c_emulate_1.json c_emulate_0.json; do
    cmp -s "$tmp/c_cuda_1.json" "$tmp/$f" || fail "classify: the overlapped runs differ from $f"
  done
  for f in e_cuda_0.json e_emulate_1.json e_emulate_0.json; do
    cmp -s "$tmp/e_cuda_1.json" "$tmp/$f" || fail "eval: the overlapped runs differ from $f"
  done
  for dev in cuda emulate; do # bench --overlap: the same runs back to back through the pipe
    LD_LIBRARY_PATH=$fake "$tmp/prog" --device $dev bench --overlap --iters 3 --warmup 2 --json >"$tmp/bo.json" ||
      fail "bench --overlap --device $dev failed"
    grep -q '"overlap": true' "$tmp/bo.json" || fail "bench --overlap --device $dev: $(cat "$tmp/bo.json")"
  done
  echo "classify and eval overlapped, byte for byte as sequentially, on the stand-in and in the emulator"
fi
# the fused steps run unfused (each GEMM, then its epilogue as netc's elementwise kernel): the same bits
LD_LIBRARY_PATH=$fake NETC_GEMM_EPILOGUE=0 "$tmp/prog" classify "$photos" --logits --top 3 --json \
  >"$tmp/unfused.json" || fail "classify failed with NETC_GEMM_EPILOGUE=0"
cmp -s "$tmp/unfused.json" "$tmp/emu.json" || fail "classify with NETC_GEMM_EPILOGUE=0 differs from the emulator's"
echo "1 passed, 0 failed"
