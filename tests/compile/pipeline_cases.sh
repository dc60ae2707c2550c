#!/usr/bin/env bash
# pipeline_cases.sh NETC CASE — the compile pipeline's own behaviour
# (tools/netc/compile_job.c): the layout pass run by the pass manager, the
# size lists both commands parse, one weights file bound to several members,
# and a compiled program's thread options.
set -u
netc=$1 case=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ef="$root/tests/expect_fail.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
tiny="$root/tests/errors/tiny.nn"
pass() { echo "1 passed, 0 failed"; exit 0; }
fail() { echo "$1"; echo "0 passed, 1 failed"; exit 1; }
case $case in
dump_after_layout)
    # the pass manager prints the IR after assign_layout, once per resolution, and explains it like any pass
    "$netc" compile "$tiny" --init det --res 32,40 --layout nhwc --dump-after assign_layout --explain --emit bundle \
        -o t.bundle > dump.txt 2> explain.txt || fail "compile failed"
    [ "$(grep -c '^# after assign_layout$' dump.txt)" = 2 ] || fail "expected the IR after assign_layout twice"
    [ "$(grep -c '^# after' dump.txt)" = 2 ] || fail "printed the IR after other passes too"
    grep -q 'relayout(%0) -> \[1, 3, 40, 40\] nhwc' dump.txt || fail "no relayout to NHWC in the dump"
    grep -q '^pass assign_layout: 1 rewrites' explain.txt || fail "--explain lacks the pass manager's line for assign_layout"
    grep -q '^assign_layout: region of 2 nodes from conv: NHWC' explain.txt || fail "--explain lacks the layout decision"
    # netc dump runs it with the host's choices; without a backend the pass is refused
    "$netc" dump "$tiny" --dump-after assign_layout | grep -q '^# after assign_layout$' || fail "netc dump --dump-after assign_layout"
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
    bash "$ef" 2 "--res '64,96': expected a size" -- "$netc" dump "$tiny" --res 64,96 >/dev/null || fail "dump took a list"
    pass ;;
shared_weights)
    # one safetensors file bound to two members at three resolutions: the same bundle as the initialiser's
    "$netc" weights "$tiny" --init det -o w.safetensors >/dev/null || fail "netc weights failed"
    "$netc" ensemble "$tiny:w.safetensors@32" "$tiny:w.safetensors@32,40" --merge mean --emit bundle -o a.bundle \
        2>/dev/null || fail "ensemble from the file failed"
    "$netc" ensemble "$tiny:det@32" "$tiny:det@32,40" --merge mean --emit bundle -o b.bundle 2>/dev/null || fail "ensemble failed"
    cmp a.bundle b.bundle || fail "the bundles differ"
    pass ;;
threads)
    # --threads: the compute threads (OpenMP), reported by bench --json; --decode-threads: the image decoders
    "$netc" compile "$tiny" --init det --res 32 -o tiny >/dev/null 2>&1 || fail "compile failed"
    ./tiny bench --threads 1 --iters 2 --json | grep -q '"threads": 1,' || fail "bench --threads 1 does not run 1 thread"
    ./tiny --threads 3 bench --iters 2 --json | grep -q '"threads": 3,' || fail "--threads before the command ignored"
    OMP_NUM_THREADS=2 ./tiny bench --iters 2 --json | grep -q '"threads": 2,' || fail "OMP_NUM_THREADS no longer the default"
    ./tiny classify "$root/tests/photos" --top 1 --json > a.jsonl 2>/dev/null || fail "classify failed"
    ./tiny classify "$root/tests/photos" --top 1 --json --threads 1 --decode-threads 1 > b.jsonl 2>/dev/null ||
        fail "classify --threads 1 --decode-threads 1 failed"
    cmp a.jsonl b.jsonl || fail "answers depend on the thread counts"
    ./tiny --help | grep -q -- '--threads N (threads computing the model' || fail "--help does not say what --threads is"
    ./tiny --help | grep -q -- '--decode-threads N' || fail "--help lacks --decode-threads"
    bash "$ef" 2 "--decode-threads '0': expected a positive integer" -- ./tiny classify "$root/tests/photos" \
        --decode-threads 0 >/dev/null || fail "--decode-threads 0 accepted"
    exec "$ef" 2 "--threads '0': expected a positive integer" -- ./tiny bench --threads 0 ;;
*)
    fail "unknown case $case" ;;
esac
