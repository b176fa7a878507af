"""The RePaint sampler (Lugmayr et al., CVPR 2022): conditioning on the known region (eq. 8) and
resampling by jumping back in time (section 4.2, Algorithm 1).

Two conditioning rules share the one loop (``condition``):

- "replace": RePaint eq. 8. The unknown part of x_{t-1} comes from the model; the known part is
  a fresh forward-noised copy of the input, q(x_{t-1} | x_0).
- "null-space": DDNM (Wang, Yu, Zhang, ICLR 2023, eq. 13 and Algorithm 1). For inpainting the
  degradation is A = diag(keep) and A^+ = A, so the range-null-space decomposition
  x0 = A^+ y + (I - A^+ A) x0_hat becomes keep * known + (1 - keep) * x0_hat: the predicted x0
  is projected onto the images that agree with the known pixels, and x_{t-1} is sampled from that
  projected x0 and x_t. The known pixels are not noised separately; they follow from the step.
  With RePaint's jump walk this is DDNM+'s "time-travel trick" (DDNM section 3.3, which takes the
  walk from RePaint).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from ...errors import InpaintkitError
from ..denoiser import Denoiser
from ..noise import Generator, randn
from ..process import GaussianDiffusion
from ..progress import progress_bar
from ..schedules import count_steps, repaint_times
from .common import Callback, check_keep_known, check_times, extra_kwargs, paste_known

CONDITIONS = ("replace", "null-space")


@torch.no_grad()
def sample_repaint(
    denoiser: Denoiser,
    x: torch.Tensor,
    diffusion: GaussianDiffusion,
    *,
    keep: torch.Tensor | None = None,
    known: torch.Tensor | None = None,
    times: list[int] | None = None,
    jump_length: int = 10,
    resamplings: int = 10,
    jump_n_sample: int = 1,
    variance: str | None = None,
    eta: float | None = None,
    condition: str = "replace",
    clip_denoised: bool = True,
    share_noise: bool = False,
    extra_args: Mapping[str, object] | None = None,
    generator: Generator = None,
    callback: Callback | None = None,
    progress: bool = True,
) -> torch.Tensor:
    """Inpaint: fill the pixels where ``keep`` is 0 so they fit the known pixels.

    denoiser: the wrapped network (gives eps, and variance values for learned-variance models).
    x: x_{N-1}, the starting noise [B,C,H,W] (N = diffusion.num_steps).
    diffusion: the (respaced) process; the network is called at ``diffusion.timesteps[i]``.
    keep: [B,1,H,W] in {0,1}, 1 = known pixel (the paper's m); None = nothing known (pure sampling).
    known: [B,C,H,W] in [-1,1], the input image; only its pixels with keep = 1 are used.
    times: the time walk, step indices of ``diffusion`` from its start down to -1, where an up
        step is an undo step (:func:`repaint_times`, :func:`sdedit_times`); None = made from:
    jump_length, resamplings, jump_n_sample: the time walk of :func:`repaint_times` (paper: 10, 10,
        1); ignored when ``times`` gives the walk explicitly.
    variance: "learned_range" for learned-variance models, else "fixed_small" (the default chosen
        from the denoiser), or "fixed_large".
    eta: None = DDPM's ancestral step (eq. 8b); a number = a DDIM step with that eta for the
        unknown part (0 deterministic, 1 equal in law to fixed-small DDPM), for short schedules.
    condition: how the known pixels enter each reverse step (see the module docstring):
        "replace" (RePaint eq. 8, the default) or "null-space" (DDNM). In "null-space" mode,
        x0_hat (clipped when ``clip_denoised``) is replaced by keep * known + (1 - keep) * x0_hat,
        then with eta None x_{t-1} is drawn from the posterior q(x_{t-1} | x_t, x0) with the
        model's variance (DDNM's Algorithm 1); with a number it is the DDIM step of
        :meth:`GaussianDiffusion.ddim_mean_std` from that x0, whose direction term uses the eps
        re-derived from the projected x0 and x_t, not the network's eps (DDNM's reference code,
        wyhuai/DDNM functions/svd_ddnm.py, uses the network's). Re-derived, (a) eta = 1 is
        exactly the posterior step, as in "replace" mode and guided-diffusion's ddim_sample, and
        (b) the known pixels of x_{t-1} carry on exactly the noise that x_t's carried, so they
        stay on the forward process q(x_{t-1} | x_0 = known) with no separate noising; the
        network's eps would pull them off it. Undo steps are the same in both modes.
    share_noise: reuse the reverse step's noise for the known part, as diffusers'
        RePaintScheduler does; off by default, since eq. 8a samples it independently.
    extra_args: keyword arguments for every network call, ``denoiser(x_t, t, **extra_args)``
        (k-diffusion's extra_args), e.g. {"class_labels": labels [B] long}; None = none.
    generator: torch.Generator (or one per batch row) for all noise after ``x``.
    callback: called after every reverse step with {"step", "t", "nfe", "x", "x0_hat"}; in
        "null-space" mode x0_hat is the projected x0 the step used.
    Returns x_0 [B,C,H,W] with the known pixels pasted exactly.
    """
    check_keep_known(x, keep, known)
    if condition not in CONDITIONS:
        raise InpaintkitError(f"unknown condition {condition!r}; choose one of {CONDITIONS}")
    if share_noise and condition != "replace":
        raise InpaintkitError("share_noise applies to condition='replace' only")
    cond = extra_kwargs(extra_args)
    if times is None:
        times = repaint_times(diffusion.num_steps, jump_length, resamplings, jump_n_sample)
    check_times(times, diffusion.num_steps)
    if variance is None:
        variance = "learned_range" if denoiser.learned_variance else "fixed_small"
    batch = x.shape[0]
    project = condition == "null-space" and keep is not None
    nfe_total, _ = count_steps(times)
    pairs = list(zip(times[:-1], times[1:]))
    desc = "DDNM" if condition == "null-space" else "RePaint"
    bar = progress_bar(pairs, desc, progress)
    nfe = 0
    for step, (t_last, t_cur) in enumerate(bar):
        if t_cur > t_last:  # undo step t_last -> t_cur = t_last + 1 (section 4.2)
            i = torch.full((batch,), t_cur, dtype=torch.long)
            x = diffusion.undo(x, i, randn(x.shape, generator, device=x.device, dtype=x.dtype))
            continue
        # Reverse step t_last -> t_last - 1 (eq. 8).
        i = torch.full((batch,), t_last, dtype=torch.long)
        t_train = diffusion.train_timesteps(i).to(x.device)
        eps, var_values = denoiser(x, t_train, **cond)
        out = diffusion.p_mean_variance(
            eps, x, i, variance=variance, var_values=var_values, clip_denoised=clip_denoised
        )
        x0, mean = out["x0"], out["mean"]
        if project:
            # DDNM eq. 13 with A = A^+ = diag(keep): A^+ y + (I - A^+ A) x0_hat
            x0 = keep * known + (1 - keep) * x0
            mean, _, _ = diffusion.q_posterior(x0, x, i)
        if eta is None:
            std = torch.exp(0.5 * out["log_variance"])
        else:
            mean, std = diffusion.ddim_mean_std(x0, x, i, eta)
        noise = randn(x.shape, generator, device=x.device, dtype=x.dtype)
        # eq. 8b; no noise on the last step (t = 0).
        x_unknown = mean + (t_last > 0) * std * noise
        if keep is None or project:
            x = x_unknown
        else:
            # eq. 8a: x_{t-1}^known ~ N(sqrt(abar_{t-1}) x_0, (1 - abar_{t-1}) I), corrected form.
            known_noise = noise if share_noise else randn(x.shape, generator, device=x.device)
            x_known = diffusion.q_sample_prev(known, i, known_noise.to(x.dtype))
            x = keep * x_known + (1 - keep) * x_unknown  # eq. 8c
        nfe += 1
        bar.set_postfix(nfe=f"{nfe}/{nfe_total}", refresh=False)
        if callback is not None:
            callback({"step": step, "t": t_last, "nfe": nfe, "x": x, "x0_hat": x0})
    return paste_known(x, keep, known)  # exact known pixels (DESIGN section 3)
