"""StrDiffusion's networks: the SPADE formula on a hand example, spectral norm, the UNets'
shapes and conditioning, the discriminator's output, the preset's sizes, the edge maps."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from inpaintkit.io.edges import canny_sigma, gray, known_edges
from inpaintkit.networks import build_network, network_spec
from inpaintkit.networks.irsde_unet import Spade, SpadeBlock, positional_norm
from inpaintkit.networks.presets import BundlePreset, get_preset, preset_from_dict

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread


def test_spade_is_normalised_x_times_one_plus_gamma_plus_beta():
    """Channels (3, 1) at every pixel: mean 2, unbiased variance 2, so the normalised x is
    (+1, -1) / sqrt(2 + 1e-5); gamma = (0.5, -0.25) and beta = (0.1, 0.2) from constant maps."""
    spade = Spade(channels=2, guide_channels=1, hidden=1)
    with torch.no_grad():
        for conv, bias in ((spade.shared[0], [1.0]), (spade.gamma, [0.5, -0.25]),
                           (spade.beta, [0.1, 0.2])):  # fmt: skip
            conv.weight.zero_()
            conv.bias.copy_(torch.tensor(bias))
    x = torch.tensor([3.0, 1.0]).view(1, 2, 1, 1).expand(1, 2, 4, 4)
    out = spade(x, torch.rand(1, 1, 2, 2))
    n = 1 / math.sqrt(2 + 1e-5)
    assert torch.allclose(out[0, :, 0, 0], torch.tensor([n * 1.5 + 0.1, -n * 0.75 + 0.2]))
    assert torch.allclose(out[0, 0], torch.full((4, 4), n * 1.5 + 0.1))
    # the norm itself: zero mean, unit unbiased variance over the channels of each pixel
    y = positional_norm(torch.randn(2, 5, 3, 3) * 4 + 1)
    assert torch.allclose(y.mean(1), torch.zeros(2, 3, 3), atol=1e-5)
    assert torch.allclose(y.var(1), torch.ones(2, 3, 3), atol=1e-4)


def test_spade_block_is_residual_with_spectral_norm_convolutions():
    torch.manual_seed(0)
    block = SpadeBlock(channels=8, guide_channels=1).eval()
    for conv in (block.conv0, block.conv1):
        weight = conv.weight.detach().reshape(8, -1)  # the spectrally normalised weight
        assert float(torch.linalg.matrix_norm(weight, ord=2)) == pytest.approx(1.0, abs=0.05)
    with torch.no_grad():  # with gamma and beta from a zero guide map the output depends on s
        x, s = torch.randn(2, 8, 4, 4), torch.rand(2, 1, 8, 8)
        assert block(x, s).shape == x.shape
        assert not torch.allclose(block(x, s), block(x, torch.zeros_like(s)))


def test_unets_shapes_guide_and_time():
    torch.manual_seed(0)
    structure = build_network("IRSDEUNet", {"channels": 1, "width": 8, "depth": 3, "blocks": 1})
    texture = build_network(
        "IRSDEUNet", {"channels": 3, "width": 8, "depth": 2, "guide_channels": 1}
    ).eval()
    t = torch.tensor([3, 70])
    with torch.no_grad():
        assert structure(torch.rand(2, 1, 20, 28), torch.rand(2, 1, 20, 28), t).shape == (
            2, 1, 20, 28)  # fmt: skip
        x, mu, s = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16), torch.rand(2, 1, 16, 16)
        out = texture(x, mu, t, s)
        assert out.shape == (2, 3, 16, 16)
        assert not torch.allclose(out, texture(x, mu, torch.tensor([4, 70]), s))  # time
        assert not torch.allclose(out, texture(x, mu, t, 1 - s))  # guide
        assert torch.allclose(out[1:], texture(x[1:], mu[1:], t[1:], s[1:]), atol=1e-5)
    with pytest.raises(ValueError, match="guided"):
        texture(x, mu, t)
    assert network_spec(texture)["config"]["guide_channels"] == 1


def test_discriminator_gives_one_logit_per_image_independent_of_its_batch():
    torch.manual_seed(0)
    disc = build_network("TimeDiscriminator", {"in_channels": 4, "width": 4, "time_dim": 16})
    with torch.no_grad():  # DDGAN's zero-initialised convolutions: the bias alone at first
        x, s, t = torch.rand(3, 3, 32, 32), torch.rand(3, 1, 32, 32), torch.tensor([2, 50, 99])
        assert torch.equal(disc(x, s, t), disc.linear.bias.expand(3, 1))
        for name, weight in disc.named_parameters():
            if name.endswith("weight") and not weight.abs().sum():
                weight.normal_(0, 0.1)
        x, s, t = torch.rand(3, 3, 32, 32), torch.rand(3, 1, 32, 32), torch.tensor([2, 50, 99])
        out = disc(x, s, t)
        assert out.shape == (3, 1)
        assert torch.allclose(out[2:], disc(x[2:], s[2:], t[2:]), atol=1e-6)
        assert not torch.allclose(out[0], disc(x[:1], s[:1], torch.tensor([3]))[0])


def test_strdiffusion32_preset_sizes_and_round_trip():
    preset = get_preset("strdiffusion32")
    assert isinstance(preset, BundlePreset) and preset.kind == "bundle"
    assert preset_from_dict(preset.to_dict()) == preset
    counts, total_bytes = {}, 0
    for name, spec in preset.networks.items():
        net = build_network(spec["class"], spec["config"])
        counts[name] = sum(p.numel() for p in net.parameters())
        total_bytes += sum(2 * v.numel() for v in net.state_dict().values())  # fp16 file
    assert counts == {"structure": 2_378_689, "texture": 2_900_515, "discriminator": 498_193}
    assert total_bytes < 12_000_000
    assert preset.process["canny_sigma"] == canny_sigma(32) == 0.375


def test_known_edges_of_a_step_and_of_a_hole():
    image = torch.zeros(1, 1, 32, 32)
    image[..., 16:] = 1.0  # a vertical step between columns 15 and 16
    keep = torch.ones(1, 1, 32, 32)
    edges = known_edges(image, keep, canny_sigma(32))
    cols = edges[0, 0].sum(0)
    assert set(torch.nonzero(cols).flatten().tolist()) <= {15, 16} and cols.sum() >= 28
    keep[..., 8:24, 8:24] = 0  # a hole across the step: no edge inside it, the rest kept
    holed = known_edges(image, keep, canny_sigma(32))
    assert holed[..., 8:24, 8:24].sum() == 0
    assert torch.equal(holed[..., :8, :], edges[..., :8, :])
    flat = known_edges(torch.full((1, 1, 32, 32), 0.5), keep, 0.375)
    assert flat.sum() == 0  # the hole's border makes no edge (filled first)
    assert known_edges(image, torch.zeros_like(keep), 0.375).sum() == 0
    rgb = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1).expand(1, 3, 2, 2)
    assert torch.allclose(gray(rgb), torch.full((1, 1, 2, 2), 0.2125))
    assert np.isclose(canny_sigma(256), 3.0)
