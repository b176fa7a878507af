"""Preview images of a run: a short DDPM sampler for priors, grids and uint8 conversion."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..diffusion.denoiser import Denoiser
from ..diffusion.noise import randn
from ..diffusion.process import GaussianDiffusion
from ..diffusion.samplers import sample_ddim
from ..io.tensors import tensor_to_arrays


@torch.no_grad()
def ddpm_sample(
    unet: torch.nn.Module,
    betas: np.ndarray,
    shape: tuple[int, int, int, int],
    *,
    num_steps: int = 50,
    learned_variance: bool = False,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Unconditional ancestral DDPM sampling on a respaced process (for training previews).

    unet: an epsilon network called as ``unet(x, t).sample`` with the ORIGINAL training timestep
    index. betas: float64 [T] training betas. shape: (B, C, H, W). num_steps: respaced steps,
    evenly spaced (default 50). learned_variance: the network outputs 2C channels.
    This is the project's plain descending sampler (``sample_ddim`` with eta None): DDPM
    Algorithm 2 on the respaced process, x0_hat clipped to [-1, 1], "fixed
    small" variance (learned range for learned-variance networks), no noise at the last step.
    Returns float32 [B, C, H, W] in [-1, 1].
    """
    device = torch.device(device) if device is not None else next(unet.parameters()).device
    diffusion = GaussianDiffusion.respaced(np.asarray(betas, dtype=np.float64), num_steps)
    denoiser = Denoiser(lambda x, t: unet(x, t).sample, learned_variance=learned_variance)
    x = randn(shape, generator, device=device)
    x = sample_ddim(denoiser, x, diffusion, generator=generator, progress=False)
    return x.clamp(-1.0, 1.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """float [B, C, H, W] in [-1, 1] -> uint8 [B, H, W, 3] (one channel is repeated to three)."""
    array = tensor_to_arrays(images)
    return np.repeat(array, 3, axis=-1) if array.shape[-1] == 1 else array


def image_grid(images: np.ndarray, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile uint8 [N, H, W, 3] into a grid with ``nrow`` columns (default ceil(sqrt(N))) and a
    white ``pad``-pixel gap; returns uint8 [rows*(H+pad)+pad, nrow*(W+pad)+pad, 3]."""
    n, h, w, c = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    grid = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, c), 255, dtype=np.uint8)
    for k in range(n):
        r, col = divmod(k, nrow)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[top : top + h, left : left + w] = images[k]
    return grid


def save_grid(images: torch.Tensor | list[torch.Tensor], path: Path) -> Path:
    """Save previews as one PNG grid: a tensor [N, C, H, W] in [-1, 1] as a square-ish grid, or
    a list of such tensors (equal N) as one row each. Returns ``path``."""
    if isinstance(images, (list, tuple)):
        grid = image_grid(to_uint8(torch.cat(list(images))), nrow=images[0].shape[0])
    else:
        grid = image_grid(to_uint8(images))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(path)
    return path


def prior_samples(
    unet: torch.nn.Module, betas: np.ndarray, *, num_samples: int = 16, num_steps: int = 50, seed=0
) -> torch.Tensor:
    """``num_samples`` images of a prior UNet with :func:`ddpm_sample` from a seeded CPU
    generator (the same starting noise at every preview): float32 [N, C, R, R] in [-1, 1]."""
    device = next(unet.parameters()).device
    size = unet.config.sample_size
    size = size[0] if isinstance(size, (list, tuple)) else size
    shape = (num_samples, unet.config.in_channels, size, size)
    generator = torch.Generator().manual_seed(seed)
    learned_variance = unet.config.out_channels == 2 * unet.config.in_channels
    return ddpm_sample(
        unet,
        betas,
        shape,
        num_steps=num_steps,
        learned_variance=learned_variance,
        generator=generator,
        device=device,
    )


def save_sample_grid(
    unet: torch.nn.Module,
    betas: np.ndarray,
    path: Path,
    *,
    num_samples: int = 16,
    num_steps: int = 50,
    seed: int = 0,
) -> Path:
    """Sample ``num_samples`` images with :func:`ddpm_sample` (seeded CPU generator, so the same
    seed gives the same starting noise at every preview) and save them as one PNG grid."""
    images = prior_samples(unet, betas, num_samples=num_samples, num_steps=num_steps, seed=seed)
    return save_grid(images, path)
