#!/usr/bin/env python3
"""model_table.py NETC — the model table of models/README.md, computed by `netc info --json`.

Every model under models/ (one row each): parameters and GMACs at 224 and 448
as netc counts them, and timm's ImageNet top-1 from models/top1.tsv for
orientation.  `--check models/README.md` exits 1 if the README's table (between the
<!-- model-table --> markers) differs from what netc computes now.
Standard library only."""
import json, os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN, END = "<!-- model-table -->", "<!-- /model-table -->"

def info(netc, path, res):
    out = subprocess.run([netc, "info", path, "--res", str(res), "--json"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)

def table(netc):
    top1 = {}
    for line in open(os.path.join(ROOT, "models", "top1.tsv")):
        f = line.rstrip("\n").split("\t")
        if line.startswith("#") or f[0] == "model":
            continue
        top1[f[0]] = f"{float(f[3]):.1f} ({f[1]} @{f[2]})"
    rows = ["| model | parameters | GMACs @224 | GMACs @448 | timm top-1 (tag @size) |",
            "|---|---:|---:|---:|---|"]
    for name in sorted(os.listdir(os.path.join(ROOT, "models"))):
        if not name.endswith(".nn"):
            continue
        a = info(netc, os.path.join(ROOT, "models", name), 224)
        b = info(netc, os.path.join(ROOT, "models", name), 448)
        m = name[:-3]
        rows.append(f"| `{m}` | {a['params']:,} | {a['gmacs_per_image']:.2f} | {b['gmacs_per_image']:.2f} | "
                    f"{top1.get(m, '–')} |")
    return "\n".join(rows)

def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    t = table(sys.argv[1])
    if len(sys.argv) == 4 and sys.argv[2] == "--check":
        text = open(sys.argv[3]).read()
        cur = text.split(BEGIN)[1].split(END)[0].strip() if BEGIN in text else ""
        if cur != t:
            print("models/README.md model table is out of date; regenerate with tools/model_table.py build/netc")
            print(t)
            print("0 passed, 1 failed")
            sys.exit(1)
        print("1 passed, 0 failed")
        return
    print(t)

if __name__ == "__main__":
    main()
