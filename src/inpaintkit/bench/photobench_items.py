"""The items of the photo benchmark (:mod:`.photobench`): held-out photos, holes and seeds.

- Full-photo kinds (:data:`FULL_KINDS`: LaMa thin, medium, thick): the hole is drawn at the
  photo's own size (the LaMa generators scale their strokes and boxes by min(H, W) / 256,
  :mod:`inpaintkit.masks.generators`), on photos of at least :data:`MIN_FULL` (640x480, either
  orientation: long side >= 640 and short side >= 480), as the issue asks.
- Crop kinds (:data:`CROP_KINDS`: the RePaint paper's six, Lugmayr et al. 2022, section 5):
  the hole is drawn on a seeded :data:`CROP` x :data:`CROP` window of the photo (every held-out
  photo is at least 256 px on both sides), so photos smaller than 640x480 (four of OpenCV's and
  scikit-image's) take part in these kinds only.

Every draw for item (photo, kind, index) comes from ``SeedSequence([seed, crc32(photo),
crc32(kind), index])`` (:func:`item_seed_sequence`): it depends on the run's seed, the photo's
name, the hole kind and the index only, never on the method, so every method fills the same
holes (a paired comparison) and a resumed run draws the same items. The crop window of a crop
item is drawn from the same stream, before its hole.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InpaintkitError
from ..masks.presets import get_holes

FULL_KINDS = ("thin", "medium", "thick")
"""LaMa's three hole settings, drawn at each photo's own size."""
CROP_KINDS = ("wide", "narrow", "sr2x", "altlines", "half", "expand")
"""The RePaint paper's six settings, drawn on a 256x256 crop of each photo."""
ALL_KINDS = FULL_KINDS + CROP_KINDS
CROP = 256
MIN_FULL = (640, 480)
"""(long side, short side): the smallest photo that gets full-photo holes."""


@dataclass(frozen=True)
class Item:
    """One benchmark item. kind: hole kind; photo: the photo's name; index: 0..masks-1;
    truth: uint8 [H, W, 3] (the full photo or its crop); hole: bool [H, W] (True = fill);
    box: (top, left) of the crop in the photo (None for a full-photo item); seed: the seed the
    methods get (the same for every method)."""

    kind: str
    photo: str
    index: int
    truth: np.ndarray
    hole: np.ndarray
    box: tuple[int, int] | None
    seed: int

    @property
    def key(self) -> tuple[str, str, int]:
        """(kind, photo, index): the item's identity in the rows."""
        return self.kind, self.photo, self.index


def parse_kinds(text: str | Sequence[str]) -> tuple[str, ...]:
    """The hole kinds of ``--holes`` ("thin,medium,..."), in the given order. InpaintkitError
    for an unknown or repeated kind, naming the valid ones."""
    kinds = tuple(k.strip() for k in (text.split(",") if isinstance(text, str) else text))
    kinds = tuple(k for k in kinds if k)
    unknown = [k for k in kinds if k not in ALL_KINDS]
    if unknown or not kinds:
        raise InpaintkitError(
            f"unknown hole kind(s) {unknown or [text]}; choose from {', '.join(ALL_KINDS)} "
            f"(full photo: {', '.join(FULL_KINDS)}; {CROP}x{CROP} crops: {', '.join(CROP_KINDS)})"
        )
    if len(set(kinds)) != len(kinds):
        raise InpaintkitError(f"a hole kind is given twice in {list(kinds)}")
    return kinds


def item_seed_sequence(seed: int, photo: str, kind: str, index: int) -> np.random.SeedSequence:
    """The seed sequence of one item: (seed, crc32 of the photo name, crc32 of the kind,
    index). crc32, not Python's hash(), so it is the same in every process."""
    return np.random.SeedSequence(
        [int(seed), zlib.crc32(photo.encode()), zlib.crc32(kind.encode()), int(index)]
    )


def full_sized(shape: tuple[int, ...]) -> bool:
    """Whether a photo of this (H, W, ...) shape gets full-photo holes (at least 640x480)."""
    long_side, short_side = max(shape[:2]), min(shape[:2])
    return long_side >= MIN_FULL[0] and short_side >= MIN_FULL[1]


def make_item(photo: str, image: np.ndarray, kind: str, index: int, seed: int) -> Item:
    """The item (photo, kind, index) of a run with ``seed`` (see the module docstring)."""
    sequence = item_seed_sequence(seed, photo, kind, index)
    rng = np.random.default_rng(sequence)
    box = None
    truth = image
    h, w = image.shape[:2]
    if kind in CROP_KINDS:
        if min(h, w) < CROP:
            raise InpaintkitError(f"photo {photo} is {w}x{h}; a {CROP} px crop needs both sides")
        box = (int(rng.integers(0, h - CROP + 1)), int(rng.integers(0, w - CROP + 1)))
        truth = image[box[0] : box[0] + CROP, box[1] : box[1] + CROP]
    hole = np.asarray(get_holes(kind)(rng, truth.shape[:2]), dtype=bool)
    method_seed = int(sequence.generate_state(1)[0])
    return Item(kind, photo, index, np.ascontiguousarray(truth), hole, box, method_seed)


def make_items(
    photos: Sequence[tuple[str, np.ndarray]], kinds: Sequence[str], masks_per_photo: int, seed: int
) -> list[Item]:
    """Every item: per kind (in order), per photo (in order), ``masks_per_photo`` indices.
    Full-photo kinds skip photos below 640x480 (:func:`full_sized`)."""
    if masks_per_photo < 1:
        raise InpaintkitError(f"masks_per_photo must be >= 1, got {masks_per_photo}")
    items = []
    for kind in kinds:
        for name, image in photos:
            if kind in FULL_KINDS and not full_sized(image.shape):
                continue
            items += [make_item(name, image, kind, i, seed) for i in range(masks_per_photo)]
    return items


__all__ = [
    "ALL_KINDS",
    "CROP",
    "CROP_KINDS",
    "FULL_KINDS",
    "MIN_FULL",
    "Item",
    "full_sized",
    "item_seed_sequence",
    "make_item",
    "make_items",
    "parse_kinds",
]
