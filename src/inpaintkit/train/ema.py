"""Exponential moving average of a network's weights, with warm-up."""

from __future__ import annotations

import copy

import torch
from torch import nn


def ema_decay_at(num_updates: int, max_decay: float) -> float:
    """The decay used for update number ``num_updates`` (0 for the first update).

    decay = min(max_decay, (1 + n) / (10 + n)): 0.1 at the first update, 0.5 at n = 8, 0.9 at
    n = 80, 0.99 at n = 890, so early weights (random init) are forgotten quickly (the warm-up of
    TensorFlow's ExponentialMovingAverage with ``num_updates``, also used by diffusers' EMAModel).
    """
    return min(max_decay, (1.0 + num_updates) / (10.0 + num_updates))


class EMA:
    """A frozen copy of ``model`` tracking ema = d * ema + (1 - d) * param after every update.

    decay: the maximum decay d (reached after warm-up, see :func:`ema_decay_at`).
    Buffers are copied, not averaged. ``module`` is the averaged network (eval mode, no grads).
    """

    def __init__(self, model: nn.Module, decay: float = 0.999) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.num_updates = 0
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> float:
        """Move the average towards ``model``'s current weights; returns the decay used."""
        decay = ema_decay_at(self.num_updates, self.decay)
        ema_params = list(self.module.parameters())
        pairs = zip(model.parameters(), ema_params, strict=True)
        params = [p.detach().to(e.dtype) for p, e in pairs]
        torch._foreach_lerp_(ema_params, params, 1.0 - decay)
        for ema_buffer, buffer in zip(self.module.buffers(), model.buffers(), strict=True):
            ema_buffer.copy_(buffer)
        self.num_updates += 1
        return decay

    def state_dict(self) -> dict:
        """{"module": weights, "num_updates": int, "decay": float} (tensors and plain types)."""
        return {
            "module": self.module.state_dict(),
            "num_updates": self.num_updates,
            "decay": self.decay,
        }

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state["module"])
        self.num_updates = int(state["num_updates"])
        self.decay = float(state["decay"])
