"""On a GPU with torch: flashtune.attention against torch's SDPA computed in fp32, through the runtime's choice
and through each template forced, the LSE, torch.compile(fullgraph=True), streams, the DLPack path of other
frameworks, and the errors only a GPU can show. Skipped without a CUDA GPU and torch with CUDA."""

import math
import os
import subprocess
import sys

import pytest

import flashtune
from conftest import check_torch_argument_errors, requires_torch_cuda, torch_cuda

pytestmark = [pytest.mark.gpu, requires_torch_cuda]

torch = torch_cuda()
B, H = 2, 3  # batch * heads = 6: not a power of two
SEQLENS = [1, 17, 1000, 4096, 8192]


def _templates():
    if torch is None:
        return [None]
    major, _ = torch.cuda.get_device_capability()
    # None: the runtime's choice; then each template forced (hopper_fwd needs sm_90a).
    return [None, "fa2_fwd"] + (["hopper_fwd"] if major == 9 else [])


def inputs(n, d, dtype, seed=0):
    g = torch.Generator(device="cuda").manual_seed(seed + n * 7 + d)
    return [torch.randn(B, H, n, d, device="cuda", dtype=dtype, generator=g) for _ in range(3)]


def reference(q, k, v, causal, scale=None, lse=True):
    """O in fp32 (SDPA on upcast inputs) and the LSE of the scaled, masked scores (None unless lse)."""
    qf, kf, vf = q.float(), k.float(), v.float()
    s = scale if scale is not None else 1.0 / math.sqrt(q.shape[-1])
    o = torch.nn.functional.scaled_dot_product_attention(qf, kf, vf, is_causal=causal, scale=s)
    if not lse:
        return o, None
    scores = (qf @ kf.transpose(-1, -2)) * s
    if causal:
        n = q.shape[-2]
        mask = torch.ones(n, n, dtype=torch.bool, device=q.device).triu(1)
        scores = scores.masked_fill(mask, float("-inf"))
    return o, torch.logsumexp(scores, dim=-1)


def check_close(o, q, k, v, causal, scale=None):
    """FlashAttention's test rule: our error against the fp32 reference is at most twice that of torch's own
    SDPA in the inputs' precision, plus a little."""
    o_ref, _ = reference(q, k, v, causal, scale, lse=False)
    s = scale if scale is not None else 1.0 / math.sqrt(q.shape[-1])
    o_pt = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=s).float()
    ours = (o.float() - o_ref).abs().max().item()
    theirs = (o_pt - o_ref).abs().max().item()
    assert math.isfinite(ours)
    assert ours <= 2 * theirs + 1e-4, f"max error {ours:.3g}, torch's {theirs:.3g}"


@pytest.mark.parametrize("template", _templates(), ids=lambda t: t or "choice")
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("d", [64, 128])
@pytest.mark.parametrize("n", SEQLENS)
def test_matches_sdpa(n, d, causal, dtype, template):
    q, k, v = inputs(n, d, getattr(torch, dtype))
    o = flashtune.attention(q, k, v, causal=causal, template=template)
    assert o.shape == q.shape and o.dtype == q.dtype and o.device == q.device and o.is_contiguous()
    torch.cuda.synchronize()
    check_close(o, q, k, v, causal)


@pytest.mark.parametrize("template", _templates(), ids=lambda t: t or "choice")
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("n", [1, 17, 1000, 4096])
def test_lse(n, causal, template):
    q, k, v = inputs(n, 128, torch.bfloat16, seed=1)
    o, lse = flashtune.attention(q, k, v, causal=causal, return_lse=True, template=template)
    assert lse.shape == (B, H, n) and lse.dtype == torch.float32
    _, lse_ref = reference(q, k, v, causal)
    torch.testing.assert_close(lse, lse_ref, atol=2e-3, rtol=1e-3)
    check_close(o, q, k, v, causal)


def test_scale():
    q, k, v = inputs(1000, 64, torch.float16, seed=2)
    o, lse = flashtune.attention(q, k, v, scale=0.05, return_lse=True)
    check_close(o, q, k, v, False, scale=0.05)
    torch.testing.assert_close(lse, reference(q, k, v, False, 0.05)[1], atol=2e-3, rtol=1e-3)


@pytest.mark.parametrize("template", [t for t in _templates() if t is not None])
def test_forced_template_is_the_one_run(template):
    c = flashtune.choice(flashtune.Problem(B, H, 4096, 128), template=template)
    assert c["template"] == template and c["kernel"] and c["why"]


