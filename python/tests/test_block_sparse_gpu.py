"""On a GPU with torch: block-sparse attention through flashtune.attention(..., block_sparse=flashtune.block_sparse(
layout, block)), against the fp32 reference of conftest.py with the layout expanded to a [seqlen, seqlen_k]
mask (and the causal and window masks): layouts with empty rows (O = 0, LSE = -inf there), a layout that keeps
nothing and one that keeps everything, causal and not, other key lengths, grouped heads and a window, head_dim
64 and 128, bf16 and fp16, the runtime's choice and each template forced; a block the templates' tiles do not
divide refused; the custom op, torch.compile(fullgraph=True) and the DLPack path. Skipped without a CUDA GPU
and torch with CUDA."""

import math

import pytest

import flashtune
from conftest import MAX_ABS, rand, reference, requires_torch_cuda, templates, torch_cuda

pytestmark = [pytest.mark.gpu, requires_torch_cuda]

torch = torch_cuda()


def draw_layout(rows, cols, density, seed, empty_rows=()):
    """A [rows, cols] bool layout on the GPU, each block kept with probability `density`; `empty_rows` keep none."""
    g = torch.Generator(device="cuda").manual_seed(seed)
    kept = torch.rand(rows, cols, device="cuda", generator=g) < density
    for r in empty_rows:
        kept[r] = False
    return kept


def dense_mask(layout, block, n, nk):
    """The layout expanded to a [n, nk] mask: query i sees key j iff layout[i // block, j // block]."""
    return layout.repeat_interleave(block, 0).repeat_interleave(block, 1)[:n, :nk]


def check(o, lse, q, k, v, layout, block, dtype, causal=False, window=None):
    o_ref, lse_ref = reference(q, k, v, causal, window, mask=dense_mask(layout, block, q.shape[2], k.shape[2]))
    assert o.shape == q.shape and o.dtype == q.dtype
    err = (o.float() - o_ref).abs().max().item()
    assert err <= MAX_ABS[dtype], f"max |O - ref| {err:.3g}"
    if lse is None:
        return
    assert lse.shape == q.shape[:-1] and lse.dtype == torch.float32
    empty = torch.isinf(lse_ref)
    assert torch.equal(torch.isinf(lse) & (lse < 0), empty), "rows without keys: LSE must be -inf, only there"
    torch.testing.assert_close(lse[~empty], lse_ref[~empty], atol=2e-3, rtol=1e-3)
    if empty.any():
        assert (o[empty] == 0).all(), "rows without keys: O must be 0"


def block_for(head_dim):
    """A block both templates' default tiles for a block-sparse problem divide: 128 x 128 (hopper_fwd at head_dim
    64 and 128), 128 x 128 and 128 x 64 (fa2_fwd); 384 at head_dim 64 also takes the dense defaults' 192-row
    tiles."""
    return 384 if head_dim == 64 else 128


CASES = {
    # name: (batch, heads, kv_heads, seqlen, seqlen_k, causal, window, dtype)
    "self": (2, 4, 4, 1000, 1000, False, None, "bfloat16"),
    "self_causal": (2, 4, 4, 1000, 1000, True, None, "bfloat16"),
    "cross": (1, 4, 4, 700, 1500, False, None, "float16"),
    "cross_causal": (1, 4, 4, 700, 1500, True, None, "bfloat16"),
    "gqa_window": (2, 8, 2, 1200, 1200, True, (300, 0), "float16"),
}


@pytest.mark.parametrize("template", templates(), ids=lambda t: t or "choice")
@pytest.mark.parametrize("head_dim", [64, 128])
@pytest.mark.parametrize("case", list(CASES))
def test_block_sparse_matches_the_reference(case, head_dim, template):
    b, h, hk, n, nk, causal, window, dtype = CASES[case]
    block = block_for(head_dim)
    rows, cols = math.ceil(n / block), math.ceil(nk / block)
    # Row 1 keeps nothing (its queries: O = 0, LSE = -inf); the others about a third of their blocks.
    layout = draw_layout(rows, cols, 0.35, seed=20261208, empty_rows=(1,))
    dt = getattr(torch, dtype)
    q = rand((b, h, n, head_dim), dt, 1)
    k, v = rand((b, hk, nk, head_dim), dt, 2), rand((b, hk, nk, head_dim), dt, 3)
    bs = flashtune.block_sparse(layout, block)
    o, lse = flashtune.attention(q, k, v, causal=causal, window=window, return_lse=True, template=template,
                                 block_sparse=bs)
    torch.cuda.synchronize()
    check(o, lse, q, k, v, layout, block, dtype, causal, window)
    assert torch.isinf(lse[:, :, block:2 * block]).all(), "the empty layout row"


@pytest.mark.parametrize("template", templates(), ids=lambda t: t or "choice")
@pytest.mark.parametrize("block", [128, 256])
def test_other_blocks_and_uint8_layouts(block, template):
    n, d = 2000, 128
    layout = draw_layout(math.ceil(n / block), math.ceil(n / block), 0.25, seed=block).to(torch.uint8)
    q, k, v = (rand((1, 4, n, d), torch.bfloat16, s) for s in (10, 11, 12))
    o, lse = flashtune.attention(q, k, v, causal=True, return_lse=True, template=template,
                                 block_sparse=flashtune.block_sparse(layout, block))
    torch.cuda.synchronize()
    check(o, lse, q, k, v, layout.bool(), block, "bfloat16", causal=True)


