"""inpaint-ddpm's ``project`` option: a prior method's conditioning at every step of the
conditional model's walk.

The cross-check: a conditional network started from a prior with zero condition channels
(as ``init_from`` makes it) IS that prior on any input, so inpaint-ddpm with project="replace"
must give RePaint's bytes with no resampling (r = 1) on the prior, and project="null-space"
DDNM's without time travel, seed for seed: two methods, two code paths, one answer.
"""

from __future__ import annotations

import pytest
import torch

from inpaintkit.errors import InpaintkitError
from inpaintkit.methods import build_method
from inpaintkit.models import ConditionalDiffusionModel, load_model
from inpaintkit.networks.presets import get_preset
from inpaintkit.train.init import init_from_model
from inpaintkit.train.objectives import TrainedNetwork

PRIOR = "emoji32-placeholder"


@pytest.fixture(scope="module")
def models():
    prior = load_model(PRIOR)
    torch.manual_seed(0)
    specs = {"unet": TrainedNetwork(get_preset("inpaint32-tiny").build_unet())}
    assert init_from_model(specs, PRIOR) == ["unet.conv_in.weight"]
    unet = specs["unet"].module.eval()
    return prior, ConditionalDiffusionModel(unet, prior.config, "test:zero-condition")


@pytest.fixture(scope="module")
def picture():
    g = torch.Generator().manual_seed(3)
    known = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    keep = torch.ones(2, 1, 32, 32)
    keep[:, :, 8:24, 10:20] = 0
    return known, keep


def _run(method, known, keep):
    generators = [torch.Generator().manual_seed(seed) for seed in (11, 12)]
    return method(known, keep, generators=generators)


@pytest.mark.parametrize(
    ("project", "prior_method", "prior_options"),
    [
        ("replace", "repaint", {"steps": 8, "resamplings": 1}),
        ("null-space", "ddnm", {"steps": 8, "resamplings": 1, "eta": 1.0}),
    ],
)
def test_projection_on_a_zero_condition_network_is_the_prior_method(
    models, picture, project, prior_method, prior_options
):
    prior, conditional = models
    eta = prior_options.get("eta")
    ours = build_method(
        "inpaint-ddpm", model=conditional, steps=8, project=project, eta=eta, progress=False
    )
    theirs = build_method(prior_method, model=prior, progress=False, **prior_options)
    out, reference = _run(ours, *picture), _run(theirs, *picture)
    torch.testing.assert_close(out, reference, atol=1e-5, rtol=0)
    plain = build_method("inpaint-ddpm", model=conditional, steps=8, project=None, progress=False)
    plain = _run(plain, *picture)
    hole = picture[1].expand_as(out) == 0
    assert (out - plain)[hole].abs().mean() > 0.05  # the projection changed the fill


def test_projected_samples_keep_the_known_pixels_even_unpasted(models, picture):
    _, conditional = models
    known, keep = picture
    method = build_method("inpaint-ddpm", model=conditional, steps=4, project="replace")
    generators = [torch.Generator().manual_seed(seed) for seed in (1, 2)]
    out = method.sample(known, keep, generators=generators, paste=False)
    kept = keep.expand_as(out) == 1
    torch.testing.assert_close(out[kept], known[kept].clamp(-1, 1), atol=0, rtol=0)


def test_replace_is_the_default_and_none_turns_it_off(models):
    _, conditional = models
    assert build_method("inpaint-ddpm", model=conditional).options.project == "replace"
    assert build_method("inpaint-ddpm", model=conditional, project="none").options.project is None


def test_unknown_projection_is_refused():
    with pytest.raises(InpaintkitError, match="project"):
        build_method("inpaint-ddpm", model=None, project="paste")
