"""The torch side of flashtune.attention: the custom op ``flashtune::attention`` (torch.library.custom_op, with a
fake implementation), so that torch.compile(fullgraph=True) keeps the call in its graph. Imported on the first
call with torch tensors, or with flashtune when torch was imported first.

The op allocates O and the LSE with torch (the caching allocator, CUDA-graph safe), passes them down with the
inputs described by their fields (no DLPack round trip per call), and launches on torch's current stream of the
inputs' device, in that device's primary context (the one torch uses).
"""

from typing import Optional, Tuple

import torch

import flashtune
from flashtune import _flashtune as _C
from flashtune._errors import ArgumentTypeError, InvalidArgumentError

_DTYPE_NAMES = {}


def _dtype_name(dtype):
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype).replace("torch.", "")
    return name


def _desc(t):
    """(data pointer, shape, strides, dtype name, device type, device index), as _flashtune takes a tensor."""
    d = t.device
    return (t.data_ptr(), t.shape, t.stride(), _dtype_name(t.dtype), d.type, 0 if d.index is None else d.index)


def _meta_desc(t):
    return (0, t.shape, t.stride(), _dtype_name(t.dtype), t.device.type, 0)


_raw_stream = getattr(torch._C, "_cuda_getCurrentRawStream", None)


def _current_stream(t):
    if t.device.type != "cuda":
        return 0  # refused by the device check before any stream is used
    if _raw_stream is not None:
        return _raw_stream(t.device.index)
    return torch.cuda.current_stream(t.device).cuda_stream


@torch.library.custom_op("flashtune::attention", mutates_args=())
def _attention_op(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: bool,
    scale: Optional[float],
    template: Optional[str],
    window_left: int = -1,
    window_right: int = -1,
    softcap: float = 0.0,
) -> Tuple[torch.Tensor, torch.Tensor]:
    o = torch.empty_like(q)
    lse = q.new_empty(q.shape[:-1], dtype=torch.float32)
    _C._attention_desc(
        _desc(q), _desc(k), _desc(v), o.data_ptr(), lse.data_ptr(), causal, scale, template, _current_stream(q),
        window_left, window_right, softcap, o.stride(),
    )
    return o, lse


@_attention_op.register_fake
def _attention_fake(q, k, v, causal, scale, template, window_left=-1, window_right=-1, softcap=0.0):
    # The same metadata checks as a real call, at trace time, where the shapes are known ints.
    if all(type(s) is int for t in (q, k, v) for s in (*t.shape, *t.stride())):
        _C._check(
            _meta_desc(q), _meta_desc(k), _meta_desc(v), causal, scale, template, window_left, window_right, softcap
        )
    return torch.empty_like(q), q.new_empty(q.shape[:-1], dtype=torch.float32)


_is_compiling = torch.compiler.is_compiling
_empty_like = torch.empty_like
_Tensor = torch.Tensor
_float32 = torch.float32


def attention(q, k, v, causal, scale, return_lse, template, stream, window_left=-1, window_right=-1, softcap=0.0):
    """flashtune.attention for torch tensors (the arguments are checked by flashtune.attention)."""
    if stream is None and type(q) is _Tensor and type(k) is _Tensor and type(v) is _Tensor and not _is_compiling():
        # Eager: the runtime called directly, without the dispatcher's Python round trip (the op costs ~28 us a
        # call on an H100, more than the kernel of a small problem); the extension reads the tensors'
        # attributes itself; no LSE tensor unless asked (the runtime writes it to its own scratch). Traced code
        # (torch.compile, fake tensors) takes the op.
        o = _empty_like(q)
        lse = q.new_empty(q.shape[:-1], dtype=_float32) if return_lse else None
        _C._attention_torch(q, k, v, o, lse, causal, scale, template, window_left, window_right, softcap)
        return (o, lse) if return_lse else o
    if stream is not None:
        e = InvalidArgumentError(
            "stream: torch tensors run on torch's current stream; choose it with torch.cuda.stream(s)"
        )
        e.argument = "stream"
        raise e
    for name, t in (("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor):
            e = ArgumentTypeError(f"{name}: expected a torch.Tensor like q, got {type(t).__name__}")
            e.argument = name
            raise e
    o, lse = torch.ops.flashtune.attention(q, k, v, causal, scale, template, window_left, window_right, softcap)
    return (o, lse) if return_lse else o


def bench_runtime(q, k, v, o, causal=False, template=None, calls=1000):
    """Microseconds per call of the C++ Runtime::attention on these tensors (host wall time of `calls` calls,
    one synchronize at the end): the floor under attention()'s per-call overhead (bench/python)."""
    return _C._bench_runtime(
        _desc(q), _desc(k), _desc(v), o.data_ptr(), 0, causal, template, _current_stream(q), calls
    )


_C._torch_init(torch.bfloat16, torch.float16, _raw_stream if _raw_stream is not None else
               (lambda index: torch.cuda.current_stream(index).cuda_stream))
flashtune._torch_tensor_type = torch.Tensor  # flashtune.attention's test for torch tensors from now on
