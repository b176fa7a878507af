"""Same-scene photo pairs that exist offline, for reference-driven inpainting (RealFill):
OpenCV's sample images (Debian package opencv-doc, examples/data) and scikit-image's stereo
motorcycle pair.

The OpenCV pairs: leuvenA/B (a street, two exposures), aloeL/R (a stereo pair), graf1/graf3 (a
graffiti wall from two viewpoints), rubberwhale1/2 (two frames of the Middlebury flow scene).
:func:`fetch_opencv_samples` runs ``apt-get download opencv-doc`` and ``dpkg -x`` once into the
cache (:mod:`inpaintkit.data.debs`: ``<cache>/debs/opencv-doc/``), keeping examples/data's images.
The whole photo set (wallpapers too, split by scene) is :mod:`inpaintkit.data.photo_set`;
:func:`read_photo` reads any of its files, scaled down to a bound.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import InpaintkitError
from .debs import fetch_deb
from .emoji import composite_on_white, default_cache_dir

OPENCV_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("leuven", "leuvenA.jpg", "leuvenB.jpg"),
    ("aloe", "aloeL.jpg", "aloeR.jpg"),
    ("graf", "graf1.png", "graf3.png"),
    ("rubberwhale", "rubberwhale1.png", "rubberwhale2.png"),
)
"""(name, target file, reference file) in opencv-doc's examples/data."""
_FILES = tuple(f for _, a, b in OPENCV_PAIRS for f in (a, b))

OPENCV_PACKAGE = "opencv-doc"
OPENCV_DATA = "usr/share/doc/opencv-doc/examples/data"
"""The Debian package holding OpenCV's sample images, and their folder inside it."""


def fetch_opencv_samples(cache_dir: Path | None = None) -> Path:
    """The folder of OpenCV's sample images: ``apt-get download opencv-doc`` and ``dpkg -x``
    once into the cache (:func:`~inpaintkit.data.debs.fetch_deb`; default cache
    :func:`~inpaintkit.data.emoji.default_cache_dir`). A copy made by earlier versions
    (``<cache>/opencv-doc/data``) is used when it holds the pairs. InpaintkitError when apt-get
    or dpkg is missing or the package cannot be downloaded."""
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    legacy = root / "opencv-doc" / "data"
    if legacy.is_dir() and all((legacy / f).is_file() for f in _FILES):
        return legacy
    folder = fetch_deb(OPENCV_PACKAGE, OPENCV_DATA, root) / OPENCV_DATA
    missing = [f for f in _FILES if not (folder / f).is_file()]
    if missing:
        raise InpaintkitError(f"opencv-doc's examples/data lacks {missing}")
    return folder


def read_photo(
    path: Path, *, short_max: int | None = None, long_max: int | None = None
) -> np.ndarray:
    """A photo file as uint8 [H, W, 3]: alpha composited on white, grey made RGB, and scaled
    down (never up; PIL LANCZOS) so that its short side is at most ``short_max`` and its long
    side at most ``long_max`` (each optional; the output size is the original's times one
    factor, rounded). JPEGs are decoded at a reduced scale first when that suffices (PIL's
    ``draft``), which makes reading a 5120x2880 file for a small copy several times cheaper.
    InpaintkitError when the file cannot be read."""
    try:
        with Image.open(path) as im:
            width, height = im.size
            scale = 1.0
            if short_max is not None and min(width, height) > short_max:
                scale = short_max / min(width, height)
            if long_max is not None and max(width, height) * scale > long_max:
                scale = long_max / max(width, height)
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            if scale < 1.0:
                im.draft(None, size)  # JPEG only: decode at 1/2, 1/4 or 1/8, never below size
            if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
                rgb = Image.fromarray(composite_on_white(np.asarray(im.convert("RGBA"))))
            else:
                rgb = im.convert("RGB")
    except OSError as err:
        raise InpaintkitError(f"cannot read the photo {path}: {err}") from err
    if rgb.size != size:
        rgb = rgb.resize(size, Image.Resampling.LANCZOS)
    return np.asarray(rgb)


def opencv_pairs(cache_dir: Path | None = None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """[(name, target uint8 [H, W, 3], reference uint8 [H', W', 3])] for :data:`OPENCV_PAIRS`."""
    folder = fetch_opencv_samples(cache_dir)
    out = []
    for name, a, b in OPENCV_PAIRS:
        images = [np.asarray(Image.open(folder / f).convert("RGB")) for f in (a, b)]
        out.append((name, images[0], images[1]))
    return out


def motorcycle_pair() -> tuple[str, np.ndarray, np.ndarray]:
    """("motorcycle", left, right): scikit-image's bundled stereo pair (Middlebury 2014)."""
    from skimage import data

    left, right, _ = data.stereo_motorcycle()
    return "motorcycle", np.asarray(left), np.asarray(right)


__all__ = [
    "OPENCV_DATA",
    "OPENCV_PACKAGE",
    "OPENCV_PAIRS",
    "fetch_opencv_samples",
    "motorcycle_pair",
    "opencv_pairs",
    "read_photo",
]
