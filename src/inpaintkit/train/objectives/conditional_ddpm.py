"""The conditional inpainting diffusion objective (Stable Diffusion inpainting's recipe, in
pixel space): the UNet sees cat(x_t [C], hole [1] (1 = hole), masked image known * keep [C])
and learns eps with DDPM's L_simple (Ho et al. 2020, eq. 14; the hybrid loss for learned-variance
presets). The hole comes with each training item (``data.HoledDataset``); x_0 is noised over the
WHOLE image, as in SD inpainting, so the known region teaches the network too.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import Dataset

from ...errors import InpaintkitError
from ...io.tensors import flip_mask
from ...models import ConditionalDiffusionModel
from ...networks.presets import ConditionalPreset
from ..previews import ddpm_sample
from .base import TrainedNetwork, parse_objective_options, preview_rows
from .ddpm_prior import DDPMPrior, diffusion_config_of
from .holes import with_holes


@dataclass(frozen=True)
class ConditionalDDPMOptions:
    """holes: the hole generator of items without one (``masks.get_holes`` spec, e.g.
    "thin+medium+thick:2") ["lama-mixed"]."""

    holes: str = "lama-mixed"


def conditional_input(x_t: torch.Tensor, hole: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """The UNet input cat(x_t, hole, known * (1 - hole)) [B, 2C + 1, H, W] (SD inpainting order).
    x_t, known: [B, C, H, W]; hole: [B, 1, H, W], 1 = hole."""
    return torch.cat([x_t, hole, known * flip_mask(hole)], dim=1)


class _Conditioned(nn.Module):
    """A conditional UNet with its hole and known image fixed: ``net(x_t, t).sample``."""

    def __init__(self, unet: nn.Module, hole: torch.Tensor, known: torch.Tensor) -> None:
        super().__init__()
        self.unet, self.hole, self.known = unet, hole, known

    def forward(self, x_t: torch.Tensor, t: torch.Tensor):
        return self.unet(conditional_input(x_t, self.hole, self.known), t)


class ConditionalDDPM(DDPMPrior):
    """Objective "conditional-ddpm": trains network "unet" (with EMA) of a ConditionalPreset."""

    name = "conditional-ddpm"
    loss_names = ("loss",)
    preview_needs_data = True

    def __init__(self, preset: ConditionalPreset, options: dict | None = None) -> None:
        if getattr(preset, "kind", None) != "conditional-diffusion":
            raise InpaintkitError(
                f"objective {self.name!r} trains a conditional-diffusion preset (e.g. "
                f"'inpaint32-tiny'); {getattr(preset, 'name', preset)!r} is not one"
            )
        self._init_process(preset)
        self.options = parse_objective_options(ConditionalDDPMOptions, options, self.name)

    def build_networks(self) -> dict[str, TrainedNetwork]:
        return {"unet": TrainedNetwork(self.preset.build_unet())}

    def wrap_data(self, data: Dataset, seed: int) -> Dataset:
        return with_holes(data, self.options.holes, seed, self.preset, self.preset.in_channels)

    def step(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict:
        x_start, hole = batch["image"], batch["hole"]
        t, noise, x_t = self.noisy(x_start, generator)
        output = self.updater.module("unet")(conditional_input(x_t, hole, x_start), t).sample
        loss = self.loss_fn(output, noise, x_start, x_t, t)
        self.updater.update("unet", loss)
        return {"loss": loss.detach()}

    @torch.no_grad()
    def preview(
        self, networks: dict[str, nn.Module], batch: dict, *, num_samples: int, num_steps: int,
        seed: int,
    ) -> list[torch.Tensor]:  # fmt: skip
        """Three rows: the masked input (hole grey), the inpainted result (known pixels pasted
        back), the original; the fixed preview batch, seeded noise."""
        image, hole = batch["image"][:num_samples], batch["hole"][:num_samples]
        unet = networks["unet"]
        sample = ddpm_sample(
            _Conditioned(unet, hole, image),
            self.betas,
            tuple(image.shape),
            num_steps=num_steps,
            learned_variance=self.preset.learned_variance,
            generator=torch.Generator().manual_seed(seed),
            device=image.device,
        )
        return preview_rows(image, hole, sample)

    def to_model(self, networks: dict[str, nn.Module], *, source: str, card: str = ""):
        """A ``models.ConditionalDiffusionModel`` (kind "conditional-diffusion")."""
        return ConditionalDiffusionModel(
            unet=networks["unet"], config=diffusion_config_of(self.preset), source=source,
            card=card, channels=self.preset.in_channels,
        )  # fmt: skip
