#!/usr/bin/env bash
# fmnist_run.sh — the Fashion-MNIST convergence run: netc trains models/fmnist_resnet.nn from
# scratch, tools/train_twin.py trains the same network from the same weights with the same recipe
# in PyTorch, and tools/fmnist_report.py writes the table and the curves.
#
#   tools/fmnist_run.sh [RUN_DIR]          (default runs/fmnist)
#
# Environment: NETC (default build/netc), EPOCHS (6), BATCH (128), THREADS (2), SEED (0),
# LR (0.1), AUG (hflip), ONLY (netc, torch, speed or report: that phase alone; the report needs
# the other three's folders), SVG (also copy the curves there, e.g. bench/fmnist_curves.svg),
# ROUNDS (3): after both runs,
# ROUNDS alternating speed rounds of 60 updates each (netc, then PyTorch, no validation) whose
# median images/s the report gives beside the runs' own (on a shared machine the two long runs
# see different loads; the alternating rounds see nearly the same).
# Needs Debian's dataset-fashion-mnist, the project's .venv (numpy) and a python3 on PATH with
# torch and timm (the twin). Not a test: on 2 idle cores each run takes several minutes (6 epochs
# at the step's images/s), on a loaded machine much longer.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RUN=${1:-runs/fmnist}
NETC=${NETC:-build/netc}
EPOCHS=${EPOCHS:-6} BATCH=${BATCH:-128} THREADS=${THREADS:-2} SEED=${SEED:-0} LR=${LR:-0.1}
AUG=${AUG:-hflip}
VPY=.venv/bin/python3
[ -x "$VPY" ] || VPY=python3
DATA=data/fashion-mnist
# the recipe both sides run: SGD with Nesterov momentum 0.9, weight decay 5e-4 (not on biases and
# norm parameters), timm's cosine per update after half an epoch of linear warm-up, label
# smoothing 0.1, RandomHorizontalFlip; the last partial batch of an epoch dropped
RECIPE=(--epochs "$EPOCHS" --lr "$LR" --nesterov --wd 5e-4 --warmup-epochs 0.5 --label-smoothing 0.1 --seed "$SEED")

mkdir -p "$RUN"
[ -s $DATA/train.txt ] && [ -s $DATA/test.txt ] || "$VPY" tools/fashion_mnist.py --out $DATA

now() { date +%s.%N; }
want() { [ -z "${ONLY:-}" ] || [ "$ONLY" = "$1" ]; }
if want netc; then
    "$NETC" compile models/fmnist_resnet.nn --train --init det --res 28 --batch "$BATCH" -o "$RUN/fmnist-train"
    "$NETC" compile models/fmnist_resnet.nn --init det --res 28 --batch 4 -o "$RUN/fmnist-init"
    python3 tools/train_twin.py --out "$RUN/torch" --check "$RUN/fmnist-init"   # same network, same weights
    rm -rf "$RUN/netc"
    t0=$(now)
    "$RUN/fmnist-train" train --data $DATA/train.txt --val $DATA/test.txt --out "$RUN/netc" "${RECIPE[@]}" \
        --aug "$AUG" --threads "$THREADS" --workers 2 --quiet
    t1=$(now)
    echo "$t1 - $t0" | bc > "$RUN/netc/wall_s"
    echo "netc: $(cat "$RUN/netc/wall_s") s"
fi
if want torch; then
    # --aug hflip is RandomHorizontalFlip(0.5); the twin has no other augmentation
    [ "$AUG" = hflip ] || { echo "fmnist_run: the twin does only AUG=hflip" >&2; exit 2; }
    python3 tools/train_twin.py --out "$RUN/torch" "${RECIPE[@]}" --batch "$BATCH" --hflip 0.5 \
        --threads "$THREADS"
fi
if want speed; then
    rm -rf "$RUN/speed"
    for r in $(seq 1 "${ROUNDS:-3}"); do
        "$RUN/fmnist-train" train --data $DATA/train.txt --out "$RUN/speed/netc-$r" --epochs 1 --max-steps 60 \
            --lr "$LR" --nesterov --wd 5e-4 --label-smoothing 0.1 --aug "$AUG" --threads "$THREADS" --workers 2 \
            --quiet 2>/dev/null
        python3 tools/train_twin.py --out "$RUN/speed/torch-$r" --epochs 1 --max-steps 60 --limit $((60 * BATCH)) \
            --no-val --lr "$LR" --nesterov --wd 5e-4 --label-smoothing 0.1 --batch "$BATCH" --hflip 0.5 \
            --threads "$THREADS" >/dev/null
    done
fi
if want report; then
    cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
    note="$cpu, $THREADS threads, batch $BATCH, seed $SEED"
    "$VPY" tools/fmnist_report.py "$RUN" --note "$note" ${SVG:+--svg "$SVG"}
fi
