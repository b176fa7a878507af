"""Shared by the survey's feed-forward objectives (Context Encoders, GLCIC, partial convolutions):
their reconstruction losses and a base class over :class:`~.adversarial.Adversarial`.

The base keeps Adversarial's networks (a "generator" with EMA, one "d_<name>" per discriminator of
the preset, no EMA), its hole data, generator call, previews and export, and lets each objective
declare its own ``Options`` class (the one option schema) and whether the exported model runs at
any size (fully convolutional) or only at the preset's.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import InpaintkitError
from ...io.tensors import flip_mask
from .adversarial import Adversarial, NetworkFactory, default_network_factory
from .base import TrainedNetwork, parse_objective_options

SURVEY_HOLES = "thin+medium+thick+box+sr2x+altlines+half+expand"
"""The default training holes: LaMa's thin/medium/thick, one box and the RePaint paper's
sr2x, altlines, half and expand (its wide and narrow are LaMa's thick and thin)."""


def masked_mse(output: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean (output - target)^2 over the pixels where ``weight`` [B,1,H,W] is 1 (0 if none): the
    masked L2 of Context Encoders (eq. 1) and GLCIC (section 3.3), per hole value."""
    total = ((output - target).square() * weight).sum()
    return total / (weight.sum() * output.shape[1]).clamp_min(1.0)


def image_normalised_l1(
    output: torch.Tensor, target: torch.Tensor, weight: torch.Tensor
) -> torch.Tensor:
    """sum |weight * (output - target)| / N, N = every element of ``target`` (B*C*H*W): Liu et al.
    2018's L_hole and L_valid (section 3.4), normalised by the image size, not the hole's."""
    return ((output - target).abs() * weight).sum() / target.numel()


def hole_tv(comp: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Liu et al. 2018's total variation loss (section 3.4): over P, the 1-pixel dilation of the
    hole, sum |comp[i, j+1] - comp[i, j]| for horizontal neighbours both in P plus the same for
    vertical ones, divided by the number of elements of ``comp`` [B,C,H,W] (hole [B,1,H,W])."""
    region = F.max_pool2d(hole, 3, stride=1, padding=1)  # the 1-pixel (8-neighbour) dilation
    across = region[..., :, 1:] * region[..., :, :-1]
    down = region[..., 1:, :] * region[..., :-1, :]
    total = ((comp[..., :, 1:] - comp[..., :, :-1]).abs() * across).sum()
    total = total + ((comp[..., 1:, :] - comp[..., :-1, :]).abs() * down).sum()
    return total / comp.numel()


class FeedForwardObjective(Adversarial):
    """Base of the survey objectives: ``Options`` (an Options dataclass with at least
    ``holes``; ``d_lr`` where there are discriminators), ``any_size`` (as
    :class:`~.adversarial.Adversarial`'s), ``needs_discriminators`` (refuse a preset
    without one)."""

    Options: ClassVar[type]
    needs_discriminators: ClassVar[bool] = True

    def __init__(
        self, preset, options: dict | None = None, *, network_factory: NetworkFactory | None = None
    ) -> None:
        if getattr(preset, "kind", None) != "feedforward":
            raise InpaintkitError(
                f"objective {self.name!r} trains a feedforward preset; "
                f"{getattr(preset, 'name', preset)!r} is not one"
            )
        if self.needs_discriminators and not preset.discriminators:
            raise InpaintkitError(f"preset {preset.name!r} has no discriminator to train against")
        self.preset = preset
        self.options = parse_objective_options(self.Options, options, self.name)
        self.factory = network_factory or default_network_factory
        self.discriminator_names = [f"d_{name}" for name in preset.discriminators]

    def build_networks(self) -> dict[str, TrainedNetwork]:
        """The "generator" (EMA) and "d_<name>" per discriminator (no EMA; learning rate the
        option ``d_lr`` when the Options have one and it is > 0, else the TrainConfig's)."""
        spec = self.preset.generator
        nets = {"generator": TrainedNetwork(self.factory(spec["class"], spec.get("config", {})))}
        d_lr = getattr(self.options, "d_lr", 0.0) or None
        for name, spec in zip(self.discriminator_names, self.preset.discriminators.values()):
            module = self.factory(spec["class"], spec.get("config", {}))
            nets[name] = TrainedNetwork(module, lr=d_lr, ema=False)
        return nets

    def composite(self, generator: nn.Module, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """(G's output, output * hole + image * keep) for a batch."""
        output = self.generate(generator, batch)
        hole = batch["hole"]
        return output, output * hole + batch["image"] * flip_mask(hole)
