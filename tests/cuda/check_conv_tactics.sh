#!/usr/bin/env bash
# check_conv_tactics.sh NETC MODEL.nn RES BATCH FAKE_DIR — the choice of each conv's form and its cache file
# (runtime/device/dev_conv_tactic.h) in a `--target cuda --emulate` program: NETC_CONV_TACTIC=auto times both
# forms and writes PROG.tactics; a second run reads it (no timing, the same logits) and follows it (a file
# saying cudnn everywhere runs every conv as cuDNN's form); a file of another version or device is ignored
# with a notice and rewritten; a corrupt, truncated or malformed one is an error naming it (exit 1, no crash);
# a bad NETC_CONV_TACTIC is an error; NETC_CONV_TACTIC_CACHE moves the file, and one that cannot be written is a
# notice; and on the stand-in driver without a cuDNN (NETC_CUDNN_LIB names none)
# the program falls back to im2col + GEMM with a one-line notice and the same answers.
set -u
netc=$1 model=$2 res=$3 batch=$4 fake=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "$*"; echo "0 passed, 1 failed"; exit 1; }
"$netc" compile "$model" --init det --res "$res" --batch "$batch" --target cuda --emulate -o "$tmp/prog" ||
  fail "compile failed"
"$netc" run "$model" --init det --res "$res" --batch "$batch" --save-input "$tmp/x.npy" --output "$tmp/ref.npy" \
  --top 0 >/dev/null || fail "netc run failed"
cache=$tmp/prog.tactics
run() { # run NAME [ENV...]: the program's run, stderr kept in $tmp/NAME.err
  local name=$1
  shift
  env NETC_CONV_TACTIC_VERBOSE=1 "$@" "$tmp/prog" run --input "$tmp/x.npy" --output "$tmp/$name.npy" --top 0 \
    >/dev/null 2>"$tmp/$name.err"
}
# auto: timed, cached
run auto NETC_CONV_TACTIC=auto || fail "auto failed: $(cat "$tmp/auto.err")"
n=$(grep -c ": conv [0-9]* of program 0: gemm .* ms, cudnn .* ms" "$tmp/auto.err")
[ "$n" -gt 0 ] || fail "auto timed no conv: $(cat "$tmp/auto.err")"
"$netc" compare "$tmp/ref.npy" "$tmp/auto.npy" --rtol 1e-4 || fail "auto differs from the interpreter"
[ -f "$cache" ] || fail "auto wrote no cache"
head -1 "$cache" | grep -qx "netc-conv-tactics 1" || fail "the cache's first line: $(head -1 "$cache")"
sed -n 2p "$cache" | grep -qx "device CPU emulator" || fail "the cache's device line: $(sed -n 2p "$cache")"
grep -Eq "^program 0 [0-9a-f]{16} $n [gc]{$n}$" "$cache" || fail "the cache's program line: $(cat "$cache")"
tail -1 "$cache" | grep -qx end || fail "the cache does not end with 'end'"
# a second run reads it: no timing, the same logits
run second NETC_CONV_TACTIC=auto || fail "the second run failed: $(cat "$tmp/second.err")"
! grep -q ": conv [0-9]* of program" "$tmp/second.err" || fail "the second run timed again despite the cache"
cmp -s "$tmp/auto.npy" "$tmp/second.npy" || fail "the second run's logits differ from the first's"
# the cache is followed: every conv cuDNN's form by the file's say-so
sed -i -E "s/^(program 0 [0-9a-f]+ [0-9]+ ).*/\1$(printf 'c%.0s' $(seq "$n"))/" "$cache"
NETC_CONV_TACTIC=auto "$tmp/prog" bench --per-kernel --iters 1 --warmup 0 >"$tmp/bench.txt" 2>&1 ||
  fail "bench failed: $(tail -3 "$tmp/bench.txt")"
[ "$(grep -c "cuda cudnn" "$tmp/bench.txt")" -eq "$n" ] || fail "the cache's choices were not followed"
run all_c NETC_CONV_TACTIC=auto || fail "the run from the cache failed"
"$netc" compare "$tmp/ref.npy" "$tmp/all_c.npy" --rtol 1e-4 || fail "the cuDNN forms differ from the interpreter"
good=$(cat "$cache")
# another version, another device: a notice, timed again, the file rewritten
printf '%s\n' "$good" | sed 1s/1/7/ >"$cache"
run version NETC_CONV_TACTIC=auto || fail "a cache of another version failed the run: $(cat "$tmp/version.err")"
grep -q "conv tactic cache $cache is version 7, not 1: ignored" "$tmp/version.err" ||
  fail "no notice: $(cat "$tmp/version.err")"
