"""The DDPM trainer: presets, loss, EMA, checkpoints, exact resume, export. Tiny and seeded.

Training runs use a 16x16, two-level, 0.1M-parameter preset on 64 held-out emoji downscaled to
16x16 (tests/data/emoji_test_64), T = 100; a few steps take well under a second each.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from inpaintkit.data.folder import ArrayDataset, ImageFolderDataset
from inpaintkit.data.specs import make_dataset
from inpaintkit.diffusion.schedules import make_betas
from inpaintkit.errors import InpaintkitError
from inpaintkit.models.store import load_safetensors
from inpaintkit.networks.presets import PRESETS, Preset, get_preset, preset_from_dict
from inpaintkit.train.checkpoint import (
    REQUIRED_KEYS,
    capture_rng_state,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    restore_rng_state,
)
from inpaintkit.train.config import TrainConfig, lr_factor
from inpaintkit.train.ema import EMA, ema_decay_at
from inpaintkit.train.export import export_model
from inpaintkit.train.loop import train
from inpaintkit.train.losses import epsilon_mse_loss
from inpaintkit.train.objectives.ddpm_prior import select_loss_fn
from inpaintkit.train.previews import ddpm_sample

TEST_IMAGES = Path(__file__).parent / "data" / "emoji_test_64"

MICRO = Preset(
    name="micro16",
    resolution=16,
    block_out_channels=(16, 32),
    layers_per_block=1,
    attention_resolutions=(8,),
    attention_head_dim=8,
    norm_num_groups=8,
    mid_block=False,
    dropout=0.1,  # exercises the global torch RNG that resume must restore
    num_train_timesteps=100,
)


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread


def micro_config(**overrides) -> TrainConfig:
    base = dict(
        preset=MICRO,
        steps=8,
        batch_size=8,
        lr=2e-3,
        warmup_steps=2,
        ema_decay=0.9,
        checkpoint_every=4,
        keep_checkpoints=5,
        sample_every=0,
        log_every=2,
        progress=False,
        seed=3,
    )
    base.update(overrides)
    return TrainConfig(**base)


def read_log(run: Path) -> list[dict]:
    with open(run / "log.csv", newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------------------------------------
# presets


def test_presets_layouts_and_sizes():
    tiny = get_preset("emoji32-tiny")
    assert tiny.down_block_types == ("DownBlock2D", "AttnDownBlock2D", "DownBlock2D")
    assert tiny.up_block_types == ("UpBlock2D", "AttnUpBlock2D", "UpBlock2D")
    unet = tiny.build_unet()
    params = sum(p.numel() for p in unet.parameters())
    assert params == 932_451
    assert 2 * params < 2_000_000  # fp16 file under 2 MB
    e32 = get_preset("emoji32")
    assert e32.down_block_types == ("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D")
    assert e32.block_out_channels == (64, 128, 128)
    e64 = get_preset("emoji64")
    assert e64.level_resolutions == (64, 32, 16, 8)
    assert e64.up_block_types == ("AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D")
    assert {"emoji32-tiny", "emoji32", "emoji64"} <= set(PRESETS)
    for preset in PRESETS.values():
        assert preset_from_dict(json.loads(json.dumps(preset.to_dict()))) == preset
    with pytest.raises(InpaintkitError, match="emoji32-tiny"):
        get_preset("emoji128")
    with pytest.raises(InpaintkitError, match="attention"):
        Preset(name="bad", resolution=32, block_out_channels=(32, 64), attention_resolutions=(8,))


def test_learned_variance_preset_has_6_outputs_and_the_hybrid_loss():
    preset = Preset(
        name="lv", resolution=16, block_out_channels=(16,), learned_variance=True, mid_block=False
    )
    assert preset.unet_config()["out_channels"] == 6
    assert preset.process_config()["learned_variance"]
    x0 = torch.zeros(2, 3, 4, 4)
    out = torch.zeros(2, 6, 4, 4)  # eps = 0, v = 0: the log-variance halfway between the bounds
    t = torch.tensor([5, 500])
    hybrid = select_loss_fn(preset)(out, torch.ones_like(x0), x0, x0, t)
    plain = select_loss_fn(replace(preset, learned_variance=False))(
        out[:, :3], torch.ones_like(x0), x0, x0, t
    )
    assert float(plain) == 1.0 and float(hybrid) > 1.0  # the bound adds a positive term


# ---------------------------------------------------------------------------------------------
# loss, schedule, EMA


def test_epsilon_mse_loss_value():
    out = torch.zeros(2, 3, 4, 4)
    noise = torch.full((2, 3, 4, 4), 0.5)
    assert epsilon_mse_loss(out, noise, out, out, torch.zeros(2)).item() == 0.25
    assert select_loss_fn(MICRO) is epsilon_mse_loss


def test_lr_factor_warmup_and_cosine():
    assert lr_factor(0, 10, 110, "cosine", 0.0) == pytest.approx(0.1)
    assert lr_factor(9, 10, 110, "cosine", 0.0) == pytest.approx(1.0)
    assert lr_factor(10, 10, 110, "cosine", 0.0) == pytest.approx(1.0)
    assert lr_factor(60, 10, 110, "cosine", 0.0) == pytest.approx(0.5)
    assert lr_factor(110, 10, 110, "cosine", 0.1) == pytest.approx(0.1)
    assert lr_factor(500, 10, 110, "constant", 0.0) == 1.0


def test_ema_decay_warmup_and_update_formula():
    assert ema_decay_at(0, 0.999) == pytest.approx(0.1)
    assert ema_decay_at(8, 0.999) == pytest.approx(0.5)
    assert ema_decay_at(10**6, 0.999) == 0.999
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    ema = EMA(model, decay=0.9)
    start = [p.clone() for p in ema.module.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    d = ema.update(model)
    assert d == pytest.approx(0.1)
    for e, s, p in zip(ema.module.parameters(), start, model.parameters(), strict=True):
        torch.testing.assert_close(e, d * s + (1 - d) * p, rtol=0, atol=1e-6)
    for _ in range(200):
        ema.update(model)
    assert ema.num_updates == 201
    for e, p in zip(ema.module.parameters(), model.parameters(), strict=True):
        torch.testing.assert_close(e, p, rtol=0, atol=1e-6)  # converged to a constant model
    assert not any(p.requires_grad for p in ema.module.parameters())


def test_rng_state_round_trip():
    import random

    generator = torch.Generator().manual_seed(5)
    state = capture_rng_state(generator)
    first = (torch.rand(3), np.random.rand(3), random.random(), torch.rand(2, generator=generator))
    restore_rng_state(state, generator)
    second = (torch.rand(3), np.random.rand(3), random.random(), torch.rand(2, generator=generator))
    assert torch.equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    assert first[2] == second[2] and torch.equal(first[3], second[3])


# ---------------------------------------------------------------------------------------------
# training runs


def test_loss_decreases_on_a_tiny_overfit_run(tmp_path, emoji16):
    """8 images, 60 steps at lr 2e-3: the mean loss of the last 10 steps is below 40% of the
    first 10 (measured on this CPU: 0.741 -> 0.221, i.e. 30%)."""
    data = torch.utils.data.Subset(emoji16, range(8))
    config = micro_config(steps=60, log_every=10, checkpoint_every=60)
    train(config, data, tmp_path / "run")
    losses = [float(r["loss"]) for r in read_log(tmp_path / "run")]
    assert len(losses) == 6
    assert losses[-1] < 0.4 * losses[0]


@pytest.mark.parametrize("mixed_precision", ["no", "bf16"])
def test_resume_is_bitwise_identical(tmp_path, emoji16, mixed_precision):
    """8 steps straight == 4 steps, stop, resume, 4 more: same weights, EMA, optimizer, losses,
    bit for bit on a CPU (with dropout 0.1, so the global torch RNG restore is exercised)."""
    config = micro_config(mixed_precision=mixed_precision)
    straight = train(config, emoji16, tmp_path / "a")
    train(config, emoji16, tmp_path / "b")
    # simulate a run killed after step 4: only the step-4 checkpoint survives
    for step, path in list_checkpoints(tmp_path / "b" / "ckpt"):
        if step > 4:
            path.unlink()
    assert latest_checkpoint(tmp_path / "b" / "ckpt").name == "ckpt-00000004.pt"
    resumed = train(config, emoji16, tmp_path / "b", resume=True)
    a, b = load_checkpoint(straight), load_checkpoint(resumed)
    assert a["step"] == b["step"] == 8
    for key in ("model",):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), name
    for name, tensor in a["ema"]["module"].items():
        assert torch.equal(tensor, b["ema"]["module"][name]), name
    for pid, st in a["optimizer"]["state"].items():
        assert torch.equal(st["exp_avg_sq"], b["optimizer"]["state"][pid]["exp_avg_sq"])
    assert torch.equal(a["rng"]["generator"], b["rng"]["generator"])
    assert torch.equal(a["rng"]["torch"], b["rng"]["torch"])
    assert read_log(tmp_path / "a") == [
        {**r, "images_per_s": a_r["images_per_s"], "elapsed_s": a_r["elapsed_s"]}
        for r, a_r in zip(read_log(tmp_path / "b"), read_log(tmp_path / "a"), strict=True)
    ]


def test_checkpoint_holds_what_resume_needs(tmp_path, emoji16):
    path = train(micro_config(steps=4), emoji16, tmp_path / "run")
    raw = torch.load(path, map_location="cpu", weights_only=True)  # no pickled objects
    assert set(REQUIRED_KEYS) <= set(raw)
    assert raw["step"] == 4
    assert raw["sampler"] == {
        "consumed": 32,
        "epoch": 0,
        "offset": 32,
        "num_items": 64,
        "global_batch": 8,
    }
    assert set(raw["rng"]) >= {"torch", "numpy", "python", "generator"}
    assert raw["lr_scheduler"]["last_epoch"] == 4
    assert raw["ema"]["num_updates"] == 4
    assert len(raw["optimizer"]["state"]) == len(raw["model"])
    assert raw["config"]["preset"]["name"] == "micro16"
    info = json.loads((tmp_path / "run" / "ckpt" / "config.json").read_text())
    assert info["train"] == raw["config"] and info["num_images"] == 64
    assert not list((tmp_path / "run" / "ckpt").glob("*.tmp"))


def test_corrupt_checkpoint_is_a_clear_error(tmp_path, emoji16):
    path = train(micro_config(steps=4), emoji16, tmp_path / "run")
    path.write_bytes(path.read_bytes()[:1000])  # truncated
    with pytest.raises(InpaintkitError, match="damaged"):
        load_checkpoint(path)
    with pytest.raises(InpaintkitError, match="damaged"):
        train(micro_config(steps=6), emoji16, tmp_path / "run", resume=True)
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(InpaintkitError):
        load_checkpoint(path)


def test_refuses_to_overwrite_or_resume_a_different_run(tmp_path, emoji16):
    train(micro_config(steps=2, checkpoint_every=2), emoji16, tmp_path / "run")
    with pytest.raises(InpaintkitError, match="resume=True"):
        train(micro_config(steps=2), emoji16, tmp_path / "run")
    with pytest.raises(InpaintkitError, match="lr"):
        train(micro_config(steps=4, lr=1e-4), emoji16, tmp_path / "run", resume=True)
    with pytest.raises(InpaintkitError, match="shape"):
        train(micro_config(), ArrayDataset(np.zeros((4, 8, 8, 3), np.uint8)), tmp_path / "other")


def test_learned_variance_trains_and_exports(tmp_path, emoji16):
    preset = replace(MICRO, name="micro16-lv", learned_variance=True, beta_schedule="cosine")
    run = tmp_path / "run"
    train(micro_config(preset=preset, steps=3), emoji16, run)
    model = load_safetensors(export_model(run, tmp_path / "lv.safetensors"))
    assert model.config.learned_variance and model.unet.config.out_channels == 6


def test_samples_export_and_reload(tmp_path, emoji16):
    run = tmp_path / "run"
    train(micro_config(steps=4, sample_every=4, sample_steps=5, num_samples=4), emoji16, run)
    grid = run / "samples" / "step-00000004.png"
    from PIL import Image

    with Image.open(grid) as im:
        assert im.size == (2 + 2 * 18, 2 + 2 * 18)
    out = export_model(run, tmp_path / "model.safetensors", card="# micro")
    model = load_safetensors(out)
    assert model.card == "# micro"
    assert model.config.num_train_timesteps == 100 and not model.config.learned_variance
    assert tuple(model.unet.config.block_out_channels) == (16, 32)
    ema = load_checkpoint(latest_checkpoint(run / "ckpt"))["ema"]["module"]
    for name, tensor in model.unet.state_dict().items():
        torch.testing.assert_close(tensor, ema[name].half().float(), rtol=0, atol=0)


def test_ddpm_sample_is_seeded_and_in_range():
    torch.manual_seed(0)
    unet = MICRO.build_unet().eval()
    betas = make_betas("linear", 100)
    shape = (2, 3, 16, 16)
    a = ddpm_sample(unet, betas, shape, num_steps=5, generator=torch.Generator().manual_seed(1))
    b = ddpm_sample(unet, betas, shape, num_steps=5, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape == shape
    assert a.min() >= -1 and a.max() <= 1


def test_make_dataset_specs(tmp_path):
    data = make_dataset(str(TEST_IMAGES), 32)
    assert isinstance(data, ImageFolderDataset) and data[0].shape == (3, 32, 32)
    with pytest.raises(InpaintkitError, match="style"):
        make_dataset("emoji:apple", 32)
    with pytest.raises(InpaintkitError, match="does not exist"):
        make_dataset(str(tmp_path / "nothing"), 32)


def test_bad_config_values_are_errors():
    with pytest.raises(InpaintkitError, match="mixed_precision"):
        TrainConfig(mixed_precision="fp8")
    with pytest.raises(InpaintkitError, match="sample_steps"):
        TrainConfig(sample_steps=100)
    with pytest.raises(InpaintkitError, match="steps"):
        TrainConfig(steps=0)


# ---------------------------------------------------------------------------------------------
# the refactor keeps the DDPM prior's export


def canonical_sha256(path: Path) -> str:
    """sha256 of a .safetensors file with its JSON header re-serialised with sorted keys:
    safetensors writes the metadata map in a per-process random order (a Rust HashMap), so the
    raw bytes of one export differ from run to run; the header's content and the tensor data
    do not."""
    import hashlib
    import struct

    raw = Path(path).read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    digest = hashlib.sha256(json.dumps(json.loads(raw[8 : 8 + size]), sort_keys=True).encode())
    digest.update(raw[8 + size :])
    return digest.hexdigest()


def tensor_sha256(path: Path) -> str:
    """sha256 over (name without a "unet." prefix, dtype, bytes) of every tensor, by name."""
    import hashlib

    from safetensors import safe_open

    digest = hashlib.sha256()
    with safe_open(str(path), "pt") as f:
        for short, key in sorted((k.removeprefix("unet."), k) for k in f.keys()):
            tensor = f.get_tensor(key)
            digest.update(short.encode() + str(tensor.dtype).encode())
            digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def test_export_of_a_wave1_checkpoint_is_unchanged(tmp_path):
    """tests/data/train_ddpm_run holds the EMA of a 3-step run of the wave-1 trainer (a 16x16
    two-level UNet, T = 100), exported by the wave-1 code with the digests below. The loop +
    objective export writes the same tensors (bit for bit) and, while ``save_model`` writes the
    "inpaintkit-1" format, the same file up to the order of the header's keys."""
    from safetensors import safe_open

    run = Path(__file__).parent / "data" / "train_ddpm_run"
    out = export_model(run, tmp_path / "m.safetensors", card="tiny card")
    assert tensor_sha256(out) == "fa06a861cb0565e7aac41d825548b90e7693c7261bbd8f34df58cc83d0c79f63"
    with safe_open(str(out), "pt") as f:
        file_format = f.metadata()["format"]
    if file_format == "inpaintkit-1":
        assert canonical_sha256(out) == (
            "80c6a267367087016b686e0cb0b479a0fa64d03b7538afffdbc2b3beb630eb47"
        )
    model = load_safetensors(out)
    assert model.card == "tiny card" and model.config.num_train_timesteps == 100
    assert tuple(model.unet.config.block_out_channels) == (8, 16)


