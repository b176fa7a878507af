"""The DDPM prior objective: an unconditional diffusion prior, trained as Ho et al. 2020.

Algorithm 1 -- draw x_0 from the data, t ~ U{0..T-1}, eps ~ N(0, I),
x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps (eq. 4), and minimise
L_simple = ||eps - eps_theta(x_t, t)||^2 (eq. 14); for learned-variance presets Improved DDPM's
hybrid loss L_simple + 0.001 L_vlb (Nichol & Dhariwal 2021; ``train.losses``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from ...diffusion.process import GaussianDiffusion
from ...diffusion.schedules import make_betas
from ...errors import InpaintkitError
from ...networks.presets import Preset
from ..losses import LossFn, epsilon_mse_loss, hybrid_loss
from ..previews import prior_samples
from ..stream import as_item_dict
from .base import ObjectiveBase, TrainedNetwork, parse_objective_options


def select_loss_fn(preset: Preset) -> LossFn:
    """The loss ``loss_fn(model_output, noise, x_start, x_t, t) -> scalar`` for ``preset``: DDPM's
    L_simple, or Improved DDPM's hybrid loss for learned-variance presets (train/losses.py)."""
    if preset.learned_variance:
        betas = make_betas(preset.beta_schedule, preset.num_train_timesteps)
        return hybrid_loss(GaussianDiffusion(betas))
    return epsilon_mse_loss


def q_sample(
    x_start: torch.Tensor,
    t: torch.Tensor,
    noise: torch.Tensor,
    sqrt_alphas_cumprod: torch.Tensor,
    sqrt_one_minus_alphas_cumprod: torch.Tensor,
) -> torch.Tensor:
    """x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps (DDPM eq. 4). x_start, noise: [B, C, H, W];
    t: [B] long; the two tables: float32 [T] on the same device."""
    shape = (-1,) + (1,) * (x_start.ndim - 1)
    return (
        sqrt_alphas_cumprod[t].view(shape) * x_start
        + sqrt_one_minus_alphas_cumprod[t].view(shape) * noise
    )


def diffusion_config_of(preset: Preset):
    """The ``models.spec.DiffusionConfig`` a model trained with ``preset`` is saved with."""
    from ...models.spec import DiffusionConfig

    return DiffusionConfig(**preset.process_config())


def check_image_items(data: Dataset, preset, what: str) -> None:
    """InpaintkitError unless item 0 of ``data`` has an "image" of shape (C, R, R)."""
    if len(data) == 0:
        raise InpaintkitError("the training data set is empty")
    first = as_item_dict(data[0])
    image = first.get("image")
    channels = getattr(preset, "in_channels", getattr(preset, "channels", 3))
    expected = (channels, preset.resolution, preset.resolution)
    if not isinstance(image, torch.Tensor) or tuple(image.shape) != expected:
        got = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise InpaintkitError(
            f"preset {preset.name!r} trains {what} on float tensors of shape {expected} in "
            f"[-1, 1]; the data gives {got}"
        )


@dataclass(frozen=True)
class DDPMPriorOptions:
    """The DDPM prior objective has no knobs of its own (the preset fixes the process)."""


class DDPMPrior(ObjectiveBase):
    """Objective "ddpm-prior": trains network "unet" (with EMA) of a :class:`Preset`.

    One step draws t and eps from the loop's generator, in that order, then the network's
    dropout draws from torch's global RNG (both checkpointed, so resume is exact).
    """

    name = "ddpm-prior"
    loss_names = ("loss",)
    preview_needs_data = False

    def __init__(self, preset: Preset, options: dict | None = None) -> None:
        if not isinstance(preset, Preset) or preset.kind != "prior":
            raise InpaintkitError(
                f"objective {self.name!r} trains a prior preset; {preset.name!r} is a "
                f"{preset.kind} preset"
            )
        self.options = parse_objective_options(DDPMPriorOptions, options, self.name)
        self._init_process(preset)

    def _init_process(self, preset: Preset) -> None:
        """The preset, its loss and the diffusion tables (on the CPU until :meth:`bind`)."""
        self.preset = preset
        self.loss_fn = select_loss_fn(preset)
        self.betas = make_betas(preset.beta_schedule, preset.num_train_timesteps)
        abar = torch.tensor(np.cumprod(1.0 - self.betas), dtype=torch.float64)
        self._tables = (abar.sqrt().float(), (1.0 - abar).sqrt().float())

    def build_networks(self) -> dict[str, TrainedNetwork]:
        return {"unet": TrainedNetwork(self.preset.build_unet())}

    def bind(self, updater) -> None:
        super().bind(updater)
        self._tables = tuple(table.to(updater.device) for table in self._tables)

    def wrap_data(self, data: Dataset, seed: int) -> Dataset:
        check_image_items(data, self.preset, "a prior")
        return data

    def noisy(self, x_start: torch.Tensor, generator: torch.Generator):
        """(t, noise, x_t) for a batch: t ~ U{0..T-1} then eps ~ N(0, I), both drawn from
        ``generator`` (on its device) and moved to x_start's device."""
        device = x_start.device
        t = torch.randint(
            0,
            self.preset.num_train_timesteps,
            (x_start.shape[0],),
            generator=generator,
            device=generator.device,
        ).to(device)
        noise = torch.randn(x_start.shape, generator=generator, device=generator.device)
        noise = noise.to(device)
        return t, noise, q_sample(x_start, t, noise, *self._tables)

    def step(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict:
        x_start = batch["image"]
        t, noise, x_t = self.noisy(x_start, generator)
        output = self.updater.module("unet")(x_t, t).sample
        loss = self.loss_fn(output, noise, x_start, x_t, t)
        self.updater.update("unet", loss)
        return {"loss": loss.detach()}

    def preview(
        self, networks: dict[str, nn.Module], batch: dict | None, *, num_samples: int,
        num_steps: int, seed: int,
    ) -> torch.Tensor:  # fmt: skip
        """``num_samples`` unconditional samples (same starting noise at every preview)."""
        return prior_samples(
            networks["unet"], self.betas, num_samples=num_samples, num_steps=num_steps, seed=seed
        )

    def to_model(self, networks: dict[str, nn.Module], *, source: str, card: str = ""):
        """A ``models.DiffusionModel`` (kind "prior") of the trained UNet."""
        from ...models.model import DiffusionModel

        return DiffusionModel(
            unet=networks["unet"], config=diffusion_config_of(self.preset), source=source,
            card=card,
        )  # fmt: skip
