"""flashtune.best_config over the results store the CLI writes (runtime::best_config in C++)."""

import pytest

import flashtune
from conftest import HAS_GPU

P = flashtune.Problem(4, 16, 4096, 128)
H100 = {
    "name": "NVIDIA H100 80GB HBM3",
    "cc_major": 9,
    "cc_minor": 0,
    "sm_count": 132,
    "smem_optin_per_block": 232448,
    "l2_bytes": 52428800,
    "driver_version": 13000,
}


def test_missing_database_is_nothing_tuned(tmp_path):
    assert flashtune.best_config(P, db=tmp_path / "none.db", gpu=H100) is None
    assert not (tmp_path / "none.db").exists(), "a reader never creates the database"


def test_each_template(tmp_path):
    for t in ("fa2_fwd", "hopper_fwd"):
        assert flashtune.best_config(P, template=t, db=tmp_path / "none.db", gpu=H100) is None


@pytest.mark.skipif(HAS_GPU, reason="the no-GPU path")
def test_this_gpu_without_one_raises_no_gpu(tmp_path):
    with pytest.raises(flashtune.NoGpuError):
        flashtune.best_config(P, db=tmp_path / "none.db")


@pytest.mark.skipif(not HAS_GPU, reason="needs a GPU")
def test_this_gpu_missing_database(tmp_path):
    assert flashtune.best_config(P, db=tmp_path / "none.db") is None


def test_a_file_that_is_not_a_database_is_an_error(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(flashtune.Error) as e:
        flashtune.best_config(P, db=bad, gpu=H100)
    assert str(bad) in str(e.value)


def test_unknown_template():
    with pytest.raises(flashtune.NotFoundError) as e:
        flashtune.best_config(P, template="fa3_fwd", gpu=H100)
    assert "fa2_fwd" in str(e.value)


def test_incomplete_gpu_identity():
    with pytest.raises(flashtune.InvalidArgumentError) as e:
        flashtune.best_config(P, gpu={"name": "NVIDIA H100"})
    assert e.value.argument == "gpu"
    with pytest.raises(flashtune.ArgumentTypeError):
        flashtune.best_config(P, gpu="H100")


def test_bad_problem():
    with pytest.raises(flashtune.InvalidArgumentError) as e:
        flashtune.best_config({"batch": 1, "heads": 1, "seqlen": 16, "head_dim": 0}, gpu=H100)
    assert e.value.argument == "head_dim"
