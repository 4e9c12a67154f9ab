"""flashtune.attention refuses bad input with an exception that names the argument, never a crash. The tensor
metadata (rank, dtype, shapes, head_dim, strides) is checked before the device, so numpy arrays (CPU, DLPack)
reach every such check; FakeDLPack claims CUDA memory to reach the device checks without a GPU."""

import pytest

import flashtune
from conftest import HAS_GPU, FakeDLPack, refused

np = pytest.importorskip("numpy")  # CI installs it; the GPU machine may lack it

SHAPE = (2, 3, 17, 64)


def arr(shape=SHAPE, dtype=np.float16):
    return np.zeros(shape, dtype=dtype)


# ---- metadata, with numpy


def test_rank():
    err = refused(flashtune.InvalidArgumentError, "q", arr((2, 3, 64)), arr(), arr(), match="4-dimensional")
    assert isinstance(err, ValueError)
    refused(flashtune.InvalidArgumentError, "k", arr(), arr((2, 3, 17, 64, 1)), arr())
    refused(flashtune.InvalidArgumentError, "v", arr(), arr(), arr((64,)))


def test_dtype():
    err = refused(flashtune.ArgumentTypeError, "q", arr(dtype=np.float32), arr(), arr(), match="float32")
    assert isinstance(err, TypeError)
    refused(flashtune.ArgumentTypeError, "q", arr(dtype=np.int8), arr(dtype=np.int8), arr(dtype=np.int8))


def test_dtypes_differ():
    refused(flashtune.ArgumentTypeError, "k", arr(), arr(dtype=np.float32), arr(), match="differs from q's")
    refused(flashtune.ArgumentTypeError, "v", arr(), arr(), arr(dtype=np.float64))


def test_shapes_differ():
    refused(flashtune.InvalidArgumentError, "v", arr(), arr((2, 3, 18, 64)), arr(), match="differs from k's")
    refused(flashtune.InvalidArgumentError, "v", arr(), arr(), arr((2, 4, 17, 64)))
    refused(flashtune.InvalidArgumentError, "k", arr(), arr((1, 3, 17, 64)), arr((1, 3, 17, 64)), match="batch")
    refused(flashtune.InvalidArgumentError, "k", arr(), arr((2, 3, 17, 128)), arr((2, 3, 17, 128)))
    s = (2, 2, 17, 64)
    refused(flashtune.InvalidArgumentError, "k", arr(), arr(s), arr(s), match="do not divide q's 3 heads")


def test_grouped_heads_and_other_lengths_pass_the_metadata_checks():
    # GQA (8 query heads over 2), MQA, decode against more keys: the device check is next.
    q = arr((2, 8, 1, 128))
    for kv in [(2, 2, 4096, 128), (2, 1, 4096, 128), (2, 8, 5, 128)]:
        refused(flashtune.DeviceError, "q", q, arr(kv), arr(kv), causal=True)


def test_empty_extent():
    refused(flashtune.InvalidArgumentError, "q", arr((2, 0, 17, 64)), arr((2, 0, 17, 64)), arr((2, 0, 17, 64)))


@pytest.mark.parametrize("head_dim", [32, 80, 512, 1])
def test_unsupported_head_dim(head_dim):
    s = (1, 2, 16, head_dim)
    refused(flashtune.InvalidArgumentError, "q", arr(s), arr(s), arr(s), match=f"head_dim {head_dim}")


def test_unsupported_head_dim_for_a_forced_template():
    s = (1, 2, 16, 80)
    err = refused(flashtune.InvalidArgumentError, "q", arr(s), arr(s), arr(s), template="fa2_fwd")
    assert "fa2_fwd" in str(err) and "hopper_fwd" not in str(err)


def test_non_unit_stride_on_head_dim():
    q = np.zeros((2, 3, 17, 128), dtype=np.float16)[..., ::2]
    assert q.shape == SHAPE
    err = refused(flashtune.InvalidArgumentError, "q", q, arr(), arr(), match="stride 1")
    assert "q.contiguous()" in str(err)


def test_strided_views_are_read_in_place():
    # [B, N, H, d] memory as its [B, H, N, d] view, and heads before batch: strides that are multiples of 8
    # elements pass (the device check is next).
    q = np.zeros((2, 17, 3, 64), dtype=np.float16).transpose(0, 2, 1, 3)
    assert q.shape == SHAPE
    refused(flashtune.DeviceError, "q", q, q, q)
    k = np.zeros((3, 2, 17, 64), dtype=np.float16).transpose(1, 0, 2, 3)
    refused(flashtune.DeviceError, "q", arr(), k, arr())


def test_strides_the_kernels_cannot_read():
    # Rows 68 elements apart (136 bytes): not a multiple of 16 bytes.
    q = np.zeros((2, 3, 17, 68), dtype=np.float16)[..., :64]
    err = refused(flashtune.InvalidArgumentError, "q", q, arr(), arr(), match="multiples of 8 elements")
    assert "q.contiguous()" in str(err)


def test_extents_of_one_may_have_any_stride():
    # [B, 1, N, d] as a transpose of [B, N, 1, d]: contiguous for every purpose; the device check is next.
    q = np.zeros((2, 17, 1, 64), dtype=np.float16).transpose(0, 2, 1, 3)
    refused(flashtune.DeviceError, "q", q, q, q)


@pytest.mark.parametrize("window", [(1, 2, 3), "ab", 5, (1.5, 0), (True, 0)])
def test_window_type(window):
    refused(flashtune.ArgumentTypeError, "window", arr(), arr(), arr(), window=window)


