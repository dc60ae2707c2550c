"""hostile.py — ONNX files built to break the importer: not a protobuf, a truncated one, absurd dims, a cycle, a
node reading a value nothing defines, external data leaving the model's folder (a "..", an absolute path, a
symbolic link out), external data shorter than its dims, absurd sizes in Pad / Reshape / ConstantOfShape.

Each case is (name, make(folder) -> path of the .onnx written there, regex the error must match).  run_cases.py
runs `netc info` on each: exit 2, the file named, the problem said, no crash.  (The same kinds of input seed
tests/fuzz/corpus/fuzz_onnx, which the fuzzer mutates and unit.test_fuzz_regress replays.)"""
import os

import numpy as np
from onnx import TensorProto as T, helper as h, numpy_helper as nh

from cases import i64, model, w


def save(folder, name, m):
    path = os.path.join(folder, name + ".onnx")
    with open(path, "wb") as f:
        f.write(m if isinstance(m, bytes) else m.SerializeToString())
    return path


def relu_model():
    return model([h.make_node("Relu", ["x"], ["y"], name="r")], [], 3)


def external(folder, name, location, nbytes=64, make_file=True):
    """A conv whose weight [4, 3, 1, 1] (48 bytes) lives in external data at `location`."""
    t = T()
    t.name, t.data_type = "cw", T.FLOAT
    t.dims.extend([4, 3, 1, 1])
    t.data_location = T.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", location
    if make_file:
        with open(os.path.join(folder, "w.bin"), "wb") as f:
            f.write(np.arange(nbytes // 4, dtype=np.float32).tobytes())
    m = model([h.make_node("Conv", ["x", "cw"], ["y"], name="c")], [t], 3)
    return save(folder, name, m)


def escape_link(folder):
    """location "link.bin", a symbolic link to a file outside the model's folder."""
    outside = os.path.join(os.path.dirname(folder.rstrip("/")), "outside.bin")
    with open(outside, "wb") as f:
        f.write(np.zeros(16, np.float32).tobytes())
    link = os.path.join(folder, "link.bin")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(outside, link)
    return external(folder, "escape_link", "link.bin", make_file=False)


def absurd_init(folder):
    t = T()
    t.name, t.data_type = "big", T.FLOAT
    t.dims.extend([1 << 40, 1 << 40])
    return save(folder, "absurd_dims", model([h.make_node("Add", ["x", "big"], ["y"], name="a")], [t], 3))


def cycle(folder):
    nodes = [h.make_node("Add", ["x", "b"], ["a"], name="first"), h.make_node("Relu", ["a"], ["b"], name="second"),
             h.make_node("Relu", ["b"], ["y"], name="third")]
    return save(folder, "cycle", model(nodes, [], 3))


def missing(folder):
    nodes = [h.make_node("Relu", ["x"], ["r"]), h.make_node("Add", ["r", "ghost"], ["y"], name="adder")]
    return save(folder, "missing", model(nodes, [], 3))


def pad_huge(folder):
    nodes = [h.make_node("Pad", ["x", "pads"], ["p"], name="pad"), h.make_node("Relu", ["p"], ["y"])]
    return save(folder, "pad_huge", model(nodes, [i64("pads", [0, 0, 0, 1 << 40, 0, 0, 0, 0])], 3))


def reshape_huge(folder):
    nodes = [h.make_node("Reshape", ["x", "s"], ["y"], name="rs")]
    return save(folder, "reshape_huge", model(nodes, [i64("s", [1 << 40, 1 << 40, -1])], 3))


def const_of_shape_huge(folder):
    nodes = [h.make_node("ConstantOfShape", ["s"], ["z"], name="cos"), h.make_node("Add", ["x", "z"], ["y"])]
    return save(folder, "const_of_shape_huge", model(nodes, [i64("s", [1 << 30, 1 << 30, 1 << 30])], 3))


def truncated(folder):
    m = model([h.make_node("Conv", ["x", "cw"], ["y"], name="c")], [w(np.random.default_rng(0), "cw", 8, 3, 3, 3)], 3)
    b = m.SerializeToString()
    return save(folder, "truncated", b[: len(b) - 40])


HOSTILE = [
    ("not_protobuf", lambda d: save(d, "not_protobuf", b"\x0a\xff\xff\xff\xff\x0fnot an onnx file at all"),
     r"not_protobuf\.onnx: not an ONNX model"),
    ("truncated", truncated, r"truncated\.onnx: not an ONNX model"),
    ("empty", lambda d: save(d, "empty", b""), r"empty\.onnx: .*(not an ONNX model|opset|graph)"),
    ("absurd_dims", absurd_init, r"absurd_dims\.onnx: tensor 'big'.*(too large|dimensions)"),
    ("cycle", cycle, r"cycle\.onnx: node 'first' \(Add, opset 17\): reads 'b', which no earlier node"),
    ("missing", missing, r"missing\.onnx: node 'adder' \(Add, opset 17\): reads 'ghost'"),
    ("escape_dotdot", lambda d: external(d, "escape_dotdot", "../w.bin"), r"'\.\./w\.bin' leaves the model's folder"),
    ("escape_absolute", lambda d: external(d, "escape_absolute", "/etc/passwd"), r"'/etc/passwd' leaves the model's"),
    ("escape_inner_dotdot", lambda d: external(d, "escape_inner_dotdot", "sub/../../w.bin"), r"leaves the model's"),
    ("escape_link", escape_link, r"'link\.bin' is missing or outside the model's folder"),
    ("external_short", lambda d: external(d, "external_short", "w.bin", nbytes=16), r"has no 48 bytes at offset 0"),
    ("external_missing", lambda d: external(d, "external_missing", "nothere.bin", make_file=False),
     r"'nothere\.bin' is missing"),
    ("pad_huge", pad_huge, r"node 'pad' \(Pad, opset 17\): a pad over 65536"),
    ("reshape_huge", reshape_huge, r"node 'rs' \(Reshape, opset 17\): .*(too large|not a size|cannot)"),
    ("const_of_shape_huge", const_of_shape_huge, r"node 'cos' \(ConstantOfShape, opset 17\): the shape is too large"),
]
