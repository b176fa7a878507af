"""RealFill on our own conditional inpainting diffusion model (pixel space): the backend that
fits a LoRA adapter on its UNet2DModel and samples it with the ``inpaint-ddpm`` sampler."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

import torch

from ...errors import InpaintkitError
from ...models import ConditionalDiffusionModel
from ..conditional.ddpm import InpaintDDPM, InpaintDDPMOptions
from .fit import ConditionalLoss, FitImage, FitSettings, fit_lora
from .lora import LoraSettings, add_lora, load_adapter, save_adapter


class PixelBackend:
    """RealFill's fit and sampling for a ``ConditionalDiffusionModel`` (kind
    "conditional-diffusion"): LoRA on a copy of its UNet (the model itself is never changed),
    DDPM/DDIM sampling of the adapted copy through :class:`InpaintDDPM`'s machinery.

    model: the base model. options: the RealFill options (sampler knobs as inpaint-ddpm's).
    progress: progress bars for the fit and the sampler.
    """

    kind = "conditional-diffusion"

    def __init__(self, model: ConditionalDiffusionModel, options: object, progress: bool) -> None:
        self.base, self.options, self.progress = model, options, progress
        self.adapted: ConditionalDiffusionModel | None = None
        self.lora: LoraSettings | None = None

    @property
    def image_size(self) -> int:
        return self.base.image_size

    @property
    def source(self) -> str:
        return self.base.source

    @property
    def device(self) -> torch.device:
        return self.base.device

    @property
    def fitted(self) -> bool:
        return self.adapted is not None

    def fit(
        self, items: Sequence[FitImage], settings: FitSettings, lora: LoraSettings, *, seed: int
    ) -> dict[str, float]:
        """Fit a fresh adapter on ``items`` (see :func:`.fit.fit_lora`); returns its stats."""
        net = add_lora(self.base.unet, lora, seed=seed)
        loss = ConditionalLoss(self.base.betas, self.base.channels)
        stats = fit_lora(
            net, items, loss, self.image_size, settings, seed=seed, progress=self.progress
        )
        self._use(net, lora)
        return stats

    def _use(self, net: torch.nn.Module, lora: LoraSettings) -> None:
        net = net.eval().requires_grad_(False)
        self.adapted = ConditionalDiffusionModel(
            unet=net, config=self.base.config, source=f"{self.base.source}+realfill",
            card=self.base.card, channels=self.base.channels,
        )  # fmt: skip
        self.lora = lora

    def sampler(self, base: bool = False) -> InpaintDDPM:
        """The inpaint-ddpm sampler of the adapted model (of the base model when ``base``)."""
        if not base and self.adapted is None:
            raise InpaintkitError(
                "RealFill has no adapter yet: call fit(references, targets=...) first, or "
                "give a saved one (option adapter=FILE, CLI --adapter FILE)"
            )
        names = {f.name for f in fields(InpaintDDPMOptions)}
        options = InpaintDDPMOptions(**{n: getattr(self.options, n) for n in names})
        model = self.base if base else self.adapted
        return InpaintDDPM(options, model=model, progress=self.progress)

    def raw(
        self,
        known: torch.Tensor,
        keep: torch.Tensor,
        generators: list[torch.Generator],
        *,
        base: bool = False,
        callback: object = None,
    ) -> torch.Tensor:
        """Samples [B,3,H,W] in [-1,1] at the model's size, known pixels as the network made
        them (row i from generators[i])."""
        with torch.no_grad():
            return self.sampler(base).sample(
                known, keep, generators=generators, callback=callback, paste=False
            )

    def save_adapter(self, path: str | Path) -> Path:
        """Write the fitted adapter (see :func:`.lora.save_adapter`)."""
        if self.adapted is None or self.lora is None:
            raise InpaintkitError("RealFill has no fitted adapter to save: fit first")
        return save_adapter(path, {"unet": self.adapted.unet}, self.lora, self.base.source)

    def load_adapter(self, path: str | Path) -> dict:
        """Use a saved adapter (checked against this model); returns its metadata."""
        nets, metadata = load_adapter(path, {"unet": self.base.unet})
        self._use(nets["unet"].to(self.device), metadata["lora"])
        return metadata


__all__ = ["PixelBackend"]
