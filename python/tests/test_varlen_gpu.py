"""On a GPU with torch: variable-length (packed) attention through flashtune.attention's cu_seqlens arguments
(FlashAttention's flash_attn_varlen_func convention), against a per-sequence loop of an fp32 reference written
from the definitions (docs/search-spaces.md, the mask, applied to each sequence with its own lengths) and of
torch's SDPA: ragged lengths including 0 and 1, keys of other lengths than the queries (causal aligned
bottom-right per sequence), grouped heads, a window, the soft-cap, bf16 and fp16, the runtime's choice and each
template forced; the LSE's shape [heads, total_q] and values; packed views read in place; max_seqlen given or
read from cu_seqlens; the custom op, torch.compile(fullgraph=True) and the DLPack path. Skipped without a CUDA
GPU and torch with CUDA."""


import pytest

import flashtune
from conftest import MAX_ABS, rand, requires_torch_cuda, templates, torch_cuda
from conftest import reference as shared_reference

pytestmark = [pytest.mark.gpu, requires_torch_cuda]

torch = torch_cuda()
def cu_of(lengths):
    """int32 prefix sums from 0 on the GPU: FlashAttention's cu_seqlens."""
    cu = [0]
    for n in lengths:
        cu.append(cu[-1] + n)
    return torch.tensor(cu, dtype=torch.int32, device="cuda")


def reference_one(q, k, v, causal, window, softcap, scale):
    """One sequence: q [n, h, d], k and v [nk, hk, d] -> O [n, h, d], LSE [h, n] in fp32, by the fixed-length
    reference (conftest.reference) on its [1, h, n, d] view."""
    n, h, d = q.shape
    if n == 0:
        return q.new_zeros(0, h, d, dtype=torch.float32), q.new_zeros(h, 0, dtype=torch.float32)
    if k.shape[0] == 0:
        return (q.new_zeros(n, h, d, dtype=torch.float32),
                torch.full((h, n), float("-inf"), device=q.device, dtype=torch.float32))
    o, lse = shared_reference(*(t.transpose(0, 1)[None] for t in (q, k, v)), causal, window, softcap, scale)
    return o[0].transpose(0, 1), lse[0]


def reference(q, k, v, lens_q, lens_k, causal=False, window=None, softcap=None, scale=None):
    """The packed batch, one sequence at a time: O [total_q, h, d] and LSE [h, total_q] in fp32."""
    os, lses = [], []
    bq = bk = 0
    for n, nk in zip(lens_q, lens_k):
        o, lse = reference_one(q[bq:bq + n], k[bk:bk + nk], v[bk:bk + nk], causal, window, softcap, scale)
        os.append(o)
        lses.append(lse)
        bq += n
        bk += nk
    return torch.cat(os, 0), torch.cat(lses, 1)


def check(o, lse, q, k, v, lens_q, lens_k, dtype, causal=False, window=None, softcap=None, scale=None):
    o_ref, lse_ref = reference(q, k, v, lens_q, lens_k, causal, window, softcap, scale)
    total_q, h = q.shape[0], q.shape[1]
    assert o.shape == q.shape and o.dtype == q.dtype and o.device == q.device
    err = (o.float() - o_ref).abs().max().item()
    assert err <= MAX_ABS[dtype], f"max |O - ref| {err:.3g}"
    if lse is None:
        return
    assert lse.shape == (h, total_q) and lse.dtype == torch.float32
    empty = torch.isinf(lse_ref)
    assert torch.equal(torch.isinf(lse) & (lse < 0), empty), "rows without keys: LSE must be -inf, only there"
    torch.testing.assert_close(lse[~empty], lse_ref[~empty], atol=2e-3, rtol=1e-3)
    rows = empty.any(0)  # [total_q]: some head of the row sees no key (then all do)
    if rows.any():
        assert (o[rows] == 0).all(), "rows without keys: O must be 0"


# Ragged lengths with empty and one-token sequences, one past a block boundary, one long one.
LENS = [0, 1, 17, 1000, 128, 0, 513, 2049, 1, 64]
# Keys of other lengths (chunked prefill: more keys; decode-like: 1 query; more queries than keys; no keys).
LENS_Q = [5, 1, 300, 0, 100, 700, 33, 1]
LENS_K = [9, 2000, 100, 50, 0, 700, 1000, 1]

