#!/usr/bin/env bash
# classify_cases.sh NETC CASE — the image commands of compiled programs
# (classify, features, eval) and netc ensemble, end to end.  The oracle is the
# program's own `run` on the fixture tensors that match PIL + timm
# (tests/fixtures/images), merged with numpy (oracle.py).
set -u
netc=$1 case=$2
. "$(dirname "$0")/cases_env.sh"
other="$root/tests/errors/syntax_ok.nn" # 10 classes, other weights
py() { "$python" "$here/oracle.py" "$@" || fail "oracle: $*"; }
"$python" -c "import numpy" || fail "these tests need $python with numpy (tools/setup.sh makes .venv with it)"
printf 'zero\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n' > labels.txt
c64="$img/chelsea_64x64_bicubic_0.875.npy" c96="$img/chelsea_64x96_bicubic_0.875.npy"

case $case in
views)
    # one image at two resolutions, with and without flip TTA, merged by sum and mean
    "$netc" compile "$tiny" --init det --res 64,64x96 --batch 2 --labels labels.txt -o tiny || fail "compile failed"
    py flip "$c64" f64.npy
    py flip "$c96" f96.npy
    for t in 64 96; do
        x=c$t
        ./tiny run --input "${!x}" --output a$t.npy >/dev/null || fail "run failed"
        ./tiny run --input f$t.npy --output af$t.npy >/dev/null || fail "run failed"
    done
    ./tiny classify "$img/chelsea.jpg" --res 64 --json --top 10 > r1.jsonl || fail "classify failed"
    py check r1.jsonl chelsea.jpg "softmax(load('a64.npy'))"
    grep -q '"label": "' r1.jsonl || fail "compiled-in labels missing from --json"
    ./tiny classify "$img/chelsea.jpg" --res 64 --tta flip --json --top 10 > r2.jsonl || fail "classify failed"
    py check r2.jsonl chelsea.jpg "softmax((load('a64.npy') + load('af64.npy')) / 2)"
    ./tiny classify "$img/chelsea.jpg" --tta flip --json --top 10 > r3.jsonl || fail "classify failed"
    want="softmax((load('a64.npy') + load('af64.npy')) / 2 + (load('a96.npy') + load('af96.npy')) / 2)"
    py check r3.jsonl chelsea.jpg "$want"
    ./tiny classify "$img/chelsea.jpg" --res 64,64x96 --merge mean --json --top 10 > r4.jsonl || fail "classify failed"
    py check r4.jsonl chelsea.jpg "softmax((load('a64.npy') + load('a96.npy')) / 2)"
    # the text form names the classes
    ./tiny classify "$img/chelsea.jpg" --res 64 --top 3 > r5.txt || fail "classify failed"
    [ "$(grep -c -E '^ +[0-9.]+ +[0-9]+  (zero|one|two|three|four|five|six|seven|eight|nine)$' r5.txt)" = 3 ] ||
        fail "text output: $(cat r5.txt)"
    pass ;;
batches)
    # more images than the compiled batch and the loader's chunk: same answer per image as alone
    "$netc" compile "$tiny" --init det --res 64 --batch 3 -o tiny >/dev/null 2>&1 || fail "compile failed"
    ./tiny run --input "$c64" --output a.npy >/dev/null || fail "run failed"
    mkdir many
    for i in $(seq -w 1 37); do cp "$img/coffee_422.jpg" many/c$i.jpg; done
    cp "$img/chelsea.jpg" many/m20.jpg
    ./tiny classify many --json --top 10 --threads 3 > r.jsonl || fail "classify failed"
    [ "$(wc -l < r.jsonl)" = 38 ] || fail "expected 38 results"
    py check r.jsonl m20.jpg "softmax(load('a.npy'))"
    pass ;;
