"""The "strdiffusion" objective in the one training loop: each of its three losses falls on a
fixed evaluation batch, a resumed run is bitwise identical, the export is a bundle model that
the method runs, and the CLI's dry run prints the cost range."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from resume_support import assert_same_state, logged_losses, straight_and_resumed
from typer.testing import CliRunner

from inpaintkit.cli import app
from inpaintkit.errors import InpaintkitError
from inpaintkit.models import BundleModel, load_model
from inpaintkit.networks.presets import BundlePreset, get_preset
from inpaintkit.train.config import TrainConfig
from inpaintkit.train.export import export_model
from inpaintkit.train.loop import train
from inpaintkit.train.objectives import make_objective, objective_for_preset
from inpaintkit.train.objectives.strdiffusion import StrDiffusion, weighted_l1
from inpaintkit.train.stream import fixed_batch

MICRO = BundlePreset(
    name="micro16-strdiffusion",
    resolution=16,
    networks={
        "structure": {"class": "IRSDEUNet",
                      "config": {"channels": 1, "width": 8, "depth": 2, "blocks": 1}},
        "texture": {"class": "IRSDEUNet", "config": {"channels": 3, "width": 8, "depth": 2,
                                                     "blocks": 1, "guide_channels": 1}},
        "discriminator": {"class": "TimeDiscriminator",
                          "config": {"in_channels": 4, "width": 4, "time_dim": 16}},
    },
    process={**get_preset("strdiffusion32").process, "image_size": 16, "num_steps": 20,
             "canny_sigma": 3 * 16 / 256},
)  # fmt: skip


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread


def config(**overrides) -> TrainConfig:
    base = dict(
        preset=MICRO, objective="strdiffusion", steps=8, batch_size=8, lr=3e-3, warmup_steps=2,
        ema_decay=0.9, checkpoint_every=4, keep_checkpoints=5, sample_every=0, log_every=2,
        progress=False, seed=3, objective_options={"holes": "thick+medium", "d_lr": 3e-3},
    )  # fmt: skip
    base.update(overrides)
    return TrainConfig(**base)


def test_each_loss_falls(emoji16):
    """The objective's own losses on one fixed batch (8 items, fixed t and noise), each network
    trained by Adam on its loss: 40 steps for the UNets (lr 2e-3; measured: structure 0.251 ->
    0.171, texture 0.260 -> 0.214), 100 for the discriminator (lr 1e-3, betas (0.5, 0.99), the
    triplet term at weight 1; measured 2.386 -> 2.070). DDGAN's zero-initialised last layers make
    the discriminator start at softplus(0) twice plus the full margin."""
    objective = make_objective(config())
    batch = fixed_batch(objective.wrap_data(torch.utils.data.Subset(emoji16, range(8)), 3), 8)
    t, noise_s, noise_x = objective.draw(batch, torch.Generator().manual_seed(123))
    torch.manual_seed(0)
    nets = {name: spec.module for name, spec in objective.build_networks().items()}
    adam = {name: torch.optim.Adam(nets[name].parameters(), lr=2e-3) for name in nets}
    adam["discriminator"] = torch.optim.Adam(nets["discriminator"].parameters(), lr=1e-3,
                                             betas=(0.5, 0.99))  # fmt: skip
    history = []
    for step in range(100):
        train_now = {n: nets[n] for n in nets if n == "discriminator" or step < 40}
        losses = objective.losses(train_now, batch, t, noise_s, noise_x)
        parts = {n: losses[n] for n in ("structure", "texture") if n in losses}
        parts["discriminator"] = objective.discriminator_loss(losses)
        history.append({n: float(v.detach()) for n, v in parts.items()})
        for name, loss in parts.items():
            adam[name].zero_grad()
            loss.backward()
            adam[name].step()
    with torch.no_grad():
        final = objective.losses(nets, batch, t, noise_s, noise_x)
    first = history[0]
    assert first["discriminator"] == pytest.approx(2 * math.log(2) + 1, abs=1e-4)
    assert float(final["structure"]) < 0.8 * first["structure"], (first, final)
    assert float(final["texture"]) < 0.9 * first["texture"], (first, final)
    assert float(objective.discriminator_loss(final)) < first["discriminator"] - 0.15


def test_resume_is_bitwise_identical_and_exports_a_bundle(tmp_path, emoji16):
    """8 steps straight == 4 steps, kill, resume, 4 more (networks, EMAs, optimizers, RNG,
    logged losses); the export loads as a bundle model the method runs."""
    cfg = config()
    a, b = straight_and_resumed(
        lambda out, resume: train(cfg, emoji16, out, resume=resume), tmp_path, kill_after=4
    )
    assert_same_state(a, b)
    assert set(a["ema"]) == {"structure", "texture"}  # the discriminator keeps no EMA
    assert logged_losses(tmp_path / "a") == logged_losses(tmp_path / "b")

    model = load_model(str(export_model(tmp_path / "a", tmp_path / "m.safetensors")))
    assert isinstance(model, BundleModel) and model.kind == "bundle"
    assert set(model.networks()) == {"structure", "texture", "discriminator"}
    assert model.process_config()["num_steps"] == 20 and model.image_size == 16
    exported = model.networks()["discriminator"].state_dict()
    for key, value in a["model"]["discriminator"].items():  # raw weights, fp16 in the file
        assert torch.allclose(exported[key], value.half().float())
    result = _run_dry(tmp_path / "m.safetensors", tmp_path)
    assert result.exit_code == 0, result.output
    assert "schedule: T=20," in result.output and "network evaluations" in result.output
    assert " to " in result.output.split("schedule:")[1].splitlines()[0]  # a range


def _run_dry(model: Path, tmp_path: Path):
    from PIL import Image

    image = tmp_path / "in.png"
    Image.new("RGB", (16, 16), (200, 40, 40)).save(image)
    args = ["inpaint", str(image), "--mask-kind", "half", "--method", "strdiffusion", "--model",
            str(model), "-o", "T=20", "--dry-run", "--out", str(tmp_path / "o")]  # fmt: skip
    return CliRunner().invoke(app, args)


def test_objective_checks_and_weighted_l1():
    assert objective_for_preset(get_preset("strdiffusion32")) == "strdiffusion"
    with pytest.raises(InpaintkitError, match="trains a StrDiffusion bundle preset"):
        StrDiffusion(get_preset("encdec32-tiny"))
    with pytest.raises(InpaintkitError, match="option d_lr of objective 'strdiffusion'"):
        StrDiffusion(MICRO, {"d_lr": "0"})
    output, target = torch.zeros(1, 1, 1, 2), torch.tensor([[[[1.0, 2.0]]]])
    keep = torch.tensor([[[[1.0, 0.0]]]])  # |1| * 1 and |2| * 10 over two pixels
    assert float(weighted_l1(output, target, keep, 10.0)) == pytest.approx((1 + 20) / 2)
