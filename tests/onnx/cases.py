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


def pad_then(op_nodes, pads, value=None, opset=OPSET, axes=None, c=4, extra_inits=()):
    """Pad x (pads over all 4 axes, or over `axes`) with constant `value`, then op_nodes reading "p"."""
    def build(rng):
        inits = [i64("pads", pads)] + [f(rng) for f in extra_inits]
        ins = ["x", "pads"]
        if value is not None or axes is not None:
            ins.append("pv" if value is not None else "")
            if value is not None:
                inits.append(nh.from_array(np.float32(value), "pv"))
        if axes is not None:
            ins.append("pax")
            inits.append(i64("pax", axes))
        nodes = [h.make_node("Pad", ins, ["p"], name="pad", mode="constant")] + op_nodes
        return model(nodes, inits, c, opset=opset)
    return build


def conv_w(name, cout, cin, k):
    return lambda rng: w(rng, name, cout, cin, k, k)


PAD_TF = [0, 0, 0, 0, 0, 0, 1, 1]  # TF "SAME" for k3 s2 on an even size: one pixel at the bottom and the right
PAD_SYM = [0, 0, 1, 2, 0, 0, 1, 2]


def pad_two_readers(rng):
    """One Pad read by a conv (folded) and by an add (made real)."""
    inits = [i64("pads", PAD_SYM), w(rng, "cw", 4, 4, 3, 3), w(rng, "cw2", 4, 4, 1, 1)]
    nodes = [h.make_node("Pad", ["x", "pads"], ["p"], name="pad"),
             h.make_node("Conv", ["p", "cw"], ["a"], name="conv", pads=[1, 1, 1, 1]),
             h.make_node("Conv", ["p", "cw2"], ["b"], name="conv2", strides=[1, 1]),
             h.make_node("Relu", ["p"], ["r"], name="relu"),
             h.make_node("Add", ["b", "r"], ["y0"], name="add"),
             h.make_node("Concat", ["a", "y0"], ["y"], axis=1)]
    return model(nodes, inits, 4)


def channel_shuffle(rng):
    """ShuffleNet's shuffle: Reshape [N, g, C/g, H, W], Transpose (0, 2, 1, 3, 4), Reshape back."""
    inits = [w(rng, "cw", 8, 4, 1, 1), i64("s5", [0, 2, 4, 12, 12]), i64("s4", [0, 8, 12, 12])]
    nodes = [h.make_node("Conv", ["x", "cw"], ["c"], name="conv"),
             h.make_node("Reshape", ["c", "s5"], ["r5"], name="r5"),
             h.make_node("Transpose", ["r5"], ["t"], name="shuffle", perm=[0, 2, 1, 3, 4]),
             h.make_node("Reshape", ["t", "s4"], ["y"], name="r4")]
    return model(nodes, inits, 4)


def transpose_nhwc(rng):
    """A channels-last detour (convnext's permutes): NCHW -> NHWC, a per-channel scale on the last axis, back."""
    inits = [nh.from_array(rng.uniform(0.5, 1.5, 4).astype(np.float32), "gamma")]
    nodes = [h.make_node("Transpose", ["x"], ["t"], name="to_nhwc", perm=[0, 2, 3, 1]),
             h.make_node("Mul", ["t", "gamma"], ["m"], name="scale"),
             h.make_node("Transpose", ["m"], ["y"], name="to_nchw", perm=[0, 3, 1, 2])]
    return model(nodes, inits, 4)


def transpose_const_and_unit(rng):
    """A Transpose of an initializer (folded) as a conv's weight; one moving only size-1 axes (a reshape)."""
    inits = [w(rng, "wt", 4, 6, 1, 1)]
    nodes = [h.make_node("Transpose", ["wt"], ["cw"], perm=[1, 0, 2, 3]),
             h.make_node("Conv", ["x", "cw"], ["c"], name="conv"),
             h.make_node("GlobalAveragePool", ["c"], ["p"]),
             h.make_node("Transpose", ["p"], ["t"], name="unit", perm=[0, 2, 3, 1]),
             h.make_node("Flatten", ["t"], ["y"])]
    return model(nodes, inits, 4, ["N", 6])


