# cases_env.sh — sourced by the *_cases.sh scripts (after `netc=$1 case=$2`):
# paths, a scratch folder removed at exit (made writable first: a case may
# lock a folder), and pass / fail.
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3} # ctest sets PYTHON to the interpreter CMake found (tools/setup.sh: .venv)
ef="$root/tests/expect_fail.sh"
img="$root/tests/fixtures/images"
tmp=$(mktemp -d)
trap 'chmod -R u+rwx "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
cd "$tmp"
tiny="$root/tests/errors/tiny.nn" # conv, BN, ReLU, pool, fc: 10 classes, 8 features, timm's default preprocessing
pass() { echo "1 passed, 0 failed"; exit 0; }
fail() { echo "$1"; echo "0 passed, 1 failed"; exit 1; }
