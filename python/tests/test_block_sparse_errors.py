"""Block-sparse attention (flashtune.attention(..., block_sparse=flashtune.BlockSparse)) refuses bad input with an
exception naming the argument, without a GPU: numpy arrays (CPU, DLPack) reach every metadata check, and
FakeDLPack claims CUDA memory to reach the device checks. Where torch is installed (any build),
flashtune.block_sparse's lists and refusals, the custom op's block-sparse arguments, its fake implementation
and torch.compile(fullgraph=True) capturing a block-sparse call."""

import math

import pytest

import flashtune
from conftest import HAS_GPU, FakeDLPack, refused

np = pytest.importorskip("numpy")  # CI installs it; the GPU machine may lack it

B, H, N, NK, D = 2, 4, 300, 500, 64
BLOCK = 128
ROWS, COLS = math.ceil(N / BLOCK), math.ceil(NK / BLOCK)  # 3, 4


def arr(shape, dtype=np.float16):
    return np.zeros(shape, dtype=dtype)


def qkv():
    return arr((B, H, N, D)), arr((B, H, NK, D)), arr((B, H, NK, D))


def layout(counts=None, cols=None, block=BLOCK, density=0.5):
    """A BlockSparse of CPU arrays, each part replaceable."""
    return flashtune.BlockSparse(
        np.zeros(ROWS, np.int32) if counts is None else counts,
        np.zeros((ROWS, COLS), np.int32) if cols is None else cols, block, density,
    )


def refused_sparse(cls, match=None, bs=None, tensors=None, **kwargs):
    q, k, v = qkv() if tensors is None else tensors
    return refused(cls, "block_sparse", q, k, v, block_sparse=layout() if bs is None else bs, match=match, **kwargs)


# ---- a valid call reaches the device check


def test_valid_metadata_reaches_the_device_check():
    q, k, v = qkv()
    refused(flashtune.DeviceError, "q", q, k, v, block_sparse=layout())
    refused(flashtune.DeviceError, "q", q, k, v, block_sparse=layout(), causal=True, window=(100, 0), softcap=30.0)
    # Wider lists than the key blocks, a layout that keeps nothing (density 0), every block kept.
    refused(flashtune.DeviceError, "q", q, k, v, block_sparse=layout(cols=np.zeros((ROWS, 9), np.int32)))
    refused(flashtune.DeviceError, "q", q, k, v, block_sparse=layout(density=0.0))
    refused(flashtune.DeviceError, "q", q, k, v, block_sparse=layout(density=1))
    # A plain tuple of the four parts does as well as a BlockSparse.
    refused(flashtune.DeviceError, "q", q, k, v, block_sparse=tuple(layout()))


def test_other_blocks():
    q, k, v = qkv()
    for block in (16, 64, 4096):
        rows, cols = math.ceil(N / block), math.ceil(NK / block)
        bs = layout(np.zeros(rows, np.int32), np.zeros((rows, cols), np.int32), block)
        refused(flashtune.DeviceError, "q", q, k, v, block_sparse=bs)


def test_tensor_errors_come_first():
    # A bad q is named before the layout is looked at.
    bad = arr((B, H, N, 80))
    refused(flashtune.InvalidArgumentError, "q", bad, bad, bad, block_sparse=layout(), match="head_dim 80")
    refused(flashtune.ArgumentTypeError, "q", arr((B, H, N, D), np.float32), arr((B, H, NK, D), np.float32),
            arr((B, H, NK, D), np.float32), block_sparse=layout())


# ---- the BlockSparse's parts


@pytest.mark.parametrize("value", [np.zeros(3, np.int32), {"counts": 1}, [1, 2, 3, 4], (1, 2, 3)])
def test_not_a_block_sparse(value):
    refused_sparse(flashtune.ArgumentTypeError, "flashtune.BlockSparse", bs=value)


def test_part_types():
    refused_sparse(flashtune.ArgumentTypeError, "block", bs=layout(block=128.0))
    refused_sparse(flashtune.ArgumentTypeError, "block", bs=layout(block=True))
    refused_sparse(flashtune.ArgumentTypeError, "density", bs=layout(density="0.5"))
    refused_sparse(flashtune.ArgumentTypeError, "counts", bs=flashtune.BlockSparse(None, layout().cols, BLOCK, 0.5))
    refused_sparse(flashtune.ArgumentTypeError, "DLPack", bs=layout(counts=[0, 0, 0]))


