"""Shared helpers: whether a GPU (and torch with CUDA) is here, and FakeDLPack, a tensor that exports DLPack
metadata of our choosing (a device, a dtype numpy lacks) without any memory behind it."""

import ctypes
import math
import importlib.util

import pytest

import flashtune

HAS_GPU = flashtune.info()["gpu"] != "none"


def torch_cuda():
    """torch, when it is installed with a usable CUDA device; else None."""
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    return torch if torch.cuda.is_available() else None


requires_torch_cuda = pytest.mark.skipif(
    not HAS_GPU or torch_cuda() is None, reason="needs a CUDA GPU and torch with CUDA"
)


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", _DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", _DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class _DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", ctypes.c_void_p)]


_PyCapsule_New = ctypes.pythonapi.PyCapsule_New
_PyCapsule_New.restype = ctypes.py_object
_PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]

DEVICE = {"cpu": 1, "cuda": 2, "cuda_host": 3, "cuda_managed": 13}
DTYPE = {
    "bfloat16": (4, 16), "float16": (2, 16), "float32": (2, 32), "int8": (0, 8), "int32": (0, 32), "int64": (0, 64)
}


class FakeDLPack:
    """Exports a DLPack tensor with this shape, dtype and device, pointing at `data` (never dereferenced: use
    it only where flashtune refuses the call before any launch)."""

    def __init__(self, shape, dtype="bfloat16", device="cuda", device_id=0, strides=None, data=0x7F0000000000):
        self.shape = tuple(shape)
        self.dtype = dtype
        self._keep = []
        n = len(shape)
        self._shape = (ctypes.c_int64 * max(n, 1))(*shape)
        if strides is None:
            strides, acc = [], 1
            for e in reversed(shape):
                strides.insert(0, acc)
                acc *= e
        self._strides = (ctypes.c_int64 * max(n, 1))(*strides)
        code, bits = DTYPE[dtype]
        self._device = (DEVICE[device], device_id)
        self._tensor = _DLManagedTensor()
        t = self._tensor.dl_tensor
        t.data = data
        t.device = _DLDevice(*self._device)
        t.ndim = n
        t.dtype = _DLDataType(code, bits, 1)
        t.shape = ctypes.cast(self._shape, ctypes.POINTER(ctypes.c_int64))
        t.strides = ctypes.cast(self._strides, ctypes.POINTER(ctypes.c_int64))

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        if max_version is not None:
            raise TypeError("unversioned only")  # the consumer then asks again without max_version
        return _PyCapsule_New(ctypes.addressof(self._tensor), b"dltensor", None)

    def __dlpack_device__(self):
        return self._device


def check_torch_argument_errors(q):
    """flashtune.attention on torch tensors shaped like `q` names the argument in each refusal: a dtype that
    differs from q's, a k whose head_dim is strided, a stream given with torch tensors, a v that is not a
    tensor."""
    import torch

    cases = [
        (flashtune.ArgumentTypeError, "k", lambda: flashtune.attention(q, q.half(), q)),
        (flashtune.InvalidArgumentError, "k", lambda: flashtune.attention(q, torch.cat([q, q], -1)[..., ::2], q)),
        (flashtune.InvalidArgumentError, "stream", lambda: flashtune.attention(q, q, q, stream=0)),
        (flashtune.ArgumentTypeError, "v", lambda: flashtune.attention(q, q, [1])),
    ]
    for error, argument, call in cases:
        with pytest.raises(error) as e:
            call()
        assert e.value.argument == argument
    with pytest.raises(flashtune.InvalidArgumentError) as e:
        flashtune.attention(q, torch.cat([q, q], -1)[..., ::2], q)
    assert "k.contiguous()" in str(e.value)


# ---- the GPU tests' shared pieces (test_variants_gpu.py, test_varlen_gpu.py)

# Bounds of the C++ verification (docs/verification.md) on max |O - reference|.
MAX_ABS = {"bfloat16": 4e-2, "float16": 5e-3}


def templates():
    """None (the runtime's choice) and each template this GPU runs."""
    torch = torch_cuda()
    if torch is None:
        return [None]
    major, _ = torch.cuda.get_device_capability()
    return [None, "fa2_fwd"] + (["hopper_fwd"] if major == 9 else [])


def rand(shape, dtype, seed):
    torch = torch_cuda()
    g = torch.Generator(device="cuda").manual_seed(seed)
    return torch.randn(*shape, device="cuda", dtype=dtype, generator=g)


def mask_of(n, nk, causal, window, device="cuda"):
    """[n, nk] bool: key j seen by query i, the queries aligned to the end of the keys (bottom-right,
    off = nk - n): (not causal or j <= i + off), window sides j >= i + off - left, j <= i + off + right."""
    torch = torch_cuda()
    i = torch.arange(n, device=device)[:, None] + (nk - n)
    j = torch.arange(nk, device=device)[None, :]
    seen = torch.ones(n, nk, dtype=torch.bool, device=device)
    if causal:
        seen &= j <= i
    if window is not None:
        left, right = window
        if left is not None:
            seen &= j >= i - left
        if right is not None:
            seen &= j <= i + right
    return seen


def reference(q, k, v, causal=False, window=None, softcap=None, scale=None, mask=None):
    """O and LSE in fp32 from the definitions: key/value head h // group, key j seen by query i iff
    j < seqlen_k, (not causal or j <= i + off), window sides (j >= i + off - left, j <= i + off + right) with
    off = seqlen_k - seqlen, and mask[i, j] where a [seqlen, seqlen_k] bool mask is given (a block-sparse
    layout, expanded); scores scaled, then capped."""
    torch = torch_cuda()
    b, h, n, d = q.shape
    hk, nk = k.shape[1], k.shape[2]
    kf = k.float().repeat_interleave(h // hk, dim=1)
    vf = v.float().repeat_interleave(h // hk, dim=1)
    s = (q.float() @ kf.transpose(-1, -2)) * (scale if scale is not None else 1.0 / math.sqrt(d))
    if softcap is not None:
        s = softcap * torch.tanh(s / softcap)
    seen = mask_of(n, nk, causal, window, q.device)
    if mask is not None:
        seen &= mask
    s = s.masked_fill(~seen, float("-inf"))
    lse = torch.logsumexp(s, dim=-1)
    p = torch.exp(s - torch.where(torch.isinf(lse), torch.zeros_like(lse), lse)[..., None])
    return p @ vf, lse


def refused(cls, argument, *args, match=None, **kwargs):
    """flashtune.attention(*args, **kwargs) raises cls naming `argument` (and `match` in its text)."""
    with pytest.raises(cls) as e:
        flashtune.attention(*args, **kwargs)
    err = e.value
    assert isinstance(err, flashtune.Error)
    assert err.argument == argument, str(err)
    assert str(err).startswith(argument + ":"), str(err)
    if match is not None:
        assert match in str(err), str(err)
    return err