CASES = {
    # name: (heads, kv_heads, head_dim, lens_q, lens_k (None: lens_q), causal, window, softcap, dtype)
    "plain": (4, 4, 128, LENS, None, False, None, None, "bfloat16"),
    "causal": (4, 4, 128, LENS, None, True, None, None, "float16"),
    "gqa_causal": (8, 2, 128, LENS, None, True, None, None, "bfloat16"),
    "mqa_d64": (8, 1, 64, LENS, None, False, None, None, "float16"),
    "cross_causal": (4, 2, 128, LENS_Q, LENS_K, True, None, None, "bfloat16"),
    "cross_full": (4, 4, 64, LENS_Q, LENS_K, False, None, None, "float16"),
    "causal_window": (4, 2, 128, LENS, None, True, (256, 0), None, "bfloat16"),
    "two_sided_window": (4, 4, 64, LENS_Q, LENS_K, False, (100, 37), None, "float16"),
    "softcap": (4, 4, 128, LENS, None, True, None, 30.0, "bfloat16"),
    "everything": (8, 2, 128, LENS_Q, LENS_K, True, (300, 0), 20.0, "float16"),
}


def case_tensors(case, seed=0):
    h, hk, d, lens_q, lens_k, causal, window, softcap, dtype = CASES[case]
    lens_k = lens_q if lens_k is None else lens_k
    dt = getattr(torch, dtype)
    q = rand((sum(lens_q), h, d), dt, seed + 1)
    k, v = rand((sum(lens_k), hk, d), dt, seed + 2), rand((sum(lens_k), hk, d), dt, seed + 3)
    return q, k, v, lens_q, lens_k


@pytest.mark.parametrize("template", templates(), ids=lambda t: t or "choice")
@pytest.mark.parametrize("case", list(CASES))
def test_varlen_matches_the_reference(case, template):
    h, hk, d, _, _, causal, window, softcap, dtype = CASES[case]
    q, k, v, lens_q, lens_k = case_tensors(case)
    cu_q = cu_of(lens_q)
    cu_k = cu_q if lens_k is lens_q else cu_of(lens_k)  # self-attention passes one tensor twice
    o, lse = flashtune.attention(
        q, k, v, causal=causal, window=window, softcap=softcap, return_lse=True, template=template,
        cu_seqlens_q=cu_q, cu_seqlens_k=cu_k, max_seqlen_q=max(lens_q), max_seqlen_k=max(lens_k),
    )
    torch.cuda.synchronize()
    check(o, lse, q, k, v, lens_q, lens_k, dtype, causal, window, softcap)


@pytest.mark.parametrize("template", templates(), ids=lambda t: t or "choice")
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_varlen_matches_sdpa_per_sequence(causal, dtype, template):
    # torch's own SDPA on each sequence (fp32, enable_gqa spelled out as repeat_interleave), self-attention.
    h, hk, d = 8, 2, 128
    dt = getattr(torch, dtype)
    q = rand((sum(LENS), h, d), dt, 11)
    k, v = rand((sum(LENS), hk, d), dt, 12), rand((sum(LENS), hk, d), dt, 13)
    cu = cu_of(LENS)
    o = flashtune.attention(q, k, v, causal=causal, template=template, cu_seqlens_q=cu, cu_seqlens_k=cu)
    torch.cuda.synchronize()
    start = 0
    for n in LENS:
        if n == 0:
            continue
        qs, ks, vs = (t[start:start + n].float().transpose(0, 1)[None] for t in (q, k, v))
        ks, vs = ks.repeat_interleave(h // hk, dim=1), vs.repeat_interleave(h // hk, dim=1)
        ref = torch.nn.functional.scaled_dot_product_attention(qs, ks, vs, is_causal=causal)[0].transpose(0, 1)
        err = (o[start:start + n].float() - ref).abs().max().item()
        assert err <= MAX_ABS[dtype], f"sequence of {n}: max |O - SDPA| {err:.3g}"
        start += n


def test_max_seqlen_read_from_cu_seqlens_is_the_same_call():
    # None: read on the host (one sync); an upper bound above the longest: the same result, bitwise.
    q, k, v, lens_q, lens_k = case_tensors("cross_causal", seed=20)
    cu_q, cu_k = cu_of(lens_q), cu_of(lens_k)
    given = flashtune.attention(q, k, v, causal=True, cu_seqlens_q=cu_q, cu_seqlens_k=cu_k,
                                max_seqlen_q=max(lens_q), max_seqlen_k=max(lens_k))
    read = flashtune.attention(q, k, v, causal=True, cu_seqlens_q=cu_q, cu_seqlens_k=cu_k)
    bound = flashtune.attention(q, k, v, causal=True, cu_seqlens_q=cu_q, cu_seqlens_k=cu_k,
                                max_seqlen_q=8192, max_seqlen_k=1 << 20)
    torch.cuda.synchronize()
    assert torch.equal(given, read) and torch.equal(given, bound)


def test_one_sequence_is_the_fixed_length_call():
    # A batch of one sequence is the [1, heads, n, head_dim] problem: the same numbers (up to accumulation
    # order, which may differ with the layout's kernel).
    h, n, d = 4, 1000, 128
    q, k, v = (rand((n, h, d), torch.bfloat16, s) for s in (30, 31, 32))
    cu = cu_of([n])
    o = flashtune.attention(q, k, v, causal=True, cu_seqlens_q=cu, cu_seqlens_k=cu)
    o_fixed = flashtune.attention(*(t.transpose(0, 1)[None] for t in (q, k, v)), causal=True)
    torch.cuda.synchronize()
    err = (o.float() - o_fixed[0].transpose(0, 1).float()).abs().max().item()
    assert err <= MAX_ABS["bfloat16"], f"max |O varlen - O fixed| {err:.3g}"


@pytest.mark.parametrize("template", templates(), ids=lambda t: t or "choice")
def test_packed_projections_are_read_in_place(template):
    # q, k, v as slices of a fused QKV projection [total, 3, heads, head_dim]: rows 3 * heads * head_dim apart.
    h, d = 4, 128
    qkv = rand((sum(LENS), 3, h, d), torch.bfloat16, 40)
    q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]
    assert not q.is_contiguous()
    cu = cu_of(LENS)
    o, lse = flashtune.attention(q, k, v, causal=True, return_lse=True, template=template, cu_seqlens_q=cu,
                                 cu_seqlens_k=cu)
    torch.cuda.synchronize()
    check(o, lse, q, k, v, LENS, LENS, "bfloat16", causal=True)


