"""flashtune: tuned FlashAttention-style CUDA kernels, called from Python (docs/python.md).

    import flashtune
    o = flashtune.attention(q, k, v, causal=True)          # q, k, v: [batch, heads, seqlen, head_dim] bf16/fp16
    o, lse = flashtune.attention(q, k, v, return_lse=True)  # lse: [batch, heads, seqlen] float32
    o = flashtune.attention(q, k, v, cu_seqlens_q=cu, cu_seqlens_k=cu)  # varlen: q [total, heads, head_dim]
    bs = flashtune.block_sparse(layout, 128)                 # layout: bool [ceil(N/128), ceil(Nk/128)] on the GPU
    o = flashtune.attention(q, k, v, block_sparse=bs)      # query block r sees key block c iff layout[r, c]
    flashtune.info()                                        # version, GPU (or "none" and why), paths
    flashtune.tune(flashtune.Problem(4, 16, 4096, 128))     # the CLI's `flashtune tune` on this problem
    flashtune.best_config(flashtune.Problem(4, 16, 4096, 128))

torch is imported only when a torch tensor is passed (or when it was imported before flashtune): torch tensors
go through the custom op ``torch.ops.flashtune.attention``, so ``torch.compile(fullgraph=True)`` keeps the call
in its graph, and autograd differentiates it (``loss.backward()`` gives q, k and v their gradients). Tensors of
any other framework go through DLPack.
"""

import numbers as _numbers
import os as _os
import sys as _sys

from flashtune import _flashtune as _C
from flashtune._errors import (
    ArgumentTypeError,
    CompileError,
    DeviceError,
    DriverError,
    Error,
    InvalidArgumentError,
    NoGpuError,
    NotFoundError,
    TuneError,
)
from flashtune._block_sparse import BlockSparse, block_sparse
from flashtune._block_sparse import _check as _check_block_sparse
from flashtune._problem import Problem
from flashtune._tune import cli_path, data_dir, tune

__version__ = _C.__version__

__all__ = [
    "attention",
    "best_config",
    "block_sparse",
    "choice",
    "cli_path",
    "data_dir",
    "info",
    "load_bundle",
    "runtime_templates",
    "tune",
    "BlockSparse",
    "Problem",
    "Error",
    "InvalidArgumentError",
    "ArgumentTypeError",
    "DeviceError",
    "NoGpuError",
    "DriverError",
    "CompileError",
    "NotFoundError",
    "TuneError",
]


def _bad(cls, argument, message):
    e = cls(f"{argument}: {message}")
    e.argument = argument
    return e


def _check_window(window):
    """(left, right) as ints, -1 for an unbounded side."""
    if window is None:
        return -1, -1
    if isinstance(window, (str, bytes)) or not hasattr(window, "__len__") or len(window) != 2:
        raise _bad(ArgumentTypeError, "window", f"expected (left, right) or None, got {window!r}")
    sides = []
    for side in window:
        if side is None:
            sides.append(-1)
            continue
        if isinstance(side, bool) or not isinstance(side, _numbers.Integral):
            raise _bad(ArgumentTypeError, "window", f"each side is an int >= 0 or None, got {side!r}")
        if side < 0 or side > 2**31 - 1:
            raise _bad(InvalidArgumentError, "window", f"each side is an int >= 0 or None, got {side!r}")
        sides.append(int(side))
    return sides[0], sides[1]


def _check_softcap(softcap):
    if softcap is None:
        return 0.0
    if isinstance(softcap, bool) or not isinstance(softcap, _numbers.Real):
        raise _bad(ArgumentTypeError, "softcap", f"expected a number or None, got {type(softcap).__name__}")
    softcap = float(softcap)
    if not (softcap > 0 and softcap < float("inf")):
        raise _bad(InvalidArgumentError, "softcap", f"{softcap} is not a positive finite number (None: no cap)")
    return softcap


def _check_options(causal, scale, return_lse, template, stream):
    if causal not in (True, False):
        raise _bad(ArgumentTypeError, "causal", f"expected True or False, got {causal!r}")
    if return_lse not in (True, False):
        raise _bad(ArgumentTypeError, "return_lse", f"expected True or False, got {return_lse!r}")
    if scale is not None:
        if isinstance(scale, bool) or not isinstance(scale, _numbers.Real):  # numpy scalars are Real
            raise _bad(ArgumentTypeError, "scale", f"expected a number or None, got {type(scale).__name__}")
        scale = float(scale)
    if template is not None and not isinstance(template, str):
        raise _bad(ArgumentTypeError, "template", f"expected a template name or None, got {template!r}")
    if stream is not None and (isinstance(stream, bool) or not isinstance(stream, int) or stream < 0):
        raise _bad(
            InvalidArgumentError, "stream", f"expected a CUstream handle as a non-negative int, got {stream!r}"
        )
    return bool(causal), scale, bool(return_lse)


