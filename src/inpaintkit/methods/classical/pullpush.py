"""Pull-push filling as a classical method (Gortler et al. 1996;
:mod:`inpaintkit.networks.pullpush`): the smooth multi-scale fill the photo LaMa starts from, so
that the network's own gain can be measured."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...networks.pullpush import pull_push
from ...options import Options
from ..base import ArrayInpainter
from .libraries import check_has_known


@dataclass(frozen=True)
class PullPushOptions(Options):
    """Pull-push has no knobs: no options."""


class PullPush(ArrayInpainter):
    """Pull-push: a mask-weighted image pyramid is built down to one pixel (pull), then every
    hole pixel takes the colour of the coarser level where its neighbourhood is known (push).
    Smooth, any size, linear in the pixels; deterministic (rng unused). Above 1024 px the
    ``auto`` strategy works on crops around the holes: for a 60x200 hole in a 4000x3000 photo,
    0.5 s here against 5.7 s for the whole photo. Refuses a hole that covers the whole image."""

    name = "pull-push"
    summary = "multi-scale pull-push fill (Gortler et al. 1996), the photo LaMa's start"
    Options = PullPushOptions
    crop_above = 1024  # strategy "auto" crops around the holes of larger images

    def fill(self, image: np.ndarray, hole: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        check_has_known(hole, self.name)
        pixels = torch.tensor(image, dtype=torch.float32).permute(2, 0, 1)[None]
        mask = torch.tensor(hole, dtype=torch.float32)[None, None]
        filled = pull_push(pixels * (1 - mask), mask)[0].permute(1, 2, 0).numpy()
        out = np.clip(np.rint(filled), 0, 255).astype(np.uint8)
        out[~hole] = image[~hole]
        return out
