"""StrDiffusion's training (htyjers/StrDiffusion: the structure, texture and discriminator
trainers, re-written as one objective that updates all three networks every step).

Per batch (images in [0, 1], the IR-SDE's units; keep = 1 - hole; one t ~ U{2..T} per row,
shared by the three losses as in the public texture and discriminator trainers):

1. structure: x_0 = gray image, mu_s = Canny edges of the known region * keep
   (:func:`inpaintkit.io.edges.known_edges`); s_t ~ q(s_t | s_0); the network predicts the noise
   from (s_t, mu_s, t); loss = L1 between the reverse-step mean it implies and the optimal
   s_{t-1} (IR-SDE eq. 13), hole pixels weighted ``hole_weight`` (10) and known pixels 1, the
   mean over all pixels (the public ``MatchingLoss``: lossu + 10 * lossm);
2. texture: x_0 = RGB, mu_x = RGB * keep; the same loss; the network is guided by the structure
   state derived from ground truth, the optimal s_{t-1} of step 1's s_t (the public code's
   ``S_optimum``), never by the structure network's output;
3. discriminator (the generators play no part; Adam 1e-4, betas (0.5, 0.99)): real = the
   optimal x_{t-1}, fake = x_t, both with the structure s_{t-1}; non-saturating loss
   softplus(-D(real)) + softplus(D(fake)) plus a triplet margin term
   max(|D(a) - D(real)| - |D(a) - D(fake)| + margin, 0) whose anchor a = optimal x_{t-1} * keep
   + x_t * hole is real where known and noisy in the hole (``nn.TripletMarginLoss()``, margin 1,
   on the one-logit outputs), weighted ``triplet_weight`` (1 as the public code).

On the discriminator's start: DDGAN's design initialises its last convolutions at zero, so real
and fake logits begin equal, and the triplet distances |D(a) - D(real)| begin near 0, where their
gradient is a sign (+-1) that changes with every draw: it slows the start. Measured on one fixed
batch (16 px, width 4, Adam 1e-3, betas (0.5, 0.99)): with the GAN term alone the loss is 1.387
after 25 steps and 1.252 after 100; with the triplet term at weight 1 it is 2.386 (unchanged)
after 25 steps and 2.070 (GAN 1.313, triplet 0.756) after 100. Larger learning rates (3e-3,
1e-2) left it undecided for 100 steps. ``triplet_weight`` (1: the public code) is a knob for it.

The model exported is a BundleModel (kind "bundle") of the three networks (the EMA weights of
the two UNets, the raw discriminator) and the preset's process config.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from ...diffusion.irsde import IRSDE
from ...diffusion.samplers.strdiffusion import StrNets, StrWalk, sample_strdiffusion
from ...errors import InpaintkitError
from ...io.edges import canny_sigma, gray, known_edges
from ...io.tensors import flip_mask
from ...models import BundleModel
from ...networks import build_network
from ...options import Options, option
from .base import ObjectiveBase, TrainedNetwork, parse_objective_options, preview_rows
from .holes import with_holes

NETWORK_NAMES = ("structure", "texture", "discriminator")


@dataclass(frozen=True)
class StrDiffusionOptions(Options):
    """The objective's knobs, checked by the one option schema (:mod:`inpaintkit.options`)."""

    holes: str = option("lama-mixed", help="hole generator of items without one (get_holes spec)")
    hole_weight: float = option(10.0, help="L1 weight of hole pixels (known ones: 1)", min=0)
    d_lr: float = option(
        1e-4, help="the discriminator's learning rate (Adam, betas 0.5, 0.99)", min=0,
        min_exclusive=True,
    )  # fmt: skip
    triplet_margin: float = option(1.0, help="margin of the discriminator's triplet term", min=0)
    triplet_weight: float = option(
        1.0, help="weight of the triplet term (1: the public code; see the module docstring)", min=0
    )