# ---------------------------------------------------------------------------------------------
# network presets of every kind, the discriminator, the CLI


def test_conditional_and_generator_presets():
    from inpaintkit.networks.presets import ConditionalPreset, GeneratorPreset

    cond = get_preset("inpaint32-tiny")
    assert isinstance(cond, ConditionalPreset) and cond.kind == "conditional-diffusion"
    config = cond.unet_config()
    assert config["in_channels"] == 7 and config["out_channels"] == 3
    assert cond.to_dict()["kind"] == "conditional-diffusion"
    assert "kind" not in get_preset("emoji32").to_dict()  # a prior's config.json is unchanged
    gen = get_preset("encdec32-tiny")
    assert isinstance(gen, GeneratorPreset) and gen.kind == "feedforward"
    assert gen.generator["class"] == "EncoderDecoderGenerator"
    assert gen.discriminators["patch"]["class"] == "PatchDiscriminator"
    with pytest.raises(InpaintkitError, match="multiple"):
        GeneratorPreset(name="bad", resolution=30, generator={"class": "G"}, multiple=4)
    with pytest.raises(InpaintkitError, match="class"):
        GeneratorPreset(name="bad", resolution=32, generator={"config": {}})


def test_patch_discriminator_shapes_and_config():
    from inpaintkit.networks.discriminators import PatchDiscriminator

    torch.manual_seed(0)
    disc = PatchDiscriminator(in_channels=4, width=8, depth=2)
    assert disc.config == {"in_channels": 4, "width": 8, "depth": 2, "spectral_norm": False}
    assert disc(torch.zeros(2, 4, 32, 32)).shape == (2, 1, 6, 6)  # 32 / 4 - 2
    # convs 4->8, 8->16 (stride 2), 16->32, 32->1 (stride 1), 4x4 with bias; two GroupNorms
    assert sum(p.numel() for p in disc.parameters()) == 520 + 2064 + 32 + 8224 + 64 + 513
    rebuilt = PatchDiscriminator(**disc.config)
    rebuilt.load_state_dict(disc.state_dict())
    x = torch.randn(1, 4, 16, 16)
    assert torch.equal(rebuilt(x), disc(x))
    sn = PatchDiscriminator(in_channels=3, width=8, depth=1, spectral_norm=True)
    assert sn(torch.zeros(1, 3, 16, 16)).shape == (1, 1, 6, 6)


