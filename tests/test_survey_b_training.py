"""The objectives "deepfill-v1", "deepfill-v2" and "lama" driven by the one loop on 16x16 emoji
with micro versions of their networks: every loss goes down in a short seeded run, a run
stopped halfway and resumed ends bit for bit where an uninterrupted one does, and the export is
a feed-forward model (with the "sketch" input for DeepFill v2)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from resume_support import assert_same_state, straight_and_resumed

from inpaintkit.errors import InpaintkitError
from inpaintkit.networks.presets import GeneratorPreset, get_preset
from inpaintkit.train.config import TrainConfig
from inpaintkit.train.export import checkpoint_model
from inpaintkit.train.loop import train
from inpaintkit.train.objectives import make_objective

TINY = {  # 16x16 presets of the three networks for fast training tests
    "deepfill-v1": GeneratorPreset(
        name="deepfill-v1-micro", resolution=16, multiple=4,
        generator={"class": "DeepFillV1Generator", "config": {"width": 4}},
        discriminators={
            "global": {"class": "WGANCritic", "config": {"image_size": 16, "width": 8, "depth": 2}},
            "local": {"class": "WGANCritic", "config": {"image_size": 8, "width": 8, "depth": 2}},
        },
    ),
    "deepfill-v2": GeneratorPreset(
        name="deepfill-v2-micro", resolution=16, multiple=4, extra_inputs=("sketch",),
        generator={"class": "DeepFillV2Generator", "config": {"width": 4}},
        discriminators={"sn_patch": {"class": "SNPatchDiscriminator",
                                     "config": {"width": 8, "depth": 2}}},
    ),
    "lama": GeneratorPreset(
        name="lama-micro", resolution=16, multiple=4,
        generator={"class": "LaMaGenerator", "config": {"width": 8, "blocks": 1}},
        discriminators={"patch": {"class": "LaMaDiscriminator",
                                  "config": {"width": 8, "depth": 2}}},
    ),
}  # fmt: skip


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread


def config_for(name: str, **overrides) -> TrainConfig:
    base = dict(
        preset=TINY[name], objective=name, objective_options={"holes": "box+thick"}, steps=4,
        batch_size=8, lr=2e-3, warmup_steps=2, ema_decay=0.9, checkpoint_every=2,
        keep_checkpoints=5, sample_every=0, log_every=2, progress=False, seed=3,
    )  # fmt: skip
    base.update(overrides)
    return TrainConfig(**base)


def _log(run: Path) -> list[dict]:
    with open(run / "log.csv") as f:
        return list(csv.DictReader(f))


LOSSES_DOWN = {  # the logged terms that must fall from the first to the last window
    "deepfill-v1": ("l1_coarse", "l1_fine", "d_loss", "gp"),
    "deepfill-v2": ("l1_coarse", "l1_fine", "d_loss"),
    "lama": ("l1_valid", "l1_hole", "fm", "d_loss"),
}


@pytest.mark.parametrize("name", list(TINY))
def test_losses_go_down(tmp_path, emoji16, name):
    """30 steps of 8 on 16 images (seeded): the reconstruction terms, the discriminator's loss
    (and WGAN-GP's penalty, LaMa's feature matching) are lower in the last window of 10 steps
    than in the first. The generator's adversarial term is a game value, not a descent: it
    is logged, not asserted. Measured here: v1 l1_fine 1.45 -> 1.20, d_loss 17.4 -> 11.2;
    v2 l1_fine 0.68 -> 0.59, d_loss 1.95 -> 1.88; lama l1_hole 0.73 -> 0.50, fm 0.32 -> 0.09."""
    data = torch.utils.data.Subset(emoji16, range(16))
    config = config_for(name, steps=30, checkpoint_every=30, log_every=10)
    last = train(config, data, tmp_path / "run")
    rows = _log(tmp_path / "run")
    assert [int(r["step"]) for r in rows] == [10, 20, 30]
    for term in LOSSES_DOWN[name]:
        first, final = float(rows[0][term]), float(rows[-1][term])
        assert final < first, (term, first, final)
    model = checkpoint_model(last)
    assert model.kind == "feedforward" and model.multiple == 4 and model.image_size is None
    assert model.extra_inputs == (("sketch",) if name == "deepfill-v2" else ())


@pytest.mark.parametrize("name", list(TINY))
def test_resume_is_exact(tmp_path, emoji16, name):
    """4 steps straight == 2 steps, stop, resume, 2 more: every weight, EMA, optimizer and RNG
    tensor equal bit for bit (the gradient penalty's mixing draws, the holes and the sketch
    come from checkpointed or seeded streams)."""
    config = config_for(name)
    a, b = straight_and_resumed(
        lambda out, resume: train(config, emoji16, out, resume=resume), tmp_path, kill_after=2
    )
    assert a["step"] == b["step"] == 4
    assert_same_state(a, b)


def test_objective_checks_and_options():
    with pytest.raises(InpaintkitError, match="'global' and 'local'"):
        make_objective(config_for("deepfill-v1", preset=TINY["lama"]))
    with pytest.raises(InpaintkitError, match="extra input"):
        make_objective(config_for("deepfill-v2", preset=TINY["deepfill-v1"]))
    with pytest.raises(InpaintkitError, match="gamma"):
        make_objective(config_for("deepfill-v1", objective_options={"gamma": "0"}))
    with pytest.raises(InpaintkitError, match="canny_low"):
        make_objective(config_for("deepfill-v2", objective_options={"canny_low": "250"}))
    with pytest.raises(InpaintkitError, match="features=True"):
        wgan = GeneratorPreset(**{**TINY["lama"].__dict__, "discriminators": {
            "patch": TINY["deepfill-v1"].discriminators["global"]}})  # fmt: skip
        make_objective(config_for("lama", preset=wgan)).build_networks()
    objective = make_objective(config_for("lama", objective_options={"hole_weight": "0"}))
    assert objective.options.hole_weight == 0.0 and objective.options.r1_weight == 0.001
    for name in ("deepfill-v1-32", "deepfill-v2-32", "lama32"):  # the shipped presets build
        preset = get_preset(name)
        objective = make_objective(TrainConfig(preset=name, objective=name.rsplit("-", 1)[0]
                                               if name != "lama32" else "lama"))  # fmt: skip
        nets = objective.build_networks()
        assert set(nets) == {"generator", *(f"d_{d}" for d in preset.discriminators)}


def test_deepfill_v2_hole_weight_adds_the_hole_l1_of_each_output():
    """On one batch and the same networks, hole_weight=2 logs each L1 as the paper's all-pixel
    L1 plus 2 x the mean |output - image| over the hole, computed here by hand."""
    torch.manual_seed(0)
    objectives = {
        w: make_objective(config_for("deepfill-v2", objective_options={"hole_weight": str(w)}))
        for w in (0, 2)
    }
    nets = {name: spec.module for name, spec in objectives[0].build_networks().items()}

    class Frozen:  # hands out the networks and never steps them
        def module(self, name):
            return nets[name]

        def backward(self, loss):
            pass

        def update(self, name, loss=None):
            pass

    image = torch.rand(2, 3, 16, 16) * 2 - 1
    hole = torch.zeros(2, 1, 16, 16)
    hole[:, :, 4:11, 3:9] = 1
    batch = {"image": image, "hole": hole, "sketch": torch.zeros_like(hole)}
    logs = {}
    for w, objective in objectives.items():
        objective.bind(Frozen())
        logs[w] = objective.step(batch, torch.Generator().manual_seed(0))
    with torch.no_grad():
        coarse, fine = nets["generator"](image * (1 - hole), hole, batch["sketch"], stages=True)
    for name, out in (("l1_coarse", coarse), ("l1_fine", fine)):
        assert float(logs[0][name]) == pytest.approx(float((out - image).abs().mean()), rel=1e-5)
        by_hand = ((out - image).abs() * hole).sum() / (hole.sum() * 3)
        gap = float(logs[2][name] - logs[0][name])
        assert gap == pytest.approx(2 * float(by_hand), rel=1e-5) and gap > 0.1


def test_lama_reconstruction_only_updates_the_generator_alone():
    """adv_weight = fm_weight = 0: one step updates only the generator, from the two L1 terms
    (the discriminator is never called), and the critic's logged terms are 0."""
    torch.manual_seed(0)
    options = {"adv_weight": "0", "fm_weight": "0", "hole_weight": "3"}
    objective = make_objective(config_for("lama", objective_options=options))
    nets = {name: spec.module for name, spec in objective.build_networks().items()}
    called, updated = [], []
    nets["d_patch"].register_forward_hook(lambda *_: called.append(1))

    class Recorder:  # hands out the networks and records which one is stepped
        def module(self, name):
            return nets[name]

        def update(self, name, loss=None):
            updated.append((name, loss))

    image = torch.rand(2, 3, 16, 16) * 2 - 1
    hole = torch.zeros(2, 1, 16, 16)
    hole[:, :, 4:12, 2:10] = 1
    objective.bind(Recorder())
    logs = objective.step({"image": image, "hole": hole}, torch.Generator().manual_seed(0))
    assert [name for name, _ in updated] == ["generator"] and not called
    assert float(logs["d_loss"]) == float(logs["fm"]) == float(logs["g_adv"]) == 0.0
    with torch.no_grad():
        out = nets["generator"](image * (1 - hole), hole)
    by_hand = [((out - image).abs() * m).sum() / (m.sum() * 3) for m in (1 - hole, hole)]
    expected = 10 * by_hand[0] + 3 * by_hand[1]  # valid_weight 10 (LaMa's), hole_weight 3
    assert float(updated[0][1].detach()) == pytest.approx(float(expected), rel=1e-5)
    assert float(logs["l1_hole"]) == pytest.approx(float(by_hand[1]), rel=1e-5)