def _is_symbolic_int(x):
    # torch.SymInt (a traced int under torch.compile with dynamic shapes): passed through to the op unchecked.
    return type(x).__name__ == "SymInt" and type(x).__module__.split(".", 1)[0] == "torch"


def _check_max_seqlen(name, value):
    """An int >= 0, or -1 for None (the torch side reads it from the cu_seqlens); a SymInt as it is."""
    if value is None:
        return -1
    if _is_symbolic_int(value):
        return value
    if isinstance(value, bool) or not isinstance(value, _numbers.Integral):
        raise _bad(
            ArgumentTypeError, name, f"expected an int (the longest sequence's length) or None, got {value!r}"
        )
    if value < 0 or value > 2**31 - 1:
        raise _bad(
            InvalidArgumentError, name, f"{value} is not a length in 0..2^31-1 (None: read from the cu_seqlens)"
        )
    return int(value)


def _check_varlen(cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k):
    """(max_seqlen_q, max_seqlen_k) as ints, -1 for None, when the cu_seqlens are given (both); None for a
    fixed-length call (no varlen argument given)."""
    if cu_seqlens_q is None and cu_seqlens_k is None:
        for name, value in (("max_seqlen_q", max_seqlen_q), ("max_seqlen_k", max_seqlen_k)):
            if value is not None:
                raise _bad(
                    InvalidArgumentError, name,
                    "given without cu_seqlens_q and cu_seqlens_k (variable lengths need them; fixed-length "
                    "attention takes the lengths from q and k)",
                )
        return None
    if cu_seqlens_q is None or cu_seqlens_k is None:
        name, other = ("cu_seqlens_q", "cu_seqlens_k") if cu_seqlens_q is None else ("cu_seqlens_k", "cu_seqlens_q")
        raise _bad(
            InvalidArgumentError, name,
            f"None while {other} is given: variable lengths need both (self-attention passes the same tensor "
            "twice)",
        )
    return _check_max_seqlen("max_seqlen_q", max_seqlen_q), _check_max_seqlen("max_seqlen_k", max_seqlen_k)


# torch.Tensor once flashtune._torch_op is imported (it sets this), else None.
_torch_tensor_type = None


def _is_torch(x):
    if _torch_tensor_type is not None:
        return isinstance(x, _torch_tensor_type)
    # Before the op is registered: a type torch defines (torch.Tensor, nn.Parameter, FakeTensor, ...).
    return type(x).__module__.split(".", 1)[0] == "torch"


