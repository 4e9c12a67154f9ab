"""Variable-length attention (cu_seqlens_q / cu_seqlens_k, max_seqlen_q / max_seqlen_k) refuses bad input with
an exception naming the argument, without a GPU: numpy arrays (CPU, DLPack) reach every metadata check, and
FakeDLPack claims CUDA memory to reach the device checks. Where torch is installed (any build), the custom op's
varlen schema, its fake implementation and torch.compile(fullgraph=True) capturing a varlen call."""

import pytest

import flashtune
from conftest import HAS_GPU, FakeDLPack, refused

np = pytest.importorskip("numpy")  # CI installs it; the GPU machine may lack it

T, H, D = 40, 4, 64  # total rows, heads, head_dim
LENS = [0, 1, 17, 22]  # sum T


def arr(shape=(T, H, D), dtype=np.float16):
    return np.zeros(shape, dtype=dtype)


def cu(lengths=LENS, dtype=np.int32):
    return np.concatenate([[0], np.cumsum(lengths)]).astype(dtype)


def aligned(a):
    return a.__array_interface__["data"][0] % 16 == 0


def varlen(q=None, k=None, v=None, cu_q=None, cu_k=None, max_q=22, max_k=22, **kwargs):
    """The arguments of a valid varlen call (CPU arrays: refused at the device check), each replaceable."""
    c = cu() if cu_q is None and cu_k is None else None
    return dict(
        q=arr() if q is None else q, k=arr() if k is None else k, v=arr() if v is None else v,
        cu_seqlens_q=c if cu_q is None else cu_q, cu_seqlens_k=c if cu_k is None else cu_k, max_seqlen_q=max_q,
        max_seqlen_k=max_k, **kwargs,
    )


def call(**kwargs):
    q, k, v = kwargs.pop("q"), kwargs.pop("k"), kwargs.pop("v")
    return flashtune.attention(q, k, v, **kwargs)


def refused_call(cls, argument, match=None, **kwargs):
    """refused() for the keyword form varlen() builds."""
    q, k, v = kwargs.pop("q"), kwargs.pop("k"), kwargs.pop("v")
    return refused(cls, argument, q, k, v, match=match, **kwargs)


# ---- a valid call reaches the device check


def test_valid_metadata_reaches_the_device_check():
    refused_call(flashtune.DeviceError, "q", **varlen())
    refused_call(flashtune.DeviceError, "q", **varlen(causal=True, window=(8, 0), softcap=30.0, scale=0.1))


def test_grouped_heads_and_other_key_lengths():
    k = arr((100, 2, D))
    ck = cu([10, 0, 50, 40])
    refused_call(flashtune.DeviceError, "q", **varlen(k=k, v=k, cu_q=cu(), cu_k=ck, max_k=50, causal=True))
    k1 = arr((7, 1, D))  # multi-query, fewer keys than queries
    refused_call(flashtune.DeviceError, "q", **varlen(k=k1, v=k1, cu_q=cu(), cu_k=cu([1, 2, 3, 1])))


@pytest.mark.parametrize("max_q", [0, 1, 22, 40, 10**6])
def test_any_max_seqlen_in_range_is_taken(max_q):
    # 0 (all sequences empty) and values past the rows are used as 1 and as the rows (they only size the grid).
    refused_call(flashtune.DeviceError, "q", **varlen(max_q=max_q, max_k=max_q))


def test_packed_views_pass_the_stride_checks():
    # Slices of a fused QKV projection [T, 3, H, D]: rows 3 * H * D apart.
    qkv = np.zeros((T, 3, H, D), dtype=np.float16)
    refused_call(flashtune.DeviceError, "q", **varlen(q=qkv[:, 0], k=qkv[:, 1], v=qkv[:, 2]))
    # Heads before rows ([H, T, D] memory as its [T, H, D] view).
    q = np.zeros((H, T, D), dtype=np.float16).transpose(1, 0, 2)
    refused_call(flashtune.DeviceError, "q", **varlen(q=q))
    # One row, one head: any stride on an extent of 1.
    one = np.zeros((1, 3, D), dtype=np.float16)[:, :1]
    refused_call(flashtune.DeviceError, "q", **varlen(q=one, k=one, v=one, cu_q=cu([1]), cu_k=cu([1]), max_q=1,
                                                      max_k=1))


# ---- q, k and v


