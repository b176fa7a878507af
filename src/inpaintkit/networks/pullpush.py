"""Pull-push hole filling (Gortler et al. 1996, "The Lumigraph", sec. 3.2): a smooth fill of any
hole in O(pixels), batched, differentiable, in torch.

Pull: each level halves the resolution; a pixel's weight is the summed weight of its 2x2
children, capped at 1, and its colour their weight-averaged colour (known pixels weigh 1, hole
pixels 0). Push: from the coarsest level back up, a pixel keeps ``weight * own colour + (1 -
weight) * the coarser level's colour`` (bilinearly upsampled). Every hole pixel so gets the
colour of the nearest known pixels at the scale where they exist, and known pixels are
unchanged. It is the prefill of the photo LaMa (:class:`.lama.LaMaGenerator` ``prefill``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pull_push(image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """``image`` [B,C,H,W] with ``hole`` [B,1,H,W] (1 = unknown) filled by pull-push; known
    pixels are returned as they are. A row without any known pixel comes back as zeros."""
    if image.dim() != 4 or hole.shape != (image.shape[0], 1, *image.shape[2:]):
        raise ValueError(f"image [B,C,H,W] and hole [B,1,H,W] needed; got {tuple(image.shape)} "
                         f"and {tuple(hole.shape)}")  # fmt: skip
    weight = 1.0 - hole.to(image.dtype)
    colours, weights = [image * weight], [weight]
    while max(colours[-1].shape[-2:]) > 1:  # pull (a side of 1 px stays 1)
        colour, weight = colours[-1], weights[-1]
        kernel = tuple(2 if side > 1 else 1 for side in colour.shape[-2:])
        pad = (0, colour.shape[-1] % kernel[1], 0, colour.shape[-2] % kernel[0])  # zero weight
        summed = F.avg_pool2d(F.pad(colour * weight, pad), kernel) * (kernel[0] * kernel[1])
        total = F.avg_pool2d(F.pad(weight, pad), kernel) * (kernel[0] * kernel[1])
        colours.append(summed / total.clamp_min(1e-8))
        weights.append(total.clamp(max=1.0))
    filled = colours[-1]
    for colour, weight in zip(reversed(colours[:-1]), reversed(weights[:-1]), strict=True):
        scale = tuple(2.0 if side > 1 else 1.0 for side in colour.shape[-2:])
        coarse = F.interpolate(filled, scale_factor=scale, mode="bilinear", align_corners=False)
        coarse = coarse[..., : colour.shape[-2], : colour.shape[-1]]  # push
        filled = weight * colour + (1.0 - weight) * coarse
    return filled