grep -q ": conv 0 of program 0: gemm" "$tmp/version.err" || fail "not timed again after another version's cache"
head -1 "$cache" | grep -qx "netc-conv-tactics 1" || fail "the cache was not rewritten"
printf '%s\n' "$good" | sed '2s/.*/device NVIDIA H200/' >"$cache"
run device NETC_CONV_TACTIC=auto || fail "another device's cache failed the run"
grep -q "is for NVIDIA H200, not CPU emulator: ignored" "$tmp/device.err" || fail "no notice: $(cat "$tmp/device.err")"
sed -n 2p "$cache" | grep -qx "device CPU emulator" || fail "the cache was not rewritten for this device"
printf '%s\n' "$good" | sed -E 's/^(program 0 )[0-9a-f]+/\10123456789abcdef/' >"$cache"
run stale NETC_CONV_TACTIC=auto || fail "a stale cache failed the run"
grep -q "is for another build of program 0" "$tmp/stale.err" ||
  fail "no notice of a stale entry: $(cat "$tmp/stale.err")"
# corrupt, truncated, malformed: an error naming the file, exit 1 (not a crash)
bad() { # bad NAME WHAT: the run must fail with an error naming the cache and saying WHAT
  run "$1" NETC_CONV_TACTIC=auto
  local rc=$?
  [ "$rc" -eq 1 ] || fail "$1: exit $rc, expected 1: $(cat "$tmp/$1.err")"
  grep -q "conv tactic cache $cache: line [0-9]*: $2" "$tmp/$1.err" || fail "$1: $(cat "$tmp/$1.err")"
}
printf 'hello\n' >"$cache" && bad magic "not a netc conv tactic cache"
printf '%s\n' "$good" | head -3 >"$cache" && bad truncated "truncated (no 'end' line)"
printf '%s' "$good" | head -c 40 >"$cache" && bad cut "truncated"
printf '%s\n' "$good" | sed -E 's/ [gc]+$/ gx/' >"$cache" && bad forms "expected 'program P FINGERPRINT N FORMS'"
printf 'netc-conv-tactics 1\nend\n' >"$cache" && bad nodevice "expected 'device NAME'"
head -c 64 /dev/urandom >"$cache" 2>/dev/null && run random NETC_CONV_TACTIC=auto
[ $? -eq 1 ] && grep -q "conv tactic cache $cache" "$tmp/random.err" || fail "random bytes: $(cat "$tmp/random.err")"
printf '%s\n' "$good" >"$cache"
run badmode NETC_CONV_TACTIC=fast && fail "NETC_CONV_TACTIC=fast was accepted"
grep -q "NETC_CONV_TACTIC=fast: expected gemm, cudnn or auto" "$tmp/badmode.err" || fail "$(cat "$tmp/badmode.err")"
# gemm ignores the cache (even a corrupt one)
printf 'hello\n' >"$cache"
run gemm NETC_CONV_TACTIC=gemm || fail "gemm read the cache: $(cat "$tmp/gemm.err")"
"$netc" compare "$tmp/ref.npy" "$tmp/gemm.npy" --rtol 1e-4 || fail "gemm differs from the interpreter"
rm -f "$cache"
# NETC_CONV_TACTIC_CACHE names another file; one that cannot be written: a notice, the run goes on
run other NETC_CONV_TACTIC=auto NETC_CONV_TACTIC_CACHE="$tmp/other.tactics" || fail "NETC_CONV_TACTIC_CACHE failed"
[ -f "$tmp/other.tactics" ] && [ ! -f "$cache" ] || fail "NETC_CONV_TACTIC_CACHE did not move the cache"
run ro NETC_CONV_TACTIC=auto NETC_CONV_TACTIC_CACHE="$tmp/no/such/dir.tactics" ||
  fail "an unwritable cache failed the run: $(cat "$tmp/ro.err")"
grep -q "conv tactic cache $tmp/no/such/dir.tactics not written (the choices hold for this run only)" "$tmp/ro.err" ||
  fail "no notice of an unwritable cache: $(cat "$tmp/ro.err")"
cmp -s "$tmp/ro.npy" "$tmp/auto.npy" || "$netc" compare "$tmp/ref.npy" "$tmp/ro.npy" --rtol 1e-4 ||
  fail "the run without a cache differs"
