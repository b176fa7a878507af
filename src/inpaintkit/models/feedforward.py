"""Kinds "feedforward" (one generator call) and "bundle" (several networks, own process)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ..errors import InpaintkitError
from .kinds import ModelBase


@dataclass(eq=False)
class FeedForwardModel(ModelBase):
    """Kind "feedforward": a generator that fills the hole in one call.

    generator: ``generator(masked [B,C,H,W] in [-1,1] with the hole zeroed, hole [B,1,H,W]
        1 = hole, *extras in the order of ``extra_inputs``) -> image [B,C,H,W] in [-1,1]``.
    extra_inputs: names of the extra input tensors (e.g. ("sketch",)), each [B,e,H,W].
    multiple: input sides must be multiples of it; :meth:`fill` pads (replicating the border)
        and crops back.
    image_size: the training size, or None (any size).
    """

    kind = "feedforward"

    generator: torch.nn.Module
    extra_inputs: tuple[str, ...] = ()
    multiple: int = 1
    image_size: int | None = None
    source: str = ""
    card: str = ""

    def __post_init__(self) -> None:
        self.extra_inputs = tuple(self.extra_inputs)
        if self.multiple < 1:
            raise InpaintkitError(f"multiple must be >= 1, not {self.multiple}")

    @property
    def channels(self) -> int:
        return int(getattr(self.generator, "config", {}).get("channels", 3))

    def networks(self) -> dict[str, torch.nn.Module]:
        return {"generator": self.generator}

    def process_config(self) -> dict:
        return {
            "extra_inputs": list(self.extra_inputs),
            "multiple": self.multiple,
            "image_size": self.image_size,
        }

    @classmethod
    def from_networks(
        cls, networks: dict, process: dict, *, source: str = "", card: str = ""
    ) -> FeedForwardModel:
        return cls(
            networks["generator"],
            tuple(process.get("extra_inputs", ())),
            int(process.get("multiple", 1)),
            process.get("image_size"),
            source,
            card,
        )

    @torch.no_grad()
    def fill(self, masked: torch.Tensor, hole: torch.Tensor, *extras: torch.Tensor) -> torch.Tensor:
        """The generator's image [B,C,H,W] in [-1,1] for masked [B,C,H,W] (hole zeroed), hole
        [B,1,H,W] (1 = hole) and one extra tensor per name in ``extra_inputs``; any H, W (padded
        to ``multiple`` here). Known pixels are NOT pasted back (the wrapper does that once)."""
        if len(extras) != len(self.extra_inputs):
            raise InpaintkitError(
                f"this model takes {len(self.extra_inputs)} extra input(s) "
                f"{list(self.extra_inputs)}; got {len(extras)}"
            )
        h, w = masked.shape[-2:]
        pad_h, pad_w = -h % self.multiple, -w % self.multiple
        inputs = [masked, hole, *extras]
        if pad_h or pad_w:
            inputs = [F.pad(x, (0, pad_w, 0, pad_h), mode="replicate") for x in inputs]
        return self.generator(*inputs)[..., :h, :w]

    __call__ = fill


@dataclass(eq=False)
class BundleModel(ModelBase):
    """Kind "bundle": several networks and a process of their own (e.g. StrDiffusion's
    structure and texture networks and discriminator).

    nets: name -> module. process: the process config, JSON-able (its ``image_size`` entry,
    when present, is the model's training size).
    """

    kind = "bundle"

    nets: dict[str, torch.nn.Module]
    process: dict = field(default_factory=dict)
    source: str = ""
    card: str = ""

    @property
    def image_size(self) -> int | None:
        size = self.process.get("image_size")
        return None if size is None else int(size)

    def networks(self) -> dict[str, torch.nn.Module]:
        return dict(self.nets)

    def process_config(self) -> dict:
        return dict(self.process)

    @classmethod
    def from_networks(
        cls, networks: dict, process: dict, *, source: str = "", card: str = ""
    ) -> BundleModel:
        return cls(dict(networks), dict(process), source, card)
