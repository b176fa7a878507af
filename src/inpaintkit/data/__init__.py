"""Training and evaluation data: the emoji package (fetched with npm), image folders, and
datasets that yield {"image", "hole", extra inputs} (:class:`HoledDataset`)."""

from .emoji import (
    emoji_index,
    fetch_emoji,
    heldout_base_ids,
    load_emoji,
    read_rgb_on_white,
    split_index,
)
from .folder import ArrayDataset, ImageFolderDataset
from .holed import HoledDataset
from .specs import make_dataset

__all__ = [
    "ArrayDataset",
    "HoledDataset",
    "ImageFolderDataset",
    "emoji_index",
    "fetch_emoji",
    "heldout_base_ids",
    "load_emoji",
    "make_dataset",
    "read_rgb_on_white",
    "split_index",
]
