"""calib_compare.py — the fast int8 calibration (the generated kernels, tools/netc/calibrate_jit.c) against
the reference interpreter's (NETC_CALIBRATE=reference), for precision_cases.sh's calibrate_fast case.

  calib_compare.py ranges REF.txt FAST.txt   the ranges `netc compile --verbose` printed ("calibrate: program
                                              P SCOPE [LO, HI]"): the same convs, each bound within 1e-4 relative
  calib_compare.py logits REF.jsonl FAST.jsonl   two int8 programs' `classify --logits --json` lines: the same
                                              top-1 class, the scores within 2% of the largest (a
                                              bound one rounding apart may move a value one quantisation step)
"""
import json
import re
import sys


def ranges(path):
    out = {}
    for line in open(path):
        m = re.match(r"calibrate: program (\d+) (\S+) \[(\S+), (\S+)\]$", line.strip())
        if m:
            out[(int(m[1]), m[2])] = (float(m[3]), float(m[4]))
    return out


def compare_ranges(ref_path, fast_path):
    ref, fast = ranges(ref_path), ranges(fast_path)
    if not ref or ref.keys() != fast.keys():
        sys.exit(f"ranges: {len(ref)} convs measured by the reference, {len(fast)} by the kernels")
    worst, at = 0.0, None
    for k, bounds in ref.items():
        for r, f in zip(bounds, fast[k]):
            d = abs(r - f) / max(abs(r), abs(f), 1e-30) if r != f else 0.0
            if d > worst:
                worst, at = d, (k, r, f)
    print(f"ranges: {len(ref)} convs, worst relative difference {worst:.3g}" + (f" at {at}" if at else ""))
    if worst > 1e-4:
        sys.exit("ranges: the kernels' calibration differs from the reference's")


def compare_logits(ref_path, fast_path):
    ref = [json.loads(line) for line in open(ref_path)]
    fast = [json.loads(line) for line in open(fast_path)]
    if not ref or len(ref) != len(fast):
        sys.exit(f"logits: {len(ref)} images against {len(fast)}")
    big = max(abs(t["score"]) for r in ref for t in r["top"])
    worst = 0.0
    for r, f in zip(ref, fast):
        if r["top"][0]["class"] != f["top"][0]["class"]:
            sys.exit(f"logits: {r['file']}: top-1 {r['top'][0]} against {f['top'][0]}")
        fs = {t["class"]: t["score"] for t in f["top"]}
        worst = max([worst] + [abs(t["score"] - fs[t["class"]]) for t in r["top"] if t["class"] in fs])
    print(f"logits: {len(ref)} images, same top-1, max |difference| {worst:.3g} (max |logit| {big:.3g})")
    # a bound a float's rounding apart can move a value across a quantisation step: logits move by a step's
    # share, not more
    if worst > 0.02 * max(big, 1.0):
        sys.exit("logits: the int8 programs differ")


if __name__ == "__main__":
    {"ranges": compare_ranges, "logits": compare_logits}[sys.argv[1]](sys.argv[2], sys.argv[3])
