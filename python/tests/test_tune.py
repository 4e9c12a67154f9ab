"""flashtune.tune runs the package's `flashtune tune` and returns its --json summaries."""

import pytest

import flashtune
from flashtune import _tune


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("FLASHTUNE_CACHE_DIR", str(cache))
    return tmp_path


def test_space_for_a_problem_keeps_the_grid_and_replaces_the_problems():
    p = flashtune.Problem(2, 3, 1000, 64, "fp16", True)
    for template, base in (("fa2_fwd", "fa2_perf.yaml"), ("hopper_fwd", "hopper_fwd.yaml")):
        text = _tune.space_for_problem(p, template)
        assert f"template: {template}" in text
        assert f"problems:\n  - {p.yaml()}\n" in text
        assert "tokens: 16384" not in text, "the base space's problems are gone"
        original = (flashtune.data_dir() / "search_spaces" / base).read_text()
        for key in ("parameters:", "measure:", "strategy:"):
            assert key in text and key in original


def test_space_of_another_template_is_refused():
    with pytest.raises(flashtune.InvalidArgumentError) as e:
        _tune.space_for_problem(flashtune.Problem(1, 1, 16, 64), "fa2_fwd", base="hopper_fwd")
    assert e.value.argument == "space"


def test_missing_space():
    with pytest.raises(flashtune.InvalidArgumentError) as e:
        flashtune.tune("no-such-space.yaml")
    assert e.value.argument == "space"


def test_invalid_space_is_the_clis_exit_5(private_cache):
    bad = private_cache / "bad.yaml"
    bad.write_text("version: 1\ntemplate: fa2_fwd\nparamters: {}\n")
    with pytest.raises(flashtune.TuneError) as e:
        flashtune.tune(str(bad), db=private_cache / "t.db")
    assert e.value.exit_code == 5
    assert "bad.yaml" in e.value.output


def test_compile_only_on_a_problem(private_cache):
    # small.yaml's grid (5 configurations) on one problem: compiled by the package's workers from the
    # package's templates, recorded in the given database.
    db = private_cache / "t.db"
    summaries = flashtune.tune(
        flashtune.Problem(1, 2, 256, 64), template="fa2_fwd", space="small", compile_only=True, db=db, jobs=2
    )
    assert len(summaries) == 1
    s = summaries[0]
    assert s["template"] == "fa2_fwd" and s["problems"] == 1
    assert s["kernels"]["compiled"] >= 1 and s["kernels"]["errors"] == 0
    assert s["no_gpu"] == "--compile-only"
    # Nothing was timed, so nothing is tuned (compile-only opens no database).
    assert flashtune.best_config(flashtune.Problem(1, 2, 256, 64), db=db, gpu=_h100()) is None


def _h100():
    from test_best_config import H100

    return H100