bad_files)
    # each bad file on its own line with its reason, the rest classified, exit 1
    "$netc" compile "$tiny" --init det --res 64 -o tiny >/dev/null 2>&1 || fail "compile failed"
    mkdir d
    cp "$img/chelsea.jpg" d/good.jpg
    head -c 3000 "$img/chelsea.jpg" > d/truncated.jpg
    : > d/empty.jpg
    echo "not an image" > d/text.png
    ./tiny classify d missing.jpg --json > out.jsonl 2> err.txt
    rc=$?
    [ $rc = 1 ] || fail "exit $rc, expected 1"
    [ "$(grep -c '"ok": true' out.jsonl)" = 1 ] || fail "the good image was not classified"
    [ "$(grep -c '"ok": false' out.jsonl)" = 4 ] || fail "expected 4 failures in the JSON"
    for f in d/truncated.jpg d/empty.jpg d/text.png missing.jpg; do
        grep -q "^$f: " err.txt || fail "no message for $f: $(cat err.txt)"
    done
    grep -q "4 of 5 images failed" err.txt || fail "no summary"
    pass ;;
features)
    "$netc" compile "$tiny" --init det --res 64 --batch 2 -o tiny >/dev/null 2>&1 || fail "compile failed"
    "$netc" weights "$tiny" --init det -o w.safetensors >/dev/null || fail "netc weights failed"
    ./tiny run --input "$c64" --output a.npy >/dev/null || fail "run failed"
    ./tiny features "$img/chelsea.jpg" nothing.jpg -o f.npy 2>err.txt
    [ $? = 1 ] || fail "a failed image must give exit 1"
    [ "$(cat f.txt)" = "$img/chelsea.jpg" ] || fail "f.txt should list the one good file"
    py features f.npy w.safetensors a.npy
    exec "$ef" 2 "give images and -o OUT.npy" -- ./tiny features "$img/chelsea.jpg" ;;
ensemble)
    # three members (two models, one at another resolution) against each alone
    "$netc" compile "$tiny" --init det --res 64,64x96 -o tiny >/dev/null 2>&1 || fail "compile failed"
    "$netc" compile "$other" --init det --res 64 -o other >/dev/null 2>&1 || fail "compile failed"
    ./tiny run --input "$c64" --output A.npy >/dev/null && ./other run --input "$c64" --output B.npy >/dev/null &&
        ./tiny run --input "$c96" --output C.npy >/dev/null || fail "run failed"
    members="$tiny:det@64 $other:det@64 $tiny:det@64x96"
    for m in mean median vote weighted:1,2,3; do
        "$netc" ensemble $members --merge $m --labels labels.txt -o ens >/dev/null 2>&1 ||
            fail "ensemble --merge $m failed"
        ./ens classify "$img/chelsea.jpg" --json --top 10 > r.jsonl || fail "classify failed"
        A="load('A.npy')" B="load('B.npy')" C="load('C.npy')"
        case $m in
        mean) want="softmax(($A + $B + $C) / 3)" ;;
        median) want="softmax(median($A, $B, $C))" ;;
        vote) want="vote($A, $B, $C)" ;;
        *) want="softmax(($A + 2 * $B + 3 * $C) / 6)" ;;
        esac
        py check r.jsonl chelsea.jpg "$want"
    done
    "$netc" ensemble $members --merge mean --on probs -o ensp >/dev/null 2>&1 || fail "ensemble --on probs failed"
    ./ensp classify "$img/chelsea.jpg" --json --top 10 > p.jsonl || fail "classify failed"
    py check p.jsonl chelsea.jpg "(softmax(load('A.npy')) + softmax(load('B.npy')) + softmax(load('C.npy'))) / 3"
    ./ens info | grep -q "3 models" || fail "info does not list the models"
    pass ;;
