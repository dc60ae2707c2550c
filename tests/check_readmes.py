#!/usr/bin/env python3
"""check_readmes.py — every source folder has a README.md that lists its files, and the top-level
README's folder map names every such folder.

A folder's README lists a file by writing its name in backquotes: `tokenize.c`, or a pair as
`cg_gemm.[ch]`; a sub-folder without a README of its own may be listed in its parent's, with the
sub-folder's name in front (`cpu/cg_gemm.c` in codegen/README.md).  The check fails on a file the
README does not list, on a listed name that is nowhere in the tree (a README gone stale), on a
folder without a README, and on a folder the top-level README's map does not link to.

Usage: python3 tests/check_readmes.py [REPO_ROOT]     exit 0 clean, 1 problems
"""

import os
import re
import sys

FOLDERS = [
    "frontend",
    "frontend/onnx",
    "ir",
    "passes",
    "codegen",
    "codegen/cpu",
    "codegen/onnx",
    "codegen/cuda",
    "runtime",
    "runtime/support",
    "runtime/image",
    "runtime/train",
    "runtime/program",
    "runtime/serve",
    "runtime/device",
    "tools",
    "tools/netc",
    "tests",
    "bench",
]
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
    everywhere = set()
    for dirpath, _, fs in os.walk(root):
        if "/." not in dirpath and "/build" not in dirpath:
            everywhere.update(fs)
    for folder in FOLDERS:
        path = os.path.join(root, folder)
        files = sorted(f for f in os.listdir(path) if f.endswith(SOURCE) and os.path.isfile(os.path.join(path, f)))
        readme = os.path.join(path, "README.md")
        parent, sub = os.path.dirname(folder), os.path.basename(folder)
        prefix = ""
        if not os.path.exists(readme) and parent and os.path.exists(os.path.join(root, parent, "README.md")):
            readme, prefix = os.path.join(root, parent, "README.md"), sub + "/"
            shown = parent
        else:
            shown = folder
        if f"]({shown}/README.md)" not in top and f"]({shown}/)" not in top:
            problems.append(f"README.md: the folder map does not link to {shown}/README.md")
        if not os.path.exists(readme):
            problems.append(f"{folder}/: no README.md")
            continue
        names = listed_names(open(readme, encoding="utf-8").read())
        for f in files:
            if prefix + f not in names:
                problems.append(f"{shown}/README.md: does not list {prefix + f}")
        for n in sorted(names):
            if not n.endswith(SOURCE):
                continue  # a command, an option: not a claim about a file
            if os.path.basename(n) not in everywhere:
                problems.append(f"{shown}/README.md: lists {n}, which is not in the tree")
    for p in problems:
        print(f"check_readmes: {p}")
    if problems:
        print(f"check_readmes: {len(problems)} problem(s)")
        return 1
    print(f"check_readmes: {len(FOLDERS)} folders, each README lists its files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
