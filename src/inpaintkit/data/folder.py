"""Torch datasets for training: a folder of image files, and in-memory uint8 arrays (emoji).

Both return float32 [3, size, size] tensors in [-1, 1] (DESIGN rule 4).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..errors import InpaintkitError
from ..io.tensors import arrays_to_tensor
from .emoji import composite_on_white

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def to_model_range(images_uint8: np.ndarray) -> torch.Tensor:
    """uint8 [..., H, W, 3] -> float32 [..., 3, H, W] in [-1, 1] (x / 127.5 - 1); see
    :func:`inpaintkit.io.arrays_to_tensor`."""
    return arrays_to_tensor(images_uint8)


def resize_center_crop(image: Image.Image, size: int) -> Image.Image:
    """Resize so the shorter side is ``size`` (PIL LANCZOS; bicubic-quality) then centre-crop to
    ``size`` x ``size``. An image already ``size`` x ``size`` is returned unchanged."""
    width, height = image.size
    if (width, height) == (size, size):
        return image
    scale = size / min(width, height)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    image = image.resize((new_w, new_h), Image.Resampling.LANCZOS)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    return image.crop((left, top, left + size, top + size))


class ImageFolderDataset(Dataset):
    """Every *.png / *.jpg / *.jpeg / *.webp under ``root`` (recursive, sorted path order).

    Each item: float32 [3, size, size] in [-1, 1]; RGB with any alpha composited on white, the
    shorter side resized to ``size`` (LANCZOS) and centre-cropped. Raises InpaintkitError when
    ``root`` is not a folder or holds no such image.
    """

    def __init__(self, root: str | Path, size: int) -> None:
        self.root = Path(root)
        if size < 1:
            raise InpaintkitError(f"image size must be >= 1, got {size}")
        if not self.root.is_dir():
            raise InpaintkitError(f"image folder {self.root} does not exist or is not a folder")
        self.size = size
        self.files = sorted(
            p for p in self.root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not self.files:
            raise InpaintkitError(
                f"no images in {self.root}; expected files ending in {', '.join(IMAGE_SUFFIXES)}"
            )

    def __len__(self) -> int:
        return len(self.files)

    def load_uint8(self, index: int) -> np.ndarray:
        """Item ``index`` as uint8 [size, size, 3] (before scaling to [-1, 1])."""
        path = self.files[index]
        try:
            with Image.open(path) as im:
                rgba = np.asarray(im.convert("RGBA"))
        except OSError as err:
            raise InpaintkitError(f"cannot read image {path}: {err}") from err
        rgb = Image.fromarray(composite_on_white(rgba))
        return np.asarray(resize_center_crop(rgb, self.size))

    def __getitem__(self, index: int) -> torch.Tensor:
        return to_model_range(self.load_uint8(index))


class ArrayDataset(Dataset):
    """In-memory images: uint8 [N, H, W, 3] (e.g. from :func:`load_emoji`) as float32
    [3, H, W] tensors in [-1, 1].

    hflip: mirror items left-right (default False). Off by default for emoji: many carry a
    direction or text (arrows, flags, letters, clocks, "facing right" variants), so a mirrored
    emoji is often a different or invalid symbol; and emoji are not photos, where mirroring is a
    free, label-preserving augmentation. When on, whether item ``index`` is mirrored in pass
    ``epoch`` is a pure function of (seed, epoch, index) (:meth:`item`), never a global RNG.
    """

    def __init__(self, images_uint8: np.ndarray, hflip: bool = False, seed: int = 0) -> None:
        images = np.asarray(images_uint8)
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise InpaintkitError(
                f"expected uint8 images [N, H, W, 3], got {images.dtype} {images.shape}"
            )
        if len(images) == 0:
            raise InpaintkitError("ArrayDataset got no images")
        self.images = images
        self.hflip = hflip
        self.seed = seed

    @property
    def size(self) -> int:
        """Image height (= width for square images)."""
        return int(self.images.shape[1])

    def is_flipped(self, index: int, epoch: int) -> bool:
        """Whether :meth:`item` mirrors ``index`` in pass ``epoch`` (always False without hflip)."""
        if not self.hflip:
            return False
        return bool(np.random.default_rng((self.seed, epoch, index)).integers(2))

    def item(self, index: int, epoch: int) -> torch.Tensor:
        """Item ``index`` as seen in pass ``epoch`` over the data (the trainer calls this):
        float32 [3, H, W] in [-1, 1], mirrored when :meth:`is_flipped`."""
        image = self.images[index]
        if self.is_flipped(index, epoch):
            image = image[:, ::-1]
        return to_model_range(image)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        """Item ``index`` of pass 0 (see :meth:`item`)."""
        return self.item(index, 0)
