#!/usr/bin/env bash
# compile_cases.sh NETC CASE — netc compile end to end: the program it makes
# must give what the reference interpreter gives on the same (fused) graph,
# handle batches up to its maximum, and refuse bad input cleanly.
set -u
netc=$1 case=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3} # ctest sets PYTHON to the interpreter CMake found (tools/setup.sh: .venv)
ef="$root/tests/expect_fail.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
tiny="$root/tests/errors/tiny.nn"
pass() { echo "1 passed, 0 failed"; exit 0; }
fail() { echo "$1"; echo "0 passed, 1 failed"; exit 1; }
case $case in
same_as_interpreter)
    # resnet50 at two resolutions, batch 2: each resolution against `netc run` on the fused, planned graph
    # and the unfused one
    "$netc" compile "$root/models/resnet50.nn" --init det --res 64,48x40 --batch 2 -o r50 || fail "compile failed"
    for res in 64 48x40; do
        "$netc" run "$root/models/resnet50.nn" --init det --res $res --batch 2 --passes default --plan \
            --save-input x$res.npy --output ref$res.npy --top 0 >/dev/null || fail "netc run failed"
        "$netc" run "$root/models/resnet50.nn" --init det --res $res --batch 2 \
            --output unfused$res.npy --top 0 >/dev/null
        ./r50 run --input x$res.npy --output y$res.npy >/dev/null || fail "compiled run failed"
        "$netc" compare ref$res.npy y$res.npy --rtol 1e-5 ||
            fail "compiled program differs from the interpreter at $res"
        "$netc" compare unfused$res.npy y$res.npy --rtol 1e-5 || fail "compiled program differs from the unfused graph"
    done
    pass ;;
smaller_batch)
    "$netc" compile "$tiny" --init det --res 32 --batch 4 -o tiny || fail "compile failed"
    "$netc" run "$tiny" --init det --res 32 --batch 1 --save-input x1.npy --output ref1.npy --top 0 >/dev/null
    ./tiny run --input x1.npy --output y1.npy >/dev/null || fail "batch 1 in a batch-4 program failed"
    "$netc" compare ref1.npy y1.npy --rtol 1e-5 || fail "batch 1 result differs"
    pass ;;
batch_over_max)
    "$netc" compile "$tiny" --init det --res 32 --batch 2 -o tiny >/dev/null 2>&1 || fail "compile failed"
    "$netc" run "$tiny" --init det --res 32 --batch 3 --save-input x3.npy --top 0 >/dev/null
    exec "$ef" 2 "batch 3 is over the compiled maximum of 2" --no-file y.npy -- \
        ./tiny run --input x3.npy --output y.npy ;;
wrong_shape)
    "$netc" compile "$tiny" --init det --res 32 -o tiny >/dev/null 2>&1 || fail "compile failed"
    "$netc" run "$tiny" --init det --res 40 --save-input x40.npy --top 0 >/dev/null
    exec "$ef" 2 "x40.npy: input has shape \[1, 3, 40, 40\]; this program takes \[N, 3, H, W\] at 32x32" \
        --no-file y.npy -- ./tiny run --input x40.npy --output y.npy ;;
unwritable_output)
    "$netc" compile "$tiny" --init det --res 32 -o tiny >/dev/null 2>&1 || fail "compile failed"
    "$netc" run "$tiny" --init det --res 32 --save-input x.npy --top 0 >/dev/null
    exec "$ef" 2 "cannot write" --no-file "$tmp/no/dir/y.npy" -- \
        ./tiny run --input x.npy --output "$tmp/no/dir/y.npy" ;;
weights_external)
    "$netc" compile "$tiny" --init det --res 32 --weights-external -o tiny >/dev/null 2>&1 || fail "compile failed"
    [ -f tiny.weights ] || fail "no tiny.weights"
    "$netc" run "$tiny" --init det --res 32 --save-input x.npy --output ref.npy --top 0 >/dev/null
    ./tiny run --input x.npy --output y.npy >/dev/null || fail "run with external weights failed"
    "$netc" compare ref.npy y.npy --rtol 1e-5 || fail "external weights give another result"
    mv tiny.weights elsewhere.weights
    "$ef" 2 "tiny.weights: cannot open the weights file" -- ./tiny run --input x.npy ||
        fail "missing weights not reported"
    ./tiny run --weights elsewhere.weights --input x.npy --output y2.npy >/dev/null || fail "--weights FILE failed"
    "$netc" compile "$root/tests/errors/syntax_ok.nn" --init det --res 32 --weights-external -o other >/dev/null 2>&1
    exec "$ef" 2 "belong to another compiled model" -- ./tiny run --weights other.weights --input x.npy ;;