# the stand-in driver without a cuDNN: a notice, im2col + GEMM, the interpreter's answers
if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
  for mode in cudnn auto; do
    LD_LIBRARY_PATH=$fake NETC_CONV_TACTIC=$mode NETC_CUDNN_LIB=libcudnn-absent.so.9 "$tmp/prog" --device cuda run \
      --input "$tmp/x.npy" --output "$tmp/nodnn_$mode.npy" --top 0 >/dev/null 2>"$tmp/nodnn_$mode.err" ||
      fail "no cuDNN ($mode): the run failed: $(cat "$tmp/nodnn_$mode.err")"
    [ "$(grep -c "cuDNN (libcudnn-absent.so.9) cannot be loaded .*: every conv runs on netc's kernels" \
      "$tmp/nodnn_$mode.err")" -eq 1 ] || fail "no cuDNN ($mode): not one notice: $(cat "$tmp/nodnn_$mode.err")"
    "$netc" compare "$tmp/ref.npy" "$tmp/nodnn_$mode.npy" --rtol 1e-4 || fail "no cuDNN ($mode): differs"
  done
  [ ! -f "$cache" ] || fail "a cache was written though cuDNN was absent"
  echo "without cuDNN on the stand-in driver: one notice, im2col + GEMM"
  # auto on the stand-in driver and cuDNN: the first run searches every conv's algorithm (and times both forms);
  # a run from the cache searches only those of the convs it says cuDNN for
  for k in 1 2; do
    LD_LIBRARY_PATH=$fake FAKE_CUDNN_VERBOSE=1 NETC_CONV_TACTIC=auto "$tmp/prog" --device cuda run \
      --input "$tmp/x.npy" --output "$tmp/fake$k.npy" --top 0 >/dev/null 2>"$tmp/fake$k.err" ||
      fail "auto on the stand-in driver failed: $(cat "$tmp/fake$k.err")"
    "$netc" compare "$tmp/ref.npy" "$tmp/fake$k.npy" --rtol 1e-4 >/dev/null || fail "auto on the stand-in: differs"
  done
  [ "$(grep -c "algorithm search" "$tmp/fake1.err")" -eq "$n" ] || fail "the first run did not search all $n convs"
  c=$(sed -n 3p "$cache" | awk '{print $5}' | tr -cd c | wc -c)
  [ "$(grep -c "algorithm search" "$tmp/fake2.err")" -eq "$c" ] ||
    fail "the run from the cache searched $(grep -c "algorithm search" "$tmp/fake2.err") convs, not the $c it chose"
  echo "auto on the stand-in driver: $n convs searched and timed, then from the cache only the $c chosen as cuDNN's"
  rm -f "$cache"
  # a cuDNN that fails its forward calls: auto keeps every conv's GEMM form, with a notice each, and caches that
  LD_LIBRARY_PATH=$fake FAKE_CUDNN_FAIL=1 NETC_CONV_TACTIC=auto "$tmp/prog" --device cuda run --input "$tmp/x.npy" \
    --output "$tmp/dnnfail.npy" --top 0 >/dev/null 2>"$tmp/dnnfail.err" || fail "a failing cuDNN failed the run"
  [ "$(grep -c "keeps netc's kernels: cuDNN: cudnnConvolutionForward.* failed" "$tmp/dnnfail.err")" -eq "$n" ] ||
    fail "a failing cuDNN: not a notice per conv: $(cat "$tmp/dnnfail.err")"
  "$netc" compare "$tmp/ref.npy" "$tmp/dnnfail.npy" --rtol 1e-4 >/dev/null || fail "a failing cuDNN: differs"
  grep -Eq "^program 0 [0-9a-f]{16} $n g{$n}$" "$cache" || fail "a failing cuDNN: cached $(sed -n 3p "$cache")"
  rm -f "$cache"
  # NVIDIA's own libcudnn.so.9 where the toolkit has it: every entry point device_cudnn.c asks for resolves (its
  # cudnnCreate then fails on the stand-in driver: a notice, im2col + GEMM, the interpreter's answers)
  real=${CUDNN_LIB:-/usr/local/cuda/lib64/libcudnn.so.9}
  if [ -f "$real" ]; then
    LD_LIBRARY_PATH=$fake NETC_CONV_TACTIC=cudnn NETC_CUDNN_LIB=$real "$tmp/prog" --device cuda run \
      --input "$tmp/x.npy" --output "$tmp/real.npy" --top 0 >/dev/null 2>"$tmp/real.err" ||
      fail "NVIDIA's cuDNN on the stand-in driver: the run failed: $(cat "$tmp/real.err")"
    ! grep -q "has no cudnn" "$tmp/real.err" || fail "an entry point is missing: $(cat "$tmp/real.err")"
    "$netc" compare "$tmp/ref.npy" "$tmp/real.npy" --rtol 1e-4 || fail "NVIDIA's cuDNN on the stand-in: differs"
    echo "$real: every entry point found ($(head -1 "$tmp/real.err"))"
  fi
fi
echo "$n convs with two forms; 1 passed, 0 failed"
