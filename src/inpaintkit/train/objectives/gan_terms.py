"""Loss terms of the survey's GAN inpainting papers, shared by their objectives.

- :func:`spatial_discount` / :func:`discounted_l1`: DeepFill v1's spatially discounted
  reconstruction loss (Yu et al. 2018, sec. 3.1): a hole pixel weighs gamma ** l, l its
  distance to the nearest known pixel.
- :func:`local_origins` / :func:`crop`: the local critic's patch around the hole.
- :func:`gradient_penalty`: WGAN-GP (Gulrajani et al. 2017), restricted to the hole as DeepFill
  v1 (sec. 3.2: the gradient is multiplied by the mask).
- :func:`r1_penalty`: R1 (Mescheder et al. 2018), LaMa's discriminator regulariser.
- :func:`feature_matching`: LaMa's discriminator feature matching loss (pix2pixHD's).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def chessboard_distance(hole: torch.Tensor) -> torch.Tensor:
    """Distance of every pixel to the nearest known pixel, [B,1,H,W] float: 0 on known pixels,
    1 on hole pixels that touch a known one (8-neighbourhood), and so on (the chessboard / L-inf
    distance, exact: one 3x3 dilation of the known region per unit). Pixels of an image with no
    known pixel at all get distance 0 (nothing to discount from). The image border is not
    known: a hole touching it is discounted from its known side only."""
    reached = hole < 0.5
    distance = torch.zeros_like(hole)
    any_known = reached.flatten(1).any(1)
    for step in range(1, max(hole.shape[-2:]) + 1):
        grown = F.max_pool2d(reached.to(hole.dtype), 3, 1, 1) > 0.5
        distance = torch.where(grown & ~reached, torch.full_like(distance, float(step)), distance)
        if bool((grown == reached).all()):
            break
        reached = grown
    return distance * any_known[:, None, None, None].to(hole.dtype)


def spatial_discount(hole: torch.Tensor, gamma: float = 0.9) -> torch.Tensor:
    """DeepFill v1's weights [B,1,H,W]: gamma ** distance-to-the-nearest-known-pixel inside the
    hole (:func:`chessboard_distance`), 0 on known pixels."""
    return gamma ** chessboard_distance(hole) * (hole > 0.5).to(hole.dtype)


def discounted_l1(
    output: torch.Tensor, target: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """sum |output - target| * weights / (number of hole pixels * C): the discounted L1 over the
    hole (``weights`` from :func:`spatial_discount`, nonzero exactly on hole pixels)."""
    count = ((weights > 0).to(output.dtype).sum() * output.shape[1]).clamp_min(1.0)
    return ((output - target).abs() * weights).sum() / count


def local_origins(hole: torch.Tensor, size: int) -> tuple[list[int], list[int]]:
    """Top-left corners (tops, lefts) of a ``size`` x ``size`` crop per image, centred on the
    bounding box of its hole and clamped inside the image (the centre if it has no hole)."""
    height, width = hole.shape[-2:]
    tops, lefts = [], []
    for plane in hole[:, 0] > 0.5:
        rows = torch.nonzero(plane.any(1)).flatten()
        cols = torch.nonzero(plane.any(0)).flatten()
        cy = (int(rows[0]) + int(rows[-1]) + 1) // 2 if len(rows) else height // 2
        cx = (int(cols[0]) + int(cols[-1]) + 1) // 2 if len(cols) else width // 2
        tops.append(min(max(cy - size // 2, 0), height - size))
        lefts.append(min(max(cx - size // 2, 0), width - size))
    return tops, lefts


def crop(x: torch.Tensor, tops: list[int], lefts: list[int], size: int) -> torch.Tensor:
    """The crops x[i, :, tops[i] : tops[i] + size, lefts[i] : lefts[i] + size], stacked."""
    return torch.stack(
        [x[i, :, t : t + size, left : left + size] for i, (t, left) in enumerate(zip(tops, lefts))]
    )


def gradient_penalty(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    mask: torch.Tensor,
    generator: torch.Generator,
) -> torch.Tensor:
    """WGAN-GP: mean over the batch of (||grad_x critic(x) * mask|| - 1) ** 2 at x = a * real +
    (1 - a) * fake, a ~ U[0, 1] per image drawn from ``generator``; the norm counts only the
    pixels where ``mask`` [B,1,H,W] is 1 (DeepFill v1: the hole). ``fake`` is detached."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, generator=generator, device=real.device)
    mixed = (alpha * real + (1.0 - alpha) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    slopes = ((grad * mask).pow(2).flatten(1).sum(1) + 1e-12).sqrt()
    return (slopes - 1.0).pow(2).mean()


def r1_penalty(logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1: mean over the batch of ||grad_real sum(logits)||^2, the squared gradient norm of the
    discriminator at the real images (``real`` must require grad and ``logits`` depend on it).
    Differentiable (create_graph), so the discriminator's update minimises it."""
    (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


def feature_matching(fake: list[torch.Tensor], real: list[torch.Tensor]) -> torch.Tensor:
    """Mean over layers of the mean squared difference of discriminator activations (LaMa's
    ``feature_matching_loss`` without a mask); ``real`` activations are detached."""
    terms = [F.mse_loss(f, r.detach()) for f, r in zip(fake, real, strict=True)]
    return torch.stack(terms).mean()
