"""Autograd of flashtune.attention without a GPU (needs torch, any build; skipped without it): the backward
registered on the custom op, the backward op's fake implementation (meta tensors, torch.library.opcheck), which
calls take the op and which the eager fast path, what the backward hands the extension (a recorder stands in for
the GPU), the refusals of what has no backward template, and torch.compile(fullgraph=True) keeping both passes."""

import ctypes
import math

import pytest

import flashtune

torch = pytest.importorskip("torch")
import flashtune._torch_op as top  # noqa: E402  (registers the ops)

B, H, HKV, N, NK, D = 2, 4, 2, 17, 33, 64


def meta(*shape, requires_grad=False, dtype=torch.bfloat16):
    return torch.empty(*shape, dtype=dtype, device="meta", requires_grad=requires_grad)


def qkv(device="meta", requires_grad=(True, True, True), d=D, dtype=torch.bfloat16):
    shapes = ((B, H, N, d), (B, HKV, NK, d), (B, HKV, NK, d))
    return tuple(
        torch.zeros(*s, dtype=dtype, device=device).requires_grad_(g) for s, g in zip(shapes, requires_grad)
    )


def test_both_ops_are_registered_with_the_backward():
    assert hasattr(torch.ops.flashtune, "attention")
    assert hasattr(torch.ops.flashtune, "attention_backward")
    q, k, v = qkv()
    o, lse = torch.ops.flashtune.attention(q, k, v, True, None, None)
    assert o.requires_grad and o.grad_fn is not None
    assert not lse.requires_grad  # the LSE is not differentiable, as SDPA's
    # Without grad mode, or with no input requiring grad, nothing is recorded.
    with torch.no_grad():
        assert torch.ops.flashtune.attention(q, k, v, True, None, None)[0].grad_fn is None
    assert torch.ops.flashtune.attention(*qkv(requires_grad=(False,) * 3), True, None, None)[0].grad_fn is None


def test_the_backward_on_meta_tensors_gives_each_input_its_gradient():
    # The forward's fake, then the backward op's fake: shapes, dtypes, GQA gradients per key/value head.
    q, k, v = qkv()
    o, lse = torch.ops.flashtune.attention(q, k, v, True, 0.5, None, 4, 0, 0.0)
    d_q, d_k, d_v = torch.autograd.grad(o, (q, k, v), torch.empty_like(o))
    for g, t in ((d_q, q), (d_k, k), (d_v, v)):
        assert g.shape == t.shape and g.dtype == t.dtype and g.device.type == "meta"
    assert d_k.shape == (B, HKV, NK, D)
    # Only the inputs that require grad get one.
    q, k, v = qkv(requires_grad=(False, True, False))
    o, _ = torch.ops.flashtune.attention(q, k, v, False, None, None)
    (d_k,) = torch.autograd.grad(o, (k,), torch.empty_like(o))
    assert d_k.shape == k.shape


def test_the_backward_ops_fake_checks_the_metadata():
    q, k, v = qkv(requires_grad=(False,) * 3)
    o, lse = meta(B, H, N, D), meta(B, H, N, dtype=torch.float32)
    d_q, d_k, d_v = torch.ops.flashtune.attention_backward(o, q, k, v, o, lse, True, None)
    assert (d_q.shape, d_k.shape, d_v.shape) == (q.shape, k.shape, v.shape)
    cases = [
        (flashtune.ArgumentTypeError, "lse", dict(lse=meta(B, H, N))),  # bf16, not float32
        (flashtune.InvalidArgumentError, "lse", dict(lse=meta(B, H, N + 1, dtype=torch.float32))),
        (flashtune.InvalidArgumentError, "lse", dict(lse=meta(B, N, H, dtype=torch.float32).transpose(1, 2))),
        (flashtune.InvalidArgumentError, "o", dict(o=meta(B, H, N + 1, D))),
        (flashtune.ArgumentTypeError, "d_o", dict(d_o=meta(B, H, N, D, dtype=torch.float16))),
        (flashtune.InvalidArgumentError, "d_o", dict(d_o=meta(B, H, N, 2 * D))),
        (flashtune.ArgumentTypeError, "k", dict(k=meta(B, HKV, NK, D, dtype=torch.float16))),
        (flashtune.InvalidArgumentError, "softcap", dict(softcap=30.0)),
    ]
    for error, argument, change in cases:
        args = dict(d_o=o, q=q, k=k, v=v, o=o, lse=lse, causal=True, scale=None, window_left=-1, window_right=-1,
                    softcap=0.0)
        args.update(change)
        with pytest.raises(error) as e:
            torch.ops.flashtune.attention_backward(*args.values())
        assert e.value.argument == argument, str(e.value)
    # A dO laid out otherwise than O is accepted: the op copies it to O's layout.
    d_o = meta(B, N, H, D).transpose(1, 2)
    torch.ops.flashtune.attention_backward(d_o, q, k, v, o, lse, False, None)


