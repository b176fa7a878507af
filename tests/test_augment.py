"""Training augmentation (mirror, hue rotation, saturation), the tune/fit emoji splits, several
styles in one data spec, init_from, and the emoji bench data specs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from inpaintkit.data.augment import (
    AugmentedDataset,
    augmented,
    hue_rotation,
    parse_augmentation,
    recolour,
)
from inpaintkit.data.emoji import heldout_base_ids, tune_base_ids
from inpaintkit.data.folder import ArrayDataset
from inpaintkit.errors import InpaintkitError


def _images(n: int = 6, size: int = 8) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def test_hue_rotation_is_orthogonal_fixes_grey_and_cycles_primaries() -> None:
    third = hue_rotation(2 * math.pi / 3)
    assert torch.allclose(third @ third.T, torch.eye(3), atol=1e-6)
    assert torch.allclose(third @ torch.ones(3), torch.ones(3), atol=1e-6)
    # a third of a turn maps red to green and green to blue (Rodrigues about (1,1,1))
    assert torch.allclose(third @ torch.tensor([1.0, 0, 0]), torch.tensor([0.0, 1, 0]), atol=1e-6)
    assert torch.allclose(third @ torch.tensor([0.0, 1, 0]), torch.tensor([0.0, 0, 1]), atol=1e-6)
    assert torch.allclose(hue_rotation(0.0), torch.eye(3))


def test_recolour_keeps_white_and_grey_and_scales_saturation() -> None:
    image = torch.tensor([[1.0, -0.2, 0.6], [1.0, -0.2, 0.0], [1.0, -0.2, -0.6]]).view(3, 1, 3)
    out = recolour(image, 1.234, 0.5)
    assert torch.allclose(out[:, 0, 0], torch.ones(3), atol=1e-6)  # white
    assert torch.allclose(out[:, 0, 1], torch.full((3,), -0.2), atol=1e-6)  # grey
    # saturation 0.5 halves the distance to the grey of (0.6, 0, -0.6): grey 0 -> (0.3, 0, -0.3)
    plain = recolour(image, 0.0, 0.5)
    assert torch.allclose(plain[:, 0, 2], torch.tensor([0.3, 0.0, -0.3]), atol=1e-6)


def test_augmented_items_are_a_pure_function_of_seed_epoch_index() -> None:
    data = ArrayDataset(_images())
    aug = AugmentedDataset(data, parse_augmentation("hflip=0.5,hue=0.5,saturation=0.2"), seed=3)
    again = AugmentedDataset(data, parse_augmentation("hflip=0.5,hue=0.5,saturation=0.2"), seed=3)
    for index in range(6):
        for epoch in range(3):
            assert torch.equal(aug.item(index, epoch), again.item(index, epoch))
    draws = [aug.draws(i, e) for i in range(6) for e in range(20)]
    mirrored = sum(d[0] for d in draws) / len(draws)
    assert 0.3 < mirrored < 0.7
    assert all(abs(theta) <= math.pi + 1e-9 and 0.8 <= scale <= 1.2 for _, theta, scale in draws)
    # a mirror alone flips the image exactly
    flip_only = AugmentedDataset(data, parse_augmentation("hflip=1"), seed=0)
    assert torch.equal(flip_only.item(2, 5), data[2].flip(-1))


def test_colour_probability_and_no_augmentation() -> None:
    data = ArrayDataset(_images())
    never = AugmentedDataset(data, parse_augmentation("hue=0.5,colour_p=0"), seed=0)
    assert all(never.draws(i, 0) == (False, 0.0, 1.0) for i in range(6))
    assert augmented(data, "", 0) is data
    assert isinstance(augmented(data, "hflip=0.5", 0), AugmentedDataset)


def test_bad_augmentation_specs_name_the_option() -> None:
    with pytest.raises(InpaintkitError, match="hue"):
        parse_augmentation("hue=0.9")
    with pytest.raises(InpaintkitError, match="blur"):
        parse_augmentation("blur=1")


def test_tune_split_is_86_train_bases_apart_from_the_test_split() -> None:
    tune, test = tune_base_ids(), heldout_base_ids()
    assert len(tune) == 86 and not tune & test


def test_train_config_augment_and_init_from_round_trip_and_stay_out_of_old_configs() -> None:
    from inpaintkit.train.config import TrainConfig

    plain = TrainConfig(preset="emoji32-tiny").to_dict()
    assert "augment" not in plain and "init_from" not in plain
    config = TrainConfig(preset="emoji32-tiny", augment="hflip=0.5", init_from="x.safetensors")
    again = TrainConfig.from_dict(config.to_dict())
    assert (again.augment, again.init_from) == ("hflip=0.5", "x.safetensors")
    with pytest.raises(InpaintkitError, match="saturation"):
        TrainConfig(preset="emoji32-tiny", augment="saturation=2")


def test_init_from_copies_every_weight_and_refuses_other_layouts(tiny_model, tmp_path) -> None:
    from inpaintkit.models import save_model
    from inpaintkit.train.init import init_from_model
    from inpaintkit.train.objectives import TrainedNetwork

    path = save_model(tiny_model, tmp_path / "tiny.safetensors")
    torch.manual_seed(5)
    fresh = type(tiny_model.unet).from_config(tiny_model.unet.config)
    specs = {"unet": TrainedNetwork(fresh)}
    init_from_model(specs, str(path))
    for key, value in tiny_model.unet.state_dict().items():
        assert torch.allclose(specs["unet"].module.state_dict()[key], value.half().float())
    other = {"generator": TrainedNetwork(torch.nn.Conv2d(3, 3, 1))}
    with pytest.raises(InpaintkitError, match="none in common"):
        init_from_model(other, str(path))
    wrong = {"unet": TrainedNetwork(torch.nn.Conv2d(3, 3, 1))}
    with pytest.raises(InpaintkitError, match="another layout: the source lacks unet.bias"):
        init_from_model(wrong, str(path))


def test_bench_emoji_specs_name_split_and_style() -> None:
    from inpaintkit.bench.data import _emoji_spec, load_bench_images

    assert _emoji_spec("emoji-test") == ("test", "google")
    assert _emoji_spec("emoji-tune:twitter") == ("tune", "twitter")
    assert _emoji_spec("some/folder") is None
    with pytest.raises(InpaintkitError, match="unknown emoji style"):
        _emoji_spec("emoji-test:apple")
    with pytest.raises(InpaintkitError, match="emoji-<split>:<style>"):
        load_bench_images("emoji-val:google", 32, 2)


def _have_styles(*styles: str) -> bool:
    from inpaintkit.data.emoji import _package_dir

    return all((_package_dir(style, None) / "emoji.json").is_file() for style in styles)


@pytest.mark.skipif(not _have_styles("google", "twitter"), reason="emoji packages not cached")
def test_two_styles_in_one_spec_on_the_real_packages() -> None:
    from inpaintkit.data.specs import make_dataset

    fit = make_dataset("emoji:google+twitter:fit", 32)
    tune = make_dataset("emoji:google:tune", 32)
    assert (len(fit), len(tune)) == (2 * 3225, 181)
    # the google half comes first, then the twitter half, same emoji in the same order
    assert not torch.equal(fit[0], fit[3225])