def weighted_l1(
    output: torch.Tensor, target: torch.Tensor, keep: torch.Tensor, hole_weight: float
) -> torch.Tensor:
    """mean(|output - target| * (keep + hole_weight * (1 - keep))) over every element."""
    weight = keep + hole_weight * flip_mask(keep)
    return ((output - target).abs() * weight).mean()


def discriminator_losses(
    real: torch.Tensor, fake: torch.Tensor, anchor: torch.Tensor, margin: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(softplus(-real) + softplus(fake) means, the triplet term) from logits [B, 1]."""
    gan = F.softplus(-real).mean() + F.softplus(fake).mean()
    return gan, F.triplet_margin_loss(anchor, real, fake, margin=margin)


class StrDiffusion(ObjectiveBase):
    """Objective "strdiffusion": networks "structure" and "texture" (with EMA) and
    "discriminator" (no EMA) of a BundlePreset whose process is "strdiffusion"."""

    name = "strdiffusion"
    loss_names = ("structure", "texture", "d_loss", "d_triplet")
    preview_needs_data = True

    def __init__(self, preset, options: dict | None = None) -> None:
        process = getattr(preset, "process", {}) or {}
        if getattr(preset, "kind", None) != "bundle" or process.get("method") != "strdiffusion":
            raise InpaintkitError(
                f"objective {self.name!r} trains a StrDiffusion bundle preset (e.g. "
                f"'strdiffusion32'); {getattr(preset, 'name', preset)!r} is not one"
            )
        missing = [n for n in NETWORK_NAMES if n not in preset.networks]
        if missing:
            raise InpaintkitError(f"preset {preset.name!r} lacks the network(s) {missing}")
        self.preset = preset
        self.options = parse_objective_options(StrDiffusionOptions, options, self.name)
        self.process = IRSDE.from_config(process)
        self.sigma = float(process.get("canny_sigma", canny_sigma(preset.resolution)))

    def build_networks(self) -> dict[str, TrainedNetwork]:
        def build(name: str) -> nn.Module:
            spec = self.preset.networks[name]
            return build_network(spec["class"], spec.get("config", {}))

        return {
            "structure": TrainedNetwork(build("structure")),
            "texture": TrainedNetwork(build("texture")),
            "discriminator": TrainedNetwork(
                build("discriminator"),
                lr=self.options.d_lr,
                betas=(0.5, 0.99),
                weight_decay=0.0,
                ema=False,
            ),
        }

    def wrap_data(self, data: Dataset, seed: int) -> Dataset:
        return with_holes(data, self.options.holes, seed, self.preset, self.preset.channels)

    def inputs(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """x0 (RGB in [0, 1]), s0 (gray), keep, mu_x, mu_s of a batch."""
        x0 = (batch["image"] + 1) / 2
        keep = flip_mask(batch["hole"])
        s0 = gray(x0)
        mu_s = known_edges(s0, keep, self.sigma) * keep
        return {"x0": x0, "s0": s0, "keep": keep, "mu_x": x0 * keep, "mu_s": mu_s}

    def draw(self, batch: dict[str, torch.Tensor], generator: torch.Generator):
        """(t [B] uniform in 2..T, structure noise, texture noise) from ``generator``."""
        image, device = batch["image"], generator.device
        t = torch.randint(2, self.process.num_steps + 1, (image.shape[0],), generator=generator,
                          device=device)  # fmt: skip
        noise_s = torch.randn(batch["hole"].shape, generator=generator, device=device)
        noise_x = torch.randn(image.shape, generator=generator, device=device)
        return t.to(image.device), noise_s.to(image.device), noise_x.to(image.device)

    def losses(self, nets, batch, t, noise_s, noise_x) -> dict[str, torch.Tensor]:
        """The losses of the module docstring for the networks in ``nets`` (name -> module; any
        of the three) at timesteps t with the given noises: "structure", "texture", and "d_gan"
        and "d_triplet" for the discriminator. They are independent (the texture is guided by
        the true structure state and the discriminator sees no network output), so one step may
        update the networks in any order."""
        p, opts, out = self.process, self.options, {}
        v = self.inputs(batch)
        x0, s0, keep, mu_x, mu_s = v["x0"], v["s0"], v["keep"], v["mu_x"], v["mu_s"]
        s_t = p.q_sample(s0, mu_s, t, noise_s)
        s_prev = p.optimal_prev(s_t, s0, mu_s, t)
        x_t = p.q_sample(x0, mu_x, t, noise_x)
        x_prev = p.optimal_prev(x_t, x0, mu_x, t)
        if "structure" in nets:  # 1. structure
            eps = nets["structure"](s_t, mu_s, t)
            mean = p.reverse_mean(s_t, mu_s, eps, t)
            out["structure"] = weighted_l1(mean, s_prev, keep, opts.hole_weight)
        if "texture" in nets:  # 2. texture, guided by the ground-truth structure state s_{t-1}
            eps = nets["texture"](x_t, mu_x, t, s_prev)
            mean = p.reverse_mean(x_t, mu_x, eps, t)
            out["texture"] = weighted_l1(mean, x_prev, keep, opts.hole_weight)
        if "discriminator" in nets:  # 3. real x_{t-1}, fake x_t, anchor real where known
            disc = nets["discriminator"]
            anchor_in = x_prev * keep + x_t * flip_mask(keep)
            real, fake, anchor = (disc(x, s_prev, t) for x in (x_prev, x_t, anchor_in))
            gan, triplet = discriminator_losses(real, fake, anchor, opts.triplet_margin)
            out.update(d_gan=gan, d_triplet=triplet)
        return out

    def discriminator_loss(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        """d_gan + triplet_weight * d_triplet."""
        return losses["d_gan"] + self.options.triplet_weight * losses["d_triplet"]

    def step(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict:
        up = self.updater
        t, noise_s, noise_x = self.draw(batch, generator)
        nets = {name: up.module(name) for name in NETWORK_NAMES}
        losses = self.losses(nets, batch, t, noise_s, noise_x)
        d_loss = self.discriminator_loss(losses)
        up.update("structure", losses["structure"])
        up.update("texture", losses["texture"])
        up.update("discriminator", d_loss)
        return {
            "structure": losses["structure"].detach(),
            "texture": losses["texture"].detach(),
            "d_loss": d_loss.detach(),
            "d_triplet": losses["d_triplet"].detach(),
        }

    @torch.no_grad()
    def preview(
        self, networks: dict[str, nn.Module], batch: dict, *, num_samples: int, num_steps: int,
        seed: int,
    ) -> list[torch.Tensor]:  # fmt: skip
        """Three rows: the masked input, the inpainted result, the original. The sampler runs
        the model's T steps without resampling (num_steps is ignored: the networks know the
        integer timesteps of T steps only), seeded per row."""
        batch = {k: v[:num_samples] for k, v in batch.items()}
        v = self.inputs(batch)
        generators = [torch.Generator().manual_seed(seed + i) for i in range(len(v["x0"]))]
        nets = StrNets(networks["structure"], networks["texture"], networks["discriminator"])
        out, _ = sample_strdiffusion(
            nets, self.process, known=v["x0"], keep=v["keep"], structure=v["s0"],
            edges=v["mu_s"], walk=StrWalk(resampling="none"), generator=generators,
            progress=False,
        )  # fmt: skip
        return preview_rows(batch["image"], batch["hole"], (out * 2 - 1).clamp(-1, 1))

    def to_model(self, networks: dict[str, nn.Module], *, source: str, card: str = ""):
        """A ``models.BundleModel`` (kind "bundle") of the three networks and the process."""
        process = {"image_size": self.preset.resolution, **self.preset.process}
        return BundleModel({n: networks[n] for n in NETWORK_NAMES}, process, source, card)
