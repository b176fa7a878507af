"""Training augmentation that keeps exact resume: mirror, hue rotation and saturation jitter.

Every draw for item ``index`` in pass ``epoch`` comes from ``numpy.random.default_rng((seed,
epoch, index))``, never from a global RNG, so a resumed run sees the same images.

The colour changes are linear maps of RGB that fix the grey axis, so white backgrounds (the
emoji's) and greys stay exactly as they are:
- hue: a rotation by angle theta about the axis (1, 1, 1) / sqrt(3) (Rodrigues' formula), the
  RGB form of a hue shift by theta / (2 pi) turns;
- saturation: x -> g + s (x - g), g the mean of the three channels.
Colours leaving the cube are clipped to [-1, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import InpaintkitError
from ..options import Options, option, parse_options, split_key_values


@dataclass(frozen=True)
class Augmentation(Options):
    """What is drawn per item and pass (``--option augment=hflip=0.5,hue=0.1``)."""

    hflip: float = option(0.0, help="probability of a left-right mirror", min=0, max=1)
    hue: float = option(0.0, help="largest hue rotation, in turns (0.5 = any hue)", min=0, max=0.5)
    saturation: float = option(
        0.0, help="largest relative saturation change (0.2: x0.8 to x1.2)", min=0, max=1
    )
    colour_p: float = option(1.0, help="probability of a colour change at all", min=0, max=1)

    @property
    def active(self) -> bool:
        """Whether anything is ever changed."""
        return self.hflip > 0 or (self.colour_p > 0 and (self.hue > 0 or self.saturation > 0))


def parse_augmentation(spec: str) -> Augmentation:
    """An :class:`Augmentation` from "name=value,name=value" ("" = none); errors name the bad
    option and the valid ones."""
    pairs = [part for part in spec.split(",") if part.strip()]
    return parse_options(Augmentation, split_key_values(pairs, "augment"), owner="augment")


def hue_rotation(theta: float) -> torch.Tensor:
    """The 3x3 matrix rotating RGB vectors by ``theta`` radians about the grey axis."""
    c, s = math.cos(theta), math.sin(theta)
    k = 1.0 / math.sqrt(3.0)
    cross = torch.tensor([[0.0, -k, k], [k, 0.0, -k], [-k, k, 0.0]], dtype=torch.float64)
    outer = torch.full((3, 3), k * k, dtype=torch.float64)
    return (c * torch.eye(3, dtype=torch.float64) + s * cross + (1 - c) * outer).float()


def recolour(image: torch.Tensor, theta: float, scale: float) -> torch.Tensor:
    """``image`` [3, H, W] in [-1, 1] hue-rotated by ``theta`` radians and its saturation
    multiplied by ``scale``; clipped to [-1, 1]."""
    rotated = torch.einsum("ij,jhw->ihw", hue_rotation(theta), image)
    grey = rotated.mean(dim=0, keepdim=True)
    return (grey + scale * (rotated - grey)).clamp(-1.0, 1.0)


class AugmentedDataset(Dataset):
    """``data`` (items: image tensors [3, H, W] in [-1, 1]) with :class:`Augmentation` drawn per
    (seed, epoch, index); the loop calls :meth:`item` (``train.stream.item_at``)."""

    def __init__(self, data: Dataset, augmentation: Augmentation, seed: int) -> None:
        if len(data) == 0:
            raise InpaintkitError("cannot augment an empty data set")
        self.data = data
        self.augmentation = augmentation
        self.seed = seed

    def __len__(self) -> int:
        return len(self.data)

    def draws(self, index: int, epoch: int) -> tuple[bool, float, float]:
        """(mirror, hue angle in radians, saturation scale) of item ``index`` in pass ``epoch``."""
        aug = self.augmentation
        rng = np.random.default_rng((self.seed, epoch, index, 0xA6))
        mirror, colour, u_hue, u_sat = rng.random(4)
        theta, scale = 0.0, 1.0
        if colour < aug.colour_p:
            theta = (2 * u_hue - 1) * aug.hue * 2 * math.pi
            scale = 1.0 + (2 * u_sat - 1) * aug.saturation
        return bool(mirror < aug.hflip), theta, scale

    def item(self, index: int, epoch: int) -> torch.Tensor:
        """Item ``index`` as seen in pass ``epoch``."""
        inner = getattr(self.data, "item", None)
        image = inner(index, epoch) if callable(inner) else self.data[index]
        mirror, theta, scale = self.draws(index, epoch)
        if mirror:
            image = image.flip(-1)
        if theta != 0.0 or scale != 1.0:
            image = recolour(image, theta, scale)
        return image

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.item(index, 0)


def augmented(data: Dataset, spec: str, seed: int) -> Dataset:
    """``data`` wrapped in :class:`AugmentedDataset` when ``spec`` asks for anything, else
    ``data`` itself."""
    augmentation = parse_augmentation(spec)
    return AugmentedDataset(data, augmentation, seed) if augmentation.active else data
