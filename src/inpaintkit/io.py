"""Images and hole masks in and out: the edge where files and user arrays meet the tensor contract.

Inside the library images are torch float32 [B, 3, H, W] in [-1, 1] and the mask is `keep`
float32 [B, 1, H, W] with 1 = known pixel. Outside (files, numpy arrays, PIL images) a mask is a
HOLE mask: white / True = hole by default; `white="keep"` reads RePaint's released mask files,
where white = keep (DESIGN rule 4). Bad input raises InpaintkitError; nothing is resized or
binarised silently (DESIGN rule 6).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from inpaintkit.errors import InpaintkitError

MAX_PIXELS = 64 * 1024 * 1024
"""Largest image (width * height) that load_image / load_hole accept by default (64 MiP)."""

WHITE_CHOICES = ("hole", "keep")
"""What a white (True, 255, 1.0) mask pixel means."""

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
        values, full = _mask_values(src)
    is_white = _binarize(values, full, threshold, what)
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


# ---------------------------------------------------------------------------------------------
# tensors


def image_to_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image (W, H) -> float32 tensor [1, 3, H, W] in [-1, 1] (0 -> -1.0, 255 -> 1.0)."""
    if not isinstance(image, Image.Image) or image.mode != "RGB":
        got = image.mode if isinstance(image, Image.Image) else type(image).__name__
        raise InpaintkitError(f"expected a PIL image of mode RGB (use load_image), got {got}")
    arr = torch.from_numpy(np.array(image, dtype=np.float32))  # [H, W, 3] in 0..255
    return (arr / 127.5 - 1.0).permute(2, 0, 1).unsqueeze(0).contiguous()


def tensor_to_images(x: torch.Tensor) -> list[Image.Image]:
    """Float tensor [B, 3, H, W] in [-1, 1] -> B RGB PIL images.

    Values are clamped to [-1, 1], mapped to 0..255 and rounded half to even. Any float dtype
    and device; non-finite values are refused.
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != 3:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise InpaintkitError(f"expected a tensor [B, 3, H, W], got {got}")
    if not x.is_floating_point():
        raise InpaintkitError(f"expected a float tensor in [-1, 1], got dtype {x.dtype}")
    x = x.detach().to("cpu", torch.float32)
    if not torch.isfinite(x).all():
        raise InpaintkitError("image tensor holds NaN or infinite values")
    u8 = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return [Image.fromarray(a.permute(1, 2, 0).numpy()) for a in u8]


def hole_to_keep(hole: np.ndarray) -> torch.Tensor:
    """Bool hole mask [H, W] (True = hole) -> keep tensor float32 [1, 1, H, W], 1 = known."""
    hole = np.asarray(hole)
    if hole.dtype != bool or hole.ndim != 2:
        raise InpaintkitError(
            f"hole must be a bool array [H, W] (True = hole), got dtype {hole.dtype} "
            f"shape {hole.shape}"
        )
    return torch.from_numpy(~hole).to(torch.float32)[None, None]


def keep_to_hole(keep: torch.Tensor | np.ndarray) -> np.ndarray:
    """Keep mask (1 = known) -> bool hole mask, True where keep < 0.5.

    Shapes: [H, W] or [1, 1, H, W] -> [H, W]; [B, 1, H, W] -> [B, H, W].
    """
    if isinstance(keep, torch.Tensor):
        keep = keep.detach().to("cpu", torch.float32).numpy()
    keep = np.asarray(keep)
    if keep.ndim == 4 and keep.shape[1] == 1:
        keep = keep[:, 0]
        if keep.shape[0] == 1:
            keep = keep[0]
    elif keep.ndim != 2:
        raise InpaintkitError(f"keep must be [H, W] or [B, 1, H, W], got shape {keep.shape}")
    return keep < 0.5


# ---------------------------------------------------------------------------------------------
# saving and showing


def _png_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise InpaintkitError(f"output files are PNG: the path must end in .png, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def save_image(image: Image.Image, path: str | Path) -> Path:
    """Save a PIL image as PNG (the path must end in .png; parent folders are created)."""
    if not isinstance(image, Image.Image):
        raise InpaintkitError(f"expected a PIL image, got {type(image).__name__}")
    path = _png_path(path)
    image.save(path, format="PNG")
    return path


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
    Image.fromarray(is_white.astype(np.uint8) * 255, mode="L").save(path, format="PNG")
    return path


def show_hole(
    image: Image.Image, hole: np.ndarray, color: tuple[int, int, int] = (128, 128, 128)
) -> Image.Image:
    """The image (as RGB) with its hole pixels painted `color` (default mid gray), for grids."""
    hole = np.asarray(hole)
    if hole.dtype != bool or hole.shape != (image.height, image.width):
        raise InpaintkitError(
            f"hole must be a bool array of shape (H, W) = {(image.height, image.width)}, "
            f"got dtype {hole.dtype} shape {hole.shape}"
        )
    arr = np.array(image.convert("RGB"))
    arr[hole] = color
    return Image.fromarray(arr)


def make_grid(
    rows: list[list[Image.Image]],
    *,
    pad: int = 2,
    background: tuple[int, int, int] = (255, 255, 255),
) -> Image.Image:
    """Tile equally sized images into an RGB grid, row by row, `pad` pixels between them.

    Rows may differ in length (short rows leave background on the right). The grid is
    (n_cols * W + (n_cols - 1) * pad) x (n_rows * H + (n_rows - 1) * pad), no outer border.
    """
    images = [im for row in rows for im in row]
    if not images:
        raise InpaintkitError("make_grid needs at least one image")
    if pad < 0:
        raise InpaintkitError(f"pad must be >= 0, got {pad}")
    sizes = {im.size for im in images}
    if len(sizes) != 1:
        raise InpaintkitError(f"grid images must share one size, got sizes {sorted(sizes)}")
    (w, h) = sizes.pop()
    n_cols = max(len(row) for row in rows)
    grid = Image.new(
        "RGB", (n_cols * w + (n_cols - 1) * pad, len(rows) * h + (len(rows) - 1) * pad), background
    )
    for r, row in enumerate(rows):
        for c, im in enumerate(row):
            grid.paste(im.convert("RGB"), (c * (w + pad), r * (h + pad)))
    return grid