def test_numpy_scalars_are_numbers():
    q, k, v = qkv()
    refused(flashtune.DeviceError, "q", q, k, v, block_sparse=layout(block=np.int64(BLOCK), density=np.float32(0.25)))


@pytest.mark.parametrize("block", [0, -128, 8, 100, 8192])
def test_block(block):
    refused_sparse(flashtune.InvalidArgumentError, f"block {block} must be a multiple of 16 in 16..4096",
                   bs=layout(block=block))


@pytest.mark.parametrize("density", [-0.1, 1.5, float("nan"), float("inf")])
def test_density(density):
    refused_sparse(flashtune.InvalidArgumentError, "must be in [0, 1]", bs=layout(density=density))


def test_list_dtypes():
    err = refused_sparse(flashtune.ArgumentTypeError, "int32", bs=layout(counts=np.zeros(ROWS, np.int64)))
    assert "counts" in str(err) and isinstance(err, TypeError)
    refused_sparse(flashtune.ArgumentTypeError, "cols has dtype uint8",
                   bs=layout(cols=np.zeros((ROWS, COLS), np.uint8)))


def test_list_ranks():
    refused_sparse(flashtune.InvalidArgumentError, "counts must be 1-dimensional",
                   bs=layout(counts=np.zeros((ROWS, 1), np.int32)))
    refused_sparse(flashtune.InvalidArgumentError, "cols must be 2-dimensional",
                   bs=layout(cols=np.zeros(ROWS * COLS, np.int32)))


def test_list_shapes():
    err = refused_sparse(flashtune.InvalidArgumentError, "ceil(seqlen / block) = ceil(300 / 128) = 3",
                         bs=layout(counts=np.zeros(ROWS + 1, np.int32)))
    assert "counts [4]" in str(err)
    refused_sparse(flashtune.InvalidArgumentError, "rows (query blocks)",
                   bs=layout(cols=np.zeros((ROWS - 1, COLS), np.int32)))
    refused_sparse(flashtune.InvalidArgumentError, "at least ceil(seqlen_k / block) = ceil(500 / 128) = 4",
                   bs=layout(cols=np.zeros((ROWS, COLS - 1), np.int32)))


def test_lists_must_be_contiguous():
    wide = np.zeros((ROWS, 2 * COLS), np.int32)
    err = refused_sparse(flashtune.InvalidArgumentError, "contiguous", bs=layout(cols=wide[:, ::2]))
    assert "cols.contiguous()" in str(err)
    refused_sparse(flashtune.InvalidArgumentError, "contiguous",
                   bs=layout(counts=np.zeros(2 * ROWS, np.int32)[::2]))
    # A column view of a wider list: rows 2 * COLS apart.
    refused_sparse(flashtune.InvalidArgumentError, "contiguous", bs=layout(cols=wide[:, :COLS]))


def test_lists_must_be_aligned():
    unaligned = FakeDLPack((ROWS,), "int32", device="cuda", data=0x7F0000000002)
    refused_sparse(flashtune.InvalidArgumentError, "not 4-byte aligned", bs=layout(counts=unaligned))


def test_not_with_varlen():
    q = arr((40, H, D))
    cu = np.array([0, 40], np.int32)
    err = refused(flashtune.InvalidArgumentError, "block_sparse", q, q, q, cu_seqlens_q=cu, cu_seqlens_k=cu,
                  max_seqlen_q=40, max_seqlen_k=40, block_sparse=layout(), match="do not combine")
    assert "variable lengths" in str(err)


# ---- the devices, with tensors that claim CUDA memory


def fake_qkv():
    return FakeDLPack((B, H, N, D), "float16"), FakeDLPack((B, H, NK, D), "float16"), FakeDLPack((B, H, NK, D), "float16")


def fake_layout(device_id=0):
    return layout(FakeDLPack((ROWS,), "int32", device_id=device_id), FakeDLPack((ROWS, COLS), "int32",
                                                                                  device_id=device_id))