def slice_channels(rng):
    """Channel slices of a computed tensor (a split's middle, an open end, a negative start) concatenated."""
    big = np.iinfo(np.int64).max
    inits = [w(rng, "cw", 8, 4, 1, 1), i64("s0", [2]), i64("e0", [6]), i64("ax1", [1]), i64("s1", [-3]),
             i64("e1", [big]), i64("s2", [0]), i64("e2", [3]), i64("st1", [1])]
    nodes = [h.make_node("Conv", ["x", "cw"], ["c"], name="conv"),
             h.make_node("Slice", ["c", "s0", "e0", "ax1"], ["a"], name="mid"),
             h.make_node("Slice", ["c", "s1", "e1", "ax1", "st1"], ["b"], name="tail"),
             h.make_node("Slice", ["c", "s2", "e2", "ax1"], ["d"], name="head"),
             h.make_node("Concat", ["b", "a", "d"], ["y"], name="cat", axis=1)]
    return model(nodes, inits, 4)


def slice_width(rng):
    inits = [i64("s", [1]), i64("e", [-1]), i64("ax", [3])]
    nodes = [h.make_node("Slice", ["x", "s", "e", "ax"], ["y"], name="crop")]
    return model(nodes, inits, 4)


def concat_many(rng):
    """DenseNet-like: 20 inputs into one Concat (more than a node takes)."""
    n = 20
    inits = [nh.from_array(np.float32((k + 1) / 7), f"k{k}") for k in range(n)]
    nodes = [h.make_node("Mul", ["x", f"k{k}"], [f"m{k}"]) for k in range(n)]
    nodes.append(h.make_node("Concat", [f"m{k}" for k in range(n)], ["y"], name="cat", axis=1))
    return model(nodes, inits, 4)


def gemm_case(trans_a=0, trans_b=1, alpha=1.0, beta=1.0, c_shape=(5,)):
    def build(rng):
        k, n = 4 * 6 * 6, 5
        bshape = (n, k) if trans_b else (k, n)
        inits = [w(rng, "B", *bshape)]
        nodes = [h.make_node("Flatten", ["x"], ["f"], axis=1)]
        a = "f"
        if trans_a:
            nodes.append(h.make_node("Transpose", ["f"], ["ft"], perm=[1, 0]))
            a = "ft"
        ins = [a, "B"]
        if c_shape is not None:
            inits.append(w(rng, "C", *c_shape))
            ins.append("C")
        nodes.append(h.make_node("Gemm", ins, ["y"], name="gemm", transA=trans_a, transB=trans_b, alpha=alpha,
                                 beta=beta))
        return model(nodes, inits, 4, ["N", n])
    return build


def reduce_case(op, axes, keepdims, opset, as_input):
    def build(rng):
        inits, ins, attrs = [], ["x"], {"keepdims": keepdims}
        if as_input:
            inits.append(i64("axes", axes))
            ins.append("axes")
        else:
            attrs["axes"] = axes
        return model([h.make_node(op, ins, ["y"], name="reduce", **attrs)], inits, 4, opset=opset)
    return build


