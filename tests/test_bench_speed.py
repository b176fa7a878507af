"""inpaintkit.bench.speed: the helpers the speed scripts under bench/ share, and the rule that
those scripts import only public names of the package, never each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from inpaintkit.bench import speed
from inpaintkit.errors import InpaintkitError
from inpaintkit.models import DiffusionModel

SCRIPTS = sorted((Path(__file__).resolve().parents[1] / "bench").glob("*.py"))


def test_bench_scripts_import_only_public_package_names() -> None:
    assert {p.name for p in SCRIPTS} >= {"speed_repaint.py", "speed_fast.py", "speed_knobs.py"}
    siblings = {p.stem for p in SCRIPTS}
    for path in SCRIPTS:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert node.module not in siblings, f"{path.name} imports bench/{node.module}.py"
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports private {private} from {node.module}"
            elif isinstance(node, ast.Import):
                assert not {a.name for a in node.names} & siblings, path.name


def test_eps_only_keeps_the_eps_channels_and_leaves_the_model(tiny_model: DiffusionModel) -> None:
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([3, 70])
    before = {k: v.clone() for k, v in tiny_model.unet.state_dict().items()}
    eps_model = speed.eps_only(tiny_model)
    assert eps_model is not tiny_model and not eps_model.config.learned_variance
    assert eps_model.unet.config.out_channels == 3 and tiny_model.unet.config.out_channels == 6
    with torch.no_grad():
        full = tiny_model.unet(x, t).sample
        eps = eps_model.unet(x, t).sample
    torch.testing.assert_close(eps, full[:, :3], atol=1e-6, rtol=0)
    assert all(torch.equal(v, tiny_model.unet.state_dict()[k]) for k, v in before.items())
    assert speed.eps_only(eps_model) is eps_model  # fixed variance: unchanged


def test_load_speed_model_builds_seeded_presets_and_leaves_the_global_rng() -> None:
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    a = speed.load_speed_model("preset:emoji32-tiny")
    assert torch.equal(torch.rand(1), expected)  # the global RNG was not touched
    b = speed.load_speed_model("preset:emoji32-tiny")
    c = speed.load_speed_model("preset:emoji32-tiny", seed=1)
    assert a.source == "preset:emoji32-tiny" and a.image_size == 32
    assert not any(p.requires_grad for p in a.unet.parameters()) and not a.unet.training
    w = "conv_in.weight"
    assert torch.equal(a.unet.state_dict()[w], b.unet.state_dict()[w])
    assert not torch.equal(a.unet.state_dict()[w], c.unet.state_dict()[w])
    with pytest.raises(InpaintkitError, match="emoji32-tiny"):
        speed.load_speed_model("preset:nope")


def test_time_call_and_cpu_flags(tmp_path: Path) -> None:
    calls: list[int] = []
    seconds = speed.time_call(lambda: calls.append(1))
    assert calls == [1] and 0.0 <= seconds < 1.0
    info = tmp_path / "cpuinfo"
    info.write_text("processor : 0\nflags\t\t: fpu sse avx512f avx2 amx_tile\n")
    assert speed.cpu_flags(str(info)) == ["avx2", "avx512f", "amx_tile"]  # CPU_FLAGS' order
    assert speed.cpu_flags(str(tmp_path / "missing")) == []
    (tmp_path / "noflags").write_text("processor : 0\n")
    assert speed.cpu_flags(str(tmp_path / "noflags")) == []
    assert set(speed.cpu_flags()) <= set(speed.CPU_FLAGS)


def test_set_compile_threads() -> None:
    import torch._inductor.config as inductor_config

    old = inductor_config.compile_threads
    try:
        speed.set_compile_threads(3)
        assert inductor_config.compile_threads == 3
    finally:
        inductor_config.compile_threads = old
