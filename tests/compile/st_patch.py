"""st_patch.py IN OUT NAME=OP ... — a copy of an F32 safetensors file with
some tensors changed, for the bad-weight tests (standard library only).
OP: 'nan@K' / 'inf@K' / 'neg@K' (element K becomes NaN, +inf, -1) or
'scale:F' (every element times F)."""
import json
import struct
import sys
from array import array

src, dst, edits = sys.argv[1], sys.argv[2], sys.argv[3:]
blob = open(src, "rb").read()
hlen = struct.unpack("<Q", blob[:8])[0]
header = json.loads(blob[8:8 + hlen])
data = bytearray(blob[8 + hlen:])
for edit in edits:
    name, op = edit.split("=", 1)
    t = header[name]
    assert t["dtype"] == "F32", t
    lo, hi = t["data_offsets"]
    a = array("f")
    a.frombytes(bytes(data[lo:hi]))
    if op.startswith("scale:"):
        f = float(op[6:])
        for i in range(len(a)):
            a[i] *= f
    else:
        what, k = op.split("@")
        a[int(k)] = {"nan": float("nan"), "inf": float("inf"), "neg": -1.0}[what]
    data[lo:hi] = a.tobytes()
open(dst, "wb").write(blob[:8 + hlen] + bytes(data))
