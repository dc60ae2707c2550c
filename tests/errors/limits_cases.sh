#!/usr/bin/env bash
# limits_cases.sh NETC CASE — descriptions that once crashed the frontend or ran
# away with memory, made on the spot (100k-term chains are too big to keep):
# each must end in a clean error (exit 2, a message with file:line:col).
set -u
netc=$1 case=$2
ef="$(cd "$(dirname "$0")/.." && pwd)/expect_fail.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
f="$dir/$case.nn"
model='model m(x) {
    return x
}'
repeat() { printf -- "$1%.0s" $(seq "$2"); } # repeat TEXT N
case $case in
flat_sum) # 1 + 1 + ...: parsed without recursion, evaluated with one frame per '+'
    { printf 'k = 1'; repeat ' + 1' 100000; printf '\n%s\n' "$model"; } > "$f"
    "$ef" 2 "$case.nn:1:[0-9]+: error: expression nested too deeply" -- "$netc" dump "$f" ;;
power_chain) # 2 ** 2 ** ...: right-recursive
    { printf 'k = 2'; repeat ' ** 2' 100000; printf '\n%s\n' "$model"; } > "$f"
    "$ef" 2 "$case.nn:1:[0-9]+: error: expression nested too deeply" -- "$netc" dump "$f" ;;
call_chain) # f()()()...: a postfix chain
    { printf 'k = f'; repeat '()' 100000; printf '\n%s\n' "$model"; } > "$f"
    "$ef" 2 "$case.nn:1:[0-9]+: error: expression nested too deeply" -- "$netc" dump "$f" ;;
label_chain) # a: a: a: ...: labels parse recursively
    { printf 'model m(x) {\n    y = '; repeat 'a: ' 100000; printf 'relu(x)\n    return y\n}\n'; } > "$f"
    "$ef" 2 "$case.nn:2:[0-9]+: error: labels nested too deeply" -- "$netc" dump "$f" ;;
deep_calls) # 195 calls, each inside 190 minus signs: within both parser limits, not within the stack
    { printf 'def f(n) {\n    if n == 0 {\n        return 0\n    }\n    return '; repeat '-' 190
      printf 'f(n - 1)\n}\nk = f(195)\n%s\n' "$model"; } > "$f"
    "$ef" 2 "$case.nn:5:[0-9]+: error: expressions, blocks and calls nested more than 4000 deep" -- "$netc" dump "$f" ;;
deep_blocks) # 195 calls, each inside 190 blocks
    { printf 'def f(n) {\n    if n == 0 {\n        return 0\n    }\n    '; repeat 'if true { ' 190
      printf 'return f(n - 1)'
      repeat ' }' 190; printf '\n}\nk = f(195)\n%s\n' "$model"; } > "$f"
    "$ef" 2 "$case.nn:5:[0-9]+: error: expressions, blocks and calls nested more than 4000 deep" -- "$netc" dump "$f" ;;
deep_list) # a list nested 300000 deep, quoted in a message
    printf 'model m(x) {\n    l = []\n    for i in range(300000) {\n        l = [l]\n    }\n    return l(x)\n}\n' > "$f"
    "$ef" 2 "$case.nn:6:12: error: list \[\[\[\[+\.\.\.\]+ is not a function" -- "$netc" dump "$f" ;;
long_list) # a list of a million items, quoted in a message
    printf 'model m(x) {\n    l = range(1000000)\n    return l(x)\n}\n' > "$f"
    "$ef" 2 "$case.nn:3:12: error: list \[0, 1, 2, 3" -- "$netc" dump "$f" ;;
*) echo "unknown case $case"; exit 1 ;;
esac