def test_lists_on_the_cpu():
    err = refused_sparse(flashtune.DeviceError, "counts is on cpu but q is on cuda:0", tensors=fake_qkv())
    assert "q's device" in str(err)
    bs = fake_layout()
    refused_sparse(flashtune.DeviceError, "cols is on cpu", bs=layout(counts=bs.counts), tensors=fake_qkv())


def test_lists_on_another_device():
    refused_sparse(flashtune.DeviceError, "counts is on cuda:1 but q is on cuda:0", bs=fake_layout(1),
                   tensors=fake_qkv())


@pytest.mark.skipif(HAS_GPU, reason="without a GPU only: the fake pointers would reach a kernel")
def test_no_gpu():
    q, k, v = fake_qkv()
    with pytest.raises(flashtune.NoGpuError):
        flashtune.attention(q, k, v, block_sparse=fake_layout(), return_lse=True)


# ---- torch (any build, no GPU needed): flashtune.block_sparse, the op's arguments, its fake, torch.compile


def _torch():
    return pytest.importorskip("torch")


def test_block_sparse_lists():
    torch = _torch()
    rows = [[1, 0, 1, 1], [0, 0, 0, 0], [0, 1, 0, 0]]
    for dtype in (torch.bool, torch.uint8):
        bs = flashtune.block_sparse(torch.tensor(rows).to(dtype), 64)
        assert isinstance(bs, flashtune.BlockSparse)
        assert bs.counts.dtype == torch.int32 and bs.cols.dtype == torch.int32
        assert bs.counts.tolist() == [3, 0, 1]
        assert bs.cols.tolist() == [[0, 2, 3, 0], [0, 0, 0, 0], [1, 0, 0, 0]]
        assert bs.counts.is_contiguous() and bs.cols.is_contiguous()
        assert bs.block == 64 and bs.density == 4 / 12
    # Any non-zero uint8 is kept; every block kept gives density 1.
    bs = flashtune.block_sparse(torch.full((2, 5), 7, dtype=torch.uint8), 16)
    assert bs.counts.tolist() == [5, 5] and bs.cols.tolist() == [list(range(5))] * 2 and bs.density == 1.0


def test_block_sparse_lists_of_a_random_layout():
    torch = _torch()
    g = torch.Generator().manual_seed(20261208)
    kept = torch.rand(40, 70, generator=g) < 0.3
    bs = flashtune.block_sparse(kept, 128)
    for r in range(40):
        want = kept[r].nonzero().flatten().tolist()
        assert bs.counts[r].item() == len(want)
        assert bs.cols[r, :len(want)].tolist() == want
        assert (bs.cols[r, len(want):] == 0).all()
    assert bs.density == kept.sum().item() / kept.numel()


def test_block_sparse_refusals():
    torch = _torch()
    cases = [
        (flashtune.ArgumentTypeError, "layout", "torch.Tensor", lambda: flashtune.block_sparse(np.ones((2, 2), bool), 64)),
        (flashtune.ArgumentTypeError, "layout", "float32",
         lambda: flashtune.block_sparse(torch.ones(2, 2), 64)),
        (flashtune.ArgumentTypeError, "layout", "int32",
         lambda: flashtune.block_sparse(torch.ones(2, 2, dtype=torch.int32), 64)),
        (flashtune.InvalidArgumentError, "layout", "2-dimensional",
         lambda: flashtune.block_sparse(torch.ones(2, 2, 2, dtype=torch.bool), 64)),
        (flashtune.InvalidArgumentError, "layout", "at least one block",
         lambda: flashtune.block_sparse(torch.ones(0, 2, dtype=torch.bool), 64)),
        (flashtune.InvalidArgumentError, "block_size", "multiple of 16",
         lambda: flashtune.block_sparse(torch.ones(2, 2, dtype=torch.bool), 100)),
        (flashtune.ArgumentTypeError, "block_size", "int",
         lambda: flashtune.block_sparse(torch.ones(2, 2, dtype=torch.bool), 128.0)),
    ]
    for error, argument, match, call in cases:
        with pytest.raises(error) as e:
            call()
        assert e.value.argument == argument, str(e.value)
        assert match in str(e.value), str(e.value)