@pytest.mark.parametrize("window", [(-1, 0), (0, -5), (2**31, 0)])
def test_window_value(window):
    refused(flashtune.InvalidArgumentError, "window", arr(), arr(), arr(), window=window, match=">= 0 or None")


def test_window_and_softcap_pass_the_metadata_checks():
    refused(flashtune.DeviceError, "q", arr(), arr(), arr(), causal=True, window=(128, 0), softcap=30.0)
    refused(flashtune.DeviceError, "q", arr(), arr(), arr(), window=(None, 16), softcap=np.float32(50))


@pytest.mark.parametrize("softcap", [0.0, -1.0, float("nan"), float("inf")])
def test_softcap_value(softcap):
    refused(flashtune.InvalidArgumentError, "softcap", arr(), arr(), arr(), softcap=softcap, match="positive")


def test_softcap_type():
    refused(flashtune.ArgumentTypeError, "softcap", arr(), arr(), arr(), softcap="30")
    refused(flashtune.ArgumentTypeError, "softcap", arr(), arr(), arr(), softcap=True)


@pytest.mark.parametrize("scale", [-1.0, 0.0, float("nan"), float("inf"), 1e300])
def test_scale_value(scale):
    refused(flashtune.InvalidArgumentError, "scale", arr(), arr(), arr(), scale=scale, match="positive finite")


def test_scale_type():
    refused(flashtune.ArgumentTypeError, "scale", arr(), arr(), arr(), scale="0.1")
    refused(flashtune.ArgumentTypeError, "scale", arr(), arr(), arr(), scale=[0.1])


def test_numpy_scalar_scale_is_a_number():
    refused(flashtune.DeviceError, "q", arr(), arr(), arr(), scale=np.float32(0.125))


def test_flags():
    refused(flashtune.ArgumentTypeError, "causal", arr(), arr(), arr(), causal="yes")
    refused(flashtune.ArgumentTypeError, "return_lse", arr(), arr(), arr(), return_lse=None)


def test_template():
    refused(flashtune.InvalidArgumentError, "template", arr(), arr(), arr(), template="fa3_fwd", match="fa2_fwd")
    # A template of the catalog that keeps a global workspace is not one the runtime runs.
    refused(flashtune.InvalidArgumentError, "template", arr(), arr(), arr(), template="fa1_fwd")
    refused(flashtune.ArgumentTypeError, "template", arr(), arr(), arr(), template=2)


def test_stream():
    refused(flashtune.InvalidArgumentError, "stream", arr(), arr(), arr(), stream=-1)
    refused(flashtune.InvalidArgumentError, "stream", arr(), arr(), arr(), stream="default")


def test_not_a_tensor():
    refused(flashtune.ArgumentTypeError, "q", [[1.0]], arr(), arr(), match="DLPack")
    refused(flashtune.ArgumentTypeError, "k", arr(), None, arr())
    refused(flashtune.ArgumentTypeError, "v", arr(), arr(), "v")


def test_keyword_only_options():
    with pytest.raises(TypeError):
        flashtune.attention(arr(), arr(), arr(), True)


# ---- the device, after the metadata


def test_cpu_arrays_are_refused_after_the_metadata_checks():
    err = refused(flashtune.DeviceError, "q", arr(), arr(), arr(), match="cpu")
    assert isinstance(err, ValueError)
    # A bad rank on the CPU is reported as the rank: metadata first.
    refused(flashtune.InvalidArgumentError, "q", arr((1, 2, 3)), arr(), arr())


def test_bf16_metadata_is_accepted():
    q = FakeDLPack(SHAPE, "bfloat16", device="cpu")
    refused(flashtune.DeviceError, "q", q, FakeDLPack(SHAPE, device="cpu"), FakeDLPack(SHAPE, device="cpu"))


def test_k_on_the_cpu():
    q, v = FakeDLPack(SHAPE), FakeDLPack(SHAPE)
    refused(flashtune.DeviceError, "k", q, FakeDLPack(SHAPE, device="cpu"), v, match="is on cpu")


def test_pinned_and_managed_memory_are_refused():
    refused(flashtune.DeviceError, "q", FakeDLPack(SHAPE, device="cuda_host"), FakeDLPack(SHAPE), FakeDLPack(SHAPE))
    refused(flashtune.DeviceError, "v", FakeDLPack(SHAPE), FakeDLPack(SHAPE), FakeDLPack(SHAPE, device="cuda_managed"))


def test_tensors_on_two_devices():
    err = refused(
        flashtune.DeviceError, "k", FakeDLPack(SHAPE), FakeDLPack(SHAPE, device_id=1), FakeDLPack(SHAPE),
        match="cuda:1 but q is on cuda:0",
    )
    assert "one device" in str(err)


def test_metadata_before_device_with_cuda_tensors():
    refused(flashtune.ArgumentTypeError, "k", FakeDLPack(SHAPE), FakeDLPack(SHAPE, "float16", device_id=1), FakeDLPack(SHAPE))


@pytest.mark.skipif(HAS_GPU, reason="without a GPU only: the fake pointers would reach a kernel")
def test_no_gpu():
    with pytest.raises(flashtune.NoGpuError) as e:
        flashtune.attention(FakeDLPack(SHAPE), FakeDLPack(SHAPE), FakeDLPack(SHAPE), causal=True)
    assert e.value.kind == "no_gpu" and str(e.value)
    assert not isinstance(e.value, ValueError)


@pytest.mark.skipif(HAS_GPU, reason="without a GPU only")
def test_no_gpu_with_return_lse_and_a_stream():
    with pytest.raises(flashtune.NoGpuError):
        flashtune.attention(FakeDLPack(SHAPE), FakeDLPack(SHAPE), FakeDLPack(SHAPE), return_lse=True, stream=7)
