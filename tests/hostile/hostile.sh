#!/usr/bin/env bash
# hostile.sh NETC CASE — netc and a compiled program against the names a hostile
# user gives them (issue #14): devices, links, FIFOs, planted temporaries, huge
# sparse files, a recompile that fails, a compile stopped by SIGTERM.
#
# Each case runs in a fresh folder: outputs go to work/, the files links point
# at live in victim/.  Every command runs under `timeout 10` (a hang is exit
# 124); after the case victim/ must be byte for byte what it was, /dev/null and
# /dev/full still character devices, and work/ free of temporaries (names
# starting with '.').
set -u
netc=$1 case=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
work=$tmp/work victim=$tmp/victim
mkdir "$work" "$victim"
cd "$work"
tiny="$root/tests/errors/tiny.nn"
img="$root/tests/photos"
printf 'keep me\n' > "$victim/file"
printf 'keep me too\n' > "$victim/other.npy"
before=$(cd "$victim" && md5sum * | sort)

failed=0
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }

# expect CODE REGEX -- COMMAND...: exit status, a message on stderr, no sanitizer report, no hang.
expect() {
    local code=$1 regex=$2
    shift 3
    timeout 10 "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [ "$rc" = "$code" ] || fail "exit $rc, expected $code: $*: $(head -c 600 "$tmp/err")"
    [ -z "$regex" ] || grep -qE -- "$regex" "$tmp/err" ||
        fail "stderr does not match '$regex': $*: $(head -c 600 "$tmp/err")"
    ! grep -qE "Sanitizer|runtime error|internal error" "$tmp/err" || fail "sanitizer report: $*: $(cat "$tmp/err")"
}

# wait_for FILE TENTHS: until FILE exists and is not empty, or TENTHS tenths of a second
wait_for() {
    local i=0
    while [ $i -lt "$2" ] && [ ! -s "$1" ]; do sleep 0.1; i=$((i + 1)); done
}

still_device() { for d in /dev/null /dev/full; do [ -c $d ] || fail "$d is no longer a character device"; done; }

finish() {
    still_device
    [ "$(cd "$victim" && md5sum * | sort)" = "$before" ] || fail "a file outside work/ changed"
    local left
    left=$(ls -A "$work" | grep '^\.' || true)
    [ -z "$left" ] || fail "temporaries left in work/: $left"
    if [ $failed = 0 ]; then echo "1 passed, 0 failed"; exit 0; fi
    echo "0 passed, 1 failed"; exit 1
}

compile_tiny() { "$netc" compile "$tiny" --init det --res 32 "$@" >/dev/null 2>&1 || fail "compile $* failed"; }
input() { "$netc" run "$tiny" --init det --res 32 --save-input x.npy --top 0 >/dev/null || fail "no input"; }

case $case in
output_devnull)
    # written in place: /dev/null stays the device it is
    compile_tiny -o tiny && input
    expect 0 "" -- "$netc" run "$tiny" --init det --res 32 --output /dev/null
    expect 0 "" -- "$netc" weights "$tiny" --init det -o /dev/null
    expect 0 "images at 32x32" -- ./tiny run --input x.npy --output /dev/null
    expect 0 "features of 'tiny' in /dev/null, files in none" -- ./tiny features "$img/chelsea.png" -o /dev/null
    [ ! -e /dev/null.txt ] || fail "features wrote /dev/null.txt"
    expect 0 "compiled tiny" -- "$netc" compile "$tiny" --init det --res 32 -o /dev/null
    "$netc" run "$tiny" --init det --res 32 --output /dev/stdout --top 0 2>/dev/null | head -c 6 | grep -q NUMPY ||
        fail "--output /dev/stdout did not write the stream"
    finish ;;
output_devfull)
    compile_tiny -o tiny && input
    expect 2 "/dev/full: write failed: No space left on device" -- "$netc" weights "$tiny" --init det -o /dev/full
    expect 2 "/dev/full: write failed: No space left on device" -- ./tiny run --input x.npy --output /dev/full
    finish ;;
output_symlink)
    # never written through: the link stays a link, what it points at stays as it was
    compile_tiny -o tiny && input
    ln -s "$victim/file" link
    ln -s "$victim/other.npy" link.npy
    msg="link(\.npy)?: is a symbolic link; netc does not write through links"
    expect 2 "$msg" -- "$netc" run "$tiny" --init det --res 32 --output link.npy
    expect 2 "$msg" -- "$netc" weights "$tiny" --init det -o link
    expect 2 "$msg" -- ./tiny run --input x.npy --output link.npy
    expect 2 "$msg" -- ./tiny features "$img/chelsea.png" -o link.npy
    expect 2 "$msg" -- "$netc" compile "$tiny" --init det --res 32 -o link
    ln -s "$victim/file" prog.weights
    expect 2 "prog.weights: is a symbolic link" -- \
        "$netc" compile "$tiny" --init det --res 32 --weights-external -o prog
    [ ! -e prog ] || fail "compile wrote prog though prog.weights was refused"
    for l in link link.npy prog.weights; do [ -L $l ] || fail "$l was replaced"; done
    rm -f prog.weights
    finish ;;
