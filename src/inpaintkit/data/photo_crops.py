"""Multi-scale random crops of photos, for training at a small ``resolution`` (the data spec
``photos[:split]``).

Per item: the photo is scaled so that its short side is ``s``, drawn uniformly from the
integers in [max(128, resolution), min(512, the photo's own short side)], and a
``resolution`` x ``resolution`` window at a uniform random position of that scaled photo is the
item. Scaling first matters: the photos are up to 5120x2880, where a native 64 px crop is a
third of the time a flat patch of sky or blur; at a short side of 128-512 a crop holds edges
and texture at the scales a user's holes see. Nothing is scaled up: a photo whose short side
is below 128 is used at its own size, and one below ``resolution`` is left out
(:attr:`PhotoCropDataset.skipped`).

Every draw of item ``index`` in pass ``epoch`` comes from ``numpy.random.default_rng((seed,
epoch, index, 0xC409))`` (the convention of :mod:`inpaintkit.data.holed` and ``augment``, with
its own stream number), so a resumed run sees the same crops and every pass new ones.

Epoch length: :data:`CROPS_PER_PHOTO` (64) crops per photo, item ``index`` cutting photo
``index // 64`` (the training loop shuffles positions per epoch). Photos of a two-photo scene
are two photos. Decoded photos are kept in memory (per process, filled on first use) at a short
side of at most 768 px (:data:`CACHE_SHORT`; at most about 3 MB each, 77 MB measured for the 44
training photos), so JPEG decoding of the large wallpapers happens once, not per crop. The crop is
resampled straight from that copy (PIL LANCZOS with a source box), which is the scaled photo's
window without scaling the whole photo.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..errors import InpaintkitError
from .folder import to_model_range
from .photo_set import photo_paths
from .photos import read_photo

CROPS_PER_PHOTO = 64
SHORT_RANGE = (128, 512)
CACHE_SHORT = 768
_CROP_STREAM = 0xC409  # keeps crop draws apart from other per-item streams seeded with (seed, ...)


class PhotoCropDataset(Dataset):
    """Seeded multi-scale random crops of photo files (module docstring).

    paths: the photo files. resolution: the crop side (<= 512). seed: seeds the crops.
    crops_per_photo: items per photo in one pass (default 64). short_range: the range of the
    scaled short side (default (128, 512)). Items: float32 [3, resolution, resolution] in
    [-1, 1]; the loop calls :meth:`item` with the pass number.
    """

    def __init__(
        self,
        paths: Sequence[Path],
        resolution: int,
        *,
        seed: int = 0,
        crops_per_photo: int = CROPS_PER_PHOTO,
        short_range: tuple[int, int] = SHORT_RANGE,
    ) -> None:
        low, high = short_range
        if not 1 <= low <= high:
            raise InpaintkitError(f"short_range must be 1 <= low <= high, got {short_range}")
        if not 1 <= resolution <= high:
            raise InpaintkitError(
                f"photo crops need 1 <= resolution <= {high} (the largest scaled short side), "
                f"got {resolution}"
            )
        if crops_per_photo < 1 or seed < 0:
            raise InpaintkitError(f"need crops_per_photo >= 1 and seed >= 0, got {crops_per_photo}"
                                  f" and {seed}")  # fmt: skip
        self.resolution, self.seed, self.crops_per_photo = resolution, seed, crops_per_photo
        self.paths: list[Path] = []
        self.sizes: list[tuple[int, int]] = []
        self.skipped: list[Path] = []
        for path in map(Path, paths):
            try:
                with Image.open(path) as im:
                    size = im.size
            except OSError as err:
                raise InpaintkitError(f"cannot read the photo {path}: {err}") from err
            if min(size) < resolution:
                self.skipped.append(path)
                continue
            self.paths.append(path)
            self.sizes.append(size)
        if not self.paths:
            raise InpaintkitError(
                f"no photo has a short side of at least {resolution} px among {len(paths)} files"
            )
        self.short_range = (max(low, resolution), high)
        self._decoded: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.paths) * self.crops_per_photo

    def scale_range(self, photo: int) -> tuple[int, int]:
        """(lowest, highest) scaled short side of photo ``photo``: the short range cut to the
        photo's own short side (never an upscale)."""
        own = min(self.sizes[photo])
        high = min(self.short_range[1], own)
        return min(self.short_range[0], high), high

    def draws(self, index: int, epoch: int) -> tuple[int, int, int, int]:
        """(photo, scaled short side s, top, left) of item ``index`` in pass ``epoch``: the
        window's corner in the photo scaled to short side s."""
        if not 0 <= index < len(self):
            raise IndexError(f"item {index} of {len(self)}")
        photo = index // self.crops_per_photo
        rng = np.random.default_rng((self.seed, epoch, index, _CROP_STREAM))
        low, high = self.scale_range(photo)
        short = int(rng.integers(low, high + 1))
        width, height = self.scaled_size(photo, short)
        top = int(rng.integers(0, height - self.resolution + 1))
        left = int(rng.integers(0, width - self.resolution + 1))
        return photo, short, top, left

    def scaled_size(self, photo: int, short: int) -> tuple[int, int]:
        """(width, height) of photo ``photo`` scaled to short side ``short`` (rounded)."""
        width, height = self.sizes[photo]
        factor = short / min(width, height)
        return max(short, round(width * factor)), max(short, round(height * factor))

    def decoded(self, photo: int) -> np.ndarray:
        """Photo ``photo`` as uint8 [H, W, 3], short side at most :data:`CACHE_SHORT`; decoded
        once per process and kept."""
        image = self._decoded.get(photo)
        if image is None:
            image = read_photo(self.paths[photo], short_max=CACHE_SHORT)
            self._decoded[photo] = image
        return image

    def crop_uint8(self, index: int, epoch: int) -> np.ndarray:
        """Item ``index`` of pass ``epoch`` as uint8 [resolution, resolution, 3]."""
        photo, short, top, left = self.draws(index, epoch)
        image = self.decoded(photo)
        width, height = self.scaled_size(photo, short)
        fx, fy = image.shape[1] / width, image.shape[0] / height  # stored px per scaled px
        size = self.resolution
        box = (left * fx, top * fy, (left + size) * fx, (top + size) * fy)
        out = Image.fromarray(image).resize((size, size), Image.Resampling.LANCZOS, box=box)
        return np.asarray(out)

    def item(self, index: int, epoch: int) -> torch.Tensor:
        """Item ``index`` as seen in pass ``epoch``: float32 [3, resolution, resolution]."""
        return to_model_range(self.crop_uint8(index, epoch))

    def __getitem__(self, index: int) -> torch.Tensor:
        """Item ``index`` of pass 0 (see :meth:`item`)."""
        return self.item(index, 0)


def photo_dataset(
    split: str, resolution: int, cache_dir: Path | None = None, *, seed: int = 0
) -> PhotoCropDataset:
    """:class:`PhotoCropDataset` of the photo set's ``split`` (one of photo_set.SPLITS:
    :mod:`inpaintkit.data.photo_set`), fetching the packages on first use."""
    return PhotoCropDataset(
        [path for _, path in photo_paths(split, cache_dir)], resolution, seed=seed
    )


__all__ = ["CACHE_SHORT", "CROPS_PER_PHOTO", "SHORT_RANGE", "PhotoCropDataset", "photo_dataset"]
