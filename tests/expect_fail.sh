#!/usr/bin/env bash
# expect_fail.sh CODE REGEX [--no-file PATH] -- COMMAND...
# Passes when COMMAND exits with CODE, its stderr matches REGEX (grep -E), it
# does not crash (no sanitizer report), and PATH (if given) was not created.
set -u
code=$1 regex=$2
shift 2
nofile=
if [ "${1:-}" = "--no-file" ]; then nofile=$2; shift 2; fi
[ "${1:-}" = "--" ] && shift
[ -n "$nofile" ] && rm -f "$nofile"
err=$(mktemp)
"$@" >/dev/null 2>"$err"
rc=$?
ok=1
if [ "$rc" != "$code" ]; then echo "exit status $rc, expected $code"; ok=0; fi
if ! grep -qE -- "$regex" "$err"; then echo "stderr does not match: $regex"; ok=0; fi
if grep -qE "Sanitizer|runtime error|internal error" "$err"; then echo "crash or sanitizer report"; ok=0; fi
if [ -n "$nofile" ] && compgen -G "$nofile*" >/dev/null; then echo "$nofile was written"; ok=0; fi
echo "--- stderr ---"; cat "$err"; rm -f "$err"
if [ $ok = 1 ]; then echo "1 passed, 0 failed"; exit 0; fi
echo "0 passed, 1 failed"; exit 1
