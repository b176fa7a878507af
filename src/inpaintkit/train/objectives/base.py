"""The Objective protocol: what the one training loop (``train.loop``) asks of an objective.

An objective says which networks it trains (:class:`TrainedNetwork`: the module, its optimizer
settings, whether it keeps an EMA), computes the losses of one step and updates its networks
through the loop's :class:`Updater` (several optimizers per step are fine: a GAN updates its
discriminators, then its generator), draws preview images, and turns trained networks into a
loaded model of its kind for export.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn
from torch.utils.data import Dataset

from ...errors import InpaintkitError
from ...io.tensors import flip_mask
from ...options import parse_options


@dataclass
class TrainedNetwork:
    """A network an objective trains, with its optimizer settings.

    module: the freshly initialised network. lr, betas, weight_decay: AdamW settings; None takes
    the TrainConfig's (lr, adam_betas, weight_decay). ema: keep an EMA of its weights (the EMA
    is what is exported and previewed); discriminators usually do not.
    """

    module: nn.Module
    lr: float | None = None
    betas: tuple[float, float] | None = None
    weight_decay: float | None = None
    ema: bool = True


@runtime_checkable
class Updater(Protocol):
    """What the loop hands an objective for one step (bound before the first step).

    device: where batches live. total_steps: the run's ``TrainConfig.steps`` (it may grow on
    resume). module(name): the (accelerate-prepared) trainable network.
    backward(loss): ``accelerator.backward``. update(name, loss=None): backward ``loss`` if
    given, clip the network's gradients, step its optimizer and LR schedule, zero its
    gradients and update its EMA.
    """

    device: torch.device
    total_steps: int

    def module(self, name: str) -> nn.Module: ...

    def backward(self, loss: torch.Tensor) -> None: ...

    def update(self, name: str, loss: torch.Tensor | None = None) -> None: ...


@runtime_checkable
class Objective(Protocol):
    """A training objective (see the module docstring).

    name: the registry name. loss_names: the keys ``step`` returns, in log-column order.
    build_networks(): called once by the loop after it seeded torch's global RNG; returns
        name -> TrainedNetwork (the first is the "main" network whose LR is logged).
    bind(updater): called by the loop before the first step.
    wrap_data(data, seed): the data set the loop iterates (e.g. holes added), items are dicts
        {"image": [C,H,W] in [-1,1], "hole": [1,H,W] 1 = hole, <extra inputs>}.
    step(batch, generator): one optimizer step (or several, one per network); batch is a dict of
        [B, ...] tensors on ``updater.device``; every random draw comes from ``generator`` (or
        torch's global RNG for dropout). Returns {loss name: scalar tensor or float}.
    preview(networks, batch, *, num_samples, num_steps, seed): images for the sample grid: a
        tensor [N, C, H, W] in [-1, 1], or a list of such tensors shown as rows. networks are
        the EMA copies (raw modules where no EMA is kept); batch is a fixed batch of the first
        ``num_samples`` items of the (wrapped) data, or None when the objective sets
        ``preview_needs_data = False``; num_steps: sampler steps for diffusion objectives.
    state_dict() / load_state_dict(): anything beyond networks and optimizers (tensors and
        plain containers only).
    to_model(networks, source, card): a loaded model of the objective's kind (export).
    """

    name: str
    loss_names: tuple[str, ...]

    def build_networks(self) -> dict[str, TrainedNetwork]: ...

    def bind(self, updater: Updater) -> None: ...

    def wrap_data(self, data: Dataset, seed: int) -> Dataset: ...

    def step(self, batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict: ...

    def preview(
        self,
        networks: dict[str, nn.Module],
        batch: dict | None,
        *,
        num_samples: int,
        num_steps: int,
        seed: int,
    ) -> torch.Tensor | list[torch.Tensor]: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...

    def to_model(self, networks: dict[str, nn.Module], *, source: str, card: str) -> Any: ...


class ObjectiveBase:
    """Defaults for the optional parts of :class:`Objective`."""

    name = "?"
    loss_names: tuple[str, ...] = ("loss",)
    preview_needs_data = True
    updater: Updater | None = None

    def bind(self, updater: Updater) -> None:
        self.updater = updater

    def wrap_data(self, data: Dataset, seed: int) -> Dataset:
        return data

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        if state:
            raise InpaintkitError(f"objective {self.name!r} keeps no state, got {sorted(state)}")


def parse_objective_options(cls: type, values: Mapping[str, object] | None, objective: str):
    """The frozen dataclass ``cls`` built from ``values`` by the one option parser
    (:func:`inpaintkit.options.parse_options`: strings from the CLI's ``--objective-option``
    are converted by each field's type, typed values are checked). Unknown names and bad values
    are InpaintkitErrors naming the option, the objective and what is valid."""
    return parse_options(cls, dict(values or {}), owner=f"objective {objective!r}")


def preview_rows(image: torch.Tensor, hole: torch.Tensor, fill: torch.Tensor) -> list[torch.Tensor]:
    """The three preview rows of an inpainting objective: the masked input, ``fill`` composited
    into the known pixels, and the original (image, fill [B,C,H,W]; hole [B,1,H,W] 1 = hole)."""
    keep = flip_mask(hole)
    return [image * keep, fill * hole + image * keep, image]
