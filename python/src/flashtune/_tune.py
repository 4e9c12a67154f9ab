"""flashtune.tune: the `flashtune tune` command line (installed in the package, flashtune/bin) run on search
spaces or on one problem, its --json summaries returned."""

import json
import os
import pathlib
import subprocess
import sys
import tempfile

from flashtune._errors import ArgumentTypeError, InvalidArgumentError, NoGpuError, NotFoundError, TuneError
from flashtune._problem import Problem

_PACKAGE = pathlib.Path(__file__).resolve().parent

# The performance space of each runtime template: tune(problem) keeps its grid and settings and replaces its
# problems with the one given.
_PERF_SPACES = {"fa2_fwd": "fa2_perf.yaml", "hopper_fwd": "hopper_fwd.yaml"}

# `flashtune tune` exit codes (docs/cli.md).
_NO_GPU = 3


def _bad(cls, argument, message):
    e = cls(f"{argument}: {message}")
    e.argument = argument
    return e


def data_dir():
    """The package's data folder (share/flashtune: kernel_templates/, search_spaces/)."""
    return _PACKAGE / "share" / "flashtune"


def cli_path():
    """The `flashtune` executable installed in the package (its workers beside it)."""
    p = _PACKAGE / "bin" / "flashtune"
    if not os.access(p, os.X_OK):
        raise NotFoundError(f"the flashtune command line is not installed in the package (no {p})")
    return p


def _space_file(name):
    p = pathlib.Path(name)
    if p.exists():
        return p
    shipped = data_dir() / "search_spaces" / (name if str(name).endswith(".yaml") else f"{name}.yaml")
    if shipped.exists():
        return shipped
    raise _bad(InvalidArgumentError, "space", f"no file {name} (nor a shipped space of that name)")


def space_for_problem(problem, template, base=None):
    """The YAML text of a search space that tunes `template` on `problem` only (a Problem, or a list of them):
    the template's performance space (or `base`, a file or shipped name) with its `problems:` replaced."""
    problems = [Problem.of(p) for p in problem] if isinstance(problem, (list, tuple)) else [Problem.of(problem)]
    base_file = _space_file(base if base is not None else _PERF_SPACES.get(template, f"{template}.yaml"))
    lines = base_file.read_text().splitlines(keepends=True)
    out, i, replaced = [], 0, False
    while i < len(lines):
        if lines[i].startswith("problems:"):
            out.append("problems:\n" + "".join(f"  - {p.yaml()}\n" for p in problems) + "\n")
            i += 1
            while i < len(lines) and (lines[i][:1] in (" ", "\t", "#") or not lines[i].strip()):
                i += 1
            replaced = True
            continue
        if lines[i].startswith("template:") and lines[i].split(":", 1)[1].split("#")[0].strip() != template:
            raise _bad(InvalidArgumentError, "space", f"{base_file} is a space of another template ({lines[i].strip()})")
        out.append(lines[i])
        i += 1
    if not replaced:
        raise _bad(InvalidArgumentError, "space", f"{base_file} has no top-level problems: list")
    return f"# {template} on {len(problems)} problem(s), from {base_file.name} (flashtune.tune)\n" + "".join(out)


def _default_templates():
    """The templates the runtime chooses among on device 0 (both on sm_90a, and where there is no GPU)."""
    from flashtune import _flashtune as _C

    gpus = _C._info()["gpus"]
    return list(gpus[0]["templates"]) if gpus else list(_C._default_preference("sm_90a"))


def tune(
    space_or_problem,
    *,
    template=None,
    space=None,
    db=None,
    force=False,
    resume=False,
    compile_only=False,
    jobs=0,
    strategy=None,
    seed=None,
    profile=None,
    extra_args=(),
    verbose=False,
    timeout=None,
):
    """Runs `flashtune tune` (the package's CLI) and returns its --json summary per space, in order.

    space_or_problem: a search space file or a shipped space's name ("fa2_perf", "small.yaml"), a list of them,
        or a Problem (a dict of its fields, or a tensor shaped like q) or a list of Problems: then the
        performance space of `template` (default: each of the runtime's candidates on this GPU) is tuned on
        those problems only (`space`: another base space for them).
    db, force, resume, compile_only, jobs, strategy, seed, profile: the CLI's options (docs/cli.md);
    extra_args: more of them. verbose: the CLI's output goes to this process's stdout/stderr instead of into
    the exception on failure. timeout: seconds for each run of the CLI.

    Winners land in the results store (default: info()["db"]), where attention() and best_config() find them.
    Raises NoGpuError without a GPU (the sweep was compiled and resource-checked; compile_only=True does only
    that and returns), TuneError for any other failure (.exit_code, .output, .summaries).
    """
    if isinstance(space_or_problem, (str, os.PathLike)):
        files, temp = [_space_file(space_or_problem)], None
    elif isinstance(space_or_problem, (list, tuple)) and all(
        isinstance(s, (str, os.PathLike)) for s in space_or_problem
    ):
        if not space_or_problem:
            raise _bad(InvalidArgumentError, "space_or_problem", "an empty list of spaces")
        files, temp = [_space_file(s) for s in space_or_problem], None
    else:
        problem = space_or_problem
        templates = [template] if template is not None else _default_templates()
        temp = tempfile.TemporaryDirectory(prefix="flashtune-tune-")
        files = []
        for t in templates:
            f = pathlib.Path(temp.name) / f"{t}.yaml"
            f.write_text(space_for_problem(problem, t, space))
            files.append(f)
    if template is not None and not isinstance(template, str):
        raise _bad(ArgumentTypeError, "template", f"expected a template name, got {template!r}")

    options = ["-q"]
    if db is not None:
        options += ["--db", str(db)]
    for flag, on in (("--force", force), ("--resume", resume), ("--compile-only", compile_only)):
        if on:
            options.append(flag)
    for opt, value in (("--jobs", jobs), ("--strategy", strategy), ("--seed", seed), ("--profile", profile)):
        if value is not None:
            options += [opt, str(value)]
    options += [str(a) for a in extra_args]

    cli = str(cli_path())
    summaries = []
    try:
        with tempfile.TemporaryDirectory(prefix="flashtune-json-") as out:
            for i, f in enumerate(files):
                json_path = os.path.join(out, f"{i}.json")
                cmd = [cli, "tune", str(f), "--json", json_path] + options
                if verbose:
                    sys.stdout.flush()
                    r = subprocess.run(cmd, timeout=timeout)
                    output = ""
                else:
                    r = subprocess.run(
                        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout
                    )
                    output = r.stdout
                summary = None
                if os.path.exists(json_path):
                    with open(json_path) as fh:
                        summary = json.load(fh)
                    summaries.append(summary)
                if r.returncode == 0 or (r.returncode == _NO_GPU and compile_only):
                    continue
                if r.returncode == _NO_GPU:
                    e = NoGpuError(
                        f"flashtune tune {f}: no GPU ({(summary or {}).get('no_gpu', 'see the output')}); the "
                        "sweep was compiled and resource-checked, timing needs a GPU (compile_only=True does "
                        "only the compile)"
                    )
                    e.output, e.summaries = output, summaries
                    raise e
                e = TuneError(f"flashtune tune {f} exited {r.returncode}:\n{output[-4000:]}", r.returncode, output)
                e.summaries = summaries
                raise e
    finally:
        if temp is not None:
            temp.cleanup()
    return summaries
