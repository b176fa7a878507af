"""Same-scene photo pairs that exist offline, for reference-driven inpainting (RealFill):
OpenCV's sample images (Debian package opencv-doc, examples/data) and scikit-image's stereo
motorcycle pair.

The OpenCV pairs: leuvenA/B (a street, two exposures), aloeL/R (a stereo pair), graf1/graf3 (a
graffiti wall from two viewpoints), rubberwhale1/2 (two frames of the Middlebury flow scene).
:func:`fetch_opencv_samples` runs ``apt-get download opencv-doc`` and ``dpkg -x`` once into the
cache (``<cache>/opencv-doc/``) and keeps only examples/data's images.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import InpaintkitError
from .emoji import default_cache_dir

OPENCV_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("leuven", "leuvenA.jpg", "leuvenB.jpg"),
    ("aloe", "aloeL.jpg", "aloeR.jpg"),
    ("graf", "graf1.png", "graf3.png"),
    ("rubberwhale", "rubberwhale1.png", "rubberwhale2.png"),
)
"""(name, target file, reference file) in opencv-doc's examples/data."""
_FILES = tuple(f for _, a, b in OPENCV_PAIRS for f in (a, b))

_DATA = Path("usr/share/doc/opencv-doc/examples/data")
_SUFFIXES = (".jpg", ".png")


def fetch_opencv_samples(cache_dir: Path | None = None) -> Path:
    """The folder of OpenCV's sample images (fetched once: ``apt-get download opencv-doc`` and
    ``dpkg -x`` into ``<cache>/opencv-doc``, default cache :func:`~inpaintkit.data.emoji.
    default_cache_dir`). A cached copy is used without apt. InpaintkitError when apt-get or dpkg
    is missing or the package cannot be downloaded."""
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = root / "opencv-doc" / "data"
    if target.is_dir() and all((target / f).is_file() for f in _FILES):
        return target
    for tool in ("apt-get", "dpkg"):
        if shutil.which(tool) is None:
            raise InpaintkitError(
                f"fetching OpenCV's sample images needs {tool} (Debian/Ubuntu); or put the "
                f"files {list(_FILES)} into {target}"
            )
    (root / "opencv-doc").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root / "opencv-doc") as tmp:
        try:
            subprocess.run(["apt-get", "download", "opencv-doc"], cwd=tmp, check=True,
                           capture_output=True, text=True, timeout=600)  # fmt: skip
            debs = sorted(Path(tmp).glob("opencv-doc_*.deb"))
            if not debs:
                raise InpaintkitError("apt-get download opencv-doc wrote no .deb file")
            subprocess.run(["dpkg", "-x", str(debs[0]), str(Path(tmp) / "x")], check=True,
                           capture_output=True, text=True, timeout=600)  # fmt: skip
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
            detail = getattr(err, "stderr", "") or err
            raise InpaintkitError(f"cannot fetch opencv-doc with apt-get: {detail}") from err
        source = Path(tmp) / "x" / _DATA
        if not source.is_dir():
            raise InpaintkitError(f"opencv-doc holds no {_DATA}")
        target.mkdir(parents=True, exist_ok=True)
        for path in source.iterdir():
            if path.suffix.lower() in _SUFFIXES and path.is_file():
                shutil.copyfile(path, target / path.name)
    missing = [f for f in _FILES if not (target / f).is_file()]
    if missing:
        raise InpaintkitError(f"opencv-doc's examples/data lacks {missing}")
    return target


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


__all__ = ["OPENCV_PAIRS", "fetch_opencv_samples", "motorcycle_pair", "opencv_pairs"]
