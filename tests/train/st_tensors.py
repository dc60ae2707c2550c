"""st_tensors.py — safetensors files compared tensor by tensor, for the
training tests (standard library only).

  st_tensors.py same A B [--except PREFIX ...]
      every tensor of A and B byte-identical (same names, dtypes, shapes),
      except those whose name starts with a PREFIX; prints the differing names
  st_tensors.py differ A B NAME ...
      each NAME present in both and its bytes differ
  st_tensors.py get A NAME
      the first value of tensor NAME (F32 or I64)
  st_tensors.py fill A OUT NAME VALUE
      a copy of A with every element of the F32 tensor NAME set to VALUE
"""
import json
import struct
import sys


def load(path):
    blob = open(path, "rb").read()
    hlen = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + hlen])
    header.pop("__metadata__", None)
    data = blob[8 + hlen:]
    out = {}
    for name, t in header.items():
        lo, hi = t["data_offsets"]
        out[name] = (t["dtype"], tuple(t["shape"]), data[lo:hi])
    return out


def main(argv):
    mode = argv[1]
    if mode == "same":
        a, b = load(argv[2]), load(argv[3])
        skip = argv[argv.index("--except") + 1:] if "--except" in argv else []
        bad = []
        if set(a) != set(b):
            bad.append("names differ: %s" % sorted(set(a) ^ set(b)))
        for name in sorted(set(a) & set(b)):
            if any(name.startswith(p) for p in skip):
                continue
            if a[name] != b[name]:
                bad.append(name)
        for x in bad:
            print("differs:", x)
        return 1 if bad else 0
    if mode == "differ":
        a, b = load(argv[2]), load(argv[3])
        bad = [n for n in argv[4:] if n not in a or n not in b or a[n] == b[n]]
        for x in bad:
            print("unchanged or missing:", x)
        return 1 if bad else 0
    if mode == "get":
        dtype, _, raw = load(argv[2])[argv[3]]
        print(struct.unpack("<q" if dtype == "I64" else "<f", raw[:8 if dtype == "I64" else 4])[0])
        return 0
    if mode == "fill":
        blob = open(argv[2], "rb").read()
        hlen = struct.unpack("<Q", blob[:8])[0]
        t = json.loads(blob[8:8 + hlen])[argv[4]]
        assert t["dtype"] == "F32", t
        lo, hi = (8 + hlen + x for x in t["data_offsets"])
        fill = struct.pack("<f", float(argv[5])) * ((hi - lo) // 4)
        open(argv[3], "wb").write(blob[:lo] + fill + blob[hi:])
        return 0
    print(__doc__)
    return 2


sys.exit(main(sys.argv))