def test_config_json_of_other_objectives_records_them(tmp_path, emoji16):
    from inpaintkit.networks.presets import ConditionalPreset

    preset = ConditionalPreset.from_dict({**MICRO.to_dict(), "name": "micro16-inpaint"})
    config = micro_config(
        preset=preset, objective="conditional-ddpm", objective_options={"holes": "box"}, steps=2
    )
    train(config, emoji16, tmp_path / "run")
    info = json.loads((tmp_path / "run" / "ckpt" / "config.json").read_text())
    assert info["train"]["objective"] == "conditional-ddpm"
    assert info["train"]["objective_options"] == {"holes": "box"}
    assert info["train"]["preset"]["kind"] == "conditional-diffusion"
    assert TrainConfig.from_dict(info["train"]).resolved_preset() == preset
    assert "objective" not in micro_config().to_dict()  # the prior's config.json is unchanged


def test_cli_trains_the_objective_of_the_preset(tmp_path):
    from typer.testing import CliRunner

    from inpaintkit.cli import app

    out = tmp_path / "run"
    args = ["train", str(TEST_IMAGES), "--preset", "inpaint32-tiny", "--steps", "1",
            "--out", str(out), "--holes", "box", "--batch-size", "2", "-o", "progress=false",
            "-o", "sample_every=0", "-o", "warmup_steps=1", "--threads", "1"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    info = json.loads((out / "ckpt" / "config.json").read_text())
    assert info["train"]["objective"] == "conditional-ddpm"
    assert info["train"]["objective_options"] == {"holes": "box"}
    bad = CliRunner().invoke(app, [*args[:-2], "-O", "gan_loss=wgan", "--objective", "adversarial"])
    assert bad.exit_code != 0 and "feedforward preset" in bad.output


def test_resume_after_kill_9_is_bitwise_identical(tmp_path, emoji16):
    """A real SIGKILL: a training process is killed once it has written a checkpoint (maybe in
    the middle of the next one); resuming ends with the weights of an uninterrupted run."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = f"""
import torch
torch.set_num_threads(1)
from pathlib import Path
from inpaintkit.data.folder import ImageFolderDataset
from inpaintkit.networks.presets import Preset
from inpaintkit.train.config import TrainConfig
from inpaintkit.train.loop import train
preset = Preset.from_dict({MICRO.to_dict()!r})
config = TrainConfig(preset=preset, steps=16, batch_size=8, lr=2e-3, warmup_steps=2,
    ema_decay=0.9, checkpoint_every=2, keep_checkpoints=2, sample_every=0, log_every=2,
    progress=False, seed=3)
train(config, ImageFolderDataset({str(TEST_IMAGES)!r}, 16), Path({str(tmp_path / "b")!r}),
      resume=True)
"""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(step >= 4 for step, _ in list_checkpoints(tmp_path / "b" / "ckpt")):
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    killed_at = latest_checkpoint(tmp_path / "b" / "ckpt")
    assert killed_at is not None
    config = micro_config(steps=16, checkpoint_every=2, keep_checkpoints=2, log_every=2)
    resumed = train(config, emoji16, tmp_path / "b", resume=True)
    straight = train(config, emoji16, tmp_path / "a")
    a, b = load_checkpoint(straight), load_checkpoint(resumed)
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    for name, tensor in a["ema"]["module"].items():
        assert torch.equal(tensor, b["ema"]["module"][name]), name
