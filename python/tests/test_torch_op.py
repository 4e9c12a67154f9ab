"""The torch custom op without a GPU (needs torch, any build): registration, errors through the dispatcher, the
fake implementation, and torch.compile(fullgraph=True) capturing the op in its graph (the compiled call then
refuses the CPU tensors at run time). Skipped where torch is not installed."""

import subprocess
import sys

import pytest

import flashtune
from conftest import check_torch_argument_errors

torch = pytest.importorskip("torch")


def record_graphs():
    graphs = []

    def backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    return graphs, backend


def test_registered():
    import flashtune._torch_op  # noqa: F401

    assert hasattr(torch.ops.flashtune, "attention")
    assert flashtune._torch_tensor_type is torch.Tensor


def test_errors_name_the_argument():
    q = torch.zeros(1, 2, 16, 64, dtype=torch.bfloat16)
    with pytest.raises(flashtune.DeviceError) as e:
        flashtune.attention(q, q, q)
    assert e.value.argument == "q"
    check_torch_argument_errors(q)


def test_errors_keep_their_type_through_the_dispatcher():
    # Eager calls skip the op; traced code runs it, and its errors must come out typed as well.
    q = torch.zeros(1, 2, 16, 64, dtype=torch.bfloat16)
    with pytest.raises(flashtune.DeviceError) as e:
        torch.ops.flashtune.attention(q, q, q, False, None, None)
    assert e.value.argument == "q"
    with pytest.raises(flashtune.ArgumentTypeError) as e:
        torch.ops.flashtune.attention(q, q.half(), q, False, None, None)
    assert e.value.argument == "k"


def test_fake_implementation_shapes_and_checks():
    m = torch.empty(2, 3, 17, 64, dtype=torch.bfloat16, device="meta")
    o, lse = torch.ops.flashtune.attention(m, m, m, False, None, None)
    assert o.shape == m.shape and o.dtype == m.dtype
    assert lse.shape == (2, 3, 17) and lse.dtype == torch.float32
    bad = torch.empty(2, 3, 17, 80, dtype=torch.bfloat16, device="meta")
    with pytest.raises(flashtune.InvalidArgumentError) as e:
        torch.ops.flashtune.attention(bad, bad, bad, False, None, None)
    assert "head_dim 80" in str(e.value)


@pytest.mark.parametrize("dynamic", [False, True])
def test_compile_fullgraph_captures_the_op(dynamic):
    def f(q, k, v):
        o, lse = flashtune.attention(q, k, v, causal=True, return_lse=True)
        return o * 2.0, lse

    graphs, backend = record_graphs()
    torch._dynamo.reset()
    q = torch.zeros(1, 2, 16, 64, dtype=torch.bfloat16)
    with pytest.raises(flashtune.DeviceError):  # the graph runs, and the op refuses CPU tensors
        torch.compile(f, fullgraph=True, dynamic=dynamic, backend=backend)(q, q, q)
    assert len(graphs) == 1
    assert "torch.ops.flashtune.attention" in graphs[0].code


def test_compile_when_flashtune_is_imported_before_torch():
    code = (
        "import sys, flashtune\n"
        "assert 'flashtune._torch_op' not in sys.modules\n"
        "import torch\n"
        "graphs = []\n"
        "def backend(gm, ex):\n"
        "    graphs.append(gm)\n"
        "    return gm.forward\n"
        "q = torch.zeros(1, 2, 16, 64, dtype=torch.bfloat16)\n"
        "try:\n"
        "    torch.compile(lambda q: flashtune.attention(q, q, q), fullgraph=True, backend=backend)(q)\n"
        "except flashtune.DeviceError:\n"
        "    pass\n"
        "assert len(graphs) == 1 and 'flashtune.attention' in graphs[0].code\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-3000:]
