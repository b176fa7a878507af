"""The samplers package: the shared signature, extra_args pass-through, seeded regressions, the
known part of RePaint's x_{t-1} before the paste (eq. 8a), and sample_ddim against diffusers."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import make_problem, make_tiny_unet
from diffusers import DDIMScheduler, DDPMScheduler

from inpaintkit.diffusion.denoiser import Denoiser
from inpaintkit.diffusion.process import GaussianDiffusion
from inpaintkit.diffusion.samplers import SAMPLERS, SHARED_PARAMETERS, sample_ddim, sample_repaint
from inpaintkit.diffusion.schedules import linear_betas, repaint_times, respace_betas
from inpaintkit.errors import InpaintkitError
from inpaintkit.models.model import DiffusionModel
from inpaintkit.models.spec import DiffusionConfig


def _model(classes: int | None = None) -> DiffusionModel:
    unet = make_tiny_unet(out_channels=6, num_class_embeds=classes)
    config = DiffusionConfig(num_train_timesteps=100, learned_variance=True)
    return DiffusionModel(unet=unet, config=config, source="tiny")


# Recorded on the code BEFORE samplers became a package and class_labels became extra_args
# (commit 4ccdeef): hole sum, hole sum of squares, out[0, :, 8, 8], out[1, 2, 3, 12].
REGRESSION = {
    "replace": ({}, -69.890213, 354.706238, [0.548502, -0.893947, -1.0], -1.0),
    "ddim": ({"eta": 0.5}, -76.149162, 387.887939, [1.0, -0.576076, 0.350570], -1.0),
    "null-space": (
        {"condition": "null-space"}, -89.476288, 356.056702, [0.754870, -1.0, 0.859525], -0.867405
    ),
    "share-noise": (
        {"share_noise": True}, -94.726166, 357.209778, [0.706246, -1.0, 0.855103], -0.867804
    ),
    "labels": (
        {"extra_args": {"class_labels": torch.tensor([1, 3])}},
        -161.920624, 361.747467, [0.133483, -0.253158, -0.414668], -1.0,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", REGRESSION)
def test_sample_repaint_same_bytes_as_before(name: str) -> None:
    knobs, total, squares, pixel, corner = REGRESSION[name]
    model = _model(5 if name == "labels" else None)
    known, keep = make_problem()
    diffusion = GaussianDiffusion.respaced(model.betas, 10)
    x = torch.randn(known.shape, generator=torch.Generator().manual_seed(1))
    out = sample_repaint(
        model.denoiser(), x, diffusion, keep=keep, known=known, jump_length=3, resamplings=2,
        generator=torch.Generator().manual_seed(2), progress=False, **knobs,
    )  # fmt: skip
    hole = out * (1 - keep)
    assert hole.sum().item() == pytest.approx(total, abs=1e-4)
    assert (hole**2).sum().item() == pytest.approx(squares, abs=1e-4)
    assert out[0, :, 8, 8].tolist() == pytest.approx(pixel, abs=1e-6)
    assert out[1, 2, 3, 12].item() == pytest.approx(corner, abs=1e-6)


def test_every_sampler_has_the_shared_signature() -> None:
    import inspect

    assert SAMPLERS == {"repaint": sample_repaint, "ddim": sample_ddim}
    for name, sampler in SAMPLERS.items():
        params = inspect.signature(sampler).parameters
        shared = [p for p in params if p in SHARED_PARAMETERS]
        assert shared == list(SHARED_PARAMETERS), name
        kinds = [params[p].kind for p in SHARED_PARAMETERS]
        assert kinds[:3] == [inspect.Parameter.POSITIONAL_OR_KEYWORD] * 3, name
        assert set(kinds[3:]) == {inspect.Parameter.KEYWORD_ONLY}, name
        assert all(params[p].default is None for p in ("keep", "known", "extra_args")), name
        assert params["progress"].default is True and list(params)[-1] == "progress", name


class _RecordingNet:
    """A fake network that records the keyword conditioning of every call."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, x: torch.Tensor, t: torch.Tensor, **cond: object) -> torch.Tensor:
        self.calls.append(cond)
        return 0.1 * x


@pytest.mark.parametrize("sampler", [sample_repaint, sample_ddim])
def test_extra_args_reach_the_network_on_every_call(sampler) -> None:
    known, keep = make_problem()
    labels, extra = torch.tensor([2, 0]), torch.rand(2, 4, 16, 16)
    net = _RecordingNet()
    denoiser = Denoiser(net)
    diffusion = GaussianDiffusion.respaced(linear_betas(60), 6)
    sampler(
        denoiser, torch.randn(known.shape), diffusion, keep=keep, known=known,
        extra_args={"class_labels": labels, "hole": extra}, progress=False,
    )  # fmt: skip
    assert len(net.calls) == denoiser.evaluations >= 6
    for cond in net.calls:
        assert set(cond) == {"class_labels", "hole"}
        assert cond["class_labels"] is labels and cond["hole"] is extra
    net.calls.clear()
    sampler(denoiser, torch.randn(known.shape), diffusion, keep=None, known=None, progress=False)
    assert net.calls and all(cond == {} for cond in net.calls)
    with pytest.raises(InpaintkitError, match="extra_args must be a dict"):
        sampler(denoiser, torch.randn(known.shape), diffusion, keep=None, known=None,
                extra_args=[labels], progress=False)  # fmt: skip


