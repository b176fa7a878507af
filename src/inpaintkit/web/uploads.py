"""Uploaded files in: size caps first, then the image's header, then decoding.

An upload is read in chunks and refused (413) as soon as it passes ``max_bytes``. An image's
width and height are read from its header (PIL opens lazily) and checked against the megapixel
cap BEFORE any pixel is decoded, so a decompression bomb (a small file that decodes to
gigabytes) costs nothing but its header: 413. Everything else that is wrong with a file is
422, naming the field.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import InpaintkitError
from ..io import load_hole, load_image
from .errors import WebError

CHUNK = 1024 * 1024


async def read_upload(upload: object, field: str, max_bytes: int) -> bytes:
    """The bytes of an uploaded file (a starlette UploadFile), at most ``max_bytes``: more is
    413 naming the field; an empty file is 422."""
    if upload is None or not hasattr(upload, "read"):
        raise WebError(422, f"{field}: expected an uploaded file", field=field)
    parts, size = [], 0
    while True:
        chunk = await upload.read(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > max_bytes:
            raise WebError(
                413, f"{field}: the file is larger than the limit of {max_bytes} bytes", field=field
            )
        parts.append(chunk)
    if size == 0:
        raise WebError(422, f"{field}: the uploaded file is empty", field=field)
    return b"".join(parts)


def open_checked(data: bytes, field: str, max_pixels: int) -> Image.Image:
    """A decoded PIL image from ``data``: its header's size is checked against ``max_pixels``
    first (413, as for PIL's own decompression-bomb check); unreadable data is 422."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))  # lazy: reads the header only
            width, height = im.size
            if width * height > max_pixels:
                raise WebError(
                    413,
                    f"{field}: the image is {width}x{height} = {width * height} pixels, more than "
                    f"the limit of {max_pixels} ({max_pixels / 1e6:g} megapixels); refused before "
                    "decoding",
                    field=field,
                )
            im.load()
            return im
    except WebError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        detail = f"{field}: refused as a decompression bomb ({err})"
        raise WebError(413, detail, field=field) from err
    except UnidentifiedImageError as err:
        raise WebError(422, f"{field}: not an image file PIL can read", field=field) from err
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        detail = f"{field}: corrupt or truncated image file ({err})"
        raise WebError(422, detail, field=field) from err


def decode_image(data: bytes, max_pixels: int, field: str = "image") -> Image.Image:
    """The uploaded image as 8-bit RGB (inpaintkit.io.load_image's rules), or WebError."""
    im = open_checked(data, field, max_pixels)
    try:
        return load_image(im, max_pixels=max_pixels)
    except InpaintkitError as err:
        raise WebError(422, f"{field}: {err}", field=field) from err


def decode_hole(
    data: bytes,
    size: tuple[int, int],
    max_pixels: int,
    *,
    white: str = "hole",
    threshold: float | None = None,
    field: str = "mask",
) -> np.ndarray:
    """The uploaded mask as a bool hole [H, W] of the image's ``size`` (W, H), read by
    inpaintkit.io.load_hole (white = hole unless ``white="keep"``; binary unless ``threshold``),
    or WebError 422 naming what is wrong (e.g. a mask of another size)."""
    im = open_checked(data, field, max_pixels)
    try:
        return load_hole(im, size=size, white=white, threshold=threshold, max_pixels=max_pixels)
    except InpaintkitError as err:
        raise WebError(422, f"{field}: {err}", field=field) from err
