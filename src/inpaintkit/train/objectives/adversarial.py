"""Adversarial training of a feed-forward inpainting generator with one or more discriminators.

The generator G maps (masked image known * keep with the hole zeroed, hole [B,1,H,W] 1 = hole,
*extra inputs) to an image; its output is composited, comp = G(...) * hole + image * keep, and
each discriminator D_k judges cat(image or comp, hole) (LaMa and DeepFill feed the mask along).
One step alternates (Goodfellow et al. 2014, Algorithm 1 with k = 1):

1. for every D_k: L_D = hinge: E[relu(1 - D(real))] + E[relu(1 + D(comp.detach()))]
   (Lim & Ye 2017; SN-PatchGAN) or non-saturating: E[softplus(-D(real))] + E[softplus(D(comp))];
2. G: L_G = hole_weight * L1_hole + valid_weight * L1_valid + adv_weight * sum_k adv_k, where
   L1_hole / L1_valid are the mean |G(...) - image| over hole / known pixels and adv_k is
   -E[D_k(comp)] (hinge) or E[softplus(-D_k(comp))] (non-saturating), with D_k frozen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from ...errors import InpaintkitError
from ...io.tensors import flip_mask
from ...models import FeedForwardModel
from ...networks import build_network
from ...options import Options, option
from .base import ObjectiveBase, TrainedNetwork, parse_objective_options, preview_rows
from .holes import with_holes

GAN_LOSSES = ("hinge", "nonsaturating")
NetworkFactory = Callable[[str, dict], nn.Module]


@dataclass(frozen=True)
class AdversarialOptions(Options):
    """The objective's knobs, checked by the one option schema (:mod:`inpaintkit.options`)."""

    holes: str = option("lama-mixed", help="hole generator of items without one (get_holes spec)")
    gan_loss: str = option("hinge", help="adversarial loss", choices=GAN_LOSSES)
    hole_weight: float = option(1.0, help="weight of the L1 over hole pixels", min=0)
    valid_weight: float = option(1.0, help="weight of the L1 over known pixels", min=0)
    adv_weight: float = option(0.01, help="weight of the adversarial term", min=0)
    d_lr: float = option(0.0, help="the discriminators' learning rate; 0 = TrainConfig's lr", min=0)


def discriminator_loss(real: torch.Tensor, fake: torch.Tensor, kind: str) -> torch.Tensor:
    """L_D from logits on real and generated inputs (any shape; means over all elements)."""
    if kind == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def generator_adversarial_loss(fake: torch.Tensor, kind: str) -> torch.Tensor:
    """The generator's adversarial term from the logits on its composited output."""
    return -fake.mean() if kind == "hinge" else F.softplus(-fake).mean()


