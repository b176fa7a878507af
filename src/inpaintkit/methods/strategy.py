"""How a method meets an image of any size: the high-resolution strategies, in IOPaint's style.

A strategy cuts each image into :class:`Piece` s, the inputs of the method calls, and says how
each call's output goes back:

- ``original``: the whole image, reflect-padded at the bottom and right to the method's
  ``multiple`` (or, for a method with a fixed ``image_size`` S, up to S x S when the image is not
  larger), and cropped back. An image larger than S is refused: nothing is resized silently.
- ``resize``: the whole image resized to S x S (Lanczos; a model pixel is a hole when any part of
  its area is), inpainted, and resized back (Lanczos). Without a fixed size it is ``original``.
- ``crop``: the hole's connected regions (8-connected), merged while their bounding boxes
  overlap; per region its bounding box plus ``margin`` pixels on every side. With a fixed size the
  box is a square of side max(S, box + 2 margin) centred on the region, shifted inside the
  image, reflect-padded to a square where the image is smaller, and resized to S x S when larger
  (never squashed); without one it is the grown box clipped to the image, padded to the
  multiple. Only the region's own hole pixels go back. Default margin: S // 4 (a hole up to S / 2
  wide is inpainted at the model's own resolution with at least S / 4 of context on each side),
  128 px for methods of any size (IOPaint's).
- ``auto`` (the default): ``crop`` when the image is larger than S on either side, else
  ``original``. A network of any size may set ``crop_above`` (feed-forward ones: 1024 px, as
  IOPaint crops large photos): ``crop`` when a side exceeds it, so a small hole in a 4000x3000
  photo costs a crop, not a 12-megapixel network call.

Planes are numpy arrays here (uint8 [H, W, 3] images, bool [H, W] holes, uint8 or bool inputs);
``io.tensors`` turns them into tensors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..errors import InpaintkitError

STRATEGIES = ("auto", "original", "resize", "crop")
"""The high-resolution strategies, ``auto`` first (the default)."""

Box = tuple[int, int, int, int]
"""(top, left, bottom, right) in pixels, bottom and right exclusive."""


@dataclass(frozen=True)
class Piece:
    """One method call's share of an image.

    box: the (top, left, bottom, right) taken from the image. pad: (bottom, right) reflect padding
    added to it. size: side of the square the padded box is resized to (None = not resized).
    own: bool [box height, box width], the hole pixels this piece's output fills.
    """

    box: Box
    pad: tuple[int, int]
    size: int | None
    own: np.ndarray

    @property
    def padded(self) -> tuple[int, int]:
        """(height, width) of the padded box, before any resize."""
        top, left, bottom, right = self.box
        return bottom - top + self.pad[0], right - left + self.pad[1]


def check_strategy(strategy: str) -> str:
    """``strategy`` if it is one of STRATEGIES, else a clear InpaintkitError."""
    if strategy not in STRATEGIES:
        raise InpaintkitError(f"unknown strategy {strategy!r}; choose one of {list(STRATEGIES)}")
    return strategy


def resolve_strategy(
    strategy: str, image_size: int | None, width: int, height: int, crop_above: int | None = None
) -> str:
    """The strategy used for a width x height image: ``auto`` becomes ``crop`` when the method has
    a fixed ``image_size`` and the image is larger on either side, or when it works at any size
    but sets ``crop_above`` (a network's :attr:`crop_above`) and a side exceeds it; else
    ``original``."""
    check_strategy(strategy)
    if strategy != "auto":
        return strategy
    limit = image_size if image_size is not None else crop_above
    if limit is not None and (width > limit or height > limit):
        return "crop"
    return "original"


def default_margin(image_size: int | None) -> int:
    """The crop margin when none is given: image_size // 4, or 128 px without a fixed size."""
    return 128 if image_size is None else max(1, image_size // 4)


def plan(
    hole: np.ndarray,
    strategy: str,
    *,
    image_size: int | None = None,
    multiple: int = 1,
    margin: int | None = None,
) -> list[Piece]:
    """The pieces of an image whose hole is ``hole`` (bool [H, W], True = hole) under a resolved
    ``strategy`` ("original", "resize" or "crop"). Every hole pixel is owned by exactly one piece;
    an empty hole has none."""
    if strategy not in STRATEGIES[1:]:
        raise InpaintkitError(f"plan needs a resolved strategy {STRATEGIES[1:]}, got {strategy!r}")
    if not hole.any():
        return []
    height, width = hole.shape
    whole = (0, 0, height, width)
    if strategy == "resize" and image_size is not None:
        size = None if (height, width) == (image_size, image_size) else image_size
        return [Piece(whole, (0, 0), size, hole)]
    if strategy in ("original", "resize"):
        if image_size is not None and (height > image_size or width > image_size):
            raise InpaintkitError(
                f"the model works at {image_size}x{image_size} but the image is {width}x{height}; "
                'nothing is resized silently: use strategy "crop" (the default "auto" crops '
                'around each hole) or "resize" (CLI: --strategy crop | resize; --resize), a '
                "model trained at this size, or a classical method that works at any size "
                "(--method telea; see inpaintkit methods)"
            )
        return [Piece(whole, _pad(whole, image_size, multiple), None, hole)]
    margin = default_margin(image_size) if margin is None else margin
    if isinstance(margin, bool) or not isinstance(margin, int) or margin < 0:
        raise InpaintkitError(f"crop margin must be an integer >= 0, got {margin!r}")
    boxes, regions = hole_regions(hole)
    pieces = []
    for n, box in enumerate(boxes):
        top, left, bottom, right = crop = _crop_box(box, (height, width), image_size, margin)
        if image_size is not None:
            side = _square_side(box, image_size, margin)
            pad = (side - (bottom - top), side - (right - left))
            size = image_size if side > image_size else None
        else:
            pad, size = _pad(crop, None, multiple), None
        pieces.append(Piece(crop, pad, size, regions[top:bottom, left:right] == n))
    return pieces


def hole_regions(hole: np.ndarray) -> tuple[list[Box], np.ndarray]:
    """The hole's 8-connected regions, merged while their bounding boxes overlap (repeatedly, as a
    merged box may reach a third). Returns (boxes, regions): one box per merged region, in the
    order of the regions' first pixels in raster order, and int [H, W] the index of each hole
    pixel's region (-1 on known pixels)."""
    from scipy import ndimage  # imported when needed: it costs a CLI start 0.2 s
    from scipy.sparse.csgraph import connected_components

    labels, count = ndimage.label(hole, structure=np.ones((3, 3), bool))
    boxes = np.array(
        [(s[0].start, s[1].start, s[0].stop, s[1].stop) for s in ndimage.find_objects(labels)],
        dtype=np.int64,
    ).reshape(-1, 4)
    group = np.arange(count)
    while len(boxes) > 1:
        t, lf, b, r = boxes.T
        overlap = (
            (t[:, None] < b[None, :])
            & (t[None, :] < b[:, None])
            & (lf[:, None] < r[None, :])
            & (lf[None, :] < r[:, None])
        )
        n, merged = connected_components(overlap, directed=False)
        if n == len(boxes):
            break
        boxes = np.array(
            [
                (t[m].min(), lf[m].min(), b[m].max(), r[m].max())
                for m in (merged == g for g in range(n))
            ],
            dtype=np.int64,
        )
        group = merged[group]
    regions = np.concatenate([[-1], group])[labels]
    return [tuple(int(v) for v in box) for box in boxes], regions


def _square_side(box: Box, image_size: int, margin: int) -> int:
    top, left, bottom, right = box
    return max(image_size, bottom - top + 2 * margin, right - left + 2 * margin)


def _crop_box(box: Box, shape: tuple[int, int], image_size: int | None, margin: int) -> Box:
    """The region's box grown by ``margin`` (a square of _square_side with a fixed size), centred
    on the region, shifted inside the image, clipped to it where the image is smaller."""
    top, left, bottom, right = box
    height, width = shape
    if image_size is None:
        return (
            max(top - margin, 0),
            max(left - margin, 0),
            min(bottom + margin, height),
            min(right + margin, width),
        )
    side = _square_side(box, image_size, margin)
    start_y = min(max(top - (side - (bottom - top)) // 2, 0), max(height - side, 0))
    start_x = min(max(left - (side - (right - left)) // 2, 0), max(width - side, 0))
    return start_y, start_x, min(start_y + side, height), min(start_x + side, width)


def _pad(box: Box, image_size: int | None, multiple: int) -> tuple[int, int]:
    """(bottom, right) padding that brings the box to image_size (if set) or to the multiple."""
    height, width = box[2] - box[0], box[3] - box[1]
    if image_size is not None:
        return image_size - height, image_size - width
    return -height % multiple, -width % multiple


def cut(piece: Piece, plane: np.ndarray) -> np.ndarray:
    """A plane (uint8 [H, W] or [H, W, 3] picture, or bool [H, W] mask) as the method sees it:
    cropped to the box, reflect-padded, resized (pictures Lanczos; masks: a pixel is True when
    any part of its area is)."""
    top, left, bottom, right = piece.box
    out = plane[top:bottom, left:right]
    if any(piece.pad):
        widths = ((0, piece.pad[0]), (0, piece.pad[1])) + ((0, 0),) * (out.ndim - 2)
        out = np.pad(out, widths, mode="reflect")
    if piece.size is None:
        return np.ascontiguousarray(out)
    square = (piece.size, piece.size)
    if out.dtype == bool:
        resized = Image.fromarray(out.astype(np.uint8) * 255).resize(square, Image.Resampling.BOX)
        return np.asarray(resized) > 0
    return np.asarray(Image.fromarray(out).resize(square, Image.Resampling.LANCZOS))


def uncut(piece: Piece, filled: np.ndarray, image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """A method output back on the image's grid: uint8 [box height, box width, 3].

    filled, image: uint8 [h, w, 3] at the method's size (its output and its input); hole: bool
    [h, w] its hole. The output's hole goes over the input's known pixels before resizing back
    (Lanczos), so the fill's border meets the true colours; the padding is cropped off.
    """
    out = np.where(hole[..., None], filled, image).astype(np.uint8)
    height, width = piece.padded
    if piece.size is not None:
        out = np.asarray(Image.fromarray(out).resize((width, height), Image.Resampling.LANCZOS))
    top, left, bottom, right = piece.box
    return out[: bottom - top, : right - left]


def feather_weights(hole: np.ndarray, feather: int) -> np.ndarray | None:
    """Blend weights of the fill, float [H, W]: 1 deep in the hole, rising as d / (feather + 1)
    over the ``feather`` px band inside its border (d = Euclidean distance to the nearest known
    pixel, >= 1 in the hole); 0 on known pixels. None when ``feather`` is 0 (no blending)."""
    if isinstance(feather, bool) or not isinstance(feather, int) or feather < 0:
        raise InpaintkitError(f"feather must be an integer >= 0 (pixels), got {feather!r}")
    if feather == 0:
        return None
    if hole.all():
        return np.ones(hole.shape)
    from scipy import ndimage

    return np.minimum(ndimage.distance_transform_edt(hole) / (feather + 1), 1.0)


def paste(
    result: np.ndarray,
    piece: Piece,
    fill: np.ndarray,
    weights: np.ndarray | None = None,
) -> None:
    """Write the piece's own hole pixels of ``fill`` (uncut's output) into ``result`` (uint8
    [H, W, 3], in place); with feather ``weights`` each is w * fill + (1 - w) * result, rounded.
    Known pixels are never touched."""
    top, left, bottom, right = piece.box
    view = result[top:bottom, left:right]
    own = piece.own
    if weights is None:
        view[own] = fill[own]
        return
    w = weights[top:bottom, left:right][own][:, None]
    view[own] = np.rint(w * fill[own] + (1.0 - w) * view[own]).astype(np.uint8)
