"""The "sketch" extra input of sketch-guided inpainting (DeepFill v2, Yu et al. 2019, sec. 3.4):
an edge map of the training image, kept only inside the hole.

DeepFill v2 trains its user-guided model on edges extracted from the training image (HED with a
threshold in the paper) and multiplies them by the mask, so the generator learns to follow lines
drawn in the hole. Here the edges are Canny's (OpenCV, deterministic): :func:`canny_edges` on
one image, :func:`canny_sketch` a :data:`~inpaintkit.data.holed.ExtraInput` for
:class:`~inpaintkit.data.holed.HoledDataset` (``extras={"sketch": canny_sketch()}``).

``drop``: with this probability an item's sketch is all zeros, so that a model trained with it
also fills holes without any guidance (what it is given when a user draws nothing). The draw
comes from the item's own seeded generator: the same item in the same pass gets the same
sketch, so a resumed training run is exact.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from ..errors import InpaintkitError
from .holed import ExtraInput


def canny_edges(image: torch.Tensor, low: int = 100, high: int = 200) -> torch.Tensor:
    """Canny edges of ``image`` [C,H,W] in [-1,1] (C = 1 or 3; its luma): float [1,H,W] in
    {0, 1} (1 = edge). low / high: Canny's hysteresis thresholds on 0..255 intensities."""
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise InpaintkitError(
            f"canny_edges needs an image [1 or 3, H, W], got {tuple(image.shape)}"
        )
    pixels = ((image.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    array = pixels.permute(1, 2, 0).cpu().numpy()
    gray = array[..., 0] if array.shape[2] == 1 else cv2.cvtColor(array, cv2.COLOR_RGB2GRAY)
    edges = cv2.Canny(np.ascontiguousarray(gray), low, high)
    return torch.from_numpy((edges > 0).astype(np.float32))[None]


def canny_sketch(low: int = 100, high: int = 200, drop: float = 0.0) -> ExtraInput:
    """An extra-input maker for HoledDataset: ``make(item, rng) -> [1,H,W]`` = Canny edges of
    ``item["image"]`` times ``item["hole"]``; all zeros with probability ``drop`` (one draw
    from ``rng`` per item, always made, so the stream after it does not depend on ``drop``)."""
    if not 0 <= low <= high:
        raise InpaintkitError(f"Canny thresholds need 0 <= low <= high, got {low}, {high}")
    if not 0.0 <= drop <= 1.0:
        raise InpaintkitError(f"the sketch drop probability must be in [0, 1], got {drop}")

    def make(item: dict, rng: np.random.Generator) -> torch.Tensor:
        dropped = rng.random() < drop
        edges = canny_edges(item["image"], low, high) * item["hole"]
        return torch.zeros_like(edges) if dropped else edges

    return make
