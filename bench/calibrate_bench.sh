#!/usr/bin/env bash
# calibrate_bench.sh NETC [ROUNDS [MODELS [RES]]] — int8 calibration's speed: `netc compile --precision int8
# --calibrate` by the generated kernels (the default) against the reference interpreter
# (NETC_CALIBRATE=reference), on tests/photos (5 images) and on a folder of 50 (ten copies of each), 1 and 2
# threads, in interleaved rounds; prints the medians of the seconds an image (decode + transform + run;
# `--verbose`'s "calibrate: M: N images in ...") and of the seconds generating the kernels.  The reference
# runs on the 5 photographs only (its seconds an image do not depend on how many; 50 of resnet50's take
# minutes).  Weights: --init det (the ranges' values do not change the time).
#   MODELS default resnet50,efficientnet_b0; RES default 224; ROUNDS default 3.
set -eu
netc=$(realpath "$1") rounds=${2:-3} models=${3:-resnet50,efficientnet_b0} res=${4:-224}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/p50"
for i in $(seq 10); do for f in "$root"/tests/photos/*.jpg "$root"/tests/photos/*.png; do
    cp "$f" "$tmp/p50/${i}_$(basename "$f")"
done; done
declare -A per gen
for r in $(seq "$rounds"); do
    for m in ${models//,/ }; do
        for t in 1 2; do
            for cfg in "reference photos" "fast photos" "fast p50"; do
                set -- $cfg
                dir=$root/tests/photos
                [ "$2" = p50 ] && dir=$tmp/p50
                log=$(NETC_CALIBRATE=$1 OMP_NUM_THREADS=$t "$netc" compile "$root/models/$m.nn" --init det \
                    --res "$res" --precision int8 --calibrate "$dir" --verbose -o "$tmp/x" 2>&1 >/dev/null)
                key="$m $t $1 $2"
                per[$key]+=" $(sed -n "s/^calibrate: $m: .* images in .* s (\([0-9.]*\) s an image.*/\1/p" <<<"$log")"
                gen[$key]+=" $(sed -n "s/^calibrate: $m: kernels generated in \([0-9.]*\) s$/\1/p" <<<"$log")"
                echo "round $r: $key: ${per[$key]##* } s an image" >&2
            done
        done
    done
done
median() {
    tr ' ' '\n' | grep . | sort -g |
        awk '{a[NR]=$1} END {if (NR) print (NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else print "-"}'
}
echo "| model | threads | calibration | images | s an image (median of $rounds) | kernels generated (s) |"
echo "|---|---|---|---|---|---|"
for m in ${models//,/ }; do for t in 1 2; do for cfg in "reference photos" "fast photos" "fast p50"; do
    set -- $cfg
    key="$m $t $1 $2"
    n=5
    [ "$2" = p50 ] && n=50
    echo "| $m | $t | $1 | $n | $(median <<<"${per[$key]}") | $(median <<<"${gen[$key]}") |"
done; done; done
