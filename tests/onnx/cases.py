"""cases.py — ONNX graphs built with onnx.helper, one per op and attribute variant, and small networks.

Each case is (name, builder, res) where builder(rng) returns a ModelProto whose one input is "x" [N, C, H, W]
with symbolic N, H, W (so netc takes --res and --batch), and res is the (C, H, W) the test feeds it.
UNSUPPORTED lists graphs netc must refuse with exit 2, naming the node.
"""
import numpy as np
from onnx import TensorProto as T, helper as h, numpy_helper as nh

OPSET = 17


def model(nodes, inits, c, out_shape=None, opset=OPSET, extra_inputs=()):
    """The graph of nodes reading "x" [N, c, H, W]; compiled programs take RGB images, so where c is not 3 the
    input is "img" [N, 3, H, W] and a fixed 1x1 conv "adapt" makes x from it."""
    name = "x"
    if c != 3:
        name = "img"
        a = np.random.default_rng(c).standard_normal((c, 3, 1, 1)).astype(np.float32)
        nodes = [h.make_node("Conv", ["img", "adapt.weight"], ["x"], name="adapt")] + list(nodes)
        inits = [nh.from_array(a, "adapt.weight")] + list(inits)
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info(name, T.FLOAT, ["N", 3, "H", "W"])] + list(extra_inputs),
                     [h.make_tensor_value_info("y", T.FLOAT, out_shape)], inits)
    return h.make_model(g, opset_imports=[h.make_opsetid("", opset)])


def w(rng, name, *shape, lo=None):
    a = rng.standard_normal(shape).astype(np.float32)
    if lo is not None:
        a = rng.uniform(lo, lo + 1, shape).astype(np.float32)
    return nh.from_array(a, name)


def i64(name, vals):
    return nh.from_array(np.array(vals, dtype=np.int64), name)


