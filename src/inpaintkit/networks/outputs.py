"""The output layer shared by the survey's generators: a slightly widened tanh.

Emoji (and many graphics) are mostly pure white, i.e. exactly 1.0, the asymptote of tanh. An L1
loss then pushes the pre-activations of white pixels up forever; the easiest early solution
(a constant at the median colour: white) drives the output layer into saturation, where tanh
passes no gradient, and training stalls there (measured: a DeepFill v2 generator saturated on
99.9% of its pixels after 40 steps). ``OUTPUT_SCALE * tanh`` reaches 1.0 at a finite input
(atanh(1 / 1.1) = 1.52), so the loss has a finite optimum for white and the gradients stay
alive. Values beyond [-1, 1] are clipped by the method (``FeedForward``) and pasted only into
the hole; training composites see them as they are.
"""

from __future__ import annotations

import torch

OUTPUT_SCALE = 1.1
"""The generators' output range is (-1.1, 1.1)."""


def image_output(x: torch.Tensor) -> torch.Tensor:
    """OUTPUT_SCALE * tanh(x): an image in (-1.1, 1.1) that reaches +-1 at a finite input."""
    return OUTPUT_SCALE * torch.tanh(x)