def test_opcheck():
    q, k, v = qkv()
    o, lse = meta(B, H, N, D), meta(B, H, N, dtype=torch.float32)
    plain = tuple(t.detach() for t in (q, k, v))
    torch.library.opcheck(torch.ops.flashtune.attention_backward.default, (o, *plain, o, lse, True, None, 8, 8, 0.0))
    torch.library.opcheck(torch.ops.flashtune.attention.default, (q, k, v, True, None, None))


def test_what_has_no_backward_is_refused_when_the_backward_runs():
    def refused(argument, match, *args):
        q, k, v = args[:3]
        o, _ = torch.ops.flashtune.attention(*args)  # the forward runs
        with pytest.raises(flashtune.InvalidArgumentError) as e:
            torch.autograd.grad(o, [t for t in (q, k, v) if t.requires_grad], torch.empty_like(o))
        assert e.value.argument == argument, str(e.value)
        assert str(e.value).startswith(argument + ":"), str(e.value)
        assert match in str(e.value), str(e.value)

    q, k, v = qkv()
    refused("softcap", "fa2_bwd does not support softcap (30)", q, k, v, False, None, None, -1, -1, 30.0)
    q96, k96, v96 = qkv(d=96)
    refused("q", "head_dim 96", q96, k96, v96, False, None, None)
    # head_dim 96 with a cap: the head_dim is what is named.
    refused("q", "head_dim 96", q96, k96, v96, False, None, None, -1, -1, 30.0)
    t = meta(50, H, D, requires_grad=True)
    tk, tv = meta(50, HKV, D, requires_grad=True), meta(50, HKV, D, requires_grad=True)
    cu = torch.empty(3, dtype=torch.int32, device="meta")
    refused("cu_seqlens_q", "variable-length attention", t, tk, tv, True, None, None, -1, -1, 0.0, cu, cu, 30, 30)
    q, k, v = qkv()
    counts = torch.empty(1, dtype=torch.int32, device="meta")
    cols = torch.empty(1, 1, dtype=torch.int32, device="meta")
    refused("block_sparse", "block-sparse attention", q, k, v, False, None, None, -1, -1, 0.0, None, None, None, None,
            counts, cols, 64, 1.0)


# ---- the eager paths, with a recorder standing in for the extension's GPU calls


# The bytes the recorder writes into the gradients it is handed (d_q, d_k, d_v), as bf16 values.
FILL = {6: 0x3F, 7: 0x40, 8: 0x3C}


def filled(byte):
    return torch.tensor([byte * 0x101], dtype=torch.int16).view(torch.bfloat16).item()