def conv(rng, cin=4, cout=8, k=3, bias=True, **attrs):
    def build(rng):
        ins = ["x", "conv.weight"] + (["conv.bias"] if bias else [])
        g = attrs.get("group", 1)
        kh, kw = (k, k) if isinstance(k, int) else k
        inits = [w(rng, "conv.weight", cout, cin // g, kh, kw)]
        if bias:
            inits.append(w(rng, "conv.bias", cout))
        return model([h.make_node("Conv", ins, ["y"], name="conv", **attrs)], inits, cin)
    return build


def single(op, c=4, inits=(), ins=("x",), **attrs):
    def build(rng):
        return model([h.make_node(op, list(ins), ["y"], name=op.lower(), **attrs)],
                     [f(rng) for f in inits], c)
    return build


def binary(op, shape, const_first=False, runtime_other=False):
    """x (op) c with c of `shape` (broadcast), or c (op) x; runtime_other: x (op) relu(x)-shaped tensor."""
    def build(rng):
        if runtime_other:
            nodes = [h.make_node("GlobalAveragePool", ["x"], ["p"]), h.make_node(op, ["x", "p"], ["y"], name="bin")]
            return model(nodes, [], 4)
        c = rng.uniform(0.5, 1.5, shape).astype(np.float32)  # away from 0, for Div
        ins = ["c", "x"] if const_first else ["x", "c"]
        return model([h.make_node(op, ins, ["y"], name="bin")], [nh.from_array(c, "c")], 4)
    return build


def small_cnn(rng):
    """conv-bn-relu, a depthwise conv with SAME_UPPER, clip 0..6, a squeeze-excite gate, a residual, pools, gemm."""
    inits = [w(rng, "stem.weight", 8, 3, 3, 3), w(rng, "bn.weight", 8), w(rng, "bn.bias", 8), w(rng, "bn.mean", 8),
             nh.from_array(rng.uniform(0.5, 1.5, 8).astype(np.float32), "bn.var"),
             w(rng, "dw.weight", 8, 1, 3, 3), w(rng, "se.fc1.weight", 4, 8, 1, 1), w(rng, "se.fc1.bias", 4),
             w(rng, "se.fc2.weight", 8, 4, 1, 1), w(rng, "se.fc2.bias", 8), w(rng, "head.weight", 10, 8),
             w(rng, "head.bias", 10), nh.from_array(np.float32(0), "zero"), nh.from_array(np.float32(6), "six")]
    nodes = [
        h.make_node("Conv", ["x", "stem.weight"], ["s"], name="stem", strides=[2, 2], pads=[1, 1, 1, 1]),
        h.make_node("BatchNormalization", ["s", "bn.weight", "bn.bias", "bn.mean", "bn.var"], ["b"], name="bn",
                    epsilon=1e-3),
        h.make_node("Relu", ["b"], ["r"], name="relu"),
        h.make_node("Conv", ["r", "dw.weight"], ["d"], name="dw", group=8, auto_pad="SAME_UPPER"),
        h.make_node("Clip", ["d", "zero", "six"], ["d6"], name="relu6"),
        h.make_node("GlobalAveragePool", ["d6"], ["p"], name="se.pool"),
        h.make_node("Conv", ["p", "se.fc1.weight", "se.fc1.bias"], ["p1"], name="se.fc1"),
        h.make_node("Relu", ["p1"], ["p1r"]),
        h.make_node("Conv", ["p1r", "se.fc2.weight", "se.fc2.bias"], ["p2"], name="se.fc2"),
        h.make_node("Sigmoid", ["p2"], ["gate"]),
        h.make_node("Mul", ["d6", "gate"], ["se"], name="se.mul"),
        h.make_node("Add", ["se", "r"], ["res"], name="residual"),
        h.make_node("MaxPool", ["res"], ["mp"], name="pool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        h.make_node("ReduceMean", ["mp"], ["gm"], name="mean", axes=[2, 3], keepdims=1),
        h.make_node("Flatten", ["gm"], ["f"], name="flatten"),
        h.make_node("Gemm", ["f", "head.weight", "head.bias"], ["y"], name="head", transB=1),
    ]
    return model(nodes, inits, 3, ["N", 10], opset=OPSET)


def shape_chain(rng):
    """torch's dynamic flatten: Shape -> Gather -> Unsqueeze -> Concat -> Reshape, then MatMul + Add and Softmax."""
    inits = [i64("idx0", 0), i64("ax0", [0]), i64("minus1", [-1]), w(rng, "fc.weight_t", 4, 6), w(rng, "fc.bias", 6)]
    nodes = [
        h.make_node("GlobalAveragePool", ["x"], ["p"]),
        h.make_node("Shape", ["p"], ["sh"]),
        h.make_node("Gather", ["sh", "idx0"], ["n"], axis=0),
        h.make_node("Unsqueeze", ["n", "ax0"], ["n1"]),
        h.make_node("Concat", ["n1", "minus1"], ["target"], axis=0),
        h.make_node("Reshape", ["p", "target"], ["f"], name="reshape"),
        h.make_node("MatMul", ["f", "fc.weight_t"], ["mm"], name="fc"),
        h.make_node("Add", ["mm", "fc.bias"], ["logits"], name="fc.add"),
        h.make_node("Softmax", ["logits"], ["y"], name="softmax", axis=-1),
    ]
    return model(nodes, inits, 4, ["N", 6])


def concat_split(rng):
    inits = [i64("sizes", [3, 5]), w(rng, "a.weight", 4, 4, 1, 1), w(rng, "b.weight", 4, 4, 3, 3)]
    nodes = [
        h.make_node("Conv", ["x", "a.weight"], ["a"], name="a"),
        h.make_node("Conv", ["x", "b.weight"], ["b"], name="b", pads=[1, 1, 1, 1]),
        h.make_node("Concat", ["a", "b"], ["c"], name="cat", axis=1),
        h.make_node("Split", ["c", "sizes"], ["s0", "s1"], name="split", axis=1),
        h.make_node("Sigmoid", ["s0"], ["g0"]),
        h.make_node("Relu", ["s1"], ["g1"]),
        h.make_node("Concat", ["g1", "g0"], ["y"], name="cat2", axis=1),
    ]
    return model(nodes, inits, 4)


def constant_identity(rng):
    scale = h.make_tensor("cv", T.FLOAT, [1, 4, 1, 1], rng.standard_normal(4).astype(np.float32).tolist())
    nodes = [
        h.make_node("Constant", [], ["k"], value=scale),
        h.make_node("Identity", ["x"], ["xi"]),
        h.make_node("Mul", ["xi", "k"], ["m"], name="scale"),
        h.make_node("Constant", [], ["two"], value_float=2.0),
        h.make_node("Div", ["m", "two"], ["y"], name="half"),
    ]
    return model(nodes, [], 4)


def hard(rng):
    nodes = [h.make_node("HardSigmoid", ["x"], ["a"], alpha=0.3, beta=0.4), h.make_node("HardSwish", ["a"], ["b"]),
             h.make_node("Add", ["a", "b"], ["y"])]
    return model(nodes, [], 4)


def reduce18(rng):
    nodes = [h.make_node("ReduceMean", ["x", "axes"], ["y"], name="mean", keepdims=0)]
    return model(nodes, [i64("axes", [-1, -2])], 4, opset=18)


def split18(rng):
    nodes = [h.make_node("Split", ["x"], ["a", "b", "c"], axis=1, num_outputs=3),
             h.make_node("Concat", ["c", "a", "b"], ["y"], axis=1)]
    return model(nodes, [], 8, opset=18)


def gemm_only(rng):
    nodes = [h.make_node("Flatten", ["x"], ["f"], axis=1),
             h.make_node("Gemm", ["f", "w", "b"], ["y"], name="gemm", transB=1)]
    return model(nodes, [w(rng, "w", 5, 4 * 6 * 6), w(rng, "b", 5)], 4, ["N", 5])


R = (4, 12, 12)
CASES = {
    "conv": [
        ("conv_basic", conv(None, pads=[1, 1, 1, 1]), R),
        ("conv_nobias_valid", conv(None, bias=False), R),
        ("conv_pads_asym", conv(None, pads=[0, 1, 2, 1], strides=[2, 2]), R),
        ("conv_same_upper", conv(None, auto_pad="SAME_UPPER", strides=[2, 2]), (4, 11, 13)),
        ("conv_same_lower", conv(None, auto_pad="SAME_LOWER", strides=[2, 2], k=4), (4, 11, 13)),
        ("conv_auto_valid", conv(None, auto_pad="VALID", strides=[2, 1]), R),
        ("conv_groups", conv(None, cin=8, cout=8, group=2, pads=[1, 1, 1, 1]), (8, 12, 12)),
        ("conv_depthwise", conv(None, cin=8, cout=8, group=8, pads=[1, 1, 1, 1], strides=[2, 2]), (8, 12, 12)),
        ("conv_dilation", conv(None, dilations=[2, 2], pads=[2, 2, 2, 2]), R),
        ("conv_rect_kernel", conv(None, k=(1, 5), pads=[0, 2, 0, 2]), R),
        ("conv_1x1", conv(None, k=1), R),
    ],
    "pool": [
        ("maxpool", single("MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), R),
        ("maxpool_ceil", single("MaxPool", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1), (4, 12, 12)),
        ("maxpool_same_upper", single("MaxPool", kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
         (4, 11, 11)),
        ("maxpool_default_stride", single("MaxPool", kernel_shape=[2, 2]), R),
        ("avgpool", single("AveragePool", kernel_shape=[2, 2], strides=[2, 2]), R),
        ("avgpool_pad_exclude", single("AveragePool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), R),
        ("avgpool_pad_include", single("AveragePool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                       count_include_pad=1), R),
        ("avgpool_ceil", single("AveragePool", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1), (4, 12, 12)),
        ("avgpool_ceil_pad_include", single("AveragePool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                            ceil_mode=1, count_include_pad=1), (4, 12, 12)),
        ("avgpool_asym_pads", single("AveragePool", kernel_shape=[3, 3], strides=[1, 1], pads=[0, 1, 1, 0]), R),
        ("global_avg", single("GlobalAveragePool"), R),
        ("global_max", single("GlobalMaxPool"), R),
        ("reducemean_keep", single("ReduceMean", axes=[2, 3], keepdims=1), R),
        ("reducemean_opset18", reduce18, R),
    ],
    "eltwise": [
        ("relu", single("Relu"), R),
        ("sigmoid", single("Sigmoid"), R),
        ("clip_relu6", single("Clip", ins=("x", "lo", "hi"), inits=(lambda r: nh.from_array(np.float32(0), "lo"),
                                                                   lambda r: nh.from_array(np.float32(6), "hi"))), R),
        ("clip_range", single("Clip", ins=("x", "lo", "hi"), inits=(lambda r: nh.from_array(np.float32(-.5), "lo"),
                                                                   lambda r: nh.from_array(np.float32(.7), "hi"))), R),
        ("clip_min_only", single("Clip", ins=("x", "lo"), inits=(lambda r: nh.from_array(np.float32(0), "lo"),)), R),
        ("hard_sigmoid_swish", hard, R),
        ("add_channel", binary("Add", (1, 4, 1, 1)), R),
        ("add_c11_rank3", binary("Add", (4, 1, 1)), R),
        ("mul_scalar", binary("Mul", ()), R),
        ("mul_width", binary("Mul", (12,)), R),
        ("mul_const_first", binary("Mul", (4, 1, 1), const_first=True), R),
        ("sub_const", binary("Sub", (1, 4, 1, 1)), R),
        ("sub_const_first", binary("Sub", (4, 1, 1), const_first=True), R),
        ("div_const", binary("Div", (1, 4, 1, 1)), R),
        ("mul_runtime_broadcast", binary("Mul", None, runtime_other=True), R),
        ("add_runtime_broadcast", binary("Add", None, runtime_other=True), R),
        ("constant_identity_div", constant_identity, R),
    ],
    "shape": [
        ("gemm", gemm_only, (4, 6, 6)),
        ("shape_chain_matmul_softmax", shape_chain, R),
        ("concat_split", concat_split, R),
        ("split_opset18", split18, (8, 6, 6)),
        ("flatten_softmax", lambda rng: model([h.make_node("Flatten", ["x"], ["f"]),
                                               h.make_node("Softmax", ["f"], ["y"], axis=1)], [], 4, ["N", 64]),
         (4, 4, 4)),
    ],
    "net": [
        ("small_cnn", small_cnn, (3, 32, 32)),
    ],
}


def _unsupported():
    rng = np.random.default_rng(1)
    x4 = h.make_tensor_value_info("x", T.FLOAT, ["N", 4, "H", "W"])
    return [
        ("bad_op", model([h.make_node("Erf", ["x"], ["y"], name="erf1")], [], 4), "erf1", "Erf"),
        ("bad_gemm_transB0", model([h.make_node("Flatten", ["x"], ["f"]),
                                    h.make_node("Gemm", ["f", "w"], ["y"], name="g0", transB=0)],
                                   [w(rng, "w", 4 * 12 * 12, 3)], 4), "g0", "transB=0"),
        ("bad_attr", model([h.make_node("Conv", ["x", "cw"], ["y"], name="c1", foo=3)],
                           [w(rng, "cw", 4, 4, 1, 1)], 4), "c1", "'foo'"),
        ("bad_runtime_weight", model([h.make_node("Conv", ["x", "x"], ["y"], name="c2")], [], 4), "c2", "constant"),
        ("bad_sub_runtime", model([h.make_node("Relu", ["x"], ["r"]), h.make_node("Sub", ["x", "r"], ["y"], name="s1")],
                                  [], 4), "s1", "Sub"),
        ("bad_undefined", model([h.make_node("Relu", ["nothing"], ["y"], name="r1")], [], 4), "r1", "'nothing'"),
        ("bad_reduce_axis", model([h.make_node("ReduceMean", ["x"], ["y"], name="rm", axes=[1])], [], 4), "rm",
         "spatial"),
        ("bad_opset", model([h.make_node("Relu", ["x"], ["y"])], [], 4, opset=11), None, "opset 11"),
        ("bad_div_runtime", model([h.make_node("Div", ["k", "x"], ["y"], name="d1")],
                                  [nh.from_array(np.float32(1), "k")], 4), "d1", "Div"),
        ("bad_3d_conv", model([h.make_node("Conv", ["x", "cw"], ["y"], name="c3")],
                              [w(rng, "cw", 4, 4, 1, 1, 1)], 4), "c3", "2-d"),
    ]


UNSUPPORTED = _unsupported
