"""The package as installed: it imports, reports what it sees without a GPU and without torch, and carries its
data, its command line and the CLI's workers."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

import flashtune
from conftest import HAS_GPU

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_version_is_the_projects():
    text = (ROOT / "CMakeLists.txt").read_text()
    assert flashtune.__version__ == re.search(r"project\(flashtune VERSION ([0-9.]+)", text).group(1)


def test_info_without_a_gpu_says_none_and_why():
    info = flashtune.info()
    assert info["version"] == flashtune.__version__
    if HAS_GPU:
        assert info["gpu"] != "none" and info["gpu_reason"] is None and info["gpus"]
        assert info["driver"] is not None
    else:
        assert info["gpu"] == "none"
        assert info["gpu_reason"], "the reason there is no GPU"
        assert info["gpus"] == [] and info["driver"] is None
    assert re.match(r"\d+\.\d+", info["nvrtc"])
    assert info["errors"] == {}


def test_data_and_executables_are_in_the_package():
    info = flashtune.info()
    package = pathlib.Path(flashtune.__file__).resolve().parent
    share = package / "share" / "flashtune"
    # The runtime finds the templates beside its extension module (core/paths.hpp), not in the source tree.
    assert pathlib.Path(info["kernel_templates"]) == share / "kernel_templates"
    assert (share / "kernel_templates" / "fa2_fwd.cuh").is_file()
    assert (share / "kernel_templates" / "common").is_dir()
    assert pathlib.Path(info["search_spaces"]) == share / "search_spaces"
    assert (share / "search_spaces" / "fa2_perf.yaml").is_file()
    assert pathlib.Path(info["code_dir"]) == package
    for exe in ("flashtune", "flashtune-jit-worker", "flashtune-trial-worker"):
        assert os.access(package / "bin" / exe, os.X_OK), exe
    assert pathlib.Path(info["cli"]) == package / "bin" / "flashtune"
    assert info["cache_dir"] and info["db"].endswith("flashtune.db")


def test_cli_finds_its_data_in_the_package():
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASHTUNE_") or k == "FLASHTUNE_CACHE_DIR"}
    r = subprocess.run([str(flashtune.cli_path()), "info"], capture_output=True, text=True, env=env)
    assert r.returncode == (0 if HAS_GPU else 3), r.stdout + r.stderr
    share = pathlib.Path(flashtune.__file__).resolve().parent / "share" / "flashtune"
    assert f"templates      {share / 'kernel_templates'}" in r.stdout


def test_console_script_runs_the_cli():
    r = subprocess.run([sys.executable, "-m", "flashtune", "info", "--templates"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "fa2_fwd" in r.stdout and "hopper_fwd" in r.stdout


def test_imports_and_reports_without_torch():
    # torch blocked: importing flashtune and info() must not need it.
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import flashtune\n"
        "i = flashtune.info()\n"
        "assert i['version'] == flashtune.__version__\n"
        "assert 'flashtune._torch_op' not in sys.modules\n"
        "print(i['gpu'])\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == flashtune.info()["gpu"]


def test_runtime_templates():
    assert flashtune.runtime_templates() == ["hopper_fwd", "fa2_fwd"]


def test_exception_hierarchy():
    assert issubclass(flashtune.Error, RuntimeError)
    assert issubclass(flashtune.InvalidArgumentError, ValueError)
    assert issubclass(flashtune.ArgumentTypeError, TypeError)
    assert issubclass(flashtune.DeviceError, flashtune.InvalidArgumentError)
    for cls in (
        flashtune.InvalidArgumentError,
        flashtune.ArgumentTypeError,
        flashtune.NoGpuError,
        flashtune.DriverError,
        flashtune.CompileError,
        flashtune.NotFoundError,
        flashtune.TuneError,
    ):
        assert issubclass(cls, flashtune.Error)


@pytest.mark.skipif(HAS_GPU, reason="the no-GPU path")
def test_choice_without_a_gpu_raises_no_gpu():
    with pytest.raises(flashtune.NoGpuError) as e:
        flashtune.choice(flashtune.Problem(1, 1, 16, 64))
    assert e.value.kind == "no_gpu" and str(e.value)


def test_load_bundle_refuses_a_folder_without_one(tmp_path):
    with pytest.raises(flashtune.Error) as e:
        flashtune.load_bundle(tmp_path / "no-bundle")
    assert "no-bundle" in str(e.value)
    assert flashtune.info()["bundle"] is None, "a refused bundle changes nothing"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "manifest.json").write_text("{not json")
    with pytest.raises(flashtune.Error) as e:
        flashtune.load_bundle(bad)
    assert "manifest.json" in str(e.value)
    flashtune.load_bundle(None)
    assert flashtune.info()["bundle"] is None
    with pytest.raises(flashtune.ArgumentTypeError):
        flashtune.load_bundle(42)


def test_bundle_from_the_environment(tmp_path):
    code = "import flashtune; print(flashtune.info()['bundle'])"
    env = dict(os.environ, FLASHTUNE_BUNDLE=str(tmp_path))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(tmp_path)


def test_sm_clock_for_the_benches():
    # (current MHz, maximum MHz) through NVML on a GPU; None where there is none, never an exception.
    c = flashtune._flashtune._sm_clock_mhz(0)
    if HAS_GPU:
        assert c is None or (0 < c[0] <= c[1] * 1.05 and c[1] > 0)
    else:
        assert c is None
    assert flashtune._flashtune._sm_clock_mhz(-1) is None
