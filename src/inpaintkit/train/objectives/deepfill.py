"""Objectives "deepfill-v1" and "deepfill-v2": the losses of DeepFill v1 and v2 for their
coarse-to-fine generators (``inpaintkit.networks.deepfill_v1`` / ``deepfill_v2``).

"deepfill-v1" (Yu et al. 2018, sec. 3 and the official ``inpaint_model.py``), per step:

1. the critics, WGAN-GP (sec. 3.2): a global critic on the composited image and a local one on
   a crop around the hole; L_D = E[D(fake)] - E[D(real)] + gp_weight * GP, the gradient
   penalty taken on interpolates and counted on hole pixels only (the paper multiplies the
   gradient by the mask); Adam betas (0.5, 0.9) as the official code;
2. the generator: coarse_weight * L1(coarse) + L1(refined), each L1 being hole_weight *
   spatially discounted L1 over the hole (gamma ** distance to the nearest known pixel) plus
   valid_weight * L1 over the known pixels, plus adv_weight * (-E[D_global] - E[D_local]).
   Defaults are the official ones: 1.2, 1.2, 1.2, adversarial 0.001, GP 10, gamma 0.9.

"deepfill-v2" (Yu et al. 2019, sec. 3.2 and the official ``inpaint_model.py``), per step:

1. SN-PatchGAN: the discriminator judges cat(image, hole, sketch) for real and composited
   images; hinge loss on every element of its output map;
2. the generator: l1_weight * (coarse_weight * L1(coarse) + L1(refined)) plus adv_weight *
   (-E[D(fake)]), each L1 being mean |output - image| over all pixels (the paper's) plus
   hole_weight * the mean over the hole; defaults 1, 1, 1 and 0 (the paper's loss). A
   hole_weight above 0 is a departure: the all-pixel L1 spends most of its weight on known
   pixels, which the composite discards.
   The sketch comes from the data: Canny edges times the hole (``data.sketch.canny_sketch``),
   all zeros for a share ``sketch_drop`` of the items so that the model also works unguided.

Both report the loss terms and export a FeedForwardModel of the refined output (the generator's
``forward``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.data import Dataset

from ...data.holed import HoledDataset
from ...data.sketch import canny_sketch
from ...errors import InpaintkitError
from ...io.tensors import flip_mask
from ...masks.presets import get_holes
from ...options import Options, option
from ..stream import as_item_dict
from .adversarial import Adversarial, discriminator_loss, generator_adversarial_loss, masked_l1
from .base import TrainedNetwork, parse_objective_options
from .gan_terms import crop, discounted_l1, gradient_penalty, local_origins, spatial_discount


@dataclass(frozen=True)
class DeepFillV1Options(Options):
    """Knobs of "deepfill-v1" (defaults: the official code's)."""

    holes: str = option("lama-mixed", help="hole generator of items without one (get_holes spec)")
    gamma: float = option(0.9, help="spatial discount: weight gamma**distance", min=0,
                          max=1, min_exclusive=True)  # fmt: skip
    hole_weight: float = option(1.2, help="weight of the discounted L1 over the hole", min=0)
    valid_weight: float = option(1.2, help="weight of the L1 over known pixels", min=0)
    coarse_weight: float = option(1.2, help="weight of the coarse output's L1 terms", min=0)
    adv_weight: float = option(0.001, help="weight of the WGAN generator term", min=0)
    gp_weight: float = option(10.0, help="WGAN-GP weight (lambda)", min=0)
    d_lr: float = option(0.0, help="the critics' learning rate; 0 = TrainConfig's lr", min=0)


@dataclass(frozen=True)
class DeepFillV2Options(Options):
    """Knobs of "deepfill-v2" (defaults: the paper's weights)."""

    holes: str = option("lama-mixed", help="hole generator of items without one (get_holes spec)")
    l1_weight: float = option(1.0, help="weight of the L1 of each output (all pixels)", min=0)
    coarse_weight: float = option(1.0, help="extra factor on the coarse output's L1", min=0)
    adv_weight: float = option(1.0, help="weight of the SN-PatchGAN hinge generator term", min=0)
    hole_weight: float = option(0.0, help="weight of an extra L1 over the hole of each output "
                                "(0 = the paper's loss)", min=0)  # fmt: skip
    sketch_drop: float = option(0.3, help="share of training items with an empty sketch",
                                min=0, max=1)  # fmt: skip
    canny_low: int = option(100, help="Canny's lower threshold (0..255)", min=0, max=255)
    canny_high: int = option(200, help="Canny's upper threshold (0..255)", min=0, max=255)
    d_lr: float = option(0.0, help="the discriminator's learning rate; 0 = TrainConfig's lr",
                         min=0)  # fmt: skip

    def check(self) -> None:
        if self.canny_low > self.canny_high:
            raise InpaintkitError(
                f"canny_low ({self.canny_low}) must not exceed canny_high ({self.canny_high})"
            )


class DeepFillV1(Adversarial):
    """Objective "deepfill-v1" (module docstring). The preset needs discriminators named
    "global" (on the whole image) and "local" (on a crop; its side is the critic's
    ``image_size`` config)."""

    name = "deepfill-v1"
    Options = DeepFillV1Options
    loss_names = ("g_loss", "l1_coarse", "l1_fine", "g_adv", "d_loss", "gp")
    critic_betas = (0.5, 0.9)

    def __init__(self, preset, options: dict | None = None, *, network_factory=None) -> None:
        super().__init__(preset, {}, network_factory=network_factory)
        self.options = parse_objective_options(self.Options, options, self.name)
        if set(preset.discriminators) != {"global", "local"}:
            raise InpaintkitError(
                f"objective {self.name!r} needs the discriminators 'global' and 'local'; "
                f"preset {preset.name!r} has {sorted(preset.discriminators)}"
            )
        self.local_size = int(preset.discriminators["local"]["config"].get("image_size", 16))

    def build_networks(self) -> dict[str, TrainedNetwork]:
        nets = super().build_networks()
        for name in self.discriminator_names:
            nets[name].betas = self.critic_betas
        return nets

    def _l1(self, output: torch.Tensor, image: torch.Tensor, hole: torch.Tensor, weights):
        opts = self.options
        return opts.hole_weight * discounted_l1(output, image, weights) + (
            opts.valid_weight * masked_l1(output, image, flip_mask(hole))
        )

    def step(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict:
        opts, up = self.options, self.updater
        image, hole = batch["image"], batch["hole"]
        keep = flip_mask(hole)
        coarse, fine = up.module("generator")(image * keep, hole, stages=True)
        comp = fine * hole + image * keep
        tops, lefts = local_origins(hole, self.local_size)
        views = {  # critic -> (real, fake, gradient-penalty mask)
            "d_global": (image, comp, hole),
            "d_local": tuple(crop(x, tops, lefts, self.local_size) for x in (image, comp, hole)),
        }
        d_total = gp_total = torch.zeros((), device=image.device)
        for name, (real, fake, mask) in views.items():  # 1. critics, WGAN-GP
            critic = up.module(name)
            gp = gradient_penalty(critic, real, fake, mask, generator)
            d_loss = critic(fake.detach()).mean() - critic(real).mean() + opts.gp_weight * gp
            up.update(name, d_loss)
            d_total, gp_total = d_total + d_loss.detach(), gp_total + gp.detach()
        adv = torch.zeros((), device=image.device)
        for name, (_, fake, _) in views.items():  # 2. generator, critics frozen
            critic = up.module(name)
            critic.requires_grad_(False)
            adv = adv - critic(fake).mean()
        weights = spatial_discount(hole, opts.gamma)
        l1_coarse = self._l1(coarse, image, hole, weights)
        l1_fine = self._l1(fine, image, hole, weights)
        g_loss = opts.coarse_weight * l1_coarse + l1_fine + opts.adv_weight * adv
        up.update("generator", g_loss)
        for name in views:
            up.module(name).requires_grad_(True)
        return {"g_loss": g_loss.detach(), "l1_coarse": l1_coarse.detach(),
                "l1_fine": l1_fine.detach(), "g_adv": adv.detach(), "d_loss": d_total,
                "gp": gp_total}  # fmt: skip


class DeepFillV2(Adversarial):
    """Objective "deepfill-v2" (module docstring): one SN-PatchGAN discriminator on
    cat(image, hole, sketch); the preset's ``extra_inputs`` must be ("sketch",)."""

    name = "deepfill-v2"
    Options = DeepFillV2Options
    loss_names = ("g_loss", "l1_coarse", "l1_fine", "g_adv", "d_loss")
    discriminator_betas = (0.5, 0.999)

    def __init__(self, preset, options: dict | None = None, *, network_factory=None) -> None:
        super().__init__(preset, {}, network_factory=network_factory)
        self.options = parse_objective_options(self.Options, options, self.name)
        if tuple(preset.extra_inputs) != ("sketch",):
            raise InpaintkitError(
                f"objective {self.name!r} trains a generator with the extra input ('sketch',); "
                f"preset {preset.name!r} has {tuple(preset.extra_inputs)}"
            )

    def build_networks(self) -> dict[str, TrainedNetwork]:
        nets = super().build_networks()
        for name in self.discriminator_names:
            nets[name].betas = self.discriminator_betas
        return nets

    def wrap_data(self, data: Dataset, seed: int) -> Dataset:
        """Holes (``holes``) and the Canny sketch added to every item (items that already carry
        a hole must carry their sketch too)."""
        if len(data) and "hole" not in as_item_dict(data[0]):
            opts = self.options
            sketch = canny_sketch(opts.canny_low, opts.canny_high, opts.sketch_drop)
            data = HoledDataset(data, get_holes(opts.holes), seed=seed, extras={"sketch": sketch})
        return super().wrap_data(data, seed)

    def step(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict:
        opts, up = self.options, self.updater
        image, hole, sketch = batch["image"], batch["hole"], batch["sketch"] * batch["hole"]
        keep = flip_mask(hole)
        coarse, fine = up.module("generator")(image * keep, hole, sketch, stages=True)
        comp = fine * hole + image * keep
        d_losses = torch.zeros((), device=image.device)
        for name in self.discriminator_names:  # 1. SN-PatchGAN, hinge
            disc = up.module(name)
            real = disc(torch.cat([image, hole, sketch], 1))
            fake = disc(torch.cat([comp.detach(), hole, sketch], 1))
            d_loss = discriminator_loss(real, fake, "hinge")
            up.update(name, d_loss)
            d_losses = d_losses + d_loss.detach()
        adv = torch.zeros((), device=image.device)
        for name in self.discriminator_names:  # 2. generator
            disc = up.module(name)
            disc.requires_grad_(False)
            adv = adv + generator_adversarial_loss(
                disc(torch.cat([comp, hole, sketch], 1)), "hinge"
            )
        l1_coarse, l1_fine = (
            (out - image).abs().mean() + opts.hole_weight * masked_l1(out, image, hole)
            for out in (coarse, fine)
        )
        g_loss = opts.l1_weight * (opts.coarse_weight * l1_coarse + l1_fine) + opts.adv_weight * adv
        up.update("generator", g_loss)
        for name in self.discriminator_names:
            up.module(name).requires_grad_(True)
        return {"g_loss": g_loss.detach(), "l1_coarse": l1_coarse.detach(),
                "l1_fine": l1_fine.detach(), "g_adv": adv.detach(), "d_loss": d_losses}  # fmt: skip
