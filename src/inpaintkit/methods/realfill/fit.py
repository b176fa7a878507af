"""RealFill's fit: LoRA fine-tuning of a conditional inpainting network on the references and
the target (Tang et al. 2024, section 3.2, "Training"; the public training script's recipe).

Each step draws one batch of training rows. Row i takes image ``(step * batch + i) mod N`` of
the N images (references first, the target last), so every image is seen equally often (the
public script's data loader shows every image once per step: its batch of 16 is larger than the
at most 6 images). A row is:

- a random view: the short side resized to a uniform size in [R, 1.125 R], then a random R x R
  crop (the script's RandomResize + RandomCrop);
- a training hole: RealFill's rectangles (1-29 boxes of 3-25% of the side, union or complement;
  ``masks.presets.REALFILL_RECTANGLES``), or with probability 0.1 the whole image;
- for the target, its own hole too: the loss counts only its known pixels ("the loss is computed
  only on the known region" of the target). Departure, for a cleaner invariant: the target's
  unknown pixels also never enter the network's input (they are set to 0 in x_0 and always
  belong to the training hole), so the fit does not depend on what a hole holds at all; the
  script lets them show through the masked image where the training mask keeps them.

The loss is DDPM's eps-MSE (Ho et al. 2020, eq. 14) on the network's eps output (its first C
channels; a learned variance head is left as trained), weighted by the known pixels and averaged
over all pixels, as the script does. AdamW (weight decay 1e-2), constant learning rate, gradient
norm clipped at 1. Dropout (LoRA's) draws from torch's global RNG, forked and seeded here, so a
fit is a pure function of its seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn
from tqdm.auto import tqdm

from ...errors import InpaintkitError
from ...masks.presets import REALFILL_RECTANGLES
from .lora import lora_parameters

RESIZE_SCALE = 1.125  # RandomResize(R, 1.125 R) in the public script


@dataclass(frozen=True)
class FitImage:
    """One training image: uint8 [H, W, 3], and its known pixels (bool [H, W]; None = all
    known, a reference)."""

    image: np.ndarray
    known: np.ndarray | None = None


@dataclass(frozen=True)
class FitSettings:
    """steps, rows per step (batch), AdamW learning rate and weight decay, gradient clipping,
    the probability of a full training hole, and the short-side scale range of the views."""

    steps: int = 400
    batch: int = 4
    lr: float = 5e-4
    weight_decay: float = 1e-2
    grad_clip: float = 1.0
    full_mask_proba: float = 0.1
    max_scale: float = RESIZE_SCALE


def random_view(
    rng: np.random.Generator, item: FitImage, size: int, max_scale: float = RESIZE_SCALE
) -> tuple[np.ndarray, np.ndarray]:
    """(image uint8 [size, size, 3], known bool [size, size]) of ``item``: the short side
    resized to round(size * U[1, max_scale]) (bicubic; the known mask nearest), then a uniform
    random size x size crop. Unknown pixels are first set to the known pixels' mean colour, so
    the resize cannot carry what the hole holds into known pixels."""
    h, w = item.image.shape[:2]
    source = item.image
    if item.known is not None:
        source = source.copy()
        fill = source[item.known].mean(axis=0) if item.known.any() else 127.5
        source[~item.known] = np.round(fill).astype(np.uint8)
    short = max(size, round(size * rng.uniform(1.0, max_scale)))
    nh, nw = (short, max(short, round(w * short / h))) if h <= w else (round(h * short / w), short)
    nh, nw = max(nh, size), max(nw, size)
    image = np.asarray(Image.fromarray(source).resize((nw, nh), Image.Resampling.BICUBIC))
    known = np.ones((nh, nw), bool)
    if item.known is not None:
        plane = Image.fromarray(item.known.astype(np.uint8) * 255)
        known = np.asarray(plane.resize((nw, nh), Image.Resampling.NEAREST)) > 127
    top, left = int(rng.integers(0, nh - size + 1)), int(rng.integers(0, nw - size + 1))
    return image[top : top + size, left : left + size], known[top : top + size, left : left + size]


def training_batch(
    rng: np.random.Generator,
    items: Sequence[FitImage],
    size: int,
    rows: Sequence[int],
    *,
    full_mask_proba: float = 0.1,
    max_scale: float = RESIZE_SCALE,
    holes: Callable = REALFILL_RECTANGLES,
) -> dict[str, torch.Tensor]:
    """One batch for the fit (see the module docstring): rows[i] is the item of row i.
    Returns {"image": x_0 [B,3,S,S] in [-1,1] (unknown target pixels 0), "hole": [B,1,S,S]
    1 = training hole (always covering the unknown pixels), "weight": [B,1,S,S] 1 = a pixel the
    loss counts (known)}."""
    images, hole_rows, weights = [], [], []
    for index in rows:
        image, known = random_view(rng, items[index], size, max_scale)
        if rng.random() < full_mask_proba:
            hole = np.ones((size, size), bool)
        else:
            hole = holes(rng, (size, size))
        x0 = torch.from_numpy(image.astype(np.float32) / 127.5 - 1.0).permute(2, 0, 1)
        keep = torch.from_numpy(known.astype(np.float32))[None]
        images.append(x0 * keep)  # an unknown pixel never reaches the network
        hole_rows.append(torch.from_numpy((hole | ~known).astype(np.float32))[None])
        weights.append(keep)
    return {
        "image": torch.stack(images),
        "hole": torch.stack(hole_rows),
        "weight": torch.stack(weights),
    }


def realfill_loss(eps: torch.Tensor, noise: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """mean(weight * (eps - noise)^2) over every element (the public script's weighted MSE):
    eps, noise [B,C,H,W]; weight [B,1,H,W], 0 where the target's pixels are unknown."""
    return (weight * (eps.float() - noise.float()) ** 2).mean()


class ConditionalLoss:
    """The fit's loss on one batch for a conditional UNet in pixel space: x_t from the batch's
    x_0, t ~ U{0..T-1} and eps ~ N(0, I) drawn from ``generator``; input cat(x_t, hole,
    x_0 * (1 - hole)) (Stable Diffusion inpainting's order); the eps output's first C channels."""

    def __init__(self, betas: np.ndarray, channels: int = 3) -> None:
        abar = torch.from_numpy(np.cumprod(1.0 - np.asarray(betas, np.float64))).float()
        self.sqrt_abar, self.sqrt_one_minus = abar.sqrt(), (1 - abar).sqrt()
        self.channels = channels

    def __call__(self, net: nn.Module, batch: dict, generator: torch.Generator) -> torch.Tensor:
        x0, hole, weight = batch["image"], batch["hole"], batch["weight"]
        device = next(net.parameters()).device
        x0, hole, weight = x0.to(device), hole.to(device), weight.to(device)
        b = x0.shape[0]
        t = torch.randint(0, len(self.sqrt_abar), (b,), generator=generator)
        noise = torch.randn(x0.shape, generator=generator).to(device)
        shape = (b, 1, 1, 1)
        x_t = self.sqrt_abar[t].view(shape).to(device) * x0
        x_t = x_t + self.sqrt_one_minus[t].view(shape).to(device) * noise
        inputs = torch.cat([x_t, hole, x0 * (1 - hole)], dim=1)
        eps = net(inputs, t.to(device)).sample[:, : self.channels]
        return realfill_loss(eps, noise, weight)


def fit_lora(
    net: nn.Module,
    items: Sequence[FitImage],
    loss_fn: Callable[[nn.Module, dict, torch.Generator], torch.Tensor],
    size: int,
    settings: FitSettings,
    *,
    seed: int = 0,
    progress: bool = True,
    extra_params: Sequence[tuple[list[nn.Parameter], float]] = (),
) -> dict[str, float]:
    """Train the LoRA tensors of ``net`` (adapted by ``lora.add_lora``) on ``items`` for
    ``settings.steps`` steps; ``loss_fn(net, batch, generator)`` gives a batch's loss.
    extra_params: more (parameters, learning rate) groups (the SD route's text encoder).
    A tqdm bar shows the loss and the ETA when ``progress``. Returns {"loss": mean of the last
    10% of steps, "first_loss": of the first 10%, "seconds", "seconds_per_step", "steps"}.
    The network is left in eval mode."""
    if not items:
        raise InpaintkitError("RealFill's fit needs at least one image (references or target)")
    params = lora_parameters(net)
    if not params:
        raise InpaintkitError("the network has no LoRA tensors to fit (lora.add_lora first)")
    groups = [{"params": params, "lr": settings.lr}]
    groups += [{"params": list(p), "lr": lr} for p, lr in extra_params]
    optimizer = torch.optim.AdamW(groups, weight_decay=settings.weight_decay)
    every = [p for group in groups for p in group["params"]]
    rng = np.random.default_rng([seed, 1])
    generator = torch.Generator().manual_seed(seed)
    losses: list[float] = []
    started = time.perf_counter()
    devices = [] if not torch.cuda.is_available() else list(range(torch.cuda.device_count()))
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        net.train()
        bar = tqdm(range(settings.steps), desc="realfill fit", unit="step", disable=not progress)
        for step in bar:
            rows = [(step * settings.batch + i) % len(items) for i in range(settings.batch)]
            batch = training_batch(
                rng, items, size, rows,
                full_mask_proba=settings.full_mask_proba, max_scale=settings.max_scale,
            )  # fmt: skip
            loss = loss_fn(net, batch, generator)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if settings.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(every, settings.grad_clip)
            optimizer.step()
            losses.append(float(loss.detach()))
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
        bar.close()
    net.eval()
    seconds = time.perf_counter() - started
    tail = max(1, len(losses) // 10)
    return {
        "loss": float(np.mean(losses[-tail:])),
        "first_loss": float(np.mean(losses[:tail])),
        "seconds": seconds,
        "seconds_per_step": seconds / max(1, len(losses)),
        "steps": float(len(losses)),
    }


@torch.no_grad()
def fixed_loss(
    net: nn.Module,
    items: Sequence[FitImage],
    loss_fn: Callable[[nn.Module, dict, torch.Generator], torch.Tensor],
    size: int,
    *,
    rows: int = 8,
    seed: int = 1234,
) -> float:
    """The loss of ``net`` (eval mode: no dropout) on one fixed batch of ``rows`` rows drawn
    from ``seed`` (the same views, holes, noise and timesteps on every call): a before/after
    measure of a fit."""
    was_training = net.training
    net.eval()
    rng = np.random.default_rng([seed, 2])
    batch = training_batch(rng, items, size, [i % len(items) for i in range(rows)])
    loss = float(loss_fn(net, batch, torch.Generator().manual_seed(seed)))
    net.train(was_training)
    return loss


__all__ = [
    "ConditionalLoss",
    "FitImage",
    "FitSettings",
    "fit_lora",
    "fixed_loss",
    "random_view",
    "realfill_loss",
    "training_batch",
]