@pytest.mark.parametrize("return_lse", [False, True])
def test_eager_path_and_custom_op_agree(return_lse):
    # flashtune.attention calls the runtime directly in eager mode; the custom op is what traced code runs.
    q, k, v = inputs(1000, 128, torch.bfloat16, seed=3)
    eager = flashtune.attention(q, k, v, causal=True, return_lse=return_lse)
    o_op, lse_op = torch.ops.flashtune.attention(q, k, v, True, None, None)
    torch.cuda.synchronize()
    o = eager[0] if return_lse else eager
    assert torch.equal(o, o_op)
    if return_lse:
        assert torch.equal(eager[1], lse_op)


def test_choice_default_is_a_runtime_template():
    c = flashtune.choice(flashtune.Problem(B, H, 4096, 128, causal=True))
    assert c["template"] in flashtune.runtime_templates()
    assert c["source"] in ("tuned", "tuned (nearest bucket)", "default")


def test_torch_compile_fullgraph_keeps_the_op():
    q, k, v = inputs(1000, 128, torch.bfloat16, seed=3)

    def f(q, k, v):
        return flashtune.attention(q, k, v, causal=True) * 2.0

    graphs = []

    def record(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    torch._dynamo.reset()
    torch.compile(f, fullgraph=True, backend=record)(q, k, v)
    assert len(graphs) == 1 and "flashtune.attention" in graphs[0].code
    torch._dynamo.reset()
    compiled = torch.compile(f, fullgraph=True)  # inductor
    out = compiled(q, k, v)
    torch.cuda.synchronize()
    torch.testing.assert_close(out, f(q, k, v), atol=0, rtol=0)


def test_torch_compile_with_lse_and_dynamic_shapes():
    def f(q, k, v):
        o, lse = flashtune.attention(q, k, v, return_lse=True)
        return o.float().sum(-1) + lse

    torch._dynamo.reset()
    compiled = torch.compile(f, fullgraph=True, dynamic=True)
    for n in (256, 1000):
        q, k, v = inputs(n, 64, torch.float16, seed=4)
        torch.testing.assert_close(compiled(q, k, v), f(q, k, v), atol=1e-3, rtol=1e-3)


def test_torch_compile_when_flashtune_is_imported_before_torch():
    code = (
        "import flashtune, torch\n"
        "q = torch.randn(1, 2, 64, 64, device='cuda', dtype=torch.bfloat16)\n"
        "f = torch.compile(lambda q: flashtune.attention(q, q, q), fullgraph=True)\n"
        "torch.testing.assert_close(f(q), flashtune.attention(q, q, q))\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-3000:]


def test_current_stream_is_used():
    q, k, v = inputs(4096, 128, torch.bfloat16, seed=5)
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        o = flashtune.attention(q, k, v)
        o2 = o * 1.0  # queued after the kernel on the same stream
    s.synchronize()
    check_close(o2, q, k, v, False)


def test_second_device_if_any():
    if torch.cuda.device_count() < 2:
        pytest.skip("one GPU")
    q, k, v = [t.to("cuda:1") for t in inputs(1000, 64, torch.bfloat16, seed=6)]
    o = flashtune.attention(q, k, v)
    assert o.device == q.device
    check_close(o, q, k, v, False)


class Wrapped:
    """A CUDA tensor of "another framework": only its DLPack methods are visible."""

    def __init__(self, t):
        self._t = t

    def __dlpack__(self, **kwargs):
        return self._t.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._t.__dlpack_device__()


@pytest.mark.parametrize("return_lse", [False, True])
def test_dlpack_path_of_other_frameworks(return_lse):
    q, k, v = inputs(1000, 128, torch.bfloat16, seed=7)
    torch.cuda.synchronize()
    out = flashtune.attention(Wrapped(q), Wrapped(k), Wrapped(v), causal=True, return_lse=return_lse)
    torch.cuda.synchronize()  # the legacy default stream
    o = torch.from_dlpack(out[0] if return_lse else out)
    assert o.shape == q.shape and o.dtype == q.dtype and o.device == q.device
    check_close(o, q, k, v, True)
    if return_lse:
        lse = torch.from_dlpack(out[1])
        torch.testing.assert_close(lse, reference(q, k, v, True)[1], atol=2e-3, rtol=1e-3)
    del out, o  # the arrays free their device memory


def test_dlpack_path_on_a_given_stream():
    q, k, v = inputs(4096, 64, torch.float16, seed=8)
    s = torch.cuda.Stream()
    torch.cuda.synchronize()
    out = flashtune.attention(Wrapped(q), Wrapped(k), Wrapped(v), stream=s.cuda_stream)
    s.synchronize()
    check_close(torch.from_dlpack(out), q, k, v, False)


def test_many_outputs_are_freed():
    q, k, v = inputs(4096, 128, torch.bfloat16, seed=9)
    torch.cuda.synchronize()
    free_before = torch.cuda.mem_get_info()[0]
    for _ in range(50):
        out = flashtune.attention(Wrapped(q), Wrapped(k), Wrapped(v))
        del out
    torch.cuda.synchronize()
    assert torch.cuda.mem_get_info()[0] > free_before - 64 * 2**20


def test_cpu_tensors():
    q = torch.zeros(1, 2, 16, 64, dtype=torch.bfloat16)
    with pytest.raises(flashtune.DeviceError) as e:
        flashtune.attention(q, q, q)
    assert e.value.argument == "q" and "cpu" in str(e.value)


def test_tensors_on_two_devices():
    q = torch.zeros(1, 2, 16, 64, dtype=torch.bfloat16, device="cuda")
    with pytest.raises(flashtune.DeviceError) as e:
        flashtune.attention(q, q.cpu(), q)
    assert e.value.argument == "k"


def test_torch_errors_name_the_argument():
    check_torch_argument_errors(torch.zeros(1, 2, 16, 64, dtype=torch.bfloat16, device="cuda"))


def test_requires_grad_inputs_run_forward():
    q, k, v = [t.requires_grad_() for t in inputs(17, 64, torch.bfloat16, seed=10)]
    o = flashtune.attention(q, k, v)
    check_close(o.detach(), q.detach(), k.detach(), v.detach(), False)


def test_info_on_the_gpu():
    info = flashtune.info()
    assert info["gpu"] != "none" and info["driver"]
    assert info["gpus"][0]["name"] == torch.cuda.get_device_name(0)
    assert info["torch"] == torch.__version__


def test_bundle(tmp_path):
    """small.yaml tuned into a fresh store, exported as a bundle, run from it; back to the store after."""
    db = tmp_path / "small.db"
    flashtune.tune("small", db=db)
    bundle = tmp_path / "bundle"
    r = subprocess.run([str(flashtune.cli_path()), "export", "--format", "bundle", "--db", str(db), "-o", str(bundle)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    q, k, v = [torch.randn(1, 4, 1024, 64, device="cuda", dtype=torch.bfloat16) for _ in range(3)]
    flashtune.load_bundle(bundle)
    try:
        assert flashtune.info()["bundle"] == str(bundle)
        c = flashtune.choice(flashtune.Problem.of(q))
        assert c["template"] == "fa2_fwd" and "bundle" in c["source"], c
        o = flashtune.attention(q, k, v)
        check_close(o, q, k, v, False)
        q2 = torch.randn(1, 4, 1024, 128, device="cuda", dtype=torch.bfloat16)
        with pytest.raises(flashtune.NotFoundError):
            flashtune.attention(q2, q2, q2)
    finally:
        flashtune.load_bundle(None)
    assert flashtune.info()["bundle"] is None

    # A fresh process with the bundle and nothing else: no NVRTC (a library that cannot load), no kernel
    # sources, an empty cache and no results store. Its output must be bitwise this process's.
    torch.save({"q": q.cpu(), "k": k.cpu(), "v": v.cpu()}, tmp_path / "inputs.pt")
    (tmp_path / "empty").mkdir()
    script = (
        "import sys, torch, flashtune\n"
        "t = torch.load(sys.argv[1])\n"
        "q, k, v = (t[n].cuda() for n in 'qkv')\n"
        "o = flashtune.attention(q, k, v)\n"
        "torch.save(o.cpu(), sys.argv[2])\n"
    )
    env = dict(os.environ, FLASHTUNE_BUNDLE=str(bundle), FLASHTUNE_NVRTC_LIBRARY="/nonexistent/libnvrtc.so",
               FLASHTUNE_KERNEL_DIR=str(tmp_path / "empty"), FLASHTUNE_CACHE_DIR=str(tmp_path / "empty"))
    r = subprocess.run([sys.executable, "-c", script, str(tmp_path / "inputs.pt"), str(tmp_path / "o.pt")],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert torch.equal(torch.load(tmp_path / "o.pt"), o.cpu())
    assert list((tmp_path / "empty").iterdir()) == []
