"""Pull-push filling (inpaintkit.networks.pullpush) and the photo LaMa's prefill option."""

from __future__ import annotations

import pytest
import torch

from inpaintkit.networks.lama import LaMaGenerator
from inpaintkit.networks.pullpush import pull_push


def test_one_hole_pixel_of_four_gets_the_mean_of_the_other_three() -> None:
    image = torch.tensor([[[[0.2, 0.4], [0.9, -7.0]]]])
    hole = torch.tensor([[[[0.0, 0.0], [0.0, 1.0]]]])
    filled = pull_push(image, hole)
    assert filled[0, 0, 1, 1].item() == pytest.approx((0.2 + 0.4 + 0.9) / 3, abs=1e-6)
    assert torch.equal(filled[0, 0][hole[0, 0] == 0], image[0, 0][hole[0, 0] == 0])


def test_a_constant_image_is_filled_with_its_constant_at_any_size() -> None:
    generator = torch.Generator().manual_seed(0)
    for height, width in ((5, 7), (32, 32), (1, 9), (33, 17)):
        hole = (torch.rand(2, 1, height, width, generator=generator) < 0.6).float()
        hole[:, :, 0, 0] = 0.0  # at least one known pixel per row
        image = torch.full((2, 3, height, width), 0.37)
        filled = pull_push(image * (1 - hole), hole)
        assert filled.shape == image.shape
        assert torch.allclose(filled, image, atol=1e-6), (height, width)


def test_known_pixels_stay_and_a_row_with_nothing_known_is_zeros() -> None:
    image = torch.randn(2, 3, 12, 10, generator=torch.Generator().manual_seed(1))
    hole = torch.zeros(2, 1, 12, 10)
    hole[0, :, 3:9, 2:7] = 1.0
    hole[1] = 1.0
    filled = pull_push(image, hole)
    known = hole[0, 0] == 0
    assert torch.equal(filled[0][:, known], image[0][:, known])
    assert torch.equal(filled[1], torch.zeros_like(filled[1]))
    # a hole pixel lies within the range of the known colours of its channel
    inside = filled[0][:, ~known]
    lows = image[0][:, known].min(1).values[:, None]
    highs = image[0][:, known].max(1).values[:, None]
    assert bool(((inside >= lows - 1e-6) & (inside <= highs + 1e-6)).all())


def test_an_untrained_prefill_lama_returns_the_pull_push_fill() -> None:
    torch.manual_seed(0)
    net = LaMaGenerator(width=8, depth=2, blocks=1, prefill=True).eval()
    masked = torch.rand(1, 3, 16, 24) * 2 - 1
    hole = torch.zeros(1, 1, 16, 24)
    hole[..., 4:10, 5:15] = 1.0
    masked = masked * (1 - hole)
    with torch.no_grad():
        assert torch.equal(net(masked, hole), pull_push(masked, hole))
    assert net.config["prefill"] is True
    assert "prefill" not in LaMaGenerator(width=8, depth=2, blocks=1).config  # old files load
    assert "residual_init" not in net.config


def test_residual_init_scales_the_default_draw_of_the_last_layer() -> None:
    torch.manual_seed(0)
    plain = LaMaGenerator(width=8, depth=2, blocks=1)
    torch.manual_seed(0)
    scaled = LaMaGenerator(width=8, depth=2, blocks=1, prefill=True, residual_init=0.1)
    assert torch.allclose(scaled.tail[1].weight, 0.1 * plain.tail[1].weight)
    assert torch.allclose(scaled.tail[1].bias, 0.1 * plain.tail[1].bias)
    assert float(scaled.tail[1].weight.abs().mean()) > 1e-3
    assert scaled.config["residual_init"] == 0.1
    with pytest.raises(ValueError, match="only with prefill"):
        LaMaGenerator(width=8, residual_init=0.1)
