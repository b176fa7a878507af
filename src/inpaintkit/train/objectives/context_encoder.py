"""Objective "context-encoder": Context Encoders' joint loss (Pathak et al. 2016, section 3.2).

The generator F (``networks.context_encoder.ContextEncoderGenerator``) gets the masked image and
the hole; M = the hole. Per step (DCGAN's alternation, Goodfellow et al. 2014 with k = 1):

1. D (``DCGANDiscriminator``): L_D = E[softplus(-D(x))] + E[softplus(D(comp))], the binary cross
   entropy of the paper's L_adv, with comp = F(...) * M + x * (1 - M) detached;
2. F: L = rec_weight * L_rec + adv_weight * L_adv with L_rec = ||M * (x - F(...))||^2 as a mean
   over the hole's values (eq. 1), L_adv = E[softplus(-D(comp))] (the non-saturating form of
   eq. 2), weights 0.999 and 0.001 (the paper's).

Departures: D judges the whole composited image (the paper's centre-region model shows it only
the generated centre; our holes are free-form); the optimizer is the loop's AdamW with warm-up and
cosine decay (the paper: Adam, with the discriminator's learning rate 10 times lower than the
encoder-decoder's: pass ``d_lr`` = lr / 10 to follow it).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ...options import Options, option
from .adversarial import discriminator_loss, generator_adversarial_loss
from .feedforward_base import SURVEY_HOLES, FeedForwardObjective, masked_mse


@dataclass(frozen=True)
class ContextEncoderOptions(Options):
    """The objective's knobs (the one option schema)."""

    holes: str = option(SURVEY_HOLES, help="hole generator of items without one (get_holes spec)")
    rec_weight: float = option(0.999, help="weight of the masked L2 reconstruction", min=0)
    adv_weight: float = option(0.001, help="weight of the adversarial term", min=0)
    d_lr: float = option(0.0, help="the discriminator's learning rate; 0 = TrainConfig's lr",
                         min=0)  # fmt: skip


class ContextEncoder(FeedForwardObjective):
    """Objective "context-encoder" (see the module doc); a fixed-size model (image_size = the
    preset's resolution: the channel-wise FC layer)."""

    name = "context-encoder"
    loss_names = ("g_loss", "l2_hole", "g_adv", "d_loss")
    Options = ContextEncoderOptions
    any_size = False

    def step(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict:
        opts, up = self.options, self.updater
        image, hole = batch["image"], batch["hole"]
        output, comp = self.composite(up.module("generator"), batch)
        d_total = torch.zeros((), device=image.device)
        for name in self.discriminator_names:  # 1. the discriminator
            disc = up.module(name)
            d_loss = discriminator_loss(disc(image), disc(comp.detach()), "nonsaturating")
            up.update(name, d_loss)
            d_total = d_total + d_loss.detach()
        adv = torch.zeros((), device=image.device)
        for name in self.discriminator_names:  # 2. the encoder-decoder, D frozen
            disc = up.module(name).requires_grad_(False)
            adv = adv + generator_adversarial_loss(disc(comp), "nonsaturating")
        rec = masked_mse(output, image, hole)
        g_loss = opts.rec_weight * rec + opts.adv_weight * adv
        up.update("generator", g_loss)
        for name in self.discriminator_names:
            up.module(name).requires_grad_(True)
        return {"g_loss": g_loss.detach(), "l2_hole": rec.detach(), "g_adv": adv.detach(),
                "d_loss": d_total}  # fmt: skip
