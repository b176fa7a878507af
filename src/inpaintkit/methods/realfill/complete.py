"""RealFill's sample and select stages on one target (``RealFill.complete``): K samples at the
model's size, each blended onto the target at its own size with the feathered mask, ranked by
SIFT correspondences with the references."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from ...errors import InpaintkitError
from ...io import hole_to_keep, image_to_tensor, tensor_to_images
from ..wrapper import sample_seed
from .sample import blend_onto
from .select import correspondence_scores, rank_samples


@dataclass
class RealFillResult:
    """samples: the K blended samples (RGB, the target's size), in sample order; scores: their
    correspondence scores; order: sample indices best first; raw: the K samples before the
    blend (the model's size)."""

    samples: list[Image.Image]
    scores: list[int]
    order: list[int]
    raw: list[Image.Image]

    @property
    def best(self) -> Image.Image:
        return self.samples[self.order[0]]


def working_view(
    target: Image.Image, hole: np.ndarray, size: int
) -> tuple[Image.Image, np.ndarray]:
    """The target and its hole at the model's size x size: the image resized (LANCZOS); a
    working pixel is hole when any part of it is (the hole resized with a box filter, > 0)."""
    if target.size == (size, size):
        return target, hole
    view = target.resize((size, size), Image.Resampling.LANCZOS)
    plane = Image.fromarray(hole.astype(np.uint8) * 255).resize((size, size), Image.Resampling.BOX)
    return view, np.asarray(plane) > 0


def run_complete(
    method: object,
    target: Image.Image,
    hole: np.ndarray,
    references: Sequence[Image.Image],
    *,
    samples: int = 16,
    seed: int = 0,
    batch_size: int = 8,
    base: bool = False,
) -> RealFillResult:
    """See :meth:`inpaintkit.methods.realfill.RealFill.complete`."""
    hole = np.asarray(hole, bool)
    if hole.shape != (target.height, target.width):
        raise InpaintkitError(
            f"the hole is {hole.shape[1]}x{hole.shape[0]}, "
            f"the target {target.width}x{target.height}"
        )
    if samples < 1 or batch_size < 1:
        raise InpaintkitError(f"samples and batch_size must be >= 1, got {samples}, {batch_size}")
    if not hole.any():
        raise InpaintkitError("the hole is empty: nothing to fill")
    target = target.convert("RGB")
    view, view_hole = working_view(target, hole, method.image_size)
    known, keep = image_to_tensor(view), hole_to_keep(view_hole)
    raw: list[Image.Image] = []
    for start in range(0, samples, batch_size):
        ks = list(range(start, min(samples, start + batch_size)))
        generators = [torch.Generator().manual_seed(sample_seed(seed, 0, k)) for k in ks]
        rows = len(ks)
        out = method.backend.raw(
            known.expand(rows, -1, -1, -1), keep.expand(rows, -1, -1, -1), generators, base=base
        )
        raw += tensor_to_images(out.cpu())
    blended = [blend_onto(sample, target, hole) for sample in raw]
    scores = correspondence_scores(
        blended, references, size=method.options.select_size, seed=seed
    ) if references else [0] * len(blended)  # fmt: skip
    return RealFillResult(samples=blended, scores=scores, order=rank_samples(scores), raw=raw)


__all__ = ["RealFillResult", "run_complete", "working_view"]