emit_obj)
    "$netc" compile "$tiny" --init det --res 32 --batch 2 --emit obj -o tiny >/dev/null 2>&1 || fail "compile failed"
    [ -f tiny.o ] && [ -f tiny.h ] || fail "no tiny.o / tiny.h"
    cc -std=c17 -I. -I"$root" "$here/embed.c" tiny.o "$(dirname "$netc")/libnetc_rt.a" \
        -fopenmp -lm ${NETC_LINK_EXTRA:-} -o embed || fail "linking the object failed"
    ./embed > embedded.txt || fail "the embedding program failed"
    "$netc" compile "$tiny" --init det --res 32 --batch 2 -o tinyexe >/dev/null 2>&1
    "$netc" run "$tiny" --init det --res 32 --batch 2 --save-input x.npy --top 0 >/dev/null
    ./tinyexe run --input x.npy --output y.npy --top 0 >/dev/null
    "$python" -c "import sys" 2>/dev/null || pass
    "$python" - <<'PY' || fail "embedded program and executable disagree"
import struct
raw = open("y.npy", "rb").read()
hl = struct.unpack("<H", raw[8:10])[0]
vals = struct.unpack("<%df" % ((len(raw) - 10 - hl) // 4), raw[10 + hl:])
emb = [float(l) for l in open("embedded.txt")]
assert len(vals) == len(emb) and all(abs(a - b) <= 1e-6 * max(1, abs(a)) for a, b in zip(vals, emb)), "mismatch"
PY
    pass ;;
help)
    # --help on every command, of netc and of a compiled program: exit 0, that command's options on stdout
    for c in info dump run weights compile ensemble compare export; do
        out=$("$netc" $c --help 2>&1) || fail "netc $c --help: exit $?"
        echo "$out" | grep -q -- "$c" || fail "netc $c --help does not name $c"
    done
    "$netc" compile "$tiny" --init det --res 32 -o tiny >/dev/null 2>&1 || fail "compile failed"
    for c in classify features eval run bench serve info train; do
        out=$(./tiny $c --help 2>&1) || fail "tiny $c --help: exit $?"
        echo "$out" | grep -q -- "$c" || fail "tiny $c --help does not name $c"
    done
    ./tiny bench -h | grep -q -- "--per-kernel" || fail "bench -h lists no options"
    pass ;;
per_kernel)
    # bench --per-kernel: a row per node with the ops it covers, its kernel's strategy, and shares of
    # the time and of the FMA peak that the program measures itself; without codegen, all reference
    "$netc" compile "$root/models/efficientnet_b0.nn" --init det --res 64 --batch 2 -o eff >/dev/null 2>&1 ||
        fail "compile failed"
    OMP_NUM_THREADS=2 ./eff bench --per-kernel --iters 2 > prof.txt || fail "bench --per-kernel failed"
    grep -q "^fp32 FMA peak: [0-9.]* GFLOP/s on 2 threads" prof.txt || fail "no peak line"
    nodes=$(./eff info | sed -n 's/.*batch 2: \([0-9]*\) kernels.*/\1/p')
    rows=$(grep -c "^[0-9]" prof.txt)
    [ -n "$nodes" ] && [ "$rows" = "$nodes" ] || fail "$rows rows for $nodes nodes"
    # the ISA column is the one `info` names for the whole program; the precision f32
    isa=$(./eff info | sed -n 's/^kernels generated for [^:]*: \([a-z0-9]*\),.*/\1/p')
    [ -n "$isa" ] || fail "info does not name the kernels' ISA"
    ./eff info | grep -q "^    kernels: .* nhwc gemm ($isa f32)" || fail "info's kernel counts lack the gemm's ISA"
    grep -q "^[0-9]* *conv2d+silu  *nhwc gemm  *$isa  *f32  *blocks.1.0.conv_pw " prof.txt ||
        fail "the expand conv's row is wrong"
    grep -q "^[0-9]* *conv2d\*se  *nhwc gemm  *$isa  *f32  *blocks.1.0.conv_pwl " prof.txt ||
        fail "the SE-scaled projection's row is wrong"
    grep -q "^[0-9]* *squeeze_excite(silu)  *squeeze-excite  *$isa  *f32  *blocks.1.0.se " prof.txt ||
        fail "the SE row is wrong"
    awk '/^[0-9]/ && $3 == "reference" { bad = 1 } END { exit bad }' prof.txt ||
        fail "a reference kernel in a compiled program"
    awk '/^[0-9]/ { sub("%", "", $(NF-3)); s += $(NF-3) } END { exit !(s > 99 && s < 101) }' prof.txt ||
        fail "time shares do not add up to 100%"
    # --json: the same figures for a program to read
    OMP_NUM_THREADS=2 ./eff bench --per-kernel --iters 1 --json > prof.json || fail "bench --per-kernel --json failed"
    if "$python" -c "import json" 2>/dev/null; then
        "$python" - "$nodes" <<'PY' || fail "bench --json is wrong"
