"""Image files and arrays in and out: decode anything PIL reads to 8-bit RGB, refuse the ambiguous.

Bad input raises InpaintkitError; nothing is resized silently (DESIGN rule 6).
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from inpaintkit.errors import InpaintkitError

MAX_PIXELS = 64 * 1024 * 1024
"""Largest image (width * height) that load_image / load_hole accept by default (64 MiP)."""


ImageSource = str | Path | Image.Image | np.ndarray

_16BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


# ---------------------------------------------------------------------------------------------
# opening


def _open(path: str | Path, max_pixels: int) -> Image.Image:
    """Open and fully decode an image file, refusing missing, corrupt and oversized files.

    The size is checked from the header before decoding (Image.open is lazy). PIL's own
    decompression-bomb warning and error become InpaintkitError too.
    """
    path = Path(path)
    if not path.exists():
        raise InpaintkitError(f"image file not found: {path}")
    if not path.is_file():
        raise InpaintkitError(f"not a file: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                _check_pixels(im.size, max_pixels, path)
                im.load()
                return ImageOps.exif_transpose(im)  # a decoded copy, detached from the file
    except InpaintkitError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise InpaintkitError(f"{path}: refused as a decompression bomb: {e}") from e
    except UnidentifiedImageError as e:
        raise InpaintkitError(f"{path}: not an image file PIL can read") from e
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise InpaintkitError(f"{path}: corrupt or truncated image file ({e})") from e


def _check_pixels(size: tuple[int, int], max_pixels: int, what: object) -> None:
    w, h = size
    if w * h > max_pixels:
        raise InpaintkitError(
            f"{what}: image is {w}x{h} = {w * h} pixels, more than max_pixels={max_pixels}; "
            "refused as a possible decompression bomb (pass a larger max_pixels to allow it)"
        )


def _from_source(source: ImageSource, max_pixels: int, kind: str) -> Image.Image | np.ndarray:
    """A decoded PIL image (EXIF orientation applied) for paths and PIL inputs, else the array."""
    if isinstance(source, (str, Path)):
        return _open(source, max_pixels)
    if isinstance(source, Image.Image):
        _check_pixels(source.size, max_pixels, f"{kind} image")
        return ImageOps.exif_transpose(source)
    if isinstance(source, np.ndarray):
        if source.ndim >= 2:
            _check_pixels((source.shape[1], source.shape[0]), max_pixels, f"{kind} array")
        return source
    raise InpaintkitError(
        f"{kind} source must be a path, a PIL.Image.Image or a numpy array, "
        f"got {type(source).__name__}"
    )


# ---------------------------------------------------------------------------------------------
# images


def _value_range(arr: np.ndarray) -> str:
    """'range [lo, hi]' of an array for error messages, or 'NaN or infinite values'."""
    if not np.isfinite(arr).all():
        return "NaN or infinite values"
    return f"range [{arr.min()}, {arr.max()}]"


def _array_to_pil(arr: np.ndarray) -> Image.Image:
    """uint8 or float-in-[0,1] array HxW, HxWx1, HxWx3, HxWx4 -> PIL L / RGB / RGBA."""
    shapes = "HxW, HxWx1, HxWx3 or HxWx4"
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (1, 3, 4))) or arr.size == 0:
        raise InpaintkitError(f"image array must be non-empty {shapes}, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        data = arr
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
            raise InpaintkitError(
                f"float image array must hold finite values in [0, 1], got {_value_range(arr)}"
            )
        data = np.round(arr.astype(np.float64) * 255).astype(np.uint8)
    else:
        raise InpaintkitError(
            f"image array dtype must be uint8 (0..255) or float (0..1), got {arr.dtype}"
        )
    if data.ndim == 3 and data.shape[2] == 1:
        data = data[:, :, 0]
    return Image.fromarray(np.ascontiguousarray(data))


def _pil_to_rgb(im: Image.Image) -> Image.Image:
    """Any PIL mode -> 8-bit RGB: alpha composited on white, 16-bit divided by 257."""
    if im.mode in _16BIT_MODES:
        values = np.asarray(im, dtype=np.int64)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise InpaintkitError(
                f"integer image of mode {im.mode} must hold 16-bit values 0..65535, got range "
                f"[{values.min()}, {values.max()}]"
            )
        gray = np.round(values / 257).astype(np.uint8)  # 65535 -> 255, 257 * v -> v
        return Image.fromarray(gray).convert("RGB")
    if im.mode == "F":
        return _array_to_pil(np.asarray(im, dtype=np.float32)).convert("RGB")
    if im.mode == "P" or "transparency" in im.info:
        # a palette (or L / RGB with a transparent colour key): resolve it, keep any alpha
        im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
    if im.mode in _ALPHA_MODES:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    try:
        return im.convert("RGB")
    except ValueError as e:
        raise InpaintkitError(f"cannot convert an image of mode {im.mode!r} to RGB") from e


def load_image(source: ImageSource, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Load an image as 8-bit RGB, refusing anything ambiguous with an InpaintkitError.

    Args:
        source: a file path, a PIL image, or a numpy array.
        max_pixels: largest width * height accepted; default MAX_PIXELS (64 MiP). PIL's own
            limit (PIL.Image.MAX_IMAGE_PIXELS, about 89 MP) applies to files as well.

    Returns:
        a new PIL image of mode "RGB" (size (W, H) as the source, after EXIF orientation).

    Behaviour:
        - EXIF orientation is applied (PIL.ImageOps.exif_transpose), for files and PIL images.
        - RGBA, LA, PA and palette or L/RGB images with a transparent colour are composited onto
          WHITE (a fully transparent pixel becomes (255, 255, 255), an opaque one keeps its colour).
        - Palette, 1-bit, grayscale, CMYK and YCbCr images are converted to RGB (gray -> R=G=B).
        - 16-bit grayscale ("I;16*", "I", 16-bit PNG) is divided by 257 and rounded, not clipped
          (65535 -> 255, 257 * v -> v); values outside 0..65535 are refused. 16-bit RGB PNGs are
          reduced by Pillow's decoder itself (it keeps the high byte).
        - numpy arrays: uint8 or float of shape HxW, HxWx1 (gray), HxWx3 (RGB) or HxWx4 (RGBA,
          composited on white); floats must be finite and in [0, 1] (scaled by 255 and rounded).
          Other dtypes and shapes are refused.
        - Files: missing, corrupt, truncated or non-image files are refused, naming the path.
        - More than max_pixels pixels is refused from the header, before decoding; PIL's
          DecompressionBombError / DecompressionBombWarning are refused the same way.
    """
    im = _from_source(source, max_pixels, "image")
    if isinstance(im, np.ndarray):
        im = _array_to_pil(im)
    return _pil_to_rgb(im)


