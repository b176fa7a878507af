"""The variational bound terms of DDPM (Ho et al. 2020, eq. 5) that train a learned variance
(Improved DDPM, Nichol & Dhariwal 2021, section 3.1)."""

from __future__ import annotations

import math

import torch

from .process import GaussianDiffusion


def normal_kl(
    mean1: torch.Tensor, logvar1: torch.Tensor, mean2: torch.Tensor, logvar2: torch.Tensor
) -> torch.Tensor:
    """KL(N(mean1, e^logvar1) || N(mean2, e^logvar2)) elementwise, in nats."""
    return 0.5 * (
        logvar2 - logvar1 - 1.0 + torch.exp(logvar1 - logvar2)
        + (mean1 - mean2) ** 2 * torch.exp(-logvar2)
    )  # fmt: skip


def _std_normal_cdf(x: torch.Tensor) -> torch.Tensor:
    # the tanh approximation of Phi used by Ho et al.'s and guided-diffusion's decoders
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def discretized_gaussian_nll(
    x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor
) -> torch.Tensor:
    """-log p(x) in nats for 8-bit data in [-1, 1] under N(mean, e^(2 log_scale)) binned to
    width 2/255, the edge bins open-ended (Ho et al. 2020, eq. 13)."""
    inv_std = torch.exp(-log_scale)
    upper = _std_normal_cdf(inv_std * (x - mean + 1.0 / 255.0))
    lower = _std_normal_cdf(inv_std * (x - mean - 1.0 / 255.0))
    log_upper = torch.log(upper.clamp(min=1e-12))
    log_above_lower = torch.log((1.0 - lower).clamp(min=1e-12))
    log_bin = torch.log((upper - lower).clamp(min=1e-12))
    log_p = torch.where(x < -0.999, log_upper, torch.where(x > 0.999, log_above_lower, log_bin))
    return -log_p


def vlb_bits(
    diffusion: GaussianDiffusion,
    x0: torch.Tensor,
    x_t: torch.Tensor,
    i: torch.Tensor,
    eps: torch.Tensor,
    var_values: torch.Tensor,
) -> torch.Tensor:
    """The bound term L_i per sample [B], in bits per dimension.

    L_{i>0} = KL(q(x_{i-1} | x_i, x_0) || p(x_{i-1} | x_i)); L_0 = -log p(x_0 | x_1), the
    discretized decoder. p uses the learned-range variance and no clipping (as in training).
    """
    true_mean, _, true_log_var = diffusion.q_posterior(x0, x_t, i)
    out = diffusion.p_mean_variance(
        eps, x_t, i, variance="learned_range", var_values=var_values, clip_denoised=False
    )
    kl = normal_kl(true_mean, true_log_var, out["mean"], out["log_variance"])
    nll = discretized_gaussian_nll(x0, out["mean"], 0.5 * out["log_variance"])
    per_sample = torch.where(
        (i == 0).to(x0.device).view(-1, *([1] * (x0.ndim - 1))), nll, kl
    )  # fmt: skip
    return per_sample.flatten(1).mean(1) / math.log(2.0)
