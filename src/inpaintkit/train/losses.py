"""Training objectives: DDPM's L_simple and Improved DDPM's hybrid loss for learned variance."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..diffusion.process import GaussianDiffusion
from ..diffusion.vlb import vlb_bits

LossFn = Callable[
    [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor
]


def epsilon_mse_loss(
    output: torch.Tensor,
    noise: torch.Tensor,
    x_start: torch.Tensor,
    x_t: torch.Tensor,
    t: torch.Tensor,
) -> torch.Tensor:
    """L_simple (Ho et al. 2020, eq. 14): mean of (eps_theta - eps)^2 over all elements, float32.
    x_start, x_t and t are unused; they keep one signature for every objective."""
    return F.mse_loss(output.float(), noise.float())


def hybrid_loss(diffusion: GaussianDiffusion) -> LossFn:
    """L_hybrid = L_simple + lambda L_vlb with lambda = 0.001 (Nichol & Dhariwal 2021, sec. 3.1).

    One sampled t estimates L_vlb = sum_t L_t by T * L_t, so the per-sample loss is
    mse(eps) + (T / 1000) * L_t in bits per dimension, as guided-diffusion's RESCALED_MSE loss.
    The L_t term sees a stop-gradient on eps: it trains only the variance channels.
    Returns ``loss_fn(model_output [B,2C,H,W], noise, x_start, x_t, t) -> scalar``.
    """

    def loss_fn(
        output: torch.Tensor,
        noise: torch.Tensor,
        x_start: torch.Tensor,
        x_t: torch.Tensor,
        t: torch.Tensor,
    ) -> torch.Tensor:
        channels = x_start.shape[1]
        eps, var_values = output.float()[:, :channels], output.float()[:, channels:]
        mse = (eps - noise.float()).pow(2).flatten(1).mean(1)
        vb = vlb_bits(diffusion, x_start.float(), x_t.float(), t, eps.detach(), var_values)
        return (mse + vb * (diffusion.num_steps / 1000.0)).mean()

    return loss_fn