output_not_file)
    compile_tiny -o tiny && input
    mkfifo fifo.npy && mkdir dir.npy
    expect 2 "fifo.npy: not a regular file \(a FIFO\)" -- "$netc" run "$tiny" --init det --res 32 --output fifo.npy
    expect 2 "fifo.npy: not a regular file \(a FIFO\)" -- ./tiny run --input x.npy --output fifo.npy
    expect 2 "fifo.npy: not a regular file \(a FIFO\)" -- "$netc" weights "$tiny" --init det -o fifo.npy
    expect 2 "dir.npy: not a regular file \(a directory\)" -- ./tiny features "$img/chelsea.png" -o dir.npy
    [ -p fifo.npy ] && [ -d dir.npy ] || fail "the FIFO or the directory was replaced"
    finish ;;
planted_temp)
    # a link at every name the old "OUT.tmp.PID" scheme could pick next: none is followed
    compile_tiny -o tiny && input
    p=$(sh -c 'echo $$')
    for ((i = p; i < p + 400; i++)); do ln -s "$victim/other.npy" "y.npy.tmp.$i"; done
    expect 0 "" -- "$netc" run "$tiny" --init det --res 32 --output y.npy
    expect 0 "images at 32x32" -- ./tiny run --input x.npy --output y.npy
    [ -f y.npy ] && [ ! -L y.npy ] || fail "y.npy is not a regular file"
    rm -f y.npy.tmp.*
    finish ;;
input_fifo)
    # every reader returns at once: exit 2 and the FIFO named
    compile_tiny -o tiny && input
    compile_tiny --weights-external -o ext
    mkfifo ff
    msg="ff: not a regular file \(a FIFO\)"
    expect 2 "$msg" -- "$netc" info ff
    printf 'import "%s/ff"\n' "$work" > imp.nn
    expect 2 "$msg" -- "$netc" info imp.nn
    expect 2 "$msg" -- "$netc" run "$tiny" --weights ff
    expect 2 "$msg" -- "$netc" run "$tiny" --init det --input ff
    expect 2 "$msg" -- "$netc" compare ff x.npy
    expect 2 "$msg" -- "$netc" compile "$tiny" --init det --res 32 --labels ff -o tiny2
    expect 2 "$msg" -- ./tiny run --input ff
    expect 2 "$msg" -- ./tiny eval --list ff
    expect 2 "$msg" -- ./tiny classify --list ff
    expect 2 "$msg" -- ./tiny classify "$img/chelsea.png" --labels ff
    expect 2 "ff: cannot open the weights file .*not a regular file \(a FIFO\)" -- ./ext run --input x.npy --weights ff
    mv ext.weights ext.weights.real && mkfifo ext.weights
    expect 2 "ext.weights: cannot open the weights file .*not a regular file \(a FIFO\)" -- ./ext run --input x.npy
    rm ext.weights
    # a FIFO among the images: that image fails, the others go on
    mkdir imgs && cp "$img/chelsea.png" imgs/ && mkfifo imgs/z.jpg
    expect 1 "imgs/z.jpg: not a regular file \(a FIFO\)" -- ./tiny classify imgs
    grep -q chelsea "$tmp/out" || fail "the good image was not classified"
    finish ;;
input_devzero)
    compile_tiny -o tiny && input
    msg="/dev/zero: not a regular file \(a character device\)"
    expect 2 "$msg" -- "$netc" info /dev/zero
    printf 'import "/dev/zero"\n' > imp.nn
    expect 2 "$msg" -- "$netc" info imp.nn
    expect 2 "$msg" -- "$netc" run "$tiny" --weights /dev/zero
    expect 2 "$msg" -- "$netc" run "$tiny" --init det --input /dev/zero
    expect 2 "$msg" -- "$netc" compare x.npy /dev/zero
    expect 2 "$msg" -- ./tiny run --input /dev/zero
    expect 2 "$msg" -- ./tiny eval --list /dev/zero
    expect 1 "$msg" -- ./tiny classify /dev/zero
    finish ;;