def test_rank():
    err = refused_call(flashtune.InvalidArgumentError, "q", match="3-dimensional", **varlen(q=arr((1, H, T, D))))
    assert "total_q" in str(err) and "cu_seqlens" in str(err)
    refused_call(flashtune.InvalidArgumentError, "k", match="[total_k, kv_heads, head_dim]", **varlen(k=arr((T, D))))
    refused_call(flashtune.InvalidArgumentError, "v", **varlen(v=arr((1, T, H, D))))


def test_dtype():
    refused_call(flashtune.ArgumentTypeError, "q", match="float32", **varlen(q=arr(dtype=np.float32)))
    refused_call(flashtune.ArgumentTypeError, "k", match="differs from q's", **varlen(k=arr(dtype=np.float32)))


def test_shapes():
    refused_call(flashtune.InvalidArgumentError, "v", match="differs from k's", **varlen(v=arr((T + 1, H, D))))
    k = arr((T, H, 128))
    refused_call(flashtune.InvalidArgumentError, "k", match="head_dim", **varlen(k=k, v=k))
    k = arr((T, 3, D))
    refused_call(flashtune.InvalidArgumentError, "k", match="do not divide q's 4 heads", **varlen(k=k, v=k))


def test_no_rows():
    e = arr((0, H, D))
    refused_call(flashtune.InvalidArgumentError, "q", match="at least one row", **varlen(q=e, cu_q=cu([0, 0]),
                                                                                        cu_k=cu([0, 0])))
    refused_call(flashtune.InvalidArgumentError, "k", **varlen(k=e, v=e, cu_q=cu(), cu_k=cu([0, 0, 0, 0])))


@pytest.mark.parametrize("head_dim", [32, 80])
def test_unsupported_head_dim(head_dim):
    t = arr((T, H, head_dim))
    refused_call(flashtune.InvalidArgumentError, "q", match=f"head_dim {head_dim}", **varlen(q=t, k=t, v=t))


def test_strides():
    q = np.zeros((T, H, 2 * D), dtype=np.float16)[..., ::2]
    err = refused_call(flashtune.InvalidArgumentError, "q", match="stride 1", **varlen(q=q))
    assert "q.contiguous()" in str(err)
    k = np.zeros((T, H, 68), dtype=np.float16)[..., :D]  # rows 272 elements apart, heads 68: not multiples of 8
    err = refused_call(flashtune.InvalidArgumentError, "k", match="multiples of 8 elements", **varlen(k=k, v=k))
    assert "k.contiguous()" in str(err)


# ---- the cu_seqlens


def test_cu_seqlens_dtype():
    err = refused_call(flashtune.ArgumentTypeError, "cu_seqlens_q", match="int32", **varlen(cu_q=cu(dtype=np.int64),
                                                                                           cu_k=cu()))
    assert isinstance(err, TypeError)
    refused_call(flashtune.ArgumentTypeError, "cu_seqlens_k", **varlen(cu_q=cu(), cu_k=cu(dtype=np.float32)))


def test_cu_seqlens_rank_and_length():
    refused_call(flashtune.InvalidArgumentError, "cu_seqlens_q", match="1-dimensional",
                 **varlen(cu_q=cu()[None], cu_k=cu()))
    refused_call(flashtune.InvalidArgumentError, "cu_seqlens_k", match="batch + 1",
                 **varlen(cu_q=cu(), cu_k=np.zeros(1, np.int32)))
    err = refused_call(flashtune.InvalidArgumentError, "cu_seqlens_k", match="cu_seqlens_q has 5",
                       **varlen(cu_q=cu(), cu_k=cu([20, 20])))
    assert "3 entries" in str(err)


def test_cu_seqlens_strided_or_unaligned():
    wide = np.zeros(2 * len(LENS) + 2, np.int32)
    wide[::2] = cu()
    refused_call(flashtune.InvalidArgumentError, "cu_seqlens_q", match="contiguous", **varlen(cu_q=wide[::2],
                                                                                            cu_k=cu()))
    base = np.zeros(len(LENS) + 2, np.int32)
    if not aligned(base):
        pytest.skip("numpy gave an allocation that is not 16-byte aligned")
    base[1:] = cu()
    err = refused_call(flashtune.InvalidArgumentError, "cu_seqlens_k", match="16-byte aligned",
                       **varlen(cu_q=cu(), cu_k=base[1:]))
    assert "cu_seqlens_k.clone()" in str(err)


def test_cu_seqlens_not_a_tensor():
    refused_call(flashtune.ArgumentTypeError, "cu_seqlens_q", match="DLPack", **varlen(cu_q=[0, 40], cu_k=cu()))


