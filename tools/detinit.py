"""detinit.py — the deterministic initialiser, bit-identical to runtime/support/detinit.c.

Every parameter and buffer of a model (except num_batches_tracked) and the model
input get values that depend only on the tensor's timm name, its shape and the
flattened (row-major) element index.  The contract (see runtime/support/detinit.h):

  fnv1a64(name): h = 0xcbf29ce484222325; per UTF-8 byte b: h ^= b; h *= 0x100000001b3
  mix(x):        SplitMix64 finaliser
  u(name, i):    h = mix(fnv1a64(name) + i * 0x9E3779B97F4A7C15)
                 v = (h >> 40) * 2^-24 * 2.0 - 1.0                 (double, in [-1, 1))
  ndim >= 2:                       v * sqrt(3.0 / prod(shape[1:]))
  ndim <= 1, name .running_var:    1.0 + 0.2 * v
  ndim <= 1, name .running_mean:   0.1 * v
  ndim <= 1, name .weight:         1.0 + 0.2 * v
  ndim <= 1, other (.bias, ...):   0.1 * v
  computed in float64, rounded once to float32.
  input (recipe "det:input"): element i of the flattened NCHW batch = u("input", i).

Only numpy is needed for the arrays; init_state_dict() needs torch.
"""
import math

import numpy as np

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S40 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(40)

CHUNK = 1 << 20  # elements per vectorised step (bounds temporary memory, stays cache-friendly)


def fnv1a64(name):
    h = _FNV_OFFSET
    for b in name.encode("utf-8"):
        h ^= b
        h = (h * _FNV_PRIME) & _MASK
    return h


def _mix(z):
    """SplitMix64 finaliser on a uint64 array, in place where possible."""
    z += _GOLDEN
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return z


def _uniform_range(key, start, stop):
    i = np.arange(start, stop, dtype=np.uint64)
    i *= _GOLDEN
    i += np.uint64(key)
    h = _mix(i)
    v = (h >> _S40).astype(np.float64)
    v *= 2.0 ** -24
    v *= 2.0
    v -= 1.0
    return v


def uniform(name, n):
    """u(name, i) for i in [0, n) as a float64 array."""
    key = fnv1a64(name)
    out = np.empty(n, dtype=np.float64)
    for s in range(0, n, CHUNK):
        e = min(n, s + CHUNK)
        out[s:e] = _uniform_range(key, s, e)
    return out


def _rule(name, shape):
    """(kind, a): value = a*v ('scale') or 1.0 + a*v ('one_plus')."""
    if len(shape) >= 2:
        fan_in = 1
        for d in shape[1:]:
            fan_in *= int(d)
        return "scale", math.sqrt(3.0 / fan_in)
    if name.endswith(".running_var") or name.endswith(".weight"):
        return "one_plus", 0.2
    return "scale", 0.1


def is_skipped(name):
    return name.endswith("num_batches_tracked")


def fill_param(name, shape):
    """The float32 array (of `shape`) for parameter/buffer `name`."""
    shape = tuple(int(d) for d in shape)
    n = 1
    for d in shape:
        n *= d
    key = fnv1a64(name)
    kind, a = _rule(name, shape)
    out = np.empty(n, dtype=np.float32)
    for s in range(0, n, CHUNK):
        e = min(n, s + CHUNK)
        v = _uniform_range(key, s, e)
        if kind == "scale":
            v *= a          # v * a  (== a * v bitwise: multiplication commutes)
        else:
            v *= a
            v += 1.0        # 1.0 + a * v
        out[s:e] = v        # one rounding float64 -> float32 (nearest-even)
    return out.reshape(shape)


def input_tensor(shape):
    """The det:input tensor of NCHW `shape`, float32."""
    shape = tuple(int(d) for d in shape)
    n = 1
    for d in shape:
        n *= d
    return uniform("input", n).astype(np.float32).reshape(shape)


def init_state_dict(model):
    """Fill every parameter and buffer of torch module `model` in place (keeps
    each tensor's dtype and device), except num_batches_tracked.  Returns the
    number of elements filled."""
    import torch

    total = 0
    with torch.no_grad():
        for name, t in model.state_dict(keep_vars=True).items():
            if is_skipped(name):
                continue
            if not t.is_floating_point():
                raise ValueError(f"detinit: {name}: non-float tensor {t.dtype} not covered by the recipe")
            arr = fill_param(name, tuple(t.shape))
            t.data.copy_(torch.from_numpy(arr))
            total += arr.size
    return total
