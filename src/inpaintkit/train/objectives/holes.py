"""Shared by the objectives that train on holes: adding seeded holes to a data set."""

from __future__ import annotations

from torch.utils.data import Dataset

from ...data.holed import HoledDataset
from ...errors import InpaintkitError
from ...masks.presets import get_holes
from ..stream import as_item_dict


def with_holes(data: Dataset, holes: str, seed: int, preset, channels: int) -> Dataset:
    """``data`` itself when its items already carry a "hole", else a :class:`HoledDataset`
    drawing holes from ``get_holes(holes)`` seeded by ``seed``. Checks item 0: "image" of shape
    (channels, R, R) (R = preset resolution) and "hole" of shape (1, R, R)."""
    if len(data) == 0:
        raise InpaintkitError("the training data set is empty")
    if "hole" not in as_item_dict(data[0]):
        data = HoledDataset(data, get_holes(holes), seed=seed)
    first = as_item_dict(data[0])
    size = preset.resolution
    for key, shape in (("image", (channels, size, size)), ("hole", (1, size, size))):
        value = first.get(key)
        got = tuple(value.shape) if hasattr(value, "shape") else type(value).__name__
        if got != shape:
            raise InpaintkitError(
                f"preset {preset.name!r} trains on items whose {key!r} has shape {shape}; "
                f"the data gives {got}"
            )
    return data