def silu(rng):
    """PyTorch's SiLU export: Mul(x, Sigmoid(x)) after a conv (it becomes silu, fused into the conv)."""
    nodes = [h.make_node("Conv", ["x", "cw"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             h.make_node("Sigmoid", ["c"], ["s"], name="sig"),
             h.make_node("Mul", ["s", "c"], ["y"], name="silu")]
    return model(nodes, [w(rng, "cw", 6, 4, 3, 3)], 4)


def sigmoid_shared(rng):
    """A Sigmoid read by the Mul of a SiLU and by an Add: both made."""
    nodes = [h.make_node("Sigmoid", ["x"], ["s"], name="sig"),
             h.make_node("Mul", ["x", "s"], ["m"], name="silu"),
             h.make_node("Add", ["m", "s"], ["y"], name="add")]
    return model(nodes, [], 4)


def pad_shape_chain(rng):
    """timm's TF "SAME" padding as torch.onnx.export writes it when sizes are traced: Shape, Cast, Div, Ceil, Sub,
    Mul, Add, Max, Clip, Neg, Floor, ConstantOfShape, a reversing Slice (step -1) and a Transpose, all folded to
    the Pad's constant pads, which then fold into the conv."""
    big = np.iinfo(np.int64).max
    f32 = lambda name, v: nh.from_array(np.array(v, dtype=np.float32), name)
    inits = [w(rng, "cw", 6, 4, 3, 3), i64("s2", [2]), i64("e4", [4]), i64("ax0", [0]), f32("two", 2.0),
             f32("one", 1.0), f32("three", 3.0), f32("zero", 0.0), i64("n2", [2]), i64("m1", [-1]),
             i64("mbig", [-big]), i64("step", [-1]), i64("shape2", [2, 1])]
    zeros = h.make_tensor("zv", T.INT64, [1], [0])
    nodes = [
        h.make_node("Shape", ["x"], ["sh"]),
        h.make_node("Slice", ["sh", "s2", "e4", "ax0"], ["hw"]),
        h.make_node("Cast", ["hw"], ["hwf"], to=T.FLOAT),
        h.make_node("Div", ["hwf", "two"], ["q"]),
        h.make_node("Ceil", ["q"], ["c"]),
        h.make_node("Sub", ["c", "one"], ["t"]),
        h.make_node("Mul", ["t", "two"], ["t2"]),
        h.make_node("Add", ["t2", "three"], ["t3"]),
        h.make_node("Sub", ["t3", "hwf"], ["need"]),
        h.make_node("Max", ["need", "zero"], ["need0"]),
        h.make_node("Clip", ["need0", "zero"], ["needc"]),
        h.make_node("Neg", ["needc"], ["nn"]),
        h.make_node("Neg", ["nn"], ["np"]),
        h.make_node("Floor", ["np"], ["fl"]),
        h.make_node("Cast", ["fl"], ["pi"], to=T.INT64),
        h.make_node("Slice", ["pi", "m1", "mbig", "ax0", "step"], ["rev"]),
        h.make_node("Slice", ["rev", "m1", "mbig", "ax0", "step"], ["fwd"]),
        h.make_node("Reshape", ["fwd", "shape2"], ["col"]),
        h.make_node("Transpose", ["col"], ["row"], perm=[1, 0]),
        h.make_node("Reshape", ["row", "m1"], ["ends"]),
        h.make_node("ConstantOfShape", ["n2"], ["z2"], value=zeros),
        h.make_node("Concat", ["z2", "z2", "z2", "ends"], ["pads"], axis=0),
        h.make_node("Pad", ["x", "pads"], ["p"], name="pad"),
        h.make_node("Conv", ["p", "cw"], ["y"], name="conv", strides=[2, 2]),
    ]
    return model(nodes, inits, 4)


def split_attention(rng):
    """ResNeSt's split attention as timm exports it: a grouped conv, Reshape [N, R, C, H, W], ReduceSum over the
    radix axis, mean over H, W, fc1-relu-fc2, rSoftMax (Reshape, Transpose, Softmax over the radix), Mul and
    ReduceSum again."""
    inits = [w(rng, "cw", 8, 2, 3, 3), w(rng, "fc1.w", 3, 4, 1, 1), w(rng, "fc1.b", 3), w(rng, "fc2.w", 8, 3, 1, 1),
             w(rng, "fc2.b", 8), i64("s5", [0, 2, 4, 12, 12]), i64("ax1", [1]), i64("srs", [0, 1, 2, -1]),
             i64("s5a", [0, 2, 4, 1, 1]), i64("flat", [0, -1])]
    nodes = [h.make_node("Conv", ["x", "cw"], ["c"], name="conv", group=2, pads=[1, 1, 1, 1]),
             h.make_node("Relu", ["c"], ["r"]),
             h.make_node("Reshape", ["r", "s5"], ["r5"]),
             h.make_node("ReduceSum", ["r5", "ax1"], ["g"], name="radix_sum", keepdims=0),
             h.make_node("ReduceMean", ["g"], ["gm"], axes=[2, 3], keepdims=1),
             h.make_node("Conv", ["gm", "fc1.w", "fc1.b"], ["f1"], name="fc1"),
             h.make_node("Relu", ["f1"], ["f1r"]),
             h.make_node("Conv", ["f1r", "fc2.w", "fc2.b"], ["f2"], name="fc2"),
             h.make_node("Reshape", ["f2", "srs"], ["a4"]),
             h.make_node("Transpose", ["a4"], ["at"], perm=[0, 2, 1, 3]),
             h.make_node("Softmax", ["at"], ["sm"], axis=1),
             h.make_node("Reshape", ["sm", "flat"], ["smf"]),
             h.make_node("Reshape", ["smf", "s5a"], ["att"]),
             h.make_node("Mul", ["r5", "att"], ["m"], name="attend"),
             h.make_node("ReduceSum", ["m", "ax1"], ["y"], name="radix_sum2", keepdims=0)]
    return model(nodes, inits, 4)


def add_chain(rng):
    """A chain of five Adds over a Split's parts (more than one epilogue holds): the elementwise fusion must keep
    the chain's result (it once lost it: an absorbed add acted as an anchor again)."""
    n = 6
    nodes = [h.make_node("Split", ["x"], [f"p{k}" for k in range(n)], axis=3, num_outputs=n)]
    acc = "p0"
    for k in range(1, n):
        nodes.append(h.make_node("Add", [acc, f"p{k}"], [f"a{k}"]))
        acc = f"a{k}"
    nodes.append(h.make_node("Relu", [acc], ["y"]))
    return model(nodes, [], 4, opset=18)


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
    "pad": [
        ("pad_conv_tf_same", pad_then([h.make_node("Conv", ["p", "cw"], ["y"], name="conv", strides=[2, 2])], PAD_TF,
                                      extra_inits=[conv_w("cw", 6, 4, 3)]), R),
        ("pad_conv_plus_own", pad_then([h.make_node("Conv", ["p", "cw"], ["y"], name="conv", pads=[1, 0, 1, 0])],
                                       PAD_SYM, value=0.0, extra_inits=[conv_w("cw", 6, 4, 3)]), R),
        ("pad_maxpool_neginf", pad_then([h.make_node("MaxPool", ["p"], ["y"], name="pool", kernel_shape=[3, 3],
                                                     strides=[2, 2])], PAD_TF, value=-np.inf), R),
        ("pad_avgpool_zero", pad_then([h.make_node("AveragePool", ["p"], ["y"], name="pool", kernel_shape=[3, 3],
                                                   strides=[2, 2])], PAD_TF), R),
        ("pad_maxpool_zero_real", pad_then([h.make_node("MaxPool", ["p"], ["y"], name="pool", kernel_shape=[3, 3],
                                                        strides=[2, 2])], PAD_TF), R),
        ("pad_value_conv_real", pad_then([h.make_node("Conv", ["p", "cw"], ["y"], name="conv")], PAD_SYM, value=0.5,
                                         extra_inits=[conv_w("cw", 6, 4, 3)]), R),
        ("pad_relu_real", pad_then([h.make_node("Relu", ["p"], ["y"], name="relu")], [0, 0, 2, 0, 0, 0, 0, 3]), R),
        ("pad_opset18_axes", pad_then([h.make_node("Conv", ["p", "cw"], ["y"], name="conv", strides=[2, 2])],
                                      [0, 0, 1, 1], axes=[2, 3], opset=18, extra_inits=[conv_w("cw", 6, 4, 3)]), R),
        ("pad_two_readers", pad_two_readers, R),
        ("pad_shape_chain", pad_shape_chain, R),
    ],
    "layout": [
        ("channel_shuffle", channel_shuffle, R),
        ("transpose_nhwc_scale", transpose_nhwc, R),
        ("transpose_const_unit", transpose_const_and_unit, R),
        ("slice_channels", slice_channels, R),
        ("slice_width", slice_width, R),
        ("concat_many", concat_many, (4, 6, 6)),
        ("silu", silu, R),
        ("sigmoid_shared", sigmoid_shared, R),
        ("add_chain", add_chain, R),
    ],
    "gemm_reduce": [
        ("gemm_transB0", gemm_case(trans_b=0), (4, 6, 6)),
        ("gemm_alpha_beta", gemm_case(alpha=0.5, beta=2.0), (4, 6, 6)),
        ("gemm_transA", gemm_case(trans_a=1, trans_b=0, c_shape=(1, 5)), (4, 6, 6)),
        ("gemm_c_matrix", gemm_case(c_shape=(2, 5), beta=0.25), (4, 6, 6)),
        ("gemm_c_scalar_noc", gemm_case(c_shape=(), alpha=2.0), (4, 6, 6)),
        ("reducesum_opset13", reduce_case("ReduceSum", [2, 3], 1, 13, True), R),
        ("reducesum_nokeep", reduce_case("ReduceSum", [-1, -2], 0, 17, True), R),
        ("reducemax_opset18", reduce_case("ReduceMax", [2, 3], 1, 18, True), R),
        ("reducemax_attr", reduce_case("ReduceMax", [3, 2], 0, 13, False), R),
        ("reducemean_attr_nokeep", reduce_case("ReduceMean", [-2, -1], 0, 13, False), R),
        ("reducesum_channels", reduce_case("ReduceSum", [1], 1, 13, True), R),
        ("reducemean_channels_w_nokeep", reduce_case("ReduceMean", [1, 3], 0, 13, False), R),
        ("split_attention", split_attention, R),
    ],
}

# cases whose optimised graph (netc dump) must hold an op: the point of the mapping, not only its numbers
DUMP_HAS = {
    "silu": ["pad=1,1,1,1 then silu"],  # fused into the conv's epilogue
    "pad_conv_tf_same": ["k=3x3 s=2x2 pad=0,0,1,1 -> [2, 6, 6, 6]"],  # the Pad folded into the conv
    "pad_shape_chain": ["k=3x3 s=2x2 pad=0,0,1,1 -> [2, 6, 6, 6]"],
    "pad_maxpool_neginf": ["max_pool2d(%2) k=3x3 s=2x2 pad=0,0,1,1"],
    "channel_shuffle": ["transpose(%5) sizes=0,2,1,3,4"],
    "transpose_const_unit": ["reshape"],
}


def _unsupported():
    rng = np.random.default_rng(1)
    x4 = h.make_tensor_value_info("x", T.FLOAT, ["N", 4, "H", "W"])
    return [
        ("bad_op", model([h.make_node("Erf", ["x"], ["y"], name="erf1")], [], 4), "erf1", "Erf"),
        ("bad_gemm_runtime_b", model([h.make_node("Flatten", ["x"], ["f"]),
                                      h.make_node("Gemm", ["f", "f"], ["y"], name="g0", transB=1)], [], 4),
         "g0", "computed at run time"),
        ("bad_pad_reflect", model([h.make_node("Pad", ["x", "pads"], ["y"], name="p1", mode="reflect")],
                                  [i64("pads", PAD_SYM)], 4), "p1", "'reflect'"),
        ("bad_pad_channels", model([h.make_node("Pad", ["x", "pads"], ["p"], name="p2"),
                                    h.make_node("Relu", ["p"], ["y"])], [i64("pads", [0, 1, 0, 0, 0, 1, 0, 0])], 4),
         "p2", "axis 1"),
        ("bad_pad_neginf_relu", model([h.make_node("Pad", ["x", "pads", "v"], ["p"], name="p3"),
                                       h.make_node("Relu", ["p"], ["y"], name="r3")],
                                      [i64("pads", PAD_SYM), nh.from_array(np.float32(-np.inf), "v")], 4),
         "p3", "MaxPool"),
        ("bad_pad_negative", model([h.make_node("Pad", ["x", "pads"], ["y"], name="p4")],
                                   [i64("pads", [0, 0, -1, 0, 0, 0, 0, 0])], 4), "p4", "negative"),
        ("bad_transpose_perm", model([h.make_node("Transpose", ["x"], ["y"], name="t1", perm=[0, 1, 1, 2])], [], 4),
         "t1", "permutation"),
        ("bad_slice_step", model([h.make_node("Slice", ["x", "s", "e", "a", "st"], ["y"], name="sl1")],
                                 [i64("s", [0]), i64("e", [4]), i64("a", [1]), i64("st", [2])], 4), "sl1", "step"),
        ("bad_reducesum_wide", model([h.make_node("ReduceSum", ["x", "a"], ["y"], name="rs1")],
                                     [i64("a", [1])], 20), "rs1", "at most 16 slices"),
        ("bad_attr", model([h.make_node("Conv", ["x", "cw"], ["y"], name="c1", foo=3)],
                           [w(rng, "cw", 4, 4, 1, 1)], 4), "c1", "'foo'"),
        ("bad_runtime_weight", model([h.make_node("Conv", ["x", "x"], ["y"], name="c2")], [], 4), "c2", "constant"),
        ("bad_sub_runtime", model([h.make_node("Relu", ["x"], ["r"]), h.make_node("Sub", ["x", "r"], ["y"], name="s1")],
                                  [], 4), "s1", "Sub"),
        ("bad_undefined", model([h.make_node("Relu", ["nothing"], ["y"], name="r1")], [], 4), "r1", "'nothing'"),
        ("bad_reduce_axis", model([h.make_node("ReduceMax", ["x"], ["y"], name="rm", axes=[1])], [], 4), "rm",
         "maximum over axes other than H and W"),
        ("bad_opset", model([h.make_node("Relu", ["x"], ["y"])], [], 4, opset=11), None, "opset 11"),
        ("bad_div_runtime", model([h.make_node("Div", ["k", "x"], ["y"], name="d1")],
                                  [nh.from_array(np.float32(1), "k")], 4), "d1", "Div"),
        ("bad_3d_conv", model([h.make_node("Conv", ["x", "cw"], ["y"], name="c3")],
                              [w(rng, "cw", 4, 4, 1, 1, 1)], 4), "c3", "2-d"),
    ]


UNSUPPORTED = _unsupported