def attention(
    q, k, v, *, causal=False, scale=None, window=None, softcap=None, return_lse=False, template=None, stream=None,
    cu_seqlens_q=None, cu_seqlens_k=None, max_seqlen_q=None, max_seqlen_k=None, block_sparse=None,
):
    """softmax(q kᵀ · scale) v for q of shape [batch, heads, seqlen, head_dim] and k, v of shape [batch, kv_heads,
    seqlen_k, head_dim] (kv_heads dividing heads: grouped-query attention; 1: multi-query), bf16 or fp16, on one
    CUDA device. Tensors may be strided views (a [batch, seqlen, heads, head_dim] projection passed as
    x.transpose(1, 2)): head_dim of stride 1, the other strides multiples of 8 elements; they are read in place.

    Variable lengths (FlashAttention's flash_attn_varlen_func): with cu_seqlens_q and cu_seqlens_k, q is
    [total_q, heads, head_dim] and k, v [total_k, kv_heads, head_dim], the batch's sequences packed one after
    another; sequence b's queries are rows cu_seqlens_q[b] .. cu_seqlens_q[b + 1] - 1 of q (its keys likewise
    in k and v), and every mask below applies to each sequence with its own lengths (a length may be 0).

    cu_seqlens_q, cu_seqlens_k: int32 1-D CUDA tensors of batch + 1 prefix sums from 0 (both or neither; the
                same tensor for self-attention), on q's device, contiguous, 16-byte aligned.
    max_seqlen_q, max_seqlen_k: the longest sequence's length (an upper bound will do: it sizes the grid; it
                is used as at most the total rows). None: read from the cu_seqlens on the host, which costs a
                device-to-host copy and a sync of the current stream (and is refused under CUDA graph
                capture): pass them to avoid it. Only torch tensors can leave them None.

    block_sparse: a flashtune.BlockSparse (flashtune.block_sparse(layout, block_size)): query block r (queries
                r * block .. (r + 1) * block - 1) attends only the key blocks its layout row keeps, besides the
                other masks; the same layout for every batch entry and head. Its lists are on q's device, rows
                = ceil(seqlen / block), cols >= ceil(seqlen_k / block). Not with variable lengths. The block
                must be a multiple of the configuration's tiles (128 fits both templates' defaults at
                head_dim 128; else the runtime takes another candidate, or raises InvalidArgumentError).

    causal:     mask keys after the query's position; with seqlen_k != seqlen the queries are aligned to the
                end of the keys (query i sees keys j <= i + seqlen_k - seqlen), as FlashAttention >= 2.1.
    scale:      the softmax scale; None: 1/sqrt(head_dim).
    window:     (left, right): query i sees only keys i + offset - left .. i + offset + right (offset =
                seqlen_k - seqlen); a side None is unbounded. None: no window.
    softcap:    cap the scaled scores as softcap * tanh(s / softcap) (Gemma 2, Grok); None: no cap.
                Rows that see no key (more queries than keys with causal, a window, a block-sparse row that
                keeps no block) get O = 0, LSE = -inf.
    return_lse: also return the log-sum-exp of the scaled scores, [batch, heads, seqlen] float32 (natural log);
                varlen: [heads, total_q].
    template:   None lets the runtime choose (the fastest tuned template for this GPU, else its default);
                "fa2_fwd" or "hopper_fwd" forces one (runtime_templates() lists them).
    stream:     for tensors other than torch's: a CUstream handle (int) to launch on; None: the legacy default
                stream. torch tensors always run on torch's current stream (torch.cuda.stream(s) picks it).

    Autograd (torch tensors): differentiable in q, k and v (fa2_bwd computes the gradients; with grouped heads
    k's and v's are per key/value head); the LSE is not differentiable. Calls that autograd must record take the
    custom op; the backward refuses (InvalidArgumentError) variable lengths, block-sparse layouts, softcap and
    head_dim 96 and 256. docs/python.md, Autograd.

    Returns O (and the LSE): torch tensors for torch inputs (O with q's memory layout where q is dense, as
    torch.empty_like gives); for other frameworks, arrays in the device's memory
    that export DLPack (cupy.from_dlpack(o), jax.dlpack.from_dlpack(o), torch.from_dlpack(o)).
    Raises InvalidArgumentError / ArgumentTypeError / DeviceError naming the argument, NoGpuError, CompileError,
    DriverError (docs/python.md, Exceptions).
    """
    causal, scale, return_lse = _check_options(causal, scale, return_lse, template, stream)
    window_left, window_right = _check_window(window)
    softcap = _check_softcap(softcap)
    max_seqlens = (
        None if cu_seqlens_q is None and cu_seqlens_k is None and max_seqlen_q is None and max_seqlen_k is None
        else _check_varlen(cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k)
    )
    if block_sparse is not None:
        sparse = _check_block_sparse(block_sparse)
        if max_seqlens is not None:
            raise _bad(
                InvalidArgumentError, "block_sparse",
                "a block-sparse layout and variable lengths (cu_seqlens) do not combine",
            )
        if _is_torch(q):
            from flashtune._torch_op import attention_block_sparse

            return attention_block_sparse(
                q, k, v, causal, scale, return_lse, template, stream, window_left, window_right, softcap, *sparse
            )
        return _C._attention_dlpack(
            q, k, v, causal, scale, return_lse, template, 0 if stream is None else stream, window_left,
            window_right, softcap, sparse_counts=sparse[0], sparse_cols=sparse[1], sparse_block=sparse[2],
            sparse_density=sparse[3],
        )
    if _is_torch(q):
        # Registers the custom op on the first call. Imported here at every call (a sys.modules lookup), not
        # kept in a global set by the import: under torch.compile that first call is traced, and the tracer
        # guards on the globals it reads, which must not change under it.
        from flashtune._torch_op import attention as torch_attention

        if max_seqlens is None:
            return torch_attention(
                q, k, v, causal, scale, return_lse, template, stream, window_left, window_right, softcap
            )
        return torch_attention(
            q, k, v, causal, scale, return_lse, template, stream, window_left, window_right, softcap,
            cu_seqlens_q, cu_seqlens_k, *max_seqlens,
        )
    if max_seqlens is None:
        return _C._attention_dlpack(
            q, k, v, causal, scale, return_lse, template, 0 if stream is None else stream, window_left,
            window_right, softcap,
        )
    for name, value in (("max_seqlen_q", max_seqlens[0]), ("max_seqlen_k", max_seqlens[1])):
        if _is_symbolic_int(value):  # pragma: no cover (a traced int with tensors of another framework)
            raise _bad(ArgumentTypeError, name, f"expected an int, got {type(value).__name__}")
    return _C._attention_dlpack(
        q, k, v, causal, scale, return_lse, template, 0 if stream is None else stream, window_left, window_right,
        softcap, cu_seqlens_q, cu_seqlens_k, *max_seqlens,
    )


