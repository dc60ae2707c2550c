"""oracle.py — numpy arithmetic for tests/compile/classify_cases.sh: what a
compiled program's classify / ensemble / features output must be, computed
from its `run` logits on the pipeline's fixture tensors (the tensors are
checked against PIL + timm elsewhere: tests/fixtures/images).

  oracle.py flip IN.npy OUT.npy              mirror the width axis
  oracle.py check JSONL FILE expr            expr over loaded .npy names must
                                             equal the scores of FILE in JSONL
  oracle.py features F.npy W.safetensors LOGITS.npy   F @ fc.W^T + fc.b == logits
"""

import json
import sys

import numpy as np


def softmax(x):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max())
    return e / e.sum()


def vote(*members):
    """The seed's rule: the mode of the members' argmax; with no single mode,
    the tied class holding the highest single score."""
    n = len(members)
    am = [int(np.argmax(m)) for m in members]
    counts = np.bincount(am, minlength=members[0].size).astype(np.float64)
    most = counts.max()
    if (counts == most).sum() > 1:
        best = max((float(m[a]), a) for m, a in zip(members, am) if counts[a] == most)
        counts[best[1]] += 0.5
    return counts / n


def load(name):
    return np.load(name).astype(np.float64).reshape(-1)


def main():
    cmd = sys.argv[1]
    if cmd == "flip":
        np.save(sys.argv[3], np.ascontiguousarray(np.load(sys.argv[2])[..., ::-1]))
        return 0
    if cmd == "check":
        rows = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
        row = [r for r in rows if r["file"].endswith(sys.argv[3])]
        assert len(row) == 1 and row[0]["ok"], f"no result for {sys.argv[3]}"
        env = {"softmax": softmax, "vote": vote, "np": np, "load": load, "median": lambda *m: np.median(np.stack(m), 0)}
        want = np.asarray(eval(sys.argv[4], env), dtype=np.float64).reshape(-1)
        top = row[0]["top"]
        order = np.argsort(-want, kind="stable")
        for j, t in enumerate(top):
            if abs(t["score"] - want[t["class"]]) > 2e-5 + 1e-4 * abs(want[t["class"]]):
                print(
                    f"{sys.argv[3]}: class {t['class']} "
                    f"score {t['score']} but expected {want[t['class']]} ({sys.argv[4]})"
                )
                return 1
            if want[t["class"]] < want[order[j]] - 1e-5:
                print(f"{sys.argv[3]}: rank {j} is class {t['class']}, expected {order[j]}")
                return 1
        print(f"{sys.argv[3]}: {len(top)} scores agree with {sys.argv[4]}")
        return 0
    if cmd == "features":
        f = np.load(sys.argv[2]).astype(np.float64)
        blob = open(sys.argv[3], "rb").read()
        n = int.from_bytes(blob[:8], "little")
        hdr = json.loads(blob[8 : 8 + n])

        def tensor(name):
            h = hdr[name]
            a, b = h["data_offsets"]
            return np.frombuffer(blob[8 + n + a : 8 + n + b], dtype="<f4").reshape(h["shape"]).astype(np.float64)

        logits = np.load(sys.argv[4]).astype(np.float64)
        got = f @ tensor("fc.weight").T + tensor("fc.bias")
        err = np.abs(got - logits).max() / max(np.abs(logits).max(), 1e-30)
        print(f"features: {f.shape}, head(features) vs logits: max rel err {err:.2e}")
        return 0 if f.shape[0] == logits.shape[0] and err < 1e-4 else 1
    raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    sys.exit(main())