def test_cu_seqlens_for_one_side_only():
    err = refused_call(flashtune.InvalidArgumentError, "cu_seqlens_k", match="need both", **varlen(cu_q=cu()))
    assert "cu_seqlens_q is given" in str(err)
    refused_call(flashtune.InvalidArgumentError, "cu_seqlens_q", **varlen(cu_k=cu()))


def test_max_seqlen_without_cu_seqlens():
    s = (2, 3, 17, 64)
    refused(flashtune.InvalidArgumentError, "max_seqlen_q", arr(s), arr(s), arr(s), max_seqlen_q=17,
            match="without cu_seqlens")
    refused(flashtune.InvalidArgumentError, "max_seqlen_k", arr(s), arr(s), arr(s), max_seqlen_k=17)


@pytest.mark.parametrize("value", [-1, 2**31])
def test_max_seqlen_value(value):
    refused_call(flashtune.InvalidArgumentError, "max_seqlen_q", match="0..2^31-1", **varlen(max_q=value))
    refused_call(flashtune.InvalidArgumentError, "max_seqlen_k", **varlen(max_k=value))


@pytest.mark.parametrize("value", [1.5, "22", True, [22]])
def test_max_seqlen_type(value):
    refused_call(flashtune.ArgumentTypeError, "max_seqlen_q", **varlen(max_q=value))


def test_numpy_integer_max_seqlen_is_an_int():
    refused_call(flashtune.DeviceError, "q", **varlen(max_q=np.int64(22), max_k=np.int32(22)))


def test_max_seqlen_none_needs_torch_tensors():
    # Other frameworks: flashtune does not read their device memory, so the longest lengths must be given.
    err = refused_call(flashtune.InvalidArgumentError, "max_seqlen_q", match="torch", **varlen(max_q=None))
    assert "longest" in str(err)
    refused_call(flashtune.InvalidArgumentError, "max_seqlen_k", **varlen(max_k=None))


def test_metadata_before_the_max_seqlen_and_the_device():
    refused_call(flashtune.ArgumentTypeError, "cu_seqlens_q", **varlen(cu_q=cu(dtype=np.int64), cu_k=cu(),
                                                                       max_q=None))


# ---- the devices, with tensors that claim CUDA memory


def fake(shape=(T, H, D), dtype="float16", **kwargs):
    return FakeDLPack(shape, dtype, **kwargs)


def fake_cu(lengths=LENS, **kwargs):
    return FakeDLPack((len(lengths) + 1,), "int32", **kwargs)


def test_cu_seqlens_on_the_cpu():
    refused_call(flashtune.DeviceError, "cu_seqlens_q", match="is on cpu",
                 **varlen(q=fake(), k=fake(), v=fake(), cu_q=cu(), cu_k=fake_cu()))
    refused_call(flashtune.DeviceError, "cu_seqlens_k",
                 **varlen(q=fake(), k=fake(), v=fake(), cu_q=fake_cu(), cu_k=cu()))


def test_cu_seqlens_on_another_device():
    err = refused_call(flashtune.DeviceError, "cu_seqlens_k", match="cuda:1 but q is on cuda:0",
                       **varlen(q=fake(), k=fake(), v=fake(), cu_q=fake_cu(), cu_k=fake_cu(device_id=1)))
    assert "the cu_seqlens" in str(err)


@pytest.mark.skipif(HAS_GPU, reason="without a GPU only: the fake pointers would reach a kernel")
def test_no_gpu():
    with pytest.raises(flashtune.NoGpuError):
        call(**varlen(q=fake(), k=fake(), v=fake(), cu_q=fake_cu(), cu_k=fake_cu(), return_lse=True))


# ---- torch (any build, no GPU needed): the custom op's varlen schema, its fake implementation, torch.compile


def _torch():
    return pytest.importorskip("torch")


def torch_args(torch, device="cpu"):
    q = torch.zeros(T, H, D, dtype=torch.bfloat16, device=device)
    c = torch.tensor(cu(), dtype=torch.int32, device=device)
    return q, c


