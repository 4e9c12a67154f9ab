"""On a GPU with torch: the gradients of flashtune.attention (autograd through the custom op's registered
backward, fa2_bwd) against torch SDPA's computed in fp32, by FlashAttention's test rule: our error is at most a
few times that of SDPA's own gradients in the inputs' precision. Head_dim 64 and 128, N 1, 17, 1000 and 4096,
causal and not, bf16 and fp16, GQA (SDPA's enable_gqa), unequal lengths with a window, strided views, a
directional-derivative check against finite differences, and torch.compile(fullgraph=True) forward and
backward. Skipped without a CUDA GPU and torch with CUDA."""

import math

import pytest

import flashtune
from conftest import mask_of, requires_torch_cuda, torch_cuda

pytestmark = [pytest.mark.gpu, requires_torch_cuda]

torch = torch_cuda()
B, H = 2, 3


def randn(*shape, dtype, seed):
    g = torch.Generator(device="cuda").manual_seed(seed)
    return torch.randn(*shape, device="cuda", dtype=dtype, generator=g)


def leaves(shapes, dtype, seed):
    return [randn(*s, dtype=dtype, seed=seed + i).requires_grad_() for i, s in enumerate(shapes)]


def sdpa(q, k, v, causal, window=None, scale=None):
    """SDPA on the tensors as they are; masks bottom-right aligned, grouped heads through enable_gqa."""
    n, nk = q.shape[-2], k.shape[-2]
    kwargs = dict(scale=scale)
    if k.shape[1] != q.shape[1]:
        kwargs["enable_gqa"] = True
    if window is None and (not causal or n == nk):
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal, **kwargs)
    return torch.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=mask_of(n, nk, causal, window), **kwargs
    )


def gradients(o, inputs, d_o):
    return torch.autograd.grad(o, inputs, d_o)


def check_gradients(q, k, v, causal, window=None, scale=None, seed=0, factor=3.0):
    """flashtune's dq, dk, dv against SDPA's in fp32 for one random dO; the bound is `factor` times the error
    of SDPA's gradients in the inputs' precision (against the same fp32 ones), plus 1e-3 of the gradient's
    largest value (a gradient that is zero in exact arithmetic, N = 1 without a mask, is then judged by it)."""
    o = flashtune.attention(q, k, v, causal=causal, window=window, scale=scale)
    d_o = randn(*o.shape, dtype=o.dtype, seed=seed + 100)
    ours = gradients(o, (q, k, v), d_o)
    ref_inputs = [t.detach().float().requires_grad_() for t in (q, k, v)]
    ref = gradients(sdpa(*ref_inputs, causal, window, scale), ref_inputs, d_o.float())
    theirs = gradients(sdpa(q, k, v, causal, window, scale), (q, k, v), d_o)
    for name, g, r, t, x in zip(("dq", "dk", "dv"), ours, ref, theirs, (q, k, v)):
        assert g.shape == x.shape and g.dtype == x.dtype, name
        assert bool(torch.isfinite(g).all()), name
        err = (g.float() - r).abs().max().item()
        bound = factor * (t.float() - r).abs().max().item() + 1e-3 * r.abs().max().item() + 1e-6
        assert err <= bound, f"{name}: max error {err:.3g} > {bound:.3g} (SDPA's {(t.float() - r).abs().max():.3g})"


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("d", [64, 128])
@pytest.mark.parametrize("n", [1, 17, 1000, 4096])
def test_gradients_match_sdpa(n, d, causal, dtype):
    q, k, v = leaves([(B, H, n, d)] * 3, getattr(torch, dtype), seed=n + d)
    check_gradients(q, k, v, causal, seed=n)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("kv_heads", [1, 2])
def test_grouped_heads_get_gradients_per_key_value_head(kv_heads, causal, dtype):
    q, k, v = leaves([(B, 8, 1000, 128), (B, kv_heads, 1000, 128), (B, kv_heads, 1000, 128)],
                     getattr(torch, dtype), seed=kv_heads)
    check_gradients(q, k, v, causal)
    assert k.grad is None  # autograd.grad does not accumulate
    o = flashtune.attention(q, k, v, causal=causal)
    o.float().sum().backward()
    assert k.grad.shape == (B, kv_heads, 1000, 128) and v.grad.shape == k.shape