class Recorder:
    """Records the extension's GPU calls; the backward's writes its gradients (CPU memory here) with FILL."""

    def __init__(self):
        self.calls = []

    def __call__(self, name):
        def record(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            if name == "_attention_backward_desc":
                for i, byte in FILL.items():
                    ptr, shape = args[i][0], args[i][1]
                    ctypes.memset(ptr, byte, 2 * math.prod(shape))  # dense: empty_like of a dense tensor

        return record

    def names(self):
        return [c[0] for c in self.calls]


@pytest.fixture
def recorder(monkeypatch):
    r = Recorder()
    for name in ("_attention_torch", "_attention_desc", "_attention_backward_desc"):
        monkeypatch.setattr(top._C, name, r(name))
    return r


def cpu_qkv(requires_grad=True):
    return qkv(device="cpu", requires_grad=(requires_grad,) * 3)


def test_calls_that_need_a_gradient_take_the_op(recorder):
    q, k, v = cpu_qkv(requires_grad=False)
    assert flashtune.attention(q, k, v).grad_fn is None
    assert recorder.names() == ["_attention_torch"]  # the fast path
    q, k, v = cpu_qkv()
    with torch.no_grad():
        flashtune.attention(q, k, v)
    with torch.inference_mode():
        flashtune.attention(q, k, v)
    assert recorder.names() == ["_attention_torch"] * 3
    o = flashtune.attention(q, k, v, causal=True)
    assert o.grad_fn is not None and recorder.names()[-1] == "_attention_desc"
    o, lse = flashtune.attention(q, k, v, return_lse=True)
    assert o.grad_fn is not None and not lse.requires_grad
    # Only one input requiring grad is enough; varlen and block-sparse calls take the op too.
    k2 = k.detach().requires_grad_(False)
    assert flashtune.attention(q.detach(), k2, v).grad_fn is not None
    t = torch.zeros(50, H, D, dtype=torch.bfloat16, requires_grad=True)
    cu = torch.tensor([0, 20, 50], dtype=torch.int32)
    assert flashtune.attention(t, t, t, cu_seqlens_q=cu, cu_seqlens_k=cu, max_seqlen_q=30,
                               max_seqlen_k=30).grad_fn is not None
    assert recorder.names()[-1] == "_attention_desc"


def test_the_backward_hands_the_extension_its_tensors(recorder):
    q, k, v = cpu_qkv()
    o = flashtune.attention(q, k, v, causal=True, scale=0.25, window=(8, None))
    (_, fwd_args, _) = recorder.calls[-1]
    o.sum().backward()  # dO: ones expanded (strides 0), copied to O's layout for the kernels
    name, args, _ = recorder.calls[-1]
    assert name == "_attention_backward_desc"
    d_o, q_desc, o_desc, lse_desc = args[0], args[1], args[4], args[5]
    assert [a[1] for a in args[:9]] == [
        o.shape, q.shape, k.shape, v.shape, o.shape, (B, H, N), q.shape, k.shape, v.shape
    ]
    assert d_o[2] == o_desc[2] == tuple(o.stride())  # laid out as O, not expanded
    assert o_desc[0] == o.data_ptr() and q_desc[0] == q.data_ptr()  # dense q: read in place
    assert args[9:] == (True, 0.25, 0, 8, -1, 0.0)  # causal, scale, stream 0 on the CPU, window, softcap
    assert fwd_args[3] == o.data_ptr() and fwd_args[4] == lse_desc[0]  # the forward's O and LSE
    # The gradients the extension was told to write are the ones autograd hands back, per key/value head.
    for t, i in ((q, 6), (k, 7), (v, 8)):
        assert t.grad is not None and t.grad.shape == t.shape
        assert bool((t.grad == filled(FILL[i])).all()), (i, t.grad.flatten()[:4])


def test_a_strided_view_gets_a_contiguous_gradient(recorder):
    # A slice of a fused [B, N, 3, H, d] projection: the kernels address dQ at q's strides, so q goes down
    # contiguous, and its gradient with it; a dense [B, N, H, d] view keeps its layout.
    qkv_ = torch.zeros(B, N, 3, H, D, dtype=torch.bfloat16, requires_grad=True)
    q, k, v = (qkv_[:, :, i].transpose(1, 2) for i in range(3))
    flashtune.attention(q, k, v).float().pow(2).sum().backward()
    _, args, _ = recorder.calls[-1]
    for desc in args[1:4] + args[6:9]:
        assert desc[2] == (H * N * D, N * D, D, 1), desc
    assert qkv_.grad is not None and qkv_.grad.shape == qkv_.shape
    for i in range(3):
        assert bool((qkv_.grad[:, :, i] == filled(FILL[6 + i])).all())
    x = torch.zeros(B, N, H, D, dtype=torch.bfloat16, requires_grad=True)
    flashtune.attention(x.transpose(1, 2), x.transpose(1, 2), x.transpose(1, 2)).sum().backward()
    _, args, _ = recorder.calls[-1]
    assert args[1][2] == args[6][2] == (N * H * D, D, H * D, 1)


def record_graphs():
    forward, backward = [], []

    def compiler(into):
        def compile_(gm, example_inputs):
            into.append(gm)
            return make_boxed_func(gm.forward)

        return compile_

    from functorch.compile import make_boxed_func
    from torch._dynamo.backends.common import aot_autograd

    return forward, backward, aot_autograd(fw_compiler=compiler(forward), bw_compiler=compiler(backward))


@pytest.mark.parametrize("dynamic", [False, True])
def test_compile_fullgraph_keeps_both_passes(recorder, dynamic):
    def f(q, k, v):
        return flashtune.attention(q, k, v, causal=True).float().square().sum()

    forward, backward, backend = record_graphs()
    torch._dynamo.reset()
    q, k, v = cpu_qkv()
    loss = torch.compile(f, fullgraph=True, dynamic=dynamic, backend=backend)(q, k, v)
    loss.backward()
    assert len(forward) == 1 and len(backward) == 1
    assert "torch.ops.flashtune.attention.default" in forward[0].code
    assert "torch.ops.flashtune.attention_backward.default" in backward[0].code
    assert recorder.names()[-2:] == ["_attention_desc", "_attention_backward_desc"]
    for t in (q, k, v):
        assert t.grad is not None and t.grad.shape == t.shape


@pytest.mark.filterwarnings("ignore:Error detected in")  # autograd's anomaly note while tracing the backward
def test_compile_traces_the_refusal():
    def f(q, k, v):
        return flashtune.attention(q, k, v, softcap=30.0).sum()

    _, _, backend = record_graphs()
    torch._dynamo.reset()
    q, k, v = cpu_qkv()
    with pytest.raises(Exception) as e:  # torch may wrap it in its own backend error
        torch.compile(f, fullgraph=True, backend=backend)(q, k, v)
    assert "softcap" in str(e.value) and "has no backward" in str(e.value), str(e.value)
