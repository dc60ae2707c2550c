#!/usr/bin/env bash
# omp_wait.sh — what OpenMP's wait policy costs a compiled program, idle and loaded: the
# Fashion-MNIST training step (models/fmnist_resnet.nn, 28x28, batch 128, `bench --train`) and
# resnet50's inference latency (224x224, batch 1, `bench`), 2 threads, under each policy in
# POLICIES, in interleaved rounds (the order rotates every round), each with BUSY extra busy-loop
# processes beside it (the loaded condition this script makes itself; "0" is whatever else runs).
# Prints one line per run and then the medians over the rounds, with the load average.
#   bench/omp_wait.sh OUT_DIR
# WRAP (none): a command the runs and the busy loops start under alike, e.g. "nice -n -15", or
# "chrt -f 10" (real-time: on a machine other jobs load, the runs then see it about idle — they hold
# both cores while they last, so keep such rounds short; busy loops under it would never yield).
# Environment: NETC (build/netc), ROUNDS (5), BUSY ("0 2"), THREADS (2), TRAIN_ITERS (10),
# INFER_ITERS (10), POLICIES ("passive active spin300000 default"): passive / active set
# OMP_WAIT_POLICY; spinN sets GOMP_SPINCOUNT=N (300000 is libgomp's default); default sets
# nothing (the program's own policy, runtime/program/omp_wait.c).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: bench/omp_wait.sh OUT_DIR}
NETC=${NETC:-build/netc} ROUNDS=${ROUNDS:-5} BUSY=${BUSY:-0 2} THREADS=${THREADS:-2}
TRAIN_ITERS=${TRAIN_ITERS:-10} INFER_ITERS=${INFER_ITERS:-10}
POLICIES=${POLICIES:-passive active spin300000 default}
read -r -a wrap <<<"${WRAP:-}"
mkdir -p "$OUT"
[ -x "$OUT/fmnist-train" ] ||
    "$NETC" compile models/fmnist_resnet.nn --train --init det --res 28 --batch 128 -o "$OUT/fmnist-train" >/dev/null
[ -x "$OUT/resnet50" ] ||
    "$NETC" compile models/resnet50.nn --init det --res 224 --batch 1 -o "$OUT/resnet50" >/dev/null

busy_pids=()
stop_busy() {
    for p in "${busy_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    busy_pids=()
}
trap stop_busy EXIT
policy_env() {
    case $1 in
        passive | active) echo "OMP_WAIT_POLICY=$1" ;;
        spin*) echo "GOMP_SPINCOUNT=${1#spin}" ;;
        default) echo "NC_UNUSED=1" ;;
        *) echo "omp_wait: unknown policy $1" >&2; exit 2 ;;
    esac
}
median_ms() { sed -n 's/.*median \([0-9.]*\) ms.*/\1/p' | head -1; }

read -r -a pols <<<"$POLICIES"
log="$OUT/runs.tsv"
echo -e "busy\tround\tpolicy\tworkload\tms\tload1" >"$log"
for busy in $BUSY; do
    stop_busy
    for _ in $(seq 1 "$busy"); do
        "${wrap[@]}" bash -c 'while :; do :; done' &
        busy_pids+=($!)
    done
    for r in $(seq 1 "$ROUNDS"); do
        n=${#pols[@]}
        for k in $(seq 0 $((n - 1))); do
            pol=${pols[$(((k + r) % n))]}
            ev=$(policy_env "$pol")
            t=$("${wrap[@]}" env "$ev" "$OUT/fmnist-train" bench --train --iters "$TRAIN_ITERS" --warmup 2 \
                --threads "$THREADS" | median_ms)
            i=$("${wrap[@]}" env "$ev" "$OUT/resnet50" bench --iters "$INFER_ITERS" --warmup 2 --threads "$THREADS" |
                median_ms)
            l=$(cut -d' ' -f1 /proc/loadavg)
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$busy" "$r" "$pol" fmnist_step "$t" "$l" "$busy" "$r" "$pol" \
                resnet50_b1 "$i" "$l" | tee -a "$log"
        done
    done
done
stop_busy
python3 - "$log" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
keys = sorted({(r["busy"], r["workload"]) for r in rows})
for busy, wl in keys:
    sel = [r for r in rows if r["busy"] == busy and r["workload"] == wl]
    loads = [float(r["load1"]) for r in sel]
    print(f"{wl}, {busy} busy loops beside (load {min(loads):.1f}-{max(loads):.1f}): median ms over rounds")
    for pol in dict.fromkeys(r["policy"] for r in sel):
        ms = [float(r["ms"]) for r in sel if r["policy"] == pol]
        print(f"  {pol:12s} {statistics.median(ms):9.2f}   rounds: {' '.join(f'{m:.1f}' for m in ms)}")
PY
