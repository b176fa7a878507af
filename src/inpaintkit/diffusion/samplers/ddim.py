"""Plain descent: DDPM's ancestral sampler (Ho et al. 2020, Algorithm 2) or DDIM (Song et al.
2021, eq. 12), with no conditioning on the known pixels inside the loop.

This is the sampler of a conditional diffusion model, whose network sees the hole and the
masked image as input channels (passed through ``extra_args``), and of training previews of a
prior (nothing known). Known pixels, when given, are pasted back once at the end.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from ...errors import InpaintkitError
from ..denoiser import Denoiser
from ..noise import Generator, randn
from ..process import GaussianDiffusion
from ..progress import progress_bar
from .common import Callback, check_keep_known, check_times, extra_kwargs, paste_known


@torch.no_grad()
def sample_ddim(
    denoiser: Denoiser,
    x: torch.Tensor,
    diffusion: GaussianDiffusion,
    *,
    keep: torch.Tensor | None = None,
    known: torch.Tensor | None = None,
    times: list[int] | None = None,
    variance: str | None = None,
    eta: float | None = None,
    clip_denoised: bool = True,
    extra_args: Mapping[str, object] | None = None,
    generator: Generator = None,
    callback: Callback | None = None,
    progress: bool = True,
) -> torch.Tensor:
    """Sample x_0 from x_{N-1} by descending the (respaced) process one step at a time.

    denoiser: the wrapped network (eps, and variance values for learned-variance models).
    x: the starting noise [B,C,H,W] at ``times[0]`` (default x_{N-1}, N = diffusion.num_steps).
    diffusion: the (respaced) process; the network is called at ``diffusion.timesteps[i]``, so
        a DDIM run with fewer steps is a respaced process (``GaussianDiffusion.respaced``).
    keep: [B,1,H,W] in {0,1}, 1 = known pixel, or None; used ONLY for the final paste.
    known: [B,C,H,W] in [-1,1], the input image, or None; pasted where keep = 1 at the end.
    times: the walk, descending by one from its start to -1 (default N-1, ..., 0, -1); a later
        start (an SDEdit-style partial walk) is allowed, up steps are not.
    variance: for eta None: "fixed_small" (DDPM's beta-tilde; the default for fixed-variance
        networks), "fixed_large" (beta) or "learned_range" (the default for learned-variance
        networks, Improved DDPM eq. 15).
    eta: None = DDPM's ancestral step x_{t-1} ~ N(posterior mean, sigma^2) (Algorithm 2 line 4
        with the posterior mean of the clipped x0_hat, guided-diffusion's p_sample); a number
        in [0, 1] = DDIM's step (eq. 12) with sigma = eta * sqrt(beta-tilde_t) and the direction
        term from the eps re-derived from the clipped x0_hat (0 deterministic; 1 = fixed-small
        DDPM in law).
    clip_denoised: clip x0_hat to [-1, 1] before the step (default True).
    extra_args: keyword arguments for every network call, ``denoiser(x_t, t, **extra_args)``
        (e.g. {"class_labels": ...} or a conditional model's {"hole": ..., "masked": ...}).
    generator: torch.Generator (or one per batch row) for all noise after ``x``; one draw of
        x's shape per step, the last step's unused (no noise at t = 0).
    callback: called after every step with {"step", "t", "nfe", "x", "x0_hat"}.
    Returns x_0 [B,C,H,W] (not clamped), with known pixels pasted exactly when given.
    """
    check_keep_known(x, keep, known)
    cond = extra_kwargs(extra_args)
    if times is None:
        times = list(range(diffusion.num_steps - 1, -1, -1)) + [-1]
    check_times(times, diffusion.num_steps)
    if any(b != a - 1 for a, b in zip(times, times[1:])):
        raise InpaintkitError(
            "sample_ddim walks down one step at a time (times like [N-1, ..., 0, -1]); "
            "use sample_repaint for walks with undo steps, or respace the process to skip steps"
        )
    if eta is not None and not 0.0 <= eta <= 1.0:
        raise InpaintkitError(f"eta must be None (DDPM) or a number in [0, 1], got {eta}")
    if variance is None:
        variance = "learned_range" if denoiser.learned_variance else "fixed_small"
    batch = x.shape[0]
    desc = "DDPM" if eta is None else "DDIM"
    bar = progress_bar(times[:-1], desc, progress)
    for step, t in enumerate(bar):
        i = torch.full((batch,), t, dtype=torch.long)
        t_train = diffusion.train_timesteps(i).to(x.device)
        eps, var_values = denoiser(x, t_train, **cond)
        out = diffusion.p_mean_variance(
            eps, x, i, variance=variance, var_values=var_values, clip_denoised=clip_denoised
        )
        if eta is None:
            mean, std = out["mean"], torch.exp(0.5 * out["log_variance"])
        else:
            mean, std = diffusion.ddim_mean_std(out["x0"], x, i, eta)
        noise = randn(x.shape, generator, device=x.device, dtype=x.dtype)
        x = mean + (t > 0) * std * noise  # no noise on the last step
        if callback is not None:
            callback({"step": step, "t": t, "nfe": step + 1, "x": x, "x0_hat": out["x0"]})
    return paste_known(x, keep, known)