@pytest.mark.parametrize("template", templates(), ids=lambda t: t or "choice")
def test_nothing_and_everything_kept(template):
    n, d, block = 1000, 128, 128
    q, k, v = (rand((2, 4, n, d), torch.bfloat16, s) for s in (20, 21, 22))
    rows = math.ceil(n / block)
    nothing = flashtune.block_sparse(torch.zeros(rows, rows, dtype=torch.bool, device="cuda"), block)
    assert nothing.density == 0.0
    o, lse = flashtune.attention(q, k, v, return_lse=True, template=template, block_sparse=nothing)
    torch.cuda.synchronize()
    assert (o == 0).all() and (torch.isinf(lse) & (lse < 0)).all()
    everything = flashtune.block_sparse(torch.ones(rows, rows, dtype=torch.bool, device="cuda"), block)
    for causal in (False, True):
        o, lse = flashtune.attention(q, k, v, causal=causal, return_lse=True, template=template,
                                     block_sparse=everything)
        o_dense, lse_dense = flashtune.attention(q, k, v, causal=causal, return_lse=True, template=template)
        torch.cuda.synchronize()
        assert (o.float() - o_dense.float()).abs().max().item() <= MAX_ABS["bfloat16"]
        torch.testing.assert_close(lse, lse_dense, atol=2e-3, rtol=1e-3)


def test_a_block_the_tiles_do_not_divide_is_refused():
    q = rand((1, 2, 512, 128), torch.bfloat16, 30)
    layout = torch.ones(32, 32, dtype=torch.bool, device="cuda")
    with pytest.raises(flashtune.InvalidArgumentError) as e:  # fa2_fwd's default tiles are 128 x 64
        flashtune.attention(q, q, q, template="fa2_fwd", block_sparse=flashtune.block_sparse(layout, 16))
    assert "a block-sparse block of 16" in str(e.value)


def test_cuda_errors_name_the_argument():
    q = rand((1, 2, 512, 128), torch.bfloat16, 31)
    bs = flashtune.block_sparse(torch.ones(4, 4, dtype=torch.bool, device="cuda"), 128)
    cases = [
        (flashtune.DeviceError, bs._replace(counts=bs.counts.cpu())),
        (flashtune.ArgumentTypeError, bs._replace(cols=bs.cols.long())),
        (flashtune.InvalidArgumentError, bs._replace(cols=bs.cols[:, :3])),
        (flashtune.InvalidArgumentError, bs._replace(cols=bs.cols.t())),  # not contiguous
    ]
    for error, value in cases:
        with pytest.raises(error) as e:
            flashtune.attention(q, q, q, block_sparse=value)
        assert e.value.argument == "block_sparse", str(e.value)
    cu = torch.tensor([0, 512], dtype=torch.int32, device="cuda")
    with pytest.raises(flashtune.InvalidArgumentError) as e:
        flashtune.attention(q[0].transpose(0, 1), q[0].transpose(0, 1), q[0].transpose(0, 1), cu_seqlens_q=cu,
                            cu_seqlens_k=cu, block_sparse=bs)
    assert e.value.argument == "block_sparse" and "do not combine" in str(e.value)


def sparse_case(seed):
    n, d, block = 1000, 128, 128
    q, k, v = (rand((2, 4, n, d), torch.bfloat16, seed + s) for s in range(3))
    layout = draw_layout(8, 8, 0.4, seed, empty_rows=(2,))
    return q, k, v, layout, block


@pytest.mark.parametrize("return_lse", [False, True])
def test_eager_path_and_custom_op_agree(return_lse):
    q, k, v, layout, block = sparse_case(40)
    bs = flashtune.block_sparse(layout, block)
    eager = flashtune.attention(q, k, v, causal=True, return_lse=return_lse, block_sparse=bs)
    o_op, lse_op = torch.ops.flashtune.attention(q, k, v, True, None, None, -1, -1, 0.0, None, None, None, None,
                                                 bs.counts, bs.cols, bs.block, bs.density)
    torch.cuda.synchronize()
    o = eager[0] if return_lse else eager
    assert torch.equal(o, o_op)
    if return_lse:
        assert torch.equal(eager[1], lse_op)
    check(o_op, lse_op, q, k, v, layout, block, "bfloat16", causal=True)


def test_torch_compile_fullgraph_keeps_the_block_sparse_op():
    q, k, v, layout, block = sparse_case(50)
    bs = flashtune.block_sparse(layout, block)

    def f(q, k, v, bs):
        o, lse = flashtune.attention(q, k, v, causal=True, return_lse=True, block_sparse=bs)
        return o * 2.0, lse

    graphs = []

    def record(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    torch._dynamo.reset()
    torch.compile(f, fullgraph=True, backend=record)(q, k, v, bs)
    assert len(graphs) == 1 and "flashtune.attention" in graphs[0].code
    torch._dynamo.reset()
    o2, lse = torch.compile(f, fullgraph=True)(q, k, v, bs)  # inductor
    torch.cuda.synchronize()
    check(o2 / 2.0, lse, q, k, v, layout, block, "bfloat16", causal=True)


class Wrapped:
    """A CUDA tensor of "another framework": only its DLPack methods are visible."""

    def __init__(self, t):
        self._t = t

    def __dlpack__(self, **kwargs):
        return self._t.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._t.__dlpack_device__()


def test_dlpack_path():
    q, k, v, layout, block = sparse_case(60)
    bs = flashtune.block_sparse(layout, block)
    torch.cuda.synchronize()
    wrapped = flashtune.BlockSparse(Wrapped(bs.counts), Wrapped(bs.cols), bs.block, bs.density)
    o, lse = flashtune.attention(Wrapped(q), Wrapped(k), Wrapped(v), causal=True, return_lse=True,
                                 block_sparse=wrapped)
    torch.cuda.synchronize()  # the legacy default stream
    check(torch.from_dlpack(o), torch.from_dlpack(lse), q, k, v, layout, block, "bfloat16", causal=True)
