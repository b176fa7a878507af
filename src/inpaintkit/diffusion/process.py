"""Gaussian diffusion math of DDPM (Ho et al. 2020) with Improved DDPM's variances.

One class holds the per-step constants of a (possibly respaced) process; every method is a
closed-form formula. Indices ``i`` are positions in THIS process (0..N-1); ``timesteps[i]`` is the
training timestep the network must be called with (DESIGN rule 3). The constants are float64 and
cast to the sample's dtype at use, as guided-diffusion does.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import InpaintkitError
from .schedules import respace_betas, space_timesteps

VARIANCES = ("fixed_small", "fixed_large", "learned_range")


class GaussianDiffusion:
    """The forward process q and the Gaussian reverse-step formulas for given betas.

    betas: float64 [N] of this process (already respaced when ``timesteps`` is given).
    timesteps: the training timestep of each step, ascending, length N; default 0..N-1.
    """

    def __init__(self, betas: np.ndarray, timesteps: list[int] | None = None) -> None:
        betas = np.asarray(betas, dtype=np.float64)
        if betas.ndim != 1 or not ((betas > 0) & (betas <= 1)).all():
            raise InpaintkitError("betas must be a 1-D array with values in (0, 1]")
        self.num_steps = len(betas)
        self.timesteps = list(range(self.num_steps)) if timesteps is None else list(timesteps)
        if len(self.timesteps) != self.num_steps:
            raise InpaintkitError("timesteps must have one entry per beta")
        alphas_cumprod = np.cumprod(1.0 - betas)
        alphas_cumprod_prev = np.append(1.0, alphas_cumprod[:-1])
        # Posterior q(x_{i-1} | x_i, x_0) (DDPM eqs. 6-7).
        posterior_variance = betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod)
        # Its log with the i=0 entry (which is 0) replaced by the i=1 value (guided-diffusion).
        clipped = np.append(posterior_variance[1], posterior_variance[1:])
        fixed_large = np.append(posterior_variance[1], betas[1:])
        consts = {
            "betas": betas,
            "alphas_cumprod": alphas_cumprod,
            "alphas_cumprod_prev": alphas_cumprod_prev,
            "sqrt_alphas_cumprod": np.sqrt(alphas_cumprod),
            "sqrt_one_minus_alphas_cumprod": np.sqrt(1.0 - alphas_cumprod),
            "sqrt_alphas_cumprod_prev": np.sqrt(alphas_cumprod_prev),
            "sqrt_one_minus_alphas_cumprod_prev": np.sqrt(1.0 - alphas_cumprod_prev),
            "sqrt_recip_alphas_cumprod": np.sqrt(1.0 / alphas_cumprod),
            "sqrt_recipm1_alphas_cumprod": np.sqrt(1.0 / alphas_cumprod - 1.0),
            "posterior_variance": posterior_variance,
            "posterior_log_variance_clipped": np.log(clipped),
            "posterior_mean_coef1": betas * np.sqrt(alphas_cumprod_prev) / (1.0 - alphas_cumprod),
            "posterior_mean_coef2": (1.0 - alphas_cumprod_prev)
            * np.sqrt(1.0 - betas)
            / (1.0 - alphas_cumprod),
            "fixed_large_variance": fixed_large,
            "fixed_large_log_variance": np.log(fixed_large),
            "log_betas": np.log(betas),
            "sqrt_betas": np.sqrt(betas),
            "sqrt_one_minus_betas": np.sqrt(1.0 - betas),
        }
        self._consts = {k: torch.from_numpy(v) for k, v in consts.items()}

    @classmethod
    def respaced(
        cls, betas: np.ndarray, num_steps: int | None = None, spacing: str = "even"
    ) -> GaussianDiffusion:
        """The process that visits ``num_steps`` of the training timesteps (all when None)."""
        if num_steps is None or num_steps == len(betas):
            return cls(betas)
        keep = space_timesteps(len(betas), num_steps, spacing)
        return cls(respace_betas(betas, keep), keep)

    def const(self, name: str, i: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """Constant ``name`` at step indices ``i`` [B], shaped [B,1,1,1] like ``like``."""
        values = self._consts[name][i.cpu()].to(device=like.device, dtype=like.dtype)
        return values.view(-1, *([1] * (like.ndim - 1)))

    def train_timesteps(self, i: torch.Tensor) -> torch.Tensor:
        """The training timestep index the network sees at step ``i`` [B] (long)."""
        return torch.as_tensor(self.timesteps, device=i.device)[i]

    # -- forward process --------------------------------------------------------------------
    def q_sample(self, x0: torch.Tensor, i: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_i ~ q(x_i | x_0) = N(sqrt(abar_i) x_0, (1 - abar_i) I) (paper eq. 7)."""
        return (
            self.const("sqrt_alphas_cumprod", i, x0) * x0
            + self.const("sqrt_one_minus_alphas_cumprod", i, x0) * noise
        )

    def q_sample_prev(self, x0: torch.Tensor, i: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_{i-1} ~ q(x_{i-1} | x_0), x_{-1} = x_0 (paper eq. 8a, corrected: DESIGN section 3)."""
        return (
            self.const("sqrt_alphas_cumprod_prev", i, x0) * x0
            + self.const("sqrt_one_minus_alphas_cumprod_prev", i, x0) * noise
        )

    def undo(self, x_prev: torch.Tensor, i: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_i ~ q(x_i | x_{i-1}) = N(sqrt(1 - beta_i) x_{i-1}, beta_i I) (eq. 1; section 4.2)."""
        return (
            self.const("sqrt_one_minus_betas", i, x_prev) * x_prev
            + self.const("sqrt_betas", i, x_prev) * noise
        )

    def q_posterior(
        self, x0: torch.Tensor, x_t: torch.Tensor, i: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Mean, variance and clipped log-variance of q(x_{i-1} | x_i, x_0) (DDPM eqs. 6-7)."""
        mean = (
            self.const("posterior_mean_coef1", i, x_t) * x0
            + self.const("posterior_mean_coef2", i, x_t) * x_t
        )
        return (
            mean,
            self.const("posterior_variance", i, x_t),
            self.const("posterior_log_variance_clipped", i, x_t),
        )

    # -- parameterisations --------------------------------------------------------------------
    def x0_from_eps(self, x_t: torch.Tensor, i: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """x_0 = (x_i - sqrt(1 - abar_i) eps) / sqrt(abar_i)."""
        return (
            self.const("sqrt_recip_alphas_cumprod", i, x_t) * x_t
            - self.const("sqrt_recipm1_alphas_cumprod", i, x_t) * eps
        )

    def eps_from_x0(self, x_t: torch.Tensor, i: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        """The noise that takes x_0 to x_i."""
        return (self.const("sqrt_recip_alphas_cumprod", i, x_t) * x_t - x0) / self.const(
            "sqrt_recipm1_alphas_cumprod", i, x_t
        )

    # -- reverse step -----------------------------------------------------------------------------
    def p_mean_variance(
        self,
        eps: torch.Tensor,
        x_t: torch.Tensor,
        i: torch.Tensor,
        *,
        variance: str = "fixed_small",
        var_values: torch.Tensor | None = None,
        clip_denoised: bool = True,
    ) -> dict[str, torch.Tensor]:
        """p(x_{i-1} | x_i) from the predicted noise (paper eq. 2 and 5).

        variance: "fixed_small" (the posterior variance, beta-tilde), "fixed_large" (beta_i), or
            "learned_range" (Improved DDPM eq. 15: log sigma^2 = f log beta + (1 - f) log
            beta-tilde with f = (v + 1) / 2 and v = ``var_values`` in [-1, 1]).
        Returns {"mean", "variance", "log_variance", "x0"}; x0 is clipped to [-1, 1] when asked,
        and the mean is the posterior mean given that x0 (guided-diffusion's p_mean_variance).
        """
        if variance == "learned_range":
            if var_values is None:
                raise InpaintkitError("learned_range variance needs the network's variance output")
            frac = (var_values + 1) / 2
            log_variance = frac * self.const("log_betas", i, x_t) + (1 - frac) * self.const(
                "posterior_log_variance_clipped", i, x_t
            )
            var = torch.exp(log_variance)
        elif variance == "fixed_small":
            var = self.const("posterior_variance", i, x_t)
            log_variance = self.const("posterior_log_variance_clipped", i, x_t)
        elif variance == "fixed_large":
            var = self.const("fixed_large_variance", i, x_t)
            log_variance = self.const("fixed_large_log_variance", i, x_t)
        else:
            raise InpaintkitError(f"unknown variance {variance!r}; choose one of {VARIANCES}")
        x0 = self.x0_from_eps(x_t, i, eps)
        if clip_denoised:
            x0 = x0.clamp(-1, 1)
        mean, _, _ = self.q_posterior(x0, x_t, i)
        return {"mean": mean, "variance": var, "log_variance": log_variance, "x0": x0}

    def ddim_mean_std(
        self, x0: torch.Tensor, x_t: torch.Tensor, i: torch.Tensor, eta: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std of DDIM's step x_i -> x_{i-1} (Song et al. 2021, eq. 12): sigma =
        eta * sqrt(beta-tilde_i), mean = sqrt(abar_{i-1}) x0 + sqrt(1 - abar_{i-1} - sigma^2) eps,
        with eps re-derived from the (clipped) x0 as guided-diffusion's ddim_sample does.
        eta = 1 is DDPM's fixed-small step; eta = 0 is deterministic."""
        # float64 here: 1 - abar_{i-1} - sigma^2 cancels badly in float32 near eta = 1
        idx = i.cpu()
        variance = eta**2 * self._consts["posterior_variance"][idx]
        direction = (1 - self._consts["alphas_cumprod_prev"][idx] - variance).clamp(min=0).sqrt()
        shape = (-1, *([1] * (x_t.ndim - 1)))

        def cast(v: torch.Tensor) -> torch.Tensor:
            return v.to(device=x_t.device, dtype=x_t.dtype).view(shape)

        eps = self.eps_from_x0(x_t, i, x0)
        mean = self.const("sqrt_alphas_cumprod_prev", i, x_t) * x0 + cast(direction) * eps
        return mean, cast(variance.sqrt())
