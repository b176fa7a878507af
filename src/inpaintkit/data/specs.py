"""Training data sets from a spec string (the CLI's DATA argument)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from ..errors import InpaintkitError


def make_dataset(
    spec: str, resolution: int, cache_dir: Path | None = None, *, seed: int = 0
) -> Dataset:
    """A training data set from a spec string.

    "emoji" (google, train split), "emoji:<style>" (google|twitter|facebook, or several joined
    by "+", e.g. "google+twitter": their images one after another), "emoji:<style>:<split>"
    (train|test|tune|fit|all): :class:`ArrayDataset` of the emoji at ``resolution`` (32 or 64).
    "fashion-mnist[:train|test]": Debian's Fashion-MNIST, grey on three channels.
    "photos[:train|test|tune|fit|all]" (default train; "fit" is train without the tuning
    scenes): the photo set's multi-scale random crops at
    ``resolution``, seeded by ``seed`` (the run's;
    :class:`~inpaintkit.data.photo_crops.PhotoCropDataset`, 64 crops per photo and pass; Debian
    packages fetched with apt-get on first use).
    Anything else is a folder path: :class:`ImageFolderDataset` at ``resolution``.
    Items: float32 [3, resolution, resolution] in [-1, 1].
    """
    from .emoji import load_emoji
    from .folder import ArrayDataset, ImageFolderDataset

    if spec == "fashion-mnist" or spec.startswith("fashion-mnist:"):
        from .fashion import load_fashion_mnist

        split = spec.partition(":")[2] or "train"
        return ArrayDataset(load_fashion_mnist(split, size=resolution))
    if spec == "photos" or spec.startswith("photos:"):
        from .photo_crops import photo_dataset

        parts = spec.split(":")
        if len(parts) > 2:
            raise InpaintkitError(f"bad data spec {spec!r}; use photos[:train|test|all]")
        split = parts[1] if len(parts) > 1 else "train"
        return photo_dataset(split, resolution, cache_dir, seed=seed)
    if spec == "emoji" or spec.startswith("emoji:"):
        parts = spec.split(":")
        if len(parts) > 3:
            raise InpaintkitError(f"bad data spec {spec!r}; use emoji[:style[:split]]")
        style = parts[1] if len(parts) > 1 else "google"
        split = parts[2] if len(parts) > 2 else "train"
        arrays = [
            load_emoji(one, split, size=resolution, cache_dir=cache_dir) for one in style.split("+")
        ]
        return ArrayDataset(np.concatenate(arrays))
    return ImageFolderDataset(Path(spec), resolution)