def test_class_labels_through_extra_args_change_the_sample() -> None:
    model = _model(4)
    diffusion = GaussianDiffusion.respaced(model.betas, 5)
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))

    def run(label: int) -> torch.Tensor:
        return sample_ddim(
            model.denoiser(), x, diffusion, extra_args={"class_labels": torch.tensor([label] * 2)},
            generator=torch.Generator().manual_seed(1), progress=False,
        )  # fmt: skip

    assert torch.equal(run(1), run(1))
    assert not torch.equal(run(0), run(3))


# -- eq. 8a: the known part of x_{t-1} before the paste -----------------------------------------


def _eq8a_problem() -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of 8 16x16 images in [0.2, 1] (not zero-mean, so a wrong sqrt(abar) shows in the
    mean) whose left half is known: 8 * 3 * 16 * 8 = 3072 known values per step."""
    g = torch.Generator().manual_seed(11)
    known = torch.rand(8, 3, 16, 16, generator=g) * 0.8 + 0.2
    keep = torch.zeros(8, 1, 16, 16)
    keep[..., :8] = 1
    return known, keep


def _known_part_z(diffusion: GaussianDiffusion, model: DiffusionModel) -> list[torch.Tensor]:
    """For every reverse step t -> t-1 with abar_{t-1} < 1, the known pixels of x_{t-1} as the
    callback sees them (before the final paste), standardised under q(x_{t-1} | x_0):
    z = (x_{t-1} - sqrt(abar_{t-1}) x_0) / sqrt(1 - abar_{t-1}), which is N(0, 1) iff eq. 8a
    is implemented right."""
    known, keep = _eq8a_problem()
    abar_prev = diffusion._consts["alphas_cumprod_prev"]
    zs: list[torch.Tensor] = []

    def look(info: dict) -> None:
        a = float(abar_prev[info["t"]])
        if a < 1.0:
            z = (info["x"] - math.sqrt(a) * known) / math.sqrt(1.0 - a)
            zs.append(z[keep.expand_as(z) == 1])

    x = torch.randn(known.shape, generator=torch.Generator().manual_seed(12))
    sample_repaint(
        model.denoiser(), x, diffusion, keep=keep, known=known, times=repaint_times(10, 3, 2),
        generator=torch.Generator().manual_seed(13), callback=look, progress=False,
    )  # fmt: skip
    return zs


def _within_q(zs: list[torch.Tensor]) -> bool:
    """Every step's z has |mean| < 5 / sqrt(n) and |std - 1| < 5 / sqrt(2n) (five standard
    errors of a standard normal sample of n values)."""
    for z in zs:
        n = z.numel()
        mean_off = abs(z.mean().item()) > 5 / math.sqrt(n)
        if mean_off or abs(z.std().item() - 1) > 5 / math.sqrt(2 * n):
            return False
    return True


def test_known_part_before_paste_follows_q_of_x0() -> None:
    model = _model()
    diffusion = GaussianDiffusion.respaced(model.betas, 10)
    zs = _known_part_z(diffusion, model)
    # 10 + 3 * 3 reverse steps (jumps of 3 at 0, 3, 6); all but the last (abar_{-1} = 1)
    assert len(zs) == 18
    assert _within_q(zs)
    pooled = torch.cat(zs)
    assert abs(pooled.mean().item()) < 0.02 and abs(pooled.std().item() - 1) < 0.02


@pytest.mark.parametrize("typo", ["abar_t for abar_t-1", "1-abar for sqrt(1-abar)"])
def test_eq8a_check_catches_the_typos_of_algorithm_1(typo: str) -> None:
    """Algorithm 1 line 5 as printed (DESIGN section 3) puts the known part at the wrong
    distribution; the check above must reject it."""
    model = _model()
    diffusion = GaussianDiffusion.respaced(model.betas, 10)

    def wrong(x0: torch.Tensor, i: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        if typo == "abar_t for abar_t-1":
            a = diffusion.const("alphas_cumprod", i, x0)
            return a.sqrt() * x0 + (1 - a).sqrt() * noise
        a = diffusion.const("alphas_cumprod_prev", i, x0)
        return a.sqrt() * x0 + (1 - a) * noise

    diffusion.q_sample_prev = wrong
    assert not _within_q(_known_part_z(diffusion, model))


# -- sample_ddim ------------------------------------------------------------------------------


def _eps_denoiser(unet) -> Denoiser:
    return Denoiser(lambda x, t: unet(x, t).sample)


def test_ddpm_matches_diffusers_ddpm_scheduler(tiny_unet) -> None:
    """eta None on the full process = DDPMScheduler (fixed_small, x0 clipped) with one noise
    draw per step from the same generator (diffusers skips the unused draw at t = 0)."""
    betas = linear_betas(20, 1e-3, 0.2)
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    ours = sample_ddim(
        _eps_denoiser(tiny_unet), x, GaussianDiffusion(betas),
        generator=torch.Generator().manual_seed(4), progress=False,
    )  # fmt: skip
    scheduler = DDPMScheduler(num_train_timesteps=20, trained_betas=betas, clip_sample=True)
    scheduler.set_timesteps(20)
    g, sample = torch.Generator().manual_seed(4), x.clone()
    with torch.no_grad():
        for t in scheduler.timesteps:
            eps = tiny_unet(sample, t).sample
            sample = scheduler.step(eps, t, sample, generator=g).prev_sample
    torch.testing.assert_close(ours, sample, atol=1e-5, rtol=0)


@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
def test_ddim_matches_diffusers_ddim_scheduler(tiny_unet, eta: float) -> None:
    """A respaced DDIM walk (every 10th of 100 training steps, diffusers' "leading" spacing)
    = DDIMScheduler with clipping and the eps re-derived from the clipped x0."""
    betas = linear_betas(100)
    kept = list(range(0, 100, 10))
    diffusion = GaussianDiffusion(respace_betas(betas, kept), kept)
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(5))
    ours = sample_ddim(
        _eps_denoiser(tiny_unet), x, diffusion, eta=eta,
        generator=torch.Generator().manual_seed(6), progress=False,
    )  # fmt: skip
    scheduler = DDIMScheduler(
        num_train_timesteps=100, trained_betas=betas, clip_sample=True, set_alpha_to_one=True
    )
    scheduler.set_timesteps(10)
    assert scheduler.timesteps.tolist() == kept[::-1]
    g, sample = torch.Generator().manual_seed(6), x.clone()
    with torch.no_grad():
        for t in scheduler.timesteps:
            eps = tiny_unet(sample, t).sample
            noise = torch.randn(sample.shape, generator=g)  # ours draws every step
            sample = scheduler.step(
                eps, t, sample, eta=eta, use_clipped_model_output=True, variance_noise=noise
            ).prev_sample
    torch.testing.assert_close(ours, sample, atol=1e-5, rtol=0)


def test_ddim_pure_sampling_equals_repaint_with_nothing_known(tiny_model) -> None:
    """With nothing known and a straight walk, both samplers take the same steps and draws."""
    diffusion = GaussianDiffusion.respaced(tiny_model.betas, 8)
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(7))
    walk = list(range(7, -2, -1))
    for eta in (None, 0.3):
        knobs = {"times": walk, "eta": eta, "progress": False}
        a = sample_ddim(
            tiny_model.denoiser(), x, diffusion, generator=torch.Generator().manual_seed(8), **knobs
        )
        b = sample_repaint(
            tiny_model.denoiser(), x, diffusion, generator=torch.Generator().manual_seed(8), **knobs
        )
        assert torch.equal(a, b)


def test_ddim_pastes_known_pixels_only_at_the_end(tiny_model) -> None:
    known, keep = make_problem()
    diffusion = GaussianDiffusion.respaced(tiny_model.betas, 6)
    x = torch.randn(known.shape, generator=torch.Generator().manual_seed(9))
    seen: list[dict] = []
    out = sample_ddim(
        tiny_model.denoiser(), x, diffusion, keep=keep, known=known, eta=0.0,
        callback=seen.append, progress=False,
    )  # fmt: skip
    plain = sample_ddim(tiny_model.denoiser(), x, diffusion, eta=0.0, progress=False)
    assert [s["nfe"] for s in seen] == [1, 2, 3, 4, 5, 6] and seen[-1]["t"] == 0
    assert torch.equal(seen[-1]["x"], plain)  # the loop ignores keep and known
    assert torch.equal(out, keep * known + (1 - keep) * plain)


def test_ddim_refuses_bad_walks_and_eta(tiny_model) -> None:
    diffusion = GaussianDiffusion.respaced(tiny_model.betas, 6)
    x = torch.zeros(1, 3, 16, 16)
    with pytest.raises(InpaintkitError, match="one step at a time"):
        sample_ddim(tiny_model.denoiser(), x, diffusion, times=[5, 4, 5, 4, 3, 2, 1, 0, -1])
    with pytest.raises(InpaintkitError, match="end at -1"):
        sample_ddim(tiny_model.denoiser(), x, diffusion, times=[9, 8, -1])
    with pytest.raises(InpaintkitError, match="eta must be"):
        sample_ddim(tiny_model.denoiser(), x, diffusion, eta=1.5)
    with pytest.raises(InpaintkitError, match="give both"):
        sample_ddim(tiny_model.denoiser(), x, diffusion, keep=torch.ones(1, 1, 16, 16))