import json, sys
d = json.load(open("prof.json"))
assert d["batch"] == 2 and d["threads"] == 2 and d["median_ms"] > 0 and d["peak_gflops"] > 0, d
k = d["kernels"]
assert len(k) == int(sys.argv[1]), len(k)
assert abs(sum(x["time_share"] for x in k) - 1) < 1e-3
pw = [x for x in k if x["layer"] == "blocks.1.0.conv_pw"][0]
# the peak share under 10, not 2: on a loaded machine the peak loop (best of 10 short runs) can
# catch a slow moment that one kernel did not (2.99 seen)
assert pw["ops"] == "conv2d+silu" and pw["kernel"] == "nhwc gemm" and 0 < pw["peak_share"] < 10, pw
assert pw["isa"] in ("avx512", "avx2", "avx", "sse") and pw["precision"] == "f32", pw
PY
    fi
    "$netc" compile "$tiny" --init det --res 32 --no-codegen -o tinyref >/dev/null 2>&1 ||
        fail "compile --no-codegen failed"
    ./tinyref bench --per-kernel --iters 1 > ref.txt || fail "bench --per-kernel without codegen failed"
    ! grep -q "FMA peak" ref.txt || fail "a peak without a peak loop"
    grep -q "^0 *conv2d+relu  *reference  *-  *f32  *conv " ref.txt || fail "the reference conv's row is wrong"
    ./tinyref info | grep -q "^no generated kernels" || fail "info without codegen names a target"
    pass ;;
# The compile pipeline (tools/netc/compile_job.c): the layout pass in the pass
# manager, size lists, one weights file bound to several members, and a
# compiled program's thread options.
dump_after_layout)
    # the pass manager prints the IR after assign_layout, once per resolution, and explains it like any pass
    "$netc" compile "$tiny" --init det --res 32,40 --layout nhwc --dump-after assign_layout --explain --emit bundle \
        -o t.bundle > dump.txt 2> explain.txt || fail "compile failed"
    [ "$(grep -c '^# after assign_layout$' dump.txt)" = 2 ] || fail "expected the IR after assign_layout twice"
    [ "$(grep -c '^# after' dump.txt)" = 2 ] || fail "printed the IR after other passes too"
    grep -q 'relayout(%0) -> \[1, 3, 40, 40\] nhwc' dump.txt || fail "no relayout to NHWC in the dump"
    grep -q '^pass assign_layout: 1 rewrites' explain.txt || fail "--explain lacks the manager's line for assign_layout"
    grep -q '^assign_layout: region of 2 nodes from conv: NHWC' explain.txt || fail "--explain lacks the decision"
    # netc dump runs it with the host's choices; without a backend the pass is refused
    "$netc" dump "$tiny" --dump-after assign_layout | grep -q '^# after assign_layout$' ||
        fail "netc dump --dump-after assign_layout"
    exec "$ef" 2 "pass assign_layout: needs a backend's layout hooks" -- "$netc" dump "$tiny" --passes assign_layout ;;
res_lists)
    for bad in "224,|item 2 of 2 is empty" "64,64|64x64 is given twice" "0|'0': expected a size" \
               "99999999999|'99999999999': expected a size" "64x|'64x': expected a size" "|an empty list"; do
        res=${bad%%|*} msg=${bad#*|}
        bash "$ef" 2 "--res .*$msg" --no-file x -- "$netc" compile "$tiny" --init det --res "$res" -o x \
            >/dev/null || fail "compile --res '$res' not refused with '$msg'"
    done
    bash "$ef" 2 "resolutions of .*tiny.nn: '64,x': 'x': expected a size" --no-file x -- \
        "$netc" ensemble "$tiny:det@64,x" --merge mean -o x >/dev/null || fail "ensemble @64,x not refused"
    # commands of one resolution take one size
    bash "$ef" 2 "--res '64,96': expected a size" -- "$netc" dump "$tiny" --res 64,96 >/dev/null ||
        fail "dump took a list"
    pass ;;
shared_weights)
    # one safetensors file bound to two members at three resolutions: the same bundle as the initialiser's
    "$netc" weights "$tiny" --init det -o w.safetensors >/dev/null || fail "netc weights failed"
    "$netc" ensemble "$tiny:w.safetensors@32" "$tiny:w.safetensors@32,40" --merge mean --emit bundle -o a.bundle \
        2>/dev/null || fail "ensemble from the file failed"
    "$netc" ensemble "$tiny:det@32" "$tiny:det@32,40" --merge mean --emit bundle -o b.bundle 2>/dev/null ||
        fail "ensemble failed"
    cmp a.bundle b.bundle || fail "the bundles differ"
    pass ;;
