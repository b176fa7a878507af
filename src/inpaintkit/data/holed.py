"""Training items with holes: ``{"image": [C,H,W] in [-1,1], "hole": [1,H,W] 1 = hole, extras}``.

:class:`HoledDataset` wraps any image data set (items: a float tensor [C, H, W] in [-1, 1], or a
dict with an "image") and draws one hole per item from a seeded hole generator
(``inpaintkit.masks.generators``): the hole of item ``index`` in pass ``epoch`` is a pure function
of (seed, epoch, index), so a resumed training run sees the same holes (exact resume), and every
pass over the data sees new ones. Extra inputs (a sketch, an edge map...) are added by small
callables ``make(item, rng) -> tensor [e, H, W]`` that see the item so far (image and hole) and
the item's own numpy Generator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import InpaintkitError
from ..masks.generators import HoleGenerator

ExtraInput = Callable[[dict, np.random.Generator], torch.Tensor]
"""``make(item {"image", "hole", ...}, rng) -> float tensor [e, H, W]``."""

_HOLE_STREAM = 0x401E  # keeps hole draws apart from other per-item streams seeded with (seed, ...)


class HoledDataset(Dataset):
    """Image data set + seeded hole generator (+ extra inputs) -> dict items (module docstring).

    images: a Dataset of float32 [C, H, W] in [-1, 1] (or dicts holding "image"); when it has
        ``item(index, epoch)`` (per-pass augmentation), that is used.
    holes: a hole generator ``gen(rng, (H, W)) -> bool [H, W]`` (True = hole), e.g.
        ``inpaintkit.masks.get_holes("thin+thick")``.
    seed: seeds the holes (default 0). extras: name -> :data:`ExtraInput`, added in order.
    """

    def __init__(
        self,
        images: Dataset,
        holes: HoleGenerator,
        seed: int = 0,
        extras: Mapping[str, ExtraInput] | None = None,
    ) -> None:
        if not callable(holes):
            raise InpaintkitError(f"holes must be a hole generator gen(rng, shape), got {holes!r}")
        if seed < 0:
            raise InpaintkitError(f"seed must be >= 0, got {seed}")
        reserved = {"image", "hole"} & set(extras or {})
        if reserved:
            raise InpaintkitError(f"extra inputs may not be called {sorted(reserved)}")
        self.images = images
        self.holes = holes
        self.seed = seed
        self.extras = dict(extras or {})

    def __len__(self) -> int:
        return len(self.images)

    def rng(self, index: int, epoch: int) -> np.random.Generator:
        """The numpy Generator of item ``index`` in pass ``epoch``: default_rng((seed, epoch,
        index, 0x401E))."""
        return np.random.default_rng((self.seed, epoch, index, _HOLE_STREAM))

    def item(self, index: int, epoch: int) -> dict[str, torch.Tensor]:
        """Item ``index`` as seen in pass ``epoch`` (what the training loop calls)."""
        item_fn = getattr(self.images, "item", None)
        base = item_fn(index, epoch) if callable(item_fn) else self.images[index]
        base = dict(base) if isinstance(base, Mapping) else {"image": base}
        image = base.get("image")
        if not isinstance(image, torch.Tensor) or image.ndim != 3:
            got = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
            raise InpaintkitError(f"HoledDataset needs images [C, H, W], got {got}")
        rng = self.rng(index, epoch)
        hole = np.asarray(self.holes(rng, tuple(image.shape[-2:])), dtype=bool)
        if hole.shape != tuple(image.shape[-2:]):
            raise InpaintkitError(
                f"the hole generator gave {hole.shape} for images {tuple(image.shape[-2:])}"
            )
        item = {**base, "image": image, "hole": torch.from_numpy(hole)[None].float()}
        for name, make in self.extras.items():
            item[name] = make(item, rng)
        return item

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        """Item ``index`` of pass 0 (see :meth:`item`)."""
        return self.item(index, 0)
