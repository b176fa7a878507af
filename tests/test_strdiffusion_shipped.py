"""The shipped strdiffusion32 bundle: it loads as StrDiffusion's three networks with the process
it was trained with, and its texture network has learned the hole's noise on held-out emoji
(the committed TEST images), which a zero, random or misloaded network cannot fake."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from inpaintkit.bench.plan import bench_hole
from inpaintkit.data import ImageFolderDataset
from inpaintkit.io.edges import gray, known_edges
from inpaintkit.methods import build_method

TEST_IMAGES = Path(__file__).parent / "data" / "emoji_test_64"


@pytest.fixture(scope="module")
def shipped():
    return build_method("strdiffusion", progress=False)


def test_the_shipped_bundle_is_the_trained_preset(shipped) -> None:
    model = shipped.model
    assert model.source == "embedded:strdiffusion32" and model.image_size == 32
    assert {"structure", "texture"} <= set(model.networks())
    assert shipped.process.num_steps == 100
    assert "6,000 steps" in model.card


def test_the_texture_network_predicts_the_hole_noise_on_held_out_emoji(shipped, one_thread):
    """eps-MSE in the hole at t = 40 and 60 (of 100). Predicting zero (or an untrained net's
    near-zero output) scores 1, the noise's variance (a freshly built texture network: 1.008 at
    t = 40); the shipped weights score 0.283 and 0.080 on these 4 images and narrow holes
    (0.286 and 0.080 on the bench's, bench/strdiffusion_probe.py), asserted with a margin."""
    images = ImageFolderDataset(TEST_IMAGES, 32)
    x0 = torch.stack([images[i] for i in range(4)]) * 0.5 + 0.5  # the process works in [0, 1]
    hole = torch.stack([torch.from_numpy(bench_hole("narrow", 32, 0, i)) for i in range(4)])
    hole = hole[:, None].float()
    keep = 1 - hole
    process, nets = shipped.process, shipped.model.networks()
    s0 = gray(x0)
    mu_x, mu_s = x0 * keep, known_edges(s0, keep, shipped.sigma) * keep
    draws = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for t, bound in ((40, 0.5), (60, 0.25)):
            tt = torch.full((4,), t)
            s_t = process.q_sample(s0, mu_s, tt, torch.randn(s0.shape, generator=draws))
            s_prev = process.optimal_prev(s_t, s0, mu_s, tt)
            noise = torch.randn(x0.shape, generator=draws)
            eps = nets["texture"](process.q_sample(x0, mu_x, tt, noise), mu_x, tt, s_prev)
            mse = float(((eps - noise) ** 2 * hole).sum() / (hole.sum() * 3))
            assert mse < bound, f"t={t}: eps-MSE {mse:.3f} in the hole"
