"""Method "feedforward": run any feed-forward inpainting generator (model kind "feedforward").

A feed-forward generator (the survey's CNN family: context encoders, LaMa-style networks, the
"encdec32-tiny" preset trained by ``inpaintkit train --objective adversarial``) fills the hole
in ONE network call: masked image and hole mask in, image out (see
:class:`~inpaintkit.models.FeedForwardModel`). There is no default model; give one with
``--model FILE`` (an ``inpaintkit-2`` .safetensors of kind "feedforward", e.g. the output of
``inpaintkit train ... --export``).

Extra inputs: a generator may take extra channels (a sketch, an edge map), named in its file
(``FeedForwardModel.extra_inputs``). They depend on the MODEL, not on the method, so the class
attribute ``FeedForward.needs`` says only ``Needs("feedforward")``, and each instance replaces
it with ``Needs("feedforward", model.extra_inputs)``; the wrapper
(:func:`~inpaintkit.methods.wrapper.run_method`) checks every job's ``inputs`` against the
INSTANCE's ``needs.inputs`` and passes them as keyword tensors in that order.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import asdict, dataclass

import torch

from ...errors import InpaintkitError
from ...io.tensors import masked_input
from ...models import FeedForwardModel
from ...options import Options
from ..base import Callback, Method, Needs


@dataclass(frozen=True)
class FeedForwardOptions(Options):
    """A feed-forward generator has no sampling knobs: no options."""


class FeedForward(Method):
    """One call of a feed-forward generator per batch (model kind "feedforward").

    The network sees the masked image (hole zeroed, [-1, 1]) and the hole (1 = hole), plus the
    model's extra inputs; its output's hole pixels are the result (the wrapper pastes the known
    pixels back). Inputs whose sides are not multiples of the model's ``multiple`` are padded by
    the wrapper ("original" strategy) or by the model itself.

    The network is deterministic: the K samples of one image (``--samples K``) are identical,
    whatever the seed (the per-sample generators are accepted and unused).

    options: :class:`FeedForwardOptions` (none). model: a FeedForwardModel or a load_model spec
    (required: there is no default feed-forward model). device: where a spec is loaded.
    class_label, progress: accepted for the common signature; unused.
    """

    name = "feedforward"
    summary = "a feed-forward generator: one network call fills the hole (needs --model)"
    Options = FeedForwardOptions
    needs = Needs("feedforward")
    crop_above = 1024  # strategy "auto" crops around the holes of larger images (IOPaint's way)

    @classmethod
    def cost(cls, options: FeedForwardOptions) -> dict[str, int]:
        """{"network_evaluations": 1}: one generator call per batch."""
        return {"network_evaluations": 1}

    @classmethod
    def for_budget(
        cls,
        options: FeedForwardOptions,
        budget: int,
        max_steps: int | None = None,
        fixed: Collection[str] = (),
    ) -> FeedForwardOptions:
        """``options`` unchanged when ``budget`` >= 1 (the one call fits); else an error."""
        if budget < 1:
            raise InpaintkitError(
                f"a budget of {budget} network evaluations is below the 1 a feed-forward "
                "generator needs"
            )
        return options

    def __init__(
        self,
        options: FeedForwardOptions | None = None,
        *,
        model: FeedForwardModel | str | None = None,
        device: str | torch.device = "cpu",
        class_label: int | None = None,
        progress: bool = True,
    ) -> None:
        self.model = self.resolve_model(model, device)
        self.options = options or self.Options()
        self.needs = Needs("feedforward", tuple(self.model.extra_inputs))  # from the model

    @property
    def image_size(self) -> int | None:
        """The model's training size (None: any size)."""
        return self.model.image_size

    @property
    def multiple(self) -> int:
        """Input sides must be multiples of this (the wrapper pads for "original")."""
        return self.model.multiple

    @property
    def inputs(self) -> tuple[str, ...]:
        """The extra inputs this instance takes (the model's ``extra_inputs``)."""
        return self.needs.inputs

    def config(self) -> dict:
        return {
            "method": self.name,
            "model": self.model.source,
            "extra_inputs": list(self.model.extra_inputs),
            **asdict(self.options),
        }

    def time_network(self, batch: int, height: int, width: int) -> float:
        """Seconds of one generator call on a zero batch [batch, C, height, width] (for
        ``--dry-run``)."""
        device = self.model.device
        x = torch.zeros(batch, self.model.channels, height, width, device=device)
        hole = torch.ones(batch, 1, height, width, device=device)
        extras = [torch.zeros(batch, 1, height, width, device=device) for _ in self.inputs]
        started = time.perf_counter()
        self.model.fill(x, hole, *extras)
        return time.perf_counter() - started

    @torch.no_grad()
    def __call__(
        self,
        known: torch.Tensor,
        keep: torch.Tensor,
        *,
        generators: list[torch.Generator],
        callback: Callback | None = None,
        **inputs: torch.Tensor,
    ) -> torch.Tensor:
        """The generator's output [B,C,H,W] in [-1,1] for known [B,C,H,W] in [-1,1] and keep
        [B,1,H,W] (1 = known); ``inputs`` are the model's extra inputs as keyword tensors.
        ``callback`` gets one report {"step": 0, "t": 0, "nfe": 1, "x", "x0_hat"}."""
        missing = sorted(set(self.inputs) - set(inputs))
        extra = sorted(set(inputs) - set(self.inputs))
        if missing or extra:
            raise InpaintkitError(
                f"{self.model.source} takes the inputs {list(self.inputs)}; "
                + (f"missing {missing}" if missing else f"it does not take {extra}")
            )
        device = self.model.device
        masked, hole = masked_input(known.to(device), keep.to(device))
        extras = [inputs[name].to(device, known.dtype) for name in self.inputs]
        out = self.model.fill(masked, hole, *extras).float().clamp(-1, 1)
        if callback is not None:
            callback({"step": 0, "t": 0, "nfe": 1, "x": out, "x0_hat": out})
        return out
