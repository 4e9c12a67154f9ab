"""On a GPU with torch: the attention variants through flashtune.attention, against an fp32 reference written
from the definitions (docs/search-spaces.md, the mask): grouped and multi-query heads, more and fewer keys than
queries (causal aligned bottom-right; rows without keys give O = 0, LSE = -inf), [B, N, H, d] projections
passed as views, a sliding window, the soft-cap; through the runtime's choice and each template forced.
Skipped without a CUDA GPU and torch with CUDA."""


import pytest

import flashtune
from conftest import MAX_ABS, rand, reference, requires_torch_cuda, templates, torch_cuda

pytestmark = [pytest.mark.gpu, requires_torch_cuda]

torch = torch_cuda()


CASES = {
    # name: (batch, heads, kv_heads, seqlen, seqlen_k, head_dim, causal, window, softcap, dtype)
    "gqa": (2, 8, 2, 1000, 1000, 128, True, None, None, "bfloat16"),
    "mqa": (2, 8, 1, 257, 257, 64, False, None, None, "float16"),
    "decode": (4, 8, 2, 1, 4096, 128, True, None, None, "bfloat16"),
    "chunked_prefill": (2, 4, 4, 100, 1000, 128, True, None, None, "float16"),
    "more_queries_than_keys": (2, 4, 4, 300, 100, 64, True, None, None, "bfloat16"),
    "causal_window": (2, 4, 4, 2048, 2048, 128, True, (256, 0), None, "bfloat16"),
    "two_sided_window": (2, 4, 2, 1000, 1000, 64, False, (100, None), None, "float16"),
    "softcap": (2, 4, 4, 1000, 1000, 128, True, None, 30.0, "bfloat16"),
    "everything": (2, 8, 2, 500, 1500, 128, True, (300, 0), 20.0, "float16"),
}


@pytest.mark.parametrize("template", templates(), ids=lambda t: t or "choice")
@pytest.mark.parametrize("case", list(CASES))
def test_variant_matches_the_reference(case, template):
    b, h, hk, n, nk, d, causal, window, softcap, dtype = CASES[case]
    dt = getattr(torch, dtype)
    q, k, v = rand((b, h, n, d), dt, 1), rand((b, hk, nk, d), dt, 2), rand((b, hk, nk, d), dt, 3)
    o, lse = flashtune.attention(
        q, k, v, causal=causal, window=window, softcap=softcap, return_lse=True, template=template
    )
    o_ref, lse_ref = reference(q, k, v, causal, window, softcap)
    assert o.shape == q.shape and lse.shape == (b, h, n)
    err = (o.float() - o_ref).abs().max().item()
    assert err <= MAX_ABS[dtype], f"max |O - ref| {err:.3g}"
    empty = torch.isinf(lse_ref)
    assert torch.equal(torch.isinf(lse) & (lse < 0), empty), "rows without keys: LSE must be -inf, only there"
    torch.testing.assert_close(lse[~empty], lse_ref[~empty], atol=2e-3, rtol=1e-3)
    if empty.any():
        assert (o[empty] == 0).all(), "rows without keys: O must be 0"


@pytest.mark.parametrize("template", templates(), ids=lambda t: t or "choice")
def test_bshd_projections_are_read_in_place(template):
    # [B, N, H, d] tensors, as a projection writes them, passed as their [B, H, N, d] views: no copy, and O
    # comes back in the same memory layout.
    b, n, h, hk, d = 2, 777, 8, 2, 128
    q = rand((b, n, h, d), torch.bfloat16, 4).transpose(1, 2)
    k = rand((b, n, hk, d), torch.bfloat16, 5).transpose(1, 2)
    v = rand((b, n, hk, d), torch.bfloat16, 6).transpose(1, 2)
    assert not q.is_contiguous()
    o = flashtune.attention(q, k, v, causal=True, window=(128, 0), template=template)
    assert o.stride() == q.stride()
    o_ref, _ = reference(q, k, v, True, (128, 0))
    err = (o.float() - o_ref).abs().max().item()
    assert err <= MAX_ABS["bfloat16"], f"max |O - ref| {err:.3g}"
    # A slice of a fused QKV projection: rows 3 * H * d apart.
    qkv = rand((b, n, 3, h, d), torch.bfloat16, 7)
    q, k, v = (qkv[:, :, i].transpose(1, 2) for i in range(3))
    o = flashtune.attention(q, k, v, template=template)
    err = (o.float() - reference(q, k, v)[0]).abs().max().item()
    assert err <= MAX_ABS["bfloat16"], f"max |O - ref| {err:.3g}"


def test_gqa_matches_sdpa_enable_gqa():
    # The same problem as torch states it (enable_gqa, torch >= 2.5), both in fp32.
    if "enable_gqa" not in torch.nn.functional.scaled_dot_product_attention.__doc__:
        pytest.skip("this torch has no enable_gqa")
    q = rand((2, 32, 2048, 128), torch.bfloat16, 8)
    k, v = (rand((2, 8, 2048, 128), torch.bfloat16, s) for s in (9, 10))
    o = flashtune.attention(q, k, v, causal=True)
    o_ref = torch.nn.functional.scaled_dot_product_attention(
        q.float(), k.float(), v.float(), is_causal=True, enable_gqa=True
    )
    err = (o.float() - o_ref).abs().max().item()
    assert err <= MAX_ABS["bfloat16"], f"max |O - ref| {err:.3g}"


def test_torch_compile_keeps_the_variant_call():
    q = rand((1, 8, 256, 64), torch.float16, 11)
    k, v = (rand((1, 2, 512, 64), torch.float16, s) for s in (12, 13))
    f = torch.compile(
        lambda q, k, v: flashtune.attention(q, k, v, causal=True, window=(64, 0), softcap=30.0), fullgraph=True
    )
    o = f(q, k, v)
    err = (o.float() - reference(q, k, v, True, (64, 0), 30.0)[0]).abs().max().item()
    assert err <= MAX_ABS["float16"], f"max |O - ref| {err:.3g}"


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_head_dim_256(causal):
    # hopper_fwd only (sm_90a): the runtime's choice.
    if torch.cuda.get_device_capability()[0] != 9:
        pytest.skip("head_dim 256 runs on hopper_fwd (sm_90a)")
    q = rand((2, 4, 1000, 256), torch.bfloat16, 14)
    k, v = (rand((2, 2, 1000, 256), torch.bfloat16, s) for s in (15, 16))
    o = flashtune.attention(q, k, v, causal=causal)
    err = (o.float() - reference(q, k, v, causal)[0]).abs().max().item()
    assert err <= MAX_ABS["bfloat16"], f"max |O - ref| {err:.3g}"