input_too_large)
    # regular files over the limit for their kind: refused by their size, nothing read (sparse, no disk used)
    compile_tiny -o tiny
    truncate -s 5G big.npy && truncate -s 17G big.safetensors && truncate -s 65M big.nn && truncate -s 2049M big.jpg
    over="big.npy: 5.0 GiB is over the 4.0 GiB limit for a .npy file"
    expect 2 "$over" -- "$netc" run "$tiny" --init det --input big.npy
    expect 2 "$over" -- ./tiny run --input big.npy
    over="big.safetensors: 17.0 GiB is over the 16.0 GiB limit for a safetensors file"
    expect 2 "$over" -- "$netc" run "$tiny" --weights big.safetensors
    expect 2 "big.nn: 65.0 MiB is over the 64.0 MiB limit for a text file" -- "$netc" info big.nn
    expect 1 "big.jpg: 2.0 GiB is over the 2.0 GiB limit for an image file" -- ./tiny classify big.jpg
    rm -f big.*
    finish ;;
recompile_keeps_weights)
    # a recompile that fails (assembler, or the final link) leaves the previous program and its weights
    compile_tiny --weights-external -o prog && input
    ./prog run --input x.npy --output y0.npy >/dev/null 2>&1 || fail "the first program does not run"
    sums=$(md5sum prog prog.weights)
    again=("$netc" compile "$tiny" --init det --res 64 --weights-external -o prog)
    expect 1 "the assembler \(false -c\) failed" -- env CC=false "${again[@]}"
    printf '#!/bin/sh\ncase "$*" in *libnetc_app.a*) exit 1 ;; esac\nexec cc "$@"\n' > "$tmp/nolink"
    chmod +x "$tmp/nolink"
    expect 1 "linking prog failed" -- env CC="$tmp/nolink" "${again[@]}"
    [ "$(md5sum prog prog.weights)" = "$sums" ] || fail "the failed recompiles changed prog or prog.weights"
    ./prog run --input x.npy --output y1.npy >/dev/null 2>&1 || fail "the previous program no longer runs"
    finish ;;
sigterm_compile)
    # SIGTERM while a child (the assembler) runs, and while netc itself generates kernels: netc dies of the signal,
    # its child with it, and no temporary stays; the previous program and weights are untouched
    compile_tiny --weights-external -o prog
    sums=$(md5sum prog prog.weights)
    printf '#!/bin/sh\necho $$ > "%s/cc.pid"\nsleep 60\nexec cc "$@"\n' "$tmp" > "$tmp/slowcc" && chmod +x "$tmp/slowcc"
    CC="$tmp/slowcc" "$netc" compile "$tiny" --init det --res 64 --weights-external -o prog >/dev/null 2>&1 &
    pid=$!
    wait_for "$tmp/cc.pid" 200
    [ -s "$tmp/cc.pid" ] || fail "the compiler never started"
    [ -n "$(ls -A | grep '^\.')" ] || fail "no temporaries while compiling (the case tests nothing)"
    kill -TERM $pid
    wait $pid
    rc=$?
    [ $rc = 143 ] || fail "netc exited $rc, not of SIGTERM (143)"
    kill -0 "$(cat "$tmp/cc.pid")" 2>/dev/null && fail "the compiler outlived netc"
    printf '#!/bin/sh\necho 1 > "%s/cc.done"\nexec cc "$@"\n' "$tmp" > "$tmp/markcc" && chmod +x "$tmp/markcc"
    CC="$tmp/markcc" "$netc" compile "$root/models/resnet50.nn" --init det --res 32 --weights-external -o prog \
        >/dev/null 2>&1 &
    pid=$!
    wait_for "$tmp/cc.done" 1200
    sleep 0.3
    kill -TERM $pid
    wait $pid
    rc=$?
    [ $rc = 143 ] || fail "netc (resnet50) exited $rc, not of SIGTERM (143)"
    [ "$(md5sum prog prog.weights)" = "$sums" ] || fail "the stopped compiles changed prog or prog.weights"
    finish ;;
features_pair)
    # the rows and their list: written together; a run where every image fails replaces neither
    compile_tiny -o tiny
    expect 0 "1 x 8 features" -- ./tiny features "$img/chelsea.png" -o f.npy
    [ "$(cat f.txt)" = "$img/chelsea.png" ] || fail "f.txt does not list the image"
    sums=$(md5sum f.npy f.txt)
    expect 1 "no image gave features; f.npy and f.txt left as they were" -- ./tiny features missing.jpg -o f.npy
    ln -s "$victim/file" g.txt
    expect 2 "g.txt: is a symbolic link" -- ./tiny features "$img/chelsea.png" -o g.npy
    [ ! -e g.npy ] || fail "g.npy was written though its list was refused"
    rm g.txt
    [ "$(md5sum f.npy f.txt)" = "$sums" ] || fail "f.npy or f.txt changed"
    finish ;;
*) echo "unknown case $case"; exit 2 ;;
esac
