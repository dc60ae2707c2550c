#!/usr/bin/env bash
# elaborate.sh [NETC] — frontend speed: parse + elaborate + verify each model
# at 448, 11 runs each, median wall time of that phase (netc info reports it).
set -euo pipefail
netc=${1:-build/netc}
cd "$(dirname "$0")/.."
printf "%-20s %10s %8s\n" model "median s" nodes
for m in resnet50 resnest50d resnest269e regnety_320 efficientnet_b5 tf_efficientnet_b4; do
    for i in $(seq 11); do "$netc" info "models/$m.nn" --res 448 --json; done |
        python3 -c "
import json, sys, statistics
runs = [json.loads(l) for l in sys.stdin]
print('%-20s %10.4f %8d' % ('$m', statistics.median(r['elaborate_seconds'] for r in runs), runs[0]['nodes']))"
done
