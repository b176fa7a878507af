"""Diffusion math cross-checked against guided-diffusion (OpenAI's code, the RePaint code base)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from guided_diffusion import gaussian_diffusion as gd
from guided_diffusion.respace import SpacedDiffusion, space_timesteps

from inpaintkit.diffusion.denoiser import Denoiser
from inpaintkit.diffusion.process import GaussianDiffusion
from inpaintkit.diffusion.schedules import (
    cosine_betas,
    linear_betas,
    make_betas,
    respace_betas,
)
from inpaintkit.diffusion.schedules import (
    space_timesteps as our_space_timesteps,
)
from inpaintkit.errors import InpaintkitError

VAR_TYPES = {
    "fixed_small": gd.ModelVarType.FIXED_SMALL,
    "fixed_large": gd.ModelVarType.FIXED_LARGE,
    "learned_range": gd.ModelVarType.LEARNED_RANGE,
}


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("steps", [1000, 100])
def test_betas_match_guided_diffusion(name: str, steps: int) -> None:
    np.testing.assert_allclose(
        make_betas(name, steps), gd.get_named_beta_schedule(name, steps), rtol=1e-12
    )


@pytest.mark.parametrize("count", [250, 100, 50, 25, 1000, 7])
def test_even_spacing_matches_guided_diffusion(count: int) -> None:
    assert our_space_timesteps(1000, count) == sorted(space_timesteps(1000, str(count)))


def test_leading_spacing_is_diffusers_grid() -> None:
    assert our_space_timesteps(1000, 250, "leading")[:3] == [0, 4, 8]
    assert our_space_timesteps(1000, 250, "leading")[-1] == 996
    with pytest.raises(InpaintkitError, match="cannot respace"):
        our_space_timesteps(100, 250)


def test_quadratic_spacing_crowds_low_noise_and_spans_the_range() -> None:
    kept = our_space_timesteps(1000, 50, "quadratic")
    assert len(kept) == 50 and kept[0] == 0 and kept[-1] == 999
    assert all(b > a for a, b in zip(kept, kept[1:]))
    # (999 * (i / 49)^2) rounded, raised to stay strictly increasing at the low end
    assert kept[:8] == [0, 1, 2, 4, 7, 10, 15, 20] and kept[24:26] == [240, 260]
    assert sum(t < 250 for t in kept) == 25  # half the steps below a quarter of the noise levels
    assert our_space_timesteps(1000, 1000, "quadratic") == list(range(1000))
    with pytest.raises(InpaintkitError, match="quadratic"):
        our_space_timesteps(1000, 50, "cubic")


def test_power_spacing_spans_even_to_quadratic() -> None:
    assert our_space_timesteps(1000, 50, "power1") == our_space_timesteps(1000, 50, "even")
    assert our_space_timesteps(1000, 50, "power2") == our_space_timesteps(1000, 50, "quadratic")
    kept = our_space_timesteps(1000, 50, "power1.5")
    assert kept[:4] == [0, 3, 8, 15] and kept[-1] == 999  # round(999 * (i / 49)^1.5)
    for bad in ("power0.5", "power", "powerx"):
        with pytest.raises(InpaintkitError, match="exponent must be a number >= 1"):
            our_space_timesteps(1000, 50, bad)


def _spaced(betas: np.ndarray, count: int, var: str) -> SpacedDiffusion:
    return SpacedDiffusion(
        use_timesteps=space_timesteps(len(betas), str(count)),
        betas=betas,
        model_mean_type=gd.ModelMeanType.EPSILON,
        model_var_type=VAR_TYPES[var],
        loss_type=gd.LossType.MSE,
        rescale_timesteps=False,
    )


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_respaced_betas_match(schedule: str) -> None:
    betas = make_betas(schedule, 1000)
    theirs = _spaced(betas, 250, "fixed_small")
    ours = GaussianDiffusion.respaced(betas, 250)
    np.testing.assert_allclose(respace_betas(betas, ours.timesteps), theirs.betas, rtol=1e-10)
    np.testing.assert_allclose(
        ours._consts["alphas_cumprod"].numpy(), theirs.alphas_cumprod, rtol=1e-12
    )
    assert ours.timesteps == theirs.timestep_map


@pytest.mark.parametrize("var", ["fixed_small", "fixed_large", "learned_range"])
@pytest.mark.parametrize("schedule", ["linear", "cosine"])
@pytest.mark.parametrize("clip", [True, False])
def test_reverse_step_matches_guided_diffusion(var: str, schedule: str, clip: bool) -> None:
    betas = make_betas(schedule, 1000)
    theirs = _spaced(betas, 50, var)
    ours = GaussianDiffusion.respaced(betas, 50)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, 8, 8, generator=g)
    channels = 6 if var == "learned_range" else 3
    out = torch.randn(4, channels, 8, 8, generator=g).clamp(-1, 1)
    i = torch.tensor([0, 1, 20, 49])
    seen_t: list[torch.Tensor] = []

    def model(x_in: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        seen_t.append(t)
        return out

    ref = theirs.p_mean_variance(model, x, i, clip_denoised=clip)
    denoiser = Denoiser(lambda x_in, t: out, learned_variance=var == "learned_range")
    eps, var_values = denoiser(x, ours.train_timesteps(i))
    mine = ours.p_mean_variance(eps, x, i, variance=var, var_values=var_values, clip_denoised=clip)
    for key, ref_key in [("mean", "mean"), ("log_variance", "log_variance"), ("x0", "pred_xstart")]:
        torch.testing.assert_close(mine[key].expand_as(x), ref[ref_key], atol=1e-5, rtol=1e-5)
    # the network sees the ORIGINAL training timestep
    assert torch.equal(seen_t[0], ours.train_timesteps(i)) and seen_t[0].tolist()[-1] == 999


def test_forward_and_posterior_match_guided_diffusion() -> None:
    betas = linear_betas(1000)
    theirs = _spaced(betas, 250, "fixed_small")
    ours = GaussianDiffusion.respaced(betas, 250)
    g = torch.Generator().manual_seed(1)
    x0, x_t, noise = (torch.randn(3, 3, 4, 4, generator=g) for _ in range(3))
    i = torch.tensor([0, 100, 249])
    torch.testing.assert_close(ours.q_sample(x0, i, noise), theirs.q_sample(x0, i, noise))
    for mine, ref in zip(
        ours.q_posterior(x0, x_t, i), theirs.q_posterior_mean_variance(x0, x_t, i)
    ):
        torch.testing.assert_close(mine.expand_as(x0), ref)
    torch.testing.assert_close(
        ours.x0_from_eps(x_t, i, noise), theirs._predict_xstart_from_eps(x_t, i, noise)
    )
    torch.testing.assert_close(
        ours.eps_from_x0(x_t, i, x0), theirs._predict_eps_from_xstart(x_t, i, x0)
    )


def test_undo_is_forward_step_and_q_sample_prev_ends_at_x0() -> None:
    diffusion = GaussianDiffusion.respaced(linear_betas(1000), 250)
    x = torch.ones(1, 1, 1, 1)
    i = torch.tensor([10])
    beta = float(diffusion._consts["betas"][10])
    # x_i = sqrt(1 - beta_i) x_{i-1} + sqrt(beta_i) eps
    assert float(diffusion.undo(x, i, torch.zeros_like(x))) == pytest.approx((1 - beta) ** 0.5)
    assert float(diffusion.undo(x * 0, i, x)) == pytest.approx(beta**0.5)
    # q(x_{-1} | x_0) is x_0 itself: the last step pastes the known pixels without noise
    assert torch.equal(diffusion.q_sample_prev(x, torch.tensor([0]), torch.randn(1, 1, 1, 1)), x)
    # and x_{i-1} ~ q(x_{i-1} | x_0) uses abar_{i-1}, not abar_i (DESIGN section 3)
    abar_prev = float(diffusion._consts["alphas_cumprod"][9])
    assert float(diffusion.q_sample_prev(x, i, x * 0)) == pytest.approx(abar_prev**0.5)


@pytest.mark.parametrize("prediction", ["v_prediction", "sample"])
def test_denoiser_converts_parameterisations_to_eps(prediction: str) -> None:
    abar = np.cumprod(1 - cosine_betas(1000))
    g = torch.Generator().manual_seed(2)
    x0, eps = torch.randn(2, 3, 4, 4, generator=g), torch.randn(2, 3, 4, 4, generator=g)
    t = torch.tensor([5, 700])
    a = torch.from_numpy(abar)[t].float().view(-1, 1, 1, 1)
    x_t = a.sqrt() * x0 + (1 - a).sqrt() * eps
    raw = a.sqrt() * eps - (1 - a).sqrt() * x0 if prediction == "v_prediction" else x0
    denoiser = Denoiser(lambda x, t_: raw, prediction=prediction, alphas_cumprod=abar)
    got, var_values = denoiser(x_t, t)
    torch.testing.assert_close(got, eps, atol=1e-4, rtol=1e-4)
    assert var_values is None


def test_denoiser_refuses_wrong_channel_count() -> None:
    denoiser = Denoiser(lambda x, t: torch.zeros(1, 3, 4, 4), learned_variance=True)
    with pytest.raises(InpaintkitError, match="expected 6"):
        denoiser(torch.zeros(1, 3, 4, 4), torch.tensor([0]))


def test_vlb_terms_match_guided_diffusion_training_losses() -> None:
    from inpaintkit.diffusion.vlb import vlb_bits

    betas = linear_betas(1000)
    theirs = gd.GaussianDiffusion(
        betas=betas,
        model_mean_type=gd.ModelMeanType.EPSILON,
        model_var_type=gd.ModelVarType.LEARNED_RANGE,
        loss_type=gd.LossType.RESCALED_MSE,
    )
    g = torch.Generator().manual_seed(3)
    x0 = torch.randint(0, 256, (4, 3, 8, 8), generator=g).float() / 127.5 - 1
    noise = torch.randn(x0.shape, generator=g)
    out = torch.cat(
        [torch.randn(x0.shape, generator=g), torch.rand(x0.shape, generator=g) * 2 - 1], 1
    )
    t = torch.tensor([0, 1, 500, 999])  # t = 0 is the discretized decoder term
    terms = theirs.training_losses(lambda x, t_: out, x0, t, noise=noise)
    ours = GaussianDiffusion(betas)
    x_t = ours.q_sample(x0, t, noise)
    vb = vlb_bits(ours, x0, x_t, t, out[:, :3], out[:, 3:])
    torch.testing.assert_close(vb, terms["vb"], rtol=1e-4, atol=1e-5)
    assert float(vb[0]) > 0 and float(vb[2]) > 0


@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("clip", [True, False])
def test_ddim_step_matches_guided_diffusion(eta: float, clip: bool) -> None:
    betas = linear_betas(1000)
    theirs = _spaced(betas, 50, "fixed_small")
    ours = GaussianDiffusion.respaced(betas, 50)
    g = torch.Generator().manual_seed(4)
    x = torch.randn(3, 3, 8, 8, generator=g)
    out = torch.randn(3, 3, 8, 8, generator=g)
    i = torch.tensor([1, 20, 49])
    torch.manual_seed(9)  # guided-diffusion draws its noise from the global generator
    ref = theirs.ddim_sample(lambda x_, t_: out, x, i, clip_denoised=clip, eta=eta)["sample"]
    torch.manual_seed(9)
    noise = torch.randn_like(x)
    step = ours.p_mean_variance(out, x, i, clip_denoised=clip)
    mean, std = ours.ddim_mean_std(step["x0"], x, i, eta)
    # guided-diffusion forms sqrt(1 - abar_prev - sigma^2) in float32, which cancels near eta = 1
    # (measured 1.5e-4 there); ours is formed in float64
    tolerance = 5e-4 if eta == 1.0 else 1e-5
    torch.testing.assert_close(mean + std * noise, ref, atol=tolerance, rtol=tolerance)
    if eta == 1.0 and not clip:  # DDIM with eta = 1 is DDPM's fixed-small step
        torch.testing.assert_close(mean, step["mean"], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(std.expand_as(x), step["variance"].sqrt().expand_as(x))
