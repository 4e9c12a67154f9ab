"""The torch side of flashtune.attention: the custom op ``flashtune::attention`` (torch.library.custom_op, with a
fake implementation), so that torch.compile(fullgraph=True) keeps the call in its graph. Imported on the first
call with torch tensors, or with flashtune when torch was imported first.

The op allocates O and the LSE with torch (the caching allocator, CUDA-graph safe), passes them down with the
inputs described by their fields (no DLPack round trip per call), and launches on torch's current stream of the
inputs' device, in that device's primary context (the one torch uses).

Variable lengths: the op takes the cu_seqlens tensors and the max_seqlens as optional trailing arguments; a
max_seqlen left None is read from the cu_seqlens inside the op (one device-to-host copy), so that traced code
keeps the op whole (torch.compile(fullgraph=True) sees no data-dependent host read).

Block-sparse: the op takes a BlockSparse's lists (int32 tensors), block and density as optional trailing
arguments after the varlen ones (None, None, None, None for a fixed-length call).
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


def _lse_shape(q, cu_seqlens_q):
    """[batch, heads, seqlen] for q [batch, heads, seqlen, head_dim]; varlen, [heads, total_q] for q [total_q,
    heads, head_dim]. (A q of another rank gets any shape: the checks refuse it.)"""
    if cu_seqlens_q is not None and q.dim() == 3:
        return (q.shape[1], q.shape[0])
    return q.shape[:-1]


def _readable(cu, q, t):
    """Whether cu_seqlens `cu` (for `t`, q or k) is what the checks accept, so that it can be read: else the
    checks raise, naming the argument, before anything is read."""
    return (
        isinstance(cu, torch.Tensor) and cu.dim() == 1 and cu.dtype == torch.int32 and cu.shape[0] >= 2
        and cu.device == q.device and cu.device.type == "cuda" and isinstance(t, torch.Tensor) and t.dim() == 3
    )


def _max_seqlens(q, k, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k):
    """(max_seqlen_q, max_seqlen_k) with each one not given (None or -1) read from its cu_seqlens: one
    device-to-host copy of both (a sync of the current stream), which also checks them (prefix sums from 0,
    non-decreasing, within the rows of q or k: InvalidArgumentError naming the tensor). A max_seqlen the checks
    would refuse the call for anyway stays -1."""
    want_q = max_seqlen_q is None or (type(max_seqlen_q) is int and max_seqlen_q < 0)
    want_k = max_seqlen_k is None or (type(max_seqlen_k) is int and max_seqlen_k < 0)
    max_q = -1 if max_seqlen_q is None else max_seqlen_q
    max_k = -1 if max_seqlen_k is None else max_seqlen_k
    if not (want_q or want_k):
        return max_q, max_k
    if not (_readable(cu_seqlens_q, q, q) and _readable(cu_seqlens_k, q, k)
            and cu_seqlens_q.shape[0] == cu_seqlens_k.shape[0]):
        return max_q, max_k
    n = cu_seqlens_q.shape[0]
    same = cu_seqlens_k is cu_seqlens_q
    host = (cu_seqlens_q if same else torch.cat((cu_seqlens_q, cu_seqlens_k))).cpu().long()
    found = []
    for name, cu, rows, tensor in (("cu_seqlens_q", host[:n], q.shape[0], "q"),
                                   ("cu_seqlens_k", host[:n] if same else host[n:], k.shape[0], "k")):
        lengths = cu[1:] - cu[:-1]
        if int(cu[0]) != 0 or bool((lengths < 0).any()) or int(cu[-1]) > rows:
            shown = cu.tolist()
            text = str(shown) if len(shown) <= 12 else f"[{', '.join(map(str, shown[:12]))}, ...]"
            e = InvalidArgumentError(
                f"{name}: {text} are not prefix sums from 0, non-decreasing, to at most {rows} ({tensor}'s rows)"
            )
            e.argument = name
            raise e
        found.append(int(lengths.max()))
    return (found[0] if want_q else max_q), (found[1] if want_k else max_k)


def _check_cu_seqlens_types(cu_seqlens_q, cu_seqlens_k):
    for name, t in (("cu_seqlens_q", cu_seqlens_q), ("cu_seqlens_k", cu_seqlens_k)):
        if not isinstance(t, torch.Tensor):
            e = ArgumentTypeError(f"{name}: expected an int32 torch.Tensor like q's, got {type(t).__name__}")
            e.argument = name
            raise e


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
    cu_seqlens_q: Optional[torch.Tensor] = None,
    cu_seqlens_k: Optional[torch.Tensor] = None,
    max_seqlen_q: Optional[int] = None,
    max_seqlen_k: Optional[int] = None,
    sparse_counts: Optional[torch.Tensor] = None,
    sparse_cols: Optional[torch.Tensor] = None,
    sparse_block: int = 0,
    sparse_density: float = 0.0,
) -> Tuple[torch.Tensor, torch.Tensor]:
    o = torch.empty_like(q)
    lse = q.new_empty(_lse_shape(q, cu_seqlens_q), dtype=torch.float32)
    sparse = {}
    if sparse_counts is not None or sparse_cols is not None:
        sparse = dict(
            sparse_counts=None if sparse_counts is None else _desc(sparse_counts),
            sparse_cols=None if sparse_cols is None else _desc(sparse_cols), sparse_block=sparse_block,
            sparse_density=sparse_density,
        )
    if cu_seqlens_q is None and cu_seqlens_k is None:
        _C._attention_desc(
            _desc(q), _desc(k), _desc(v), o.data_ptr(), lse.data_ptr(), causal, scale, template, _current_stream(q),
            window_left, window_right, softcap, o.stride(), **sparse,
        )
        return o, lse
    max_q, max_k = _max_seqlens(q, k, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k)
    _C._attention_desc(
        _desc(q), _desc(k), _desc(v), o.data_ptr(), lse.data_ptr(), causal, scale, template, _current_stream(q),
        window_left, window_right, softcap, o.stride(), None if cu_seqlens_q is None else _desc(cu_seqlens_q),
        None if cu_seqlens_k is None else _desc(cu_seqlens_k), max_q, max_k, **sparse,
    )
    return o, lse


@_attention_op.register_fake
def _attention_fake(
    q, k, v, causal, scale, template, window_left=-1, window_right=-1, softcap=0.0, cu_seqlens_q=None,
    cu_seqlens_k=None, max_seqlen_q=None, max_seqlen_k=None, sparse_counts=None, sparse_cols=None, sparse_block=0,
    sparse_density=0.0,
):
    # The same metadata checks as a real call, at trace time, where the shapes (and the max_seqlens given) are
    # known ints; a max_seqlen left None is checked as unknown (the real call reads it).
    tensors = [t for t in (q, k, v, cu_seqlens_q, cu_seqlens_k, sparse_counts, sparse_cols) if t is not None]
    lengths = [m for m in (max_seqlen_q, max_seqlen_k) if m is not None]
    known = all(type(s) is int for t in tensors for s in (*t.shape, *t.stride())) and all(
        type(m) is int for m in lengths
    ) and type(sparse_block) is int and type(sparse_density) in (int, float)
    if known:
        cu = [None if t is None else _meta_desc(t) for t in (cu_seqlens_q, cu_seqlens_k, sparse_counts, sparse_cols)]
        _C._check(
            _meta_desc(q), _meta_desc(k), _meta_desc(v), causal, scale, template, window_left, window_right, softcap,
            cu[0], cu[1], -1 if max_seqlen_q is None else max_seqlen_q, -1 if max_seqlen_k is None else max_seqlen_k,
            cu[2], cu[3], sparse_block, sparse_density,
        )
    return torch.empty_like(q), q.new_empty(_lse_shape(q, cu_seqlens_q), dtype=torch.float32)


_is_compiling = torch.compiler.is_compiling
_empty_like = torch.empty_like
_Tensor = torch.Tensor
_float32 = torch.float32


def _check_op_args(stream, k, v):
    """The op's path (traced, or tensors that are not plain torch.Tensors): torch's current stream only, k and v
    torch tensors like q."""
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


def attention(
    q, k, v, causal, scale, return_lse, template, stream, window_left=-1, window_right=-1, softcap=0.0,
    cu_seqlens_q=None, cu_seqlens_k=None, max_seqlen_q=-1, max_seqlen_k=-1,
):
    """flashtune.attention for torch tensors (the arguments are checked by flashtune.attention; varlen: both
    cu_seqlens given, the max_seqlens ints, -1 for not given)."""
    if cu_seqlens_q is not None or cu_seqlens_k is not None:
        return _attention_varlen(
            q, k, v, causal, scale, return_lse, template, stream, window_left, window_right, softcap, cu_seqlens_q,
            cu_seqlens_k, max_seqlen_q, max_seqlen_k,
        )
    if stream is None and type(q) is _Tensor and type(k) is _Tensor and type(v) is _Tensor and not _is_compiling():
        # Eager: the runtime called directly, without the dispatcher's Python round trip (the op costs ~28 us a
        # call on an H100, more than the kernel of a small problem); the extension reads the tensors'
        # attributes itself; no LSE tensor unless asked (the runtime writes it to its own scratch). Traced code
        # (torch.compile, fake tensors) takes the op.
        o = _empty_like(q)
        lse = q.new_empty(q.shape[:-1], dtype=_float32) if return_lse else None
        _C._attention_torch(q, k, v, o, lse, causal, scale, template, window_left, window_right, softcap)
        return (o, lse) if return_lse else o
    _check_op_args(stream, k, v)
    o, lse = torch.ops.flashtune.attention(q, k, v, causal, scale, template, window_left, window_right, softcap)
    return (o, lse) if return_lse else o


def _attention_varlen(
    q, k, v, causal, scale, return_lse, template, stream, window_left, window_right, softcap, cu_seqlens_q,
    cu_seqlens_k, max_seqlen_q, max_seqlen_k,
):
    """attention() with variable lengths: the same two paths, the cu_seqlens and max_seqlens passed on."""
    _check_cu_seqlens_types(cu_seqlens_q, cu_seqlens_k)
    if stream is None and type(q) is _Tensor and type(k) is _Tensor and type(v) is _Tensor and not _is_compiling():
        max_q, max_k = _max_seqlens(q, k, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k)
        o = _empty_like(q)
        lse = q.new_empty(_lse_shape(q, cu_seqlens_q), dtype=_float32) if return_lse else None
        _C._attention_torch(
            q, k, v, o, lse, causal, scale, template, window_left, window_right, softcap, cu_seqlens_q, cu_seqlens_k,
            max_q, max_k,
        )
        return (o, lse) if return_lse else o
    _check_op_args(stream, k, v)
    # The op's max_seqlens: None where not given (the op reads them), so that the traced call has no host read.
    max_q = None if (type(max_seqlen_q) is int and max_seqlen_q < 0) else max_seqlen_q
    max_k = None if (type(max_seqlen_k) is int and max_seqlen_k < 0) else max_seqlen_k
    o, lse = torch.ops.flashtune.attention(
        q, k, v, causal, scale, template, window_left, window_right, softcap, cu_seqlens_q, cu_seqlens_k, max_q,
        max_k,
    )
    return (o, lse) if return_lse else o


def attention_block_sparse(
    q, k, v, causal, scale, return_lse, template, stream, window_left, window_right, softcap, counts, cols, block,
    density,
):
    """attention() with a block-sparse layout (flashtune.attention checked the BlockSparse's types): the same
    two paths, the lists, block and density passed on."""
    for name, t in (("counts", counts), ("cols", cols)):
        if not isinstance(t, torch.Tensor):
            e = ArgumentTypeError(
                f"block_sparse: {name}: expected an int32 torch.Tensor like q's (flashtune.block_sparse makes "
                f"them), got {type(t).__name__}"
            )
            e.argument = "block_sparse"
            raise e
    if (stream is None and type(q) is _Tensor and type(k) is _Tensor and type(v) is _Tensor
            and not _is_compiling()):
        o = _empty_like(q)
        lse = q.new_empty(q.shape[:-1], dtype=_float32) if return_lse else None
        _C._attention_torch(
            q, k, v, o, lse, causal, scale, template, window_left, window_right, softcap, None, None, -1, -1, counts,
            cols, block, density,
        )
        return (o, lse) if return_lse else o
    _check_op_args(stream, k, v)
    o, lse = torch.ops.flashtune.attention(
        q, k, v, causal, scale, template, window_left, window_right, softcap, None, None, None, None, counts, cols,
        block, density,
    )
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