def torch_args(torch, device="cpu"):
    q = torch.zeros(B, H, N, D, dtype=torch.bfloat16, device=device)
    k = torch.zeros(B, H, NK, D, dtype=torch.bfloat16, device=device)
    bs = flashtune.block_sparse(torch.ones(ROWS, COLS, dtype=torch.bool, device=device), BLOCK)
    return q, k, bs


def test_torch_errors_name_the_argument():
    torch = _torch()
    q, k, bs = torch_args(torch)
    with pytest.raises(flashtune.DeviceError) as e:  # valid metadata, CPU tensors
        flashtune.attention(q, k, k, block_sparse=bs)
    assert e.value.argument == "q"
    cases = [
        (flashtune.ArgumentTypeError, bs._replace(counts=bs.counts.long())),
        (flashtune.ArgumentTypeError, bs._replace(cols=bs.cols.numpy())),  # not a torch.Tensor
        (flashtune.InvalidArgumentError, bs._replace(counts=bs.counts[:2])),
        (flashtune.InvalidArgumentError, bs._replace(cols=bs.cols[:, :2])),
        (flashtune.InvalidArgumentError, bs._replace(block=64)),
        (flashtune.InvalidArgumentError, bs._replace(density=2.0)),
    ]
    for error, value in cases:
        with pytest.raises(error) as e:
            flashtune.attention(q, k, k, block_sparse=value)
        assert e.value.argument == "block_sparse", str(e.value)
    with pytest.raises(flashtune.InvalidArgumentError) as e:
        flashtune.attention(q, k, k, block_sparse=bs, stream=0)
    assert e.value.argument == "stream"


def test_torch_op_through_the_dispatcher():
    torch = _torch()
    q, k, bs = torch_args(torch)
    with pytest.raises(flashtune.DeviceError) as e:
        torch.ops.flashtune.attention(q, k, k, False, None, None, -1, -1, 0.0, None, None, None, None, bs.counts,
                                      bs.cols, bs.block, bs.density)
    assert e.value.argument == "q"
    with pytest.raises(flashtune.ArgumentTypeError) as e:
        torch.ops.flashtune.attention(q, k, k, False, None, None, -1, -1, 0.0, None, None, None, None,
                                      bs.counts.long(), bs.cols, bs.block, bs.density)
    assert e.value.argument == "block_sparse"
    with pytest.raises(flashtune.InvalidArgumentError) as e:
        torch.ops.flashtune.attention(q, k, k, False, None, None, -1, -1, 0.0, None, None, None, None, bs.counts,
                                      None, bs.block, bs.density)
    assert e.value.argument == "block_sparse"


def test_torch_fake_implementation():
    torch = _torch()
    q = torch.empty(B, H, N, D, dtype=torch.bfloat16, device="meta")
    k = torch.empty(B, H, NK, D, dtype=torch.bfloat16, device="meta")
    counts = torch.empty(ROWS, dtype=torch.int32, device="meta")
    cols = torch.empty(ROWS, COLS, dtype=torch.int32, device="meta")
    o, lse = torch.ops.flashtune.attention(q, k, k, True, None, None, -1, -1, 0.0, None, None, None, None, counts,
                                           cols, BLOCK, 0.5)
    assert o.shape == q.shape and o.dtype == q.dtype
    assert lse.shape == (B, H, N) and lse.dtype == torch.float32
    with pytest.raises(flashtune.InvalidArgumentError) as e:
        torch.ops.flashtune.attention(q, k, k, True, None, None, -1, -1, 0.0, None, None, None, None, counts[:2],
                                      cols, BLOCK, 0.5)
    assert e.value.argument == "block_sparse"


@pytest.mark.parametrize("dynamic", [False, True])
def test_torch_compile_fullgraph_captures_the_block_sparse_op(dynamic):
    torch = _torch()
    graphs = []

    def backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    def f(q, k, bs):
        o, lse = flashtune.attention(q, k, k, causal=True, return_lse=True, block_sparse=bs)
        return o * 2.0, lse

    torch._dynamo.reset()
    q, k, bs = torch_args(torch)
    with pytest.raises(flashtune.DeviceError):  # the graph runs, and the op refuses CPU tensors
        torch.compile(f, fullgraph=True, dynamic=dynamic, backend=backend)(q, k, bs)
    assert len(graphs) == 1
    assert "torch.ops.flashtune.attention" in graphs[0].code
