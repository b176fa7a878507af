"""RealFill's rectangle masks, and a conditional network started from a prior (zero-initialised
extra input channels, as Stable Diffusion inpainting from Stable Diffusion)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers import UNet2DModel

from inpaintkit.errors import InpaintkitError
from inpaintkit.masks import HOLE_PRESETS, Rectangles, get_holes
from inpaintkit.networks.presets import get_preset
from inpaintkit.train.config import TrainConfig
from inpaintkit.train.init import copy_weights, init_from_model
from inpaintkit.train.objectives import TrainedNetwork


def test_rectangles_preset_is_realfills_generator():
    gen = HOLE_PRESETS["rectangles"]
    assert gen == Rectangles(1, 29, 0.03, 0.25, margin=0.01, invert_proba=0.5)
    size = 256  # sides 3-25% of 256 = 7.68-64 px, margin int(2.56) = 2 px
    counts, sides, inverted = [], [], []
    for seed in range(2000):
        rng = np.random.default_rng(seed)
        boxes, flipped = gen.boxes(rng, (size, size))
        counts.append(len(boxes))
        inverted.append(flipped)
        for top, left, h, w in boxes:
            sides += [h, w]
            assert top >= 2 and left >= 2 and top + h <= size - 2 and left + w <= size - 2
        # the hole is the union of the boxes, or its complement
        union = np.zeros((size, size), bool)
        for top, left, h, w in boxes:
            union[top : top + h, left : left + w] = True
        if seed < 50:
            hole = gen(np.random.default_rng(seed), (size, size))
            assert np.array_equal(hole, ~union if flipped else union)
    counts = np.array(counts)
    assert counts.min() == 1 and counts.max() == 29
    assert abs(counts.mean() - 15.0) < 0.5  # uniform on 1..29
    assert min(sides) == 8 and max(sides) == 64  # round(0.03 * 256), round(0.25 * 256)
    assert abs(np.mean(sides) - 0.14 * size) < 1.0  # uniform fraction, mean (0.03 + 0.25) / 2
    assert abs(np.mean(inverted) - 0.5) < 0.04  # binomial sd 0.011 at n = 2000


def test_rectangles_at_32_px_and_old_arguments():
    gen = get_holes("rectangles")
    for seed in range(200):
        hole = gen(np.random.default_rng(seed), (32, 32))
        assert hole.dtype == bool and hole.shape == (32, 32) and hole.any()
    boxes, _ = gen.boxes(np.random.default_rng(0), (32, 32))
    assert all(1 <= h <= 8 and 1 <= w <= 8 for _, _, h, w in boxes)  # 3-25% of 32, >= 1 px
    plain = Rectangles(min_count=2, max_count=2, min_side=0.25, max_side=0.25)  # never inverted
    assert plain(np.random.default_rng(3), (40, 80)).sum() <= 2 * 10 * 20
    with pytest.raises(InpaintkitError, match="min_count"):
        Rectangles(min_count=0)
    with pytest.raises(InpaintkitError, match="invert_proba"):
        Rectangles(invert_proba=1.5)


def _unet(in_channels: int, out_channels: int = 6, seed: int = 0, **extra) -> UNet2DModel:
    torch.manual_seed(seed)
    config = dict(
        sample_size=16, in_channels=in_channels, out_channels=out_channels,
        block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=8,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"), attention_head_dim=8,
    )  # fmt: skip
    return UNet2DModel(**{**config, **extra}).eval()


def test_zero_initialised_extra_channels_give_the_priors_output_exactly():
    prior, conditional = _unet(3, seed=1), _unet(7, seed=2)
    assert copy_weights(conditional, prior, name="unet") == ["conv_in.weight"]
    weight = conditional.conv_in.weight
    assert torch.equal(weight[:, :3], prior.conv_in.weight) and not weight[:, 3:].any()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 3, 16, 16, generator=g)
    for trial in range(3):  # any hole and any masked image: their weights are zero
        hole = (torch.rand(3, 1, 16, 16, generator=g) > 0.5).float()
        masked = torch.randn(3, 3, 16, 16, generator=g) * (trial + 1)
        t = torch.tensor([0, 37, 99])
        with torch.no_grad():
            ours = conditional(torch.cat([x, hole, masked], 1), t).sample
            theirs = prior(x, t).sample
        assert torch.equal(ours, theirs)


def test_inpaint32_starts_as_the_shipped_emoji32_v2_prior():
    from inpaintkit.models import load_model

    preset = get_preset("inpaint32")
    assert preset.kind == "conditional-diffusion" and preset.learned_variance
    assert preset.beta_schedule == "cosine" and preset.unet_config()["in_channels"] == 7
    torch.manual_seed(0)
    specs = {"unet": TrainedNetwork(preset.build_unet())}
    assert init_from_model(specs, "emoji32-v2") == ["unet.conv_in.weight"]
    prior, net = load_model("emoji32-v2").unet, specs["unet"].module.eval()
    g = torch.Generator().manual_seed(1)
    x, masked = torch.randn(2, 3, 32, 32, generator=g), torch.randn(2, 3, 32, 32, generator=g)
    hole = (torch.rand(2, 1, 32, 32, generator=g) > 0.3).float()
    t = torch.tensor([5, 800])
    with torch.no_grad():
        assert torch.equal(net(torch.cat([x, hole, masked], 1), t).sample, prior(x, t).sample)


def test_mismatched_layouts_are_refused_naming_the_tensor():
    prior = _unet(3)
    with pytest.raises(InpaintkitError, match=r"unet\.conv_out\.weight is \(3, 16, 3, 3\) here"):
        copy_weights(_unet(7, out_channels=3), prior, name="unet")  # variance head differs
    with pytest.raises(InpaintkitError, match="conv_in.weight is"):
        copy_weights(_unet(3), _unet(7), name="unet")  # fewer input channels: not a growth
    wider = _unet(7, block_out_channels=(16, 48), norm_num_groups=8)
    untouched = wider.conv_in.weight.clone()
    with pytest.raises(InpaintkitError, match="tensor unet.down_blocks"):
        copy_weights(wider, prior, name="unet")
    assert torch.equal(wider.conv_in.weight, untouched)  # nothing copied on an error
    with pytest.raises(InpaintkitError, match="the source lacks unet.mid_block"):
        copy_weights(_unet(7), _unet(3, mid_block_type=None), name="unet")


def test_init_from_is_a_train_option_kept_out_of_default_configs():
    from inpaintkit.options import parse_values

    assert "init_from" not in TrainConfig().to_dict()
    parsed = parse_values(TrainConfig, {"init_from": "emoji32-v2"})
    config = TrainConfig(preset="inpaint32", objective="conditional-ddpm", **parsed)
    assert config.to_dict()["init_from"] == "emoji32-v2"
    assert TrainConfig.from_dict(config.to_dict()).init_from == "emoji32-v2"


def test_a_tiny_conditional_run_starts_from_the_placeholder_prior(tmp_path):
    from inpaintkit.models import load_model
    from inpaintkit.train.checkpoint import load_checkpoint
    from inpaintkit.train.loop import train
    from inpaintkit.train.state import exported_weights

    config = TrainConfig(
        preset="inpaint32-tiny", objective="conditional-ddpm", init_from="emoji32-placeholder",
        steps=1, batch_size=2, lr=1e-9, warmup_steps=0, sample_every=0, progress=False,
        objective_options={"holes": "rectangles"},
    )  # fmt: skip
    data = [torch.rand(3, 32, 32) * 2 - 1 for _ in range(4)]
    last = train(config, data, tmp_path / "run")
    weight = exported_weights(load_checkpoint(last), ["unet"])["unet"]["conv_in.weight"]
    prior = load_model("emoji32-placeholder").unet.conv_in.weight
    assert weight.shape[1] == 7
    torch.testing.assert_close(weight[:, :3].float(), prior, atol=1e-6, rtol=0)
    assert weight[:, 3:].abs().max() < 1e-6  # one step at lr 1e-9 from zero
