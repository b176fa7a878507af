"""Hole masks in and out: a bool array [H, W], True = hole.

In files and arrays white / True = HOLE by default (as LaMa, IOPaint, OpenCV and image editors);
`white="keep"` reads RePaint's released mask files, where white = keep (DESIGN rule 4).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from inpaintkit.errors import InpaintkitError

from .images import (
    _16BIT_MODES,
    _ALPHA_MODES,
    MAX_PIXELS,
    ImageSource,
    _from_source,
    _png_path,
    _value_range,
    atomic_write,
)

WHITE_CHOICES = ("hole", "keep")
"""What a white (True, 255, 1.0) mask pixel means."""

# ---------------------------------------------------------------------------------------------
# hole masks


def _mask_values(im: Image.Image) -> tuple[np.ndarray, float]:
    """One channel of mask values and its full-scale value (white) from any PIL mode."""
    if im.mode in _16BIT_MODES:
        return np.asarray(im, dtype=np.int64), 65535.0
    if im.mode == "F":
        return np.asarray(im, dtype=np.float32), 1.0
    if im.mode == "P" or "transparency" in im.info:
        im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
    if im.mode in _ALPHA_MODES:
        alpha = np.asarray(im.getchannel("A"))
        if alpha.min() != alpha.max():
            # a mask painted on a transparent layer: opaque = white, whatever the colour
            return alpha, 255.0
        im = im.convert("RGB" if im.mode in ("RGBA", "RGBa", "PA") else "L")
    # RGB: equal channels give that value exactly; differing channels give luminance
    # (ITU-R 601-2, PIL's convert("L"))
    return np.asarray(im.convert("L")), 255.0


def _array_mask_values(arr: np.ndarray) -> tuple[np.ndarray, float]:
    """One channel of mask values and its full-scale value from a numpy array."""
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 3 and arr.shape[2] in (3, 4) and arr.dtype == np.uint8:
        return _mask_values(Image.fromarray(np.ascontiguousarray(arr)))
    if arr.ndim != 2 or arr.size == 0:
        raise InpaintkitError(
            f"mask array must be non-empty HxW or HxWx1 (or uint8 HxWx3 / HxWx4), "
            f"got shape {arr.shape} dtype {arr.dtype}"
        )
    if arr.dtype == bool:
        return arr, 1.0
    if np.issubdtype(arr.dtype, np.integer):
        if arr.min() < 0 or arr.max() > 255:
            raise InpaintkitError(
                f"integer mask array must hold values in 0..255, got range "
                f"[{arr.min()}, {arr.max()}]"
            )
        return arr, (1.0 if arr.max() <= 1 else 255.0)  # {0, 1} or {0, 255}
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
            raise InpaintkitError(
                f"float mask array must hold finite values in [0, 1], got {_value_range(arr)}"
            )
        return arr, 1.0
    raise InpaintkitError(f"mask array dtype must be bool, integer or float, got {arr.dtype}")


def _binarize(values: np.ndarray, full: float, threshold: float | None, what: str) -> np.ndarray:
    """True where the value is white: value == full, or value / full >= threshold."""
    if values.dtype == bool:
        return values.copy()
    if threshold is not None:
        return values / full >= threshold
    white = values == full
    if not (white | (values == 0)).all():
        distinct = np.unique(values)
        shown = ", ".join(f"{v:g}" for v in distinct[:6]) + (", ..." if len(distinct) > 6 else "")
        raise InpaintkitError(
            f"{what} is not binary: found {len(distinct)} distinct values ({shown}), expected "
            f"only 0 and {full:g} (an antialiased or resized mask?); pass threshold=0.5 "
            "(CLI: --threshold 0.5) to binarise it: a pixel is white iff value/max >= threshold"
        )
    return white


def load_hole(
    source: ImageSource,
    *,
    size: tuple[int, int] | None = None,
    white: str = "hole",
    threshold: float | None = None,
    max_pixels: int = MAX_PIXELS,
) -> np.ndarray:
    """Load a hole mask as a bool array [H, W], True = hole.

    Args:
        source: a file path, a PIL image or a numpy array.
        size: (W, H) of the image the mask belongs to, in PIL order (image.size); default None
            (no check). A mismatch raises; masks are never resized silently.
        white: "hole" (default: white = hole, as LaMa, IOPaint, OpenCV and editors) or "keep"
            (RePaint's released mask files: white = known pixel).
        threshold: None (default: the mask must be binary) or t in (0, 1]: a pixel is white iff
            value / max >= t, where max is the full-scale value (255, 65535, 1.0).
        max_pixels: as in load_image.

    Behaviour:
        - Files and PIL images: EXIF orientation applied; any mode is reduced to one channel:
          1-bit, L and 16-bit grayscale as they are (16-bit full scale 65535); RGB with equal
          channels gives that channel, RGB with differing channels its luminance (PIL "L").
        - Alpha (RGBA, LA, PA, palette or colour-key transparency): if the alpha channel is
          uniform it is ignored and the colour decides; if it varies, the ALPHA IS THE MASK
          (opaque = white, transparent = black) and the colour is ignored, which is what a mask
          painted on a transparent layer means.
        - Without threshold, values must be binary (only 0 and the full-scale value); otherwise
          InpaintkitError says how many distinct values were found and to pass threshold=...
        - numpy arrays: bool as is (True = white); integer arrays with values {0, 255} or {0, 1}
          (full scale 1 when no value exceeds 1); floats in {0.0, 1.0} (any value in [0, 1] with
          threshold); HxW or HxWx1; uint8 HxWx3 / HxWx4 are reduced like RGB / RGBA files.
    """
    if white not in WHITE_CHOICES:
        raise InpaintkitError(f"white must be one of {WHITE_CHOICES}, got {white!r}")
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float, np.floating))
        or not 0 < threshold <= 1
    ):
        raise InpaintkitError(f"threshold must be None or a number in (0, 1], got {threshold!r}")
    what = f"mask {source}" if isinstance(source, (str, Path)) else "mask"
    src = _from_source(source, max_pixels, "mask")
    if isinstance(src, np.ndarray):
        values, full = _array_mask_values(src)
    else:
        try:
            values, full = _mask_values(src)
        except InpaintkitError:
            raise
        except ValueError as e:  # a mode PIL cannot reduce to one channel (LAB, HSV, ...)
            raise InpaintkitError(
                f"{what}: cannot read a mask of PIL mode {src.mode!r} ({e}); "
                "expected 1, L, I;16, F, P, RGB, RGBA, LA or PA"
            ) from e
    is_white = _binarize(values, full, threshold, what)
    if white == "hole":
        _refuse_cutout(src, is_white, what)
    if size is not None:
        if not (isinstance(size, (tuple, list)) and len(size) == 2):
            raise InpaintkitError(f"size must be the image's (W, H), got {size!r}")
        h, w = is_white.shape
        if (w, h) != (int(size[0]), int(size[1])):
            raise InpaintkitError(
                f"{what} is {w}x{h} (WxH) but the image is {size[0]}x{size[1]}; masks are not "
                "resized silently: give a mask of the image's size"
            )
    return is_white if white == "hole" else ~is_white


CUTOUT_HOLE_FRACTION = 0.5
"""A mask read from varying alpha whose opaque (hole) part is above this fraction and is a
picture (many colours) is an image with a transparent cut-out, not a mask: refused."""


def _refuse_cutout(src: object, is_white: np.ndarray, what: str) -> None:
    """Raise when ``src`` is an image with a transparent hole read as its own mask.

    Such a file's alpha is the mask (opaque = white = hole), so the picture becomes the hole
    (often ~90%) and the real hole is kept, where compositing on white made it white: the result
    is all white. A mask painted on a transparent layer has one brush colour; a picture many."""
    fraction = float(is_white.mean())
    if fraction <= CUTOUT_HOLE_FRACTION:
        return
    if isinstance(src, np.ndarray):
        if not (src.ndim == 3 and src.shape[2] == 4 and src.dtype == np.uint8):
            return  # only uint8 HxWx4 arrays carry an alpha channel
        src = Image.fromarray(np.ascontiguousarray(src))
    im = src
    if not isinstance(im, Image.Image) or im.mode not in ("RGBA", "LA", "PA", "P"):
        return
    im = im.convert("RGBA")
    alpha = np.asarray(im.getchannel("A"))
    if alpha.min() == alpha.max():
        return  # uniform alpha: the colour was the mask
    opaque = np.asarray(im.convert("RGB"))[alpha > 0]
    if len(np.unique(opaque.reshape(-1, 3)[:4096], axis=0)) <= 16:
        return  # one brush colour (with a few antialiased shades): a painted mask
    raise InpaintkitError(
        f"{what} looks like an image with a transparent hole, not a mask: its alpha channel is "
        f"the mask and its opaque picture would be the hole ({fraction:.0%} of the pixels). "
        "If the transparent pixels are the hole, read it with white='keep' (CLI: --mask-white "
        "keep; with the same file as image and mask, pass a copy); otherwise give a black and "
        "white mask (white = hole)"
    )


def save_hole(hole: np.ndarray, path: str | Path, *, white: str = "hole") -> Path:
    """Save a bool hole mask [H, W] as an 8-bit L PNG of 0 / 255.

    white: "hole" (default: hole pixels are 255) or "keep" (known pixels are 255, RePaint's files).
    """
    if white not in WHITE_CHOICES:
        raise InpaintkitError(f"white must be one of {WHITE_CHOICES}, got {white!r}")
    hole = np.asarray(hole)
    if hole.dtype != bool or hole.ndim != 2:
        raise InpaintkitError(
            f"hole must be a bool array [H, W], got dtype {hole.dtype} shape {hole.shape}"
        )
    is_white = hole if white == "hole" else ~hole
    path = _png_path(path)
    picture = Image.fromarray(is_white.astype(np.uint8) * 255, mode="L")
    return atomic_write(path, lambda tmp: picture.save(tmp, format="PNG"))