def choice(problem, *, template=None, device=0):
    """What attention() runs for `problem` (a Problem, or a tensor shaped like q; causal from the Problem) on
    cuda:`device`: {"template", "params", "source" ("tuned", "tuned (nearest bucket)", "default"), "kernel",
    "why"}. Selects, compiles and loads it as the first call would. Needs a GPU (NoGpuError otherwise)."""
    p = Problem.of(problem)
    return _C._choice(p.batch, p.heads, p.seqlen, p.head_dim, p.dtype, p.causal, template, device)


def best_config(problem, *, template="fa2_fwd", smem_budget=0, db=None, gpu=None):
    """The tuned best configuration the results store holds for `problem` (a Problem) and `template` on this
    GPU, as `flashtune tune` cached it: the problem's own bucket, else the nearest bucket (docs/tuning.md);
    None when nothing applies, including when the database does not exist.

    smem_budget: bytes per block; 0: the largest budget tuned.   db: the results database (default:
    info()["db"], the CLI's).   gpu: a GPU identity dict (info()["gpus"][i]["identity"]) to ask for another
    GPU than device 0, or on a machine without one. Without `gpu`, raises NoGpuError where there is no GPU.
    Returns {"template", "params", "median_ms", "tflops", "problem" (the bucket), "example_problem", "gpu",
    "key", "source_hash", "nvrtc_version", "trial_id", "sweep_id", "clock_fraction", "updated_at"}.
    """
    p = Problem.of(problem)
    if not isinstance(template, str):
        raise _bad(ArgumentTypeError, "template", f"expected a template name, got {template!r}")
    if gpu is not None and not isinstance(gpu, dict):
        raise _bad(ArgumentTypeError, "gpu", f"expected a GPU identity dict or None, got {type(gpu).__name__}")
    return _C._best_config(
        p.batch, p.heads, p.seqlen, p.head_dim, p.dtype, p.causal, template, int(smem_budget),
        "" if db is None else str(db), gpu,
    )


def info():
    """What flashtune sees, without needing a GPU: {"version", "gpu" (its description, or "none"), "gpu_reason"
    (why there is none, else None), "gpus" (one dict per device: name, arch, compute_capability, sm_count,
    memory_bytes, uuid, identity, templates), "driver" ("13.0" or None), "nvrtc", "kernel_templates",
    "search_spaces", "cache_dir", "db", "bundle" (the bundle loaded, or None), "cli", "code_dir", "torch" (its
    version, or None when not installed),
    "errors" (what could not be found, by key)}."""
    d = _C._info()
    errors = dict(d["errors"])
    d["search_spaces"] = str(data_dir() / "search_spaces")
    try:
        d["cli"] = str(cli_path())
    except Error as e:
        d["cli"] = None
        errors["cli"] = str(e)
    d["torch"] = _torch_version()
    d["errors"] = errors
    return d


def load_bundle(path):
    """Runs the deployable bundle in folder `path` (written by `flashtune export --format bundle`) from now on:
    attention() and choice() launch its cubins, with no NVRTC, results store or kernel sources needed. A problem
    it holds no entry for raises NotFoundError listing what it holds; a bundle made for another GPU or driver
    raises InvalidArgumentError at the first call. None goes back to the results store. The bundle is read at
    once: a bad one raises (NotFoundError, or Error of kind "io" naming the file) and changes nothing.
    FLASHTUNE_BUNDLE=path in the environment does the same when the first call is made."""
    if path is not None and not isinstance(path, (str, _os.PathLike)):
        raise _bad(ArgumentTypeError, "path", f"expected a folder or None, got {type(path).__name__}")
    _C._load_bundle("" if path is None else _os.fspath(path))


def runtime_templates():
    """The templates attention(template=...) accepts, in the runtime's order of preference on sm_90a."""
    return list(_C._runtime_templates())


def _torch_version():
    t = _sys.modules.get("torch")
    if t is not None:
        return getattr(t, "__version__", None)
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover
        return None
    try:
        return version("torch")
    except PackageNotFoundError:
        return None


# With torch already imported, register the custom op now: torch.compile then finds it however flashtune is
# first called. (Otherwise the first torch call registers it; under torch.compile that import runs eagerly.)
# A torch too old for torch.library.custom_op (2.4) fails here silently and at the first torch call loudly.
if "torch" in _sys.modules:
    try:
        from flashtune import _torch_op  # noqa: F401
    except Exception:  # pragma: no cover
        pass
