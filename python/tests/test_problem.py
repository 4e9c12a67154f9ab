"""flashtune.Problem: the problem tune, best_config and choice take."""

import pytest

import flashtune

np = pytest.importorskip("numpy")  # CI installs it; the GPU machine may lack it


def test_fields_and_normalized_dtype():
    p = flashtune.Problem(4, 16, 4096, 128, dtype="bfloat16", causal=True)
    assert (p.batch, p.heads, p.seqlen, p.head_dim, p.dtype, p.causal) == (4, 16, 4096, 128, "bf16", True)
    assert flashtune.Problem(1, 1, 1, 64, dtype="float16").dtype == "fp16"
    assert p.flops() == 4 * 4 * 16 * 4096 * 4096 * 128 / 2


def test_of_a_tensor_a_dict_and_a_problem():
    q = np.zeros((2, 3, 17, 64), dtype=np.float16)
    assert flashtune.Problem.of(q, causal=True) == flashtune.Problem(2, 3, 17, 64, "fp16", True)
    assert flashtune.Problem.of({"batch": 1, "heads": 2, "seqlen": 3, "head_dim": 64}) == flashtune.Problem(1, 2, 3, 64)
    p = flashtune.Problem(1, 2, 3, 64)
    assert flashtune.Problem.of(p) is p


def test_yaml_entry():
    assert flashtune.Problem(2, 3, 1000, 128, "fp16", True).yaml() == (
        "{batch: 2, heads: 3, seqlen: 1000, head_dim: 128, dtype: fp16, causal: true}"
    )


@pytest.mark.parametrize(
    "kwargs, argument, cls",
    [
        ({"batch": 0}, "batch", flashtune.InvalidArgumentError),
        ({"seqlen": -1}, "seqlen", flashtune.InvalidArgumentError),
        ({"heads": 1.5}, "heads", flashtune.ArgumentTypeError),
        ({"dtype": "float32"}, "dtype", flashtune.ArgumentTypeError),
        ({"causal": "yes"}, "causal", flashtune.ArgumentTypeError),
    ],
)
def test_bad_fields_name_the_argument(kwargs, argument, cls):
    fields = {"batch": 1, "heads": 1, "seqlen": 16, "head_dim": 64, **kwargs}
    with pytest.raises(cls) as e:
        flashtune.Problem(**fields)
    assert e.value.argument == argument and str(e.value).startswith(argument + ":")


def test_of_refuses_what_is_not_a_problem():
    with pytest.raises(flashtune.ArgumentTypeError):
        flashtune.Problem.of(42)
    with pytest.raises(flashtune.InvalidArgumentError):
        flashtune.Problem.of(np.zeros((2, 3, 4)))
