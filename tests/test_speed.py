"""Runtime knobs of the diffusion methods: precision, channels_last, compile (models.runtime)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from inpaintkit.bench.specs import parse_method_spec
from inpaintkit.cli import app
from inpaintkit.diffusion.noise import randn
from inpaintkit.diffusion.samplers import sample_repaint
from inpaintkit.errors import InpaintkitError
from inpaintkit.methods import METHODS, get_method
from inpaintkit.methods.diffusion import RePaintFast, RePaintFastOptions, RePaintOptions
from inpaintkit.models import DiffusionModel
from inpaintkit.models import runtime as rt
from inpaintkit.models.runtime import Runtime, resolve_runtime
from inpaintkit.models.store import save_model

# the methods that run a prior (the tiny_model fixture's kind) with the runtime knobs
DIFFUSION_METHODS = sorted(n for n, c in METHODS.items() if c.needs.model_kind == "prior")


def _inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(4, 3, 16, 16, generator=g), torch.tensor([0, 10, 50, 99])


def test_bf16_is_close_to_fp32_but_not_identical(tiny_model: DiffusionModel) -> None:
    x, t = _inputs()
    eps32, var32 = tiny_model.denoiser("fp32")(x, t)
    eps16, var16 = tiny_model.denoiser("bf16")(x, t)
    assert eps16.dtype == var16.dtype == torch.float32  # the sampler's arithmetic stays fp32
    # Measured on this tiny network over 3 inputs: max |diff| 0.015-0.018 (eps), 0.018-0.023
    # (variance values), for eps values up to 1.7; bf16 keeps 8 mantissa bits (2^-8 = 0.004).
    assert (eps16 - eps32).abs().max() < 0.05 and (var16 - var32).abs().max() < 0.05
    assert not torch.equal(eps16, eps32)  # autocast really ran
    assert tiny_model.denoiser("bf16").runtime == Runtime("cpu", "bf16", False, False)


def test_channels_last_uses_a_copy_and_never_changes_the_shared_weights(
    tiny_model: DiffusionModel,
) -> None:
    x, t = _inputs(1)
    before = {k: v.clone() for k, v in tiny_model.unet.state_dict().items()}
    eps, var = tiny_model.denoiser()(x, t)
    eps_cl, var_cl = tiny_model.denoiser("fp32", channels_last=True)(x, t)
    assert torch.allclose(eps_cl, eps, atol=1e-5, rtol=0)
    assert torch.allclose(var_cl, var, atol=1e-5, rtol=0)
    # the model's own weights: same values, same (contiguous) memory format
    after = tiny_model.unet.state_dict()
    assert all(torch.equal(after[k], v) and after[k].is_contiguous() for k, v in before.items())
    copy = tiny_model.runtime_network(Runtime("cpu", "fp32", True))
    assert copy is not tiny_model.unet
    assert copy.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    assert copy is tiny_model.runtime_network(Runtime("cpu", "fp32", True))  # cached
    plain, nhwc = tiny_model.denoiser(), tiny_model.denoiser(channels_last=True)
    assert torch.equal(nhwc(x, t)[0], eps_cl) and torch.equal(plain(x, t)[0], eps)  # interleaved
    assert torch.equal(nhwc(x, t)[1], var_cl) and torch.equal(plain(x, t)[1], var)
    # an in-place change of the model's weights makes a fresh copy for the next denoiser
    with torch.no_grad():
        tiny_model.unet.conv_out.bias.add_(1.0)
    shifted = tiny_model.denoiser()(x, t)[0]
    assert torch.allclose(tiny_model.denoiser(channels_last=True)(x, t)[0], shifted, atol=1e-5)
    assert (shifted - eps).abs().min() > 0.5


def test_cpu_auto_is_bf16_channels_last_where_bf16_is_native(
    tiny_model: DiffusionModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rt, "_cpu_bf16", lambda: True)
    assert resolve_runtime("cpu") == Runtime("cpu", "bf16", True, False)
    assert resolve_runtime("cpu", "fp32") == Runtime("cpu", "fp32", True, False)  # per knob
    x, t = _inputs()
    assert torch.equal(
        tiny_model.denoiser("auto", None)(x, t)[0], tiny_model.denoiser("bf16", True)(x, t)[0]
    )
    monkeypatch.setattr(rt, "_cpu_bf16", lambda: False)  # bf16 would be emulated: slower
    assert resolve_runtime("cpu", "auto", None, True) == Runtime("cpu", "fp32", False, True)
    assert torch.equal(tiny_model.denoiser("auto", None)(x, t)[0], tiny_model.denoiser()(x, t)[0])
    assert resolve_runtime("meta") == Runtime("meta")  # no table entry: run as stored


@pytest.mark.parametrize(
    ("cpuinfo", "native"),
    [
        ("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n", True),
        ("flags\t\t: fpu avx512f amx_bf16 amx_tile\nflags\t\t: fpu avx512f amx_bf16\n", True),
        ("flags\t\t: fpu avx2 avx512f avx512bw\nbugs\t\t: avx512_bf16\n", False),  # not a flag
        ("Features\t: fp asimd bf16\n", False),  # ARM lists no flags line: not measured
        ("", False),
    ],
)
def test_native_bf16_is_read_from_the_cpu_flags(cpuinfo: str, native: bool) -> None:
    assert rt.bf16_in_cpuinfo(cpuinfo) is native


def test_cuda_auto_follows_the_table_and_bf16_support(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rt, "_cuda_bf16", lambda: True)
    assert resolve_runtime("cuda") == Runtime("cuda", "bf16", True, False)
    monkeypatch.setattr(rt, "_cuda_bf16", lambda: False)
    assert resolve_runtime("cuda:1", channels_last=False) == Runtime("cuda", "fp16", False)
    assert resolve_runtime("cuda", "fp32").precision == "fp32"


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"precision": "half"}, "unknown precision 'half'; choose one of"),
        ({"precision": "FP32"}, "unknown precision 'FP32'"),
        ({"precision": None}, "unknown precision None"),
        ({"channels_last": "yes"}, "channels_last must be true, false or none"),
        ({"compile": 1}, "compile must be true or false"),
    ],
)
def test_bad_values_raise(knobs: dict, message: str) -> None:
    with pytest.raises(InpaintkitError, match=message):
        resolve_runtime("cpu", **knobs)
    with pytest.raises(InpaintkitError, match=message):
        RePaintOptions(**knobs)


def test_fp16_on_cpu_is_refused(tiny_model: DiffusionModel) -> None:
    with pytest.raises(InpaintkitError, match="fp16 on a CPU.*use precision=bf16"):
        resolve_runtime("cpu", "fp16")
    with pytest.raises(InpaintkitError, match="fp16 on a CPU"):
        tiny_model.denoiser("fp16")
    options = RePaintFastOptions(precision="fp16")  # device-independent: accepted here
    with pytest.raises(InpaintkitError, match="fp16 on a CPU"):
        RePaintFast(options, model=tiny_model)  # fails when the device is known
    with pytest.raises(InpaintkitError, match="'meta' devices do not support"):
        resolve_runtime("meta", "bf16")


@pytest.mark.parametrize("name", DIFFUSION_METHODS)
def test_config_shows_resolved_knobs(
    name: str, tiny_model: DiffusionModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rt, "_cpu_bf16", lambda: False)
    cls = get_method(name)
    method = cls(cls.Options(steps=6), model=tiny_model, progress=False)
    config = method.config()
    assert (config["precision"], config["channels_last"], config["compile"]) == (
        "fp32",
        False,
        False,
    )
    chosen = cls(cls.Options(steps=6, precision="bf16", channels_last=True), model=tiny_model)
    assert chosen.config()["precision"] == "bf16" and chosen.config()["channels_last"] is True
    monkeypatch.setattr(rt, "_cpu_bf16", lambda: True)
    assert (method.config()["precision"], method.config()["channels_last"]) == ("bf16", True)


def test_fp32_results_bit_identical_to_plain_denoiser(
    tiny_model: DiffusionModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """precision fp32 + channels_last False is the sampler as before (model.denoiser() with no
    arguments), also after another method ran the same model in channels_last."""
    monkeypatch.setattr(rt, "_cpu_bf16", lambda: False)  # a CPU where auto = fp32
    walk = {"steps": 10, "jump_length": 2, "resamplings": 2}
    known = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(3)) * 2 - 1
    keep = torch.ones(2, 1, 16, 16)
    keep[..., 4:12, 4:12] = 0

    def run(**knobs: object) -> torch.Tensor:
        method = RePaintFast(RePaintFastOptions(**walk, **knobs), model=tiny_model, progress=False)
        return method(known, keep, generators=_generators())

    gens = _generators()
    x = randn((2, 3, 16, 16), gens)  # what RePaint.__call__ draws first
    options = RePaintFastOptions(**walk)
    diffusion = RePaintFast(options, model=tiny_model).diffusion
    reference = sample_repaint(
        tiny_model.denoiser(), x, diffusion, keep=keep, known=known, times=options.times(),
        eta=options.eta, generator=gens, progress=False,
    )  # fmt: skip
    fp32 = run(precision="fp32", channels_last=False)
    assert torch.equal(fp32, reference) and torch.equal(run(), fp32)  # auto = fp32 here
    bf16 = run(precision="bf16")
    assert not torch.equal(bf16, fp32)
    run(channels_last=True)  # runs a channels_last copy; the shared weights stay as loaded
    assert torch.equal(run(), fp32)


def _generators() -> list[torch.Generator]:
    return [torch.Generator().manual_seed(i) for i in (5, 6)]


def test_compile_is_wired_and_cached(
    tiny_model: DiffusionModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wiring only: torch.compile replaced by a recorder (a real inductor compile takes
    about a minute on this CPU; see test_compile_for_real)."""
    calls = []

    def fake_compile(module: torch.nn.Module) -> torch.nn.Module:
        calls.append(module)
        return module

    monkeypatch.setattr(torch, "compile", fake_compile)
    x, t = _inputs()
    compiled = tiny_model.denoiser("fp32", False, True)
    assert torch.equal(compiled(x, t)[0], tiny_model.denoiser()(x, t)[0])
    tiny_model.denoiser("bf16", False, True)(x, t)
    assert calls == [tiny_model.unet]  # compiled once, cached on the model
    assert compiled.runtime.compile


