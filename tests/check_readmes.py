#!/usr/bin/env python3
"""check_readmes.py — every source folder has a README.md that lists its files, and the top-level
README's folder map names every such folder.

A folder's README lists a file by writing its name in backquotes: `tokenize.c`, or a pair as
`cg_gemm.[ch]`.  The check fails on a file the README does not list, on a listed name that is not
in the folder (a README gone stale), on a folder without a README, and on a folder the top-level
README's map does not link to.

Usage: python3 tests/check_readmes.py [REPO_ROOT]     exit 0 clean, 1 problems
"""
import os
import re
import sys

FOLDERS = ["frontend", "ir", "passes", "codegen", "codegen/cpu", "runtime", "runtime/support", "runtime/image",
           "runtime/program", "tools", "tools/netc", "tests", "bench"]
SOURCE = (".c", ".h", ".def", ".py", ".sh", ".cmake")
NAME = re.compile(r"`([A-Za-z0-9_./-]+?)(?:\.\[([a-z]+)\])?`")


def listed_names(text):
    names = set()
    for m in NAME.finditer(text):
        base, alts = m.group(1), m.group(2)
        if alts:
            names.update(base + "." + a for a in alts)
        else:
            names.add(base)
    return names


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
    problems = []
    top = open(os.path.join(root, "README.md"), encoding="utf-8").read()
    for folder in FOLDERS:
        path = os.path.join(root, folder)
        files = sorted(f for f in os.listdir(path) if f.endswith(SOURCE) and os.path.isfile(os.path.join(path, f)))
        readme = os.path.join(path, "README.md")
        if f"]({folder}/README.md)" not in top and f"]({folder}/)" not in top:
            problems.append(f"README.md: the folder map does not link to {folder}/README.md")
        if not os.path.exists(readme):
            problems.append(f"{folder}/: no README.md")
            continue
        names = listed_names(open(readme, encoding="utf-8").read())
        for f in files:
            if f not in names:
                problems.append(f"{folder}/README.md: does not list {f}")
        for n in sorted(names):
            if "/" in n or not n.endswith(SOURCE):
                continue  # a path elsewhere, a command, an option: not a claim about this folder
            if n not in files and not any(os.path.exists(os.path.join(root, d, n)) for d in FOLDERS):
                problems.append(f"{folder}/README.md: lists {n}, which is not in the tree")
    for p in problems:
        print(f"check_readmes: {p}")
    if problems:
        print(f"check_readmes: {len(problems)} problem(s)")
        return 1
    print(f"check_readmes: {len(FOLDERS)} folders, each README lists its files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
