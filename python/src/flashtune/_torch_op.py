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

Autograd: the op's backward (register_autograd) saves q, k, v, O and the LSE and calls the custom op
``flashtune::attention_backward`` (with a fake implementation too, so that torch.compile keeps both passes in
its graphs), which runs the runtime's backward template (fa2_bwd) on torch's current stream. The LSE output is
not differentiable (as SDPA's). Variable lengths, block-sparse layouts, softcap and head_dims without a
backward template are refused when the backward runs. Calls whose inputs need a gradient take the op, never the
eager fast path (which records no graph).
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


# ---- the backward


def _layout_of(t):
    """t, or t.contiguous() when torch.empty_like(t) would not reproduce t's strides (a view with gaps: the
    kernels address a gradient by its tensor's strides), and an empty tensor laid out as that."""
    g = torch.empty_like(t)
    if g.stride() != t.stride():
        t = t.contiguous()
        g = torch.empty_like(t)
    return t, g


@torch.library.custom_op("flashtune::attention_backward", mutates_args=())
def _attention_backward_op(
    d_o: torch.Tensor,
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    o: torch.Tensor,
    lse: torch.Tensor,
    causal: bool,
    scale: Optional[float],
    window_left: int = -1,
    window_right: int = -1,
    softcap: float = 0.0,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(d_q, d_k, d_v) of the fixed-length attention of q, k, v that gave o and lse, given d_o: each shaped as
    its tensor (d_k, d_v per key/value head) and laid out as torch.empty_like lays it out."""
    if d_o.stride() != o.stride():  # an expanded or transposed gradient: the kernels read dO at O's strides
        o, buffer = _layout_of(o)
        d_o = buffer.copy_(d_o)
    (q, d_q), (k, d_k), (v, d_v) = _layout_of(q), _layout_of(k), _layout_of(v)
    _C._attention_backward_desc(
        _desc(d_o), _desc(q), _desc(k), _desc(v), _desc(o), _desc(lse), _desc(d_q), _desc(d_k), _desc(d_v), causal,
        scale, _current_stream(q), window_left, window_right, softcap,
    )
    return d_q, d_k, d_v


@_attention_backward_op.register_fake
def _attention_backward_fake(d_o, q, k, v, o, lse, causal, scale, window_left=-1, window_right=-1, softcap=0.0):
    # The real call's metadata checks where the shapes are known ints: a variant without a backward template
    # (softcap, a head_dim) is refused when torch.compile traces the backward.
    tensors = (d_o, q, k, v, o, lse)
    if all(type(s) is int for t in tensors for s in (*t.shape, *t.stride())):
        _C._check_backward(*(_meta_desc(t) for t in tensors), causal, scale, window_left, window_right, softcap)
    return torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)


def _refusal(argument, what):
    e = InvalidArgumentError(
        f"{argument}: the backward of {what} is not supported (fa2_bwd, the backward template, computes fixed "
        "lengths and dense layouts): autograd cannot differentiate this call; run it under torch.no_grad() or "
        "on detached tensors"
    )
    e.argument = argument
    return e


def _setup_context(ctx, inputs, output):
    (q, k, v, causal, scale, _template, window_left, window_right, softcap, cu_seqlens_q, cu_seqlens_k, _max_q,
     _max_k, sparse_counts, sparse_cols, _block, _density) = inputs
    o, lse = output
    ctx.mark_non_differentiable(lse)
    ctx.set_materialize_grads(False)  # no zeros for the LSE's (absent) gradient
    ctx.refused = None
    if cu_seqlens_q is not None or cu_seqlens_k is not None:
        ctx.refused = ("cu_seqlens_q", "variable-length attention (cu_seqlens)")
    elif sparse_counts is not None or sparse_cols is not None:
        ctx.refused = ("block_sparse", "block-sparse attention")
    else:
        ctx.save_for_backward(q, k, v, o, lse)
    ctx.options = (causal, scale, window_left, window_right, softcap)


def _backward(ctx, d_o, _d_lse):
    if ctx.refused is not None:
        raise _refusal(*ctx.refused)
    if d_o is None:  # O took no part in what is differentiated
        return (None,) * 17
    q, k, v, o, lse = ctx.saved_tensors
    d_q, d_k, d_v = torch.ops.flashtune.attention_backward(d_o, q, k, v, o, lse, *ctx.options)
    need = ctx.needs_input_grad
    return (d_q if need[0] else None, d_k if need[1] else None, d_v if need[2] else None) + (None,) * 14


_attention_op.register_autograd(_backward, setup_context=_setup_context)


_is_compiling = torch.compiler.is_compiling
_grad_enabled = torch.is_grad_enabled
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
    if (stream is None and type(q) is _Tensor and type(k) is _Tensor and type(v) is _Tensor and not _is_compiling()
            and not (_grad_enabled() and (q.requires_grad or k.requires_grad or v.requires_grad))):
        # Eager: the runtime called directly, without the dispatcher's Python round trip (the op costs ~28 us a
        # call on an H100, more than the kernel of a small problem); the extension reads the tensors'
        # attributes itself; no LSE tensor unless asked (the runtime writes it to its own scratch). Traced code
        # (torch.compile, fake tensors) and calls that autograd must record (an input that requires grad, grad
        # mode on) take the op.
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
    if (stream is None and type(q) is _Tensor and type(k) is _Tensor and type(v) is _Tensor and not _is_compiling()
            and not (_grad_enabled() and (q.requires_grad or k.requires_grad or v.requires_grad))):
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
    if (stream is None and type(q) is _Tensor and type(k) is _Tensor and type(v) is _Tensor and not _is_compiling()
            and not (_grad_enabled() and (q.requires_grad or k.requires_grad or v.requires_grad))):
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