@pytest.mark.benchmark
def test_compile_for_real(tiny_model: DiffusionModel) -> None:
    """A real torch.compile (inductor, needs a C++ compiler); 20-70 s on a CPU, so marked
    benchmark (not run by make test): ``pytest -m benchmark tests/test_speed.py``."""
    x, t = _inputs()
    eager = tiny_model.denoiser()(x, t)[0]
    compiled = tiny_model.denoiser("fp32", False, True)(x, t)[0]
    assert torch.allclose(compiled, eager, atol=1e-4, rtol=0)


def test_knobs_pass_through_bench_specs() -> None:
    spec = parse_method_spec("repaint-fast:precision=bf16,channels_last=true,compile=false")
    assert spec.options == {"precision": "bf16", "channels_last": True, "compile": False}
    assert parse_method_spec("ddnm:channels_last=none").options == {"channels_last": None}
    with pytest.raises(InpaintkitError, match="unknown precision 'int8'"):
        parse_method_spec("repaint:precision=int8")


def test_knobs_pass_through_the_cli(
    tmp_path: Path, tiny_model: DiffusionModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rt, "_cpu_bf16", lambda: True)  # auto = bf16 + channels_last
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    hole = np.zeros((16, 16), np.uint8)
    hole[3:11, 4:12] = 255
    Image.fromarray(hole).save(tmp_path / "hole.png")
    model = save_model(tiny_model, tmp_path / "tiny.safetensors", dtype=torch.float32)
    base = ["inpaint", tmp_path / "a.png", "--mask", tmp_path / "hole.png", "--model", model]
    base += ["--steps", "4", "--jump-length", "2", "--resamplings", "2", "--no-progress"]
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(app, [str(a) for a in [*base, "-o", "precision=fp32", "--out", out]])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "inpaintkit.json").read_text())
    assert (config["precision"], config["channels_last"], config["compile"]) == (
        "fp32",
        True,  # channels_last stays auto: each knob on its own
        False,
    )
    result = runner.invoke(app, [str(a) for a in [*base, "--out", tmp_path / "auto"]])
    config = json.loads((tmp_path / "auto" / "inpaintkit.json").read_text())
    assert (config["precision"], config["channels_last"]) == ("bf16", True)
    bad = runner.invoke(
        app, [str(a) for a in [*base, "-o", "precision=fp16", "--out", tmp_path / "bad"]]
    )
    assert bad.exit_code == 2 and "fp16 on a CPU" in bad.output
