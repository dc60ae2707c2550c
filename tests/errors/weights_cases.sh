#!/usr/bin/env bash
# weights_cases.sh NETC CASE — bad weight files and bad run inputs, made on the
# spot from a valid file that netc itself writes.
set -u
netc=$1 case=$2
here=$(cd "$(dirname "$0")" && pwd)
ef="$here/../expect_fail.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$netc" weights "$here/tiny.nn" --init det -o "$tmp/tiny.safetensors" >/dev/null ||
    { echo "cannot make weights"; exit 1; }
case $case in
truncated)
    head -c 300 "$tmp/tiny.safetensors" > "$tmp/t.safetensors"
    "$ef" 2 "t.safetensors" -- "$netc" run "$here/tiny.nn" --weights "$tmp/t.safetensors" ;;
lying_header)
    # header length says 1 MB, the file is a few hundred bytes
    printf '\x00\x00\x10\x00\x00\x00\x00\x00{"a":1}' > "$tmp/l.safetensors"
    "$ef" 2 "l.safetensors" -- "$netc" run "$here/tiny.nn" --weights "$tmp/l.safetensors" ;;
bad_offsets)
    hdr='{"fc.bias":{"dtype":"F32","shape":[10],"data_offsets":[0,4000]}}'
    while [ $(( ${#hdr} % 8 )) != 0 ]; do hdr="$hdr "; done
    n=${#hdr}
    printf "$(printf '\\x%02x\\x%02x\\x00\\x00\\x00\\x00\\x00\\x00' $((n & 255)) $((n >> 8)))" > "$tmp/o.safetensors"
    printf '%s' "$hdr" >> "$tmp/o.safetensors"
    head -c 40 /dev/zero >> "$tmp/o.safetensors"
    "$ef" 2 "o.safetensors" -- "$netc" run "$here/tiny.nn" --weights "$tmp/o.safetensors" ;;
wrong_shape)
    "$netc" weights "$here/tiny.nn" --init det --set classes=5 -o "$tmp/five.safetensors" >/dev/null
    "$ef" 2 "fc.weight: \[5, 8\] in the file, the model has \[10, 8\]" -- \
        "$netc" run "$here/tiny.nn" --weights "$tmp/five.safetensors" ;;
missing_unexpected)
    "$netc" weights "$here/syntax_ok.nn" --init det -o "$tmp/other.safetensors" >/dev/null
    "$ef" 2 "missing tensors:.*conv.weight|unexpected tensors" -- \
        "$netc" run "$here/tiny.nn" --weights "$tmp/other.safetensors" ;;
missing_weights)
    "$ef" 2 "nothere.safetensors: cannot open" -- "$netc" run "$here/tiny.nn" --weights "$tmp/nothere.safetensors" ;;
input_shape)
    "$netc" run "$here/tiny.nn" --init det --output "$tmp/logits.npy" >/dev/null
    "$ef" 2 "logits.npy: input must be \[batch, channels, height, width\], got \[1, 10\]" -- \
        "$netc" run "$here/tiny.nn" --init det --input "$tmp/logits.npy" ;;
input_res)
    "$netc" weights "$here/tiny.nn" --init det -o "$tmp/w.safetensors" >/dev/null
    printf 'not a npy file' > "$tmp/x.npy"
    "$ef" 2 "x.npy" -- "$netc" run "$here/tiny.nn" --init det --input "$tmp/x.npy" ;;
unwritable_output)
    "$ef" 2 "cannot write" --no-file "$tmp/no/such/dir/y.npy" -- \
        "$netc" run "$here/tiny.nn" --init det --output "$tmp/no/such/dir/y.npy" ;;
*) echo "unknown case $case"; exit 1 ;;
esac