# ---------------------------------------------------------------------------------------------
# saving


OUTPUT_FORMATS = {"png": "PNG", "jpg": "JPEG", "webp": "WEBP"}
"""Output formats: name -> PIL format. A path's suffix chooses one (.jpeg is jpg)."""

_SUFFIX_FORMATS = {".png": "png", ".jpg": "jpg", ".jpeg": "jpg", ".webp": "webp"}
DEFAULT_QUALITY = {"jpg": 95, "webp": 90}
"""Quality used for lossy formats when none is given."""


def format_of(path: str | Path) -> str | None:
    """The output format ("png", "jpg", "webp") a path's suffix names, or None (.bmp, .tif)."""
    return _SUFFIX_FORMATS.get(Path(path).suffix.lower())


def _png_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise InpaintkitError(f"output files are PNG: the path must end in .png, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def atomic_write(path: str | Path, write) -> Path:  # noqa: ANN001
    """Write ``path`` through a temporary file in the same folder and an ``os.replace``.

    ``write(tmp)`` writes the whole file to ``tmp``. A reader sees the old file or the new one,
    never a half-written one; when ``write`` fails, the temporary file is removed, the old file
    is left as it was and the failure is raised (an OSError as an InpaintkitError naming path).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise InpaintkitError(f"cannot write {path}: {err}") from err
        raise
    return path


def save_image(
    image: Image.Image,
    path: str | Path,
    *,
    format: str | None = None,  # noqa: A002
    quality: int | None = None,
) -> Path:
    """Save a PIL image atomically (temporary file + rename; parent folders are created).

    format: "png", "jpg" or "webp"; None = the one the path's suffix names (.png, .jpg,
        .jpeg, .webp; other suffixes are refused). A given format must match the suffix.
    quality: 1..100 for jpg and webp (default DEFAULT_QUALITY); refused for png.
    """
    if not isinstance(image, Image.Image):
        raise InpaintkitError(f"expected a PIL image, got {type(image).__name__}")
    path = Path(path)
    suffix_format = format_of(path)
    if format is None:
        if suffix_format is None:
            raise InpaintkitError(
                f"output files are {', '.join(OUTPUT_FORMATS)}: the path must end in .png, "
                f".jpg, .jpeg or .webp, got {path}"
            )
        format = suffix_format  # noqa: A001
    if format not in OUTPUT_FORMATS:
        raise InpaintkitError(
            f"output format must be one of {', '.join(OUTPUT_FORMATS)}, got {format!r}"
        )
    if suffix_format != format:
        raise InpaintkitError(f"a {format} file must end in .{format}, got {path}")
    extra: dict[str, object] = {}
    if format == "png":
        if quality is not None:
            raise InpaintkitError("quality applies to jpg and webp files, not png")
    else:
        quality = DEFAULT_QUALITY[format] if quality is None else quality
        if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
            raise InpaintkitError(f"quality must be an integer 1..100, got {quality!r}")
        extra["quality"] = quality
    rgb = image if format == "png" or image.mode in ("RGB", "L") else image.convert("RGB")
    return atomic_write(path, lambda tmp: rgb.save(tmp, format=OUTPUT_FORMATS[format], **extra))


def load_input(
    source: ImageSource, size: tuple[int, int], name: str = "input"
) -> Image.Image | np.ndarray:
    """An extra method input (a sketch, an edge map) of the image's ``size`` (W, H): a file is
    opened as grayscale ("L") when it has one channel, else RGB; a PIL image or an array is
    taken as it is (:func:`inpaintkit.io.input_to_tensor` checks its mode and dtype).
    Raises InpaintkitError naming ``name`` for an unreadable file or a size mismatch."""
    if isinstance(source, (str, Path)):
        try:  # _open refuses missing, corrupt, truncated and oversized files
            im = _open(source, MAX_PIXELS)
            gray = im.mode in ("1", "L", "I", "I;16", "F")
            source = im.convert("L" if gray else "RGB")
        except (OSError, ValueError) as err:  # InpaintkitError is a ValueError
            raise InpaintkitError(f"input {name!r}: cannot read {source}: {err}") from err
    got = source.size if isinstance(source, Image.Image) else np.asarray(source).shape[1::-1]
    if tuple(got) != tuple(size):
        raise InpaintkitError(
            f"input {name!r} is {got[0]}x{got[1]} but the image is {size[0]}x{size[1]}"
        )
    return source