threads)
    # --threads: the compute threads (OpenMP), reported by bench --json; --decode-threads: the image decoders
    "$netc" compile "$tiny" --init det --res 32 -o tiny >/dev/null 2>&1 || fail "compile failed"
    ./tiny bench --threads 1 --iters 2 --json | grep -q '"threads": 1,' || fail "bench --threads 1: not 1 thread"
    ./tiny --threads 3 bench --iters 2 --json | grep -q '"threads": 3,' || fail "--threads before the command ignored"
    OMP_NUM_THREADS=2 ./tiny bench --iters 2 --json | grep -q '"threads": 2,' || fail "OMP_NUM_THREADS ignored"
    ./tiny classify "$root/tests/photos" --top 1 --json > a.jsonl 2>/dev/null || fail "classify failed"
    ./tiny classify "$root/tests/photos" --top 1 --json --threads 1 --decode-threads 1 > b.jsonl 2>/dev/null ||
        fail "classify --threads 1 --decode-threads 1 failed"
    cmp a.jsonl b.jsonl || fail "answers depend on the thread counts"
    ./tiny --help | grep -q -- '--threads N (threads computing the model' || fail "--help: what is --threads?"
    ./tiny --help | grep -q -- '--decode-threads N' || fail "--help lacks --decode-threads"
    bash "$ef" 2 "--decode-threads '0': expected an integer from 1 to" -- ./tiny classify "$root/tests/photos" \
        --decode-threads 0 >/dev/null || fail "--decode-threads 0 accepted"
    exec "$ef" 2 "--threads '0': expected a positive integer" -- ./tiny bench --threads 0 ;;
omp_wait)
    # One OpenMP wait policy for every command (runtime/program/omp_wait.c): libgomp must read the program's
    # GOMP_SPINCOUNT (OMP_DISPLAY_ENV=verbose prints what it read, at its start: twice when the program
    # restarted itself to set it, the second is the one in force); the user's OMP_WAIT_POLICY or
    # GOMP_SPINCOUNT wins, with no restart.
    "$netc" compile "$tiny" --init det --res 32 -o tiny >/dev/null 2>&1 || fail "compile failed"
    want=$(sed -n 's/^#define NC_OMP_SPINCOUNT "\([0-9]*\)".*/\1/p' "$root/runtime/program/omp_wait.h")
    [ -n "$want" ] || fail "no NC_OMP_SPINCOUNT in runtime/program/omp_wait.h"
    # "SPINCOUNT STARTS" as libgomp saw them: the last GOMP_SPINCOUNT printed, and how many times it started
    seen() {
        env OMP_DISPLAY_ENV=verbose "$@" 2>&1 >/dev/null |
            awk -F"'" '/GOMP_SPINCOUNT =/ { v = $2; n++ } END { print v, n }'
    }
    for c in classify features eval run bench serve info train; do
        got=$(seen ./tiny $c --help)
        [ "$got" = "$want 2" ] || fail "$c --help: GOMP_SPINCOUNT and starts '$got', expected '$want 2'"
    done
    got=$(seen ./tiny bench --iters 2 --threads 2) # arguments survive the restart; the work runs under it
    [ "$got" = "$want 2" ] || fail "bench: '$got', expected '$want 2'"
    got=$(seen OMP_WAIT_POLICY=passive ./tiny bench --iters 1)
    [ "$got" = "0 1" ] || fail "the user's OMP_WAIT_POLICY=passive: '$got', expected '0 1'"
    got=$(seen OMP_WAIT_POLICY=active ./tiny info)
    [ "${got#"$want "}" = "$got" ] && [ "${got#* }" = 1 ] || fail "the user's OMP_WAIT_POLICY=active: '$got'"
    got=$(seen GOMP_SPINCOUNT=777 ./tiny info)
    [ "$got" = "777 1" ] || fail "the user's GOMP_SPINCOUNT=777: '$got', expected '777 1'"
    pass ;;
*) fail "unknown case $case" ;;
esac
