#!/usr/bin/env bash
# check_format.sh [REPO_ROOT] — the source follows .clang-format (clang-format-19), and no line of
# code (C, Python, shell, CMake) is longer than 120 characters.  Exit 0 clean, 1 with the offenders.
set -u
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 1
fmt=$(command -v clang-format-19 || true)
[ -n "$fmt" ] || { echo "check_format: clang-format-19 not found (tools/setup.sh installs it)"; exit 1; }
bad=0
mapfile -t c_files < <(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
if ! "$fmt" --dry-run --Werror "${c_files[@]}" 2>/tmp/check_format.$$; then
    grep -m 20 'error:' /tmp/check_format.$$
    echo "check_format: $(grep -c 'error:' /tmp/check_format.$$) places differ from .clang-format" \
         "(run: clang-format-19 -i FILE)"
    bad=1
fi
rm -f /tmp/check_format.$$
mapfile -t code < <(git ls-files '*.c' '*.h' '*.py' '*.sh' '*.cmake' 'CMakeLists.txt' '*/CMakeLists.txt')
long=$(awk 'length > 120 { print FILENAME ":" FNR ": " length " characters" }' "${code[@]}")
if [ -n "$long" ]; then
    echo "$long" | head -20
    echo "check_format: $(echo "$long" | wc -l) lines over 120 characters"
    bad=1
fi
[ $bad = 0 ] && echo "check_format: ${#c_files[@]} C files as .clang-format says, ${#code[@]} files under 120 columns"
exit $bad