def masked_l1(output: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean |output - target| over the pixels where ``weight`` [B,1,H,W] is 1 (0 if none)."""
    total = ((output - target).abs() * weight).sum()
    return total / (weight.sum() * output.shape[1]).clamp_min(1.0)


default_network_factory = build_network
"""The network builder of the objective: the registry of network classes."""


class Adversarial(ObjectiveBase):
    """Objective "adversarial": network "generator" (with EMA; the exported one) and one network
    per discriminator of a GeneratorPreset (no EMA). See the module docstring for the losses.

    network_factory: builds a network from (class name, config) [``networks.build_network``].
    """

    name = "adversarial"
    loss_names = ("g_loss", "l1_hole", "l1_valid", "g_adv", "d_loss")
    preview_needs_data = True
    any_size: ClassVar[bool] = True  # export with image_size None: a fully convolutional network

    def __init__(
        self, preset, options: dict | None = None, *, network_factory: NetworkFactory | None = None
    ) -> None:
        if getattr(preset, "kind", None) != "feedforward":
            raise InpaintkitError(
                f"objective {self.name!r} trains a feedforward preset (e.g. 'encdec32-tiny'); "
                f"{getattr(preset, 'name', preset)!r} is not one"
            )
        if not preset.discriminators:
            raise InpaintkitError(f"preset {preset.name!r} has no discriminator to train against")
        self.preset = preset
        self.options = parse_objective_options(AdversarialOptions, options, self.name)
        self.factory = network_factory or default_network_factory
        self.discriminator_names = [f"d_{name}" for name in preset.discriminators]

    def build_networks(self) -> dict[str, TrainedNetwork]:
        spec = self.preset.generator
        nets = {"generator": TrainedNetwork(self.factory(spec["class"], spec.get("config", {})))}
        d_lr = self.options.d_lr or None
        for name, spec in zip(self.discriminator_names, self.preset.discriminators.values()):
            module = self.factory(spec["class"], spec.get("config", {}))
            nets[name] = TrainedNetwork(module, lr=d_lr, ema=False)
        return nets

    def wrap_data(self, data: Dataset, seed: int) -> Dataset:
        data = with_holes(data, self.options.holes, seed, self.preset, self.preset.channels)
        missing = [name for name in self.preset.extra_inputs if name not in data[0]]
        if missing:
            raise InpaintkitError(
                f"preset {self.preset.name!r} takes the extra inputs {self.preset.extra_inputs}; "
                f"the data items lack {missing} (add them with HoledDataset(extras=...))"
            )
        return data

    def generate(self, generator: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """G(known * keep, hole, *extras in ``preset.extra_inputs`` order) [B, C, H, W]."""
        image, hole = batch["image"], batch["hole"]
        extras = [batch[name] for name in self.preset.extra_inputs]
        return generator(image * flip_mask(hole), hole, *extras)

    def step(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict:
        kind, opts, up = self.options.gan_loss, self.options, self.updater
        image, hole = batch["image"], batch["hole"]
        keep = flip_mask(hole)
        output = self.generate(up.module("generator"), batch)
        comp = output * hole + image * keep
        real_in, fake_in = torch.cat([image, hole], 1), torch.cat([comp.detach(), hole], 1)
        d_total = torch.zeros((), device=image.device)
        for name in self.discriminator_names:  # 1. discriminators
            disc = up.module(name)
            d_loss = discriminator_loss(disc(real_in), disc(fake_in), kind)
            up.update(name, d_loss)
            d_total = d_total + d_loss.detach()
        adv = torch.zeros((), device=image.device)
        for name in self.discriminator_names:  # 2. generator, discriminators frozen
            disc = up.module(name)
            disc.requires_grad_(False)
            adv = adv + generator_adversarial_loss(disc(torch.cat([comp, hole], 1)), kind)
        l1_hole, l1_valid = masked_l1(output, image, hole), masked_l1(output, image, keep)
        g_loss = opts.hole_weight * l1_hole + opts.valid_weight * l1_valid + opts.adv_weight * adv
        up.update("generator", g_loss)
        for name in self.discriminator_names:
            up.module(name).requires_grad_(True)
        return {
            "g_loss": g_loss.detach(),
            "l1_hole": l1_hole.detach(),
            "l1_valid": l1_valid.detach(),
            "g_adv": adv.detach(),
            "d_loss": d_total,
        }

    @torch.no_grad()
    def preview(
        self, networks: dict[str, nn.Module], batch: dict, *, num_samples: int, num_steps: int,
        seed: int,
    ) -> list[torch.Tensor]:  # fmt: skip
        """Three rows: the masked input, the composited output, the original."""
        batch = {k: v[:num_samples] for k, v in batch.items()}
        image, hole = batch["image"], batch["hole"]
        output = self.generate(networks["generator"], batch).clamp(-1.0, 1.0)
        return preview_rows(image, hole, output)

    def to_model(self, networks: dict[str, nn.Module], *, source: str, card: str = ""):
        """A ``models.FeedForwardModel`` (kind "feedforward") of the generator: image_size None
        (any size) for a fully convolutional network (``any_size``), else the preset's
        resolution."""
        return FeedForwardModel(
            generator=networks["generator"], extra_inputs=tuple(self.preset.extra_inputs),
            multiple=self.preset.multiple,
            image_size=None if self.any_size else self.preset.resolution, source=source,
            card=card,
        )  # fmt: skip
