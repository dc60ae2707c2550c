#!/usr/bin/env bash
# hardening_cases.sh NETC CASE — inputs no run should take silently: bad
# numbers in weights or answers, changed weight bytes, awkward folders and
# file names, bad options.  Standard-library python only (no numpy).
set -u
netc=$1 case=$2
. "$(dirname "$0")/cases_env.sh"
# every line of $1 is strict JSON (no NaN/Infinity, valid UTF-8)
strict_jsonl() {
    "$python" -c "
import json, sys
def no(c): raise ValueError('not JSON: ' + c)
for line in open(sys.argv[1], 'rb'):
    json.loads(line.decode('utf-8'), parse_constant=no)" "$1" || fail "not strict JSON: $(cat -v "$1")"
}
compile_tiny() {
    "$netc" compile "$tiny" --res 32 -o tiny "$@" >/dev/null 2>log.txt || fail "compile $* failed: $(cat log.txt)"
}

case $case in
info_json)
    # netc info --json names the file through the JSON writer: quotes and bytes that are not UTF-8
    name=$(printf 'we"ird\\\xff.nn')
    cp "$tiny" "$name"
    "$netc" info "$name" --json --plan > info.json || fail "info failed"
    strict_jsonl info.json
    grep -q 'we\\"ird\\\\\\ufffd.nn' info.json || fail "file name not escaped: $(cat -v info.json)"
    # -- ends netc's options too
    cp "$tiny" ./-h.nn
    "$netc" info --json -- -h.nn > dash.json || fail "netc info -- -h.nn failed"
    grep -q '"file": "-h.nn"' dash.json || fail "-- did not end the options: $(cat dash.json)"
    pass ;;
nan_input)
    # a NaN pixel reaches the logits through conv, ReLU, max pool and SiLU as in PyTorch (torch.relu, max_pool2d and
    # silu keep NaN), in the compiled kernels and in the interpreter alike
    net="$root/tests/errors/nan_pool.nn"
    "$netc" compile "$net" --init det --res 16 -o np >/dev/null 2>log.txt || fail "compile failed: $(cat log.txt)"
    "$python" -c "
import struct, sys
hdr = \"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 16, 16), }\"
hdr += ' ' * (118 - len(hdr)) + '\\n'
vals = [1.0] * 768
vals[256 + 5 * 16 + 5] = float('nan')
body = struct.pack('<H', len(hdr)) + hdr.encode() + struct.pack('<768f', *vals)
open('x.npy', 'wb').write(b'\\x93NUMPY\\x01\\x00' + body)
" || fail "writing x.npy failed"
    ./np run --input x.npy --output y.npy --top 0 >/dev/null || fail "run failed"
    "$netc" run "$net" --init det --res 16 --input x.npy --output yi.npy --top 0 >/dev/null || fail "netc run failed"
    for f in y.npy yi.npy; do
        "$python" -c "
import struct, sys, math
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<H', b[8:10])[0]
v = struct.unpack('<4f', b[10 + n:10 + n + 16])
sys.exit(0 if all(math.isnan(x) for x in v) else 1)" "$f" || fail "$f: the NaN did not come through"
    done
    pass ;;
nonfinite_weights)
    "$netc" weights "$tiny" --init det -o w.safetensors >/dev/null || fail "netc weights failed"
    "$python" "$here/st_patch.py" w.safetensors nan.safetensors conv.weight=nan@5 || fail "patch failed"
    "$python" "$here/st_patch.py" w.safetensors inf.safetensors fc.bias=inf@3 || fail "patch failed"
    "$python" "$here/st_patch.py" w.safetensors var.safetensors bn.running_var=neg@2 || fail "patch failed"
    "$ef" 2 "conv.weight: NaN at index 5" --no-file tiny -- "$netc" compile "$tiny" --weights nan.safetensors -o tiny ||
        fail "NaN weights accepted"
    "$ef" 2 "fc.bias: \+infinity at index 3" -- "$netc" run "$tiny" --weights inf.safetensors ||
        fail "Inf weights accepted"
    exec "$ef" 2 "bn.running_var: a negative variance \(-1\) at index 2" --no-file tiny -- \
        "$netc" compile "$tiny" --weights var.safetensors -o tiny ;;
nonfinite_scores)
    # finite weights so large that the logits overflow: each image fails, the JSON stays JSON
    "$netc" weights "$tiny" --init det -o w.safetensors >/dev/null || fail "netc weights failed"
    "$python" "$here/st_patch.py" w.safetensors big.safetensors conv.weight=scale:1e30 fc.weight=scale:1e30 ||
        fail "patch failed"
    compile_tiny --weights big.safetensors
    ./tiny classify "$img/chelsea.jpg" "$img/coffee_422.jpg" --json > r.jsonl 2> err.txt
    rc=$?
    [ $rc = 1 ] || fail "exit $rc, expected 1"
    strict_jsonl r.jsonl
    [ "$(grep -c '"ok": false, "error": ".*NaN or infinite scores' r.jsonl)" = 2 ] ||
        fail "expected 2 failures: $(cat r.jsonl)"
    grep -q "chelsea.jpg: the model computed NaN or infinite scores" err.txt || fail "no message: $(cat err.txt)"
    ./tiny features "$img/chelsea.jpg" -o f.npy 2> err.txt
    [ $? = 1 ] || fail "features of NaN must fail"
    pass ;;
weights_checksum)
    # any changed byte of a program's embedded weights is refused before it runs
    compile_tiny --init det
    for k in 0 1 2 3 4 5 6 7 8 9 10 11; do
        cp tiny t$k
        "$python" - t$k $k <<'PY' || fail "patch failed"
