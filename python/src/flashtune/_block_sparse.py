"""flashtune.BlockSparse and flashtune.block_sparse: a block-sparse layout as flashtune.attention takes it
(docs/python.md, Block-sparse attention).

A layout is a [rows, cols] boolean matrix over blocks of `block` positions: query block r (queries r * block
.. (r + 1) * block - 1) attends key block c (keys c * block .. (c + 1) * block - 1) iff layout[r, c], besides
the causal and window masks. The kernels read it as lists: counts[r] kept columns of row r, and cols[r] those
columns first, ascending (then zeros), the same layout for every batch entry and head.
"""

import numbers as _numbers
from typing import Any, NamedTuple

from flashtune._errors import ArgumentTypeError, InvalidArgumentError


def _bad(cls, argument, message):
    e = cls(f"{argument}: {message}")
    e.argument = argument
    return e


class BlockSparse(NamedTuple):
    """A block-sparse layout for flashtune.attention(..., block_sparse=...); flashtune.block_sparse makes one.

    counts:  int32 [rows]: the key blocks query block r attends.
    cols:    int32 [rows, cols]: row r's kept key blocks first, ascending (the rest is not read).
    block:   positions per block, queries and keys (a multiple of 16 in 16..4096; the kernels need a multiple
             of their configuration's tiles: 128 suits both templates' defaults at head_dim 128).
    density: the fraction of blocks kept, in [0, 1]: it only chooses the tuned configuration.

    rows must be ceil(seqlen / block) and cols at least ceil(seqlen_k / block). counts and cols are tensors of
    q's framework on q's device (contiguous, int32); they are read by the kernels only, never on the host.
    """

    counts: Any
    cols: Any
    block: int
    density: float


def _check_block_size(block_size):
    if isinstance(block_size, bool) or not isinstance(block_size, _numbers.Integral):
        raise _bad(ArgumentTypeError, "block_size", f"expected an int, got {block_size!r}")
    if block_size < 16 or block_size > 4096 or block_size % 16 != 0:
        raise _bad(InvalidArgumentError, "block_size", f"{block_size} is not a multiple of 16 in 16..4096")
    return int(block_size)


def block_sparse(layout, block_size):
    """The BlockSparse of `layout`, a bool or uint8 torch tensor [rows, cols] (non-zero: the block pair is
    attended), with blocks of `block_size` positions: counts = layout.sum(-1), cols = each row's kept columns
    first, ascending (a stable sort), on the layout's device (q's: the CUDA device), and the density (one
    device-to-host copy, so build the layout once, outside a captured or compiled region).

    For q [batch, heads, seqlen, head_dim] and k [batch, kv_heads, seqlen_k, head_dim], rows must be
    ceil(seqlen / block_size) and cols at least ceil(seqlen_k / block_size) (flashtune.attention checks it).
    """
    torch_type = type(layout)
    if torch_type.__module__.split(".", 1)[0] != "torch":
        raise _bad(ArgumentTypeError, "layout",
                   f"expected a bool or uint8 torch.Tensor [rows, cols], got {torch_type.__name__}")
    import torch

    if not isinstance(layout, torch.Tensor):
        raise _bad(ArgumentTypeError, "layout",
                   f"expected a bool or uint8 torch.Tensor [rows, cols], got {torch_type.__name__}")
    if layout.dtype not in (torch.bool, torch.uint8):
        raise _bad(ArgumentTypeError, "layout",
                   f"dtype {str(layout.dtype).replace('torch.', '')} is not supported (bool or uint8)")
    if layout.dim() != 2:
        raise _bad(InvalidArgumentError, "layout",
                   f"expected a 2-dimensional [rows, cols] tensor (query blocks, key blocks), got shape "
                   f"{list(layout.shape)}")
    rows, cols = layout.shape
    if rows < 1 or cols < 1:
        raise _bad(InvalidArgumentError, "layout", f"shape {list(layout.shape)}: at least one block each way")
    block = _check_block_size(block_size)
    kept = layout if layout.dtype == torch.bool else layout != 0
    counts = kept.sum(dim=1, dtype=torch.int32)
    # Kept columns first, each part ascending: a stable sort on "not kept".
    order = torch.sort((~kept).to(torch.uint8), dim=1, stable=True).indices
    listed = torch.arange(cols, device=layout.device)[None, :] < counts[:, None].long()
    cols_list = torch.where(listed, order, torch.zeros_like(order)).to(torch.int32).contiguous()
    density = int(counts.sum().item()) / (rows * cols)
    return BlockSparse(counts.contiguous(), cols_list, block, density)


def _is_symbolic(x):
    # torch.SymInt / torch.SymFloat (traced under torch.compile with dynamic shapes): passed on unchecked.
    return type(x).__name__ in ("SymInt", "SymFloat") and type(x).__module__.split(".", 1)[0] == "torch"


def _check(block_sparse):
    """(counts, cols, block, density) of a BlockSparse (or any 4-tuple of those), types checked."""
    if not isinstance(block_sparse, tuple) or len(block_sparse) != 4:
        raise _bad(ArgumentTypeError, "block_sparse",
                   f"expected a flashtune.BlockSparse (flashtune.block_sparse(layout, block_size)) or None, got "
                   f"{type(block_sparse).__name__}")
    counts, cols, block, density = block_sparse
    if not _is_symbolic(block):
        if isinstance(block, bool) or not isinstance(block, _numbers.Integral):
            raise _bad(ArgumentTypeError, "block_sparse", f"block: expected an int, got {block!r}")
        block = int(block)
    if not _is_symbolic(density):
        if isinstance(density, bool) or not isinstance(density, _numbers.Real):
            raise _bad(ArgumentTypeError, "block_sparse", f"density: expected a number, got {density!r}")
        density = float(density)
    for name, t in (("counts", counts), ("cols", cols)):
        if t is None:
            raise _bad(ArgumentTypeError, "block_sparse", f"{name}: expected an int32 tensor, got None")
    return counts, cols, block, density
