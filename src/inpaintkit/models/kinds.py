"""What a loaded model is: its kind, and the few things every kind can do.

Kinds (``KINDS``):

- "prior": an unconditional or class-conditional diffusion prior (:class:`.model.DiffusionModel`);
- "conditional-diffusion": a diffusion model whose network also takes the hole mask and the
  masked image as input channels (:class:`.conditional.ConditionalDiffusionModel`);
- "feedforward": one generator call, masked image and hole in, image out
  (:class:`.feedforward.FeedForwardModel`);
- "bundle": several networks with a process of their own (:class:`.feedforward.BundleModel`).

Every kind has ``kind``, ``source``, ``card``, ``image_size`` (None = any size), ``device``,
``to(device)``, ``num_parameters()`` and ``networks()`` (name -> module, what a checkpoint
stores), plus ``process_config()`` (a JSON-able dict: what a checkpoint stores besides the
networks) and the class method ``from_networks(networks, process, source=, card=)`` that builds the
model back from those two.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

KINDS = ("prior", "conditional-diffusion", "feedforward", "bundle")


@runtime_checkable
class LoadedModel(Protocol):
    """The protocol every loaded model follows (see the module docstring)."""

    kind: str
    source: str
    card: str

    @property
    def image_size(self) -> int | None: ...

    @property
    def device(self) -> torch.device: ...

    def to(self, device: str | torch.device) -> LoadedModel: ...

    def num_parameters(self) -> int: ...

    def networks(self) -> dict[str, torch.nn.Module]: ...


class ModelBase:
    """Shared implementations of ``device``, ``to`` and ``num_parameters`` over
    ``networks()``. Subclasses set ``kind`` and implement ``networks``, ``process_config`` and
    ``from_networks``."""

    kind: str = ""

    def networks(self) -> dict[str, torch.nn.Module]:
        raise NotImplementedError

    def process_config(self) -> dict:
        raise NotImplementedError

    @property
    def device(self) -> torch.device:
        for net in self.networks().values():
            for p in net.parameters():
                return p.device
        return torch.device("cpu")

    def to(self, device: str | torch.device):
        """Move every network to ``device``; returns self."""
        for net in self.networks().values():
            net.to(device)
        return self

    def num_parameters(self) -> int:
        """Parameters of all networks together."""
        return sum(p.numel() for net in self.networks().values() for p in net.parameters())
