"""The Inpainter protocol and the one shared wrapper around every method (DESIGN rule 8):
size checks, optional resizing, K samples with per-sample seeds, batching, and pasting the
known pixels back exactly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Protocol

import numpy as np
import torch
from PIL import Image

from ..io import image_to_tensor, tensor_to_images

Callback = Callable[[dict], None]


class Inpainter(Protocol):
    """A method that fills holes in a batch of images.

    ``image_size`` is the only resolution it works at (a diffusion model's), or None for any.
    ``__call__`` takes known [B,3,H,W] in [-1,1] and keep [B,1,H,W] (1 = known) and one
    torch.Generator per row, and returns [B,3,H,W] in [-1,1].
    """

    name: str
    image_size: int | None

    def __call__(
        self,
        known: torch.Tensor,
        keep: torch.Tensor,
        *,
        generators: list[torch.Generator],
        callback: Callback | None = None,
    ) -> torch.Tensor: ...


class ArrayInpainter:
    """Base of the methods that fill one uint8 image at a time (the classical baselines).

    A subclass sets ``name``, ``summary`` and ``Options`` (a dataclass) and implements
    :meth:`fill`; conversion, batching and seeding live here once.
    """

    name: str = ""
    summary: str = ""
    Options: type = type(None)
    uses_model = False
    image_size: int | None = None

    def __init__(self, options: object | None = None) -> None:
        self.options = options if options is not None else self.Options()

    def fill(self, image: np.ndarray, hole: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """image: uint8 [H,W,3]; hole: bool [H,W] (True = fill); returns uint8 [H,W,3]."""
        raise NotImplementedError

    def config(self) -> dict:
        return {"method": self.name, **asdict(self.options)}

    def __call__(
        self,
        known: torch.Tensor,
        keep: torch.Tensor,
        *,
        generators: list[torch.Generator],
        callback: Callback | None = None,
    ) -> torch.Tensor:
        rows = []
        for image, row_keep, generator in zip(tensor_to_images(known), keep, generators):
            rng = np.random.default_rng(generator.initial_seed())
            filled = self.fill(np.asarray(image), row_keep[0].cpu().numpy() == 0, rng)
            rows.append(image_to_tensor(Image.fromarray(filled)))
        return torch.cat(rows).to(known.device)
