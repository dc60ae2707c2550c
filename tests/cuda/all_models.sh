#!/usr/bin/env bash
# all_models.sh NETC [RES] [BATCH] — every model of models/ through tests/cuda/check_program.sh (compiled
# --target cuda --emulate, PTX through ptxas, the emulated forward against `netc run`); not run by ctest
# (minutes of CPU): ctest runs one model per family.  Prints one line per model and the count.
set -u
netc=$1 res=${2:-64} batch=${3:-1}
root=$(cd "$(dirname "$0")/../.." && pwd)
pass=0 n=0
for m in "$root"/models/*.nn; do
  n=$((n + 1))
  out=$(bash "$root/tests/cuda/check_program.sh" "$netc" "$m" "$res" "$batch" 2>&1)
  if echo "$out" | grep -q "^1 passed"; then
    pass=$((pass + 1))
    echo "$(basename "$m" .nn): $(echo "$out" | grep -E 'relative' | tail -1)"
  else
    echo "$(basename "$m" .nn): FAILED: $(echo "$out" | tail -3 | tr '\n' ' ')"
  fi
done
echo "$pass of $n models match the interpreter through the emulator"
[ "$pass" = "$n" ]
