"""Kind "conditional-diffusion": a diffusion model whose network also sees the hole.

The network's input is ``cat([x_t, hole, masked], dim=1)``: the noisy image (C channels), the
hole mask (1 channel, 1 = HOLE) and the masked image (C channels, ``known * keep``, the hole
zeroed), in Stable Diffusion inpainting's order. Its output is what a prior's is (C channels,
or 2C with learned variance).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import InpaintkitError
from ..io.tensors import masked_input
from .model import DiffusionModel
from .runtime import Runtime
from .spec import DiffusionConfig


@dataclass(eq=False)
class ConditionalDiffusionModel(DiffusionModel):
    """A conditional inpainting diffusion model (see the module docstring).

    channels: image channels C, stored in the checkpoint (never inferred: the network's input
    has 2C + 1 channels, checked here). Everything else as :class:`DiffusionModel`; its
    denoiser takes the conditioning as keywords: ``denoiser(x_t, t, hole=..., masked=...)``
    (see :meth:`conditioning`).
    """

    kind = "conditional-diffusion"

    channels: int = 3

    def __post_init__(self) -> None:
        in_channels = int(self.unet.config.in_channels)
        if in_channels != 2 * self.channels + 1:
            raise InpaintkitError(
                f"a conditional diffusion network on {self.channels}-channel images needs "
                f"{2 * self.channels + 1} input channels (image, hole, masked image); this one "
                f"has {in_channels}"
            )

    def process_config(self) -> dict:
        return {**super().process_config(), "channels": self.channels}

    @classmethod
    def from_networks(
        cls, networks: dict, process: dict, *, source: str = "", card: str = ""
    ) -> ConditionalDiffusionModel:
        if "channels" not in process:
            raise InpaintkitError(f"{source}: a conditional-diffusion file must state 'channels'")
        config = DiffusionConfig.from_dict(process["diffusion"])
        return cls(networks["unet"], config, source, card, channels=int(process["channels"]))

    @staticmethod
    def conditioning(known: torch.Tensor, keep: torch.Tensor) -> dict[str, torch.Tensor]:
        """{"hole": [B,1,H,W] 1 = hole, "masked": known * keep [B,C,H,W]}: the keyword
        arguments of this model's denoiser, from known [B,C,H,W] in [-1,1] and keep [B,1,H,W]
        (1 = known)."""
        masked, hole = masked_input(known, keep)
        return {"hole": hole, "masked": masked}

    def _net(self, runtime: Runtime):
        """``net(x, t, class_labels=None, *, hole, masked)``: concatenates [x, hole, masked]."""
        inner = super()._net(runtime)

        def net(
            x: torch.Tensor,
            t: torch.Tensor,
            class_labels: torch.Tensor | None = None,
            *,
            hole: torch.Tensor,
            masked: torch.Tensor,
        ) -> torch.Tensor:
            return inner(torch.cat([x, hole.to(x), masked.to(x)], dim=1), t, class_labels)

        return net