@pytest.mark.parametrize("window", [None, (256, 0), (100, 50)], ids=["no-window", "left", "both"])
def test_unequal_lengths_and_windows(window):
    q, k, v = leaves([(1, 4, 300, 64), (1, 2, 1000, 64), (1, 2, 1000, 64)], torch.float16, seed=3)
    check_gradients(q, k, v, causal=True, window=window, scale=0.1)


def test_strided_views_and_an_expanded_gradient():
    # A fused [B, N, 3, H, d] projection sliced into q, k, v: the gradient lands in the fused tensor; the loss
    # o.sum() hands the backward an expanded dO (strides 0).
    x = randn(B, 500, 3, H, 128, dtype=torch.bfloat16, seed=5).requires_grad_()
    q, k, v = (x[:, :, i].transpose(1, 2) for i in range(3))
    o, lse = flashtune.attention(q, k, v, causal=True, return_lse=True)
    assert not lse.requires_grad
    (ours,) = torch.autograd.grad(o.sum(), (x,))
    xf = x.detach().float().requires_grad_()
    (ref,) = torch.autograd.grad(sdpa(*(xf[:, :, i].transpose(1, 2) for i in range(3)), True).sum(), (xf,))
    (theirs,) = torch.autograd.grad(sdpa(q, k, v, True).sum(), (x,))
    err = (ours.float() - ref).abs().max().item()
    assert err <= 3 * (theirs.float() - ref).abs().max().item() + 1e-3 * ref.abs().max().item()


def test_directional_derivative_matches_finite_differences():
    # gradcheck's idea at fp32 precision: <grad L, u> against (L(x + eps u) - L(x - eps u)) / 2 eps of the fp32
    # reference, for L = <O, w> and a random direction u of q, k and v at once.
    n, d = 128, 64
    q, k, v = leaves([(1, 2, n, d)] * 3, torch.float16, seed=11)
    w = randn(1, 2, n, d, dtype=torch.float32, seed=12)
    grads = torch.autograd.grad((flashtune.attention(q, k, v, causal=True).float() * w).sum(), (q, k, v))
    us = [randn(1, 2, n, d, dtype=torch.float32, seed=13 + i) for i in range(3)]
    analytic = sum((g.float() * u).sum().item() for g, u in zip(grads, us))
    eps = 1e-2

    def loss(sign):
        return (sdpa(*(t.detach().float() + sign * eps * u for t, u in zip((q, k, v), us)), True) * w).sum().item()

    numeric = (loss(1) - loss(-1)) / (2 * eps)
    assert abs(analytic - numeric) <= 5e-3 * abs(numeric) + 1e-2, (analytic, numeric)


def test_compile_fullgraph_forward_and_backward():
    def f(q, k, v):
        return flashtune.attention(q, k, v, causal=True)

    torch._dynamo.reset()
    compiled = torch.compile(f, fullgraph=True)
    q, k, v = leaves([(B, 8, 1000, 128), (B, 2, 1000, 128), (B, 2, 1000, 128)], torch.bfloat16, seed=21)
    o = compiled(q, k, v)
    d_o = randn(*o.shape, dtype=o.dtype, seed=22)
    got = gradients(o, (q, k, v), d_o)
    o_eager = f(q, k, v)
    assert torch.equal(o, o_eager)
    want = gradients(o_eager, (q, k, v), d_o)
    for g, w in zip(got, want):  # dQ sums with atomics: equal up to the order of additions
        assert g.shape == w.shape
        assert (g.float() - w.float()).abs().max().item() <= 1e-2 * w.float().abs().max().item()
    check_gradients(q, k, v, causal=True)


def test_refusals_on_the_gpu():
    q, k, v = leaves([(1, 2, 64, 64)] * 3, torch.bfloat16, seed=31)
    o = flashtune.attention(q, k, v, softcap=30.0)  # the forward runs
    with pytest.raises(flashtune.InvalidArgumentError) as e:
        o.sum().backward()
    assert e.value.argument == "softcap"
    with torch.no_grad():  # nothing recorded: nothing refused
        flashtune.attention(q, k, v, softcap=30.0)
    t = randn(100, 2, 64, dtype=torch.bfloat16, seed=32).requires_grad_()
    cu = torch.tensor([0, 40, 100], dtype=torch.int32, device="cuda")
    o = flashtune.attention(t, t, t, cu_seqlens_q=cu, cu_seqlens_k=cu)
    with pytest.raises(flashtune.InvalidArgumentError) as e:
        o.sum().backward()
    assert e.value.argument == "cu_seqlens_q"
    assert math.isfinite(o.float().abs().max().item())
