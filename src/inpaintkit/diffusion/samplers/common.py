"""What every sampler shares: the callback type, argument checks and the final paste.

Every sampler in this package has one signature (DESIGN rule 1, k-diffusion's sampling.py)::

    sample_x(denoiser, x, diffusion, *, keep, known, times, <knobs>,
             extra_args=None, generator=None, callback=None, progress=True) -> x_0

``extra_args`` (a dict or None) is passed to the denoiser as keyword arguments on every network
call, ``denoiser(x_t, t_train, **extra_args)``, as k-diffusion's ``extra_args``: class labels
travel as ``{"class_labels": labels}``, a conditional model's hole and masked image as
``{"hole": ..., "masked": ...}``. The sampler never looks inside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from ...errors import InpaintkitError

Callback = Callable[[dict], None]

#: The parameters every sampler has, in this order: three positional, then keyword-only ones
#: (a sampler's own knobs come between ``times`` and ``extra_args``).
SHARED_PARAMETERS = (
    "denoiser",
    "x",
    "diffusion",
    "keep",
    "known",
    "times",
    "extra_args",
    "generator",
    "callback",
    "progress",
)


def check_keep_known(
    x: torch.Tensor, keep: torch.Tensor | None, known: torch.Tensor | None
) -> None:
    """Raise InpaintkitError unless keep [B,1,H,W] in {0,1} and known [B,C,H,W] match ``x``
    (or both are None: nothing known)."""
    if (keep is None) != (known is None):
        raise InpaintkitError("give both keep and known, or neither (pure sampling)")
    if keep is None or known is None:
        return
    batch, _, height, width = x.shape
    if keep.shape != (batch, 1, height, width):
        raise InpaintkitError(
            f"keep must have shape {(batch, 1, height, width)}, got {tuple(keep.shape)}"
        )
    if known.shape != x.shape:
        raise InpaintkitError(f"known must have shape {tuple(x.shape)}, got {tuple(known.shape)}")
    if not torch.all((keep == 0) | (keep == 1)):
        raise InpaintkitError("keep must hold only 0 (hole) and 1 (known pixel)")


def check_times(times: list[int], num_steps: int) -> None:
    """Raise InpaintkitError unless the walk starts inside the process and ends at -1."""
    if not times or times[0] >= num_steps or times[-1] != -1:
        raise InpaintkitError(f"a time walk must start below {num_steps} and end at -1")


def extra_kwargs(extra_args: Mapping[str, object] | None) -> dict[str, object]:
    """``extra_args`` as a plain dict (None = no conditioning); raises for a non-mapping."""
    if extra_args is None:
        return {}
    if not isinstance(extra_args, Mapping):
        raise InpaintkitError(
            f"extra_args must be a dict of keyword arguments for the network, got "
            f"{type(extra_args).__name__}"
        )
    return dict(extra_args)


def paste_known(
    x: torch.Tensor, keep: torch.Tensor | None, known: torch.Tensor | None
) -> torch.Tensor:
    """keep * known + (1 - keep) * x: the known pixels exact (DESIGN section 3); ``x`` when
    nothing is known. A non-finite ``x`` (NaN or inf, which the network produced: broken or
    overflowing weights) raises InpaintkitError blaming the network, not the image."""
    if not torch.isfinite(x).all():
        bad = int((~torch.isfinite(x)).sum())
        raise InpaintkitError(
            f"the sampled result holds {bad} NaN or infinite value(s) of {x.numel()}: the "
            "network's output is not finite (the image was finite); check the checkpoint's "
            "weights, or run in fp32 (-o precision=fp32)"
        )
    if keep is None or known is None:
        return x
    return keep * known + (1 - keep) * x