import struct, sys
path, k = sys.argv[1], int(sys.argv[2])
b = bytearray(open(path, "rb").read())
at = -1
while True:  # the bundle: its magic at a 64-byte boundary, weights inside the file
    at = b.find(b"NETCBNDL", at + 1)
    assert at >= 0, "no bundle found"
    woff, wbytes = struct.unpack_from("<QQ", b, at + 144)
    if at % 64 == 0 and 0 < woff and 0 < wbytes and at + woff + wbytes <= len(b):
        break
b[at + woff + (k * 7919) % wbytes] ^= 1 << (k % 8)
open(path, "wb").write(b)
PY
        "$ef" 2 "embedded weights are corrupt" -- ./t$k info > log.txt ||
            fail "changed weights accepted ($k): $(cat log.txt)"
    done
    ./tiny info > /dev/null || fail "the untouched program fails"
    # and a .weights file with anything after the weights
    compile_tiny --init det --weights-external
    ./tiny info > /dev/null || fail "external weights fail"
    printf 'x' >> tiny.weights
    exec "$ef" 2 "tiny.weights: bytes after the [0-9]+ bytes of weights" -- ./tiny info ;;
folders)
    compile_tiny --init det
    mkdir -p d/a d/b/empty
    cp "$img/chelsea.jpg" d/a/one.jpg
    cp "$img/coffee_422.jpg" d/b/two.jpg
    ln -s .. d/a/loop # a link back up: walked once, reported, not followed forever
    ./tiny classify d --json > r.jsonl 2> err.txt
    rc=$?
    [ $rc = 1 ] || fail "exit $rc, expected 1: $(cat err.txt)"
    [ "$(grep -c '"ok": true' r.jsonl)" = 2 ] || fail "both images should be classified: $(cat r.jsonl)"
    grep -q "d/a/loop: a link back to a folder it is inside" err.txt || fail "loop not reported: $(cat err.txt)"
    if [ "$(id -u)" != 0 ]; then # root reads any folder
        mkdir d/locked && cp "$img/chelsea.jpg" d/locked/x.jpg && chmod 000 d/locked
        ./tiny classify d > /dev/null 2> err.txt
        grep -q "d/locked: cannot read the folder" err.txt || fail "unreadable folder not reported: $(cat err.txt)"
        chmod 755 d/locked
    fi
    "$ef" 2 "no images" -- ./tiny classify d/b/empty || fail "an empty folder"
    # file names that are not UTF-8, or hold a newline or a quote
    rm d/a/loop
    cp "$img/chelsea.jpg" "$(printf 'd/a/caf\xe9.jpg')"
    cp "$img/chelsea.jpg" "$(printf 'd/a/new\nline "q".jpg')"
    ./tiny classify d --json > r.jsonl 2> err.txt || fail "classify failed: $(cat err.txt)"
    strict_jsonl r.jsonl
    [ "$(wc -l < r.jsonl)" = 4 ] || fail "expected 4 lines: $(cat -v r.jsonl)"
    grep -q 'caf\\ufffd.jpg' r.jsonl || fail "non-UTF-8 name not replaced: $(cat -v r.jsonl)"
    ./tiny features d -o f.npy 2> err.txt || fail "features failed: $(cat err.txt)"
    [ "$(wc -l < f.txt)" = 4 ] || fail "f.txt out of step with the 4 rows: $(cat -v f.txt)"
    grep -qF 'd/a/new\nline "q".jpg' f.txt || fail "newline not escaped: $(cat -v f.txt)"
    pass ;;
file_content)
    # a list entry that is not an image: the message names it and why, never what it holds
    compile_tiny --init det
    printf 'root:x:0:0:root:/root:/bin/sh\n' > passwd
    printf 'passwd\n' > list.txt
    ./tiny classify --list list.txt --json > r.jsonl 2> err.txt
    [ $? = 1 ] || fail "a bad entry must give exit 1"
    grep -q "passwd: not a JPEG or PNG image" err.txt || fail "no reason: $(cat err.txt)"
    ! grep -q "root\|72 6f 6f 74" err.txt r.jsonl || fail "the file's content was printed: $(cat err.txt)"
    pass ;;
options)
    compile_tiny --init det
    ./tiny classify "$img/chelsea.jpg" --top 100000 --json > r.jsonl || fail "--top 100000 failed"
    [ "$(grep -o '"class"' r.jsonl | wc -l)" = 10 ] || fail "--top over the classes should list all 10: $(cat r.jsonl)"
    "$ef" 2 "--top '100001': expected an integer from 1 to 100000" -- ./tiny classify "$img/chelsea.jpg" --top 100001 ||
        fail "--top over the limit"
    cp "$img/chelsea.jpg" ./-dash.jpg
    ./tiny classify --top 1 -- -dash.jpg > r.txt || fail "-- does not end the options"
    grep -q "^-dash.jpg" r.txt || fail "the file after -- was not classified: $(cat r.txt)"
    "$ef" 2 "unknown or incomplete option '-dash.jpg'" -- ./tiny classify -dash.jpg || fail "an unknown option"
    # an unknown CPU: bad input (exit 2) with a message listing the known ones, not an abort in LLVM
    "$ef" 2 "--cpu 'bogus': not a CPU LLVM knows .*known: .*haswell" --no-file t2 -- \
        "$netc" compile "$tiny" --init det --res 32 --cpu bogus -o t2 || fail "--cpu bogus"
    # out of memory: a message and exit 1, not an abort (an arena of hundreds of GB)
    "$netc" compile "$tiny" --init det --res 2048 --batch 8192 -o huge >/dev/null 2>&1 || fail "compile huge failed"
    # (under ASan, a failed malloc must return NULL as it does without it)
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1"
    exec "$ef" 1 "huge: out of memory: could not allocate [0-9]+ bytes" -- ./huge bench ;;
*) fail "unknown case $case" ;;
esac