eval)
    "$netc" compile "$tiny" --init det --res 64 -o tiny >/dev/null 2>&1 || fail "compile failed"
    ./tiny run --input "$c64" --output a.npy >/dev/null || fail "run failed"
    y=$("$python" -c "import numpy as np; print(int(np.argmax(np.load('a.npy'))))")
    mkdir data && cp "$img/chelsea.jpg" "data/a cat.jpg" && cp "$img/chelsea.jpg" data/b.jpg
    printf '# path label\ndata/a cat.jpg %d\ndata/b.jpg %d\n\n' "$y" $(( (y + 1) % 10 )) > list.txt
    ./tiny eval --list list.txt --json > e.json || fail "eval failed"
    "$python" -c "
import json; r = json.load(open('e.json'))
assert r['images'] == 2 and r['scored'] == 2 and abs(r['top1'] - 0.5) < 1e-9, r
assert len(r['per_class']) == 2 and abs(r['mean_class_top1'] - 0.5) < 1e-9, r" ||
        fail "eval numbers wrong: $(cat e.json)"
    ./tiny eval --list list.txt | grep -q "top-1 50.00%" || fail "eval text output"
    printf 'data/b.jpg 12\n' > bad.txt
    exec "$ef" 2 "bad.txt:1: label 12 is not a class of this model" -- ./tiny eval --list bad.txt ;;
preprocess_override)
    # --crop-pct / --interpolation / --mean / --std replace the model's preprocessing
    "$netc" compile "$tiny" --init det --res 32 -o tiny >/dev/null 2>&1 || fail "compile failed"
    ./tiny run --input "$img/chelsea_32x32_bilinear_1.0.npy" --output a.npy >/dev/null || fail "run failed"
    ./tiny run --input "$img/astronaut_progressive_32x32_bicubic_0.9_inception.npy" --output b.npy >/dev/null ||
        fail "run failed"
    ./tiny classify "$img/chelsea.jpg" --crop-pct 1.0 --interpolation bilinear --json --top 10 > r1.jsonl ||
        fail "classify failed"
    py check r1.jsonl chelsea.jpg "softmax(load('a.npy'))"
    ./tiny classify "$img/astronaut_progressive.jpg" --crop-pct 0.9 --mean 0.5,0.5,0.5 --std 0.5,0.5,0.5 \
        --json --top 10 > r2.jsonl || fail "classify failed"
    py check r2.jsonl astronaut_progressive.jpg "softmax(load('b.npy'))"
    # and without them the answer differs (the defaults are bicubic, 0.875)
    ./tiny classify "$img/chelsea.jpg" --json --top 10 > r3.jsonl || fail "classify failed"
    "$python" "$here/oracle.py" check r3.jsonl chelsea.jpg "softmax(load('a.npy'))" >/dev/null &&
        fail "the override made no difference"
    exec "$ef" 2 "--std '1,0,1': expected three numbers" -- ./tiny classify "$img/chelsea.jpg" --std 1,0,1 ;;
res_not_compiled)
    "$netc" compile "$tiny" --init det --res 64 -o tiny >/dev/null 2>&1 || fail "compile failed"
    exec "$ef" 2 "--res 448: not compiled into this program \\(it has 64x64\\)" -- \
        ./tiny classify "$img/chelsea.jpg" --res 448 ;;
labels_wrong_count)
    printf 'a\nb\n' > two.txt
    exec "$ef" 2 "two.txt: 2 names for a model of 10 classes" --no-file tiny -- \
        "$netc" compile "$tiny" --init det --res 32 --labels two.txt -o tiny ;;
ensemble_disagree)
    exec "$ef" 2 "an ensemble's models must agree" --no-file ens -- \
        "$netc" ensemble "$tiny:det@32" "$root/models/resnet50.nn:det@32" --merge mean -o ens ;;
ensemble_bad_merge)
    exec "$ef" 2 "--merge 'weighted:1': expected mean, median, vote or weighted:W1,\\.\\.\\.,W2" --no-file ens -- \
        "$netc" ensemble "$tiny:det@32" "$other:det@32" --merge weighted:1 -o ens ;;
*) fail "unknown case $case" ;;
esac
