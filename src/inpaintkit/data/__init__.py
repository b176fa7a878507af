"""Training and evaluation data: the emoji package (fetched with npm) and image folders."""

from .emoji import (
    emoji_index,
    fetch_emoji,
    heldout_base_ids,
    load_emoji,
    read_rgb_on_white,
    split_index,
)
from .folder import ArrayDataset, ImageFolderDataset

__all__ = [
    "ArrayDataset",
    "ImageFolderDataset",
    "emoji_index",
    "fetch_emoji",
    "heldout_base_ids",
    "load_emoji",
    "read_rgb_on_white",
    "split_index",
]
