"""Objective "pconv": the partial-convolution U-Net's losses (Liu et al. 2018, section 3.4).

L_total = valid_weight * L_valid + hole_weight * L_hole + tv_weight * L_tv with the paper's
weights 1, 6 and 0.1: L_hole and L_valid are the L1 distances over the hole and the known
pixels, each divided by the number of elements of the image (not of the region), and L_tv the
total variation of the composited output over the hole's 1-pixel dilation (see
:func:`~.feedforward_base.hole_tv`). No adversarial loss: the paper has none.

Departures: the paper's perceptual (0.05) and style (120 + 120) terms need a VGG-16 pretrained on
ImageNet, which does not exist offline here, so they are dropped (a network trained here could
stand in for VGG, but the style and perceptual weights were tuned on VGG's features: we do not
guess new ones); the paper's second stage (fine-tuning at learning rate 5e-5 with the encoder's
batch norm frozen) is not done, the loop's cosine decay lowers the learning rate instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ...io.tensors import flip_mask
from ...options import Options, option
from .feedforward_base import SURVEY_HOLES, FeedForwardObjective, hole_tv, image_normalised_l1


@dataclass(frozen=True)
class PartialConvOptions(Options):
    """The objective's knobs (the one option schema)."""

    holes: str = option(SURVEY_HOLES, help="hole generator of items without one (get_holes spec)")
    hole_weight: float = option(6.0, help="weight of L1 over the hole", min=0)
    valid_weight: float = option(1.0, help="weight of L1 over the known pixels", min=0)
    tv_weight: float = option(0.1, help="weight of the total variation on the dilated hole", min=0)


class PartialConv(FeedForwardObjective):
    """Objective "pconv" (see the module doc): the generator alone; any size on export."""

    name = "pconv"
    loss_names = ("loss", "l1_hole", "l1_valid", "tv")
    Options = PartialConvOptions
    needs_discriminators = False

    def step(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict:
        opts = self.options
        image, hole = batch["image"], batch["hole"]
        output, comp = self.composite(self.updater.module("generator"), batch)
        l_hole = image_normalised_l1(output, image, hole)
        l_valid = image_normalised_l1(output, image, flip_mask(hole))
        tv = hole_tv(comp, hole)
        loss = opts.hole_weight * l_hole + opts.valid_weight * l_valid + opts.tv_weight * tv
        self.updater.update("generator", loss)
        return {"loss": loss.detach(), "l1_hole": l_hole.detach(), "l1_valid": l_valid.detach(),
                "tv": tv.detach()}  # fmt: skip