def test_torch_errors_name_the_argument():
    torch = _torch()
    q, c = torch_args(torch)
    with pytest.raises(flashtune.DeviceError) as e:  # valid metadata, CPU tensors
        flashtune.attention(q, q, q, cu_seqlens_q=c, cu_seqlens_k=c)
    assert e.value.argument == "q"
    cases = [
        (flashtune.ArgumentTypeError, "cu_seqlens_q", dict(cu_seqlens_q=c.long(), cu_seqlens_k=c)),
        (flashtune.ArgumentTypeError, "cu_seqlens_k", dict(cu_seqlens_q=c, cu_seqlens_k=cu())),
        (flashtune.InvalidArgumentError, "cu_seqlens_k", dict(cu_seqlens_q=c, cu_seqlens_k=c[:3])),
        (flashtune.InvalidArgumentError, "cu_seqlens_k", dict(cu_seqlens_q=c)),
        (flashtune.InvalidArgumentError, "stream", dict(cu_seqlens_q=c, cu_seqlens_k=c, stream=0)),
        (flashtune.InvalidArgumentError, "max_seqlen_q", dict(cu_seqlens_q=c, cu_seqlens_k=c, max_seqlen_q=-2)),
    ]
    for error, argument, kwargs in cases:
        with pytest.raises(error) as e:
            flashtune.attention(q, q, q, **kwargs)
        assert e.value.argument == argument, str(e.value)
    with pytest.raises(flashtune.InvalidArgumentError) as e:
        flashtune.attention(q[None], q[None], q[None], cu_seqlens_q=c, cu_seqlens_k=c)
    assert e.value.argument == "q" and "3-dimensional" in str(e.value)


def test_torch_op_through_the_dispatcher():
    torch = _torch()
    q, c = torch_args(torch)
    with pytest.raises(flashtune.DeviceError) as e:
        torch.ops.flashtune.attention(q, q, q, False, None, None, -1, -1, 0.0, c, c, None, None)
    assert e.value.argument == "q"
    with pytest.raises(flashtune.ArgumentTypeError) as e:
        torch.ops.flashtune.attention(q, q, q, False, None, None, -1, -1, 0.0, c.long(), c, 22, 22)
    assert e.value.argument == "cu_seqlens_q"
    with pytest.raises(flashtune.InvalidArgumentError) as e:
        torch.ops.flashtune.attention(q, q, q, False, None, None, -1, -1, 0.0, c, None, 22, 22)
    assert e.value.argument == "cu_seqlens_k"
    # The fixed-length call keeps its six-argument form.
    with pytest.raises(flashtune.DeviceError):
        torch.ops.flashtune.attention(q[None], q[None], q[None], False, None, None)


def test_torch_fake_implementation():
    torch = _torch()
    m = torch.empty(T, H, D, dtype=torch.bfloat16, device="meta")
    k = torch.empty(100, 2, D, dtype=torch.bfloat16, device="meta")
    c = torch.empty(len(LENS) + 1, dtype=torch.int32, device="meta")
    for mq in (None, 22):
        o, lse = torch.ops.flashtune.attention(m, k, k, True, None, None, -1, -1, 0.0, c, c, mq, mq)
        assert o.shape == m.shape and o.dtype == m.dtype
        assert lse.shape == (H, T) and lse.dtype == torch.float32
    with pytest.raises(flashtune.ArgumentTypeError) as e:
        torch.ops.flashtune.attention(m, k, k, True, None, None, -1, -1, 0.0, c.long(), c, None, None)
    assert e.value.argument == "cu_seqlens_q"
    bad = torch.empty(T, H, 80, dtype=torch.bfloat16, device="meta")
    with pytest.raises(flashtune.InvalidArgumentError) as e:
        torch.ops.flashtune.attention(bad, bad, bad, False, None, None, -1, -1, 0.0, c, c, None, None)
    assert "head_dim 80" in str(e.value)


@pytest.mark.parametrize("dynamic", [False, True])
@pytest.mark.parametrize("given", [False, True], ids=["max_read", "max_given"])
def test_torch_compile_fullgraph_captures_the_varlen_op(dynamic, given):
    torch = _torch()
    graphs = []

    def backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    def f(q, k, v, c, n):
        o, lse = flashtune.attention(q, k, v, causal=True, return_lse=True, cu_seqlens_q=c, cu_seqlens_k=c,
                                     max_seqlen_q=n if given else None, max_seqlen_k=n if given else None)
        return o * 2.0, lse

    torch._dynamo.reset()
    q, c = torch_args(torch)
    with pytest.raises(flashtune.DeviceError):  # the graph runs, and the op refuses CPU tensors
        torch.compile(f, fullgraph=True, dynamic=dynamic, backend=backend)(q, q, q, c, 22)
    assert len(graphs) == 1
    assert "torch.ops.flashtune.attention" in graphs[0].code
