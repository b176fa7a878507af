"""Shared fixtures: tiny seeded networks that run in milliseconds on a CPU."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from diffusers import UNet2DModel

from inpaintkit.data.folder import ImageFolderDataset
from inpaintkit.models.model import DiffusionModel
from inpaintkit.models.spec import DiffusionConfig


def make_tiny_unet(
    *, size: int = 16, out_channels: int = 3, num_class_embeds: int | None = None, seed: int = 0
) -> UNet2DModel:
    """A 2-level UNet2DModel with attention, seeded weights, float32, eval mode."""
    torch.manual_seed(seed)
    unet = UNet2DModel(
        sample_size=size,
        in_channels=3,
        out_channels=out_channels,
        block_out_channels=(16, 32),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        norm_num_groups=8,
        attention_head_dim=8,
        num_class_embeds=num_class_embeds,
    )
    return unet.eval().requires_grad_(False)


def make_problem(batch: int = 2, size: int = 16, seed: int = 0):
    """(known [B,3,H,W] in [-1,1], keep [B,1,H,W]): a box hole in image 0, the right half in
    image 1 (batch <= 2)."""
    g = torch.Generator().manual_seed(seed)
    known = torch.rand(batch, 3, size, size, generator=g) * 2 - 1
    keep = torch.ones(2, 1, size, size)
    keep[0, :, 4:12, 4:12] = 0
    keep[1, :, :, size // 2 :] = 0
    return known, keep[:batch]


@pytest.fixture
def tiny_unet() -> UNet2DModel:
    return make_tiny_unet()


@pytest.fixture
def tiny_model() -> DiffusionModel:
    """A tiny learned-variance model on a 100-step linear process."""
    unet = make_tiny_unet(out_channels=6)
    config = DiffusionConfig(num_train_timesteps=100, learned_variance=True)
    return DiffusionModel(unet=unet, config=config, source="tiny")


@pytest.fixture
def guided_checkpoint(tmp_path):  # noqa: ANN001, ANN201
    """A small guided-diffusion UNet (16x16, 16-channel heads, learned sigma) saved as a .pt
    state dict, made with OpenAI's own code (guided-diffusion-sdk)."""
    unet = pytest.importorskip("guided_diffusion.unet")
    torch.manual_seed(5)
    net = unet.UNetModel(
        image_size=16,
        in_channels=3,
        model_channels=32,
        out_channels=6,
        num_res_blocks=1,
        attention_resolutions=(2,),
        channel_mult=(1, 2),
        num_head_channels=16,
        use_scale_shift_norm=True,
        resblock_updown=True,
    )
    torch.save(net.state_dict(), tmp_path / "gd.pt")
    return tmp_path / "gd.pt"


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module (``pytestmark = pytest.mark.usefixtures("one_thread")``):
    on a shared 2-core machine two threads next to another busy process are 20x slower (OpenMP
    threads spin-wait on each other); one thread is fast either way."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def emoji16() -> ImageFolderDataset:
    """The committed 64 held-out emoji (tests/data/emoji_test_64) at 16x16."""
    return ImageFolderDataset(Path(__file__).parent / "data" / "emoji_test_64", 16)
