"""A loaded diffusion model: the network plus what is needed to interpret its outputs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from diffusers import UNet2DModel

from ..diffusion.denoiser import Denoiser
from ..diffusion.schedules import make_betas
from .spec import DiffusionConfig


@dataclass
class DiffusionModel:
    """A diffusers UNet2DModel and the training process it was trained on.

    unet: the network; called with the ORIGINAL training timestep index (DESIGN rule 3).
    config: the diffusion process and output parameterisation.
    source: where it came from (a path, a hub id, "default:<name>"), for logs and saved configs.
    card: the model card text, when the checkpoint carries one.
    """

    unet: UNet2DModel
    config: DiffusionConfig = field(default_factory=DiffusionConfig)
    source: str = ""
    card: str = ""

    @property
    def image_size(self) -> int:
        size = self.unet.config.sample_size
        return int(size[0] if isinstance(size, (list, tuple)) else size)

    @property
    def channels(self) -> int:
        return int(self.unet.config.in_channels)

    @property
    def num_classes(self) -> int | None:
        return self.unet.config.num_class_embeds

    @property
    def betas(self) -> np.ndarray:
        """Training betas, float64 [T]."""
        c = self.config
        return make_betas(c.beta_schedule, c.num_train_timesteps, c.beta_start, c.beta_end)

    @property
    def device(self) -> torch.device:
        return next(self.unet.parameters()).device

    def to(self, device: str | torch.device) -> DiffusionModel:
        self.unet.to(device)
        return self

    def denoiser(self) -> Denoiser:
        """The network wrapped for the samplers (eps and variance values from raw outputs)."""
        unet = self.unet

        def net(x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
            return unet(x, t, class_labels=labels).sample

        return Denoiser(
            net,
            prediction=self.config.prediction,
            learned_variance=self.config.learned_variance,
            alphas_cumprod=np.cumprod(1.0 - self.betas),
        )

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.unet.parameters())
