#!/usr/bin/env bash
# train_cases.sh NETC CASE — a training program (netc compile --train) end to
# end: resumed runs equal uninterrupted ones bit for bit, kills at any moment
# leave only whole checkpoint pairs, checkpoints load into timm, and bad input,
# non-finite losses, frozen features and the other losses behave as documented.
# Small on purpose (reference kernels): lite0 at 32x32 or tests/errors/tiny.nn
# at 16x16, batch 2, a few updates on the fixture images.
set -u
netc=$1 case=$2
source "$(cd "$(dirname "$0")" && pwd)/../compile/cases_env.sh"
# One OpenMP thread: fast on a loaded machine (the step's threads otherwise
# spin against the loader's), and the same arithmetic in every run compared.
export OMP_NUM_THREADS=${NETC_TRAIN_THREADS:-1}
lite="$root/models/tf_efficientnet_lite0.nn"
st() { "$python" "$here/st_tensors.py" "$@"; }
pad() { printf %08d "$1"; }

# mklist K N: N lines "path label" over the fixture images (label i mod K)
mklist() {
    local i=0 f
    while [ $i -lt "$2" ]; do
        for f in "$img"/*.jpg "$img"/*.png; do
            [ $i -lt "$2" ] || break
            echo "$f $((i % $1))"
            i=$((i + 1))
        done
    done
}
compile_lite() { # compile_lite OUT [options]: lite0, 5 classes, 32x32, batch 2, dropout on
    local out=$1
    shift
    "$netc" compile "$lite" --train --res 32 --batch 2 --init det --set classes=5 --drop-rate 0.2 \
        --drop-path-rate 0.1 "$@" -o "$out" >/dev/null || fail "compiling lite0 for training failed"
}
compile_tiny() { # compile_tiny OUT [options]: tiny, 10 classes, 16x16, batch 2
    local out=$1
    shift
    "$netc" compile "$tiny" --train --res 16 --batch 2 --init det "$@" -o "$out" >/dev/null ||
        fail "compiling tiny for training failed"
}
# a metrics.jsonl's losses, all finite, at least one
finite_losses() {
    "$python" - "$1" <<'PY'
import json, math, sys
losses = [json.loads(l)["loss"] for l in open(sys.argv[1]) if '"loss"' in l]
sys.exit(0 if losses and all(isinstance(x, float) and math.isfinite(x) for x in losses) else 1)
PY
}

case $case in
resume_exact)
    # k updates, then --resume to 2k, against 2k uninterrupted: the same bytes.  Dropout and drop-path
    # draw from (seed, step); the data order from (seed, epoch).  8 images, batch 2: 4 updates an epoch,
    # so k = 3 resumes mid-epoch and 2k = 6 crosses the end of epoch 1.
    compile_lite lite
    mklist 5 8 >list.txt
    check() { # check NAME K [options]
        local name=$1 k=$2
        shift 2
        local common="--data list.txt --epochs 2 --seed 7 --lr 0.01 --clip-grad 1 --quiet $*"
        ./lite train $common --out $name.full --max-steps $((2 * k)) 2>$name.full.err ||
            fail "$name: the uninterrupted run failed: $(cat $name.full.err)"
        ./lite train $common --out $name.part --max-steps $k 2>$name.part.err ||
            fail "$name: the first $k updates failed: $(cat $name.part.err)"
        ./lite train $common --resume $name.part --out $name.part --max-steps $((2 * k)) 2>$name.res.err ||
            fail "$name: the resumed run failed: $(cat $name.res.err)"
        grep -q "resuming $name.part at update $k " $name.res.err || fail "$name: no resume at $k: $(cat $name.res.err)"
        cmp $name.full/ckpt-$(pad $((2 * k))).safetensors $name.part/ckpt-$(pad $((2 * k))).safetensors ||
            fail "$name: the resumed run's checkpoint differs from the uninterrupted one's"
        cmp $name.full/state-$(pad $((2 * k))).bin $name.part/state-$(pad $((2 * k))).bin ||
            fail "$name: the resumed run's state differs from the uninterrupted one's"
        if [ -f $name.full/best.safetensors ]; then
            cmp $name.full/best.safetensors $name.part/best.safetensors || fail "$name: best.safetensors differs"
        fi
        echo "$name: resumed at $k, equal at $((2 * k))"
    }
    check sgd 3 --val list.txt --wd 1e-4 --nesterov # validation and best.safetensors at the epoch's end
    check adamw 3 --opt adamw --wd 0.05 --warmup-epochs 0.5 --label-smoothing 0.1
    [ -f sgd.full/best.safetensors ] || fail "no best.safetensors with --val"
    pass ;;
resume_large)
    # a training state over the 64 MiB a text file may have (lite0 with 15000 classes: 172 MiB)
    # resumes like a small one
    "$netc" compile "$lite" --train --res 32 --batch 2 --init det --set classes=15000 -o big >/dev/null ||
        fail "compiling lite0 with 15000 classes failed"
    mklist 5 8 >list.txt
    common="--data list.txt --epochs 1 --seed 7 --lr 0.01 --quiet"
    ./big train $common --out full --max-steps 2 2>full.err || fail "the uninterrupted run failed: $(cat full.err)"
    ./big train $common --out part --max-steps 1 2>part.err || fail "the first update failed: $(cat part.err)"
    [ "$(stat -c %s part/state-$(pad 1).bin)" -gt $((64 << 20)) ] || fail "the state is not over 64 MiB"
    ./big train $common --resume part --out part --max-steps 2 2>res.err ||
        fail "the resumed run failed: $(cat res.err)"
    grep -q "resuming part at update 1 " res.err || fail "no resume at 1: $(cat res.err)"
    cmp full/ckpt-$(pad 2).safetensors part/ckpt-$(pad 2).safetensors || fail "the resumed checkpoint differs"
    echo "a $(stat -c %s part/state-$(pad 1).bin)-byte state resumed, equal at 2"
    pass ;;
kill)
    # SIGKILL at random moments, each time relaunched with --resume; every pair on disk stays loadable,
    # nothing but checkpoints, states, metrics.jsonl, the pictures and hidden temporaries appears, and the end equals an
    # uninterrupted run's.  19 images, batch 2: 9 updates an epoch; 7 epochs, 60 updates (enough time for
    # the kills now that the step runs generated kernels).
    compile_lite lite
    mklist 5 19 >list.txt
    seed=${NETC_KILL_SEED:-$RANDOM}
    RANDOM=$seed
    echo "kill seed $seed (NETC_KILL_SEED)"
    common="--data list.txt --epochs 7 --max-steps 60 --seed 3 --lr 0.01 --clip-grad 1 --quiet --save-every 1"
    ./lite train $common --out ref 2>ref.err || fail "the uninterrupted run failed: $(cat ref.err)"
    final=ckpt-$(pad 60).safetensors
    [ -f ref/$final ] || fail "no ref/$final"
    kills=0 launches=0 orphans=0 temps=0 done=0
    inspect() { # every file in run/ is expected; every pair resumes
        local f s
        shopt -s nullglob
        for f in run/* run/.*; do
            case ${f#run/} in
            . | .. | metrics.jsonl | curves.svg | per_class.json | confusion.svg) ;;
            ckpt-????????.safetensors)
                s=${f#run/ckpt-}
                s=${s%.safetensors}
                [ -f run/state-$s.bin ] || { orphans=$((orphans + 1)); echo "  orphan checkpoint (no state): $f"; } ;;
            state-????????.bin)
                s=${f#run/state-}
                s=${s%.bin}
                [ -f run/ckpt-$s.safetensors ] || fail "state without its checkpoint: $f"
                # the pair alone in a scratch folder (hard links): it must resume
                rm -rf chk && mkdir chk && ln run/state-$s.bin run/ckpt-$s.safetensors chk/ ||
                    fail "cannot link $f"
                ./lite train $common --resume chk --out chk --max-steps $((10#$s > 0 ? 10#$s : 1)) 2>chk.err ||
                    fail "the pair at step $s does not resume: $(cat chk.err)"
                grep -q "resuming chk at update $((10#$s)) " chk.err || fail "pair $s: $(cat chk.err)"
                ! grep -q "not resuming" chk.err || fail "pair $s: $(cat chk.err)" ;;
            .*.tmp*)
                temps=$((temps + 1))
                echo "  hidden temporary of a killed write: $f" ;;
            *) fail "unexpected file in the run's folder: $f" ;;
            esac
        done
    }
    mkdir run
    for round in $(seq 1 40); do
        opts="--out run"
        compgen -G "run/state-*.bin" >/dev/null && opts="--resume run --out run"
        ./lite train $common $opts 2>>run.err &
        pid=$!
        launches=$((launches + 1))
        sleep "$((RANDOM % 2)).$(printf %03d $((RANDOM % 1000)))"
        if kill -0 $pid 2>/dev/null; then
            kill -KILL $pid 2>/dev/null && kills=$((kills + 1))
            wait $pid 2>/dev/null
        else
            wait $pid
            rc=$?
            [ $rc = 0 ] || fail "a relaunch failed (exit $rc): $(tail -5 run.err)"
            if [ -f run/$final ]; then
                done=1
                [ $kills -ge 8 ] && break
                # finished before enough kills landed (a fast machine): check it, then again from scratch
                cmp ref/$final run/$final || fail "after $kills kills, the final checkpoint differs"
                rm -rf run && mkdir run && done=0
                continue
            fi
        fi
        ! grep -q "not resuming" run.err || fail "a resume skipped a pair: $(grep 'not resuming' run.err)"
        inspect
        echo "  launch $launches: newest pair $(ls run | grep '^state-' | tail -1)"
    done
    echo "$kills kills in $launches launches"
    if [ $done = 0 ]; then # (under load every kill may have landed before the first checkpoint)
        opts="--out run"
        compgen -G "run/state-*.bin" >/dev/null && opts="--resume run --out run"
        ./lite train $common $opts 2>>run.err || fail "the last run failed: $(tail -5 run.err)"
    fi
    ! grep -q "not resuming" run.err || fail "a resume skipped a pair: $(grep 'not resuming' run.err)"
    inspect
    [ $kills -ge 8 ] || fail "only $kills kills landed (the run was too quick)"
    cmp ref/$final run/$final || fail "after $kills kills, the final checkpoint differs from the uninterrupted run's"
    cmp ref/state-$(pad 60).bin run/state-$(pad 60).bin || fail "the final state differs"
    echo "orphan checkpoints seen: $orphans; hidden temporaries seen: $temps"
    pass ;;
timm_load)
    # A trained checkpoint loads into timm (strict) and compiles for inference unchanged: the two agree.
    tp=${NETC_TORCH_PYTHON:-}
    if [ -z "$tp" ] || ! "$tp" -c "import torch, timm" 2>/dev/null; then
        echo "skipped: needs a Python with torch and timm: set NETC_TORCH_PYTHON (cmake -DNETC_TORCH_PYTHON=...)"
        exit 77
    fi
    compile_lite lite --res 48
    mklist 5 8 >list.txt
    ./lite train --data list.txt --out run --max-steps 3 --lr 0.01 --clip-grad 1 --opt adamw --quiet 2>run.err ||
        fail "training failed: $(cat run.err)"
    ck=run/ckpt-$(pad 3).safetensors
    [ -f $ck ] || fail "no $ck"
    "$netc" compile "$lite" --weights $ck --set classes=5 --res 48 --batch 2 -o infer >/dev/null 2>infer.err ||
        fail "the checkpoint does not compile for inference: $(cat infer.err)"
    "$netc" run "$lite" --init det --set classes=5 --res 48 --batch 2 --save-input x.npy --top 0 >/dev/null ||
        fail "netc run --save-input failed"
    ./infer run --input x.npy --output y.npy --top 0 >/dev/null || fail "the inference program failed"
    "$tp" - $ck x.npy y.npy <<'PY' || fail "timm disagrees with the compiled checkpoint"
import sys, numpy as np, torch, timm
from safetensors.torch import load_file
ck, x, y = sys.argv[1:]
m = timm.create_model("tf_efficientnet_lite0", num_classes=5)
m.load_state_dict(load_file(ck), strict=True)
m.eval()
with torch.no_grad():
    ref = m(torch.from_numpy(np.load(x))).numpy()
got = np.load(y)
err = np.abs(ref - got).max() / np.abs(ref).max()
print("timm vs compiled checkpoint: max |diff| / max |y| = %.3g" % err)
sys.exit(0 if err <= 1e-4 else 1)
PY
    pass ;;
bad_input)
    compile_tiny tiny
    compile_tiny tinyw --loss weighted
    mklist 10 12 >list.txt
    : >empty.txt
    "$ef" 2 "no images" -- ./tiny train --data empty.txt --out o1 || fail "an empty list"
    { mklist 10 3; echo "$img/chelsea.jpg 10"; } >range.txt
    "$ef" 2 "range.txt" -- ./tiny train --data range.txt --out o2 || fail "a label out of range"
    mkdir -p folders/a folders/b folders/c
    cp "$img/chelsea.jpg" folders/a/ && cp "$img/coffee_422.jpg" folders/b/ && cp "$img/orient1.jpg" folders/c/
    "$ef" 2 "3 class folders, but the model has 10 classes" -- ./tiny train --data folders --out o3 ||
        fail "a folder set with the wrong number of classes"
    mklist 10 1 >one.txt
    "$ef" 2 "1 images, fewer than one batch of 2" -- ./tiny train --data one.txt --out o4 || fail "under a batch"
    mkdir emptydir
    "$ef" 2 "emptydir: no checkpoint to resume from" -- ./tiny train --data list.txt --resume emptydir \
        --out emptydir || fail "--resume on an empty folder"
    "$ef" 2 "needs a program compiled with --loss weighted" -- ./tiny train --data list.txt --out o5 \
        --class-weights inverse || fail "--class-weights with an unweighted loss"
    "$ef" 2 "give --class-weights" -- ./tinyw train --data list.txt --out o6 || fail "weighted loss without weights"
    "$ef" 2 "nothere.safetensors" -- ./tiny train --data list.txt --out o7 --init nothere.safetensors ||
        fail "a missing --init file"
    # unreadable and corrupt images: skipped, counted, the run goes on
    head -c 3000 "$img/chelsea.jpg" >truncated.jpg
    printf 'not an image at all' >garbage.png
    { mklist 10 6; echo "$tmp/truncated.jpg 1"; echo "$tmp/garbage.png 2"; echo "$tmp/missing.jpg 3"; } >some_bad.txt
    ./tiny train --data some_bad.txt --out o8 --epochs 1 --quiet 2>o8.err ||
        fail "bad images stop the run: $(cat o8.err)"
    "$python" - o8/metrics.jsonl <<'PY' || fail "skipped_images not counted: $(cat o8/metrics.jsonl)"
import json, sys
n = max(json.loads(l).get("skipped_images", 0) for l in open(sys.argv[1]))
print("skipped_images", n)
sys.exit(0 if n >= 2 else 1)
PY
    grep -q "warning: skipped" o8.err || fail "no warning for a skipped image: $(cat o8.err)"
    # --init from a checkpoint of another class count: the classifier re-initialised, with a note
    compile_lite lite5
    "$netc" compile "$lite" --train --res 32 --batch 2 --init det --set classes=7 -o lite7 >/dev/null ||
        fail "compile lite0 at 7 classes"
    mklist 5 4 >list5.txt
    mklist 7 4 >list7.txt
    ./lite5 train --data list5.txt --out o9 --max-steps 1 --lr 0.01 --quiet 2>/dev/null || fail "lite0 5 classes"
    ./lite7 train --data list7.txt --out o10 --max-steps 1 --lr 0.01 --quiet --init o9/ckpt-$(pad 1).safetensors \
        2>o10.err || fail "--init with another class count failed: $(cat o10.err)"
    grep -q "note: .*classifier.weight' is for 5 classes; re-initialised for 7" o10.err ||
        fail "no note for the re-initialised classifier: $(cat o10.err)"
    pass ;;
nan)
    # every classifier weight 3e38: the logits overflow to infinity, every loss is NaN
    compile_tiny tiny
    mklist 10 12 >list.txt
    ./tiny train --data list.txt --out good --max-steps 1 --quiet 2>/dev/null || fail "one step failed"
    st fill good/ckpt-$(pad 1).safetensors huge.safetensors fc.weight 3e38 || fail "st_tensors.py fill failed"
    # the folder holds a checkpoint pair from before; the stopped run leaves it as it was
    mkdir nanrun && cp good/* nanrun/
    ./tiny train --data list.txt --out nanrun --init huge.safetensors --nan-limit 3 --quiet 2>nan.err
    rc=$?
    cat nan.err
    [ $rc = 1 ] || fail "exit status $rc, expected 1"
    grep -q "3 non-finite losses in a row: stopped" nan.err || fail "no message for the stop"
    grep -q "warning: step 0: loss .*update skipped" nan.err || fail "the message names no step"
    [ "$(grep -c '"skipped_step"' nanrun/metrics.jsonl)" = 3 ] || fail "metrics.jsonl: $(cat nanrun/metrics.jsonl)"
    for f in good/ckpt-* good/state-*; do cmp "$f" "nanrun/${f#good/}" || fail "the earlier $f changed"; done
    [ "$(ls nanrun | grep -c ckpt-)" = 1 ] || fail "the stopped run wrote a checkpoint: $(ls nanrun)"
    pass ;;
freeze)
    # --freeze-features: only the classifier moves; the features (BN statistics too) stay as they were
    compile_tiny tiny
    compile_tiny tinyf --freeze-features
    compile_lite litef --freeze-features
    compile_lite lite
    mklist 10 12 >list.txt
    mklist 5 6 >list5.txt
    ./tiny train --data list.txt --out init --max-steps 1 --quiet 2>/dev/null || fail "one step failed"
    i=init/ckpt-$(pad 1).safetensors
    # (the seed's stage 2: frozen features, class-balanced sampling)
    ./tinyf train --data list.txt --out f --max-steps 3 --init $i --sampler balanced-sqrt --quiet 2>f.err ||
        fail "frozen run: $(cat f.err)"
    st same $i f/ckpt-$(pad 3).safetensors --except fc. bn.num_batches_tracked || fail "tiny: features changed"
    st differ $i f/ckpt-$(pad 3).safetensors fc.weight fc.bias || fail "tiny: the classifier did not train"
    ./lite train --data list5.txt --out linit --max-steps 1 --lr 0.01 --quiet 2>/dev/null || fail "lite0 step failed"
    li=linit/ckpt-$(pad 1).safetensors
    ./litef train --data list5.txt --out lf --max-steps 2 --init $li --quiet 2>lf.err ||
        fail "lite0 frozen: $(cat lf.err)"
    names=$("$python" -c "
import json, struct, sys
b = open('$li', 'rb').read(); h = json.loads(b[8:8 + struct.unpack('<Q', b[:8])[0]])
print(' '.join(sorted(n[:-len('.num_batches_tracked')] for n in h if n.endswith('.num_batches_tracked'))))")
    tracked=$(for n in $names; do echo "$n.num_batches_tracked"; done)
    st same $li lf/ckpt-$(pad 2).safetensors --except classifier. $tracked ||
        fail "lite0: features changed"
    st differ $li lf/ckpt-$(pad 2).safetensors classifier.weight classifier.bias || fail "lite0: classifier unchanged"
    [ -n "$names" ] || fail "lite0's checkpoint has no num_batches_tracked"
    first=${names%% *}
    echo "$first.num_batches_tracked after 2 frozen updates:" \
        "$(st get lf/ckpt-$(pad 2).safetensors $first.num_batches_tracked)"
    pass ;;
weighted_focal)
    compile_tiny tinyw --loss weighted
    compile_tiny tinyf --loss focal
    mklist 10 12 >list.txt
    ./tinyw train --data list.txt --out w1 --max-steps 4 --class-weights inverse --quiet 2>w1.err ||
        fail "weighted, inverse: $(cat w1.err)"
    finite_losses w1/metrics.jsonl || fail "weighted, inverse: $(cat w1/metrics.jsonl)"
    echo "1 2 0.5 1 1 1 3 1 1 0.25" >weights.txt
    ./tinyw train --data list.txt --out w2 --max-steps 4 --class-weights weights.txt --quiet 2>w2.err ||
        fail "weighted, file: $(cat w2.err)"
    finite_losses w2/metrics.jsonl || fail "weighted, file: $(cat w2/metrics.jsonl)"
    echo "1 2 3" >short.txt
    "$ef" 2 "short.txt: 3 weights for 10 classes" -- ./tinyw train --data list.txt --out w3 --class-weights short.txt ||
        fail "a short class-weight file"
    ./tinyf train --data list.txt --out f1 --max-steps 4 --quiet 2>f1.err || fail "focal: $(cat f1.err)"
    finite_losses f1/metrics.jsonl || fail "focal: $(cat f1/metrics.jsonl)"
    ./tinyf train --data list.txt --out f2 --max-steps 4 --opt adamw --label-smoothing 0.1 --quiet 2>f2.err ||
        fail "focal, adamw, smoothing: $(cat f2.err)"
    finite_losses f2/metrics.jsonl || fail "focal, adamw: $(cat f2/metrics.jsonl)"
    cmp -s w1/ckpt-$(pad 4).safetensors w2/ckpt-$(pad 4).safetensors && fail "the class weights change nothing"
    pass ;;
aug_mixup)
    # --aug and --mixup: the same seed gives the same bytes whatever the workers and prefetch depth; a
    # resumed run with both on equals an uninterrupted one; they do change the training.  8 images, batch 2.
    compile_lite lite
    mklist 5 8 >list.txt
    aug="rrc=0.3:1,hflip,rotate=10,jitter=0.4:0.4:0.4:0.1,erase=0.25:rand"
    common="--data list.txt --epochs 2 --seed 5 --lr 0.01 --clip-grad 1 --quiet --aug $aug"
    common="$common --mixup mixup=0.8,cutmix=1.0,switch_prob=0.5,mode=elem --label-smoothing 0.1"
    ./lite train $common --out w1 --max-steps 6 --workers 1 --prefetch 1 2>w1.err || fail "workers 1: $(cat w1.err)"
    ./lite train $common --out w3 --max-steps 6 --workers 3 --prefetch 4 2>w3.err || fail "workers 3: $(cat w3.err)"
    ck=ckpt-$(pad 6).safetensors
    cmp w1/$ck w3/$ck || fail "1 worker and 3 workers trained differently"
    cmp w1/state-$(pad 6).bin w3/state-$(pad 6).bin || fail "1 worker and 3 workers: the states differ"
    echo "1 worker, prefetch 1 = 3 workers, prefetch 4: equal checkpoints after 6 updates"
    ./lite train $common --out part --max-steps 3 --workers 2 2>p.err || fail "the first 3 updates: $(cat p.err)"
    ./lite train $common --resume part --out part --max-steps 6 --workers 2 2>r.err || fail "resume: $(cat r.err)"
    grep -q "resuming part at update 3 " r.err || fail "no resume at 3: $(cat r.err)"
    cmp w1/$ck part/$ck || fail "the resumed run with --aug and --mixup differs from the uninterrupted one"
    echo "resumed at 3 with --aug and --mixup: equal at 6"
    ./lite train --data list.txt --epochs 2 --seed 5 --lr 0.01 --clip-grad 1 --quiet --out plain --max-steps 6 \
        --label-smoothing 0.1 2>plain.err || fail "plain run: $(cat plain.err)"
    cmp -s plain/$ck w1/$ck && fail "--aug and --mixup changed nothing"
    ./lite train $common --out w4 --max-steps 6 --hflip 0.5 2>w4.err && fail "a repeated item (hflip) was accepted"
    grep -q "hflip given twice" w4.err || fail "repeated hflip: $(cat w4.err)"
    # timm's option names build the same specs
    ./lite train --data list.txt --epochs 2 --seed 5 --lr 0.01 --clip-grad 1 --quiet --out t1 --max-steps 2 \
        --aug rrc --scale 0.5 1 --hflip 0.5 --color-jitter 0.4 --reprob 0.25 --mixup 0.8 --cutmix 1.0 --smoothing 0.1 \
        2>t1.err ||
        fail "timm's names: $(cat t1.err)"
    ./lite train --data list.txt --epochs 2 --seed 5 --lr 0.01 --clip-grad 1 --quiet --out t2 --max-steps 2 \
        --aug rrc,scale=0.5:1,hflip=0.5,color_jitter=0.4,reprob=0.25 --mixup mixup=0.8,cutmix=1.0,smoothing=0.1 \
        2>t2.err ||
        fail "the spec: $(cat t2.err)"
    cmp t1/ckpt-$(pad 2).safetensors t2/ckpt-$(pad 2).safetensors || fail "timm's option names differ from the spec"
    "$python" - w1/metrics.jsonl <<'PY' || fail "metrics.jsonl lacks images_per_s / data_wait"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
steps = [l for l in lines if "loss" in l]
ok = steps and all(l["images_per_s"] > 0 and 0 <= l["data_wait"] <= 1 for l in steps)
ok = ok and any("epoch_end" in l and "data_wait" in l for l in lines)
print("data wait over the run: %.1f%%" % (100 * steps[-1]["data_wait"]))
sys.exit(0 if ok else 1)
PY
    pass ;;
bad_aug)
    # a bad --aug, --mixup or --sampler: exit 2 naming the problem, before anything is written
    compile_tiny tiny
    "$netc" compile "$tiny" --train --res 16 --batch 3 --init det -o tiny3 >/dev/null || fail "compiling batch 3"
    mklist 10 12 >list.txt
    bad() { # bad MESSAGE OPTIONS...
        local msg=$1
        shift
        "$ef" 2 "$msg" -- ./tiny train --data list.txt --out o "$@" || fail "accepted: $*"
        [ ! -e o ] || fail "$* wrote o/"
    }
    bad "'jitter=0.4:x'" --aug jitter=0.4:x
    bad "'blur=3': unknown item" --aug hflip,blur=3
    bad "'erase=1.5'" --aug erase=1.5
    bad "'hflip=2'" --hflip 2
    bad "crop" --aug resize=8,crop=32
    bad "--mixup" --mixup mixup=-1
    bad "--mixup 'prob=1.5': mixup: prob and switch_prob must be in \[0, 1\]" --mixup prob=1.5
    bad "unknown item" --mixup mixup=1,alpha=2
    bad "--sampler 'random'" --sampler random
    bad "--workers '0'" --workers 0
    bad "--scale takes two values" --scale 0.5
    "$ef" 2 "the batch must be even \(it is 3\)" -- ./tiny3 train --data list.txt --out o --mixup 1 ||
        fail "--mixup with an odd batch"
    [ ! -e o ] || fail "an odd batch wrote o/"
    pass ;;
long_metrics)
    # a metrics.jsonl past a text file's 64 MiB (300 000 update lines, as a long run writes) is still trimmed on
    # --resume and drawn, its updates thinned to a few thousand points with the spikes kept
    compile_tiny tiny
    mklist 10 4 >list.txt
    ./tiny train --data list.txt --out run --max-steps 1 --quiet 2>a.err || fail "one update: $(cat a.err)"
    "$python" - run/metrics.jsonl <<'PY' || fail "writing the long metrics failed"
import sys
with open(sys.argv[1], "a") as f:
    for i in range(300000):  # steps in [0, 1): all kept by a resume at update 1; one spike of loss 50
        loss = 50.0 if i == 123456 else 2.0 + (i % 97) / 97.0
        f.write('{"step": %.7f, "epoch": 0, "batch": 0, "loss": %g, "lr": 0.1, "grad_norm": 1.0, "images_per_s": 10, '
                '"data_wait": 0.01, "time_s": 1.0, "wait_s": 0.0, "skipped_images": 0, "pad": "%s"}\n'
                % (i / 300000.0, loss, "x" * 40))
PY
    [ "$(stat -c %s run/metrics.jsonl)" -gt $((64 << 20)) ] || fail "the metrics file is not over 64 MiB"
    ./tiny train --data list.txt --out run --resume run --max-steps 2 --quiet 2>b.err || fail "resume: $(cat b.err)"
    ! grep -q warning b.err || fail "the resumed run warned: $(cat b.err)"
    [ "$(grep -c '"loss"' run/metrics.jsonl)" -ge 300002 ] || fail "the resume lost metrics lines"
    "$python" - run/curves.svg <<'PY' || fail "the long run's curves are wrong"
import sys, xml.dom.minidom as dom
svg = dom.parse(sys.argv[1])
lines = svg.getElementsByTagName("polyline")
pts = [[tuple(map(float, p.split(","))) for p in l.getAttribute("points").split()] for l in lines]
# the per-update loss is the first polyline: thinned, and its highest point (the spike, smallest y) kept
assert 1000 < len(pts[0]) < 3000, len(pts[0])
top = min(y for _, y in pts[0])
assert top < min(y for _, y in pts[0][:50]) - 50, "no spike drawn"
print("per-update loss: %d points from 300 002 updates" % len(pts[0]))
PY
    pass ;;
pictures)
    # curves.svg (redrawn on --resume over the whole run), per_class.json and confusion.svg after a validation,
    # eval --confusion; each SVG well-formed XML with what it should show.
    compile_tiny tiny
    mklist 10 12 >list.txt
    ./tiny train --data list.txt --val list.txt --out run --epochs 3 --max-steps 12 --quiet 2>a.err ||
        fail "2 epochs: $(cat a.err)"
    ./tiny train --data list.txt --val list.txt --out run --epochs 3 --resume run --quiet 2>b.err ||
        fail "resumed to 3 epochs: $(cat b.err)"
    ./tiny eval --list list.txt --confusion eval.svg >eval.txt 2>/dev/null || fail "eval --confusion failed"
    # no update to draw (a resume at --max-steps, its metrics.jsonl gone): empty panels, at once
    ./tiny train --data list.txt --out z --max-steps 1 --quiet 2>/dev/null || fail "one update failed"
    rm z/metrics.jsonl
    timeout 60 ./tiny train --data list.txt --out z --resume z --max-steps 1 --quiet 2>z.err ||
        fail "a run with nothing to draw did not finish: $(cat z.err)"
    "$python" -c "import xml.dom.minidom as d, sys; d.parse(sys.argv[1])" z/curves.svg || fail "z/curves.svg is broken"
    "$python" - run eval.svg eval.txt <<'PY' || fail "the pictures are wrong"
import json, re, sys, xml.dom.minidom as dom
run, evsvg, evtxt = sys.argv[1:]
ok = True
def check(cond, what):
    global ok
    if not cond:
        print("FAIL:", what)
        ok = False
metrics = [json.loads(l) for l in open(run + "/metrics.jsonl")]
epochs = [m for m in metrics if "epoch_end" in m]
check(len(epochs) == 3, "3 epoch lines in metrics.jsonl")
curves = dom.parse(run + "/curves.svg")
texts = [t.firstChild.data for t in curves.getElementsByTagName("text") if t.firstChild]
check({"loss", "learning rate", "validation accuracy (%)"} <= set(texts), "the three panels: %s" % texts[:5])
lines = curves.getElementsByTagName("polyline")
npoints = [len(l.getAttribute("points").split()) for l in lines]
steps = [m for m in metrics if "loss" in m and "step" in m]
# per-update loss, epoch train loss, val loss, lr, top-1, top-5: the resumed picture covers all 3 epochs
check(npoints == [len(steps), 3, 3, len(steps), 3, 3], "points per series %s (updates %d)" % (npoints, len(steps)))
pc = json.load(open(run + "/per_class.json"))
check(sum(c["n"] for c in pc["per_class"]) == 12, "per_class.json counts 12 images")
check(abs(100 * pc["top1"] - epochs[-1]["val_top1"]) < 1e-3, "per_class top1 %g vs val_top1 %g"
      % (pc["top1"], epochs[-1]["val_top1"]))
conf = dom.parse(run + "/confusion.svg")
cells = [t for t in conf.getElementsByTagName("text") if t.getAttribute("text-anchor") == "middle"]
check(sum(int(t.firstChild.data) for t in cells) == 12, "the confusion cells sum to 12")
ev = dom.parse(evsvg)
cells = [t for t in ev.getElementsByTagName("text") if t.getAttribute("text-anchor") == "middle"]
check(sum(int(t.firstChild.data) for t in cells) == 12, "eval's confusion cells sum to 12")
top1 = float(re.search(r"top-1 ([0-9.]+)%", open(evtxt).read()).group(1))
# the diagonal (blue cells: rgb(g,g,255)) holds eval's top-1 hits
diag = 0
for t in cells:
    x, y = float(t.getAttribute("x")), float(t.getAttribute("y"))
    for r in ev.getElementsByTagName("rect"):
        m = re.match(r"rgb\((\d+),(\d+),(\d+)\)", r.getAttribute("fill"))
        if not m:
            continue
        rx, ry, w = (float(r.getAttribute(k) or 0) for k in ("x", "y", "width"))
        if m and rx < x < rx + w and ry < y < ry + w and m.group(3) == "255" and m.group(1) == m.group(2):
            diag += int(t.firstChild.data)
check(abs(100 * diag / 12 - top1) < 0.01, "the diagonal holds %d images, eval's top-1 is %g%%" % (diag, top1))
print("curves: %s points; per-class top-1 %.4f; eval top-1 %.2f%%" % (npoints, pc["top1"], top1))
sys.exit(0 if ok else 1)
PY
    pass ;;
confusion_many)
    # eval --confusion over 300 classes draws the 50 most often confused (the seed's 5000 would be cells of a
    # sixth of a pixel): every class that an error touches (12 images: at most 24) is among them, in order
    "$netc" compile "$tiny" --init det --res 16 --set classes=300 -o t300 >/dev/null || fail "compiling tiny failed"
    i=0
    for f in "$img"/*.jpg "$img"/*.png "$img"/*.jpg "$img"/*.png; do
        [ $i -lt 12 ] && echo "$f $(((i * 23 + 7) % 300))"
        i=$((i + 1))
    done >list.txt
    ./t300 eval --list list.txt --confusion c.svg --json >eval.json 2>/dev/null || fail "eval --confusion failed"
    ./t300 classify --list list.txt --top 1 --json >pred.jsonl 2>/dev/null || fail "classify failed"
    "$python" - c.svg list.txt pred.jsonl <<'PY' || fail "the 300-class confusion picture is wrong"
import json, sys, xml.dom.minidom as dom
svg, lst, pred = sys.argv[1:]
d = dom.parse(svg)
texts = d.getElementsByTagName("text")
note = " ".join(t.firstChild.data for t in texts if t.firstChild)
assert "the 50 of 300 classes most often confused" in note, note[:300]
rows = [int(t.firstChild.data) for t in texts if t.getAttribute("text-anchor") == "end"]
assert len(rows) == 50 and rows == sorted(rows), rows
truth = [int(l.split()[1]) for l in open(lst)]
got = [json.loads(l)["top"][0]["class"] for l in open(pred)]
touched = {c for t, g in zip(truth, got) if t != g for c in (t, g)}
assert touched and touched <= set(rows), (sorted(touched), rows)
errors = sum(t != g for t, g in zip(truth, got))
print("%d classes touched by %d errors, all among the 50 drawn" % (len(touched), errors))
PY
    pass ;;
pseudo_fixres)
    # classify --pseudo-labels: the images whose top probability passes --min-prob, labelled with classify's
    # top class, in train --data's format; FixRes: a checkpoint trained at 16x16 initialises the same model
    # compiled at 24x24 (the frozen features stay exactly the checkpoint's: --init loaded them).
    compile_tiny tiny
    "$netc" compile "$tiny" --train --res 24 --batch 2 --init det --freeze-features -o tiny24 >/dev/null ||
        fail "compiling tiny at 24"
    ls "$img"/*.jpg "$img"/*.png >files.txt
    ./tiny classify --list files.txt --top 1 --json >all.jsonl 2>/dev/null || fail "classify --json failed"
    ./tiny classify --list files.txt --top 1 --pseudo-labels pl.txt --min-prob 0.13 >/dev/null 2>pl.err ||
        fail "classify --pseudo-labels failed: $(cat pl.err)"
    grep -q "images at top probability >= 0.13 written to pl.txt" pl.err || fail "no summary: $(cat pl.err)"
    "$python" - all.jsonl pl.txt 0.13 <<'PY' || fail "pl.txt is not classify's confident answers"
import json, os, sys
answers = [json.loads(l) for l in open(sys.argv[1])]
want = [(os.path.abspath(a["file"]), a["top"][0]["class"]) for a in answers
        if a["ok"] and a["top"][0]["score"] >= float(sys.argv[3])]
got = [(l.rsplit(" ", 1)[0], int(l.rsplit(" ", 1)[1])) for l in open(sys.argv[2]).read().splitlines()]
print("%d of %d images kept" % (len(got), len(answers)))
sys.exit(0 if got == want and 0 < len(got) < len(answers) else 1)
PY
    (mkdir -p elsewhere && cd elsewhere && ../tiny train --data ../pl.txt --out ../p --max-steps 2 --quiet \
        2>../p.err) || fail "train --data on the pseudo-labels (from another folder): $(cat p.err)"
    "$ef" 2 "--min-prob '1.5'" -- ./tiny classify --list files.txt --pseudo-labels x.txt --min-prob 1.5 ||
        fail "--min-prob 1.5 accepted"
    [ ! -e x.txt ] || fail "a refused --min-prob wrote x.txt"
    # FixRes
    ./tiny train --data pl.txt --out r16 --max-steps 3 --quiet 2>r16.err || fail "at 16: $(cat r16.err)"
    ck=r16/ckpt-$(pad 3).safetensors
    ./tiny24 train --data pl.txt --out r24 --max-steps 2 --init $ck --quiet 2>r24.err || fail "at 24: $(cat r24.err)"
    st same $ck r24/ckpt-$(pad 2).safetensors --except fc. bn.num_batches_tracked ||
        fail "the 24x24 run did not start from the 16x16 checkpoint"
    st differ $ck r24/ckpt-$(pad 2).safetensors fc.weight || fail "the 24x24 run trained nothing"
    pass ;;
*) fail "unknown case $case" ;;
esac
