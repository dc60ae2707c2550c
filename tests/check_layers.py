#!/usr/bin/env python3
"""check_layers.py — every #include in netc's sources points down one order.

The layers, lowest first (a folder's sub-folders are their own layers):

    runtime/support   errors, allocation, files, JSON, .npy, safetensors, detinit, top-k
    runtime/image     JPEG/PNG decoding, timm's eval transform, the loader threads
    runtime/train     optimizers, learning-rate schedules, gradient clipping (beside runtime/image)
    ir                graph, op table, reference kernels, interpreter, memory plan form
    runtime           the bundle reader and executor, the kernel contract, ensemble merge
    runtime/program   a compiled program's command line (classify, features, eval, ...)
    runtime/serve     `serve`: the KServe v2 HTTP server of a compiled program (uses program's engine)
    frontend, passes  the .nn language; graph rewrites and the memory planner
    codegen           kernel generation (codegen/cpu), the bundle writer, the ONNX exporter (codegen/onnx)
    tools/netc        the driver

A file may include files of its own layer and of any lower one; runtime/image and
runtime/train, and frontend and passes, stand side by side and include neither of each
other.  tests/ and bench/ sit above everything.  The script also fails on an include
cycle between files, on an include of a file that does not exist, and on a source file
outside every layer.

Usage: python3 tests/check_layers.py [REPO_ROOT]     exit 0 clean, 1 violations
"""
import os
import re
import sys

LAYERS = [
    ("runtime/support", 0),
    ("runtime/image", 1),
    ("runtime/train", 1),
    ("ir", 2),
    ("runtime", 3),
    ("runtime/device", 3),  # the device layer (emulator, CUDA driver): support only
    ("runtime/program", 4),
    ("runtime/serve", 4.5),  # above the program's engine; main.c reaches cmd_serve by a declaration, not an include
    ("frontend", 5),
    ("frontend/onnx", 5),  # one layer with frontend/: the ONNX importer builds the same graphs
    ("passes", 5),
    ("codegen", 6),
    ("codegen/cpu", 6),  # one layer with codegen/: the bundle writer and the CPU target
    ("codegen/onnx", 6),  # one layer with codegen/: the ONNX exporter
    ("codegen/cuda", 6),  # one layer with codegen/: the CUDA target (PTX and its CPU lowering)
    ("tools/netc", 7),
]
TOP = 100  # tests/, bench/: may include anything
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(path):
    folder = os.path.dirname(path)
    for name, rank in LAYERS:
        if folder == name:
            for family in ("codegen", "frontend"):  # a family's sub-folders are one layer with it
                if name.startswith(family):
                    return family, rank
            return name, rank
    if path.startswith(("tests/", "bench/")):
        return "tests/bench", TOP
    return None, None


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
    sources = []
    for top in [n for n, _ in LAYERS if "/" not in n] + ["runtime", "tools", "tests", "bench"]:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if f.endswith((".c", ".h")):
                    sources.append(os.path.relpath(os.path.join(dirpath, f), root))
    sources = sorted(set(sources))
    problems = []
    edges = {}
    for src in sources:
        layer, rank = layer_of(src)
        if layer is None:
            if src.startswith("tools/") and not src.startswith("tools/netc/"):
                continue  # helper programs of tools/ are not part of the build
            problems.append(f"{src}: not in any layer (add its folder to tests/check_layers.py)")
            continue
        with open(os.path.join(root, src), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        edges[src] = []
        for m in INCLUDE.finditer(text):
            inc = m.group(1)
            line = text.count("\n", 0, m.start()) + 1
            # quoted includes are repository-relative; tests may include neighbours
            target = inc if os.path.exists(os.path.join(root, inc)) else os.path.normpath(
                os.path.join(os.path.dirname(src), inc))
            if not os.path.exists(os.path.join(root, target)):
                if rank == TOP:
                    continue  # a header a test generates (tests/compile/embed.c's tiny.h)
                problems.append(f"{src}:{line}: includes \"{inc}\", which does not exist")
                continue
            edges[src].append(target)
            if rank == TOP:
                continue
            tlayer, trank = layer_of(target)
            if tlayer is None or (tlayer != layer and trank >= rank):
                problems.append(f"{src}:{line}: {layer} includes {target} ({tlayer}): points up or sideways")
    # cycles between files (depth-first search, colouring)
    colour = {}
    stack = []

    def visit(node):
        colour[node] = 1
        stack.append(node)
        for nxt in edges.get(node, []):
            if colour.get(nxt) == 1:
                cyc = stack[stack.index(nxt):] + [nxt]
                problems.append("include cycle: " + " -> ".join(cyc))
            elif nxt not in colour:
                visit(nxt)
        stack.pop()
        colour[node] = 2

    sys.setrecursionlimit(10000)
    for node in sorted(edges):
        if node not in colour:
            visit(node)
    for p in problems:
        print(f"check_layers: {p}")
    nfiles = len(edges)
    nincl = sum(len(v) for v in edges.values())
    if problems:
        print(f"check_layers: {len(problems)} problem(s) in {nfiles} files")
        return 1
    print(f"check_layers: {nfiles} files, {nincl} includes, every one points down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
