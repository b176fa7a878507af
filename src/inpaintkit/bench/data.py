"""Benchmark images from a data spec: the emoji test split, the committed 64 test emoji, or any
folder of images. Always uint8 [N, size, size, 3], RGB composited on white, in a fixed order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import InpaintkitError

EMOJI_TEST = "emoji-test"
EMOJI_TEST_64 = "emoji-test-64"
DATA_SPECS = (EMOJI_TEST, EMOJI_TEST_64)
"""Named data specs, besides "emoji-<split>:<style>"; anything else is read as a folder path."""
EMOJI_SPLITS = ("test", "tune")

_COMMITTED = Path("tests") / "data" / "emoji_test_64"


@dataclass(frozen=True)
class BenchImages:
    """images: uint8 [N, size, size, 3]; names: N file-safe names ("0007" or "0007_<stem>")."""

    images: np.ndarray
    names: list[str]


def committed_emoji_dir() -> Path:
    """The committed ``tests/data/emoji_test_64`` folder (64 held-out google emoji PNGs).

    tests/ is not part of the installed package, so this looks in the repository the package
    was installed from (editable installs: ``src/inpaintkit/../../tests``) and then under the
    current directory. Raises InpaintkitError saying to pass the folder's path otherwise.
    """
    candidates = [Path(__file__).resolve().parents[3] / _COMMITTED, Path.cwd() / _COMMITTED]
    for folder in candidates:
        if folder.is_dir():
            return folder
    raise InpaintkitError(
        f"{EMOJI_TEST_64!r} is the repository's {_COMMITTED}, which is not installed with the "
        "package and was not found next to it or under the current directory; pass that "
        "folder's path as the data spec instead"
    )


def data_source(data: str) -> str:
    """How a benchmark folder records ``data``: a named spec as given ("emoji-test",
    "emoji-test:twitter"), a folder as its absolute path, so that a run resumes from any
    working directory."""
    if data in DATA_SPECS or _emoji_spec(data) is not None:
        return data
    return str(Path(data).resolve())


def load_bench_images(data: str, size: int, n: int | None = None) -> BenchImages:
    """The first ``n`` images (all when None) of ``data`` at ``size`` x ``size``.

    data: "emoji-test" (the google test split, 380 images, :func:`~inpaintkit.data.emoji.
    load_emoji` order), "emoji-<split>:<style>" (split test or tune, style google, twitter or
    facebook, e.g. "emoji-test:twitter"), "emoji-test-64" (:func:`committed_emoji_dir`, sorted)
    or a folder (every png/jpg/jpeg/webp below it, sorted by path). Resizing: emoji with PIL
    LANCZOS from 64x64; folders shorter side to ``size`` then centre crop
    (:mod:`inpaintkit.data.folder`).
    """
    if size < 8:
        raise InpaintkitError(f"benchmark image size must be >= 8, got {size}")
    if n is not None and n < 1:
        raise InpaintkitError(f"n must be >= 1, got {n}")
    emoji = _emoji_spec(data)
    if emoji is not None:
        from ..data.emoji import load_emoji

        images = load_emoji(emoji[1], emoji[0], 32 if size == 32 else 64)
        images = images[:n] if n is not None else images
        if images.shape[1] != size:
            images = np.stack([_resize(im, size) for im in images])
        return BenchImages(images, [f"{i:04d}" for i in range(len(images))])
    from ..data.folder import ImageFolderDataset

    folder = committed_emoji_dir() if data == EMOJI_TEST_64 else Path(data)
    if data.startswith("emoji-") and not folder.is_dir() and data != EMOJI_TEST_64:
        raise InpaintkitError(
            f"unknown data {data!r}: use emoji-<split>:<style> with split in {EMOJI_SPLITS}"
        )
    if data not in DATA_SPECS and not folder.is_dir():
        raise InpaintkitError(
            f"unknown data {data!r}: not one of {DATA_SPECS} and not a folder of images"
        )
    dataset = ImageFolderDataset(folder, size)
    count = len(dataset) if n is None else min(n, len(dataset))
    images = np.stack([dataset.load_uint8(i) for i in range(count)])
    names = [f"{i:04d}_{_safe(dataset.files[i].stem)}" for i in range(count)]
    return BenchImages(images, names)


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.LANCZOS))


def _safe(stem: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:60]


def _emoji_spec(data: str) -> tuple[str, str] | None:
    """(split, style) of "emoji-test" (google) or "emoji-<split>:<style>"; None otherwise."""
    if data == EMOJI_TEST:
        return "test", "google"
    head, _, style = data.partition(":")
    split = head.removeprefix("emoji-")
    if head.startswith("emoji-") and split in EMOJI_SPLITS and style:
        from ..data.emoji import STYLES

        if style not in STYLES:
            raise InpaintkitError(f"unknown emoji style {style!r} in {data!r}; choose {STYLES}")
        return split, style
    return None
