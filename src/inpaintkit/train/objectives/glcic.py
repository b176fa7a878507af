"""Objective "glcic": Globally and Locally Consistent Image Completion's three training phases
(Iizuka et al. 2017, section 3.3 and Algorithm 1).

With C the completion network, D the context discriminator (``networks.glcic``: a global branch
on the whole image and a local branch on a patch around the hole), M_c the hole and the
completed image comp = C(x, M_c) * M_c + x * (1 - M_c):

- phase 1 (the first ``phase1`` x steps, the paper's T_C): C alone, with the weighted MSE
  L(x, M_c) = ||M_c * (C(x, M_c) - x)||^2 (eq. 1; here a mean over the hole's values);
- phase 2 (the next ``phase2`` x steps, T_D): D alone, C frozen: the binary cross entropy of
  real images against completed ones, E[softplus(-D(x))] + E[softplus(D(comp))];
- phase 3 (the rest): both, every step D's update then C's with
  L = MSE + alpha * E[softplus(-D(comp))], alpha = 0.0004 (eq. 3's non-saturating form).

D sees (image, patch): the local patch is ``local_size`` square (the discriminator's config, 16
at 32x32, half the image as the paper's 128 of 256) centred on the hole's bounding box and
shifted inside the image (:func:`~inpaintkit.networks.glcic.local_boxes`); a real image is cut
at the same place as its completion.

The paper's phases are 90,000 + 10,000 of 500,000 iterations: phase1 0.18, phase2 0.02 by
default. They are fractions of the run's ``steps`` (the loop's ``total_steps``), counted by the
objective (its state, saved in every checkpoint, so a resume continues in the same phase); a
resume that raises ``steps`` moves the boundaries with it.

Departures: AdamW (the loop's) instead of ADADELTA; the paper's Poisson blending of the output
is not done (the wrapper pastes the known pixels back, nothing more).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ...errors import InpaintkitError
from ...networks.glcic import crop_patches, local_boxes
from ...options import Options, option
from .adversarial import discriminator_loss, generator_adversarial_loss
from .feedforward_base import SURVEY_HOLES, FeedForwardObjective, masked_mse


@dataclass(frozen=True)
class GLCICOptions(Options):
    """The objective's knobs (the one option schema)."""

    holes: str = option(SURVEY_HOLES, help="hole generator of items without one (get_holes spec)")
    phase1: float = option(0.18, help="fraction of the steps training C alone (MSE)", min=0,
                           max=1)  # fmt: skip
    phase2: float = option(0.02, help="fraction of the steps then training D alone", min=0,
                           max=1)  # fmt: skip
    alpha: float = option(0.0004, help="weight of the adversarial term in phase 3", min=0)
    d_lr: float = option(0.0, help="the discriminator's learning rate; 0 = TrainConfig's lr",
                         min=0)  # fmt: skip

    def check(self) -> None:
        if self.phase1 + self.phase2 > 1:
            raise InpaintkitError(
                f"phase1 + phase2 must be <= 1 (fractions of the steps), got "
                f"{self.phase1} + {self.phase2}"
            )


def phase_at(step: int, total: int, phase1: float, phase2: float) -> int:
    """The GLCIC phase (1, 2 or 3) of step ``step`` (0-based) of ``total``: 1 below
    round(phase1 * total), 2 below that plus round(phase2 * total), else 3."""
    end1 = round(phase1 * total)
    end2 = end1 + round(phase2 * total)
    return 1 if step < end1 else 2 if step < end2 else 3


class GLCIC(FeedForwardObjective):
    """Objective "glcic" (see the module doc): "generator" and "d_<name>" (one context
    discriminator); any size on export. State: the number of steps taken."""

    name = "glcic"
    loss_names = ("g_loss", "mse_hole", "g_adv", "d_loss", "phase")
    Options = GLCICOptions

    def __init__(self, preset, options: dict | None = None, *, network_factory=None) -> None:
        super().__init__(preset, options, network_factory=network_factory)
        if len(self.discriminator_names) != 1:
            raise InpaintkitError(
                f"objective 'glcic' trains one context discriminator; preset {preset.name!r} "
                f"has {len(self.discriminator_names)}"
            )
        config = next(iter(preset.discriminators.values())).get("config", {})
        self.local_size = int(config.get("local_size", preset.resolution // 2))
        self.steps_done = 0

    def phase(self) -> int:
        """The phase of the next step (needs the loop's ``total_steps``: call after bind)."""
        total = getattr(self.updater, "total_steps", None)
        if total is None:
            raise InpaintkitError("objective 'glcic' needs the loop's total_steps (bind it first)")
        return phase_at(self.steps_done, int(total), self.options.phase1, self.options.phase2)

    def judge(self, disc: torch.nn.Module, images: torch.Tensor, boxes: torch.Tensor):
        """D's logits [B, 1] for images [B,C,H,W] and their patches at ``boxes``."""
        return disc(images, crop_patches(images, boxes, self.local_size))

    def step(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict:
        up, phase = self.updater, self.phase()
        image, hole = batch["image"], batch["hole"]
        name = self.discriminator_names[0]
        with torch.set_grad_enabled(phase != 2):  # phase 2: C frozen
            output, comp = self.composite(up.module("generator"), batch)
        boxes = local_boxes(hole, self.local_size)
        zero = torch.zeros((), device=image.device)
        d_loss, adv, g_loss = zero, zero, zero
        if phase >= 2:  # D: real images against completed ones
            disc = up.module(name)
            fake = comp.detach()
            d_loss = discriminator_loss(
                self.judge(disc, image, boxes), self.judge(disc, fake, boxes), "nonsaturating"
            )
            up.update(name, d_loss)
        mse = masked_mse(output, image, hole)
        if phase != 2:  # C: MSE, plus alpha x the adversarial term in phase 3
            g_loss = mse
            if phase == 3:
                disc = up.module(name).requires_grad_(False)
                adv = generator_adversarial_loss(self.judge(disc, comp, boxes), "nonsaturating")
                g_loss = mse + self.options.alpha * adv
            up.update("generator", g_loss)
            up.module(name).requires_grad_(True)
        self.steps_done += 1
        return {"g_loss": g_loss.detach(), "mse_hole": mse.detach(), "g_adv": adv.detach(),
                "d_loss": d_loss.detach(), "phase": float(phase)}  # fmt: skip

    def state_dict(self) -> dict:
        """{"steps_done": int}: where the phases stand."""
        return {"steps_done": self.steps_done}

    def load_state_dict(self, state: dict) -> None:
        self.steps_done = int(state.get("steps_done", 0))
