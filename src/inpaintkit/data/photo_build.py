"""``inpaintkit data photos``: fetch the photo set's packages and lay the set out in the cache.

:func:`build_photo_set` fetches every package of the committed list
(:mod:`inpaintkit.data.photo_set`), checks that every listed photo is there, and writes
``<cache>/photos/``: ``train/`` and ``test/`` (one link per photo, named ``<name><suffix>``,
pointing into the unpacked packages; a copy where links are not allowed) and ``index.csv``
(name, scene, split, package, path in the package, width, height, local file). The links make
the set usable as an image folder too (``inpaintkit train <cache>/photos/train``).
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ..errors import InpaintkitError
from .emoji import default_cache_dir
from .photo_set import Fetcher, fetch_photo_files, heldout_scenes, photo_files


@dataclass(frozen=True)
class PhotoSetSummary:
    """What :func:`build_photo_set` made: counts per split and where things are."""

    folder: Path
    scenes: dict[str, int]
    files: dict[str, int]
    packages: dict[str, int]
    megapixels: float

    def lines(self) -> list[str]:
        """The summary as printable lines."""
        per = ", ".join(f"{p} {n}" for p, n in self.packages.items())
        return [
            f"photo set: {self.files['all']} photos of {self.scenes['all']} scenes "
            f"({self.megapixels:.1f} megapixels); per source: {per}",
            f"train: {self.files['train']} photos of {self.scenes['train']} scenes in "
            f"{self.folder / 'train'}",
            f"test: {self.files['test']} photos of {self.scenes['test']} scenes in "
            f"{self.folder / 'test'}",
            f"index: {self.folder / 'index.csv'}",
        ]


def build_photo_set(
    cache_dir: Path | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    fetch: Fetcher | None = None,
) -> PhotoSetSummary:
    """Fetch the photo set (apt-get download + dpkg -x, once) and write ``<cache>/photos/``
    (module docstring). ``progress`` gets a line per fetch step; the summary's
    :meth:`~PhotoSetSummary.lines` say what was made. InpaintkitError when a package
    cannot be fetched (naming the package and the failed command) or lacks a listed photo."""
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    files = photo_files()
    paths = fetch_photo_files(files, root, progress=progress, fetch=fetch)
    held = heldout_scenes()
    unknown = sorted(held - {f.scene for f in files})
    if unknown:
        raise InpaintkitError(f"photo_test_scenes.txt names scenes not in the list: {unknown}")
    folder = root / "photos"
    for split in ("train", "test"):
        shutil.rmtree(folder / split, ignore_errors=True)
        (folder / split).mkdir(parents=True)
    rows, pixels = [], 0
    for entry, path in zip(files, paths):
        split = "test" if entry.scene in held else "train"
        link = folder / split / f"{entry.name}{path.suffix.lower()}"
        try:
            os.symlink(path.resolve(), link)
        except OSError:
            shutil.copyfile(path, link)
        with Image.open(path) as im:
            width, height = im.size
        pixels += width * height
        rows.append([entry.name, entry.scene, split, entry.package, entry.path, width, height,
                     str(path)])  # fmt: skip
    with open(folder / "index.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["name", "scene", "split", "package", "path", "width", "height", "file"])
        writer.writerows(rows)
    scenes = {s: {r[1] for r in rows if s in ("all", r[2])} for s in ("all", "train", "test")}
    summary = PhotoSetSummary(
        folder=folder,
        scenes={s: len(v) for s, v in scenes.items()},
        files={s: sum(s in ("all", r[2]) for r in rows) for s in ("all", "train", "test")},
        packages={p: sum(r[3] == p for r in rows) for p in dict.fromkeys(r[3] for r in rows)},
        megapixels=pixels / 1e6,
    )
    return summary


__all__ = ["PhotoSetSummary", "build_photo_set"]
