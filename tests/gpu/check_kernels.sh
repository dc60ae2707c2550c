#!/usr/bin/env bash
# check_kernels.sh [DUMP_DIR] — on a machine with an NVIDIA GPU: every codegen/cuda/ kernel's PTX run on
# the GPU through runtime/device's CUDA driver layer against the reference kernels (ir/).
#  - With LLVM 19 there: builds tests/cuda's tests (test_cuda_kernels, _conv, _pool, _attn, _train) and runs
#    them (ptxas, emulator and GPU: each kernel runs on both devices against the references).
#  - Without it: DUMP_DIR must hold what `NETC_CUDA_DUMP=DUMP_DIR` those tests wrote on a machine with LLVM
#    (PTX, launch shapes, inputs, the reference outputs; kernels whose one output is parameter 1);
#    run_dumped.c, built here with cc from runtime/device and runtime/support/base.c only, runs them.
# The log goes to stdout and $OUT/gpu_check.log (or /tmp/gpu_check.log).  Exit status: the check's.
# The first piece of issue 19's tests/gpu/check.sh.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-/tmp/netc-gpu-build}
log=${OUT:-/tmp}/gpu_check.log
export PATH=$PATH:/usr/local/cuda/bin
{
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || echo "nvidia-smi: not found"
    command -v ptxas >/dev/null && ptxas --version | tail -1
    if command -v llvm-config-19 >/dev/null || [ -x /usr/lib/llvm-19/bin/llvm-config ]; then
        cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$build.cmake.log" 2>&1 &&
            cmake --build "$build" --target test_cuda_kernels test_cuda_conv test_cuda_pool test_cuda_attn \
                test_cuda_train -j "$(nproc)" >"$build.log" 2>&1 ||
            { tail -30 "$build.cmake.log" "$build.log"; exit 3; }
        rc=0
        for t in kernels conv pool attn train; do "$build/tests/test_cuda_$t" || rc=1; done
        exit $rc
    else
        [ -n "${1:-}" ] && [ -f "$1/kernels.txt" ] || { echo "no LLVM 19 here and no DUMP_DIR given"; exit 2; }
        echo "no LLVM 19 here: running the kernels dumped in $1"
        cc -O2 -std=c17 -D_POSIX_C_SOURCE=200809L -I"$root" -o "$build-run_dumped" "$root/tests/gpu/run_dumped.c" \
            "$root"/runtime/device/*.c "$root/runtime/support/base.c" -ldl -lm 2>&1 | grep -v "unknown-pragmas" || true
        "$build-run_dumped" "$1"
    fi
} 2>&1 | tee "$log"
exit "${PIPESTATUS[0]}"