def test_scale():
    q, k, v, lens_q, lens_k = case_tensors("plain", seed=50)
    cu = cu_of(lens_q)
    o = flashtune.attention(q, k, v, scale=0.05, cu_seqlens_q=cu, cu_seqlens_k=cu)
    torch.cuda.synchronize()
    check(o, None, q, k, v, lens_q, lens_k, "bfloat16", scale=0.05)


@pytest.mark.parametrize("return_lse", [False, True])
def test_eager_path_and_custom_op_agree(return_lse):
    q, k, v, lens_q, lens_k = case_tensors("gqa_causal", seed=60)
    cu = cu_of(lens_q)
    eager = flashtune.attention(q, k, v, causal=True, return_lse=return_lse, cu_seqlens_q=cu, cu_seqlens_k=cu)
    o_op, lse_op = torch.ops.flashtune.attention(q, k, v, True, None, None, -1, -1, 0.0, cu, cu, None, None)
    torch.cuda.synchronize()
    assert lse_op.shape == (q.shape[1], q.shape[0])
    o = eager[0] if return_lse else eager
    assert torch.equal(o, o_op)
    if return_lse:
        assert torch.equal(eager[1], lse_op)


@pytest.mark.parametrize("given", [False, True], ids=["max_read", "max_given"])
def test_torch_compile_fullgraph_keeps_the_varlen_op(given):
    q, k, v, lens_q, lens_k = case_tensors("cross_causal", seed=70)
    cu_q, cu_k = cu_of(lens_q), cu_of(lens_k)
    mq, mk = (max(lens_q), max(lens_k)) if given else (None, None)

    def f(q, k, v, cu_q, cu_k):
        o, lse = flashtune.attention(q, k, v, causal=True, window=(64, 0), softcap=30.0, return_lse=True,
                                     cu_seqlens_q=cu_q, cu_seqlens_k=cu_k, max_seqlen_q=mq, max_seqlen_k=mk)
        return o * 2.0, lse

    graphs = []

    def record(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    torch._dynamo.reset()
    torch.compile(f, fullgraph=True, backend=record)(q, k, v, cu_q, cu_k)
    assert len(graphs) == 1 and "flashtune.attention" in graphs[0].code
    torch._dynamo.reset()
    o2, lse = torch.compile(f, fullgraph=True)(q, k, v, cu_q, cu_k)  # inductor
    torch.cuda.synchronize()
    check(o2 / 2.0, lse, q, k, v, lens_q, lens_k, "bfloat16", True, (64, 0), 30.0)


def test_torch_compile_dynamic_shapes():
    def f(q, k, v, cu, n):
        o = flashtune.attention(q, k, v, causal=True, cu_seqlens_q=cu, cu_seqlens_k=cu, max_seqlen_q=n,
                                max_seqlen_k=n)
        return o.float().sum(-1)

    torch._dynamo.reset()
    compiled = torch.compile(f, fullgraph=True, dynamic=True)
    for lens in ([3, 200, 0, 17], [1000, 1, 64]):
        q, k, v = (rand((sum(lens), 4, 64), torch.float16, s) for s in (80, 81, 82))
        cu = cu_of(lens)
        torch.testing.assert_close(compiled(q, k, v, cu, max(lens)), f(q, k, v, cu, max(lens)), atol=1e-3,
                                   rtol=1e-3)


def test_cu_seqlens_read_on_the_host_are_checked():
    q = rand((100, 4, 64), torch.bfloat16, 90)
    bad = {
        "decreasing": [0, 50, 40, 100],
        "not from 0": [10, 50, 100],
        "past the rows": [0, 50, 101],
    }
    for why, cu in bad.items():
        t = torch.tensor(cu, dtype=torch.int32, device="cuda")
        with pytest.raises(flashtune.InvalidArgumentError) as e:
            flashtune.attention(q, q, q, cu_seqlens_q=t, cu_seqlens_k=cu_of([50, 50]) if len(cu) == 3 else t)
        assert e.value.argument == "cu_seqlens_q", why
        assert "prefix sums" in str(e.value), why
    # Rows past cu_seqlens_q[-1] are allowed (padding at the end): they are not computed.
    o = flashtune.attention(q, q, q, cu_seqlens_q=cu_of([30, 40]), cu_seqlens_k=cu_of([30, 40]))
    torch.cuda.synchronize()
    check(o[:70], None, q[:70], q[:70], q[:70], [30, 40], [30, 40], "bfloat16")


def test_cuda_errors_name_the_argument():
    q = rand((100, 4, 64), torch.bfloat16, 91)
    cu = cu_of([50, 50])
    cases = [
        (flashtune.ArgumentTypeError, "cu_seqlens_q", dict(cu_seqlens_q=cu.long(), cu_seqlens_k=cu)),
        (flashtune.ArgumentTypeError, "cu_seqlens_k", dict(cu_seqlens_q=cu, cu_seqlens_k=[0, 50, 100])),
        (flashtune.InvalidArgumentError, "cu_seqlens_k", dict(cu_seqlens_q=cu, cu_seqlens_k=cu_of([100]))),
        # [0, 50, 100] 4 bytes into its allocation: not 16-byte aligned.
        (flashtune.InvalidArgumentError, "cu_seqlens_q",
         dict(cu_seqlens_q=cu_of([0, 50, 50])[1:], cu_seqlens_k=cu, max_seqlen_q=50, max_seqlen_k=50)),
        (flashtune.DeviceError, "cu_seqlens_q", dict(cu_seqlens_q=cu.cpu(), cu_seqlens_k=cu)),
        (flashtune.InvalidArgumentError, "cu_seqlens_k", dict(cu_seqlens_q=cu)),
    ]
    for error, argument, kwargs in cases:
        with pytest.raises(error) as e:
            flashtune.attention(q, q, q, **kwargs)
        assert e.value.argument == argument, str(e.value)
    with pytest.raises(flashtune.InvalidArgumentError) as e:  # 4-D q with cu_seqlens
        flashtune.attention(q[None], q[None], q[None], cu_seqlens_q=cu, cu_seqlens_k=cu)
    assert e.value.argument == "q" and "3-dimensional" in str(e.value)


class Wrapped:
    """A CUDA tensor of "another framework": only its DLPack methods are visible."""

    def __init__(self, t):
        self._t = t

    def __dlpack__(self, **kwargs):
        return self._t.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._t.__dlpack_device__()


@pytest.mark.parametrize("return_lse", [False, True])
def test_dlpack_path(return_lse):
    q, k, v, lens_q, lens_k = case_tensors("cross_causal", seed=100)
    cu_q, cu_k = cu_of(lens_q), cu_of(lens_k)
    torch.cuda.synchronize()
    out = flashtune.attention(
        Wrapped(q), Wrapped(k), Wrapped(v), causal=True, return_lse=return_lse, cu_seqlens_q=Wrapped(cu_q),
        cu_seqlens_k=Wrapped(cu_k), max_seqlen_q=max(lens_q), max_seqlen_k=max(lens_k),
    )
    torch.cuda.synchronize()  # the legacy default stream
    o = torch.from_dlpack(out[0] if return_lse else out)
    lse = torch.from_dlpack(out[1]) if return_lse else None
    check(o, lse, q, k, v, lens_q, lens_k, "bfloat16", causal=True)
    del out, o, lse
    with pytest.raises(flashtune.InvalidArgumentError) as e:  # other frameworks must give the max_seqlens
        flashtune.attention(Wrapped(q), Wrapped(k), Wrapped(v), cu_seqlens_q=Wrapped(cu_q), cu_seqlens_k=Wrapped(cu_k))
    assert e.value.argument == "max_seqlen_q"
