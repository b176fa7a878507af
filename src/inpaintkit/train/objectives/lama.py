"""Objective "lama": LaMa's losses (Suvorov et al. 2022, sec. 2.2-2.4, and the official
``default.yaml`` / ``NonSaturatingWithR1``) for its FFC generator
(``inpaintkit.networks.lama``).

Per step, with the generator's raw prediction P (LaMa's discriminator judges the prediction
itself, not the composite) and m the hole resized to the discriminator's output grid (max
pooling: a patch touching the hole counts as hole):

1. discriminator (non-saturating, sec. 2.3): softplus(-D(real)) + r1_weight * R1 on the real
   images (sec. 2.3, eq. 5; Mescheder et al. 2018) + softplus(D(P)) on hole patches +
   softplus(-D(P)) on known patches (LaMa's ``mask_as_fake_target``: the known part of a
   prediction is real), means over the output map;
2. generator: valid_weight * L1 over known pixels (LaMa: the L1 counts only known pixels;
   the hole is left to the adversarial and perceptual terms) + hole_weight * L1 over the hole
   + adv_weight * softplus(-D(P)) + fm_weight * feature matching (mean squared difference of
   the discriminator's activations on P and on the real image, sec. 2.3 "L_DiscPL").
   Defaults: LaMa's 10, adversarial 10, feature matching 100, R1 0.001.

Departure: LaMa's high receptive field perceptual loss (sec. 2.2, weight 30) needs a
segmentation ResNet pretrained on ADE20k, which does not exist offline; it is DROPPED. The
feature matching term on our own discriminator stays (it is LaMa's own second perceptual-like
term). Without the perceptual loss nothing but the adversarial terms pulls the hole towards
the image, which on a short CPU training gives noise, so ``hole_weight`` (an L1 over the hole,
default 10 like the known pixels') stands in for it; ``-O hole_weight=0`` is LaMa's exact
choice. The L1 terms are means over their region (LaMa: over all pixels, zero-weighted).

``-O adv_weight=0 -O fm_weight=0`` is the reconstruction-only ablation: the generator learns from
the two L1 terms alone and the discriminator is neither run nor updated (its losses log as 0).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ...errors import InpaintkitError
from ...io.tensors import flip_mask
from ...options import Options, option
from .adversarial import Adversarial, generator_adversarial_loss, masked_l1
from .base import TrainedNetwork, parse_objective_options
from .gan_terms import feature_matching, r1_penalty


@dataclass(frozen=True)
class LaMaOptions(Options):
    """Knobs of "lama" (defaults: LaMa's weights; hole_weight is our substitute)."""

    holes: str = option("lama-mixed", help="hole generator of items without one (get_holes spec)")
    valid_weight: float = option(10.0, help="weight of the L1 over known pixels", min=0)
    hole_weight: float = option(10.0, help="L1 over the hole, standing in for the perceptual "
                                "loss (0 = LaMa's choice)", min=0)  # fmt: skip
    adv_weight: float = option(10.0, help="weight of the non-saturating generator term", min=0)
    fm_weight: float = option(100.0, help="weight of the feature matching loss", min=0)
    r1_weight: float = option(0.001, help="weight of the R1 penalty on real images", min=0)
    d_lr: float = option(0.0, help="the discriminator's learning rate; 0 = TrainConfig's lr",
                         min=0)  # fmt: skip


def hole_on_grid(hole: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """The hole [B,1,H,W] on a discriminator's output grid (adaptive max pooling)."""
    return F.adaptive_max_pool2d(hole, shape)


class LaMa(Adversarial):
    """Objective "lama" (module docstring): network "generator" (EMA, exported) and one
    discriminator with a ``features(x) -> (logits, activations)`` method, also reachable as
    ``net(x, features=True)`` through wrappers (LaMaDiscriminator), fed cat(image, hole)."""

    name = "lama"
    Options = LaMaOptions
    loss_names = ("g_loss", "l1_valid", "l1_hole", "g_adv", "fm", "d_loss", "r1")

    def __init__(self, preset, options: dict | None = None, *, network_factory=None) -> None:
        super().__init__(preset, {}, network_factory=network_factory)
        self.options = parse_objective_options(self.Options, options, self.name)
        if len(preset.discriminators) != 1:
            raise InpaintkitError(
                f"objective {self.name!r} trains one discriminator; preset {preset.name!r} has "
                f"{sorted(preset.discriminators)}"
            )

    def build_networks(self) -> dict[str, TrainedNetwork]:
        nets = super().build_networks()
        for name in self.discriminator_names:
            module = nets[name].module
            if "features" not in inspect.signature(module.forward).parameters:
                raise InpaintkitError(
                    f"objective {self.name!r} needs a discriminator whose forward takes "
                    f"features=True (activations for feature matching), e.g. LaMaDiscriminator; "
                    f"{type(module).__name__} does not"
                )
        return nets

    def step(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict:
        opts, up = self.options, self.updater
        image, hole = batch["image"], batch["hole"]
        keep = flip_mask(hole)
        predicted = self.generate(up.module("generator"), batch)
        l1_valid, l1_hole = masked_l1(predicted, image, keep), masked_l1(predicted, image, hole)
        g_loss = opts.valid_weight * l1_valid + opts.hole_weight * l1_hole
        d_loss = r1 = adv = fm = torch.zeros((), device=image.device)
        disc = None
        if opts.adv_weight or opts.fm_weight:  # both 0: reconstruction only, no critic
            name = self.discriminator_names[0]
            disc = up.module(name)
            # 1. discriminator: non-saturating + R1 on reals, the hole of a prediction is fake
            real = image.detach().requires_grad_(True)
            real_logits = disc(torch.cat([real, hole], 1))
            r1 = r1_penalty(real_logits, real)
            fake_logits = disc(torch.cat([predicted.detach(), hole], 1))
            m = hole_on_grid(hole, fake_logits.shape[-2:])
            fake_term = F.softplus(fake_logits) * m + F.softplus(-fake_logits) * (1.0 - m)
            d_loss = F.softplus(-real_logits).mean() + fake_term.mean() + opts.r1_weight * r1
            up.update(name, d_loss)
            # 2. the generator's adversarial terms, discriminator frozen
            disc.requires_grad_(False)
            fake_logits, fake_features = disc(torch.cat([predicted, hole], 1), features=True)
            with torch.no_grad():
                _, real_features = disc(torch.cat([image, hole], 1), features=True)
            adv = generator_adversarial_loss(fake_logits, "nonsaturating")
            fm = feature_matching(fake_features, real_features)
            g_loss = g_loss + opts.adv_weight * adv + opts.fm_weight * fm
        up.update("generator", g_loss)
        if disc is not None:
            disc.requires_grad_(True)
        return {"g_loss": g_loss.detach(), "l1_valid": l1_valid.detach(),
                "l1_hole": l1_hole.detach(), "g_adv": adv.detach(), "fm": fm.detach(),
                "d_loss": d_loss.detach(), "r1": r1.detach()}  # fmt: skip
